import { describe, expect } from "vitest";
import { type PaymentObservation, reconcileTopups } from "../../src/payments/index.js";
import { createFulfiller } from "../../src/webhooks/index.js";
import { createPaymentsHarness, type PaymentsHarness } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const USER = "telegram:42";

/** What `creditgate reconcile` runs, with the harness's SDK clients (pointed at the fakes). */
function reconcile(h: PaymentsHarness, nowMs = Date.now() + 10 * 60_000) {
  const fulfiller = createFulfiller(h.deps.db);
  return reconcileTopups({
    db: h.deps.db,
    stripe: h.deps.stripe,
    mercadoPago: h.deps.mercadoPago,
    apply: (topupId: string, observation: PaymentObservation) =>
      fulfiller.apply({ event: null, topupId, observation, nowMs }),
    nowMs,
    olderThanMs: 5 * 60_000,
  });
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("reconcileTopups", () => {
    test("credits a paid Stripe top-up whose webhook never arrived, once", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      h.fakeStripe.completePaid(h.sessionIdOf(topupId)); // paid at Stripe; the event is lost

      const first = await reconcile(h);
      expect(first).toMatchObject([{ topupId, before: "pending", after: "paid", outcome: "applied" }]);
      expect(h.balance(USER)).toBe(5_000_000);

      const second = await reconcile(h);
      expect(second).toEqual([]); // nothing pending any more
      expect(h.balance(USER)).toBe(5_000_000);
      expect(h.ledgerRows(USER)).toHaveLength(1);
    });

    test("case stripe-async-payment-failed-event-lost: a voucher that expired unpaid fails the top-up; a waiting one stays", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      expect((await h.sendStripe(h.fakeStripe.completeUnpaid(sessionId))).json().status).toBe("applied");
      expect(h.topups.get(topupId)?.status).toBe("awaiting_payment");
      // Still waiting at Stripe (the voucher is valid): reconcile leaves it waiting.
      expect(await reconcile(h)).toMatchObject([
        { topupId, after: "awaiting_payment", outcome: "no_change" },
      ]);
      h.fakeStripe.asyncFailed(sessionId); // the voucher expired; the event is lost
      expect(await reconcile(h)).toMatchObject([
        { topupId, before: "awaiting_payment", after: "failed", outcome: "applied" }, // before the fix: awaiting_payment, no_change
      ]);
      expect(await reconcile(h)).toEqual([]); // settled: not read again
      expect(h.balance(USER)).toBe(0);
    });

    test("case stripe-async-payment-failed-event-lost: a canceled PaymentIntent (SEPA/ACH debit) fails the top-up; a paid one is credited", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const a = await h.createTopup(USER, "starter", "stripe");
      const b = await h.createTopup(USER, "starter", "stripe");
      const sa = h.sessionIdOf(a.topupId);
      const sb = h.sessionIdOf(b.topupId);
      await h.sendStripe(h.fakeStripe.completeUnpaid(sa));
      await h.sendStripe(h.fakeStripe.completeUnpaid(sb));
      const piA = h.topups.get(a.topupId)?.paymentRef as string;
      h.fakeStripe.cancelPaymentIntent(piA);
      h.fakeStripe.asyncSucceeded(sb); // b paid, its event lost too
      const out = await reconcile(h);
      expect(out).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ topupId: a.topupId, after: "failed" }), // before the fix: awaiting_payment
          expect.objectContaining({ topupId: b.topupId, after: "paid" }),
        ]),
      );
      expect(h.balance(USER)).toBe(5_000_000);
    });

    test("credits an approved MercadoPago payment found by external_reference; a rerun changes nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      h.fakeMp.pay(topupId, { status: "rejected" });
      h.fakeMp.pay(topupId); // approved, notification lost

      expect(await reconcile(h)).toMatchObject([{ topupId, after: "paid", outcome: "applied" }]);
      expect(await reconcile(h)).toEqual([]);
      expect(h.balance(USER)).toBe(5_000_000);
      const search = h.fakeMp.requests.find((r) => r.path === "/v1/payments/search");
      expect(search?.query).toMatchObject({ external_reference: topupId });
    });

    test("a late webhook after reconciliation is a no-op", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const lateEvent = h.fakeStripe.completePaid(h.sessionIdOf(topupId));
      await reconcile(h);
      expect((await h.sendStripe(lateEvent)).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(5_000_000);
    });

    test("leaves young, unpaid and unreachable top-ups alone and reports why", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const young = await h.createTopup(USER, "starter", "stripe");
      expect(await reconcile(h, Date.now())).toEqual([]); // younger than olderThanMs

      const unpaid = await h.createTopup(USER, "starter", "mercadopago");
      h.fakeStripe.failNextRequests(1);
      const results = await reconcile(h);
      expect(results).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ topupId: young.topupId, outcome: "error" }),
          expect.objectContaining({ topupId: unpaid.topupId, outcome: "skipped", detail: "no payment yet" }),
        ]),
      );
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(young.topupId)?.status).toBe("pending");
    });

    test("expires a MercadoPago top-up whose link ran out with no payment", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const results = await reconcile(h, Date.now() + 2 * 60 * 60_000);
      expect(results).toMatchObject([{ topupId, after: "expired", outcome: "applied" }]);
    });

    test("a provider with no keys is skipped with the variables to set", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const fulfiller = createFulfiller(db);
      const nowMs = Date.now() + 10 * 60_000;
      const results = await reconcileTopups({
        db,
        stripe: null,
        mercadoPago: null,
        apply: (id, observation) => fulfiller.apply({ event: null, topupId: id, observation, nowMs }),
        nowMs,
        olderThanMs: 0,
      });
      expect(results).toMatchObject([
        {
          topupId,
          outcome: "skipped",
          detail: "stripe is disabled: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET",
        },
      ]);
    });
  });
});
