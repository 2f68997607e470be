import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { createEnforcer, DEFAULT_SETTINGS, renderAlert, runGrantExpiry } from "../../src/limits/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const DAY = 86_400_000;
const U = "telegram:77";

const notices = (db: Db) =>
  db.prepare("SELECT kind, text FROM notices WHERE account_id = ? ORDER BY id").all(U) as {
    kind: string;
    text: string;
  }[];

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("grant expiry pass (worker job `grant-expiry`, `creditgate expire`)", () => {
    test("warns once per grant within the warning days, then expires it with a receipt", ({ db }) => {
      const enforcer = createEnforcer(db, { ...DEFAULT_SETTINGS, expiryWarnDays: 3 });
      const ledger = createLedger(db);
      ledger.post({
        accountId: U,
        kind: "topup",
        amountMicroCredits: 3_200_000n,
        idempotencyKey: "t",
        nowMs: T0,
      });
      ledger.post({
        accountId: U,
        kind: "grant",
        amountMicroCredits: 5_000_000n,
        idempotencyKey: "g",
        nowMs: T0,
        grant: { expiresAtMs: T0 + 10 * DAY },
      });
      enforcer.check(U, T0);

      // Eight days before: nothing to say.
      expect(runGrantExpiry(db, enforcer, T0 + 2 * DAY)).toEqual({
        expired: 0,
        expiredMicroCredits: 0,
        warned: 0,
      });
      // Three days before: one warning, once however often the job runs.
      expect(runGrantExpiry(db, enforcer, T0 + 7 * DAY).warned).toBe(1);
      expect(runGrantExpiry(db, enforcer, T0 + 8 * DAY).warned).toBe(0);
      expect(notices(db).filter((n) => n.kind === "credits_expiring")).toEqual([
        {
          kind: "credits_expiring",
          text: "5.00 bonus credits expire in 3 days (2026-12-11 12:00 UTC). Use them first: expired credit is not refunded.",
        },
      ]);

      // At the expiry time: one expiry entry; the next check announces it.
      expect(runGrantExpiry(db, enforcer, T0 + 10 * DAY)).toEqual({
        expired: 1,
        expiredMicroCredits: 5_000_000,
        warned: 0,
      });
      expect(runGrantExpiry(db, enforcer, T0 + 11 * DAY).expired).toBe(0);
      const r = enforcer.check(U, T0 + 10 * DAY);
      expect(r.alerts.map((a) => a.kind)).toContain("credits_expired");
      expect(enforcer.check(U, T0 + 10 * DAY).alerts).toEqual([]);
      expect(notices(db).at(-1)).toEqual({
        kind: "credits_expired",
        text: "5.00 unused credits expired. Balance: 3.20.",
      });
      expect(ledger.balance(U)?.balanceMicroCredits).toBe(3_200_000);
    });

    test("used-up grants and agents are not warned; 0 warning days turns warnings off", ({ db }) => {
      const ledger = createLedger(db);
      const opts = { kind: "grant" as const, nowMs: T0, grant: { expiresAtMs: T0 + DAY } };
      ledger.post({ ...opts, accountId: U, amountMicroCredits: 1_000_000n, idempotencyKey: "a" });
      ledger.post({
        accountId: U,
        kind: "usage",
        amountMicroCredits: -1_000_000n,
        idempotencyKey: "u",
        nowMs: T0,
      });
      ledger.post({ ...opts, accountId: "agent:main", amountMicroCredits: 1_000_000n, idempotencyKey: "b" });
      const off = createEnforcer(db, { ...DEFAULT_SETTINGS, expiryWarnDays: 0 });
      expect(runGrantExpiry(db, off, T0).warned).toBe(0);
      const on = createEnforcer(db, { ...DEFAULT_SETTINGS, expiryWarnDays: 3 });
      expect(runGrantExpiry(db, on, T0).warned).toBe(1); // the agent's alert (operator only), no notice
      expect(db.prepare("SELECT COUNT(*) n FROM notices").get()).toEqual({ n: 0 });
    });

    test("Spanish texts", () => {
      expect(
        renderAlert(
          "credits_expiring",
          {
            amountMicroCredits: 1_000_000,
            expiresAtMs: Date.UTC(2026, 11, 30),
            grantKind: "promotional",
            daysLeft: 1,
          },
          "es",
        ),
      ).toBe(
        "1.00 créditos de bonificación vencen en 1 día (2026-12-30 00:00 (UTC)). Úsalos antes: no se reembolsan.",
      );
      expect(
        renderAlert("credits_expired", { amountMicroCredits: 2_000_000, balanceMicroCredits: 0 }, "es"),
      ).toBe("Vencieron 2.00 créditos sin usar. Saldo: 0.00.");
    });
  });
});
