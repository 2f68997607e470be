import {
  Chargeback,
  MercadoPagoConfig,
  MercadoPagoError,
  MerchantOrder,
  MPNotFoundError,
  Payment,
  Preference,
} from "mercadopago";
// The SDK reads its API root from this static (it has no per-client option); see `apiBaseUrl`.
import { AppConfig } from "mercadopago/dist/utils/config/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { divRoundHalfUp } from "../money.js";
import { currencyExponent, decimalToMinor, minorToDecimal } from "./packs.js";
import { type CheckoutInput, type CheckoutLink, type PaymentObservation, webhookSecrets } from "./types.js";

export interface MercadoPagoGatewayOptions {
  accessToken: string;
  /** The webhook secret signature, or several comma-separated (the previous one after a reset): any may sign. */
  webhookSecret: string;
  /** Test credentials: hand out `sandbox_init_point` and expect `live_mode: false` payments. */
  sandbox: boolean;
  /** Per-request timeout of the SDK, in ms. @defaultValue 20_000 */
  timeoutMs?: number;
  /** SDK retries of a failed request. @defaultValue 2 */
  maxRetries?: number;
  /**
   * Another API root for the real SDK (`MP_API_BASE_URL`: a proxy, a test fake), e.g.
   * `http://127.0.0.1:8080` or `https://proxy.internal/mercadopago`; default
   * `https://api.mercadopago.com`. The SDK keeps it process-wide: the gateway created last wins.
   */
  apiBaseUrl?: string;
}

/** MercadoPago's own API root (the SDK's default). */
export const MERCADOPAGO_API_BASE_URL = "https://api.mercadopago.com";

/** The MercadoPago fields we read from `GET /v1/payments/{id}` and `/v1/payments/search`. */
export interface MercadoPagoPayment {
  id?: number | string;
  status?: string;
  status_detail?: string;
  transaction_amount?: number;
  /**
   * A discount campaign's or coupon's amount off: `transaction_amount` stays "the original amount
   * of the items", the payer pays `transaction_amount - coupon_amount` (MercadoPago's discount
   * campaigns guide). 0 or absent without one.
   */
  coupon_amount?: number | string | null;
  /** Cumulative refunded amount; can lag the payment's own refunds (0, null or absent). */
  transaction_amount_refunded?: number | string | null;
  /** The payment's refunds, each with its own amount and status (`approved`, `in_process`, `rejected`, `cancelled`). */
  refunds?: readonly { amount?: number | string | null; status?: string | null }[] | null;
  currency_id?: string;
  external_reference?: string;
  live_mode?: boolean;
  date_created?: string;
  /** When the payment was approved (ISO 8601 with offset); null until then. */
  date_approved?: string | null;
}

/**
 * The MercadoPago adapter (Checkout Pro). The SDK calls the global `fetch` at `AppConfig.BASE_URL`,
 * which `apiBaseUrl` sets (and resets to MercadoPago's own when unset). Idempotency keys are
 * passed per call, never in the config (a config-level key would be reused for every write).
 */
