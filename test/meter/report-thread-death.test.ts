import type { Worker as NodeWorker } from "node:worker_threads";
import { describe, expect, vi } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { queryUsage, queryUsageRaw } from "../../src/meter/report.js";
import { reportThreadStats, startReportJob } from "../../src/meter/report-thread.js";
import { createUsageWriter, DAY_MS } from "../../src/meter/usage-repo.js";
import { rng } from "../support/rng.js";
import { testOn } from "../support/temp-db.js";

// The report thread dies (worker.terminate) in the middle of an answer in parts: the caller
// gets a prefix of the answer, in order, then null (never a wrong part, never a hang), and the
// next reports run without the thread and equal the raw rows. (Its own file: a dead thread is
// never started again in this process.)
const workers = vi.hoisted(() => [] as NodeWorker[]);
vi.mock("node:worker_threads", async (importOriginal) => {
  const orig = await importOriginal<typeof import("node:worker_threads")>();
  class Captured extends orig.Worker {
    constructor(...args: ConstructorParameters<typeof orig.Worker>) {
      super(...args);
      workers.push(this);
    }
  }
  return { ...orig, Worker: Captured };
});

const D0 = Date.UTC(2026, 10, 10);

function write(db: Db, users: number, seed: number): void {
  const r = rng(seed);
  const ledger = createLedger(db);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    for (let i = 0; i < users; i++) {
      const u = `u:${String(i).padStart(5, "0")}`;
      const entryId = ledger.post({
        accountId: u,
        kind: "grant",
        amountMicroCredits: 1n,
        idempotencyKey: `g:${u}`,
        nowMs: D0,
      }).entryId;
      for (let k = 0; k < 2; k++)
        writer.insert({
          dedupe_key: `k${i}-${k}`,
          ledger_entry_id: entryId,
          account_id: u,
          agent_id: r.pick(["main", "ops"]),
          session_id: null,
          session_key: null,
          source: "jsonl",
          source_ref: `f@${i}-${k}`,
          provider: "anthropic",
          model: r.pick(["m1", "m2"]),
          api: null,
          response_id: null,
          message_ts_ms: D0 + (r.int(7) - 3) * DAY_MS + r.int(DAY_MS),
          input_tokens: 10,
          output_tokens: 1,
          cache_read_tokens: 0,
          cache_write_tokens: 0,
          cache_write_1h_tokens: 0,
          total_tokens: 11,
          reasoning_tokens: null,
          stop_reason: null,
          is_error: 0,
          error_message: null,
          recorded_cost_pico_usd: null,
          cost_pico_usd: r.int(50) === 0 ? 2n ** 53n + BigInt(r.int(99)) : BigInt(r.int(1e9)),
          table_cost_pico_usd: null,
          charge_micro_credits: r.int(1000),
          price_source: "table",
          price_version: "test",
          unknown_model: 0,
          anomaly: null,
          created_at_ms: D0,
        });
    }
  })();
}

describe("sqlite", () => {
  const test = testOn("sqlite");
  test("a thread terminated mid-answer: a prefix of its parts, then null; reports go on without it", async ({
    db,
  }) => {
    write(db, 2000, 51);
    const sql =
      "SELECT account_id, NULL, SUM(requests), SUM(cost_pico_usd) FROM usage_daily GROUP BY account_id";
    const expected = db
      .prepare(sql)
      .raw()
      .all()
      .map((r) => (r as unknown[]).map(String).join("|"));
    const q = { by: "user" as const, sinceMs: D0 - 2 * DAY_MS + 99, untilMs: D0 + 3 * DAY_MS };
    const raw = JSON.stringify(queryUsageRaw(db, q));
    // a split report first (starts the thread)
    expect(JSON.stringify(queryUsage(db, q, { splitMinRows: 0, threadChunkRows: 5 }))).toBe(raw);
    const worker = workers.find((w) => w.threadId > 0);
    if (!worker) throw new Error("no report thread (dist/ not built?)");
    const job = startReportJob({ file: db.name, sql, params: [], cacheKib: 2048, width: 2, chunkRows: 1 });
    if (!job) throw new Error("no job");
    const got: string[] = [];
    const take = (timeoutMs: number): boolean => {
      const part = job.next(timeoutMs);
      if (!part) return false;
      const { keys, values } = part.rows;
      keys.forEach((k, i) => {
        got.push([k, null, values[i * 2], values[i * 2 + 1]].map(String).join("|"));
      });
      return !part.done;
    };
    expect(take(10_000)).toBe(true);
    await worker.terminate();
    await new Promise((done) => setImmediate(done));
    const before = reportThreadStats();
    const t0 = Date.now();
    while (take(2_000)) {}
    // the parts it had posted, then null at once (the death was seen), not after the timeout
    expect(Date.now() - t0).toBeLessThan(1_500);
    expect(got.length).toBeLessThan(expected.length);
    expect(got).toEqual(expected.slice(0, got.length));
    expect(reportThreadStats().failed).toBe(before.failed + 1);
    // no thread any more: no job, and split reports run on this connection alone
    expect(startReportJob({ file: db.name, sql, params: [], cacheKib: 2048, width: 2 })).toBeNull();
    for (const by of ["user", "agent", "model"] as const) {
      const qq = { ...q, by };
      expect(JSON.stringify(queryUsage(db, qq, { splitMinRows: 0, threadChunkRows: 1 }))).toBe(
        JSON.stringify(queryUsageRaw(db, qq)),
      );
    }
    expect(reportThreadStats()).toEqual({ ...before, failed: before.failed + 1 });
  });
});
