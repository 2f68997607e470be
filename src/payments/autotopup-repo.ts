import type { Db } from "../db/index.js";
import type { SavedCard } from "./stripe.js";

/** An account's auto top-up choice (`autotopup_settings`). */
export interface AutoTopupSettings {
  accountId: string;
  enabled: boolean;
  packId: string;
  /** Upper-case ISO 4217, or null: the pack's first Stripe price. */
  currency: string | null;
  /** Charge when the balance drops strictly below this, in micro-credits. */
  thresholdMicroCredits: number;
  updatedAtMs: number;
}

/** An account's Stripe Customer and the card saved on it (`stripe_customers`). */
export interface StripeCustomerRow {
  accountId: string;
  customerId: string;
  paymentMethodId: string | null;
  cardBrand: string | null;
  cardLast4: string | null;
  cardSavedAtMs: number | null;
}

export const TRIGGER_STATES = ["claimed", "processing", "succeeded", "declined"] as const;
/**
 * `claimed`: decided, Stripe not (yet) answered (a crash or a network error leaves it here; it is
 * resumed with the same idempotency key); `processing`: Stripe accepted, money not settled yet;
 * `succeeded`: paid; `declined`: the card was refused (backoff, the user was told).
 */
export type TriggerState = (typeof TRIGGER_STATES)[number];

/** One decided off-session charge (`autotopup_triggers`). */
export interface AutoTopupTrigger {
  id: number;
  triggerKey: string;
  accountId: string;
  episode: string;
  attempt: number;
  topupId: string;
  state: TriggerState;
  paymentIntentId: string | null;
  declineCode: string | null;
  lastError: string | null;
  createdAtMs: number;
  updatedAtMs: number;
  /** The top-up's status (a webhook may have failed or paid it meanwhile). */
  topupStatus: string;
  topupUpdatedAtMs: number;
}

interface TriggerRow {
  id: number;
  trigger_key: string;
  account_id: string;
  episode: string;
  attempt: number;
  topup_id: string;
  state: TriggerState;
  payment_intent_id: string | null;
  decline_code: string | null;
  last_error: string | null;
  created_at_ms: number;
  updated_at_ms: number;
  topup_status: string;
  topup_updated_at_ms: number;
}

const TRIGGER_SELECT = `SELECT t.id, t.trigger_key, t.account_id, t.episode, t.attempt, t.topup_id, t.state,
  t.payment_intent_id, t.decline_code, t.last_error, t.created_at_ms, t.updated_at_ms,
  u.status AS topup_status, u.updated_at_ms AS topup_updated_at_ms
  FROM autotopup_triggers t JOIN topups u ON u.id = t.topup_id`;

const triggerOf = (r: TriggerRow): AutoTopupTrigger => ({
  id: r.id,
  triggerKey: r.trigger_key,
  accountId: r.account_id,
  episode: r.episode,
  attempt: r.attempt,
  topupId: r.topup_id,
  state: r.state,
  paymentIntentId: r.payment_intent_id,
  declineCode: r.decline_code,
  lastError: r.last_error,
  createdAtMs: r.created_at_ms,
  updatedAtMs: r.updated_at_ms,
  topupStatus: r.topup_status,
  topupUpdatedAtMs: r.topup_updated_at_ms,
});

/**
 * Prepared statements over `autotopup_settings`, `stripe_customers` and `autotopup_triggers`.
 * Synchronous; callers own the transactions.
 */
