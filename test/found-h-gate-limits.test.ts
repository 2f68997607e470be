import { readFileSync } from "node:fs";
import { describe, expect } from "vitest";
import { admin, testApp } from "./api/support.js";
import { runCli } from "./support/cli.js";
import { createEngineDb, ENGINES, testOn } from "./support/temp-db.js";

const MONTH_UNDER_DAY =
  "caps: the monthly cap (1.00 credits) is below the daily cap (2.00 credits) of the same kind (hard): the daily cap could never be reached; raise the monthly cap or lower the daily one";

describe.each(ENGINES)(
  "%s: limits an operator writes (found by t-user / t-user2, fixed by h-gate)",
  (engine) => {
    const test = testOn(engine);

    test("case limits-month-cap-under-day-cap: a monthly cap under the daily cap is refused, CLI and API", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const env = { CREDITGATE_DB: t.path };
      const r = await runCli(env, ["limits", "set", "telegram:1", "--daily", "2", "--monthly", "1"]);
      expect(r.error?.message).toBe(MONTH_UNDER_DAY);
      expect(r.err, "refused before the account note").not.toContain("no account");
      // with a daily cap already there (the defaults' is copied in): checked when written
      expect((await runCli(env, ["limits", "set", "*", "--daily", "2"])).error).toBeNull();
      const later = await runCli(env, ["limits", "set", "telegram:1", "--monthly", "1"]);
      // the daily cap is the defaults': named as such since case limits-conflict-with-defaults-cap
      expect(later.error?.message.startsWith(MONTH_UNDER_DAY)).toBe(true);
      // consistent or of another kind: accepted
      expect(
        (await runCli(env, ["limits", "set", "telegram:1", "--monthly", "30", "--weekly", "10"])).error,
      ).toBeNull();
      expect(
        (await runCli(env, ["limits", "set", "telegram:3", "--monthly", "1", "--soft"])).error,
      ).toBeNull();

      const app = testApp(t.db);
      onTestFinished(() => app.close());
      const put = await app.inject({
        method: "PUT",
        url: "/v1/users/telegram:2/limits",
        headers: admin,
        payload: {
          caps: [
            { period: "day", capMicroCredits: 2_000_000 },
            { period: "month", capMicroCredits: 1_000_000 },
          ],
        },
      });
      expect(put.statusCode).toBe(400);
      expect(put.json().error).toMatchObject({ code: "invalid_request", message: MONTH_UNDER_DAY });
      const defaults = await app.inject({
        method: "PUT",
        url: "/v1/limits/defaults",
        headers: admin,
        payload: {
          caps: [
            { period: "week", capMicroCredits: 5_000_000 },
            { period: "month", capMicroCredits: 4_000_000 },
          ],
        },
      });
      expect(defaults.statusCode).toBe(400);
      expect(defaults.json().error.message).toMatch(
        /the monthly cap \(4\.00 credits\) is below the weekly cap \(5\.00 credits\)/,
      );
      const ok = await app.inject({
        method: "PUT",
        url: "/v1/users/telegram:2/limits",
        headers: admin,
        payload: {
          caps: [
            { period: "day", capMicroCredits: 2_000_000 },
            { period: "month", capMicroCredits: 2_000_000 },
            { period: "month", capMicroCredits: 1_000_000, kind: "soft" },
          ],
        },
      });
      expect(ok.statusCode).toBe(200);
    });

    test("case limits-reset-one-setting: --language off (or default) takes the user's own language away alone", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const env = { CREDITGATE_DB: t.path };
      const set = await runCli(env, [
        "limits",
        "set",
        "telegram:2",
        "--daily",
        "2",
        "--language",
        "es",
        "--low",
        "3",
      ]);
      expect(set.error).toBeNull();
      const off = await runCli(env, ["limits", "set", "telegram:2", "--language", "off"]);
      expect(off.error).toBeNull();
      const get = async () => JSON.parse((await runCli(env, ["--json", "limits", "get", "telegram:2"])).out);
      let v = await get();
      expect(v.user).toEqual({
        caps: [{ period: "day", capMicroCredits: 2_000_000, kind: "hard" }],
        capsOff: [],
        lowBalanceMicroCredits: 3_000_000,
      });
      expect(v.effective.language).toBe("en");
      // the same for the other settings with `default`
      expect(
        (await runCli(env, ["limits", "set", "telegram:2", "--floor", "-1", "--headroom", "0.5"])).error,
      ).toBeNull();
      expect(
        (
          await runCli(env, [
            "limits",
            "set",
            "telegram:2",
            "--low",
            "default",
            "--floor",
            "DEFAULT",
            "--headroom",
            "default",
            "--language",
            "default",
          ])
        ).error,
      ).toBeNull();
      v = await get();
      expect(v.user).toEqual({
        caps: [{ period: "day", capMicroCredits: 2_000_000, kind: "hard" }],
        capsOff: [],
      });
      const bad = await runCli(env, ["limits", "set", "telegram:2", "--language", "fr"]);
      expect(bad.error?.message).toBe(
        '--language: "fr" is not en or es (or off / default: the default language again)',
      );
    });

    test("case limits-user-caps-follow-defaults: a window a user sets no cap in follows '*' live", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const env = { CREDITGATE_DB: t.path };
      const state = JSON.parse(
        readFileSync(
          new URL("cases/limits-user-caps-follow-defaults/state/limits.json", import.meta.url),
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
      // before: the monthly cap stayed the copy of 10 taken at the user's first `limits set`
      expect(got.effective.caps).toEqual(state.expectEffectiveCaps);
      expect(got.effective.capsInherited).toEqual(state.expectCapsInherited);
      expect(got.status.windows.find((w: { period: string }) => w.period === "month").capMicroCredits).toBe(
        20_000_000,
      );
      expect((await runCli(env, ["limits", "get", state.user])).out).toMatch(/month\s+hard\s+20\.00\s+'\*'/);
      // `off` for the user alone: the defaults' monthly cap no longer applies to it
      expect((await runCli(env, ["limits", "set", state.user, "--monthly", "off"])).error).toBeNull();
      const off = JSON.parse((await runCli(env, ["--json", "limits", "get", state.user])).out);
      expect(off.effective.caps).toEqual([{ period: "day", capMicroCredits: 3_000_000, kind: "hard" }]);
      // `default`: the window follows '*' again
      expect((await runCli(env, ["limits", "set", state.user, "--monthly", "default"])).error).toBeNull();
      const back = JSON.parse((await runCli(env, ["--json", "limits", "get", state.user])).out);
      expect(back.effective.caps).toEqual(state.expectEffectiveCaps);
      expect(back.user.capsOff).toEqual([]);

      // the API: another user, other windows, a soft default cap
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      const put = (url: string, payload: unknown) =>
        app.inject({ method: "PUT", url, headers: admin, payload: payload as object });
      expect(
        (
          await put("/v1/limits/defaults", {
            caps: [
              { period: "day", capMicroCredits: 2_000_000 },
              { period: "week", capMicroCredits: 5_000_000, kind: "soft" },
            ],
          })
        ).statusCode,
      ).toBe(200);
      const mine = await put("/v1/users/discord:42/limits", {
        caps: [{ period: "month", capMicroCredits: 30_000_000 }],
        capsOff: ["day"],
      });
      expect(mine.statusCode).toBe(200);
      expect(
        (
          await put("/v1/limits/defaults", {
            caps: [
              { period: "day", capMicroCredits: 2_000_000 },
              { period: "week", capMicroCredits: 8_000_000, kind: "soft" },
            ],
          })
        ).statusCode,
      ).toBe(200);
      const view = (
        await app.inject({ method: "GET", url: "/v1/users/discord:42/limits", headers: admin })
      ).json();
      expect(view.effective.caps).toEqual([
        { period: "month", capMicroCredits: 30_000_000, kind: "hard" },
        { period: "week", capMicroCredits: 8_000_000, kind: "soft" },
      ]);
      expect(view.effective.capsInherited).toEqual(["week"]);
      // a body without capsOff keeps the meaning every stored rule has: its caps replace the defaults'
      const legacy = await put("/v1/users/discord:43/limits", {
        caps: [{ period: "month", capMicroCredits: 30_000_000 }],
      });
      expect(legacy.json().effective.caps).toEqual([
        { period: "month", capMicroCredits: 30_000_000, kind: "hard" },
      ]);
      expect(legacy.json().effective.capsInherited).toEqual([]);
      // an own cap that an inherited one makes unreachable is refused, naming the defaults'
      const clash = await put("/v1/users/discord:44/limits", {
        caps: [{ period: "week", capMicroCredits: 1_000_000 }],
        capsOff: [],
      });
      expect(clash.statusCode).toBe(400);
      // (the defaults' soft weekly cap is followed too: the user's own weekly cap is hard, and a
      // cap replaces only the defaults' of its kind since case limits-soft-cap-keeps-hard-cap)
      expect(clash.json().error.message).toContain(
        "has no daily and soft weekly cap of its own: those windows follow the defaults'",
      );
    });

    test("case limits-api-error-messages: one message per field, saying the unit", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      const put = async (payload: Record<string, unknown>) => {
        const r = await app.inject({
          method: "PUT",
          url: "/v1/users/telegram:1/limits",
          headers: admin,
          payload,
        });
        expect(r.statusCode).toBe(400);
        return r.json().error.message as string;
      };
      const floor =
        "floorMicroCredits: must be a whole number of micro-credits (1 credit = 1000000), e.g. 0, or -500000 for an overdraft of 0.5 credits";
      expect(await put({ floorMicroCredits: -1e20 })).toBe(floor);
      expect(await put({ floorMicroCredits: -1.5 })).toBe(floor);
      expect(await put({ floorMicroCredits: "x" })).toBe(floor);
      expect(await put({ caps: [{ period: "day", capMicroCredits: 0 }] })).toBe(
        "caps[0].capMicroCredits: must be a whole number of micro-credits (1 credit = 1000000) above 0, e.g. 2000000 for 2 credits",
      );
      expect(await put({ language: "fr" })).toBe(
        'language: must be "en" or "es" (leave it out for the default, CREDITGATE_LANGUAGE)',
      );
      expect(
        await put({
          caps: [
            { period: "day", capMicroCredits: 1 },
            { period: "day", capMicroCredits: 2 },
          ],
        }),
      ).toBe("caps: at most one cap per period and kind");
      expect(await put({ lowBalanceMicroCredits: -1, floorMicroCredits: 0.5 })).toBe(
        `${floor}; lowBalanceMicroCredits: must be a whole number of micro-credits (1 credit = 1000000), 0 or more, e.g. 1000000 for 1 credit`,
      );
    });
  },
);
