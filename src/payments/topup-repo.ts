import type { Db } from "../db/index.js";
import { toMicroCredits, toSafeNumber } from "../money.js";
import type { ProviderName } from "./packs.js";
import type { Topup, TopupStatus } from "./types.js";

/** A row of `topups` as SQLite returns it (amounts within 2^53: written through `toSafeNumber`). */
interface TopupRow {
  id: string;
  account_id: string;
  pack_id: string;
  provider: ProviderName;
  currency: string;
  amount_minor: number;
  currency_exponent: number;
  grant_micro_credits: number;
  status: TopupStatus;
  provider_ref: string | null;
  payment_ref: string | null;
  checkout_url: string | null;
  expires_at_ms: number;
  refunded_minor: number;
  disputed_minor: number;
  reversed_micro_credits: number;
  reversal_count: number;
  last_error: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  paid_at_ms: number | null;
  collected_minor: number | null;
}

/**
 * How long after its link expired a failed MercadoPago top-up is still reconciled: an
 * attempt started before the preference expired (another card after a rejected one) is decided
 * within minutes, and a day covers a reconcile worker that was down meanwhile.
 */
export const MERCADOPAGO_RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;

const TOPUP_COLUMNS = `id, account_id, pack_id, provider, currency, amount_minor, currency_exponent,
  grant_micro_credits, status, provider_ref, payment_ref, checkout_url, expires_at_ms, refunded_minor,
  disputed_minor, reversed_micro_credits, reversal_count, last_error, created_at_ms, updated_at_ms, paid_at_ms,
  collected_minor`;

function fromRow(r: TopupRow): Topup {
  return {
    id: r.id,
    accountId: r.account_id,
    packId: r.pack_id,
    provider: r.provider,
    currency: r.currency,
    amountMinor: BigInt(r.amount_minor),
    currencyExponent: r.currency_exponent,
    grantMicroCredits: BigInt(r.grant_micro_credits),
    status: r.status,
    providerRef: r.provider_ref,
    paymentRef: r.payment_ref,
    checkoutUrl: r.checkout_url,
    expiresAtMs: r.expires_at_ms,
    refundedMinor: BigInt(r.refunded_minor),
    disputedMinor: BigInt(r.disputed_minor),
    reversedMicroCredits: BigInt(r.reversed_micro_credits),
    reversalCount: r.reversal_count,
    lastError: r.last_error,
    createdAtMs: r.created_at_ms,
    updatedAtMs: r.updated_at_ms,
    paidAtMs: r.paid_at_ms,
    collectedMinor: r.collected_minor === null ? null : BigInt(r.collected_minor),
  };
}

export type NewTopup = Pick<
  Topup,
  | "id"
  | "accountId"
  | "packId"
  | "provider"
  | "currency"
  | "amountMinor"
  | "currencyExponent"
  | "grantMicroCredits"
  | "expiresAtMs"
>;

/** Fields fulfilment may change; everything else about a top-up is fixed at creation. */
export type TopupPatch = Pick<
  Topup,
  | "status"
  | "paymentRef"
  | "refundedMinor"
  | "disputedMinor"
  | "reversedMicroCredits"
  | "reversalCount"
  | "lastError"
  | "paidAtMs"
> &
  /** Set when a payment is applied; absent or null leaves the stored value (never unset). */
  Partial<Pick<Topup, "collectedMinor">>;

