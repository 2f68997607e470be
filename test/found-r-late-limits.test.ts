import { readFileSync } from "node:fs";
import { describe, expect } from "vitest";
import { admin, testApp } from "./api/support.js";
import { runCli } from "./support/cli.js";
import { createEngineDb, ENGINES, testOn } from "./support/temp-db.js";

describe.each(ENGINES)(
  "%s: a soft cap is an alert before the hard cap, not instead of it (r-late)",
  (engine) => {
    const test = testOn(engine);

    test("case limits-soft-cap-keeps-hard-cap: a user's own soft daily cap keeps the daily hard cap, own or '*''s", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const env = { CREDITGATE_DB: t.path };
      const state = JSON.parse(
        readFileSync(
          new URL("cases/limits-soft-cap-keeps-hard-cap/state/limits.json", import.meta.url),
          "utf8",
        ),
      ) as {
        steps: { cli: string[] }[];
        user: string;
        expectEffectiveCaps: unknown;
        expectCapsInherited: unknown;
      };
      for (const step of state.steps) expect((await runCli(env, step.cli)).error).toBeNull();
      const got = JSON.parse((await runCli(env, ["--json", "limits", "get", state.user])).out);
      // before: only the soft cap of 4 (the defaults' hard cap of 5 no longer applied: nothing blocked the day)
      expect(got.effective.caps).toEqual(state.expectEffectiveCaps);
      expect(got.effective.capsInherited).toEqual(state.expectCapsInherited);
      const day = got.status.windows.filter((w: { period: string }) => w.period === "day");
      expect(day.map((w: { capMicroCredits: number }) => w.capMicroCredits).sort()).toEqual([
        4_000_000, 5_000_000,
      ]);
      const table = (await runCli(env, ["limits", "get", state.user])).out;
      expect(table).toMatch(/day\s+soft\s+4\.00\s+own/);
      expect(table).toMatch(/day\s+hard\s+5\.00\s+'\*'/);

      // the second instance: the user's OWN hard cap, then a soft one in the same window (monthly)
      expect((await runCli(env, ["limits", "set", "telegram:557", "--monthly", "40"])).error).toBeNull();
      expect(
        (await runCli(env, ["limits", "set", "telegram:557", "--monthly", "30", "--soft"])).error,
      ).toBeNull();
      const own = JSON.parse((await runCli(env, ["--json", "limits", "get", "telegram:557"])).out);
      // before: [month soft 30] only (the user's own hard cap of 40 was dropped)
      expect(own.effective.caps).toEqual([
        { period: "month", capMicroCredits: 40_000_000, kind: "hard" },
        { period: "month", capMicroCredits: 30_000_000, kind: "soft" },
        { period: "day", capMicroCredits: 5_000_000, kind: "hard" },
      ]);
      // a hard cap replaces only the hard one
      expect((await runCli(env, ["limits", "set", "telegram:557", "--monthly", "50"])).error).toBeNull();
      const raised = JSON.parse((await runCli(env, ["--json", "limits", "get", "telegram:557"])).out);
      expect(raised.user.caps).toEqual([
        { period: "month", capMicroCredits: 30_000_000, kind: "soft" },
        { period: "month", capMicroCredits: 50_000_000, kind: "hard" },
      ]);
      // a window turned off stays off for the defaults' hard cap when a soft one is added in it
      expect((await runCli(env, ["limits", "set", "telegram:558", "--daily", "off"])).error).toBeNull();
      expect(
        (await runCli(env, ["limits", "set", "telegram:558", "--daily", "3", "--soft"])).error,
      ).toBeNull();
      const off = JSON.parse((await runCli(env, ["--json", "limits", "get", "telegram:558"])).out);
      expect(off.effective.caps).toEqual([{ period: "day", capMicroCredits: 3_000_000, kind: "soft" }]);
      // `off` still takes the whole window away
      expect((await runCli(env, ["limits", "set", "telegram:557", "--monthly", "off"])).error).toBeNull();
      const none = JSON.parse((await runCli(env, ["--json", "limits", "get", "telegram:557"])).out);
      expect(none.effective.caps).toEqual([{ period: "day", capMicroCredits: 5_000_000, kind: "hard" }]);

      // the API: an own soft weekly cap (capsOff given) under the defaults' hard weekly cap
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      const put = (url: string, payload: unknown) =>
        app.inject({ method: "PUT", url, headers: admin, payload: payload as object });
      expect(
        (await put("/v1/limits/defaults", { caps: [{ period: "week", capMicroCredits: 20_000_000 }] }))
          .statusCode,
      ).toBe(200);
      const mine = await put("/v1/users/discord:77/limits", {
        caps: [{ period: "week", capMicroCredits: 15_000_000, kind: "soft" }],
        capsOff: [],
      });
      expect(mine.statusCode).toBe(200);
      expect(mine.json().effective.caps).toEqual([
        { period: "week", capMicroCredits: 15_000_000, kind: "soft" },
        { period: "week", capMicroCredits: 20_000_000, kind: "hard" },
      ]);
      // a stored rule without capsOff keeps its meaning: its caps replace all of the defaults'
      const legacy = await put("/v1/users/discord:78/limits", {
        caps: [{ period: "week", capMicroCredits: 15_000_000, kind: "soft" }],
      });
      expect(legacy.json().effective.caps).toEqual([
        { period: "week", capMicroCredits: 15_000_000, kind: "soft" },
      ]);
      // ... also after the CLI sets another window of it: its soft-only week still has no hard cap
      expect((await runCli(env, ["limits", "set", "discord:78", "--monthly", "90"])).error).toBeNull();
      const later = JSON.parse((await runCli(env, ["--json", "limits", "get", "discord:78"])).out);
      expect(later.effective.caps).toEqual([
        { period: "week", capMicroCredits: 15_000_000, kind: "soft" },
        { period: "month", capMicroCredits: 90_000_000, kind: "hard" },
      ]);
    });
  },
);
