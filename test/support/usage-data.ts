import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import type { NewUsageEventRow } from "../../src/meter/usage-repo.js";

/**
 * Grants `accountId` one micro-credit at `nowMs` (creating the account) and returns the ledger
 * entry's id: the entry a fixture's usage rows name as their `ledger_entry_id` (usage_events
 * needs one; the rows are written straight through the usage writer, not billed). The
 * idempotency key is `g:<accountId>` unless given.
 */
export function grantEntry(
  db: Db,
  accountId: string,
  nowMs: number,
  idempotencyKey = `g:${accountId}`,
): number {
  return grantEntries(db, [accountId], nowMs, () => idempotencyKey).get(accountId) as number;
}

/**
 * `grantEntry` for each of `accounts`, in order, on one ledger: account id to entry id. The
 * idempotency key of account `u` is `keyOf(u)` (`g:<u>` by default).
 */
export function grantEntries(
  db: Db,
  accounts: Iterable<string>,
  nowMs: number,
  keyOf: (accountId: string) => string = (u) => `g:${u}`,
): Map<string, number> {
  const ledger = createLedger(db);
  const entry = new Map<string, number>();
  for (const accountId of accounts) {
    const idempotencyKey = keyOf(accountId);
    entry.set(
      accountId,
      ledger.post({ accountId, kind: "grant", amountMicroCredits: 1n, idempotencyKey, nowMs }).entryId,
    );
  }
  return entry;
}

/** What a fixture row must say: its key, its ledger entry, whose call it is and when. */
export type UsageRowKey = Pick<
  NewUsageEventRow,
  "dedupe_key" | "ledger_entry_id" | "account_id" | "message_ts_ms"
>;

/**
 * A complete `usage_events` row for the usage writer: one successful jsonl call of agent `main`
 * to openai/gpt-5 (1 input and 1 output token, 1000 pico-USD with no table price, 1 micro-credit
 * charged, price source `table`, version `test`), with no session, cache tokens, error or
 * anomaly, from source ref `f@<dedupe_key>`, created at its `message_ts_ms`. Every field of
 * `over` replaces the default (randomized fixtures keep their own draws, in their own order, in
 * `over`); `total_tokens`, unless given, is input + output + cache read + cache write.
 */
export function usageRow(over: UsageRowKey & Partial<NewUsageEventRow>): NewUsageEventRow {
  const row: NewUsageEventRow = {
    session_id: null,
    session_key: null,
    agent_id: "main",
    source: "jsonl",
    source_ref: `f@${over.dedupe_key}`,
    provider: "openai",
    model: "gpt-5",
    api: null,
    response_id: null,
    input_tokens: 1,
    output_tokens: 1,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cache_write_1h_tokens: 0,
    total_tokens: 0,
    reasoning_tokens: null,
    stop_reason: null,
    is_error: 0,
    error_message: null,
    recorded_cost_pico_usd: null,
    cost_pico_usd: 1000n,
    table_cost_pico_usd: null,
    charge_micro_credits: 1,
    price_source: "table",
    price_version: "test",
    unknown_model: 0,
    anomaly: null,
    created_at_ms: over.message_ts_ms,
    ...over,
  };
  if (over.total_tokens === undefined)
    row.total_tokens = row.input_tokens + row.output_tokens + row.cache_read_tokens + row.cache_write_tokens;
  return row;
}
