import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { createPushIngester } from "../../src/ingest/index.js";
import { pushEventSchema } from "../../src/ingest/push.js";
import { parseLine } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { meterCaseDir, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * test/cases of charges a usage object reports beyond its token counts (h-parse, 2026-12-04):
 * providers' own billed costs (xAI `cost_in_usd_ticks`, Perplexity `cost.total_cost`) and per-use
 * fees (xAI server-side tools, sonar-deep-research's citations, reasoning and searches).
 */
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

const T = Date.parse("2026-11-20T10:00:00Z");

function message(usage: Record<string, unknown>, over: Record<string, unknown> = {}) {
  return {
    role: "assistant",
    api: "openai-completions",
    provider: "xai",
    model: "grok-4-1-fast-reasoning",
    usage,
    stopReason: "stop",
    timestamp: T,
    ...over,
  };
}

function parsed(usage: Record<string, unknown>, over: Record<string, unknown> = {}): ParsedUsage {
  const r = parseLine(
    JSON.stringify({ type: "message", timestamp: new Date(T).toISOString(), message: message(usage, over) }),
  );
  if (r.kind !== "usage") throw new Error(`not usage: ${r.kind}`);
  return r.usage;
}

const price = (u: ParsedUsage, mode: CostMode) =>
  createPricer({ mode, overrides: parsePriceOverrides({}, "test"), fallback: FALLBACK }).price(u);

describe("case usage-provider-reported-cost: xAI's and Perplexity's own billed cost is what the call cost", () => {
  // the sonar-pro call's list price at its low search context's fee ($6 / 1000) since 2026-12-05
  // (case usage-perplexity-search-context-fee; $0.0790201 before, its fee the table's $14)
  it("calculate: list prices only (3 calls $0.0710201)", async () => {
    const { s, world } = await meterCase("usage-provider-reported-cost", "calculate");
    expect(s).toMatchObject({ billed: 3, held: 0, unknownModels: [] });
    expect(queryUsage(world.db, { by: "user" })).toEqual([
      expect.objectContaining({ key: "telegram:5551501", requests: 3, costUsd: "0.0710201" }),
    ]);
  });
  for (const mode of ["auto", "recorded"] as const) {
    it(`${mode}: telegram:5551501 3 calls $0.4523919 (was $0.0790201)`, async () => {
      const { s, world } = await meterCase("usage-provider-reported-cost", mode);
      expect(s).toMatchObject({ billed: 3, held: 0, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551501",
          requests: 3,
          costUsd: "0.4523919",
          providerBilledRequests: 3,
        }),
      ]);
      const rows = world.db
        .prepare("SELECT cost_pico_usd AS c FROM usage_events ORDER BY message_ts_ms")
        .all() as { c: number | bigint }[];
      expect(rows.map((r) => Number(r.c))).toEqual([31_831_900_000, 10_560_000_000, 410_000_000_000]);
    });
  }
});

describe("parse: providers' own billed cost on the usage object", () => {
  it("xAI's cost_in_usd_ticks (10^-10 USD), snake or camel case, wins over OpenClaw's estimate", () => {
    for (const usage of [
      { prompt_tokens: 1000, completion_tokens: 100, cost_in_usd_ticks: 123456789 },
      { inputTokens: 1000, outputTokens: 100, costInUsdTicks: 123456789 },
      { prompt_tokens: 1000, completion_tokens: 100, cost_in_usd_ticks: "123456789" },
      {
        input: 1000,
        output: 100,
        cost: { input: 0.0002, output: 0.00005, total: 0.00025 },
        cost_in_usd_ticks: 123456789,
      },
    ]) {
      const u = parsed(usage);
      expect([u.recordedCostUsd, u.recordedCostOrigin]).toEqual([0.0123456789, "provider-billed"]);
      expect(price(u, "auto").costPicoUsd).toBe(12_345_678_900n);
    }
    // OpenClaw's own provider-billed total keeps its place; an unreadable tick count is no cost
    const own = parsed({
      input: 1000,
      output: 100,
      cost: { total: 0.5, totalOrigin: "provider-billed" },
      cost_in_usd_ticks: 1,
    });
    expect(own.recordedCostUsd).toBe(0.5);
    expect(
      parsed({ prompt_tokens: 1000, completion_tokens: 100, cost_in_usd_ticks: "x" }).recordedCostUsd,
    ).toBeNull();
    expect(
      parsed({ prompt_tokens: 1000, completion_tokens: 100, cost_in_usd_ticks: -5 }).recordedCostUsd,
    ).toBeNull();
  });

  it("Perplexity's cost object: total_cost is provider-billed; an object with OpenClaw's total is OpenClaw's", () => {
    const ppl = { provider: "perplexity", model: "sonar-pro" };
    const u = parsed(
      {
        prompt_tokens: 20,
        completion_tokens: 300,
        cost: {
          input_tokens_cost: 0.00006,
          output_tokens_cost: 0.0045,
          request_cost: 0.006,
          total_cost: 0.01056,
        },
      },
      ppl,
    );
    expect([u.recordedCostUsd, u.recordedCostOrigin]).toEqual([0.01056, "provider-billed"]);
    const est = parsed(
      { input: 20, output: 300, cost: { input: 0.00006, output: 0.0045, total: 0.00456, total_cost: 9 } },
      ppl,
    );
    expect([est.recordedCostUsd, est.recordedCostOrigin]).toEqual([0.00456, null]);
  });
});

