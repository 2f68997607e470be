// OpenClaw SQLite stores read on the reader thread: batches are in flight (up to MAX_IN_FLIGHT
// unacknowledged) while the main thread bills, and the store reader's memory (session facts sent,
// archives read) advances only on the writer's acknowledgement. Billing failures, aborts and a
// thread killed mid-poll lose nothing and bill nothing twice; the thread and the main thread bill
// the same store identically.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { ocStoreFromState } from "../../scripts/synth-oc-store.mjs";
import { synthState } from "../../scripts/synth-state.mjs";
import { type Db, openDatabase } from "../../src/db/index.js";
import type { MeterSource, SourceBatch } from "../../src/meter/source.js";
import { createReaderThread, type ReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import { expectExactlyOnce, fill, synthBiller, unbalancedAccounts, unfill } from "../support/meter-env.js";
import { randomStore } from "../support/random-store.js";
import { zstdStore } from "../support/zstd.js";

let dir: string | undefined;
const threads: ReaderThread[] = [];
afterEach(async () => {
  for (const t of threads.splice(0)) await t.terminate();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function newThread(): ReaderThread {
  const t = createReaderThread();
  threads.push(t);
  return t;
}

const count = (db: Db, sql: string) => (db.prepare(sql).get() as { n: number }).n;

/** Everything billing wrote that must not depend on where the store was read (wall-clock columns aside). */
function ledgerState(db: Db) {
  const q = (sql: string) => db.prepare(sql).safeIntegers(true).all();
  return {
    usage: q(
      `SELECT dedupe_key, account_id, agent_id, session_id, session_key, source_ref, input_tokens, output_tokens,
         cache_read_tokens, cache_write_tokens, cost_pico_usd, charge_micro_credits, latency_ms,
         preview_user, preview_reply
       FROM usage_events ORDER BY dedupe_key`,
    ),
    accounts: q("SELECT id, balance_micro_credits FROM accounts ORDER BY id"),
    ledger: q(
      "SELECT account_id, COUNT(*) AS n, SUM(amount_micro_credits) AS total FROM ledger_entries GROUP BY account_id ORDER BY account_id",
    ),
    sessions: q(
      "SELECT agent_id, session_id, session_key, account_id, channel FROM meter_sessions ORDER BY session_id",
    ),
    cursors: q(
      "SELECT session_id, last_seq, rewrite_generation, last_row_sha256 FROM meter_sqlite_cursors ORDER BY session_id",
    ),
    blobs: q("SELECT content_sha256, name, events FROM meter_blobs_done ORDER BY content_sha256"),
    rejects: q("SELECT source_ref, reason FROM meter_rejects ORDER BY source_ref"),
  };
}

/** Calls billed to the wrong account, or missing, against a random store's oracle (empty: right). */
function wrongCalls(db: Db, want: Map<number, string>): string[] {
  const got = db.prepare("SELECT message_ts_ms AS t, account_id AS a FROM usage_events").all() as {
    t: number;
    a: string;
  }[];
  const wrong = got.filter((g) => want.get(g.t) !== g.a).map((g) => `${g.t} ${g.a} != ${want.get(g.t)}`);
  if (got.length !== want.size) wrong.push(`${got.length} calls billed, ${want.size} written`);
  return wrong;
}

/** A synthState world (JSONL) turned into an OpenClaw store: `stateDir` holds only the store. */
function synthStore(seed: number, sessions = 30) {
  dir = mkdtempSync(join(tmpdir(), "cg-store-thread-"));
  const world = synthState({
    stateDir: join(dir, "jsonl"),
    agents: 1,
    sessions,
    turns: 8,
    users: 10,
    toolBytes: 400,
    seed,
  });
  const stateDir = join(dir, "oc");
  ocStoreFromState(join(dir, "jsonl"), stateDir);
  return { world, stateDir, agentDir: join(stateDir, "agents", "main"), root: dir };
}

function storeSource(
  agentDir: string,
  db: Db,
  batchSize: number,
  thread?: ReaderThread,
  previewChars = 0,
): MeterSource {
  return createSqliteSource({
    agentDir,
    agentId: "main",
    db,
    batchSize,
    previewChars,
    ...(thread ? { thread } : {}),
  });
}

describe("an OpenClaw store read on the reader thread", () => {
  it.each([
    ["SQLITE_FULL", 1],
    ["SQLITE_FULL", 2],
    ["SQLITE_FULL", 5],
    ["a throwing sink", 3],
  ])(
    "billing fails (%s) at batch %i while batches are in flight: nothing lost or doubled, the next poll bills the rest",
    async (how, k) => {
      const { world, agentDir, root } = synthStore(20 + k);
      const db = openDatabase(join(root, "db.sqlite"));
      const thread = newThread();
      const source = storeSource(agentDir, db, 7, thread);
      try {
        const biller = synthBiller(db);
        let batches = 0;
        let failAt = k;
        let billed = 0;
        let duplicates = 0;
        let inFlightSeen = 0;
        const sink = (b: SourceBatch) => {
          batches++;
          // the writer is slow on the first batch: the thread fills its window (MAX_IN_FLIGHT)
          if (batches === 1) for (const t = Date.now(); Date.now() - t < 50; );
          if (batches === failAt) {
            if (how !== "SQLITE_FULL") throw Object.assign(new Error("injected"), { code: "INJECTED" });
            fill(db);
          }
          const r = biller.bill(b);
          billed += r.billed;
          duplicates += r.duplicates;
          inFlightSeen = Math.max(inFlightSeen, batches);
        };
        const code = how === "SQLITE_FULL" ? "SQLITE_FULL" : "INJECTED";
        await expect(source.poll(sink)).rejects.toMatchObject({ code });
        expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(billed);
        expect(billed).toBeLessThan(world.events);
        unfill(db);
        // the next poll fails too, at its third batch: the reader forgets that one and later ones again
        batches = 0;
        failAt = 3;
        await expect(source.poll(sink)).rejects.toMatchObject({ code });
        unfill(db);
        failAt = 0;
        await source.poll(sink);
        expect(billed).toBe(world.events);
        expect(duplicates).toBe(0);
        expectExactlyOnce(db, world.perAccount);
        expect(unbalancedAccounts(db)).toBe(0);
        expect(count(db, "SELECT COUNT(*) AS n FROM meter_sessions")).toBe(30);
        billed = 0;
        batches = 0;
        await source.poll(sink);
        expect(batches).toBe(0);
        expect(thread.crashes).toBe(0);
        expect(thread.batches).toBeGreaterThan(3);
      } finally {
        source.close();
        db.close();
      }
    },
  );

  it("a thread killed mid-poll: the poll finishes on the main thread, with the ledger an inline run gives", async () => {
    const { world, agentDir, root } = synthStore(5, 40);
    const inlineDb = openDatabase(join(root, "inline.sqlite"));
    const inlineBiller = synthBiller(inlineDb);
    await storeSource(agentDir, inlineDb, 17).poll((b) => void inlineBiller.bill(b));
    const db = openDatabase(join(root, "db.sqlite"));
    const logs: string[] = [];
    const thread = createReaderThread({ log: (_level, msg) => logs.push(msg) });
    threads.push(thread);
    const source = storeSource(agentDir, db, 17, thread);
    try {
      const biller = synthBiller(db);
      let batches = 0;
      let billed = 0;
      let duplicates = 0;
      const sink = (b: SourceBatch) => {
        // the first batch is slow (the thread reads ahead); the third is billed while the thread dies
        if (++batches === 1) for (const t = Date.now(); Date.now() - t < 30; );
        if (batches === 3) void thread.terminate();
        const r = biller.bill(b);
        billed += r.billed;
        duplicates += r.duplicates;
      };
      await source.poll(sink);
      expect(thread.crashes).toBe(1);
      expect(thread.usable).toBe(false);
      expect(logs.some((m) => m.includes("reader thread failed"))).toBe(true);
      expect(billed).toBe(world.events);
      expect(duplicates).toBe(0);
      expectExactlyOnce(db, world.perAccount);
      expect(ledgerState(db)).toEqual(ledgerState(inlineDb));
      billed = 0;
      await source.poll(sink);
      expect(billed).toBe(0);
    } finally {
      source.close();
      db.close();
      inlineDb.close();
    }
  });

  it.each([
    // (16 calls: in batches of 6 every part fits in the thread's window, in batches of 3 not)
    [3, 2],
    [6, 1],
    [6, 2],
    [6, 3],
  ])(
    "an archive row billed in batches of %i, failing at its part %i while its later parts are in flight: read again whole next poll, marked read once",
    async (batchSize, failAt) => {
      const { agentDir, root } = synthStore(13, 4);
      // one session is deleted: its whole transcript moves into the archive table
      const oc = new Database(join(agentDir, "agent", "openclaw-agent.sqlite"));
      oc.exec(`CREATE TABLE session_transcript_archives (session_id TEXT, generation TEXT, session_key TEXT,
      archive_name TEXT, archive_sha256 TEXT, encoding TEXT, archive_blob BLOB, created_at INTEGER)`);
      const w = oc
        .prepare("SELECT session_id AS sid, session_key AS k FROM session_windows LIMIT 1")
        .get() as {
        sid: string;
        k: string;
      };
      const lines = (
        oc
          .prepare("SELECT event_json AS j FROM transcript_events WHERE session_id = ? ORDER BY seq")
          .all(w.sid) as {
          j: string;
        }[]
      ).map((r) => r.j);
      const name = `${w.sid}.jsonl.deleted.2026-11-22T18-19-31.611Z.zst`;
      const blob = zstdStore(Buffer.from(`${lines.join("\n")}\n`));
      oc.prepare("INSERT INTO session_transcript_archives VALUES (?, 'g1', ?, ?, NULL, 'zstd', ?, 1)").run(
        w.sid,
        w.k,
        name,
        blob,
      );
      // ... and the same content as a file: read once (it is done when the row's last part commits)
      mkdirSync(join(agentDir, "sessions"), { recursive: true });
      writeFileSync(join(agentDir, "sessions", name), blob);
      oc.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(w.sid);
      oc.prepare("DELETE FROM session_windows WHERE session_id = ?").run(w.sid);
      oc.close();
      const calls = lines.filter((l) => l.includes('"usage"')).length;
      expect(calls).toBeGreaterThan(2 * batchSize);

      const db = openDatabase(join(root, "db.sqlite"));
      const thread = newThread();
      const source = storeSource(agentDir, db, batchSize, thread);
      try {
        const biller = synthBiller(db);
        const archiveBatches: number[] = [];
        let failing = true;
        let duplicates = 0;
        const sink = (b: SourceBatch) => {
          if (b.events.some((e) => e.sourceRef.startsWith("archive:"))) {
            archiveBatches.push(b.events.length);
            // a slow writer: the thread has read the archive's later parts (and the file) meanwhile
            for (const t = Date.now(); Date.now() - t < 30; );
            if (failing && archiveBatches.length === failAt)
              throw Object.assign(new Error("injected"), { code: "INJECTED" });
          }
          const r = biller.bill(b);
          duplicates += r.duplicates;
        };
        await expect(source.poll(sink)).rejects.toMatchObject({ code: "INJECTED" });
        expect(count(db, "SELECT COUNT(*) AS n FROM meter_blobs_done")).toBe(0);
        const archived = () =>
          count(db, "SELECT COUNT(*) AS n FROM usage_events WHERE source_ref LIKE 'archive:%'");
        expect(archived()).toBe((failAt - 1) * batchSize); // the parts before the failure committed
        failing = false;
        archiveBatches.length = 0;
        await source.poll(sink);
        expect(Math.max(...archiveBatches)).toBeLessThanOrEqual(batchSize);
        expect(archived()).toBe(calls);
        expect(duplicates).toBe((failAt - 1) * batchSize);
        expect(count(db, "SELECT COUNT(*) AS n FROM meter_blobs_done")).toBe(1);
        // read once: the next poll does not even decode it again
        archiveBatches.length = 0;
        let batches = 0;
        await source.poll(() => {
          batches++;
        });
        expect(batches).toBe(0);
        expect(thread.crashes).toBe(0);
      } finally {
        source.close();
        db.close();
      }
    },
  );
});

describe("one reader thread, two creditgate databases", () => {
  it("the same agent dir metered into two databases: each reader reads against its own database", async () => {
    const { world, agentDir, root } = synthStore(3, 6);
    const thread = newThread();
    const dbs = [openDatabase(join(root, "one.sqlite")), openDatabase(join(root, "two.sqlite"))];
    try {
      for (const db of dbs) {
        const biller = synthBiller(db);
        const source = storeSource(agentDir, db, 5, thread);
        await source.poll((b) => void biller.bill(b));
        expectExactlyOnce(db, world.perAccount);
      }
      expect(thread.batches).toBeGreaterThan(4);
    } finally {
      for (const db of dbs) db.close();
    }
  });
});

describe("random OpenClaw stores", () => {
  it("billed through the thread and inline: identical usage rows, ledger, session memory, cursors and archives (6 stores)", async () => {
    for (let seed = 1; seed <= 6; seed++) {
      dir = mkdtempSync(join(tmpdir(), "cg-store-diff-"));
      const w = randomStore(seed * 17, dir);
      const inlineDb = openDatabase(join(dir, "inline.sqlite"));
      const threadDb = openDatabase(join(dir, "thread.sqlite"));
      const thread = newThread();
      try {
        const batchSize = 1 + Math.floor(w.r() * 8);
        // previews on: the turn (latency, user preview) carries across batches the same on both
        const inline = storeSource(w.agentDir, inlineDb, batchSize, undefined, 40);
        const onThread = storeSource(w.agentDir, threadDb, batchSize, thread, 40);
        const inlineBiller = synthBiller(inlineDb);
        const threadBiller = synthBiller(threadDb);
        for (let round = 0, rounds = 6 + Math.floor(w.r() * 6); round < rounds; round++) {
          for (let i = round === 0 ? 40 : 1 + Math.floor(w.r() * 12); i > 0; i--) w.step();
          await inline.poll((b) => void inlineBiller.bill(b));
          let k = 0;
          await onThread.poll((b) => {
            // a slow first batch: the thread fills its window
            if (++k === 1) for (const t = Date.now(); Date.now() - t < 3; );
            threadBiller.bill(b);
          });
        }
        expect(thread.crashes).toBe(0);
        expect(thread.batches, `seed ${seed}`).toBeGreaterThan(5);
        const a = ledgerState(inlineDb);
        expect(ledgerState(threadDb), `seed ${seed}`).toEqual(a);
        expect(wrongCalls(threadDb, w.expected()), `seed ${seed}`).toEqual([]);
        expect(a.sessions.length, `seed ${seed}`).toBe(w.sessionCount());
        expect(a.blobs.length, `seed ${seed}`).toBeGreaterThan(0);
        const withLatency = a.usage.filter((u) => (u as { latency_ms: unknown }).latency_ms !== null);
        expect(withLatency.length, `seed ${seed}`).toBeGreaterThan(0);
        expect(
          a.usage.filter((u) => (u as { preview_user: unknown }).preview_user !== null).length,
          `seed ${seed}`,
        ).toBeGreaterThan(0);
        inline.close();
        onThread.close();
      } finally {
        w.close();
        inlineDb.close();
        threadDb.close();
        await thread.terminate();
        rmSync(dir, { recursive: true, force: true });
        dir = undefined;
      }
    }
  }, 240_000);

  it("with batches in flight, each session fact and each archive is carried by exactly one billed batch", async () => {
    for (const threaded of [true, false]) {
      dir = mkdtempSync(join(tmpdir(), "cg-store-facts-"));
      const w = randomStore(7, dir);
      const db = openDatabase(join(dir, "db.sqlite"));
      const thread = threaded ? newThread() : undefined;
      try {
        const biller = synthBiller(db);
        // batches of 2 rows: most sessions span several batches, several of them in flight at once
        const source = storeSource(w.agentDir, db, 2, thread);
        const facts = new Map<string, number>();
        const blobs = new Map<string, number>();
        const sink = (b: SourceBatch) => {
          biller.bill(b);
          for (const f of b.sessions) facts.set(f.sessionId, (facts.get(f.sessionId) ?? 0) + 1);
          for (const x of b.cursorMoves?.blobs ?? []) blobs.set(x.sha, (blobs.get(x.sha) ?? 0) + 1);
        };
        for (let round = 0; round < 8; round++) {
          for (let i = round === 0 ? 50 : 10; i > 0; i--) w.step();
          let k = 0;
          await source.poll((b) => {
            // slow on the first batch and on archives: the thread reads ahead of the writer
            if (++k === 1 || b.cursorMoves?.blobs) for (const t = Date.now(); Date.now() - t < 10; );
            sink(b);
          });
          // nothing changed: nothing is read again (facts and archives remembered once committed)
          let again = 0;
          await source.poll(() => {
            again++;
          });
          expect(again, `round ${round}`).toBe(0);
        }
        const mode = threaded ? "thread" : "inline";
        expect(facts.size, mode).toBe(w.sessionCount());
        expect(
          [...facts.values()].filter((n) => n !== 1),
          mode,
        ).toEqual([]);
        expect(blobs.size, mode).toBeGreaterThan(3);
        expect(
          [...blobs.values()].filter((n) => n !== 1),
          mode,
        ).toEqual([]);
        expect(count(db, "SELECT COUNT(*) AS n FROM meter_sessions"), mode).toBe(w.sessionCount());
        expect(wrongCalls(db, w.expected()), mode).toEqual([]);
        if (thread) expect(thread.batches).toBeGreaterThan(20);
        source.close();
      } finally {
        w.close();
        db.close();
        await thread?.terminate();
        rmSync(dir, { recursive: true, force: true });
        dir = undefined;
      }
    }
  }, 120_000);

  it("billing failures and thread deaths at random batches: every call billed once, to its session's account", async () => {
    let fails = 0;
    let deaths = 0;
    let polls = 0;
    for (let seed = 1; seed <= 6; seed++) {
      dir = mkdtempSync(join(tmpdir(), "cg-store-stress-"));
      const w = randomStore(seed * 101, dir);
      const db = openDatabase(join(dir, "db.sqlite"));
      let thread = newThread();
      try {
        const d = db;
        const biller = synthBiller(d);
        const batchSize = 1 + Math.floor(w.r() * 6);
        const mk = () => storeSource(w.agentDir, d, batchSize, thread);
        let source = mk();
        for (let round = 0, rounds = 8 + Math.floor(w.r() * 8); round < rounds; round++) {
          for (let i = round === 0 ? 40 : 1 + Math.floor(w.r() * 10); i > 0; i--) w.step();
          const failAt = w.r() < 0.4 ? 1 + Math.floor(w.r() * 8) : -1;
          const full = w.r() < 0.5;
          const dieAt = w.r() < 0.25 ? 1 + Math.floor(w.r() * 8) : -1;
          let k = 0;
          polls++;
          try {
            await source.poll((b) => {
              k++;
              if (k === 1) for (const t = Date.now(); Date.now() - t < 5; );
              if (k === dieAt) {
                deaths++;
                void thread.terminate();
              }
              if (k === failAt) {
                fails++;
                if (!full) throw Object.assign(new Error("injected"), { code: "INJECTED" });
                fill(d);
              }
              biller.bill(b);
              // the gateway writes while the meter reads
              if (k % 3 === 0 && k <= 12) w.step();
            });
          } catch (err) {
            const code = (err as { code?: string }).code;
            if (code !== "INJECTED" && code !== "SQLITE_FULL") throw err;
          } finally {
            unfill(d);
          }
          if (!thread.usable) {
            // a restart: a new thread, a new source (memory from the database)
            source.close();
            await thread.terminate();
            thread = newThread();
            source = mk();
          }
        }
        await source.poll((b) => void biller.bill(b));
        await source.poll((b) => void biller.bill(b));
        expect(wrongCalls(d, w.expected()), `seed ${seed}`).toEqual([]);
        expect(unbalancedAccounts(d), `seed ${seed}`).toBe(0);
        expect(count(d, "SELECT COUNT(*) AS n FROM meter_sessions"), `seed ${seed}`).toBe(w.sessionCount());
        source.close();
      } finally {
        w.close();
        db.close();
        await thread.terminate();
        rmSync(dir, { recursive: true, force: true });
        dir = undefined;
      }
    }
    expect(fails).toBeGreaterThan(10);
    expect(deaths).toBeGreaterThan(3);
    expect(polls).toBeGreaterThan(50);
  }, 240_000);
});
