import type { Db } from "../db/index.js";
import type { LedgerEntryFact } from "./thresholds.js";

/** How many of a window's newest calls {@link createSpendRepo}'s `usageBilledSince` looks at. */
const LATE_SCAN_ROWS = 256;

/** Read-only: the balance, window spend and new ledger entries a limit check needs. */
export function createSpendRepo(db: Db) {
  const balance = db.prepare<[string], { b: number }>(
    "SELECT balance_micro_credits AS b FROM accounts WHERE id = ?",
  );
  const spend = db.prepare<[string, number, number], { s: number | null }>(
    `SELECT SUM(charge_micro_credits) AS s FROM usage_events
      WHERE account_id = ? AND message_ts_ms >= ? AND message_ts_ms < ?`,
  );
  const newEntries = db.prepare<
    [string, number],
    { id: number; kind: string; amount: number; created_at_ms: number }
  >(
    `SELECT id, kind, amount_micro_credits AS amount, created_at_ms FROM ledger_entries
      WHERE account_id = ? AND id > ? AND (amount_micro_credits > 0 OR kind IN ('reversal', 'expiry')) ORDER BY id`,
  );
  // The newest LATE_SCAN_ROWS calls of the range only (the account/time index, newest first): a
  // call billed late sits at the end of its window, or has later calls of the same late batch
  // after it. Bounded, so a heavy user's monthly cap does not scan a month of rows per check.
  const usageAfter = db.prepare<[string, number, number, number], { m: number | null }>(
    `SELECT MAX(e) AS m FROM (SELECT ledger_entry_id AS e FROM usage_events
      WHERE account_id = ? AND message_ts_ms >= ? AND message_ts_ms < ?
      ORDER BY message_ts_ms DESC LIMIT ?) AS late`,
  );
  const maxEntry = db.prepare<[string], { m: number | null }>(
    "SELECT MAX(id) AS m FROM ledger_entries WHERE account_id = ?",
  );
  return {
    /** The account's balance in micro-credits (0 for an account never seen). */
    balanceMicroCredits(accountId: string): number {
      return balance.get(accountId)?.b ?? 0;
    },
    /** Sum of charges of calls made (`message_ts_ms`) in [startMs, endMs), micro-credits. */
    spentMicroCredits(accountId: string, startMs: number, endMs: number): number {
      return spend.get(accountId, startMs, endMs)?.s ?? 0;
    },
    /**
     * True when a call made in [startMs, endMs) was debited by a ledger entry with id >
     * `afterEntryId`: billed since the check that stored that entry id. Looks at the range's
     * newest 256 calls only.
     */
    usageBilledSince(accountId: string, afterEntryId: number, startMs: number, endMs: number): boolean {
      return (usageAfter.get(accountId, startMs, endMs, LATE_SCAN_ROWS)?.m ?? 0) > afterEntryId;
    },
    /** Credits, reversals and expiries with id > `afterEntryId`, in id order. */
    entriesSince(accountId: string, afterEntryId: number): LedgerEntryFact[] {
      return newEntries.all(accountId, afterEntryId).map((e) => ({
        id: e.id,
        kind: e.kind,
        amountMicroCredits: e.amount,
        createdAtMs: e.created_at_ms,
      }));
    },
    /** The account's newest ledger entry id (0 when none). */
    lastEntryId(accountId: string): number {
      return maxEntry.get(accountId)?.m ?? 0;
    },
  };
}
export type SpendRepo = ReturnType<typeof createSpendRepo>;
