import { describe, expect, it } from "vitest";
import {
  clearTablePriceCache,
  constraintClassifier,
  createPricer,
  findTablePrice,
  findTablePriceUncachedRates,
  parsePriceOverrides,
  tablePriceCacheStats,
} from "../../src/meter/pricing.js";
import type { ParsedUsage } from "../../src/meter/types.js";

// The price cache is exact (issue #10): per (provider, model) for unconditional prices, per
// constraint class for models with start-date / time-of-day prices in @pydantic/genai-prices.

const pricer = createPricer({
  mode: "calculate",
  overrides: parsePriceOverrides({}, "none"),
  fallback: { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" },
});

function call(provider: string, model: string, atMs: number, input: number): ParsedUsage {
  return {
    provider,
    model,
    api: null,
    messageTsMs: atMs,
    responseId: null,
    input,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: input,
    reasoningTokens: null,
    stopReason: "stop",
    isError: false,
    errorMessage: null,
    recordedCostUsd: null,
  };
}

/** Pico-USD of 1M uncached input tokens = the input rate in micro-USD per MTok. */
const inputRateAt = (provider: string, model: string, iso: string) =>
  pricer.price(call(provider, model, Date.parse(iso), 1_000_000)).costPicoUsd;

describe("table price cache", () => {
  it("prices deepseek-chat at its off-peak rate off-peak and its peak rate otherwise, to the millisecond", () => {
    clearTablePriceCache();
    // genai-prices: 0.27 USD/MTok input 00:30–16:30 UTC, 0.135 otherwise: DeepSeek's night discount,
    // which ended on 2025-09-05 (later calls are priced as the model the name served then).
    const OFF = 135_000_000_000n;
    const PEAK = 270_000_000_000n;
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-01T12:00:00Z")).toBe(PEAK);
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-01T20:00:00Z")).toBe(OFF);
    // Two calls in the same minute pair around each boundary, both orders of first lookup.
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-01T16:29:59.999Z")).toBe(PEAK);
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-01T16:30:00.000Z")).toBe(OFF);
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-02T00:30:00.000Z")).toBe(PEAK);
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-02T00:29:59.999Z")).toBe(OFF);
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-02T00:00:00.000Z")).toBe(OFF);
    clearTablePriceCache();
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-01T16:30:00.000Z")).toBe(OFF);
    expect(inputRateAt("deepseek", "deepseek-chat", "2025-06-01T16:29:59.999Z")).toBe(PEAK);
  });

  it("prices a model with a start-date price change right on either side of it", () => {
    clearTablePriceCache();
    // anthropic/claude-opus-4-6: long-context tier (10 USD/MTok input above 200k) until
    // 2026-03-13, then a flat 5 USD/MTok. 300k input tokens:
    const at = (iso: string) =>
      pricer.price(call("anthropic", "claude-opus-4-6", Date.parse(iso), 300_000)).costPicoUsd;
    expect(at("2026-03-12T23:59:59.999Z")).toBe(300_000n * 10_000_000n);
    expect(at("2026-03-13T00:00:00.000Z")).toBe(300_000n * 5_000_000n);
    expect(at("2026-03-12T23:59:59.000Z")).toBe(300_000n * 10_000_000n);
    // deepseek-v4-flash combines a start date (2026-08-17) with peak windows 01–04 and 06–10 UTC.
    const flash = (iso: string) => inputRateAt("deepseek", "deepseek-v4-flash", iso);
    expect(flash("2026-08-16T23:59:59.999Z")).toBe(140_000_000_000n);
    expect(flash("2026-08-17T00:00:00.000Z")).toBe(220_000_000_000n);
    expect(flash("2026-08-17T03:59:59.999Z")).toBe(440_000_000_000n);
    expect(flash("2026-08-17T04:00:00.000Z")).toBe(220_000_000_000n);
    expect(flash("2026-08-16T12:00:00.000Z")).toBe(140_000_000_000n);
  });

  it("gives the uncached result for a sweep of timestamps, and misses once per model and price class", () => {
    clearTablePriceCache();
    const models: [string, string][] = [
      ["deepseek", "deepseek-chat"],
      ["deepseek", "deepseek-v4-flash"],
      ["deepseek", "deepseek-v4-pro"],
      ["anthropic", "claude-opus-4-6"],
      ["anthropic", "claude-sonnet-4-5"],
      ["openai", "gpt-4o"],
      ["openrouter", "anthropic/claude-sonnet-4-5"],
      ["mock", "mock-gpt"],
    ];
    const start = Date.parse("2026-03-10T00:00:00Z");
    const end = Date.parse("2026-08-20T00:00:00Z");
    let lookups = 0;
    // Every 61 min 7.3 s (drifts across minutes, seconds and milliseconds), plus the boundaries.
    const times: number[] = [];
    for (let t = start; t < end; t += 3_667_300) times.push(t);
    for (const iso of ["2026-03-13T00:00:00Z", "2026-08-17T00:00:00Z", "2026-06-01T16:30:00Z"]) {
      const b = Date.parse(iso);
      times.push(b - 1, b, b + 1);
    }
    for (const t of times)
      for (const [p, m] of models) {
        expect(findTablePrice(p, m, t), `${p}/${m} at ${new Date(t).toISOString()}`).toEqual(
          findTablePriceUncachedRates(p, m, t),
        );
        lookups++;
      }
    const stats = tablePriceCacheStats();
    expect(stats.hits + stats.misses).toBe(lookups);
    // One miss per unconditional model; per conditional model one per constraint class met
    // (deepseek-chat 3: its V3.2 / V4-Flash-flat eras are creditgate's own prices, no package
    // lookup, then the table's V4-Flash from 2026-08-17 under its own key, off-peak and two peak
    // windows; claude-opus-4-6 2, v4-flash/pro up to 2×3 each): never per minute.
    expect(stats.misses).toBeLessThanOrEqual(4 + 3 + 2 + 6 + 6);
  });

  it("classifies constraints as the package does (wrapping windows, offsets, fractions)", () => {
    const classify = constraintClassifier([
      { prices: {} },
      { constraint: { type: "time_of_date", start_time: "22:00:00Z", end_time: "02:00:00Z" }, prices: {} },
      {
        constraint: { type: "time_of_date", start_time: "10:00:00+02:00", end_time: "10:00:00.5+02:00" },
        prices: {},
      },
      { constraint: { type: "start_date", start_date: "2026-01-01" }, prices: {} },
    ]);
    if (!classify) throw new Error("classifier expected");
    expect(classify(Date.parse("2025-12-31T23:00:00Z"))).toBe(0b0010);
    expect(classify(Date.parse("2026-01-01T01:59:59.999Z"))).toBe(0b1010);
    expect(classify(Date.parse("2026-01-01T02:00:00Z"))).toBe(0b1000);
    expect(classify(Date.parse("2026-01-01T08:00:00.499Z"))).toBe(0b1100);
    expect(classify(Date.parse("2026-01-01T08:00:00.500Z"))).toBe(0b1000);
    expect(classify(Number.NaN)).toBeNull();
    expect(constraintClassifier([{ constraint: { type: "weekday" } as never, prices: {} }])).toBeNull();
  });
});
