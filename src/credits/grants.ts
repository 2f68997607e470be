import { z } from "zod";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";

/**
 * Grant kinds (docs/grants.md): `paid` (top-ups), `promotional` (operator grants, welcome
 * credit), `refund-credit` (credit handed back to a user, ledger kind `refund`).
 */
export const GRANT_KINDS = ["paid", "promotional", "refund-credit"] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];

/**
 * Default priority per kind: among grants expiring at the same time (or never), the LOWER number
 * burns first. Promotional before refund credit before paid. A grant may carry its own priority
 * (`creditgate grant --priority`, the API's `priority`), any integer in [0, 1000].
 */
export const DEFAULT_GRANT_PRIORITY: Readonly<Record<GrantKind, number>> = {
  promotional: 10,
  "refund-credit": 20,
  paid: 30,
};
export const MAX_GRANT_PRIORITY = 1000;

/** Options of a credit entry's grant (ignored for debits). */
export interface GrantOptions {
  /** @defaultValue by ledger kind: topup/reversal → paid, refund → refund-credit, others → promotional */
  kind?: GrantKind;
  /** Lower burns first among grants with the same expiry. @defaultValue {@link DEFAULT_GRANT_PRIORITY} of the kind */
  priority?: number;
  /** Epoch ms after which the remainder expires; null/absent: never. */
  expiresAtMs?: number | null;
}

/**
 * An expiry as an operator types it (CLI `--expires`, API `expiresAt`): a duration from now
 * (`30d`, `12h`, `90m`) or a UTC date/time (`2026-12-30` = its 00:00 UTC, `2026-12-30T18:00:00Z`).
 * Returns epoch ms, which must be after `nowMs`.
 * @throws AppError(invalid_request) naming the accepted shapes, or when the time is not in the future.
 */
export function parseExpiry(text: string, nowMs: number): number {
  const t = text.trim();
  let ms = Number.NaN;
  const rel = /^(\d{1,6})([dhm])$/.exec(t);
  if (rel?.[1] && rel[2]) {
    const unit = rel[2] === "d" ? 86_400_000 : rel[2] === "h" ? 3_600_000 : 60_000;
    ms = nowMs + Number(rel[1]) * unit;
  } else if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(t)) {
    ms = Date.parse(t.length === 10 ? `${t}T00:00:00Z` : t);
    // Date.parse rolls an impossible day over (2027-02-30 → 2027-03-02): refuse it instead.
    const [y, m, d] = t.slice(0, 10).split("-").map(Number) as [number, number, number];
    const day = new Date(Date.UTC(y, m - 1, d));
    if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) ms = Number.NaN;
  }
  if (!Number.isSafeInteger(ms))
    throw new AppError(
      ErrorCode.InvalidRequest,
      `expires: cannot read "${text.slice(0, 60)}": use 30d, 12h, 90m, 2026-12-30 or 2026-12-30T18:00:00Z`,
    );
  if (ms <= nowMs) throw new AppError(ErrorCode.InvalidRequest, "expires: must be in the future");
  return ms;
}

/** One grant in memory (amounts exact bigints, micro-credits). */
export interface GrantSlot {
  id: number;
  accountId: string;
  kind: GrantKind;
  grantedMicroCredits: bigint;
  remainingMicroCredits: bigint;
  priority: number;
  expiresAtMs: number | null;
  ref: string | null;
  state: "live" | "expired";
  createdAtMs: number;
}

/**
 * The burn order: expiring soonest first (never-expiring last), then lower priority number, then
 * oldest (`createdAtMs`, then id). Negative when `a` burns before `b`.
 */
export function burnOrder(
  a: Pick<GrantSlot, "expiresAtMs" | "priority" | "createdAtMs" | "id">,
  b: Pick<GrantSlot, "expiresAtMs" | "priority" | "createdAtMs" | "id">,
): number {
  const ea = a.expiresAtMs ?? Number.POSITIVE_INFINITY;
  const eb = b.expiresAtMs ?? Number.POSITIVE_INFINITY;
  if (ea !== eb) return ea < eb ? -1 : 1;
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs - b.createdAtMs;
  return a.id - b.id;
}

/**
 * Draws `amount` (> 0) from `grants` (live ones with remaining > 0, in the order given; `first`
 * is drawn from before the rest), mutating their `remainingMicroCredits`. Returns the draws and
 * what no grant covered (`uncovered`: becomes debt). Pure apart from the mutation: the table
 * tests of the burn order call it directly.
 */