describe("case usage-tool-fees-without-cost-held: per-use charges without the provider's cost hold the call", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    // the sonar-pro call (no search context size on its line) at Perplexity's default low fee, $6 /
    // 1000, since 2026-12-05 (case usage-perplexity-default-search-context-fee; $0.018776 before)
    it(`${mode}: 1 call $0.010776 billed, 2 held (was 3 calls $0.04569, the fees never billed)`, async () => {
      const { s, world } = await meterCase("usage-tool-fees-without-cost-held", mode);
      expect(s).toMatchObject({ billed: 1, held: 2, malformed: 0 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551502", requests: 1, costUsd: "0.010776" }),
      ]);
      const held = world.db.prepare("SELECT reason FROM usage_review ORDER BY reason").all() as {
        reason: string;
      }[];
      expect(held.map((r) => r.reason)).toEqual([
        "citation_tokens 7299, reasoning_tokens 73248, num_search_queries 74 billed by the provider beyond the token counts, and no provider-billed cost on the line: not priced",
        "server_side_tool_usage_details.web_search_calls 2 billed by the provider beyond the token counts, and no provider-billed cost on the line: not priced",
      ]);
    });
  }

  it("which counts hold, and which do not", () => {
    expect(parsed({ input_tokens: 10, output_tokens: 5, num_sources_used: 4 }).countProblem).toMatch(
      /^num_sources_used 4 billed/,
    );
    expect(
      parsed({ input_tokens: 10, output_tokens: 5, num_server_side_tools_used: 1 }).countProblem,
    ).toMatch(/^num_server_side_tools_used 1 billed/);
    // zeros, and the other Sonar models' citation and search counts (not billed per use), change nothing
    expect(
      parsed({
        input_tokens: 10,
        output_tokens: 5,
        num_sources_used: 0,
        server_side_tool_usage_details: { web_search_calls: 0 },
      }).countProblem,
    ).toBeUndefined();
    expect(
      parsed(
        { prompt_tokens: 42, completion_tokens: 310, citation_tokens: 1200, num_search_queries: 1 },
        { provider: "perplexity", model: "sonar-pro" },
      ).countProblem,
    ).toBeUndefined();
    // the provider's own cost holds the fees: billed at it
    const paid = parsed({
      input_tokens: 10,
      output_tokens: 5,
      num_server_side_tools_used: 1,
      cost_in_usd_ticks: 50_100_000,
    });
    expect(paid.countProblem).toBeUndefined();
    expect(price(paid, "auto").costPicoUsd).toBe(5_010_000_000n);
  });

  it("the plugin leaves such lines to the meter (a push would bill the tokens alone first)", () => {
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5551502" };
    expect(pluginUsageEvent(message({ input: 1000, output: 5 }), where)).not.toBeNull();
    for (const usage of [
      { input: 1000, output: 5, cost_in_usd_ticks: 123 },
      { input: 1000, output: 5, costInUsdTicks: 123 },
      { input: 1000, output: 5, cost: { total_cost: 0.01 } },
      { input: 1000, output: 5, server_side_tool_usage_details: { web_search_calls: 1 } },
      { input: 1000, output: 5, num_sources_used: 2 },
      { input: 1000, output: 5, num_search_queries: 3 },
    ])
      expect(pluginUsageEvent(message(usage), where)).toBeNull();
  });
});

describe("case usage-native-count-names: a provider's native count names are read, unknown ones held", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.0055605 billed, 1 held (was 1 call $0.000318, 2 skipped as zero usage)`, async () => {
      const { s, world } = await meterCase("usage-native-count-names", mode);
      expect(s).toMatchObject({ billed: 2, held: 1, malformed: 0, zeroUsage: 0 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551601",
          requests: 2,
          input: 125,
          output: 718,
          costUsd: "0.0055605",
        }),
      ]);
      const held = world.db.prepare("SELECT reason FROM usage_review").all() as { reason: string }[];
      expect(held.map((r) => r.reason)).toEqual([
        "token counts under names not read (inputTextTokenCount 12): not priced",
      ]);
    });
  }

  const counts = (u: ParsedUsage) => [u.input, u.output, u.cacheRead, u.cacheWrite];
  it("Cohere's billed units first, each falling back to the consumed tokens; camelCase too", () => {
    expect(
      counts(
        parsed({
          billed_units: { input_tokens: 5, output_tokens: 418 },
          tokens: { input_tokens: 71, output_tokens: 418 },
        }),
      ),
    ).toEqual([5, 418, 0, 0]);
    expect(counts(parsed({ tokens: { input_tokens: 71, output_tokens: 418 } }))).toEqual([71, 418, 0, 0]);
    expect(counts(parsed({ billedUnits: { inputTokens: 7, outputTokens: 9 } }))).toEqual([7, 9, 0, 0]);
    expect(
      counts(parsed({ billed_units: { output_tokens: 9 }, tokens: { input_tokens: 70, output_tokens: 9 } })),
    ).toEqual([70, 9, 0, 0]);
  });

  it("Ollama's, watsonx's and Replicate's names; Llama's generation_token_count beside prompt_token_count", () => {
    expect(counts(parsed({ prompt_eval_count: 26, eval_count: 298, total_duration: 5_000_000_000 }))).toEqual(
      [26, 298, 0, 0],
    );
    expect(counts(parsed({ input_token_count: 120, generated_token_count: 300 }))).toEqual([120, 300, 0, 0]);
    expect(counts(parsed({ input_token_count: 120, output_token_count: 30 }))).toEqual([120, 30, 0, 0]);
    const llama = parsed({ prompt_token_count: 120, generation_token_count: 300 });
    expect(counts(llama)).toEqual([120, 300, 0, 0]);
    // billed before 2026-12-04 for its prompt alone: a copy of it read now is the same call
    expect(llama.identityOutput).toBe(0);
    // a line never billed before takes the identity of its counts; one billed for a provider cost
    // at zero counts keeps that identity
    const cohere = parsed({ billed_units: { input_tokens: 5, output_tokens: 9 } });
    expect([cohere.identityInput, cohere.identityOutput]).toEqual([undefined, undefined]);
    const paid = parsed({ billed_units: { input_tokens: 5, output_tokens: 9 }, cost: 0.01 });
    expect([paid.identityInput, paid.identityOutput]).toEqual([0, 0]);
  });

  it("a usage object whose only counts are under names not read is held; zeros and times are still zero usage", () => {
    expect(parsed({ weird_tokens: 500 }).countProblem).toBe(
      "token counts under names not read (weird_tokens 500): not priced",
    );
    expect(parsed({ meta: { billedCount: 3 } }).countProblem).toBe(
      "token counts under names not read (meta.billedCount 3): not priced",
    );
    const zero = (usage: Record<string, unknown>) =>
      parseLine(
        JSON.stringify({ type: "message", timestamp: new Date(T).toISOString(), message: message(usage) }),
      );
    for (const usage of [
      { prompt_tokens: 0, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 0 } },
      { queue_time: 12, total_time: 40, prompt_time_ms: 3 },
      // rates and limits under token-like names are no counts (a relay's throughput figures)
      { prompt_tokens: 0, completion_tokens: 0, tokens_per_second: 45, completion_tokens_per_sec: 310 },
      { prompt_tokens: 0, completion_tokens: 0, max_tokens: 4096, remaining_tokens: 90000, tokenLimit: 8192 },
      // a pi-ai line is read by its own names only
      { input: 0, output: 0, weird_tokens: 5 },
    ])
      expect(zero(usage)).toEqual({ kind: "skip", why: "zero-usage" });
  });
});

describe("case usage-gemini-thoughts-only-in-total: Gemini thoughts a converter left only in the total are billed as output", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551701 3 calls $0.0031288, output 1213 (was $0.0011163, output 408)`, async () => {
      const { s, world } = await meterCase("usage-gemini-thoughts-only-in-total", mode);
      expect(s).toMatchObject({ billed: 3, held: 0, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551701",
          requests: 3,
          input: 241,
          output: 1213,
          cacheRead: 800,
          costUsd: "0.0031288",
        }),
      ]);
    });
  }

  it("only on a Gemini model, only tokens no name accounts for, the identity it was billed under kept", () => {
    const gem = { provider: "google", model: "gemini-2.5-flash" };
    const u = parsed({ prompt_tokens: 20, completion_tokens: 198, total_tokens: 623 }, gem);
    expect([u.input, u.output, u.reasoningTokens, u.identityOutput]).toEqual([20, 603, 405, 198]);
    // Gemini's own names already add the thoughts; a total that matches the counts adds nothing
    const native = parsed(
      { promptTokenCount: 20, candidatesTokenCount: 198, thoughtsTokenCount: 405, totalTokenCount: 623 },
      gem,
    );
    expect([native.output, native.identityOutput]).toEqual([603, undefined]);
    expect(parsed({ prompt_tokens: 20, completion_tokens: 198, total_tokens: 218 }, gem).output).toBe(198);
    // Anthropic-style cache counts outside the prompt are in the sum
    const cached = parsed(
      { input_tokens: 10, output_tokens: 50, cache_read_input_tokens: 1000, total_tokens: 1060 },
      gem,
    );
    expect(cached.output).toBe(50);
    // another model's total is left as written; a pi-ai line is read by its own names
    expect(parsed({ prompt_tokens: 20, completion_tokens: 198, total_tokens: 623 }).output).toBe(198);
    expect(parsed({ input: 20, output: 198, totalTokens: 623 }, gem).output).toBe(198);
  });
});

