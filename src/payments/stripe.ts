import { createHash } from "node:crypto";
import Stripe from "stripe";
import { AppError, ErrorCode } from "../errors.js";
import { divRoundHalfUp } from "../money.js";
import { type CheckoutInput, type CheckoutLink, type PaymentObservation, webhookSecrets } from "./types.js";

/** Webhook timestamps older than this are rejected (Stripe's own default). */
export const STRIPE_SIGNATURE_TOLERANCE_S = 300;

export interface StripeGatewayOptions {
  secretKey: string;
  /** The endpoint's `whsec_…`, or several comma-separated (a rolled secret, two endpoints): any may sign. */
  webhookSecret: string;
  /**
   * Another API host for the real SDK (`STRIPE_API_BASE_URL`: stripe-mock, a proxy, a test fake):
   * `{ host: "127.0.0.1", port: 12111, protocol: "http" }`. Default: Stripe's own API.
   */
  api?: { host: string; port: number; protocol: "http" | "https" };
  /** Per-request timeout of the SDK, in ms. @defaultValue 20_000 */
  timeoutMs?: number;
  /** SDK retries of a failed network request (idempotency keys make them safe). @defaultValue 2 */
  maxNetworkRetries?: number;
}

export type StripeVerifyResult =
  | { ok: true; event: Stripe.Event }
  | { ok: false; reason: "signature" | "malformed"; message: string };

/** Where a Stripe event says its top-up is: our id if echoed, else the session or PaymentIntent. */
export interface StripeEventFact {
  topupId: string | null;
  sessionId: string | null;
  paymentIntentId: string | null;
  /** Dispute events are snapshots that can arrive out of order: re-retrieve the dispute by this id. */
  disputeId?: string;
  observation: PaymentObservation;
}

/**
 * A charge → its cumulative refund. From a `charge.refunded` snapshot the level only ever rises;
 * `isCurrent` (a fresh retrieve, e.g. after `refund.failed`) may lower it and restore credits.
 */
export function observeCharge(charge: Stripe.Charge, source: string, isCurrent: boolean): StripeEventFact {
  const paymentIntentId = idOf(charge.payment_intent);
  return {
    topupId: charge.metadata?.topup_id ?? null,
    sessionId: null,
    paymentIntentId,
    observation: {
      state: "unchanged",
      paymentRef: paymentIntentId,
      refundedMinor: BigInt(charge.amount_refunded),
      // In the charge's currency: with Adaptive Pricing, possibly not the top-up's.
      amountBasisMinor: BigInt(charge.amount),
      refundIsCurrent: isCurrent,
      source,
    },
  };
}

/**
 * Disputes still open, or lost, hold the disputed amount; won releases it. An inquiry
 * (`warning_needs_response`, `warning_under_review`, `warning_closed`) withdraws no funds ("no
 * funds are withdrawn unless the inquiry is elevated to a dispute", Stripe's "How disputes work",
 * Inquiries; Automattic/woocommerce-payments#7885, #1051): it holds nothing until it escalates to
 * a dispute (`needs_response`, re-read on the `charge.dispute.*` event that says so).
 */
const DISPUTE_RELEASED = new Set(["won", "warning_closed", "warning_needs_response", "warning_under_review"]);

/**
 * A dispute Stripe `prevented` (dispute prevention, API 2025-08-27.basil: "Stripe can block or
 * resolve disputes before they're raised to formal chargebacks", `payment_method_details.card.
 * case_type` `block` or `resolution`) never became a chargeback, so unlike an open one it did not
 * by itself take the money. What it did take shows in its `balance_transactions` ("zero, one, or
 * two balance transactions that show funds withdrawn and reinstated to your Stripe account as a
 * result of this dispute"): held only while they net to a withdrawal. A resolution that refunds
 * the cardholder through a Refund is reversed by the refund's own event (the charge's
 * `amount_refunded`), never twice.
 */
function preventedDisputeWithdrew(dispute: Stripe.Dispute): boolean {
  const txs = Array.isArray(dispute.balance_transactions) ? dispute.balance_transactions : [];
  let net = 0;
  for (const tx of txs) if (typeof tx?.amount === "number") net += tx.amount;
  return net < 0;
}

/** The amount a dispute in its current status holds: none for an inquiry, a won or a prevented one that took nothing. */
function disputeHoldMinor(dispute: Stripe.Dispute): bigint {
  if (DISPUTE_RELEASED.has(dispute.status)) return 0n;
  if (dispute.status === "prevented" && !preventedDisputeWithdrew(dispute)) return 0n;
  return BigInt(dispute.amount);
}

