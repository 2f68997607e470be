import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  clearTablePriceCache,
  createPricer,
  findTablePrice,
  findTablePriceUncachedRates,
  geminiApiNames,
  huggingFaceBackend,
  parsePriceOverrides,
} from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** test/cases of model ids / providers as OpenClaw writes them, priced at the wrong seller's price (h-models). */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };
const NOV_2026 = Date.UTC(2026, 10, 20, 10);

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
const call = (provider: string, model: string, over: Partial<ParsedUsage> = {}): ParsedUsage =>
  parsedUsage({ provider, model, api: "openai-completions", messageTsMs: NOV_2026, ...over });
/** USD per 1M tokens (decimal string) → pico-USD per token. */
const r = (usd: string) => BigInt(Math.round(Number(usd) * 1e6));
/** input / output / cache read rates of a table lookup, pico-USD per token; null when unknown. */
const io = (provider: string, model: string) => {
  const t = findTablePrice(provider, model, NOV_2026);
  return t ? [t.input.base, t.output.base, t.cacheRead.base] : null;
};

describe("case host-provider-vendor-price: a host's own price, not the model author's", () => {
  for (const [mode, usd, unknown, was] of [
    ["auto", "0.04678", 2, "was $0.03885 at Moonshot's and the openai entry's prices"],
    ["recorded", "0.04678", 0, "as before: OpenClaw's estimates"],
    ["calculate", "0.69968", 2, "two unknown models at the fallback, was $0.03885 unflagged"],
  ] as const) {
    it(`${mode}: telegram:5551501 3 calls $${usd} (${was})`, async () => {
      const { s, world } = await meterCase("host-provider-vendor-price", mode);
      expect(s).toMatchObject({ billed: 3 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551501",
          requests: 3,
          costUsd: usd,
          unknownModelRequests: unknown,
        }),
      ]);
      const byModel = Object.fromEntries(
        queryUsage(world.db, { by: "model" }).map((x) => [x.key, x.costUsd]),
      );
      if (mode !== "calculate")
        expect(byModel).toEqual({
          "together/moonshotai/Kimi-K2.6": "0.035",
          "together/openai/gpt-oss-120b": "0.0021",
          "together/meta-llama/Llama-3.3-70B-Instruct-Turbo": "0.00968",
        });
    });
  }
});

describe("a vendor/model id on an inference host the table knows is not priced at its author's price", () => {
  beforeEachClear();
  it.each([
    ["together", "moonshotai/Kimi-K2.6"],
    ["together", "openai/gpt-oss-120b"],
    ["together", "mistralai/mistral-large-latest"],
    ["Together", " moonshotai/kimi-k2.5 "],
    ["baseten", "moonshotai/Kimi-K2.5"],
    ["novita", "openai/gpt-oss-120b"],
    ["novita", "deepseek/deepseek-v3.2"],
    ["cerebras", "openai/gpt-oss-120b"],
    ["fireworks", "moonshotai/kimi-k2.6"],
    ["groq", "moonshotai/kimi-k2.6"],
    ["groq", "z-ai/glm-4.7"],
    ["google-vertex", "moonshotai/kimi-k2.5"],
    ["amazon-bedrock", "openai/gpt-oss-120b"],
  ])("%s + %s: unknown (OpenClaw's estimate of the host's price in auto)", (provider, model) => {
    expect(findTablePriceUncachedRates(provider, model, NOV_2026)).toBeNull();
    expect(io(provider, model)).toBeNull();
    const q = pricer("auto").price(call(provider, model, { input: 1_000_000, recordedCostUsd: 1.2 }));
    expect(q).toMatchObject({ costPicoUsd: 1_200_000_000_000n, source: "recorded", unknownModel: true });
  });
  it("a host's own entries keep its own price (Groq's Kimi K2 at $1 / $3, Baseten's Kimi K2.6, Together's Llama)", () => {
    expect(io("groq", "moonshotai/kimi-k2-instruct-0905")).toEqual([r("1"), r("3"), r("0.5")]);
    expect(io("groq", "openai/gpt-oss-120b")).toEqual([r("0.15"), r("0.6"), r("0.075")]);
    expect(io("baseten", "moonshotai/Kimi-K2.6")).toEqual([r("0.95"), r("4"), r("0.16")]);
    expect(io("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo")).toEqual([
      r("0.88"),
      r("0.88"),
      r("0.88"),
    ]);
  });
  it("the author's price still holds behind an unknown provider, on the author's own provider and on OpenRouter", () => {
    const kimi26 = [r("0.95"), r("4"), r("0.16")];
    expect(io("vercel-ai-gateway", "moonshotai/kimi-k2.6")).toEqual(kimi26);
    expect(io("litellm", "moonshotai/kimi-k2.6")).toEqual(kimi26);
    expect(io("moonshot", "moonshotai/kimi-k2.6")).toEqual(kimi26);
    expect(io("xai", "x-ai/grok-4")).toEqual([r("3"), r("15"), r("0.75")]);
    expect(io("zai", "z-ai/glm-4.7")).toEqual([r("0.6"), r("2.2"), r("0.11")]);
    expect(io("vercel-ai-gateway", "zai/glm-4.7")).toEqual([r("0.6"), r("2.2"), r("0.11")]);
    expect(io("litellm", "mistral/mistral-large-latest")).toEqual([r("0.5"), r("1.5"), r("0.05")]);
    // a Bedrock inference-profile ARN names Bedrock itself
    expect(
      io(
        "amazon-bedrock",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-opus-4-6-v1",
      ),
    ).toEqual([r("5"), r("25"), r("0.5")]);
    // OpenRouter: its own entry, else the maker's (a routing variant too)
    expect(io("openrouter", "anthropic/claude-opus-4.6")).toEqual([r("5"), r("25"), r("0.5")]);
    expect(io("openrouter", "x-ai/grok-4.20-0309-reasoning:nitro")).toEqual([r("1.25"), r("2.5"), r("0.2")]);
  });
  it("an operator override of the host's model still prices it", () => {
    const o = {
      "together/moonshotai/Kimi-K2.6": { input: "1.2", output: "4.5", cacheRead: "0.2", cacheWrite: "0" },
    };
    const q = pricer("calculate", o).price(call("together", "moonshotai/Kimi-K2.6", { input: 1_000_000 }));
    expect(q).toMatchObject({ costPicoUsd: 1_200_000_000_000n, source: "override", unknownModel: false });
  });
});

