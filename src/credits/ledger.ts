import { z } from "zod";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { formatMicroCredits, MAX_MICRO_CREDITS, type MicroCredits, toMicroCredits } from "../money.js";
import { accountKind, assertAccountId } from "./account-id.js";
import {
  burnOrder,
  createGrantStore,
  DEFAULT_GRANT_PRIORITY,
  drawGrants,
  type Grant,
  type GrantKind,
  type GrantOptions,
  type GrantSlot,
} from "./grants.js";

/**
 * Ledger entry kinds. `expiry` (migration 13) is an expiring grant's unused remainder leaving
 * the balance (idempotency key `expiry:<grantId>`, ref `grant:<grantId>`); it is never refunded.
 */
export const LEDGER_KINDS = [
  "usage",
  "grant",
  "topup",
  "refund",
  "reversal",
  "adjustment",
  "expiry",
] as const;
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
  /**
   * For a credit (amount > 0): the grant it becomes (kind, priority, expiry). Ignored for debits.
   * @defaultValue kind by ledger kind (topup/reversal → paid, refund → refund-credit, else
   * promotional), the kind's default priority, no expiry.
   */
  grant?: GrantOptions;
}

export type PostOutcome =
  | {
      status: "applied";
      entryId: number;
      balanceMicroCredits: MicroCredits;
      /** Where the amount went: grants drawn or made, and the debt it left (debit) or paid (credit). */
      split: GrantSplit;
    }
  | {
      status: "duplicate";
      entryId: number;
      balanceMicroCredits: MicroCredits;
      /**
       * Only when the replay named its grant (`PostEntry.grant`): the grant the first post made
       * (what a replay reports, not its own options).
       */
      grant?: Grant | null;
    };

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

/** The grant kind a credit of this ledger kind becomes when the poster names none. */
export function defaultGrantKind(kind: LedgerKind): GrantKind {
  if (kind === "topup" || kind === "reversal") return "paid";
  if (kind === "refund") return "refund-credit";
  return "promotional";
}

/** A poster's in-memory view of the accounts it touched (see `createSession`). */
interface Session {
  balances: Map<string, bigint>;
  /** Per account: its live grants with something left when loaded, plus grants made since; burn order. */
  slots: Map<string, GrantSlot[]>;
  /** Grant ids whose remaining changed in memory and is not written yet. */
  dirty: Set<number>;
}

/** Opaque snapshot of a batch poster's in-memory state (`mark` / `restore`). */
export interface PosterMark {
  readonly balances: Map<string, bigint>;
  readonly slots: Map<string, GrantSlot[]>;
  readonly dirty: Set<number>;
}

/** Where each part of an entry went: grants drawn (> 0) or credited (< 0), and the debt it left or paid. */
export interface GrantSplit {
  draws: { grantId: number; amountMicroCredits: bigint }[];
  /** A credit's new grant (null for debits and for credit restored into an existing grant). */
  grantId: number | null;
  /** Debit: the part no grant covered (the balance went below zero by it). Credit: debt it paid off. */
  debtMicroCredits: bigint;
  /** A debiting reversal: the grant its top-up made, drawn from first (null: none, or nothing left in it). */
  reversedGrantId?: number | null;
}

/** Paid / promotional / refund-credit remaining, debt and the next expiry: what `/consumo` shows. */
export interface GrantSummary {
  paidMicroCredits: number;
  promotionalMicroCredits: number;
  refundCreditMicroCredits: number;
  /** What the user owes (0 unless the balance is below zero). */
  debtMicroCredits: number;
  /** The soonest live grant with something left and an expiry, or null. */
  nextExpiry: { atMs: number; microCredits: number; kind: GrantKind; grantId: number } | null;
}

