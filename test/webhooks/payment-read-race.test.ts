/**
 * Case payment-state-read-race (test/cases/payment-state-read-race/README.md): two deliveries
 * about one payment, each re-reading it at the provider, handled at the same moment across a
 * change there. The fakes hold the first delivery's read (the OLD state, as it was when the
 * request arrived) until the second delivery, which reads the NEW state, has committed; the old
 * read then commits last. The final top-up and ledger must be the new state's.
 */
import { describe, expect } from "vitest";
import { type PaymentObservation, reconcileTopups } from "../../src/payments/index.js";
import { createFulfiller } from "../../src/webhooks/index.js";
import { createPaymentsHarness, type PaymentsHarness } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const USER = "telegram:7171";
const FIVE_CREDITS = 5_000_000;

async function paidStripe(h: PaymentsHarness) {
  const { topupId } = await h.createTopup(USER, "starter", "stripe");
  const sessionId = h.sessionIdOf(topupId);
  expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json().status).toBe("applied");
  return { topupId, sessionId };
}

async function paidMp(h: PaymentsHarness) {
  const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
  const paymentId = h.fakeMp.pay(topupId);
  expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
  return { topupId, paymentId };
}

const ledgerSum = (h: PaymentsHarness) => h.ledgerRows(USER).reduce((n, r) => n + r.amountMicroCredits, 0);

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("case payment-state-read-race", () => {
    test("Stripe: a charge.refunded whose charge read is older than another refund's commits last", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const first = h.fakeStripe.refund(sessionId, 100); // charge: amount_refunded 100
      const hold = h.fakeStripe.holdNextRead("charges");
      const slow = h.sendStripe(first); // reads amount_refunded 100, answer held
      await hold.arrived;
      const second = h.fakeStripe.refund(sessionId, 150); // charge: amount_refunded 250
      expect((await h.sendStripe(second)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_500_000);
      hold.release();
      expect((await slow).statusCode).toBe(200); // the old read (100) commits last
      expect(h.balance(USER)).toBe(2_500_000); // before the fix: 4_000_000 (1.5 credits restored)
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 250n, reversedMicroCredits: 2_500_000n });
      expect(ledgerSum(h)).toBe(2_500_000);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
      expect(h.eventCount()).toBe(3); // one row per event: the re-read after commit records none
    });

    test("Stripe: a refund applied from a read older than its failure is undone", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const refunded = h.fakeStripe.refund(sessionId, 500); // charge: amount_refunded 500
      const hold = h.fakeStripe.holdNextRead("charges");
      const slow = h.sendStripe(refunded); // reads 500, answer held
      await hold.arrived;
      const failed = h.fakeStripe.refundFailed(sessionId, 500); // charge back to 0
      expect((await h.sendStripe(failed)).json().status).toBe("no_change");
      hold.release();
      expect((await slow).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 0n, reversedMicroCredits: 0n });
      expect(ledgerSum(h)).toBe(FIVE_CREDITS);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("Stripe: a dispute read open, committed after the won close, is released", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const created = h.fakeStripe.dispute(sessionId, "charge.dispute.created", "needs_response");
      const hold = h.fakeStripe.holdNextRead("disputes");
      const slow = h.sendStripe(created); // reads needs_response, answer held
      await hold.arrived;
      const closed = h.fakeStripe.dispute(sessionId, "charge.dispute.closed", "won");
      expect((await h.sendStripe(closed)).json().status).toBe("no_change");
      hold.release();
      expect((await slow).statusCode).toBe(200);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ disputedMinor: 0n, reversedMicroCredits: 0n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("MercadoPago: a notification whose payment fetch is older than another's commits last", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, paymentId } = await paidMp(h);
      h.fakeMp.update(paymentId, { refunded: 1000 }); // 1000 of 5000 ARS (centavos: 100_000 minor)
      const hold = h.fakeMp.holdNextRead();
      const slow = h.sendMp(h.fakeMp.notification(paymentId)); // reads refunded 1000, held
      await hold.arrived;
      h.fakeMp.update(paymentId, { refunded: 3000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_000_000);
      hold.release();
      expect((await slow).statusCode).toBe(200); // the old read (1000) commits last
      expect(h.balance(USER)).toBe(2_000_000); // before the fix: 4_000_000
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 300_000n,
        reversedMicroCredits: 3_000_000n,
      });
      expect(ledgerSum(h)).toBe(2_000_000);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
      expect(h.eventCount()).toBe(3);
    });

    test("reconciliation: a payment search older than a refund notification's commits last", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // approved; its notification was lost
      const nowMs = Date.now() + 10 * 60_000;
      const fulfiller = createFulfiller(h.deps.db);
      const hold = h.fakeMp.holdNextRead();
      const run = reconcileTopups({
        db: h.deps.db,
        stripe: h.deps.stripe,
        mercadoPago: h.deps.mercadoPago,
        apply: (id: string, observation: PaymentObservation) =>
          fulfiller.apply({ event: null, topupId: id, observation, nowMs }),
        nowMs,
        olderThanMs: 5 * 60_000,
      }); // searches: approved, refunded 0, held
      await hold.arrived;
      h.fakeMp.update(paymentId, { refunded: 2500 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_500_000);
      hold.release();
      expect(await run).toMatchObject([{ topupId, after: "paid", outcome: "applied" }]);
      expect(h.balance(USER)).toBe(2_500_000); // before the fix: 5_000_000
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 250_000n,
        reversedMicroCredits: 2_500_000n,
      });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });
  });
});
