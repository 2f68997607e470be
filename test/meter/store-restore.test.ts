// An OpenClaw store cursor remembers the row it ended on (`last_row_sha256`, migration 35): a
// store restored from an older backup on which OpenClaw wrote past (or up to) the old cursor has
// different rows at seqs the cursor covers, and the session is rescanned (dedupe absorbs what was
// billed). Before, those rows were skipped: calls never billed. Each scenario runs on the main
// thread and on the reader thread.
import { copyFileSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import type { MeterSource, SourceBatch } from "../../src/meter/source.js";
import { createReaderThread, type ReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import { rowFingerprint } from "../../src/meter/sources/sqlite-reader.js";
import { mockCallLine, synthBiller } from "../support/meter-env.js";
import { steppedStore } from "../support/random-store.js";
import { zstdStore } from "../support/zstd.js";

/** Each call written by these tests: 1000 input + 100 output tokens of mock/mock-gpt = 4500 µcredits. */
const CALL_MICRO_CREDITS = 4500;
/** Polls between two full reconciles (sqlite-reader.ts FULL_RECONCILE_EVERY). */
const FULL_RECONCILE_EVERY = 30;

let ts = 1_795_000_000_000;
/** A new, distinct model call line (its own timestamp and response id). */
function call(): string {
  ts += 1000;
  return mockCallLine(ts, `r${ts}`);
}

const count = (db: Db, sql: string, ...p: unknown[]) => (db.prepare(sql).get(...p) as { n: number }).n;

interface World {
  dir: string;
  /** The agent's OpenClaw store file. */
  store: string;
  db: Db;
  /** The session the tests write to, and its max seq after the random steps. */
  sid: string;
  baseSeq: number;
  /** The account the session's calls are billed to. */
  account: string;
  /** The current source (replaced by `restart`). */
  src: MeterSource;
  /** Totals of the batches billed since the last `reset`. */
  totals: { billed: number; duplicates: number; lines: number };
  /** Sessions re-read from their start (`stats.rescans`) since the last `reset`. */
  rescans: number;
  poll(): Promise<void>;
  reset(): void;
  /** Stops the source and its reader thread: creditgate stopped. */
  stop(): Promise<void>;
  /** Stops the source and its reader thread (if running) and starts new ones: creditgate restarted. */
  restart(): Promise<void>;
  balance(): number;
  /** Appends rows at the given seqs (event_json, or event_zstd when `zstd`). */
  write(rows: { seq: number; line: string; zstd?: boolean }[]): void;
  /** A consistent copy of the store as it is now (checkpointed first). */
  backup(): string;
  /** Puts a backup in place of the store (a new file renamed over it; no WAL left). */
  restore(backup: string): void;
  cursor(): { last_seq: number; last_row_sha256: string | null };
  rowSha(seq: number): string;
}

const worlds: World[] = [];
const threads: ReaderThread[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    w.src.close();
    w.db.close();
    rmSync(w.dir, { recursive: true, force: true });
  }
  for (const t of threads.splice(0)) {
    // the thread read everything itself (a crash would hide a thread-path bug behind the fallback)
    expect(t.crashes).toBe(0);
    await t.terminate();
  }
});