describe("case usage-gemini-tool-prompt-only-in-total: Gemini's tool-use prompt a converter left only in the total is billed as input", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551702 3 calls $0.0012986, input 807 (was $0.0011525, input 320)`, async () => {
      const { s, world } = await meterCase("usage-gemini-tool-prompt-only-in-total", mode);
      expect(s).toMatchObject({ billed: 3, held: 0, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551702",
          requests: 3,
          input: 807,
          output: 413,
          cacheRead: 800,
          costUsd: "0.0012986",
        }),
      ]);
    });
  }

  it("a line that gives its thoughts has the rest of its total as prompt; the identity it was billed under kept", () => {
    const gem = { provider: "google", model: "gemini-2.5-flash" };
    // any-llm#1367's numbers: prompt 80 + tool-use prompt 237, candidates 173 + thoughts 60, total 550
    const u = parsed(
      {
        prompt_tokens: 80,
        completion_tokens: 233,
        total_tokens: 550,
        completion_tokens_details: { reasoning_tokens: 60 },
      },
      gem,
    );
    expect([u.input, u.output, u.reasoningTokens, u.identityInput, u.identityOutput]).toEqual([
      317,
      233,
      60,
      80,
      undefined,
    ]);
    // Gemini's native names without the tool-use count, thoughts given: the same
    const native = parsed(
      { promptTokenCount: 80, candidatesTokenCount: 173, thoughtsTokenCount: 60, totalTokenCount: 550 },
      gem,
    );
    expect([native.input, native.output, native.identityInput]).toEqual([317, 233, 80]);
    // ...with it, nothing is left over
    const whole = parsed(
      {
        promptTokenCount: 80,
        toolUsePromptTokenCount: 237,
        candidatesTokenCount: 173,
        thoughtsTokenCount: 60,
        totalTokenCount: 550,
      },
      gem,
    );
    expect([whole.input, whole.output, whole.identityInput]).toEqual([317, 233, undefined]);
    // without a reasoning count the gap is still the dropped thoughts (output), another model's total as written
    expect(parsed({ prompt_tokens: 20, completion_tokens: 198, total_tokens: 623 }, gem).output).toBe(603);
    const other = parsed(
      {
        prompt_tokens: 80,
        completion_tokens: 233,
        total_tokens: 550,
        completion_tokens_details: { reasoning_tokens: 60 },
      },
      { provider: "openai", model: "gpt-5.1" },
    );
    expect([other.input, other.output]).toEqual([80, 233]);
  });
});

describe("case usage-gemini-thoughts-inside-candidates: Gemini thoughts already inside candidatesTokenCount are billed once", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551801 5 calls $0.0100209, output 3789 (was $0.0162259, output 6367)`, async () => {
      const { s, world } = await meterCase("usage-gemini-thoughts-inside-candidates", mode);
      expect(s).toMatchObject({ billed: 5, held: 0, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551801",
          requests: 5,
          input: 1748,
          output: 3789,
          cacheRead: 800,
          costUsd: "0.0100209",
        }),
      ]);
    });
  }

  it("only when the total leaves no room for the thoughts; the identity it was billed under kept", () => {
    const gem = { provider: "google", model: "gemini-2.5-pro", api: "google-generative-ai" };
    const inside = parsed(
      { promptTokenCount: 100, candidatesTokenCount: 500, thoughtsTokenCount: 300, totalTokenCount: 600 },
      gem,
    );
    expect([inside.input, inside.output, inside.reasoningTokens, inside.identityOutput]).toEqual([
      100, 500, 300, 800,
    ]);
    // snake_case names, a tool-use prompt in the total
    const snake = parsed(
      {
        prompt_token_count: 100,
        tool_use_prompt_token_count: 50,
        candidates_token_count: 500,
        thoughts_token_count: 300,
        total_token_count: 650,
      },
      gem,
    );
    expect([snake.input, snake.output]).toEqual([150, 500]);
    // the documented shape: thoughts beside the candidates
    const apart = parsed(
      { promptTokenCount: 100, candidatesTokenCount: 500, thoughtsTokenCount: 300, totalTokenCount: 900 },
      gem,
    );
    expect([apart.output, apart.identityOutput]).toEqual([800, undefined]);
    // no total, or more thoughts than candidates: cannot be inside
    expect(
      parsed({ promptTokenCount: 100, candidatesTokenCount: 500, thoughtsTokenCount: 300 }, gem).output,
    ).toBe(800);
    expect(
      parsed(
        { promptTokenCount: 100, candidatesTokenCount: 5, thoughtsTokenCount: 300, totalTokenCount: 105 },
        gem,
      ).output,
    ).toBe(305);
    // pi-ai's names: output = candidates + thoughts, total Google's own
    const pi = parsed(
      { input: 600, output: 800, cacheRead: 400, cacheWrite: 0, reasoning: 300, totalTokens: 1500 },
      gem,
    );
    expect([pi.input, pi.output, pi.identityOutput, pi.writtenInput]).toEqual([600, 500, 800, undefined]);
    // the documented shape, and pi-ai's old cache defect (the gap is the cache reads), as before
    const piApart = parsed(
      { input: 600, output: 800, cacheRead: 400, reasoning: 300, totalTokens: 1800 },
      gem,
    );
    expect([piApart.input, piApart.output]).toEqual([600, 800]);
    const piOld = parsed(
      { input: 1000, output: 800, cacheRead: 400, reasoning: 300, totalTokens: 1800 },
      gem,
    );
    expect([piOld.input, piOld.output, piOld.writtenInput]).toEqual([600, 800, 1000]);
    // not a Google line: left as written
    const openai = { provider: "openai", model: "gpt-5", api: "openai-responses" };
    expect(parsed({ input: 264, output: 2082, reasoning: 989, totalTokens: 1357 }, openai).output).toBe(2082);
  });
});

