/**
 * Payment faults found by the 2026-12-03 hunt, one case folder each under test/cases/ (README:
 * source, before → after values). Run against the local Stripe / MercadoPago fakes with real
 * HMAC signatures, on both engines.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import {
  foreignStripeEventProblem,
  observeStripeEvent,
  type PaymentObservation,
  reconcileTopups,
  stripeKeyLiveMode,
} from "../../src/payments/index.js";
import { paymentsReport, topupTotals } from "../../src/reports/index.js";
import { createFulfiller, signMercadoPagoNotification } from "../../src/webhooks/index.js";
import {
  createPaymentsHarness,
  MP_WEBHOOK_SECRET,
  type PaymentsHarness,
  STRIPE_WEBHOOK_SECRET,
} from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const USER = "telegram:4242";
const FIVE_CREDITS = 5_000_000;
const FIVE_CREDITS_N = 5_000_000n;

async function paidStripe(h: PaymentsHarness) {
  const { topupId } = await h.createTopup(USER, "starter", "stripe");
  const sessionId = h.sessionIdOf(topupId);
  expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json().status).toBe("applied");
  return { topupId, sessionId };
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("case stripe-refund-events-out-of-order", () => {
    test("a charge.refunded delivered after the refund.failed that undid it takes nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const refunded = h.fakeStripe.refund(sessionId, 500); // snapshot: amount_refunded 500
      const failed = h.fakeStripe.refundFailed(sessionId, 500); // the charge is back to 0
      expect((await h.sendStripe(failed)).json().status).toBe("no_change");
      expect((await h.sendStripe(refunded)).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (5 credits taken for a failed refund)
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 0n, reversedMicroCredits: 0n });
      expect(h.ledgerRows(USER).map((r) => r.kind)).toEqual(["topup"]);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("partial refunds, one of which failed, delivered newest first settle on the charge's level", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const first = h.fakeStripe.refund(sessionId, 200); // 2.00 of 5.00
      const second = h.fakeStripe.refund(sessionId, 300); // cumulative 5.00
      const failed = h.fakeStripe.refundFailed(sessionId, 300); // back to 2.00
      for (const e of [failed, second, first]) expect((await h.sendStripe(e)).statusCode).toBe(200);
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 200n, reversedMicroCredits: 2_000_000n });
      // A refund.updated / charge.refund.updated about the same charge re-reads it too: no change.
      const upd = h.fakeStripe.event("charge.refund.updated", {
        id: "re_test_upd",
        object: "refund",
        amount: 300,
        charge: (h.fakeStripe.refund(sessionId, 0).data as { object: { id: string } }).object.id,
        status: "failed",
      });
      expect((await h.sendStripe(upd)).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(3_000_000);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a refund event during a Stripe outage is refused (retried by Stripe), then applied once", async ({
      db,
      onTestFinished,
    }) => {
      // Since 7b3c1db a charge.refunded is applied from the charge re-read from Stripe, no longer
      // from its own snapshot: while Stripe cannot be read the delivery must fail (Stripe retries
      // it) without recording the event or moving credits, and each retry after it changes nothing.
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const refunded = h.fakeStripe.refund(sessionId, 200); // 2.00 of 5.00
      h.fakeStripe.failNextRequests(20);
      expect((await h.sendStripe(refunded)).statusCode).toBeGreaterThanOrEqual(500);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      h.fakeStripe.failNextRequests(0);
      expect((await h.sendStripe(refunded)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000);
      expect((await h.sendStripe(refunded)).json().status).toBe("duplicate");
      expect(h.balance(USER)).toBe(3_000_000);
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 200n, reversedMicroCredits: 2_000_000n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });
  });
  describe("case mercadopago-chargeback-reimbursed", () => {
    test("a chargeback decided for the seller (charged_back + reimbursed) restores the credits, once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // ARS 5000 → 5 credits
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      h.fakeMp.update(paymentId, { refunded: 1000 }); // 1 credit refunded first
      await h.sendMp(h.fakeMp.notification(paymentId));
      expect(h.balance(USER)).toBe(4_000_000);

      h.fakeMp.update(paymentId, { status: "charged_back", statusDetail: "in_process" }); // opened: held
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      h.fakeMp.update(paymentId, { statusDetail: "reimbursed" }); // decided for the seller
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(4_000_000); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ disputedMinor: 0n, reversedMicroCredits: 1_000_000n });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(4_000_000);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a chargeback decided for the payer (charged_back + settled) keeps them taken", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      await h.sendMp(h.fakeMp.notification(paymentId));
      h.fakeMp.update(paymentId, { status: "charged_back", statusDetail: "settled" });
      await h.sendMp(h.fakeMp.notification(paymentId));
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({
        disputedMinor: 500_000n,
        reversedMicroCredits: 5_000_000n,
      });
    });
  });
  describe("case mercadopago-chargeback-topic-notification", () => {
    test("a chargeback notified under its own topic is applied: opened takes the credits, reimbursed restores them", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // ARS 5000 → 5 credits
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");

      const chargebackId = h.fakeMp.chargeback(paymentId, "in_process"); // payment: charged_back
      const opened = h.fakeMp.topicNotification("topic_chargebacks_wh", chargebackId, "created");
      const res = await h.sendMp(opened);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(0); // before the fix: 5 credits (the notification was ignored)
      expect(h.topups.get(topupId)).toMatchObject({
        disputedMinor: 500_000n,
        reversedMicroCredits: 5_000_000n,
      });
      expect((await h.sendMp(opened)).json().status).toBe("duplicate");

      h.fakeMp.chargeback(paymentId, "reimbursed"); // decided for the seller (coverage_applied: true)
      const decided = h.fakeMp.topicNotification("topic_chargebacks_wh", chargebackId);
      expect((await h.sendMp(decided)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.topups.get(topupId)).toMatchObject({ disputedMinor: 0n, reversedMicroCredits: 0n });
      expect(h.ledgerRows(USER).map((r) => r.kind)).toEqual(["topup", "reversal", "reversal"]);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a lost chargeback notified only by its topic keeps the credits taken; an unknown one changes nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      await h.sendMp(h.fakeMp.notification(paymentId));
      const chargebackId = h.fakeMp.chargeback(paymentId, "settled");
      expect((await h.sendMp(h.fakeMp.topicNotification("chargebacks", chargebackId))).json().status).toBe(
        "applied",
      );
      expect(h.balance(USER)).toBe(0); // before the fix: 5 credits
      // A chargeback MercadoPago cannot show (404) is not consumed: 503, nothing recorded, so
      // MercadoPago redelivers it (case mercadopago-notified-resource-not-readable-yet).
      const events = h.eventCount();
      const unknown = await h.sendMp(h.fakeMp.topicNotification("topic_chargebacks_wh", "999"));
      expect(unknown.statusCode).toBe(503);
      expect(h.eventCount()).toBe(events);
      expect(h.balance(USER)).toBe(0);
    });

    test("a merchant order naming an approved payment whose own notification was lost credits it once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "big", "mercadopago"); // CLP 9000 → 12.5 credits
      const rejected = h.fakeMp.pay(topupId, { status: "rejected" });
      const approved = h.fakeMp.pay(topupId);
      const order = h.fakeMp.merchantOrder([rejected, approved]);
      const res = await h.sendMp(h.fakeMp.topicNotification("topic_merchant_order_wh", order));
      expect(res.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(12_500_000); // before the fix: 0 (ignored)
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid", paymentRef: approved });
      expect((await h.sendMp(h.fakeMp.notification(approved))).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(12_500_000);
    });
  });
  describe("case stripe-dispute-inquiry-no-funds", () => {
    test("an inquiry takes nothing; escalated to a dispute it holds the amount; lost keeps it taken", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const inquiry = h.fakeStripe.dispute(sessionId, "charge.dispute.created", "warning_needs_response");
      expect((await h.sendStripe(inquiry)).statusCode).toBe(200);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (no funds were withdrawn)
      expect(h.topups.get(topupId)).toMatchObject({ disputedMinor: 0n, reversedMicroCredits: 0n });
      const review = h.fakeStripe.dispute(sessionId, "charge.dispute.updated", "warning_under_review");
      await h.sendStripe(review);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);

      const escalated = h.fakeStripe.dispute(sessionId, "charge.dispute.funds_withdrawn", "needs_response");
      expect((await h.sendStripe(escalated)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      // The inquiry's own creation event redelivered late re-reads the dispute as it is now: no change.
      expect((await h.sendStripe({ ...inquiry, id: "evt_inquiry_redelivered" })).json().status).toBe(
        "no_change",
      );
      await h.sendStripe(h.fakeStripe.dispute(sessionId, "charge.dispute.closed", "lost"));
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({ disputedMinor: 500n, reversedMicroCredits: 5_000_000n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("an inquiry answered by a refund (a Klarna return) reverses the refund only, once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      await h.sendStripe(h.fakeStripe.dispute(sessionId, "charge.dispute.created", "warning_needs_response"));
      await h.sendStripe(h.fakeStripe.refund(sessionId, 200)); // the merchant refunds 2.00 of 5.00
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 0 (held as if disputed)
      await h.sendStripe(h.fakeStripe.dispute(sessionId, "charge.dispute.closed", "warning_closed"));
      expect(h.balance(USER)).toBe(3_000_000);
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 200n, disputedMinor: 0n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });
  });
  describe("case stripe-dispute-prevented-no-chargeback", () => {
    const withdrawn = (amount: number) => ({
      balance_transactions: [{ id: "txn_dp_1", object: "balance_transaction", amount: -amount, fee: 1500 }],
    });
    const card = (caseType: string) => ({
      payment_method_details: { type: "card", card: { brand: "visa", case_type: caseType } },
    });

    test("a dispute blocked before it became a chargeback (prevented, block) takes nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const prevented = h.fakeStripe.dispute(sessionId, "charge.dispute.created", "prevented", undefined, {
        ...card("block"),
        balance_transactions: [],
      });
      expect((await h.sendStripe(prevented)).statusCode).toBe(200);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (held like an open dispute)
      expect(h.topups.get(topupId)).toMatchObject({ disputedMinor: 0n, reversedMicroCredits: 0n });
      const closed = h.fakeStripe.dispute(sessionId, "charge.dispute.closed", "prevented");
      expect((await h.sendStripe(closed)).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a resolution that refunded 2.00 through a Refund reverses the refund once, not the dispute too", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      const prevented = h.fakeStripe.dispute(sessionId, "charge.dispute.created", "prevented", 200, {
        ...card("resolution"),
        balance_transactions: [],
      });
      await h.sendStripe(prevented);
      await h.sendStripe(h.fakeStripe.refund(sessionId, 200));
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 1_000_000 (2.00 refunded + 2.00 held)
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 200n, disputedMinor: 0n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("guard: a prevented dispute whose funds were withdrawn holds them; reinstated, releases them", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidStripe(h);
      await h.sendStripe(
        h.fakeStripe.dispute(sessionId, "charge.dispute.funds_withdrawn", "prevented", undefined, {
          ...card("resolution"),
          ...withdrawn(500),
        }),
      );
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({ disputedMinor: 500n });
      await h.sendStripe(
        h.fakeStripe.dispute(sessionId, "charge.dispute.funds_reinstated", "prevented", undefined, {
          balance_transactions: [
            ...withdrawn(500).balance_transactions,
            { id: "txn_dp_2", amount: 500, fee: 0 },
          ],
        }),
      );
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      // Open and lost disputes still hold the amount whatever their balance transactions say.
      await h.sendStripe(
        h.fakeStripe.dispute(sessionId, "charge.dispute.updated", "needs_response", undefined, {
          balance_transactions: [],
        }),
      );
      expect(h.balance(USER)).toBe(0);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });
  });
  describe("review r-review: a notification naming several payments (mercadopago-route merge)", () => {
    test("a payment after the first is checked against the top-up's provider like the event's own", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId: mpTopup } = await h.createTopup(USER, "starter", "mercadopago");
      const { topupId: stripeTopup } = await h.createTopup(USER, "starter", "stripe");
      const own = h.fakeMp.pay(mpTopup);
      // a MercadoPago payment whose external_reference names the Stripe top-up
      const foreign = h.fakeMp.pay(mpTopup, { status: "rejected", externalReference: stripeTopup });
      const order = h.fakeMp.merchantOrder([own, foreign]);
      expect((await h.sendMp(h.fakeMp.topicNotification("topic_merchant_order_wh", order))).statusCode).toBe(
        200,
      );
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      // before: the Stripe top-up was marked failed by a MercadoPago payment (no provider check
      // without the event row); a payment notification about it was rejected
      expect(h.topups.get(stripeTopup)?.status).toBe("pending");
      expect(h.eventCount()).toBe(1);
    });

    test("a delivery cut short after its first payment leaves the notification to its redelivery", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "big", "mercadopago"); // CLP 9000 → 12.5 credits
      const rejected = h.fakeMp.pay(topupId, { status: "rejected" });
      const approved = h.fakeMp.pay(topupId);
      const note = h.fakeMp.topicNotification(
        "topic_merchant_order_wh",
        h.fakeMp.merchantOrder([rejected, approved]),
      );
      const reads = [h.fakeMp.holdNextRead(), h.fakeMp.holdNextRead(), h.fakeMp.holdNextRead()];
      const stuck = h.sendMp(note);
      for (const r of reads.slice(0, 2)) {
        await r.arrived;
        r.release();
      }
      await reads[2]?.arrived; // the re-read after the rejected payment's commit: never answered yet
      const redelivery = await h.sendMp(note);
      expect(redelivery.json().status).toBe("applied"); // before: "duplicate"
      expect(h.balance(USER)).toBe(12_500_000); // before: 0 while the first delivery hung
      reads[2]?.release();
      expect((await stuck).statusCode).toBe(200);
      expect(h.balance(USER)).toBe(12_500_000);
      expect(h.eventCount()).toBe(1);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });
  });
  describe("case stripe-event-other-mode-or-account", () => {
    test("a live-mode or connected-account event naming our top-up is rejected, visible, and grants nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db); // key sk_test_…: a test-mode server
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      const genuine = h.fakeStripe.completePaid(sessionId);

      const live = await h.sendStripe({ ...genuine, id: "evt_live_copy", livemode: true });
      expect(live.statusCode).toBe(200);
      expect(live.json()).toMatchObject({ status: "rejected", topupId });
      expect(live.json().detail).toMatch(/live-mode event/);
      const connect = await h.sendStripe({ ...genuine, id: "evt_connect_copy", account: "acct_1Other" });
      expect(connect.json()).toMatchObject({ status: "rejected", topupId });
      expect(connect.json().detail).toMatch(/connected account acct_1Other/);
      expect(h.balance(USER)).toBe(0); // before the fix: 5 credits (granted by the live copy)
      expect(h.topups.get(topupId)?.status).toBe("pending");

      expect((await h.sendStripe(genuine)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      const outcomes = db.prepare("SELECT event_id, outcome FROM provider_events ORDER BY id").all() as {
        event_id: string;
        outcome: string;
      }[];
      expect(outcomes.map((o) => o.outcome)).toEqual(["rejected", "rejected", "applied"]);
    });

    test("another mode's dispute or refund is recorded without asking Stripe (no 503 retried for days)", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { sessionId } = await paidStripe(h);
      const dispute = h.fakeStripe.dispute(sessionId, "charge.dispute.created", "needs_response");
      const refund = h.fakeStripe.refund(sessionId, 500);
      const before = h.fakeStripe.requests.length;
      for (const e of [dispute, refund]) {
        const res = await h.sendStripe({ ...e, livemode: true });
        expect(res.statusCode).toBe(200);
        expect(res.json().status).toBe("rejected");
      }
      expect(h.fakeStripe.requests.length).toBe(before); // nothing retrieved
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (the test-mode dispute reversed it)
    });

    it("reads the key's mode from its prefix", () => {
      expect(stripeKeyLiveMode("sk_live_abc")).toBe(true);
      expect(stripeKeyLiveMode("rk_live_abc")).toBe(true);
      expect(stripeKeyLiveMode("sk_test_abc")).toBe(false);
      expect(stripeKeyLiveMode("rk_test_abc")).toBe(false);
      expect(stripeKeyLiveMode("whatever")).toBeNull();
      expect(foreignStripeEventProblem({ livemode: true }, null)).toBeNull();
      expect(foreignStripeEventProblem({ livemode: false }, false)).toBeNull();
      expect(foreignStripeEventProblem({ livemode: false, account: null }, false)).toBeNull();
    });
  });

  describe("case stripe-adaptive-pricing-presentment-currency", () => {
    /** A USD 5.00 pack paid in JPY 750 through Adaptive Pricing, as a pre-basil endpoint sees it. */
    async function paidInYen(h: PaymentsHarness) {
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.presentIn(sessionId, "jpy", 750);
      const completed = h.fakeStripe.completePaid(sessionId);
      const res = await h.sendStripe(completed);
      return { topupId, sessionId, completed, res };
    }

    test("a session paid in the customer's currency grants the pack (checked against currency_conversion)", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, completed, res } = await paidInYen(h);
      expect(res.json().status).toBe("applied"); // before the fix: rejected (amount_mismatch: paid 7.50 JPY)
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid" });
      expect((await h.sendStripe(completed)).json().status).toBe("duplicate");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("a converted amount that is not the pack's price is still refused", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.presentIn(sessionId, "jpy", 750);
      const completed = h.fakeStripe.completePaid(sessionId);
      const object = (completed.data as { object: Record<string, unknown> }).object;
      object.currency_conversion = {
        ...(object.currency_conversion as Record<string, unknown>),
        amount_total: 400,
      };
      const res = await h.sendStripe(completed);
      expect(res.json().status).toBe("rejected");
      expect(res.json().detail).toContain("amount_mismatch: paid 4.00 USD");
      expect(h.balance(USER)).toBe(0);
    });

    test("refunds and disputes of a charge in the customer's currency take back their share", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidInYen(h);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      // JPY 300 of 750 refunded: 40% of the pack, 2 credits.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 300))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 2 credits (300 read as USD 3.00 of 5.00)
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 200n, reversedMicroCredits: 2_000_000n });
      // The charge disputed: all of it held; won → released, the refund stays.
      const opened = h.fakeStripe.dispute(sessionId, "charge.dispute.created", "needs_response");
      expect((await h.sendStripe(opened)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      const won = h.fakeStripe.dispute(sessionId, "charge.dispute.closed", "won");
      expect((await h.sendStripe(won)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000);
      // The rest refunded (cumulative JPY 750): the whole pack.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 450))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 500n,
        reversedMicroCredits: FIVE_CREDITS_N,
      });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a JPY 750 charge's partial dispute of JPY 300 holds 2 of the 5 credits", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { sessionId } = await paidInYen(h);
      const opened = h.fakeStripe.dispute(sessionId, "charge.dispute.created", "needs_response", 300);
      expect((await h.sendStripe(opened)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 2 credits (JPY 300 read as USD 3.00)
    });
  });

  describe("case stripe-checkout-tax-on-top", () => {
    /** The USD 5.00 pack with Stripe Tax on the session, paid by card. */
    async function paidWithTax(h: PaymentsHarness, tax: number, behavior: "exclusive" | "inclusive") {
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.taxOn(sessionId, tax, behavior);
      const completed = h.fakeStripe.completePaid(sessionId);
      const res = await h.sendStripe(completed);
      return { topupId, sessionId, completed, res };
    }

    test("tax added on top of the price (USD 5.00 + 0.50) grants the pack once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, completed, res } = await paidWithTax(h, 50, "exclusive");
      expect(res.json().status).toBe("applied"); // before the fix: rejected (amount_mismatch: paid 5.50 USD)
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid" });
      expect((await h.sendStripe(completed)).json().status).toBe("duplicate");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("tax included in the price (total = price) grants the pack", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { res } = await paidWithTax(h, 45, "inclusive");
      expect(res.json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("a total above the price by more than its tax is still refused", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.taxOn(sessionId, 50, "exclusive");
      const completed = h.fakeStripe.completePaid(sessionId);
      const object = (completed.data as { object: Record<string, unknown> }).object;
      object.amount_total = 580; // 0.30 more than price + tax
      const res = await h.sendStripe(completed);
      expect(res.json().status).toBe("rejected");
      expect(res.json().detail).toContain("amount_mismatch: paid 5.30 USD");
      expect(h.balance(USER)).toBe(0);
      // a total below the price with a tax is refused too (not an exclusive tax: nothing subtracted)
      object.amount_total = 450;
      object.id = "cs_other";
      const low = await h.sendStripe(h.fakeStripe.event("checkout.session.completed", object));
      expect(low.json().status).toBe("rejected");
      expect(h.balance(USER)).toBe(0);
    });

    test("refunds of a taxed charge take back their share of the charge (tax included)", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId, sessionId } = await paidWithTax(h, 50, "exclusive");
      // USD 2.75 of the 5.50 charge: half of it, 2.5 credits.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 275))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_500_000);
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 250n, reversedMicroCredits: 2_500_000n });
      // The rest (cumulative 5.50): all of it.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 275))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 500n,
        reversedMicroCredits: FIVE_CREDITS_N,
      });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("Adaptive Pricing with tax on top: currency_conversion's total includes it too", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.presentIn(sessionId, "jpy", 750);
      h.fakeStripe.taxOn(sessionId, 75, "exclusive"); // JPY 825, USD 5.50 in the source currency
      const res = await h.sendStripe(h.fakeStripe.completePaid(sessionId));
      expect(res.json().status).toBe("applied"); // before the fix: rejected (paid 5.50 USD)
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("reconcile reads the taxed session the same way", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.taxOn(sessionId, 50, "exclusive");
      h.fakeStripe.completePaid(sessionId); // its webhook lost
      const nowMs = Date.now() + 10 * 60_000;
      const fulfiller = createFulfiller(h.deps.db);
      const run = await reconcileTopups({
        db: h.deps.db,
        stripe: h.deps.stripe,
        mercadoPago: null,
        apply: (id: string, observation: PaymentObservation) =>
          fulfiller.apply({ event: null, topupId: id, observation, nowMs }),
        nowMs,
        olderThanMs: 5 * 60_000,
      });
      expect(run).toMatchObject([{ topupId, after: "paid", outcome: "applied" }]);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (refused again)
    });
  });
  describe("case stripe-checkout-discount-promotion-code", () => {
    test("a promotion code (USD 1.00 off a 5.00 pack) grants the pack once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.discountOn(sessionId, 100); // amount_total 400, amount_discount 100
      const completed = h.fakeStripe.completePaid(sessionId);
      const res = await h.sendStripe(completed);
      expect(res.json().status).toBe("applied"); // before the fix: rejected (amount_mismatch: paid 4.00 USD)
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid" });
      expect((await h.sendStripe(completed)).json().status).toBe("duplicate");
      expect((await h.sendStripe(h.fakeStripe.asyncSucceeded(sessionId))).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("refunds of a discounted charge are a share of what was charged (4.00)", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.discountOn(sessionId, 100);
      expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json().status).toBe("applied");
      // USD 2.00 of the 4.00 charge: half of it, 2.5 credits.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 200))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_500_000);
      // The rest (cumulative 4.00 = the whole charge): all of it.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 200))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({ reversedMicroCredits: FIVE_CREDITS_N });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a 100% coupon (no_payment_required, no PaymentIntent) grants the pack", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.discountOn(sessionId, 500);
      const completed = h.fakeStripe.completeFree(sessionId);
      const res = await h.sendStripe(completed);
      expect(res.json().status).toBe("applied"); // before the fix: rejected (session completed with no payment required)
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid", paymentRef: null });
      expect((await h.sendStripe(completed)).json().status).toBe("duplicate");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("guard: no discount and nothing to pay, or a total below price - discount, is still refused", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      const free = h.fakeStripe.completeFree(sessionId); // no discount: amount_total 500, nothing paid
      expect((await h.sendStripe(free)).json().status).toBe("rejected");
      const object = (free.data as { object: Record<string, unknown> }).object;
      Object.assign(object, {
        id: "cs_other",
        payment_status: "paid",
        amount_total: 300,
        total_details: { amount_discount: 100, amount_shipping: 0, amount_tax: 0 },
      });
      const low = await h.sendStripe(h.fakeStripe.event("checkout.session.completed", object));
      expect(low.json().status).toBe("rejected");
      expect(low.json().detail).toContain("amount_mismatch: paid 4.00 USD");
      expect(h.balance(USER)).toBe(0);
    });

    test("discount and tax on top together (5.00 - 1.00 + 0.40 tax) grant the pack", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.discountOn(sessionId, 100);
      h.fakeStripe.taxOn(sessionId, 40, "exclusive"); // amount_total 440
      expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("Adaptive Pricing with a discount: the source subtotal is the price", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.presentIn(sessionId, "jpy", 750);
      h.fakeStripe.discountOn(sessionId, 150); // JPY 600, USD 4.00 in the source currency
      expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("reconcile reads the discounted session the same way", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.discountOn(sessionId, 500);
      h.fakeStripe.completeFree(sessionId); // its webhook lost
      const nowMs = Date.now() + 10 * 60_000;
      const fulfiller = createFulfiller(h.deps.db);
      const run = await reconcileTopups({
        db: h.deps.db,
        stripe: h.deps.stripe,
        mercadoPago: null,
        apply: (id: string, observation: PaymentObservation) =>
          fulfiller.apply({ event: null, topupId: id, observation, nowMs }),
        nowMs,
        olderThanMs: 5 * 60_000,
      });
      expect(run).toMatchObject([{ topupId, after: "paid", outcome: "applied" }]);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
    });
  });
  describe("case topup-collected-amount-with-coupon", () => {
    const report = (h: PaymentsHarness) => {
      const r = paymentsReport(h.deps.db, {
        sinceMs: 0,
        untilMs: Date.now() + 86_400_000,
        limit: 10,
        offset: 0,
      });
      const overview = topupTotals(h.deps.db, 0, Date.now() + 86_400_000);
      return { ...r, overview };
    };

    test("a Stripe promotion code: the report shows the 4.00 collected, the 1.00 off and the 2.00 refunded", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.discountOn(sessionId, 100); // 5.00 − 1.00: amount_total 400
      expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json().status).toBe("applied");
      expect(h.topups.get(topupId)).toMatchObject({ amountMinor: 500n, collectedMinor: 400n });
      let r = report(h);
      expect(r.topups[0]).toMatchObject({ amountMinor: 400, discountMinor: 100 }); // before the fix: 500, no discount
      expect(r.revenue).toMatchObject([{ currency: "USD", amountMinor: 400 }]); // before the fix: 500
      expect(r.groups).toMatchObject([{ status: "paid", amountMinor: 400, discountMinor: 100 }]);
      expect(r.overview).toMatchObject([{ currency: "USD", paidMinor: 400 }]); // before the fix: 500
      // USD 2.00 of the 4.00 given back: still half the pack's credits, and 2.00 in the report.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 200))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_500_000);
      r = report(h);
      expect(r.topups[0]).toMatchObject({ refundedMinor: 200 }); // before the fix: 250
      expect(r.overview).toMatchObject([{ paidMinor: 400, refundedMinor: 200 }]); // before the fix: 500, 250
      // The rest: everything collected is back, nothing is left of the pack.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 200))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(report(h).topups[0]).toMatchObject({ refundedMinor: 400 }); // before the fix: 500
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a 100% coupon collects 0.00 (5.00 off) and a MercadoPago coupon ARS 4000 of 5000", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const free = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(free.topupId);
      h.fakeStripe.discountOn(sessionId, 500);
      expect((await h.sendStripe(h.fakeStripe.completeFree(sessionId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      const mp = await h.createTopup(USER, "starter", "mercadopago"); // ARS 5000
      const paymentId = h.fakeMp.pay(mp.topupId, { coupon: 1000 }); // the payer pays 4000
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2 * FIVE_CREDITS);
      h.fakeMp.update(paymentId, { refunded: 2000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS + 2_500_000); // half of what was paid: half the pack
      const r = report(h);
      const byId = new Map(r.topups.map((t) => [t.id, t]));
      expect(byId.get(free.topupId)).toMatchObject({ amountMinor: 0, discountMinor: 500 }); // before: 500, –
      expect(byId.get(mp.topupId)).toMatchObject({
        amountMinor: 400_000, // before the fix: 500_000 (ARS 5000.00)
        discountMinor: 100_000,
        refundedMinor: 200_000, // before the fix: 250_000
      });
      expect(r.overview).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ currency: "USD", paidMinor: 0 }),
          expect.objectContaining({ currency: "ARS", paidMinor: 400_000, refundedMinor: 200_000 }),
        ]),
      );
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("guard: a top-up paid before migration 43 keeps its refunds counted in the price (no re-reversal)", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      h.fakeStripe.discountOn(sessionId, 100);
      expect((await h.sendStripe(h.fakeStripe.completePaid(sessionId))).json().status).toBe("applied");
      await h.sendStripe(h.fakeStripe.refund(sessionId, 200));
      // As a database written before the migration holds it: no collected amount, the 2.00 refund
      // stored as its share of the price (2.50), 2.5 credits reversed.
      h.deps.db
        .prepare("UPDATE topups SET collected_minor = NULL, refunded_minor = 250 WHERE id = ?")
        .run(topupId);
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 0))).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(2_500_000);
      expect(h.topups.get(topupId)).toMatchObject({ collectedMinor: null, refundedMinor: 250n });
      await h.sendStripe(h.fakeStripe.refund(sessionId, 200)); // the rest
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({ collectedMinor: null, refundedMinor: 500n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });
  });
  describe("case mercadopago-coupon-refund-share", () => {
    test("a refund of a payment made with a coupon is a share of what the payer paid", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago"); // ARS 5000 → 5 credits
      // ARS 1000 coupon: transaction_amount 5000 (the price), the payer pays 4000.
      const paymentId = h.fakeMp.pay(topupId, { coupon: 1000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      // ARS 2000 back: half of what was paid, half of the pack.
      h.fakeMp.update(paymentId, { refunded: 2000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_500_000); // before the fix: 3_000_000 (2000 of 5000)
      // Counted in what was collected (ARS 4000, case topup-collected-amount-with-coupon; 250_000n,
      // its share of the price, before 2026-12-04).
      expect(h.topups.get(topupId)).toMatchObject({
        collectedMinor: 400_000n,
        refundedMinor: 200_000n,
        reversedMicroCredits: 2_500_000n,
      });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("no_change");
      // The rest: all the payer paid is back, nothing is left of the pack.
      h.fakeMp.update(paymentId, { status: "refunded", refunded: 4000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 400_000n,
        reversedMicroCredits: FIVE_CREDITS_N,
      });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("all that was paid refunded while the payment still says approved takes the whole pack", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId, { coupon: 1000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      h.fakeMp.update(paymentId, { refunded: 4000 }); // status not yet `refunded`
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0); // before the fix: 1_000_000 (4000 of 5000)
    });

    test("guard: without a coupon a refund is a share of transaction_amount as before", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      h.fakeMp.update(paymentId, { refunded: 2000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000);
    });
  });
  describe("case mercadopago-split-payment-two-cards", () => {
    test("ARS 5000 paid as 3000 + 2000 on two cards grants the pack once, whichever part is notified", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago"); // ARS 5000 → 5 credits
      const first = h.fakeMp.pay(topupId, { amount: 3000 });
      // Notified before the second card went through: a part alone is not the price.
      const early = await h.sendMp(h.fakeMp.notification(first, "payment.created"));
      expect(early.json().status).toBe("rejected");
      expect(early.json().detail).toContain("amount_mismatch: paid 3000.00 ARS");
      const second = h.fakeMp.pay(topupId, { amount: 2000 });
      const res = await h.sendMp(h.fakeMp.notification(second, "payment.created"));
      expect(res.json()).toMatchObject({ status: "applied", topupId }); // before the fix: rejected
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid", paymentRef: `${first}+${second}` });
      // Either part notified again changes nothing.
      expect((await h.sendMp(h.fakeMp.notification(first))).json().status).toBe("no_change");
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.ledgerRows(USER).map((r) => r.kind)).toEqual(["topup"]);
    });

    test("a merchant order naming both parts grants once; a part refunded takes back its share", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const first = h.fakeMp.pay(topupId, { amount: 3000 });
      const second = h.fakeMp.pay(topupId, { amount: 2000 });
      const order = h.fakeMp.merchantOrder([first, second]);
      const res = await h.sendMp(h.fakeMp.topicNotification("topic_merchant_order_wh", order));
      expect(res.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      // The 3000 card refunded in full: 3 of the 5 credits.
      h.fakeMp.update(first, { status: "refunded", refunded: 3000 });
      expect((await h.sendMp(h.fakeMp.notification(first))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_000_000); // before the fix: 0 (nothing was granted)
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 300_000n,
        reversedMicroCredits: 3_000_000n,
      });
      // The other one charged back: all of it.
      h.fakeMp.update(second, { status: "charged_back", statusDetail: "in_process" });
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("parts that do not add up to the price are refused, each alone", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const first = h.fakeMp.pay(topupId, { amount: 3000 });
      const second = h.fakeMp.pay(topupId, { amount: 1000 });
      const rejected = h.fakeMp.pay(topupId, { amount: 1000, status: "rejected" });
      for (const id of [first, second, rejected]) await h.sendMp(h.fakeMp.notification(id));
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({ status: "failed" });
      // A part refunded (the two-card payment undone) adds nothing either.
      const other = await h.createTopup(USER, "starter", "mercadopago");
      const a = h.fakeMp.pay(other.topupId, { amount: 3000, status: "refunded" });
      const b = h.fakeMp.pay(other.topupId, { amount: 2000, status: "rejected" });
      for (const id of [a, b]) await h.sendMp(h.fakeMp.notification(id));
      expect(h.balance(USER)).toBe(0);
    });

    test("guard: installment interest the payer bears (total_paid_amount) is neither credited nor refused", async ({
      db,
      onTestFinished,
    }) => {
      // ARS 5000 in 6 installments, ARS 750 interest: transaction_amount 5000, total_paid_amount
      // 5750. The pack is checked against transaction_amount; a full refund of it takes all back.
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const id = h.fakeMp.pay(topupId, { installments: { count: 6, interest: 750 } });
      expect((await h.sendMp(h.fakeMp.notification(id))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      h.fakeMp.update(id, { refunded: 2500 });
      expect((await h.sendMp(h.fakeMp.notification(id))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_500_000);
      h.fakeMp.update(id, { status: "refunded", refunded: 5000 });
      await h.sendMp(h.fakeMp.notification(id));
      expect(h.balance(USER)).toBe(0);
    });

    test("a part refunded after the preference was paid again is still that pair's refund", async ({
      db,
      onTestFinished,
    }) => {
      // Review 2026-12-04: the sum of ALL paid payments was taken; a third payment on the same
      // preference made it 10000 and the refund of a part was refused as another payment's.
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const first = h.fakeMp.pay(topupId, { amount: 3000 });
      const second = h.fakeMp.pay(topupId, { amount: 2000 });
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("applied");
      const again = h.fakeMp.pay(topupId, { amount: 5000 }); // paid a second time
      expect((await h.sendMp(h.fakeMp.notification(again))).json().status).toBe("rejected");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      h.fakeMp.update(first, { status: "refunded", refunded: 3000 });
      expect((await h.sendMp(h.fakeMp.notification(first))).json().status).toBe("applied"); // was rejected
      expect(h.balance(USER)).toBe(2_000_000); // was 5 credits: the refund lost
      expect(h.topups.get(topupId)).toMatchObject({
        paymentRef: `${first}+${second}`,
        refundedMinor: 300_000n,
      });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a two-card attempt undone (its approved card refunded), then paid with two other cards, grants once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const undone = h.fakeMp.pay(topupId, { amount: 3000 });
      h.fakeMp.update(undone, { status: "refunded", refunded: 3000 }); // second card declined: undone
      const a = h.fakeMp.pay(topupId, { amount: 3000 });
      const b = h.fakeMp.pay(topupId, { amount: 2000 });
      const res = await h.sendMp(h.fakeMp.notification(b));
      expect(res.json()).toMatchObject({ status: "applied", topupId }); // was rejected (3000+3000+2000)
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // was 0
      expect(h.topups.get(topupId)).toMatchObject({ paymentRef: `${a}+${b}`, refundedMinor: 0n });
      expect((await h.sendMp(h.fakeMp.notification(a))).json().status).toBe("no_change");
      expect(h.ledgerRows(USER).map((r) => r.kind)).toEqual(["topup"]);
    });

    test("a refunded top-up paid again with two cards: the two parts take its place together", async ({
      db,
      onTestFinished,
    }) => {
      // Review 2026-12-04: the takeover of a refunded top-up read each other payment alone.
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paid = h.fakeMp.pay(topupId);
      expect((await h.sendMp(h.fakeMp.notification(paid))).json().status).toBe("applied");
      const a = h.fakeMp.pay(topupId, { amount: 3000 });
      const b = h.fakeMp.pay(topupId, { amount: 2000 });
      for (const id of [a, b])
        expect((await h.sendMp(h.fakeMp.notification(id))).json().status).toBe("rejected");
      h.fakeMp.update(paid, { status: "refunded", refunded: 5000 });
      await h.sendMp(h.fakeMp.notification(paid));
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // was 0: the pair was never taken over
      expect(h.topups.get(topupId)).toMatchObject({ paymentRef: `${a}+${b}`, refundedMinor: 0n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("reconcile applies the two parts as one payment", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const first = h.fakeMp.pay(topupId, { amount: 3000 });
      const second = h.fakeMp.pay(topupId, { amount: 2000 }); // both notifications lost
      const nowMs = Date.now() + 10 * 60_000;
      const fulfiller = createFulfiller(h.deps.db);
      const run = await reconcileTopups({
        db: h.deps.db,
        stripe: null,
        mercadoPago: h.deps.mercadoPago,
        apply: (id: string, observation: PaymentObservation) =>
          fulfiller.apply({ event: null, topupId: id, observation, nowMs }),
        nowMs,
        olderThanMs: 5 * 60_000,
      });
      expect(run).toMatchObject([{ topupId, after: "paid", outcome: "applied" }]); // before: rejected
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.topups.get(topupId)).toMatchObject({ paymentRef: `${first}+${second}` });
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("no_change");
    });
  });
  describe("case topup-paid-at-provider-time", () => {
    test("a MercadoPago payment reconcile recovers days later is paid at its date_approved", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const createdAtMs = h.topups.get(topupId)?.createdAtMs ?? 0;
      const approvedAtMs = createdAtMs + 5 * 60_000;
      // MercadoPago's format: local time with its offset (here UTC-4).
      const approvedAt = new Date(approvedAtMs - 4 * 3_600_000).toISOString().replace("Z", "-04:00");
      h.fakeMp.pay(topupId, { approvedAt }); // its notification lost
      const nowMs = createdAtMs + 3 * 86_400_000; // reconcile three days later
      const fulfiller = createFulfiller(h.deps.db);
      const run = await reconcileTopups({
        db: h.deps.db,
        stripe: null,
        mercadoPago: h.deps.mercadoPago,
        apply: (id: string, observation: PaymentObservation) =>
          fulfiller.apply({ event: null, topupId: id, observation, nowMs }),
        nowMs,
        olderThanMs: 5 * 60_000,
      });
      expect(run).toMatchObject([{ topupId, after: "paid", outcome: "applied" }]);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      // before the fix: nowMs (the revenue of the day reconcile ran, three days late)
      expect(h.topups.get(topupId)?.paidAtMs).toBe(approvedAtMs);
    });

    test("a provider time in the future or before the top-up is clamped to [created, now]", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const fulfiller = createFulfiller(h.deps.db);
      const t1 = await h.createTopup(USER, "starter", "mercadopago");
      const t2 = await h.createTopup(USER, "starter", "mercadopago");
      const createdAtMs = h.topups.get(t1.topupId)?.createdAtMs ?? 0;
      const nowMs = createdAtMs + 60_000;
      const paid = (topupId: string, paidAtMs: number): PaymentObservation => ({
        state: "paid",
        paid: { amountMinor: 500_000n, currency: "ARS" },
        paymentRef: `p-${topupId}`,
        paidAtMs,
        source: "test",
      });
      fulfiller.apply({
        event: null,
        topupId: t1.topupId,
        observation: paid(t1.topupId, nowMs + 3_600_000),
        nowMs,
      });
      fulfiller.apply({ event: null, topupId: t2.topupId, observation: paid(t2.topupId, 0), nowMs });
      expect(h.topups.get(t1.topupId)?.paidAtMs).toBe(nowMs);
      expect(h.topups.get(t2.topupId)?.paidAtMs).toBe(h.topups.get(t2.topupId)?.createdAtMs);
    });

    it("a Stripe checkout event says the payment was made when the event was created", () => {
      const session = {
        id: "cs_test_1",
        object: "checkout.session",
        status: "complete",
        payment_status: "paid",
        amount_total: 500,
        amount_subtotal: 500,
        currency: "usd",
        metadata: { topup_id: "tu_1" },
        payment_intent: "pi_1",
      };
      const event = {
        id: "evt_1",
        type: "checkout.session.completed",
        created: 1_764_806_400,
        data: { object: session },
      };
      const fact = observeStripeEvent(event as unknown as Parameters<typeof observeStripeEvent>[0]);
      expect(fact?.observation).toMatchObject({ state: "paid", paidAtMs: 1_764_806_400_000 });
      const unpaid = { ...event, data: { object: { ...session, payment_status: "unpaid" } } };
      expect(
        observeStripeEvent(unpaid as unknown as Parameters<typeof observeStripeEvent>[0])?.observation
          .paidAtMs,
      ).toBeUndefined();
    });

    it("an auto top-up's payment_intent.succeeded says so too (review 2026-12-04: it was applied at now)", () => {
      const pi = {
        id: "pi_auto_1",
        object: "payment_intent",
        status: "succeeded",
        amount: 500,
        amount_received: 500,
        currency: "usd",
        metadata: { autotopup_trigger: "balance_below", topup_id: "tu_2" },
      };
      const event = {
        id: "evt_2",
        type: "payment_intent.succeeded",
        created: 1_764_806_400,
        data: { object: pi },
      };
      const fact = observeStripeEvent(event as unknown as Parameters<typeof observeStripeEvent>[0]);
      expect(fact?.observation).toMatchObject({ state: "paid", paidAtMs: 1_764_806_400_000 });
      const failed = {
        ...event,
        type: "payment_intent.payment_failed",
        data: { object: { ...pi, status: "requires_payment_method" } },
      };
      expect(
        observeStripeEvent(failed as unknown as Parameters<typeof observeStripeEvent>[0])?.observation
          .paidAtMs,
      ).toBeUndefined();
    });
  });
  describe("case mercadopago-preference-paid-twice-first-refunded", () => {
    test("the second payment of a preference takes the place of the first when that one is refunded in full", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago"); // ARS 5000 → 5 credits
      const first = h.fakeMp.pay(topupId);
      expect((await h.sendMp(h.fakeMp.notification(first))).json().status).toBe("applied");
      const second = h.fakeMp.pay(topupId); // the same preference paid again
      const refused = await h.sendMp(h.fakeMp.notification(second));
      expect(refused.json().status).toBe("rejected"); // one pack per top-up: refund one of them
      expect(h.balance(USER)).toBe(FIVE_CREDITS);

      h.fakeMp.update(first, { status: "refunded", refunded: 5000 }); // the operator refunds the first
      const res = await h.sendMp(h.fakeMp.notification(first));
      expect(res.statusCode).toBe(200);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (the second payment, kept, bought nothing)
      expect(h.topups.get(topupId)).toMatchObject({
        status: "paid",
        paymentRef: second,
        refundedMinor: 0n,
        reversedMicroCredits: 0n,
      });
      // The first one's later notifications change nothing; the second one's refund takes it back.
      expect((await h.sendMp(h.fakeMp.notification(first))).json().status).toBe("rejected");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      h.fakeMp.update(second, { status: "refunded", refunded: 5000 });
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a preference paid again after its payment was refunded credits the new payment", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "big", "mercadopago"); // CLP 9000 → 12.5 credits
      const first = h.fakeMp.pay(topupId);
      await h.sendMp(h.fakeMp.notification(first));
      h.fakeMp.update(first, { status: "refunded", refunded: 9000 });
      await h.sendMp(h.fakeMp.notification(first));
      expect(h.balance(USER)).toBe(0);
      const again = h.fakeMp.pay(topupId);
      const res = await h.sendMp(h.fakeMp.notification(again));
      expect(res.json().status).toBe("applied"); // before the fix: rejected, 0 credits
      expect(h.balance(USER)).toBe(12_500_000);
      expect(h.topups.get(topupId)).toMatchObject({ paymentRef: again, refundedMinor: 0n });
    });

    test("a partly refunded first payment is not replaced", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const first = h.fakeMp.pay(topupId);
      await h.sendMp(h.fakeMp.notification(first));
      const second = h.fakeMp.pay(topupId);
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("rejected");
      h.fakeMp.update(first, { refunded: 1000 });
      expect((await h.sendMp(h.fakeMp.notification(first))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(4_000_000);
      expect(h.topups.get(topupId)).toMatchObject({ paymentRef: first, refundedMinor: 100_000n });
    });
  });
});

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("case mercadopago-refund-amount-field-lags", () => {
    test.for([
      { reads: "0", reported: 0 },
      { reads: "null", reported: null },
    ] as const)(
      "a payment refunded in full whose transaction_amount_refunded reads $reads takes the pack back",
      async ({ reported }, { db, onTestFinished }) => {
        const h = await createPaymentsHarness(db);
        onTestFinished(h.close);
        const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
        const paymentId = h.fakeMp.pay(topupId); // ARS 5000 → 5 credits
        expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
        h.fakeMp.update(paymentId, { status: "refunded", refunded: 5000, reportedRefunded: reported });
        expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
        expect(h.balance(USER)).toBe(0); // before the fix: 5 credits kept
        expect(h.topups.get(topupId)).toMatchObject({
          refundedMinor: 500_000n,
          reversedMicroCredits: FIVE_CREDITS_N,
        });
        expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("no_change");
        expect(h.balance(USER)).toBe(0);
        expect(h.ledger.inconsistentAccounts()).toEqual([]);
      },
    );

    test("a partial refund listed only in refunds[] is taken back, and restored when rejected", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      await h.sendMp(h.fakeMp.notification(paymentId));
      h.fakeMp.update(paymentId, { statusDetail: "partially_refunded", refunded: 2000, reportedRefunded: 0 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 5 credits
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 200_000n });
      h.fakeMp.update(paymentId, { refunded: 0, reportedRefunded: 0 }); // the refund was rejected
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 0n, reversedMicroCredits: 0n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a refund level that over-reports (a refund listed twice) is stored as the payment's amount, not above it", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // ARS 5000
      await h.sendMp(h.fakeMp.notification(paymentId));
      h.fakeMp.update(paymentId, { status: "refunded", refunded: 5000, reportedRefunded: 10000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 500_000n,
        reversedMicroCredits: FIVE_CREDITS_N,
      });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("reconcile reads the refund the same way (a refunded payment whose webhook was lost before it was granted)", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      h.fakeMp.update(paymentId, { status: "refunded", refunded: 5000, reportedRefunded: 0 });
      const fulfiller = createFulfiller(db);
      const results = await reconcileTopups({
        db,
        stripe: null,
        mercadoPago: h.deps.mercadoPago,
        apply: (id, o) => fulfiller.apply({ event: null, topupId: id, observation: o, nowMs: Date.now() }),
        nowMs: Date.now(),
        olderThanMs: 0,
      });
      expect(results.map((r) => r.outcome)).toEqual(["applied"]);
      expect(h.balance(USER)).toBe(0); // before the fix: 5 credits
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid", refundedMinor: 500_000n });
    });
  });
});

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  /**
   * Posts a notification the way MercadoPago does when the notification URL carries no `data.id`:
   * the id only in the body, the manifest signed without its `id:` pair (`signedId` overrides).
   */
  function sendWithoutQueryId(
    h: PaymentsHarness,
    body: Record<string, unknown>,
    o: { requestId?: string | null; signedId?: string; url?: string } = {},
  ) {
    const requestId = o.requestId === undefined ? "a1b2c3d4-req" : o.requestId;
    const ts = String(Math.floor(Date.now() / 1000));
    const xSignature = signMercadoPagoNotification({
      ...(o.signedId ? { dataId: o.signedId } : {}),
      ...(requestId ? { xRequestId: requestId } : {}),
      ts,
      secret: MP_WEBHOOK_SECRET,
    });
    return h.app.inject({
      method: "POST",
      url: o.url ?? "/webhooks/mercadopago?source_news=webhooks",
      headers: {
        "content-type": "application/json",
        "x-signature": xSignature,
        ...(requestId ? { "x-request-id": requestId } : {}),
      },
      payload: JSON.stringify(body),
    });
  }

  describe("case mercadopago-signature-without-data-id", () => {
    test("a payment notified with its id only in the body (manifest without id) is credited once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // ARS 5000 → 5 credits
      const note = h.fakeMp.notification(paymentId, "payment.created");
      const res = await sendWithoutQueryId(h, note);
      expect(res.statusCode).toBe(200); // before the fix: 400 "body data.id differs…", payment lost
      expect(res.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect((await sendWithoutQueryId(h, note)).json().status).toBe("duplicate");
      // The id as a number, no x-request-id (manifest `ts:<ts>;` only), no query at all: a refund.
      h.fakeMp.update(paymentId, { refunded: 2000 });
      const refund = { ...h.fakeMp.notification(paymentId), data: { id: Number(paymentId) } };
      const r2 = await sendWithoutQueryId(h, refund, { requestId: null, url: "/webhooks/mercadopago" });
      expect(r2.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(3_000_000);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("still refused: a manifest signed with an id the URL does not carry, a wrong secret, a body id differing from the query's", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      const note = h.fakeMp.notification(paymentId);
      // Signed over `id:<id>;…` but the URL has no data.id: the manifest is built without it.
      expect((await sendWithoutQueryId(h, note, { signedId: paymentId })).statusCode).toBe(400);
      expect((await h.sendMp(note, { secret: "another-secret" })).statusCode).toBe(400);
      expect((await h.sendMp(note, { dataId: "999" })).statusCode).toBe(400); // query 999, body paymentId
      expect(h.balance(USER)).toBe(0);
      expect(h.eventCount()).toBe(0);
    });
  });

  describe("case mercadopago-rejected-attempt-then-paid", () => {
    /** `reconcile` at `nowMs` (the top-ups are due: created more than 5 minutes before). */
    const reconcileAt = (h: PaymentsHarness, nowMs: number) => {
      const fulfiller = createFulfiller(h.deps.db);
      return reconcileTopups({
        db: h.deps.db,
        stripe: h.deps.stripe,
        mercadoPago: h.deps.mercadoPago,
        apply: (id: string, observation: PaymentObservation) =>
          fulfiller.apply({ event: null, topupId: id, observation, nowMs }),
        nowMs,
        olderThanMs: 5 * 60_000,
      });
    };

    test("a rejected card, then another card approved whose notification was lost: reconcile credits it", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago"); // ARS 5000 → 5 credits
      const rejected = h.fakeMp.pay(topupId, { status: "rejected" });
      expect((await h.sendMp(h.fakeMp.notification(rejected))).json().status).toBe("applied");
      expect(h.topups.get(topupId)?.status).toBe("failed");
      h.fakeMp.pay(topupId); // the second card: approved, its notification lost
      const run = await reconcileAt(h, Date.now() + 10 * 60_000);
      expect(run).toMatchObject([{ topupId, before: "failed", after: "paid", outcome: "applied" }]);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (a failed top-up was never read)
      expect(await reconcileAt(h, Date.now() + 20 * 60_000)).toEqual([]);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a boleto waiting, a card rejected meanwhile: the top-up keeps waiting and the boleto is credited", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const boleto = h.fakeMp.pay(topupId, { status: "pending" });
      expect((await h.sendMp(h.fakeMp.notification(boleto))).json().status).toBe("applied");
      expect(h.topups.get(topupId)).toMatchObject({ status: "awaiting_payment", paymentRef: boleto });
      const card = h.fakeMp.pay(topupId, { status: "rejected" });
      await h.sendMp(h.fakeMp.notification(card));
      // before the fix: failed, on the card's payment
      expect(h.topups.get(topupId)).toMatchObject({ status: "awaiting_payment", paymentRef: boleto });
      // Reconciled while the boleto waits: the waiting boleto decides, not the newer rejection.
      const waiting = await reconcileAt(h, Date.now() + 10 * 60_000);
      expect(waiting).toMatchObject([{ topupId, after: "awaiting_payment" }]);
      h.fakeMp.update(boleto, { status: "approved", statusDetail: "accredited" }); // notification lost
      const run = await reconcileAt(h, Date.now() + 3 * 86_400_000);
      expect(run).toMatchObject([{ topupId, after: "paid", outcome: "applied" }]);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
    });

    test("a new attempt after a failed one is waited for again; an old failed top-up is not asked about", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(topupId, { status: "rejected" })));
      const ticket = h.fakeMp.pay(topupId, { status: "pending" });
      await h.sendMp(h.fakeMp.notification(ticket));
      expect(h.topups.get(topupId)).toMatchObject({ status: "awaiting_payment", paymentRef: ticket });

      const other = await h.createTopup(USER, "starter", "mercadopago");
      await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(other.topupId, { status: "rejected" })));
      expect(h.topups.get(other.topupId)?.status).toBe("failed");
      h.fakeMp.pay(other.topupId); // paid, never notified; reconcile runs 2 days later
      const late = await reconcileAt(h, Date.now() + 2 * 86_400_000);
      expect(late.map((r) => r.topupId)).toEqual([topupId]); // the waiting one only
      expect(h.topups.get(other.topupId)?.status).toBe("failed");
    });

    test("a boleto notified after reconcile expired its link is waited for, and credited when paid unnotified (case mercadopago-waiting-payment-after-link-expired)", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      // reconcile after the link's hour: no payment found yet, the top-up expires
      const expired = await reconcileAt(h, Date.now() + 61 * 60_000);
      expect(expired).toMatchObject([{ topupId, after: "expired" }]);
      // the boleto the payer generated just before, notified late: waited for again
      const boleto = h.fakeMp.pay(topupId, { status: "pending" });
      expect((await h.sendMp(h.fakeMp.notification(boleto))).json().status).toBe("applied");
      expect(h.topups.get(topupId)).toMatchObject({ status: "awaiting_payment", paymentRef: boleto });
      h.fakeMp.update(boleto, { status: "approved", statusDetail: "accredited" }); // notification lost
      const run = await reconcileAt(h, Date.now() + 2 * 86_400_000);
      expect(run).toMatchObject([{ topupId, after: "paid", outcome: "applied" }]);
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (left expired, never read)
      expect(await reconcileAt(h, Date.now() + 3 * 86_400_000)).toEqual([]);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("Stripe: a failed or expired session is final and not read again", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const a = await h.createTopup(USER, "starter", "stripe");
      await h.sendStripe(h.fakeStripe.completeUnpaid(h.sessionIdOf(a.topupId)));
      await h.sendStripe(h.fakeStripe.asyncFailed(h.sessionIdOf(a.topupId)));
      const b = await h.createTopup(USER, "starter", "stripe");
      await h.sendStripe(h.fakeStripe.expire(h.sessionIdOf(b.topupId)));
      expect(h.topups.get(a.topupId)?.status).toBe("failed");
      expect(h.topups.get(b.topupId)?.status).toBe("expired");
      expect(await reconcileAt(h, Date.now() + 10 * 60_000)).toEqual([]);
    });
  });

  describe("case reconcile-failed-retries-starve-pending", () => {
    test("failed MercadoPago top-ups kept for their retries do not starve a pending one out of reconcile's batch", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      // Two checkouts whose cards were rejected (a card-testing run makes hundreds): failed, and
      // still reconciled for a later attempt until 24 h after their links expired.
      const failed: string[] = [];
      for (let i = 0; i < 2; i++) {
        const { topupId } = await h.createTopup("telegram:777", "starter", "mercadopago");
        await h.sendMp(h.fakeMp.notification(h.fakeMp.pay(topupId, { status: "rejected" })));
        expect(h.topups.get(topupId)?.status).toBe("failed");
        failed.push(topupId);
        await new Promise((r) => setTimeout(r, 5)); // created one after another
      }
      // A later checkout paid, its notification lost: only reconcile can credit it.
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      h.fakeMp.pay(topupId);
      const fulfiller = createFulfiller(h.deps.db);
      const reconcileAt = (nowMs: number) =>
        reconcileTopups({
          db: h.deps.db,
          stripe: h.deps.stripe,
          mercadoPago: h.deps.mercadoPago,
          apply: (id: string, observation: PaymentObservation) =>
            fulfiller.apply({ event: null, topupId: id, observation, nowMs }),
          nowMs,
          olderThanMs: 5 * 60_000,
          limit: 2, // the batch (500 by default) filled by the older failed top-ups
        });
      for (const minutes of [10, 20, 30]) await reconcileAt(Date.now() + minutes * 60_000);
      // before the fix: 0, every run read the two oldest (the failed ones) and never reached it
      expect(h.topups.get(topupId)?.status).toBe("paid");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      for (const id of failed) expect(h.topups.get(id)?.status).toBe("failed");
    });
  });

  describe("case mercadopago-legacy-ipn-notification", () => {
    /** A legacy IPN as MercadoPago sends it: `?topic=…&id=…`, a `resource` body, no signature. */
    const sendIpn = (h: PaymentsHarness, topic: string, id: string) =>
      h.app.inject({
        method: "POST",
        url: `/webhooks/mercadopago?topic=${encodeURIComponent(topic)}&id=${encodeURIComponent(id)}`,
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({
          resource: `https://api.mercadolibre.com/collections/notifications/${id}`,
          topic,
        }),
      });

    test("a payment and its refund notified only by IPN are credited and taken back, once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // ARS 5000 → 5 credits
      const res = await sendIpn(h, "payment", paymentId);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: "applied", topupId }); // before the fix: ignored
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      expect((await sendIpn(h, "payment", paymentId)).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);

      h.fakeMp.update(paymentId, { refunded: 2000 });
      expect((await sendIpn(h, "payment", paymentId)).json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 5 credits kept
      expect(h.topups.get(topupId)).toMatchObject({ status: "paid", refundedMinor: 200_000n });
      // A signed Webhook about the same payment afterwards changes nothing.
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("no_change");
      expect(h.balance(USER)).toBe(3_000_000);
      expect(h.ledgerRows(USER).map((r) => r.kind)).toEqual(["topup", "reversal"]);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a merchant-order IPN credits the payments it names; other topics, bad or unknown ids change nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "big", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // CLP 9000 → 12.5 credits
      const orderId = h.fakeMp.merchantOrder([paymentId]);
      for (const [topic, id] of [
        ["point_integration_ipn", paymentId],
        ["payment", "abc"],
        ["payment", ""],
      ] as const) {
        const r = await sendIpn(h, topic, id);
        expect(r.statusCode).toBe(200);
        expect(r.json().status).toBe("ignored");
      }
      expect((await sendIpn(h, "payment", "999999")).json().status).toBe("ignored"); // unknown to MP
      expect(h.balance(USER)).toBe(0);
      expect((await sendIpn(h, "merchant_order", orderId)).json()).toMatchObject({
        status: "applied",
        topupId,
      });
      expect(h.balance(USER)).toBe(12_500_000); // before the fix: 0
      expect(h.eventCount()).toBe(0); // an IPN has no notification id: nothing recorded
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a payment of another mode or for another top-up named by an IPN is not credited", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const sandbox = h.fakeMp.pay(topupId, { liveMode: false });
      expect((await sendIpn(h, "payment", sandbox)).json().status).toBe("rejected");
      const short = h.fakeMp.pay(topupId, { amount: 50 });
      expect((await sendIpn(h, "payment", short)).json().status).toBe("rejected");
      expect(h.balance(USER)).toBe(0);
      expect(h.topups.get(topupId)?.status).toBe("pending");
    });
  });

  describe("case mercadopago-retry-keeps-first-ts", () => {
    /** `at` seconds ago, the signature's `ts` of a first delivery MercadoPago now retries. */
    const tsAgo = (seconds: number) => String(Math.floor(Date.now() / 1000) - seconds);

    test("a refund whose first delivery failed is applied by MercadoPago's retry carrying the first ts", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // ARS 5000 → 5 credits
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      h.fakeMp.update(paymentId, { refunded: 2000 });
      const note = h.fakeMp.notification(paymentId);
      // First delivery: MercadoPago cannot be read, 503, nothing recorded: MercadoPago retries.
      h.fakeMp.failNextRequests(5);
      expect((await h.sendMp(note, { requestId: "req-refund-1" })).statusCode).toBe(503);
      h.fakeMp.failNextRequests(0);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      // Its retry 45 minutes later, signed with the first attempt's ts and request id.
      const retry = await h.sendMp(note, { requestId: "req-refund-1", ts: tsAgo(45 * 60) });
      expect(retry.statusCode).toBe(200); // before the fix: 400 "…outside the tolerance window"
      expect(retry.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 5 credits (refund never taken)
      // The next retry (6 h) changes nothing: the event is recorded once.
      const again = await h.sendMp(note, { requestId: "req-refund-1", ts: tsAgo(6 * 3600) });
      expect(again.json().status).toBe("duplicate");
      expect(h.balance(USER)).toBe(3_000_000);
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 200_000n,
        reversedMicroCredits: 2_000_000n,
      }); // ARS 2000.00
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a payment answered only by the 4-day retry (first ts) is credited once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      const note = h.fakeMp.notification(paymentId, "payment.created");
      const res = await h.sendMp(note, { requestId: "req-pay-1", ts: tsAgo(4 * 86_400) });
      expect(res.statusCode).toBe(200); // before the fix: 400, the top-up never credited
      expect(res.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect((await h.sendMp(note, { requestId: "req-pay-1", ts: tsAgo(4 * 86_400) })).json().status).toBe(
        "duplicate",
      );
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("still refused: a ts older than MercadoPago's retries, a ts from the future, a forged signature", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const note = h.fakeMp.notification(h.fakeMp.pay(topupId));
      expect((await h.sendMp(note, { ts: tsAgo(6 * 86_400) })).statusCode).toBe(400);
      expect((await h.sendMp(note, { ts: tsAgo(-10 * 60) })).statusCode).toBe(400);
      expect((await h.sendMp(note, { ts: tsAgo(45 * 60), secret: "another-secret" })).statusCode).toBe(400);
      expect(h.balance(USER)).toBe(0);
      expect(h.eventCount()).toBe(0);
    });
  });

  describe("case webhook-secret-list-rotation", () => {
    const OLD_STRIPE = "whsec_previous_endpoint_secret_0000";
    const OLD_MP = "mp_previous_secret_before_reset_0000";

    test("Stripe: with two endpoint secrets configured, an event signed by either is applied once", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db, {
        stripeWebhookSecret: `${OLD_STRIPE}, ${STRIPE_WEBHOOK_SECRET}`,
      });
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const sessionId = h.sessionIdOf(topupId);
      const paid = h.fakeStripe.completePaid(sessionId);
      const res = await h.sendStripe(paid); // signed by the second (new) secret only
      expect(res.statusCode).toBe(200); // before the fix: 400, the list was used as one secret
      expect(res.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0
      // The same event from the other endpoint (its own secret): recorded once.
      expect((await h.sendStripe(paid, { secret: OLD_STRIPE })).json().status).toBe("duplicate");
      // A refund signed by the old secret is applied too.
      const refund = await h.sendStripe(h.fakeStripe.refund(sessionId, 200), { secret: OLD_STRIPE });
      expect(refund.json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000);
      // Still refused: a secret not configured; a configured one with a stale timestamp.
      const other = h.fakeStripe.refund(sessionId, 500);
      expect((await h.sendStripe(other, { secret: "whsec_not_configured_0000" })).statusCode).toBe(400);
      const stale = await h.sendStripe(other, {
        secret: OLD_STRIPE,
        timestampSec: Math.floor(Date.now() / 1000) - 600,
      });
      expect(stale.statusCode).toBe(400);
      expect(stale.json().error.message).toMatch(/tolerance/i);
      expect(h.balance(USER)).toBe(3_000_000);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("MercadoPago: the previous secret after a reset and the new one are both accepted", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db, { mpWebhookSecret: `${MP_WEBHOOK_SECRET},${OLD_MP}` });
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId); // ARS 5000 → 5 credits
      const res = await h.sendMp(h.fakeMp.notification(paymentId, "payment.created"), { secret: OLD_MP });
      expect(res.statusCode).toBe(200); // before the fix: 400
      expect(res.json()).toMatchObject({ status: "applied", topupId });
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      h.fakeMp.update(paymentId, { refunded: 2000 });
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000);
      const note = h.fakeMp.notification(paymentId);
      expect((await h.sendMp(note, { secret: "mp_not_configured" })).json().error.message).toBe(
        "mercadopago signature verification failed",
      );
      const stale = await h.sendMp(note, {
        secret: OLD_MP,
        ts: String(Math.floor(Date.now() / 1000) - 6 * 86_400),
      });
      expect(stale.json().error.message).toMatch(/outside the tolerance window/);
      expect(h.balance(USER)).toBe(3_000_000);
    });

    test("config: a comma-separated list is accepted, each Stripe secret must be whsec_", () => {
      const c = loadConfig({
        STRIPE_SECRET_KEY: "sk_test_x",
        STRIPE_WEBHOOK_SECRET: `${OLD_STRIPE}, ${STRIPE_WEBHOOK_SECRET}`,
        MP_ACCESS_TOKEN: "TEST-x",
        MP_WEBHOOK_SECRET: `${MP_WEBHOOK_SECRET},${OLD_MP}`,
      });
      expect(c.payments.stripe?.webhookSecret).toBe(`${OLD_STRIPE}, ${STRIPE_WEBHOOK_SECRET}`);
      expect(() =>
        loadConfig({ STRIPE_SECRET_KEY: "sk_test_x", STRIPE_WEBHOOK_SECRET: `${OLD_STRIPE},sk_test_x` }),
      ).toThrow(/STRIPE_WEBHOOK_SECRET/);
      expect(() => loadConfig({ MP_ACCESS_TOKEN: "TEST-x", MP_WEBHOOK_SECRET: " , " })).toThrow(
        /MP_WEBHOOK_SECRET/,
      );
    });
  });
});

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("case mercadopago-notified-resource-not-readable-yet", () => {
    /** The payment (or chargeback) answers 404 while `fn` runs, as MercadoPago does for one it cannot show yet. */
    async function unreadable<T>(h: PaymentsHarness, id: string, fn: () => Promise<T>): Promise<T> {
      const p = h.fakeMp.payments.get(id);
      if (!p) throw new Error(`no payment ${id}`);
      h.fakeMp.payments.delete(id);
      try {
        return await fn();
      } finally {
        h.fakeMp.payments.set(id, p);
      }
    }

    test("a payment notification read before MercadoPago shows the payment is redelivered and credits it", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago"); // ARS 5000 → 5 credits
      const paymentId = h.fakeMp.pay(topupId);
      const created = h.fakeMp.notification(paymentId, "payment.created");
      const first = await unreadable(h, paymentId, () => h.sendMp(created));
      expect(first.statusCode).toBe(503); // before the fix: 200 ignored ("unknown to mercadopago")
      expect(h.eventCount()).toBe(0);
      const redelivered = await h.sendMp(created); // MercadoPago's retry, 15 minutes later
      expect(redelivered.json()).toMatchObject({ status: "applied", topupId }); // before the fix: duplicate
      expect(h.balance(USER)).toBe(FIVE_CREDITS); // before the fix: 0 (until reconcile)
      expect((await h.sendMp(created)).json().status).toBe("duplicate");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
    });

    test("a refund notification read while the payment answers 404 is redelivered and takes the refund back", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      expect((await h.sendMp(h.fakeMp.notification(paymentId))).json().status).toBe("applied");
      h.fakeMp.update(paymentId, { refunded: 2000 }); // ARS 2000 of 5000 refunded
      const refunded = h.fakeMp.notification(paymentId);
      expect((await unreadable(h, paymentId, () => h.sendMp(refunded))).statusCode).toBe(503);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      // reconcile reads unsettled top-ups only: the redelivery is the refund's one way in.
      expect((await h.sendMp(refunded)).json().status).toBe("applied"); // before the fix: duplicate
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 5 credits, for good
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 200_000n });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a chargeback notification whose chargeback or payment is not readable yet is redelivered, then applied", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const paymentId = h.fakeMp.pay(topupId);
      await h.sendMp(h.fakeMp.notification(paymentId));
      const chargebackId = h.fakeMp.chargeback(paymentId, "in_process");
      const opened = h.fakeMp.topicNotification("topic_chargebacks_wh", chargebackId, "created");
      expect((await unreadable(h, paymentId, () => h.sendMp(opened))).statusCode).toBe(503);
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect((await h.sendMp(opened)).json()).toMatchObject({ status: "applied", topupId }); // before: duplicate
      expect(h.balance(USER)).toBe(0); // before the fix: 5 credits
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });
  });

  describe("case mercadopago-replacement-payment-own-collected", () => {
    const report = (h: PaymentsHarness) =>
      paymentsReport(h.deps.db, { sinceMs: 0, untilMs: Date.now() + 86_400_000, limit: 10, offset: 0 });

    test("a replacement paid in full after a couponed payment refunded: its refunds are shares of what IT collected", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago"); // ARS 5000 → 5 credits
      const first = h.fakeMp.pay(topupId, { coupon: 1000 }); // paid 4000
      expect((await h.sendMp(h.fakeMp.notification(first))).json().status).toBe("applied");
      const second = h.fakeMp.pay(topupId); // the preference paid again, no coupon: 5000
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("rejected");
      h.fakeMp.update(first, { status: "refunded", refunded: 4000 }); // the first given back in full
      expect((await h.sendMp(h.fakeMp.notification(first))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.topups.get(topupId)).toMatchObject({ paymentRef: second, collectedMinor: 500_000n }); // before the fix: 400_000n
      expect(report(h).topups[0]).toMatchObject({ amountMinor: 500_000, discountMinor: 0 }); // before the fix: 400_000, 100_000 off

      h.fakeMp.update(second, { refunded: 2000 }); // 2000 of the 5000 it paid
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(3_000_000); // before the fix: 2.5 credits (2000 of the first's 4000)
      h.fakeMp.update(second, { refunded: 4000 }); // 4000 of 5000: a fifth is still paid for
      expect((await h.sendMp(h.fakeMp.notification(second))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(1_000_000); // before the fix: 0
      expect(h.topups.get(topupId)).toMatchObject({
        refundedMinor: 400_000n,
        reversedMicroCredits: 4_000_000n,
      });
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a replacement paid with a coupon after a full-price payment refunded records the 4000 it collected", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "mercadopago");
      const first = h.fakeMp.pay(topupId); // 5000
      await h.sendMp(h.fakeMp.notification(first));
      h.fakeMp.update(first, { status: "refunded", refunded: 5000 });
      await h.sendMp(h.fakeMp.notification(first));
      expect(h.balance(USER)).toBe(0);
      const again = h.fakeMp.pay(topupId, { coupon: 1000 }); // paid again with a coupon: 4000
      expect((await h.sendMp(h.fakeMp.notification(again))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(FIVE_CREDITS);
      expect(h.topups.get(topupId)).toMatchObject({ paymentRef: again, collectedMinor: 400_000n }); // before the fix: 500_000n
      expect(report(h).topups[0]).toMatchObject({ amountMinor: 400_000, discountMinor: 100_000 }); // before the fix: 500_000, 0
      h.fakeMp.update(again, { refunded: 2000 }); // half of what it collected
      expect((await h.sendMp(h.fakeMp.notification(again))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(2_500_000);
      expect(h.topups.get(topupId)).toMatchObject({ refundedMinor: 200_000n }); // before the fix: 250_000n (in the first's 5000)
      expect(report(h).topups[0]).toMatchObject({ refundedMinor: 200_000 }); // before the fix: 250_000
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });
  });
});
