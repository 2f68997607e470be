import { z } from "zod";
import type { Db } from "../db/index.js";
import { formatPicoUsd, picoToMicroUsd } from "../money.js";
import { AGGREGATED_UNTIL_MS, DAY_MS } from "./usage-repo.js";

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

const SUM_COLUMNS_SQL = `COUNT(*) AS requests, SUM(is_error) AS errors,
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

/** Re-sums partial groups (the aggregate part and the raw edges) by key. */
const MERGE_SUM_COLUMNS_SQL = `SUM(requests) AS requests, SUM(errors) AS errors, SUM(input) AS input,
      SUM(output) AS output, SUM(cacheRead) AS cacheRead, SUM(cacheWrite) AS cacheWrite,
      SUM(totalTokens) AS totalTokens, SUM(costPico) AS costPico, SUM(chargedMicros) AS chargedMicros,
      SUM(unknownModelRequests) AS unknownModelRequests, SUM(fallbackPricedRequests) AS fallbackPricedRequests,
      SUM(cacheWrite1h) AS cacheWrite1h, SUM(providerBilledRequests) AS providerBilledRequests,
      SUM(pbCost) AS pbCost, SUM(pbKnownCost) AS pbKnownCost, SUM(pbTableCost) AS pbTableCost`;

/**
 * Group keys of the aggregate and edge subqueries (`k1, k2`) and the report key the outer query
 * makes of them. Cheap inner keys: the day number, not its text, and provider and model apart (the
 * outer query formats the few groups). Unary `+` (a no-op on the value) keeps SQLite from walking
 * the whole account index to get groups in order, instead of searching the time range.
 */
const INNER_KEY_SQL: Record<GroupBy, { daily: string; raw: string; outer: string }> = {
  user: { daily: "+account_id AS k1, NULL AS k2", raw: "+account_id AS k1, NULL AS k2", outer: "k1" },
  agent: { daily: "+agent_id AS k1, NULL AS k2", raw: "+agent_id AS k1, NULL AS k2", outer: "k1" },
  model: {
    daily: "provider AS k1, model AS k2",
    raw: "provider AS k1, model AS k2",
    outer: "k1 || '/' || k2",
  },
  day: {
    daily: "day AS k1, NULL AS k2",
    raw: `${KEY_SQL.day} AS k1, NULL AS k2`,
    outer: `CASE WHEN typeof(k1) = 'integer' THEN strftime('%Y-%m-%d', k1 * 86400, 'unixepoch') ELSE k1 END`,
  },
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
    params.push(q.agent);
  }
  if (q.model) {
    where.push("(provider || '/' || model = ? OR model = ?)");
    params.push(q.model, q.model);
  }
  return { where, params };
}

const orderSql = (by: GroupBy) => (by === "day" ? "key" : "costPico DESC, key");

/**
 * Usage totals grouped by user, agent, model or UTC day (by the call's own timestamp), over
 * `[sinceMs, untilMs)` (either end open when undefined).
 *
 * Whole UTC days inside the range are read from `usage_daily` (kept by the usage writer in the same
 * transaction as the rows); the partial days at the edges, and rows outside the aggregated span
 * (`AGGREGATED_UNTIL_MS`), from `usage_events`. The answer is identical to `queryUsageRaw`'s.
 */
export function queryUsage(db: Db, q: UsageQuery): UsageRow[] {
  // Whole days [firstDay, endDay) fully inside the range, within the aggregated span.
  const since = Math.max(q.sinceMs ?? 0, 0);
  const until = Math.min(q.untilMs ?? AGGREGATED_UNTIL_MS, AGGREGATED_UNTIL_MS);
  const firstDay = Math.ceil(since / DAY_MS);
  const endDay = Math.floor(until / DAY_MS);
  if (!(firstDay < endDay)) return queryUsageRaw(db, q);
  const { where, params } = filterSql(q);
  const aggWhere = [...where, "day >= ?", "day < ?"];
  const aggParams = [...params, firstDay, endDay];
  // Raw edges [sinceMs, firstDay) and [endDay, untilMs): one subquery each (so each uses an index).
  const keys = INNER_KEY_SQL[q.by];
  const parts = [
    `SELECT ${keys.daily}, ${DAILY_SUM_COLUMNS_SQL}
        FROM usage_daily WHERE ${aggWhere.join(" AND ")} GROUP BY k1, k2`,
  ];
  const allParams: (string | number)[] = [...aggParams];
  for (const [lo, hi] of [
    [q.sinceMs, firstDay * DAY_MS],
    [endDay * DAY_MS, q.untilMs],
  ] as const) {
    if (lo !== undefined && hi !== undefined && lo >= hi) continue;
    const edge = [...where];
    allParams.push(...params);
    if (lo !== undefined) {
      edge.push("message_ts_ms >= ?");
      allParams.push(lo);
    }
    if (hi !== undefined) {
      edge.push("message_ts_ms < ?");
      allParams.push(hi);
    }
    parts.push(`SELECT ${keys.raw}, ${SUM_COLUMNS_SQL}
        FROM usage_events WHERE ${edge.join(" AND ")} GROUP BY k1, k2`);
  }
  const sql = `SELECT ${keys.outer} AS key, ${MERGE_SUM_COLUMNS_SQL} FROM (${parts.join(" UNION ALL ")})
    GROUP BY key ORDER BY ${orderSql(q.by)}`;
  return toUsageRows(
    db
      .prepare<(string | number)[], UsageGroupSqlRow>(sql)
      .safeIntegers(true)
      .all(...allParams),
  );
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
  const sql = `SELECT ${KEY_SQL[q.by]} AS key, ${SUM_COLUMNS_SQL}
    FROM usage_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    GROUP BY key ORDER BY ${orderSql(q.by)}`;
  return toUsageRows(
    db
      .prepare<(string | number)[], UsageGroupSqlRow>(sql)
      .safeIntegers(true)
      .all(...params),
  );
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

/** Parses `--since`/`--until`: an ISO date or date-time, `today`, or a relative `7d` / `12h` / `30m`. */
export function parseTimeArg(text: string, nowMs: number): number {
  const t = text.trim();
  if (t === "today") {
    const d = new Date(nowMs);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  }
  const rel = /^(\d+)([dhm])$/.exec(t);
  if (rel?.[1] && rel[2]) {
    const unit = rel[2] === "d" ? 86_400_000 : rel[2] === "h" ? 3_600_000 : 60_000;
    return nowMs - Number(rel[1]) * unit;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const ms = Date.parse(t.length === 10 ? `${t}T00:00:00Z` : t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new RangeError(
    `cannot read time "${text}": use 2026-11-01, 2026-11-01T12:00:00Z, today, 7d, 12h or 30m`,
  );
}
