import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProviderService, keyFromOpenClaw, resolveKey } from "../../src/providers/index.js";
import { createProviderRepo } from "../../src/providers/repo.js";
import { FakeProviders } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { dumpDb, KEYS, settingsFor } from "./support.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cg-keys-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An OpenClaw state dir with auth profiles for two agents, as OpenClaw writes them. */
function openclawState(): string {
  const state = join(dir, ".openclaw");
  for (const [agent, profiles] of [
    [
      "ops",
      { "deepseek:default": { type: "api_key", provider: "deepseek", key: "sk-ops-deepseek-key-000" } },
    ],
    [
      "main",
      {
        "anthropic:claude-max": { type: "token", provider: "anthropic", token: "sk-ant-oat01-subscription" },
        "openai-codex:default": { type: "oauth", provider: "openai-codex", access: "eyJ…", refresh: "r" },
        "openrouter:work": { type: "api_key", provider: "openrouter", key: "sk-or-v1-work" },
        "openrouter:default": { type: "api_key", provider: "openrouter", key: ` ${KEYS.openrouter}\n` },
        "moonshot:default": { mode: "api_key", provider: "moonshot", key: KEYS.moonshot },
      },
    ],
  ] as const) {
    mkdirSync(join(state, "agents", agent, "agent"), { recursive: true });
    writeFileSync(
      join(state, "agents", agent, "agent", "auth-profiles.json"),
      JSON.stringify({ version: 1, profiles, order: {}, lastGood: {} }),
    );
  }
  mkdirSync(join(state, "agents", "broken", "agent"), { recursive: true });
  writeFileSync(join(state, "agents", "broken", "agent", "auth-profiles.json"), "{not json");
  return state;
}

describe("keys", () => {
  it("config first: the variable, else the file (trimmed); an unreadable or empty file is a clear error", () => {
    const off = { enabled: false, stateDirs: [] };
    expect(resolveKey("deepseek", { value: "sk-a", file: "/nope" }, off)).toEqual({
      key: "sk-a",
      source: "env",
    });
    const f = join(dir, "k");
    writeFileSync(f, "sk-from-file\n");
    expect(resolveKey("deepseek", { value: null, file: f }, off)).toEqual({
      key: "sk-from-file",
      source: "file",
    });
    expect(() => resolveKey("deepseek", { value: null, file: join(dir, "missing") }, off)).toThrow(
      /key file .*missing: ENOENT/,
    );
    writeFileSync(f, "  \n");
    expect(() => resolveKey("deepseek", { value: null, file: f }, off)).toThrow(/is empty/);
    expect(resolveKey("deepseek", { value: null, file: null }, off)).toBeNull();
  });

  it("OpenClaw auth profiles (opt-in): api_key profiles only, main agent and :default first", () => {
    const state = openclawState();
    expect(keyFromOpenClaw("openrouter", [state])).toEqual({
      key: KEYS.openrouter,
      source: "openclaw:main/openrouter:default",
    });
    expect(keyFromOpenClaw("moonshot", [state])?.source).toBe("openclaw:main/moonshot:default"); // legacy `mode`
    expect(keyFromOpenClaw("deepseek", [state])?.source).toBe("openclaw:ops/deepseek:default");
    expect(keyFromOpenClaw("anthropic", [state])).toBeNull(); // a subscription token is no billing key
    expect(keyFromOpenClaw("openai", [state])).toBeNull();
    expect(
      resolveKey("openrouter", { value: null, file: null }, { enabled: false, stateDirs: [state] }),
    ).toBeNull();
    expect(
      resolveKey("openrouter", { value: null, file: null }, { enabled: true, stateDirs: [state] })?.source,
    ).toBe("openclaw:main/openrouter:default");
  });
});

describe("keys from OpenClaw are used in place, never copied", () => {
  let fake: FakeProviders;
  beforeEach(async () => {
    fake = await new FakeProviders().start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  test("a poll with an OpenClaw key stores its source, never the key", async ({ db }) => {
    const state = openclawState();
    const s = settingsFor(fake, { openclaw: { enabled: true, stateDirs: [state] } });
    for (const id of ["openrouter", "openai", "anthropic", "moonshot", "deepseek"] as const)
      s.keys[id].value = null;
    const lines: string[] = [];
    const service = createProviderService({ db, settings: s, log: (l, m) => lines.push(`${l} ${m}`) });
    expect(service.configured().sort()).toEqual(["deepseek", "moonshot", "openrouter"]);
    expect((await service.poll("openrouter", Date.UTC(2026, 10, 20))).ok).toBe(true);
    expect(fake.requests[0]?.authorization).toBe(`Bearer ${KEYS.openrouter}`);
    expect(createProviderRepo(db).status("openrouter")?.keySource).toBe("openclaw:main/openrouter:default");
    const all = [dumpDb(db), lines.join("\n"), JSON.stringify(service.overview(Date.UTC(2026, 10, 20)))].join(
      "\n",
    );
    expect(all).not.toContain(KEYS.openrouter);
    expect(all).not.toContain("sk-or-v1-work");
  });
});
