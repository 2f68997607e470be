import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";

/** Record of one request the SDK made to the fake. */
export interface StripeRequestLog {
  method: string;
  path: string;
  /** Form-encoded params exactly as sent (`line_items[0][price_data][unit_amount]` → "500"). */
  params: Record<string, string>;
  headers: IncomingMessage["headers"];
}

type Json = Record<string, unknown>;

const rid = (prefix: string) => `${prefix}_test_${randomBytes(12).toString("hex")}`;
const nowSec = () => Math.floor(Date.now() / 1000);

/**
 * A stateful fake of the few Stripe endpoints creditgate calls, on 127.0.0.1, with response bodies
 * shaped like the real API's (checkout.session, payment_intent, charge, dispute, event). The real
 * `stripe` SDK talks to it over HTTP; helpers move sessions along and build signed webhook events.
 */
export async function startFakeStripe() {
  const sessions = new Map<string, Json>();
  const byIdempotencyKey = new Map<string, string>();
  const paymentIntents = new Map<string, Json>();
  const charges = new Map<string, Json>();
  const disputes = new Map<string, Json>();
  const requests: StripeRequestLog[] = [];
  let failNext = 0;
  const customers = new Map<string, Json>();
  const paymentMethods = new Map<string, Json>();
  /** Off-session PaymentIntents actually created (a replayed Idempotency-Key adds none). */
  const offSessionCharges: Json[] = [];
  /** Idempotency-Key → the first answer (status + body), replayed as Stripe does. */
  const offSessionByKey = new Map<string, Promise<{ status: number; body: Json }>>();
  /** What an off-session charge of a payment method does (default: succeed). */
  const offSessionOutcome = new Map<string, OffSessionOutcome>();
  let offSessionDelayMs = 0;
  /** Reads held back (see `holdNextRead`): answered with the state at arrival, sent on release. */
  const holds: { kind: ReadKind; arrived: () => void; released: Promise<void> }[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      requests.push({ method: req.method ?? "GET", path: url.pathname, params, headers: req.headers });
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json", "request-id": rid("req") });
        res.end(JSON.stringify(body));
      };
      const notFound = (what: string) =>
        send(404, {
          error: { type: "invalid_request_error", code: "resource_missing", message: `No such ${what}` },
        });
      if (failNext > 0) {
        failNext -= 1;
        return send(500, { error: { type: "api_error", message: "fake outage" } });
      }
      const parts = url.pathname.split("/").filter(Boolean);
      /** The object as it is NOW, answered now or, when a hold is set, once it is released. */
      const sendRead = (kind: ReadKind, object: Json) => {
        const body = structuredClone(object);
        const i = holds.findIndex((h) => h.kind === kind);
        if (i < 0) return send(200, body);
        const [hold] = holds.splice(i, 1);
        hold?.arrived();
        void hold?.released.then(() => send(200, body));
      };
      if (req.method === "POST" && url.pathname === "/v1/customers") {
        const key = String(req.headers["idempotency-key"] ?? "");
        const existing = [...customers.values()].find((c) => key && c._key === key);
        if (existing) return send(200, publicObject(existing));
        const metadata: Record<string, string> = {};
        for (const [k, v] of Object.entries(params)) {
          const m = /^metadata\[(.+)\]$/.exec(k);
          if (m?.[1]) metadata[m[1]] = v;
        }
        const customer: Json = {
          id: rid("cus"),
          object: "customer",
          created: nowSec(),
          description: params.description ?? null,
          email: null,
          invoice_settings: { default_payment_method: null },
          livemode: false,
          metadata,
          _key: key,
        };
        customers.set(customer.id as string, customer);
        return send(200, publicObject(customer));
      }
      if (req.method === "POST" && url.pathname === "/v1/payment_intents") {
        const key = String(req.headers["idempotency-key"] ?? rid("idem"));
        let answer = offSessionByKey.get(key);
        if (!answer) {
          answer = offSessionCharge(params);
          offSessionByKey.set(key, answer);
        }
        void answer.then((a) => send(a.status, a.body));
        return;
      }
      if (req.method === "POST" && url.pathname === "/v1/checkout/sessions") {
        const key = String(req.headers["idempotency-key"] ?? "");
        const existing = key ? byIdempotencyKey.get(key) : undefined;
        if (existing) return send(200, publicSession(sessions.get(existing) as Json));
        const session = newSession(params);
        sessions.set(session.id as string, session);
        if (key) byIdempotencyKey.set(key, session.id as string);
        return send(200, publicSession(session));
      }
      if (req.method === "GET" && parts[1] === "checkout" && parts[2] === "sessions" && parts[3]) {
        const s = sessions.get(parts[3]);
        return s ? send(200, publicSession(s)) : notFound(`checkout.session: '${parts[3]}'`);
      }
      if (req.method === "GET" && parts[1] === "payment_intents" && parts[2]) {
        const pi = paymentIntents.get(parts[2]);
        if (!pi) return notFound(`payment_intent: '${parts[2]}'`);
        const expand = url.searchParams.getAll("expand[]").concat(url.searchParams.getAll("expand[0]"));
        if (expand.includes("payment_method") && typeof pi.payment_method === "string") {
          return send(200, {
            ...pi,
            payment_method: paymentMethods.get(pi.payment_method) ?? pi.payment_method,
          });
        }
        return send(200, pi);
      }
      if (req.method === "GET" && parts[1] === "disputes" && parts[2]) {
        const dp = disputes.get(parts[2]);
        if (!dp) return notFound(`dispute: '${parts[2]}'`);
        const expand = url.searchParams.getAll("expand[]").concat(url.searchParams.getAll("expand[0]"));
        const ch = expand.includes("charge") ? charges.get(dp.charge as string) : undefined;
        return sendRead("disputes", ch ? { ...dp, charge: { ...ch } } : dp);
      }
      if (req.method === "GET" && parts[1] === "charges" && parts[2]) {
        const ch = charges.get(parts[2]);
        return ch ? sendRead("charges", ch) : notFound(`charge: '${parts[2]}'`);
      }
      return notFound(`route ${req.method} ${url.pathname}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  function newSession(p: Record<string, string>): Json {
    const id = rid("cs");
    const metadata: Record<string, string> = {};
    const piMetadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(p)) {
      const m = /^metadata\[(.+)\]$/.exec(k);
      if (m?.[1]) metadata[m[1]] = v;
      const pm = /^payment_intent_data\[metadata\]\[(.+)\]$/.exec(k);
      if (pm?.[1]) piMetadata[pm[1]] = v;
    }
    return {
      id,
      object: "checkout.session",
      _setupFutureUsage: p["payment_intent_data[setup_future_usage]"] ?? null,
      amount_subtotal: Number(p["line_items[0][price_data][unit_amount]"]),
      amount_total: Number(p["line_items[0][price_data][unit_amount]"]),
      cancel_url: p.cancel_url ?? null,
      client_reference_id: p.client_reference_id ?? null,
      created: nowSec(),
      currency: p["line_items[0][price_data][currency]"],
      customer: p.customer ?? null,
      expires_at: Number(p.expires_at),
      livemode: false,
      metadata,
      mode: p.mode,
      payment_intent: null,
      payment_status: "unpaid",
      status: "open",
      success_url: p.success_url ?? null,
      ui_mode: "hosted_page",
      url: `https://checkout.stripe.com/c/pay/${id}#fidkdWxOYHwnPyd1blpxYHZxWjA0`,
      _piMetadata: piMetadata, // fake-internal: what a PaymentIntent will carry
    };
  }

  function session(id: string): Json {
    const s = sessions.get(id);
    if (!s) throw new Error(`fake stripe: no session ${id}`);
    return s;
  }

  /** The PaymentIntent and Charge behind a session, created on first use (as on confirmation). */
  function ensurePayment(sessionId: string): { pi: Json; charge: Json } {
    const s = session(sessionId);
    if (!s.payment_intent) {
      // A save-card checkout attaches the card to the session's Customer for off-session use.
      const pm = s.customer && s._setupFutureUsage ? newCard(s.customer as string) : null;
      const pi: Json = {
        id: rid("pi"),
        object: "payment_intent",
        amount: s.amount_total,
        currency: s.currency,
        customer: s.customer ?? null,
        metadata: s._piMetadata,
        payment_method: pm ? pm.id : null,
        setup_future_usage: s._setupFutureUsage ?? null,
        status: "processing",
        latest_charge: null,
      };
      const charge: Json = {
        id: rid("ch"),
        object: "charge",
        amount: s.amount_total,
        amount_captured: s.amount_total,
        amount_refunded: 0,
        currency: s.currency,
        disputed: false,
        metadata: {}, // real charges do not inherit the PaymentIntent's metadata
        paid: true,
        payment_intent: pi.id,
        refunded: false,
        status: "succeeded",
      };
      pi.latest_charge = charge.id;
      paymentIntents.set(pi.id as string, pi);
      charges.set(charge.id as string, charge);
      s.payment_intent = pi.id;
    }
    const pi = paymentIntents.get(s.payment_intent as string) as Json;
    return { pi, charge: charges.get(pi.latest_charge as string) as Json };
  }

  const publicSession = (s: Json): Json => {
    const { _piMetadata: _omit, _setupFutureUsage: _omit2, ...rest } = s;
    return { ...rest };
  };
  const publicObject = (o: Json): Json => {
    const { _key: _omit, ...rest } = o;
    return rest;
  };

  /** A test card saved on `customerId` (brand visa, last 4 4242): the shape of a PaymentMethod. */
  function newCard(customerId: string, last4 = "4242"): Json {
    const pm: Json = {
      id: rid("pm"),
      object: "payment_method",
      allow_redisplay: "limited",
      billing_details: { address: null, email: null, name: null, phone: null },
      card: {
        brand: "visa",
        country: "US",
        exp_month: 12,
        exp_year: 2030,
        fingerprint: "Xt5EWLLDS7FJjR1c",
        funding: "credit",
        last4,
        networks: { available: ["visa"], preferred: null },
      },
      created: nowSec(),
      customer: customerId,
      livemode: false,
      metadata: {},
      type: "card",
    };
    paymentMethods.set(pm.id as string, pm);
    return pm;
  }

  /** `POST /v1/payment_intents` with `off_session=true&confirm=true`: real-shaped success or 402 card_error. */
  async function offSessionCharge(p: Record<string, string>): Promise<{ status: number; body: Json }> {
    if (offSessionDelayMs > 0) await new Promise((r) => setTimeout(r, offSessionDelayMs));
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(p)) {
      const m = /^metadata\[(.+)\]$/.exec(k);
      if (m?.[1]) metadata[m[1]] = v;
    }
    const pmId = p.payment_method ?? "";
    const pm = paymentMethods.get(pmId);
    if (!pm || pm.customer !== p.customer) {
      return {
        status: 400,
        body: {
          error: {
            type: "invalid_request_error",
            code: "resource_missing",
            param: "payment_method",
            message: `No such PaymentMethod: '${pmId}'`,
          },
        },
      };
    }
    const outcome = offSessionOutcome.get(pmId) ?? "succeed";
    const amount = Number(p.amount);
    const chargeId = rid("ch");
    const pi: Json = {
      id: rid("pi"),
      object: "payment_intent",
      amount,
      amount_capturable: 0,
      amount_received: outcome === "succeed" ? amount : 0,
      capture_method: "automatic_async",
      confirmation_method: "automatic",
      created: nowSec(),
      currency: p.currency,
      customer: p.customer,
      description: p.description ?? null,
      last_payment_error: null,
      latest_charge: chargeId,
      livemode: false,
      metadata,
      payment_method: pmId,
      payment_method_types: ["card"],
      setup_future_usage: null,
      status:
        outcome === "succeed"
          ? "succeeded"
          : outcome === "processing"
            ? "processing"
            : "requires_payment_method",
    };
    paymentIntents.set(pi.id as string, pi);
    offSessionCharges.push(pi);
    if (outcome === "succeed" || outcome === "processing") {
      charges.set(chargeId, {
        id: chargeId,
        object: "charge",
        amount,
        amount_captured: outcome === "succeed" ? amount : 0,
        amount_refunded: 0,
        currency: p.currency,
        disputed: false,
        metadata: {},
        paid: outcome === "succeed",
        payment_intent: pi.id,
        refunded: false,
        status: outcome === "succeed" ? "succeeded" : "pending",
      });
      return { status: 200, body: pi };
    }
    // Stripe's 402 card_error: the failed PaymentIntent comes back inside the error.
    const declined =
      outcome === "authentication_required"
        ? {
            code: "authentication_required",
            decline_code: "authentication_required",
            doc_url: "https://docs.stripe.com/error-codes/authentication-required",
            message: "Your card was declined. This transaction requires authentication.",
          }
        : {
            code: "card_declined",
            decline_code: "insufficient_funds",
            doc_url: "https://docs.stripe.com/error-codes/card-declined",
            message: "Your card has insufficient funds.",
          };
    pi.last_payment_error = { ...declined, charge: chargeId, payment_method: pm, type: "card_error" };
    return {
      status: 402,
      body: {
        error: {
          ...declined,
          charge: chargeId,
          payment_intent: pi,
          payment_method: pm,
          request_log_url: `https://dashboard.stripe.com/test/logs/${rid("req")}?t=${nowSec()}`,
          type: "card_error",
        },
      },
    };
  }

  function event(type: string, object: Json): Json {
    return {
      id: rid("evt"),
      object: "event",
      api_version: "2026-10-28.endive",
      created: nowSec(),
      data: { object: publicSession(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    };
  }

  return {
    port,
    requests,
    sessions,
    /** The real SDK pointed at this fake. */
    api: { host: "127.0.0.1", port, protocol: "http" as const },
    /** Makes the next `n` API calls fail with 500. */
    failNextRequests(n: number) {
      failNext = n;
    },
    /** Card payment: session complete + paid → `checkout.session.completed`. */
    completePaid(sessionId: string): Json {
      const s = session(sessionId);
      const { pi } = ensurePayment(sessionId);
      Object.assign(s, { status: "complete", payment_status: "paid" });
      pi.status = "succeeded";
      return event("checkout.session.completed", s);
    },
    /**
     * Adaptive Pricing: the customer pays in `currency` (`amount` minor units) a session created in
     * the pack's currency. As a pre-2025-03-31.basil endpoint receives it: the session's `currency`
     * and `amount_total` are the customer's, the pack's are under `currency_conversion`; the
     * PaymentIntent and Charge are in the customer's currency. Call before anything pays it.
     */
    presentIn(sessionId: string, currency: string, amount: number): void {
      const s = session(sessionId);
      if (s.payment_intent) throw new Error("fake stripe: presentIn after the payment was made");
      s.currency_conversion = {
        amount_subtotal: s.amount_subtotal,
        amount_total: s.amount_total,
        fx_rate: String(amount / (s.amount_total as number)),
        source_currency: s.currency,
      };
      Object.assign(s, { currency, amount_subtotal: amount, amount_total: amount });
    },
    /**
     * Stripe Tax on the session (`automatic_tax`): `amount` minor units of tax, added on top of the
     * price (`exclusive`: `amount_total` grows, and with it the PaymentIntent and Charge) or
     * included in it (`inclusive`: the total stays the price). `total_details.amount_tax` counts
     * both. Call before anything pays it (and after `presentIn`, in the customer's currency).
     */
    taxOn(sessionId: string, amount: number, behavior: "exclusive" | "inclusive"): void {
      const s = session(sessionId);
      if (s.payment_intent) throw new Error("fake stripe: taxOn after the payment was made");
      const details = (s.total_details ?? { amount_discount: 0, amount_shipping: 0, amount_tax: 0 }) as Json;
      s.total_details = { ...details, amount_tax: (details.amount_tax as number) + amount };
      if (behavior === "exclusive") {
        s.amount_total = (s.amount_total as number) + amount;
        const conversion = s.currency_conversion as Json | undefined;
        if (conversion) {
          const rate = Number(conversion.fx_rate);
          conversion.amount_total = (conversion.amount_total as number) + Math.round(amount / rate);
        }
      }
    },
    /**
     * A coupon or promotion code on the session: `amount` minor units off (in the session's
     * currency), counted in `total_details.amount_discount`; `amount_total` (and with it the
     * PaymentIntent and Charge) drops, `amount_subtotal` stays the price. Call before `taxOn`
     * (tax is computed on the discounted amount) and before anything pays it.
     */
    discountOn(sessionId: string, amount: number): void {
      const s = session(sessionId);
      if (s.payment_intent) throw new Error("fake stripe: discountOn after the payment was made");
      const details = (s.total_details ?? { amount_discount: 0, amount_shipping: 0, amount_tax: 0 }) as Json;
      s.total_details = { ...details, amount_discount: (details.amount_discount as number) + amount };
      s.amount_total = (s.amount_total as number) - amount;
      const conversion = s.currency_conversion as Json | undefined;
      if (conversion) {
        const rate = Number(conversion.fx_rate);
        conversion.amount_total = (conversion.amount_total as number) - Math.round(amount / rate);
      }
    },
    /**
     * A session whose discount covers the whole price (100% coupon): Checkout completes with
     * `payment_status: "no_payment_required"` and creates no PaymentIntent.
     */
    completeFree(sessionId: string): Json {
      const s = session(sessionId);
      Object.assign(s, { status: "complete", payment_status: "no_payment_required" });
      return event("checkout.session.completed", s);
    },
    /** Delayed method (SEPA, boleto…): complete but unpaid. */
    completeUnpaid(sessionId: string): Json {
      const s = session(sessionId);
      ensurePayment(sessionId);
      Object.assign(s, { status: "complete", payment_status: "unpaid" });
      return event("checkout.session.completed", s);
    },
    asyncSucceeded(sessionId: string): Json {
      const s = session(sessionId);
      Object.assign(s, { payment_status: "paid" });
      return event("checkout.session.async_payment_succeeded", s);
    },
    asyncFailed(sessionId: string): Json {
      // The voucher expired or the debit failed: the PaymentIntent is back to needing a method.
      Object.assign(ensurePayment(sessionId).pi, { status: "requires_payment_method" });
      return event("checkout.session.async_payment_failed", session(sessionId));
    },
    expire(sessionId: string): Json {
      const s = session(sessionId);
      Object.assign(s, { status: "expired" });
      return event("checkout.session.expired", s);
    },
    /** Refunds `amount` more (cumulative `amount_refunded`) → `charge.refunded`. */
    refund(sessionId: string, amount: number): Json {
      const { charge } = ensurePayment(sessionId);
      charge.amount_refunded = (charge.amount_refunded as number) + amount;
      charge.refunded = charge.amount_refunded === charge.amount;
      return event("charge.refunded", { ...charge });
    },
    /** Refunds `amount` more of any charge (an auto top-up's, by its id) → `charge.refunded`. */
    refundCharge(chargeId: string, amount: number): Json {
      const charge = charges.get(chargeId);
      if (!charge) throw new Error(`fake stripe: no charge ${chargeId}`);
      charge.amount_refunded = (charge.amount_refunded as number) + amount;
      charge.refunded = charge.amount_refunded === charge.amount;
      return event("charge.refunded", { ...charge });
    },
    /** A refund of `amount` failed after `charge.refunded` said it happened → `refund.failed`. */
    refundFailed(sessionId: string, amount: number): Json {
      const { charge } = ensurePayment(sessionId);
      charge.amount_refunded = Math.max(0, (charge.amount_refunded as number) - amount);
      charge.refunded = charge.amount_refunded === charge.amount;
      return event("refund.failed", {
        id: rid("re"),
        object: "refund",
        amount,
        charge: charge.id,
        currency: charge.currency,
        payment_intent: charge.payment_intent,
        status: "failed",
        failure_reason: "expired_or_canceled_card",
      });
    },
    /** Opens or moves the (single) dispute on the session's charge → a `charge.dispute.*` event. */
    dispute(
      sessionId: string,
      type:
        | "charge.dispute.created"
        | "charge.dispute.updated"
        | "charge.dispute.funds_withdrawn"
        | "charge.dispute.funds_reinstated"
        | "charge.dispute.closed",
      status: string,
      /** Disputed amount when the dispute is opened (default: the whole charge). */
      amount?: number,
      /** More fields set on the dispute (`balance_transactions`, `payment_method_details`…). */
      fields?: Json,
    ): Json {
      const { charge, pi } = ensurePayment(sessionId);
      let dp = [...disputes.values()].find((d) => d.charge === charge.id);
      if (!dp) {
        dp = {
          id: rid("dp"),
          object: "dispute",
          amount: amount ?? charge.amount,
          charge: charge.id,
          currency: charge.currency,
          metadata: {},
          payment_intent: pi.id,
          reason: "fraudulent",
          status,
        };
        disputes.set(dp.id as string, dp);
      }
      dp.status = status;
      if (fields) Object.assign(dp, fields);
      charge.disputed = true;
      return event(type, { ...dp });
    },
    /**
     * Holds the next GET of a charge or dispute: it is answered with the object as it was when
     * the request ARRIVED, but only once `release()` is called (a delivery whose read is slow
     * while the object changes and another delivery reads and commits the new state).
     */
    holdNextRead(kind: ReadKind): { arrived: Promise<void>; release: () => void } {
      let release = () => {};
      const released = new Promise<void>((r) => {
        release = r;
      });
      let arrived = () => {};
      const arrivedP = new Promise<void>((r) => {
        arrived = r;
      });
      holds.push({ kind, arrived, released });
      return { arrived: arrivedP, release };
    },
    /** Any event with an arbitrary object (for shape-mismatch tests). */
    event,
    customers,
    /** Off-session PaymentIntents created, in order (idempotent replays add none). */
    offSessionCharges,
    /** What off-session charges of this payment method do from now on. */
    setOffSessionOutcome(paymentMethodId: string, outcome: OffSessionOutcome) {
      offSessionOutcome.set(paymentMethodId, outcome);
    },
    /** Delays every off-session charge's answer (two workers racing on one low balance). */
    setOffSessionDelayMs(ms: number) {
      offSessionDelayMs = ms;
    },
    /** A `payment_intent.*` event for a PaymentIntent as it is now (or with `status` forced). */
    paymentIntentEvent(paymentIntentId: string, type: string): Json {
      const pi = paymentIntents.get(paymentIntentId);
      if (!pi) throw new Error(`fake stripe: no payment intent ${paymentIntentId}`);
      return event(type, { ...pi });
    },
    /** Cancels a PaymentIntent (a delayed debit given up). */
    cancelPaymentIntent(paymentIntentId: string): void {
      const pi = paymentIntents.get(paymentIntentId);
      if (!pi) throw new Error(`fake stripe: no payment intent ${paymentIntentId}`);
      Object.assign(pi, { status: "canceled" });
    },
    /** Moves a processing PaymentIntent to succeeded (async settlement). */
    settle(paymentIntentId: string): void {
      const pi = paymentIntents.get(paymentIntentId);
      if (!pi) throw new Error(`fake stripe: no payment intent ${paymentIntentId}`);
      Object.assign(pi, { status: "succeeded", amount_received: pi.amount });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeStripe = Awaited<ReturnType<typeof startFakeStripe>>;

/** The objects whose reads `holdNextRead` can hold back. */
export type ReadKind = "charges" | "disputes";

/** What an off-session charge does at the fake: real Stripe outcomes. */
export type OffSessionOutcome = "succeed" | "processing" | "card_declined" | "authentication_required";

const signer = new Stripe("sk_test_signer_only");

/** A real `Stripe-Signature` header for exactly `payload`. */
export function signStripe(payload: string, secret: string, timestampSec?: number): string {
  return signer.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(timestampSec === undefined ? {} : { timestamp: timestampSec }),
  });
}
