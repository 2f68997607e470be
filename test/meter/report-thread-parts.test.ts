import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test as plainTest } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import { queryUsage, queryUsageRaw, type UsageQuery } from "../../src/meter/report.js";
import { type ReportRows, reportThreadStats, startReportJob } from "../../src/meter/report-thread.js";
import { createUsageWriter, DAY_MS } from "../../src/meter/usage-repo.js";
import { rng } from "../support/rng.js";
import { testOn } from "../support/temp-db.js";
import { grantEntries, usageRow } from "../support/usage-data.js";

// Break tests of the report thread's answer in parts (report-thread.ts `next`): a thread half of
// many parts whose groups collide with edge groups and pass 2^53 (in the thread's half, in the
// edges, in both), abandoned jobs whose late parts must never reach the next job, and queries
// back to back. Every report must equal queryUsageRaw's.
const D0 = Date.UTC(2026, 10, 10);
const PAST_SAFE = 2n ** 53n;

/**
 * `users` accounts over 9 days; every 97th account gets, on each of 3 days, a call of ~2^52
 * pico-USD (each day's sum is safe, their total past 2^53: the aggregate is inexact as a
 * number); every 89th a call of 2^53 + x on day +4 (an edge past 2^53 as well).
 */
function write(db: Db, users: number, extra: number, seed: number): void {
  const r = rng(seed);
  const writer = createUsageWriter(db);
  const ids = Array.from({ length: users }, (_, i) => `u:${String(i).padStart(6, "0")}`);
  let n = 0;
  db.transaction(() => {
    const entry = grantEntries(db, ids, D0);
    const row = (account: string, ts: number, cost: bigint): void => {
      const input = r.int(5000);
      writer.insert(
        usageRow({
          dedupe_key: `k${n}`,
          ledger_entry_id: entry.get(account) as number,
          account_id: account,
          agent_id: r.pick(["main", "ops", "z"]),
          source_ref: `f@${n}`,
          provider: "anthropic",
          model: r.pick(["m1", "m2", "m3"]),
          message_ts_ms: ts,
          input_tokens: input,
          is_error: r.int(9) === 0 ? 1 : 0,
          cost_pico_usd: cost,
          table_cost_pico_usd: r.int(3) === 0 ? null : r.int(1e9),
          charge_micro_credits: r.int(100000),
          price_source: r.pick(["table", "provider-billed", "fallback"]),
          created_at_ms: D0,
        }),
      );
      n++;
    };
    ids.forEach((u, i) => {
      row(u, D0 + (i % 9) * DAY_MS - 4 * DAY_MS + r.int(DAY_MS), BigInt(r.int(1e9)));
      if (i % 97 === 0)
        for (const d of [-2, -1, 1]) row(u, D0 + d * DAY_MS + r.int(DAY_MS), 2n ** 52n + BigInt(r.int(1000)));
      if (i % 89 === 0) row(u, D0 + 4 * DAY_MS + r.int(DAY_MS), PAST_SAFE + BigInt(r.int(1000)));
    });
    for (let i = 0; i < extra; i++)
      row(r.pick(ids), D0 + (r.int(9) - 4) * DAY_MS + r.int(DAY_MS), BigInt(r.int(1e9)));
  })();
}

/** Ranges with whole days in the middle and raw edges (plain, and a day minus its rest) at both ends. */
const RANGES: Omit<UsageQuery, "by">[] = [
  {},
  { sinceMs: D0 - 4 * DAY_MS, untilMs: D0 + 5 * DAY_MS },
  { sinceMs: D0 - 3 * DAY_MS - 7 * 3_600_000, untilMs: D0 + 4 * DAY_MS + 3 * 3_600_000 },
  { sinceMs: D0 - 3 * DAY_MS + 20 * 3_600_000, untilMs: D0 + 4 * DAY_MS + 20 * 3_600_000 + 1 },
  { sinceMs: D0 - 2 * DAY_MS + 1, untilMs: D0 + 2 * DAY_MS - 1 },
];

