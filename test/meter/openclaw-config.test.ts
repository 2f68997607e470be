import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveAccount } from "../../src/meter/resolve-user.js";
import {
  configuredIdentityLinks,
  configuredMainKey,
  configuredSlashPrefixes,
} from "../../src/meter/sources/openclaw-config.js";
import { type TempWorld, tempWorld } from "../support/meter-env.js";

// session.mainKey of the state dir's config (a fresh tester's cases: the first reading was a regex
// over the file's text, which took a commented-out key or any key ending in `mainKey`).
const CASES = resolve(import.meta.dirname, "../cases");
let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

/** The custom-main-key case's state dir with `files` (name → text) as its config files; its main agent dir. */
function stateWith(files: Record<string, string>): string {
  w?.cleanup();
  w = tempWorld(join(CASES, "custom-main-key", "state"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(w.stateDir, name), text);
  return join(w.stateDir, "agents", "main");
}

describe("configuredMainKey: session.mainKey of the parsed config, nothing else", () => {
  it("reads JSON5 (comments, trailing commas, unquoted keys, single quotes), trimmed and lower-cased", () => {
    expect(
      configuredMainKey(stateWith({ "openclaw.json": `{ session: { mainKey: ' Home ', }, // x\n }` })),
    ).toBe("home");
  });

  it("a commented-out mainKey before the real one is not the configured key", () => {
    const dir = stateWith({
      "openclaw.json": `{\n  // session: { mainKey: "main" },  (old default)\n  session: { mainKey: "home" },\n}`,
    });
    expect(configuredMainKey(dir)).toBe("home");
  });

  it("another key ending in mainKey, a plugin's own mainKey or a string holding one is not session.mainKey", () => {
    const dir = stateWith({
      "openclaw.json": `{ session: { dmScope: "per-peer" }, note: "mainKey: 'x'",
        plugins: { entries: { x: { config: { notmainKey: "direct:5550101", mainKey: "direct:5550101" } } } } }`,
    });
    const mk = configuredMainKey(dir);
    expect(mk).toBeNull();
    // so a per-peer user's DM stays the user's, not the operator's
    expect(
      resolveAccount("main", "agent:main:direct:5550101", { channel: "telegram", mainKey: mk }).accountId,
    ).toBe("telegram:5550101");
  });

  it("the default (main, empty, no session block), a missing or broken config: null", () => {
    expect(configuredMainKey(stateWith({ "openclaw.json": `{ session: { mainKey: "MAIN" } }` }))).toBeNull();
    expect(configuredMainKey(stateWith({ "openclaw.json": `{ session: { mainKey: "" } }` }))).toBeNull();
    expect(configuredMainKey(stateWith({ "openclaw.json": `{ gateway: {} }` }))).toBeNull();
    expect(configuredMainKey(stateWith({ "openclaw.json": `{ session: ` }))).toBeNull();
    expect(configuredMainKey(join("/nonexistent", "agents", "main"))).toBeNull();
  });

  it("openclaw.json wins over a leftover legacy config; a legacy one is read when it is the only one", () => {
    expect(
      configuredMainKey(
        stateWith({ "openclaw.json": `{ gateway: {} }`, "clawdbot.json": `{ session: { mainKey: "old" } }` }),
      ),
    ).toBeNull();
    // (the case's own openclaw.json replaced by a directory: not a config)
    w?.cleanup();
    w = tempWorld(join(CASES, "custom-main-key", "state"));
    const dir = join(w.stateDir, "agents", "main");
    rmSync(join(w.stateDir, "openclaw.json"), { force: true });
    mkdirSync(join(w.stateDir, "openclaw.json"));
    writeFileSync(join(w.stateDir, "clawdbot.json"), `{ session: { mainKey: "Legacy" } }`);
    expect(configuredMainKey(dir)).toBe("legacy");
  });
});

describe("configuredSlashPrefixes: Slack's slashCommand.sessionPrefix, top level and per account", () => {
  it("reads custom prefixes trimmed and lower-cased, skips the default and junk", () => {
    const dir = stateWith({
      "openclaw.json": `{ channels: { slack: { slashCommand: { sessionPrefix: " Ask " },
        accounts: { ops: { slashCommand: { sessionPrefix: "ops-ask" } }, b: { slashCommand: { sessionPrefix: "slack:slash" } },
                    c: { slashCommand: { sessionPrefix: 7 } }, d: null } } } }`,
    });
    expect(configuredSlashPrefixes(dir)).toEqual([
      { prefix: "ask", channel: "slack" },
      { prefix: "ops-ask", channel: "slack" },
    ]);
    expect(configuredSlashPrefixes(stateWith({ "openclaw.json": `{ channels: { slack: {} } }` }))).toEqual(
      [],
    );
    expect(configuredSlashPrefixes(stateWith({ "openclaw.json": `{ channels: [] }` }))).toEqual([]);
    expect(configuredSlashPrefixes(join("/nonexistent", "agents", "main"))).toEqual([]);
  });
});

describe("configuredIdentityLinks: session.identityLinks of the parsed config", () => {
  it("reads JSON5 names and ids; none, junk or a missing config link nothing", () => {
    const links = configuredIdentityLinks(
      stateWith({
        "openclaw.json": `{ session: { identityLinks: { Alice: ['telegram:7770707', ' WhatsApp:+1555 '], }, } }`,
      }),
    );
    expect(links && [...links.canonicals.keys()]).toEqual(["alice"]);
    expect(links && [...links.byId.keys()]).toEqual(["telegram:7770707", "whatsapp:+1555"]);
    expect(
      configuredIdentityLinks(stateWith({ "openclaw.json": `{ session: { identityLinks: [] } }` })),
    ).toBeNull();
    expect(configuredIdentityLinks(stateWith({ "openclaw.json": `{ session: 3 }` }))).toBeNull();
    expect(configuredIdentityLinks(join("/nonexistent", "agents", "main"))).toBeNull();
  });
});