/** Prepared statements over `topups`. Synchronous; callers own the transactions. */
export function createTopupRepo(db: Db) {
  const insert = db.prepare(
    `INSERT INTO topups (id, account_id, pack_id, provider, currency, amount_minor, currency_exponent,
       grant_micro_credits, status, expires_at_ms, created_at_ms, updated_at_ms)
     VALUES (@id, @account_id, @pack_id, @provider, @currency, @amount_minor, @currency_exponent,
       @grant_micro_credits, 'pending', @expires_at_ms, @now, @now)`,
  );
  const byId = db.prepare<[string], TopupRow>(`SELECT ${TOPUP_COLUMNS} FROM topups WHERE id = ?`);
  const byProviderRef = db.prepare<[string, string], TopupRow>(
    `SELECT ${TOPUP_COLUMNS} FROM topups WHERE provider = ? AND provider_ref = ?`,
  );
  const byPaymentRef = db.prepare<[string, string], TopupRow>(
    `SELECT ${TOPUP_COLUMNS} FROM topups WHERE provider = ? AND payment_ref = ?`,
  );
  const setCheckout = db.prepare<[string, string, number, string]>(
    "UPDATE topups SET provider_ref = ?, checkout_url = ?, updated_at_ms = ? WHERE id = ?",
  );
  const setProviderRef = db.prepare<[string, number, string]>(
    "UPDATE topups SET provider_ref = ?, updated_at_ms = ? WHERE id = ? AND provider_ref IS NULL",
  );
  const setCreationFailed = db.prepare<[string, number, string]>(
    "UPDATE topups SET status = 'failed', last_error = ?, updated_at_ms = ? WHERE id = ? AND status = 'pending'",
  );
  const patch = db.prepare(
    `UPDATE topups SET status = @status, payment_ref = @payment_ref, refunded_minor = @refunded_minor,
       disputed_minor = @disputed_minor, reversed_micro_credits = @reversed_micro_credits,
       reversal_count = @reversal_count, last_error = @last_error, paid_at_ms = @paid_at_ms,
       collected_minor = COALESCE(@collected_minor, collected_minor), updated_at_ms = @now
     WHERE id = @id`,
  );
  // Pending and awaiting top-ups first, oldest first; then the failed MercadoPago ones kept for a
  // later attempt, newest first. Those stay due for a day after their link expired whatever
  // reconcile finds, so ordered by age alone a run of rejected cards (card testing makes hundreds)
  // filled every batch and a paid top-up whose notification was lost was never reached (case
  // test/cases/reconcile-failed-retries-starve-pending).
  const due = db.prepare<[number, number, number], TopupRow>(
    `SELECT ${TOPUP_COLUMNS} FROM topups
      WHERE (status IN ('pending', 'awaiting_payment')
             OR (provider = 'mercadopago' AND status = 'failed' AND expires_at_ms >= ?))
        AND created_at_ms <= ?
      ORDER BY CASE WHEN status = 'failed' THEN 1 ELSE 0 END,
               CASE WHEN status = 'failed' THEN -created_at_ms ELSE created_at_ms END
      LIMIT ?`,
  );
  const recent = db.prepare<[number], TopupRow>(
    `SELECT ${TOPUP_COLUMNS} FROM topups ORDER BY created_at_ms DESC LIMIT ?`,
  );

  return {
    insert(t: NewTopup, nowMs: number): void {
      insert.run({
        id: t.id,
        account_id: t.accountId,
        pack_id: t.packId,
        provider: t.provider,
        currency: t.currency,
        amount_minor: toSafeNumber(t.amountMinor),
        currency_exponent: t.currencyExponent,
        grant_micro_credits: toMicroCredits(t.grantMicroCredits),
        expires_at_ms: t.expiresAtMs,
        now: nowMs,
      });
    },
    get(id: string): Topup | null {
      const r = byId.get(id);
      return r ? fromRow(r) : null;
    },
    findByProviderRef(provider: ProviderName, ref: string): Topup | null {
      const r = byProviderRef.get(provider, ref);
      return r ? fromRow(r) : null;
    },
    findByPaymentRef(provider: ProviderName, ref: string): Topup | null {
      const r = byPaymentRef.get(provider, ref);
      return r ? fromRow(r) : null;
    },
    setCheckout(id: string, providerRef: string, url: string, nowMs: number): void {
      setCheckout.run(providerRef, url, nowMs, id);
    },
    /** An auto top-up's PaymentIntent id (set once: it is what reconciliation asks Stripe about). */
    setProviderRef(id: string, providerRef: string, nowMs: number): void {
      setProviderRef.run(providerRef, nowMs, id);
    },
    markCreationFailed(id: string, error: string, nowMs: number): void {
      setCreationFailed.run(error.slice(0, 500), nowMs, id);
    },
    update(id: string, p: TopupPatch, nowMs: number): void {
      patch.run({
        id,
        status: p.status,
        payment_ref: p.paymentRef,
        refunded_minor: toSafeNumber(p.refundedMinor),
        disputed_minor: toSafeNumber(p.disputedMinor),
        reversed_micro_credits: toMicroCredits(p.reversedMicroCredits),
        reversal_count: p.reversalCount,
        last_error: p.lastError,
        paid_at_ms: p.paidAtMs,
        collected_minor: p.collectedMinor == null ? null : toSafeNumber(p.collectedMinor),
        now: nowMs,
      });
    },
    /**
     * Top-ups whose payment may still arrive, created at or before `createdBeforeMs`: pending and
     * awaiting payment, and failed MercadoPago ones whose link expired at or after
     * `retryLinksSinceMs`. A Checkout Pro preference takes another attempt after a rejected one
     * (another card) until it expires: a top-up failed by the first attempt is paid by the next,
     * whose notification may be the one lost. Pending and awaiting ones come first (oldest first), the
     * failed ones after them (newest first), so these never crowd the others out of a batch.
     * @defaultValue retryLinksSinceMs: `createdBeforeMs` − 24 h
     */
    listUnsettled(
      createdBeforeMs: number,
      limit = 500,
      retryLinksSinceMs = createdBeforeMs - MERCADOPAGO_RETRY_WINDOW_MS,
    ): Topup[] {
      return due.all(retryLinksSinceMs, createdBeforeMs, limit).map(fromRow);
    },
    listRecent(limit = 50): Topup[] {
      return recent.all(limit).map(fromRow);
    },
  };
}

export type TopupRepo = ReturnType<typeof createTopupRepo>;
