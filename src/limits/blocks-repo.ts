import type { Db } from "../db/index.js";

/** An operator's manual block of one account. */
export interface OperatorBlock {
  reason: string;
  blockedAtMs: number;
}

/** `operator_blocks`: at most one manual block per account. */
export function createBlocksRepo(db: Db) {
  const get = db.prepare<[string], { reason: string; blocked_at_ms: number }>(
    "SELECT reason, blocked_at_ms FROM operator_blocks WHERE account_id = ?",
  );
  const put = db.prepare<[string, string, number]>(
    `INSERT INTO operator_blocks (account_id, reason, blocked_at_ms) VALUES (?, ?, ?)
     ON CONFLICT (account_id) DO UPDATE SET reason = excluded.reason`,
  );
  const del = db.prepare<[string]>("DELETE FROM operator_blocks WHERE account_id = ?");
  return {
    get(accountId: string): OperatorBlock | null {
      const b = get.get(accountId);
      return b ? { reason: b.reason, blockedAtMs: b.blocked_at_ms } : null;
    },
    /** Blocks the account; re-blocking keeps the first `blockedAtMs` (same episode) and updates the reason. */
    put(accountId: string, reason: string, nowMs: number): void {
      put.run(accountId, reason, nowMs);
    },
    remove(accountId: string): void {
      del.run(accountId);
    },
  };
}
export type BlocksRepo = ReturnType<typeof createBlocksRepo>;