describe("case usage-nested-one-hour-cache-writes: 1-hour cache writes nested in the prompt details bill at the 1-hour rate", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551901 3 calls $0.0904392 (was $0.0735642)`, async () => {
      const { s, world } = await meterCase("usage-nested-one-hour-cache-writes", mode);
      expect(s).toMatchObject({ billed: 3, held: 0, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551901",
          requests: 3,
          input: 2001,
          output: 879,
          cacheRead: 72029,
          cacheWrite: 8738,
          costUsd: "0.0904392",
        }),
      ]);
    });
  }

  it("reads each writer's nesting, capped at the writes, text counts too", () => {
    const claude = { provider: "litellm", model: "claude-sonnet-4-5" };
    const litellmDetails = (oneHour: unknown) => ({
      prompt_tokens: 5000,
      completion_tokens: 10,
      prompt_tokens_details: {
        cached_tokens: 0,
        cache_creation_tokens: 4000,
        cache_creation_token_details: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: oneHour },
      },
    });
    const a = parsed(litellmDetails(4000), claude);
    expect([a.input, a.cacheWrite, a.cacheWrite1h]).toEqual([1000, 4000, 4000]);
    expect(parsed(litellmDetails("3000"), claude).cacheWrite1h).toBe(3000);
    expect(parsed(litellmDetails(9000), claude).cacheWrite1h).toBe(4000);
    expect(parsed(litellmDetails(-1), claude).cacheWrite1h).toBe(0);
    const lc = parsed(
      {
        input_tokens: 5000,
        output_tokens: 10,
        input_token_details: { cache_read: 0, cache_creation: 4000, ephemeral_1h_input_tokens: 2500 },
      },
      claude,
    );
    expect([lc.input, lc.cacheWrite, lc.cacheWrite1h]).toEqual([1000, 4000, 2500]);
    // Anthropic's own top-level split still wins
    const own = parsed(
      {
        input_tokens: 10,
        output_tokens: 5,
        cache_creation_input_tokens: 300,
        cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 200 },
      },
      claude,
    );
    expect(own.cacheWrite1h).toBe(200);
  });
});

describe("case usage-prompt-excludes-cached-total-tells: a cache-exclusive prompt count its total shows keeps its uncached tokens", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5552001 3 calls $0.00281445, input 9309 (was $0.00211445, input 5809)`, async () => {
      const { s, world } = await meterCase("usage-prompt-excludes-cached-total-tells", mode);
      expect(s).toMatchObject({ billed: 3, held: 0, malformed: 0, zeroUsage: 0 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5552001",
          requests: 3,
          input: 9309,
          output: 1508,
          cacheRead: 3973,
          costUsd: "0.00281445",
        }),
      ]);
      const rows = world.db
        .prepare("SELECT cost_pico_usd AS c FROM usage_events ORDER BY message_ts_ms")
        .all() as { c: number | bigint }[];
      expect(rows.map((r) => Number(r.c))).toEqual([1_055_400_000, 875_000_000, 884_050_000]);
    });
  }

  const counts = (u: ParsedUsage) => [u.input, u.output, u.cacheRead, u.cacheWrite];
  it("only a total of exactly prompt + cached (+ writes) + completion (+ reasoning) says so; the identity it was billed under kept", () => {
    const chat = parsed({
      prompt_tokens: 4142,
      completion_tokens: 254,
      total_tokens: 6396,
      prompt_tokens_details: { cached_tokens: 2000 },
    });
    expect(counts(chat)).toEqual([4142, 254, 2000, 0]);
    // billed before with the cached tokens taken out: a copy of it read now is the same call
    expect(chat.identityInput).toBe(2142);
    // OpenAI's total (prompt + completion): the cached part is inside the prompt, as before
    const openAi = parsed({
      prompt_tokens: 4142,
      completion_tokens: 254,
      total_tokens: 4396,
      prompt_tokens_details: { cached_tokens: 2000 },
    });
    expect(counts(openAi)).toEqual([2142, 254, 2000, 0]);
    expect(openAi.identityInput).toBeUndefined();
    // no total, or another one: as before
    expect(counts(parsed({ prompt_tokens: 4142, completion_tokens: 254, cached_tokens: 2000 }))).toEqual([
      2142, 254, 2000, 0,
    ]);
    expect(
      counts(
        parsed({ prompt_tokens: 4142, completion_tokens: 254, total_tokens: 6000, cached_tokens: 2000 }),
      ),
    ).toEqual([2142, 254, 2000, 0]);
    // an xAI reasoning model's exclusive prompt with its reasoning outside the completion
    expect(
      counts(
        parsed({
          prompt_tokens: 3000,
          completion_tokens: 100,
          total_tokens: 4600,
          prompt_tokens_details: { cached_tokens: 1000 },
          completion_tokens_details: { reasoning_tokens: 500 },
        }),
      ),
    ).toEqual([3000, 600, 1000, 0]);
    // a tie with the reasoning rule (reasoning = cached) is read as xAI's inclusive prompt
    expect(
      counts(
        parsed({
          prompt_tokens: 3000,
          completion_tokens: 100,
          total_tokens: 3600,
          prompt_tokens_details: { cached_tokens: 500 },
          completion_tokens_details: { reasoning_tokens: 500 },
        }),
      ),
    ).toEqual([2500, 600, 500, 0]);
    // writes beside it stay outside it too
    expect(
      counts(
        parsed({
          prompt_tokens: 3000,
          completion_tokens: 100,
          total_tokens: 5100,
          prompt_tokens_details: { cached_tokens: 1500, cache_write_tokens: 500 },
        }),
      ),
    ).toEqual([3000, 100, 1500, 500]);
    expect(
      counts(
        parsed({
          prompt_tokens: 3000,
          completion_tokens: 100,
          total_tokens: 5100,
          prompt_tokens_details: { cached_tokens: 1500 },
          cache_creation_input_tokens: 500,
        }),
      ),
    ).toEqual([3000, 100, 1500, 500]);
    // Gemini's names: a total of prompt + cached + candidates + thoughts
    const gemini = parsed(
      {
        promptTokenCount: 1200,
        cachedContentTokenCount: 800,
        candidatesTokenCount: 100,
        thoughtsTokenCount: 50,
        totalTokenCount: 2150,
      },
      { api: "google-generative-ai", provider: "google", model: "gemini-2.5-flash" },
    );
    expect(counts(gemini)).toEqual([1200, 150, 800, 0]);
    expect(gemini.identityInput).toBe(400);
    expect(
      counts(
        parsed(
          {
            promptTokenCount: 1200,
            cachedContentTokenCount: 800,
            candidatesTokenCount: 100,
            thoughtsTokenCount: 50,
            totalTokenCount: 1350,
          },
          { api: "google-generative-ai", provider: "google", model: "gemini-2.5-flash" },
        ),
      ),
    ).toEqual([400, 150, 800, 0]);
  });
});

