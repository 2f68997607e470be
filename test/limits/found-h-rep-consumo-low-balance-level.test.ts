/**
 * Case `test/cases/consumo-low-balance-percent-level`: the worker tells a user "your balance is
 * low" at max(`CREDITGATE_LOW_BALANCE`, `CREDITGATE_LOW_BALANCE_PCT` % of their last credit), but
 * `/consumo` (RPC, `GET /v1/users/:id/consumo`, the plugin's `/consumo`) said `lowBalance: false`
 * and gave no top-up hint until the balance fell under the absolute level alone: the user was
 * warned in the chat, then asked and was told nothing was wrong.
 */
import { resolve } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { createEnforcer, createQueries } from "../../src/limits/index.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";
import { test } from "../support/temp-db.js";
import { CREDIT, settings, topUp } from "../worker/support.js";

const CASE = resolve(import.meta.dirname, "../cases/consumo-low-balance-percent-level");
const U = "telegram:5550931";
const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});
const at = (iso: string) => Date.parse(iso);

describe("case consumo-low-balance-percent-level", () => {
  test("/consumo's lowBalance is the level the low_balance alert is raised at", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(1); // 170k tokens at $100/M: 17 credits
    const db = world.db;
    const e = createEnforcer(
      db,
      settings({
        headroom: { mode: "off" },
        lowBalanceMicroCredits: CREDIT,
        lowBalancePct: 20,
        topupUrl: "https://pay.example/t",
      }),
    );
    const q = createQueries(db, e);
    topUp(db, U, 20 * CREDIT, at("2026-03-10T10:05:00Z")); // −17 + 20 = 3 credits ≤ 20 % of 20 = 4
    const consumo = (iso: string) => q.answer("consumo", { userId: U }, at(iso));
    // asked before the worker checked: the same level from the ledger
    const early = consumo("2026-03-10T10:05:00.500Z");
    expect(early.balanceMicroCredits).toBe(3 * CREDIT);
    expect(early.lowBalance).toBe(true); // before: false (3 > 1 credit)
    expect(early.topupHint).toContain("https://pay.example/t");

    const r = e.check(U, at("2026-03-10T10:05:01Z"));
    expect(r.alerts.map((a) => a.kind)).toEqual(["topup_received", "low_balance"]);
    const told = consumo("2026-03-10T10:06:00Z");
    expect(told.lowBalance).toBe(true); // before: false, beside the "low balance" notice
    expect(told.topupHint).toContain("https://pay.example/t");

    // a top-up that lifts it above the level: not low, no alert, no hint
    topUp(db, U, 30 * CREDIT, at("2026-03-10T10:10:00Z")); // 33 > 20 % of 30 = 6
    expect(e.check(U, at("2026-03-10T10:10:01Z")).alerts.map((a) => a.kind)).toEqual(["topup_received"]);
    const after = consumo("2026-03-10T10:11:00Z");
    expect(after.lowBalance).toBe(false);
    expect(after.topupHint).toBeUndefined();
  });

  test("without a percentage level, the absolute level alone (as before)", async () => {
    const { world } = await meterCaseDir(CASE);
    worlds.push(world);
    const db = world.db;
    const e = createEnforcer(
      db,
      settings({ headroom: { mode: "off" }, lowBalanceMicroCredits: CREDIT, lowBalancePct: 0 }),
    );
    const q = createQueries(db, e);
    topUp(db, U, 20 * CREDIT, at("2026-03-10T10:05:00Z"));
    expect(e.check(U, at("2026-03-10T10:05:01Z")).alerts.map((a) => a.kind)).toEqual(["topup_received"]);
    expect(q.answer("consumo", { userId: U }, at("2026-03-10T10:06:00Z")).lowBalance).toBe(false);
  });
});