/** A random store (seed 5, 40 steps) billed once, by a source on the main or the reader thread. */
async function world(threaded: boolean): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "cg-restore-"));
  const rs = steppedStore(5, dir, 40);
  const store = rs.store;
  const db = openDatabase(join(dir, "db.sqlite"));
  const biller = synthBiller(db);
  const newSource = (): MeterSource => {
    let thread: ReaderThread | undefined;
    if (threaded) {
      thread = createReaderThread();
      threads.push(thread);
    }
    return createSqliteSource({
      agentDir: rs.agentDir,
      agentId: "main",
      db,
      batchSize: 5,
      ...(thread ? { thread } : {}),
    });
  };
  const w: World = {
    dir,
    store,
    db,
    sid: rs.sid,
    baseSeq: rs.maxSeq,
    account: "",
    src: newSource(),
    totals: { billed: 0, duplicates: 0, lines: 0 },
    rescans: 0,
    async poll() {
      await w.src.poll((b: SourceBatch) => {
        const r = biller.bill(b);
        w.totals.billed += r.billed;
        w.totals.duplicates += r.duplicates;
        w.totals.lines += b.stats.lines ?? 0;
        w.rescans += b.stats.rescans ?? 0;
      });
    },
    reset() {
      w.totals = { billed: 0, duplicates: 0, lines: 0 };
      w.rescans = 0;
    },
    async stop() {
      w.src.close();
      for (const t of threads.splice(0)) {
        expect(t.crashes).toBe(0);
        await t.terminate();
      }
    },
    async restart() {
      await w.stop();
      w.src = newSource();
    },
    balance() {
      return count(db, "SELECT balance_micro_credits AS n FROM accounts WHERE id = ?", w.account);
    },
    write(rows) {
      const oc = new Database(store);
      const ins = oc.prepare(
        "INSERT INTO transcript_events (session_id, seq, event_json, event_zstd) VALUES (?, ?, ?, ?)",
      );
      for (const r of rows)
        ins.run(w.sid, r.seq, r.zstd ? null : r.line, r.zstd ? zstdStore(Buffer.from(r.line)) : null);
      oc.close();
    },
    backup() {
      const oc = new Database(store);
      oc.pragma("wal_checkpoint(TRUNCATE)");
      oc.close();
      const to = join(dir, `backup-${Date.now()}-${Math.random()}.sqlite`);
      copyFileSync(store, to);
      return to;
    },
    restore(backup) {
      rmSync(`${store}-wal`, { force: true });
      rmSync(`${store}-shm`, { force: true });
      copyFileSync(backup, `${store}.new`);
      renameSync(`${store}.new`, store);
    },
    cursor() {
      return db
        .prepare<[string], { last_seq: number; last_row_sha256: string | null }>(
          "SELECT last_seq, last_row_sha256 FROM meter_sqlite_cursors WHERE session_id = ?",
        )
        .get(w.sid) as { last_seq: number; last_row_sha256: string | null };
    },
    rowSha(seq) {
      const oc = new Database(store, { readonly: true });
      const r = oc
        .prepare<[string, number], { json: string | null; zstd: Buffer | null }>(
          "SELECT event_json AS json, event_zstd AS zstd FROM transcript_events WHERE session_id = ? AND seq = ?",
        )
        .get(w.sid, seq);
      oc.close();
      if (!r) throw new Error(`no row at seq ${seq}`);
      return rowFingerprint(r.json, r.zstd);
    },
  };
  worlds.push(w);
  await w.poll();
  expect(w.totals.billed).toBeGreaterThan(0);
  const mem = db
    .prepare<[string], { account_id: string }>("SELECT account_id FROM meter_sessions WHERE session_id = ?")
    .get(w.sid);
  w.account = mem?.account_id ?? "";
  expect(w.account).toMatch(/^(telegram|agent):/);
  // the session's earlier calls are billed: a rescan of it finds them as duplicates
  expect(count(db, "SELECT COUNT(*) AS n FROM usage_events WHERE session_id = ?", w.sid)).toBeGreaterThan(0);
  w.reset();
  return w;
}

/** Every ledger entry is reflected in a balance, and no call is billed twice. */
function expectLedgerConsistent(db: Db): void {
  expect(count(db, "SELECT COALESCE(SUM(balance_micro_credits), 0) AS n FROM accounts")).toBe(
    count(db, "SELECT COALESCE(SUM(amount_micro_credits), 0) AS n FROM ledger_entries"),
  );
  expect(count(db, "SELECT COUNT(*) - COUNT(DISTINCT response_id) AS n FROM usage_events")).toBe(0);
}

