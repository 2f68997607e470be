/**
 * Case `test/cases/report-margin-after-rate-change`: a call billed at 1 credit per USD (0.1131
 * credits for $0.1131, margin 0) showed a charged value of $0.001131 and a margin of −$0.111969
 * once CREDITGATE_CREDITS_PER_USD was raised to 100: reports valued every past charge at today's
 * rate (no rate was stored with a charge). Each charge now keeps its USD value at its own rate
 * (usage_events.charge_pico_usd, summed in usage_daily and usage_archived: migration 42).
 */
import { appendFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect } from "vitest";
import { rangeTotals, runReport } from "../../src/reports/index.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld } from "../support/meter-env.js";
import { test } from "../support/temp-db.js";

const CASE = resolve(import.meta.dirname, "../cases/report-margin-after-rate-change");
const SESSION = "agents/support/sessions/7c41e0b2-5a9d-4f3e-9b16-2d8e4a0c6f51.jsonl";
const worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds.splice(0)) w.cleanup();
});
const rate = (n: bigint, d = 1n) => ({ num: n, den: d });
const at = (iso: string) => Date.parse(iso);
const MARCH = { fromMs: at("2026-03-01T00:00:00Z"), toMs: at("2026-04-01T00:00:00Z") };

/** One more assistant call of the case's session (mock/mock-gpt, $10 per 1M in and out). */
function callLine(iso: string, id: string, input: number, output: number): string {
  const ts = at(iso);
  return `${JSON.stringify({
    type: "message",
    id,
    parentId: "a1",
    timestamp: iso,
    message: {
      role: "assistant",
      content: [{ type: "text", text: "ok" }],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: { input, output, cacheRead: 0, cacheWrite: 0, totalTokens: input + output },
      stopReason: "stop",
      timestamp: ts,
      responseId: `chatcmpl-rate-change-${id}`,
    },
  })}\n`;
}

describe("case report-margin-after-rate-change", () => {
  test("a call billed at 1 credit per USD keeps its charged USD and margin 0 at a rate of 100", async () => {
    const { s, world } = await meterCaseDir(CASE, "calculate", { creditsPerUsd: rate(1n) });
    worlds.push(world);
    expect(s.billed).toBe(1);
    const db = world.db;
    const report = runReport(db, { range: MARCH, timeZone: "UTC", by: [], creditsPerUsd: rate(100n) });
    expect(report.totals.costUsd).toBe("0.1131");
    expect(report.totals.chargedMicroCredits).toBe(113_100);
    expect(report.totals.chargedUsd).toBe("0.1131"); // before: 0.001131
    expect(report.totals.marginUsd).toBe("0"); // before: -0.111969
    // the console's overview: margin in today's credits
    const t = rangeTotals(db, MARCH.fromMs, MARCH.toMs, rate(100n));
    expect(t.marginMicroCredits).toBe(0); // before: 113100 - 11310000 = -11196900
  });

  test("rate changed twice in a month: each day's charge at its own rate, raw edges and whole days alike", async () => {
    const { world } = await meterCaseDir(CASE, "calculate", { creditsPerUsd: rate(1n) });
    worlds.push(world);
    const db = world.db;
    // rate 100 from the 10th: a call of $0.0333 (3,000 in + 330 out) = 3.33 credits
    appendFileSync(join(world.stateDir, SESSION), callLine("2026-03-12T10:00:00.000Z", "a2", 3000, 330));
    let m = meterFor(world, { pricer: casePricer(CASE), creditsPerUsd: rate(100n) });
    expect((await m.runOnce()).billed).toBe(1);
    m.close();
    // rate 2.5 from the 20th, markup 1.2: a call of $0.05 (4,000 in + 1,000 out) = 0.15 credits
    appendFileSync(join(world.stateDir, SESSION), callLine("2026-03-25T18:30:00.000Z", "a3", 4000, 1000));
    m = meterFor(world, {
      pricer: casePricer(CASE),
      creditsPerUsd: rate(5n, 2n),
      markup: rate(6n, 5n),
    });
    expect((await m.runOnce()).billed).toBe(1);
    m.close();
    // reported at yet another rate (1000): whole days from usage_daily ...
    const byDay = runReport(db, { range: MARCH, timeZone: "UTC", by: ["day"], creditsPerUsd: rate(1000n) });
    expect(byDay.rows.map((r) => [r.group.day, r.chargedMicroCredits, r.chargedUsd, r.marginUsd])).toEqual([
      ["2026-03-02", 113_100, "0.1131", "0"],
      ["2026-03-12", 3_330_000, "0.0333", "0"],
      ["2026-03-25", 150_000, "0.06", "0.01"],
    ]);
    expect(byDay.totals.chargedUsd).toBe("0.2064");
    expect(byDay.totals.marginUsd).toBe("0.01");
    // ... and raw rows (a range that starts and ends mid-day, a local zone)
    const raw = runReport(db, {
      range: { fromMs: at("2026-03-02T12:00:00Z"), toMs: at("2026-03-25T20:00:00Z") },
      timeZone: "America/Sao_Paulo",
      by: ["user"],
      creditsPerUsd: rate(1000n),
    });
    expect(raw.rows.map((r) => [r.group.user, r.chargedUsd, r.marginUsd])).toEqual([
      ["telegram:5550811", "0.2064", "0.01"],
    ]);
    // console overview: margin of $0.01 in today's credits (rate 1000: 10 credits)
    expect(rangeTotals(db, MARCH.fromMs, MARCH.toMs, rate(1000n)).marginMicroCredits).toBe(10_000_000);
  });

  test("rows billed before migration 42 (no rate recorded) are still valued at today's rate", async () => {
    const { world } = await meterCaseDir(CASE, "calculate", { creditsPerUsd: rate(1n) });
    worlds.push(world);
    const db = world.db;
    // what a database migrated from before 42 holds: the row unrated, its day's sums at 0 / 0
    db.prepare("UPDATE usage_events SET charge_pico_usd = NULL").run();
    db.prepare("UPDATE usage_daily SET charge_pico_usd = 0, rated_charge_micro_credits = 0").run();
    for (const range of [MARCH, { fromMs: at("2026-03-02T12:00:00Z"), toMs: MARCH.toMs }]) {
      const r = runReport(db, { range, timeZone: "UTC", by: [], creditsPerUsd: rate(2n) });
      expect([r.totals.chargedUsd, r.totals.marginUsd]).toEqual(["0.05655", "-0.05655"]);
    }
  });
});
