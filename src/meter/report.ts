import { z } from "zod";
import { normalizeAgentId } from "../agent-id.js";
import { type Db, isPostgres } from "../db/index.js";
import { formatPicoUsd, formatPicoUsdSum, picoNumberToMicroUsd, picoToMicroUsd } from "../money.js";
import { startReportJob } from "./report-thread.js";
import { DAY_MS, nearestDaySplit, splitUtcDays } from "./usage-repo.js";

export const GROUP_BY = ["user", "agent", "model", "day"] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageQuery {
  user?: string | undefined;
  agent?: string | undefined;
  model?: string | undefined;
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
  by: GroupBy;
}

export interface UsageRow {
  key: string;
  requests: number;
  errors: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  totalTokens: number;
  /** Exact provider cost in pico-USD, as a decimal string (bigint-safe). */
  costPicoUsd: string;
  /** Provider cost in micro-USD (rounded half-up once per row). */
  costMicros: number;
  /** Provider cost in USD, exact decimal string. */
  costUsd: string;
  chargedMicros: number;
  /** Calls of models neither the table nor an override knew (priced at recorded cost or fallback). */
  unknownModelRequests: number;
  /** Of those, the calls priced at `CREDITGATE_FALLBACK_PRICE` (the rest used their recorded cost). */
  fallbackPricedRequests: number;
  /** 1-hour cache writes (a part of `cacheWrite`). */
  cacheWrite1h: number;
  /** Calls billed at the amount their provider reported it charged (`price_source = provider-billed`). */
  providerBilledRequests: number;
  /** Exact USD billed for those calls (decimal string). */
  providerBilledCostUsd: string;
  /**
   * What the override/table price would have charged for the provider-billed calls whose model it
   * knows (exact USD), and the signed difference billed − table over those same calls.
   */
  providerBilledTableCostUsd: string;
  providerBilledDiffUsd: string;
}

/**
 * {@link UsageRow} as the API answers it (`GET /v1/usage` rows): token counts and micro amounts are
 * integers, `*Usd` / `costPicoUsd` exact decimal strings.
 */
export const usageRowSchema = z.object({
  key: z.string(),
  requests: z.number().int(),
  errors: z.number().int(),
  input: z.number().int(),
  output: z.number().int(),
  cacheRead: z.number().int(),
  cacheWrite: z.number().int(),
  totalTokens: z.number().int(),
  costPicoUsd: z.string(),
  costMicros: z.number().int(),
  costUsd: z.string(),
  chargedMicros: z.number().int(),
  unknownModelRequests: z.number().int(),
  fallbackPricedRequests: z.number().int(),
  cacheWrite1h: z.number().int(),
  providerBilledRequests: z.number().int(),
  providerBilledCostUsd: z.string(),
  providerBilledTableCostUsd: z.string(),
  providerBilledDiffUsd: z.string(),
});

const KEY_SQL: Record<GroupBy, string> = {
  user: "account_id",
  agent: "agent_id",
  model: "provider || '/' || model",
  day: "strftime('%Y-%m-%d', message_ts_ms / 1000, 'unixepoch')",
};

/**
 * Usage rows removed by retention are in `usage_archived` (src/retention; docs/retention.md), per
 * UTC quarter hour (`bucket = message_ts_ms / 900000`, same sum columns as usage_daily): raw reads
 * (edges, short ranges) add the buckets that start inside their range, so archiving changes no
 * answer whose edges are on a quarter hour (every day, and every local day).
 */
const ARCHIVED_BUCKET_MS = 900_000;
const ARCHIVED_KEY_SQL: Record<GroupBy, string> = {
  user: "account_id",
  agent: "agent_id",
  model: "provider || '/' || model",
  day: `strftime('%Y-%m-%d', bucket * ${ARCHIVED_BUCKET_MS / 1000}, 'unixepoch')`,
};
const ARCHIVED_INNER_KEY_SQL: Record<GroupBy, string> = {
  user: "account_id AS k1, NULL AS k2",
  agent: "agent_id AS k1, NULL AS k2",
  model: "provider AS k1, model AS k2",
  day: `${ARCHIVED_KEY_SQL.day} AS k1, NULL AS k2`,
};
/** The `bucket` conditions of a raw range `[lo, hi)` (either end open when undefined). */
function archivedRange(
  lo: number | undefined,
  hi: number | undefined,
): { where: string[]; params: number[] } {
  const where: string[] = [];
  const params: number[] = [];
  if (lo !== undefined) {
    where.push("bucket >= ?");
    params.push(Math.ceil(lo / ARCHIVED_BUCKET_MS));
  }
  if (hi !== undefined) {
    where.push("bucket < ?");
    params.push(Math.ceil(hi / ARCHIVED_BUCKET_MS));
  }
  return { where, params };
}

/**
 * One group of the aggregate query, as SQLite returns it with `safeIntegers` (sums are bigints;
 * NULL only for an empty sum). Not a table row: the query's own aliases.
 */
interface UsageGroupSqlRow {
  key: string | null;
  requests: bigint;
  errors: bigint | null;
  input: bigint | null;
  output: bigint | null;
  cacheRead: bigint | null;
  cacheWrite: bigint | null;
  totalTokens: bigint | null;
  costPico: bigint | null;
  chargedMicros: bigint | null;
  unknownModelRequests: bigint | null;
  fallbackPricedRequests: bigint | null;
  cacheWrite1h: bigint | null;
  providerBilledRequests: bigint | null;
  pbCost: bigint | null;
  pbKnownCost: bigint | null;
  pbTableCost: bigint | null;
}

const SUM_COLUMNS_SQL = `SUM(requests) AS requests, SUM(is_error) AS errors,
      SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cache_read_tokens) AS cacheRead,
      SUM(cache_write_tokens) AS cacheWrite, SUM(total_tokens) AS totalTokens,
      SUM(cost_pico_usd) AS costPico, SUM(charge_micro_credits) AS chargedMicros,
      SUM(unknown_model) AS unknownModelRequests,
      SUM(price_source = 'fallback') AS fallbackPricedRequests,
      SUM(cache_write_1h_tokens) AS cacheWrite1h,
      SUM(price_source = 'provider-billed') AS providerBilledRequests,
      SUM(CASE WHEN price_source = 'provider-billed' THEN cost_pico_usd ELSE 0 END) AS pbCost,
      SUM(CASE WHEN price_source = 'provider-billed' AND table_cost_pico_usd IS NOT NULL
          THEN cost_pico_usd ELSE 0 END) AS pbKnownCost,
      SUM(CASE WHEN price_source = 'provider-billed' THEN table_cost_pico_usd ELSE 0 END) AS pbTableCost`;

