/**
 * Case `test/cases/console-refund-period-partial`: the console overview's "refunded" of a range
 * summed the whole cumulative refunded level of the top-ups whose row was last UPDATED in the
 * range. A top-up refunded $1.00 in November and $1.50 more in December showed nothing refunded in
 * November and $2.50 in December; a dispute update in December moved a November refund as well.
 * Each move of the level is now recorded when it happens (topup_refund_moves, migration 41).
 */
import { describe, expect, test } from "vitest";
import { createTopupRepo, type TopupPatch } from "../../src/payments/topup-repo.js";
import { topupTotals } from "../../src/reports/index.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

const NOV = Date.parse("2026-11-01T00:00:00Z");
const DEC = Date.parse("2026-12-01T00:00:00Z");
const JAN = Date.parse("2027-01-01T00:00:00Z");

describe("case console-refund-period-partial", () => {
  for (const engine of ENGINES)
    test(`${engine}: a refund counts in the range it was recorded in, not the range of the row's last update`, ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const topups = createTopupRepo(t.db);
      const paid: TopupPatch = {
        status: "paid",
        paymentRef: "pi_1",
        refundedMinor: 0n,
        disputedMinor: 0n,
        reversedMicroCredits: 0n,
        reversalCount: 0,
        lastError: null,
        paidAtMs: NOV + 86_400_000,
      };
      for (const id of ["tu_a", "tu_b"]) {
        topups.insert(
          {
            id,
            accountId: "telegram:42",
            packId: "starter",
            provider: "stripe",
            currency: "USD",
            amountMinor: 500n,
            currencyExponent: 2,
            grantMicroCredits: 5_000_000n,
            expiresAtMs: NOV + 86_400_000,
          },
          NOV,
        );
        topups.update(id, { ...paid, paymentRef: `pi_${id}` }, NOV + 86_400_000);
      }
      const day = 86_400_000;
      // tu_a: $1.00 refunded on Nov 10, $1.50 more on Dec 5 (cumulative level 250)
      topups.update(
        "tu_a",
        { ...paid, paymentRef: "pi_tu_a", refundedMinor: 100n, reversalCount: 1 },
        NOV + 9 * day,
      );
      topups.update(
        "tu_a",
        { ...paid, paymentRef: "pi_tu_a", refundedMinor: 250n, reversalCount: 2 },
        DEC + 4 * day,
      );
      // tu_b: $2.00 refunded on Nov 20, then a dispute opened on Dec 8 (the refund level unchanged)
      topups.update(
        "tu_b",
        { ...paid, paymentRef: "pi_tu_b", refundedMinor: 200n, reversalCount: 1 },
        NOV + 19 * day,
      );
      topups.update(
        "tu_b",
        { ...paid, paymentRef: "pi_tu_b", refundedMinor: 200n, disputedMinor: 300n, reversalCount: 1 },
        DEC + 7 * day,
      );
      const money = (from: number, to: number) =>
        topupTotals(t.db, from, to).map((r) => [
          r.currency,
          Number(r.paidCount),
          Number(r.paidMinor),
          Number(r.refundedCount),
          Number(r.refundedMinor),
        ]);
      // before: November [USD, 2, 1000, 0, 0], December [USD, 0, 0, 2, 450]
      expect(money(NOV, DEC)).toEqual([["USD", 2, 1000, 2, 300]]);
      expect(money(DEC, JAN)).toEqual([["USD", 0, 0, 1, 150]]);
      expect(money(NOV, JAN)).toEqual([["USD", 2, 1000, 2, 450]]);
      // a failed refund lowers the level: the net move of its range
      topups.update(
        "tu_a",
        { ...paid, paymentRef: "pi_tu_a", refundedMinor: 100n, reversalCount: 3 },
        DEC + 9 * day,
      );
      expect(money(DEC, JAN)).toEqual([]); // +1.50 and −1.50: nothing refunded in December
      expect(money(NOV, JAN)).toEqual([["USD", 2, 1000, 2, 300]]);
    });
});
