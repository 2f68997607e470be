import { describe, expect } from "vitest";

const fail = (): never => {
  throw new Error("no whole day in the range");
};

import type { Db } from "../../src/db/index.js";
import { MIGRATIONS } from "../../src/db/index.js";
import {
  compareBinary,
  GROUP_BY,
  queryUsage,
  queryUsageRaw,
  type UsageQuery,
  type UsageRow,
} from "../../src/meter/report.js";
import { reportThreadStats, warmReportThread } from "../../src/meter/report-thread.js";
import {
  AGGREGATED_UNTIL_MS,
  createUsageWriter,
  DAY_MS,
  type NewUsageEventRow,
  nearestDaySplit,
  splitUtcDays,
} from "../../src/meter/usage-repo.js";
import { rng } from "../support/rng.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { grantEntries, grantEntry, usageRow } from "../support/usage-data.js";

// 2026-11-10T00:00:00Z, a UTC midnight.
const D0 = Date.UTC(2026, 10, 10);

const USERS = ["telegram:1", "telegram:2", "discord:x", "agent:main", "whatsapp:+ñ€😀"];
const AGENTS = ["main", "ops", "bot-ü"];
const MODELS = [
  ["anthropic", "claude-sonnet-4-5"],
  ["openai", "gpt-5"],
  ["openrouter", "openai/gpt-5"],
  ["mock", "unknown-x"],
] as const;
const SOURCES = ["table", "override", "recorded", "fallback", "provider-billed"];

/** Timestamps around the interesting places: midnights ±1 ms, mid-day, before 1970, past 9999. */
function tsSample(r: ReturnType<typeof rng>): number {
  const k = r.int(20);
  if (k === 0) return -r.int(3 * DAY_MS) - 1;
  if (k === 1) return 8_640_000_000_000_000 - r.int(2); // clamped far-future timestamps
  if (k === 2) return AGGREGATED_UNTIL_MS - 1 + r.int(3);
  if (k === 3) return r.int(1000) - 500; // around the epoch
  const day = D0 + (r.int(9) - 4) * DAY_MS;
  if (k < 8) return day + r.pick([-1, 0, 1]);
  return day + r.int(DAY_MS);
}

function writeRandomRows(db: Db, n: number, seed: number): void {
  const r = rng(seed);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    const entry = grantEntries(db, USERS, D0);
    for (let i = 0; i < n; i++) {
      const account = r.pick(USERS);
      const [provider, model] = r.pick(MODELS);
      const source = r.pick(SOURCES);
      const input = r.int(5000);
      const output = r.int(2000);
      const cacheRead = r.int(3) === 0 ? r.int(10000) : 0;
      const cacheWrite = r.int(4) === 0 ? r.int(3000) : 0;
      // now and then past 2^53 (exact as bigints), never enough to overflow a 64-bit sum
      const cost = r.int(50) === 0 ? 2n ** 53n + BigInt(r.int(1000)) : BigInt(r.int(1e9));
      writer.insert(
        usageRow({
          dedupe_key: `k${i}`,
          ledger_entry_id: entry.get(account) as number,
          account_id: account,
          agent_id: r.pick(AGENTS),
          source_ref: `f@${i}`,
          provider,
          model,
          message_ts_ms: tsSample(r),
          input_tokens: input,
          output_tokens: output,
          cache_read_tokens: cacheRead,
          cache_write_tokens: cacheWrite,
          cache_write_1h_tokens: cacheWrite > 0 ? r.int(cacheWrite) : 0,
          is_error: r.int(8) === 0 ? 1 : 0,
          cost_pico_usd: cost,
          table_cost_pico_usd: r.int(3) === 0 ? null : r.int(1e9),
          charge_micro_credits: r.int(100000),
          price_source: source,
          unknown_model: model === "unknown-x" ? 1 : 0,
          created_at_ms: D0,
        }),
      );
    }
  })();
}

