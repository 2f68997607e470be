import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createProviderService, lookupOpenClawKey, resolveKey } from "../../src/providers/index.js";
import { createProviderRepo } from "../../src/providers/repo.js";
import { FakeProviders } from "../support/fake-providers.js";
import { test } from "../support/temp-db.js";
import { dumpDb, KEYS, settingsFor } from "./support.js";

/**
 * A database OpenClaw 2026.9.6 itself created (shared fixture, schema 23, with its empty
 * `auth_profile_store` and `auth_profile_state` tables). Each test works on a copy, and writes
 * the store row the way OpenClaw does: one `primary` row holding the auth-profiles JSON, the
 * database in WAL mode as on a live gateway.
 */
const FIXTURE_DB = join(
  import.meta.dirname,
  "../../../shared/fixtures/openclaw-2026.9.6/agents/main/agent/openclaw-agent.sqlite",
);

let dir: string;
let open: Database.Database[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "cg-keys-sqlite-"));
});
afterEach(() => {
  for (const db of open) db.close();
  open = [];
  rmSync(dir, { recursive: true, force: true });
});

function agentDir(state: string, agent: string): string {
  const d = join(state, "agents", agent, "agent");
  mkdirSync(d, { recursive: true });
  return d;
}

/** Copies OpenClaw's database into an agent dir and writes its store row through a writer left open (WAL live). */
function openclawDb(state: string, agent: string, store: unknown, wal = true): Database.Database {
  const path = join(agentDir(state, agent), "openclaw-agent.sqlite");
  copyFileSync(FIXTURE_DB, path);
  chmodSync(path, 0o600);
  const w = new Database(path);
  open.push(w);
  if (wal) w.pragma("journal_mode = WAL");
  w.prepare(
    `INSERT INTO auth_profile_store (store_key, store_json, updated_at) VALUES ('primary', ?, ?)
     ON CONFLICT(store_key) DO UPDATE SET store_json = excluded.store_json, updated_at = excluded.updated_at`,
  ).run(JSON.stringify(store), Date.now());
  w.prepare(
    "INSERT INTO auth_profile_state (state_key, state_json, updated_at) VALUES ('primary', ?, ?)",
  ).run(JSON.stringify({ order: { openrouter: ["openrouter:default"] } }), Date.now());
  return w;
}

const jsonStore = (profiles: Record<string, unknown>) => ({ version: 1, profiles });
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

