// A call whose transcript line has no readable time (no numeric message.timestamp, an entry
// timestamp missing or unparsable: openclaw/openclaw#99413, #110536) is billed once, dated by the
// entry before it in its transcript; before 2026-12-03 it was rejected as malformed and never
// billed (case test/cases/untimed-usage-line).
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { hasUserMark, textHasUserMark } from "../../src/meter/parse.js";
import type { SourceBatch } from "../../src/meter/source.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import {
  assistantLine,
  meterFor,
  synthBiller,
  type TempWorld,
  tempWorld,
  totalsBy,
} from "../support/meter-env.js";
import { steppedStore } from "../support/random-store.js";

let w: TempWorld | undefined;
const dirs: string[] = [];
afterEach(() => {
  w?.cleanup();
  w = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T0 = 1_795_371_100_000;

/** A mock/mock-gpt call line with no readable time: `entryTs` as its entry's `timestamp`. */
function untimedLine(input: number, entryTs: unknown = null, responseId?: string): string {
  return JSON.stringify({
    type: "message",
    id: `n${input}`,
    parentId: null,
    timestamp: entryTs,
    message: {
      role: "assistant",
      content: [{ type: "text", text: "ok" }],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: { input, output: 10, cacheRead: 0, cacheWrite: 0, totalTokens: input + 10 },
      stopReason: "stop",
      ...(responseId ? { responseId } : {}),
    },
  });
}

function userLine(ts: number): string {
  return JSON.stringify({
    type: "message",
    id: `u${ts}`,
    parentId: null,
    timestamp: new Date(ts).toISOString(),
    message: { role: "user", content: [{ type: "text", text: "hi" }], timestamp: ts },
  });
}

function sessionsDir(world: TempWorld): string {
  const dir = join(world.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "sessions.json"),
    JSON.stringify({ "agent:main:telegram:direct:5550101": { sessionId: "s1", lastChannel: "telegram" } }),
  );
  return dir;
}

/** message_ts_ms of the billed calls, by input token count. */
function datedByInput(world: TempWorld): Map<number, number> {
  const rows = world.db
    .prepare<[], { input: number; ts: number }>(
      "SELECT input_tokens AS input, message_ts_ms AS ts FROM usage_events ORDER BY input_tokens",
    )
    .all();
  return new Map(rows.map((r) => [r.input, r.ts]));
}

describe("a call whose line has no readable time", () => {
  for (const readerThread of [true, false]) {
    it(`is billed once, dated by the entry before it; a copy of the transcript adds nothing (reader thread ${readerThread})`, async () => {
      w = tempWorld();
      const dir = sessionsDir(w);
      writeFileSync(
        join(dir, "s1.jsonl"),
        [
          userLine(T0),
          untimedLine(100, null, "chatcmpl-9f3b2c1d4e5a6b7c8d9e0f1a"),
          untimedLine(200, "2026-13-45T99:99:99.000Z"), // the continuation of the same turn
          assistantLine(T0 + 5000, 300),
          untimedLine(400, "not a date"), // dated by the call before it
        ]
          .map((l) => `${l}\n`)
          .join(""),
      );
      const meter = meterFor(w, { readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 4, malformed: 0, held: 0 });
      copyFileSync(join(dir, "s1.jsonl"), join(dir, "s1.jsonl.reset.2026-11-22T19-05-00.000Z"));
      expect(await meter.runOnce()).toMatchObject({ billed: 0, held: 0 });
      meter.close();
      expect(totalsBy(w.db, "account_id").get("telegram:5550101")?.requests).toBe(4);
      expect([...datedByInput(w)]).toEqual([
        [100, T0],
        [200, T0],
        [300, T0 + 5000],
        [400, T0 + 5000],
      ]);
    });
  }

  it("with nothing before it in its transcript is held for review, once, and a later read dating it adds nothing", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const file = join(dir, "s1.jsonl");
    writeFileSync(file, `${untimedLine(100)}\n`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 0, held: 1, malformed: 0 });
    const held = w.db
      .prepare<[], { reason: string; cost: string | null }>(
        "SELECT reason, cost_pico_usd AS cost FROM usage_review",
      )
      .get();
    expect(held?.reason).toMatch(/no timestamp/);
    // its counts are fine: priced as releasing it would (as of when it is held), not shown as $0
    expect(held?.cost).not.toBeNull();
    expect(BigInt(held?.cost ?? 0)).toBeGreaterThan(0n);
    // the file rewritten with a user line before it (a new first line: re-read from the start)
    writeFileSync(file, `${userLine(T0)}\n${untimedLine(100)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 0, held: 0 });
    meter.close();
  });

  it("appended in a later poll than its turn's user line is dated by that line", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const file = join(dir, "s1.jsonl");
    writeFileSync(file, `${assistantLine(T0, 300)}\n${userLine(T0 + 60_000)}\n`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 1 });
    appendFileSync(file, `${untimedLine(100)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, held: 0, malformed: 0 });
    meter.close();
    expect(datedByInput(w).get(100)).toBe(T0 + 60_000);
  });

  for (const restart of [false, true]) {
    it(`appended in a later poll than the call before it is dated by that call (${restart ? "after a restart: read back" : "same meter"})`, async () => {
      w = tempWorld();
      const dir = sessionsDir(w);
      const file = join(dir, "s1.jsonl");
      writeFileSync(file, `${userLine(T0)}\n${assistantLine(T0 + 4000, 300)}\n`);
      let meter = meterFor(w);
      expect(await meter.runOnce()).toMatchObject({ billed: 1 });
      if (restart) {
        meter.close();
        meter = meterFor(w);
      }
      appendFileSync(file, `${untimedLine(100)}\n`);
      expect(await meter.runOnce()).toMatchObject({ billed: 1, held: 0, malformed: 0 });
      appendFileSync(file, `${untimedLine(200)}\n`);
      expect(await meter.runOnce()).toMatchObject({ billed: 1, held: 0, malformed: 0 });
      meter.close();
      expect(datedByInput(w).get(100)).toBe(T0 + 4000);
      expect(datedByInput(w).get(200)).toBe(T0 + 4000);
    });
  }

  it("in an OpenClaw SQLite store is billed once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-untimed-"));
    dirs.push(dir);
    const rs = steppedStore(7, dir, 30);
    const oc = new Database(rs.store);
    oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, event_zstd, created_at) VALUES (?, ?, ?, NULL, ?)",
    ).run(rs.sid, rs.maxSeq + 1, untimedLine(123_457, null, "chatcmpl-untimed-row-0123456789"), T0);
    oc.close();
    const db = openDatabase(join(dir, "db.sqlite"));
    try {
      const biller = synthBiller(db);
      const src = createSqliteSource({ agentDir: rs.agentDir, agentId: "main", db, batchSize: 5 });
      const problems: unknown[] = [];
      const poll = () =>
        src.poll(
          (b: SourceBatch) => {
            biller.bill(b);
          },
          (p) => problems.push(p),
        );
      await poll();
      await poll();
      src.close();
      expect(problems).toEqual([]);
      const rows = db
        .prepare<[], { ts: number }>(
          "SELECT message_ts_ms AS ts FROM usage_events WHERE input_tokens = 123457",
        )
        .all();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.ts).toBeGreaterThan(Date.UTC(2020, 0, 1));
      // the random store holds poison rows of its own: only this row's fate matters
      const rejects = db
        .prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM meter_rejects WHERE source_ref = ?")
        .get(`sqlite:main#${rs.sid}:${rs.maxSeq + 1}`);
      expect(rejects?.n).toBe(0);
    } finally {
      db.close();
    }
  });
});

