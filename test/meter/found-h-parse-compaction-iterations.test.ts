import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode } from "../../src/meter/types.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/**
 * case usage-anthropic-compaction-iterations (h-parse, 2026-12-04): Anthropic's server-side
 * compaction bills a summarising pass that only `usage.iterations` counts; the top-level counts
 * leave it out (pydantic/pydantic-ai#5065, BerriAI/litellm#27060).
 */
const CASES = resolve(import.meta.dirname, "../cases");
const NAME = "usage-anthropic-compaction-iterations";

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

function lastLine(sid: string): string {
  const dir = join(CASES, NAME, "state/agents/main/sessions");
  return readFileSync(join(dir, `${sid}.jsonl`), "utf8")
    .trim()
    .split("\n")
    .at(-1) as string;
}

describe("case usage-anthropic-compaction-iterations: the compaction pass is billed", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 3 calls $1.463895, not $0.784275 (the summarising passes free)`, async () => {
      const { s, world } = await meterCase(mode);
      expect(s).toMatchObject({ billed: 3, malformed: 0, clamped: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
        ]),
      );
      expect(byUser).toEqual({
        // Anthropic's documented example: 23,000 / 1,000 top-level + a 180,000 / 3,500 pass
        "telegram:5550401": [1, 203000, 4500, 0, 0, "0.6765"],
        // the pass's cache reads too (litellm#27065's review): 50 + 40 in, 20,000 + 150,000 read
        "telegram:5550402": [1, 90, 3600, 170000, 1500, "0.110895"],
        // a writer that already folded the pass into the top level: as written, not twice
        "telegram:5550403": [1, 203000, 4500, 0, 0, "0.6765"],
      });
    });
  }

  it("keeps the identity a call billed before the fix had (its top-level counts)", () => {
    const r = parseLine(lastLine("c1c10000-0000-4000-8000-000000000001"));
    if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
    const u = r.usage;
    expect([u.input, u.output]).toEqual([203000, 4500]);
    expect([u.identityInput, u.identityOutput]).toEqual([23000, 1000]);
    const old = { ...u, input: 23000, output: 1000 };
    delete old.identityInput;
    delete old.identityOutput;
    expect(dedupeKey(u)).toBe(dedupeKey(old));
  });

  it("adds nothing for other iteration types, unreadable counts or OpenAI-named usage", () => {
    const line = (usage: Record<string, unknown>) =>
      JSON.stringify({
        type: "message",
        id: "a1",
        timestamp: "2026-11-22T18:12:02.100Z",
        message: {
          role: "assistant",
          api: "anthropic-messages",
          provider: "anthropic",
          model: "claude-sonnet-4-6",
          usage,
          stopReason: "stop",
          timestamp: 1795371120050,
        },
      });
    const read = (usage: Record<string, unknown>) => {
      const r = parseLine(line(usage));
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      return [r.usage.input, r.usage.output, r.usage.cacheRead];
    };
    // a refusal fallback's attempt (another model's rates): not added
    expect(
      read({
        input_tokens: 100,
        output_tokens: 10,
        iterations: [{ type: "fallback_message", input_tokens: 900, output_tokens: 90 }],
      }),
    ).toEqual([100, 10, 0]);
    // a pass whose counts are no counts: the top level as written
    expect(
      read({
        input_tokens: 100,
        output_tokens: 10,
        iterations: [{ type: "compaction", input_tokens: "many", output_tokens: 5 }],
      }),
    ).toEqual([100, 10, 0]);
    // an iterations array beside OpenAI's names is not Anthropic's
    expect(
      read({
        input_tokens: 100,
        prompt_tokens: 100,
        output_tokens: 10,
        iterations: [{ type: "compaction", input_tokens: 900, output_tokens: 90 }],
      }),
    ).toEqual([100, 10, 0]);
    // not an array, or empty passes: nothing
    expect(read({ input_tokens: 100, output_tokens: 10, iterations: { type: "compaction" } })).toEqual([
      100, 10, 0,
    ]);
    expect(
      read({
        input_tokens: 100,
        output_tokens: 10,
        iterations: [{ type: "compaction", input_tokens: 0, output_tokens: 0 }, null, 3],
      }),
    ).toEqual([100, 10, 0]);
  });
});