describe("case usage-gemini-live-response-audio-held: the Live API's responseTokensDetails AUDIO holds the call", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: the text reply billed $0.00057; the two spoken replies held (was 3 calls $0.00245)`, async () => {
      const { s, world } = await meterCase("usage-gemini-live-response-audio-held", mode);
      expect(s).toMatchObject({ billed: 1, held: 2 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5552101", requests: 1, costUsd: "0.00057" }),
      ]);
      const reasons = (
        world.db.prepare("SELECT reason FROM usage_review ORDER BY id").all() as { reason: string }[]
      ).map((x) => x.reason);
      expect(reasons).toEqual([
        expect.stringMatching(/^responseTokensDetails audio\/image 47 priced above text/),
        expect.stringMatching(/^responseTokensDetails audio\/image 400 priced above text/),
      ]);
    });
  }

  it("AUDIO or IMAGE entries hold it, camel or snake case; TEXT entries do not; the plugin leaves them to the meter", () => {
    const live = (d: Record<string, unknown>) =>
      parsed(
        { promptTokenCount: 100, responseTokenCount: 50, ...d },
        { api: "google-generative-ai", provider: "google", model: "gemini-live-2.5-flash-preview" },
      ).countProblem;
    expect(live({ responseTokensDetails: [{ modality: "AUDIO", tokenCount: 50 }] })).toMatch(/ 50 priced/);
    expect(live({ response_tokens_details: [{ modality: "audio", token_count: 40 }] })).toMatch(/ 40 priced/);
    expect(live({ responseTokensDetails: [{ modality: "IMAGE", tokenCount: 30 }] })).toMatch(/ 30 priced/);
    expect(live({ responseTokensDetails: [{ modality: "TEXT", tokenCount: 50 }] })).toBeUndefined();
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5552101" };
    const push = (modality: string) =>
      pluginUsageEvent(
        message(
          { input: 100, output: 50, totalTokens: 150, responseTokensDetails: [{ modality, tokenCount: 50 }] },
          { api: "google-generative-ai", provider: "google", model: "gemini-live-2.5-flash-preview" },
        ),
        where,
      );
    expect(push("TEXT")).not.toBeNull();
    expect(push("AUDIO")).toBeNull();
  });
});

describe("case usage-mistral-audio-seconds-held: audio Mistral bills per minute, outside the token counts, holds the call", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: the text call billed $0.000138; the Voxtral audio call held (was 2 calls $0.0003008)`, async () => {
      const { s, world } = await meterCase("usage-mistral-audio-seconds-held", mode);
      expect(s).toMatchObject({ billed: 1, held: 1 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5552201", requests: 1, costUsd: "0.000138" }),
      ]);
      const reasons = (
        world.db.prepare("SELECT reason FROM usage_review ORDER BY id").all() as { reason: string }[]
      ).map((x) => x.reason);
      expect(reasons).toEqual([
        "prompt_audio_seconds 203: audio billed per minute, outside the token counts: not priced",
      ]);
    });
  }

  it("prompt_audio_seconds or a root audio_tokens hold it (camelCase, fractional too); 0 does not; a provider-billed cost bills it", () => {
    const m = { api: "mistral-conversations", provider: "mistral", model: "voxtral-small-latest" };
    const held = (usage: Record<string, unknown>) => parsed(usage, m).countProblem;
    const text = { prompt_tokens: 3, completion_tokens: 1 };
    expect(held({ ...text, total_tokens: 379, audio_tokens: 375 })).toMatch(
      /^audio_tokens 375: audio billed/,
    );
    expect(held({ ...text, promptAudioSeconds: 12.4 })).toMatch(/^promptAudioSeconds 12: audio billed/);
    expect(held({ ...text, prompt_audio_seconds: 0 })).toBeUndefined();
    expect(held({ ...text, prompt_audio_seconds: 30, cost: 0.002 })).toBeUndefined();
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5552201" };
    expect(pluginUsageEvent(message({ input: 3, output: 1, totalTokens: 4 }, m), where)).not.toBeNull();
    expect(
      pluginUsageEvent(message({ input: 3, output: 1, totalTokens: 4, prompt_audio_seconds: 30 }, m), where),
    ).toBeNull();
  });
});

function heldReasons(world: TempWorld): string[] {
  return (world.db.prepare("SELECT reason FROM usage_review ORDER BY id").all() as { reason: string }[]).map(
    (x) => x.reason,
  );
}