describe("keys from OpenClaw's SQLite auth store (2026.9+)", () => {
  it("reads the primary row read-only; it wins over a stale auth-profiles.json next to it", () => {
    const state = join(dir, ".openclaw");
    openclawDb(
      state,
      "main",
      jsonStore({
        "openrouter:default": { type: "api_key", provider: "openrouter", key: KEYS.openrouter },
        "anthropic:max": { type: "token", provider: "anthropic", token: "sk-ant-oat01-subscription" },
      }),
    );
    // the file OpenClaw imported once and no longer writes: an old key
    writeFileSync(
      join(state, "agents", "main", "agent", "auth-profiles.json"),
      JSON.stringify(
        jsonStore({
          "openrouter:default": { type: "api_key", provider: "openrouter", key: "sk-or-v1-stale" },
        }),
      ),
    );
    expect(lookupOpenClawKey("openrouter", [state]).found).toEqual({
      key: KEYS.openrouter,
      source: "openclaw:main/openrouter:default (sqlite)",
    });
    expect(lookupOpenClawKey("anthropic", [state])).toEqual({ found: null, skipped: [] });
  });

  it("resolves keyRef env / file and env-reference keys as the JSON path does; OpenClaw's apiKey spellings too", () => {
    const state = join(dir, ".openclaw");
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, ".env"), `DEEPSEEK_API_KEY=${KEYS.deepseek}\n`);
    const secrets = join(dir, "secrets.json");
    writeFileSync(secrets, JSON.stringify({ providers: { moonshot: { apiKey: KEYS.moonshot } } }));
    writeFileSync(
      join(state, "openclaw.json"),
      JSON.stringify({ secrets: { providers: { vault: { source: "file", path: secrets, mode: "json" } } } }),
    );
    openclawDb(
      state,
      "main",
      jsonStore({
        "deepseek:default": {
          type: "api_key",
          provider: "deepseek",
          keyRef: { source: "env", provider: "default", id: "DEEPSEEK_API_KEY" },
        },
        "moonshot:default": {
          type: "api_key",
          provider: "moonshot",
          keyRef: { source: "file", provider: "vault", id: "/providers/moonshot/apiKey" },
        },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: OpenClaw's env-reference syntax, not a template
        "openrouter:default": { type: "api_key", provider: "openrouter", key: "${OPENROUTER_API_KEY}" },
        "openai:legacy": { mode: "apiKey", provider: "openai", apiKey: "sk-admin-legacy-spelling" },
      }),
    );
    expect(lookupOpenClawKey("deepseek", [state]).found).toEqual({
      key: KEYS.deepseek,
      source: "openclaw:main/deepseek:default (sqlite, env ref)",
    });
    expect(lookupOpenClawKey("moonshot", [state]).found).toEqual({
      key: KEYS.moonshot,
      source: "openclaw:main/moonshot:default (sqlite, file ref)",
    });
    expect(lookupOpenClawKey("openai", [state]).found?.source).toBe("openclaw:main/openai:legacy (sqlite)");
    const or = lookupOpenClawKey("openrouter", [state]);
    expect(or.found).toBeNull();
    expect(or.skipped[0]?.reason).toMatch(/OPENROUTER_API_KEY is not set/);
    expect(() =>
      resolveKey("openrouter", { value: null, file: null }, { enabled: true, stateDirs: [state] }),
    ).toThrow(/openclaw:main\/openrouter:default: env:default:OPENROUTER_API_KEY/);
  });

  it("never creates or modifies the database: same bytes after, no sidecar files made, no database where none was", () => {
    const state = join(dir, ".openclaw");
    const w = openclawDb(
      state,
      "main",
      jsonStore({ "openrouter:default": { type: "api_key", provider: "openrouter", key: KEYS.openrouter } }),
      false, // rollback journal: a reader must not leave a -wal or -shm behind
    );
    w.close();
    open = open.filter((d) => d !== w);
    const path = join(state, "agents", "main", "agent", "openclaw-agent.sqlite");
    const before = sha(path);
    expect(lookupOpenClawKey("openrouter", [state]).found?.key).toBe(KEYS.openrouter);
    expect(sha(path)).toBe(before);
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(existsSync(`${path}-shm`)).toBe(false);
    expect(existsSync(`${path}-journal`)).toBe(false);
    // an agent with only the JSON file gets no database
    const ops = agentDir(state, "ops");
    writeFileSync(
      join(ops, "auth-profiles.json"),
      JSON.stringify(
        jsonStore({ "deepseek:default": { type: "api_key", provider: "deepseek", key: KEYS.deepseek } }),
      ),
    );
    expect(lookupOpenClawKey("deepseek", [state]).found?.source).toBe("openclaw:ops/deepseek:default");
    expect(existsSync(join(ops, "openclaw-agent.sqlite"))).toBe(false);
  });

  it("reads while OpenClaw writes in WAL mode, and sees its latest committed row", () => {
    const state = join(dir, ".openclaw");
    const w = openclawDb(
      state,
      "main",
      jsonStore({
        "openrouter:default": { type: "api_key", provider: "openrouter", key: "sk-or-v1-old-rotated" },
      }),
    );
    w.prepare("UPDATE auth_profile_store SET store_json = ? WHERE store_key = 'primary'").run(
      JSON.stringify(
        jsonStore({
          "openrouter:default": { type: "api_key", provider: "openrouter", key: KEYS.openrouter },
        }),
      ),
    );
    // an open write transaction of OpenClaw's does not block a WAL reader, which sees the last commit
    w.exec("BEGIN IMMEDIATE");
    w.prepare("UPDATE auth_profile_store SET updated_at = 1").run();
    expect(lookupOpenClawKey("openrouter", [state], 50).found?.key).toBe(KEYS.openrouter);
    w.exec("COMMIT");
    expect(w.pragma("journal_mode", { simple: true })).toBe("wal"); // the reader changed nothing
  });

  it("locked, damaged or unknown databases: a clear error per agent, never the JSON's stale key; other agents still count", () => {
    const state = join(dir, ".openclaw");
    // main: locked by an exclusive writer (rollback journal, a write in progress)
    const w = openclawDb(
      state,
      "main",
      jsonStore({ "openrouter:default": { type: "api_key", provider: "openrouter", key: KEYS.openrouter } }),
      false,
    );
    writeFileSync(
      join(state, "agents", "main", "agent", "auth-profiles.json"),
      JSON.stringify(
        jsonStore({
          "openrouter:default": { type: "api_key", provider: "openrouter", key: "sk-or-v1-stale" },
        }),
      ),
    );
    w.exec("BEGIN EXCLUSIVE");
    w.prepare("UPDATE auth_profile_store SET updated_at = 2").run();
    // broken: not a database at all
    writeFileSync(join(agentDir(state, "broken"), "openclaw-agent.sqlite"), "not a database ".repeat(300));
    // future: a database without the table and no JSON
    const f = new Database(join(agentDir(state, "future"), "openclaw-agent.sqlite"));
    f.exec("CREATE TABLE auth_profiles_v2 (id TEXT PRIMARY KEY)");
    f.close();
    // ops: a usable store
    openclawDb(
      state,
      "ops",
      jsonStore({ "deepseek:default": { type: "api_key", provider: "deepseek", key: KEYS.deepseek } }),
    );

    const t0 = Date.now();
    const or = lookupOpenClawKey("openrouter", [state], 100);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(or.found).toBeNull(); // not the stale JSON key
    const reasons = Object.fromEntries(or.skipped.map((x) => [x.source, x.reason]));
    expect(reasons["openclaw:main"]).toMatch(
      /openclaw-agent\.sqlite is locked by OpenClaw \(still busy after 100 ms\)/,
    );
    expect(reasons["openclaw:broken"]).toMatch(/is not a readable SQLite database \(SQLITE_NOTADB/);
    expect(reasons["openclaw:future"]).toMatch(
      /has no auth_profile_store table and there is no auth-profiles\.json/,
    );
    expect(() =>
      resolveKey(
        "openrouter",
        { value: null, file: null },
        { enabled: true, stateDirs: [state], busyTimeoutMs: 100 },
      ),
    ).toThrow(/OpenClaw auth profiles: .*locked by OpenClaw/);
    // the other agent's store is still read
    expect(lookupOpenClawKey("deepseek", [state], 100).found?.source).toBe(
      "openclaw:ops/deepseek:default (sqlite)",
    );
    w.exec("ROLLBACK");
    expect(lookupOpenClawKey("openrouter", [state], 100).found?.key).toBe(KEYS.openrouter);
  });

  it("a database without the table (OpenClaw 2026.7–2026.8) falls back to auth-profiles.json; a store row that is not JSON is an error", () => {
    const state = join(dir, ".openclaw");
    const d = agentDir(state, "main");
    const old = new Database(join(d, "openclaw-agent.sqlite"));
    old.exec("CREATE TABLE transcript_events (session_id TEXT, seq INTEGER, event_json TEXT)");
    old.close();
    writeFileSync(
      join(d, "auth-profiles.json"),
      JSON.stringify(
        jsonStore({
          "openrouter:default": { type: "api_key", provider: "openrouter", key: KEYS.openrouter },
        }),
      ),
    );
    expect(lookupOpenClawKey("openrouter", [state]).found?.source).toBe("openclaw:main/openrouter:default");

    const w = openclawDb(state, "ops", {});
    w.prepare("UPDATE auth_profile_store SET store_json = '{not json' WHERE store_key = 'primary'").run();
    const l = lookupOpenClawKey("deepseek", [state]);
    expect(l.skipped).toEqual([
      { source: "openclaw:ops", reason: expect.stringMatching(/store_json is not JSON$/) },
    ]);
  });
});

