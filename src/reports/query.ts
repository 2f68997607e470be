/**
 * `creditgate report` / `GET /v1/reports`: usage totals over a range, grouped by any of
 * {@link REPORT_DIMS} (several at once: one row per combination), from one query path.
 *
 * Where the numbers come from (README "Reports"): whole UTC days are read from `usage_daily` (the
 * same aggregate `creditgate usage` reads, kept by the usage writer) when every asked dimension and
 * filter is one of its columns (agent, model, provider, user); the partial days at the edges, and
 * anything grouped or filtered by `session` or `kind` (not aggregated), from `usage_events`. A
 * day/week/month bucket in a zone other than UTC does not line up with UTC days: each bucket is
 * queried on its own `[start, end)`, so its whole UTC days still come from `usage_daily` and only
 * the hours before/after them from raw rows (a local day in UTC-3 is read raw; a local month is
 * ~29 aggregated days plus two raw edges). The answer is identical to a scan of the raw rows
 * (test/reports/report.test.ts).
 */

import { normalizeAgentId } from "../agent-id.js";
import type { Db } from "../db/index.js";
import type { Period } from "../limits/index.js";
import { AGGREGATED_UNTIL_MS, DAY_MS, nearestDaySplit, splitUtcDays } from "../meter/index.js";
import { formatPicoUsd, microCreditsToPicoUsd, type Ratio } from "../money.js";
import { InputError } from "./input-error.js";
import { SESSION_KIND_SQL, SESSION_KINDS, type SessionKind } from "./kind.js";
import { bucketsOf, type TimeRange } from "./range.js";

/** What a report can be grouped by. `day`/`week`/`month` are calendar buckets in the zone. */
export const REPORT_DIMS = [
  "day",
  "week",
  "month",
  "agent",
  "model",
  "provider",
  "user",
  "session",
  "kind",
] as const;
/** One of {@link REPORT_DIMS}. */
export type ReportDim = (typeof REPORT_DIMS)[number];
const TIME_DIMS: readonly ReportDim[] = ["day", "week", "month"];

/** Filters; each narrows the rows (AND). `model` matches `provider/model` or the bare model. */
export interface ReportFilters {
  agent?: string | undefined;
  model?: string | undefined;
  provider?: string | undefined;
  user?: string | undefined;
  kind?: SessionKind | undefined;
}

export interface ReportQuery {
  range: TimeRange;
  /** IANA zone of the day/week/month buckets (`CREDITGATE_TIMEZONE`). */
  timeZone: string;
  /** Grouping, in column order; at most one of day/week/month; empty: one total row. */
  by: readonly ReportDim[];
  filters?: ReportFilters;
  /** Keep the N costliest groups (of the non-time dimensions, over the whole range). */
  top?: number | undefined;
  /** Credits per USD (`CREDITGATE_CREDITS_PER_USD`), to value the charges for the margin. */
  creditsPerUsd: Ratio;
  /**
   * Compute the latency columns (a read of the raw rows with a latency in the range, whatever the
   * grouping); false leaves them null and keeps whole UTC days on the aggregate. @defaultValue true
   */
  latency?: boolean | undefined;
  /**
   * A table of archived rows (usage_events' columns, e.g. `loadArchiveRows` of src/retention) to
   * read INSTEAD of the `usage_archived` rollup: `report --archive DIR`, exact to the row
   * (sessions, any range edge). Absent: archived time is read from the rollup.
   */
  archiveTable?: string | undefined;
}

