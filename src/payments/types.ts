import type { ProviderName } from "./packs.js";

export const TOPUP_STATUSES = ["pending", "awaiting_payment", "paid", "failed", "expired"] as const;
/**
 * `pending`: link handed out; `awaiting_payment`: payer chose a delayed method (SEPA, boleto, cash);
 * `paid`: credits granted (terminal: nothing moves a paid top-up back); `failed` / `expired`: no
 * money arrived (a later verified payment still grants: a payment that happened is never lost).
 */
export type TopupStatus = (typeof TOPUP_STATUSES)[number];

export interface Topup {
  id: string;
  accountId: string;
  packId: string;
  provider: ProviderName;
  /** Upper-case ISO 4217. */
  currency: string;
  amountMinor: bigint;
  /** Decimal places of `amountMinor` for this provider and currency. */
  currencyExponent: number;
  grantMicroCredits: bigint;
  status: TopupStatus;
  providerRef: string | null;
  paymentRef: string | null;
  checkoutUrl: string | null;
  expiresAtMs: number;
  /** Cumulative refunded amount, minor units (a high-water mark of what the provider reported). */
  refundedMinor: bigint;
  /** Amount under an open or lost dispute / chargeback, minor units. */
  disputedMinor: bigint;
  /** What this top-up's reversal ledger entries total (positive = taken back). */
  reversedMicroCredits: bigint;
  reversalCount: number;
  lastError: string | null;
  createdAtMs: number;
  updatedAtMs: number;
  paidAtMs: number | null;
  /**
   * What the provider collected for the paid top-up, minor units of `currency`, without a tax added
   * on top: below `amountMinor` when a coupon or promotion code paid part of the price (0 for a
   * 100% one). Null: `amountMinor` was collected (every top-up paid before migration 43). When
   * set, `refundedMinor` and `disputedMinor` are counted in it; null keeps them in `amountMinor`'s.
   */
  collectedMinor: bigint | null;
}

/**
 * A provider-neutral fact about one payment, produced from a verified webhook or a provider
 * query and applied by the one idempotent fulfilment path.
 */
export interface PaymentObservation {
  /** What the provider says; `unchanged` carries only refund/dispute levels or references. */
  state: "unchanged" | "awaiting_payment" | "paid" | "failed" | "expired";
  /** Required with `paid`: what was actually charged, checked against the top-up. */
  paid?: {
    amountMinor: bigint;
    currency: string;
    /**
     * What was actually collected, in the same currency and units, when it is less than
     * `amountMinor` (a coupon or promotion code paid the rest). Absent: `amountMinor`.
     */
    collectedMinor?: bigint;
  };
  /** Our top-up id as echoed by the provider (metadata / external_reference), cross-checked. */
  echoedTopupId?: string | null;
  paymentRef?: string | null;
  /** Cumulative refunded amount, minor units. */
  refundedMinor?: bigint;
  /** True when `refundedMinor` is the provider's current value (may lower); false: a snapshot (only raises). */
  refundIsCurrent?: boolean;
  /** Current amount under dispute / chargeback (0 = none or won), minor units. */
  disputedMinor?: bigint;
  /**
   * The whole payment in the units `refundedMinor` and `disputedMinor` are counted in (a Stripe
   * charge's `amount`), when they may not be the top-up's: Adaptive Pricing charges the customer
   * in their own currency, so a charge's refunds and disputes can be in it (JPY 750 for a USD 5.00
   * pack). Applied as a share of it. Absent: they are in the top-up's own minor units.
   */
  amountBasisMinor?: bigint;
  /**
   * When the provider says the payment was made (epoch ms: MercadoPago's `date_approved`, a Stripe
   * event's `created`), for the top-up's `paidAtMs` (revenue by day): a webhook retried for hours or
   * a payment `reconcile` recovers days later was still paid then. Absent: when it is applied.
   */
  paidAtMs?: number;
  /** Set when the fact itself is unacceptable (e.g. live_mode mismatch): recorded, never applied. */
  problem?: string;
  /** Human summary for ledger reasons and logs, e.g. "stripe charge.refunded". */
  source: string;
}

export interface CheckoutInput {
  topup: Topup;
  title: string;
  publicBaseUrl: string;
  /** Opt-in to auto top-up: save the card on this Stripe Customer (`setup_future_usage=off_session`). */
  saveCard?: { customerId: string };
}

export interface CheckoutLink {
  providerRef: string;
  url: string;
}

/**
 * A gateway's webhook secret option → the secrets to try: one, or several comma-separated (a
 * secret being rolled, two endpoints delivering to one server). Each trimmed, empties dropped.
 */
export function webhookSecrets(value: string): string[] {
  return value
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