export function createMercadoPagoGateway(opts: MercadoPagoGatewayOptions) {
  // Declared `readonly` in the SDK's types but a plain static the RestClient reads on every call.
  (AppConfig as { BASE_URL: string }).BASE_URL = (opts.apiBaseUrl ?? MERCADOPAGO_API_BASE_URL).replace(
    /\/+$/,
    "",
  );
  const client = new MercadoPagoConfig({
    accessToken: opts.accessToken,
    options: { timeout: opts.timeoutMs ?? 20_000, maxRetries: opts.maxRetries ?? 2 },
  });
  const preferences = new Preference(client);
  const payments = new Payment(client);
  const chargebacks = new Chargeback(client);
  const merchantOrders = new MerchantOrder(client);

  return {
    name: "mercadopago" as const,
    /** The secrets a notification may be signed with (one, or several while a reset settles). */
    webhookSecrets: webhookSecrets(opts.webhookSecret),
    /** The `live_mode` a genuine payment must have. */
    liveMode: !opts.sandbox,

    async createCheckout({ topup, title, publicBaseUrl }: CheckoutInput): Promise<CheckoutLink> {
      const q = `provider=mercadopago&topup=${encodeURIComponent(topup.id)}`;
      try {
        const pref = await preferences.create({
          body: {
            items: [
              {
                id: topup.packId,
                title,
                quantity: 1,
                // MP takes decimal major units; exact for every 0- or 2-decimal amount a pack can hold.
                unit_price: Number(minorToDecimal(topup.amountMinor, topup.currencyExponent)),
                currency_id: topup.currency,
              },
            ],
            external_reference: topup.id,
            metadata: { topup_id: topup.id, account_id: topup.accountId },
            // `source_news=webhooks`: signed Webhooks only, no unverifiable legacy IPN duplicates.
            notification_url: `${publicBaseUrl}/webhooks/mercadopago?source_news=webhooks`,
            back_urls: {
              success: `${publicBaseUrl}/pay/success?${q}`,
              pending: `${publicBaseUrl}/pay/success?${q}&pending=1`,
              failure: `${publicBaseUrl}/pay/cancel?${q}`,
            },
            auto_return: "approved",
            expires: true,
            expiration_date_to: new Date(topup.expiresAtMs).toISOString(),
          },
          requestOptions: { idempotencyKey: `topup-${topup.id}` },
        });
        const url = opts.sandbox ? pref.sandbox_init_point : pref.init_point;
        if (!pref.id || !url) throw new Error("preference response has no id or init_point");
        return { providerRef: pref.id, url };
      } catch (cause) {
        throw upstream("mercadopago: creating the preference failed", cause);
      }
    },

    /** The payment's current state, or null when MercadoPago does not know the id. */
    async getPayment(paymentId: string): Promise<MercadoPagoPayment | null> {
      try {
        return (await payments.get({ id: paymentId })) as MercadoPagoPayment;
      } catch (cause) {
        if (cause instanceof MPNotFoundError) return null;
        throw upstream(`mercadopago: fetching payment ${paymentId} failed`, cause);
      }
    },

    /**
     * The payment ids a chargeback or merchant-order notification is about (`topic_chargebacks_wh`:
     * `GET /v1/chargebacks/{id}` → `payments`; `topic_merchant_order_wh`: `GET
     * /merchant_orders/{id}` → `payments[].id`), or null when MercadoPago does not know the id.
     */
    async paymentIdsOf(topic: PaymentGroupTopic, id: string): Promise<string[] | null> {
      try {
        if (topic === "chargeback") {
          const cb = (await chargebacks.get({ id })) as { payments?: unknown; payment_id?: unknown };
          return paymentIdList(cb.payments, cb.payment_id);
        }
        const order = (await merchantOrders.get({ merchantOrderId: id })) as { payments?: unknown };
        const ids = Array.isArray(order.payments)
          ? order.payments.map((p) => (p as { id?: unknown } | null)?.id)
          : [];
        return paymentIdList(ids, undefined);
      } catch (cause) {
        if (cause instanceof MPNotFoundError) return null;
        throw upstream(`mercadopago: fetching ${topic} ${id} failed`, cause);
      }
    },

    /** Every payment made against one of our top-ups (matched by `external_reference`). */
    async searchPayments(externalReference: string): Promise<MercadoPagoPayment[]> {
      try {
        const res = await payments.search({
          options: {
            external_reference: externalReference,
            sort: "date_created",
            criteria: "desc",
            limit: 50,
          },
        });
        return (res.results ?? []) as MercadoPagoPayment[];
      } catch (cause) {
        throw upstream(`mercadopago: searching payments for ${externalReference} failed`, cause);
      }
    },
  };
}

export type MercadoPagoGateway = ReturnType<typeof createMercadoPagoGateway>;

/** Notification topics about a resource that names payments rather than about a payment. */
export type PaymentGroupTopic = "chargeback" | "merchant_order";

/**
 * A MercadoPago notification `type` (webhooks) or `topic` (IPN) → the payment group it names, or
 * null. Chargebacks: `topic_chargebacks_wh` (webhooks), `chargebacks` (IPN); merchant orders:
 * `topic_merchant_order_wh`, `merchant_order`.
 */
export function paymentGroupTopic(type: string): PaymentGroupTopic | null {
  if (type === "topic_chargebacks_wh" || type === "chargebacks" || type === "chargeback") return "chargeback";
  if (type === "topic_merchant_order_wh" || type === "merchant_order") return "merchant_order";
  return null;
}

