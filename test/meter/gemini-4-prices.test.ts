import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** Gemini 4 Argon / Neon / Hydrogen: priced from Google's list, Argon's launch price until 2026-12-01. */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const pricer = (mode: CostMode = "calculate") =>
  createPricer({ mode, overrides: parsePriceOverrides({}, "test"), fallback: FALLBACK });

describe("case gemini-4-models-priced: Gemini 4 models at Google's prices, not the fallback", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551407 4 calls $0.33, not $1.95`, async () => {
      const r = await meterCaseDir(join(CASES, "gemini-4-models-priced"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551407",
          requests: 4,
          costUsd: "0.33",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
});

describe("price supplement: Gemini 4", () => {
  const SWITCH = Date.parse("2026-12-01T00:00:00Z");
  const call = (provider: string, model: string, atMs: number, over: Partial<ParsedUsage> = {}) =>
    parsedUsage({
      provider,
      model,
      api: "google-generative-ai",
      messageTsMs: atMs,
      input: 1_000_000,
      output: 100_000,
      cacheRead: 1_000_000,
      cacheWrite: 0,
      ...over,
    });
  // 1M input + 100K output + 1M cache read
  const LAUNCH = 2_000_000_000_000n + 1_000_000_000_000n + 100_000_000_000n; // $2 + $1 + $0.10
  const STANDARD = 4_000_000_000_000n + 2_000_000_000_000n + 200_000_000_000n; // $4 + $2 + $0.20

  it.each([
    ["google", "gemini-4-argon"],
    ["google", " Gemini-4-Argon "],
    ["google", "models/gemini-4-argon"],
    ["google-vertex", "gemini-4-argon"],
    ["google-gemini-cli", "gemini-4-argon"],
    ["openrouter", "google/gemini-4-argon"],
    ["litellm", "gemini/gemini-4-argon"],
  ])("%s/%s: Argon at USD 2 / 0.10 / 10 per 1M before 2026-12-01 UTC, 4 / 0.20 / 20 from then", (p, m) => {
    const before = pricer().price(call(p, m, SWITCH - 1));
    expect(before).toMatchObject({ costPicoUsd: LAUNCH, unknownModel: false });
    expect(before.version).toMatch(/\+supplement:[0-9a-f]{8}$/);
    expect(pricer().price(call(p, m, SWITCH))).toMatchObject({ costPicoUsd: STANDARD, unknownModel: false });
  });

  it("one pricer (its lookup cache) prices either side of the switch, in either order", () => {
    const q = pricer();
    const at = [SWITCH + 3_600_000, SWITCH - 3_600_000, SWITCH, SWITCH - 1, SWITCH + 86_400_000];
    expect(at.map((t) => q.price(call("google", "gemini-4-argon", t)).costPicoUsd)).toEqual([
      STANDARD,
      LAUNCH,
      STANDARD,
      LAUNCH,
      STANDARD,
    ]);
  });

  it("Neon $3 / $0.15 / $15 and Hydrogen $1.50 / $0.075 / $7.50, flat above 200K, at any time", () => {
    for (const t of [SWITCH - 86_400_000, SWITCH + 86_400_000]) {
      expect(pricer().price(call("google", "gemini-4-neon", t)).costPicoUsd).toBe(
        3_000_000_000_000n + 1_500_000_000_000n + 150_000_000_000n,
      );
      expect(pricer().price(call("google", "gemini-4-hydrogen", t)).costPicoUsd).toBe(
        1_500_000_000_000n + 750_000_000_000n + 75_000_000_000n,
      );
    }
  });

  it("a host that runs its own copy (Together) is not priced at Google's list", () => {
    expect(pricer().price(call("together", "google/gemini-4-argon", SWITCH)).unknownModel).toBe(true);
  });
});

describe("case openai-gpt-6-point-releases: GPT-6.1 / 6.2 at OpenAI's prices, not the fallback", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551408 5 calls $0.97, not $4.3875`, async () => {
      const r = await meterCaseDir(join(CASES, "openai-gpt-6-point-releases"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 5, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551408",
          requests: 5,
          costUsd: "0.97",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
});

describe("price supplement: GPT-6.1 / GPT-6.2", () => {
  const at = Date.parse("2026-11-25T12:00:00Z");
  const cost = (provider: string, model: string, over: Partial<ParsedUsage>) =>
    pricer().price(parsedUsage({ provider, model, api: "openai-responses", messageTsMs: at, ...over }));
  it.each([
    ["openai", "gpt-6.2-sol"],
    ["openai-codex", "gpt-6.2-sol"],
    ["openai", " GPT-6.2-Sol "],
    ["openai", "gpt-6.2-sol-2026-11-17"],
    ["openrouter", "openai/gpt-6.2-sol"],
    ["litellm", "openai/gpt-6.2-sol"],
  ])("%s/%s: 272,000 prompt tokens at the short-context rates, 272,001 at the long-context ones", (p, m) => {
    // 72,000 × $2 + 200,000 × $0.10 + 10,000 × $10 = $0.264
    const short = cost(p, m, { input: 72_000, cacheRead: 200_000, output: 10_000 });
    expect(short).toMatchObject({ costPicoUsd: 264_000_000_000n, unknownModel: false });
    expect(short.version).toMatch(/\+supplement:[0-9a-f]{8}$/);
    // 72,001 × $4 + 200,000 × $0.20 + 10,000 × $15 = $0.478004
    expect(cost(p, m, { input: 72_001, cacheRead: 200_000, output: 10_000 }).costPicoUsd).toBe(
      478_004_000_000n,
    );
  });
  it.each([
    // input 10K, output 1K, cache read 100K, cache write 10K
    ["gpt-6.2-astra", 80_000_000_000n + 40_000_000_000n + 40_000_000_000n + 100_000_000_000n],
    ["gpt-6.1-sol", 20_000_000_000n + 10_000_000_000n + 10_000_000_000n + 25_000_000_000n],
    ["gpt-6.1-terra", 10_000_000_000n + 5_000_000_000n + 5_000_000_000n + 12_500_000_000n],
  ])("openai/%s: input, output, cache read and 30-minute write rates", (m, want) => {
    expect(
      cost("openai", m, { input: 10_000, output: 1_000, cacheRead: 100_000, cacheWrite: 10_000 }).costPicoUsd,
    ).toBe(want);
  });
});
