import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/outbox.js";
import { meterIdentityOf, pushEventSchema } from "../../src/ingest/push.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode } from "../../src/meter/types.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases of cache tokens billed at the wrong rate (helper h-cache). */
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

/** A usage line under a provider's own names (`mistral/mistral-large-2512`), parsed. */
function rawCall(usage: Record<string, unknown>) {
  const r = parseLine(
    JSON.stringify({
      type: "message",
      id: "a1",
      timestamp: "2026-11-22T18:12:02.100Z",
      message: {
        role: "assistant",
        api: "mistral-conversations",
        provider: "mistral",
        model: "mistral-large-2512",
        usage,
        stopReason: "stop",
        timestamp: 1795371122050,
      },
    }),
  );
  if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
  return r.usage;
}

describe("case usage-mistral-cached-names: Mistral's cached prompt tokens at the cache-read rate", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.003376 (was $0.0172, every prompt token at the input rate)`, async () => {
      const { s, world } = await meterCase("usage-mistral-cached-names", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.input, r.output, r.cacheRead, r.costUsd],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550101": [1, 480, 300, 11520, "0.001266"],
        "telegram:5550102": [1, 800, 500, 19200, "0.00211"],
      });
    });
  }

  it("keeps the identity the call was billed under before (the whole prompt as input), locally, packed and pushed", () => {
    const before: Record<string, [number, number]> = {
      "7b3d0000-0000-4000-8000-000000000001": [12000, 11520],
      "7b3d0000-0000-4000-8000-000000000002": [20000, 19200],
    };
    for (const [sid, [prompt, cached]] of Object.entries(before)) {
      const u = lastCall("usage-mistral-cached-names", sid);
      expect([u.input + u.cacheRead, u.cacheRead]).toEqual([prompt, cached]);
      const old = { ...u, input: prompt, cacheRead: 0 };
      delete old.identityInput;
      delete old.identityCacheRead;
      expect(dedupeKey(u)).toBe(dedupeKey(old));
      const ev = usageEvent(u, "main", sid, null, "telegram:5550101", "jsonl", `${sid}@0`);
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(old));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    }
  });

  it("reads the SDK's camelCase names; OpenAI's name, when positive, wins; a 0 there does not hide Mistral's", () => {
    const counts = (usage: Record<string, unknown>) => {
      const u = rawCall(usage);
      return [u.input, u.cacheRead, u.output];
    };
    const base = { prompt_tokens: 1000, completion_tokens: 10 };
    expect(counts({ ...base, numCachedTokens: 640 })).toEqual([360, 640, 10]);
    expect(counts({ ...base, promptTokensDetails: { cachedTokens: 640 } })).toEqual([360, 640, 10]);
    expect(counts({ ...base, promptTokenDetails: { cachedTokens: 640 } })).toEqual([360, 640, 10]);
    expect(
      counts({ ...base, prompt_tokens_details: { cached_tokens: 512 }, num_cached_tokens: 640 }),
    ).toEqual([488, 512, 10]);
    expect(
      counts({
        ...base,
        prompt_tokens_details: { cached_tokens: 0 },
        prompt_token_details: { cached_tokens: 640 },
      }),
    ).toEqual([360, 640, 10]);
    // no cached count under any name: billed as before
    expect(counts({ ...base, num_cached_tokens: 0 })).toEqual([1000, 0, 10]);
    const plain = rawCall(base);
    expect(plain.identityInput).toBeUndefined();
    expect(plain.identityCacheRead).toBeUndefined();
  });
});

describe("case usage-prompt-total-holds-anthropic-writes: Anthropic's writes inside prompt_tokens billed once", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.04935 (was $0.08235, the writes also at the input rate)`, async () => {
      const { s, world } = await meterCase("usage-prompt-total-holds-anthropic-writes", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550101": [1, 300, 120, 0, 10000, "0.0402"],
        "telegram:5550102": [1, 300, 100, 10000, 1000, "0.00915"],
      });
    });
  }

  it("keeps the identity the call was billed under before (the writes inside input), locally, packed and pushed", () => {
    const before: Record<string, number> = {
      "7b3e0000-0000-4000-8000-000000000001": 10300,
      "7b3e0000-0000-4000-8000-000000000002": 1300,
    };
    for (const [sid, oldInput] of Object.entries(before)) {
      const u = lastCall("usage-prompt-total-holds-anthropic-writes", sid);
      expect(u.input + u.cacheWrite).toBe(oldInput);
      const old = { ...u, input: oldInput };
      delete old.identityInput;
      expect(dedupeKey(u)).toBe(dedupeKey(old));
      const ev = usageEvent(u, "main", sid, null, "telegram:5550101", "jsonl", `${sid}@0`);
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(old));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    }
  });

  it("Anthropic's own input_tokens keep the writes outside; a cache-exclusive prompt count is left as it is", () => {
    const counts = (usage: Record<string, unknown>) => {
      const u = rawCall(usage);
      return [u.input, u.cacheRead, u.cacheWrite];
    };
    // Anthropic's names: input_tokens excludes both cache counts
    expect(
      counts({
        input_tokens: 300,
        output_tokens: 10,
        cache_read_input_tokens: 10000,
        cache_creation_input_tokens: 1000,
      }),
    ).toEqual([300, 10000, 1000]);
    // a relay's cache-exclusive prompt_tokens (smaller than its writes): as written
    expect(counts({ prompt_tokens: 300, completion_tokens: 10, cache_creation_input_tokens: 1000 })).toEqual([
      300, 0, 1000,
    ]);
    // review r-review: a one-api relay's Anthropic counts beside prompt_tokens = Anthropic's
    // input_tokens, no OpenAI cached count: the reads are read as outside the prompt, and so are
    // the writes (8d98bea took them out of a 5000-token uncached tail: input 3000, 2000 unbilled)
    expect(
      counts({
        prompt_tokens: 5000,
        completion_tokens: 10,
        cache_read_input_tokens: 8000,
        cache_creation_input_tokens: 2000,
      }),
    ).toEqual([5000, 8000, 2000]);
    expect(counts({ prompt_tokens: 5000, completion_tokens: 10, cache_creation_input_tokens: 2000 })).toEqual(
      [5000, 0, 2000],
    );
    // LiteLLM's details name alone, inside the prompt total
    expect(
      counts({
        prompt_tokens: 11300,
        completion_tokens: 10,
        prompt_tokens_details: { cached_tokens: 10000, cache_creation_tokens: 1000 },
      }),
    ).toEqual([300, 10000, 1000]);
  });
});

describe("case mistral-cache-read-price-gap: a Mistral entry without a cache-read price bills cached tokens at 10 % of input", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.00152 (was $0.00557, cached tokens at the full input price)`, async () => {
      const { s, world } = await meterCase("mistral-cache-read-price-gap", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.input, r.cacheRead, r.costUsd],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550601": [1, 2000, 18000, "0.0005"],
        "telegram:5550602": [1, 1000, 9000, "0.00102"],
      });
      const versions = world.db.prepare("SELECT DISTINCT price_version AS v FROM usage_events").all() as {
        v: string;
      }[];
      expect(versions.map((r) => r.v)).toEqual([expect.stringMatching(/\+provider-cache$/)]);
    });
  }
});