/** Distinct payment ids from a list (`payments: [123]`) and/or a single `payment_id`, as strings. */
function paymentIdList(list: unknown, single: unknown): string[] {
  const all = [...(Array.isArray(list) ? list : []), single];
  const ids = all.filter(
    (v): v is string | number =>
      (typeof v === "number" && Number.isFinite(v)) || (typeof v === "string" && v !== ""),
  );
  return [...new Set(ids.map(String))];
}

function upstream(message: string, cause: unknown): AppError {
  if (cause instanceof AppError) return cause;
  const detail = cause instanceof MercadoPagoError ? `${cause.status} ${cause.message}` : String(cause);
  return new AppError(ErrorCode.UpstreamUnavailable, `${message}: ${detail}`, { cause, retryable: true });
}

const WAITING = new Set(["pending", "authorized", "in_process"]);
const FAILED = new Set(["rejected", "cancelled"]);
/**
 * `status_detail` of a `charged_back` payment whose chargeback was decided for the seller: "the
 * money was reimbursed after a chargeback process" (MercadoPago's payment statuses; `settled`:
 * retained, lost; `in_process`: still open).
 */
const CHARGEBACK_REIMBURSED = new Set(["reimbursed"]);
/** Statuses a payment only reaches after it was approved: it was paid, then (partly) taken back. */
const AFTER_PAID = new Set(["approved", "refunded", "in_mediation", "charged_back"]);

/**
 * A fetched MercadoPago payment → what it says. MP notifications carry no amount or status, so this
 * always describes the payment's CURRENT state: refund and dispute levels are authoritative.
 */
export function observeMercadoPagoPayment(
  payment: MercadoPagoPayment,
  expected: { liveMode: boolean },
  source: string,
): PaymentObservation {
  const status = payment.status ?? "unknown";
  const currency = (payment.currency_id ?? "").toUpperCase();
  const base = {
    echoedTopupId: payment.external_reference ?? null,
    paymentRef: payment.id === undefined ? null : String(payment.id),
    source: `${source} (${status})`,
  };
  if (payment.live_mode !== undefined && payment.live_mode !== expected.liveMode) {
    return {
      ...base,
      state: "unchanged",
      problem: `live_mode is ${payment.live_mode}, this server expects ${expected.liveMode} (MP_SANDBOX)`,
    };
  }
  if (WAITING.has(status)) return { ...base, state: "awaiting_payment" };
  if (FAILED.has(status)) return { ...base, state: "failed" };
  if (!AFTER_PAID.has(status)) return { ...base, state: "unchanged" };

  const exponent = currencyExponent("mercadopago", currency || "XXX");
  let amountMinor: bigint;
  let refundedMinor: bigint;
  let couponMinor = 0n;
  try {
    amountMinor = decimalToMinor(payment.transaction_amount ?? "", exponent);
    if (payment.coupon_amount !== undefined && payment.coupon_amount !== null)
      couponMinor = decimalToMinor(payment.coupon_amount, exponent);
    refundedMinor = refundLevel(payment, status, paidOf(amountMinor, couponMinor), exponent);
  } catch (err) {
    return { ...base, state: "unchanged", problem: `unreadable amount: ${(err as Error).message}` };
  }
  // A chargeback holds the whole payment until it is decided; `charged_back` + `reimbursed` is
  // decided for the seller (the money came back), so the credits are restored like a won dispute.
  const disputed =
    status === "in_mediation" ||
    (status === "charged_back" && !CHARGEBACK_REIMBURSED.has(payment.status_detail ?? ""));
  const approvedAtMs = payment.date_approved ? Date.parse(payment.date_approved) : Number.NaN;
  // A coupon: the pack was bought at `transaction_amount` (checked against the price), but only
  // `transaction_amount - coupon_amount` was paid, and refunds give back at most that: a refund
  // is a share of what was paid, all of it all of the pack (as a discounted Stripe charge's).
  const paidMinor = paidOf(amountMinor, couponMinor);
  return {
    ...base,
    state: "paid",
    paid: { amountMinor, currency, ...(paidMinor !== amountMinor ? { collectedMinor: paidMinor } : {}) },
    ...(Number.isFinite(approvedAtMs) ? { paidAtMs: approvedAtMs } : {}),
    refundedMinor,
    refundIsCurrent: true,
    disputedMinor: disputed ? paidMinor : 0n,
    ...(paidMinor !== amountMinor ? { amountBasisMinor: paidMinor } : {}),
  };
}

