// Two meters on one creditgate database reading one OpenClaw store (e.g. `creditgate start`
// running and an operator's `creditgate meter --once`), while the store's rows before the cursor
// are rewritten in place: meter A notices and rescans the session from its first row, commits one
// batch and stops; meter B, which planned from the old cursor before the rewrite, commits its
// batches after A's. A session cursor move only applies over the cursor it was read from (a
// compare-and-set on last_seq and generation): B's moves must not overwrite A's rescan position,
// or the rows between would never be read (calls never billed).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createCursorRepo } from "../../src/meter/cursor-repo.js";
import type { SourceBatch } from "../../src/meter/source.js";
import { createSqliteReader } from "../../src/meter/sources/sqlite-reader.js";
import { mockCallLine, synthBiller } from "../support/meter-env.js";
import { randomStore, steppedStore } from "../support/random-store.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

let ts = 1_796_000_000_000;
/** A new, distinct model call line (its own timestamp and response id). */
function call(): { line: string; responseId: string } {
  ts += 1000;
  const responseId = `two${ts}`;
  return { responseId, line: mockCallLine(ts, responseId) };
}

const dirs: string[] = [];
const dbs: Db[] = [];
afterEach(() => {
  for (const d of dbs.splice(0)) d.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("two meters on one database, a store session rewritten in place between them", () => {
  it("a move read from an older cursor does not overwrite a newer one: no row is skipped", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-two-meters-"));
    dirs.push(dir);
    const rs = steppedStore(5, dir, 40);
    const store = rs.store;
    const db = openDatabase(join(dir, "db.sqlite"));
    dbs.push(db);
    const biller = synthBiller(db);
    const reader = () => createSqliteReader({ agentDir: rs.agentDir, agentId: "main", batchSize: 5 }, db);
    const bill = (r: ReturnType<typeof reader>, b: SourceBatch, id: number) => {
      biller.bill(b);
      r.committed(id);
    };

    // everything billed once; S is the first session
    const m0 = reader();
    await m0.poll((b, id) => bill(m0, b, id));
    m0.close();
    const oc = new Database(store);
    const s = { sid: rs.sid, m: rs.maxSeq };
    const put = oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, event_zstd) VALUES (?, ?, ?, NULL)",
    );
    for (let q = s.m + 1; q <= s.m + 10; q++) put.run(s.sid, q, call().line);

    // B plans from the cursor at s.m and reads its first batch; it is billed later
    const b = reader();
    let releaseB = () => {};
    const gate = new Promise<void>((resolve) => {
      releaseB = resolve;
    });
    let firstB: (() => void) | null = null;
    const bReadFirst = new Promise<void>((resolve) => {
      firstB = resolve;
    });
    let bBatches = 0;
    const bPoll = b.poll(async (batch, id) => {
      bBatches++;
      if (bBatches === 1) {
        firstB?.();
        await gate;
      }
      bill(b, batch, id);
    });
    await bReadFirst;

    // every row of S rewritten in place (same seqs, no new generation): other calls
    const rewritten: string[] = [];
    const seqs = oc
      .prepare<[string], { seq: number }>(
        "SELECT seq FROM transcript_events WHERE session_id = ? ORDER BY seq",
      )
      .all(s.sid);
    const set = oc.prepare(
      "UPDATE transcript_events SET event_json = ?, event_zstd = NULL WHERE session_id = ? AND seq = ?",
    );
    for (const { seq } of seqs) {
      const c = call();
      rewritten.push(c.responseId);
      set.run(c.line, s.sid, seq);
    }
    oc.close();

    // A sees the row at the cursor changed, rescans S, commits one batch and stops
    const a = reader();
    let aBatches = 0;
    await expect(
      a.poll((batch, id) => {
        if (++aBatches > 1) throw new Error("meter A stopped");
        bill(a, batch, id);
      }),
    ).rejects.toThrow("meter A stopped");
    a.close();

    // B goes on: its first batch (read before the rewrite) and the rest (after it) are billed
    releaseB();
    await bPoll;
    b.close();
    expect(bBatches).toBeGreaterThanOrEqual(2);

    // a later meter reads from the committed cursor: every rewritten call is billed, once
    const c = reader();
    await c.poll((batch, id) => bill(c, batch, id));
    c.close();
    const billed = new Set(
      db
        .prepare<[], { r: string }>("SELECT response_id AS r FROM usage_events WHERE response_id LIKE 'two%'")
        .all()
        .map((x) => x.r),
    );
    const missing = rewritten.filter((r) => !billed.has(r));
    expect(missing).toEqual([]);
    expect(
      db.prepare("SELECT COUNT(*) - COUNT(DISTINCT response_id) AS n FROM usage_events").pluck().get(),
    ).toBe(0);
  });
});