/** A dispute's CURRENT state (after re-retrieving it) → the disputed amount to hold. */
export function observeDispute(dispute: Stripe.Dispute, source: string): StripeEventFact {
  const paymentIntentId = idOf(dispute.payment_intent);
  return {
    topupId: dispute.metadata?.topup_id ?? null,
    sessionId: null,
    paymentIntentId,
    observation: {
      state: "unchanged",
      paymentRef: paymentIntentId,
      disputedMinor: disputeHoldMinor(dispute),
      // `amount` is in the charge's currency (Adaptive Pricing: maybe the customer's): a share of
      // the charge when it was retrieved expanded.
      ...(typeof dispute.charge === "object" && dispute.charge !== null
        ? { amountBasisMinor: BigInt(dispute.charge.amount) }
        : {}),
      source: `${source} (dispute ${dispute.status})`,
    },
  };
}

/** The Stripe adapter: Checkout Sessions, webhook verification, and the lookups reconciliation needs. */
export function createStripeGateway(opts: StripeGatewayOptions) {
  const secrets = webhookSecrets(opts.webhookSecret);
  const stripe = new Stripe(opts.secretKey, {
    maxNetworkRetries: opts.maxNetworkRetries ?? 2,
    timeout: opts.timeoutMs ?? 20_000,
    ...(opts.api ? { host: opts.api.host, port: opts.api.port, protocol: opts.api.protocol } : {}),
  });

  return {
    name: "stripe" as const,
    /** The mode the secret key acts in (`sk_live_`/`rk_live_`: true, `sk_test_`/`rk_test_`: false), null if its prefix says neither. */
    liveMode: stripeKeyLiveMode(opts.secretKey),

    async createCheckout({ topup, title, publicBaseUrl, saveCard }: CheckoutInput): Promise<CheckoutLink> {
      const q = `topup=${encodeURIComponent(topup.id)}`;
      // Opt-in: the card is saved on the account's Customer for later off-session auto top-ups.
      const save: Record<string, string> = saveCard ? { save_card: "1" } : {};
      try {
        const session = await stripe.checkout.sessions.create(
          {
            mode: "payment",
            line_items: [
              {
                quantity: 1,
                price_data: {
                  currency: topup.currency.toLowerCase(),
                  unit_amount: Number(topup.amountMinor),
                  product_data: { name: title },
                },
              },
            ],
            client_reference_id: topup.id,
            metadata: { topup_id: topup.id, account_id: topup.accountId, pack_id: topup.packId, ...save },
            // Session metadata is not copied to the PaymentIntent: refunds and disputes only carry it from here.
            payment_intent_data: {
              metadata: { topup_id: topup.id, account_id: topup.accountId, ...save },
              ...(saveCard ? { setup_future_usage: "off_session" as const } : {}),
            },
            ...(saveCard ? { customer: saveCard.customerId } : {}),
            success_url: `${publicBaseUrl}/pay/success?provider=stripe&${q}&session_id={CHECKOUT_SESSION_ID}`,
            cancel_url: `${publicBaseUrl}/pay/cancel?provider=stripe&${q}`,
            expires_at: Math.floor(topup.expiresAtMs / 1000),
          },
          { idempotencyKey: `topup-${topup.id}` },
        );
        if (!session.url) throw new Error(`checkout session ${session.id} has no url`);
        return { providerRef: session.id, url: session.url };
      } catch (cause) {
        throw upstream("stripe: creating the checkout session failed", cause);
      }
    },

    /**
     * Verifies the signature over the exact raw bytes with each configured secret (any one
     * suffices: while a secret is rolled Stripe signs with both, and each endpoint delivering to
     * this server has its own), then parses. Never throws.
     */
    verifyEvent(rawBody: Buffer, signatureHeader: string): StripeVerifyResult {
      const failures: string[] = [];
      for (const secret of secrets) {
        try {
          stripe.webhooks.signature?.verifyHeader(
            rawBody,
            signatureHeader,
            secret,
            STRIPE_SIGNATURE_TOLERANCE_S,
          );
          failures.length = 0;
          break;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
      if (failures.length > 0 || secrets.length === 0) {
        // A secret that matched a stale timestamp says more than the ones that did not match.
        const message =
          failures.find((m) => /timestamp/i.test(m)) ?? failures[0] ?? "no webhook secret configured";
        return { ok: false, reason: "signature", message };
      }
      try {
        const event = JSON.parse(rawBody.toString("utf8")) as Stripe.Event;
        if (typeof event?.id !== "string" || typeof event.type !== "string" || !event.data?.object) {
          return { ok: false, reason: "malformed", message: "not a stripe event object" };
        }
        return { ok: true, event };
      } catch {
        return { ok: false, reason: "malformed", message: "body is not valid JSON" };
      }
    },

    async retrieveSession(sessionId: string): Promise<Stripe.Checkout.Session> {
      try {
        return await stripe.checkout.sessions.retrieve(sessionId);
      } catch (cause) {
        throw upstream(`stripe: retrieving checkout session ${sessionId} failed`, cause);
      }
    },

    /** Our top-up id from a PaymentIntent's metadata (set via `payment_intent_data.metadata`). */
    async topupIdForPaymentIntent(paymentIntentId: string): Promise<string | null> {
      try {
        const pi = await stripe.paymentIntents.retrieve(paymentIntentId);
        return pi.metadata?.topup_id ?? null;
      } catch (cause) {
        throw upstream(`stripe: retrieving payment intent ${paymentIntentId} failed`, cause);
      }
    },

    /**
     * The account's Stripe Customer, created once: the idempotency key `customer-<sha256(account)>`
     * makes concurrent first checkouts get the same one (the caller stores its id for good).
     */
    async createCustomer(accountId: string): Promise<string> {
      try {
        const key = `customer-${createHash("sha256").update(accountId).digest("hex").slice(0, 40)}`;
        const customer = await stripe.customers.create(
          { description: "creditgate account", metadata: { account_id: accountId } },
          { idempotencyKey: key },
        );
        return customer.id;
      } catch (cause) {
        throw upstream("stripe: creating the customer failed", cause);
      }
    },

    /**
     * The card a save-card checkout stored: the PaymentIntent's payment method (expanded) and
     * customer. Only ids, brand and last 4 digits leave this function. Null when the payment
     * saved nothing (no customer or payment method on it).
     */
    async savedCardOf(paymentIntentId: string): Promise<SavedCard | null> {
      try {
        const pi = await stripe.paymentIntents.retrieve(paymentIntentId, { expand: ["payment_method"] });
        const customerId = idOf(pi.customer);
        const pm = pi.payment_method;
        const paymentMethodId = idOf(pm);
        if (!customerId || !paymentMethodId) return null;
        const card = typeof pm === "object" && pm ? pm.card : null;
        return {
          customerId,
          paymentMethodId,
          brand: card?.brand ?? null,
          last4: card?.last4 ?? null,
        };
      } catch (cause) {
        throw upstream(`stripe: retrieving payment intent ${paymentIntentId} failed`, cause);
      }
    },

    /** A PaymentIntent's current state (reconciliation of auto top-ups). */
    async retrievePaymentIntent(paymentIntentId: string): Promise<Stripe.PaymentIntent> {
      try {
        return await stripe.paymentIntents.retrieve(paymentIntentId);
      } catch (cause) {
        throw upstream(`stripe: retrieving payment intent ${paymentIntentId} failed`, cause);
      }
    },

    /**
     * Charges a saved card without the customer present (`off_session: true, confirm: true`)
     * under `idempotencyKey`: the same key always answers the same PaymentIntent, so a retry
     * or a second worker never charges twice. A card decline (402 `card_error`, e.g.
     * `card_declined` or `authentication_required`) is an answer, not a throw; anything else
     * (network, 5xx, bad request) throws a retryable AppError.
     */
    async chargeOffSession(input: OffSessionCharge): Promise<OffSessionResult> {
      try {
        const pi = await stripe.paymentIntents.create(
          {
            amount: Number(input.amountMinor),
            currency: input.currency.toLowerCase(),
            customer: input.customerId,
            payment_method: input.paymentMethodId,
            off_session: true,
            confirm: true,
            description: input.description,
            metadata: input.metadata,
          },
          { idempotencyKey: input.idempotencyKey },
        );
        return { kind: "charged", paymentIntent: pi };
      } catch (err) {
        if (err instanceof Stripe.errors.StripeCardError) {
          return {
            kind: "declined",
            code: err.code ?? "card_declined",
            declineCode: err.decline_code || null,
            message: err.message,
            paymentIntent: err.payment_intent ?? null,
          };
        }
        throw upstream("stripe: off-session charge failed", err);
      }
    },

    /** A dispute's current state: dispute events are snapshots and may arrive out of order. */
    async retrieveDispute(disputeId: string): Promise<Stripe.Dispute> {
      try {
        // The charge expanded: its `amount` is the whole the dispute's `amount` is a part of.
        return await stripe.disputes.retrieve(disputeId, { expand: ["charge"] });
      } catch (cause) {
        throw upstream(`stripe: retrieving dispute ${disputeId} failed`, cause);
      }
    },

    /** The charge's current cumulative refund (used after `refund.failed`, when the level may drop). */
    async retrieveCharge(chargeId: string): Promise<Stripe.Charge> {
      try {
        return await stripe.charges.retrieve(chargeId);
      } catch (cause) {
        throw upstream(`stripe: retrieving charge ${chargeId} failed`, cause);
      }
    },
  };
}

export type StripeGateway = ReturnType<typeof createStripeGateway>;

/**
 * The mode a Stripe secret or restricted key acts in, from its prefix: `sk_live_` / `rk_live_`
 * → true, `sk_test_` / `rk_test_` → false, anything else → null (unknown: not checked).
 */
export function stripeKeyLiveMode(secretKey: string): boolean | null {
  const m = /^[sr]k_(live|test)_/.exec(secretKey.trim());
  return m ? m[1] === "live" : null;
}

/**
 * Why a verified Stripe event is not about this account's payments, or null when it is. Connect
 * endpoints get events of connected accounts (`account: "acct_…"`), test ones included ("both
 * live and test webhooks will be sent to your production webhook URLs", Stripe's Connect webhook
 * docs, quoted in pinax/pinax-stripe-light#547 and pay-rails/pay#999): none of them is a payment
 * of ours, whatever metadata it carries, and the objects they name cannot be retrieved with our key.
 * `liveMode`: the key's mode ({@link stripeKeyLiveMode}); null skips the mode check.
 */
export function foreignStripeEventProblem(
  event: { livemode?: unknown; account?: unknown },
  liveMode: boolean | null,
): string | null {
  if (typeof event.account === "string" && event.account.length > 0) {
    return `event of connected account ${event.account}, not of this Stripe account`;
  }
  if (liveMode !== null && typeof event.livemode === "boolean" && event.livemode !== liveMode) {
    return `${event.livemode ? "live" : "test"}-mode event, this server's STRIPE_SECRET_KEY is a ${liveMode ? "live" : "test"}-mode key`;
  }
  return null;
}

/** A card saved for off-session use: Stripe ids plus what may be shown (brand, last 4). */
export interface SavedCard {
  customerId: string;
  paymentMethodId: string;
  brand: string | null;
  last4: string | null;
}

/** One off-session charge. `amountMinor`: integer minor units of `currency` (ISO, any case). */
export interface OffSessionCharge {
  customerId: string;
  paymentMethodId: string;
  amountMinor: bigint;
  currency: string;
  description: string;
  metadata: Record<string, string>;
  /** Stripe `Idempotency-Key`: one per trigger (`autotopup-<topup id>`). */
  idempotencyKey: string;
}

/** What Stripe answered: a PaymentIntent (succeeded, processing, requires_action…) or a card decline. */
export type OffSessionResult =
  | { kind: "charged"; paymentIntent: Stripe.PaymentIntent }
  | {
      kind: "declined";
      /** Stripe's `error.code`: `card_declined`, `authentication_required`, `expired_card`… */
      code: string;
      /** Stripe's `error.decline_code` (the issuer's reason), when given. */
      declineCode: string | null;
      message: string;
      /** `error.payment_intent`: the failed PaymentIntent (status `requires_payment_method`). */
      paymentIntent: Stripe.PaymentIntent | null;
    };

function upstream(message: string, cause: unknown): AppError {
  if (cause instanceof AppError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new AppError(ErrorCode.UpstreamUnavailable, `${message}: ${detail}`, { cause, retryable: true });
}

const idOf = (v: string | { id: string } | null | undefined): string | null =>
  v == null ? null : typeof v === "string" ? v : v.id;

/** A Checkout Session (from an event or a retrieve) → what it says about the payment. */
export function observeCheckoutSession(
  session: Stripe.Checkout.Session,
  source: string,
  eventType?: string,
): PaymentObservation {
  const base = {
    echoedTopupId: session.metadata?.topup_id ?? session.client_reference_id ?? null,
    paymentRef: idOf(session.payment_intent),
    source,
  };
  const paid = sessionChargedInIntegrationCurrency(session);
  if (eventType === "checkout.session.async_payment_failed") return { ...base, state: "failed" };
  if (eventType === "checkout.session.expired" || session.status === "expired") {
    return { ...base, state: "expired" };
  }
  if (session.payment_status === "paid" || eventType === "checkout.session.async_payment_succeeded") {
    return { ...base, state: "paid", paid };
  }
  if (session.payment_status === "no_payment_required") {
    // A 100%-off coupon or promotion code: Checkout completes without a PaymentIntent and nothing
    // is charged, yet the customer has bought the pack (Stripe's fulfilment guide fulfils any
    // completed session whose payment_status is not `unpaid`). The discount makes up the price.
    if (session.status === "complete" && (session.total_details?.amount_discount ?? 0) > 0) {
      return { ...base, state: "paid", paid };
    }
    return { ...base, state: "unchanged", problem: "session completed with no payment required" };
  }
  if (session.status === "complete") return { ...base, state: "awaiting_payment" };
  return { ...base, state: "unchanged" };
}

/**
 * What a session charged, in the currency and amount it was CREATED with (the pack's price).
 * Adaptive Pricing lets the customer pay in their own currency. Webhook payloads follow the
 * endpoint's API version, and before 2025-03-31.basil such a session's `currency` and
 * `amount_total` are the customer's (e.g. `eur` 465 for a `usd` 500 pack), with the integration's
 * under `currency_conversion.source_currency` / `.amount_total` ("Total of all items in source
 * currency after discounts and taxes"); since basil `currency` stays the integration's and the
 * customer's choice is under `presentment_details` (docs.stripe.com/changelog/basil/2025-03-31/
 * add_presentment_details). Either way the source amount is what the pack price is checked against.
 */
function sessionChargedInIntegrationCurrency(session: Stripe.Checkout.Session): {
  amountMinor: bigint;
  currency: string;
  collectedMinor?: bigint;
} {
  const conversion = session.currency_conversion;
  const tax = session.total_details?.amount_tax ?? 0;
  const discount = session.total_details?.amount_discount ?? 0;
  if (discount > 0 && conversion?.source_currency && typeof conversion.amount_subtotal === "number") {
    // Discounted and paid in the customer's currency: the source subtotal is the price before
    // discounts and taxes (the discount itself is only given in the customer's currency). What
    // was collected is the source total, less the share of it an exclusive tax is (that tax is
    // only given in the customer's currency too).
    const total = session.amount_total ?? 0;
    const taxShown = exclusiveTax(total, session.amount_subtotal, session.total_details, tax);
    const sourceTotal = BigInt(Math.max(0, conversion.amount_total));
    const collected =
      taxShown > 0 && total > 0
        ? divRoundHalfUp(sourceTotal * BigInt(total - taxShown), BigInt(total))
        : sourceTotal;
    return {
      amountMinor: BigInt(conversion.amount_subtotal),
      currency: conversion.source_currency.toUpperCase(),
      collectedMinor: collected,
    };
  }
  if (conversion?.source_currency && typeof conversion.amount_total === "number") {
    // In the source currency only the subtotal is given: the part of the total above it is the
    // exclusive tax (creditgate's sessions have no discounts or shipping).
    const exclusive =
      tax > 0 && typeof conversion.amount_subtotal === "number"
        ? Math.max(0, conversion.amount_total - conversion.amount_subtotal)
        : 0;
    return {
      amountMinor: BigInt(conversion.amount_total - exclusive),
      currency: conversion.source_currency.toUpperCase(),
    };
  }
  const total = session.amount_total ?? 0;
  // A coupon or promotion code (`total_details.amount_discount`, "the sum of all the discounts")
  // lowers what the customer pays, not what they bought: the pack is checked against, and
  // grants for, the price before it (helixml/helix#2489 credits the requested top-up, not the
  // post-discount amount). What was collected (the reports' amount) is the total without the tax
  // on top; refunds stay a share of the charge's own (discounted) amount.
  const beforeDiscount = total + Math.max(0, discount);
  const exclusive = exclusiveTax(total, session.amount_subtotal, session.total_details, tax);
  return {
    amountMinor: BigInt(beforeDiscount - exclusive),
    currency: (session.currency ?? "").toUpperCase(),
    ...(discount > 0 ? { collectedMinor: BigInt(Math.max(0, total - exclusive)) } : {}),
  };
}

/**
 * The tax a session's total carries ON TOP of the price (Stripe Tax, `tax_behavior: exclusive`):
 * `amount_total` is "after discounts and taxes" and `total_details.amount_tax` sums inclusive and
 * exclusive taxes alike, so the exclusive part is what the total exceeds the subtotal (net of
 * discounts, plus shipping) by, never more than `amount_tax`. 0 when there is no tax or it is
 * included in the price (the total is then the price). The tax is the state's, not the operator's
 * revenue: the pack is checked against, and grants for, the amount without it (dubinc/dub
 * `checkout-session-completed.ts` credits `amount_total - total_details.amount_tax` likewise).
 */
function exclusiveTax(
  total: number,
  subtotal: number | null | undefined,
  details: Stripe.Checkout.Session.TotalDetails | null | undefined,
  tax: number,
): number {
  if (!(tax > 0) || typeof subtotal !== "number") return 0;
  const beforeTax = subtotal - (details?.amount_discount ?? 0) + (details?.amount_shipping ?? 0);
  return Math.min(tax, Math.max(0, total - beforeTax));
}

const SESSION_EVENTS = new Set([
  "checkout.session.completed",
  "checkout.session.async_payment_succeeded",
  "checkout.session.async_payment_failed",
  "checkout.session.expired",
]);

/** Metadata key marking a PaymentIntent as an off-session auto top-up (its value: the trigger key). */
export const AUTOTOPUP_METADATA_KEY = "autotopup_trigger";

/**
 * An auto top-up's PaymentIntent → what it says about its top-up. Only PaymentIntents carrying
 * {@link AUTOTOPUP_METADATA_KEY} are observed: a Checkout payment's PaymentIntent events are
 * left to the session events (a `payment_failed` there only means the customer may try another
 * card on the still-open page).
 */
export function observePaymentIntent(pi: Stripe.PaymentIntent, source: string): StripeEventFact | null {
  if (!pi.metadata?.[AUTOTOPUP_METADATA_KEY]) return null;
  const topupId = pi.metadata.topup_id ?? null;
  const base = { echoedTopupId: topupId, paymentRef: pi.id, source };
  let observation: PaymentObservation;
  if (pi.status === "succeeded") {
    observation = {
      ...base,
      state: "paid",
      paid: { amountMinor: BigInt(pi.amount_received || pi.amount), currency: pi.currency.toUpperCase() },
    };
  } else if (pi.status === "processing") {
    observation = { ...base, state: "awaiting_payment" };
  } else if (pi.status === "requires_payment_method" || pi.status === "canceled") {
    observation = { ...base, state: "failed" };
  } else {
    observation = { ...base, state: "unchanged" };
  }
  return { topupId, sessionId: null, paymentIntentId: pi.id, observation };
}

const PAYMENT_INTENT_EVENTS = new Set([
  "payment_intent.succeeded",
  "payment_intent.processing",
  "payment_intent.payment_failed",
  "payment_intent.canceled",
]);

/** A verified Stripe event → a provider-neutral fact, or null for event types we do not act on. */
export function observeStripeEvent(event: Stripe.Event): StripeEventFact | null {
  const source = `stripe ${event.type}`;
  if (SESSION_EVENTS.has(event.type)) {
    const session = event.data.object as Stripe.Checkout.Session;
    const observed = observeCheckoutSession(session, source, event.type);
    // The event was created when the payment was made; Stripe retries it for up to 3 days.
    const observation =
      observed.state === "paid" && typeof event.created === "number"
        ? { ...observed, paidAtMs: event.created * 1000 }
        : observed;
    return {
      topupId: observation.echoedTopupId ?? null,
      sessionId: session.id,
      paymentIntentId: idOf(session.payment_intent),
      observation,
    };
  }
  if (PAYMENT_INTENT_EVENTS.has(event.type)) {
    const fact = observePaymentIntent(event.data.object as Stripe.PaymentIntent, source);
    // An auto top-up's payment_intent.succeeded, retried for hours as a Checkout event can be:
    // paid when the event was created, not when it was applied.
    if (fact?.observation.state === "paid" && typeof event.created === "number")
      return { ...fact, observation: { ...fact.observation, paidAtMs: event.created * 1000 } };
    return fact;
  }
  if (event.type === "charge.refunded")
    return observeCharge(event.data.object as Stripe.Charge, source, false);
  if (event.type.startsWith("charge.dispute.")) {
    const dispute = event.data.object as Stripe.Dispute;
    const fact = observeDispute(dispute, source);
    return { ...fact, disputeId: dispute.id };
  }
  return null;
}
