import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EARLIER_PRICES, findEarlierPrice } from "../../src/meter/price-corrections.js";
import {
  CORRECTED_TABLE_VERSION,
  clearTablePriceCache,
  createPricer,
  GEMINI_API_FREE_VERSION,
  isGeminiApiFree,
  parsePriceOverrides,
  TABLE_VERSION,
} from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** test/cases built from public bug reports of wrong prices (h-prices, 2026-12-04). */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string, mode: CostMode) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), mode);
  w = r.world;
  return r;
}

const pricer = (mode: CostMode = "calculate", overrides: Record<string, unknown> = {}) =>
  createPricer({ mode, overrides: parsePriceOverrides(overrides, "test"), fallback: FALLBACK });

// ---------------------------------------------------------------------------------------------
// A price before a dated cut that the table does not date (EARLIER_PRICES)
// ---------------------------------------------------------------------------------------------

describe("case price-before-dated-cut: a call before a price cut is priced at its own date", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551407 4 calls $1.1025, not $0.815`, async () => {
      const { s, world } = await meterCase("price-before-dated-cut", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551407", requests: 4, costUsd: "1.1025" }),
      ]);
    });
  }
});

describe("EARLIER_PRICES: Gemini 3.6 Flash before 2026-08-13, o3's cached input before 2025-06-10", () => {
  const usage = { input: 100_000, output: 10_000, cacheRead: 200_000 };
  const call = (provider: string, model: string, iso: string, api = "google-generative-ai"): ParsedUsage =>
    parsedUsage({ provider, model, api, messageTsMs: Date.parse(iso), ...usage });
  // 100K × in + 200K × cached + 10K × out, in pico-USD
  const cost = (i: bigint, c: bigint, o: bigint) => 100_000n * i + 200_000n * c + 10_000n * o;
  const GEMINI_LAUNCH = cost(1_500_000n, 150_000n, 7_500_000n); // $0.255
  const GEMINI_INTRO = cost(750_000n, 75_000n, 3_750_000n); // $0.1275
  const O3_LAUNCH = cost(10_000_000n, 2_500_000n, 40_000_000n); // $1.9
  const O3_CUT = cost(2_000_000n, 500_000n, 8_000_000n); // $0.38

  it("one pricer, calls in every order (the lookup cache keeps the eras apart), twice", () => {
    clearTablePriceCache();
    const p = pricer();
    const seq: [string, string, string, bigint, string][] = [
      ["google", "gemini-3.6-flash", "2026-08-20T00:00:00Z", GEMINI_INTRO, TABLE_VERSION],
      ["google", "gemini-3.6-flash", "2026-07-28T00:00:00Z", GEMINI_LAUNCH, CORRECTED_TABLE_VERSION],
      ["google", "gemini-3.6-flash", "2026-08-12T23:59:59.999Z", GEMINI_LAUNCH, CORRECTED_TABLE_VERSION],
      ["google", "gemini-3.6-flash", "2026-08-13T00:00:00Z", GEMINI_INTRO, TABLE_VERSION],
      ["google", "gemini-3.6-flash", "2027-01-02T00:00:00Z", GEMINI_LAUNCH, TABLE_VERSION],
      // Vertex AI, a resource name and a vendor prefix behind a proxy: the same table entry
      ["google-vertex", "gemini-3.6-flash", "2026-07-28T00:00:00Z", GEMINI_LAUNCH, CORRECTED_TABLE_VERSION],
      ["google", "models/gemini-3.6-flash", "2026-07-28T00:00:00Z", GEMINI_LAUNCH, CORRECTED_TABLE_VERSION],
      ["litellm", "gemini/gemini-3.6-flash", "2026-07-28T00:00:00Z", GEMINI_LAUNCH, CORRECTED_TABLE_VERSION],
      ["openai", "o3", "2025-07-01T00:00:00Z", O3_CUT, TABLE_VERSION],
      ["openai", "o3", "2025-05-20T00:00:00Z", O3_LAUNCH, CORRECTED_TABLE_VERSION],
      ["openai", "o3-2025-04-16", "2025-06-09T23:59:59.999Z", O3_LAUNCH, CORRECTED_TABLE_VERSION],
      ["openai", "o3-2025-04-16", "2025-06-10T00:00:00Z", O3_CUT, TABLE_VERSION],
      ["openai-codex", "o3", "2025-05-20T00:00:00Z", O3_LAUNCH, CORRECTED_TABLE_VERSION],
    ];
    for (const round of [1, 2]) {
      for (const [provider, model, iso, want, version] of seq) {
        const q = p.price(call(provider, model, iso));
        expect(q.costPicoUsd, `${round} ${provider}/${model} ${iso}`).toBe(want);
        expect(q.version, `${round} ${provider}/${model} ${iso}`).toBe(version);
        expect(q.unknownModel).toBe(false);
      }
    }
  });

  it("an override still wins; other models and providers keep the table's price", () => {
    const o = { "google/gemini-3.6-flash": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" } };
    expect(
      pricer("calculate", o).price(call("google", "gemini-3.6-flash", "2026-07-28T00:00:00Z")),
    ).toMatchObject({
      costPicoUsd: 310_000n * 1_000_000n,
      source: "override",
    });
    // Gemini 3.7 Flash launched at the introductory price; Azure's own o3 entry is not OpenAI's
    const g37 = pricer().price(call("google", "gemini-3.7-flash", "2026-08-14T00:00:00Z"));
    expect(g37).toMatchObject({ costPicoUsd: GEMINI_INTRO, version: TABLE_VERSION });
    const azure = pricer().price(call("azure-openai-responses", "o3", "2025-05-20T00:00:00Z"));
    expect(azure.version).toBe(TABLE_VERSION);
  });

  it("every entry names a table price it corrects and an earlier price above it", () => {
    for (const e of EARLIER_PRICES) {
      expect(findEarlierPrice(e.provider, e.model)).toBe(e);
      expect(e.usd.some((v, i) => Number(v) !== Number(e.table[i]))).toBe(true);
      expect(Number.isNaN(Date.parse(e.until))).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Models the Gemini API serves only for free: Gemma and the experimental Gemini models
// ---------------------------------------------------------------------------------------------

describe("case gemini-api-free-models: Gemma and experimental Gemini models on the Gemini API cost $0", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551408 5 calls $0.011, not $2.0676 with 2 unknown models`, async () => {
      const { s, world } = await meterCase("gemini-api-free-models", mode);
      expect(s).toMatchObject({ billed: 5, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551408",
          requests: 5,
          costUsd: "0.011",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
});

describe("isGeminiApiFree", () => {
  const call = (provider: string, model: string): ParsedUsage =>
    parsedUsage({
      provider,
      model,
      api: "google-generative-ai",
      messageTsMs: Date.parse("2026-11-10T09:00:00Z"),
      input: 100_000,
      output: 5_000,
    });
  it("Gemma and experimental ids on `google` (a resource name too) are free, at $0, not unknown", () => {
    for (const model of [
      "gemma-3-27b-it",
      "gemma-3n-e4b-it",
      "gemma-4-31b-it",
      "models/gemma-4-26b-a4b-it",
      "gemini-2.0-flash-exp",
      "gemini-2.0-flash-exp-image-generation",
      "gemini-2.5-pro-exp-03-25",
      "gemini-2.0-flash-thinking-exp-01-21",
      "gemini-exp-1206",
      "learnlm-2.0-flash-experimental",
    ]) {
      expect(isGeminiApiFree("google", model), model).toBe(true);
      expect(pricer().price(call("google", model)), model).toMatchObject({
        costPicoUsd: 0n,
        source: "table",
        version: GEMINI_API_FREE_VERSION,
        unknownModel: false,
      });
    }
  });
  it("paid Gemini models, other providers and hosts keep their prices", () => {
    const others: [string, string][] = [
      ["google", "gemini-2.5-pro"],
      ["google", "gemini-2.5-flash-preview-09-2025"],
      ["google", "gemini-3-pro-preview"],
      ["google", "gemini-expert"],
      ["google-vertex", "gemini-2.0-flash-exp"],
      ["openrouter", "google/gemma-3-27b-it"],
      ["fireworks", "accounts/fireworks/models/gemma-3-27b-it"],
    ];
    for (const [provider, model] of others) {
      expect(isGeminiApiFree(provider, model), `${provider}/${model}`).toBe(false);
    }
    expect(pricer().price(call("google-vertex", "gemini-2.0-flash-exp")).costPicoUsd).toBe(
      100_000n * 100_000n + 5_000n * 400_000n,
    );
  });
  it("an override still wins; a provider-billed cost is still billed in auto", () => {
    const o = { "google/gemma-3-27b-it": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" } };
    expect(pricer("calculate", o).price(call("google", "gemma-3-27b-it"))).toMatchObject({
      costPicoUsd: 105_000n * 1_000_000n,
      source: "override",
    });
    const q = pricer("auto").price({
      ...call("google", "gemma-3-27b-it"),
      recordedCostUsd: 0.01,
      recordedCostOrigin: "provider-billed",
    });
    expect(q).toMatchObject({ costPicoUsd: 10_000_000_000n, source: "provider-billed" });
  });
});

// ---------------------------------------------------------------------------------------------
// LiteLLM provider prefixes the table does not match: azure_ai/ (Microsoft Foundry), fireworks_ai/
// ---------------------------------------------------------------------------------------------

describe("case litellm-provider-prefix: azure_ai/ and fireworks_ai/ ids are priced by their provider", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551409 2 calls $0.3488, not $3.375 at the fallback`, async () => {
      const { s, world } = await meterCase("litellm-provider-prefix", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551409",
          requests: 2,
          costUsd: "0.3488",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
  it("the prefix as a provider id too, and the same model as `azure/` and on Azure", () => {
    const at = Date.parse("2026-11-12T09:00:00Z");
    const c = (provider: string, model: string) =>
      pricer().price(
        parsedUsage({
          provider,
          model,
          api: "openai-completions",
          messageTsMs: at,
          input: 50_000,
          output: 5_000,
        }),
      ).costPicoUsd;
    const want = 50_000n * 2_000_000n + 5_000n * 8_000_000n;
    expect(c("litellm", "azure_ai/gpt-4.1")).toBe(want);
    expect(c("azure_ai", "gpt-4.1")).toBe(want);
    expect(c("litellm", "azure/gpt-4.1")).toBe(want);
    expect(c("azure-openai-responses", "gpt-4.1")).toBe(want);
  });
});

// ---------------------------------------------------------------------------------------------
// A router's own routing alias before a model id (OmniRoute's `cx/gpt-5.5`), behind a custom provider
// ---------------------------------------------------------------------------------------------

describe("case router-alias-model-prefix: `cx/gpt-5.5` behind a custom provider is GPT-5.5", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5552731 2 calls $0.389, not $1.335 at the fallback`, async () => {
      const { s, world } = await meterCase("router-alias-model-prefix", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5552731",
          requests: 2,
          costUsd: "0.389",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
  const at = Date.parse("2026-11-20T09:00:00Z");
  const quote = (provider: string, model: string) =>
    pricer().price(
      parsedUsage({
        provider,
        model,
        api: "openai-completions",
        messageTsMs: at,
        input: 10_000,
        output: 1_000,
      }),
    );
  it("another alias and model (`gh/gpt-5`, `kr/claude-sonnet-4.5`), and an alias before a vendor prefix", () => {
    expect(quote("omniroute", "gh/gpt-5").costPicoUsd).toBe(quote("openai", "gpt-5").costPicoUsd);
    expect(quote("omniroute", "gh/gpt-5").unknownModel).toBe(false);
    expect(quote("my-router", "kr/claude-sonnet-4.5").costPicoUsd).toBe(
      quote("anthropic", "claude-sonnet-4-5").costPicoUsd,
    );
    expect(quote("custom-proxy", "ag/anthropic/claude-sonnet-4-5").costPicoUsd).toBe(
      quote("anthropic", "claude-sonnet-4-5").costPicoUsd,
    );
  });
  it("not on a provider the table knows, nor when the rest is no priced model", () => {
    // an inference host's own list lacks it: unknown there, as before
    expect(quote("together", "foo/gpt-5").unknownModel).toBe(true);
    // OmniRoute's auto-combos name no model
    expect(quote("omniroute", "auto/coding").unknownModel).toBe(true);
    // a local server stays free
    expect(quote("ollama", "cx/gpt-5.5").costPicoUsd).toBe(0n);
  });
});

// ---------------------------------------------------------------------------------------------
// A bare id of a model only the price supplement knows, behind a provider the table does not know
// ---------------------------------------------------------------------------------------------

describe("case supplement-model-bare-id: a bare `glm-4.6` / `qwen3-max` behind a proxy is its maker's", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5552732 2 calls $0.1125, not $2.40 at the fallback`, async () => {
      const { s, world } = await meterCase("supplement-model-bare-id", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5552732",
          requests: 2,
          costUsd: "0.1125",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
  const at = Date.parse("2026-11-21T14:00:00Z");
  const quote = (provider: string, model: string) =>
    pricer().price(
      parsedUsage({
        provider,
        model,
        api: "openai-completions",
        messageTsMs: at,
        input: 10_000,
        output: 1_000,
      }),
    );
  it("other makers' supplement models, bare, as with their vendor prefix", () => {
    for (const [vendor, model] of [
      ["anthropic", "claude-haiku-5-5"],
      ["mistral", "mistral-small-2503"],
      ["qwen", "qwen3-coder-plus"],
    ] as const) {
      const bare = quote("my-proxy", model);
      expect(bare.unknownModel).toBe(false);
      expect(bare.costPicoUsd).toBe(quote("my-proxy", `${vendor}/${model}`).costPicoUsd);
    }
  });
  it("not a model free on its maker's API only, nor on a provider the table knows", () => {
    expect(quote("my-proxy", "glm-4.7-flash").unknownModel).toBe(true);
    expect(quote("together", "glm-4.6").unknownModel).toBe(true);
    // Model Studio's own provider keeps its own list only
    expect(quote("qwen", "glm-4.6").unknownModel).toBe(true);
  });
});
