import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Db, MIGRATIONS, type Migration, openDatabase, PG_MIGRATIONS } from "../../src/db/index.js";
import { openPostgres } from "../../src/db/open.js";
import {
  GROUP_BY,
  monthlyDaySplit,
  monthStartDay,
  queryUsage,
  queryUsageRaw,
  type UsageQuery,
} from "../../src/meter/report.js";
import { createUsageWriter, DAY_MS } from "../../src/meter/usage-repo.js";
import { rng } from "../support/rng.js";
import { createPgSchema, ENGINES, testOn } from "../support/temp-db.js";
import { grantEntries, usageRow } from "../support/usage-data.js";

// By-user reports read whole days by calendar month (usage_monthly_accounts, migration 36): a
// month wholly inside, a month mostly inside minus its days outside, a month half inside or less
// from its days. Data over months of 31, 30, 28 and (2028) 29 days.
const day = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / DAY_MS;
const SPANS: [number, number][] = [
  [day(2026, 1, 20), day(2026, 5, 12)], // Jan (31), Feb (28), Mar (31), Apr (30), May
  [day(2028, 1, 25), day(2028, 3, 8)], // Feb 2028 (29)
];
const USERS = ["telegram:1", "telegram:2", "discord:x", "agent:main", "whatsapp:+ñ€😀", "u5", "u6", "u7"];
// accounts with calls only on the first or the last day of a month (the days a range subtracts)
const FIRSTS = "first-days";
const LASTS = "last-days";
const AGENTS = ["main", "ops"];
const MODELS = [
  ["anthropic", "claude-sonnet-4-5"],
  ["openai", "gpt-5"],
] as const;
const SOURCES = ["table", "fallback", "provider-billed"];

function spanDay(r: ReturnType<typeof rng>): number {
  const [a, b] = r.pick(SPANS);
  return a + r.int(b - a);
}

/** `rated`: rows carry a charge_pico_usd (migration 42); false for a database of an older schema. */
function writeRows(db: Db, n: number, seed: number, rated = true): void {
  const r = rng(seed);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    const entry = grantEntries(db, [...USERS, FIRSTS, LASTS], 0);
    for (let i = 0; i < n; i++) {
      let account = r.pick(USERS);
      let d = spanDay(r);
      if (i % 20 === 0) {
        account = FIRSTS;
        d = monthStartDay(d);
      } else if (i % 20 === 1) {
        account = LASTS;
        const next = new Date(d * DAY_MS);
        d = Date.UTC(next.getUTCFullYear(), next.getUTCMonth() + 1, 1) / DAY_MS - 1;
      }
      const [provider, model] = r.pick(MODELS);
      const source = r.pick(SOURCES);
      // now and then past 2^53 (exact as bigints), never enough to overflow a 64-bit sum
      const cost = r.int(40) === 0 ? 2n ** 53n + BigInt(r.int(1000)) : BigInt(r.int(1e9));
      const k = r.int(6);
      const ts = d * DAY_MS + (k === 0 ? 0 : k === 1 ? DAY_MS - 1 : r.int(DAY_MS));
      writer.insert(
        usageRow({
          dedupe_key: `k${seed}:${i}`,
          ledger_entry_id: entry.get(account) as number,
          account_id: account,
          agent_id: r.pick(AGENTS),
          source_ref: `f@${i}`,
          provider,
          model,
          message_ts_ms: ts,
          input_tokens: r.int(5000),
          output_tokens: r.int(2000),
          is_error: r.int(8) === 0 ? 1 : 0,
          cost_pico_usd: cost,
          table_cost_pico_usd: r.int(3) === 0 ? null : r.int(1e9),
          charge_micro_credits: r.int(100000) - 1000,
          // its USD value at its own rate (migration 42), not drawn from r (the other columns stay
          // as they were); every third row billed before (rate unknown)
          charge_pico_usd: !rated || i % 3 === 0 ? null : BigInt(i) * 1_000_003n - 7n,
          price_source: source,
          created_at_ms: ts,
        }),
      );
    }
  })();
}