/**
 * The credit ledger: accounts with an integer balance and an append-only list of entries
 * with unique idempotency keys. Every method is synchronous; `post` can run inside a caller's
 * transaction (better-sqlite3 nests it as a savepoint) so that a debit commits together with
 * whatever caused it (a usage row and meter cursor, a top-up status, a webhook event).
 *
 * Grants (docs/grants.md): every credit becomes a grant (paid, promotional, refund-credit; a
 * priority and an optional expiry); every debit draws from the live grants in burn order and
 * records where it drew (`ledger_allocations`); what no grant covers is debt (negative balance),
 * and a later credit pays debt first. A debit at or after a grant's expiry first expires that
 * grant (an `expiry` entry), so expired credit is never spent, even before the scheduled run.
 * Invariant: sum of live grants' remaining = max(balance, 0) (`inconsistentGrants`).
 */
export function createLedger(db: Db) {
  const getAccount = db.prepare<[string], Pick<AccountRow, "balance_micro_credits">>(
    "SELECT balance_micro_credits FROM accounts WHERE id = ?",
  );
  const insertAccount = db.prepare<[string, string, number, number]>(
    "INSERT INTO accounts (id, kind, balance_micro_credits, created_at_ms, updated_at_ms) VALUES (?, ?, 0, ?, ?) ON CONFLICT(id) DO NOTHING",
  );
  const findKey = db.prepare<
    [string],
    Pick<LedgerEntryRow, "id" | "account_id" | "amount_micro_credits" | "kind">
  >("SELECT id, account_id, kind, amount_micro_credits FROM ledger_entries WHERE idempotency_key = ?");
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
      GROUP BY a.id HAVING a.balance_micro_credits <> COALESCE(SUM(e.amount_micro_credits), 0)`,
  );
  const grantSumMismatch = db.prepare<[], { id: string; balance: number; remaining: number }>(
    `SELECT a.id, a.balance_micro_credits AS balance, COALESCE(SUM(g.remaining_micro_credits), 0) AS remaining
       FROM accounts a LEFT JOIN credit_grants g ON g.account_id = a.id AND g.state = 'live'
      GROUP BY a.id HAVING COALESCE(SUM(g.remaining_micro_credits), 0) <> MAX(a.balance_micro_credits, 0)`,
  );
  const grantAllocMismatch = db.prepare<
    [],
    { id: number; granted: number; drawn: number; remaining: number }
  >(
    `SELECT g.id, g.granted_micro_credits AS granted, COALESCE(SUM(l.amount_micro_credits), 0) AS drawn,
            g.remaining_micro_credits AS remaining
       FROM credit_grants g LEFT JOIN ledger_allocations l ON l.grant_id = g.id
      GROUP BY g.id HAVING g.granted_micro_credits - COALESCE(SUM(l.amount_micro_credits), 0) <> g.remaining_micro_credits`,
  );
  const store = createGrantStore(db);

  function ensureAccount(accountId: string, nowMs: number): void {
    assertAccountId(accountId);
    insertAccount.run(accountId, accountKind(accountId), nowMs, nowMs);
  }

  const newSession = (): Session => ({ balances: new Map(), slots: new Map(), dirty: new Set() });

  /** Loads an account into the session (creating it): its balance and live grants, once. */
  function load(sess: Session, accountId: string, nowMs: number): void {
    if (sess.balances.has(accountId)) return;
    ensureAccount(accountId, nowMs);
    sess.balances.set(accountId, BigInt(getAccount.get(accountId)?.balance_micro_credits ?? 0));
    sess.slots.set(accountId, store.liveSlots(accountId));
  }

  const insertSlot = (sess: Session, slot: GrantSlot) => {
    const list = sess.slots.get(slot.accountId) ?? [];
    list.push(slot);
    list.sort(burnOrder);
    sess.slots.set(slot.accountId, list);
  };

  /** Posts the `expiry` entry of one loaded live grant with something left; marks it expired. */
  function expireSlot(sess: Session, slot: GrantSlot, nowMs: number): number {
    const amount = slot.remainingMicroCredits;
    const before = sess.balances.get(slot.accountId) ?? 0n;
    const after = before - amount;
    const expiresAt = new Date(slot.expiresAtMs ?? nowMs).toISOString();
    const info = insertEntry.run(
      slot.accountId,
      "expiry",
      toMicroCredits(-amount, "amount"),
      toMicroCredits(after, "balance"),
      `expiry:${slot.id}`,
      `${slot.kind} grant #${slot.id} expired at ${expiresAt}: ${formatMicroCredits(amount)} of ${formatMicroCredits(slot.grantedMicroCredits)} credits unused`,
      `grant:${slot.id}`,
      nowMs,
    );
    const entryId = Number(info.lastInsertRowid);
    sess.balances.set(slot.accountId, after);
    store.allocate(entryId, slot.id, amount);
    slot.remainingMicroCredits = 0n;
    slot.state = "expired";
    sess.dirty.delete(slot.id);
    store.markExpired(slot.id, nowMs);
    return entryId;
  }

  /** Expires the account's loaded grants due at `nowMs` (so a debit never spends expired credit). */
  function expireDueIn(sess: Session, accountId: string, nowMs: number): void {
    for (const s of sess.slots.get(accountId) ?? []) {
      if (
        s.state === "live" &&
        s.expiresAtMs !== null &&
        s.expiresAtMs <= nowMs &&
        s.remainingMicroCredits > 0n
      )
        expireSlot(sess, s, nowMs);
    }
  }

  /** Records where an applied entry's amount went (grants drawn or made). `before`: balance before it. */
  function split(sess: Session, e: PostEntry, entryId: number, before: bigint): GrantSplit {
    const amount = e.amountMicroCredits;
    const slots = sess.slots.get(e.accountId) ?? [];
    if (amount < 0n) {
      // A reversal takes back from the grant its top-up made first; what was spent of it is
      // then charged like usage (other grants in burn order, then debt).
      const first =
        e.kind === "reversal" && e.ref
          ? (slots.find((s) => s.ref === e.ref && s.state === "live") ?? null)
          : null;
      const { draws, uncovered } = drawGrants(slots, -amount, first);
      for (const d of draws) {
        store.allocate(entryId, d.grant.id, d.amountMicroCredits);
        sess.dirty.add(d.grant.id);
      }
      return {
        draws: draws.map((d) => ({ grantId: d.grant.id, amountMicroCredits: d.amountMicroCredits })),
        grantId: null,
        debtMicroCredits: uncovered,
        ...(e.kind === "reversal" ? { reversedGrantId: first?.id ?? null } : {}),
      };
    }
    if (amount === 0n) return { draws: [], grantId: null, debtMicroCredits: 0n };
    const debt = before < 0n ? -before : 0n;
    const paysDebt = amount < debt ? amount : debt;
    const rest = amount - paysDebt;
    let inherit: GrantSlot | null = null;
    if (e.kind === "reversal" && e.ref) {
      // A reversal restoring credit (a won dispute) puts it back into the grant it came from.
      const target = slots.find((s) => s.ref === e.ref) ?? store.slotByRef(e.accountId, e.ref);
      if (target?.state === "live") {
        if (rest > 0n) {
          if (!slots.includes(target)) insertSlot(sess, target);
          target.remainingMicroCredits += rest;
          store.allocate(entryId, target.id, -rest);
          sess.dirty.add(target.id);
        }
        return {
          draws: rest > 0n ? [{ grantId: target.id, amountMicroCredits: -rest }] : [],
          grantId: null,
          debtMicroCredits: paysDebt,
        };
      }
      inherit = target;
    }
    const kind = e.grant?.kind ?? inherit?.kind ?? defaultGrantKind(e.kind);
    const slot: GrantSlot = {
      id: 0,
      accountId: e.accountId,
      kind,
      grantedMicroCredits: amount,
      remainingMicroCredits: rest,
      priority: e.grant?.priority ?? inherit?.priority ?? DEFAULT_GRANT_PRIORITY[kind],
      expiresAtMs: e.grant?.expiresAtMs ?? null,
      ref: e.ref ?? null,
      state: "live",
      createdAtMs: e.nowMs,
    };
    slot.id = store.insert(slot, entryId);
    if (paysDebt > 0n) store.allocate(entryId, slot.id, paysDebt);
    insertSlot(sess, slot);
    return {
      draws: paysDebt > 0n ? [{ grantId: slot.id, amountMicroCredits: paysDebt }] : [],
      grantId: slot.id,
      debtMicroCredits: paysDebt,
    };
  }

  /**
   * Appends one entry in the session (after expiring the account's due grants when it is a
   * debit): the balance moves in memory, the entry and its allocations are written.
   */
  function postIn(
    sess: Session,
    e: PostEntry,
    check: (v: bigint, what: string) => MicroCredits,
  ): { entryId: number; after: bigint; split: GrantSplit } {
    load(sess, e.accountId, e.nowMs);
    const amount = check(e.amountMicroCredits, "amount");
    if (e.amountMicroCredits < 0n) expireDueIn(sess, e.accountId, e.nowMs);
    const before = sess.balances.get(e.accountId) ?? 0n;
    const after = before + e.amountMicroCredits;
    const afterNum = check(after, "the balance after it");
    const info = insertEntry.run(
      e.accountId,
      e.kind,
      amount,
      afterNum,
      e.idempotencyKey,
      e.reason ?? null,
      e.ref ?? null,
      e.nowMs,
    );
    const entryId = Number(info.lastInsertRowid);
    sess.balances.set(e.accountId, after);
    return { entryId, after, split: split(sess, e, entryId, before) };
  }

  /** Writes the session's balances (each touched account once) and changed grants. */
  function flush(sess: Session, nowMs: number): void {
    for (const [accountId, balance] of sess.balances)
      setBalance.run(toMicroCredits(balance, "balance"), nowMs, accountId);
    for (const list of sess.slots.values())
      for (const s of list) if (sess.dirty.has(s.id)) store.setRemaining(s.id, s.remainingMicroCredits);
    sess.dirty.clear();
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
      if (!e.grant || e.amountMicroCredits <= 0n)
        return { status: "duplicate", entryId: existing.id, balanceMicroCredits: bal };
      const made = store.bySourceEntry(existing.id);
      if (made) assertSameGrant(e, existing.kind, made);
      return { status: "duplicate", entryId: existing.id, balanceMicroCredits: bal, grant: made };
    }
    validateGrantOptions(e.grant);
    const sess = newSession();
    const r = postIn(sess, e, withinRange);
    flush(sess, e.nowMs);
    return {
      status: "applied",
      entryId: r.entryId,
      balanceMicroCredits: toMicroCredits(r.after),
      split: r.split,
    };
  }

  const postTx = db.transaction(postInTx);

  /**
   * Bulk posting for the meter's hot path, used INSIDE one transaction: each account's balance
   * and live grants are read once, kept in memory, and written once by `finish()` (allocation
   * rows are written as entries are). The caller must have deduplicated already (the UNIQUE
   * idempotency key is still the backstop: a repeat throws and rolls the whole transaction back).
   * Must not be interleaved with `post` on the same accounts.
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
    let sess = newSession();
    /** Stored balances read by `balanceOf` for accounts not loaded into `sess` yet. */
    const peeked = new Map<string, bigint>();
    return {
      post(e: PostEntry): { entryId: number; balanceMicroCredits: number } {
        requireTx();
        validateGrantOptions(e.grant);
        const r = postIn(sess, e, (v, what) => toMicroCredits(v, what === "amount" ? "amount" : "balance"));
        return { entryId: r.entryId, balanceMicroCredits: toMicroCredits(r.after, "balance") };
      },
      /** The account's running balance in this batch (the stored one before its first post). */
      balanceOf(accountId: string): bigint {
        const posted = sess.balances.get(accountId);
        if (posted !== undefined) return posted;
        // The stored row changes only at finish() while this poster is in use, so one read per
        // account per batch is enough (the meter asks once per call).
        let stored = peeked.get(accountId);
        if (stored === undefined) {
          stored = BigInt(getAccount.get(accountId)?.balance_micro_credits ?? 0);
          peeked.set(accountId, stored);
        }
        return stored;
      },
      /** A snapshot of the in-memory state (balances, grants), to `restore` after a rolled-back savepoint. */
      mark(): PosterMark {
        const slots = new Map<string, GrantSlot[]>();
        for (const [k, list] of sess.slots)
          slots.set(
            k,
            list.map((s) => ({ ...s })),
          );
        return { balances: new Map(sess.balances), slots, dirty: new Set(sess.dirty) };
      },
      restore(snapshot: PosterMark): void {
        const slots = new Map<string, GrantSlot[]>();
        for (const [k, list] of snapshot.slots)
          slots.set(
            k,
            list.map((s) => ({ ...s })),
          );
        sess = { balances: new Map(snapshot.balances), slots, dirty: new Set(snapshot.dirty) };
      },
      finish(nowMs: number): void {
        requireTx();
        flush(sess, nowMs);
      },
    };
  }

  /** Expires one due grant in its own IMMEDIATE transaction; null when it was not due/live any more. */
  const expireOneTx = db.transaction((grantId: number, nowMs: number): number | null => {
    const g = store.get(grantId);
    if (g?.state !== "live" || g.expiresAtMs === null || g.expiresAtMs > nowMs) return null;
    const sess = newSession();
    load(sess, g.accountId, nowMs);
    const slot = sess.slots.get(g.accountId)?.find((s) => s.id === grantId);
    if (!slot) {
      store.markExpired(grantId, nowMs); // used up: nothing leaves the balance, no entry
      return 0;
    }
    expireSlot(sess, slot, nowMs);
    flush(sess, nowMs);
    return Number(g.remainingMicroCredits);
  });

  return {
    ensureAccount,
    batchPoster,
    /**
     * Posts inside the caller's transaction, as a savepoint (a debit may first write `expiry`
     * entries: a refusal after them undoes them too), or in its own IMMEDIATE one when there is none.
     */
    post(e: PostEntry): PostOutcome {
      return db.inTransaction ? postTx(e) : postTx.immediate(e);
    },
    balance(accountId: string): AccountBalance | null {
      const r = accountRow.get(accountId);
      return r ? accountFromRow(r) : null;
    },
    entries(accountId: string, limit = 50): LedgerEntry[] {
      return listEntries.all(accountId, limit).map(entryFromRow);
    },
    /** The account's grants, newest first (live, used-up and expired). */
    grants(accountId: string, limit = 100): Grant[] {
      return store.list(accountId, limit);
    },
    /** Which grants one ledger entry drew from (> 0) or credited (< 0), micro-credits. */
    allocations(entryId: number): { grantId: number; amountMicroCredits: number }[] {
      return store.allocationsOf(entryId);
    },
    /**
     * Paid / promotional / refund-credit remaining (live grants; a grant past its expiry that the
     * expiry run has not reached yet is left out), debt, and the next expiry after `nowMs`.
     */
    summary(accountId: string, nowMs: number): GrantSummary {
      const bal = BigInt(getAccount.get(accountId)?.balance_micro_credits ?? 0);
      const out: GrantSummary = {
        paidMicroCredits: 0,
        promotionalMicroCredits: 0,
        refundCreditMicroCredits: 0,
        debtMicroCredits: bal < 0n ? Number(-bal) : 0,
        nextExpiry: null,
      };
      for (const s of store.liveSlots(accountId)) {
        if (s.expiresAtMs !== null && s.expiresAtMs <= nowMs) continue;
        const m = Number(s.remainingMicroCredits);
        if (s.kind === "paid") out.paidMicroCredits += m;
        else if (s.kind === "promotional") out.promotionalMicroCredits += m;
        else out.refundCreditMicroCredits += m;
        if (s.expiresAtMs !== null && (out.nextExpiry === null || s.expiresAtMs < out.nextExpiry.atMs))
          out.nextExpiry = { atMs: s.expiresAtMs, microCredits: m, kind: s.kind, grantId: s.id };
        else if (s.expiresAtMs !== null && out.nextExpiry && s.expiresAtMs === out.nextExpiry.atMs)
          out.nextExpiry.microCredits += m;
      }
      return out;
    },
    /**
     * Expires every live grant whose expiry time is at or before `nowMs`, oldest expiry first,
     * each in its own IMMEDIATE transaction (an `expiry` entry for its remainder, key
     * `expiry:<grantId>`: exactly once, however often or concurrently this runs; a kill between
     * two grants leaves the rest for the next run). At most `limit` grants per call.
     * @returns grants expired and the micro-credits that left balances.
     */
    expireDue(nowMs: number, limit = 10_000): { expired: number; microCredits: number; grantIds: number[] } {
      let expired = 0;
      let micro = 0;
      const grantIds: number[] = [];
      while (expired < limit) {
        const due = store.due(nowMs, Math.min(500, limit - expired));
        if (due.length === 0) break;
        let progressed = false;
        for (const g of due) {
          const r = expireOneTx.immediate(g.id, nowMs);
          if (r === null) continue;
          progressed = true;
          expired++;
          micro += r;
          grantIds.push(g.id);
        }
        if (!progressed) break;
      }
      return { expired, microCredits: micro, grantIds };
    },
    /** Live grants with something left expiring in (afterMs, untilMs] (expiry warnings). */
    expiringBetween(afterMs: number, untilMs: number, limit = 10_000): Grant[] {
      return store.expiringBetween(afterMs, untilMs, limit);
    },
    /** Accounts whose balance differs from the sum of their entries (must always be empty). */
    inconsistentAccounts(): { id: string; balance: number; total: number }[] {
      return sumMismatch.all();
    },
    /**
     * Grant bookkeeping that does not add up (must always be empty): accounts whose live grants'
     * remaining differs from max(balance, 0) (remaining − debt = balance), and grants whose
     * granted − allocations differs from their remaining.
     */
    inconsistentGrants(): {
      accounts: { id: string; balance: number; remaining: number }[];
      grants: { id: number; granted: number; drawn: number; remaining: number }[];
    } {
      return { accounts: grantSumMismatch.all(), grants: grantAllocMismatch.all() };
    },
  };
}

