import type { Db } from "../db/index.js";
import type { BlockReason, WindowUse } from "./decide.js";
import { type Headroom, NO_HEADROOM } from "./headroom.js";

/** What `GET /v1/users/:id/status` and the plugin read. */
export interface UserStatus {
  accountId: string;
  allowed: boolean;
  reason: BlockReason | null;
  liftsAtMs: number | null;
  balanceMicroCredits: number;
  /** The pre-call headroom this status was decided with. */
  headroom: Headroom;
  windows: WindowUse[];
  updatedAtMs: number;
}

/** One `user_status` row as stored: the status plus what the next check continues from. */
export interface StoredStatus {
  status: UserStatus;
  /** False for a row stored before migration 15 (no headroom recorded): readers re-evaluate it. */
  hasHeadroom: boolean;
  /** Identifies the block episode (alert dedupe); null while allowed. */
  blockKey: string | null;
  /** The earliest window end: when the rollover scan re-checks; null without caps. */
  nextResetAtMs: number | null;
  /** The newest ledger entry seen by the check that wrote this row. */
  lastEntryId: number;
  fundEntryId: number;
  fundMicroCredits: number;
}

interface StatusRow {
  account_id: string;
  allowed: number;
  reason: string | null;
  block_key: string | null;
  lifts_at_ms: number | null;
  balance_micro_credits: number;
  windows: string;
  headroom: string | null;
  next_reset_at_ms: number | null;
  last_entry_id: number;
  fund_entry_id: number;
  fund_micro_credits: number;
  updated_at_ms: number;
}

function fromRow(r: StatusRow): StoredStatus {
  return {
    status: {
      accountId: r.account_id,
      allowed: r.allowed === 1,
      reason: r.reason as BlockReason | null,
      liftsAtMs: r.lifts_at_ms,
      balanceMicroCredits: r.balance_micro_credits,
      headroom: r.headroom === null ? NO_HEADROOM : (JSON.parse(r.headroom) as Headroom),
      windows: JSON.parse(r.windows) as WindowUse[],
      updatedAtMs: r.updated_at_ms,
    },
    hasHeadroom: r.headroom !== null,
    blockKey: r.block_key,
    nextResetAtMs: r.next_reset_at_ms,
    lastEntryId: r.last_entry_id,
    fundEntryId: r.fund_entry_id,
    fundMicroCredits: r.fund_micro_credits,
  };
}

/**
 * `user_status` (one row per checked account) and `limit_outbox` (accounts waiting for a check by
 * the worker; the accounts trigger also writes it on every balance change).
 */
export function createStatusRepo(db: Db) {
  const get = db.prepare<
    [string],
    StatusRow
  >(`SELECT account_id, allowed, reason, block_key, lifts_at_ms, balance_micro_credits, windows,
       headroom, next_reset_at_ms, last_entry_id, fund_entry_id, fund_micro_credits, updated_at_ms
       FROM user_status WHERE account_id = ?`);
  const put = db.prepare(
    `INSERT INTO user_status (account_id, allowed, reason, block_key, lifts_at_ms, balance_micro_credits,
       windows, headroom, next_reset_at_ms, last_entry_id, fund_entry_id, fund_micro_credits, updated_at_ms)
     VALUES (@accountId, @allowed, @reason, @blockKey, @liftsAtMs, @balance, @windows, @headroom, @nextResetAtMs,
       @lastEntryId, @fundEntryId, @fundMicro, @nowMs)
     ON CONFLICT (account_id) DO UPDATE SET allowed = excluded.allowed, reason = excluded.reason,
       block_key = excluded.block_key, lifts_at_ms = excluded.lifts_at_ms,
       balance_micro_credits = excluded.balance_micro_credits, windows = excluded.windows,
       headroom = excluded.headroom,
       next_reset_at_ms = excluded.next_reset_at_ms, last_entry_id = excluded.last_entry_id,
       fund_entry_id = excluded.fund_entry_id, fund_micro_credits = excluded.fund_micro_credits,
       updated_at_ms = excluded.updated_at_ms`,
  );
  const due = db.prepare<[number, number], { account_id: string }>(
    "SELECT account_id FROM user_status WHERE next_reset_at_ms <= ? ORDER BY next_reset_at_ms LIMIT ?",
  );
  const enqueue = db.prepare<[string, number]>(
    `INSERT INTO limit_outbox (account_id, seq, updated_at_ms) VALUES (?, 1, ?)
     ON CONFLICT (account_id) DO UPDATE SET seq = seq + 1, updated_at_ms = excluded.updated_at_ms`,
  );
  const enqueueAll = db.prepare<[number]>(
    `INSERT INTO limit_outbox (account_id, seq, updated_at_ms) SELECT account_id, 1, ? FROM user_status WHERE true
     ON CONFLICT (account_id) DO UPDATE SET seq = seq + 1, updated_at_ms = excluded.updated_at_ms`,
  );
  const unchecked = db.prepare<[string], { n: number }>(
    "SELECT 1 AS n FROM limit_outbox WHERE account_id = ? AND seq > checked_seq",
  );
  return {
    get(accountId: string): StoredStatus | null {
      const r = get.get(accountId);
      return r ? fromRow(r) : null;
    },
    /** Stores the row (insert or replace); `status.updatedAtMs` is the check's `nowMs`. */
    put(s: Omit<StoredStatus, "hasHeadroom">): void {
      put.run({
        accountId: s.status.accountId,
        allowed: s.status.allowed ? 1 : 0,
        reason: s.status.reason,
        blockKey: s.blockKey,
        liftsAtMs: s.status.liftsAtMs,
        balance: s.status.balanceMicroCredits,
        windows: JSON.stringify(s.status.windows),
        headroom: JSON.stringify(s.status.headroom),
        nextResetAtMs: s.nextResetAtMs,
        lastEntryId: s.lastEntryId,
        fundEntryId: s.fundEntryId,
        fundMicro: s.fundMicroCredits,
        nowMs: s.status.updatedAtMs,
      });
    },
    /** Accounts whose stored status has a window that ended by `nowMs`, earliest first. */
    dueForRollover(nowMs: number, limit: number): string[] {
      return due.all(nowMs, limit).map((r) => r.account_id);
    },
    /** Asks the worker to re-check one account (through the outbox, in the caller's transaction). */
    enqueueCheck(accountId: string, nowMs: number): void {
      enqueue.run(accountId, nowMs);
    },
    /**
     * Whether a re-check of the account was asked for (a balance change, new default limits, an
     * auto top-up setting) that the worker has not finished yet: its stored row may be stale.
     */
    checkPending(accountId: string): boolean {
      return unchecked.get(accountId) !== undefined;
    },
    /** Asks the worker to re-check every account that has a status row (new defaults). */
    enqueueCheckAll(nowMs: number): void {
      enqueueAll.run(nowMs);
    },
  };
}
export type StatusRepo = ReturnType<typeof createStatusRepo>;
