import { describe, expect, it } from "vitest";
import { providerAmountToMicro } from "../../src/money.js";
import { drift, isProviderSpike, perDay, runway } from "../../src/providers/index.js";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const H = 3_600_000;

describe("runway = balance / burn", () => {
  it.each([
    // balance, burn per day, hours, runs out at (ms after NOW)
    [100_000_000, 10_000_000, 240, 240 * H],
    [10_000_000, 240_000_000, 1, H],
    [1_000_000, 7_000_000, 3.4, Math.floor((1_000_000 * 86_400_000) / 7_000_000)], // 3.428… h floored to 0.1
    [1, 86_400_000, 0, 1], // 1 micro at 1 micro/ms: 1 ms
    [0, 10_000_000, 0, 0], // already out
    [-5_000_000, 10_000_000, 0, 0], // owed money: out now
  ])("balance %i at %i/day → %f h", (balance, burn, hours, inMs) => {
    expect(runway(balance, burn, NOW)).toEqual({ hours, runsOutAtMs: NOW + inMs });
  });

  it.each([
    [null, 10_000_000],
    [100, null],
    [100, 0],
    [100, -3],
  ])("unknown without a balance or a positive burn (%s, %s)", (balance, burn) => {
    expect(runway(balance, burn, NOW)).toEqual({ hours: null, runsOutAtMs: null });
  });

  it("never overstates: the run-out time is floored to the ms", () => {
    const r = runway(1_000_000, 3_000_000, NOW);
    expect(r.runsOutAtMs).toBe(NOW + 28_800_000);
  });
});

describe("burn per day from what was observed", () => {
  it.each([
    [1_000_000, H, 24_000_000],
    [7_000_000, 7 * 24 * H, 1_000_000],
    [5_000_000, 12 * H, 10_000_000],
    [1_000_000, 3 * H, 8_000_000],
  ])("%i over %i ms → %i per day", (spent, observed, want) => {
    expect(perDay(spent, observed)).toBe(want);
  });
  it("too little observed (< 1 h) → unknown", () => {
    expect(perDay(1_000_000, H - 1)).toBeNull();
    expect(perDay(0, 0)).toBeNull();
  });
});

describe("drift: provider-reported vs metered per day", () => {
  it.each([
    // provider, metered, tolerance %, min, diff, pct, exceeds
    [12_000_000, 10_000_000, 10, 1_000_000, 2_000_000, 20, true], // +20 %
    [10_500_000, 10_000_000, 10, 100_000, 500_000, 5, false], // within tolerance
    [11_000_001, 10_000_000, 10, 1_000_000, 1_000_001, 10, true], // just over 10 %
    [11_000_000, 10_000_000, 10, 1_000_000, 1_000_000, 10, false], // exactly 10 %: not beyond
    [1_200_000, 1_000_000, 10, 1_000_000, 200_000, 20, false], // beyond %, under the absolute floor
    [8_000_000, 10_000_000, 10, 1_000_000, -2_000_000, -20, true], // metered more than billed
    [3_000_000, 0, 10, 1_000_000, 3_000_000, null, true], // nothing metered at all
    [0, 0, 10, 1_000_000, 0, null, false],
  ])("%i vs %i", (p, m, tol, min, diff, pct, exceeds) => {
    expect(drift(p, m, tol, min)).toEqual({ diffMicro: diff, pct, exceeds });
  });
});

describe("provider spend spike", () => {
  it.each([
    [4_000_000, 24_000_000, 4, 1_000_000, true], // 4 × the hourly average of 1
    [3_999_999, 24_000_000, 4, 1_000_000, false],
    [900_000, 0, 4, 1_000_000, false], // under the floor
    [1_000_000, 0, 4, 1_000_000, true], // first spend ever, above the floor
  ])("last hour %i, trailing 24 h %i", (h, t, f, min, want) => {
    expect(isProviderSpike(h, t, f, min)).toBe(want);
  });
});

describe("provider amounts → integer micro-units (money.ts rule 5)", () => {
  it.each([
    ["110.00", 0, 110_000_000n],
    ["7.1234565", 0, 7_123_457n], // half-up
    ["7.1234564", 0, 7_123_456n],
    ["-0.1234565", 0, -123_457n], // away from zero
    ["123.45", 2, 1_234_500n], // cents
    ["0.0001", 2, 1n],
    [25.75, 0, 25_750_000n],
    [0.1 + 0.2, 0, 300_000n], // 0.30000000000000004 → 0.3
    [1e-7, 0, 0n],
    [5e-7, 0, 1n],
    [-3.00001, 0, -3_000_010n],
  ] as const)("%s (minor digits %i) → %s", (v, minor, want) => {
    expect(providerAmountToMicro(v, minor)).toBe(want);
  });
  it("refuses non-numbers", () => {
    expect(() => providerAmountToMicro("1e3")).toThrow(RangeError);
    expect(() => providerAmountToMicro(Number.NaN)).toThrow(RangeError);
    expect(() => providerAmountToMicro("12,5")).toThrow(RangeError);
  });
});
