import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { createFulfiller } from "../../src/webhooks/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const NOW = Date.UTC(2026, 10, 1);
const U = "telegram:42";

/** A paid 10-credit top-up for 10.00 USD, through the fulfilment path the webhooks use. */
function paidTopup(db: Db, id: string) {
  const f = createFulfiller(db);
  f.topups.insert(
    {
      id,
      accountId: U,
      packId: "ten",
      provider: "stripe",
      currency: "USD",
      amountMinor: 1000n,
      currencyExponent: 2,
      grantMicroCredits: 10_000_000n,
      expiresAtMs: NOW + 3600_000,
    },
    NOW,
  );
  f.apply({
    event: null,
    topupId: id,
    observation: {
      state: "paid",
      paid: { amountMinor: 1000n, currency: "USD" },
      paymentRef: `pi_${id}`,
      source: "test",
    },
    nowMs: NOW,
  });
  return f;
}

const refund = (db: Db, id: string, refundedMinor: bigint, disputedMinor = 0n) =>
  createFulfiller(db).apply({
    event: null,
    topupId: id,
    observation: {
      state: "unchanged",
      refundedMinor,
      refundIsCurrent: true,
      disputedMinor,
      source: "stripe charge.refunded",
    },
    nowMs: NOW + 1000,
  });

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("refunds and chargebacks reverse from the grant they paid for (docs/grants.md)", () => {
    test("a refund of a half-spent top-up: its rest, then other credit, then debt; the detail says so", ({
      db,
    }) => {
      const ledger = createLedger(db);
      paidTopup(db, "tu_a");
      ledger.post({
        accountId: U,
        kind: "grant",
        amountMicroCredits: 2_000_000n,
        idempotencyKey: "bonus",
        nowMs: NOW,
      });
      // 7 credits of usage: the 2 bonus first, then 5 of the top-up.
      ledger.post({
        accountId: U,
        kind: "usage",
        amountMicroCredits: -7_000_000n,
        idempotencyKey: "u1",
        nowMs: NOW,
      });
      const r = refund(db, "tu_a", 1000n);
      expect(r.reversedMicroCredits).toBe(10_000_000n);
      expect(r.detail).toBe(
        "granted 0.00, reversed 10.00 credits (5.00 from its grant, 0.00 from other credit, 5.00 became debt)",
      );
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(-5_000_000);
      const [grant] = ledger.grants(U).filter((g) => g.kind === "paid");
      expect(grant).toMatchObject({ grantedMicroCredits: 10_000_000, remainingMicroCredits: 0, ref: "tu_a" });
      expect(ledger.summary(U, NOW)).toMatchObject({ debtMicroCredits: 5_000_000, paidMicroCredits: 0 });
      expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
      // A replay of the same refund changes nothing.
      expect(refund(db, "tu_a", 1000n).status).toBe("no_change");
    });

    test("a partial refund with another top-up left: the refunded grant first, then the other, never a silent loss", ({
      db,
    }) => {
      const ledger = createLedger(db);
      paidTopup(db, "tu_a");
      paidTopup(db, "tu_b");
      ledger.post({
        accountId: U,
        kind: "usage",
        amountMicroCredits: -9_000_000n,
        idempotencyKey: "u1",
        nowMs: NOW,
      });
      // Half of tu_b refunded: 5 credits back from tu_b's own (untouched) grant.
      expect(refund(db, "tu_b", 500n).detail).toBe(
        "granted 0.00, reversed 5.00 credits (5.00 from its grant, 0.00 from other credit, 0.00 became debt)",
      );
      // tu_a fully refunded: it has 1 left; the 9 spent come from tu_b's remaining 5, then 4 debt.
      expect(refund(db, "tu_a", 1000n).detail).toBe(
        "granted 0.00, reversed 10.00 credits (1.00 from its grant, 5.00 from other credit, 4.00 became debt)",
      );
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(-4_000_000);
      expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
      expect(ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a won dispute restores the credit into the same grant (after the debt it made)", ({ db }) => {
      const ledger = createLedger(db);
      paidTopup(db, "tu_a");
      ledger.post({
        accountId: U,
        kind: "usage",
        amountMicroCredits: -4_000_000n,
        idempotencyKey: "u1",
        nowMs: NOW,
      });
      refund(db, "tu_a", 0n, 1000n); // disputed in full: 6 from the grant, 4 debt
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(-4_000_000);
      refund(db, "tu_a", 0n, 0n); // dispute won: +10, pays the 4 of debt, 6 back into tu_a's grant
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(6_000_000);
      const paid = ledger.grants(U).filter((g) => g.kind === "paid");
      expect(paid).toHaveLength(1);
      expect(paid[0]).toMatchObject({ ref: "tu_a", remainingMicroCredits: 6_000_000, state: "live" });
      expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
    });
  });
});
