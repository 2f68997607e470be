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

/** test/cases of token categories priced at the wrong rate (session 23, tokens). */
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

describe("case usage-bedrock-cache-ttl-details: Bedrock's 1-hour cache writes at the 1-hour rate", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.2283 with cacheWrite1h 30000 + 4000 (was $0.1518, every write at 5 minutes)`, async () => {
      const { s, world } = await meterCase("usage-bedrock-cache-ttl-details", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.cacheWrite, r.cacheWrite1h, r.costUsd],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550101": [1, 30000, 30000, "0.1866"],
        "telegram:5550102": [1, 5000, 4000, "0.0417"],
      });
    });
  }

  it("the TTL split changes no identity: the same call without cacheDetails has the same key", () => {
    for (const sid of ["7b3b0000-0000-4000-8000-000000000001", "7b3b0000-0000-4000-8000-000000000002"]) {
      const u = lastCall("usage-bedrock-cache-ttl-details", sid);
      expect(u.cacheWrite1h).toBeGreaterThan(0);
      expect(dedupeKey(u)).toBe(dedupeKey({ ...u, cacheWrite1h: 0 }));
    }
  });

  it("reads only Bedrock's list: an unreadable entry, a TTL other than 1h, or another writer's line keep the 5-minute rate", () => {
    const line = (usage: Record<string, unknown>) =>
      JSON.stringify({
        type: "message",
        id: "a1",
        timestamp: "2026-11-23T10:00:00.000Z",
        message: {
          role: "assistant",
          api: "bedrock-converse-stream",
          provider: "amazon-bedrock",
          model: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
          usage,
          timestamp: 1795428000000,
        },
      });
    const w1h = (usage: Record<string, unknown>) => {
      const r = parseLine(line(usage));
      if (r.kind !== "usage") throw new Error(r.kind);
      return [r.usage.cacheWrite, r.usage.cacheWrite1h];
    };
    const base = { inputTokens: 10, outputTokens: 5, cacheWriteInputTokens: 1000 };
    expect(
      w1h({
        ...base,
        cacheDetails: [
          { inputTokens: 600, ttl: " 1H " },
          { inputTokens: 400, ttl: "5m" },
        ],
      }),
    ).toEqual([1000, 600]);
    expect(w1h({ ...base, cacheDetails: [{ inputTokens: 1000, ttl: "5m" }] })).toEqual([1000, 0]);
    expect(w1h({ ...base, cacheDetails: [{ inputTokens: "1000", ttl: "1h" }] })).toEqual([1000, 0]);
    expect(w1h({ ...base, cacheDetails: [{ inputTokens: -1, ttl: "1h" }] })).toEqual([1000, 0]);
    expect(w1h({ ...base, cacheDetails: { inputTokens: 1000, ttl: "1h" } })).toEqual([1000, 0]);
    // more than the writes: every write at the 1-hour rate, as for OpenClaw's cacheWrite1h
    expect(w1h({ ...base, cacheDetails: [{ inputTokens: 5000, ttl: "1h" }] })).toEqual([1000, 1000]);
    // Anthropic's names on the line: its own split, not Bedrock's list
    expect(
      w1h({
        input_tokens: 10,
        output_tokens: 5,
        cache_creation_input_tokens: 1000,
        cache_creation: { ephemeral_1h_input_tokens: 200 },
        cacheDetails: [{ inputTokens: 1000, ttl: "1h" }],
      }),
    ).toEqual([1000, 200]);
  });
});

describe("case usage-dashscope-cache-creation-names: DashScope's explicit-cache writes leave the input total", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.13729665, writes at the cache-write rate (was $0.1142619 at the input rate)`, async () => {
      const { s, world } = await meterCase("usage-dashscope-cache-creation-names", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0 });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550101": [1, 441, 435, 0, 29713, "0.11927175"],
        "telegram:5550102": [1, 287, 300, 29713, 1000, "0.0180249"],
      });
    });
  }

  it("keeps the identity the call was billed under before (writes inside input), locally, packed and pushed", () => {
    const before: Record<string, [number, number]> = {
      "7b3c0000-0000-4000-8000-000000000001": [30154, 29713],
      "7b3c0000-0000-4000-8000-000000000002": [1287, 1000],
    };
    for (const [sid, [oldInput, writes]] of Object.entries(before)) {
      const u = lastCall("usage-dashscope-cache-creation-names", sid);
      expect([u.input + writes, u.cacheWrite]).toEqual([oldInput, writes]);
      const old = { ...u, input: oldInput, cacheWrite: 0 };
      delete old.identityInput;
      delete old.identityCacheWrite;
      expect(dedupeKey(u)).toBe(dedupeKey(old));
      const ev = usageEvent(u, "main", sid, null, "telegram:5550101", "jsonl", `${sid}@0`);
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(old));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    }
  });

  it("an Anthropic top-level write name wins; a Responses-style input_tokens_details name is read too", () => {
    const line = (usage: Record<string, unknown>) =>
      JSON.stringify({
        type: "message",
        id: "a1",
        timestamp: "2026-11-23T12:00:00.000Z",
        message: {
          role: "assistant",
          api: "openai-completions",
          provider: "mock",
          model: "mock-gpt",
          usage,
          timestamp: 1795435200000,
        },
      });
    const counts = (usage: Record<string, unknown>) => {
      const r = parseLine(line(usage));
      if (r.kind !== "usage") throw new Error(r.kind);
      return [r.usage.input, r.usage.cacheRead, r.usage.cacheWrite];
    };
    expect(
      counts({
        input_tokens: 1524,
        output_tokens: 10,
        input_tokens_details: { cached_tokens: 1305, cache_creation_input_tokens: 213 },
      }),
    ).toEqual([6, 1305, 213]);
    // a top-level cache_creation_input_tokens wins over the details name (the writes counted once);
    // beside OpenAI's prompt_tokens they are inside it, as LiteLLM and any-llm write a Claude call
    // (since 2026-12-03, case usage-prompt-total-holds-anthropic-writes; before, input 500)
    expect(
      counts({
        prompt_tokens: 500,
        completion_tokens: 10,
        cache_creation_input_tokens: 300,
        prompt_tokens_details: { cache_creation_input_tokens: 300 },
      }),
    ).toEqual([200, 0, 300]);
  });
});