/** One report row: its group and its totals. Money as exact decimal strings (no floats). */
export interface ReportRow {
  /** The value of each `by` dimension (e.g. `{day: "2026-03-08", kind: "dm"}`); `{}` for totals. */
  group: Partial<Record<ReportDim, string>>;
  requests: number;
  errors: number;
  /**
   * `(requests − errors) / requests` in percent, 1 decimal half-up, but never 100.0 with an error
   * nor 0.0 with a success ({@link successTenths}); null without requests.
   */
  successRatePct: number | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  totalTokens: number;
  /** Provider cost, exact pico-USD (decimal string) and USD. */
  costPicoUsd: string;
  costUsd: string;
  /**
   * What the users were charged (micro-credits) and its USD value: each charge at the credit rate
   * it was made at (migration 42), a charge billed before at today's rate.
   */
  chargedMicroCredits: number;
  /** null when charges of unknown rate meet a `CREDITGATE_CREDITS_PER_USD` of 0. */
  chargedUsd: string | null;
  /** chargedUsd − costUsd (exact to the pico-USD); null when chargedUsd is. */
  marginUsd: string | null;
  /**
   * Model latency (user message to assistant reply, docs/reports.md "Latency"), ms, over the rows
   * of the group that have one (`usage_events.latency_ms`): the mean rounded to a whole ms, and
   * the 95th percentile by nearest rank. Null when no row of the group has a latency.
   */
  avgLatencyMs: number | null;
  p95LatencyMs: number | null;
  /** Rows of the group with a latency (the sample behind avg/p95). */
  latencySamples: number;
}

export interface Report {
  fromMs: number;
  toMs: number;
  timeZone: string;
  by: ReportDim[];
  rows: ReportRow[];
  /** Every row of the range (also those `top` left out). */
  totals: ReportRow;
}

/**
 * Width of a `usage_archived` bucket (a UTC quarter hour, `message_ts_ms / 900000`): archived
 * rows are counted in a range by the start of their quarter hour. Every time zone's offset in use
 * is a multiple of 15 minutes, so local days, weeks and months are whole buckets.
 */
export const ARCHIVED_BUCKET_MS = 900_000;
/** The session of archived rows in reports read from the rollup (the session key is not kept). */
export const ARCHIVED_SESSION = "(archived)";

/**
 * SQL of a non-time dimension over `usage_events` and (null: not aggregated) `usage_daily`. The
 * unary `+` (a no-op on the value, as in meter/report.ts) keeps SQLite from walking a whole
 * `(account_id, …)` index to get groups in order instead of searching the time range.
 */
const DIM_SQL: Record<
  Exclude<ReportDim, "day" | "week" | "month">,
  { raw: string; daily: string | null; archived: string }
> = {
  agent: { raw: "+agent_id", daily: "+agent_id", archived: "agent_id" },
  model: {
    raw: "provider || '/' || model",
    daily: "provider || '/' || model",
    archived: "provider || '/' || model",
  },
  provider: { raw: "+provider", daily: "+provider", archived: "provider" },
  user: { raw: "+account_id", daily: "+account_id", archived: "account_id" },
  session: {
    raw: "COALESCE(session_key, 'session:' || session_id, '(none)')",
    daily: null,
    archived: `'${ARCHIVED_SESSION}'`,
  },
  kind: { raw: SESSION_KIND_SQL, daily: null, archived: "kind" },
};

const RAW_SUMS = `SUM(requests) AS requests, SUM(is_error) AS errors, SUM(input_tokens) AS input,
  SUM(output_tokens) AS output, SUM(cache_read_tokens) AS cacheRead, SUM(cache_write_tokens) AS cacheWrite,
  SUM(total_tokens) AS totalTokens, SUM(cost_pico_usd) AS costPico, SUM(charge_micro_credits) AS charged,
  SUM(COALESCE(charge_pico_usd, 0)) AS chargePico,
  SUM(CASE WHEN charge_pico_usd IS NULL THEN 0 ELSE charge_micro_credits END) AS rated`;
const DAILY_SUMS = `SUM(requests) AS requests, SUM(errors) AS errors, SUM(input_tokens) AS input,
  SUM(output_tokens) AS output, SUM(cache_read_tokens) AS cacheRead, SUM(cache_write_tokens) AS cacheWrite,
  SUM(total_tokens) AS totalTokens, SUM(cost_pico_usd) AS costPico, SUM(charge_micro_credits) AS charged,
  SUM(charge_pico_usd) AS chargePico, SUM(rated_charge_micro_credits) AS rated`;
/**
 * Sums: `chargePico` is the USD value (pico) of the charges made since migration 42, each at the
 * credit rate it was charged at; `rated` the micro-credits it values. The rest of `charged`
 * (rows billed before, rate unknown) is valued at today's rate ({@link chargedPicoUsd}).
 */
