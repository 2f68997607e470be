import { describe, expect, it } from "vitest";
import {
  chargeMicroCredits,
  decimalToScaled,
  formatMicroCredits,
  formatPicoUsd,
  formatPicoUsdSum,
  MAX_MICRO_CREDITS,
  parseCreditsToMicro,
  parseDecimal,
  picoNumberToMicroUsd,
  picoToMicroUsd,
  toMicroCredits,
  usdFloatToPico,
  usdPerMTokToMicro,
} from "../src/money.js";
import { rng } from "./support/rng.js";

describe("money rules", () => {
  it("prices tokens exactly in pico-USD: tokens × micro-USD per MTok", () => {
    // 9536 cache-read tokens at $0.3/MTok = $0.0028608 (a float says 0.0028607999999999997)
    expect(9536n * usdPerMTokToMicro("0.3")).toBe(2_860_800_000n);
    expect(formatPicoUsd(9536n * usdPerMTokToMicro("0.3"))).toBe("0.0028608");
    expect(usdPerMTokToMicro(0.075)).toBe(75_000n);
    expect(usdPerMTokToMicro("3.75")).toBe(3_750_000n);
  });

  it("rounds a charge up once per event to a whole micro-credit", () => {
    const one = { num: 1n, den: 1n };
    expect(chargeMicroCredits(2_860_800_000n, one, one)).toBe(2861n); // 2860.8 µ → 2861
    expect(chargeMicroCredits(3_000_000_000n, one, one)).toBe(3000n); // exact stays exact
    expect(chargeMicroCredits(1n, one, one)).toBe(1n); // any non-zero cost charges ≥ 1 µcredit
    expect(chargeMicroCredits(0n, one, one)).toBe(0n);
  });

  it("applies markup and credits-per-USD as exact rationals before the one rounding", () => {
    // $0.0028608 × 1.5 markup × 100 credits/USD = 0.42912 credits
    expect(chargeMicroCredits(2_860_800_000n, parseDecimal("1.5"), parseDecimal("100"))).toBe(429_120n);
    // $0.000001 × 1.1 × 3 = 3.3 µcredits → 4
    expect(chargeMicroCredits(1_000_000n, parseDecimal("1.1"), parseDecimal("3"))).toBe(4n);
  });

  it("converts recorded float costs half-up to the nearest pico-USD", () => {
    expect(usdFloatToPico(0.0028607999999999997)).toBe(2_860_800_000n);
    expect(usdFloatToPico(0.0069018)).toBe(6_901_800_000n);
    expect(usdFloatToPico(1e-13)).toBe(0n);
    expect(usdFloatToPico(5e-13)).toBe(1n);
    expect(() => usdFloatToPico(-1)).toThrow();
    expect(() => usdFloatToPico(Number.NaN)).toThrow();
  });

  it("converts recorded costs on the digits exactly as the general decimal rounding does", () => {
    // The meter's fast path must equal decimalToScaled(v, 12) (rule 4) for every float: edges
    // of the 13th digit, exponent forms, whole numbers, and random magnitudes.
    const edge = [0, 1, 12, 0.5e-12, 4.9e-13, 5e-13, 1.5e-12, 0.1 + 0.2, 1e21, 123456.000001, 2 ** 53];
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const random = Array.from({ length: 20_000 }, () => rand() * 10 ** Math.floor(rand() * 24 - 16));
    for (const v of [...edge, ...random]) expect(usdFloatToPico(v), String(v)).toBe(decimalToScaled(v, 12));
  });

  it("converts short recorded costs (the meter's no-string fast path) exactly as the decimal rounding does", () => {
    // Decimals of 1-17 significant digits with 0-16 fraction digits (most recorded costs have
    // at most 12 and take the fast path), the last digit a 5 (halves at the 13th digit), their
    // neighbouring doubles, and amounts around the fast path's 1000 USD bound.
    const r = rng(10);
    const values: number[] = [
      999.999999999999, 1000, 1000.000000000001, 999.9999999999995, 1023.999999999999,
    ];
    for (let i = 0; i < 30_000; i++) {
      const fracDigits = r.int(17);
      const intPart = r.pick([0, 0, 0, 1, 7, 42, 999, 1000, 5000]);
      let frac = "";
      for (let d = 0; d < fracDigits; d++) frac += String(r.int(10));
      if (fracDigits > 0 && r.int(3) === 0) frac = `${frac.slice(0, -1)}5`;
      const v = Number(`${intPart}.${frac || "0"}`);
      values.push(v, v * (1 + Number.EPSILON), v * (1 - Number.EPSILON));
    }
    for (const v of values) expect(usdFloatToPico(v), String(v)).toBe(decimalToScaled(v, 12));
  });

  it("formats report sums read as numbers exactly as the bigint forms do", () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const edge = [
      0,
      1,
      499_999,
      500_000,
      999_999,
      1_000_000,
      1e12,
      1e12 - 1,
      1e12 + 1,
      2 ** 53 - 1,
      2 ** 53 - 500_000,
    ];
    const random = Array.from({ length: 20_000 }, () => Math.floor(rand() * 10 ** Math.floor(rand() * 16)));
    // near a multiple of 10^12 at the top of the safe range (a float quotient would round up)
    const nearWhole = [8_999_999_999_999_999, 9_000_000_000_000_001, 9_007_199_254_740_991, 10_000_000_000];
    for (const v of [...edge, ...random, ...nearWhole]) {
      expect(formatPicoUsdSum(v), String(v)).toBe(formatPicoUsd(BigInt(v)));
      expect(formatPicoUsdSum(-v), String(-v)).toBe(formatPicoUsd(BigInt(-v)));
      expect(picoNumberToMicroUsd(v), String(v)).toBe(Number(picoToMicroUsd(BigInt(v))));
    }
    expect(formatPicoUsdSum(-5)).toBe("-0.000000000005");
    expect(formatPicoUsdSum(2n ** 70n)).toBe(formatPicoUsd(2n ** 70n));
  });

  it("reports pico sums as micro-USD rounded half-up once per row", () => {
    expect(picoToMicroUsd(485_160_800_000n)).toBe(485_161n);
    expect(picoToMicroUsd(499_999n)).toBe(0n);
    expect(picoToMicroUsd(500_000n)).toBe(1n);
  });

  it("parses operator credit amounts exactly and refuses more than 6 decimals", () => {
    expect(parseCreditsToMicro("5")).toBe(5_000_000n);
    expect(parseCreditsToMicro("2.5")).toBe(2_500_000n);
    expect(parseCreditsToMicro("-0.000001")).toBe(-1n);
    expect(() => parseCreditsToMicro("0.0000001")).toThrow(/6 decimals/);
    expect(() => parseCreditsToMicro("1e3")).toThrow();
    expect(formatMicroCredits(-2_500_000)).toBe("-2.50");
    expect(formatMicroCredits(1_234_567n)).toBe("1.234567");
  });

  it("bridges exact bigint micro-credits to stored numbers only within ±(2^53 − 1), naming the field", () => {
    expect(toMicroCredits(-2_500_000n)).toBe(-2_500_000);
    expect(toMicroCredits(MAX_MICRO_CREDITS)).toBe(Number.MAX_SAFE_INTEGER);
    expect(toMicroCredits(-MAX_MICRO_CREDITS)).toBe(-Number.MAX_SAFE_INTEGER);
    expect(() => toMicroCredits(MAX_MICRO_CREDITS + 1n, "balance")).toThrow(
      "balance 9007199254740992 exceeds the safe integer range",
    );
  });

  it("formats micro-credits from either representation the same way, negatives included", () => {
    for (const [micro, text] of [
      [0, "0.00"],
      [1, "0.000001"],
      [2_500_000, "2.50"],
      [-2_500_000, "-2.50"],
      [-500_000, "-0.50"],
      [-1, "-0.000001"],
    ] as const) {
      expect(formatMicroCredits(micro)).toBe(text);
      expect(formatMicroCredits(BigInt(micro))).toBe(text);
    }
  });
});