/** The same sums as `SUM_COLUMNS_SQL`, over `usage_daily` groups. */
const DAILY_SUM_COLUMNS_SQL = `SUM(requests) AS requests, SUM(errors) AS errors,
      SUM(input_tokens) AS input, SUM(output_tokens) AS output, SUM(cache_read_tokens) AS cacheRead,
      SUM(cache_write_tokens) AS cacheWrite, SUM(total_tokens) AS totalTokens,
      SUM(cost_pico_usd) AS costPico, SUM(charge_micro_credits) AS chargedMicros,
      SUM(unknown_model_requests) AS unknownModelRequests,
      SUM(fallback_priced_requests) AS fallbackPricedRequests,
      SUM(cache_write_1h_tokens) AS cacheWrite1h,
      SUM(provider_billed_requests) AS providerBilledRequests,
      SUM(provider_billed_cost_pico_usd) AS pbCost,
      SUM(provider_billed_known_cost_pico_usd) AS pbKnownCost,
      SUM(provider_billed_table_cost_pico_usd) AS pbTableCost`;

/**
 * Group keys of the aggregate and edge subqueries (`k1, k2`), and the filter that selects one
 * aggregate group again (`refine`). Cheap inner keys: the day number, not its text, and provider
 * and model apart (the few report keys are made in JS). Unary `+` (a no-op on the value) keeps
 * SQLite from walking the whole account index to get groups in order, instead of searching the
 * time range.
 */
const INNER_KEY_SQL: Record<GroupBy, { daily: string; raw: string; refine: string }> = {
  user: {
    daily: "+account_id AS k1, NULL AS k2",
    raw: "+account_id AS k1, NULL AS k2",
    refine: "account_id = ?",
  },
  agent: { daily: "+agent_id AS k1, NULL AS k2", raw: "+agent_id AS k1, NULL AS k2", refine: "agent_id = ?" },
  model: {
    daily: "provider AS k1, model AS k2",
    raw: "provider AS k1, model AS k2",
    refine: "provider = ? AND model = ?",
  },
  day: { daily: "day AS k1, NULL AS k2", raw: `${KEY_SQL.day} AS k1, NULL AS k2`, refine: "day = ?" },
};

/** The user/agent/model filters of `q`, for either table (both have the same column names). */
function filterSql(q: UsageQuery): { where: string[]; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.user) {
    where.push("account_id = ?");
    params.push(q.user);
  }
  if (q.agent) {
    where.push("agent_id = ?");
    params.push(normalizeAgentId(q.agent)); // as OpenClaw names the agent (`Main` is `main`)
  }
  if (q.model) {
    // case-insensitive, as `report --model` (reports' MODEL_FILTER_SQL): rows keep the model as written
    where.push("(lower(provider || '/' || model) = ? OR lower(model) = ?)");
    params.push(q.model.toLowerCase(), q.model.toLowerCase());
  }
  return { where, params };
}

const orderSql = (by: GroupBy) => (by === "day" ? "key" : "costPico DESC, key");

/**
 * A row of a part (aggregate days or a raw edge) as read with `.raw()`: `k1, k2`, then the 16
 * sums in the order of `SUM_COLUMNS_SQL` / `DAILY_SUM_COLUMNS_SQL` (numbers while safe, else bigints).
 */
type Part = (string | number | bigint | null)[];
const PART_LEN = 18;
/** Page cache (KiB) while the aggregate part of a report runs, so its GROUP BY sorts in memory. */
const REPORT_CACHE_KIB = 131_072;

/** Positions of the sums in a {@link Part}, after its two keys. */
const S = {
  requests: 0,
  errors: 1,
  input: 2,
  output: 3,
  cacheRead: 4,
  cacheWrite: 5,
  totalTokens: 6,
  costPico: 7,
  chargedMicros: 8,
  unknownModelRequests: 9,
  fallbackPricedRequests: 10,
  cacheWrite1h: 11,
  providerBilledRequests: 12,
  pbCost: 13,
  pbKnownCost: 14,
  pbTableCost: 15,
} as const;