/** A bound: a month's first day (± whole days, ± a few ms, or anywhere in the day), or open. */
function bound(r: ReturnType<typeof rng>): number | undefined {
  if (r.int(15) === 0) return undefined;
  const base = monthStartDay(spanDay(r)) + (r.int(4) === 0 ? r.int(31) : r.int(5) - 2);
  const k = r.int(4);
  return base * DAY_MS + (k === 0 ? 0 : k === 1 ? r.pick([-1, 1]) : r.int(DAY_MS));
}

function query(r: ReturnType<typeof rng>): UsageQuery {
  const q: UsageQuery = { by: r.int(6) === 0 ? r.pick(GROUP_BY) : "user" };
  let a = bound(r);
  let b = bound(r);
  if (a !== undefined && b !== undefined && a > b) [a, b] = [b, a];
  // now and then a span of many months (several monthly months in one read)
  if (r.int(8) === 0) a = a === undefined ? a : a - r.int(200) * DAY_MS;
  if (a !== undefined) q.sinceMs = a;
  if (b !== undefined) q.untilMs = b;
  if (r.int(6) === 0) q.user = r.pick([...USERS, FIRSTS, LASTS, "nobody"]);
  if (r.int(8) === 0) q.agent = r.pick(AGENTS);
  if (r.int(8) === 0) q.model = r.pick(MODELS)[1];
  return q;
}

/** usage_monthly_accounts as rows of bigints (all-zero rows, left by deletes, left out), in key order. */
function monthly(db: Db): string[] {
  return (
    db.prepare("SELECT * FROM usage_monthly_accounts").safeIntegers(true).all() as Record<string, unknown>[]
  )
    .map((row) => Object.entries(row).map(([k, v]) => [k, k === "account_id" ? v : BigInt(v as bigint)]))
    .filter((e) => e.some(([k, v]) => k !== "month" && k !== "account_id" && v !== 0n))
    .map((e) => JSON.stringify(e, (_, v) => (typeof v === "bigint" ? v.toString() : v)))
    .sort();
}

/** What usage_monthly_accounts must hold: usage_daily summed per month (computed here) and account. */
function expectedMonthly(db: Db): string[] {
  const sums = new Map<string, Record<string, unknown>>();
  for (const row of db.prepare("SELECT * FROM usage_daily").safeIntegers(true).all() as Record<
    string,
    unknown
  >[]) {
    const month = BigInt(monthStartDay(Number(row.day)));
    const key = `${month}\u0000${String(row.account_id)}`;
    let s = sums.get(key);
    if (!s) {
      s = { month, account_id: row.account_id };
      sums.set(key, s);
    }
    for (const [k, v] of Object.entries(row))
      if (!["day", "account_id", "agent_id", "provider", "model"].includes(k))
        s[k] = ((s[k] as bigint | undefined) ?? 0n) + BigInt(v as bigint);
  }
  return [...sums.values()]
    .map((s) => {
      const { month, account_id, ...rest } = s;
      return JSON.stringify(Object.entries({ month, account_id, ...rest }), (_, v) =>
        typeof v === "bigint" ? v.toString() : v,
      );
    })
    .sort();
}

