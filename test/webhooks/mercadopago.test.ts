import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signMercadoPagoNotification, verifyMercadoPagoSignature } from "../../src/webhooks/index.js";
import {
  createPaymentsHarness,
  MP_WEBHOOK_SECRET,
  type PaymentsHarness,
} from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const USER = "telegram:777";
const FIVE_CREDITS = 5_000_000;

async function mpTopup(h: PaymentsHarness, user = USER, pack = "starter") {
  const created = await h.createTopup(user, pack, "mercadopago");
  return created.topupId;
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("verifyMercadoPagoSignature", () => {
    const secret = "s3cret";
    const nowMs = 1_704_908_010_000;
    const hmac = (manifest: string) => createHmac("sha256", secret).update(manifest).digest("hex");

    it.each([
      [
        "the documented manifest",
        "id:123;request-id:req-1;ts:1704908010;",
        "123",
        "req-1",
        "1704908010",
        "ok",
      ],
      ["an absent request id drops its pair", "id:123;ts:1704908010;", "123", undefined, "1704908010", "ok"],
      [
        "an alphanumeric id signed lower-cased",
        "id:orda1b2;request-id:r;ts:1704908010;",
        "ORDA1B2",
        "r",
        "1704908010",
        "ok",
      ],
      [
        "an alphanumeric id signed as sent",
        "id:ORDA1B2;request-id:r;ts:1704908010;",
        "ORDA1B2",
        "r",
        "1704908010",
        "ok",
      ],
      ["ts in milliseconds", "id:123;request-id:r;ts:1704908010000;", "123", "r", "1704908010000", "ok"],
      [
        "a manifest without the final ;",
        "id:123;request-id:r;ts:1704908010",
        "123",
        "r",
        "1704908010",
        "mismatch",
      ],
      [
        "a body id instead of the query id",
        "id:999;request-id:r;ts:1704908010;",
        "123",
        "r",
        "1704908010",
        "mismatch",
      ],
      // MercadoPago retries for 4 days, maybe with the first attempt's ts: old is fine up to 5 days.
      ["a ts 17 minutes old (a retry)", "id:123;request-id:r;ts:1704907000;", "123", "r", "1704907000", "ok"],
      [
        "a ts 4 days old (the last retry)",
        "id:123;request-id:r;ts:1704562410;",
        "123",
        "r",
        "1704562410",
        "ok",
      ],
      ["a ts 6 days old", "id:123;request-id:r;ts:1704389610;", "123", "r", "1704389610", "stale"],
      ["a ts 10 minutes ahead", "id:123;request-id:r;ts:1704908610;", "123", "r", "1704908610", "stale"],
    ])("%s → %s", (_name, manifest, dataId, requestId, ts, expected) => {
      const result = verifyMercadoPagoSignature({
        xSignature: `ts=${ts},v1=${hmac(manifest)}`,
        xRequestId: requestId,
        dataId,
        secret,
        nowMs,
      });
      expect(result.ok ? "ok" : result.reason).toBe(expected);
    });

    it("reports a header without ts or v1 as malformed", () => {
      expect(verifyMercadoPagoSignature({ xSignature: "v1=abc", secret, nowMs })).toEqual({
        ok: false,
        reason: "malformed",
      });
    });

    it("agrees with the signer used by the tests", () => {
      const xSignature = signMercadoPagoNotification({
        dataId: "5",
        xRequestId: "r",
        ts: "1704908010",
        secret,
      });
      expect(verifyMercadoPagoSignature({ xSignature, xRequestId: "r", dataId: "5", secret, nowMs })).toEqual(
        {
          ok: true,
        },
      );
    });
  });

  describe("POST /webhooks/mercadopago", () => {
    test("an approved payment grants the pack once, end to end", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const topupId = await mpTopup(h);
      const paymentId = h.fakeMp.pay(topupId);

      const res = await h.sendMp(h.fakeMp.notification(paymentId, "payment.created"));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ received: true, status: "applied", topupId });
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid", paymentRef: paymentId });

      // A second notification about the same payment (different notification id) credits nothing.
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a whole-peso CLP price is matched exactly", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const topupId = await mpTopup(h, USER, "big");
      const pref = [...h.fakeMp.preferences.values()][0] as {
        items: { unit_price: number; currency_id: string }[];
      };
      expect(pref.items[0]).toMatchObject({ unit_price: 9000, currency_id: "CLP" });
      await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(topupId)));
      expect(h.balance(USER)).toBe(12_500_000);
    });

    test("pending waits, rejected fails, and a later approved payment still grants", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const topupId = await mpTopup(h);
      const pending = h.fakeMp.pay(topupId, { status: "pending" });
      await h.sendMp(h.fakeMp.notification(pending));
      expect(h.topups.get(topupId)?.status).toBe("awaiting_payment");
      h.fakeMp.update(pending, { status: "rejected" });
      await h.sendMp(h.fakeMp.notification(pending));
      expect(h.topups.get(topupId)?.status).toBe("failed");
      expect(h.balance(USER)).toBe(0);

      const retry = h.fakeMp.pay(topupId);
      await h.sendMp(h.fakeMp.notification(retry));
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid", paymentRef: retry });
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("partial refunds, mediation and chargeback follow the payment's current state", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const topupId = await mpTopup(h);
      const paymentId = h.fakeMp.pay(topupId);
      await h.sendMp(h.fakeMp.notification(paymentId));

      h.fakeMp.update(paymentId, { refunded: 1000 }); // 1000 of 5000 ARS → 1 credit
      await h.sendMp(h.fakeMp.notification(paymentId));
      expect(h.balance(USER)).toBe(4_000_000);
      h.fakeMp.update(paymentId, { status: "in_mediation" });
      await h.sendMp(h.fakeMp.notification(paymentId));
      expect(h.balance(USER)).toBe(0);
      h.fakeMp.update(paymentId, { status: "approved" }); // mediation resolved for the seller
      await h.sendMp(h.fakeMp.notification(paymentId));
      expect(h.balance(USER)).toBe(4_000_000);
      h.fakeMp.update(paymentId, { status: "charged_back" });
      await h.sendMp(h.fakeMp.notification(paymentId));
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)?.status).toBe("paid");
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a transient provider failure after verification is a 503 and stores nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const topupId = await mpTopup(h);
      const note = h.fakeMp.notification(h.fakeMp.pay(topupId));
      h.fakeMp.failNextRequests(1);
      const res = await h.sendMp(note);
      expect(res.statusCode).toBe(503);
      expect(res.json().error).toMatchObject({ code: "upstream_unavailable" });
      expect(h.eventCount()).toBe(0);
      expect((await h.sendMp(note)).json().status).toBe("applied"); // MercadoPago's retry succeeds
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    describe("rejects and changes nothing", () => {
      async function setup(db: Parameters<typeof createPaymentsHarness>[0]) {
        const h = await createPaymentsHarness(db);
        const topupId = await mpTopup(h);
        const unchanged = () => {
          expect(h.balance(USER)).toBe(0);
          expect(h.topups.get(topupId)?.status).toBe("pending");
        };
        return { h, topupId, unchanged };
      }

      test("a forged signature gets 400 and the payment is never fetched", async ({ db, onTestFinished }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const paymentId = h.fakeMp.pay(topupId);
        const res = await h.app.inject({
          method: "POST",
          url: `/webhooks/mercadopago?data.id=${paymentId}&type=payment`,
          headers: {
            "x-signature": `ts=${Math.floor(Date.now() / 1000)},v1=${"0".repeat(64)}`,
            "x-request-id": "r",
          },
          payload: h.fakeMp.notification(paymentId),
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().error).toMatchObject({ code: "invalid_signature" });
        expect(h.fakeMp.requests.filter((r) => r.path.startsWith("/v1/payments"))).toHaveLength(0);
        expect(h.eventCount()).toBe(0);
        unchanged();
      });

      test("a signature made with the wrong secret gets 400", async ({ db, onTestFinished }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(topupId)), {
          secret: `${MP_WEBHOOK_SECRET}x`,
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.message).toBe("mercadopago signature verification failed");
        unchanged();
      });

      test("a stale timestamp (older than MercadoPago's 4 days of retries) gets 400", async ({
        db,
        onTestFinished,
      }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const ts = String(Math.floor(Date.now() / 1000) - 6 * 86_400);
        const res = await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(topupId)), { ts });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.message).toMatch(/outside the tolerance window/);
        unchanged();
      });

      test("a query data.id changed by one character gets 400", async ({ db, onTestFinished }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const paymentId = h.fakeMp.pay(topupId);
        const other = `${paymentId.slice(0, -1)}${paymentId.endsWith("9") ? "8" : "9"}`;
        const res = await h.sendMp(h.fakeMp.notification(paymentId), {
          dataId: other,
          signedDataId: paymentId,
        });
        expect(res.statusCode).toBe(400);
        unchanged();
      });

      test("a body whose data.id differs from the signed query gets 400", async ({ db, onTestFinished }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const paymentId = h.fakeMp.pay(topupId);
        const note = { ...h.fakeMp.notification(paymentId), data: { id: "1" } };
        const res = await h.sendMp(note, { dataId: paymentId });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.message).toBe("body data.id differs from the signed query data.id");
        unchanged();
      });

      test("a wrong amount is rejected", async ({ db, onTestFinished }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(topupId, { amount: 50 })));
        expect(res.json()).toMatchObject({ status: "rejected" });
        expect(res.json().detail).toMatch(
          /^amount_mismatch: paid 50\.00 ARS, top-up tu_\w+ expects 5000\.00 ARS$/,
        );
        unchanged();
      });

      test("a wrong currency is rejected", async ({ db, onTestFinished }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(topupId, { currency: "BRL" })));
        expect(res.json()).toMatchObject({ status: "rejected" });
        expect(res.json().detail).toMatch(/paid 5000\.00 BRL/);
        unchanged();
      });

      test("a payment made in the wrong mode (live_mode) is rejected", async ({ db, onTestFinished }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(topupId, { liveMode: false })));
        expect(res.json()).toMatchObject({ status: "rejected" });
        expect(res.json().detail).toMatch(/live_mode is false/);
        unchanged();
      });

      test("a payment for an unknown top-up id is acknowledged as unknown_topup", async ({
        db,
        onTestFinished,
      }) => {
        const { h, topupId, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendMp(
          h.fakeMp.notification(h.fakeMp.pay(topupId, { externalReference: "tu_nope" })),
        );
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ status: "unknown_topup", topupId: "tu_nope" });
        unchanged();
      });

      test("an oversized body gets 413", async ({ db, onTestFinished }) => {
        const h = await createPaymentsHarness(db, { webhookBodyLimitBytes: 2048 });
        onTestFinished(h.close);
        const res = await h.sendMp({ id: 1, type: "payment", data: { id: "1" }, padding: "x".repeat(4000) });
        expect(res.statusCode).toBe(413);
        expect(h.eventCount()).toBe(0);
      });

      test("a correctly signed notification with malformed JSON gets 400", async ({ db, onTestFinished }) => {
        const { h, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendMp('{"id": 1, "data": {', { dataId: "123" });
        expect(res.statusCode).toBe(400);
        expect(res.json().error).toMatchObject({ code: "invalid_request", message: "malformed JSON body" });
        expect(h.eventCount()).toBe(0);
        unchanged();
      });
    });
  });
});