describe("case antigravity-gemini-model-names: Antigravity's Gemini ids at the Gemini API's prices", () => {
  for (const [mode, usd] of [
    ["auto", "1.195"],
    ["calculate", "1.195"],
    ["recorded", "0.716"],
  ] as const) {
    it(`${mode}: telegram:5551601 4 calls $${usd}, none unknown`, async () => {
      const { s, world } = await meterCase("antigravity-gemini-model-names", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551601",
          requests: 4,
          costUsd: usd,
          unknownModelRequests: 0,
        }),
      ]);
      if (mode === "auto") {
        const byModel = Object.fromEntries(
          queryUsage(world.db, { by: "model" }).map((x) => [x.key, x.costUsd]),
        );
        // cache reads at Gemini 3 Flash's $0.05 (not the catalog's $0.50); 3.1 Pro above 200K at $4 / $18
        expect(byModel).toEqual({
          "google-antigravity/gemini-3-flash": "0.016",
          "google-antigravity/gemini-3.1-pro-high": "1.072",
          "google-antigravity/gemini-3.1-pro-low": "0.032",
          "google-antigravity/claude-opus-4-6-thinking": "0.075",
        });
      }
    });
  }
});

describe("Gemini ids with a thinking level or without -preview are priced as the Gemini API model", () => {
  beforeEachClear();
  const flash3 = [r("0.5"), r("3"), r("0.05")];
  const pro31 = [r("2"), r("12"), r("0.2")];
  const pro3 = pro31;
  it.each([
    ["google-antigravity", "gemini-3-flash", flash3],
    ["google-antigravity", "gemini-3.1-pro-high", pro31],
    ["google-antigravity", "GEMINI-3.1-PRO-LOW", pro31],
    ["google-antigravity", "gemini-3-pro-high", pro3],
    ["google-antigravity", "gemini-3-pro-low", pro3],
    ["google-gemini-cli", "gemini-3-flash", flash3],
    ["google", "models/gemini-3-flash", flash3],
    ["google-vertex", "publishers/google/models/gemini-3.1-pro-medium", pro31],
    ["opencode", "gemini-3-pro", pro3],
    ["opencode", "gemini-3.1-pro", pro31],
    ["litellm", "gemini/gemini-3-flash", flash3],
    ["google", "gemini-2.5-flash-high", [r("0.3"), r("2.5"), r("0.03")]],
  ])("%s + %s", (provider, model, want) => {
    expect(io(provider, model)).toEqual(want);
  });
  it("ids the table knows keep their entries; other names stay unknown", () => {
    expect(io("google", "gemini-3-flash-preview")).toEqual(flash3);
    expect(io("google", "gemini-2.5-pro")).toEqual([r("1.25"), r("10"), r("0.125")]);
    expect(io("google", "gemini-robotics-er-1.5-preview")).toBeNull();
    expect(io("google-antigravity", "gpt-oss-120b-medium")).toBeNull();
    expect(io("openrouter", "google/gemini-3-flash")).toBeNull();
    expect(geminiApiNames("gemini-3.1-pro-high")).toEqual(["gemini-3.1-pro", "gemini-3.1-pro-preview"]);
    expect(geminiApiNames("gemini-3-flash-preview")).toEqual([]);
    expect(geminiApiNames("claude-opus-4-6-thinking")).toEqual([]);
  });
  it("the long-context tier of Gemini 3.1 Pro applies to Antigravity's name (calculate)", () => {
    const q = pricer("calculate").price(
      call("google-antigravity", "gemini-3.1-pro-high", {
        api: "google-gemini-cli",
        input: 250_000,
        output: 4_000,
      }),
    );
    expect(q).toMatchObject({ costPicoUsd: 250_000n * r("4") + 4_000n * r("18"), unknownModel: false });
  });
});

