/**
 * Case `test/cases/runway-tiny-burn-rounded`: the console overview's runway (how many days a
 * prepaid balance lasts at its burn of the last 7 complete UTC days) was computed from the burn
 * per day rounded to a whole micro-credit. A user charged 3 micro-credits in the week has a burn
 * that rounds to 0, and the runout list said their balance lasts 0 days ("runs out now"); a user
 * charged 10 in the week had a burn of 1 a day and a runway 43 % longer than at their real rate.
 */
import { resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { runwayDays } from "../../src/reports/index.js";
import { admin, NOW, testApp } from "../api/support.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/runway-tiny-burn-rounded");
const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});

describe("case runway-tiny-burn-rounded", () => {
  test("runways come from the exact charge over the week, not a per-day burn rounded to 0 or 1", async ({
    onTestFinished,
  }) => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(2);
    const app = testApp(world.db);
    onTestFinished(() => app.close());
    for (const user of ["telegram:5550301", "telegram:5550302"]) {
      const res = await app.inject({
        method: "POST",
        url: `/v1/users/${user}/grants`,
        headers: admin,
        payload: { credits: "1", reason: "welcome", idempotencyKey: `w-${user}` },
      });
      expect(res.statusCode).toBe(201);
    }
    // NOW is 2026-03-10T12:00Z: the week is 2026-03-03 … 2026-03-09, both calls in it
    expect(NOW).toBe(Date.parse("2026-03-10T12:00:00Z"));
    const ov = (await app.inject({ url: "/v1/overview?from=30d", headers: admin })).json();
    expect(ov.runouts).toEqual([
      // 10 micro-credits in 7 days: 999990 × 7 ÷ 10 (before: burn 1/day, runway 999990)
      {
        accountId: "telegram:5550302",
        balanceMicroCredits: 999_990,
        burnMicroCreditsPerDay: 1,
        runwayDays: 699_993,
      },
      // 3 micro-credits in 7 days: 999997 × 7 ÷ 3 (before: burn 0/day, runway 0)
      {
        accountId: "telegram:5550301",
        balanceMicroCredits: 999_997,
        burnMicroCreditsPerDay: 0,
        runwayDays: 2_333_326.3,
      },
    ]);
    // everyone: 1999987 prepaid, 13 charged in 7 days (before: burn 2/day, runway 999993.5)
    expect(ov.balances).toMatchObject({
      prepaidMicroCredits: 1_999_987,
      burnMicroCreditsPerDay: 2,
      runwayDays: 1_076_916.1,
    });
  });

  test("runwayDays: none without a charge, 0 without a balance, else to 0.1 day half up", () => {
    expect(runwayDays(1_000_000, 0, 7)).toBeNull();
    expect(runwayDays(0, 5, 7)).toBe(0);
    expect(runwayDays(-3, 5, 7)).toBe(0);
    expect(runwayDays(1, 1, 7)).toBe(7);
    expect(runwayDays(1, 140, 7)).toBe(0.1); // 0.05 days, half up
    expect(runwayDays(1, 141, 7)).toBe(0);
  });
});