/** `n` new calls at seqs base+1…base+n. */
const calls = (base: number, n: number, zstdEvery = 0) =>
  Array.from({ length: n }, (_, i) => ({
    seq: base + 1 + i,
    line: call(),
    zstd: zstdEvery > 0 && i % zstdEvery === 0,
  }));

describe.each([
  ["on the main thread", false],
  ["on the reader thread", true],
])("store cursor fingerprints, read %s", (_name, threaded) => {
  it("a store restored from an older backup and written past the cursor while running: the new calls are billed once, the billed ones not again", async () => {
    const w = await world(threaded);
    const N = w.baseSeq;
    const backup = w.backup();
    // billed up to N+10
    w.write(calls(N, 10, 3));
    await w.poll();
    expect(w.totals.billed).toBe(10);
    expect(w.cursor()).toEqual({ last_seq: N + 10, last_row_sha256: w.rowSha(N + 10) });
    const rowsBefore = count(w.db, "SELECT COUNT(*) AS n FROM usage_events");
    const balanceBefore = w.balance();
    w.reset();

    // the backup (up to N) goes back in place; OpenClaw writes 15 different calls at N+1…N+15
    w.restore(backup);
    w.write(calls(N, 15, 4));
    await w.poll();
    expect(w.totals.billed).toBe(15);
    expect(w.totals.duplicates).toBeGreaterThan(0); // the session was rescanned: what was billed is absorbed
    expect(w.rescans).toBe(1); // and it says so (meter summary, log line, creditgate_meter_rescans_total)
    expect(count(w.db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(rowsBefore + 15);
    expect(w.balance()).toBe(balanceBefore - 15 * CALL_MICRO_CREDITS);
    expect(w.cursor()).toEqual({ last_seq: N + 15, last_row_sha256: w.rowSha(N + 15) });
    expectLedgerConsistent(w.db);

    // and the session is followed again from there
    w.reset();
    await w.poll();
    expect(w.totals).toEqual({ billed: 0, duplicates: 0, lines: 0 });
    w.write(calls(N + 15, 2));
    await w.poll();
    expect(w.totals).toEqual({ billed: 2, duplicates: 0, lines: 2 });
  });

  it("restored while running and written up to the same max seq: caught on the next poll (the file was reopened)", async () => {
    const w = await world(threaded);
    const N = w.baseSeq;
    const backup = w.backup();
    w.write(calls(N, 10));
    await w.poll();
    const balanceBefore = w.balance();
    w.reset();

    w.restore(backup);
    w.write(calls(N, 10, 2)); // max(seq) is the cursor's again: no new rows
    await w.poll();
    expect(w.totals.billed).toBe(10);
    expect(w.rescans).toBe(1);
    expect(w.balance()).toBe(balanceBefore - 10 * CALL_MICRO_CREDITS);
    expect(w.cursor()).toEqual({ last_seq: N + 10, last_row_sha256: w.rowSha(N + 10) });
    expectLedgerConsistent(w.db);
  });

  it("restored while creditgate was stopped: the first poll of the new reader bills what was written over the cursor", async () => {
    const w = await world(threaded);
    const N = w.baseSeq;
    const backup = w.backup();
    w.write(calls(N, 10));
    await w.poll();
    const balanceBefore = w.balance();
    await w.stop();

    w.restore(backup);
    w.write(calls(N, 10, 3)); // same max seq as the cursor: only the reconcile can see it
    await w.restart();
    w.reset();
    await w.poll();
    expect(w.totals.billed).toBe(10);
    expect(w.rescans).toBe(1);
    expect(w.balance()).toBe(balanceBefore - 10 * CALL_MICRO_CREDITS);
    expectLedgerConsistent(w.db);

    w.reset();
    await w.poll();
    expect(w.totals).toEqual({ billed: 0, duplicates: 0, lines: 0 });
    expect(w.rescans).toBe(0);
  });

  it("rows at or before the cursor rewritten in place at the same max seq: caught on the next full reconcile poll, not before", async () => {
    const w = await world(threaded);
    const N = w.baseSeq;
    w.write(calls(N, 10));
    await w.poll(); // the reader's 2nd poll
    const balanceBefore = w.balance();

    // Same file, same seqs, no new generation: e.g. `sqlite3 .restore` of an older backup into
    // the live file, then OpenClaw writing up to the cursor again.
    const oc = new Database(w.store);
    const upd = oc.prepare(
      "UPDATE transcript_events SET event_json = ?, event_zstd = NULL WHERE session_id = ? AND seq = ?",
    );
    for (const r of calls(N, 10)) upd.run(r.line, w.sid, r.seq);
    oc.close();

    // Ordinary polls check only sessions with new rows (the cost of following stays small).
    w.reset();
    for (let p = 2; p < FULL_RECONCILE_EVERY; p++) await w.poll();
    expect(w.totals).toEqual({ billed: 0, duplicates: 0, lines: 0 });
    expect(w.rescans).toBe(0);
    await w.poll(); // the reconcile
    expect(w.totals.billed).toBe(10);
    expect(w.rescans).toBe(1); // counted on the poll that caught it
    expect(w.balance()).toBe(balanceBefore - 10 * CALL_MICRO_CREDITS);
    expect(w.cursor()).toEqual({ last_seq: N + 10, last_row_sha256: w.rowSha(N + 10) });
    expectLedgerConsistent(w.db);
  });

  it("a rescan whose first batch fails to bill is counted once, on the poll that bills it", async () => {
    const w = await world(threaded);
    const N = w.baseSeq;
    const backup = w.backup();
    w.write(calls(N, 10));
    await w.poll();
    w.restore(backup);
    w.write(calls(N, 12, 3));
    w.reset();
    await expect(
      w.src.poll(() => {
        throw Object.assign(new Error("disk I/O error"), { code: "SQLITE_IOERR" });
      }),
    ).rejects.toThrow("disk I/O error");
    await w.poll();
    expect(w.totals.billed).toBe(12);
    expect(w.rescans).toBe(1);
    w.reset();
    await w.poll();
    expect(w.totals).toEqual({ billed: 0, duplicates: 0, lines: 0 });
    expect(w.rescans).toBe(0);
    expectLedgerConsistent(w.db);
  });

  it("ordinary following (appends only, json and zstd rows) never rescans, across a full reconcile", async () => {
    const w = await world(threaded);
    let seq = w.baseSeq;
    let appended = 0;
    for (let p = 1; p <= FULL_RECONCILE_EVERY + 5; p++) {
      const n = 1 + (p % 3);
      w.write(calls(seq, n, 2));
      seq += n;
      appended += n;
      await w.poll();
    }
    // every row read once: nothing re-read, nothing absorbed as a duplicate
    expect(w.totals).toEqual({ billed: appended, duplicates: 0, lines: appended });
    expect(w.rescans).toBe(0);
    expect(w.cursor()).toEqual({ last_seq: seq, last_row_sha256: w.rowSha(seq) });
    // a restarted reader (a reconcile on its first poll) reads nothing either
    await w.restart();
    w.reset();
    await w.poll();
    expect(w.totals).toEqual({ billed: 0, duplicates: 0, lines: 0 });
  });

  it("cursors without a fingerprint (written before migration 35) are not rescanned; their next move records one", async () => {
    const w = await world(threaded);
    w.db.exec("UPDATE meter_sqlite_cursors SET last_row_sha256 = NULL");
    await w.restart();
    await w.poll(); // a reconcile: nothing to compare, nothing re-read
    expect(w.totals).toEqual({ billed: 0, duplicates: 0, lines: 0 });
    expect(w.rescans).toBe(0);
    w.write(calls(w.baseSeq, 3, 2));
    await w.poll();
    expect(w.totals).toEqual({ billed: 3, duplicates: 0, lines: 3 });
    expect(w.cursor()).toEqual({ last_seq: w.baseSeq + 3, last_row_sha256: w.rowSha(w.baseSeq + 3) });
  });
});
