/**
 * The console's aggregate routes answer with the same numbers as `GET /v1/usage` (the query
 * `creditgate usage` runs) for the same range; the user table, a user's activity, agents and
 * payments read the same tables; review release/void and dead-alert retry act once.
 */
import { describe, expect } from "vitest";
import { admin, NOW, pushEvent, testApp } from "../api/support.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const DAY = 86_400_000;
type App = ReturnType<typeof testApp>;

async function seed(app: App) {
  const events = [
    pushEvent({ idempotencyKey: "a", userId: "telegram:1", agentId: "bot-a", timestampMs: NOW - 3 * DAY }),
    pushEvent({ idempotencyKey: "b", userId: "telegram:2", agentId: "bot-a", output: 1000 }),
    pushEvent({ idempotencyKey: "c", userId: "telegram:2", agentId: "bot-b", model: "mock-mini" }),
    pushEvent({
      idempotencyKey: "d",
      userId: "telegram:3",
      agentId: "bot-b",
      timestampMs: NOW - 10 * DAY,
      success: false,
    }),
    pushEvent({ idempotencyKey: "e", userId: "agent:bot-b", agentId: "bot-b", timestampMs: NOW - 3_600_000 }),
    pushEvent({ idempotencyKey: "huge", input: 2_000_000_000 }),
  ];
  const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
  expect(res.json()).toMatchObject({ billed: 5, held: 1 });
  await app.inject({
    method: "POST",
    url: "/v1/users/telegram:1/grants",
    headers: admin,
    payload: { credits: "20", reason: "welcome", idempotencyKey: "w1" },
  });
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("console data routes", () => {
    test("overview totals and series equal GET /v1/usage for the same range", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      await seed(app);
      for (const [from, to] of [
        ["7d", undefined],
        ["30d", undefined],
        ["2026-03-01", "2026-03-10T06:00:00Z"],
        ["today", undefined],
      ] as const) {
        const qs = `from=${from}${to ? `&to=${to}` : ""}`;
        const ov = (await app.inject({ url: `/v1/overview?${qs}`, headers: admin })).json();
        const usage = (await app.inject({ url: `/v1/usage?by=day&${qs}`, headers: admin })).json();
        const sum = (f: (r: Record<string, number | string>) => bigint) =>
          usage.rows.reduce((s: bigint, r: Record<string, number | string>) => s + f(r), 0n);
        expect(ov.totals.requests).toBe(Number(sum((r) => BigInt(r.requests as number))));
        expect(ov.totals.errors).toBe(Number(sum((r) => BigInt(r.errors as number))));
        expect(ov.totals.costPicoUsd).toBe(sum((r) => BigInt(r.costPicoUsd as string)).toString());
        expect(ov.totals.chargedMicroCredits).toBe(Number(sum((r) => BigInt(r.chargedMicros as number))));
        // The chart's points add up to the totals.
        const pts = ov.series.points as {
          requests: number;
          costPicoUsd: string;
          chargedMicroCredits: number;
        }[];
        expect(pts.reduce((s, p) => s + p.requests, 0)).toBe(ov.totals.requests);
        expect(pts.reduce((s, p) => s + BigInt(p.costPicoUsd), 0n).toString()).toBe(ov.totals.costPicoUsd);
      }
      const ov = (await app.inject({ url: "/v1/overview?from=7d&stack=model", headers: admin })).json();
      expect(ov.activeUsers).toBe(2);
      expect(ov.activeAgentAccounts).toBe(1);
      expect(ov.totals.marginMicroCredits).toBe(0); // markup 1, 1 credit per USD
      expect(new Set(ov.series.points.map((p: { key: string }) => p.key))).toEqual(
        new Set(["mock/mock-gpt", "mock/mock-mini"]),
      );
      expect(ov.topUsers[0].accountId).toBe("telegram:2");
      expect(ov.balances.overdrawnUsers).toBeGreaterThan(0);
      expect(typeof ov.balances.owedMicroCredits).toBe("number");
      const hourly = await app.inject({ url: "/v1/overview?from=1d&bucket=hour", headers: admin });
      expect(hourly.statusCode).toBe(200);
      expect(
        (await app.inject({ url: "/v1/overview?from=30d&bucket=hour", headers: admin })).statusCode,
      ).toBe(400);
      expect(
        (await app.inject({ url: "/v1/overview?from=soon", headers: admin })).json().error.message,
      ).toMatch(/^from: cannot read time/);
    });

    test("the overview rollups (kept by triggers) always equal usage_daily", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      await seed(app);
      // Same day, user, agent and model again: the writer adds to existing usage_daily rows (UPDATE).
      const more = [0, 1, 2].map((i) =>
        pushEvent({ idempotencyKey: `more-${i}`, userId: "telegram:2", output: 10 * i }),
      );
      await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events: more } });
      const q = (sql: string) => db.prepare(sql).all();
      const daily = (cols: string, group: string) =>
        q(`SELECT ${cols}, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m
           FROM usage_daily GROUP BY ${group} ORDER BY ${group}`);
      expect(
        q(
          "SELECT day, account_id, requests AS n, cost_pico_usd AS c, charge_micro_credits AS m FROM usage_daily_accounts ORDER BY day, account_id",
        ),
      ).toEqual(daily("day, account_id", "day, account_id"));
      expect(
        q(`SELECT day, agent_id, provider, model, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m
           FROM usage_daily_totals GROUP BY day, agent_id, provider, model ORDER BY day, agent_id, provider, model`),
      ).toEqual(daily("day, agent_id, provider, model", "day, agent_id, provider, model"));
      // An update that changes a row's key (nothing does today) moves its sums (migration 20's
      // rekey trigger); one that keeps it adds the difference (the delta trigger).
      db.exec("UPDATE usage_daily SET day = day + 1 WHERE account_id = 'telegram:2'");
      db.exec("UPDATE usage_daily SET requests = requests + 5, cost_pico_usd = cost_pico_usd * 2");
      expect(
        q(
          "SELECT day, account_id, requests AS n, cost_pico_usd AS c, charge_micro_credits AS m FROM usage_daily_accounts WHERE requests > 0 ORDER BY day, account_id",
        ),
      ).toEqual(daily("day, account_id", "day, account_id"));
      expect(
        q(`SELECT day, agent_id, provider, model, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m
           FROM usage_daily_totals WHERE requests > 0 GROUP BY day, agent_id, provider, model ORDER BY day, agent_id, provider, model`),
      ).toEqual(daily("day, agent_id, provider, model", "day, agent_id, provider, model"));
      // A deleted aggregate row is taken out of the rollups too.
      db.exec("DELETE FROM usage_daily WHERE account_id = 'telegram:3'");
      expect(q("SELECT SUM(requests) AS n FROM usage_daily_accounts")).toEqual(
        q("SELECT SUM(requests) AS n FROM usage_daily"),
      );
      expect(q("SELECT SUM(requests) AS n FROM usage_daily_totals")).toEqual(
        q("SELECT SUM(requests) AS n FROM usage_daily"),
      );
    });

    test("users table: search, sort, page; activity; agents; payments", async ({ db, onTestFinished }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      await seed(app);
      const all = (await app.inject({ url: "/v1/users?sort=balance&dir=desc", headers: admin })).json();
      expect(all.total).toBe(3);
      expect(all.users[0]).toMatchObject({ userId: "telegram:1" });
      expect(all.users.map((u: { userId: string }) => u.userId)).not.toContain("agent:bot-b");
      const found = (await app.inject({ url: "/v1/users?q=M:2", headers: admin })).json();
      expect(found.users.map((u: { userId: string }) => u.userId)).toEqual(["telegram:2"]);
      expect(found.users[0].todayChargedMicroCredits).toBeGreaterThan(0);
      const page = (await app.inject({ url: "/v1/users?limit=1&offset=1", headers: admin })).json();
      expect(page.users.map((u: { userId: string }) => u.userId)).toEqual(["telegram:2"]);

      const act = (
        await app.inject({ url: "/v1/users/telegram:1/activity?from=30d", headers: admin })
      ).json();
      expect(act.balance.at(-1).balanceMicroCredits).toBeGreaterThan(0);
      expect(act.byModel[0].model).toBe("mock/mock-gpt");

      const agents = (await app.inject({ url: "/v1/agents?from=30d", headers: admin })).json().agents;
      const b = agents.find((a: { agentId: string }) => a.agentId === "bot-b");
      expect(b).toMatchObject({ users: 2, models: 2, ownRequests: 1 });

      const pay = await app.inject({ url: "/v1/payments?from=30d", headers: admin });
      expect(pay.statusCode).toBe(200);
      expect(pay.json()).toMatchObject({ total: 0, topups: [] });
    });

    // found by t-user3 (2026-12-04): a call released at costUsd was listed with costUsd null and
    // nothing saying what it was billed (case test/cases/review-released-cost-shown)
    test("GET /v1/review lists what a release billed", async ({ db, onTestFinished }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      await seed(app);
      const [held] = (await app.inject({ url: "/v1/review", headers: admin })).json().items;
      expect(held).toMatchObject({ billedCostUsd: null, billedAccountId: null });
      const rel = await app.inject({
        method: "POST",
        url: `/v1/review/${held.id}/release`,
        headers: admin,
        payload: { reason: "checked with the provider", costUsd: "0.0421" },
      });
      // the answer names the account billed (POST /v1/review/:id/release, since accountId)
      expect(rel.json()).toEqual({ status: "released", id: held.id, accountId: held.accountId });
      const [released] = (await app.inject({ url: "/v1/review?status=released", headers: admin })).json()
        .items;
      expect(released).toMatchObject({
        id: held.id,
        costUsd: held.costUsd,
        billedCostUsd: "0.0421",
        billedAccountId: held.accountId,
      });
    });

    test("review release/void and dead-alert retry need admin and act once", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      await seed(app);
      const items = (await app.inject({ url: "/v1/review", headers: admin })).json().items;
      expect(items).toHaveLength(1);
      const id = items[0].id as number;
      const voided = await app.inject({
        method: "POST",
        url: `/v1/review/${id}/void`,
        headers: admin,
        payload: { reason: "test noise" },
      });
      expect(voided.json()).toEqual({ status: "voided", id });
      const again = await app.inject({
        method: "POST",
        url: `/v1/review/${id}/void`,
        headers: admin,
        payload: { reason: "again" },
      });
      expect(again.json().status).toBe("already-voided");

      db.prepare(
        `INSERT INTO alerts (account_id, kind, threshold, window_key, payload, created_at_ms, webhook_state, webhook_attempts)
       VALUES ('telegram:1', 'low_balance', '1', 'w', '{}', ?, 'dead', 5)`,
      ).run(NOW);
      const alertId = (db.prepare("SELECT id FROM alerts").get() as { id: number }).id;
      const r1 = await app.inject({ method: "POST", url: `/v1/alerts/${alertId}/retry`, headers: admin });
      expect(r1.json()).toEqual({ alertId, retried: true });
      expect(db.prepare("SELECT webhook_state AS s FROM alerts").get()).toEqual({ s: "queued" });
      const r2 = await app.inject({ method: "POST", url: `/v1/alerts/${alertId}/retry`, headers: admin });
      expect(r2.statusCode).toBe(409);
      expect(
        (await app.inject({ method: "POST", url: "/v1/alerts/999/retry", headers: admin })).statusCode,
      ).toBe(404);
      expect(
        (await app.inject({ method: "POST", url: "/v1/payments/reconcile", headers: admin })).statusCode,
      ).toBe(503);
    });
  });
});
