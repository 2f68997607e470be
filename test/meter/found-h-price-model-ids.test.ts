import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** test/cases built from public bug reports of wrong prices (h-price, 2026-12-04). */
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
// An Amazon Bedrock model id on a provider that is not `amazon-bedrock` (a LiteLLM proxy, AWS's
// Bedrock Access Gateway, a custom provider, Claude Code on Bedrock)
// ---------------------------------------------------------------------------------------------

describe("case bedrock-model-id-behind-proxy: a Bedrock id is priced at Bedrock's price on any provider", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551431 3 calls $0.31275, not $3.4875 at the fallback`, async () => {
      const { s, world } = await meterCase("bedrock-model-id-behind-proxy", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551431",
          requests: 3,
          costUsd: "0.31275",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  const at = Date.parse("2026-11-12T09:00:00Z");
  const cost = (provider: string, model: string, input = 100_000, output = 10_000) => {
    const q = pricer().price(
      parsedUsage({ provider, model, api: "openai-completions", messageTsMs: at, input, output }),
    );
    return { cost: q.costPicoUsd, unknown: q.unknownModel };
  };

  it("every Bedrock spelling costs what it costs on amazon-bedrock, on any provider id", () => {
    const ids = [
      "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
      "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
      "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
      "anthropic.claude-3-5-sonnet-20241022-v2:0",
      "apac.anthropic.claude-3-7-sonnet-20250219-v1:0",
      "us.anthropic.claude-opus-4-1-20250805-v1:0",
      "anthropic.claude-opus-4-6-v1",
      "us.amazon.nova-pro-v1:0",
      "amazon.nova-lite-v1:0",
      "us.meta.llama3-3-70b-instruct-v1:0",
      "us.deepseek.r1-v1:0",
      "openai.gpt-oss-120b-1:0",
      "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
      // GovCloud keeps its own premium (1.2× the global price)
      "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ];
    for (const id of ids) {
      const onBedrock = cost("amazon-bedrock", id);
      expect(onBedrock.unknown, id).toBe(false);
      for (const provider of [
        "litellm",
        "bedrock-access-gateway",
        "my-proxy",
        "openai-compatible",
        "claude-cli",
      ])
        expect(cost(provider, id), `${provider} ${id}`).toEqual(onBedrock);
    }
    // Sonnet 4.5 through the us. profile: Bedrock's regional 10% premium, $3.30 / $16.50
    expect(cost("litellm", "us.anthropic.claude-sonnet-4-5-20250929-v1:0").cost).toBe(
      100_000n * 3_300_000n + 10_000n * 16_500_000n,
    );
  });

  it("a Bedrock Sonnet 4.5 id past 200K input keeps Bedrock's long-context tier", () => {
    const onBedrock = cost(
      "amazon-bedrock",
      "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
      250_000,
      1_000,
    );
    expect(cost("litellm", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", 250_000, 1_000)).toEqual(
      onBedrock,
    );
    expect(onBedrock.cost).toBe(250_000n * 6_000_000n + 1_000n * 22_500_000n);
  });

  it("not Bedrock's shape: another platform's vendor.model id without a version stays unknown", () => {
    // Oracle's OCI Generative AI names models `meta.llama-3.1-70b-instruct`, at its own prices
    expect(cost("litellm", "meta.llama-3.1-70b-instruct").unknown).toBe(true);
    // a Bedrock application inference profile names no model
    expect(
      cost("litellm", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6")
        .unknown,
    ).toBe(true);
  });

  it("an override of the id as written still wins", () => {
    const id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const q = pricer("calculate", {
      [`litellm/${id}`]: { input: "1", output: "1", cacheRead: "0", cacheWrite: "0" },
    }).price(parsedUsage({ provider: "litellm", model: id, messageTsMs: at, input: 1_000_000 }));
    expect(q).toMatchObject({ source: "override", costPicoUsd: 1_000_000n * 1_000_000n });
  });
});

// ---------------------------------------------------------------------------------------------
// Claude Code's `[1m]` context label on a model id the table matches exactly (`claude-opus-5`)
// ---------------------------------------------------------------------------------------------

describe("case claude-context-label-model-id: `claude-opus-5[1m]` is Claude Opus 5", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551432 3 calls $0.69035, not $1.3581 at the fallback`, async () => {
      const { s, world } = await meterCase("claude-context-label-model-id", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551432",
          requests: 3,
          costUsd: "0.69035",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  const at = Date.parse("2026-11-12T09:00:00Z");
  const quote = (provider: string, model: string, extra: Partial<Parameters<typeof parsedUsage>[0]> = {}) =>
    pricer().price(
      parsedUsage({
        provider,
        model,
        messageTsMs: at,
        input: 100_000,
        output: 10_000,
        cacheRead: 50_000,
        ...extra,
      }),
    );

  it("the label prices as the model without it, on every provider and spelling", () => {
    for (const [provider, model] of [
      ["anthropic", "claude-opus-5"],
      ["anthropic", "claude-opus-5-20260901"],
      ["anthropic", "claude-fable-5"],
      ["anthropic", "claude-sonnet-4-5"],
      ["claude-cli", "claude-opus-5"],
      ["litellm", "anthropic/claude-opus-5"],
      ["openrouter", "anthropic/claude-opus-5"],
    ] as const) {
      const bare = quote(provider, model);
      expect(bare.unknownModel, `${provider} ${model}`).toBe(false);
      for (const label of ["[1m]", "[1M]", " [1m]"]) {
        const q = quote(provider, `${model}${label}`);
        expect({ cost: q.costPicoUsd, unknown: q.unknownModel }, `${provider} ${model}${label}`).toEqual({
          cost: bare.costPicoUsd,
          unknown: false,
        });
      }
    }
  });

  it("a fast-mode call with the label is billed at its model's fast multiple", () => {
    const std = quote("claude-cli", "claude-opus-5").costPicoUsd;
    const fast = quote("claude-cli", "claude-opus-5[1m]", { speed: "fast" });
    expect(fast.costPicoUsd).toBe(2n * std);
    expect(fast.version).toContain("+speed:fast");
  });

  it("a label does not make an unknown model known", () => {
    expect(quote("anthropic", "claude-nonesuch-9[1m]").unknownModel).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// A Vertex AI `@version` on an id the table matches exactly, on `anthropic-vertex` or a proxy
// ---------------------------------------------------------------------------------------------

describe("case vertex-version-suffix-model-id: `claude-opus-5@20260901` is Claude Opus 5", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551433 3 calls $0.495, no unknown model (before $0.885, 3 unknown)`, async () => {
      const { s, world } = await meterCase("vertex-version-suffix-model-id", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551433",
          requests: 3,
          costUsd: "0.495",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  const at = Date.parse("2026-11-12T09:00:00Z");
  const quote = (provider: string, model: string) =>
    pricer().price(parsedUsage({ provider, model, messageTsMs: at, input: 100_000, output: 10_000 }));

  it("the version prices as the id without it, on anthropic-vertex, a proxy and google-vertex alike", () => {
    for (const [model, bare] of [
      ["claude-opus-5@20260901", "claude-opus-5"],
      ["claude-fable-5@20261001", "claude-fable-5"],
      ["claude-opus-4@20250514", "claude-opus-4"],
      ["claude-opus-5@20260901[1m]", "claude-opus-5"],
    ] as const) {
      const want = quote("anthropic", bare);
      expect(want.unknownModel).toBe(false);
      for (const provider of ["anthropic-vertex", "litellm", "google-vertex"]) {
        const q = quote(provider, model);
        expect({ cost: q.costPicoUsd, unknown: q.unknownModel }, `${provider} ${model}`).toEqual({
          cost: want.costPicoUsd,
          unknown: false,
        });
      }
    }
  });

  it("a Workers AI `@cf/…` id is untouched, and a version does not make an unknown model known", () => {
    expect(quote("cloudflare", "@cf/meta/llama-3.1-8b-instruct").unknownModel).toBe(false);
    expect(quote("anthropic-vertex", "claude-nonesuch@20250101").unknownModel).toBe(true);
  });
});