describe("Bedrock InvokeModel's invocation-metric names (a tester's finding)", () => {
  const line = (usage: object) =>
    JSON.stringify({
      type: "message",
      id: "a1",
      parentId: "u1",
      timestamp: "2026-11-20T10:00:05.000Z",
      message: {
        role: "assistant",
        content: [{ type: "text", text: "hello" }],
        api: "bedrock-converse-stream",
        provider: "amazon-bedrock",
        model: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        usage,
        stopReason: "stop",
        timestamp: 1795168804000,
      },
    });

  it("inputTokenCount / outputTokenCount are read beside the cache counts; the identity stays the one billed before", () => {
    const r = parseLine(
      line({ inputTokenCount: 1000, outputTokenCount: 100, cacheReadInputTokenCount: 500 }),
    );
    expect(r.kind).toBe("usage");
    if (r.kind !== "usage") return;
    expect([r.usage.input, r.usage.output, r.usage.cacheRead]).toEqual([1000, 100, 500]);
    const before = parseLine(line({ cacheReadInputTokenCount: 500 }));
    if (before.kind !== "usage") throw new Error("expected usage");
    expect(dedupeKey(r.usage)).toBe(dedupeKey(before.usage));
    // a null Converse name beside them was read as absent before too: the identity is the one billed then
    const withNull = parseLine(
      line({
        inputTokens: null,
        inputTokenCount: 1000,
        outputTokenCount: 100,
        cacheReadInputTokenCount: 500,
      }),
    );
    if (withNull.kind !== "usage") throw new Error("expected usage");
    expect(withNull.usage.input).toBe(1000);
    expect(dedupeKey(withNull.usage)).toBe(dedupeKey(before.usage));
    // Converse's own names win and keep their identity
    const converse = parseLine(
      line({ inputTokens: 1000, outputTokens: 100, inputTokenCount: 7, outputTokenCount: 7 }),
    );
    if (converse.kind !== "usage") throw new Error("expected usage");
    expect([converse.usage.input, converse.usage.output]).toEqual([1000, 100]);
    expect(converse.usage.identityInput).toBeUndefined();
    expect(converse.usage.identityOutput).toBeUndefined();
  });
});
