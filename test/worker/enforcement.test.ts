import { describe, expect } from "vitest";
import { createEnforcer, runRollover, windowAt } from "../../src/limits/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { alertKeys, CREDIT, debit, settings, topUp } from "./support.js";

const T0 = Date.UTC(2026, 2, 10, 12, 0, 0); // Tue 10 Mar 2026 12:00 UTC
const U = "telegram:1001";

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("calendar windows", () => {
    test("days, Monday weeks and months start at local midnight in the configured zone", () => {
      const d = windowAt("day", T0, "UTC");
      expect([d.startMs, d.endMs, d.key]).toEqual([
        Date.UTC(2026, 2, 10),
        Date.UTC(2026, 2, 11),
        "day:2026-03-10",
      ]);
      expect(windowAt("week", T0, "UTC").startMs).toBe(Date.UTC(2026, 2, 9));
      const m = windowAt("month", T0, "UTC");
      expect([m.startMs, m.endMs]).toEqual([Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1)]);
      // Buenos Aires is UTC-3: its day starts at 03:00 UTC.
      const ba = windowAt("day", Date.UTC(2026, 2, 10, 2, 0), "America/Argentina/Buenos_Aires");
      expect([ba.startMs, ba.key]).toEqual([Date.UTC(2026, 2, 9, 3), "day:2026-03-09"]);
      // A DST day in New York is 23 hours long.
      const ny = windowAt("day", Date.UTC(2026, 2, 8, 12), "America/New_York");
      expect(ny.endMs - ny.startMs).toBe(23 * 3600_000);
    });
  });

  describe("enforcement", () => {
    test("the floor blocks at the debit that empties the balance and a top-up unblocks", ({ db }) => {
      // The floor alone (the default p95 headroom would block at 0.4 after a 0.6 call: headroom tests).
      const e = createEnforcer(db, settings({ headroom: { mode: "off" } }));
      topUp(db, U, 1 * CREDIT, T0);
      debit(db, U, 600_000, T0);
      expect(e.check(U, T0).status.allowed).toBe(true);
      debit(db, U, 400_000, T0 + 1);
      const blocked = e.check(U, T0 + 1).status;
      expect(blocked).toMatchObject({
        allowed: false,
        reason: "insufficient_balance",
        balanceMicroCredits: 0,
      });
      debit(db, U, 300_000, T0 + 2); // usage while blocked is still recorded and debited
      expect(e.check(U, T0 + 2).status.balanceMicroCredits).toBe(-300_000);
      topUp(db, U, 5 * CREDIT, T0 + 3);
      expect(e.check(U, T0 + 3).status).toMatchObject({ allowed: true, reason: null });
      expect(
        alertKeys(db, U).filter((k) => /^(blocked|unblocked|depleted|topup_received)/.test(k)),
      ).toHaveLength(
        5, // 2 receipts, depleted, blocked, unblocked
      );
    });

    test("an overdraft floor lets the balance go below zero before blocking", ({ db }) => {
      const e = createEnforcer(db, settings({ headroom: { mode: "off" } }));
      topUp(db, U, CREDIT, T0);
      e.setLimits(U, { floorMicroCredits: -CREDIT }, T0);
      debit(db, U, 1_500_000, T0);
      expect(e.check(U, T0).status.allowed).toBe(true);
      debit(db, U, 500_000, T0);
      expect(e.check(U, T0).status).toMatchObject({ allowed: false, reason: "insufficient_balance" });
    });

    test("a daily cap blocks at the debit that reaches it and lifts at local midnight", ({ db }) => {
      const e = createEnforcer(db, settings({ timezone: "America/Argentina/Buenos_Aires" }));
      topUp(db, U, 100 * CREDIT, T0);
      e.setLimits(U, { caps: [{ period: "day", capMicroCredits: 2 * CREDIT, kind: "hard" }] }, T0);
      debit(db, U, 1_999_999, T0);
      expect(e.check(U, T0).status.allowed).toBe(true);
      debit(db, U, 1, T0 + 1000);
      const s = e.check(U, T0 + 1000).status;
      const midnightBa = Date.UTC(2026, 2, 11, 3); // 00:00 in Buenos Aires
      expect(s).toMatchObject({ allowed: false, reason: "daily_cap", liftsAtMs: midnightBa });
      expect(runRollover(e, midnightBa - 1)).toBe(0);
      expect(e.storedStatus(U)?.allowed).toBe(false);
      expect(runRollover(e, midnightBa)).toBe(1);
      expect(e.storedStatus(U)).toMatchObject({ allowed: true, reason: null });
      expect(alertKeys(db, U)).toContain("unblocked|daily_cap|day:2026-03-10");
      // Idempotent when run twice or late.
      runRollover(e, midnightBa + 3600_000);
      expect(alertKeys(db, U).filter((k) => k.startsWith("unblocked"))).toHaveLength(1);
    });

    test("soft caps alert but never block; monthly and daily caps apply together", ({ db }) => {
      const e = createEnforcer(db, settings());
      topUp(db, U, 100 * CREDIT, T0);
      e.setLimits(
        U,
        {
          caps: [
            { period: "day", capMicroCredits: CREDIT, kind: "soft" },
            { period: "month", capMicroCredits: 3 * CREDIT, kind: "hard" },
          ],
        },
        T0,
      );
      debit(db, U, 2 * CREDIT, T0);
      expect(e.check(U, T0).status.allowed).toBe(true);
      debit(db, U, CREDIT, T0 + 86_400_000);
      expect(e.check(U, T0 + 86_400_000).status).toMatchObject({ allowed: false, reason: "monthly_cap" });
    });

    test("one debit that jumps over several thresholds raises each alert exactly once", ({ db }) => {
      const e = createEnforcer(db, settings({ lowBalanceMicroCredits: 2 * CREDIT }));
      topUp(db, U, 10 * CREDIT, T0);
      e.setLimits(U, { caps: [{ period: "day", capMicroCredits: 5 * CREDIT, kind: "hard" }] }, T0);
      e.check(U, T0);
      debit(db, U, 10 * CREDIT, T0 + 1); // 0 → 200 % of the cap, 10 → 0 credits
      const r = e.check(U, T0 + 1);
      expect(r.alerts.map((a) => `${a.kind}|${a.threshold}`).sort()).toEqual(
        [
          "blocked|insufficient_balance",
          "cap_threshold|day/hard/100",
          "cap_threshold|day/hard/50",
          "cap_threshold|day/hard/80",
          "depleted|",
          "low_balance|",
        ].sort(),
      );
      expect(e.check(U, T0 + 2).alerts).toEqual([]);
      const notices = e.notices(50);
      expect(notices.map((n) => n.kind)).toContain("cap_threshold");
      expect(notices[0]).toMatchObject({ userId: U, channel: "telegram", to: "1001", accountId: U });
    });

    test("an operator block wins over everything and is lifted only by unblock", ({ db }) => {
      const e = createEnforcer(db, settings({ language: "es" }));
      topUp(db, U, 10 * CREDIT, T0);
      expect(e.block(U, "abuse report", T0).status).toMatchObject({ allowed: false, reason: "operator" });
      topUp(db, U, 10 * CREDIT, T0 + 1);
      expect(e.check(U, T0 + 1).status.reason).toBe("operator");
      expect(e.unblock(U, T0 + 2).status.allowed).toBe(true);
      const texts = e.notices(50).map((n) => n.text);
      expect(texts.some((t) => t.startsWith("Pausamos tus mensajes: el operador"))).toBe(true);
      expect(texts).toContain("Ya puedes volver a escribir.");
    });

    test("limits are validated with errors naming the field", ({ db }) => {
      const e = createEnforcer(db, settings());
      expect(() => e.setLimits(U, { caps: [{ period: "year", capMicroCredits: 1 }] } as never, T0)).toThrow(
        /period/,
      );
      expect(() => e.setLimits(U, { caps: [{ period: "day", capMicroCredits: -5 }] } as never, T0)).toThrow(
        /capMicroCredits/,
      );
    });
  });
});
