import { z } from "zod";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { formatMicroCredits, MAX_MICRO_CREDITS, type MicroCredits, toMicroCredits } from "../money.js";
import { accountKind, assertAccountId } from "./account-id.js";

export const LEDGER_KINDS = ["usage", "grant", "topup", "refund", "reversal", "adjustment"] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

export interface PostEntry {
  accountId: string;
  kind: LedgerKind;
  /** Signed: negative for debits. Exact bigint; stored through `toMicroCredits` (RangeError past 2^53). */
  amountMicroCredits: bigint;
  /** Globally unique; a second post with the same key changes nothing. */
  idempotencyKey: string;
  reason?: string | null;
  ref?: string | null;
  nowMs: number;
}

export type PostOutcome =
  | { status: "applied"; entryId: number; balanceMicroCredits: MicroCredits }
  | { status: "duplicate"; entryId: number; balanceMicroCredits: MicroCredits };

export interface LedgerEntry {
  id: number;
  accountId: string;
  kind: LedgerKind;
  amountMicroCredits: MicroCredits;
  balanceAfterMicroCredits: MicroCredits;
  idempotencyKey: string;
  reason: string | null;
  ref: string | null;
  createdAtMs: number;
}

/**
 * One ledger entry as the API answers it (`GET /v1/users/:id/ledger`): amounts are signed integer
 * micro-credits (negative for debits), `createdAtMs` epoch ms. The response schema of {@link LedgerEntry}.
 */
export const ledgerEntrySchema = z.object({
  id: z.number().int(),
  accountId: z.string(),
  kind: z.enum(LEDGER_KINDS),
  amountMicroCredits: z.number().int(),
  balanceAfterMicroCredits: z.number().int(),
  idempotencyKey: z.string(),
  reason: z.string().nullable(),
  ref: z.string().nullable(),
  createdAtMs: z.number().int(),
});

export interface AccountBalance {
  accountId: string;
  kind: "user" | "agent";
  balanceMicroCredits: MicroCredits;
  /** True when the balance is below zero (usage recorded past the prepaid amount). */
  overdrawn: boolean;
  updatedAtMs: number;
}

/** A row of `accounts` as SQLite returns it (integers as numbers: balances stay within 2^53). */
interface AccountRow {
  id: string;
  kind: "user" | "agent";
  balance_micro_credits: number;
  created_at_ms: number;
  updated_at_ms: number;
}

function accountFromRow(r: AccountRow): AccountBalance {
  return {
    accountId: r.id,
    kind: r.kind,
    balanceMicroCredits: r.balance_micro_credits,
    overdrawn: r.balance_micro_credits < 0,
    updatedAtMs: r.updated_at_ms,
  };
}

/** A row of `ledger_entries` as SQLite returns it. */
interface LedgerEntryRow {
  id: number;
  account_id: string;
  kind: LedgerKind;
  amount_micro_credits: number;
  balance_after_micro_credits: number;
  idempotency_key: string;
  reason: string | null;
  ref: string | null;
  created_at_ms: number;
}

const LEDGER_ENTRY_COLUMNS =
  "id, account_id, kind, amount_micro_credits, balance_after_micro_credits, idempotency_key, reason, ref, created_at_ms";

function entryFromRow(r: LedgerEntryRow): LedgerEntry {
  return {
    id: r.id,
    accountId: r.account_id,
    kind: r.kind,
    amountMicroCredits: r.amount_micro_credits,
    balanceAfterMicroCredits: r.balance_after_micro_credits,
    idempotencyKey: r.idempotency_key,
    reason: r.reason,
    ref: r.ref,
    createdAtMs: r.created_at_ms,
  };
}

/**
 * The credit ledger: accounts with an integer balance and an append-only list of entries
 * with unique idempotency keys. Every method is synchronous; `post` can run inside a caller's
 * transaction (better-sqlite3 nests it as a savepoint) so that a debit commits together with
 * whatever caused it (a usage row and meter cursor, a top-up status, a webhook event).
 */
