import type { FastifyInstance, FastifyRequest } from "fastify";
import { AppError, ErrorCode } from "../errors.js";
import {
  applyProviderRead,
  DISABLED_HINT,
  type MercadoPagoGateway,
  observeMercadoPagoPayment,
  observeSplitPayment,
  paymentGroupTopic,
  splitPaymentIds,
} from "../payments/index.js";
import { type Fulfiller, type ProviderEventRecord, refundUnitsMinor } from "./fulfil.js";
import { type SignatureCheck, verifyMercadoPagoSignature } from "./verify-mercadopago.js";

export interface MercadoPagoWebhookOptions {
  mercadoPago: MercadoPagoGateway | null;
  fulfiller: Fulfiller;
  nowMs: () => number;
  bodyLimitBytes: number;
}

interface Notification {
  id?: unknown;
  type?: unknown;
  action?: unknown;
  data?: { id?: unknown };
}

const SIGNATURE_MESSAGES = {
  malformed: "malformed x-signature header (expected ts=<ts>,v1=<hex>)",
  mismatch: "mercadopago signature verification failed",
  stale:
    "mercadopago signature timestamp is outside the tolerance window (more than 5 days old or 5 minutes ahead)",
} as const;

/**
 * `POST /webhooks/mercadopago`. The signature covers the query's `data.id`, `x-request-id` and `ts`
 * (not the body), and the notification carries no amount or status: after verifying we fetch the
 * payment and apply its CURRENT state. Registered without fastify-plugin so its parser stays local.
 */
