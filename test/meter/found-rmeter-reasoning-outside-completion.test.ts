import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/**
 * case usage-reasoning-outside-completion-relay (r-meter, 2026-12-04): a relay that writes an
 * OpenAI reasoning model's visible completion alone, its reasoning beside it and a total with both
 * (Clarifai/clarifai-python#978). The Claude/GPT rule of usage-reasoning-added-to-gateway-total
 * (the completion holds the reasoning) cannot hold when the reasoning is larger than the completion.
 */
const CASES = resolve(import.meta.dirname, "../cases");
const NAME = "usage-reasoning-outside-completion-relay";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("case usage-reasoning-outside-completion-relay: reasoning a completion cannot hold is billed", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: o3 75 in / 1186 out $0.009638, not 162 out $0.001446`, async () => {
      const r = await meterCaseDir(join(CASES, NAME), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 1, malformed: 0, clamped: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(r.world.db, { by: "user" }).map((x) => [
          x.key,
          [x.requests, x.input, x.output, x.costUsd],
        ]),
      );
      expect(byUser).toEqual({ "telegram:5550521": [1, 75, 1186, "0.009638"] });
    });
  }

  it("keeps the identity such a call was billed under (its completion count)", () => {
    const line = readFileSync(
      join(CASES, NAME, "state/agents/main/sessions/e1e10000-0000-4000-8000-000000000001.jsonl"),
      "utf8",
    )
      .trim()
      .split("\n")
      .at(-1) as string;
    const r = parseLine(line);
    if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
    expect(r.usage.output).toBe(1186);
    expect(dedupeKey(r.usage)).toBe(dedupeKey({ ...r.usage, output: 162, identityOutput: undefined }));
  });

  it("a reasoning no greater than the completion stays inside it for Claude and GPT", () => {
    const out = (model: string, completion: number, reasoning: number) => {
      const r = parseLine(
        JSON.stringify({
          type: "message",
          id: "a1",
          timestamp: "2026-11-23T09:41:09.300Z",
          message: {
            role: "assistant",
            api: "openai-completions",
            provider: "openrouter",
            model,
            usage: {
              prompt_tokens: 64,
              completion_tokens: completion,
              total_tokens: 64 + completion + reasoning,
              completion_tokens_details: { reasoning_tokens: reasoning },
            },
            stopReason: "stop",
            timestamp: 1795426860050,
          },
        }),
      );
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      return r.usage.output;
    };
    expect(out("anthropic/claude-opus-4.1", 135, 78)).toBe(135);
    expect(out("openai/o3", 135, 135)).toBe(135);
    expect(out("openai/o3", 135, 136)).toBe(271);
    expect(out("anthropic/claude-opus-4.1", 20, 300)).toBe(320);
    expect(out("x-ai/grok-4", 135, 78)).toBe(213);
  });
});
