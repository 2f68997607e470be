import { describe, expect } from "vitest";
import { createPaymentsHarness } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";

/** Deterministic PRNG so a failing storm can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function storm<T>(items: T[], random: () => number): T[] {
  const out: T[] = [];
  for (const item of items) {
    const copies = 1 + Math.floor(random() * 5); // delivered 1-5 times
    for (let i = 0; i < copies; i++) out.push(item);
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

const USERS = ["telegram:1", "telegram:2", "telegram:3"];

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("webhook replay storm", () => {
    for (const seed of [1, 2, 3]) {
      test(`stripe (seed ${seed}): each payment credited once, each refund reversed once`, async ({
        db,
        onTestFinished,
      }) => {
        const h = await createPaymentsHarness(db);
        onTestFinished(h.close);
        const random = rng(seed);
        const events: Record<string, unknown>[] = [];
        const refundFirst: Record<string, unknown>[] = [];
        for (let i = 0; i < 6; i++) {
          const user = USERS[i % USERS.length] as string;
          const { topupId } = await h.createTopup(user, "starter", "stripe");
          const sessionId = h.sessionIdOf(topupId);
          const completed = h.fakeStripe.completePaid(sessionId);
          const asyncDup = h.fakeStripe.asyncSucceeded(sessionId); // the same payment via the other event type
          const refund1 = h.fakeStripe.refund(sessionId, 100);
          const refund2 = h.fakeStripe.refund(sessionId, 150); // cumulative 250 of 500
          events.push(completed, asyncDup, refund1, refund2);
          if (i % 2 === 0) {
            events.push(h.fakeStripe.dispute(sessionId, "charge.dispute.created", "needs_response"));
            events.push(h.fakeStripe.dispute(sessionId, "charge.dispute.closed", "won"));
          }
          if (i === 0) refundFirst.push(refund2); // refund delivered before the completion ever arrives
        }
        for (const e of refundFirst) {
          // Found through the PaymentIntent's metadata; the refund level is kept until the grant lands.
          expect((await h.sendStripe(e)).json()).toMatchObject({ status: "applied" });
        }
        expect(h.balance(USERS[0] as string)).toBe(0);

        const deliveries = storm(events, random);
        const responses = await Promise.all(deliveries.map((e) => h.sendStripe(e)));
        expect(responses.map((r) => r.statusCode).filter((c) => c !== 200)).toEqual([]);

        // 6 top-ups × (5 granted − 2.5 refunded) = 15 credits, split 2 top-ups per user.
        for (const user of USERS) expect(h.balance(user)).toBe(5_000_000);
        const rows = USERS.flatMap((u) => h.ledgerRows(u));
        expect(rows.filter((r) => r.kind === "topup")).toHaveLength(6);
        const reversed = rows
          .filter((r) => r.kind === "reversal")
          .reduce((a, r) => a + r.amountMicroCredits, 0);
        expect(reversed).toBe(-6 * 2_500_000);
        expect(h.ledger.inconsistentAccounts()).toEqual([]);
        expect(h.eventCount()).toBe(events.length); // each distinct event stored once
      });

      test(`mercadopago (seed ${seed}): out-of-order, repeated notifications settle on the final state`, async ({
        db,
        onTestFinished,
      }) => {
        const h = await createPaymentsHarness(db);
        onTestFinished(h.close);
        const random = rng(seed + 100);
        const notes: Record<string, unknown>[] = [];
        for (let i = 0; i < 6; i++) {
          const user = USERS[i % USERS.length] as string;
          const { topupId } = await h.createTopup(user, "starter", "mercadopago");
          const pending = h.fakeMp.pay(topupId, { status: "pending" });
          notes.push(h.fakeMp.notification(pending, "payment.created"));
          h.fakeMp.update(pending, { status: "rejected" });
          notes.push(h.fakeMp.notification(pending));
          const paid = h.fakeMp.pay(topupId);
          notes.push(h.fakeMp.notification(paid, "payment.created"));
          h.fakeMp.update(paid, { refunded: 2500 });
          notes.push(h.fakeMp.notification(paid));
          notes.push(h.fakeMp.notification(paid)); // a second notification id about the same state
        }
        const responses = await Promise.all(storm(notes, random).map((n) => h.sendMp(n)));
        expect(responses.map((r) => r.statusCode).filter((c) => c !== 200)).toEqual([]);

        for (const user of USERS) expect(h.balance(user)).toBe(5_000_000);
        const rows = USERS.flatMap((u) => h.ledgerRows(u));
        expect(rows.filter((r) => r.kind === "topup")).toHaveLength(6);
        expect(rows.filter((r) => r.kind === "reversal")).toHaveLength(6);
        expect(h.ledger.inconsistentAccounts()).toEqual([]);
        expect(h.eventCount()).toBe(notes.length);
      });
    }
  });
});