describe("case usage-modality-names-litellm-langchain: image / audio tokens under LiteLLM's and LangChain's names", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: the image and the voice call held; the text call billed $0.00255 (was 3 calls $0.02446)`, async () => {
      const { s, world } = await meterCase("usage-modality-names-litellm-langchain", mode);
      expect(s).toMatchObject({ billed: 1, held: 2 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551701", requests: 1, costUsd: "0.00255" }),
      ]);
      expect(heldReasons(world)).toEqual([
        expect.stringMatching(/^completion_tokens_details\.image_tokens 1120 priced above text/),
        expect.stringMatching(
          /^input_token_details\.audio 200, output_token_details\.audio 400 priced above text/,
        ),
      ]);
    });
  }
  it("camelCase image tokens hold too; 0 counts, input images and a provider-billed cost do not", () => {
    const held = (usage: Record<string, unknown>, over: Record<string, unknown> = {}) =>
      parsed(usage, { provider: "openai", model: "gpt-4o", ...over }).countProblem;
    expect(
      held({ promptTokens: 12, completionTokens: 1300, completionTokensDetails: { imageTokens: 1290 } }),
    ).toMatch(/completionTokensDetails\.imageTokens 1290 /);
    expect(held({ input_tokens: 50, output_tokens: 9, output_token_details: { audio: 7 } })).toMatch(
      /output_token_details\.audio 7 /,
    );
    expect(
      held({ prompt_tokens: 10, completion_tokens: 5, completion_tokens_details: { image_tokens: 0 } }),
    ).toBeUndefined();
    expect(
      held({ input_tokens: 10, output_tokens: 5, input_token_details: { audio: 0, cache_read: 4 } }),
    ).toBeUndefined();
    // an input image is priced as text (Gemini, GPT-4o vision): not held
    expect(
      held({ prompt_tokens: 300, completion_tokens: 5, prompt_tokens_details: { image_tokens: 258 } }),
    ).toBeUndefined();
    // OpenRouter's own billed cost already holds the image tokens
    expect(
      held(
        {
          prompt_tokens: 10,
          completion_tokens: 1300,
          completion_tokens_details: { image_tokens: 1290 },
          cost: 0.0387,
        },
        { provider: "openrouter", model: "google/gemini-2.5-flash-image" },
      ),
    ).toBeUndefined();
  });
});

describe("case usage-anthropic-refusal-fallback-iterations: a refusal fallback's other model holds the call", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: the declined attempt that emitted output and the call served by another model held; the waived one billed $0.0231 (was 3 calls $0.450367)`, async () => {
      const { s, world } = await meterCase("usage-anthropic-refusal-fallback-iterations", mode);
      expect(s).toMatchObject({ billed: 1, held: 2 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551802", requests: 1, costUsd: "0.0231" }),
      ]);
      expect(heldReasons(world)).toEqual([
        expect.stringMatching(
          /^refusal fallback: declined attempt usage\.iterations message claude-fable-5: input 2, output 578, cache read 72769, cache write 10421 \(/,
        ),
        expect.stringMatching(
          /^refusal fallback: served by the fallback model claude-opus-4-8, not the line's model \(/,
        ),
      ]);
    });
  }
  it("any prefix, date or letter case of the served model; no fallback entry or a provider-billed cost holds nothing", () => {
    const anthropic = { provider: "anthropic", model: "claude-opus-4-8", api: "anthropic-messages" };
    const held = (usage: Record<string, unknown>, over: Record<string, unknown> = {}) =>
      parsed(usage, { ...anthropic, ...over }).countProblem;
    const served = {
      type: "Fallback_Message",
      model: "claude-opus-4-8-20260601",
      input_tokens: 10,
      output_tokens: 5,
    };
    const waived = { type: "message", model: "claude-fable-5", input_tokens: 106, output_tokens: 0 };
    const top = { input_tokens: 10, output_tokens: 5 };
    expect(
      held({ ...top, iterations: [waived, served] }, { model: "anthropic/Claude-Opus-4-8" }),
    ).toBeUndefined();
    // the line names the requested model but its responseModel the served one
    expect(
      held(
        { ...top, iterations: [waived, served] },
        { model: "claude-fable-5", responseModel: "claude-opus-4-8" },
      ),
    ).toBeUndefined();
    // a fallback entry with no model: who served cannot be told
    expect(held({ ...top, iterations: [waived, { type: "fallback_message", input_tokens: 10 }] })).toMatch(
      /served by the fallback model \?/,
    );
    // a declined attempt's count that is no count holds too; OpenClaw's own names beside it
    expect(held({ input: 10, output: 5, iterations: [{ ...waived, output_tokens: "x" }, served] })).toMatch(
      /declined attempt usage\.iterations message claude-fable-5: input 106, output "x"/,
    );
    // iterations without a fallback entry (compaction, plain message) are not this
    expect(
      held({ ...top, iterations: [{ type: "message", input_tokens: 10, output_tokens: 5 }] }),
    ).toBeUndefined();
    expect(
      held(
        {
          prompt_tokens: 10,
          completion_tokens: 5,
          cost: 0.42,
          iterations: [{ ...waived, output_tokens: 578 }, served],
        },
        { provider: "openrouter", model: "anthropic/claude-opus-4.8" },
      ),
    ).toBeUndefined();
  });
});

