import type { FastifyInstance } from "fastify";
import { AppError, ErrorCode } from "../errors.js";
import {
  applyProviderRead,
  DISABLED_HINT,
  foreignStripeEventProblem,
  observeCharge,
  observeDispute,
  observeStripeEvent,
  type StripeEventFact,
  type StripeGateway,
} from "../payments/index.js";
import type { Fulfiller, FulfilOutcome } from "./fulfil.js";

export interface StripeWebhookOptions {
  stripe: StripeGateway | null;
  fulfiller: Fulfiller;
  nowMs: () => number;
  /** Largest body accepted (Stripe events are a few KiB). */
  bodyLimitBytes: number;
}

/**
 * `POST /webhooks/stripe`. Register WITHOUT fastify-plugin: the Buffer parser below must stay
 * scoped to this route, because the signature covers the exact raw bytes. Verified events are
 * applied synchronously; a failure after verification is a 5xx so Stripe retries.
 */
export async function stripeWebhookRoutes(app: FastifyInstance, opts: StripeWebhookOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: opts.bodyLimitBytes }, (_req, body, done) =>
    done(null, body),
  );

  /** The top-up a fact is about, from what we stored (session, PaymentIntent) or its echoed id. */
  const localTopupId = (fact: StripeEventFact): string | null => {
    const repo = opts.fulfiller.topups;
    return (
      (fact.sessionId ? repo.findByProviderRef("stripe", fact.sessionId)?.id : undefined) ??
      (fact.paymentIntentId ? repo.findByPaymentRef("stripe", fact.paymentIntentId)?.id : undefined) ??
      fact.topupId
    );
  };

  app.post("/webhooks/stripe", async (request) => {
    const stripe = opts.stripe;
    if (!stripe) throw new AppError(ErrorCode.ProviderDisabled, DISABLED_HINT.stripe);
    const signature = request.headers["stripe-signature"];
    if (typeof signature !== "string" || signature.length === 0) {
      throw new AppError(ErrorCode.InvalidSignature, "missing stripe-signature header");
    }
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new AppError(ErrorCode.InvalidSignature, "empty body: nothing to verify");
    }
    const verified = stripe.verifyEvent(body, signature);
    if (!verified.ok) {
      if (verified.reason === "malformed") {
        throw new AppError(
          ErrorCode.InvalidRequest,
          `signed body is not a stripe event: ${verified.message}`,
        );
      }
      throw new AppError(
        ErrorCode.InvalidSignature,
        `stripe signature verification failed: ${verified.message}`,
      );
    }
    const event = verified.event;
    const record = {
      provider: "stripe" as const,
      eventId: event.id,
      type: event.type,
      payload: body.toString("utf8"),
    };
    if (opts.fulfiller.seen("stripe", event.id)) {
      return {
        received: true,
        status: "duplicate",
        topupId: null,
        detail: `event ${event.id} was already processed`,
      };
    }

    let fact = observeStripeEvent(event);
    const foreign = foreignStripeEventProblem(event, stripe.liveMode);
    if (foreign) {
      // Recorded (rejected when it names one of our top-ups), never applied, and nothing is
      // retrieved: the other mode's or account's objects do not exist for our key (a 404 → 503
      // would have Stripe retry it for 3 days).
      const outcome = opts.fulfiller.apply({
        event: record,
        topupId: fact ? localTopupId(fact) : null,
        observation: fact ? { ...fact.observation, problem: foreign } : null,
        note: foreign,
        nowMs: opts.nowMs(),
      });
      request.log.warn(
        {
          eventId: event.id,
          type: event.type,
          status: outcome.status,
          topupId: outcome.topupId,
          detail: foreign,
        },
        "stripe webhook from another mode or account",
      );
      return { received: true, status: outcome.status, topupId: outcome.topupId, detail: outcome.detail };
    }
    /** Reads the object again (a dispute or charge this event made us retrieve); null: the event's own snapshot. */
    let reread: (() => Promise<StripeEventFact>) | null = null;
    const disputeId = fact?.disputeId;
    if (disputeId) {
      reread = async () => observeDispute(await stripe.retrieveDispute(disputeId), `stripe ${event.type}`);
      fact = await reread();
    }
    const chargeId = refundEventChargeId(event.type, event.data.object);
    if (chargeId) {
      // Refund events are snapshots delivered in no guaranteed order: a `charge.refunded` older
      // than a `refund.failed` would raise the level again. Only the charge's CURRENT
      // amount_refunded is applied (it may lower the level and restore credits).
      reread = async () => observeCharge(await stripe.retrieveCharge(chargeId), `stripe ${event.type}`, true);
      fact = await reread();
    }
    let topupId: string | null = null;
    if (fact) {
      topupId = localTopupId(fact);
      // A refund or dispute can arrive before checkout.session.completed told us the PaymentIntent.
      if (!topupId && fact.paymentIntentId)
        topupId = await stripe.topupIdForPaymentIntent(fact.paymentIntentId);
    }
    // Opt-in checkout (auto top-up): the card saved on the Customer, read before the one transaction.
    const session = fact?.sessionId
      ? (event.data.object as { metadata?: Record<string, string> | null })
      : null;
    const savedCard =
      session?.metadata?.save_card === "1" && fact?.observation.state === "paid" && fact.paymentIntentId
        ? await stripe.savedCardOf(fact.paymentIntentId)
        : null;
    const input = {
      event: record,
      topupId,
      savedCard,
      observation: fact?.observation ?? null,
      note: fact ? undefined : `stripe event type ${event.type} is not handled`,
    };
    let outcome: FulfilOutcome;
    if (reread && fact) {
      // A charge or dispute read now: read again after the commit (applyProviderRead). Another
      // event about it handled at the same moment may have read it before a change (a refund,
      // a failed refund, a dispute's close) and committed after us, or read it after and
      // committed before: whichever commits last leaves the state read after both.
      const again = reread;
      const settled = await applyProviderRead(
        fact.observation,
        (observation, n) =>
          n === 0
            ? opts.fulfiller.apply({ ...input, observation, nowMs: opts.nowMs() })
            : opts.fulfiller.apply({ event: null, topupId, observation, nowMs: opts.nowMs() }),
        async () => (await again()).observation,
      );
      outcome = settled.first;
      if (settled.reapplied > 0 || !settled.settled) {
        request.log.warn(
          {
            eventId: event.id,
            topupId: outcome.topupId,
            rereads: settled.rereads,
            reapplied: settled.reapplied,
            lastStatus: settled.last.status,
            settled: settled.settled,
            error: settled.error,
          },
          "stripe charge or dispute changed while this event was applied: re-read after commit",
        );
      }
    } else {
      outcome = opts.fulfiller.apply({ ...input, nowMs: opts.nowMs() });
    }
    request.log.info(
      {
        eventId: event.id,
        type: event.type,
        status: outcome.status,
        topupId: outcome.topupId,
        detail: outcome.detail,
      },
      "stripe webhook",
    );
    return { received: true, status: outcome.status, topupId: outcome.topupId, detail: outcome.detail };
  });
}

/**
 * Stripe events about a charge's refunds: `charge.refunded` (the charge itself), and
 * `refund.*` / `charge.refund.updated` (a refund object naming its charge).
 */
const REFUND_EVENTS = new Set([
  "charge.refunded",
  "charge.refund.updated",
  "refund.created",
  "refund.updated",
  "refund.failed",
]);

/** The charge whose cumulative refund a refund event is about, or null for other events. */
function refundEventChargeId(type: string, object: unknown): string | null {
  if (!REFUND_EVENTS.has(type)) return null;
  const o = object as { object?: string; id?: string; charge?: string | { id: string } | null };
  if (o.object === "charge") return typeof o.id === "string" ? o.id : null;
  const charge = o.charge;
  return typeof charge === "string" ? charge : (charge?.id ?? null);
}