export function drawGrants(
  grants: GrantSlot[],
  amount: bigint,
  first: GrantSlot | null = null,
): { draws: { grant: GrantSlot; amountMicroCredits: bigint }[]; uncovered: bigint } {
  const draws: { grant: GrantSlot; amountMicroCredits: bigint }[] = [];
  let left = amount;
  const take = (g: GrantSlot) => {
    if (left <= 0n || g.state !== "live" || g.remainingMicroCredits <= 0n) return;
    const d = g.remainingMicroCredits < left ? g.remainingMicroCredits : left;
    g.remainingMicroCredits -= d;
    left -= d;
    draws.push({ grant: g, amountMicroCredits: d });
  };
  if (first) take(first);
  for (const g of grants) if (g !== first) take(g);
  return { draws, uncovered: left };
}

/** A grant as the API answers it (`GET /v1/users/:id/grants`): integer micro-credits, epoch ms. */
export const grantSchema = z.object({
  id: z.number().int(),
  accountId: z.string(),
  kind: z.enum(GRANT_KINDS),
  grantedMicroCredits: z.number().int(),
  remainingMicroCredits: z.number().int(),
  priority: z.number().int(),
  /** Null: never expires. */
  expiresAtMs: z.number().int().nullable(),
  /** `live` (may have 0 remaining: used up) or `expired` (its remainder left in an `expiry` entry). */
  state: z.enum(["live", "expired"]),
  /** The credit entry that made it; null for grants made by migration 13 from older balances. */
  sourceEntryId: z.number().int().nullable(),
  ref: z.string().nullable(),
  createdAtMs: z.number().int(),
  closedAtMs: z.number().int().nullable(),
});
export type Grant = z.infer<typeof grantSchema>;

/** A row of `credit_grants` as SQLite returns it. */
interface GrantRow {
  id: number;
  account_id: string;
  kind: GrantKind;
  granted_micro_credits: number;
  remaining_micro_credits: number;
  priority: number;
  expires_at_ms: number | null;
  source_entry_id: number | null;
  ref: string | null;
  state: "live" | "expired";
  created_at_ms: number;
  closed_at_ms: number | null;
}

const GRANT_COLUMNS =
  "id, account_id, kind, granted_micro_credits, remaining_micro_credits, priority, expires_at_ms, source_entry_id, ref, state, created_at_ms, closed_at_ms";

const slotFromRow = (r: GrantRow): GrantSlot => ({
  id: r.id,
  accountId: r.account_id,
  kind: r.kind,
  grantedMicroCredits: BigInt(r.granted_micro_credits),
  remainingMicroCredits: BigInt(r.remaining_micro_credits),
  priority: r.priority,
  expiresAtMs: r.expires_at_ms,
  ref: r.ref,
  state: r.state,
  createdAtMs: r.created_at_ms,
});

const grantFromRow = (r: GrantRow): Grant => ({
  id: r.id,
  accountId: r.account_id,
  kind: r.kind,
  grantedMicroCredits: r.granted_micro_credits,
  remainingMicroCredits: r.remaining_micro_credits,
  priority: r.priority,
  expiresAtMs: r.expires_at_ms,
  state: r.state,
  sourceEntryId: r.source_entry_id,
  ref: r.ref,
  createdAtMs: r.created_at_ms,
  closedAtMs: r.closed_at_ms,
});