/** `a + b` exactly: a number while the sum is a safe integer, else a bigint (NULL counts as 0). */
function addExact(a: Part[number] | undefined, b: Part[number] | undefined): number | bigint {
  if (typeof a === "string" || typeof b === "string") throw new TypeError("a sum is not an integer");
  if (a === null || a === undefined) return b ?? 0;
  if (b === null || b === undefined) return a;
  if (typeof a === "number" && typeof b === "number") {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return BigInt(a) + BigInt(b);
}

/**
 * An exact sum read as a bigint, as a number when it is a safe integer: edge groups (up to half
 * of a month's users) then add to the aggregate part's numbers and format without bigint math.
 */
function safeOrBig(v: bigint): number | bigint {
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** The report key of a part's `k1, k2`: provider/model, a day number as YYYY-MM-DD, else k1 as text. */
function reportKey(by: GroupBy, k1: unknown, k2: unknown): string {
  if (by === "model") return `${String(k1)}/${String(k2)}`;
  if (by === "day" && typeof k1 === "number") return new Date(k1 * DAY_MS).toISOString().slice(0, 10);
  return String(k1);
}

/**
 * Orders two strings as SQLite's BINARY collation does on UTF-8 text (byte order, i.e. code
 * point order), which differs from JS `<` (UTF-16 code units) only for characters past U+FFFF
 * against U+E000..U+FFFF.
 */
export function compareBinary(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (code points past U+FFFF) after U+E000..U+FFFF, as in code point order
    if (x >= 0xd800) x = x < 0xe000 ? x + 0x2000 : x - 0x800;
    if (y >= 0xd800) y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Options of {@link queryUsage} (tests and benchmarks; the defaults are what reports use). */
export interface QueryUsageOptions {
  /**
   * Split a by-user, by-agent or by-model report's aggregate part across the report thread when
   * the whole days hold about this many `usage_daily` rows or more (estimated from one day).
   * `Infinity`: never split; `0`: split whenever the database allows it.
   * @defaultValue 40000
   */
  splitMinRows?: number;
  /**
   * The calling connection's share of a split report (of the sample day's accounts, lowest
   * first); the report thread groups the rest.
   * @defaultValue 0.35 by user, 0.5 by agent or model
   */
  splitShare?: number;
  /**
   * By user: read every month the range covers by more than half by month (its monthly rows minus
   * its other days), without estimating whether its days inside are fewer rows (tests).
   * @defaultValue false
   */
  monthsOverHalf?: boolean;
  /** Rows per part of the report thread's answer (tests). @defaultValue REPORT_CHUNK_ROWS (8192) */
  threadChunkRows?: number;
  /** Tests: the report thread fails after this many parts of its answer. @defaultValue never */
  threadFailAfterParts?: number;
}

/**
 * The calling thread's share of a split report: by user less than half, since it also reads the
 * edges and builds every report row (~85k at 10M rows) while the thread only groups; by agent
 * or model (a handful of report rows) half.
 */
const SPLIT_SHARE = { user: 0.35, other: 0.5 } as const;

/** The two halves of a split report's aggregate part: accounts below the split key, and from it up. */
const BELOW = " AND +account_id < ?";
const ABOVE = " AND +account_id >= ?";

/** Below this many aggregate rows (estimated), a report is not split (~50 ms of work). */
const SPLIT_MIN_ROWS = 40_000;

/**
 * The first and last day in `[firstDay, endDay)` that `usage_daily` has rows in, or null when it
 * has none there. MIN and MAX apart: each alone is one primary-key seek, together a scan.
 */
function daysWithRows(db: Db, firstDay: number, endDay: number): { lo: number; hi: number } | null {
  const lo = db
    .prepare<[number, number], number | null>("SELECT MIN(day) FROM usage_daily WHERE day >= ? AND day < ?")
    .pluck()
    .get(firstDay, endDay);
  const hi = db
    .prepare<[number, number], number | null>("SELECT MAX(day) FROM usage_daily WHERE day >= ? AND day < ?")
    .pluck()
    .get(firstDay, endDay);
  return lo == null || hi == null ? null : { lo: Number(lo), hi: Number(hi) };
}

/** The day number (UTC days since 1970-01-01) of the first day of the UTC calendar month of `day`. */
export function monthStartDay(day: number): number {
  const d = new Date(day * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS;
}

/** The first day of the month after the one starting on day `month`. */
function nextMonthStartDay(month: number): number {
  const d = new Date(month * DAY_MS);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / DAY_MS;
}

/**
 * Whole days `[firstDay, endDay)` read by calendar month (a by-user report's aggregate part): the
 * months `[firstMonth, lastMonth]` (first days; consecutive) from `usage_monthly_accounts`, minus
 * the `usage_daily` days `minus` (`[lo, hi)`: the days of those months outside the range), plus
 * the `usage_daily` days `plus` (the days of a month the range covers half or less of).
 */
export interface MonthlyDaySplit {
  firstMonth: number;
  lastMonth: number;
  minus: [number, number][];
  plus: [number, number][];
}

/**
 * How `[firstDay, endDay)` is read by month: a month wholly inside from its monthly rows; a month
 * the range covers more than half of as its monthly rows minus its days outside the range; any
 * other month from its days. Null when no month is read from the monthly rows (the days are read
 * as they are). Exact, as every monthly sum is a plain sum of the month's usage_daily rows (kept
 * in the same transaction by triggers: migration 36).
 */
export function monthlyDaySplit(firstDay: number, endDay: number): MonthlyDaySplit | null {
  if (!(firstDay < endDay)) return null;
  const minus: [number, number][] = [];
  const plus: [number, number][] = [];
  const m0 = monthStartDay(firstDay);
  const mLast = monthStartDay(endDay - 1);
  // only the first and the last month can be partly inside (they may be the same month)
  const byMonth = (m: number): boolean => {
    const next = nextMonthStartDay(m);
    const lo = Math.max(firstDay, m);
    const hi = Math.min(endDay, next);
    if (2 * (hi - lo) <= next - m) {
      plus.push([lo, hi]);
      return false;
    }
    if (m < lo) minus.push([m, lo]);
    if (hi < next) minus.push([hi, next]);
    return true;
  };
  const firstMonth = byMonth(m0) ? m0 : nextMonthStartDay(m0);
  const lastMonth = mLast === m0 ? m0 : byMonth(mLast) ? mLast : monthStartDay(mLast - 1);
  if (firstMonth > lastMonth) return null;
  return { firstMonth, lastMonth, minus, plus };
}

/** usage_daily's (and usage_monthly_accounts') sum columns, in the order of {@link S}. */
const SUM_COLUMNS = [
  "requests",
  "errors",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "total_tokens",
  "cost_pico_usd",
  "charge_micro_credits",
  "unknown_model_requests",
  "fallback_priced_requests",
  "cache_write_1h_tokens",
  "provider_billed_requests",
  "provider_billed_cost_pico_usd",
  "provider_billed_known_cost_pico_usd",
  "provider_billed_table_cost_pico_usd",
] as const;
const SUMS_AS_COLUMNS = SUM_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(", ");

/**
 * Whether reading `[lo, hi)` (the range's whole days `whole` narrowed to those with rows) by month
 * (`plan`) reads fewer rows than reading its days, estimated from the monthly row counts of its
 * months and the rows of one day (a month's rows are its accounts: up to one per account and day
 * for light users, about one day's worth when accounts are active every day). The days grouped
 * in the monthly statement (subtracted ones, and added ones past two) count twice: measured at
 * 10M rows, the grouped parts and the joins cost about that much per row more than the days'
 * own grouping. More than three months: by month (whole months are the bulk).
 */
function monthlyCheaper(
  db: Db,
  plan: MonthlyDaySplit,
  lo: number,
  hi: number,
  whole: { firstDay: number; endDay: number },
): boolean {
  const months: number[] = [];
  for (let m = plan.firstMonth; m <= plan.lastMonth && months.length <= 3; m = nextMonthStartDay(m))
    months.push(m);
  if (months.length > 3) return true;
  const perDay = Number(
    db
      .prepare<[number], number>("SELECT COUNT(*) FROM usage_daily WHERE day = ?")
      .pluck()
      .get(Math.floor((lo + hi) / 2)) ?? 0,
  );
  const monthRows = db
    .prepare<[number], number>("SELECT COUNT(*) FROM usage_monthly_accounts WHERE month = ?")
    .pluck();
  let rows = 0;
  for (const m of months) rows += Number(monthRows.get(m) ?? 0);
  // subtracted days that may hold rows: outside the range (its own days outside [lo, hi) have none)
  let other = 0;
  for (const [a, b] of plan.minus)
    other += Math.max(0, Math.min(b, whole.firstDay) - a) + Math.max(0, b - Math.max(a, whole.endDay));
  let plus = 0;
  for (const [a, b] of plan.plus) plus += b - a;
  const byMonth = rows + 2 * other * perDay + (plusInside(plan) ? 2 : 1) * plus * perDay;
  return byMonth < (hi - lo) * perDay;
}

/**
 * The months of a by-user aggregate part read by month (`plan`; its `plus` days too when
 * {@link plusInside}, else they are read apart like the edges): ONE statement, so the monthly rows and the days subtracted from
 * them are read in one snapshot (a call committed in between would otherwise be subtracted from a
 * month that does not hold it), one row per account (`k1, k2`, then the 16 sums named as
 * usage_daily's columns). One month (a range of up to ~45 days) needs no sort: the month's rows
 * in primary-key order, each minus its account's subtracted days (a small grouped part, joined).
 * `accounts`: `account_id = ?` filters (the report's user, or one group read again); `half`: the
 * split condition (see splitKey), on every table read.
 */
function monthlySql(
  plan: MonthlyDaySplit,
  accounts: string[],
  half: "" | typeof BELOW | typeof ABOVE,
  splitAt: string | null,
): { sql: string; params: (string | number)[] } {
  // (unary + on usage_daily's split condition: SQLite searches the days, not the account index;
  // no split on PostgreSQL, which has no unary + on text)
  const conds = (col: string, daily = false): { sql: string; params: (string | number)[] } => {
    let sql = "";
    const params: (string | number)[] = [];
    for (const a of accounts) {
      sql += ` AND ${col} = ?`;
      params.push(a);
    }
    if (half !== "" && splitAt !== null) {
      sql += ` AND ${daily ? "+" : ""}${col} ${half === BELOW ? "<" : ">="} ?`;
      params.push(splitAt);
    }
    return { sql, params };
  };
  const days = (ranges: [number, number][]): { sql: string; params: number[] } => ({
    sql: `(${ranges.map(() => "day >= ? AND day < ?").join(" OR ")})`,
    params: ranges.flat(),
  });
  const params: (string | number)[] = [];
  const first = plan.firstMonth;
  const last = plan.lastMonth;
  const single = first === last;
  const plusIn = plusInside(plan);
  // grouped parts, each read once: several months per account, the days subtracted, the days added
  const withs: string[] = [];
  if (!single) {
    const mc = conds("account_id");
    withs.push(`m AS (SELECT account_id, ${SUMS_AS_COLUMNS} FROM usage_monthly_accounts
      WHERE month >= ? AND month <= ?${mc.sql} GROUP BY account_id)`);
    params.push(first, last, ...mc.params);
  }
  const grouped = (name: string, ranges: [number, number][]): void => {
    const dd = days(ranges);
    const dc = conds("account_id", true);
    withs.push(`${name} AS (SELECT account_id, ${SUMS_AS_COLUMNS} FROM usage_daily
      WHERE ${dd.sql}${dc.sql} GROUP BY account_id)`);
    params.push(...dd.params, ...dc.params);
  };
  if (plan.minus.length > 0) grouped("d", plan.minus);
  if (plusIn) grouped("p", plan.plus);
  // one row per account of the months (one month: the table in key order, no sort), its
  // subtracted and added days joined
  const sum = (c: string): string =>
    `m.${c}${plan.minus.length > 0 ? ` - COALESCE(d.${c}, 0)` : ""}${plusIn ? ` + COALESCE(p.${c}, 0)` : ""} AS ${c}`;
  let sql = `${withs.length > 0 ? `WITH ${withs.join(", ")} ` : ""}SELECT m.account_id AS k1, NULL AS k2,
    ${SUM_COLUMNS.map(sum).join(", ")} FROM ${single ? "usage_monthly_accounts m" : "m"}
    ${plan.minus.length > 0 ? "LEFT JOIN d ON d.account_id = m.account_id" : ""}
    ${plusIn ? "LEFT JOIN p ON p.account_id = m.account_id" : ""}`;
  if (single) {
    const mc = conds("m.account_id");
    sql += ` WHERE m.month = ?${mc.sql}`;
    params.push(first, ...mc.params);
  }
  if (plusIn) {
    // the accounts with calls only in the added days
    sql += `
    UNION ALL SELECT p.account_id AS k1, NULL AS k2, ${SUM_COLUMNS.map((c) => `p.${c}`).join(", ")} FROM p
    WHERE NOT EXISTS (SELECT 1 FROM ${single ? "usage_monthly_accounts x WHERE x.month = ? AND" : "m x WHERE"} x.account_id = p.account_id)`;
    if (single) params.push(first);
  }
  return { sql, params };
}

/**
 * Whether `plan`'s `plus` days are read in its monthly statement (grouped with the months: a sort
 * of every row, split with the report thread) rather than apart like an edge (merged by lookup,
 * no sort, on this connection): more than two days of them.
 */
function plusInside(plan: MonthlyDaySplit): boolean {
  let n = 0;
  for (const [lo, hi] of plan.plus) n += hi - lo;
  return n > 2;
}

/**
 * Where a report's aggregate part is split between this connection and the report thread: the
 * account at `share` of the middle day of `[firstDay, endDay)` that has rows (its accounts are
 * in key order in the primary key: a few thousand rows read). Exactness does not depend on it
 * (the halves are `account_id < key` and `>= key`, disjoint rows: by user their groups
 * concatenate, by agent or model they are added), only the balance of the halves does. Null
 * (no split) for PostgreSQL, an in-memory or temporary database, inside a transaction (the
 * thread would not see its writes), or a small range.
 */
function splitKey(
  db: Db,
  firstDay: number,
  endDay: number,
  share: number,
  opts: QueryUsageOptions,
): string | null {
  const minRows = opts.splitMinRows ?? SPLIT_MIN_ROWS;
  if (!(minRows < Number.POSITIVE_INFINITY) || isPostgres(db) || db.memory || db.inTransaction || !db.name)
    return null;
  const span = daysWithRows(db, firstDay, endDay);
  if (!span) return null;
  const count = db.prepare<[number], number>("SELECT COUNT(*) FROM usage_daily WHERE day = ?").pluck();
  let day = Math.floor((span.lo + span.hi) / 2);
  let n = count.get(day) ?? 0;
  if (n === 0) {
    day = span.hi;
    n = count.get(day) ?? 0;
  }
  if (n === 0 || n * (span.hi - span.lo + 1) < minRows) return null;
  const key = db
    .prepare<[number, number], unknown>(
      "SELECT account_id FROM usage_daily WHERE day = ? ORDER BY account_id LIMIT 1 OFFSET ?",
    )
    .pluck()
    .get(day, Math.min(n - 1, Math.floor(n * share)));
  return typeof key === "string" ? key : null;
}

/**
 * The condition selecting an edge's raw rows: `message_ts_ms` in `[lo, hi)` (either end open when
 * undefined) and the report's own filters (`q.user`, `q.agent`, `q.model`), for `usage_events`
 * (`sql` with `?` placeholders, then `params`).
 *
 * On SQLite the rows are named by id first: `id IN (SELECT id FROM usage_events WHERE <range>)`
 * reads only the time index (or, for one user's report, that user's `(account_id,
 * message_ts_ms)` index), and SQLite then fetches the rows in id order, so each table page is read
 * once and in file order. Read through the time index itself, the rows come in time order, which
 * is not the order they were written in (a backlog is metered file by file, and a day's calls are
 * spread over all of it): every row is a page read of its own. Measured at 10M rows with a
 * quarter day's 28k rows at the edge (`npm run bench:reports`): 480 → 105 ms on a fresh
 * connection, 450 → 50 ms warm. The user filter is then only inside the subquery: outside it,
 * SQLite would answer `account_id = ?` through the account index, every row the user ever had,
 * before the id list (a fresh tester: 2–6 → 33–90 ms for a user with 300k rows). The answer is
 * the same rows either way. PostgreSQL's bitmap heap scan already reads the table in physical
 * order: the plain conditions there.
 */
function edgeRangeSql(
  db: Db,
  q: UsageQuery,
  lo: number | undefined,
  hi: number | undefined,
): { sql: string; params: (string | number)[] } {
  const range: string[] = [];
  const rangeParams: (string | number)[] = [];
  if (lo !== undefined) {
    range.push("message_ts_ms >= ?");
    rangeParams.push(lo);
  }
  if (hi !== undefined) {
    range.push("message_ts_ms < ?");
    rangeParams.push(hi);
  }
  if (range.length === 0 || isPostgres(db)) {
    const f = filterSql(q);
    const conds = [...range, ...f.where];
    return { sql: conds.length > 0 ? conds.join(" AND ") : "1", params: [...rangeParams, ...f.params] };
  }
  // the user inside the subquery (its index, covering the id); the other filters outside
  const f = filterSql({ ...q, user: undefined });
  const inner = q.user ? ["account_id = ?", ...range] : range;
  return {
    sql: [`id IN (SELECT id FROM usage_events WHERE ${inner.join(" AND ")})`, ...f.where].join(" AND "),
    params: [...(q.user ? [q.user] : []), ...rangeParams, ...f.params],
  };
}

/**
 * Usage totals grouped by user, agent, model or UTC day (by the call's own timestamp), over
 * `[sinceMs, untilMs)` (either end open when undefined).
 *
 * Whole UTC days inside the range are read from `usage_daily` (kept by the usage writer in the same
 * transaction as the rows); the partial days at the edges, and rows outside the aggregated span
 * (`AGGREGATED_UNTIL_MS`), from `usage_events`. An edge that covers more than half of its day is
 * read as that whole day from `usage_daily` minus the raw rows of the rest of the day
 * (`nearestDaySplit`: at most half a day of raw rows per edge). The answer is identical to
 * `queryUsageRaw`'s.
 *
 * How it is fast (10M rows, 100k users: `npm run bench:reports`): SQLite groups each part (the
 * aggregate days, each raw edge) on its own; the parts are merged by key, and ordered, in JS (a
 * hash merge instead of a second SQL sort of every group); the aggregate part, the big one, is
 * read as JS numbers rather than bigints. Exactness: any aggregate group with a sum past 2^53 − 1
 * (which a number cannot hold) is read again alone as bigints, and merged sums switch to bigint
 * when they pass 2^53 − 1.
 */
export function queryUsage(db: Db, q: UsageQuery, opts: QueryUsageOptions = {}): UsageRow[] {
  // Whole days [firstDay, endDay) fully inside the range, within the aggregated span.
  const whole = splitUtcDays(q.sinceMs, q.untilMs);
  if (!whole) return queryUsageRaw(db, q);
  // an edge over most of its day: that day from usage_daily minus the raw rest of it
  const split = nearestDaySplit(whole);
  // The aggregate part is the whole days only: an edge day read as a whole is read with its
  // subtracted rest below, in one snapshot (see there).
  const { firstDay, endDay } = whole;
  const { where, params } = filterSql(q);
  const keys = INNER_KEY_SQL[q.by];
  // k2 is a constant NULL but by model: left out of the GROUP BY (a narrower sort key)
  const groupKeys = q.by === "model" ? "k1, k2" : "k1";
  // report key -> [k1, k2, ...16 sums]: the first part row of the key, other rows added into it
  const groups = new Map<string, Part>();
  // The report's rows as they are finished, with what they are ordered by. A by-user/by-agent
  // group that no edge touched is final as soon as its aggregate row is read, so its report row
  // is built then (while the report thread may still be grouping the other half).
  // (rows and their costs side by side, sorted through an index: no wrapper object per row)
  const rows: UsageRow[] = [];
  const costs: (number | bigint)[] = [];
  const nullKeys = new Set<number>();
  const finish = (key: string, sums: Sums, at: number, nullKey: boolean): void => {
    if (nullKey) nullKeys.add(rows.length);
    costs.push(sumAt(sums, at, S.costPico));
    rows.push(toUsageRow(key, sums, at));
  };
  const merge = (r: Part): void => {
    const key = reportKey(q.by, r[0], r[1]);
    const had = groups.get(key);
    if (!had) groups.set(key, r);
    else for (let i = 2; i < PART_LEN; i++) had[i] = addExact(had[i], r[i]);
  };

  // Whole days from usage_daily (merged after the edges, which are few: the big part is then
  // merged by lookup only), read as numbers; a group with a sum past 2^53 - 1 (a number
  // cannot hold it exactly) is read again alone, as bigints.
  const aggWhere = [...where, "day >= ?", "day < ?"].join(" AND ");
  const aggParams = [...params, firstDay, endDay];
  const aggSql = (extra: string) =>
    `SELECT ${keys.daily}, ${DAILY_SUM_COLUMNS_SQL} FROM usage_daily WHERE ${aggWhere}${extra} GROUP BY ${groupKeys}`;
  // By user with no agent or model filter (usage_monthly_accounts has neither), the whole days
  // are read by calendar month where that reads fewer rows (monthlyDaySplit, monthlySql).
  // The days are first narrowed to those usage_daily has rows in (two primary-key seeks): an
  // open-ended range (--since 30d) then ends at the last day with calls, not at year 9999 (every
  // month up to there would be a "whole month" to group).
  let monthly: MonthlyDaySplit | null = null;
  if (q.by === "user" && !q.agent && !q.model) {
    const span = daysWithRows(db, firstDay, endDay);
    if (span) monthly = monthlyDaySplit(span.lo, span.hi + 1);
    if (
      span &&
      monthly &&
      !q.user &&
      !opts.monthsOverHalf &&
      !monthlyCheaper(db, monthly, span.lo, span.hi + 1, whole)
    )
      monthly = null;
  }
  const userFilter = q.user ? [q.user] : [];
  // Over many rows: the accounts from the split key up are grouped on the report thread's own
  // connection while this one groups those below it (disjoint rows: by user the two answers
  // concatenate, by agent or model their groups are added); see splitKey. Not by day: its
  // groups come in primary-key order, with no sort to share.
  const share = opts.splitShare ?? (q.by === "user" ? SPLIT_SHARE.user : SPLIT_SHARE.other);
  const splitAt = q.by !== "day" && !q.user ? splitKey(db, firstDay, endDay, share, opts) : null;
  // one aggregate row per report key: by user always, by agent unless the halves both have it
  const uniqueKeys = q.by === "user" || (q.by === "agent" && splitAt === null);
  const job =
    splitAt === null
      ? null
      : startReportJob({
          file: db.name,
          ...(monthly
            ? monthlySql(monthly, userFilter, ABOVE, splitAt)
            : { sql: aggSql(ABOVE), params: [...aggParams, splitAt] }),
          cacheKib: REPORT_CACHE_KIB,
          width: PART_LEN - 2,
          ...(opts.threadChunkRows === undefined ? {} : { chunkRows: opts.threadChunkRows }),
          ...(opts.threadFailAfterParts === undefined ? {} : { failAfterParts: opts.threadFailAfterParts }),
        });
  // Raw edges [sinceMs, firstDay) and [endDay, untilMs), or an edge's whole day from usage_daily
  // and the rest of that day to subtract: one query each (so each uses an index), exact. An edge
  // day and its rest are read in one transaction (one snapshot): a call committed between the two
  // reads, outside the range, would otherwise be counted, or (when the day was read first, as the
  // report thread may) subtracted from a day that does not hold it (a group of -1 request).
  const readEdges = (): void => {
    groups.clear(); // (PostgreSQL may run a transaction again)
    // by month: the days of a month the range covers half or less of, added like an edge
    if (monthly && monthly.plus.length > 0 && !plusInside(monthly)) {
      const ranges = monthly.plus;
      for (const r of db
        .prepare<(string | number)[], Part>(
          `SELECT account_id AS k1, NULL AS k2, ${DAILY_SUM_COLUMNS_SQL} FROM usage_daily
           WHERE ${[...where, `(${ranges.map(() => "day >= ? AND day < ?").join(" OR ")})`].join(" AND ")}
           GROUP BY account_id`,
        )
        .raw()
        .safeIntegers(true)
        .all(...params, ...ranges.flat())) {
        for (let i = 2; i < PART_LEN; i++) r[i] = safeOrBig((r[i] ?? 0n) as bigint);
        merge(r);
      }
    }
    for (const e of split.edges) {
      const { lo, hi, sign } = e;
      if (e.sign === -1) {
        // the whole day this rest lies in, as the aggregate part reads days
        for (const r of db
          .prepare<(string | number)[], Part>(aggSql(""))
          .raw()
          .safeIntegers(true)
          .all(...params, e.day, e.day + 1)) {
          if (typeof r[0] === "bigint") r[0] = Number(r[0]); // the day number (by day)
          for (let i = 2; i < PART_LEN; i++) r[i] = safeOrBig((r[i] ?? 0n) as bigint);
          merge(r);
        }
      }
      const range = edgeRangeSql(db, q, lo, hi);
      const edgeRows = db
        .prepare<(string | number)[], Part>(
          `SELECT ${keys.raw}, ${SUM_COLUMNS_SQL} FROM usage_events WHERE ${range.sql} GROUP BY ${groupKeys}`,
        )
        .raw()
        .safeIntegers(true)
        .all(...range.params);
      const ar = archivedRange(lo, hi);
      const archived = db
        .prepare<(string | number)[], Part>(
          `SELECT ${ARCHIVED_INNER_KEY_SQL[q.by]}, ${DAILY_SUM_COLUMNS_SQL} FROM usage_archived
         WHERE ${[...where, ...ar.where].join(" AND ") || "1"} GROUP BY k1, k2`,
        )
        .raw()
        .safeIntegers(true)
        .all(...params, ...ar.params);
      for (const r of [...edgeRows, ...archived]) {
        for (let i = 2; i < PART_LEN; i++) {
          const v = (r[i] ?? 0n) as bigint; // an empty SUM (all NULL) is 0
          r[i] = safeOrBig(sign === 1 ? v : -v);
        }
        merge(r);
      }
    }
  };
  if (split.edges.some((e) => e.sign === -1)) db.transaction(readEdges)();
  else readEdges();

  // The exact re-read of one group, within the same half of a split (by agent or model the
  // other half has its own part of the group): "" (no split), " AND +account_id < ?" or ">= ?".
  type Half = "" | typeof BELOW | typeof ABOVE;
  const exact = new Map<Half, { get(...p: (string | number | bigint | null)[]): Part | undefined }>();
  const add = (r: Part, half: Half): void => {
    let safe = true;
    for (let i = 2; i < PART_LEN; i++) if (!Number.isSafeInteger(r[i])) safe = false;
    if (!safe) {
      let e: Part;
      if (monthly) {
        // the account's row again, as one statement (the same snapshot for its month and days)
        const one = monthlySql(monthly, [...userFilter, String(r[0])], half, splitAt);
        e =
          db
            .prepare<(string | number)[], Part>(
              `SELECT NULL, NULL, ${DAILY_SUM_COLUMNS_SQL} FROM (${one.sql})`,
            )
            .raw()
            .safeIntegers(true)
            .get(...one.params) ?? [];
      } else {
        let one = exact.get(half);
        if (!one) {
          one = db
            .prepare<(string | number | bigint | null)[], Part>(
              `SELECT NULL, NULL, ${DAILY_SUM_COLUMNS_SQL} FROM usage_daily WHERE ${aggWhere}${half} AND ${keys.refine}`,
            )
            .raw()
            .safeIntegers(true);
          exact.set(half, one);
        }
        const k = q.by === "model" ? [r[0] ?? null, r[1] ?? null] : [r[0] ?? null];
        e = one.get(...aggParams, ...(half === "" ? [] : [splitAt]), ...k) ?? [];
      }
      for (let i = 2; i < PART_LEN; i++) r[i] = e[i] ?? 0n;
    }
    if (!uniqueKeys) merge(r);
    else {
      // user/agent: one aggregate row per key, so only the few edge groups need a lookup
      const key = String(r[0]);
      const had = groups.get(key);
      if (had) for (let i = 2; i < PART_LEN; i++) had[i] = addExact(had[i], r[i]);
      // (by month: an account whose calls all lie in the subtracted days, or were deleted)
      else if (holdsCalls(r, 2)) finish(key, r, 2, r[0] === null);
    }
  };
  // SQLite's GROUP BY sorts the aggregate rows in memory up to the page cache's size and spills
  // the rest to temp files (a month by user: ~250k rows, ~30 MB): a bigger cache for this query
  // keeps the sort in memory (measured ~1.5-2x on that query). The setting is per connection and
  // put back after.
  const cacheSize = Number(db.pragma("cache_size", { simple: true }));
  const bumped = cacheSize < 0 && cacheSize > -REPORT_CACHE_KIB;
  /** The report thread failed after some of its rows were used: the report runs again without it. */
  let restart = false;
  if (bumped) db.pragma(`cache_size = -${REPORT_CACHE_KIB}`);
  try {
    const aggPart = (half: Half): { sql: string; params: (string | number)[] } =>
      monthly
        ? monthlySql(monthly, userFilter, half, splitAt)
        : { sql: aggSql(half), params: half === "" ? aggParams : [...aggParams, splitAt as string] };
    if (splitAt === null || !job) {
      const all = aggPart("");
      for (const r of db
        .prepare<(string | number)[], Part>(all.sql)
        .raw()
        .iterate(...all.params))
        add(r, "");
    } else {
      const below = aggPart(BELOW);
      for (const r of db
        .prepare<(string | number)[], Part>(below.sql)
        .raw()
        .iterate(...below.params))
        add(r, BELOW);
      // the thread's half, part by part as it reads it (see startReportJob)
      const w = PART_LEN - 2;
      let parts = 0;
      for (;;) {
        const part = job.next();
        if (!part) {
          // The thread failed or died: with nothing of its half used yet this connection groups
          // that half too; past its first part, the report starts over without the thread.
          if (parts > 0) restart = true;
          else {
            const again = aggPart(ABOVE);
            for (const r of db
              .prepare<(string | number)[], Part>(again.sql)
              .raw()
              .iterate(...again.params))
              add(r, ABOVE);
          }
          break;
        }
        parts++;
        const { keys: ks, keys2, values } = part.rows;
        for (let i = 0; i < ks.length; i++) {
          const at = i * w;
          if (q.by === "user") {
            // a group no edge touched whose sums are all safe integers becomes its report row
            // straight from the buffer
            let safe = true;
            for (let j = 0; j < w; j++) if (!Number.isSafeInteger(values[at + j])) safe = false;
            const key = String(ks[i]);
            if (safe && !groups.has(key)) {
              if (holdsCalls(values, at)) finish(key, values, at, false);
              continue;
            }
          }
          const r: Part = new Array(PART_LEN);
          r[0] = ks[i] as string;
          r[1] = (keys2?.[i] ?? null) as string | null;
          for (let j = 0; j < w; j++) r[j + 2] = values[at + j] as number;
          add(r, ABOVE);
        }
        if (part.done) break;
      }
    }
  } finally {
    if (bumped) db.pragma(`cache_size = ${cacheSize}`);
  }
  if (restart) return queryUsage(db, q, { ...opts, splitMinRows: Number.POSITIVE_INFINITY });

  // ORDER BY key (by day) or ORDER BY costPico DESC, key, as SQLite orders: a NULL key first
  // (only a day past year 9999 has one), then BINARY; costs compare exactly as number/bigint.
  // (a group whose calls were all in a subtracted rest of an edge day: no calls in the range)
  for (const [key, part] of groups) if (holdsCalls(part, 2)) finish(key, part, 2, part[0] === null);
  const byKey = (a: number, b: number): number => {
    const na = nullKeys.size > 0 && nullKeys.has(a);
    const nb = nullKeys.size > 0 && nullKeys.has(b);
    return na !== nb ? (na ? -1 : 1) : compareBinary((rows[a] as UsageRow).key, (rows[b] as UsageRow).key);
  };
  const order = Array.from({ length: rows.length }, (_, i) => i);
  if (q.by === "day") order.sort(byKey);
  else
    order.sort((a, b) => {
      const ca = costs[a] as number | bigint;
      const cb = costs[b] as number | bigint;
      return ca > cb ? -1 : ca < cb ? 1 : byKey(a, b);
    });
  return order.map((i) => rows[i] as UsageRow);
}

/**
 * `queryUsage` from the raw `usage_events` rows only: a scan of every row in the range (slow at
 * millions of rows). The reference `queryUsage` is tested against, and the baseline of
 * `npm run bench:reports`.
 */
export function queryUsageRaw(db: Db, q: UsageQuery): UsageRow[] {
  const { where, params } = filterSql(q);
  if (q.sinceMs !== undefined) {
    where.push("message_ts_ms >= ?");
    params.push(q.sinceMs);
  }
  if (q.untilMs !== undefined) {
    where.push("message_ts_ms < ?");
    params.push(q.untilMs);
  }
  const ar = archivedRange(q.sinceMs, q.untilMs);
  const archivedWhere = [...filterSql(q).where, ...ar.where];
  const sums = [
    "requests",
    "errors",
    "input",
    "output",
    "cacheRead",
    "cacheWrite",
    "totalTokens",
    "costPico",
    "chargedMicros",
    "unknownModelRequests",
    "fallbackPricedRequests",
    "cacheWrite1h",
    "providerBilledRequests",
    "pbCost",
    "pbKnownCost",
    "pbTableCost",
  ];
  // The rows, plus the archived quarter hours of the range (usage_archived: rows removed by retention).
  const sql = `SELECT key, ${sums.map((c) => `SUM(${c}) AS ${c}`).join(", ")} FROM (
      SELECT ${KEY_SQL[q.by]} AS key, ${SUM_COLUMNS_SQL}
        FROM usage_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} GROUP BY key
      UNION ALL
      SELECT ${ARCHIVED_KEY_SQL[q.by]} AS key, ${DAILY_SUM_COLUMNS_SQL}
        FROM usage_archived ${archivedWhere.length ? `WHERE ${archivedWhere.join(" AND ")}` : ""} GROUP BY key)
    GROUP BY key ORDER BY ${orderSql(q.by)}`;
  return toUsageRows(
    db
      .prepare<(string | number)[], UsageGroupSqlRow>(sql)
      .safeIntegers(true)
      .all(...params, ...filterSql(q).params, ...ar.params),
  );
}

/**
 * The 16 sums of a group, in the order of {@link S}, from position `at` on: a {@link Part}
 * (`at` = 2, after its keys) or the report thread's buffer of safe integers.
 */
type Sums = Part | Float64Array;

/** The sum `i` (of {@link S}) of the sums at `at` (0 for NULL). */
function sumAt(p: Sums, at: number, i: number): number | bigint {
  const v = p[at + i] ?? 0;
  if (typeof v === "string") throw new TypeError("a sum is not an integer");
  return v;
}

/**
 * Whether the sums at `at` hold a call: any sum not 0. Not `requests` alone: a group of only a later
 * copy's difference (`usage_events.requests` 0, migration 39: its call's own row in another group
 * or range) has no request but its tokens and cost; a group whose calls all lie in a subtracted
 * part has every sum 0 (a billed row always has a token).
 */
function holdsCalls(p: Sums, at: number): boolean {
  for (let i = 0; i < PART_LEN - 2; i++) if (Number(sumAt(p, at, i)) !== 0) return true;
  return false;
}

/** One report row from a group's sums (the same conversions as `toUsageRows`). */
function toUsageRow(key: string, p: Sums, at: number): UsageRow {
  const n = (i: number) => Number(sumAt(p, at, i));
  const pico = sumAt(p, at, S.costPico);
  const pbTable = sumAt(p, at, S.pbTableCost);
  const pbKnown = sumAt(p, at, S.pbKnownCost);
  // Numbers while safe (nearly every row): no bigint conversions in a 100k-row report.
  const diff =
    typeof pbKnown === "number" && typeof pbTable === "number" && Number.isSafeInteger(pbKnown - pbTable)
      ? pbKnown - pbTable
      : BigInt(pbKnown) - BigInt(pbTable);
  return {
    key,
    requests: n(S.requests),
    errors: n(S.errors),
    input: n(S.input),
    output: n(S.output),
    cacheRead: n(S.cacheRead),
    cacheWrite: n(S.cacheWrite),
    totalTokens: n(S.totalTokens),
    costPicoUsd: String(pico),
    costMicros: typeof pico === "number" ? picoNumberToMicroUsd(pico) : Number(picoToMicroUsd(pico)),
    costUsd: formatPicoUsdSum(pico),
    chargedMicros: n(S.chargedMicros),
    unknownModelRequests: n(S.unknownModelRequests),
    fallbackPricedRequests: n(S.fallbackPricedRequests),
    cacheWrite1h: n(S.cacheWrite1h),
    providerBilledRequests: n(S.providerBilledRequests),
    providerBilledCostUsd: formatPicoUsdSum(sumAt(p, at, S.pbCost)),
    providerBilledTableCostUsd: formatPicoUsdSum(pbTable),
    providerBilledDiffUsd: formatPicoUsdSum(diff),
  };
}

function toUsageRows(rows: UsageGroupSqlRow[]): UsageRow[] {
  return rows.map((r) => {
    const pico = BigInt(r.costPico ?? 0n);
    return {
      key: String(r.key),
      requests: Number(r.requests),
      errors: Number(r.errors),
      input: Number(r.input),
      output: Number(r.output),
      cacheRead: Number(r.cacheRead),
      cacheWrite: Number(r.cacheWrite),
      totalTokens: Number(r.totalTokens),
      costPicoUsd: pico.toString(),
      costMicros: Number(picoToMicroUsd(pico)),
      costUsd: formatPicoUsd(pico),
      chargedMicros: Number(r.chargedMicros),
      unknownModelRequests: Number(r.unknownModelRequests),
      fallbackPricedRequests: Number(r.fallbackPricedRequests ?? 0),
      cacheWrite1h: Number(r.cacheWrite1h ?? 0),
      providerBilledRequests: Number(r.providerBilledRequests ?? 0),
      providerBilledCostUsd: formatPicoUsd(BigInt(r.pbCost ?? 0n)),
      providerBilledTableCostUsd: formatPicoUsd(BigInt(r.pbTableCost ?? 0n)),
      providerBilledDiffUsd: formatPicoUsd(BigInt(r.pbKnownCost ?? 0n) - BigInt(r.pbTableCost ?? 0n)),
    };
  });
}

/** The largest distance from the epoch a JavaScript Date can hold, ms (ECMA-262 TimeClip). */
const MAX_DATE_MS = 8_640_000_000_000_000;

/**
 * An ISO date-time: `YYYY-MM-DD`, `T` (or a space), `HH:MM[:SS[.fraction]]`, then an optional zone
 * (`Z`, `±HH:MM` or `±HHMM`).
 */
/**
 * Whether `YYYY-MM-DD` names a day of the calendar: `Date.parse` reads 2026-02-30 as March 2 and
 * 2026-04-31 as May 1, which would move a report's window without a word.
 */
function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split("-").map(Number) as [number, number, number];
  const at = new Date(0);
  at.setUTCFullYear(y, m - 1, d); // not Date.UTC, which reads years 0-99 as 1900-1999
  return at.getUTCFullYear() === y && at.getUTCMonth() === m - 1 && at.getUTCDate() === d;
}

const DATE_TIME_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|z|[+-]\d{2}:?\d{2})?$/;

/**
 * Why a `since` / `from` names no range, or null: `0d`, `0h`, `0m` (any number of zeros) is now, so
 * the range holds nothing and its empty answer reads as "nothing billed" (`report --last 0d` is
 * refused the same way). Said as `"0d" is now, …`, after the caller's label (`--since:`, `from:`).
 */
export function sinceIsNowProblem(text: string): string | null {
  const t = text.trim();
  return /^0+[dhm]$/.test(t) ? `"${t}" is now, an empty range: use at least 1 (1d, 12h, 30m) or today` : null;
}

/**
 * Parses `--since`/`--until`: an ISO date or date-time, `today`, or a relative `7d` / `12h` / `30m`
 * before `nowMs`. Returns epoch ms. A date is its UTC midnight and a date-time without a zone is
 * UTC too, the zone of the report's days: `Date.parse` would read it in the host's zone (`TZ`),
 * so the same command gave another window on another host (before 2026-12-03).
 * @throws RangeError when `text` is none of these, or a relative time before the Date range
 */
export function parseTimeArg(text: string, nowMs: number): number {
  const t = text.trim();
  if (t === "today") {
    const d = new Date(nowMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  }
  const rel = /^(\d+)([dhm])$/.exec(t);
  if (rel?.[1] && rel[2]) {
    const unit = rel[2] === "d" ? 86_400_000 : rel[2] === "h" ? 3_600_000 : 60_000;
    const ms = nowMs - Number(rel[1]) * unit;
    // past the Date range (±8.64e15 ms, ~273,790 years) no report can mean it: said, not a 500
    if (!(ms >= -MAX_DATE_MS)) throw new RangeError(`cannot read time "${text}": too far back`);
    return ms;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) {
    const ms = Date.parse(`${t}T00:00:00Z`);
    if (Number.isFinite(ms) && isCalendarDate(t)) return ms;
  }
  const dt = DATE_TIME_RE.exec(t);
  if (dt?.[1] && isCalendarDate(dt[1])) {
    const ms = Date.parse(`${dt[1]}T${dt[2]}${dt[3] ?? "Z"}`);
    if (Number.isFinite(ms)) return ms;
  }
  throw new RangeError(
    `cannot read time "${text}": use 2026-11-01, 2026-11-01T12:00:00Z, today, 7d, 12h or 30m`,
  );
}

/**
 * Parses the CLI's `usage --until`: as {@link parseTimeArg}, except that a date alone (`YYYY-MM-DD`,
 * or `today`) means THROUGH that day: the end is the next UTC midnight (UTC, the zone `usage`
 * reads a date in), so `--since D --until D` is day D, as `report --to D` and ccusage's
 * `--until` include D. Before 2026-12-04 it was D's midnight, which left D out (`--since D
 * --until D` was empty). A date-time or a relative time stays the exclusive instant it names.
 * The HTTP API's `to` (`GET /v1/usage`, the console's data routes) is not this: it stays
 * exclusive for a date too, the console asks for the next day itself (docs/api.md, docs/console.md).
 * @throws RangeError as {@link parseTimeArg}
 */
export function parseUntilArg(text: string, nowMs: number): number {
  const ms = parseTimeArg(text, nowMs);
  const t = text.trim();
  return t === "today" || /^\d{4}-\d{2}-\d{2}$/.test(t) ? ms + DAY_MS_UNTIL : ms;
}
/** One UTC day in ms: how far a date-only `--until` reaches past its midnight. */
const DAY_MS_UNTIL = 86_400_000;
