import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CONFIG_SCHEMA } from "../src/config.js";
import plugin, {
  hostHasAgentReplyHook,
  hostHasMessageWriteHook,
  hostHasPreModelGate,
  registerCreditgate,
} from "../src/index.js";
import { FakeCreditgate } from "./support/fake-creditgate.mjs";
import { createFakeHost } from "./support/fake-host.js";

const read = (f: string) => JSON.parse(readFileSync(new URL(`../${f}`, import.meta.url), "utf8"));

describe("packaging for both eras", () => {
  it("openclaw.plugin.json and clawdbot.plugin.json are identical and carry the config schema", () => {
    const oc = read("openclaw.plugin.json");
    expect(read("clawdbot.plugin.json")).toEqual(oc);
    expect(oc.id).toBe("creditgate");
    expect(oc.id).toBe(plugin.id);
    expect(oc.activation).toEqual({ onStartup: true });
    expect(oc.configSchema).toEqual(CONFIG_SCHEMA);
    expect(oc.commandAliases.map((c: { name: string }) => c.name)).toEqual([
      "consumo",
      "saldo",
      "recargar",
      "burn",
      "tokens",
    ]);
  });

  it("package.json declares both extension keys pointing at the built entry", () => {
    const pkg = read("package.json");
    expect(pkg.type).toBe("module");
    expect(pkg.openclaw.extensions).toEqual(["./dist/index.js"]);
    expect(pkg.clawdbot.extensions).toEqual(["./dist/index.js"]);
    expect(pkg.files).toEqual(
      expect.arrayContaining(["dist", "openclaw.plugin.json", "clawdbot.plugin.json"]),
    );
    expect(pkg.dependencies ?? {}).toEqual({});
  });
});

describe("register", () => {
  let cg: FakeCreditgate;
  beforeEach(async () => {
    cg = await new FakeCreditgate({ token: "k" }).start();
  });
  afterEach(async () => {
    await cg.stop();
  });

  it("is synchronous and registers commands, methods, hooks and the notice service without network", () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" });
    const ret = plugin.register(host.api) as unknown;
    expect(ret).toBeUndefined();
    expect([...host.commands.keys()]).toEqual(["consumo", "saldo", "recargar", "burn", "tokens"]);
    expect(host.methods.size).toBe(7);
    expect([...host.hooks.keys()].sort()).toEqual(["before_agent_reply", "before_dispatch"]);
    expect(host.services.map((s) => s.id)).toEqual(["creditgate-notices"]);
    expect(cg.requests).toHaveLength(0);
    expect(host.logs.find((l) => l.level === "info")?.msg).toContain(
      "gating on, failOpen true, pushUsage false",
    );
  });

  it("Clawdbot host (2026.1.24): commands and methods still register; no dead gate hooks; the missing gate is logged", () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k", pushUsage: true }, { legacy: true });
    registerCreditgate(host.api);
    expect(host.commands.size).toBe(5);
    expect(host.hooks.size).toBe(0);
    expect(
      host.logs.some((l) => l.level === "warn" && l.msg.includes("(2026.1.24-3) has no pre-model hooks")),
    ).toBe(true);
    expect(host.logs.find((l) => l.level === "info")?.msg).toContain("gating off");
  });

  it("host version gates: before_dispatch from 2026.3.24, before_agent_reply from 2026.4.2, before_message_write from 2026.2.16, unknown = try", () => {
    expect(hostHasPreModelGate("2026.1.24-3")).toBe(false);
    expect(hostHasPreModelGate("2026.2.20")).toBe(false);
    expect(hostHasPreModelGate("2026.3.1")).toBe(false);
    expect(hostHasPreModelGate("2026.3.23")).toBe(false);
    expect(hostHasPreModelGate("2026.3.24")).toBe(true);
    expect(hostHasAgentReplyHook("2026.3.28")).toBe(false);
    expect(hostHasAgentReplyHook("2026.4.1")).toBe(false);
    expect(hostHasAgentReplyHook("2026.4.2")).toBe(true);
    expect(hostHasAgentReplyHook(undefined)).toBeNull();
    expect(hostHasPreModelGate("2026.9.6")).toBe(true);
    expect(hostHasPreModelGate("2027.1.1")).toBe(true);
    expect(hostHasPreModelGate(undefined)).toBeNull();
    expect(hostHasMessageWriteHook("2026.2.15")).toBe(false);
    expect(hostHasMessageWriteHook("2026.2.16")).toBe(true);
  });

  // case gate-host-without-hook: OpenClaw 2026.3.0–3.23 never fire before_dispatch (added in
  // 2026.3.24, openclaw/openclaw#50444) nor before_agent_reply (2026.4.2, #20067). Before
  // 2026-12-04 the plugin registered both there and logged "gating on": a blocked user's message
  // reached the model (telegram:5550102 billed $0.0105 on a balance of 0), with no warning.
  it("OpenClaw 2026.3.13: no dead gate hooks, the operator is told blocked users are not stopped", () => {
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" }, { version: "2026.3.13" });
    registerCreditgate(host.api);
    expect(host.commands.size).toBe(5);
    expect([...host.hooks.keys()]).toEqual([]);
    expect(
      host.logs.some(
        (l) =>
          l.level === "warn" && l.msg.includes("(2026.3.13) has no pre-model hooks: blocked users are NOT"),
      ),
    ).toBe(true);
    expect(host.logs.find((l) => l.level === "info")?.msg).toContain("gating off");
  });

  it("OpenClaw 2026.3.24–2026.4.1: before_dispatch only, the ungated RPC/HTTP turns are warned about", () => {
    for (const version of ["2026.3.24", "2026.4.1"]) {
      const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" }, { version });
      registerCreditgate(host.api);
      expect([...host.hooks.keys()]).toEqual(["before_dispatch"]);
      expect(
        host.logs.some(
          (l) => l.level === "warn" && l.msg.includes(`(${version}) has no before_agent_reply hook`),
        ),
      ).toBe(true);
      expect(host.logs.find((l) => l.level === "info")?.msg).toContain("gating on");
    }
    const host = createFakeHost({ apiUrl: cg.url, apiToken: "k" }, { version: "2026.4.2" });
    registerCreditgate(host.api);
    expect([...host.hooks.keys()].sort()).toEqual(["before_agent_reply", "before_dispatch"]);
    expect(host.logs.some((l) => l.level === "warn" && l.msg.includes("before_agent_reply"))).toBe(false);
  });

  it("the unscoped package name is the plugin id (Clawdbot derives the id from it on install -l)", () => {
    const pkg = read("package.json");
    expect(String(pkg.name).replace(/^@[^/]+\//, "")).toBe(read("openclaw.plugin.json").id);
  });

  it("gating:false registers no gate hooks; a missing token and dmScope main are warned about", () => {
    const host = createFakeHost({ apiUrl: cg.url, gating: false });
    (host.api.config as { session: { dmScope?: string } }).session.dmScope = "main";
    registerCreditgate(host.api);
    expect(host.hooks.size).toBe(0);
    expect(host.logs.some((l) => l.msg.includes("no apiToken configured"))).toBe(true);
    expect(host.logs.some((l) => l.msg.includes('session.dmScope is "main"'))).toBe(true);
  });
});
