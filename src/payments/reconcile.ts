import type { Db } from "../db/index.js";
import {
  decisivePayment,
  type MercadoPagoGateway,
  observeMercadoPagoPayment,
  observeSplitPayment,
} from "./mercadopago.js";
import { applyProviderRead } from "./settle.js";
import { observeCheckoutSession, observePaymentIntent, type StripeGateway } from "./stripe.js";
import { createTopupRepo, type TopupRepo } from "./topup-repo.js";
import { DISABLED_HINT } from "./topups.js";
import type { PaymentObservation, Topup, TopupStatus } from "./types.js";

export interface ReconcileDeps {
  db: Db;
  /** The process's top-up repository over `db` (createServices' `repos.topups`); absent: one is built per run (standalone use: the one-shot CLI command, tests). */
  topups?: TopupRepo;
  stripe: StripeGateway | null;
  mercadoPago: MercadoPagoGateway | null;
  /** The idempotent fulfilment path (webhooks' `createFulfiller(db).apply`), injected to keep imports one-way. */
  apply(
    topupId: string,
    observation: PaymentObservation,
  ): { status: string; topupStatus: TopupStatus | null };
  nowMs: number;
  /** Only top-ups created at least this long ago are checked (their webhook had time to arrive). */
  olderThanMs: number;
  limit?: number;
}

export interface ReconcileResult {
  topupId: string;
  provider: Topup["provider"];
  before: TopupStatus;
  after: TopupStatus | null;
  /** The fulfilment outcome, or `skipped` / `error`. */
  outcome: string;
  detail: string | null;
}

/**
 * Asks the providers about every pending top-up older than `olderThanMs` and applies what they
 * say through the same path as webhooks, so a lost webhook never loses a payment. Running it
 * again changes nothing. One provider failing does not stop the others.
 */
export async function reconcileTopups(deps: ReconcileDeps): Promise<ReconcileResult[]> {
  const repo = deps.topups ?? createTopupRepo(deps.db);
  const due = repo.listUnsettled(deps.nowMs - deps.olderThanMs, deps.limit ?? 500);
  const results: ReconcileResult[] = [];
  for (const topup of due) {
    const row = (outcome: string, detail: string | null, after: TopupStatus | null = topup.status) =>
      results.push({
        topupId: topup.id,
        provider: topup.provider,
        before: topup.status,
        after,
        outcome,
        detail,
      });
    try {
      const observation = await observe(deps, topup);
      if (typeof observation === "string") {
        row("skipped", observation);
        continue;
      }
      // Read again after the commit (applyProviderRead): a webhook about the same payment may
      // have read it after a change (a refund) and committed before this older read.
      const settled = await applyProviderRead(
        observation,
        (o) => deps.apply(topup.id, o),
        async () => {
          const again = await observe(deps, topup);
          return typeof again === "string" ? null : again;
        },
      );
      const detail =
        settled.reapplied > 0
          ? `${observation.source}; changed at the provider meanwhile, re-read after commit`
          : observation.source;
      row(settled.first.status, detail, settled.last.topupStatus);
    } catch (err) {
      row("error", err instanceof Error ? err.message : String(err));
    }
  }
  return results;
}

/** What the provider says about one top-up now, or why it cannot say. */
async function observe(deps: ReconcileDeps, topup: Topup): Promise<PaymentObservation | string> {
  if (topup.provider === "stripe") {
    if (!deps.stripe) return DISABLED_HINT.stripe;
    if (!topup.providerRef) return "no checkout session was created";
    if (topup.providerRef.startsWith("pi_")) {
      // An auto top-up: its off-session PaymentIntent, not a Checkout Session.
      const pi = await deps.stripe.retrievePaymentIntent(topup.providerRef);
      return (
        observePaymentIntent(pi, "stripe reconcile: auto top-up payment intent")?.observation ??
        "payment intent is not an auto top-up"
      );
    }
    const session = await deps.stripe.retrieveSession(topup.providerRef);
    const observed = observeCheckoutSession(session, "stripe reconcile: checkout session");
    // A delayed method (OXXO, boleto, SEPA, ACH) whose voucher expired or debit failed: the
    // session stays `complete` + `unpaid` for good, only `async_payment_failed` says it failed.
    // When that event is lost the top-up waited for ever (pretix/pretix#2629: an abandoned Stripe
    // payment "never expires"). The PaymentIntent says it: back to `requires_payment_method`
    // (the attempt failed; Checkout offers no other) or `canceled`.
    const piId = observed.paymentRef;
    if (observed.state === "awaiting_payment" && piId) {
      const pi = await deps.stripe.retrievePaymentIntent(piId);
      if (pi.status === "requires_payment_method" || pi.status === "canceled") {
        return {
          ...observed,
          state: "failed",
          source: `stripe reconcile: checkout session, payment intent ${pi.status}`,
        };
      }
    }
    return observed;
  }
  if (!deps.mercadoPago) return DISABLED_HINT.mercadopago;
  const payments = await deps.mercadoPago.searchPayments(topup.id);
  // Paid with two cards: two payments, each part of the price, applied as one.
  const split = observeSplitPayment(
    payments,
    {
      liveMode: deps.mercadoPago.liveMode,
      topupId: topup.id,
      amountMinor: topup.amountMinor,
      currency: topup.currency,
      paymentRef: topup.paymentRef,
    },
    "mercadopago reconcile: payment search",
  );
  if (split) return split;
  const payment = decisivePayment(payments);
  if (payment) {
    return observeMercadoPagoPayment(
      payment,
      { liveMode: deps.mercadoPago.liveMode },
      "mercadopago reconcile: payment search",
    );
  }
  if (deps.nowMs > topup.expiresAtMs) {
    return { state: "expired", source: "mercadopago reconcile: link expired with no payment" };
  }
  return "no payment yet";
}
