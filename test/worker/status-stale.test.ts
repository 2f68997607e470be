/**
 * Case test/cases/status-stale-after-balance-change: the status the plugin's gate reads
 * (`GET /v1/users/:id/status`, the `status` RPC) must follow the balance even when the worker has
 * not re-checked the account yet (worker stopped, Redis unreachable, queue behind). No worker runs
 * here: balance changes only write the outbox, as they do while Redis is down.
 */
import { describe, expect } from "vitest";
import { createEnforcer } from "../../src/limits/index.js";
import { parsePacks } from "../../src/payments/index.js";
import { buildTestApp } from "../support/build-app.js";
import { API_KEY, TEST_PACKS } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { CREDIT, debit, settings, topUp } from "./support.js";

const NOW = Date.UTC(2026, 11, 4, 12, 0, 0);
const auth = { authorization: `Bearer ${API_KEY}` };

function app(db: Parameters<typeof buildTestApp>[0]["db"]) {
  return buildTestApp({
    db,
    packs: parsePacks(TEST_PACKS),
    publicBaseUrl: "https://pay.example.test",
    stripe: null,
    mercadoPago: null,
    apiKey: API_KEY,
    nowMs: () => NOW,
    worker: settings({ topupUrl: "https://bot.example/topup" }),
  });
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("status after a balance change the worker has not checked yet (case status-stale-after-balance-change)", () => {
    test("a user who just paid is allowed at once; one whose balance ran out is blocked at once", async ({
      db,
      onTestFinished,
    }) => {
      const a = app(db);
      onTestFinished(() => a.close());
      const enforcer = createEnforcer(db, settings());
      const status = async (u: string) =>
        (await a.inject({ url: `/v1/users/${encodeURIComponent(u)}/status`, headers: auth })).json();

      // telegram:5550102 wrote before paying: checked at balance 0 (stored: blocked).
      const payer = "telegram:5550102";
      enforcer.check(payer, NOW - 60_000);
      expect(await status(payer)).toMatchObject({ allowed: false, reason: "insufficient_balance" });
      // The Stripe/MercadoPago webhook credits 5 credits; the worker is down (no check, no notice).
      topUp(db, payer, 5 * CREDIT, NOW - 30_000);
      expect(await status(payer)).toMatchObject({
        allowed: true,
        reason: null,
        balanceMicroCredits: 5 * CREDIT,
      });

      // telegram:5550101 had 0.50 credits (checked: allowed), then a call charged 0.80.
      const spender = "telegram:5550101";
      topUp(db, spender, 500_000, NOW - 120_000);
      enforcer.check(spender, NOW - 110_000);
      expect(await status(spender)).toMatchObject({ allowed: true });
      debit(db, spender, 800_000, NOW - 10_000);
      expect(await status(spender)).toMatchObject({
        allowed: false,
        reason: "insufficient_balance",
        balanceMicroCredits: -300_000,
      });

      // The stored rows are untouched: the worker's check still stores them and raises the notices.
      expect(enforcer.storedStatus(payer)).toMatchObject({ allowed: false });
      expect(enforcer.storedStatus(spender)).toMatchObject({ allowed: true });
      enforcer.check(payer, NOW);
      expect(enforcer.storedStatus(payer)).toMatchObject({ allowed: true });
      expect(await status(payer)).toMatchObject({ allowed: true, balanceMicroCredits: 5 * CREDIT });
    });
  });

  describe("status after new default limits the worker has not applied yet (case status-stale-after-default-limits)", () => {
    test("a default floor or hard cap stops already-checked users at once; one lifted lets a capped user through at once", async ({
      db,
      onTestFinished,
    }) => {
      const a = app(db);
      onTestFinished(() => a.close());
      const enforcer = createEnforcer(db, settings());
      const status = async (u: string) =>
        (await a.inject({ url: `/v1/users/${encodeURIComponent(u)}/status`, headers: auth })).json();
      const setDefaults = async (body: unknown) =>
        (
          await a.inject({
            method: "PUT",
            url: "/v1/limits/defaults",
            headers: { ...auth, "content-type": "application/json" },
            payload: JSON.stringify(body),
          })
        ).statusCode;
      // The worker has checked every account and is caught up: each outbox row is checked.
      const workerCaughtUp = () =>
        db.prepare("UPDATE limit_outbox SET sent_seq = seq, checked_seq = seq").run();

      // telegram:5550103 holds 5.00 credits and spent 1.20 today; telegram:5550104 holds 4.00,
      // spent 2.50 today, under a default daily hard cap of 2.00 (blocked).
      const rich = "telegram:5550103";
      const capped = "telegram:5550104";
      expect(
        await setDefaults({ caps: [{ period: "day", capMicroCredits: 2 * CREDIT, kind: "hard" }] }),
      ).toBe(200);
      topUp(db, rich, 6_200_000, NOW - 3_600_000);
      debit(db, rich, 1_200_000, NOW - 1_800_000);
      topUp(db, capped, 6_500_000, NOW - 3_600_000);
      debit(db, capped, 2_500_000, NOW - 1_800_000);
      enforcer.check(rich, NOW - 60_000);
      enforcer.check(capped, NOW - 60_000);
      workerCaughtUp();
      expect(await status(rich)).toMatchObject({ allowed: true, balanceMicroCredits: 5 * CREDIT });
      expect(await status(capped)).toMatchObject({ allowed: false, reason: "daily_cap" });

      // The operator stops everyone below 10.00 credits (a default floor); the worker is down.
      expect(await setDefaults({ floorMicroCredits: 10 * CREDIT, caps: [] })).toBe(200);
      expect(await status(rich)).toMatchObject({ allowed: false, reason: "insufficient_balance" });
      expect(await status(capped)).toMatchObject({ allowed: false, reason: "insufficient_balance" });

      // Then lifts the floor and sets a daily hard cap of 1.00 instead: spent 1.20 today is over it,
      // and the first user is stopped by it; back to a 3.00 cap, both are let through.
      expect(await setDefaults({ caps: [{ period: "day", capMicroCredits: CREDIT, kind: "hard" }] })).toBe(
        200,
      );
      expect(await status(rich)).toMatchObject({ allowed: false, reason: "daily_cap" });
      expect(
        await setDefaults({ caps: [{ period: "day", capMicroCredits: 3 * CREDIT, kind: "hard" }] }),
      ).toBe(200);
      expect(await status(rich)).toMatchObject({ allowed: true });
      expect(await status(capped)).toMatchObject({ allowed: true, balanceMicroCredits: 4 * CREDIT });

      // The stored rows still say what the last check said; the worker's check stores the new ones.
      expect(enforcer.storedStatus(capped)).toMatchObject({ allowed: false, reason: "daily_cap" });
      enforcer.check(rich, NOW);
      enforcer.check(capped, NOW);
      workerCaughtUp();
      expect(enforcer.storedStatus(capped)).toMatchObject({ allowed: true });
      expect(await status(capped)).toMatchObject({ allowed: true, balanceMicroCredits: 4 * CREDIT });
    });
  });
});