/** One plain call of `account` at `ts` (ledger entry `entry`). */
function sampleRow(key: string, entry: number, account: string, ts: number): NewUsageEventRow {
  return usageRow({
    dedupe_key: key,
    ledger_entry_id: entry,
    account_id: account,
    message_ts_ms: ts,
    input_tokens: 10,
    output_tokens: 5,
    cost_pico_usd: 1000,
    table_cost_pico_usd: 1000,
    charge_micro_credits: 2,
    created_at_ms: D0,
  });
}

function boundSample(r: ReturnType<typeof rng>): number | undefined {
  const k = r.int(12);
  if (k === 0) return undefined;
  if (k === 1) return -r.int(2 * DAY_MS);
  if (k === 2) return AGGREGATED_UNTIL_MS + r.int(3) - 1;
  if (k === 3) return 8_640_000_000_000_000;
  const day = D0 + (r.int(11) - 5) * DAY_MS;
  if (k < 8) return day + r.pick([-1, 0, 1]);
  return day + r.int(DAY_MS);
}

function querySample(r: ReturnType<typeof rng>): UsageQuery {
  const q: UsageQuery = { by: r.pick(GROUP_BY) };
  if (r.int(5) === 0) q.user = r.pick([...USERS, "nobody"]);
  if (r.int(5) === 0) q.agent = r.pick(AGENTS);
  if (r.int(5) === 0) {
    const [p, m] = r.pick(MODELS);
    q.model = r.int(2) === 0 ? `${p}/${m}` : m;
  }
  if (r.int(6) !== 0) q.sinceMs = boundSample(r);
  if (r.int(6) !== 0) q.untilMs = boundSample(r);
  return q;
}