describe("case usage-anthropic-advisor-iterations: advisor-model tokens outside the top-level counts hold the call", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: the two calls that consulted an advisor held; the plain one billed $0.015324 (was 3 calls $0.12563095)`, async () => {
      const { s, world } = await meterCase("usage-anthropic-advisor-iterations", mode);
      expect(s).toMatchObject({ billed: 1, held: 2 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551801", requests: 1, costUsd: "0.015324" }),
      ]);
      expect(heldReasons(world)).toEqual([
        expect.stringMatching(
          /^usage\.iterations advisor_message claude-opus-4-7: input 159419, output 7805 \(/,
        ),
        expect.stringMatching(
          /^usage\.iterations advisor_message claude-sonnet-4-6: input 3, output 1400, cache read 52000 \(/,
        ),
      ]);
    });
  }
  it("any usage names, any letter case; empty advisor entries, message-only iterations and a provider-billed cost hold nothing", () => {
    const anthropic = { provider: "anthropic", model: "claude-sonnet-4-6", api: "anthropic-messages" };
    const held = (usage: Record<string, unknown>, over: Record<string, unknown> = {}) =>
      parsed(usage, { ...anthropic, ...over }).countProblem;
    const advisor = {
      type: "Advisor_Message",
      model: "claude-opus-4-8",
      input_tokens: 900,
      output_tokens: 300,
    };
    // OpenClaw's own names with the provider's iterations kept beside them
    expect(held({ input: 10, output: 5, cacheRead: 100, iterations: [advisor] })).toMatch(
      /advisor_message claude-opus-4-8: input 900, output 300/,
    );
    // an advisor count that is no count holds too
    expect(
      held({
        input_tokens: 10,
        output_tokens: 5,
        iterations: [{ type: "advisor_message", output_tokens: "x" }],
      }),
    ).toMatch(/advisor_message \?: output "x"/);
    expect(
      held({
        input_tokens: 10,
        output_tokens: 5,
        iterations: [
          { type: "advisor_message", model: "claude-opus-4-7", input_tokens: 0, output_tokens: 0 },
        ],
      }),
    ).toBeUndefined();
    expect(
      held({
        input_tokens: 10,
        output_tokens: 5,
        iterations: [{ type: "message", input_tokens: 10, output_tokens: 5 }],
      }),
    ).toBeUndefined();
    expect(
      held(
        { prompt_tokens: 10, completion_tokens: 5, cost: 0.42, iterations: [advisor] },
        { provider: "openrouter", model: "anthropic/claude-sonnet-4.6" },
      ),
    ).toBeUndefined();
  });
});

describe("case usage-perplexity-search-context-fee: a Sonar call's request fee is its search context size's", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5552601 3 calls $0.039512 (was $0.050512, every call at the high fee)`, async () => {
      const { s, world } = await meterCase("usage-perplexity-search-context-fee", mode);
      expect(s).toMatchObject({ billed: 3, held: 0, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5552601", requests: 3, costUsd: "0.039512" }),
      ]);
      const rows = world.db
        .prepare("SELECT cost_pico_usd AS c FROM usage_events ORDER BY message_ts_ms")
        .all() as { c: number | bigint }[];
      // sonar low ($5 / 1000), sonar-pro medium ($10), sonar-reasoning-pro high ($14, as before)
      expect(rows.map((r) => Number(r.c))).toEqual([5_192_000_000, 16_120_000_000, 18_200_000_000]);
    });
  }
  it("each model's three fees; the table's fee for a size not said, another provider or an override", () => {
    const ppl = { provider: "perplexity", api: "openai-completions" };
    const cost = (model: string, usage: Record<string, unknown>, over: Record<string, unknown> = {}) =>
      Number(price(parsed(usage, { ...ppl, model, ...over }), "calculate").costPicoUsd);
    const tokens = { prompt_tokens: 1000, completion_tokens: 0, total_tokens: 1000 };
    // 1000 input tokens: sonar $0.001, sonar-pro $0.003, sonar-reasoning-pro $0.002
    const fee = (model: string, size: unknown, name = "search_context_size") =>
      cost(model, { ...tokens, [name]: size });
    expect([fee("sonar", "low"), fee("sonar", "medium"), fee("sonar", "high")]).toEqual([
      6_000_000_000, 9_000_000_000, 13_000_000_000,
    ]);
    expect([fee("sonar-pro", "low"), fee("sonar-pro", "MEDIUM"), fee("sonar-pro", "high")]).toEqual([
      9_000_000_000, 13_000_000_000, 17_000_000_000,
    ]);
    expect(fee("sonar-reasoning-pro", " low ", "searchContextSize")).toBe(8_000_000_000);
    expect(fee("perplexity/sonar-pro", "low")).toBe(9_000_000_000);
    // no size said, or one Perplexity does not price: Perplexity's default, low, since 2026-12-05
    // (case usage-perplexity-default-search-context-fee; the table's high fee before)
    expect(cost("sonar", tokens)).toBe(6_000_000_000);
    expect(fee("sonar", "auto")).toBe(6_000_000_000);
    expect(fee("sonar", 1)).toBe(6_000_000_000);
    // another provider's route to Sonar keeps its own price
    const routed = { ...tokens, search_context_size: "low" };
    expect(cost("perplexity/sonar", routed, { provider: "openrouter" })).toBe(
      cost("perplexity/sonar", tokens, { provider: "openrouter" }),
    );
    // an operator's override is the operator's own price
    const over = createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides(
        { "perplexity/sonar": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" } },
        "test",
      ),
      fallback: FALLBACK,
    });
    expect(Number(over.price(parsed(routed, { ...ppl, model: "sonar" })).costPicoUsd)).toBe(1_000_000_000);
    // sonar-deep-research has no request fee (billed per search query): unchanged
    expect(fee("sonar-deep-research", "low")).toBe(fee("sonar-deep-research", "high"));
    expect(parsed(routed, { ...ppl, model: "sonar" }).searchContextSize).toBe("low");
  });
  it("a push (an edge's, or a client's) that says the size is priced at its fee", () => {
    w = tempWorld(join(CASES, "usage-perplexity-search-context-fee", "state"));
    const ingester = createPushIngester(w.db, {
      pricer: createPricer({ mode: "auto", overrides: parsePriceOverrides({}, "test"), fallback: FALLBACK }),
      markup: parseDecimal("1"),
      creditsPerUsd: parseDecimal("1"),
      nowMs: () => T + 60_000,
    });
    const event = (key: string, size?: string) =>
      pushEventSchema.parse({
        idempotencyKey: key,
        agentId: "main",
        userId: "telegram:5552601",
        provider: "perplexity",
        model: "sonar",
        input: 12,
        output: 180,
        timestampMs: T,
        success: true,
        ...(size === undefined ? {} : { searchContextSize: size }),
      });
    const r = ingester.ingest([event("ppl-low", " Low "), event("ppl-none")], "push:test", "test");
    expect(r.map((x) => x.status)).toEqual(["billed", "billed"]);
    const rows = w.db.prepare("SELECT cost_pico_usd AS c FROM usage_events ORDER BY cost_pico_usd").all() as {
      c: number | bigint;
    }[];
    // the push without a size at Perplexity's default, low (case usage-perplexity-default-search-context-fee)
    expect(rows.map((x) => Number(x.c))).toEqual([5_192_000_000, 5_192_000_000]);
  });
  it("the plugin leaves such lines to the meter (a push would bill the table's fee first)", () => {
    const line = {
      role: "assistant",
      api: "openai-completions",
      provider: "perplexity",
      model: "sonar",
      usage: { input: 12, output: 180, cacheRead: 0, cacheWrite: 0, totalTokens: 192 },
      stopReason: "stop",
      timestamp: T,
    };
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5552601" };
    expect(pluginUsageEvent(line, where)).not.toBeNull();
    // a provider's own field beside OpenClaw's names (not in the plugin's usage type)
    const snake = { ...line.usage, search_context_size: "low" };
    const camel = { ...line.usage, searchContextSize: "low" };
    expect(pluginUsageEvent({ ...line, usage: snake }, where)).toBeNull();
    expect(pluginUsageEvent({ ...line, usage: camel }, where)).toBeNull();
  });
});

