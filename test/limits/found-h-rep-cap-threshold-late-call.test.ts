/**
 * Case `test/cases/cap-threshold-late-call-after-midnight`: a call made at 23:59:30 (local) is
 * billed by the meter's next poll, after midnight. The check that follows evaluated only the
 * windows of "now" (the new day), so the call that took the user over their daily cap was
 * counted in the day it was made (reports, /consumo) but no threshold of that day was ever told.
 */
import { resolve } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { createEnforcer } from "../../src/limits/index.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";
import { ENGINES, test, testOn } from "../support/temp-db.js";
import { alertKeys, CREDIT, debit, settings, topUp } from "../worker/support.js";

const CASE = resolve(import.meta.dirname, "../cases/cap-threshold-late-call-after-midnight");
const U = "telegram:5550947";
const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});
const at = (iso: string) => Date.parse(iso);
const capAlerts = (db: TempWorld["db"], u: string) =>
  alertKeys(db, u).filter((k) => k.startsWith("cap_threshold|"));
const notices = (db: TempWorld["db"], u: string) =>
  db
    .prepare<[string], { kind: string }>("SELECT kind FROM notices WHERE account_id = ? ORDER BY id")
    .all(u)
    .map((r) => r.kind);

describe("case cap-threshold-late-call-after-midnight", () => {
  test("the day a late-billed call was made is told its thresholds; today is not blocked by it", async () => {
    const { s, world } = await meterCaseDir(CASE);
    worlds.push(world);
    expect(s.billed).toBe(1); // 120k tokens at $10/M: 1.2 credits, made 2026-03-10 23:59:30 in Bogotá
    const db = world.db;
    const e = createEnforcer(db, settings({ timezone: "America/Bogota", headroom: { mode: "off" } }));
    // everyone's default: a hard daily cap of 1 credit (queued re-checks, no check of U yet)
    e.setLimits(
      "*",
      { caps: [{ period: "day", capMicroCredits: CREDIT, kind: "hard" }] },
      at("2026-03-10T09:00:00-05:00"),
    );
    topUp(db, U, 10 * CREDIT, at("2026-03-10T20:00:00-05:00"));
    // the worker's check after the meter's poll at 00:00:20
    const r = e.check(U, at("2026-03-11T00:00:20-05:00"));
    expect(r.alerts.map((a) => `${a.kind} ${a.threshold}`)).toEqual([
      "topup_received ",
      "cap_threshold day/hard/50",
      "cap_threshold day/hard/80",
      "cap_threshold day/hard/100",
    ]); // before: topup_received alone
    expect(capAlerts(db, U)).toEqual([
      "cap_threshold|day/hard/50|day:2026-03-10",
      "cap_threshold|day/hard/80|day:2026-03-10",
      "cap_threshold|day/hard/100|day:2026-03-10",
    ]);
    // told to the operator; the user's chat is not told "100 % of your daily limit" for a day
    // that is over (today's limit is untouched)
    expect(notices(db, U)).toEqual(["topup_received"]);
    // today is a new window: nothing spent, not blocked
    expect(r.status).toMatchObject({ allowed: true, reason: null });
    expect(r.status.windows[0]).toMatchObject({ spentMicroCredits: 0 });
    // idempotent
    expect(e.check(U, at("2026-03-11T00:01:00-05:00")).alerts).toEqual([]);
  });

  test("a month's cap is told for a call of its last day billed after it ended; older windows are not", async () => {
    const { world } = await meterCaseDir(CASE);
    worlds.push(world);
    const db = world.db;
    const V = "telegram:5550948";
    const e = createEnforcer(db, settings({ timezone: "America/Bogota", headroom: { mode: "off" } }));
    topUp(db, V, 50 * CREDIT, at("2026-03-01T09:00:00-05:00"));
    e.setLimits(
      V,
      { caps: [{ period: "month", capMicroCredits: 10 * CREDIT, kind: "soft" }] },
      at("2026-03-01T09:00:00-05:00"),
    );
    debit(db, V, 6 * CREDIT, at("2026-03-20T10:00:00-05:00"));
    expect(e.check(V, at("2026-03-20T10:00:05-05:00")).alerts.map((a) => a.threshold)).toEqual([
      "month/soft/50",
    ]);
    debit(db, V, 3 * CREDIT, at("2026-03-31T23:59:50-05:00")); // 9 of 10: 80 %, billed on April 1st
    expect(e.check(V, at("2026-04-01T00:00:30-05:00")).alerts.map((a) => `${a.threshold} ${a.kind}`)).toEqual(
      ["month/soft/80 cap_threshold"],
    );
    expect(capAlerts(db, V)).toContain("cap_threshold|month/soft/80|month:2026-03");
    // a call of February (two windows back) billed now: not told (that window is long over)
    debit(db, V, 12 * CREDIT, at("2026-02-27T12:00:00-05:00"));
    expect(e.check(V, at("2026-04-01T00:05:00-05:00")).alerts).toEqual([]);
  });
});

for (const engine of ENGINES) {
  const t = testOn(engine);
  t(`a late call's window is told on ${engine}; an earlier billed call does not re-open it`, ({ db }) => {
    const V = "telegram:5550949";
    const e = createEnforcer(db, settings({ timezone: "Europe/Madrid", headroom: { mode: "off" } }));
    topUp(db, V, 50 * CREDIT, at("2026-10-24T09:00:00+02:00"));
    e.setLimits(
      V,
      { caps: [{ period: "day", capMicroCredits: CREDIT, kind: "soft" }] },
      at("2026-10-24T09:00:00+02:00"),
    );
    debit(db, V, 400_000, at("2026-10-24T18:00:00+02:00"));
    expect(e.check(V, at("2026-10-24T18:00:05+02:00")).alerts).toEqual([]);
    // made 23:59:59 (+02), billed 00:00:40: 0.9 of 1 credit on the 24th
    debit(db, V, 500_000, at("2026-10-24T23:59:59+02:00"));
    const r = e.check(V, at("2026-10-25T00:00:40+02:00"));
    expect(r.alerts.map((a) => a.threshold)).toEqual(["day/soft/50", "day/soft/80"]);
    expect(capAlerts(db, V)).toEqual([
      "cap_threshold|day/soft/50|day:2026-10-24",
      "cap_threshold|day/soft/80|day:2026-10-24",
    ]);
    // a call of today (the 25th, a 25-hour day in Madrid): today's window, nothing of the 24th again
    debit(db, V, 600_000, at("2026-10-25T02:30:00+01:00"));
    expect(e.check(V, at("2026-10-25T02:30:05+01:00")).alerts.map((a) => `${a.threshold} ${a.kind}`)).toEqual(
      ["day/soft/50 cap_threshold"],
    );
    expect(capAlerts(db, V).filter((k) => k.endsWith("day:2026-10-24"))).toHaveLength(2);
  });
}
