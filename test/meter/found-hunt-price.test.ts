import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findPriceCorrection } from "../../src/meter/price-corrections.js";
import {
  CORRECTED_TABLE_VERSION,
  claudeShortNameModel,
  claudeVersionFirstModel,
  clearTablePriceCache,
  createPricer,
  fastModeMultiple,
  findTablePrice,
  OPENCODE_FREE_VERSION,
  openAiEffortBase,
  parsePriceOverrides,
  TABLE_VERSION,
  thinkingModeBase,
} from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** test/cases built from public bug reports of wrong prices (hunt-price). */
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

const FEB_2026 = Date.UTC(2026, 1, 10, 9);
const pricer = (mode: CostMode = "calculate", overrides: Record<string, unknown> = {}) =>
  createPricer({ mode, overrides: parsePriceOverrides(overrides, "test"), fallback: FALLBACK });
const call = (provider: string, model: string, over: Partial<ParsedUsage> = {}): ParsedUsage =>
  parsedUsage({ provider, model, api: "anthropic-messages", messageTsMs: FEB_2026, ...over });
/** USD per 1M tokens (decimal string) → pico-USD per token. */
const r = (usd: string) => BigInt(Math.round(Number(usd) * 1e6));

describe("case platform-sonnet-long-context-tier: Sonnet 4 / 4.5 above 200K on Bedrock and Vertex at the long-context rates", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5551101 4 calls $1.92, not $1.01415`, async () => {
      const { s, world } = await meterCase("platform-sonnet-long-context-tier", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551101",
          requests: 4,
          costUsd: "1.92",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
  it("recorded: OpenClaw's flat estimates as written, $0.9915", async () => {
    const { world } = await meterCase("platform-sonnet-long-context-tier", "recorded");
    expect(queryUsage(world.db, { by: "user" })).toEqual([
      expect.objectContaining({ key: "telegram:5551101", requests: 4, costUsd: "0.9915" }),
    ]);
  });
});

describe("long-context tier on the platforms' Sonnet 4 / 4.5 entries", () => {
  const global4 = { input: "6", output: "22.5", cacheRead: "0.6", cacheWrite: "7.5" };
  const regional45 = { input: "6.6", output: "24.75", cacheRead: "0.66", cacheWrite: "8.25" };
  it.each([
    ["amazon-bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", regional45],
    ["amazon-bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", regional45],
    ["amazon-bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", regional45],
    ["amazon-bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", global4],
    ["amazon-bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0[1m]", global4],
    ["amazon-bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", global4],
    ["amazon-bedrock", "apac.anthropic.claude-sonnet-4-20250514-v1:0", global4],
    ["amazon-bedrock", "global.anthropic.claude-sonnet-4-20250514-v1:0", global4],
    ["google-vertex", "claude-sonnet-4@20250514", global4],
    ["openrouter", "anthropic/claude-sonnet-4", global4],
  ])("%s/%s: a call above 200K input tokens is billed wholly at the tier", (provider, model, t) => {
    const p = pricer();
    const u = call(provider, model, { input: 1, cacheRead: 190_000, cacheWrite: 10_000, output: 1_000 });
    const q = p.price(u);
    expect(q).toMatchObject({ source: "table", unknownModel: false, version: CORRECTED_TABLE_VERSION });
    expect(q.costPicoUsd).toBe(
      1n * r(t.input) + 190_000n * r(t.cacheRead) + 10_000n * r(t.cacheWrite) + 1_000n * r(t.output),
    );
    // exactly 200K is not above it: the base rates
    const at = p.price({ ...u, cacheWrite: 9_999 });
    const base = findTablePrice(provider, model, FEB_2026);
    expect(base).not.toBeNull();
    if (!base) return;
    expect(at.costPicoUsd).toBe(
      1n * base.input.base +
        190_000n * base.cacheRead.base +
        9_999n * base.cacheWrite.base +
        1_000n * base.output.base,
    );
  });

  it("a 1-hour cache write above 200K is at 2× the long-context input (Bedrock regional 4.5: $13.20)", () => {
    const rates = findTablePrice("amazon-bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", FEB_2026);
    expect(rates?.cacheWrite1h.tiers).toEqual([{ above: 200_000, rate: r("13.2") }]);
    const g = findTablePrice("amazon-bedrock", "global.anthropic.claude-sonnet-4-20250514-v1:0", FEB_2026);
    expect(g?.cacheWrite1h.tiers).toEqual([{ above: 200_000, rate: r("12") }]);
  });

  it("Sonnet 4.6 on Bedrock stays flat at every size (standard pricing across its 1M window)", () => {
    for (const model of ["global.anthropic.claude-sonnet-4-6", "us.anthropic.claude-sonnet-4-6"]) {
      const rates = findTablePrice("amazon-bedrock", model, Date.UTC(2026, 5, 1));
      expect(rates?.input.tiers).toEqual([]);
    }
    expect(findPriceCorrection("aws", "regional.anthropic.claude-sonnet-4-6-v1:0")).toBeUndefined();
  });

  it("an entry the table already tiers is left as the table has it (Vertex and OpenRouter Sonnet 4.5)", () => {
    for (const [provider, model] of [
      ["google-vertex", "claude-sonnet-4-5@20250929"],
      ["openrouter", "anthropic/claude-sonnet-4.5"],
    ] as const) {
      const rates = findTablePrice(provider, model, FEB_2026);
      expect(rates?.input.tiers).toEqual([{ above: 200_000, rate: r("6") }]);
    }
    const q = pricer().price(call("google-vertex", "claude-sonnet-4-5@20250929", { input: 300_000 }));
    expect(q.version).toBe(TABLE_VERSION);
  });

  it("an operator override of the model still wins", () => {
    const p = pricer("calculate", {
      "amazon-bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0": {
        input: "3",
        output: "15",
        cacheRead: "0.3",
        cacheWrite: "3.75",
      },
    });
    const q = p.price(
      call("amazon-bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", { input: 300_000 }),
    );
    expect(q.costPicoUsd).toBe(300_000n * r("3"));
    expect(q.source).toBe("override");
  });
});

describe("case claude-cli-short-model-names: OpenClaw's Claude CLI ids (`opus-4.6`) priced as the Claude model they name", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551201 3 calls $0.141086, none unknown (not $0.60057 at the fallback)`, async () => {
      const { s, world } = await meterCase("claude-cli-short-model-names", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551201",
          requests: 3,
          costUsd: "0.141086",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
});

describe("case claude-version-first-model-ids: `claude-4.5-sonnet` priced as the Claude model it names", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551401 3 calls $0.1245, none unknown (not $0.4125 at the fallback)`, async () => {
      const { s, world } = await meterCase("claude-version-first-model-ids", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551401",
          requests: 3,
          costUsd: "0.1245",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  it.each([
    ["claude-4.5-sonnet", "claude-sonnet-4-5"],
    ["claude-4-5-sonnet-20250929", "claude-sonnet-4-5-20250929"],
    ["Claude-4.6-Sonnet-Thinking", "claude-sonnet-4-6-thinking"],
    ["claude-4.1-opus", "claude-opus-4-1"],
    ["claude-4-sonnet", "claude-sonnet-4"],
    ["anthropic/claude-4.6-sonnet", "anthropic/claude-sonnet-4-6"],
    ["claude-4.6-sonnet@20260217", "claude-sonnet-4-6@20260217"],
  ])("%s → %s", (id, named) => {
    expect(claudeVersionFirstModel(id)).toBe(named);
  });
  it.each([
    "claude-3-5-sonnet",
    "claude-3.7-sonnet",
    "claude-sonnet-4-5",
    "claude-4.5",
    "sonnet-4.5",
    "claude-4.5-sonnetx",
  ])("%s is no such id", (id) => {
    expect(claudeVersionFirstModel(id)).toBeNull();
  });

  it("priced exactly like Anthropic's id, its long-context tier too", () => {
    const p = pricer();
    const long = { input: 150_000, output: 2_000, cacheRead: 100_000, cacheWrite: 0 };
    for (const [id, named] of [
      ["claude-4.5-sonnet", "claude-sonnet-4-5"],
      ["claude-4.6-sonnet", "claude-sonnet-4-6"],
      ["claude-4.1-opus", "claude-opus-4-1"],
    ] as const) {
      for (const provider of ["anthropic", "litellm"]) {
        const q = p.price(call(provider, id, long));
        expect(q).toMatchObject({ unknownModel: false });
        expect(q.costPicoUsd).toBe(p.price(call("anthropic", named, long)).costPicoUsd);
      }
    }
    // Sonnet 4.5 above 200K: the whole call at $6 / $22.50 / $0.60
    expect(p.price(call("litellm", "claude-4.5-sonnet", long)).costPicoUsd).toBe(
      150_000n * r("6") + 2_000n * r("22.5") + 100_000n * r("0.6"),
    );
  });
});

describe("case openai-reasoning-effort-model-ids: `gpt-5-codex-high` priced as the model, the effort as output", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551402 3 calls $0.1485, none unknown (not $1.305 at the fallback)`, async () => {
      const { s, world } = await meterCase("openai-reasoning-effort-model-ids", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551402",
          requests: 3,
          costUsd: "0.1485",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  it.each([
    ["gpt-5-codex-high", "gpt-5-codex"],
    ["gpt-5-codex(high)", "gpt-5-codex"],
    ["gpt-5.1-codex-max-xhigh", "gpt-5.1-codex-max"],
    ["gpt-5.2-none", "gpt-5.2"],
    ["GPT-5-Mini-Minimal", "GPT-5-Mini"],
    ["o3-high", "o3"],
    ["openai/gpt-5-medium", "openai/gpt-5"],
  ])("%s → %s", (id, base) => {
    expect(openAiEffortBase(id)).toBe(base);
  });
  it.each([
    "gpt-5",
    "gpt-4o-mini-high",
    "claude-opus-4-5-high",
    "gemini-3.1-pro-high",
    "gpt-5-highlight",
    "o3",
  ])("%s is no such id", (id) => {
    expect(openAiEffortBase(id)).toBeNull();
  });

  it("priced exactly like the model; ChatGPT's o4-mini-high keeps its own table entry", () => {
    const p = pricer();
    const tokens = { input: 300_000, output: 2_000, cacheRead: 50_000, cacheWrite: 0 };
    for (const [id, base] of [
      ["gpt-5-codex-high", "gpt-5-codex"],
      ["gpt-5.4-xhigh", "gpt-5.4"],
      ["o3-high", "o3"],
    ] as const) {
      const q = p.price(call("cliproxy", id, { api: "openai-responses", ...tokens }));
      expect(q).toMatchObject({ unknownModel: false });
      expect(q.costPicoUsd).toBe(
        p.price(call("openai", base, { api: "openai-responses", ...tokens })).costPicoUsd,
      );
    }
    expect(p.price(call("litellm", "o4-mini-high", tokens)).costPicoUsd).toBe(
      p.price(call("openai", "o4-mini-high", tokens)).costPicoUsd,
    );
  });
});

describe("case proxy-thinking-suffix-model-ids: `gemini-2.5-flash-thinking` priced as the model, thinking as output", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551931 4 calls $0.1213, none unknown (not $1.83 at the fallback)`, async () => {
      const { s, world } = await meterCase("proxy-thinking-suffix-model-ids", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551931",
          requests: 4,
          costUsd: "0.1213",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  it.each([
    ["gemini-2.5-flash-thinking", "gemini-2.5-flash"],
    ["gemini-2.5-flash-nothinking", "gemini-2.5-flash"],
    ["gemini-2.5-flash-non-thinking", "gemini-2.5-flash"],
    ["gemini-3-pro-preview-thinking-512", "gemini-3-pro-preview"],
    ["gemini-2.5-pro-thinking-32k", "gemini-2.5-pro"],
    ["gemini-2.5-flash (thinking)", "gemini-2.5-flash"],
    ["ollama/gemini-2.5-flash-thinking", "ollama/gemini-2.5-flash"],
    ["zai/glm-4.7:thinking", "zai/glm-4.7"],
    ["glm-5:thinking", "glm-5"],
    ["kimi-k2.6:thinking", "kimi-k2.6"],
    ["gpt-5.1-thinking", "gpt-5.1"],
    ["o3-think", "o3"],
    ["Grok-4:Thinking", "Grok-4"],
    ["claude-4.5-sonnet:thinking", "claude-4.5-sonnet"],
    ["claude-opus-4-8-thinking-high", "claude-opus-4-8"],
  ])("%s → %s", (id, base) => {
    expect(thinkingModeBase(id)).toBe(base);
  });
  it.each([
    "gemini-2.5-flash",
    "qwen3-235b-a22b-thinking-2507",
    "qwen3-max-thinking",
    "kimi-k2-thinking",
    "gemini-2.0-flash-thinking-exp",
    "gemini-2.5-flash-preview-05-20-thinking",
    "deepseek-chat-thinking",
    "gpt-4o-thinking",
    "thinking",
  ])("%s is no such id", (id) => {
    expect(thinkingModeBase(id)).toBeNull();
  });

  it("priced exactly like the model; an id the table knows and OpenRouter's `:thinking` slugs keep their own", () => {
    const p = pricer();
    const tokens = { input: 30_000, output: 4_000, cacheRead: 10_000, cacheWrite: 0 };
    for (const [id, provider, base] of [
      ["gemini-2.5-flash-thinking", "google", "gemini-2.5-flash"],
      ["gemini-3-pro-thinking", "google", "gemini-3-pro-preview"],
      ["claude-4.5-sonnet:thinking", "anthropic", "claude-sonnet-4-5"],
      ["gpt-5:thinking", "openai", "gpt-5"],
      ["grok-4-thinking", "xai", "grok-4"],
    ] as const) {
      const q = p.price(call("cliproxy", id, { api: "openai-completions", ...tokens }));
      expect(q).toMatchObject({ unknownModel: false });
      expect(q.costPicoUsd).toBe(
        p.price(call(provider, base, { api: "openai-completions", ...tokens })).costPicoUsd,
      );
    }
    // the table's own entry for a `-thinking` model (Moonshot's Kimi K2 Thinking) stands
    expect(findTablePrice("moonshot", "kimi-k2-thinking", FEB_2026)).toEqual(
      findTablePrice("moonshotai", "kimi-k2-thinking", FEB_2026),
    );
    // an OpenRouter `:thinking` slug is not stripped: unknown, as before
    expect(p.price(call("openrouter", "google/gemini-2.5-flash:thinking", tokens))).toMatchObject({
      unknownModel: true,
    });
  });
});

describe("case bedrock-govcloud-claude-price: Claude Sonnet 4.5 in AWS GovCloud at 1.2× the global price", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5551932 2 calls $0.225, not the commercial regional $0.20625`, async () => {
      const { s, world } = await meterCase("bedrock-govcloud-claude-price", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551932",
          requests: 2,
          costUsd: "0.225",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  it("AWS's GovCloud list for Sonnet 4.5 ($3.60 / $18 / $4.50 5m / $7.20 1h / $0.36); other shapes", () => {
    const id = "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0";
    const rates = findTablePrice("amazon-bedrock", id, FEB_2026);
    expect(rates).toMatchObject({
      input: { base: r("3.6") },
      output: { base: r("18") },
      cacheWrite: { base: r("4.5") },
      cacheWrite1h: { base: r("7.2") },
      cacheRead: { base: r("0.36") },
    });
    const p = pricer();
    const tokens = { input: 10_000, output: 1_000, cacheRead: 0, cacheWrite: 0 };
    const cost = (provider: string, model: string) =>
      p.price(call(provider, model, { api: "bedrock-converse-stream", ...tokens })).costPicoUsd;
    // 10,000 × $3.60 + 1,000 × $18 per 1M
    expect(cost("amazon-bedrock", id)).toBe(10_000n * r("3.6") + 1_000n * r("18"));
    // an inference-profile ARN and a proxy's `bedrock/…` name the same call
    expect(cost("amazon-bedrock", `arn:aws:bedrock:us-gov-west-1:123456789012:inference-profile/${id}`)).toBe(
      cost("amazon-bedrock", id),
    );
    expect(cost("litellm", `bedrock/${id}`)).toBe(cost("amazon-bedrock", id));
    // commercial regional stays 1.1×; a Claude whose regional and global prices are one keeps the table's
    expect(
      findTablePrice("amazon-bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", FEB_2026),
    ).toMatchObject({ input: { base: r("3.3") } });
    expect(
      findTablePrice("amazon-bedrock", "us-gov.anthropic.claude-sonnet-4-20250514-v1:0", FEB_2026),
    ).toMatchObject({ input: { base: r("3") } });
  });
});

describe("claudeShortNameModel: a Claude CLI alias with a version names Anthropic's model id", () => {
  it.each([
    ["opus-4.6", "claude-opus-4-6"],
    ["Opus-4.7", "claude-opus-4-7"],
    ["sonnet-4.5", "claude-sonnet-4-5"],
    ["sonnet-4-5", "claude-sonnet-4-5"],
    ["sonnet-4.0", "claude-sonnet-4-0"],
    ["opus-4", "claude-opus-4"],
    ["haiku-4.5", "claude-haiku-4-5"],
    ["haiku-3.5", "claude-3-5-haiku"],
    ["sonnet-3.7", "claude-3-7-sonnet"],
    ["opus-4.6[1m]", "claude-opus-4-6"],
  ])("%s → %s", (alias, id) => {
    expect(claudeShortNameModel(alias)).toBe(id);
  });
  it.each([
    "opus",
    "sonnet",
    "haiku",
    "default",
    "gpt-4o",
    "claude-opus-4-6",
    "opus-4.6-extra",
    "anthropic/opus-4.6",
  ])("%s is no such name", (name) => {
    expect(claudeShortNameModel(name)).toBeNull();
  });

  it("priced exactly like the full id, on claude-cli and anthropic; a bare alias stays unknown", () => {
    const p = pricer();
    const tokens = { input: 100, output: 900, cacheRead: 40_000, cacheWrite: 6_000 };
    for (const [alias, id] of [
      ["opus-4.6", "claude-opus-4-6"],
      ["sonnet-4.6", "claude-sonnet-4-6"],
      ["haiku-4.5", "claude-haiku-4-5"],
      ["opus-4.5", "claude-opus-4-5"],
    ] as const) {
      for (const provider of ["claude-cli", "anthropic"]) {
        const q = p.price(call(provider, alias, { api: "cli", ...tokens }));
        expect(q).toMatchObject({ unknownModel: false });
        expect(q.costPicoUsd).toBe(p.price(call("anthropic", id, tokens)).costPicoUsd);
      }
    }
    expect(p.price(call("claude-cli", "opus", tokens)).unknownModel).toBe(true);
  });

  it("Opus 4.6's long-context premium by the call's date, whichever date is priced first", () => {
    const before = Date.UTC(2026, 2, 1);
    const after = Date.UTC(2026, 5, 1);
    for (const order of [
      [before, after],
      [after, before],
    ]) {
      clearTablePriceCache();
      const p = pricer();
      const got = order.map(
        (t) =>
          // `[1m]`: Claude's 1M-context option, without which no CLI request (and no tier) passes 200K
          p.price(call("claude-cli", "opus-4.6[1m]", { input: 250_000, output: 0, messageTsMs: t }))
            .costPicoUsd,
      );
      expect(got).toEqual(order.map((t) => (t === before ? 250_000n * r("10") : 250_000n * r("5"))));
    }
  });

  it("a model the table knows under the alias itself keeps the table's entry (the alias path is a fallback)", () => {
    // `claude-opus-4-6` is found directly: the short-name path is never consulted
    expect(findTablePrice("claude-cli", "claude-opus-4-6", FEB_2026)).toEqual(
      findTablePrice("claude-cli", "opus-4.6", FEB_2026),
    );
  });
});

describe("fast mode on a Claude CLI id", () => {
  it("opus-4.6 on claude-cli has Opus 4.6's 6× until 2026-06-29, opus-4.8 2×; other providers 1×", () => {
    expect(fastModeMultiple("claude-cli", "opus-4.6", Date.UTC(2026, 3, 2))).toBe(6n);
    expect(fastModeMultiple("claude-cli", "opus-4.6", Date.UTC(2026, 6, 1))).toBe(1n);
    expect(fastModeMultiple("claude-cli", "opus-4.8", Date.UTC(2026, 6, 1))).toBe(2n);
    expect(fastModeMultiple("amazon-bedrock", "opus-4.8", Date.UTC(2026, 6, 1))).toBe(1n);
  });
});

describe("xAI Grok 4 / 4 Fast above 128K prompt tokens at the doubled rates", () => {
  it.each([
    ["grok-4", "3", "15", "6", "30", "0.75"],
    ["grok-4-0709", "3", "15", "6", "30", "0.75"],
    ["grok-4-fast", "0.2", "0.5", "0.4", "1", "0.05"],
    ["grok-4-fast-non-reasoning", "0.2", "0.5", "0.4", "1", "0.05"],
    ["grok-4-1-fast", "0.2", "0.5", "0.4", "1", "0.05"],
    ["grok-4-1-fast-non-reasoning", "0.2", "0.5", "0.4", "1", "0.05"],
  ])(
    "xai/%s: base ≤128K, the whole call doubled above (cached input at its base)",
    (model, inB, outB, inT, outT, cached) => {
      const p = pricer();
      const small = call("xai", model, {
        api: "openai-responses",
        input: 28_000,
        cacheRead: 100_000,
        output: 2_000,
      });
      expect(p.price(small).costPicoUsd).toBe(28_000n * r(inB) + 100_000n * r(cached) + 2_000n * r(outB));
      const long = { ...small, input: 28_001 };
      const q = p.price(long);
      expect(q.version).toBe(CORRECTED_TABLE_VERSION);
      expect(q.costPicoUsd).toBe(28_001n * r(inT) + 100_000n * r(cached) + 2_000n * r(outT));
    },
  );

  it("Grok 4.20 keeps the table's own ≥200K tier (no correction)", () => {
    expect(findPriceCorrection("x-ai", "grok-4.20")).toBeUndefined();
    expect(findTablePrice("xai", "grok-4.20", FEB_2026)?.input.tiers).toEqual([
      { above: 199_999, rate: r("2.5") },
    ]);
  });
});

describe("case openai-priority-multiple-per-model: a priority call at OpenAI's own multiple of its model", () => {
  for (const [mode, usd] of [
    ["auto", "0.3764"],
    ["recorded", "0.35388"],
    ["calculate", "0.17694"],
  ] as const) {
    it(`${mode}: telegram:5550711 6 calls $${usd}${mode === "auto" ? ", not pi-ai's 2× ($0.35388)" : ""}`, async () => {
      const { s, world } = await meterCase("openai-priority-multiple-per-model", mode);
      expect(s).toMatchObject({ billed: 6, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5550711",
          requests: 6,
          costUsd: usd,
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  const OCT_2026 = Date.UTC(2026, 9, 5, 9);
  /** A priority call whose estimate is `estimateMultiple` × its list price (what pi-ai wrote). */
  const priority = (provider: string, model: string, estimateMultiple: number, api = "openai-responses") => {
    const base = parsedUsage({ provider, model, api, messageTsMs: OCT_2026, input: 10_000, output: 1_000 });
    const list = pricer().price(base).costPicoUsd;
    expect(list).toBeGreaterThan(0n);
    const q = pricer("auto").price({ ...base, recordedCostUsd: (Number(list) / 1e12) * estimateMultiple });
    return { list, q };
  };
  it.each([
    ["openai", "gpt-4.1", 2, 7, 4],
    ["openai", "gpt-4.1-2025-04-14", 2, 7, 4],
    ["openai", "gpt-4.1-mini", 2, 7, 4],
    ["openai", "o3", 2, 7, 4],
    ["openai", "gpt-4o", 2, 17, 10],
    ["openai", "gpt-4o-2024-08-06", 2, 17, 10],
    ["openai", "gpt-4o-mini", 2, 5, 3],
    ["openai", "gpt-5-mini", 2, 9, 5],
    ["openai", "o4-mini", 2, 20, 11],
    ["openai", "gpt-5.5", 2.5, 5, 2],
    ["openai", "gpt-5.5", 2, 5, 2],
    ["openai", "gpt-5.5-2026-04-23", 2, 5, 2],
    ["openai", "gpt-5.5-pro", 2, 2, 1],
    ["openai", "gpt-5", 2, 2, 1],
    ["openai", "gpt-5.4", 2, 2, 1],
    ["openai", "gpt-4.1-nano", 2, 2, 1],
    ["azure-openai-responses", "gpt-4.1", 2, 7, 4],
  ])("%s/%s, estimate %s× list: billed list × %i/%i", (provider, model, est, num, den) => {
    const { list, q } = priority(provider, model, est);
    expect(q.version).toContain("+service-tier:priority");
    expect(q.costPicoUsd).toBe((list * BigInt(num) + BigInt(den) - 1n) / BigInt(den));
  });
  it("flex stays 0.5× list on every model", () => {
    for (const model of ["gpt-4.1", "gpt-5-mini", "o4-mini", "gpt-5.2"]) {
      const { list, q } = priority("openai", model, 0.5);
      expect(q.version).toContain("+service-tier:flex");
      expect(q.costPicoUsd).toBe((list + 1n) / 2n);
    }
  });
});

describe("case opencode-zen-free-models: OpenCode Zen's free models cost $0", () => {
  for (const mode of ["auto", "calculate", "recorded"] as const) {
    it(`${mode}: telegram:5550721 4 calls $0.0135, none unknown (not $0.9325)`, async () => {
      const { s, world } = await meterCase("opencode-zen-free-models", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5550721",
          requests: 4,
          costUsd: "0.0135",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  const FEB = Date.UTC(2026, 1, 10, 10);
  const zen = (provider: string, model: string) =>
    parsedUsage({
      provider,
      model,
      api: "openai-completions",
      messageTsMs: FEB,
      input: 20_000,
      output: 2_000,
    });
  it.each([
    ["opencode", "kimi-k2.5-free"],
    ["opencode", "minimax-m2.5-free"],
    ["opencode", "GLM-5-Free"],
    ["opencode", "big-pickle"],
    ["opencode", "opencode/big-pickle"],
    ["opencode-zen", "kimi-k2.5-free"],
  ])("%s/%s is free in every mode", (provider, model) => {
    for (const mode of ["auto", "calculate", "recorded"] as const) {
      const q = pricer(mode).price(zen(provider, model));
      expect(q).toMatchObject({
        costPicoUsd: 0n,
        source: "table",
        version: OPENCODE_FREE_VERSION,
        unknownModel: false,
      });
    }
  });
  it("paid Zen models, another provider's -free id and an override keep their prices", () => {
    expect(pricer().price(zen("opencode", "claude-sonnet-4-5")).costPicoUsd).toBe(
      20_000n * 3_000_000n + 2_000n * 15_000_000n,
    );
    expect(pricer().price(zen("opencode", "kimi-k2.5")).version).not.toBe(OPENCODE_FREE_VERSION);
    expect(pricer().price(zen("my-proxy", "kimi-k2.5-free")).version).not.toBe(OPENCODE_FREE_VERSION);
    const o = { "opencode/*": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" } };
    expect(pricer("calculate", o).price(zen("opencode", "big-pickle"))).toMatchObject({
      costPicoUsd: 22_000n * 1_000_000n,
      source: "override",
    });
  });
  it("a provider-billed cost of a Zen free model is still billed in auto", () => {
    const q = pricer("auto").price({
      ...zen("opencode", "big-pickle"),
      recordedCostUsd: 0.01,
      recordedCostOrigin: "provider-billed",
    });
    expect(q).toMatchObject({ costPicoUsd: 10_000_000_000n, source: "provider-billed" });
  });
});