const SUM_NAMES = [
  "requests",
  "errors",
  "input",
  "output",
  "cacheRead",
  "cacheWrite",
  "totalTokens",
  "costPico",
  "charged",
  "chargePico",
  "rated",
] as const;
type Sums = Record<(typeof SUM_NAMES)[number], bigint>;
const zeroSums = (): Sums => Object.fromEntries(SUM_NAMES.map((n) => [n, 0n])) as Sums;
function addSums(into: Sums, from: Partial<Record<string, unknown>>): void {
  for (const n of SUM_NAMES) into[n] += BigInt((from[n] as bigint | number | null | undefined) ?? 0n);
}

type KeyDim = keyof typeof DIM_SQL;

/**
 * The provider filter: OpenClaw's provider ids are case-insensitive (it lower-cases them, and so
 * does pricing), but rows keep the provider as written (a pushed `OpenAI`, a transcript's `Mock`):
 * an exact match left those calls out of `--provider openai` and of a provider budget's spend.
 * Compared in lower case with a lower-cased value.
 */
const PROVIDER_FILTER_SQL = "lower(provider) = ?";

/**
 * The model filter (`provider/model` or the bare model): model ids are priced case-insensitively,
 * but rows keep them as written (a pushed `GPT-4o`, a proxy's `Claude-Sonnet-4-5`): before
 * 2026-12-04 `--model gpt-4o` left those calls out. Compared in lower case with a lower-cased value.
 */
const MODEL_FILTER_SQL = "(lower(provider || '/' || model) = ? OR lower(model) = ?)";

