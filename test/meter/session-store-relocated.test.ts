import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import {
  planRelocated,
  relocatedStores,
  resolveSessionStorePath,
  sessionStorePaths,
} from "../../src/meter/sources/store-location.js";
import {
  assistantLine,
  meterFor,
  type TempWorld,
  tempWorld,
  totalsBy,
  writeJson,
} from "../support/meter-env.js";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const T0 = 1_795_371_100_000;

describe("resolveSessionStorePath (OpenClaw's resolveStorePath)", () => {
  it("replaces {agentId}, expands ~ to the given home (OPENCLAW_HOME, else HOME) and resolves a relative path", () => {
    expect(resolveSessionStorePath("/data/{agentId}/sessions.json", "work", null)).toBe(
      "/data/work/sessions.json",
    );
    expect(resolveSessionStorePath("~/oc/{agentId}/s.json", "main", "/oh")).toBe("/oh/oc/main/s.json");
    expect(resolveSessionStorePath("~/oc/s.json", "main", "/h")).toBe("/h/oc/s.json");
    expect(resolveSessionStorePath("rel/s.json", "main", null)).toBe(resolve("rel/s.json"));
    // `~name` is not a home: a plain relative path, as path.resolve reads it
    expect(resolveSessionStorePath("~x/s.json", "main", "/h")).toBe(resolve("~x/s.json"));
  });
});

describe("sessionStorePaths", () => {
  it("a relative store is looked for against the working directory and the state dir", () => {
    expect(sessionStorePaths("store/{agentId}/s.json", "main", "/st", null)).toEqual([
      resolve("store/main/s.json"),
      "/st/store/main/s.json",
    ]);
    expect(sessionStorePaths("/abs/s.json", "main", "/st", null)).toEqual(["/abs/s.json"]);
    expect(sessionStorePaths("~/s.json", "main", "/st", "/h")).toEqual(["/h/s.json"]);
  });
});

describe("relocatedStores (OpenClaw's session-sqlite-target.ts)", () => {
  it("an exact .sqlite path is the store itself", () => {
    expect(relocatedStores("/d/all.sqlite", [])).toEqual([
      { file: "/d/all.sqlite", sessionsDir: "/d", suffixAgent: null },
    ]);
  });
  it("agents/<a>/sessions/sessions.json under another root is that root's agent store", () => {
    expect(relocatedStores("/r/agents/x/sessions/sessions.json", [])).toEqual([
      {
        file: "/r/agents/x/agent/openclaw-agent.sqlite",
        sessionsDir: "/r/agents/x/sessions",
        suffixAgent: null,
      },
    ]);
  });
  it("a custom name keeps its base; sessions.json elsewhere is openclaw-agent; partitions by agent", () => {
    expect(
      relocatedStores("/d/my-store.json", [
        "my-store.json",
        "my-store.sqlite",
        "my-store.work.sqlite",
        "my-store.ops.2.sqlite",
        "my-store.sqlite-wal",
        "my-store.bad.name.sqlite",
        "other.sqlite",
      ]).map((s) => [s.file, s.suffixAgent]),
    ).toEqual([
      ["/d/my-store.sqlite", null],
      ["/d/my-store.ops.2.sqlite", "ops"],
      ["/d/my-store.work.sqlite", "work"],
    ]);
    expect(relocatedStores("/d/main/sessions.json", []).map((s) => s.file)).toEqual([
      "/d/main/openclaw-agent.sqlite",
    ]);
  });
});

describe("planRelocated", () => {
  it("unset session.store: nothing besides the agent dirs", () => {
    w = tempWorld();
    expect(
      planRelocated(
        w.stateDir,
        [{ agentId: "main", agentDir: join(w.stateDir, "agents", "main") }],
        new Set(),
      ),
    ).toEqual([]);
  });

  it("a store shared by every agent is read once, as the default agent's; repeated calls add only what is new", () => {
    w = tempWorld();
    const shared = join(w.dir, "shared");
    mkdirSync(shared, { recursive: true });
    writeJson(join(w.stateDir, "openclaw.json"), {
      session: { store: join(shared, "store.json") },
      agents: { list: [{ id: "work", default: true }, { id: "main" }] },
    });
    const stateDir = w.stateDir;
    const agents = ["main", "work"].map((a) => ({ agentId: a, agentDir: join(stateDir, "agents", a) }));
    const claimed = new Set<string>();
    const plan = planRelocated(w.stateDir, agents, claimed, null);
    expect(plan.map((r) => [r.agentId, r.sessions.map((s) => s.index), r.stores.map((s) => s.file)])).toEqual(
      [["work", [join(shared, "store.json")], [join(shared, "store.sqlite")]]],
    );
    writeFileSync(join(shared, "store.main.sqlite"), "");
    expect(
      planRelocated(w.stateDir, agents, claimed, null).map((r) => [r.agentId, r.stores.map((s) => s.file)]),
    ).toEqual([["main", [join(shared, "store.main.sqlite")]]]);
    expect(planRelocated(w.stateDir, agents, claimed, null)).toEqual([]);
  });

  it("a store pointing into an agent's own dir adds nothing (that dir is read already)", () => {
    w = tempWorld();
    writeJson(join(w.stateDir, "openclaw.json"), {
      session: { store: join(w.stateDir, "agents", "{agentId}", "sessions", "sessions.json") },
    });
    const agents = [{ agentId: "main", agentDir: join(w.stateDir, "agents", "main") }];
    expect(planRelocated(w.stateDir, agents, new Set(), null)).toEqual([]);
  });
});

