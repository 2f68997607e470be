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

/**
 * The one writer of `usage_events` rows (the biller's hot path and the review queue's release).
 * Synchronous; callers own the transaction, which must also hold the row's ledger debit.
 */
export function createUsageWriter(db: Db) {
  const insert = db.prepare<[NewUsageEventRow]>(
    `INSERT INTO usage_events (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`,
  );
  const byKey = db.prepare<[string], Pick<UsageEventRow, "id">>(
    "SELECT id FROM usage_events WHERE dedupe_key = ?",
  );
  return {
    /**
     * Inserts one row and returns its id.
     * @throws SqliteError SQLITE_CONSTRAINT_UNIQUE when the dedupe key is already billed.
     */
    insert(row: NewUsageEventRow): number {
      return Number(insert.run(row).lastInsertRowid);
    },
    /** The id of the row billed under `dedupeKey`, or null. */
    idByDedupeKey(dedupeKey: string): number | null {
      return byKey.get(dedupeKey)?.id ?? null;
    },
  };
}

export type UsageWriter = ReturnType<typeof createUsageWriter>;