/** `JSON.stringify` with Python's `json.dumps` separators (`", "`, `": "`): a transcript a script wrote. */
function spaced(line: string): string {
  const dump = (v: unknown): string => {
    if (Array.isArray(v)) return `[${v.map(dump).join(", ")}]`;
    if (v !== null && typeof v === "object")
      return `{${Object.entries(v)
        .map(([k, x]) => `${JSON.stringify(k)}: ${dump(x)}`)
        .join(", ")}}`;
    return JSON.stringify(v);
  };
  return dump(JSON.parse(line));
}

describe('a transcript written with spaced JSON separators ("role": "user")', () => {
  for (const readerThread of [true, false]) {
    it(`dates a call without a time by its turn's user line, as in compact JSON (reader thread ${readerThread})`, async () => {
      w = tempWorld();
      const dir = sessionsDir(w);
      writeFileSync(join(dir, "s1.jsonl"), `${spaced(userLine(T0))}\n${spaced(untimedLine(100))}\n`);
      const meter = meterFor(w, { readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 1, held: 0, malformed: 0 });
      expect(datedByInput(w).get(100)).toBe(T0);
      // appended in a later poll: the user line before the cursor is read back (lookBefore)
      appendFileSync(join(dir, "s1.jsonl"), `${spaced(untimedLine(200))}\n`);
      expect(await meter.runOnce()).toMatchObject({ billed: 1, held: 0 });
      expect(datedByInput(w).get(200)).toBe(T0);
      meter.close();
    });
  }
});

