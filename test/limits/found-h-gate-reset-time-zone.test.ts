/**
 * Case `test/cases/reset-time-in-operator-zone` (server side): the cap windows are local to
 * `CREDITGATE_TIMEZONE` (a daily cap resets at that zone's midnight), but every time a user was
 * told (a block lifting, credits expiring) was written in UTC: a user in Mexico City blocked by
 * their daily cap read "It resumes at 2026-12-06 06:00 UTC". The notices now write the zone's
 * clock and name it, and the status and /consumo answers say the zone so the plugin can.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createEnforcer, createQueries, renderAlert } from "../../src/limits/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { CREDIT, debit, settings, topUp } from "../worker/support.js";

const CASE = resolve(import.meta.dirname, "../cases/reset-time-in-operator-zone");
const input = JSON.parse(readFileSync(resolve(CASE, "input.json"), "utf8")) as {
  timezone: string;
  user: string;
  capCredits: number;
  topupCredits: number;
  calls: { at: string; credits: number }[];
  checkAt: string;
};
const expected = JSON.parse(readFileSync(resolve(CASE, "expected.json"), "utf8")) as {
  blockedNotice: { en: string; es: string };
  liftsAt: string;
  timeZone: string;
  expiringNotice: { timezone: string; en: string; es: string };
};
const at = (iso: string) => Date.parse(iso);

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  test("a daily cap's block is told on the operator zone's clock; status and /consumo name the zone", ({
    db,
  }) => {
    const e = createEnforcer(db, settings({ timezone: input.timezone, headroom: { mode: "off" } }));
    const q = createQueries(db, e);
    const U = input.user;
    topUp(db, U, input.topupCredits * CREDIT, at(input.calls[0]?.at ?? input.checkAt) - 3_600_000);
    e.setLimits(
      U,
      { caps: [{ period: "day", capMicroCredits: input.capCredits * CREDIT, kind: "hard" }], capsOff: [] },
      at(input.calls[0]?.at ?? input.checkAt) - 3_600_000,
    );
    for (const c of input.calls) debit(db, U, Math.round(c.credits * CREDIT), at(c.at));
    const r = e.check(U, at(input.checkAt));
    expect(r.status).toMatchObject({ allowed: false, reason: "daily_cap" });
    expect(new Date(r.status.liftsAtMs ?? 0).toISOString()).toBe(expected.liftsAt);
    const text = db
      .prepare<[string], { text: string }>(
        "SELECT text FROM notices WHERE account_id = ? AND kind = 'blocked'",
      )
      .get(U)?.text;
    // before: "… It resumes at 2026-12-06 06:00 UTC." (the user's day ends at 00:00 there)
    expect(text).toBe(expected.blockedNotice.en);
    const facts = { reason: "daily_cap", liftsAtMs: r.status.liftsAtMs };
    expect(renderAlert("blocked", facts, "es", input.timezone)).toBe(expected.blockedNotice.es);
    // the answers the plugin writes its times from say the zone
    expect(q.answer("status", { userId: U }, at(input.checkAt))).toMatchObject({
      liftsAt: expected.liftsAt,
      timeZone: expected.timeZone,
    });
    expect(q.answer("consumo", { userId: U }, at(input.checkAt))).toMatchObject({
      limits: [{ period: "day", resetsAt: expected.liftsAt }],
      timeZone: expected.timeZone,
    });
  });

  test("credits expiring are told on the zone's clock (a second zone, east of UTC)", ({ db }) => {
    const x = expected.expiringNotice;
    const e = createEnforcer(db, settings({ timezone: x.timezone }));
    const V = "telegram:5550962";
    const now = at("2026-12-05T03:00:00Z");
    createLedger(db).post({
      accountId: V,
      kind: "grant",
      amountMicroCredits: 2_000_000n,
      idempotencyKey: "promo-5550962",
      nowMs: now,
    });
    // a bonus that expires at the end of 2026-12-07 in Tokyo: 2026-12-07T15:00Z
    const facts = {
      amountMicroCredits: 2_000_000,
      grantKind: "promotional",
      daysLeft: 3,
      expiresAtMs: at("2026-12-07T15:00:00Z"),
    };
    expect(e.notify(V, "credits_expiring", "", "grant:1", facts, now)).toBe(true);
    const text = db
      .prepare<[string], { text: string }>("SELECT text FROM notices WHERE account_id = ?")
      .get(V)?.text;
    // before: "… (2026-12-07 15:00 UTC) …"
    expect(text).toBe(x.en);
    expect(renderAlert("credits_expiring", facts, "es", x.timezone)).toBe(x.es);
    // UTC (the default zone) reads as before
    expect(renderAlert("credits_expiring", facts, "en", "UTC")).toContain("(2026-12-07 15:00 UTC)");
  });
});
