import { z } from "zod";
import type { Db } from "../db/index.js";
import { formatPicoUsd, picoToMicroUsd } from "../money.js";

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

/** Usage totals grouped by user, agent, model or UTC day (by the call's own timestamp). */
export function queryUsage(db: Db, q: UsageQuery): UsageRow[] {
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
  if (q.sinceMs !== undefined) {
    where.push("message_ts_ms >= ?");
    params.push(q.sinceMs);
  }
  if (q.untilMs !== undefined) {
    where.push("message_ts_ms < ?");
    params.push(q.untilMs);
  }
  const sql = `SELECT ${KEY_SQL[q.by]} AS key, COUNT(*) AS requests, SUM(is_error) AS errors,
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
      SUM(CASE WHEN price_source = 'provider-billed' THEN table_cost_pico_usd ELSE 0 END) AS pbTableCost
    FROM usage_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    GROUP BY key ORDER BY ${q.by === "day" ? "key" : "costPico DESC, key"}`;
  const rows = db
    .prepare<(string | number)[], UsageGroupSqlRow>(sql)
    .safeIntegers(true)
    .all(...params);
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
