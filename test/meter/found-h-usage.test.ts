import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode } from "../../src/meter/types.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases of token counts read wrong from SDKs' usage names (helper h-usage, 2026-12-04). */
const CASES = resolve(import.meta.dirname, "../cases");

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

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [
      r.key,
      [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
    ]),
  );
}

/** The last line of a case transcript, parsed. */
function lastCall(caseName: string, sid: string) {
  const line = readFileSync(join(CASES, caseName, "state/agents/main/sessions", `${sid}.jsonl`), "utf8")
    .trim()
    .split("\n")
    .at(-1) as string;
  const r = parseLine(line);
  if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
  return r.usage;
}

/** A usage line of `anthropic/claude-sonnet-4-5` with `usage` as written, parsed. */
function call(usage: Record<string, unknown>, api = "anthropic-messages") {
  const r = parseLine(
    JSON.stringify({
      type: "message",
      id: "a1",
      timestamp: "2026-11-22T18:12:02.100Z",
      message: {
        role: "assistant",
        api,
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        usage,
        stopReason: "stop",
        timestamp: 1795371122050,
      },
    }),
  );
  if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
  return r;
}

const counts = (usage: Record<string, unknown>) => {
  const u = call(usage).usage;
  return [u.input, u.cacheRead, u.cacheWrite, u.output];
};

describe("case usage-sdk-cache-breakdown-names: the AI SDK's and LangChain's cache breakdowns leave the input total", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.03575 (was $0.086, every cached and written token at the input rate)`, async () => {
      const { s, world } = await meterCase("usage-sdk-cache-breakdown-names", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0, unknownModels: [] });
      expect(byUser(world)).toEqual({
        "telegram:5550101": [1, 1000, 400, 10000, 1000, "0.01575"],
        "telegram:5550102": [1, 4000, 500, 16000, 0, "0.02"],
      });
    });
  }

  it("keeps the identity the calls were billed under before (the whole input total, no cache)", () => {
    const before: Record<string, number> = {
      "8c4e0000-0000-4000-8000-000000000001": 12000,
      "8c4e0000-0000-4000-8000-000000000002": 20000,
    };
    for (const [sid, prompt] of Object.entries(before)) {
      const u = lastCall("usage-sdk-cache-breakdown-names", sid);
      expect(u.input + u.cacheRead + u.cacheWrite).toBe(prompt);
      const old = { ...u, input: prompt, cacheRead: 0, cacheWrite: 0 };
      delete old.identityInput;
      delete old.identityCacheRead;
      delete old.identityCacheWrite;
      expect(dedupeKey(u)).toBe(dedupeKey(old));
    }
  });

  it("reads every name of the kind: v6 with its deprecated cachedInputTokens, LangChain's writes, the Realtime API's cached tokens", () => {
    const v6 = { inputTokens: 12000, outputTokens: 400 };
    const details = { cacheReadTokens: 10000, cacheWriteTokens: 1000 };
    expect(counts({ ...v6, inputTokenDetails: details })).toEqual([1000, 10000, 1000, 400]);
    // the AI SDK v6 keeps the deprecated `cachedInputTokens` (read as Codex's name) beside the details
    expect(counts({ ...v6, inputTokenDetails: details, cachedInputTokens: 10000 })).toEqual([
      1000, 10000, 1000, 400,
    ]);
    const lc = { input_tokens: 20000, output_tokens: 500 };
    expect(counts({ ...lc, input_token_details: { cache_read: 16000, cache_creation: 2000 } })).toEqual([
      2000, 16000, 2000, 500,
    ]);
    expect(counts({ ...lc, input_token_details: { cache_creation: 2000 } })).toEqual([18000, 0, 2000, 500]);
    expect(counts({ ...lc, input_token_details: { cached_tokens: 16000, text_tokens: 20000 } })).toEqual([
      4000, 16000, 0, 500,
    ]);
    // the reasoning breakdown is shown, never added to the output (it is inside it)
    const r = call({ ...v6, outputTokenDetails: { textTokens: 300, reasoningTokens: 100 } }).usage;
    expect([r.output, r.reasoningTokens]).toEqual([400, 100]);
    const l = call({ ...lc, output_token_details: { reasoning: 200 } }).usage;
    expect([l.output, l.reasoningTokens]).toEqual([500, 200]);
    // no cached count: billed as before, same identity
    const plain = call({ ...lc, input_token_details: { cache_read: 0 } }).usage;
    expect([plain.input, plain.cacheRead, plain.identityInput]).toEqual([20000, 0, undefined]);
  });
});

describe("case usage-cached-input-above-input: an input total below its cached part is the uncached input", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 1 call $0.0066 (was $0.0057, the 300 input tokens billed as 0)`, async () => {
      const { s, world } = await meterCase("usage-cached-input-above-input", mode);
      expect(s).toMatchObject({ billed: 1, malformed: 0, clamped: 0, unknownModels: [] });
      expect(byUser(world)).toEqual({ "telegram:5550101": [1, 300, 200, 9000, 0, "0.0066"] });
    });
  }

  it("keeps the identity the call was billed under; Codex's own shape and Gemini's read as before", () => {
    // billed before as input 0 under the identity of its input as written, 300 (codexCounts)
    const u = lastCall("usage-cached-input-above-input", "8c4f0000-0000-4000-8000-000000000001");
    expect([u.input, u.identityInput, u.writtenInput]).toEqual([300, undefined, undefined]);
    expect(dedupeKey(u)).toBe(dedupeKey({ ...u, input: 0, identityInput: 300 }));
    // the same kind under Gemini's names (a relay's cache-exclusive promptTokenCount)
    const g = call({ promptTokenCount: 300, candidatesTokenCount: 50, cachedContentTokenCount: 9000 });
    expect(g.clamped).toBe(false);
    expect([g.usage.input, g.usage.cacheRead, g.usage.output]).toEqual([300, 9000, 50]);
    expect(g.usage.identityInput).toBe(0);
    // an input that holds its cached part is still taken apart
    expect(counts({ input_tokens: 10000, cached_input_tokens: 9000, output_tokens: 50 })).toEqual([
      1000, 9000, 0, 50,
    ]);
    expect(
      counts({ promptTokenCount: 10000, candidatesTokenCount: 50, cachedContentTokenCount: 9000 }),
    ).toEqual([1000, 9000, 0, 50]);
  });
});

describe("case usage-anthropic-camel-cache-creation: Anthropic's camelCase cache writes are billed", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 1 call $0.0111 (was $0.0036, the 2,000 writes never billed)`, async () => {
      const { s, world } = await meterCase("usage-anthropic-camel-cache-creation", mode);
      expect(s).toMatchObject({ billed: 1, malformed: 0, clamped: 0, unknownModels: [] });
      expect(byUser(world)).toEqual({ "telegram:5550101": [1, 200, 100, 5000, 2000, "0.0111"] });
    });
  }

  it("keeps the identity the call was billed under (writes 0); Anthropic's snake_case name still wins", () => {
    const u = lastCall("usage-anthropic-camel-cache-creation", "8c500000-0000-4000-8000-000000000001");
    expect([u.cacheWrite, u.identityCacheWrite]).toEqual([2000, 0]);
    const old = { ...u, cacheWrite: 0 };
    delete old.identityCacheWrite;
    expect(dedupeKey(u)).toBe(dedupeKey(old));
    expect(
      counts({
        input_tokens: 200,
        output_tokens: 100,
        cache_creation_input_tokens: 700,
        cacheCreationInputTokens: 2000,
      }),
    ).toEqual([200, 0, 700, 100]);
  });
});