describe("case usage-gemini-flex-tier-price: a Gemini flex or batch call is billed half the standard price", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5552701 3 calls $0.02455 (was $0.04855, flex at the standard price)`, async () => {
      const { s, world } = await meterCase("usage-gemini-flex-tier-price", mode);
      expect(s).toMatchObject({ billed: 3, held: 0, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5552701", requests: 3, costUsd: "0.02455" }),
      ]);
      const rows = world.db
        .prepare("SELECT cost_pico_usd AS c FROM usage_events ORDER BY message_ts_ms")
        .all() as { c: number | bigint }[];
      expect(rows.map((r) => Number(r.c))).toEqual([4_000_000_000, 20_000_000_000, 550_000_000]);
    });
  }
  it("Vertex's traffic types and the Gemini API's service tier; priority, provisioned and other models as before", () => {
    const vertex = { provider: "google-vertex", api: "google-vertex", model: "gemini-2.5-flash" };
    const meta = { promptTokenCount: 1000, candidatesTokenCount: 100, totalTokenCount: 1100 };
    // gemini-2.5-flash: 1000 × $0.30 + 100 × $2.50 per 1M = $0.00055 at the standard price
    const cost = (usage: Record<string, unknown>, over: Record<string, unknown> = {}) =>
      Number(price(parsed(usage, { ...vertex, ...over }), "calculate").costPicoUsd);
    expect(cost(meta)).toBe(550_000_000);
    expect(cost({ ...meta, trafficType: "ON_DEMAND_FLEX" })).toBe(275_000_000);
    expect(cost({ ...meta, trafficType: " flex " })).toBe(275_000_000);
    expect(cost({ ...meta, traffic_type: "BATCH" })).toBe(275_000_000);
    expect(cost({ ...meta, trafficType: "ON_DEMAND" })).toBe(550_000_000);
    // Priority is "75% to 100% more" by model (no multiple here), provisioned throughput is the
    // operator's own capacity: both as before
    expect(cost({ ...meta, trafficType: "ON_DEMAND_PRIORITY" })).toBe(550_000_000);
    expect(cost({ ...meta, trafficType: "PROVISIONED_THROUGHPUT" })).toBe(550_000_000);
    // the Gemini API's own tier on the line (OpenAI-compatible shape), pi-ai's names
    const piAi = { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 1100 };
    expect(cost(piAi, { provider: "google", api: "openai-completions", service_tier: "flex" })).toBe(
      275_000_000,
    );
    expect(cost(piAi, { provider: "google", api: "openai-completions", service_tier: "batch" })).toBe(
      275_000_000,
    );
    // a stated tier on the line wins over the traffic type
    expect(cost({ ...meta, service_tier: "standard", trafficType: "ON_DEMAND_FLEX" })).toBe(550_000_000);
    // not a Gemini model (Claude on Vertex has its own provider and prices): as before
    const claude = { input_tokens: 1000, output_tokens: 100, trafficType: "ON_DEMAND_FLEX" };
    const claudeOver = {
      provider: "anthropic-vertex",
      api: "anthropic-messages",
      model: "claude-sonnet-4-5",
    };
    expect(cost(claude, claudeOver)).toBe(cost({ ...claude, trafficType: "ON_DEMAND" }, claudeOver));
    expect(parsed({ ...meta, trafficType: "ON_DEMAND_FLEX" }, vertex).serviceTier).toBe("flex");
  });
  it("the plugin pushes a line with a traffic type at its tier, as the meter bills it", () => {
    const line = {
      role: "assistant",
      api: "google-generative-ai",
      provider: "google",
      model: "gemini-2.5-flash",
      usage: { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 1100 },
      stopReason: "stop",
      timestamp: T,
    };
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5552701" };
    expect(pluginUsageEvent(line, where)?.serviceTier).toBeUndefined();
    const withType = { ...line.usage, trafficType: "ON_DEMAND_FLEX" };
    expect(pluginUsageEvent({ ...line, usage: withType }, where)?.serviceTier).toBe("flex");
  });
});

describe("case usage-gemini-total-without-prompt-held: a Gemini total with no prompt count is held, not billed as thoughts", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: the two lines without a prompt count held; the thoughts-only-in-total one billed $0.0015135`, async () => {
      const { s, world } = await meterCase("usage-gemini-total-without-prompt-held", mode);
      expect(s).toMatchObject({ billed: 1, held: 2 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5552801", requests: 1, costUsd: "0.0015135" }),
      ]);
      expect(heldReasons(world)).toEqual([
        "token total 13300 without an input/output split (not priced)",
        "token total 5000 without an input/output split (not priced)",
      ]);
    });
  }
  it("only a line with a prompt count has a gap; the identity of a line billed before is kept", () => {
    const gemini = { provider: "google", api: "openai-completions", model: "gemini-2.5-pro" };
    // a total alone, under each writer's name: held, its counts 0 (as the identity it was billed under)
    for (const usage of [{ total_tokens: 5000 }, { totalTokens: 5000 }, { total: 5000 }]) {
      const u = parsed(usage, gemini);
      expect(u).toMatchObject({
        input: 0,
        output: 0,
        countProblem: expect.stringMatching(/^token total 5000/),
      });
    }
    // counts under names not read (the Interactions API's), beside a total: held with the total
    expect(
      parsed({ total_input_tokens: 100, total_output_tokens: 20, total_tokens: 120 }, gemini),
    ).toMatchObject({ input: 0, output: 0, countProblem: expect.stringMatching(/^token total 120 /) });
    // a prompt count read: the rest of the total is thoughts, as before
    expect(parsed({ prompt_tokens: 20, completion_tokens: 198, total_tokens: 623 }, gemini)).toMatchObject({
      input: 20,
      output: 603,
    });
  });
});