describe.each(ENGINES)("store session cursor moves are a compare-and-set (%s)", (engine) => {
  it("applies a move over the cursor it continues from, keeps the cursor otherwise", () => {
    const e = createEngineDb(engine);
    try {
      const cursors = createCursorRepo(e.db);
      const at = () =>
        e.db
          .prepare<[], { s: number; g: number | null }>(
            "SELECT last_seq AS s, rewrite_generation AS g FROM meter_sqlite_cursors WHERE session_id = 'S'",
          )
          .get();
      const move = (
        lastSeq: number,
        gen: number | null,
        from: { lastSeq: number; gen: number | null } | null,
      ) =>
        cursors.write(
          { sqlite: [{ dbPath: "/s.sqlite", sessionId: "S", lastSeq, gen, rowSha: null, from }] },
          1,
        );
      expect(move(4, null, null)).toBe(0); // a first cursor
      expect(at()).toEqual({ s: 4, g: null });
      expect(move(9, null, null)).toBe(1); // "no cursor yet": another meter made one
      expect(move(9, null, { lastSeq: 3, gen: null })).toBe(1); // not the cursor read from
      expect(at()).toEqual({ s: 4, g: null });
      expect(move(9, 77, { lastSeq: 4, gen: null })).toBe(0);
      expect(move(12, 77, { lastSeq: 9, gen: 78 })).toBe(1); // same seq, other generation
      expect(move(12, 2 ** 47, { lastSeq: 9, gen: 77 })).toBe(0);
      expect(move(13, 2 ** 47, { lastSeq: 12, gen: 2 ** 47 })).toBe(0);
      expect(at()).toEqual({ s: 13, g: 2 ** 47 });
      // a move without `from` (older callers) is applied as before
      cursors.write(
        { sqlite: [{ dbPath: "/s.sqlite", sessionId: "S", lastSeq: 2, gen: null, rowSha: null }] },
        1,
      );
      expect(at()).toEqual({ s: 2, g: null });
    } finally {
      e.cleanup();
    }
  });
});

describe("a hand-made store listing one session in two windows", () => {
  it("plans the session once: billed once, no cursor move kept, a quiet second poll", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-two-windows-"));
    dirs.push(dir);
    const rs = randomStore(7, dir);
    for (let i = 0; i < 30; i++) rs.step();
    rs.close();
    const store = join(rs.agentDir, "agent", "openclaw-agent.sqlite");
    const oc = new Database(store);
    oc.exec(`ALTER TABLE session_windows RENAME TO sw_old;
      CREATE TABLE session_windows (session_id TEXT, session_key TEXT, channel TEXT, created_at INTEGER,
        updated_at INTEGER, parent_session_key TEXT, spawned_by TEXT);
      INSERT INTO session_windows SELECT * FROM sw_old;
      INSERT INTO session_windows SELECT * FROM sw_old ORDER BY session_id LIMIT 1;
      DROP TABLE sw_old;`);
    oc.close();
    const db = openDatabase(join(dir, "db.sqlite"));
    dbs.push(db);
    const biller = synthBiller(db);
    const r = createSqliteReader({ agentDir: rs.agentDir, agentId: "main", batchSize: 3 }, db);
    let kept = 0;
    let events = 0;
    const poll = () =>
      r.poll((b, id) => {
        const res = biller.bill(b);
        kept += res.cursorsKept;
        events += b.events.length;
        r.committed(id);
      });
    await poll();
    expect(events).toBeGreaterThan(0);
    expect(kept).toBe(0);
    // new rows in the listed-twice session, read on an ordinary (window-driven) poll
    const w = new Database(store);
    const sid = w
      .prepare("SELECT session_id FROM session_windows ORDER BY session_id LIMIT 1")
      .pluck()
      .get() as string;
    const top = w
      .prepare("SELECT MAX(seq) FROM transcript_events WHERE session_id = ?")
      .pluck()
      .get(sid) as number;
    const add = w.prepare("INSERT INTO transcript_events (session_id, seq, event_json) VALUES (?, ?, ?)");
    for (let q = top + 1; q <= top + 7; q++) add.run(sid, q, call().line);
    w.close();
    events = 0;
    await poll();
    expect({ events, kept }).toEqual({ events: 7, kept: 0 });
    events = 0;
    await poll();
    expect({ events, kept }).toEqual({ events: 0, kept: 0 });
    r.close();
    expect(
      db.prepare("SELECT COUNT(*) - COUNT(DISTINCT dedupe_key) AS n FROM usage_events").pluck().get(),
    ).toBe(0);
  });
});
