import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode } from "../../src/meter/types.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/**
 * case usage-reasoning-added-to-gateway-total (h-parse, 2026-12-04): a gateway's `total_tokens`
 * that adds the reasoning a second time (theopenco/llmgateway#3486) on a Claude or OpenAI call,
 * whose completion count already holds it, is not xAI's reasoning outside the completion.
 */
const CASES = resolve(import.meta.dirname, "../cases");
const NAME = "usage-reasoning-added-to-gateway-total";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(mode: CostMode) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, NAME), mode);
  w = r.world;
  return r;
}

describe("case usage-reasoning-added-to-gateway-total: reasoning inside the completion is billed once", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 3 calls $0.0633751, not $0.0781451 (Claude's and GPT's reasoning twice)`, async () => {
      const { s, world } = await meterCase(mode);
      expect(s).toMatchObject({ billed: 3, malformed: 0, clamped: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [r.key, [r.requests, r.input, r.output, r.costUsd]]),
      );
      expect(byUser).toEqual({
        // llmgateway#3486's Vertex Anthropic call: 135 out already holds the 78 of thinking
        "telegram:5550501": [1, 64, 135, "0.002217"],
        // a GPT-5 call whose gateway total adds its 1,360 reasoning tokens again
        "telegram:5550502": [1, 14746, 1944, "0.0378725"],
        // xAI's reasoning really is outside the completion: still billed (sub2api#5771)
        "telegram:5550503": [1, 9992, 4308, "0.0232856"],
      });
    });
  }

  it("keeps the identity such a call was billed under (its completion count)", () => {
    const dir = join(CASES, NAME, "state/agents/main/sessions");
    const line = readFileSync(join(dir, "d1d10000-0000-4000-8000-000000000001.jsonl"), "utf8")
      .trim()
      .split("\n")
      .at(-1) as string;
    const r = parseLine(line);
    if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
    expect(r.usage.output).toBe(135);
    // the reader of 2026-12-03 billed 213 under the identity of 135 (its `identityOutput`)
    const before = { ...r.usage, output: 213, identityOutput: 135 };
    expect(dedupeKey(r.usage)).toBe(dedupeKey(before));
  });

  it("reads the reasoning as outside only for models not known to count it inside", () => {
    const out = (model: string) => {
      const r = parseLine(
        JSON.stringify({
          type: "message",
          id: "a1",
          timestamp: "2026-11-22T18:12:02.100Z",
          message: {
            role: "assistant",
            api: "openai-completions",
            provider: "openrouter",
            model,
            usage: {
              prompt_tokens: 64,
              completion_tokens: 135,
              total_tokens: 277,
              completion_tokens_details: { reasoning_tokens: 78 },
            },
            stopReason: "stop",
            timestamp: 1795371120050,
          },
        }),
      );
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      return r.usage.output;
    };
    expect(out("anthropic/claude-opus-4.1")).toBe(135);
    expect(out("openai/o3-mini")).toBe(135);
    expect(out("us.openai.gpt-oss-120b-1:0")).toBe(135);
    expect(out("gpt-5.1-codex")).toBe(135);
    expect(out("x-ai/grok-4")).toBe(213);
    expect(out("google/gemini-2.5-pro")).toBe(213);
    expect(out("openai/omni-moderation")).toBe(213);
  });
});
