/**
 * Case `test/cases/cap-raised-blocked-again`: a user blocked by a daily cap, unblocked the same
 * day when the operator raised the cap ("you can write again"), and blocked again that day by
 * the new cap, was never told the second time: the `blocked` alert was raised once per block
 * key (`day:2026-03-10`), so the second block of the same window was taken for the first.
 */
import { appendFileSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createEnforcer } from "../../src/limits/index.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld } from "../support/meter-env.js";
import { ENGINES, test as sqliteTest, testOn } from "../support/temp-db.js";
import { alertKeys, CREDIT, debit, settings, topUp } from "../worker/support.js";

const CASE = resolve(import.meta.dirname, "../cases/cap-raised-blocked-again");
const U = "telegram:5550401";
const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});
const blockAlerts = (keys: string[]) => keys.filter((k) => /^(blocked|unblocked)\|/.test(k));

describe("case cap-raised-blocked-again", () => {
  sqliteTest("a second block in the same window after a raised cap is told, and so is its lift", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(1);
    const db = world.db;
    createLedger(db).post({
      accountId: U,
      kind: "grant",
      amountMicroCredits: BigInt(CREDIT),
      idempotencyKey: "grant:welcome",
      nowMs: Date.parse("2026-03-10T09:00:00Z"),
    });
    const e = createEnforcer(db, settings({ headroom: { mode: "off" } }));
    const cap = (credits: number, at: string) =>
      e.setLimits(
        U,
        { caps: [{ period: "day", capMicroCredits: credits * CREDIT, kind: "hard" }] },
        Date.parse(at),
      );
    // the first call ($0.01) reaches a 0.01 daily cap
    expect(cap(0.01, "2026-03-10T10:05:00Z")?.status).toMatchObject({ allowed: false, reason: "daily_cap" });
    // the operator raises it: unblocked
    expect(cap(0.02, "2026-03-10T10:30:00Z")?.status).toMatchObject({ allowed: true });
    // a second call the same day reaches the new cap
    const file = join(world.stateDir, "agents/main/sessions/4b7c2e91-5d3a-4e6f-8b1c-9a2d7e0f3c55.jsonl");
    appendFileSync(file, readFileSync(join(CASE, "later-turn.jsonl")));
    const meter = meterFor(world, { pricer: casePricer(CASE) });
    expect((await meter.runOnce()).billed).toBe(1);
    meter.close();
    const again = e.check(U, Date.parse("2026-03-10T11:01:00Z"));
    expect(again.status).toMatchObject({ allowed: false, reason: "daily_cap", balanceMicroCredits: 980_000 });
    // before: [] (the block of day:2026-03-10 had been told already)
    expect(again.alerts.map((a) => `${a.kind}|${a.threshold}`)).toContain("blocked|daily_cap");
    expect(cap(0.05, "2026-03-10T11:30:00Z")?.status).toMatchObject({ allowed: true });
    expect(blockAlerts(alertKeys(db, U))).toEqual([
      "blocked|daily_cap|day:2026-03-10",
      "unblocked|daily_cap|day:2026-03-10",
      "blocked|daily_cap|day:2026-03-10#2",
      "unblocked|daily_cap|day:2026-03-10#2",
    ]);
    expect(
      e
        .notices(50)
        .filter((n) => n.kind === "blocked" || n.kind === "unblocked")
        .map((n) => n.kind),
    ).toEqual(["blocked", "unblocked", "blocked", "unblocked"]);
    // the thresholds of the raised cap (0.02) are told too; before, only those of 0.01
    expect(alertKeys(db, U).filter((k) => k.startsWith("cap_threshold|"))).toEqual([
      "cap_threshold|day/hard/50|day:2026-03-10",
      "cap_threshold|day/hard/80|day:2026-03-10",
      "cap_threshold|day/hard/100|day:2026-03-10",
      "cap_threshold|day/hard/50@20000|day:2026-03-10",
      "cap_threshold|day/hard/80@20000|day:2026-03-10",
      "cap_threshold|day/hard/100@20000|day:2026-03-10",
    ]);
  });
});

const T0 = Date.UTC(2026, 2, 10, 12, 0, 0);
const capKeys = (keys: string[]) => keys.filter((k) => k.startsWith("cap_threshold|"));
describe.each(ENGINES)("%s: block episodes", (engine) => {
  const test = testOn(engine);
  test("a cap threshold is told once per cap in a window: again for a changed cap, not for one set back", ({
    db,
  }) => {
    const e = createEnforcer(db, settings({ headroom: { mode: "off" }, capThresholdsPct: [80] }));
    const cap = (micro: number, at: number) =>
      e.setLimits(U, { caps: [{ period: "month", capMicroCredits: micro, kind: "soft" }] }, at);
    topUp(db, U, 100 * CREDIT, T0);
    cap(10 * CREDIT, T0);
    debit(db, U, 8 * CREDIT, T0 + 1);
    e.check(U, T0 + 1);
    cap(20 * CREDIT, T0 + 2); // 8 of 20: below 80 %
    debit(db, U, 8 * CREDIT, T0 + 3);
    e.check(U, T0 + 3); // 16 of 20
    cap(10 * CREDIT, T0 + 4); // set back: 80 % of 10 was told
    e.check(U, T0 + 5);
    expect(capKeys(alertKeys(db, U))).toEqual([
      "cap_threshold|month/soft/80|month:2026-03",
      `cap_threshold|month/soft/80@${20 * CREDIT}|month:2026-03`,
    ]);
  });

  test("a block that goes on is told once, and each new one after a lift once", ({ db }) => {
    const e = createEnforcer(db, settings({ headroom: { mode: "off" } }));
    topUp(db, U, CREDIT, T0);
    // balance episode: blocked at the floor, a lowered floor lifts it, reached again
    debit(db, U, CREDIT, T0 + 1);
    expect(e.check(U, T0 + 1).status.reason).toBe("insufficient_balance");
    debit(db, U, 1000, T0 + 2); // still blocked: nothing new
    expect(e.check(U, T0 + 2).alerts.filter((a) => a.kind === "blocked")).toEqual([]);
    expect(e.setLimits(U, { floorMicroCredits: -CREDIT }, T0 + 3)?.status.allowed).toBe(true);
    debit(db, U, CREDIT, T0 + 4);
    expect(e.check(U, T0 + 4).status.reason).toBe("insufficient_balance");
    expect(e.check(U, T0 + 5).alerts).toEqual([]); // the same second block: once
    expect(e.setLimits(U, { floorMicroCredits: -3 * CREDIT }, T0 + 6)?.status.allowed).toBe(true);
    debit(db, U, 2 * CREDIT, T0 + 7);
    expect(e.check(U, T0 + 7).status.reason).toBe("insufficient_balance");
    // a top-up lifts the third
    topUp(db, U, 5 * CREDIT, T0 + 8);
    expect(e.check(U, T0 + 8).status.allowed).toBe(true);
    const fund = alertKeys(db, U)
      .find((k) => k.startsWith("blocked|"))
      ?.split("|")[2];
    expect(blockAlerts(alertKeys(db, U))).toEqual([
      `blocked|insufficient_balance|${fund}`,
      `unblocked|insufficient_balance|${fund}`,
      `blocked|insufficient_balance|${fund}#2`,
      `unblocked|insufficient_balance|${fund}#2`,
      `blocked|insufficient_balance|${fund}#3`,
      `unblocked|insufficient_balance|${fund}#3`,
    ]);
  });
});
