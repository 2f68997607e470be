import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  clearTablePriceCache,
  createPricer,
  findTablePrice,
  isLocalServerCall,
  kimiDottedName,
  LOCAL_SERVER_VERSION,
  namesOtherProduct,
  parsePriceOverrides,
  tableEntryOf,
} from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** test/cases of calls priced as another model or at a cloud price they never had (h-models2). */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };
const NOV_2026 = Date.UTC(2026, 10, 20, 10);

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
  clearTablePriceCache();
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

describe("case local-model-server-free: a local model server's call costs $0", () => {
  for (const mode of ["auto", "calculate", "recorded"] as const) {
    it(`${mode}: telegram:5551801 5 calls $0.009, none unknown (was $0.4105, 2 unknown)`, async () => {
      const { s, world } = await meterCase("local-model-server-free", mode);
      expect(s).toMatchObject({ billed: 5 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551801",
          requests: 5,
          costUsd: "0.009",
          unknownModelRequests: 0,
        }),
      ]);
      const byModel = Object.fromEntries(
        queryUsage(world.db, { by: "model" }).map((x) => [x.key, x.costUsd]),
      );
      expect(byModel).toEqual({
        "ollama/deepseek-r1:14b": "0",
        "lmstudio/qwen2.5-7b-instruct": "0",
        "vllm/meta-llama/Llama-3.1-8B-Instruct": "0",
        "ollama/deepseek-chat": "0",
        "ollama/kimi-k2.5:cloud": "0.009",
      });
    });
  }
});

describe("a local model server's call (Ollama, LM Studio, vLLM, SGLang, llama.cpp)", () => {
  it.each([
    ["ollama", "deepseek-r1:14b"],
    ["Ollama", "llama3.1:8b"],
    ["ollama", "gpt-oss:20b"],
    ["ollama", "deepseek-reasoner"],
    ["lmstudio", "openai/gpt-oss-20b"],
    ["lm-studio", "qwen/qwen3-8b"],
    ["vllm", "Qwen/Qwen3-32B"],
    ["vllm", "claude-sonnet-4-5"],
    ["sglang", "deepseek-ai/DeepSeek-V3"],
    ["llamacpp", "gemma-3-4b-it"],
    ["llama-cpp", "gpt-4o"],
    ["llama.cpp", "mistral-large-latest"],
    ["llama-server", "qwen3-8b"],
    ["localai", "gpt-4"],
  ])("%s/%s is $0 from the table, not a cloud price nor unknown", (provider, model) => {
    expect(isLocalServerCall(provider, model)).toBe(true);
    expect(io(provider, model)).toEqual([0n, 0n, 0n]);
    for (const mode of ["auto", "calculate", "recorded"] as const) {
      const q = pricer(mode).price(call(provider, model, { input: 10_000, output: 1_000 }));
      expect(q).toMatchObject({ costPicoUsd: 0n, source: "table", unknownModel: false });
      expect(q.version).toBe(LOCAL_SERVER_VERSION);
    }
    expect(tableEntryOf(provider, model, NOV_2026)).toBe("local");
  });

  it("Ollama's cloud models are no local calls: the table's lookup stands", () => {
    expect(isLocalServerCall("ollama", "kimi-k2.5:cloud")).toBe(false);
    expect(isLocalServerCall("ollama", "gpt-oss:120b-cloud")).toBe(false);
    expect(io("ollama", "kimi-k2.5:cloud")).toEqual([r("0.6"), r("3"), r("0.1")]);
  });

  it("other providers are unchanged", () => {
    expect(isLocalServerCall("deepseek", "deepseek-reasoner")).toBe(false);
    expect(io("openai", "gpt-4o")).toEqual([r("2.5"), r("10"), r("1.25")]);
    expect(io("my-proxy", "gpt-4o")).toEqual([r("2.5"), r("10"), r("1.25")]);
  });

  it("an override still prices local compute, and a provider-billed cost still wins", () => {
    const p = pricer("auto", {
      "ollama/*": { input: "0.1", output: "0.2", cacheRead: "0", cacheWrite: "0" },
    });
    expect(p.price(call("ollama", "llama3.1:8b", { input: 1_000_000, output: 0 }))).toMatchObject({
      costPicoUsd: r("0.1") * 1_000_000n,
      source: "override",
    });
    const billed = pricer("auto").price(
      call("vllm", "x", {
        input: 1000,
        output: 10,
        recordedCostUsd: 0.5,
        recordedCostOrigin: "provider-billed",
      }),
    );
    expect(billed).toMatchObject({ source: "provider-billed", costPicoUsd: 500_000_000_000n });
  });
});

describe("case fuzzy-match-other-product: a fuzzy entry does not take another product's longer id", () => {
  for (const [mode, usd, unknown] of [
    ["auto", "0.5809", 1],
    ["recorded", "0.5809", 0],
    ["calculate", "1.701", 1],
  ] as const) {
    it(`${mode}: telegram:5551901 4 calls $${usd} (was $0.47045 / recorded $0.4369, none unknown)`, async () => {
      const { s, world } = await meterCase("fuzzy-match-other-product", mode);
      expect(s).toMatchObject({ billed: 4 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551901",
          requests: 4,
          costUsd: usd,
          unknownModelRequests: unknown,
        }),
      ]);
      const byModel = Object.fromEntries(
        queryUsage(world.db, { by: "model" }).map((x) => [x.key, x.costUsd]),
      );
      expect(byModel).toMatchObject({
        "azure-openai-responses/o4-mini-deep-research": "0.36",
        "azure-openai-responses/o4-mini": "0.198",
        "google/gemini-1.5-flash-8b": "0.018",
        "my-proxy/deepseek-r1-distill-qwen-32b": mode === "calculate" ? "1.125" : "0.0049",
      });
    });
  }
});