describe("a poll with a key from the SQLite store", () => {
  let fake: FakeProviders;
  beforeEach(async () => {
    fake = await new FakeProviders().start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  test("uses the key in place, stores only its source; a locked store fails that provider only", async ({
    db,
  }) => {
    const state = join(dir, ".openclaw");
    openclawDb(
      state,
      "main",
      jsonStore({ "openrouter:default": { type: "api_key", provider: "openrouter", key: KEYS.openrouter } }),
    );
    const locked = openclawDb(
      state,
      "ops",
      jsonStore({
        "deepseek:default": { type: "api_key", provider: "deepseek", key: "sk-ops-deepseek-key-000" },
      }),
      false,
    );
    const s = settingsFor(fake, { openclaw: { enabled: true, stateDirs: [state], busyTimeoutMs: 1_000 } });
    s.keys.openrouter.value = null;
    s.keys.deepseek.value = null;
    const lines: string[] = [];
    const service = createProviderService({ db, settings: s, log: (l, m) => lines.push(`${l} ${m}`) });
    const now = Date.UTC(2026, 10, 20);
    expect((await service.poll("openrouter", now)).ok).toBe(true);
    expect(fake.requests[0]?.authorization).toBe(`Bearer ${KEYS.openrouter}`);
    const repo = createProviderRepo(db);
    expect(repo.status("openrouter")?.keySource).toBe("openclaw:main/openrouter:default (sqlite)");

    locked.exec("BEGIN EXCLUSIVE");
    locked.prepare("UPDATE auth_profile_store SET updated_at = 3").run();
    // views and the scheduler's list of providers never wait for the lock
    const t0 = performance.now();
    expect(service.configured()).toContain("deepseek");
    expect(service.view("deepseek", now).keySource).toBe("openclaw:ops");
    expect(performance.now() - t0).toBeLessThan(500); // waiting would take ≥ 6 × 1 s
    const ds = await service.poll("deepseek", now);
    locked.exec("ROLLBACK");
    expect(ds.ok).toBe(false);
    expect(repo.status("deepseek")?.errorKind).toBe("config");
    expect(repo.status("deepseek")?.errorMessage).toMatch(/openclaw:ops: .*is locked by OpenClaw/);
    expect((await service.poll("moonshot", now)).ok).toBe(true); // a configured key is unaffected

    const all = [dumpDb(db), lines.join("\n"), JSON.stringify(service.overview(now))].join("\n");
    expect(all).not.toContain(KEYS.openrouter);
    expect(all).not.toContain("sk-ops-deepseek-key-000");
  });
});
