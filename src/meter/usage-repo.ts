import type { Db } from "../db/index.js";

/**
 * A row of `usage_events` as SQLite returns it (default integer mode: numbers). One row per
 * billed model call; `dedupe_key` is UNIQUE (see identity.ts) and `ledger_entry_id` is its debit.
 */
export interface UsageEventRow {
  id: number;
  dedupe_key: string;
  ledger_entry_id: number;
  account_id: string;
  agent_id: string;
  session_id: string | null;
  session_key: string | null;
  source: string;
  source_ref: string;
  provider: string;
  model: string;
  api: string | null;
  response_id: string | null;
  message_ts_ms: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** The part of `cache_write_tokens` written with the 1-hour TTL. */
  cache_write_1h_tokens: number;
  total_tokens: number;
  reasoning_tokens: number | null;
  stop_reason: string | null;
  /** 0 or 1. */
  is_error: number;
  error_message: string | null;
  /** The transcript's own usage.cost.total in pico-USD, for reconciliation. */
  recorded_cost_pico_usd: number | null;
  /** Exact cost used for the charge, pico-USD. */
  cost_pico_usd: number;
  /** What the override or table price would have charged, pico-USD; null when neither knows the model. */
  table_cost_pico_usd: number | null;
  charge_micro_credits: number;
  price_source: string;
  price_version: string;
  /** 0 or 1. */
  unknown_model: number;
  /** A note on the row, e.g. an implausible recorded cost that was not used. */
  anomaly: string | null;
  created_at_ms: number;
}

/**
 * What `insert` writes: every column but `id`. Pico-USD costs may be bigints (up to int64): a
 * cost past 2^53 is stored exactly.
 */
export type NewUsageEventRow = Omit<UsageEventRow, "id" | "recorded_cost_pico_usd" | "cost_pico_usd"> & {
  recorded_cost_pico_usd: bigint | number | null;
  cost_pico_usd: bigint | number;
};

const COLUMNS = [
  "dedupe_key",
  "ledger_entry_id",
  "account_id",
  "agent_id",
  "session_id",
  "session_key",
  "source",
  "source_ref",
  "provider",
  "model",
  "api",
  "response_id",
  "message_ts_ms",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "cache_write_1h_tokens",
  "total_tokens",
  "reasoning_tokens",
  "stop_reason",
  "is_error",
  "error_message",
  "recorded_cost_pico_usd",
  "cost_pico_usd",
  "table_cost_pico_usd",
  "charge_micro_credits",
  "price_source",
  "price_version",
  "unknown_model",
  "anomaly",
  "created_at_ms",
] as const satisfies readonly (keyof NewUsageEventRow)[];

/** Milliseconds in a UTC day: `usage_daily.day` is `message_ts_ms / DAY_MS` (integer division). */
export const DAY_MS = 86_400_000;
/**
 * `usage_daily` holds the rows with `0 <= message_ts_ms < AGGREGATED_UNTIL_MS` (1970-01-01 to
 * 9999-12-31 UTC, where the day key is a plain `YYYY-MM-DD`); reports read any other row raw.
 */
export const AGGREGATED_UNTIL_MS = 253_402_300_800_000;

/**
 * Adds one usage_events row (by id) to its `usage_daily` group. Read back from the row just
 * written (a rowid lookup on a hot page), so the sums use exactly the stored values, with the same
 * expressions as the migration's backfill.
 */
const ADD_TO_DAILY_SQL = `INSERT INTO usage_daily (day, account_id, agent_id, provider, model, requests, errors,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, total_tokens,
    cost_pico_usd, charge_micro_credits, unknown_model_requests, fallback_priced_requests,
    provider_billed_requests, provider_billed_cost_pico_usd, provider_billed_known_cost_pico_usd,
    provider_billed_table_cost_pico_usd)
  SELECT message_ts_ms / ${DAY_MS}, account_id, agent_id, provider, model, 1, is_error,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, total_tokens,
    cost_pico_usd, charge_micro_credits, unknown_model, CASE WHEN price_source = 'fallback' THEN 1 ELSE 0 END,
    CASE WHEN price_source = 'provider-billed' THEN 1 ELSE 0 END,
    CASE WHEN price_source = 'provider-billed' THEN cost_pico_usd ELSE 0 END,
    CASE WHEN price_source = 'provider-billed' AND table_cost_pico_usd IS NOT NULL THEN cost_pico_usd ELSE 0 END,
    CASE WHEN price_source = 'provider-billed' THEN COALESCE(table_cost_pico_usd, 0) ELSE 0 END
  FROM usage_events WHERE id = ? AND message_ts_ms >= 0 AND message_ts_ms < ${AGGREGATED_UNTIL_MS}
  ON CONFLICT (day, account_id, agent_id, provider, model) DO UPDATE SET
    requests = requests + excluded.requests,
    errors = errors + excluded.errors,
    input_tokens = input_tokens + excluded.input_tokens,
    output_tokens = output_tokens + excluded.output_tokens,
    cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
    total_tokens = total_tokens + excluded.total_tokens,
    cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
    charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits,
    unknown_model_requests = unknown_model_requests + excluded.unknown_model_requests,
    fallback_priced_requests = fallback_priced_requests + excluded.fallback_priced_requests,
    provider_billed_requests = provider_billed_requests + excluded.provider_billed_requests,
    provider_billed_cost_pico_usd = provider_billed_cost_pico_usd + excluded.provider_billed_cost_pico_usd,
    provider_billed_known_cost_pico_usd =
      provider_billed_known_cost_pico_usd + excluded.provider_billed_known_cost_pico_usd,
    provider_billed_table_cost_pico_usd =
      provider_billed_table_cost_pico_usd + excluded.provider_billed_table_cost_pico_usd`;

/**
 * The one writer of `usage_events` rows (the biller's hot path and the review queue's release).
 * Each insert also adds the row to its `usage_daily` aggregate (see `queryUsage`), in the same
 * statement sequence, so the aggregate commits or rolls back with the row. Portable SQL (SQLite and
 * PostgreSQL: comparisons counted with CASE, not as 0/1 values).
 * Synchronous; callers own the transaction, which must also hold the row's ledger debit.
 */
export function createUsageWriter(db: Db) {
  const insert = db.prepare<[NewUsageEventRow]>(
    `INSERT INTO usage_events (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`,
  );
  const addToDaily = db.prepare<[number | bigint]>(ADD_TO_DAILY_SQL);
  const write = (row: NewUsageEventRow): number => {
    const id = insert.run(row).lastInsertRowid;
    addToDaily.run(id);
    return Number(id);
  };
  const byKey = db.prepare<[string], Pick<UsageEventRow, "id">>(
    "SELECT id FROM usage_events WHERE dedupe_key = ?",
  );
  return {
    /**
     * Inserts one row (and adds it to its `usage_daily` group) and returns its id. Callers should
     * hold a transaction (with the row's debit); outside one, it opens its own.
     * @throws SqliteError SQLITE_CONSTRAINT_UNIQUE when the dedupe key is already billed.
     */
    insert(row: NewUsageEventRow): number {
      return db.inTransaction ? write(row) : db.transaction(write)(row);
    },
    /** The id of the row billed under `dedupeKey`, or null. */
    idByDedupeKey(dedupeKey: string): number | null {
      return byKey.get(dedupeKey)?.id ?? null;
    },
  };
}

export type UsageWriter = ReturnType<typeof createUsageWriter>;
