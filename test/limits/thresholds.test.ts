import { describe, expect, it } from "vitest";
import {
  capThresholdsReached,
  followFunding,
  isSpendSpike,
  lowBalanceLevelMicroCredits,
  RECEIPT_MAX_AGE_MS,
} from "../../src/limits/index.js";

const C = 1_000_000;

describe("thresholds: when an alert level is crossed", () => {
  it.each([
    { name: "below every threshold", spent: 49 * 10_000, cap: C, pcts: [50, 80, 100], expected: [] },
    { name: "exactly 50%", spent: C / 2, cap: C, pcts: [50, 80, 100], expected: [50] },
    {
      name: "one debit jumps over 50 and 80",
      spent: 0.85 * C,
      cap: C,
      pcts: [50, 80, 100],
      expected: [50, 80],
    },
    { name: "at the cap: all three", spent: C, cap: C, pcts: [50, 80, 100], expected: [50, 80, 100] },
    { name: "over the cap: all three", spent: 3 * C, cap: C, pcts: [50, 80, 100], expected: [50, 80, 100] },
    {
      name: "one micro-credit short of 80% (exact integers)",
      spent: 799_999,
      cap: C,
      pcts: [80],
      expected: [],
    },
    { name: "a cap of 3 µcredits: 1 µ is 33%, not 50%", spent: 1, cap: 3, pcts: [50], expected: [] },
    { name: "no thresholds configured", spent: C, cap: C, pcts: [], expected: [] },
  ])("cap thresholds: $name", ({ spent, cap, pcts, expected }) => {
    expect(capThresholdsReached({ spentMicroCredits: spent, capMicroCredits: cap }, pcts)).toEqual(expected);
  });

  it.each([
    { name: "the absolute level when the top-up is small", level: C, fund: 2 * C, pct: 20, expected: C },
    { name: "20% of a large top-up", level: C, fund: 50 * C, pct: 20, expected: 10 * C },
    { name: "percentage off (0)", level: C, fund: 50 * C, pct: 0, expected: C },
    { name: "never funded: the absolute level", level: C, fund: 0, pct: 20, expected: C },
    { name: "rounded down to a whole micro-credit", level: 0, fund: 7, pct: 20, expected: 1 },
  ])("low-balance level: $name", ({ level, fund, pct, expected }) => {
    expect(lowBalanceLevelMicroCredits(level, fund, pct)).toBe(expected);
  });

  it.each([
    { name: "5× the average and above the floor", hour: 5 * C, trailing: 24 * C, expected: true },
    { name: "just under 5× the average", hour: 5 * C - 1, trailing: 24 * C, expected: false },
    { name: "no history, above the floor", hour: C, trailing: 0, expected: true },
    { name: "no history, under the floor", hour: C - 1, trailing: 0, expected: false },
    { name: "high but steady spend", hour: 10 * C, trailing: 240 * C, expected: false },
  ])("spend spike (factor 5, floor 1 credit): $name", ({ hour, trailing, expected }) => {
    expect(
      isSpendSpike({
        lastHourMicroCredits: hour,
        trailing24hMicroCredits: trailing,
        factor: 5,
        minMicroCredits: C,
      }),
    ).toBe(expected);
  });

  it("follows the funding episode: a credit other than usage starts one; receipts only if recent", () => {
    const now = Date.UTC(2026, 2, 10, 12);
    const out = followFunding(
      { fundEntryId: 3, fundMicroCredits: 10 * C },
      [
        { id: 5, kind: "topup", amountMicroCredits: 20 * C, createdAtMs: now - RECEIPT_MAX_AGE_MS - 1 },
        { id: 6, kind: "usage", amountMicroCredits: 1, createdAtMs: now },
        { id: 8, kind: "reversal", amountMicroCredits: -5 * C, createdAtMs: now - RECEIPT_MAX_AGE_MS },
        { id: 9, kind: "grant", amountMicroCredits: 2 * C, createdAtMs: now },
      ],
      now,
    );
    expect(out.fundEntryId).toBe(9);
    expect(out.fundMicroCredits).toBe(2 * C);
    expect(out.receipts.map((r) => r.id)).toEqual([6, 8, 9]);
  });

  it("keeps the previous funding episode when nothing new was credited", () => {
    const out = followFunding({ fundEntryId: 3, fundMicroCredits: 10 * C }, [], 0);
    expect(out).toEqual({ fundEntryId: 3, fundMicroCredits: 10 * C, receipts: [] });
  });
});