describe("sqlite", () => {
  const test = testOn("sqlite");

  test("a thread half of many parts, with groups past 2^53 and edge collisions, equals the raw rows", ({
    db,
  }) => {
    // by user the thread's half (65% of 3000 accounts) spans ~2000 parts of 1 row, 21 of 97
    write(db, 3000, 1000, 41);
    const before = reportThreadStats();
    for (const range of RANGES)
      for (const by of ["user", "agent", "model"] as const) {
        const q = { ...range, by };
        const raw = JSON.stringify(queryUsageRaw(db, q));
        for (const threadChunkRows of [undefined, 1, 97])
          expect(
            JSON.stringify(
              queryUsage(db, q, { splitMinRows: 0, ...(threadChunkRows ? { threadChunkRows } : {}) }),
            ),
            `${JSON.stringify(q)} parts of ${threadChunkRows}`,
          ).toBe(raw);
        // a failure after the 1st or 5th part (the report starts over), or before any part
        for (const threadFailAfterParts of [0, 1, 5])
          expect(
            JSON.stringify(
              queryUsage(db, q, { splitMinRows: 0, threadChunkRows: 200, threadFailAfterParts }),
            ),
            `${JSON.stringify(q)} fail after ${threadFailAfterParts}`,
          ).toBe(raw);
      }
    const after = reportThreadStats();
    expect(after.answered - before.answered).toBeGreaterThanOrEqual(RANGES.length * 3 * 3);
  }, 30_000);

  test("late parts of abandoned jobs never reach the next job", ({ db }) => {
    write(db, 3000, 0, 43);
    const sql = (lo: string) =>
      `SELECT account_id, NULL, COUNT(*), SUM(cost_pico_usd) FROM usage_daily WHERE account_id >= '${lo}' GROUP BY account_id`;
    const expected = (lo: string) =>
      db
        .prepare(sql(lo))
        .raw()
        .all()
        .map((r) => (r as unknown[]).map(String).join("|"));
    const collect = (job: NonNullable<ReturnType<typeof startReportJob>>): string[] | null => {
      const out: string[] = [];
      for (;;) {
        const part = job.next();
        if (!part) return null;
        const { keys, keys2, values }: ReportRows = part.rows;
        keys.forEach((k, i) => {
          out.push([k, keys2?.[i] ?? null, values[i * 2], values[i * 2 + 1]].map(String).join("|"));
        });
        if (part.done) return out;
      }
    };
    const job = (lo: string, chunkRows: number) =>
      startReportJob({ file: db.name, sql: sql(lo), params: [], cacheKib: 2048, width: 2, chunkRows });
    const r = rng(44);
    for (let i = 0; i < 40; i++) {
      // job A: thousands of one-row parts, given up on after 0-2 parts or at once (a timeout)
      const a = job("u:000000", 1);
      if (!a) throw new Error("no report thread (dist/ not built?)");
      const taken = r.int(3);
      for (let k = 0; k < taken; k++) expect(a.next()).not.toBeNull();
      if (r.int(2) === 0) a.next(0);
      // job B right after: its answer only, in order, whatever A still sends
      const lo = `u:00${r.int(3)}${r.int(10)}00`;
      const b = job(lo, r.pick([1, 7, 8192]));
      expect(b && collect(b), `${i} ${lo}`).toEqual(expected(lo));
      // and a split report right after an abandoned job
      if (i % 10 === 0) {
        job("u:000000", 1)?.next();
        const q = { by: "user" as const, sinceMs: D0 - 3 * DAY_MS + 5, untilMs: D0 + 4 * DAY_MS };
        expect(JSON.stringify(queryUsage(db, q, { splitMinRows: 0, threadChunkRows: 3 }))).toBe(
          JSON.stringify(queryUsageRaw(db, q)),
        );
      }
    }
  }, 30_000);

  plainTest(
    "a database file replaced at the same path: the thread reads the new file, not the old one",
    () => {
      // (the thread keeps its connection open while the path stays the same; a file deleted and
      // created again, or a backup renamed over it, is another file at that path)
      const dir = mkdtempSync(join(tmpdir(), "cg-replaced-"));
      const path = join(dir, "creditgate.sqlite");
      const q = { by: "user" as const, sinceMs: D0 - 3 * DAY_MS + 99, untilMs: D0 + 4 * DAY_MS };
      try {
        for (const [users, seed] of [
          [900, 61],
          [700, 62],
          [800, 63],
        ] as const) {
          for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
          const db = openDatabase(path);
          try {
            write(db, users, 0, seed);
            expect(JSON.stringify(queryUsage(db, q, { splitMinRows: 0, threadChunkRows: 50 }))).toBe(
              JSON.stringify(queryUsageRaw(db, q)),
            );
          } finally {
            db.close();
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