/** What the payer paid of `transaction_amount` after a coupon (the whole when the coupon is none or all of it). */
const paidOf = (amountMinor: bigint, couponMinor: bigint): bigint =>
  couponMinor > 0n && couponMinor < amountMinor ? amountMinor - couponMinor : amountMinor;

/** Refunds that gave nothing back (or never will): not counted in a payment's refund level. */
const REFUND_UNDONE = new Set(["rejected", "cancelled", "canceled", "failed"]);

/**
 * A payment's cumulative refund, minor units: the most of what its fields say, since they can
 * disagree. `status: refunded` is a refund IN FULL (a partial one leaves the payment `approved`,
 * `status_detail: partially_refunded`: MercadoPago's payment statuses), whatever
 * `transaction_amount_refunded` says; that field was read as 0 for payments refunded at
 * MercadoPago (mercadopago/sdk-php#158: "Importe de devolución siempre sale como 0"), null, or
 * absent, while `refunds[]` listed the refunds. So the level is the largest of: the whole amount
 * when refunded, `transaction_amount_refunded`, and the sum of the `refunds[]` entries not
 * rejected or cancelled (an entry with an unreadable amount is skipped), at most the payment's
 * amount. Throws on an unreadable
 * `transaction_amount_refunded` (the caller reports it as a problem).
 */
function refundLevel(
  payment: MercadoPagoPayment,
  status: string,
  amountMinor: bigint,
  exponent: number,
): bigint {
  const reported = payment.transaction_amount_refunded;
  let level = reported === undefined || reported === null ? 0n : decimalToMinor(reported, exponent);
  if (Array.isArray(payment.refunds)) {
    let listed = 0n;
    for (const r of payment.refunds) {
      if (r === null || typeof r !== "object" || REFUND_UNDONE.has(String(r.status ?? ""))) continue;
      if (r.amount === undefined || r.amount === null) continue;
      try {
        listed += decimalToMinor(r.amount, exponent);
      } catch {
        // one unreadable entry: the others and the reported total still count
      }
    }
    if (listed > level) level = listed;
  }
  if (status === "refunded" && amountMinor > level) level = amountMinor;
  // Never more than was paid: a field or list that over-reports (a refund listed twice) would
  // otherwise be stored as `refunded_minor` above the payment and overstate payment reports'
  // refunds (the credits taken back were capped at the grant either way).
  return level > amountMinor ? amountMinor : level;
}

/**
 * A Checkout Pro top-up paid "with two cards": the payer splits the price over two cards and
 * MercadoPago makes one payment per card, each with part of the price and the same
 * `external_reference` (ingadhoc/website#187: the redirect reports `approved, approved`;
 * mercadopago/cart-prestashop-7#28 checks the paid amount across the order's payments). Each part
 * alone is not the pack's price. Of `list` (every payment of the top-up, from a search), the ones
 * that got paid, in the pack's currency, when there are at least two and their
 * `transaction_amount`s add up EXACTLY to the pack's price → one observation of them all:
 * `paymentRef` the ids joined by `+` in ascending order (the same whichever part is notified),
 * refund and dispute levels summed. Null otherwise (one payment, or parts that do not add up:
 * each is then checked alone, and refused as a wrong amount).
 *
 * The parts not refunded in full are tried first, then all of them: a two-card attempt undone
 * (its approved card refunded) and paid again with two other cards is the new pair, while a pair
 * one card of which was refunded before it was ever applied is still that pair (granted, then the
 * refunded share reversed). `expected.paymentRef`, the top-up's own `<id>+<id>` once granted,
 * pins the parts: a later payment on the same preference (paid again) must not break the sum, or
 * a refund of one part would be refused as another payment's and lost.
 */
