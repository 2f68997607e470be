import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createBiller } from "../../src/meter/biller.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import {
  assistantLine,
  createLedger,
  fixturePricer,
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

function agentDir(tw: TempWorld, agent: string): string {
  const d = join(tw.stateDir, "agents", agent, "sessions");
  mkdirSync(d, { recursive: true });
  return d;
}

describe("a spawn chain that crosses agents", () => {
  it("a sub-agent's sub-agent in a third agent takes the per-peer root's channel from the root's agent", async () => {
    w = tempWorld();
    const main = agentDir(w, "main");
    const research = agentDir(w, "research");
    const writer = agentDir(w, "writer");
    writeFileSync(join(main, "root.jsonl"), `${assistantLine(T0)}\n`);
    writeFileSync(join(research, "r.jsonl"), `${assistantLine(T0 + 1)}\n`);
    writeFileSync(join(writer, "x.jsonl"), `${assistantLine(T0 + 2)}\n`);
    writeJson(join(main, "sessions.json"), {
      "agent:main:direct:+15551234567": { sessionId: "root", lastChannel: "whatsapp" },
    });
    writeJson(join(research, "sessions.json"), {
      "agent:research:subagent:a": { sessionId: "r", spawnedBy: "agent:main:direct:+15551234567" },
    });
    writeJson(join(writer, "sessions.json"), {
      "agent:writer:subagent:b": { sessionId: "x", spawnedBy: "agent:research:subagent:a" },
      // a requester key naming no real agent dir (never a path outside agents/): no channel is
      // found, so as before a channel-less direct: account, never an error
      "agent:writer:subagent:c": { sessionId: "y", spawnedBy: "agent:../../etc:direct:1" },
    });
    writeFileSync(join(writer, "y.jsonl"), `${assistantLine(T0 + 3)}\n`);
    const meter = meterFor(w);
    await meter.runOnce();
    meter.close();
    const byAccount = Object.fromEntries([...totalsBy(w.db, "account_id")].map(([k, t]) => [k, t.requests]));
    expect(byAccount).toEqual({ "whatsapp:+15551234567": 3, "direct:1": 1 });
  });
});

/** A minimal OpenClaw store (the columns creditgate reads) for one agent, with its sessions. */
function store(
  tw: TempWorld,
  agent: string,
  sessions: { key: string; sid: string; channel?: string; spawnedBy?: string; ts: number }[],
): void {
  const d = join(tw.stateDir, "agents", agent, "agent");
  mkdirSync(d, { recursive: true });
  const db = new Database(join(d, "openclaw-agent.sqlite"));
  db.exec(`CREATE TABLE session_nodes (session_key TEXT PRIMARY KEY, current_session_id TEXT NOT NULL,
      entry_json TEXT NOT NULL, parent_session_key TEXT, spawned_by TEXT);
    CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT NOT NULL, channel TEXT,
      parent_session_key TEXT, spawned_by TEXT);
    CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
      created_at INTEGER NOT NULL, PRIMARY KEY (session_id, seq));`);
  for (const s of sessions) {
    db.prepare("INSERT INTO session_nodes VALUES (?, ?, ?, NULL, ?)").run(
      s.key,
      s.sid,
      JSON.stringify({ sessionId: s.sid, spawnedBy: s.spawnedBy }),
      s.spawnedBy ?? null,
    );
    db.prepare("INSERT INTO session_windows VALUES (?, ?, ?, NULL, ?)").run(
      s.sid,
      s.key,
      s.channel ?? null,
      s.spawnedBy ?? null,
    );
    db.prepare("INSERT INTO transcript_events VALUES (?, 0, ?, ?)").run(s.sid, assistantLine(s.ts), s.ts);
  }
  db.close();
}

describe("a spawn chain that crosses agents' SQLite stores (OpenClaw >= 2026.7)", () => {
  it("a sub-agent's sub-agent in a third agent's store takes the per-peer root's channel from the root's store", async () => {
    w = tempWorld();
    // tempWorld() copies a Clawdbot agent dir with no transcripts: replace it with stores only
    store(w, "main", [{ key: "agent:main:direct:+15551234567", sid: "root", channel: "whatsapp", ts: T0 }]);
    store(w, "research", [
      { key: "agent:research:subagent:a", sid: "r", spawnedBy: "agent:main:direct:+15551234567", ts: T0 + 1 },
    ]);
    store(w, "writer", [
      { key: "agent:writer:subagent:b", sid: "x", spawnedBy: "agent:research:subagent:a", ts: T0 + 2 },
      // a requester naming no real agent: no channel found, a channel-less direct: account, no error
      { key: "agent:writer:subagent:c", sid: "y", spawnedBy: "agent:../../etc:direct:1", ts: T0 + 3 },
    ]);
    const meter = meterFor(w);
    await meter.runOnce();
    meter.close();
    const byAccount = Object.fromEntries([...totalsBy(w.db, "account_id")].map(([k, t]) => [k, t.requests]));
    expect(byAccount).toEqual({ "whatsapp:+15551234567": 3, "direct:1": 1 });
  });
});

describe("a requester's store locked by a writer", () => {
  it("ends the sub-agent's agent's poll (retried), never bills the channel-less direct:<peer>", async () => {
    w = tempWorld();
    const world = w;
    store(world, "main", [{ key: "agent:main:direct:5550101", sid: "root", channel: "telegram", ts: T0 }]);
    store(world, "support", [
      { key: "agent:support:subagent:a", sid: "s", spawnedBy: "agent:main:direct:5550101", ts: T0 + 1 },
    ]);
    const biller = createBiller(world.db, createLedger(world.db), {
      pricer: fixturePricer(),
      markup: { num: 1n, den: 1n },
      creditsPerUsd: { num: 1n, den: 1n },
    });
    const support = createSqliteSource({
      agentDir: join(world.stateDir, "agents", "support"),
      agentId: "support",
      db: world.db,
      batchSize: 50,
      busyTimeoutMs: 50,
    });
    // the gateway of agent main writing (a rollback-journal store: readers wait for it)
    const writer = new Database(join(world.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite"), {
      timeout: 0,
    });
    writer.exec("BEGIN EXCLUSIVE");
    const problems: { code: string; reason: string }[] = [];
    await support.poll(
      (b) => biller.bill(b),
      (p) => problems.push(p),
    );
    expect([...totalsBy(world.db, "account_id").keys()]).toEqual([]);
    expect(problems.map((p) => p.code)).toEqual(["SQLITE_BUSY"]);
    expect(problems[0]?.reason).toMatch(/agents\/main\/agent\/openclaw-agent\.sqlite \(a spawn chain/);
    writer.exec("ROLLBACK");
    writer.close();
    await support.poll((b) => biller.bill(b));
    support.close();
    const byAccount = Object.fromEntries(
      [...totalsBy(world.db, "account_id")].map(([k, t]) => [k, t.requests]),
    );
    expect(byAccount).toEqual({ "telegram:5550101": 1 });
  });
});
