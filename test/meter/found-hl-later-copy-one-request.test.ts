import { appendFileSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Db } from "../../src/db/index.js";
import { createEnforcer, createQueries, DEFAULT_SETTINGS } from "../../src/limits/index.js";
import { queryUsage } from "../../src/meter/report.js";
import { entryIncrement } from "../../src/meter/sources/batch-builder.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { parseDecimal } from "../../src/money.js";
import { rangeTotals, runReport, spendSeries } from "../../src/reports/index.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { grantEntries, usageRow } from "../support/usage-data.js";

/**
 * Case later-copy-difference-one-request: a streamed reply's partial line billed by one poll and
 * its final line (same entry id) by the next are billed as the partial plus the difference (one
 * call at its final counts), but the difference is a usage row of its own and every report
 * counted it as a request: 4 requests for 3 calls. Now the difference row is no request
 * (`usage_events.requests` 0, migration 39), in raw rows and in the daily/hourly aggregates alike.
 */
const NAME = "later-copy-difference-one-request";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SESSION = "agents/main/sessions/8c4d2e61-5a7b-4c93-8e1f-2b6a9d0c3e58.jsonl";
const LATER = readFileSync(join(CASE, "appended.jsonl"), "utf8");
const USER = "telegram:5550921";
const ONE = parseDecimal("1");
const DAY = 86_400_000;
/** The case's calls are on 2026-11-24 (06:00-06:02 UTC). */
const DAY0 = Date.parse("2026-11-24T00:00:00Z");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe(`case ${NAME}: a later copy's difference is no request of its own`, () => {
  for (const readerThread of [true, false]) {
    it(`3 requests for 3 calls (was 4), every report path, reader thread ${readerThread}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 2 });
      appendFileSync(join(w.stateDir, SESSION), LATER);
      expect(await meter.runOnce()).toMatchObject({ billed: 2 });
      meter.close();
      const db = w.db;
      // 4 rows (the partial, its difference, two other calls), 3 requests
      expect(db.prepare("SELECT COUNT(*) AS n, SUM(requests) AS r FROM usage_events").get()).toEqual({
        n: 4,
        r: 3,
      });
      const right = { requests: 3, errors: 0, input: 4500, output: 270, costUsd: "0.01755" };
      // aggregate path (whole days from usage_daily) and raw path (partial days) alike
      expect(queryUsage(db, { by: "user" })).toMatchObject([{ key: USER, ...right }]);
      expect(queryUsage(db, { by: "day" })).toMatchObject([{ key: "2026-11-24", ...right }]);
      expect(queryUsage(db, { by: "model" })).toMatchObject([
        { key: "anthropic/claude-sonnet-4-5", ...right },
      ]);
      expect(queryUsage(db, { by: "user", sinceMs: DAY0, untilMs: DAY0 + DAY })).toMatchObject([
        { key: USER, ...right },
      ]);
      expect(
        queryUsage(db, { by: "user", sinceMs: DAY0 + 6 * 3_600_000, untilMs: DAY0 + 7 * 3_600_000 }),
      ).toMatchObject([{ key: USER, ...right }]);
      for (const range of [
        { fromMs: DAY0, toMs: DAY0 + DAY },
        { fromMs: DAY0 + 3_600_000, toMs: DAY0 + 7 * 3_600_000 },
      ]) {
        const report = runReport(db, { range, timeZone: "UTC", by: ["user"], creditsPerUsd: ONE });
        expect(report.totals).toMatchObject({ requests: 3, errors: 0 });
        expect(report.rows).toMatchObject([{ requests: 3 }]);
        expect(rangeTotals(db, range.fromMs, range.toMs, ONE)).toMatchObject({ requests: 3 });
        for (const bucket of ["day", "hour"] as const) {
          const points = spendSeries(db, {
            sinceMs: range.fromMs,
            untilMs: range.toMs,
            bucket,
            stack: "model",
          });
          expect(points.reduce((n, p) => n + p.requests, 0)).toBe(3);
        }
      }
      // /consumo's numbers (the plugin's user_usage)
      const queries = createQueries(db, createEnforcer(db, DEFAULT_SETTINGS));
      expect(
        queries.answer("user_usage", { userId: USER, fromMs: DAY0, toMs: DAY0 + DAY }, Date.now()),
      ).toMatchObject({
        requests: 3,
        byModel: [{ requests: 3 }],
      });
    });
  }

  it("an error once per call: the difference is an error only when its copy made the call one", () => {
    const base = {
      input: 1500,
      output: 25,
      cacheRead: 0,
      cacheWrite: 0,
      totalTokens: 1525,
      reasoningTokens: null,
      recordedCostUsd: null,
      isError: false,
    } as unknown as ParsedUsage;
    const final = { ...base, output: 180, totalTokens: 1680 } as ParsedUsage;
    expect(entryIncrement(base, { ...final, isError: true })?.isError).toBe(true);
    expect(entryIncrement({ ...base, isError: true }, { ...final, isError: true })?.isError).toBe(false);
    expect(entryIncrement(base, final)?.isError).toBe(false);
  });
});

/**
 * Both stores: a call's row and its difference row a day later (the final copy dated then): the
 * day of the difference alone is a group of 0 requests but its tokens and cost, kept (not taken
 * for an empty group), the same from the aggregates and the raw rows.
 */
describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);
  test("a difference row counts no request in usage_daily, usage_hourly and raw rows alike", ({
    db,
  }: {
    db: Db;
  }) => {
    const t0 = Math.floor(Date.now() / DAY) * DAY - 2 * DAY + 3_600_000;
    const writer = createUsageWriter(db);
    db.transaction(() => {
      const entry = grantEntries(db, [USER], t0);
      const ledger_entry_id = entry.get(USER) as number;
      writer.insert(usageRow({ dedupe_key: "call", ledger_entry_id, account_id: USER, message_ts_ms: t0 }));
      writer.insert(
        usageRow({
          dedupe_key: "call-final",
          ledger_entry_id,
          account_id: USER,
          message_ts_ms: t0 + DAY,
          output_tokens: 155,
          cost_pico_usd: 2_325_000_000n,
          requests: 0,
        }),
      );
    })();
    const byDay = (sinceMs: number, untilMs: number) =>
      queryUsage(db, { by: "day", sinceMs, untilMs }).map((r) => [
        r.key,
        r.requests,
        r.output,
        r.costPicoUsd,
      ]);
    const d0 = new Date(t0).toISOString().slice(0, 10);
    const d1 = new Date(t0 + DAY).toISOString().slice(0, 10);
    const want = [
      [d0, 1, 1, "1000"],
      [d1, 0, 155, "2325000000"],
    ];
    const from = t0 - 3_600_000;
    expect(byDay(from, from + 2 * DAY)).toEqual(want); // whole days: usage_daily
    expect(byDay(from + 1_800_000, from + 2 * DAY - 1)).toEqual(want); // raw edges
    expect(queryUsage(db, { by: "user" })).toMatchObject([{ key: USER, requests: 1, output: 156 }]);
    const report = runReport(db, {
      range: { fromMs: from, toMs: from + 2 * DAY },
      timeZone: "UTC",
      by: ["day"],
      creditsPerUsd: ONE,
    });
    expect(report.rows.map((r) => [r.requests, r.outputTokens])).toEqual([
      [1, 1],
      [0, 155],
    ]);
    for (const bucket of ["day", "hour"] as const) {
      const points = spendSeries(db, { sinceMs: from, untilMs: from + 2 * DAY, bucket, stack: "agent" });
      expect(points.reduce((n, p) => n + p.requests, 0)).toBe(1);
      expect(points.reduce((n, p) => n + BigInt(p.costPicoUsd), 0n)).toBe(2_325_001_000n);
    }
  });
});