/** The raw-row WHERE terms (and their values) of the filters. */
function rawFilters(f: ReportFilters): { where: string[]; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, ...values: string[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (f.user !== undefined) add("account_id = ?", f.user);
  if (f.agent !== undefined) add("agent_id = ?", normalizeAgentId(f.agent));
  if (f.provider !== undefined) add(PROVIDER_FILTER_SQL, f.provider.toLowerCase());
  if (f.model !== undefined) add(MODEL_FILTER_SQL, f.model.toLowerCase(), f.model.toLowerCase());
  if (f.kind !== undefined) add(`${SESSION_KIND_SQL} = ?`, f.kind);
  return { where, params };
}

/**
 * The latencies (ms) of the raw rows of `[lo, hi)` that have one, by `dims` (non-time), keyed like
 * `sumGroups`. Latency is not aggregated in usage_daily: always read raw (indexed by time).
 */
function latencyGroups(
  db: Db,
  lo: number,
  hi: number,
  dims: readonly KeyDim[],
  f: ReportFilters,
  archiveTable?: string,
): Map<string, number[]> {
  const out = new Map<string, number[]>();
  if (!(lo < hi)) return out;
  const { where, params } = rawFilters(f);
  const select = dims.map((d, i) => `${DIM_SQL[d].raw} AS d${i}, `).join("");
  // Archived rows are gone from usage_events; with --archive their files' rows (which keep
  // latency_ms) are read too. The usage_archived rollup has no latency.
  const rows: unknown[][] = [];
  for (const table of archiveTable ? ["usage_events", archiveTable] : ["usage_events"])
    rows.push(
      ...(db
        .prepare<(string | number)[], Record<string, unknown>>(
          `SELECT ${select}latency_ms AS l FROM ${table}
           WHERE ${[...where, "message_ts_ms >= ?", "message_ts_ms < ?", "latency_ms IS NOT NULL"].join(" AND ")}`,
        )
        .raw(true)
        .all(...params, lo, hi) as unknown as unknown[][]),
    );
  for (const r of rows) {
    const key = JSON.stringify(dims.map((_, i) => String(r[i])));
    const l = Number(r[dims.length]);
    const list = out.get(key);
    if (list) list.push(l);
    else out.set(key, [l]);
  }
  return out;
}

/** Mean (rounded half-up to a whole ms) and nearest-rank 95th percentile of `values` (sorted here). */
export function latencyStats(values: number[]): { avg: number | null; p95: number | null } {
  if (values.length === 0) return { avg: null, p95: null };
  values.sort((a, b) => a - b);
  let sum = 0;
  for (const v of values) sum += v;
  const p95 = values[Math.ceil(0.95 * values.length) - 1] as number;
  return { avg: Math.round(sum / values.length), p95 };
}

/** Group sums of `[lo, hi)` by `dims` (non-time), keyed by the JSON of the dimension values. */
function sumGroups(
  db: Db,
  lo: number,
  hi: number,
  dims: readonly KeyDim[],
  f: ReportFilters,
  archiveTable?: string,
): Map<string, Sums> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, ...values: string[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (f.user !== undefined) add("account_id = ?", f.user);
  if (f.agent !== undefined) add("agent_id = ?", normalizeAgentId(f.agent));
  if (f.provider !== undefined) add(PROVIDER_FILTER_SQL, f.provider.toLowerCase());
  if (f.model !== undefined) add(MODEL_FILTER_SQL, f.model.toLowerCase(), f.model.toLowerCase());
  const rawOnly = needsRaw(dims, f);
  const rawWhere = [...where];
  const rawParams = [...params];
  if (f.kind !== undefined) {
    rawWhere.push(`${SESSION_KIND_SQL} = ?`);
    rawParams.push(f.kind);
  }
  const select = (table: "raw" | "daily" | "archived") =>
    dims.length ? `${dims.map((d, i) => `${DIM_SQL[d][table]} AS d${i}`).join(", ")}, ` : "";
  const groupBy = dims.length ? `GROUP BY ${dims.map((_, i) => `d${i}`).join(", ")}` : "";
  const out = new Map<string, Sums>();
  const take = (rows: Record<string, unknown>[], into = out) => {
    for (const r of rows) {
      // no call (an empty group, all NULL); a later copy's difference alone has 0 requests but sums
      if (SUM_NAMES.every((n) => BigInt((r[n] as bigint | number | null) ?? 0n) === 0n)) continue;
      const key = JSON.stringify(dims.map((_, i) => String(r[`d${i}`])));
      const s = into.get(key) ?? zeroSums();
      into.set(key, s);
      addSums(s, r);
    }
  };
  const archivedWhere = [...where];
  const archivedParams = [...params];
  if (f.kind !== undefined) {
    archivedWhere.push("kind = ?");
    archivedParams.push(f.kind);
  }
  /** Rows of [a, b): usage_events, plus archived rows (the given table, else the quarter-hour rollup). */
  const raw = (a: number, b: number, into = out) => {
    if (!(a < b)) return;
    for (const table of ["usage_events", ...(archiveTable ? [archiveTable] : [])])
      take(
        db
          .prepare<(string | number)[], Record<string, unknown>>(
            `SELECT ${select("raw")}${RAW_SUMS} FROM ${table}
             WHERE ${[...rawWhere, "message_ts_ms >= ?", "message_ts_ms < ?"].join(" AND ")} ${groupBy}`,
          )
          .safeIntegers(true)
          .all(...rawParams, a, b),
        into,
      );
    if (archiveTable) return;
    take(
      db
        .prepare<(string | number)[], Record<string, unknown>>(
          `SELECT ${select("archived")}${DAILY_SUMS} FROM usage_archived
           WHERE ${[...archivedWhere, "bucket >= ?", "bucket < ?"].join(" AND ")} ${groupBy}`,
        )
        .safeIntegers(true)
        .all(...archivedParams, Math.ceil(a / ARCHIVED_BUCKET_MS), Math.ceil(b / ARCHIVED_BUCKET_MS)),
      into,
    );
  };
  // Whole UTC days from usage_daily, raw edges: the same split as queryUsage (meter
  // splitUtcDays; an edge over most of its day is that day minus the raw rest, nearestDaySplit).
  const whole = rawOnly ? null : splitUtcDays(lo, hi);
  if (!whole) {
    raw(lo, hi);
    return out;
  }
  const split = nearestDaySplit(whole);
  const read = () => {
    out.clear(); // (PostgreSQL may run a transaction again)
    take(
      db
        .prepare<(string | number)[], Record<string, unknown>>(
          `SELECT ${select("daily")}${DAILY_SUMS} FROM usage_daily
           WHERE ${[...where, "day >= ?", "day < ?"].join(" AND ")} ${groupBy}`,
        )
        .safeIntegers(true)
        .all(...params, split.firstDay, split.endDay),
    );
    for (const e of split.edges) if (e.sign === 1) raw(e.lo ?? lo, e.hi ?? hi);
    for (const e of split.edges)
      if (e.sign === -1) {
        const rest = new Map<string, Sums>();
        raw(e.lo ?? lo, e.hi ?? hi, rest);
        subtractGroups(out, rest);
      }
  };
  // An edge day and its subtracted rest in one snapshot: a call committed between the two reads
  // (outside the range) would otherwise be subtracted from a day that does not hold it.
  if (split.edges.some((e) => e.sign === -1)) db.transaction(read)();
  else read();
  return out;
}

/** Whether a grouping/filter can be read from `usage_daily` at all (session and kind cannot). */
const needsRaw = (dims: readonly KeyDim[], f: ReportFilters) =>
  f.kind !== undefined || dims.some((d) => DIM_SQL[d].daily === null);

/**
 * `into` −= `from`, group by group (exact: integer sums); groups left with no call (every sum 0;
 * not requests alone: a later copy's difference is a row of 0 requests) are dropped.
 */
function subtractGroups(into: Map<string, Sums>, from: Map<string, Sums>): void {
  for (const [key, s] of from) {
    const t = into.get(key) ?? zeroSums();
    for (const n of SUM_NAMES) t[n] -= s[n];
    if (SUM_NAMES.every((n) => t[n] === 0n)) into.delete(key);
    else into.set(key, t);
  }
}

function addGroups(into: Map<string, Sums>, from: Map<string, Sums>): void {
  for (const [key, s] of from) {
    const t = into.get(key) ?? zeroSums();
    addSums(t, s);
    into.set(key, t);
  }
}

/**
 * Group sums of local-time buckets (a non-UTC zone's days) without reading whole days raw: each
 * bucket is the UTC day it overlaps most (from `usage_daily`) plus the raw part before/after it
 * and minus the raw part of that UTC day outside the bucket. The raw parts are the hours between
 * a local midnight and the nearest UTC midnight (New York: 4-5 h, Madrid: 1-2 h, at most 12 h),
 * and the part at a boundary between two buckets is read once and used by both. Exact (integer
 * sums). A bucket is read raw when that is fewer hours (short edge buckets) or its UTC day is
 * outside the aggregated span. Must not be used when `needsRaw`.
 */
function localBucketSums(
  db: Db,
  buckets: readonly { startMs: number; endMs: number }[],
  dims: readonly KeyDim[],
  f: ReportFilters,
  archiveTable?: string,
): Map<string, Sums>[] {
  const parts = new Map<string, Map<string, Sums>>();
  const rawPart = (a: number, b: number) => {
    const key = `${a}:${b}`;
    let m = parts.get(key);
    if (!m) {
      m = sumGroups(db, a, b, dims, f, archiveTable); // shorter than a day: raw rows only
      parts.set(key, m);
    }
    return m;
  };
  return buckets.map(({ startMs: lo, endMs: hi }) => {
    const day = Math.floor((lo + (hi - lo) / 2) / DAY_MS);
    const m0 = day * DAY_MS;
    const m1 = m0 + DAY_MS;
    const rawMs = Math.abs(lo - m0) + Math.abs(hi - m1);
    if (m0 < 0 || m1 > AGGREGATED_UNTIL_MS || rawMs >= hi - lo)
      return sumGroups(db, lo, hi, dims, f, archiveTable);
    const sums = sumGroups(db, m0, m1, dims, f, archiveTable); // one whole UTC day: usage_daily
    if (lo < m0) addGroups(sums, rawPart(lo, m0));
    else if (lo > m0) subtractGroups(sums, rawPart(m0, lo));
    if (hi > m1) addGroups(sums, rawPart(m1, hi));
    else if (hi < m1) subtractGroups(sums, rawPart(hi, m1));
    return sums;
  });
}

/**
 * The success rate in tenths of a percent (0–1000), rounded half-up but never to an end it has not
 * reached: with any error it is at most 999 (99.9 %), with any success at least 1 (0.1 %). Plain
 * half-up showed 1,999 ok of 2,000 as 100.0 % beside an error (before 2026-12-04;
 * cloudnative-pg/ciclops#15 and arras-energy/gridlabd#369 report the same fault); 2 of 3 stays 66.7. Integer arithmetic:
 * exact below 4.5·10^12 requests. `requests` must be > 0.
 */
export function successTenths(requests: number, errors: number): number {
  const ok = requests - errors;
  const tenths = Math.floor((2000 * ok + requests) / (2 * requests));
  if (errors > 0 && tenths > 999) return 999;
  if (ok > 0 && tenths < 1) return 1;
  return tenths;
}

/**
 * What the charges of `s` were worth in USD (pico): each charge at the credit rate it was made at
 * (`charge_pico_usd`, recorded when billed), and only the charges billed before migration 42 (no
 * rate recorded) at today's `creditsPerUsd`. Before 2026-12-04 every charge was valued at today's
 * rate: calls billed at 1 credit per USD (margin 0) showed a margin of −99 % of their cost once
 * the rate was raised to 100. Null when unrated charges meet a rate of 0.
 */
function chargedPicoUsd(s: Sums, creditsPerUsd: Ratio): bigint | null {
  const unrated = s.charged - s.rated;
  if (unrated === 0n) return s.chargePico;
  const rest = microCreditsToPicoUsd(unrated, creditsPerUsd);
  return rest === null ? null : s.chargePico + rest;
}

function toRow(
  group: ReportRow["group"],
  s: Sums,
  creditsPerUsd: Ratio,
  latencies: number[] = [],
): ReportRow {
  const lat = latencyStats(latencies);
  const chargedPico = chargedPicoUsd(s, creditsPerUsd);
  const requests = Number(s.requests);
  return {
    group,
    requests,
    errors: Number(s.errors),
    successRatePct: requests > 0 ? successTenths(requests, Number(s.errors)) / 10 : null,
    inputTokens: Number(s.input),
    outputTokens: Number(s.output),
    cacheReadTokens: Number(s.cacheRead),
    cacheWriteTokens: Number(s.cacheWrite),
    totalTokens: Number(s.totalTokens),
    costPicoUsd: s.costPico.toString(),
    costUsd: formatPicoUsd(s.costPico),
    chargedMicroCredits: Number(s.charged),
    chargedUsd: chargedPico === null ? null : formatPicoUsd(chargedPico),
    marginUsd: chargedPico === null ? null : formatPicoUsd(chargedPico - s.costPico),
    avgLatencyMs: lat.avg,
    p95LatencyMs: lat.p95,
    latencySamples: latencies.length,
  };
}

/**
 * `range` with its end moved to just after the latest call stamped in `[toMs, openUntilMs)` when
 * no end was asked (`TimeRange.openUntilMs`): a call stamped ahead of this clock (the bot host's
 * clock runs ahead) is billed and counted by `creditgate usage --since`, a budget's spend and the
 * balance, so `report --today` / `--last` / `--from` without `--to` count it too. Before
 * 2026-12-04 the range ended at now and left it out until its time came.
 */
function withLaterCalls(db: Db, range: TimeRange): TimeRange {
  const until = range.openUntilMs;
  if (until === undefined || !(until > range.toMs)) return range;
  const r = db
    .prepare<[number, number], { m: bigint | number | null }>(
      "SELECT MAX(message_ts_ms) AS m FROM usage_events WHERE message_ts_ms >= ? AND message_ts_ms < ?",
    )
    .safeIntegers(true)
    .get(range.toMs, until);
  const latest = r?.m === null || r?.m === undefined ? null : Number(r.m);
  return latest === null ? range : { ...range, toMs: latest + 1 };
}

/**
 * Runs a report. Pure read (one SQLite connection, no writes).
 * @throws RangeError for more than one time dimension, a repeated dimension, an unknown kind, or
 *   a range of more buckets than `MAX_BUCKETS`.
 */
export function runReport(db: Db, q: ReportQuery): Report {
  const by = [...q.by];
  if (new Set(by).size !== by.length) throw new InputError((n) => `${n("by")}: a dimension is repeated`);
  const timeDims = by.filter((d) => TIME_DIMS.includes(d));
  if (timeDims.length > 1) throw new InputError((n) => `${n("by")}: use at most one of day, week, month`);
  const f = q.filters ?? {};
  if (f.kind !== undefined && !SESSION_KINDS.includes(f.kind))
    throw new InputError((n) => `${n("kind")}: must be one of ${SESSION_KINDS.join(", ")}`);
  const timeDim = timeDims[0] as Period | undefined;
  const keyDims = by.filter((d): d is KeyDim => !TIME_DIMS.includes(d));
  const range = withLaterCalls(db, q.range);
  const buckets = timeDim
    ? bucketsOf(timeDim, range, q.timeZone)
    : [{ startMs: range.fromMs, endMs: range.toMs, label: "" }];

  // Every (bucket, group) with its sums, and the cost of each group over the whole range (for --top).
  const cells: { bucket: string; values: string[]; sums: Sums; latencies: number[] }[] = [];
  const groupCost = new Map<string, bigint>();
  const totals = zeroSums();
  const allLatencies: number[] = [];
  // Local days not aligned with UTC days: UTC-day aggregates ± the raw hours between midnights.
  const local =
    timeDim === "day" && !needsRaw(keyDims, f)
      ? // one snapshot: a bucket is a UTC day ± raw hours read apart (a call committed between
        // a day and its subtracted hours, outside the bucket, would otherwise count as -1)
        db.transaction(() => localBucketSums(db, buckets, keyDims, f, q.archiveTable))()
      : null;
  for (const [i, b] of buckets.entries()) {
    const lat =
      q.latency === false ? null : latencyGroups(db, b.startMs, b.endMs, keyDims, f, q.archiveTable);
    for (const [key, sums] of local?.[i] ?? sumGroups(db, b.startMs, b.endMs, keyDims, f, q.archiveTable)) {
      const values = JSON.parse(key) as string[];
      const latencies = lat?.get(key) ?? [];
      for (const l of latencies) allLatencies.push(l);
      cells.push({ bucket: b.label, values, sums, latencies });
      const rankKey = keyDims.length ? key : b.label;
      groupCost.set(rankKey, (groupCost.get(rankKey) ?? 0n) + sums.costPico);
      addSums(totals, sums);
    }
  }
  let kept = cells;
  if (q.top !== undefined) {
    const ranked = [...groupCost.entries()]
      .sort((a, b) => (a[1] === b[1] ? (a[0] < b[0] ? -1 : 1) : a[1] > b[1] ? -1 : 1))
      .slice(0, q.top)
      .map(([k]) => k);
    const keep = new Set(ranked);
    kept = cells.filter((c) => keep.has(keyDims.length ? JSON.stringify(c.values) : c.bucket));
  }
  kept.sort((a, b) => {
    if (a.bucket !== b.bucket) return a.bucket < b.bucket ? -1 : 1;
    if (a.sums.costPico !== b.sums.costPico) return a.sums.costPico > b.sums.costPico ? -1 : 1;
    const ka = a.values.join("\u0000");
    const kb = b.values.join("\u0000");
    return ka === kb ? 0 : ka < kb ? -1 : 1;
  });
  const rows = kept.map((c) => {
    const group: ReportRow["group"] = {};
    for (const d of by) {
      group[d] = TIME_DIMS.includes(d) ? c.bucket : (c.values[keyDims.indexOf(d as KeyDim)] ?? "");
    }
    return toRow(group, c.sums, q.creditsPerUsd, c.latencies);
  });
  return {
    fromMs: range.fromMs,
    toMs: range.toMs,
    timeZone: q.timeZone,
    by,
    rows,
    totals: toRow({}, totals, q.creditsPerUsd, allLatencies),
  };
}