export async function mercadoPagoWebhookRoutes(
  app: FastifyInstance,
  opts: MercadoPagoWebhookOptions,
): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: opts.bodyLimitBytes }, (_req, body, done) =>
    done(null, body),
  );

  app.post("/webhooks/mercadopago", async (request) => {
    const mp = opts.mercadoPago;
    if (!mp) throw new AppError(ErrorCode.ProviderDisabled, DISABLED_HINT.mercadopago);
    const query = request.query as Record<string, string | string[] | undefined>;
    const queryDataId =
      typeof query["data.id"] === "string" && query["data.id"] !== "" ? query["data.id"] : undefined;
    const xRequestId = request.headers["x-request-id"];
    if (!queryDataId && typeof query.topic === "string") {
      // Legacy IPN (`?topic=payment&id=123`, `?topic=merchant_order&id=…`): sent when a
      // notification URL or the panel's IPN setting asks for it (mercadopago/sdk-nodejs#126: both
      // shapes arrive). It is unsigned and carries nothing but the resource's id, which is all a
      // signed Webhook gives too: the payment is read from MercadoPago with our token and checked
      // as always (ours, amount, currency, live_mode), as `reconcile` does. Ignored before, a
      // payment (or its refund, its chargeback) notified only this way waited for `reconcile`,
      // which never looks at a paid top-up again. Recorded nowhere: it has no notification id,
      // and every delivery applies the payment's current state once.
      const topic = query.topic;
      const id = typeof query.id === "string" ? query.id.trim() : "";
      if (!/^\d{1,24}$/.test(id) || (topic !== "payment" && !paymentGroupTopic(topic))) {
        return {
          received: true,
          status: "ignored",
          topupId: null,
          detail: `legacy IPN notification (topic ${topic.slice(0, 40)}) is not about a payment`,
        };
      }
      return applyNotified({ mp, type: topic, dataId: id, action: `ipn ${topic}`, record: null, request });
    }
    const xSignature = request.headers["x-signature"];
    if (typeof xSignature !== "string")
      throw new AppError(ErrorCode.InvalidSignature, "missing x-signature header");
    // Any configured secret may have signed it (the previous one while a reset settles); a
    // secret that matched with a stale ts reports "stale", the others "mismatch".
    let check: SignatureCheck = { ok: false, reason: "mismatch" };
    for (const secret of mp.webhookSecrets) {
      const c = verifyMercadoPagoSignature({
        xSignature,
        xRequestId: typeof xRequestId === "string" ? xRequestId : undefined,
        dataId: queryDataId,
        secret,
        nowMs: opts.nowMs(),
      });
      if (c.ok || c.reason !== "mismatch") check = c;
      if (c.ok || c.reason === "malformed") break;
    }
    if (!check.ok) throw new AppError(ErrorCode.InvalidSignature, SIGNATURE_MESSAGES[check.reason]);

    let note: Notification;
    try {
      const raw = Buffer.isBuffer(request.body) ? request.body.toString("utf8") : "";
      note = JSON.parse(raw) as Notification;
      if (note === null || typeof note !== "object") throw new Error("not an object");
    } catch {
      throw new AppError(ErrorCode.InvalidRequest, "malformed JSON body");
    }
    const rawBodyDataId = note.data?.id;
    const bodyDataId =
      (typeof rawBodyDataId === "string" && rawBodyDataId !== "") ||
      (typeof rawBodyDataId === "number" && Number.isFinite(rawBodyDataId))
        ? String(rawBodyDataId)
        : undefined;
    if (queryDataId !== undefined && rawBodyDataId !== undefined && String(rawBodyDataId) !== queryDataId) {
      throw new AppError(ErrorCode.InvalidRequest, "body data.id differs from the signed query data.id");
    }
    // A notification whose URL carries no `data.id` (the id only in the body: MercadoPago then
    // signs the manifest without its `id:` pair, which the check above verified) names its
    // resource in the body. That id is not covered by the signature, but nothing is taken from the
    // notification beyond it: the payment (or chargeback, merchant order) is read from MercadoPago
    // with our token and checked as always, so the worst a changed id does is re-read another
    // real payment of ours. Refused before (400, retried until MercadoPago gave up): lost.
    const dataId = queryDataId ?? bodyDataId;
    const type = typeof note.type === "string" ? note.type : typeof query.type === "string" ? query.type : "";
    const action = typeof note.action === "string" ? note.action : type;
    const eventId =
      note.id !== undefined && note.id !== null
        ? String(note.id)
        : `${action}:${dataId ?? ""}:${typeof xRequestId === "string" ? xRequestId : ""}`;
    const record = {
      provider: "mercadopago" as const,
      eventId,
      type: action || "unknown",
      payload: JSON.stringify(note),
    };
    if ((type !== "payment" && !paymentGroupTopic(type)) || !dataId) {
      const o = opts.fulfiller.apply({
        event: record,
        topupId: null,
        observation: null,
        note: `mercadopago notification type ${type || "(none)"} is not handled`,
        nowMs: opts.nowMs(),
      });
      return { received: true, status: o.status, topupId: null, detail: o.detail };
    }
    if (opts.fulfiller.seen("mercadopago", eventId)) {
      return {
        received: true,
        status: "duplicate",
        topupId: null,
        detail: `event ${eventId} was already processed`,
      };
    }
    return applyNotified({ mp, type, dataId, action, record, request });
  });

  /**
   * A verified notification (or a legacy IPN: `record` null, nothing stored) naming a payment, a
   * chargeback or a merchant order → the payments it names read from MercadoPago and applied.
   */
  async function applyNotified(n: {
    mp: MercadoPagoGateway;
    type: string;
    dataId: string;
    action: string;
    record: ProviderEventRecord | null;
    request: FastifyRequest;
  }) {
    const { mp, type, dataId, action, record, request } = n;
    const eventId = record?.eventId ?? `${action}:${dataId}`;
    const nowMs = opts.nowMs();
    // A chargeback (opened, decided) or a merchant order is notified under its own topic with its
    // own id: what it says about money is on the payments it names, re-read like a payment's.
    const group = paymentGroupTopic(type);
    // Every fetch throws a retryable 503 on failure (MercadoPago redelivers); the payments are all
    // read before the first apply, but each apply is followed by an awaited re-read (below).
    const paymentIds = group ? await mp.paymentIdsOf(group, dataId) : [dataId];
    if (!paymentIds && record) throw notReadableYet(`${group} ${dataId}`);
    if (!paymentIds || paymentIds.length === 0) {
      const o = opts.fulfiller.apply({
        event: record,
        topupId: null,
        observation: null,
        note: `${group} ${dataId} ${paymentIds ? "names no payment" : "is unknown to mercadopago"}`,
        nowMs,
      });
      return { received: true, status: o.status, topupId: null, detail: o.detail };
    }
    const fetched: { id: string; payment: Awaited<ReturnType<MercadoPagoGateway["getPayment"]>> }[] = [];
    for (const id of paymentIds) fetched.push({ id, payment: await mp.getPayment(id) });
    // A signed notification names a resource MercadoPago has: one it cannot find (404) is one
    // it cannot show YET (a payment read moments after it was created or changed; the same
    // "Payment not found" for a payment that exists: mercadopago/sdk-nodejs#131, sdk-php#187).
    // Recorded `ignored` and answered 200, it was consumed: MercadoPago's redelivery was a
    // `duplicate`, and a refund or chargeback of a paid top-up (which `reconcile` never re-reads)
    // was never taken back. Nothing is recorded and MercadoPago is asked to redeliver (503), as a
    // Stripe object that cannot be retrieved is. A legacy IPN (unsigned: anyone can send any id)
    // is still answered `ignored`.
    const missing = fetched.find((f) => f.payment === null);
    if (missing && record) throw notReadableYet(`payment ${missing.id}`);
    const source = group ? `mercadopago ${action} (${group} ${dataId})` : `mercadopago ${action}`;
    const observe = (p: (typeof fetched)[number]["payment"]) =>
      p ? observeMercadoPagoPayment(p, { liveMode: mp.liveMode }, source) : null;
    /**
     * {@link observe}, except that a paid payment for less than its top-up's price is read with
     * the top-up's other payments: paid with two cards, the parts that add up to the price are
     * applied as one payment (`observeSplitPayment`); otherwise it stays a wrong amount.
     */
    const observeWhole = async (p: (typeof fetched)[number]["payment"]) => {
      const o = observe(p);
      if (o?.state !== "paid" || o.problem || !o.paid || !o.echoedTopupId) return o;
      const t = opts.fulfiller.topups.get(o.echoedTopupId);
      if (t?.provider !== "mercadopago") return o;
      // Once applied as one, a part is read with the other parts of that top-up's payment only; a
      // payment outside it is another payment (refused as such, as before).
      const pinned = splitPaymentIds(t.paymentRef);
      if (pinned ? !pinned.includes(String(p?.id)) : o.paid.amountMinor >= t.amountMinor) return o;
      const expected = {
        liveMode: mp.liveMode,
        topupId: t.id,
        amountMinor: t.amountMinor,
        currency: t.currency,
        paymentRef: t.paymentRef,
      };
      return observeSplitPayment(await mp.searchPayments(t.id), expected, source) ?? o;
    };
    const outcomes = [];
    for (const [i, { id, payment }] of fetched.entries()) {
      // The notification is recorded once, with the LAST payment it names: the re-reads between
      // the applies are awaited, and a delivery cut short there (a restart, a crash) must leave the
      // notification unrecorded so that MercadoPago's redelivery applies the payments not reached
      // (every apply is of the payment's state: one applied again changes nothing). Recorded with
      // the first, the redelivery was a duplicate and those payments were never applied.
      const event = i === fetched.length - 1 ? record : null;
      const topupId = payment?.external_reference ?? null;
      const observation = await observeWhole(payment);
      if (!observation) {
        outcomes.push(
          opts.fulfiller.apply({
            event,
            provider: "mercadopago",
            topupId,
            observation: null,
            note: `payment ${id} is unknown to mercadopago`,
            nowMs: opts.nowMs(),
          }),
        );
        continue;
      }
      // The payment as read now, applied; then read again after the commit (applyProviderRead): a
      // notification about the same payment handled at the same moment may have read it before a
      // change and committed after us, or read it after and committed before.
      const settled = await applyProviderRead(
        observation,
        (o, n) =>
          opts.fulfiller.apply({
            event: n === 0 ? event : null,
            // checked without the event row too: a payment after the first, a re-read
            provider: "mercadopago",
            topupId,
            observation: o,
            nowMs: opts.nowMs(),
          }),
        async () => observeWhole(await mp.getPayment(id)),
      );
      outcomes.push(settled.first);
      if (settled.reapplied > 0 || !settled.settled) {
        request.log.warn(
          {
            eventId,
            dataId,
            paymentId: id,
            topupId: settled.first.topupId,
            rereads: settled.rereads,
            reapplied: settled.reapplied,
            lastStatus: settled.last.status,
            settled: settled.settled,
            error: settled.error,
          },
          "mercadopago payment changed while this notification was applied: re-read after commit",
        );
      }
    }
    // A top-up now refunded in full whose preference another payment also paid (refused then as a
    // second payment): that payment takes its place (the fulfiller's takeover), or the user who
    // paid it keeps nothing. Searched after the commits above; a failed search is only logged.
    for (const topupId of new Set(outcomes.map((o) => o.topupId))) {
      const t = topupId ? opts.fulfiller.topups.get(topupId) : null;
      if (!topupId || !t || t.provider !== "mercadopago" || t.status !== "paid") continue;
      const whole = refundUnitsMinor(t); // what it collected (a coupon: less than the price)
      if (whole <= 0n || t.refundedMinor < whole || t.disputedMinor !== 0n) continue;
      try {
        const own = new Set(splitPaymentIds(t.paymentRef) ?? [t.paymentRef]);
        const others = (await mp.searchPayments(topupId)).filter(
          (p) => p.id !== undefined && !own.has(String(p.id)) && p.status === "approved",
        );
        // Paid again with two cards: the two parts take its place together.
        const expected = {
          liveMode: mp.liveMode,
          topupId,
          amountMinor: t.amountMinor,
          currency: t.currency,
        };
        const split = observeSplitPayment(others, expected, source);
        for (const observation of [split, ...others.map((p) => observe(p))]) {
          if (!observation) continue;
          const o = opts.fulfiller.apply({
            event: null,
            provider: "mercadopago",
            topupId,
            observation: {
              ...observation,
              source: `${observation.source}, replacing refunded ${t.paymentRef}`,
            },
            nowMs: opts.nowMs(),
          });
          if (o.status === "applied") {
            outcomes.push(o);
            break;
          }
        }
      } catch (err) {
        request.log.warn(
          { eventId, topupId, error: err instanceof Error ? err.message : String(err) },
          "mercadopago: searching the refunded top-up's other payments failed",
        );
      }
    }
    const outcome =
      outcomes.find((o) => o.status === "applied") ?? (outcomes[0] as (typeof outcomes)[number]);
    request.log.info(
      {
        eventId,
        dataId,
        paymentIds,
        status: outcome.status,
        topupId: outcome.topupId,
        detail: outcome.detail,
      },
      "mercadopago webhook",
    );
    return { received: true, status: outcome.status, topupId: outcome.topupId, detail: outcome.detail };
  }
}

/** A 503 asking MercadoPago to redeliver a signed notification whose resource it cannot show yet. */
function notReadableYet(what: string): AppError {
  return new AppError(
    ErrorCode.UpstreamUnavailable,
    `mercadopago: ${what} is not readable (404) yet; answered 503 so that MercadoPago redelivers the notification`,
    { retryable: true },
  );
}