/** A minimal OpenClaw store (the columns creditgate reads) at `file`. */
function store(file: string, sessions: { key: string; sid: string; channel?: string; ts: number[] }[]): void {
  const db = new Database(file);
  db.exec(`CREATE TABLE session_nodes (session_key TEXT PRIMARY KEY, current_session_id TEXT NOT NULL,
      entry_json TEXT NOT NULL, parent_session_key TEXT, spawned_by TEXT);
    CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT NOT NULL, channel TEXT,
      parent_session_key TEXT, spawned_by TEXT);
    CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
      created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq));`);
  for (const s of sessions) {
    db.prepare("INSERT INTO session_nodes VALUES (?, ?, ?, NULL, NULL)").run(
      s.key,
      s.sid,
      JSON.stringify({ sessionId: s.sid }),
    );
    db.prepare("INSERT INTO session_windows VALUES (?, ?, ?, NULL, NULL)").run(
      s.sid,
      s.key,
      s.channel ?? null,
    );
    for (const [seq, ts] of s.ts.entries())
      db.prepare("INSERT INTO transcript_events VALUES (?, ?, ?, ?)").run(s.sid, seq, assistantLine(ts), ts);
  }
  db.close();
}

const requestsBy = (tw: TempWorld) =>
  Object.fromEntries([...totalsBy(tw.db, "account_id")].map(([k, t]) => [k, t.requests]));

describe("the meter follows a relocated session store (SQLite era)", () => {
  it("reads the store beside the configured path and its agent partitions; a call also in the default store bills once", async () => {
    w = tempWorld();
    const custom = join(w.dir, "custom");
    mkdirSync(custom, { recursive: true });
    writeJson(join(w.stateDir, "openclaw.json"), { session: { store: join(custom, "my-store.json") } });
    mkdirSync(join(w.stateDir, "agents", "work", "agent"), { recursive: true });
    // main's store before the move: the first call only
    store(join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite"), [
      { key: "agent:main:telegram:direct:5550101", sid: "m1", ts: [T0] },
    ]);
    // after: main owns the unsuffixed store beside the configured path, work its partition
    store(join(custom, "my-store.sqlite"), [
      { key: "agent:main:telegram:direct:5550101", sid: "m1", ts: [T0, T0 + 1, T0 + 2] },
    ]);
    store(join(custom, "my-store.work.sqlite"), [
      { key: "agent:work:telegram:direct:7770707", sid: "w1", ts: [T0 + 3] },
      { key: "agent:work:main", sid: "w2", ts: [T0 + 4] },
    ]);
    const meter = meterFor(w);
    const s = await meter.runOnce();
    meter.close();
    expect(s.failures).toEqual([]);
    expect(requestsBy(w)).toEqual({ "telegram:5550101": 3, "telegram:7770707": 1, "agent:work": 1 });
    expect(s.duplicates).toBe(1);
  });
});

describe("the meter follows a relocated session store (JSONL era)", () => {
  it("one store shared by every agent: each transcript read once, an operator key is its own agent's", async () => {
    w = tempWorld();
    const shared = join(w.dir, "shared");
    mkdirSync(shared, { recursive: true });
    mkdirSync(join(w.stateDir, "agents", "work", "agent"), { recursive: true });
    writeJson(join(w.stateDir, "openclaw.json"), { session: { store: join(shared, "sessions.json") } });
    writeJson(join(shared, "sessions.json"), {
      "agent:main:telegram:direct:5550101": { sessionId: "a", lastChannel: "telegram" },
      "agent:work:main": { sessionId: "b" },
    });
    writeFileSync(join(shared, "a.jsonl"), `${assistantLine(T0)}\n${assistantLine(T0 + 1)}\n`);
    writeFileSync(join(shared, "b.jsonl"), `${assistantLine(T0 + 2)}\n`);
    const meter = meterFor(w);
    const s = await meter.runOnce();
    meter.close();
    expect(s.failures).toEqual([]);
    expect(s.duplicates).toBe(0);
    expect(requestsBy(w)).toEqual({ "telegram:5550101": 2, "agent:work": 1 });
  });

  it("a relative store path beside the config (the gateway started from its state dir) is found", async () => {
    w = tempWorld();
    const dir = join(w.stateDir, "store", "main");
    mkdirSync(dir, { recursive: true });
    writeJson(join(w.stateDir, "openclaw.json"), { session: { store: "store/{agentId}/sessions.json" } });
    writeJson(join(dir, "sessions.json"), {
      "agent:main:telegram:direct:5550101": { sessionId: "d", lastChannel: "telegram" },
    });
    writeFileSync(join(dir, "d.jsonl"), `${assistantLine(T0)}\n`);
    const meter = meterFor(w);
    const s = await meter.runOnce();
    meter.close();
    expect(s.failures).toEqual([]);
    expect(requestsBy(w)).toEqual({ "telegram:5550101": 1 });
  });

  it("a store moved later: files appearing in the relocated dir while following are billed", async () => {
    w = tempWorld();
    const moved = join(w.dir, "moved", "main");
    writeJson(join(w.stateDir, "openclaw.json"), {
      session: { store: join(w.dir, "moved", "{agentId}", "s.json") },
    });
    const meter = meterFor(w);
    const ac = new AbortController();
    const done = meter.follow(ac.signal);
    await new Promise((r) => setTimeout(r, 100));
    mkdirSync(moved, { recursive: true });
    writeJson(join(moved, "s.json"), {
      "agent:main:telegram:direct:5550101": { sessionId: "c", lastChannel: "telegram" },
    });
    writeFileSync(join(moved, "c.jsonl"), `${assistantLine(T0)}\n`);
    for (let i = 0; i < 100 && !requestsBy(w)["telegram:5550101"]; i++)
      await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    await done;
    meter.close();
    expect(requestsBy(w)).toEqual({ "telegram:5550101": 1 });
  });
});