export function createAutoTopupRepo(db: Db) {
  const getSettings = db.prepare<
    [string],
    {
      account_id: string;
      enabled: number;
      pack_id: string;
      currency: string | null;
      threshold_micro_credits: number;
      updated_at_ms: number;
    }
  >(
    `SELECT account_id, enabled, pack_id, currency, threshold_micro_credits, updated_at_ms
       FROM autotopup_settings WHERE account_id = ?`,
  );
  const putSettings = db.prepare(
    `INSERT INTO autotopup_settings (account_id, enabled, pack_id, currency, threshold_micro_credits, updated_at_ms)
     VALUES (@account_id, 1, @pack_id, @currency, @threshold, @now)
     ON CONFLICT (account_id) DO UPDATE SET enabled = 1, pack_id = excluded.pack_id,
       currency = excluded.currency, threshold_micro_credits = excluded.threshold_micro_credits,
       updated_at_ms = excluded.updated_at_ms`,
  );
  const disable = db.prepare<[number, string]>(
    "UPDATE autotopup_settings SET enabled = 0, updated_at_ms = ? WHERE account_id = ?",
  );
  const getCustomer = db.prepare<
    [string],
    {
      account_id: string;
      customer_id: string;
      payment_method_id: string | null;
      card_brand: string | null;
      card_last4: string | null;
      card_saved_at_ms: number | null;
    }
  >(
    `SELECT account_id, customer_id, payment_method_id, card_brand, card_last4, card_saved_at_ms
       FROM stripe_customers WHERE account_id = ?`,
  );
  const insertCustomer = db.prepare<[string, string, number, number]>(
    `INSERT INTO stripe_customers (account_id, customer_id, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?)
     ON CONFLICT (account_id) DO NOTHING`,
  );
  const saveCard = db.prepare(
    `INSERT INTO stripe_customers (account_id, customer_id, payment_method_id, card_brand, card_last4,
       card_saved_at_ms, created_at_ms, updated_at_ms)
     VALUES (@account_id, @customer_id, @pm, @brand, @last4, @now, @now, @now)
     ON CONFLICT (account_id) DO UPDATE SET customer_id = excluded.customer_id,
       payment_method_id = excluded.payment_method_id, card_brand = excluded.card_brand,
       card_last4 = excluded.card_last4, card_saved_at_ms = excluded.card_saved_at_ms,
       updated_at_ms = excluded.updated_at_ms`,
  );
  const episodeTriggers = db.prepare<[string, string], TriggerRow>(
    `${TRIGGER_SELECT} WHERE t.account_id = ? AND t.episode = ? ORDER BY t.attempt`,
  );
  const lastDecline = db.prepare<[string], TriggerRow>(
    `${TRIGGER_SELECT} WHERE t.account_id = ? AND (t.state = 'declined' OR u.status = 'failed')
      ORDER BY t.id DESC LIMIT 1`,
  );
  const countSince = db.prepare<[string, number], { n: number }>(
    "SELECT COUNT(*) AS n FROM autotopup_triggers WHERE account_id = ? AND created_at_ms > ?",
  );
  const insertTrigger = db.prepare(
    `INSERT INTO autotopup_triggers (trigger_key, account_id, episode, attempt, topup_id, state, created_at_ms, updated_at_ms)
     VALUES (@key, @account_id, @episode, @attempt, @topup_id, 'claimed', @now, @now)
     ON CONFLICT (trigger_key) DO NOTHING`,
  );
  const byKey = db.prepare<[string], TriggerRow>(`${TRIGGER_SELECT} WHERE t.trigger_key = ?`);
  const setState = db.prepare(
    `UPDATE autotopup_triggers SET state = @state, payment_intent_id = COALESCE(@pi, payment_intent_id),
       decline_code = @decline_code, last_error = @last_error, updated_at_ms = @now WHERE id = @id`,
  );
  const touch = db.prepare<[string | null, number, number, number]>(
    "UPDATE autotopup_triggers SET last_error = ?, updated_at_ms = ? WHERE id = ? AND state = 'claimed' AND updated_at_ms <= ?",
  );
  const staleClaims = db.prepare<[number, number], TriggerRow>(
    `${TRIGGER_SELECT} WHERE t.state = 'claimed' AND t.updated_at_ms <= ? ORDER BY t.updated_at_ms LIMIT ?`,
  );
  const recent = db.prepare<[string, number], TriggerRow>(
    `${TRIGGER_SELECT} WHERE t.account_id = ? ORDER BY t.id DESC LIMIT ?`,
  );
  const balance = db.prepare<[string], { balance_micro_credits: number }>(
    "SELECT balance_micro_credits FROM accounts WHERE id = ?",
  );
  // The low-balance episode: the latest credit that was not usage (a top-up, grant, restore).
  const lastCredit = db.prepare<[string], { id: number }>(
    `SELECT id FROM ledger_entries WHERE account_id = ? AND amount_micro_credits > 0 AND kind != 'usage'
      ORDER BY id DESC LIMIT 1`,
  );

  // The funding entry of an episode when it is the credit of one of our own auto top-ups.
  const autoFunding = db.prepare<[number], { balance_after_micro_credits: number }>(
    `SELECT e.balance_after_micro_credits FROM ledger_entries e
      WHERE e.id = ? AND e.kind = 'topup'
        AND EXISTS (SELECT 1 FROM autotopup_triggers t WHERE t.topup_id = e.ref)`,
  );

  // The refunds and chargebacks that took credits back since an episode's credit, and a top-up
  // under dispute.
  const reversalsSince = db.prepare<[string, number], { amount: number | string; ref: string | null }>(
    `SELECT amount_micro_credits AS amount, ref FROM ledger_entries
      WHERE account_id = ? AND id > ? AND kind = 'reversal' AND amount_micro_credits < 0 ORDER BY id`,
  );
  const disputedTopup = db.prepare<[string], { id: string }>(
    "SELECT id FROM topups WHERE account_id = ? AND disputed_minor > 0 ORDER BY id LIMIT 1",
  );

  return {
    /**
     * What refunds and chargebacks have taken back from the account since the credit that opened
     * `episode` (micro-credits, positive), and the top-ups they were of: a restore (a refund that
     * failed, a dispute won) is a credit and opens the next episode, so these are all still taken.
     */
    reversedSince(accountId: string, episode: string): { microCredits: number; topupIds: string[] } {
      const id = Number(episode.slice("fund:".length));
      const rows = reversalsSince.all(accountId, Number.isSafeInteger(id) && id > 0 ? id : 0);
      const topupIds = [...new Set(rows.flatMap((r) => (r.ref ? [r.ref] : [])))];
      return { microCredits: rows.reduce((n, r) => n - Number(r.amount), 0), topupIds };
    },
    /** A top-up of the account under an open or lost dispute / chargeback, or null. */
    disputedTopup(accountId: string): string | null {
      return disputedTopup.get(accountId)?.id ?? null;
    },
    /**
     * The balance (micro-credits) right after the credit that opened `episode`, when that credit
     * was an auto top-up's own; `null` for any other credit (a manual top-up, a grant) or none.
     */
    autoTopupFundedBalance(episode: string): number | null {
      const id = Number(episode.slice("fund:".length));
      return Number.isSafeInteger(id) && id > 0
        ? (autoFunding.get(id)?.balance_after_micro_credits ?? null)
        : null;
    },
    settings(accountId: string): AutoTopupSettings | null {
      const r = getSettings.get(accountId);
      return r
        ? {
            accountId: r.account_id,
            enabled: r.enabled === 1,
            packId: r.pack_id,
            currency: r.currency,
            thresholdMicroCredits: r.threshold_micro_credits,
            updatedAtMs: r.updated_at_ms,
          }
        : null;
    },
    /** Turns auto top-up on with this pack and threshold (replacing earlier choices). */
    putSettings(
      accountId: string,
      s: { packId: string; currency: string | null; thresholdMicroCredits: number },
      nowMs: number,
    ): void {
      putSettings.run({
        account_id: accountId,
        pack_id: s.packId,
        currency: s.currency,
        threshold: s.thresholdMicroCredits,
        now: nowMs,
      });
    },
    /** Turns auto top-up off (the saved card stays, for a later `set`). False: never set. */
    disable(accountId: string, nowMs: number): boolean {
      return disable.run(nowMs, accountId).changes > 0;
    },
    customer(accountId: string): StripeCustomerRow | null {
      const r = getCustomer.get(accountId);
      return r
        ? {
            accountId: r.account_id,
            customerId: r.customer_id,
            paymentMethodId: r.payment_method_id,
            cardBrand: r.card_brand,
            cardLast4: r.card_last4,
            cardSavedAtMs: r.card_saved_at_ms,
          }
        : null;
    },
    /** Stores a freshly created Customer id; a concurrent insert wins (its id is returned). */
    addCustomer(accountId: string, customerId: string, nowMs: number): string {
      insertCustomer.run(accountId, customerId, nowMs, nowMs);
      return getCustomer.get(accountId)?.customer_id ?? customerId;
    },
    /** Records the card saved at a checkout (the latest one wins). */
    saveCard(accountId: string, card: SavedCard, nowMs: number): void {
      saveCard.run({
        account_id: accountId,
        customer_id: card.customerId,
        pm: card.paymentMethodId,
        brand: card.brand,
        last4: card.last4,
        now: nowMs,
      });
    },
    balanceMicroCredits(accountId: string): number {
      return balance.get(accountId)?.balance_micro_credits ?? 0;
    },
    /** `fund:<ledger entry id>` of the credit the current balance came from (`fund:0`: none). */
    episode(accountId: string): string {
      return `fund:${lastCredit.get(accountId)?.id ?? 0}`;
    },
    episodeTriggers(accountId: string, episode: string): AutoTopupTrigger[] {
      return episodeTriggers.all(accountId, episode).map(triggerOf);
    },
    /** The account's latest declined trigger (or one whose top-up failed), or null. */
    lastDecline(accountId: string): AutoTopupTrigger | null {
      const r = lastDecline.get(accountId);
      return r ? triggerOf(r) : null;
    },
    /** Triggers (charges decided) for the account created after `sinceMs`. */
    countSince(accountId: string, sinceMs: number): number {
      return countSince.get(accountId, sinceMs)?.n ?? 0;
    },
    /** Claims a trigger; null when the key is taken (another worker claimed it first). */
    claim(
      t: { key: string; accountId: string; episode: string; attempt: number; topupId: string },
      nowMs: number,
    ): AutoTopupTrigger | null {
      const r = insertTrigger.run({
        key: t.key,
        account_id: t.accountId,
        episode: t.episode,
        attempt: t.attempt,
        topup_id: t.topupId,
        now: nowMs,
      });
      if (r.changes === 0) return null;
      const row = byKey.get(t.key);
      return row ? triggerOf(row) : null;
    },
    setState(
      id: number,
      s: {
        state: TriggerState;
        paymentIntentId?: string | null;
        declineCode?: string | null;
        lastError?: string | null;
      },
      nowMs: number,
    ): void {
      setState.run({
        id,
        state: s.state,
        pi: s.paymentIntentId ?? null,
        decline_code: s.declineCode ?? null,
        last_error: s.lastError ?? null,
        now: nowMs,
      });
    },
    /**
     * Takes over a `claimed` trigger last touched at or before `staleBeforeMs` (a lease): true
     * for exactly one caller, which then resumes it with the same idempotency key.
     */
    takeOver(id: number, lastError: string | null, staleBeforeMs: number, nowMs: number): boolean {
      return touch.run(lastError?.slice(0, 500) ?? null, nowMs, id, staleBeforeMs).changes > 0;
    },
    staleClaims(staleBeforeMs: number, limit = 100): AutoTopupTrigger[] {
      return staleClaims.all(staleBeforeMs, limit).map(triggerOf);
    },
    recent(accountId: string, limit = 10): AutoTopupTrigger[] {
      return recent.all(accountId, limit).map(triggerOf);
    },
  };
}

export type AutoTopupRepo = ReturnType<typeof createAutoTopupRepo>;