/**
 * A replayed credit that names its grant (CLI `grant --key`, `POST /v1/users/:id/grants`) must ask
 * for the grant the key already made: same ledger kind, grant kind, priority (the kind's default
 * when absent) and whether it expires. Otherwise a retry with another `--kind` or `--expires`
 * would answer "already granted" while the grant made first is something else. The exact expiry
 * time is not compared: a relative expiry (`30d`) moves with the clock between a call and its retry.
 * @throws AppError(conflict) naming what differs.
 */
function assertSameGrant(e: PostEntry, existingKind: LedgerKind, made: Grant): void {
  const o = e.grant ?? {};
  const kind = o.kind ?? defaultGrantKind(e.kind);
  const priority = o.priority ?? DEFAULT_GRANT_PRIORITY[kind];
  const expires = o.expiresAtMs !== undefined && o.expiresAtMs !== null;
  const diffs: string[] = [];
  if (existingKind !== e.kind) diffs.push(`entry kind ${existingKind}`);
  if (made.kind !== kind) diffs.push(`kind ${made.kind}`);
  // A default priority follows the kind: name it only when asked for or the kinds agree.
  if (made.priority !== priority && (o.priority !== undefined || made.kind === kind))
    diffs.push(`priority ${made.priority}`);
  if ((made.expiresAtMs !== null) !== expires)
    diffs.push(
      made.expiresAtMs === null ? "no expiry" : `expiry ${new Date(made.expiresAtMs).toISOString()}`,
    );
  if (diffs.length)
    throw new AppError(
      ErrorCode.Conflict,
      `idempotency key ${e.idempotencyKey} was already used for a different grant (${diffs.join(", ")})`,
    );
}

/** Refuses grant options that are not integers in range (a clear 400 / one CLI line, nothing posted). */
function validateGrantOptions(o: GrantOptions | undefined): void {
  if (!o) return;
  if (o.priority !== undefined && (!Number.isInteger(o.priority) || o.priority < 0 || o.priority > 1000))
    throw new AppError(ErrorCode.InvalidRequest, "priority: must be an integer from 0 to 1000");
  if (o.expiresAtMs !== undefined && o.expiresAtMs !== null && !Number.isSafeInteger(o.expiresAtMs))
    throw new AppError(ErrorCode.InvalidRequest, "expiresAt: must be a time (epoch ms)");
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
