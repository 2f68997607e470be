import { describe, expect } from "vitest";
import { API_KEY, createPaymentsHarness, PUBLIC_BASE_URL } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const USER = "telegram:123456";

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("POST /v1/topups", () => {
    test("creates a Stripe Checkout Session carrying our id everywhere, with an idempotency key", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const created = await h.createTopup(USER, "starter", "stripe");
      expect(created).toMatchObject({
        provider: "stripe",
        topupId: expect.stringMatching(/^tu_[0-9a-f]{20}$/),
      });
      expect(Date.parse(created.expiresAt)).toBeGreaterThan(Date.now() + 30 * 60_000);

      const call = h.fakeStripe.requests.find((r) => r.path === "/v1/checkout/sessions");
      expect(call?.headers["idempotency-key"]).toBe(`topup-${created.topupId}`);
      expect(call?.params).toMatchObject({
        mode: "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "500",
        client_reference_id: created.topupId,
        "metadata[topup_id]": created.topupId,
        "payment_intent_data[metadata][topup_id]": created.topupId,
        "payment_intent_data[metadata][account_id]": USER,
        cancel_url: `${PUBLIC_BASE_URL}/pay/cancel?provider=stripe&topup=${created.topupId}`,
      });
      expect(call?.params.success_url).toContain("session_id={CHECKOUT_SESSION_ID}");
      expect(h.topups.get(created.topupId)).toMatchObject({
        status: "pending",
        accountId: USER,
        amountMinor: 500n,
        currency: "USD",
        grantMicroCredits: 5_000_000n,
        checkoutUrl: created.url,
      });
    });

    test("creates a MercadoPago preference with external_reference, signed-webhook URL and back URLs", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const created = await h.createTopup(USER, "starter", "mercadopago");
      expect(created.url).toMatch(/^https:\/\/www\.mercadopago\.com\.ar\/checkout\/v1\/redirect\?pref_id=/);
      const call = h.fakeMp.requests.find((r) => r.path.startsWith("/checkout/preferences"));
      expect(call?.headers["x-idempotency-key"]).toBe(`topup-${created.topupId}`);
      expect(call?.body).toMatchObject({
        items: [{ id: "starter", quantity: 1, unit_price: 5000, currency_id: "ARS" }],
        external_reference: created.topupId,
        notification_url: `${PUBLIC_BASE_URL}/webhooks/mercadopago?source_news=webhooks`,
        back_urls: {
          success: expect.stringContaining("/pay/success"),
          failure: expect.stringContaining("/pay/cancel"),
        },
        auto_return: "approved",
      });
    });

    test("refuses without the operator key, and says how to enable it when none is configured", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const payload = { userId: USER, packId: "starter", provider: "stripe" };
      const none = await h.app.inject({ method: "POST", url: "/v1/topups", payload });
      expect(none.statusCode).toBe(401);
      const wrong = await h.app.inject({
        method: "POST",
        url: "/v1/topups",
        payload,
        headers: { authorization: `Bearer ${API_KEY}x` },
      });
      expect(wrong.json().error).toMatchObject({
        code: "unauthorized",
        message: "missing or wrong bearer token",
      });

      const off = await createPaymentsHarness(db, { apiKey: null });
      onTestFinished(off.close);
      const res = await off.app.inject({ method: "GET", url: `/v1/balances/${USER}`, headers: off.auth });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.message).toContain("the operator API is disabled: set CREDITGATE_API_KEY");
    });

    test("a provider with no keys is disabled with a clear message, not a crash", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db, { stripe: false, mercadoPago: false });
      onTestFinished(h.close);
      const res = await h.app.inject({
        method: "POST",
        url: "/v1/topups",
        headers: h.auth,
        payload: { userId: USER, packId: "starter", provider: "stripe" },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatchObject({
        code: "provider_disabled",
        message: "stripe is disabled: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET",
      });
      const hook = await h.app.inject({ method: "POST", url: "/webhooks/mercadopago", payload: {} });
      expect(hook.json().error.message).toBe(
        "mercadopago is disabled: set MP_ACCESS_TOKEN and MP_WEBHOOK_SECRET",
      );
      const health = await h.app.inject({ method: "GET", url: "/healthz" });
      expect(health.json()).toMatchObject({
        ok: true,
        providers: { stripe: expect.stringContaining("disabled") },
      });
      expect(db.prepare("SELECT COUNT(*) AS n FROM topups").get()).toEqual({ n: 0 });
    });

    test("validates the request: unknown pack 404, bad provider 400, malformed JSON 400", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const post = (payload: string | object) =>
        h.app.inject({
          method: "POST",
          url: "/v1/topups",
          headers: { ...h.auth, "content-type": "application/json" },
          payload,
        });
      const unknown = await post({ userId: USER, packId: "nope", provider: "stripe" });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error.message).toBe("unknown pack nope (known: starter, big)");
      expect((await post({ userId: USER, packId: "starter", provider: "paypal" })).statusCode).toBe(400);
      expect((await post({ userId: "has space", packId: "starter", provider: "stripe" })).statusCode).toBe(
        400,
      );
      const bad = await post('{"userId":');
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toBe("malformed JSON body");
    });

    test("a provider outage is a 503 and the top-up is marked failed", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      h.fakeStripe.failNextRequests(1);
      const res = await h.app.inject({
        method: "POST",
        url: "/v1/topups",
        headers: h.auth,
        payload: { userId: USER, packId: "starter", provider: "stripe" },
      });
      expect(res.statusCode).toBe(503);
      expect(res.json().error.message).toBe("the payment provider is unavailable; retry later");
      expect(h.topups.listRecent()).toMatchObject([
        { status: "failed", lastError: expect.stringContaining("stripe") },
      ]);
    });
  });

  describe("landing pages and reads", () => {
    test("the success page explains what happens next and never grants", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const res = await h.app.inject({ method: "GET", url: `/pay/success?provider=stripe&topup=${topupId}` });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/text\/html/);
      expect(res.body).toContain("As soon as the payment provider confirms your payment");
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)?.status).toBe("pending");
      const cancel = await h.app.inject({ method: "GET", url: "/pay/cancel" });
      expect(cancel.body).toContain("No payment was taken");
    });

    test("GET /v1/topups/:id is 404 for an unknown id; balances of unknown users are zero", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const missing = await h.app.inject({ method: "GET", url: "/v1/topups/tu_missing", headers: h.auth });
      expect(missing.statusCode).toBe(404);
      const bal = await h.app.inject({ method: "GET", url: "/v1/balances/telegram:9", headers: h.auth });
      expect(bal.json()).toMatchObject({ balanceMicroCredits: 0, balanceCredits: "0.00" });
    });
  });
});