/** A call line with no readable time under entry id `id`: the same counts whatever the id. */
function untimedEntry(id: string, input = 1000): string {
  const line = JSON.parse(untimedLine(input)) as Record<string, unknown>;
  return JSON.stringify({ ...line, id });
}

/** Two sessions, `s1` alice's and `s2` bob's (Telegram DMs). */
function twoUsersDir(world: TempWorld): string {
  const dir = join(world.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "sessions.json"),
    JSON.stringify({
      "agent:main:telegram:direct:alice": { sessionId: "s1", lastChannel: "telegram" },
      "agent:main:telegram:direct:bob": { sessionId: "s2", lastChannel: "telegram" },
    }),
  );
  return dir;
}

/** A minimal OpenClaw SQLite store of agent main: `transcript_events` only. */
function ocStore(world: TempWorld): Database.Database {
  const dir = join(world.stateDir, "agents", "main", "agent");
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, "openclaw-agent.sqlite"));
  db.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
             event_zstd BLOB, created_at INTEGER, PRIMARY KEY (session_id, seq))`);
  return db;
}

// Before 2026-12-03 (the fix of the same day) two such calls were one identity: the second was
// dropped as a duplicate and never billed (a tester: two users, one system prompt, one short reply).
describe("two different calls without a readable time and with the same counts", () => {
  for (const readerThread of [true, false]) {
    it(`of two users are two calls; copies of either (checkpoint, reset archive, fork) add nothing (reader thread ${readerThread})`, async () => {
      w = tempWorld();
      const dir = twoUsersDir(w);
      writeFileSync(join(dir, "s1.jsonl"), `${userLine(T0)}\n${untimedEntry("3f1a9c02")}\n`);
      writeFileSync(join(dir, "s2.jsonl"), `${userLine(T0 + 1000)}\n${untimedEntry("b7e40d51")}\n`);
      const meter = meterFor(w, { readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 2, duplicates: 0, held: 0, malformed: 0 });
      // a compaction checkpoint of alice's transcript and a reset archive of bob's: the same lines
      copyFileSync(
        join(dir, "s1.jsonl"),
        join(dir, "s1.checkpoint.0b6f7c3e-2d4a-4e8b-9c1d-5a6b7c8d9e0f.jsonl"),
      );
      copyFileSync(join(dir, "s2.jsonl"), join(dir, "s2.jsonl.reset.2026-11-22T19-05-00.000Z"));
      // and a branch copy (fork) of bob's
      copyFileSync(join(dir, "s2.jsonl"), join(dir, "2026-11-22T19-06-00-000Z_s2.jsonl"));
      // every copy read, each a duplicate of the call it copies
      expect(await meter.runOnce()).toMatchObject({ billed: 0, duplicates: 3, held: 0 });
      meter.close();
      const by = totalsBy(w.db, "account_id");
      expect(by.get("telegram:alice")?.requests).toBe(1);
      expect(by.get("telegram:bob")?.requests).toBe(1);
      expect(w.db.prepare("SELECT COUNT(*) AS n FROM usage_events").pluck().get()).toBe(2);
    });
  }

  it("with nothing before them to date them are two held calls, not one held and one dropped", async () => {
    w = tempWorld();
    const dir = twoUsersDir(w);
    writeFileSync(join(dir, "s1.jsonl"), `${untimedEntry("3f1a9c02")}\n`);
    writeFileSync(join(dir, "s2.jsonl"), `${untimedEntry("b7e40d51")}\n`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 0, duplicates: 0, held: 2 });
    meter.close();
    const held = w.db
      .prepare<[], { a: string }>("SELECT account_id AS a FROM usage_review ORDER BY account_id")
      .pluck()
      .all();
    expect(held).toEqual(["telegram:alice", "telegram:bob"]);
  });

  it("in the same transcript (two turns, one reply each) are two calls", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    writeFileSync(
      join(dir, "s1.jsonl"),
      [userLine(T0), untimedEntry("3f1a9c02"), userLine(T0 + 60_000), untimedEntry("c0ffee42")]
        .map((l) => `${l}\n`)
        .join(""),
    );
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 2, duplicates: 0 });
    meter.close();
  });

  it("read from a JSONL transcript and from its SQLite import: each call once, the store's own call too", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const lines = [userLine(T0), untimedEntry("3f1a9c02")];
    writeFileSync(join(dir, "s1.jsonl"), lines.map((l) => `${l}\n`).join(""));
    // the import keeps each entry as written (event_json), its id included; a later call of the
    // same counts, in the store only
    const oc = ocStore(w);
    const ins = oc.prepare("INSERT INTO transcript_events (session_id, seq, event_json) VALUES ('s1', ?, ?)");
    for (const [i, l] of [...lines, userLine(T0 + 60_000), untimedEntry("c0ffee42")].entries())
      ins.run(i + 1, l);
    oc.close();
    const meter = meterFor(w, { readerThread: false });
    // the imported copy of the JSONL call is its duplicate
    expect(await meter.runOnce()).toMatchObject({ billed: 2, duplicates: 1, held: 0, malformed: 0 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0, held: 0 });
    meter.close();
    expect(w.db.prepare("SELECT COUNT(*) AS n FROM usage_events").pluck().get()).toBe(2);
  });

  it("a line without an entry id keeps the identity it had before (no time, no id): two such lines stay one call", async () => {
    w = tempWorld();
    const dir = twoUsersDir(w);
    const noId = (): string => {
      const { id: _id, ...rest } = JSON.parse(untimedLine(1000)) as Record<string, unknown>;
      return JSON.stringify(rest);
    };
    writeFileSync(join(dir, "s1.jsonl"), `${userLine(T0)}\n${noId()}\n`);
    writeFileSync(join(dir, "s2.jsonl"), `${userLine(T0 + 1000)}\n${noId()}\n`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, duplicates: 1 });
    meter.close();
  });
});

describe("a user line with any JSON white space around its role's colon", () => {
  for (const form of ['"role" : "user"', '"role":\t"user"', '"role":  "user"']) {
    it(`${JSON.stringify(form)} dates a call without a time`, async () => {
      w = tempWorld();
      const dir = sessionsDir(w);
      const user = userLine(T0).replace('"role":"user"', form);
      expect(JSON.parse(user).message.role).toBe("user");
      writeFileSync(join(dir, "s1.jsonl"), `${user}\n${untimedLine(100)}\n`);
      const meter = meterFor(w);
      expect(await meter.runOnce()).toMatchObject({ billed: 1, held: 0, malformed: 0 });
      expect(datedByInput(w).get(100)).toBe(T0);
      meter.close();
    });
  }

  it('a "user" that is another key\'s value is no user line', () => {
    const line = Buffer.from('{"type":"custom","data":{"sender" : "user"}}');
    expect(hasUserMark(line)).toBe(false);
    expect(textHasUserMark(line.toString())).toBe(false);
    expect(hasUserMark(Buffer.from('{"message":{"role" :\t"user"}}'))).toBe(true);
    expect(textHasUserMark('{"message":{"role" :\t"user"}}')).toBe(true);
  });
});
