import { randomUUID } from "node:crypto";
import { vi } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import {
  createMercadoPagoGateway,
  createStripeGateway,
  createTopupRepo,
  type PacksFile,
  parsePacks,
} from "../../src/payments/index.js";
import { signMercadoPagoNotification } from "../../src/webhooks/index.js";
import { buildTestApp, type TestAppDeps } from "./build-app.js";
import { startFakeMercadoPago } from "./fake-mercadopago.js";
import { signStripe, startFakeStripe } from "./fake-stripe.js";

export const STRIPE_WEBHOOK_SECRET = "whsec_test_creditgate_0123456789";
export const MP_WEBHOOK_SECRET = "mp_webhook_secret_test_0123456789";
export const API_KEY = "cg_test_operator_key_0123456789";
export const PUBLIC_BASE_URL = "https://pay.example.test";

/** starter: 5 credits for USD 5.00 (Stripe) or ARS 5000 (MercadoPago); big: 12.5 credits. */
export const TEST_PACKS = {
  packs: [
    {
      id: "starter",
      title: "5 credits",
      credits: "5",
      prices: [
        { provider: "stripe", currency: "usd", amount: "5.00" },
        { provider: "mercadopago", currency: "ARS", amount: "5000" },
      ],
    },
    {
      id: "big",
      credits: "12.5",
      prices: [
        { provider: "stripe", currency: "eur", amount: "10" },
        { provider: "mercadopago", currency: "CLP", amount: "9000" },
      ],
    },
  ],
} satisfies PacksFile;

type Json = Record<string, unknown>;

/**
 * buildApp wired to real `stripe` / `mercadopago` SDKs that talk to local fakes, plus helpers that
 * send correctly signed webhooks through `app.inject`.
 */
export async function createPaymentsHarness(
  db: Db,
  opts: {
    stripe?: boolean;
    mercadoPago?: boolean;
    apiKey?: string | null;
    webhookBodyLimitBytes?: number;
    /** The gateways' configured secret settings (default: the one the send helpers sign with). */
    stripeWebhookSecret?: string;
    mpWebhookSecret?: string;
  } = {},
) {
  const fakeStripe = await startFakeStripe();
  const fakeMp = await startFakeMercadoPago();
  fakeMp.install();
  const stripe =
    opts.stripe === false
      ? null
      : createStripeGateway({
          secretKey: "sk_test_fake_creditgate",
          webhookSecret: opts.stripeWebhookSecret ?? STRIPE_WEBHOOK_SECRET,
          api: fakeStripe.api,
          maxNetworkRetries: 0,
        });
  const mercadoPago =
    opts.mercadoPago === false
      ? null
      : createMercadoPagoGateway({
          accessToken: "TEST-0000000000000000-000000-fake",
          webhookSecret: opts.mpWebhookSecret ?? MP_WEBHOOK_SECRET,
          sandbox: false,
          maxRetries: 0,
        });
  const deps: TestAppDeps = {
    db,
    packs: parsePacks(TEST_PACKS),
    publicBaseUrl: PUBLIC_BASE_URL,
    stripe,
    mercadoPago,
    apiKey: opts.apiKey === undefined ? API_KEY : opts.apiKey,
    ...(opts.webhookBodyLimitBytes ? { webhookBodyLimitBytes: opts.webhookBodyLimitBytes } : {}),
  };
  const app = buildTestApp(deps);
  const ledger = createLedger(db);
  const topups = createTopupRepo(db);
  const auth = { authorization: `Bearer ${API_KEY}` };

  return {
    app,
    deps,
    fakeStripe,
    fakeMp,
    ledger,
    topups,
    auth,
    async createTopup(userId: string, packId: string, provider: "stripe" | "mercadopago") {
      const res = await app.inject({
        method: "POST",
        url: "/v1/topups",
        headers: auth,
        payload: { userId, packId, provider },
      });
      if (res.statusCode !== 201) throw new Error(`create top-up failed: ${res.statusCode} ${res.body}`);
      return res.json() as { topupId: string; url: string; provider: string; expiresAt: string };
    },
    sessionIdOf(topupId: string): string {
      const ref = topups.get(topupId)?.providerRef;
      if (!ref) throw new Error(`no provider ref for ${topupId}`);
      return ref;
    },
    /** Posts a Stripe event signed exactly as sent (override secret / timestamp / bytes to test failures). */
    sendStripe(
      event: Json | string,
      o: { secret?: string; timestampSec?: number; tamper?: (payload: string) => string } = {},
    ) {
      const payload = typeof event === "string" ? event : JSON.stringify(event);
      const signature = signStripe(payload, o.secret ?? STRIPE_WEBHOOK_SECRET, o.timestampSec);
      return app.inject({
        method: "POST",
        url: "/webhooks/stripe",
        headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": signature },
        payload: o.tamper ? o.tamper(payload) : payload,
      });
    },
    /** Posts a MercadoPago notification with a valid `x-signature` over `id;request-id;ts`. */
    sendMp(
      notification: Json | string,
      o: { secret?: string; ts?: string; dataId?: string; signedDataId?: string; requestId?: string } = {},
    ) {
      const body = typeof notification === "string" ? notification : JSON.stringify(notification);
      const dataId =
        o.dataId ?? (typeof notification === "string" ? "0" : String((notification.data as Json).id));
      const requestId = o.requestId ?? randomUUID();
      const ts = o.ts ?? String(Math.floor(Date.now() / 1000));
      const xSignature = signMercadoPagoNotification({
        dataId: o.signedDataId ?? dataId,
        xRequestId: requestId,
        ts,
        secret: o.secret ?? MP_WEBHOOK_SECRET,
      });
      return app.inject({
        method: "POST",
        url: `/webhooks/mercadopago?data.id=${encodeURIComponent(dataId)}&type=${encodeURIComponent(
          typeof notification === "string" ? "payment" : String(notification.type ?? "payment"),
        )}`,
        headers: { "content-type": "application/json", "x-signature": xSignature, "x-request-id": requestId },
        payload: body,
      });
    },
    balance(userId: string): number {
      return ledger.balance(userId)?.balanceMicroCredits ?? 0;
    },
    eventCount(): number {
      return (db.prepare("SELECT COUNT(*) AS n FROM provider_events").get() as { n: number }).n;
    },
    ledgerRows(userId: string) {
      return ledger.entries(userId, 1000).reverse();
    },
    async close() {
      await app.close();
      await fakeStripe.close();
      await fakeMp.close();
      vi.unstubAllGlobals();
    },
  };
}

export type PaymentsHarness = Awaited<ReturnType<typeof createPaymentsHarness>>;
