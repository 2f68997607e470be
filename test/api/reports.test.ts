import { describe, expect } from "vitest";
import { runCli } from "../support/cli.js";
import { createEngineDb, ENGINES, testOn } from "../support/temp-db.js";
import { admin, NOW, pushEvent, testApp } from "./support.js";

const DAY = 86_400_000;

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("GET /v1/reports and creditgate report", () => {
    test("the API and the CLI give the same report; table and CSV output; clear errors", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      const events = [
        pushEvent({
          idempotencyKey: "a",
          userId: "telegram:1",
          sessionKey: "agent:bot-a:telegram:direct:1",
          timestampMs: NOW - 2 * DAY,
        }),
        pushEvent({
          idempotencyKey: "b",
          userId: "telegram:2",
          sessionKey: "agent:bot-a:telegram:group:-100",
          output: 1000,
        }),
        pushEvent({
          idempotencyKey: "c",
          userId: "agent:bot-b",
          agentId: "bot-b",
          sessionKey: "agent:bot-b:cron:nightly:run:1",
          model: "mock-mini",
        }),
        pushEvent({
          idempotencyKey: "d",
          userId: 'telegram:"=1,x',
          sessionKey: "agent:bot-a:telegram:direct:9",
          success: false,
        }),
      ];
      const push = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events },
      });
      expect(push.json().billed).toBe(4);

      const url = "/v1/reports?from=2026-03-01&to=2026-03-10&by=day,kind";
      const api = await app.inject({ url, headers: admin });
      expect(api.statusCode).toBe(200);
      const body = api.json();
      expect(body).toMatchObject({
        fromMs: Date.UTC(2026, 2, 1),
        toMs: Date.UTC(2026, 2, 11),
        timeZone: "UTC",
        by: ["day", "kind"],
      });
      // within a day: costliest first (b has 1,000 output tokens more; c is the cheaper mock-mini)
      expect(body.rows.map((r: { group: unknown; requests: number }) => [r.group, r.requests])).toEqual([
        [{ day: "2026-03-08", kind: "dm" }, 1],
        [{ day: "2026-03-10", kind: "group" }, 1],
        [{ day: "2026-03-10", kind: "dm" }, 1],
        [{ day: "2026-03-10", kind: "cron" }, 1],
      ]);
      expect(body.totals).toMatchObject({ requests: 4, errors: 1, successRatePct: 75 });
      const cli = await runCli({ CREDITGATE_DB: t.path }, [
        "--json",
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-10",
        "--by",
        "day",
        "--by",
        "kind",
      ]);
      expect(cli.error).toBeNull();
      expect(JSON.parse(cli.out)).toEqual(body);

      const csv = await runCli({ CREDITGATE_DB: t.path }, [
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-10",
        "--by",
        "user",
        "--csv",
        "--kind",
        "dm",
      ]);
      expect(csv.out.split("\r\n")[0]).toMatch(/^user,requests,errors,success_rate_pct,/);
      expect(csv.out).toContain('"telegram:""=1,x",1,1,0.0,');

      const table = await runCli({ CREDITGATE_DB: t.path, CREDITGATE_TIMEZONE: "America/New_York" }, [
        "report",
        "--from",
        "2026-03-08",
        "--to",
        "2026-03-10",
        "--by",
        "agent",
      ]);
      expect(table.out).toMatch(
        /^2026-03-08T05:00:00.000Z → 2026-03-11T04:00:00.000Z \(America\/New_York\)\n/,
      );
      expect(table.out).toMatch(/\ntotal\s+4\s+1\s+75/);
      expect(table.out).toMatch(/n\/a\s+n\/a\n/);

      for (const [q, message] of [
        ["by=day,month", /at most one of day, week, month/],
        ["by=nope", /by/],
        ["kind=robot", /kind/],
        ["from=2026-02-30", /^from: cannot read/],
        ["to=2026-03-01", /^to needs from$/],
        ["today=true&last=7d", /one of today, last/],
        ["last=7x", /^last: cannot read/],
        ["top=0", /top/],
      ] as const) {
        const bad = await app.inject({ url: `/v1/reports?${q}`, headers: admin });
        expect(bad.statusCode, q).toBe(400);
        expect(bad.json().error.message, q).toMatch(message);
        expect(bad.json().error.message, `${q}: the API names its fields, not CLI flags`).not.toMatch(/--/);
      }
      const badCli = await runCli({ CREDITGATE_DB: t.path }, ["report", "--by", "day,month"]);
      expect(badCli.error?.message).toMatch(/at most one of day, week, month/);
      const badTo = await runCli({ CREDITGATE_DB: t.path }, ["report", "--to", "2026-03-01"]);
      expect(badTo.error?.message).toBe("--to needs --from");
      const badBy = await runCli({ CREDITGATE_DB: t.path }, ["report", "--by", "week,color"]);
      expect(badBy.error?.message).toMatch(/--by: unknown "color"/);
      expect((await app.inject({ url: "/v1/reports" })).statusCode).toBe(401);
    });

    test("budgets: set with the CLI, read and changed over the API, same numbers both ways", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [pushEvent({ idempotencyKey: "a" })] }, // $3 at NOW - 1 min
      });
      const env = { CREDITGATE_DB: t.path };
      const set = await runCli(env, [
        "budgets",
        "set",
        "agent",
        "bot-a",
        "--daily",
        "6",
        "--monthly",
        "100.5",
      ]);
      expect(set.error).toBeNull();
      expect(set.out).toMatch(/agent:bot-a\s+day\s+soft\s+6\s+0\s+0\.00\s/); // the CLI runs on the real clock
      const cli = JSON.parse((await runCli(env, ["--json", "budgets", "get"])).out);
      // The API's clock is NOW (2026-03-10); the CLI's is the real one: compare the stored parts.
      const api = await app.inject({ url: "/v1/budgets", headers: admin });
      expect(api.statusCode).toBe(200);
      const stored = (b: { name: string; period: string; limitUsd: string; mode: string }) => [
        b.name,
        b.period,
        b.limitUsd,
        b.mode,
      ];
      expect(api.json().budgets.map(stored)).toEqual(cli.budgets.map(stored));
      expect(api.json().budgets[0]).toMatchObject({
        spentUsd: "3",
        usedPct: 50,
        windowKey: "day:2026-03-10",
      });
      expect(cli.budgets.map(stored)).toEqual([
        ["agent:bot-a", "day", "6", "soft"],
        ["agent:bot-a", "month", "100.5", "soft"],
      ]);

      const put = await app.inject({
        method: "PUT",
        url: "/v1/budgets",
        headers: admin,
        payload: { scope: "all", period: "day", limitUsd: "2", thresholdsPct: [90] },
      });
      expect(put.statusCode).toBe(200);
      expect(put.json().budgets.find((b: { name: string }) => b.name === "all")).toMatchObject({
        limitMicroUsd: 2_000_000,
        thresholdsPct: [90],
      });
      for (const payload of [
        { scope: "all", period: "day", limitUsd: "2", mode: "stern" },
        { scope: "all", period: "day", limitUsd: "abc" },
        { scope: "agent", period: "day", limitUsd: "2" },
        { scope: "all", period: "week", limitUsd: "2" },
      ]) {
        const bad = await app.inject({ method: "PUT", url: "/v1/budgets", headers: admin, payload });
        expect(bad.statusCode, JSON.stringify(payload)).toBe(400);
      }
      const del = await app.inject({
        method: "DELETE",
        url: "/v1/budgets?scope=agent&subject=bot-a&period=month",
        headers: admin,
      });
      expect(
        del.json().budgets.map((b: { name: string; period: string }) => `${b.name}/${b.period}`),
      ).toEqual(["agent:bot-a/day", "all/day"]);

      const twoModes = await runCli(env, [
        "budgets",
        "set",
        "all",
        "--daily",
        "1",
        "--hard",
        "--mode",
        "soft",
      ]);
      expect(twoModes.error?.message).toMatch(/give one mode/);
      const half = await runCli(env, [
        "budgets",
        "set",
        "provider",
        "mock",
        "--daily",
        "1",
        "--monthly",
        "x",
      ]);
      expect(half.error?.message).toMatch(/"x" is not a USD amount/);
      const clear = await runCli(env, ["budgets", "clear", "provider", "mock"]);
      expect(clear.error?.message).toMatch(/no such budget/); // the bad --monthly left --daily unset too
      expect((await runCli(env, ["budgets", "clear", "all"])).error).toBeNull();
      expect(JSON.parse((await runCli(env, ["--json", "budgets", "get"])).out).budgets).toHaveLength(1);
    });

    test("a provider budget's subject is one provider whatever its case, in the CLI and the API; used % below 1", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [pushEvent({ idempotencyKey: "a" })] }, // $3 on provider `mock` at NOW - 1 min
      });
      const env = { CREDITGATE_DB: t.path };
      // `MOCK` (CLI) and `Mock` (API) are the stored provider `mock`: one budget, replaced, counting its spend.
      expect((await runCli(env, ["budgets", "set", "provider", "MOCK", "--daily", "1"])).error).toBeNull();
      const put = await app.inject({
        method: "PUT",
        url: "/v1/budgets",
        headers: admin,
        payload: { scope: "provider", subject: "Mock", period: "day", limitUsd: "4000" },
      });
      expect(put.statusCode).toBe(200);
      expect(put.json().budgets).toHaveLength(1);
      // $3 of $4000 is 0.075%: two decimals (rounded down), not a 0 next to a spend.
      expect(put.json().budgets[0]).toMatchObject({ name: "provider:mock", spentUsd: "3", usedPct: 0.07 });
      const del = await app.inject({
        method: "DELETE",
        url: "/v1/budgets?scope=provider&subject=MOCK",
        headers: admin,
      });
      expect(del.json().budgets).toEqual([]);
      // Spaces are still refused, with the same message in both.
      const bad = await app.inject({
        method: "PUT",
        url: "/v1/budgets",
        headers: admin,
        payload: { scope: "provider", subject: "mo ck", period: "day", limitUsd: "1" },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.message).toMatch(/scope provider needs its provider/);
      const badCli = await runCli(env, ["budgets", "set", "provider", "mo ck", "--daily", "1"]);
      expect(badCli.error?.message).toMatch(/scope provider needs its provider/);
    });

    test("a hard budget set over the API blocks the agent's users at once (status ?agent=), a raise unblocks", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [pushEvent({ idempotencyKey: "a" })] }, // $3 of bot-a at NOW - 1 min
      });
      const put = (limitUsd: string) =>
        app.inject({
          method: "PUT",
          url: "/v1/budgets",
          headers: admin,
          payload: { scope: "agent", subject: "bot-a", period: "day", limitUsd, mode: "hard" },
        });
      const status = async (agent?: string) =>
        (
          await app.inject({
            url: `/v1/users/telegram%3A42/status${agent ? `?agent=${agent}` : ""}`,
            headers: admin,
          })
        ).json();
      expect((await put("2")).json().budgets[0]).toMatchObject({ mode: "hard", usedPct: 150 });
      expect(await status("bot-a")).toMatchObject({
        allowed: false,
        reason: "operator_budget",
        liftsAt: "2026-03-11T00:00:00.000Z",
      });
      expect((await status("bot-b")).reason).not.toBe("operator_budget");
      expect((await status()).reason).not.toBe("operator_budget");
      await put("5");
      expect((await status("bot-a")).reason).not.toBe("operator_budget");
    });
  });
});
