import { describe, expect } from "vitest";
import { parsePacks } from "../../src/payments/index.js";
import { buildTestApp } from "../support/build-app.js";
import { API_KEY, TEST_PACKS } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { CREDIT, debit, settings, topUp } from "./support.js";

const NOW = Date.UTC(2026, 2, 10, 12, 0, 0);
const U = "telegram:77";
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

  describe("worker HTTP API", () => {
    test("PUT/GET limits, then status and consumo show the windows", async ({ db, onTestFinished }) => {
      const a = app(db);
      onTestFinished(() => a.close());
      topUp(db, U, 5 * CREDIT, NOW - 1000);
      debit(db, U, 1_500_000, NOW - 500);
      const put = await a.inject({
        method: "PUT",
        url: `/v1/users/${U}/limits`,
        headers: auth,
        payload: {
          caps: [
            { period: "day", capMicroCredits: 2 * CREDIT },
            { period: "month", capMicroCredits: 20 * CREDIT, kind: "soft" },
          ],
        },
      });
      expect(put.statusCode).toBe(200);
      expect(put.json().effective.caps).toHaveLength(2);
      const got = await a.inject({ url: `/v1/users/${U}/limits`, headers: auth });
      expect(got.json().user.caps[0]).toEqual({ period: "day", capMicroCredits: 2 * CREDIT, kind: "hard" });

      const status = (await a.inject({ url: `/v1/users/${U}/status`, headers: auth })).json();
      expect(status).toMatchObject({ allowed: true, reason: null, balanceMicroCredits: 3_500_000 });
      expect(status.windows[0]).toEqual({
        period: "day",
        kind: "hard",
        capMicroCredits: 2 * CREDIT,
        spentMicroCredits: 1_500_000,
        resetsAt: "2026-03-11T00:00:00.000Z",
      });

      debit(db, U, 600_000, NOW - 100);
      const consumo = (await a.inject({ url: `/v1/users/${U}/consumo`, headers: auth })).json();
      expect(consumo).toMatchObject({
        userId: U,
        balanceMicroCredits: 2_900_000,
        today: { requests: 2, tokens: 300, chargedMicroCredits: 2_100_000 },
        month: { requests: 2, tokens: 300, chargedMicroCredits: 2_100_000 },
        lowBalance: false,
      });
      expect(consumo.limits[0]).toMatchObject({ period: "day", kind: "hard", spentMicroCredits: 2_100_000 });
      // What the balance is made of (docs/grants.md): paid top-up, no bonus, no expiry yet.
      expect(consumo.credits).toEqual({
        paidMicroCredits: 2_900_000,
        promotionalMicroCredits: 0,
        refundCreditMicroCredits: 0,
        debtMicroCredits: 0,
        nextExpiry: null,
      });
      await a.inject({
        method: "POST",
        url: `/v1/users/${U}/grants`,
        headers: auth,
        payload: { credits: "1", reason: "bonus", idempotencyKey: "b1", expiresAt: "2026-12-30" },
      });
      const withBonus = (await a.inject({ url: `/v1/users/${U}/consumo`, headers: auth })).json();
      expect(withBonus.credits).toMatchObject({
        paidMicroCredits: 2_900_000,
        promotionalMicroCredits: 1_000_000,
        nextExpiry: { at: "2026-12-30T00:00:00.000Z", microCredits: 1_000_000, kind: "promotional" },
      });
    });

    test("status carries the headroom (micro-credits and credits text) and blocks below it", async ({
      db,
      onTestFinished,
    }) => {
      const a = app(db);
      onTestFinished(() => a.close());
      topUp(db, U, CREDIT, NOW - 10_000);
      for (let i = 0; i < 3; i++) debit(db, U, 300_000, NOW - 5000 + i, "main", "gpt-x", "openai"); // balance 0.1
      const defaults = await a.inject({
        method: "PUT",
        url: `/v1/users/${U}/limits`,
        headers: auth,
        payload: {},
      });
      expect(defaults.json().effective.headroom).toEqual({ mode: "p95" });
      const status = (await a.inject({ url: `/v1/users/${U}/status`, headers: auth })).json();
      expect(status).toEqual({
        userId: U,
        allowed: false,
        reason: "insufficient_headroom",
        balanceMicroCredits: 100_000,
        headroom: {
          microCredits: 300_000,
          credits: "0.30",
          basis: "p95",
          agentId: "main",
          provider: "openai",
          model: "gpt-x",
          samples: 3,
        },
        liftsAt: null,
        windows: [],
        topupUrl: "https://bot.example/topup",
        timeZone: "UTC",
      });
      // A fixed headroom the balance covers exactly: allowed.
      const put = await a.inject({
        method: "PUT",
        url: `/v1/users/${U}/limits`,
        headers: auth,
        payload: { headroom: { mode: "fixed", microCredits: 100_000 } },
      });
      expect(put.statusCode).toBe(200);
      expect((await a.inject({ url: `/v1/users/${U}/status`, headers: auth })).json()).toMatchObject({
        allowed: true,
        reason: null,
        headroom: { microCredits: 100_000, credits: "0.10", basis: "fixed" },
      });
      const bad = await a.inject({
        method: "PUT",
        url: `/v1/users/${U}/limits`,
        headers: auth,
        payload: { headroom: { mode: "fixed", microCredits: 0.5 } },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toMatch(/headroom/);
    });

    test("invalid limits get a 400 naming the field", async ({ db, onTestFinished }) => {
      const a = app(db);
      onTestFinished(() => a.close());
      const res = await a.inject({
        method: "PUT",
        url: `/v1/users/${U}/limits`,
        headers: auth,
        payload: { caps: [{ period: "day", capMicroCredits: 1.5 }], floor: 3 },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.message).toMatch(/capMicroCredits/);
      expect(res.json().error.message).toMatch(/floor/);
      expect((await a.inject({ url: `/v1/users/${U}/status` })).statusCode).toBe(401);
    });

    test("block, notices with ack (204, at least once), alerts, burn and packs", async ({
      db,
      onTestFinished,
    }) => {
      const a = app(db);
      onTestFinished(() => a.close());
      topUp(db, U, 5 * CREDIT, NOW - 1000);
      const blocked = await a.inject({
        method: "POST",
        url: `/v1/users/${U}/block`,
        headers: auth,
        payload: { reason: "fraud" },
      });
      expect(blocked.json()).toMatchObject({
        allowed: false,
        reason: "operator",
        topupUrl: "https://bot.example/topup",
      });
      expect(
        (await a.inject({ method: "POST", url: `/v1/users/${U}/block`, headers: auth, payload: {} }))
          .statusCode,
      ).toBe(400);

      const notices = (await a.inject({ url: "/v1/notices?limit=50", headers: auth })).json();
      expect(notices.map((n: { kind: string }) => n.kind)).toEqual(["topup_received", "blocked"]);
      expect(notices[1]).toMatchObject({ userId: U, channel: "telegram", to: "77", accountId: U });
      const ack = await a.inject({ method: "POST", url: `/v1/notices/${notices[0].id}/ack`, headers: auth });
      expect(ack.statusCode).toBe(204);
      expect(
        (await a.inject({ method: "POST", url: `/v1/notices/${notices[0].id}/ack`, headers: auth }))
          .statusCode,
      ).toBe(204);
      expect(
        (await a.inject({ method: "POST", url: "/v1/notices/999999/ack", headers: auth })).statusCode,
      ).toBe(404);
      expect((await a.inject({ url: "/v1/notices", headers: auth })).json()).toHaveLength(1);

      expect((await a.inject({ url: "/v1/alerts", headers: auth })).json()).toHaveLength(2);

      debit(db, U, 2 * CREDIT, NOW - 10 * 60_000, "support");
      debit(db, U, CREDIT, NOW - 5 * 3600_000, "support");
      topUp(db, "agent:support", 12 * CREDIT, NOW);
      const burn = (await a.inject({ url: "/v1/agents/support/burn", headers: auth })).json();
      expect(burn).toEqual({
        agentId: "support",
        lastHourMicroCredits: 2 * CREDIT,
        last24hMicroCredits: 3 * CREDIT,
        runwayHours: 96,
      });

      const packs = (await a.inject({ url: "/v1/packs", headers: auth })).json();
      expect(packs.packs[0]).toMatchObject({ id: "starter", credits: "5.00", grantMicroCredits: 5 * CREDIT });
    });
  });
});