export function createLedger(db: Db) {
  const getAccount = db.prepare<[string], Pick<AccountRow, "balance_micro_credits">>(
    "SELECT balance_micro_credits FROM accounts WHERE id = ?",
  );
  const insertAccount = db.prepare<[string, string, number, number]>(
    "INSERT INTO accounts (id, kind, balance_micro_credits, created_at_ms, updated_at_ms) VALUES (?, ?, 0, ?, ?) ON CONFLICT(id) DO NOTHING",
  );
  const findKey = db.prepare<[string], Pick<LedgerEntryRow, "id" | "account_id" | "amount_micro_credits">>(
    "SELECT id, account_id, amount_micro_credits FROM ledger_entries WHERE idempotency_key = ?",
  );
  const insertEntry = db.prepare<
    [string, string, number, number, string, string | null, string | null, number]
  >(
    `INSERT INTO ledger_entries (account_id, kind, amount_micro_credits, balance_after_micro_credits,
       idempotency_key, reason, ref, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const setBalance = db.prepare<[number, number, string]>(
    "UPDATE accounts SET balance_micro_credits = ?, updated_at_ms = ? WHERE id = ?",
  );
  const accountRow = db.prepare<[string], AccountRow>(
    "SELECT id, kind, balance_micro_credits, created_at_ms, updated_at_ms FROM accounts WHERE id = ?",
  );
  const listEntries = db.prepare<[string, number], LedgerEntryRow>(
    `SELECT ${LEDGER_ENTRY_COLUMNS} FROM ledger_entries WHERE account_id = ? ORDER BY id DESC LIMIT ?`,
  );
  const sumMismatch = db.prepare<[], { id: string; balance: number; total: number }>(
    `SELECT a.id, a.balance_micro_credits AS balance, COALESCE(SUM(e.amount_micro_credits), 0) AS total
       FROM accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
      GROUP BY a.id HAVING balance <> total`,
  );

  function ensureAccount(accountId: string, nowMs: number): void {
    assertAccountId(accountId);
    insertAccount.run(accountId, accountKind(accountId), nowMs, nowMs);
  }

  /** Appends one entry and moves the balance, or does nothing if the key was already used. */
  function postInTx(e: PostEntry): PostOutcome {
    const existing = findKey.get(e.idempotencyKey);
    if (existing) {
      if (
        existing.account_id !== e.accountId ||
        BigInt(existing.amount_micro_credits) !== e.amountMicroCredits
      ) {
        throw new AppError(
          ErrorCode.Conflict,
          `idempotency key ${e.idempotencyKey} was already used for a different entry`,
        );
      }
      const bal = getAccount.get(e.accountId)?.balance_micro_credits ?? 0;
      return { status: "duplicate", entryId: existing.id, balanceMicroCredits: bal };
    }
    ensureAccount(e.accountId, e.nowMs);
    const before = BigInt(getAccount.get(e.accountId)?.balance_micro_credits ?? 0);
    const amount = withinRange(e.amountMicroCredits, "amount");
    const after = withinRange(before + e.amountMicroCredits, "the balance after it");
    const info = insertEntry.run(
      e.accountId,
      e.kind,
      amount,
      after,
      e.idempotencyKey,
      e.reason ?? null,
      e.ref ?? null,
      e.nowMs,
    );
    setBalance.run(after, e.nowMs, e.accountId);
    return { status: "applied", entryId: Number(info.lastInsertRowid), balanceMicroCredits: after };
  }

  const postTx = db.transaction(postInTx);

  /**
   * Bulk posting for the meter's hot path, used INSIDE one transaction: each account's balance
   * is read once, kept as a running total, and written once by `finish()`. The caller must have
   * deduplicated already (the UNIQUE idempotency key is still the backstop: a repeat throws and
   * rolls the whole transaction back). Must not be interleaved with `post` on the same accounts.
   *
   * Outside a transaction it REFUSES (throws, writes nothing) rather than posting entry by entry:
   * entries would commit one at a time while the balances only move at `finish()`, so a crash in
   * between would leave entries whose sum differs from the balance. The same holds for a poster
   * kept past the end of its transaction: its `post` and `finish` throw and write nothing.
   *
   * @throws Error when no transaction is open (at creation, `post` or `finish`).
   */
  function batchPoster() {
    const requireTx = () => {
      if (!db.inTransaction) throw new Error("batchPoster() must run inside a transaction");
    };
    requireTx();
    const running = new Map<string, bigint>();
    return {
      post(e: PostEntry): { entryId: number; balanceMicroCredits: number } {
        requireTx();
        let before = running.get(e.accountId);
        if (before === undefined) {
          ensureAccount(e.accountId, e.nowMs);
          before = BigInt(getAccount.get(e.accountId)?.balance_micro_credits ?? 0);
        }
        const after = before + e.amountMicroCredits;
        const afterNum = toMicroCredits(after, "balance");
        running.set(e.accountId, after);
        const info = insertEntry.run(
          e.accountId,
          e.kind,
          toMicroCredits(e.amountMicroCredits, "amount"),
          afterNum,
          e.idempotencyKey,
          e.reason ?? null,
          e.ref ?? null,
          e.nowMs,
        );
        return { entryId: Number(info.lastInsertRowid), balanceMicroCredits: afterNum };
      },
      /** The account's running balance in this batch (the stored one before its first post). */
      balanceOf(accountId: string): bigint {
        return running.get(accountId) ?? BigInt(getAccount.get(accountId)?.balance_micro_credits ?? 0);
      },
      /** A snapshot of the running balances, to `restore` after a rolled-back savepoint. */
      mark(): Map<string, bigint> {
        return new Map(running);
      },
      restore(snapshot: Map<string, bigint>): void {
        running.clear();
        for (const [k, v] of snapshot) running.set(k, v);
      },
      finish(nowMs: number): void {
        requireTx();
        for (const [accountId, balance] of running)
          setBalance.run(toMicroCredits(balance, "balance"), nowMs, accountId);
      },
    };
  }

  return {
    ensureAccount,
    batchPoster,
    /** Posts inside the caller's transaction (or its own IMMEDIATE one when there is none). */
    post(e: PostEntry): PostOutcome {
      return db.inTransaction ? postInTx(e) : postTx.immediate(e);
    },
    balance(accountId: string): AccountBalance | null {
      const r = accountRow.get(accountId);
      return r ? accountFromRow(r) : null;
    },
    entries(accountId: string, limit = 50): LedgerEntry[] {
      return listEntries.all(accountId, limit).map(entryFromRow);
    },
    /** Accounts whose balance differs from the sum of their entries (must always be empty). */
    inconsistentAccounts(): { id: string; balance: number; total: number }[] {
      return sumMismatch.all();
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;

/**
 * `v` as stored micro-credits, or an `AppError(invalid_request)` (a 400 on the API, one line in
 * the CLI) when it is past what SQLite and JSON hold exactly: ±(2^53 − 1) micro-credits.
 */
function withinRange(v: bigint, what: string): MicroCredits {
  const max = MAX_MICRO_CREDITS;
  if (v > max || v < -max) {
    throw new AppError(
      ErrorCode.InvalidRequest,
      `${what} (${formatMicroCredits(v)} credits) is past the largest amount creditgate holds exactly, ±${formatMicroCredits(max)} credits`,
    );
  }
  return toMicroCredits(v, what);
}
