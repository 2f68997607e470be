import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import { heldSummary } from "../../src/meter/review.js";
import { packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import type { CostMode, ParsedUsage, UsageEvent } from "../../src/meter/types.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases of charges that are not plain text tokens (h-tools). */
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

const pricer = (mode: CostMode = "calculate") =>
  createPricer({ mode, overrides: parsePriceOverrides({}, "test"), fallback: FALLBACK });

const T = Date.parse("2026-11-20T10:00:00Z");

function line(over: Record<string, unknown>, usage: Record<string, unknown>) {
  return JSON.stringify({
    type: "message",
    timestamp: new Date(T).toISOString(),
    message: {
      role: "assistant",
      api: "anthropic-messages",
      provider: "anthropic",
      model: "claude-sonnet-4-6",
      usage,
      stopReason: "stop",
      timestamp: T,
      ...over,
    },
  });
}

function parsed(over: Record<string, unknown>, usage: Record<string, unknown>): ParsedUsage {
  const r = parseLine(line(over, usage));
  if (r.kind !== "usage") throw new Error(`not usage: ${r.kind}`);
  return r.usage;
}

// ---------------------------------------------------------------------------------------------
// Anthropic web search: $10 per 1,000 searches (`usage.server_tool_use.web_search_requests`)
// ---------------------------------------------------------------------------------------------

describe("case anthropic-web-search-fee: each Anthropic web search is billed $0.01 on top of the tokens", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551401 2 calls $0.0845, not $0.0345`, async () => {
      const { s, world } = await meterCase("anthropic-web-search-fee", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551401", requests: 2, costUsd: "0.0845" }),
      ]);
      const rows = world.db
        .prepare("SELECT cost_pico_usd AS c, price_version AS v FROM usage_events ORDER BY message_ts_ms")
        .all() as { c: number | bigint; v: string }[];
      expect(rows.map((r) => Number(r.c))).toEqual([43_500_000_000, 41_000_000_000]);
      expect(rows.map((r) => /\+web-search:\d+$/.exec(r.v)?.[0])).toEqual(["+web-search:3", "+web-search:2"]);
    });
  }
});

describe("parse: usage.server_tool_use.web_search_requests", () => {
  const base = { input: 1000, output: 100 };
  it("read beside OpenClaw's names and Anthropic's own, snake or camel case; web_fetch adds nothing", () => {
    expect(parsed({}, { ...base, server_tool_use: { web_search_requests: 4 } }).webSearchRequests).toBe(4);
    expect(parsed({}, { ...base, serverToolUse: { webSearchRequests: 2 } }).webSearchRequests).toBe(2);
    const raw = parsed(
      { provider: "claude-cli", api: "cli" },
      {
        input_tokens: 10,
        output_tokens: 5,
        server_tool_use: { web_search_requests: 1, web_fetch_requests: 3 },
      },
    );
    expect(raw).toMatchObject({ input: 10, output: 5, webSearchRequests: 1 });
    const fetchOnly = parsed(
      {},
      { ...base, server_tool_use: { web_search_requests: 0, web_fetch_requests: 3 } },
    );
    expect("webSearchRequests" in fetchOnly).toBe(false);
  });
  it("no count or 0: nothing to add, and the call is billed as tokens", () => {
    for (const v of [undefined, null, 0]) {
      const u = parsed({}, { ...base, server_tool_use: { web_search_requests: v } });
      expect("webSearchRequests" in u).toBe(false);
      expect(u.countProblem).toBeUndefined();
    }
  });
  it("a count that is no count from 0 to 10,000 (negative, not a number, absurd) holds the call: what its searches cost is unknown", () => {
    for (const v of [-1, "x", 1e9, 10_001, true, "1,000"]) {
      const u = parsed({}, { ...base, server_tool_use: { web_search_requests: v } });
      expect("webSearchRequests" in u).toBe(false);
      expect(u.countProblem).toMatch(/web search request count .* unreadable/);
    }
    expect(parsed({}, { ...base, server_tool_use: { web_search_requests: 10_000 } }).webSearchRequests).toBe(
      10_000,
    );
  });
  it("text and fractional counts are read as token counts are (case usage-fractional-text-counts: half up)", () => {
    for (const [v, n] of [
      ["3", 3],
      [1.5, 2],
      [2.4, 2],
    ] as const)
      expect(parsed({}, { ...base, server_tool_use: { web_search_requests: v } }).webSearchRequests).toBe(n);
  });
  it("a call with searches and no tokens is still a charge, not zero usage", () => {
    expect(
      parsed({}, { input: 0, output: 0, server_tool_use: { web_search_requests: 1 } }).webSearchRequests,
    ).toBe(1);
  });
  it("the searches are not part of the call's identity (a call billed before keeps its key)", () => {
    const a = parsed({}, { ...base, server_tool_use: { web_search_requests: 3 } });
    const b = parsed({}, base);
    expect(dedupeKey(a)).toBe(dedupeKey(b));
  });
  it("another provider's searches (no sourced per-search price) hold the call unless it reports what it billed", () => {
    const relay = parsed(
      { provider: "litellm", model: "gemini-2.5-flash", api: "anthropic-messages" },
      { ...base, server_tool_use: { web_search_requests: 2 } },
    );
    expect(relay.countProblem).toMatch(/2 web search request\(s\).*no per-search price/);
    const billed = parsed(
      { provider: "openrouter", model: "anthropic/claude-sonnet-4.6" },
      {
        ...base,
        cost: { total: 0.05, totalOrigin: "provider-billed" },
        server_tool_use: { web_search_requests: 2 },
      },
    );
    expect(billed.countProblem).toBeUndefined();
    expect(pricer("auto").price(billed)).toMatchObject({
      costPicoUsd: 50_000_000_000n,
      source: "provider-billed",
    });
  });
  it("survives the reader→writer column packing", () => {
    const u = parsed({}, { ...base, server_tool_use: { web_search_requests: 3 } });
    const e = {
      ...u,
      agentId: "main",
      sessionId: null,
      sessionKey: null,
      accountId: "a",
      source: "jsonl",
      sourceRef: "f",
      latencyMs: null,
      userPreview: null,
      replyPreview: null,
    } as UsageEvent;
    const p = packEvents([e]);
    expect(p).not.toBeNull();
    expect(unpackEvents(p as NonNullable<typeof p>)[0]?.webSearchRequests).toBe(3);
  });
});

describe("pricer: web search fee", () => {
  const u = (over: Partial<ParsedUsage>): ParsedUsage =>
    ({ ...parsed({}, { input: 1000, output: 100 }), ...over }) as ParsedUsage;
  it("$0.01 per search on anthropic and claude-cli, in every mode, table price included", () => {
    for (const mode of ["calculate", "auto", "recorded"] as const) {
      const q = pricer(mode).price(u({ webSearchRequests: 5 }));
      // 1000 × $3 + 100 × $15 per 1M = $0.0045, + 5 × $0.01
      expect(q.costPicoUsd).toBe(54_500_000_000n);
      expect(q.tableCostPicoUsd).toBe(54_500_000_000n);
    }
    expect(pricer().price(u({ provider: "claude-cli", webSearchRequests: 1 })).costPicoUsd).toBe(
      14_500_000_000n,
    );
    expect(pricer().price(u({})).costPicoUsd).toBe(4_500_000_000n);
  });
});

// ---------------------------------------------------------------------------------------------
// Audio and image tokens (priced above text, counted inside the text totals): held for review
// ---------------------------------------------------------------------------------------------

describe("case usage-audio-image-tokens-held: audio / image tokens are held, not billed at the text rates", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: the text call billed $0.0035; the gpt-audio and gemini-2.5-flash-image calls held, not priced`, async () => {
      const { s, world } = await meterCase("usage-audio-image-tokens-held", mode);
      expect(s).toMatchObject({ billed: 1, held: 2 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551501", requests: 1, costUsd: "0.0035" }),
      ]);
      const reasons = (
        world.db.prepare("SELECT reason FROM usage_review ORDER BY id").all() as { reason: string }[]
      ).map((x) => x.reason);
      expect(reasons).toEqual([
        expect.stringMatching(/^completion_tokens_details\.audio_tokens 482 priced above text/),
        expect.stringMatching(/^candidatesTokensDetails audio\/image 1290 priced above text/),
      ]);
      expect(heldSummary(world.db)).toMatchObject({ held: 2, unpriced: 2 });
    });
  }
});