export function observeSplitPayment(
  list: readonly MercadoPagoPayment[],
  expected: {
    liveMode: boolean;
    topupId: string;
    amountMinor: bigint;
    currency: string;
    paymentRef?: string | null;
  },
  source: string,
): PaymentObservation | null {
  const parts: { id: string; o: PaymentObservation }[] = [];
  const seen = new Set<string>();
  for (const p of list) {
    if (p.id === undefined || seen.has(String(p.id))) continue;
    seen.add(String(p.id));
    const o = observeMercadoPagoPayment(p, { liveMode: expected.liveMode }, source);
    if (o.state !== "paid" || o.problem || !o.paid || o.echoedTopupId !== expected.topupId) continue;
    if (o.paid.currency !== expected.currency) continue;
    parts.push({ id: String(p.id), o });
  }
  const pinned = splitPaymentIds(expected.paymentRef);
  if (pinned) {
    const those = pinned.map((id) => parts.find((p) => p.id === id));
    if (those.some((p) => p === undefined)) return null;
    return combineParts(those as typeof parts, expected, source);
  }
  const standing = parts.filter(
    ({ o }) => (o.refundedMinor ?? 0n) < (o.amountBasisMinor ?? o.paid?.amountMinor ?? 0n),
  );
  for (const set of [standing, parts]) {
    if (set.length < 2) continue;
    const sum = set.reduce((n, { o }) => n + (o.paid?.amountMinor ?? 0n), 0n);
    if (sum === expected.amountMinor) return combineParts(set, expected, source);
  }
  return null;
}

/** The payment ids of a split payment's `paymentRef` (`<id>+<id>`), or null for one payment. */
export function splitPaymentIds(paymentRef: string | null | undefined): string[] | null {
  if (!paymentRef?.includes("+")) return null;
  return paymentRef.split("+");
}

function combineParts(
  parts: readonly { id: string; o: PaymentObservation }[],
  expected: { topupId: string; currency: string },
  source: string,
): PaymentObservation {
  // A part paid with a coupon counts its refund and dispute in what was paid of it
  // (`amountBasisMinor`): brought to its `transaction_amount`'s units before they are summed.
  const inItemUnits = (o: PaymentObservation, level: bigint | undefined): bigint | undefined => {
    const basis = o.amountBasisMinor;
    const whole = o.paid?.amountMinor;
    if (level === undefined || basis === undefined || whole === undefined || basis <= 0n) return level;
    return level >= basis ? whole : divRoundHalfUp(level * whole, basis);
  };
  const sum = (pick: (o: PaymentObservation) => bigint | undefined) =>
    parts.reduce((n, { o }) => n + (pick(o) ?? 0n), 0n);
  const ids = parts
    .map((p) => p.id)
    .sort((a, b) => (a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0));
  const paidSum = sum((o) => o.paid?.amountMinor);
  // What the parts collected (a part paid with a coupon: less than its share of the price). The
  // summed levels are in the parts' `transaction_amount` units: counted against `paidSum`.
  const collectedSum = sum((o) => o.paid?.collectedMinor ?? o.paid?.amountMinor);
  return {
    state: "paid",
    paid: {
      amountMinor: paidSum,
      currency: expected.currency,
      ...(collectedSum !== paidSum ? { collectedMinor: collectedSum } : {}),
    },
    ...(collectedSum !== paidSum ? { amountBasisMinor: paidSum } : {}),
    echoedTopupId: expected.topupId,
    paymentRef: ids.join("+"),
    refundedMinor: sum((o) => inItemUnits(o, o.refundedMinor)),
    refundIsCurrent: true,
    disputedMinor: sum((o) => inItemUnits(o, o.disputedMinor)),
    ...(parts.every(({ o }) => o.paidAtMs !== undefined)
      ? { paidAtMs: Math.max(...parts.map(({ o }) => o.paidAtMs as number)) }
      : {}),
    source: `${source} (split over payments ${ids.join(", ")})`,
  };
}

/**
 * Of several payments for one top-up, the one that decides it: any that got paid, else one still
 * waiting to be paid (a boleto or cash ticket: a card attempt rejected after it does not undo it),
 * else the newest.
 */
export function decisivePayment(list: readonly MercadoPagoPayment[]): MercadoPagoPayment | null {
  return (
    list.find((p) => AFTER_PAID.has(p.status ?? "")) ??
    list.find((p) => WAITING.has(p.status ?? "")) ??
    list[0] ??
    null
  );
}
