import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { vi } from "vitest";

export const MP_API = "https://api.mercadopago.com";

export interface MpRequestLog {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  headers: IncomingMessage["headers"];
}

type Json = Record<string, unknown>;

/**
 * A stateful fake of MercadoPago's preference and payment endpoints on 127.0.0.1. The SDK's base
 * URL is hard-coded, so `install()` stubs the global `fetch` to send `https://api.mercadopago.com/*`
 * here (anything else not on 127.0.0.1 is refused). Bodies follow the real API's shapes.
 */
export async function startFakeMercadoPago(opts: { liveMode?: boolean } = {}) {
  const liveMode = opts.liveMode ?? true;
  const preferences = new Map<string, Json>();
  const payments = new Map<string, Json>();
  const chargebacks = new Map<string, Json>();
  const merchantOrders = new Map<string, Json>();
  const requests: MpRequestLog[] = [];
  let nextPaymentId = 1_320_000_000 + Math.floor(Math.random() * 1000) * 1000;
  let nextNotificationId = 12_000_000_000;
  let failNext = 0;
  /** Payment reads held back (see `holdNextRead`). */
  const holds: { arrived: () => void; released: Promise<void> }[] = [];

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const text = Buffer.concat(chunks).toString("utf8");
      const body = text ? (JSON.parse(text) as unknown) : null;
      requests.push({
        method: req.method ?? "GET",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        body,
        headers: req.headers,
      });
      const send = (status: number, b: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(b));
      };
      if (failNext > 0) {
        failNext -= 1;
        return send(500, { message: "internal_error", error: "internal_error", status: 500, cause: [] });
      }
      const path = url.pathname.replace(/\/+$/, "");
      if (req.method === "POST" && path === "/checkout/preferences") {
        const b = body as Json;
        const id = `202809963-${randomUUID()}`;
        const pref: Json = {
          ...b,
          id,
          collector_id: 202809963,
          client_id: "6295877106812064",
          date_created: new Date().toISOString(),
          operation_type: "regular_payment",
          init_point: `https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=${id}`,
          sandbox_init_point: `https://sandbox.mercadopago.com.ar/checkout/v1/redirect?pref_id=${id}`,
        };
        preferences.set(id, pref);
        return send(201, pref);
      }
      if (req.method === "GET" && path === "/v1/payments/search") {
        const ref = url.searchParams.get("external_reference");
        const results = [...payments.values()]
          .filter((p) => ref === null || p.external_reference === ref)
          .reverse();
        const page = structuredClone({ paging: { total: results.length, limit: 50, offset: 0 }, results });
        const hold = holds.shift();
        if (!hold) return send(200, page);
        hold.arrived();
        void hold.released.then(() => send(200, page));
        return;
      }
      const cb = /^\/v1\/chargebacks\/([^/]+)$/.exec(path);
      if (req.method === "GET" && cb?.[1]) {
        const c = chargebacks.get(cb[1]);
        return c
          ? send(200, c)
          : send(404, { message: "chargeback not found", error: "not_found", status: 404, cause: [] });
      }
      const mo = /^\/merchant_orders\/([^/]+)$/.exec(path);
      if (req.method === "GET" && mo?.[1]) {
        const o = merchantOrders.get(mo[1]);
        return o
          ? send(200, o)
          : send(404, { message: "merchant_order not found", error: "not_found", status: 404, cause: [] });
      }
      const m = /^\/v1\/payments\/([^/]+)$/.exec(path);
      if (req.method === "GET" && m?.[1]) {
        const p = payments.get(m[1]);
        if (!p)
          return send(404, { message: "Payment not found", error: "not_found", status: 404, cause: [] });
        const snapshot = structuredClone(p); // the payment as it is when the request arrives
        const hold = holds.shift();
        if (!hold) return send(200, snapshot);
        hold.arrived();
        void hold.released.then(() => send(200, snapshot));
        return;
      }
      return send(404, { message: "resource not found", error: "not_found", status: 404, cause: [] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const local = `http://127.0.0.1:${port}`;
  const realFetch = globalThis.fetch;

  function preferenceFor(topupId: string): Json {
    const pref = [...preferences.values()].find((p) => p.external_reference === topupId);
    if (!pref) throw new Error(`fake mercadopago: no preference for ${topupId}`);
    return pref;
  }

  return {
    port,
    requests,
    preferences,
    payments,
    /** Routes the SDK's `fetch` calls to this fake; undo with `vi.unstubAllGlobals()`. */
    install() {
      vi.stubGlobal("fetch", (input: string | URL | Request, init?: RequestInit) => {
        const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        if (href.startsWith(MP_API)) return realFetch(local + href.slice(MP_API.length), init);
        if (href.startsWith("http://127.0.0.1")) return realFetch(input, init);
        return Promise.reject(new Error(`test network: refused ${href}`));
      });
    },
    /**
     * Holds the next payment read (`GET /v1/payments/:id` or `/v1/payments/search`): answered with the payment as it was when the request
     * ARRIVED, but only once `release()` is called (a notification whose fetch is slow while the
     * payment changes and another notification fetches and commits the new state).
     */
    holdNextRead(): { arrived: Promise<void>; release: () => void } {
      let release = () => {};
      const released = new Promise<void>((r) => {
        release = r;
      });
      let arrived = () => {};
      const arrivedP = new Promise<void>((r) => {
        arrived = r;
      });
      holds.push({ arrived, released });
      return { arrived: arrivedP, release };
    },
    failNextRequests(n: number) {
      failNext = n;
    },
    /**
     * The payer pays the preference of `topupId` → a payment with the preference's price, unless
     * overridden (wrong amount / currency / reference tests). Returns the payment id.
     */
    pay(
      topupId: string,
      over: {
        status?: string;
        amount?: number;
        currency?: string;
        externalReference?: string;
        liveMode?: boolean;
        /** Paid in installments with interest borne by the payer: `total_paid_amount` = price + interest. */
        installments?: { count: number; interest: number };
        /** `date_approved` (ISO 8601), when approved; default now. */
        approvedAt?: string;
        /**
         * A discount campaign or coupon code: `coupon_amount` off; `transaction_amount` stays the
         * items' price, the payer pays (`total_paid_amount`) the price less the coupon.
         */
        coupon?: number;
      } = {},
    ): string {
      const pref = preferenceFor(topupId);
      const item = (pref.items as Json[])[0] as Json;
      const id = nextPaymentId++;
      const status = over.status ?? "approved";
      const payment: Json = {
        id,
        date_created: new Date().toISOString(),
        date_approved: status === "approved" ? (over.approvedAt ?? new Date().toISOString()) : null,
        date_last_updated: new Date().toISOString(),
        operation_type: "regular_payment",
        payment_method_id: "visa",
        payment_type_id: "credit_card",
        status,
        status_detail: status === "approved" ? "accredited" : status,
        currency_id: over.currency ?? item.currency_id,
        description: item.title,
        live_mode: over.liveMode ?? liveMode,
        collector_id: 202809963,
        external_reference: over.externalReference ?? topupId,
        transaction_amount: over.amount ?? item.unit_price,
        transaction_amount_refunded: 0,
        coupon_amount: over.coupon ?? 0,
        installments: over.installments?.count ?? 1,
        transaction_details: {
          total_paid_amount:
            (over.amount ?? (item.unit_price as number)) +
            (over.installments?.interest ?? 0) -
            (over.coupon ?? 0),
          net_received_amount: (over.amount ?? (item.unit_price as number)) - (over.coupon ?? 0),
          installment_amount:
            ((over.amount ?? (item.unit_price as number)) + (over.installments?.interest ?? 0)) /
            (over.installments?.count ?? 1),
        },
        metadata: pref.metadata ?? {},
        refunds: [],
      };
      payments.set(String(id), payment);
      return String(id);
    },
    /**
     * Moves a payment along (refunds are cumulative, like the real API). `statusDetail` defaults
     * to the status (e.g. `charged_back` + `settled` / `reimbursed` / `in_process`).
     */
    update(
      paymentId: string,
      patch: {
        status?: string;
        statusDetail?: string;
        refunded?: number;
        /**
         * `transaction_amount_refunded` as the payment then reports it, when it lags its own
         * refunds (0, null, or absent: `undefined` deletes the field), set after `refunded`.
         */
        reportedRefunded?: number | null | undefined;
      },
    ) {
      const p = payments.get(paymentId);
      if (!p) throw new Error(`fake mercadopago: no payment ${paymentId}`);
      if (patch.status) {
        Object.assign(p, { status: patch.status, status_detail: patch.statusDetail ?? patch.status });
      } else if (patch.statusDetail) p.status_detail = patch.statusDetail;
      if (patch.refunded !== undefined) {
        // Like the real API: `transaction_amount_refunded` is cumulative, each `refunds[]` entry is
        // one refund's own amount (a lowered level: the newest refunds were rejected).
        const refunds = p.refunds as Json[];
        const listed = () =>
          refunds.filter((r) => r.status === "approved").reduce((n, r) => n + (r.amount as number), 0);
        for (let i = refunds.length - 1; i >= 0 && listed() > patch.refunded; i--) {
          if ((refunds[i] as Json).status === "approved") (refunds[i] as Json).status = "rejected";
        }
        const more = patch.refunded - listed();
        if (more > 0) refunds.push({ id: nextPaymentId++, amount: more, status: "approved" });
        p.transaction_amount_refunded = patch.refunded;
      }
      if ("reportedRefunded" in patch) {
        if (patch.reportedRefunded === undefined) delete p.transaction_amount_refunded;
        else p.transaction_amount_refunded = patch.reportedRefunded;
      }
      p.date_last_updated = new Date().toISOString();
    },
    /**
     * A chargeback on a payment (MercadoPago's "Manage chargebacks" guide): the payment goes to
     * `charged_back` with `status_detail` `in_process`, then `settled` (lost) or `reimbursed` (won,
     * `coverage_applied: true`). Creates the chargeback on first use; returns its id.
     */
    chargeback(
      paymentId: string,
      statusDetail: "in_process" | "settled" | "reimbursed" = "in_process",
    ): string {
      const p = payments.get(paymentId);
      if (!p) throw new Error(`fake mercadopago: no payment ${paymentId}`);
      Object.assign(p, { status: "charged_back", status_detail: statusDetail });
      p.date_last_updated = new Date().toISOString();
      let c = [...chargebacks.values()].find((x) => (x.payments as unknown[]).includes(Number(paymentId)));
      if (!c) {
        c = {
          id: String(234_000_062_890_459_000n + BigInt(chargebacks.size)),
          payments: [Number(paymentId)],
          currency: p.currency_id,
          amount: p.transaction_amount,
          reason: "general",
          coverage_applied: null,
          coverage_elegible: true,
          documentation_required: false,
          documentation_status: "not_supplied",
          documentation: [],
          date_documentation_deadline: null,
          date_created: new Date().toISOString(),
          live_mode: liveMode,
        };
        chargebacks.set(c.id as string, c);
      }
      c.coverage_applied = statusDetail === "in_process" ? null : statusDetail === "reimbursed";
      c.date_last_updated = new Date().toISOString();
      return c.id as string;
    },
    /** A merchant order grouping payments of a preference; returns its id. */
    merchantOrder(paymentIds: string[]): string {
      const id = String(20_000_000_000 + merchantOrders.size);
      merchantOrders.set(id, {
        id: Number(id),
        status: "closed",
        payments: paymentIds.map((pid) => ({
          id: Number(pid),
          status: payments.get(pid)?.status ?? "unknown",
        })),
      });
      return id;
    },
    /** A webhook about a chargeback or merchant order (`topic_chargebacks_wh`, `topic_merchant_order_wh`). */
    topicNotification(type: string, resourceId: string, action = "updated"): Json {
      return {
        id: nextNotificationId++,
        live_mode: liveMode,
        type,
        date_created: new Date().toISOString(),
        user_id: 202809963,
        api_version: "v1",
        action,
        data: { id: resourceId },
      };
    },
    /** A webhook notification body about a payment, as MercadoPago sends it. */
    notification(paymentId: string, action = "payment.updated"): Json {
      return {
        id: nextNotificationId++,
        live_mode: liveMode,
        type: "payment",
        date_created: new Date().toISOString(),
        user_id: 202809963,
        api_version: "v1",
        action,
        data: { id: paymentId },
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type FakeMercadoPago = Awaited<ReturnType<typeof startFakeMercadoPago>>;