describe("case huggingface-router-backend-suffix: a Hugging Face id naming its backend at that backend's price", () => {
  for (const [mode, usd, unknown] of [
    ["auto", "0.026", 1],
    ["calculate", "0.2415", 1],
    ["recorded", "0.026", 0],
  ] as const) {
    it(`${mode}: telegram:5551701 3 calls $${usd} (was $0.7595 / $0.975 / $0.7595: fallback)`, async () => {
      const { s, world } = await meterCase("huggingface-router-backend-suffix", mode);
      expect(s).toMatchObject({ billed: 3 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551701",
          requests: 3,
          costUsd: usd,
          unknownModelRequests: unknown,
        }),
      ]);
    });
  }
});

describe("Hugging Face router ids with a :<provider> suffix", () => {
  beforeEachClear();
  it.each([
    ["deepseek-ai/DeepSeek-R1:novita", [r("0.7"), r("2.5"), r("0.7")]],
    ["openai/gpt-oss-120b:groq", [r("0.15"), r("0.75"), r("0.15")]],
    ["openai/gpt-oss-120b:fireworks-ai", [r("0.15"), r("0.6"), r("0.15")]],
    ["meta-llama/Llama-3.3-70B-Instruct:NOVITA", [r("0.135"), r("0.4"), r("0.135")]],
    [" zai-org/GLM-4.7:novita ", [r("0.6"), r("2.2"), r("0.6")]],
    ["deepseek-ai/DeepSeek-R1-0528:sambanova", [r("5"), r("7"), r("5")]],
  ])("huggingface + %s: the backend's Hugging Face price", (model, want) => {
    expect(io("huggingface", model)).toEqual(want);
  });
  it("a policy suffix, a backend whose list lacks the model, or another provider: not read", () => {
    expect(io("huggingface", "deepseek-ai/DeepSeek-R1:cheapest")).toBeNull();
    expect(io("huggingface", "deepseek-ai/DeepSeek-R1:fastest")).toBeNull();
    expect(io("huggingface", "moonshotai/Kimi-K2-Instruct-0905:groq")).toBeNull();
    expect(huggingFaceBackend("huggingface", "deepseek-ai/DeepSeek-R1:cheapest")).toBeNull();
    expect(huggingFaceBackend("huggingface", "deepseek-ai/DeepSeek-R1:anthropic")).toBeNull();
    expect(huggingFaceBackend("litellm", "deepseek-ai/DeepSeek-R1:novita")).toBeNull();
    expect(huggingFaceBackend("huggingface", "deepseek-ai/DeepSeek-R1")).toBeNull();
    expect(huggingFaceBackend("HuggingFace", "deepseek-ai/DeepSeek-R1:novita")).toEqual({
      providerId: "huggingface_novita",
      model: "deepseek-ai/DeepSeek-R1",
    });
  });
});

function beforeEachClear() {
  afterEach(() => clearTablePriceCache());
}
