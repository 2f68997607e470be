/**
 * Case `test/cases/budget-threshold-late-call-after-midnight`: the operator's daily budget was
 * reached by a call made at 23:59:40 (local), metered and scanned after midnight. The budget scan
 * (every 60 s) looked only at the window of now, so that day's thresholds were never told,
 * although `report --by day` shows the day over budget.
 */
import { resolve } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { createEnforcer, DEFAULT_SETTINGS } from "../../src/limits/index.js";
import { createBudgetsRepo, runBudgetScan } from "../../src/reports/index.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";
import { test } from "../support/temp-db.js";

const CASE = resolve(import.meta.dirname, "../cases/budget-threshold-late-call-after-midnight");
const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});
const at = (iso: string) => Date.parse(iso);
const budgetAlerts = (db: TempWorld["db"]) =>
  (
    db
      .prepare(
        "SELECT account_id, threshold, window_key FROM alerts WHERE kind = 'operator_budget' ORDER BY id",
      )
      .all() as { account_id: string; threshold: string; window_key: string }[]
  ).map((a) => `${a.account_id} ${a.threshold} ${a.window_key}`);

describe("case budget-threshold-late-call-after-midnight", () => {
  test("the day the call was made is told its budget thresholds; the new day is not blocked", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(1); // $1.20, made 2026-03-10 23:59:40 in Mexico City
    const db = world.db;
    const tz = "America/Mexico_City";
    const enforcer = createEnforcer(db, { ...DEFAULT_SETTINGS, timezone: tz });
    const budgets = createBudgetsRepo(db);
    const set = (scope: "all" | "agent", subject: string, mode: "soft" | "hard") =>
      budgets.set(
        { scope, subject, period: "day", limitMicroUsd: 1_000_000, mode, thresholdsPct: null },
        at("2026-03-01T09:00:00-06:00"),
      );
    set("all", "", "soft");
    set("agent", "support", "hard");
    // the scan after the meter's poll, 00:00:30 on the 11th
    expect(runBudgetScan(db, enforcer, at("2026-03-11T00:00:30-06:00"))).toBe(6); // before: 0
    expect(budgetAlerts(db)).toEqual([
      "budget:agent:support day/50 day:2026-03-10",
      "budget:agent:support day/80 day:2026-03-10",
      "budget:agent:support day/100 day:2026-03-10",
      "budget:all day/50 day:2026-03-10",
      "budget:all day/80 day:2026-03-10",
      "budget:all day/100 day:2026-03-10",
    ]);
    // the hard budget of the 10th does not block the 11th
    expect(enforcer.budgetBlocks("support", at("2026-03-11T00:00:30-06:00"))).toEqual([]);
    // once: later scans raise nothing, and a day after the window ended it is no longer read
    expect(runBudgetScan(db, enforcer, at("2026-03-11T00:01:30-06:00"))).toBe(0);
    expect(runBudgetScan(db, enforcer, at("2026-03-12T00:00:30-06:00"))).toBe(0);
  });

  test("a budget set after the window ended does not judge that window", async () => {
    const { world } = await meterCaseDir(CASE);
    worlds.push(world);
    const db = world.db;
    const enforcer = createEnforcer(db, { ...DEFAULT_SETTINGS, timezone: "America/Mexico_City" });
    createBudgetsRepo(db).set(
      {
        scope: "all",
        subject: "",
        period: "day",
        limitMicroUsd: 1_000_000,
        mode: "soft",
        thresholdsPct: null,
      },
      at("2026-03-11T00:00:10-06:00"),
    );
    expect(runBudgetScan(db, enforcer, at("2026-03-11T00:00:30-06:00"))).toBe(0);
  });
});