const dailySnapshot = (db: Db) =>
  db
    .prepare("SELECT * FROM usage_daily ORDER BY day, account_id, agent_id, provider, model")
    .safeIntegers(true)
    .all();

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("usage reports from daily aggregates", () => {
    test("answer exactly as the raw-row query, for every grouping, filter and range (randomized)", ({
      db,
    }) => {
      writeRandomRows(db, 3000, 42);
      const r = rng(7);
      let aggregated = 0;
      for (let i = 0; i < 600; i++) {
        const q = querySample(r);
        const fast = queryUsage(db, q);
        const raw = queryUsageRaw(db, q);
        // byte-identical, order included
        expect(JSON.stringify(fast), JSON.stringify(q)).toBe(JSON.stringify(raw));
        if (raw.length > 0) aggregated++;
      }
      // the cases are not vacuous: most queries find rows
      expect(aggregated).toBeGreaterThan(300);
      // whole-range queries with no bounds, one per grouping
      for (const by of GROUP_BY) expect(queryUsage(db, { by })).toEqual(queryUsageRaw(db, { by }));
    }, 90_000); // 600 queries against both engines: ~5 s alone on PostgreSQL, 30 s+ on a loaded CI

    test("a report split with the report thread answers exactly as the raw rows", ({ db }) => {
      // splitMinRows 0: split whenever the database allows it (a SQLite file, outside a
      // transaction); PostgreSQL never splits and must answer the same.
      writeRandomRows(db, 3000, 21);
      const before = reportThreadStats().answered;
      const failedBefore = reportThreadStats().failed;
      const r = rng(8);
      let aggregated = 0;
      for (let i = 0; i < 200; i++) {
        const q = { ...querySample(r), by: "user" as const };
        const raw = queryUsageRaw(db, q);
        expect(JSON.stringify(queryUsage(db, q, { splitMinRows: 0 })), JSON.stringify(q)).toBe(
          JSON.stringify(raw),
        );
        if (raw.length > 1) aggregated++;
      }
      expect(aggregated).toBeGreaterThan(100);
      // by agent and by model the halves hold parts of the same groups (added, also past 2^53,
      // each half's unsafe sums read again within that half), at any share
      for (let i = 0; i < 200; i++) {
        const q = { ...querySample(r), by: r.pick(["agent", "model"] as const) };
        delete q.user; // a user-filtered report is not split
        const splitShare = r.pick([0, 0.2, 0.5, 0.8, 1]);
        expect(JSON.stringify(queryUsage(db, q, { splitMinRows: 0, splitShare })), JSON.stringify(q)).toBe(
          JSON.stringify(queryUsageRaw(db, q)),
        );
      }
      // the split key is an account with rows: its groups are in the upper half, every account
      // below it in the lower one, none in both (the answers are compared in full above)
      const whole = { by: "user" as const, sinceMs: D0 - 3 * DAY_MS, untilMs: D0 + 3 * DAY_MS };
      expect(queryUsage(db, whole, { splitMinRows: 0 })).toEqual(queryUsageRaw(db, whole));
      if (engine === "sqlite") expect(reportThreadStats().answered).toBeGreaterThan(before);
      else expect(reportThreadStats().answered).toBe(before);
      expect(reportThreadStats().failed).toBe(failedBefore);
      // an empty range of whole days, and a range with whole days but no matching rows
      const empty = { by: "user" as const, sinceMs: D0 + 40 * DAY_MS, untilMs: D0 + 50 * DAY_MS };
      expect(queryUsage(db, empty, { splitMinRows: 0 })).toEqual([]);
      const none = { ...whole, agent: "nobody" };
      expect(queryUsage(db, none, { splitMinRows: 0 })).toEqual([]);
      expect(queryUsageRaw(db, none)).toEqual([]);
    }, 90_000); // 600 queries against both engines: ~5 s alone on PostgreSQL, 30 s+ on a loaded CI

    test("the report thread answers in parts; a failure midway starts the report over", ({ db }) => {
      writeRandomRows(db, 2000, 31);
      const r = rng(9);
      const before = reportThreadStats();
      for (let i = 0; i < 60; i++) {
        const q = { ...querySample(r), by: r.pick(["user", "agent", "model"] as const) };
        delete q.user;
        const raw = JSON.stringify(queryUsageRaw(db, q));
        // parts of 1, 2 or 7 rows: every part boundary falls somewhere in the thread's half
        const threadChunkRows = r.pick([1, 2, 7]);
        expect(
          JSON.stringify(queryUsage(db, q, { splitMinRows: 0, threadChunkRows })),
          JSON.stringify(q),
        ).toBe(raw);
        // the thread fails before its first part (this connection groups that half) or after
        // some parts were used (the report runs again without the thread): the same answer
        const threadFailAfterParts = r.pick([0, 1, 3]);
        expect(
          JSON.stringify(queryUsage(db, q, { splitMinRows: 0, threadChunkRows: 2, threadFailAfterParts })),
          JSON.stringify({ q, threadFailAfterParts }),
        ).toBe(raw);
      }
      const after = reportThreadStats();
      if (engine === "sqlite") {
        expect(after.answered).toBeGreaterThan(before.answered + 30);
        // (a half of fewer rows than the failing part finishes first)
        expect(after.failed).toBeGreaterThan(before.failed + 10);
      } else expect(after).toEqual(before);
    });

    test("a warmed report thread (serve warms it at start) answers the next split report", ({ db }) => {
      writeRandomRows(db, 300, 23);
      const q = { by: "user" as const, sinceMs: D0 - 3 * DAY_MS, untilMs: D0 + 3 * DAY_MS };
      const before = reportThreadStats();
      // a file that cannot be opened only costs the warm-up: the next job opens its own file
      warmReportThread("/nonexistent/creditgate.sqlite");
      if (engine === "sqlite") warmReportThread(db.name);
      expect(queryUsage(db, q, { splitMinRows: 0 })).toEqual(queryUsageRaw(db, q));
      const after = reportThreadStats();
      expect(after.failed).toBe(before.failed);
      expect(after.answered).toBe(before.answered + (engine === "sqlite" ? 1 : 0));
    });

    test("a split by-user report with one account only, and inside a transaction", ({ db }) => {
      writeRandomRows(db, 400, 22);
      db.exec("DELETE FROM usage_daily WHERE account_id <> 'telegram:2'");
      db.exec("DELETE FROM usage_events WHERE account_id <> 'telegram:2'");
      db.exec("DELETE FROM usage_archived");
      const q = { by: "user" as const, sinceMs: D0 - 4 * DAY_MS + 7, untilMs: D0 + 4 * DAY_MS - 7 };
      const raw = queryUsageRaw(db, q);
      expect(raw.map((x) => x.key)).toEqual(["telegram:2"]);
      expect(queryUsage(db, q, { splitMinRows: 0 })).toEqual(raw);
      expect(queryUsage(db, { by: "user" }, { splitMinRows: 0 })).toEqual(queryUsageRaw(db, { by: "user" }));
      // uncommitted writes of this connection: the thread would not see them, so no split
      const before = reportThreadStats().answered;
      db.transaction(() => {
        db.exec("UPDATE usage_daily SET requests = requests + 1000");
        const fast = queryUsage(db, q, { splitMinRows: 0 });
        expect(fast[0]?.requests).toBeGreaterThan(1000);
      })();
      expect(reportThreadStats().answered).toBe(before);
    });

    test("whole days come from usage_daily, short edges from the rows, long edges as their day minus the rest", ({
      db,
    }) => {
      writeRandomRows(db, 500, 3);
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      const H = DAY_MS / 2;
      // edges under half a day: raw rows; over half a day: the day's aggregate minus the raw rest
      const short = { by: "day" as const, sinceMs: D0 - 2 * DAY_MS + H + 5, untilMs: D0 + DAY_MS + H - 5 };
      const long = { by: "day" as const, sinceMs: D0 - 2 * DAY_MS + 5, untilMs: D0 + 2 * DAY_MS - 5 };
      expect(nearestDaySplit(splitUtcDays(short.sinceMs, short.untilMs) ?? fail())).toEqual({
        firstDay: (D0 - DAY_MS) / DAY_MS,
        endDay: (D0 + DAY_MS) / DAY_MS,
        edges: [
          { lo: short.sinceMs, hi: D0 - DAY_MS, sign: 1 },
          { lo: D0 + DAY_MS, hi: short.untilMs, sign: 1 },
        ],
      });
      expect(nearestDaySplit(splitUtcDays(long.sinceMs, long.untilMs) ?? fail())).toEqual({
        firstDay: (D0 - 2 * DAY_MS) / DAY_MS,
        endDay: (D0 + 2 * DAY_MS) / DAY_MS,
        edges: [
          { lo: D0 - 2 * DAY_MS, hi: long.sinceMs, sign: -1, day: (D0 - 2 * DAY_MS) / DAY_MS },
          { lo: long.untilMs, hi: D0 + 2 * DAY_MS, sign: -1, day: (D0 + DAY_MS) / DAY_MS },
        ],
      });
      // exactly half a day, open ends and an edge before the epoch stay raw
      expect(
        nearestDaySplit(splitUtcDays(D0 - H, D0 + DAY_MS + H) ?? fail()).edges.map((e) => e.sign),
      ).toEqual([1, 1]);
      expect(nearestDaySplit(splitUtcDays(-5, undefined) ?? fail()).edges).toEqual([
        { lo: -5, hi: 0, sign: 1 },
        { lo: AGGREGATED_UNTIL_MS, hi: undefined, sign: 1 },
      ]);
      const before = [queryUsage(db, short), queryUsage(db, long)];
      expect(before).toEqual([queryUsageRaw(db, short), queryUsageRaw(db, long)]);
      // Double every aggregate: only the days read from usage_daily change
      db.exec("UPDATE usage_daily SET requests = requests * 2");
      const changed = (q: UsageQuery, was: UsageRow[]) => {
        const after = queryUsage(db, q);
        expect(after.map((a) => a.key)).toEqual(was.map((b) => b.key));
        return after.filter((a, i) => a.requests !== was[i]?.requests).map((a) => a.key);
      };
      expect(changed(short, before[0] ?? [])).toEqual([day(D0 - DAY_MS), day(D0)]);
      expect(before[0]?.map((a) => a.key)).toContain(day(D0 + DAY_MS));
      expect(changed(long, before[1] ?? [])).toEqual([
        day(D0 - 2 * DAY_MS),
        day(D0 - DAY_MS),
        day(D0),
        day(D0 + DAY_MS),
      ]);
    });

    test("a group whose calls all lie in the subtracted rest of an edge day is not a row", ({ db }) => {
      writeRandomRows(db, 300, 5);
      const writer = createUsageWriter(db);
      const entry = grantEntry(db, "early-bird", D0, "g:early");
      // one call at 01:00 of D0 - 1d and one at 23:00 of D0 + 1d: both outside the range below
      db.transaction(() => {
        for (const [i, ts] of [D0 - DAY_MS + 3_600_000, D0 + 2 * DAY_MS - 3_600_000].entries())
          writer.insert(sampleRow(`early${i}`, entry, "early-bird", ts));
      })();
      const q = {
        by: "user" as const,
        sinceMs: D0 - DAY_MS + 7_200_000,
        untilMs: D0 + 2 * DAY_MS - 7_200_000,
      };
      const fast = queryUsage(db, q, { splitMinRows: 0 });
      expect(fast.map((r) => r.key)).not.toContain("early-bird");
      expect(fast).toEqual(queryUsageRaw(db, q));
      const wide = { ...q, untilMs: q.untilMs + 3_600_001 };
      expect(queryUsage(db, wide).find((r) => r.key === "early-bird")?.requests).toBe(1);
      expect(queryUsage(db, wide)).toEqual(queryUsageRaw(db, wide));
    });

    const MIGRATION_11_COLUMNS = `day, account_id, agent_id, provider, model, requests, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, total_tokens, cost_pico_usd, charge_micro_credits, unknown_model_requests, fallback_priced_requests, provider_billed_requests, provider_billed_cost_pico_usd, provider_billed_known_cost_pico_usd, provider_billed_table_cost_pico_usd`;
    test("the migration's backfill builds the same aggregates as the writer", ({ db }) => {
      writeRandomRows(db, 2000, 11);
      const written = dailySnapshot(db);
      expect(written.length).toBeGreaterThan(100);
      const sql = MIGRATIONS.find((m) => m.version === 11)?.sql ?? "";
      // its positional rows name migration 11's columns (migration 42 added two after them)
      const backfill = sql
        .slice(sql.indexOf("INSERT INTO usage_daily"))
        .replace("INSERT INTO usage_daily\n", `INSERT INTO usage_daily (${MIGRATION_11_COLUMNS})\n`);
      expect(backfill).toMatch(/^INSERT INTO usage_daily \(day, /);
      db.exec("DELETE FROM usage_daily");
      // one statement: prepared, so PostgreSQL runs it through the SQL rewrites (no PG migration 11)
      db.prepare(backfill).run();
      expect(dailySnapshot(db)).toEqual(written);
    });

    test("a rolled-back usage row leaves no aggregate behind", ({ db }) => {
      writeRandomRows(db, 50, 5);
      const before = dailySnapshot(db);
      const writer = createUsageWriter(db);
      const entryId = Number(
        (db.prepare("SELECT id FROM ledger_entries LIMIT 1").get() as { id: number }).id,
      );
      expect(() =>
        db.transaction(() => {
          writer.insert(
            usageRow({
              dedupe_key: "rolled-back",
              ledger_entry_id: entryId,
              account_id: "telegram:1",
              source_ref: "x",
              message_ts_ms: D0,
              cost_pico_usd: 5,
              table_cost_pico_usd: 5,
              price_version: "t",
            }),
          );
          throw new Error("crash before commit");
        })(),
      ).toThrow("crash before commit");
      expect(dailySnapshot(db)).toEqual(before);
    });

    test("report keys are ordered as SQLite's BINARY collation orders UTF-8 (code points, not UTF-16 units)", () => {
      const keys = [
        "a",
        "ab",
        "",
        "b",
        "z\uE000",
        "z\uFFFF",
        "z😀",
        "z\u20AC",
        "zz",
        "Z",
        "z",
        "\u00FF",
        "😀a",
      ];
      const bytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect([...keys].sort(compareBinary)).toEqual(bytes);
    });
  });
});
