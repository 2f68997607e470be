import { describe, expect } from "vitest";
import { createPaymentsHarness, type PaymentsHarness } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const USER = "telegram:123456";
const FIVE_CREDITS = 5_000_000;

async function paidStripeTopup(h: PaymentsHarness, user = USER) {
  const { topupId } = await h.createTopup(user, "starter", "stripe");
  return { topupId, sessionId: h.sessionIdOf(topupId) };
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("POST /webhooks/stripe", () => {
    test("a paid checkout grants the pack's credits once, end to end", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const created = await h.createTopup(USER, "starter", "stripe");
      expect(created.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
      const sessionId = h.sessionIdOf(created.topupId);

      const res = await h.sendStripe(h.fakeStripe.completePaid(sessionId));
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ received: true, status: "applied", topupId: created.topupId });

      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      const balance = await h.app.inject({ method: "GET", url: `/v1/balances/${USER}`, headers: h.auth });
      expect(balance.json()).toEqual({
        userId: USER,
        balanceMicroCredits: FIVE_CREDITS,
        balanceCredits: "5.00",
        overdrawn: false,
      });
      const topup = await h.app.inject({
        method: "GET",
        url: `/v1/topups/${created.topupId}`,
        headers: h.auth,
      });
      expect(topup.json()).toMatchObject({ status: "paid", amountMinor: "500", currency: "USD" });
      expect(h.ledgerRows(USER)).toMatchObject([
        { kind: "topup", amountMicroCredits: FIVE_CREDITS, idempotencyKey: `topup:${created.topupId}:grant` },
      ]);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a redelivered event is acknowledged as a duplicate and grants nothing more", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { sessionId } = await paidStripeTopup(h);
      const event = h.fakeStripe.completePaid(sessionId);
      expect((await h.sendStripe(event)).json().status).toBe("applied");
      expect((await h.sendStripe(event)).json().status).toBe("duplicate");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("a delayed payment waits for async_payment_succeeded, which grants with the same key", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripeTopup(h);
      expect((await h.sendStripe(h.fakeStripe.completeUnpaid(sessionId))).json().status).toBe("applied");
      expect(h.topups.get(topupId)?.status).toBe("awaiting_payment");
      expect(h.balance(USER)).toBe(0);

      const succeeded = h.fakeStripe.asyncSucceeded(sessionId);
      expect((await h.sendStripe(succeeded)).json().status).toBe("applied");
      // The same payment announced again by the other event type credits nothing.
      expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.topups.get(topupId)?.status).toBe("paid");
    });

    test("a failed delayed payment fails the top-up; expiry of a paid session changes nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const a = await paidStripeTopup(h);
      await h.sendStripe(h.fakeStripe.completeUnpaid(a.sessionId));
      await h.sendStripe(h.fakeStripe.asyncFailed(a.sessionId));
      expect(h.topups.get(a.topupId)?.status).toBe("failed");

      const b = await paidStripeTopup(h);
      await h.sendStripe(h.fakeStripe.completePaid(b.sessionId));
      expect((await h.sendStripe(h.fakeStripe.expire(b.sessionId))).json().status).toBe("no_change");
      expect(h.topups.get(b.topupId)?.status).toBe("paid");

      const c = await paidStripeTopup(h);
      await h.sendStripe(h.fakeStripe.expire(c.sessionId));
      expect(h.topups.get(c.topupId)?.status).toBe("expired");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("cumulative partial refunds reverse only the newly refunded part", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripeTopup(h);
      await h.sendStripe(h.fakeStripe.completePaid(sessionId));

      const first = h.fakeStripe.refund(sessionId, 100); // 1.00 of 5.00 → 1 credit back
      expect((await h.sendStripe(first)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(4_000_000);
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 150))).json().status).toBe("applied"); // 2.50
      expect(h.balance(USER)).toBe(2_500_000);
      // A stale snapshot (amount_refunded 100) arriving late never lowers the refund level.
      expect((await h.sendStripe({ ...first, id: "evt_late_copy" })).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(2_500_000);
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 250n, reversedMicroCredits: 2_500_000n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a failed refund restores the credits it had taken back, once", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripeTopup(h);
      await h.sendStripe(h.fakeStripe.completePaid(sessionId));
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 200))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000);
      const failed = h.fakeStripe.refundFailed(sessionId, 200);
      expect((await h.sendStripe(failed)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect((await h.sendStripe(failed)).json().status).toBe("duplicate");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 0n, reversedMicroCredits: 0n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a dispute takes the credits back (even below zero) and a won dispute restores them", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { sessionId } = await paidStripeTopup(h);
      await h.sendStripe(h.fakeStripe.completePaid(sessionId));
      h.ledger.post({
        accountId: USER,
        kind: "usage",
        amountMicroCredits: -3_000_000n,
        idempotencyKey: "usage:test:1",
        nowMs: Date.now(),
      });

      await h.sendStripe(h.fakeStripe.dispute(sessionId, "charge.dispute.created", "needs_response"));
      expect(h.balance(USER)).toBe(-3_000_000);
      await h.sendStripe(h.fakeStripe.dispute(sessionId, "charge.dispute.closed", "won"));
      expect(h.balance(USER)).toBe(2_000_000);
      const kinds = h.ledgerRows(USER).map((e) => [e.kind, e.amountMicroCredits]);
      expect(kinds).toEqual([
        ["topup", 5_000_000],
        ["usage", -3_000_000],
        ["reversal", -5_000_000],
        ["reversal", 5_000_000],
      ]);
    });

    describe("rejects and changes nothing", () => {
      async function setup(db: Parameters<typeof createPaymentsHarness>[0]) {
        const h = await createPaymentsHarness(db);
        const { topupId, sessionId } = await paidStripeTopup(h);
        const event = h.fakeStripe.completePaid(sessionId);
        const unchanged = () => {
          expect(h.balance(USER)).toBe(0);
          expect(h.topups.get(topupId)?.status).toBe("pending");
        };
        return { h, topupId, sessionId, event, unchanged };
      }

      test("a forged signature gets 400 invalid_signature", async ({ db, onTestFinished }) => {
        const { h, event, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.app.inject({
          method: "POST",
          url: "/webhooks/stripe",
          headers: {
            "content-type": "application/json",
            "stripe-signature": `t=${Date.now()},v1=${"ab".repeat(32)}`,
          },
          payload: JSON.stringify(event),
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.code).toBe("invalid_signature");
        expect(h.eventCount()).toBe(0);
        unchanged();
      });

      test("a missing signature header gets 400", async ({ db, onTestFinished }) => {
        const { h, event, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.app.inject({
          method: "POST",
          url: "/webhooks/stripe",
          headers: { "content-type": "application/json" },
          payload: JSON.stringify(event),
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.message).toBe("missing stripe-signature header");
        unchanged();
      });

      test("a body signed with the wrong secret gets 400", async ({ db, onTestFinished }) => {
        const { h, event, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendStripe(event, { secret: "whsec_someone_else" });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.message).toMatch(/No signatures found matching the expected signature/);
        expect(h.eventCount()).toBe(0);
        unchanged();
      });

      test("a stale timestamp gets 400", async ({ db, onTestFinished }) => {
        const { h, event, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendStripe(event, { timestampSec: Math.floor(Date.now() / 1000) - 301 });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.message).toMatch(/Timestamp outside the tolerance zone/);
        unchanged();
      });

      test("a body changed by one byte gets 400", async ({ db, onTestFinished }) => {
        const { h, event, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendStripe(event, {
          tamper: (p) => p.replace('"amount_total":500', '"amount_total":501'),
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.code).toBe("invalid_signature");
        unchanged();
      });

      test("a wrong amount is recorded as rejected and grants nothing", async ({ db, onTestFinished }) => {
        const { h, event, unchanged } = await setup(db);
        onTestFinished(h.close);
        const obj = (event.data as { object: Record<string, unknown> }).object;
        const res = await h.sendStripe({ ...event, data: { object: { ...obj, amount_total: 50 } } });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ status: "rejected" });
        expect(res.json().detail).toMatch(
          /^amount_mismatch: paid 0\.50 USD, top-up tu_\w+ expects 5\.00 USD$/,
        );
        unchanged();
      });

      test("a wrong currency is recorded as rejected and grants nothing", async ({ db, onTestFinished }) => {
        const { h, event, unchanged } = await setup(db);
        onTestFinished(h.close);
        const obj = (event.data as { object: Record<string, unknown> }).object;
        const res = await h.sendStripe({ ...event, data: { object: { ...obj, currency: "eur" } } });
        expect(res.json()).toMatchObject({ status: "rejected" });
        expect(res.json().detail).toMatch(/paid 5\.00 EUR/);
        unchanged();
      });

      test("an unknown top-up is acknowledged as unknown_topup and grants nothing", async ({
        db,
        onTestFinished,
      }) => {
        const { h, event, unchanged } = await setup(db);
        onTestFinished(h.close);
        const obj = (event.data as { object: Record<string, unknown> }).object;
        const res = await h.sendStripe({
          ...event,
          data: {
            object: {
              ...obj,
              id: "cs_test_other",
              metadata: { topup_id: "tu_nope" },
              client_reference_id: "tu_nope",
            },
          },
        });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ status: "unknown_topup", topupId: "tu_nope" });
        unchanged();
      });

      test("an oversized body gets 413", async ({ db, onTestFinished }) => {
        const h = await createPaymentsHarness(db, { webhookBodyLimitBytes: 4096 });
        onTestFinished(h.close);
        const res = await h.sendStripe({ id: "evt_big", padding: "x".repeat(5000) });
        expect(res.statusCode).toBe(413);
        expect(res.json().error.message).toBe("request body is too large");
        expect(h.eventCount()).toBe(0);
      });

      test("a correctly signed body that is not JSON gets 400 invalid_request", async ({
        db,
        onTestFinished,
      }) => {
        const { h, unchanged } = await setup(db);
        onTestFinished(h.close);
        const res = await h.sendStripe('{"id": "evt_1", "type": ');
        expect(res.statusCode).toBe(400);
        expect(res.json().error).toMatchObject({ code: "invalid_request" });
        expect(res.json().error.message).toMatch(/body is not valid JSON/);
        expect(h.eventCount()).toBe(0);
        unchanged();
      });
    });

    test("an event type we do not handle is stored and acknowledged as ignored", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const res = await h.sendStripe(
        h.fakeStripe.event("customer.created", { id: "cus_1", object: "customer" }),
      );
      expect(res.json()).toMatchObject({ status: "ignored" });
      expect(h.eventCount()).toBe(1);
    });
  });
});