describe("a fuzzy table match of a longer id naming another product", () => {
  it.each([
    // Azure falls back to OpenAI's own entry
    ["azure-openai-responses", "o4-mini-deep-research", [r("2"), r("8"), r("0.5")]],
    ["azure", "o4-mini-deep-research-2025-06-26", [r("2"), r("8"), r("0.5")]],
    ["microsoft-foundry", "o4-mini-deep-research", [r("2"), r("8"), r("0.5")]],
    // the Gemini API's Flash-8B ids: the table's gemini-flash-1.5-8b
    ["google", "gemini-1.5-flash-8b", [r("0.0375"), r("0.15"), r("0.01")]],
    ["google-vertex", "gemini-1.5-flash-8b-001", [r("0.0375"), r("0.15"), r("0.01")]],
    ["google", "models/gemini-1.5-flash-8b-latest", [r("0.0375"), r("0.15"), r("0.01")]],
    // other models, at no price the table has: unknown
    ["deepseek", "deepseek-r1-distill-llama-70b", null],
    ["my-proxy", "deepseek-r1:14b", null],
    ["my-proxy", "deepseek-r1-0528-qwen3-8b", null],
  ])("%s/%s", (provider, model, want) => {
    expect(io(provider, model)).toEqual(want);
  });

  it.each([
    // the entries' own ids, dated snapshots and family members stay theirs
    ["azure", "o4-mini", [r("1.1"), r("4.4"), r("0.28")]],
    ["azure", "o4-mini-2025-04-16", [r("1.1"), r("4.4"), r("0.28")]],
    ["google", "gemini-1.5-flash", [r("0.075"), r("0.3"), r("0.01875")]],
    ["google", "gemini-1.5-flash-002", [r("0.075"), r("0.3"), r("0.01875")]],
    ["google", "gemini-1.5-flash-latest", [r("0.075"), r("0.3"), r("0.01875")]],
    ["deepseek", "deepseek-r1", [r("0.55"), r("2.19"), r("0.14")]],
    ["openai", "gpt-4o-mini-search-preview", [r("0.15"), r("0.6"), r("0.075")]],
    ["groq", "deepseek-r1-distill-llama-70b", [r("0.75"), r("0.99"), r("0.75")]],
  ])("%s/%s keeps its table price", (provider, model, want) => {
    expect(io(provider, model)).toEqual(want);
  });

  it("namesOtherProduct reads the matched stem, not every longer id", () => {
    const contains = { contains: "o4-mini" };
    expect(namesOtherProduct("o4-mini-deep-research", contains)).toBe(true);
    expect(namesOtherProduct("O4-Mini-Realtime-Preview", contains)).toBe(true);
    expect(namesOtherProduct("o4-mini-2025-04-16", contains)).toBe(false);
    expect(namesOtherProduct("o4-mini", contains)).toBe(false);
    expect(namesOtherProduct("gpt-4o-transcribe", { starts_with: "gpt-4o" })).toBe(true);
    expect(namesOtherProduct("gpt-4o-mini-tts", { starts_with: "gpt-4o" })).toBe(true);
    expect(namesOtherProduct("gemini-2.0-flash-lite", { contains: "gemini-2.0-flash" })).toBe(true);
    expect(namesOtherProduct("llama-3.1-70b", { starts_with: "llama-3.1" })).toBe(true);
    // a family prefix ending in "-": the rest is the family's own member
    expect(namesOtherProduct("gemma-3-27b-it", { starts_with: "gemma-3-" })).toBe(false);
    // an exact rule naming the id wins over a fuzzy one
    expect(
      namesOtherProduct("o4-mini-deep-research", { or: [contains, { equals: "o4-mini-deep-research" }] }),
    ).toBe(false);
  });
});

describe("case kimi-coding-k2p5: Kimi Coding's k2p5 is Kimi K2.5 at Moonshot's list price", () => {
  for (const mode of ["auto", "calculate", "recorded"] as const) {
    it(`${mode}: telegram:5552001 3 calls $0.055, none unknown (was $0.943, 2 unknown)`, async () => {
      const { s, world } = await meterCase("kimi-coding-k2p5", mode);
      expect(s).toMatchObject({ billed: 3 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5552001",
          requests: 3,
          costUsd: "0.055",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  it.each([
    ["kimi-coding", "k2p5"],
    ["kimi-coding", "kimi-k2p5"],
    ["kimi-coding", "K2P5"],
    ["moonshot", "kimi-k2p5"],
    ["my-proxy", "k2p5"],
  ])("%s/%s is priced as kimi-k2.5", (provider, model) => {
    expect(io(provider, model)).toEqual(io("moonshot", "kimi-k2.5"));
    expect(io(provider, model)).toEqual([r("0.6"), r("3"), r("0.1")]);
  });

  it("names only the p-spelled Kimi versions; other hosts and ids are unchanged", () => {
    expect(kimiDottedName("k2p5")).toBe("kimi-k2.5");
    expect(kimiDottedName("kimi-k2p6-thinking")).toBe("kimi-k2.6-thinking");
    expect(kimiDottedName("kimi-for-coding")).toBeNull();
    expect(kimiDottedName("gpt-4o")).toBeNull();
    // Fireworks lists its own ids (accounts/fireworks/models/kimi-k2p5): a bare id is not one
    expect(io("fireworks", "kimi-k2p5")).toBeNull();
    expect(io("kimi-coding", "kimi-for-coding")).toBeNull();
  });
});
