/**
 * A provider account whose snapshot currency changes (a CNY-only DeepSeek account gaining a USD
 * balance: its snapshots go from CNY to USD) restarts the spend series: burn, runway and the
 * history's trailing spend count only the snapshots of the current currency, never CNY
 * micro-units as USD ones (found by the #13 console test: $119.90/day from a 10 CNY spend).
 */
import { describe, expect } from "vitest";
import { createProviderRepo } from "../../src/providers/repo.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);
  test("spend before a currency change is not counted in the new currency", ({ db }) => {
    const repo = createProviderRepo(db);
    const snap = (h: number, currency: string, balance: bigint, spend: bigint | null) =>
      repo.record({
        provider: "deepseek",
        takenAtMs: T0 + h * HOUR,
        currency,
        balanceMicro: balance,
        spentTotalMicro: null,
        spendSinceLastMicro: spend,
        detail: {},
        reportedDays: [],
        derivedDay: null,
      });
    snap(0, "CNY", 110_000_000n, null);
    snap(1, "CNY", 100_000_000n, 10_000_000n); // 10 CNY spent
    // The account gains a USD balance: USD snapshots from here on, the series restarts.
    snap(2, "USD", 9_500_000n, null);
    snap(3, "USD", 9_000_000n, 500_000n); // $0.50 spent
    const now = T0 + 3 * HOUR;
    expect(repo.spentSince("deepseek", now - 24 * HOUR, now)).toEqual({
      micro: 500_000,
      observedMs: HOUR, // polling in USD since hour 2
      firstAtMs: T0 + 2 * HOUR,
    });
    // At hour 1 (still CNY) the window sums CNY: the 10 CNY of that run.
    expect(repo.spentSince("deepseek", T0 - HOUR, T0 + HOUR).micro).toBe(10_000_000);
    // The history's windows agree with spentSince at each snapshot.
    const windows = [1, 2, 3].map((h) => ({ sinceMs: T0 - 24 * HOUR, nowMs: T0 + h * HOUR }));
    expect(repo.spentWindows("deepseek", windows)).toEqual(
      windows.map((w) => repo.spentSince("deepseek", w.sinceMs, w.nowMs)),
    );
    expect(repo.spentWindows("deepseek", windows).map((w) => w.micro)).toEqual([10_000_000, 0, 500_000]);
  });
});