describe("case realtime-token-details-audio-held: the Realtime API's input_token_details / output_token_details", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: the voice call (1,000 audio in, 500 audio out) held; the text-only one billed $0.0056 (was 2 calls $0.02)`, async () => {
      const { s, world } = await meterCase("realtime-token-details-audio-held", mode);
      expect(s).toMatchObject({ billed: 1, held: 1 });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551601", requests: 1, costUsd: "0.0056" }),
      ]);
      const reasons = (
        world.db.prepare("SELECT reason FROM usage_review ORDER BY id").all() as { reason: string }[]
      ).map((x) => x.reason);
      expect(reasons).toEqual([
        expect.stringMatching(
          /^input_token_details\.audio_tokens 1000, output_token_details\.audio_tokens 500 priced above text/,
        ),
      ]);
    });
  }
});

describe("parse: audio and image token details", () => {
  const base = { prompt_tokens: 100, completion_tokens: 50 };
  const held = (usage: Record<string, unknown>, over: Record<string, unknown> = {}) =>
    parsed({ provider: "openai", model: "gpt-realtime", api: "openai-completions", ...over }, usage)
      .countProblem;
  it("OpenAI's audio and image counts, snake or camel case, prompt or completion side, hold the call", () => {
    for (const usage of [
      { ...base, prompt_tokens_details: { audio_tokens: 40 } },
      { ...base, completion_tokens_details: { audio_tokens: 40 } },
      { input_tokens: 100, output_tokens: 50, input_tokens_details: { audio_tokens: 40 } },
      { input_tokens: 100, output_tokens: 50, output_tokens_details: { audio_tokens: 40 } },
      { input_tokens: 100, output_tokens: 50, input_tokens_details: { image_tokens: 40 } },
      { input_tokens: 100, output_tokens: 50, output_tokens_details: { image_tokens: 40 } },
      { promptTokens: 100, completionTokens: 50, completionTokensDetails: { audioTokens: 40 } },
      { input_tokens: 100, output_tokens: 50, input_token_details: { audio_tokens: 40 } },
      { input_tokens: 100, output_tokens: 50, input_token_details: { image_tokens: 40 } },
      { input_tokens: 100, output_tokens: 50, output_token_details: { audio_tokens: 40 } },
      { inputTokens: 100, outputTokens: 50, inputTokenDetails: { audioTokens: 40 } },
      { inputTokens: 100, outputTokens: 50, outputTokenDetails: { audioTokens: 40 } },
      { input: 100, output: 50, prompt_tokens_details: { audio_tokens: 40 } },
    ])
      expect(held(usage)).toMatch(/ 40 priced above text tokens/);
  });
  it("Gemini's AUDIO / IMAGE output and AUDIO input hold it; TEXT and IMAGE input (priced as text) do not", () => {
    const g = (d: Record<string, unknown>) =>
      held(
        { promptTokenCount: 100, candidatesTokenCount: 50, ...d },
        { provider: "google", model: "gemini-2.5-flash" },
      );
    expect(g({ candidatesTokensDetails: [{ modality: "IMAGE", tokenCount: 1290 }] })).toMatch(/1290/);
    expect(g({ candidatesTokensDetails: [{ modality: "AUDIO", tokenCount: 30 }] })).toMatch(/30/);
    expect(g({ promptTokensDetails: [{ modality: "AUDIO", tokenCount: 25 }] })).toMatch(/25/);
    expect(
      g({
        promptTokensDetails: [
          { modality: "IMAGE", tokenCount: 258 },
          { modality: "TEXT", tokenCount: 10 },
        ],
      }),
    ).toBeUndefined();
    expect(g({ candidatesTokensDetails: [{ modality: "TEXT", tokenCount: 50 }] })).toBeUndefined();
  });
  it("zero, absent or unreadable details never hold a call; a provider-billed cost holds the audio", () => {
    expect(held({ ...base, prompt_tokens_details: { audio_tokens: 0, cached_tokens: 0 } })).toBeUndefined();
    expect(held({ ...base, completion_tokens_details: { audio_tokens: "x" } })).toBeUndefined();
    expect(held(base)).toBeUndefined();
    expect(
      held(
        {
          ...base,
          completion_tokens_details: { audio_tokens: 40 },
          cost: { total: 0.01, totalOrigin: "provider-billed" },
        },
        { provider: "openrouter", model: "openai/gpt-audio" },
      ),
    ).toBeUndefined();
  });
});
