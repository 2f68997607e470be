/**
 * Auto top-up against a local fake of the Stripe API (real `stripe` SDK over HTTP, real-shaped
 * success / 402 card_error bodies) and webhooks signed with real HMAC: opt-in at checkout, the
 * off-session charge, its guards (one charge per low-balance episode, 3 per 10 minutes, an hour
 * after a decline) and crediting exactly once however many times Stripe says "succeeded".
 */
import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createAutoTopupRepo } from "../../src/payments/index.js";
import { CREDIT, optIn, runner, T0, USER } from "../support/autotopup.js";
import { createPaymentsHarness } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { debit } from "../worker/support.js";

const topupEntries = (db: Db) =>
  createLedger(db)
    .entries(USER, 1000)
    .filter((e) => e.kind === "topup");

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("auto top-up: opt-in at checkout", () => {
    test("a save-card link creates one Customer and asks for setup_future_usage=off_session; the webhook keeps brand and last 4 only", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      await optIn(h);
      const customerCall = h.fakeStripe.requests.find((r) => r.path === "/v1/customers");
      expect(customerCall?.headers["idempotency-key"]).toMatch(/^customer-[0-9a-f]{40}$/);
      const session = h.fakeStripe.requests.find((r) => r.path === "/v1/checkout/sessions");
      expect(session?.params).toMatchObject({
        "payment_intent_data[setup_future_usage]": "off_session",
        customer: expect.stringMatching(/^cus_/),
        "metadata[save_card]": "1",
      });
      const view = (
        await h.app.inject({ url: `/v1/users/${USER}/autotopup`, headers: h.auth })
      ).json() as Record<string, unknown>;
      expect(view).toMatchObject({
        enabled: true,
        packId: "starter",
        threshold: "2.00",
        card: { brand: "visa", last4: "4242" },
        needsCard: false,
      });
      // Nothing about the card but ids, brand and last 4 is stored.
      const row = db.prepare("SELECT * FROM stripe_customers").get() as Record<string, unknown>;
      expect(Object.keys(row).sort()).toEqual(
        [
          "account_id",
          "card_brand",
          "card_last4",
          "card_saved_at_ms",
          "created_at_ms",
          "customer_id",
          "payment_method_id",
          "updated_at_ms",
        ].sort(),
      );
      // A second save-card link reuses the stored Customer.
      await h.app.inject({
        method: "POST",
        url: "/v1/topups",
        headers: h.auth,
        payload: { userId: USER, packId: "starter", provider: "stripe", saveCard: true },
      });
      expect(h.fakeStripe.requests.filter((r) => r.path === "/v1/customers")).toHaveLength(1);
    });

    test("bad input changes nothing: MercadoPago cannot save a card, unknown pack, zero threshold", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const mp = await h.app.inject({
        method: "POST",
        url: "/v1/topups",
        headers: h.auth,
        payload: { userId: USER, packId: "starter", provider: "mercadopago", saveCard: true },
      });
      expect(mp.statusCode).toBe(400);
      expect(mp.json().error.message).toContain("only Stripe can save a card");
      for (const payload of [
        { packId: "nope" },
        { packId: "starter", threshold: "0" },
        { packId: "starter", threshold: "-1" },
        // Above the pack's 5 credits one charge never lifts the balance over it: charge after charge.
        { packId: "starter", threshold: "5.000001" },
        { packId: "starter", threshold: "9007199255" },
      ]) {
        const r = await h.app.inject({
          method: "PUT",
          url: `/v1/users/${USER}/autotopup`,
          headers: h.auth,
          payload,
        });
        expect(r.statusCode, JSON.stringify(payload)).toBeGreaterThanOrEqual(400);
        expect(r.statusCode).toBeLessThan(500);
        if (payload.threshold?.startsWith("5."))
          expect(r.json().error.message).toMatch(/at most the pack's 5\.00/);
      }
      expect(createAutoTopupRepo(db).settings(USER)).toBeNull();
    });
  });

  describe("auto top-up: charging", () => {
    test("below the threshold: one off-session charge with the trigger's idempotency key, credited once under a replay storm of payment_intent.succeeded", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      const { pm } = await optIn(h);
      const { run } = runner(db, h.deps, clock);

      expect(await run()).toMatchObject({ status: "skipped", reason: "above_threshold" }); // 5 credits
      debit(db, USER, 4 * CREDIT, T0); // 1 credit left, under 2
      const out = await run();
      expect(out).toMatchObject({ status: "succeeded" });
      expect(h.balance(USER)).toBe(6 * CREDIT);

      expect(h.fakeStripe.offSessionCharges).toHaveLength(1);
      const call = h.fakeStripe.requests.find((r) => r.method === "POST" && r.path === "/v1/payment_intents");
      const topupId = out.status === "succeeded" ? out.topupId : "";
      expect(call?.headers["idempotency-key"]).toBe(`autotopup-${topupId}`);
      expect(call?.params).toMatchObject({
        off_session: "true",
        confirm: "true",
        amount: "500",
        currency: "usd",
        payment_method: pm,
        "metadata[topup_id]": topupId,
        "metadata[autotopup_trigger]": `${USER}|fund:1|0`,
      });

      // The webhook says it too, redelivered many times, plus the same news under other event ids.
      const piId = h.fakeStripe.offSessionCharges[0]?.id as string;
      const event = h.fakeStripe.paymentIntentEvent(piId, "payment_intent.succeeded");
      const storm = [
        ...Array.from({ length: 15 }, () => event),
        ...Array.from({ length: 5 }, () => h.fakeStripe.paymentIntentEvent(piId, "payment_intent.succeeded")),
      ];
      const responses = await Promise.all(storm.map((e) => h.sendStripe(e)));
      expect(responses.map((r) => r.statusCode).filter((c) => c !== 200)).toEqual([]);
      expect(new Set(responses.map((r) => r.json().status))).toEqual(new Set(["duplicate", "no_change"]));
      expect(h.balance(USER)).toBe(6 * CREDIT);
      expect(topupEntries(db)).toHaveLength(2); // the opt-in checkout and this one
      expect(h.ledger.inconsistentAccounts()).toEqual([]);

      // Still below nothing: no more charges; a new low episode (after spending) charges again.
      expect(await run()).toMatchObject({ status: "skipped", reason: "above_threshold" });
      debit(db, USER, 5 * CREDIT, T0 + 1000);
      expect(await run()).toMatchObject({ status: "succeeded" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(2);
      expect(h.balance(USER)).toBe(6 * CREDIT);
    });

    test("a debt larger than the pack: one charge per drop, not one after every top-up; a credit from elsewhere re-arms it", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      await optIn(h); // 5 credits, threshold 2
      const { run } = runner(db, h.deps, clock);
      debit(db, USER, 12 * CREDIT, T0); // -7: one pack (+5) leaves -2, still under 2
      expect(await run()).toMatchObject({ status: "succeeded" });
      expect(h.balance(USER)).toBe(-2 * CREDIT);
      // Later checks (and a later window) do not charge the card again for the same drop.
      expect(await run()).toMatchObject({ status: "skipped", reason: "still_below_after_topup" });
      clock.now += 60 * 60_000;
      expect(await run()).toMatchObject({ status: "skipped", reason: "still_below_after_topup" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(1);
      // The operator grants 10 credits (balance 8), usage drops it under 2 again: that drop charges once.
      h.ledger.post({
        accountId: USER,
        kind: "grant",
        amountMicroCredits: 10n * BigInt(CREDIT),
        idempotencyKey: "debt-test-grant",
        reason: "goodwill",
        nowMs: clock.now,
      });
      debit(db, USER, 7 * CREDIT, clock.now + 1);
      expect(await run()).toMatchObject({ status: "succeeded" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(2);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("case autotopup-recharge-after-refund: a refunded auto top-up does not charge the card again; a credit from elsewhere re-arms it", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      await optIn(h); // 5 credits, threshold 2
      const { run } = runner(db, h.deps, clock);
      debit(db, USER, 4 * CREDIT, T0); // 1 credit left
      expect(await run()).toMatchObject({ status: "succeeded" }); // +5: 6 credits
      const charged = h.fakeStripe.offSessionCharges[0] as { latest_charge: string };
      // The operator refunds the automatic charge in full: 5 credits back to the card.
      expect((await h.sendStripe(h.fakeStripe.refundCharge(charged.latest_charge, 500))).json().status).toBe(
        "applied",
      );
      expect(h.balance(USER)).toBe(CREDIT); // under the threshold again, by the refund
      clock.now += 60_000;
      expect(await run()).toMatchObject({ status: "skipped", reason: "payment_reversed" }); // before the fix: succeeded
      clock.now += 60 * 60_000;
      expect(await run()).toMatchObject({ status: "skipped", reason: "payment_reversed" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(1); // before the fix: 2 (the refund charged again)
      expect(h.balance(USER)).toBe(CREDIT);
      // The user tops up by hand (a credit from elsewhere): the next drop by use charges once.
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      await h.sendStripe(h.fakeStripe.completePaid(h.sessionIdOf(topupId))); // 6 credits
      debit(db, USER, 5 * CREDIT, clock.now + 1);
      expect(await run()).toMatchObject({ status: "succeeded" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(2);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("case autotopup-recharge-after-refund: a chargeback of the checkout that saved the card charges nothing off-session", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      const { sessionId } = await optIn(h); // 5 credits, threshold 2
      const { run } = runner(db, h.deps, clock);
      // The cardholder disputes the checkout: its 5 credits are held, the balance drops to 0.
      const opened = h.fakeStripe.dispute(sessionId, "charge.dispute.created", "needs_response");
      expect((await h.sendStripe(opened)).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(0);
      expect(await run()).toMatchObject({ status: "skipped", reason: "payment_reversed" }); // before the fix: succeeded
      expect(h.fakeStripe.offSessionCharges).toHaveLength(0); // before the fix: 1 (the disputed card charged again)
      // Still none while a later credit funds the balance and use drops it: the dispute is open.
      h.ledger.post({
        accountId: USER,
        kind: "grant",
        amountMicroCredits: 3n * BigInt(CREDIT),
        idempotencyKey: "dispute-test-grant",
        reason: "goodwill",
        nowMs: clock.now,
      });
      debit(db, USER, 2 * CREDIT, clock.now + 1); // 1 credit
      expect(await run()).toMatchObject({ status: "skipped", reason: "payment_reversed" });
      // Won: the credits come back and a later drop by use charges again.
      const won = h.fakeStripe.dispute(sessionId, "charge.dispute.closed", "won");
      expect((await h.sendStripe(won)).json().status).toBe("applied"); // 6 credits
      debit(db, USER, 5 * CREDIT, clock.now + 2);
      expect(await run()).toMatchObject({ status: "succeeded" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(1);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("case autotopup-recharge-after-refund: a refund of an OLDER top-up during an auto top-up's episode charges nothing; a partial refund only holds back its own part", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      const { sessionId } = await optIn(h); // checkout T1: 5 credits, threshold 2
      const { run } = runner(db, h.deps, clock);
      debit(db, USER, 4 * CREDIT, T0); // 1 credit left
      expect(await run()).toMatchObject({ status: "succeeded" }); // auto top-up T2: +5, 6 credits
      // The operator refunds the opt-in checkout T1 in full: its 5 credits go back to the card.
      expect((await h.sendStripe(h.fakeStripe.refund(sessionId, 500))).json().status).toBe("applied");
      expect(h.balance(USER)).toBe(CREDIT); // under the threshold by the refund, not by use
      clock.now += 60_000;
      // before the fix: succeeded (T2 funded the episode and was not refunded: the card charged again)
      expect(await run()).toMatchObject({ status: "skipped", reason: "payment_reversed" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(1);
      // A manual top-up (a credit from elsewhere) re-arms it.
      const manual = await h.createTopup(USER, "starter", "stripe");
      const manualSession = h.sessionIdOf(manual.topupId);
      await h.sendStripe(h.fakeStripe.completePaid(manualSession)); // 6 credits
      // A goodwill refund of 1 credit of it (5 credits): the drop under the threshold that use and
      // this refund make together is the refund's while the refund's credit would keep it above.
      expect((await h.sendStripe(h.fakeStripe.refund(manualSession, 100))).json().status).toBe("applied");
      debit(db, USER, 3.5 * CREDIT, clock.now + 1); // 1.5 credits: 1.5 + 1 refunded = 2.5, not under 2
      expect(await run()).toMatchObject({ status: "skipped", reason: "payment_reversed" });
      // Use alone takes it under the threshold (0.5 + 1 = 1.5 < 2): charged once (before the fix the
      // refunded funding top-up kept it off until another credit).
      debit(db, USER, 1 * CREDIT, clock.now + 2);
      expect(await run()).toMatchObject({ status: "succeeded" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(2);
      expect(h.ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a processing charge is credited by the webhook, once, whatever arrives first or again", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      const { pm } = await optIn(h);
      const { run } = runner(db, h.deps, clock);
      h.fakeStripe.setOffSessionOutcome(pm, "processing");
      debit(db, USER, 4 * CREDIT, T0);
      expect(await run()).toMatchObject({ status: "processing" });
      expect(h.balance(USER)).toBe(1 * CREDIT);
      // Same episode, charge in flight: the next checks do not charge again.
      debit(db, USER, CREDIT / 2, T0 + 1);
      expect(await run()).toMatchObject({ status: "skipped", reason: "already_triggered" });

      const piId = h.fakeStripe.offSessionCharges[0]?.id as string;
      const processing = h.fakeStripe.paymentIntentEvent(piId, "payment_intent.processing");
      h.fakeStripe.settle(piId);
      const succeeded = h.fakeStripe.paymentIntentEvent(piId, "payment_intent.succeeded");
      const storm = [succeeded, processing, succeeded, processing, succeeded, succeeded];
      const responses = await Promise.all(storm.map((e) => h.sendStripe(e)));
      expect(responses.map((r) => r.statusCode)).toEqual(storm.map(() => 200));
      expect(h.balance(USER)).toBe(5.5 * CREDIT);
      expect(topupEntries(db)).toHaveLength(2);
      expect(h.fakeStripe.offSessionCharges).toHaveLength(1);
    });

    test("a stored threshold above the pack (saved before set refused it) charges nothing", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      await optIn(h);
      // As an older release stored it: 100 credits for the 5-credit pack.
      createAutoTopupRepo(db).putSettings(
        USER,
        { packId: "starter", currency: null, thresholdMicroCredits: 100 * CREDIT },
        T0,
      );
      const { run } = runner(db, h.deps, clock);
      debit(db, USER, 4 * CREDIT, T0);
      expect(await run()).toMatchObject({ status: "skipped", reason: "pack_unavailable" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(0);
    });

    test("two workers (two connections to one database) see the same low balance: one charge at Stripe", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      await optIn(h);
      const path = db.name;
      const dbA = openDatabase(path);
      const dbB = openDatabase(path);
      onTestFinished(() => {
        dbA.close();
        dbB.close();
      });
      const a = runner(dbA, h.deps, clock);
      const b = runner(dbB, h.deps, clock);
      h.fakeStripe.setOffSessionDelayMs(100); // both are mid-flight at once
      debit(db, USER, 4 * CREDIT, T0);
      const outcomes = await Promise.all([a.run(), b.run(), a.run(), b.run()]);
      expect(outcomes.filter((o) => o.status === "succeeded")).toHaveLength(1);
      expect(
        outcomes.filter((o) => o.status === "skipped").map((o) => o.status === "skipped" && o.reason),
      ).toEqual(["already_triggered", "already_triggered", "already_triggered"]);
      expect(h.fakeStripe.offSessionCharges).toHaveLength(1);
      expect(h.balance(USER)).toBe(6 * CREDIT);
    });

    test("a claim whose Stripe call never answered is resumed with the SAME key: a charge Stripe made is found, not repeated", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      await optIn(h);
      const { auto, run } = runner(db, h.deps, clock, { leaseMs: 60_000 });
      debit(db, USER, 4 * CREDIT, T0);
      // Stripe charges, but the answer is lost (a 500 from a proxy after the charge, a crash).
      h.fakeStripe.failNextRequests(1);
      expect(await run()).toMatchObject({ status: "error" });
      expect(h.balance(USER)).toBe(1 * CREDIT);
      // The same key reaches Stripe first from somewhere else (the SDK's own retry), then the resume.
      const trigger = auto.repo.recent(USER, 1)[0];
      if (!trigger) throw new Error("no trigger");
      expect(trigger.state).toBe("claimed");
      expect(await run()).toMatchObject({ status: "skipped", reason: "already_triggered" });
      expect(await auto.resumeStale(() => clock.now)).toEqual([]); // lease not over
      clock.now += 61_000;
      const [resumedA, resumedB] = await Promise.all([
        auto.resumeStale(() => clock.now),
        runner(db, h.deps, clock, { leaseMs: 60_000 }).auto.resumeStale(() => clock.now),
      ]);
      expect([...(resumedA ?? []), ...(resumedB ?? [])]).toMatchObject([{ status: "succeeded" }]);
      expect(h.fakeStripe.offSessionCharges).toHaveLength(1);
      const keys = h.fakeStripe.requests
        .filter((r) => r.method === "POST" && r.path === "/v1/payment_intents")
        .map((r) => r.headers["idempotency-key"]);
      expect(new Set(keys)).toEqual(new Set([`autotopup-${trigger.topupId}`]));
      expect(h.balance(USER)).toBe(6 * CREDIT);
    });

    test("at most 3 charges per 10 minutes per account", async ({ db, onTestFinished }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      await optIn(h);
      const { run } = runner(db, h.deps, clock);
      for (let i = 0; i < 3; i++) {
        clock.now += 60_000;
        debit(db, USER, h.balance(USER) - CREDIT / 2, clock.now); // down to 0.5 each time
        expect(await run()).toMatchObject({ status: "succeeded" });
      }
      clock.now += 60_000;
      debit(db, USER, h.balance(USER) - CREDIT / 2, clock.now);
      expect(await run()).toMatchObject({ status: "skipped", reason: "rate_limited" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(3);
      clock.now = T0 + 60_000 + 10 * 60_000 + 1; // the first charge left the window
      expect(await run()).toMatchObject({ status: "succeeded" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(4);
    });

    for (const outcome of ["card_declined", "authentication_required"] as const) {
      test(`${outcome}: backs off an hour, tells the user once with a checkout link, then tries again`, async ({
        db,
        onTestFinished,
      }) => {
        const h = await createPaymentsHarness(db);
        onTestFinished(h.close);
        const clock = { now: T0 };
        const { pm } = await optIn(h);
        const { auto, run } = runner(db, h.deps, clock);
        h.fakeStripe.setOffSessionOutcome(pm, outcome);
        debit(db, USER, 4 * CREDIT, T0);
        expect(await run()).toMatchObject({ status: "declined", detail: outcome });
        expect(h.balance(USER)).toBe(1 * CREDIT);
        const trigger = auto.repo.recent(USER, 1)[0];
        // The SDK surfaced the 402's error.payment_intent: the failed PaymentIntent is recorded.
        expect(trigger).toMatchObject({
          state: "declined",
          declineCode: outcome,
          paymentIntentId: h.fakeStripe.offSessionCharges[0]?.id,
          topupStatus: "failed",
        });
        const notices = () =>
          db.prepare("SELECT kind, text FROM notices WHERE account_id = ?").all(USER) as {
            kind: string;
            text: string;
          }[];
        const declinedNotices = () => notices().filter((n) => n.kind === "autotopup_declined");
        expect(declinedNotices()).toHaveLength(1);
        expect(declinedNotices()[0]?.text).toMatch(/https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
        expect(declinedNotices()[0]?.text).toContain(
          outcome === "authentication_required" ? "confirm the payment" : "card was declined",
        );

        clock.now = T0 + 59 * 60_000;
        debit(db, USER, CREDIT / 10, clock.now);
        expect(await run()).toMatchObject({ status: "skipped", reason: "backoff" });
        expect(h.fakeStripe.offSessionCharges).toHaveLength(1);

        clock.now = T0 + 61 * 60_000; // an hour later: attempt 1 of the same episode
        expect(await run()).toMatchObject({ status: "declined" });
        expect(h.fakeStripe.offSessionCharges).toHaveLength(2);
        expect(declinedNotices()).toHaveLength(1); // once per low-balance episode

        h.fakeStripe.setOffSessionOutcome(pm, "succeed");
        clock.now = T0 + 122 * 60_000;
        expect(await run()).toMatchObject({ status: "succeeded" });
        expect(h.balance(USER)).toBe(5.9 * CREDIT);
      });
    }

    test("opt-out: /autotopup off stops charging; the saved card stays for a later set", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const clock = { now: T0 };
      await optIn(h);
      const { run } = runner(db, h.deps, clock);
      const off = await h.app.inject({
        method: "DELETE",
        url: `/v1/users/${USER}/autotopup`,
        headers: h.auth,
      });
      expect(off.json()).toMatchObject({ enabled: false, card: { last4: "4242" } });
      debit(db, USER, 4.5 * CREDIT, T0);
      expect(await run()).toMatchObject({ status: "skipped", reason: "off" });
      expect(h.fakeStripe.offSessionCharges).toHaveLength(0);
    });

    test("a Checkout payment's own payment_intent events are left to the session events", async ({
      db,
      onTestFinished,
    }) => {
      const h = await createPaymentsHarness(db);
      onTestFinished(h.close);
      const { topupId } = await h.createTopup(USER, "starter", "stripe");
      const completed = h.fakeStripe.completePaid(h.sessionIdOf(topupId));
      const pi = (completed.data as { object: { payment_intent: string } }).object.payment_intent;
      const r = await h.sendStripe(h.fakeStripe.paymentIntentEvent(pi, "payment_intent.payment_failed"));
      expect(r.json()).toMatchObject({ status: "ignored" });
      expect((await h.sendStripe(completed)).json()).toMatchObject({ status: "applied" });
      expect(h.balance(USER)).toBe(5 * CREDIT);
    });
  });
});