/** The `credit_grants` and `ledger_allocations` statements the ledger uses (no business rules). */
export function createGrantStore(db: Db) {
  const live = db.prepare<[string], GrantRow>(
    `SELECT ${GRANT_COLUMNS} FROM credit_grants
      WHERE account_id = ? AND state = 'live' AND remaining_micro_credits > 0`,
  );
  const byRef = db.prepare<[string, string], GrantRow>(
    `SELECT ${GRANT_COLUMNS} FROM credit_grants WHERE account_id = ? AND ref = ? ORDER BY id DESC LIMIT 1`,
  );
  const insert = db.prepare<
    [string, GrantKind, number, number, number, number | null, number, string | null, number]
  >(
    `INSERT INTO credit_grants (account_id, kind, granted_micro_credits, remaining_micro_credits, priority,
       expires_at_ms, source_entry_id, ref, state, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'live', ?)`,
  );
  const setRemaining = db.prepare<[number, number]>(
    "UPDATE credit_grants SET remaining_micro_credits = ? WHERE id = ?",
  );
  const expire = db.prepare<[number, number]>(
    "UPDATE credit_grants SET state = 'expired', remaining_micro_credits = 0, closed_at_ms = ? WHERE id = ? AND state = 'live'",
  );
  const allocate = db.prepare<[number, number, number]>(
    "INSERT INTO ledger_allocations (ledger_entry_id, grant_id, amount_micro_credits) VALUES (?, ?, ?)",
  );
  const list = db.prepare<[string, number], GrantRow>(
    `SELECT ${GRANT_COLUMNS} FROM credit_grants WHERE account_id = ? ORDER BY id DESC LIMIT ?`,
  );
  const due = db.prepare<[number, number], GrantRow>(
    `SELECT ${GRANT_COLUMNS} FROM credit_grants
      WHERE state = 'live' AND expires_at_ms IS NOT NULL AND expires_at_ms <= ? ORDER BY expires_at_ms, id LIMIT ?`,
  );
  const expiringBetween = db.prepare<[number, number, number], GrantRow>(
    `SELECT ${GRANT_COLUMNS} FROM credit_grants
      WHERE state = 'live' AND expires_at_ms IS NOT NULL AND expires_at_ms > ? AND expires_at_ms <= ?
        AND remaining_micro_credits > 0 ORDER BY expires_at_ms, id LIMIT ?`,
  );
  const byId = db.prepare<[number], GrantRow>(`SELECT ${GRANT_COLUMNS} FROM credit_grants WHERE id = ?`);
  const bySource = db.prepare<[number], GrantRow>(
    `SELECT ${GRANT_COLUMNS} FROM credit_grants WHERE source_entry_id = ? ORDER BY id LIMIT 1`,
  );
  const allocationsOf = db.prepare<[number], { grant_id: number; amount_micro_credits: number }>(
    "SELECT grant_id, amount_micro_credits FROM ledger_allocations WHERE ledger_entry_id = ? ORDER BY grant_id",
  );
  return {
    /** Live grants with something left, in burn order. */
    liveSlots(accountId: string): GrantSlot[] {
      return live.all(accountId).map(slotFromRow).sort(burnOrder);
    },
    /** The newest grant of the account made by a credit entry with this `ref` (a top-up id). */
    slotByRef(accountId: string, ref: string): GrantSlot | null {
      const r = byRef.get(accountId, ref);
      return r ? slotFromRow(r) : null;
    },
    insert(s: Omit<GrantSlot, "id" | "state">, sourceEntryId: number): number {
      return Number(
        insert.run(
          s.accountId,
          s.kind,
          Number(s.grantedMicroCredits),
          Number(s.remainingMicroCredits),
          s.priority,
          s.expiresAtMs,
          sourceEntryId,
          s.ref,
          s.createdAtMs,
        ).lastInsertRowid,
      );
    },
    setRemaining(id: number, remaining: bigint): void {
      setRemaining.run(Number(remaining), id);
    },
    markExpired(id: number, nowMs: number): boolean {
      return expire.run(nowMs, id).changes > 0;
    },
    allocate(entryId: number, grantId: number, amount: bigint): void {
      allocate.run(entryId, grantId, Number(amount));
    },
    list(accountId: string, limit: number): Grant[] {
      return list.all(accountId, limit).map(grantFromRow);
    },
    get(id: number): Grant | null {
      const r = byId.get(id);
      return r ? grantFromRow(r) : null;
    },
    /** The grant a credit entry made (null: a debit, or a credit restored into an existing grant). */
    bySourceEntry(entryId: number): Grant | null {
      const r = bySource.get(entryId);
      return r ? grantFromRow(r) : null;
    },
    /** Live grants whose expiry time is at or before `nowMs` (including used-up ones), soonest first. */
    due(nowMs: number, limit: number): Grant[] {
      return due.all(nowMs, limit).map(grantFromRow);
    },
    /** Live grants with something left expiring in (afterMs, untilMs], soonest first. */
    expiringBetween(afterMs: number, untilMs: number, limit: number): Grant[] {
      return expiringBetween.all(afterMs, untilMs, limit).map(grantFromRow);
    },
    /** The allocation rows of one ledger entry (grant id, micro-credits drawn; negative: put back). */
    allocationsOf(entryId: number): { grantId: number; amountMicroCredits: number }[] {
      return allocationsOf
        .all(entryId)
        .map((r) => ({ grantId: r.grant_id, amountMicroCredits: r.amount_micro_credits }));
    },
  };
}

export type GrantStore = ReturnType<typeof createGrantStore>;