describe("monthlyDaySplit", () => {
  const d = day;
  for (const [name, first, len] of [
    ["Feb 2026 (28 days)", d(2026, 2, 1), 28],
    ["Feb 2028 (29 days)", d(2028, 2, 1), 29],
    ["Apr 2026 (30 days)", d(2026, 4, 1), 30],
    ["Mar 2026 (31 days)", d(2026, 3, 1), 31],
  ] as const) {
    it(`${name}: more than half its days by month, half or less by day`, () => {
      const more = Math.floor(len / 2) + 1;
      // the first `more` days: the month minus the rest
      expect(monthlyDaySplit(first, first + more)).toEqual({
        firstMonth: first,
        lastMonth: first,
        minus: [[first + more, first + len]],
        plus: [],
      });
      // the last `more` days, and days in the middle: minus both ends
      expect(monthlyDaySplit(first + len - more, first + len)?.minus).toEqual([[first, first + len - more]]);
      expect(monthlyDaySplit(first + 1, first + len - 1)?.minus).toEqual([
        [first, first + 1],
        [first + len - 1, first + len],
      ]);
      // half or less: days as they are
      expect(monthlyDaySplit(first, first + Math.floor(len / 2))).toBeNull();
      expect(monthlyDaySplit(first + 3, first + 3 + Math.floor(len / 2))).toBeNull();
      // the whole month
      expect(monthlyDaySplit(first, first + len)).toEqual({
        firstMonth: first,
        lastMonth: first,
        minus: [],
        plus: [],
      });
    });
  }
  it("ranges over several months: whole months between, each end by its share", () => {
    // 2026-01-20 .. 2026-05-10: Jan 12/31 by day, Feb to Apr whole, May 9/31 by day
    expect(monthlyDaySplit(d(2026, 1, 20), d(2026, 5, 10))).toEqual({
      firstMonth: d(2026, 2, 1),
      lastMonth: d(2026, 4, 1),
      minus: [],
      plus: [
        [d(2026, 1, 20), d(2026, 2, 1)],
        [d(2026, 5, 1), d(2026, 5, 10)],
      ],
    });
    // 2026-01-10 .. 2026-02-20: Jan minus its first 9 days, Feb minus its last 9 days
    expect(monthlyDaySplit(d(2026, 1, 10), d(2026, 2, 20))).toEqual({
      firstMonth: d(2026, 1, 1),
      lastMonth: d(2026, 2, 1),
      minus: [
        [d(2026, 1, 1), d(2026, 1, 10)],
        [d(2026, 2, 20), d(2026, 3, 1)],
      ],
      plus: [],
    });
    // two half months: nothing by month
    expect(monthlyDaySplit(d(2026, 1, 17), d(2026, 2, 14))).toBeNull();
    // 1970-01-01 to the end of 9999: every month whole
    expect(monthlyDaySplit(0, 253_402_300_800_000 / DAY_MS)).toEqual({
      firstMonth: 0,
      lastMonth: d(9999, 12, 1),
      minus: [],
      plus: [],
    });
  });
});

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  test("by-user reports by month answer exactly as the raw rows (randomized ranges, filters, splits)", ({
    db,
  }) => {
    writeRows(db, 4000, 36);
    expect(monthly(db)).toEqual(expectedMonthly(db));
    const r = rng(360);
    let byMonth = 0;
    let minus = 0;
    let plus = 0;
    let plusApart = 0;
    let rows = 0;
    // fewer ranges on PostgreSQL (each query is several round trips): still every case below
    const n = engine === "postgres" ? 200 : 500;
    const atLeast = (k: number) => Math.floor((k * n) / 500);
    for (let i = 0; i < n; i++) {
      const q = query(r);
      const raw = JSON.stringify(queryUsageRaw(db, q));
      expect(JSON.stringify(queryUsage(db, q)), JSON.stringify(q)).toBe(raw);
      // every month over half read by month (not only where the estimate finds it cheaper)
      expect(JSON.stringify(queryUsage(db, q, { monthsOverHalf: true })), JSON.stringify(q)).toBe(raw);
      // split with the report thread (SQLite), parts of a few rows
      if (i % 3 === 0)
        expect(
          JSON.stringify(
            queryUsage(db, q, {
              splitMinRows: 0,
              threadChunkRows: r.pick([1, 3, 8192]),
              monthsOverHalf: r.int(2) === 0,
            }),
          ),
          JSON.stringify(q),
        ).toBe(raw);
      rows += raw.length;
      // how the whole days were read with monthsOverHalf (the cases are not vacuous): the
      // range's whole days narrowed to the days usage_daily has rows in, as queryUsage does
      const since = Math.max(q.sinceMs ?? 0, 0);
      const until = Math.min(q.untilMs ?? 253_402_300_800_000, 253_402_300_800_000);
      const span = db
        .prepare("SELECT MIN(day) AS lo, MAX(day) AS hi FROM usage_daily WHERE day >= ? AND day < ?")
        .get(Math.ceil(since / DAY_MS), Math.floor(until / DAY_MS)) as { lo: unknown; hi: unknown };
      const plan =
        q.by === "user" && !q.agent && !q.model && span.lo != null && span.hi != null
          ? monthlyDaySplit(Number(span.lo), Number(span.hi) + 1)
          : null;
      if (plan) {
        byMonth++;
        if (plan.minus.length > 0) minus++;
        if (plan.plus.length > 0) plus++;
        // (up to two such days are read apart like an edge, more within the monthly statement)
        const plusDays = plan.plus.reduce((n, [lo, hi]) => n + hi - lo, 0);
        if (plusDays > 0 && plusDays <= 2) plusApart++;
      }
    }
    expect(byMonth).toBeGreaterThan(atLeast(150));
    expect(minus).toBeGreaterThan(atLeast(60));
    expect(plus).toBeGreaterThan(atLeast(20));
    expect(plusApart).toBeGreaterThan(atLeast(10));
    expect(plus - plusApart).toBeGreaterThan(atLeast(10));
    expect(rows).toBeGreaterThan(atLeast(1000));
  }, 180_000);

  test("an account whose calls all lie in the subtracted days is not a row; deleted days leave no row", ({
    db,
  }) => {
    writeRows(db, 600, 7);
    // March 2026 minus its first and last day: first-days and last-days have no call in range
    const q: UsageQuery = {
      by: "user",
      sinceMs: day(2026, 3, 2) * DAY_MS,
      untilMs: day(2026, 3, 31) * DAY_MS,
    };
    const fast = queryUsage(db, q, { monthsOverHalf: true });
    expect(fast.map((x) => x.key)).not.toContain(FIRSTS);
    expect(fast.map((x) => x.key)).not.toContain(LASTS);
    expect(fast).toEqual(queryUsageRaw(db, q));
    const whole = { ...q, sinceMs: day(2026, 3, 1) * DAY_MS, untilMs: day(2026, 4, 1) * DAY_MS };
    expect(queryUsage(db, whole).map((x) => x.key)).toContain(FIRSTS);
    expect(queryUsage(db, whole, { splitMinRows: 0, monthsOverHalf: true })).toEqual(
      queryUsageRaw(db, whole),
    );
    // every row of an account gone (usage_daily and raw): its monthly rows are zeros, not report rows
    db.prepare("DELETE FROM usage_daily WHERE account_id = ?").run("telegram:2");
    db.prepare("DELETE FROM usage_events WHERE account_id = ?").run("telegram:2");
    expect(monthly(db)).toEqual(expectedMonthly(db));
    for (const x of [q, whole]) {
      expect(queryUsage(db, x).map((y) => y.key)).not.toContain("telegram:2");
      expect(queryUsage(db, x, { splitMinRows: 0, monthsOverHalf: true })).toEqual(queryUsageRaw(db, x));
    }
  });

  test("the triggers keep usage_monthly_accounts: inserts, delta and re-key updates, deletes", ({ db }) => {
    writeRows(db, 800, 3);
    expect(monthly(db)).toEqual(expectedMonthly(db));
    // more writes through the writer (its upserts: delta updates)
    writeRows(db, 300, 4);
    expect(monthly(db)).toEqual(expectedMonthly(db));
    // a re-key: days moved across a month boundary, an account renamed
    db.prepare("UPDATE usage_daily SET day = day + 200 WHERE day >= ? AND day < ?").run(
      day(2026, 2, 15),
      day(2026, 2, 20),
    );
    db.prepare("UPDATE usage_daily SET account_id = 'renamed' WHERE account_id = 'u5' AND day < ?").run(
      day(2026, 3, 1),
    );
    // a plain update of the sums (the delta path), and deletes of some days
    db.exec(
      "UPDATE usage_daily SET cost_pico_usd = cost_pico_usd * 3, charge_micro_credits = -charge_micro_credits",
    );
    db.prepare("DELETE FROM usage_daily WHERE day >= ? AND day < ?").run(day(2026, 4, 1), day(2026, 4, 10));
    expect(monthly(db)).toEqual(expectedMonthly(db));
  });

  const MONTHLY_36_COLUMNS = `month, account_id, requests, errors, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, cache_write_1h_tokens, total_tokens, cost_pico_usd, charge_micro_credits,
    unknown_model_requests, fallback_priced_requests, provider_billed_requests, provider_billed_cost_pico_usd,
    provider_billed_known_cost_pico_usd, provider_billed_table_cost_pico_usd`;
  test("migration 36's backfill builds the same rows as the triggers", ({ db }) => {
    writeRows(db, 1500, 11);
    // migration 36's sums only (its backfill predates migration 42's two)
    const only36 = (rows: string[]) =>
      rows.map((row) =>
        JSON.stringify(
          (JSON.parse(row) as [string, unknown][]).filter(
            ([k]) => k !== "charge_pico_usd" && k !== "rated_charge_micro_credits",
          ),
        ),
      );
    const written = only36(monthly(db));
    expect(written.length).toBeGreaterThan(40);
    const list = engine === "sqlite" ? MIGRATIONS : PG_MIGRATIONS;
    const sql = list.find((m) => m.version === 36)?.sql ?? "";
    const backfill = sql.slice(sql.lastIndexOf("INSERT INTO usage_monthly_accounts\n"));
    expect(backfill).toMatch(/^INSERT INTO usage_monthly_accounts\n\s*SELECT/);
    db.exec("DELETE FROM usage_monthly_accounts");
    // its positional rows name migration 36's columns (migration 42 added two, kept by the
    // triggers since, compared apart above)
    db.exec(
      backfill.replace(
        "INSERT INTO usage_monthly_accounts\n",
        `INSERT INTO usage_monthly_accounts (${MONTHLY_36_COLUMNS})\n`,
      ),
    );
    expect(only36(monthly(db))).toEqual(written);
  });

  test("upgrading a database with usage: migration 36 backfills it, reports by month are exact", () => {
    const older = (l: readonly Migration[]) => l.filter((m) => m.version < 36);
    let path: string;
    let cleanup: () => void;
    if (engine === "sqlite") {
      const dir = mkdtempSync(join(tmpdir(), "cg-test-"));
      path = join(dir, "creditgate.sqlite");
      cleanup = () => rmSync(dir, { recursive: true, force: true });
      const old = openDatabase(path, older(MIGRATIONS));
      expect(
        old.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'usage_monthly_accounts'").pluck().get(),
      ).toBe(0);
      writeRows(old, 1200, 21, false);
      old.close();
    } else {
      const s = createPgSchema();
      path = s.url;
      cleanup = s.drop;
      const old = openPostgres(path, older(PG_MIGRATIONS));
      expect(
        old
          .prepare(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'usage_monthly_accounts' AND table_schema = current_schema()",
          )
          .pluck()
          .get(),
      ).toBe(0);
      writeRows(old, 1200, 21, false);
      old.close();
    }
    try {
      const db = openDatabase(path);
      try {
        const rows = monthly(db);
        expect(rows.length).toBeGreaterThan(40);
        expect(rows).toEqual(expectedMonthly(db));
        writeRows(db, 300, 22);
        expect(monthly(db)).toEqual(expectedMonthly(db));
        const r = rng(23);
        for (let i = 0; i < 60; i++) {
          const q = { ...query(r), by: "user" as const };
          expect(JSON.stringify(queryUsage(db, q, { monthsOverHalf: i % 2 === 0 })), JSON.stringify(q)).toBe(
            JSON.stringify(queryUsageRaw(db, q)),
          );
        }
      } finally {
        db.close();
      }
    } finally {
      cleanup();
    }
  });
});
