import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { pushEventOf } from "../../src/edge/outbox.js";
import { meterIdentityOf, pushEventSchema } from "../../src/ingest/push.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/**
 * test/cases found by the hunt for odd transcript shapes (2026-12-03): inputs built from public bug
 * reports, each with its right value in its README (copied per test, never written).
 */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string, mode: "calculate" | "auto" | "recorded" = "calculate") {
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

/** A transcript line of `usage` (mock/mock-gpt, openai-completions). */
function line(usage: Record<string, unknown>, msg: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: "message",
    id: "a1",
    timestamp: "2026-11-22T18:12:02.100Z",
    message: {
      role: "assistant",
      content: [],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage,
      stopReason: "stop",
      timestamp: 1795371120050,
      ...msg,
    },
  });
}

function usageOf(text: string): ParsedUsage {
  const r = parseLine(text);
  if (r.kind !== "usage") throw new Error(`not a call: ${JSON.stringify(r)}`);
  return r.usage;
}

function counts(u: ParsedUsage) {
  return [u.input, u.output, u.cacheRead, u.cacheWrite];
}

describe("case usage-placeholder-zero-names: a placeholder 0 never hides a count under another name", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.009 (was 1 call $0.00195, the other skipped as zero usage)`, async () => {
      const { s, world } = await meterCase("usage-placeholder-zero-names", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0, zeroUsage: 0 });
      expect(byUser(world)).toEqual({
        "telegram:5550101": [1, 1200, 80, 0, 0, "0.0048"],
        "telegram:5550102": [1, 500, 150, 1500, 0, "0.0042"],
      });
    });
  }

  it("keeps the identity a call billed before was billed under (output 0), locally, packed and pushed", () => {
    const dir = join(CASES, "usage-placeholder-zero-names", "state/agents/main/sessions");
    const sid = "5e2a0000-0000-4000-8000-000000000002";
    const text = readFileSync(join(dir, `${sid}.jsonl`), "utf8")
      .trim()
      .split("\n")
      .at(-1) as string;
    const u = usageOf(text);
    expect(counts(u)).toEqual([500, 150, 1500, 0]);
    // what the reader before 2026-12-03 made of the line: the same call with the placeholder output
    const before: ParsedUsage = { ...u, output: 0 };
    delete before.identityOutput;
    expect(dedupeKey(u)).toBe(dedupeKey(before));
    const ev = usageEvent(u, "main", sid, null, "telegram:5550102", "jsonl", `${sid}@0`);
    const packed = packEvents([ev]);
    expect(packed).not.toBeNull();
    expect(unpackEvents(packed as NonNullable<typeof packed>)[0]).toEqual(ev);
    const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(pushed.idempotencyKey).toBe(dedupeKey(before));
    expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
  });

  it("a call never billed before (every count shadowed) takes the identity of its real counts", () => {
    const u = usageOf(
      line({ input_tokens: 0, output_tokens: 0, prompt_tokens: 1200, completion_tokens: 80 }),
    );
    expect(counts(u)).toEqual([1200, 80, 0, 0]);
    expect(u.identityInput).toBeUndefined();
    expect(u.identityOutput).toBeUndefined();
  });
});

describe("usage names that disagree: the first positive count wins, else the first present", () => {
  it("reads each meaning's positive count whichever generation of names holds it", () => {
    // api.usvip.cc's shape (yinxulai/one-switch#5): Chat names 0, Responses names real
    const usvip = usageOf(
      line({
        prompt_tokens: 0,
        completion_tokens: 0,
        prompt_tokens_details: { cached_tokens: 0 },
        input_tokens: 38829,
        output_tokens: 477,
        input_tokens_details: { cached_tokens: 38272 },
        total_tokens: 39306,
      }),
    );
    expect(counts(usvip)).toEqual([557, 477, 38272, 0]);
    // the same reversed: a 0 under the name read first
    const reversed = usageOf(
      line({
        cached_tokens: 0,
        prompt_tokens_details: { cached_tokens: 700 },
        inputTokens: 0,
        prompt_tokens: 1000,
        outputTokens: 0,
        completion_tokens: 40,
      }),
    );
    expect(counts(reversed)).toEqual([300, 40, 700, 0]);
    // Anthropic's names: a placeholder cache write 0 beside the real one
    const writes = usageOf(
      line({ input_tokens: 10, output_tokens: 5, cache_write: 0, cache_creation_input_tokens: 900 }),
    );
    expect(counts(writes)).toEqual([10, 5, 0, 900]);
    // Gemini's camelCase 0 beside the Python SDK's snake_case count
    const gemini = usageOf(
      line({
        promptTokenCount: 0,
        prompt_token_count: 400,
        candidatesTokenCount: 0,
        candidates_token_count: 30,
      }),
    );
    expect(counts(gemini)).toEqual([400, 30, 0, 0]);
    // Codex's snake_case 0 beside its camelCase count
    const codex = usageOf(
      line({
        input_tokens: 0,
        inputTokens: 5000,
        cached_input_tokens: 4000,
        output_tokens: 0,
        outputTokens: 60,
      }),
    );
    expect(counts(codex)).toEqual([1000, 60, 4000, 0]);
  });

  it("a real 0 stays 0, and a line that agrees reads as before (no identity fields)", () => {
    const zeroCache = usageOf(
      line({ prompt_tokens: 1000, completion_tokens: 40, prompt_tokens_details: { cached_tokens: 0 } }),
    );
    expect(counts(zeroCache)).toEqual([1000, 40, 0, 0]);
    for (const k of ["identityInput", "identityOutput", "identityCacheRead", "identityCacheWrite"] as const)
      expect(zeroCache[k]).toBeUndefined();
    const agree = usageOf(
      line({ input_tokens: 1000, prompt_tokens: 1000, output_tokens: 9, completion_tokens: 9 }),
    );
    expect(counts(agree)).toEqual([1000, 9, 0, 0]);
    expect(agree.identityInput).toBeUndefined();
  });

  it("the pi-ai names OpenClaw writes still win over any provider name beside them", () => {
    const u = usageOf(line({ input: 0, output: 12, cacheRead: 0, cacheWrite: 0, prompt_tokens: 900 }));
    expect(parseLine(line({ input: 0, output: 0, prompt_tokens: 900, completion_tokens: 5 }))).toEqual({
      kind: "skip",
      why: "zero-usage",
    });
    expect(counts(u)).toEqual([0, 12, 0, 0]);
  });

  it("keeps every count of the old identity: shadowed input, cache read and cache write", () => {
    const u = usageOf(
      line({
        input_tokens: 0,
        prompt_tokens: 3000,
        cached_tokens: 0,
        prompt_tokens_details: { cached_tokens: 2000 },
        output_tokens: 30,
      }),
    );
    expect(counts(u)).toEqual([1000, 30, 2000, 0]);
    // the reader before 2026-12-03: input 0 − cached 0, cache read 0
    const before: ParsedUsage = { ...u, input: 0, cacheRead: 0 };
    delete before.identityInput;
    delete before.identityCacheRead;
    expect(dedupeKey(u)).toBe(dedupeKey(before));
    const w2 = usageOf(
      line({ input_tokens: 10, output_tokens: 5, cache_write: 0, cache_creation_input_tokens: 900 }),
    );
    const beforeW: ParsedUsage = { ...w2, cacheWrite: 0 };
    delete beforeW.identityCacheWrite;
    expect(dedupeKey(w2)).toBe(dedupeKey(beforeW));
  });
});

describe("case usage-fractional-text-counts: fractional counts and counts written as text are billed", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: 2 calls $0.21927 + $0.003258 (was nothing: both lines malformed)`, async () => {
      const { s, world } = await meterCase("usage-fractional-text-counts", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0 });
      expect(byUser(world)).toEqual({
        "telegram:5550101": [1, 1000, 14418, 0, 0, "0.21927"],
        "telegram:5550102": [1, 951, 27, 0, 0, "0.003258"],
      });
    });
  }

  it("recorded: OpenClaw's own estimate of the fractional call, the list price of the other", async () => {
    const { s, world } = await meterCase("usage-fractional-text-counts", "recorded");
    expect(s).toMatchObject({ billed: 2, malformed: 0 });
    expect(byUser(world)).toEqual({
      "telegram:5550101": [1, 1000, 14418, 0, 0, "0.2192688"],
      "telegram:5550102": [1, 951, 27, 0, 0, "0.003258"],
    });
  });
});

describe("token counts that are not whole numbers of type number", () => {
  it("rounds a fraction to the nearest token (half up) and reads decimal text as its number", () => {
    expect(counts(usageOf(line({ input: 1000.5, output: 2.25, cacheRead: 0.4, cacheWrite: 0 })))).toEqual([
      1001, 2, 0, 0,
    ]);
    expect(
      counts(usageOf(line({ input: "1200", output: " 80 ", cacheRead: "1.5e2", cacheWrite: "0" }))),
    ).toEqual([1200, 80, 150, 0]);
    // nested names too, before the cached tokens leave the prompt total (never billed twice)
    const nested = usageOf(
      line({
        prompt_tokens: "1000",
        completion_tokens: "40.2",
        prompt_tokens_details: { cached_tokens: "600" },
      }),
    );
    expect(counts(nested)).toEqual([400, 40, 600, 0]);
    const anthropic = usageOf(
      line({
        input_tokens: "10",
        output_tokens: "5",
        cache_creation_input_tokens: "900",
        cache_creation: { ephemeral_1h_input_tokens: "300" },
      }),
    );
    expect([...counts(anthropic), anthropic.cacheWrite1h]).toEqual([10, 5, 0, 900, 300]);
    // the line's total, as text, still tells a Google line's cached tokens apart
    const google = usageOf(
      line(
        { input: 21675, output: 5, cacheRead: 16289, cacheWrite: 0, totalTokens: "21680" },
        { api: "google-generative-ai", provider: "google", model: "gemini-3-flash-preview" },
      ),
    );
    expect(counts(google)).toEqual([5386, 5, 16289, 0]);
    expect(google.writtenInput).toBe(21675);
  });

  it("text that is not a plain decimal number, or a number too large, holds the call (was malformed)", () => {
    for (const bad of ["0x10", "Infinity", "", "12abc", "1e400", "1,200"])
      expect(parseLine(line({ input: bad, output: 5 }))).toMatchObject({
        kind: "usage",
        usage: { input: 0, output: 5, countProblem: expect.stringMatching(/^input token count "/) },
      });
    expect(parseLine(line({ input: 1e300, output: 5 }))).toMatchObject({
      kind: "usage",
      usage: { countProblem: expect.stringMatching(/^input token count 1e\+300/) },
    });
    // a negative text count is read as a negative number is: beside cache reads, a prompt count
    // without them (since 2026-12-03, case usage-prompt-excludes-cached); else billed as 0
    const r = parseLine(line({ input: "-400", output: 50, cacheRead: 500 }));
    expect(r).toMatchObject({
      kind: "usage",
      clamped: false,
      usage: { input: 100, output: 50, cacheRead: 500, identityInput: 0 },
    });
    expect(parseLine(line({ input: "-400", output: 50 }))).toMatchObject({
      kind: "usage",
      clamped: true,
      usage: { input: 0, output: 50 },
    });
  });

  it("leaves the cost and other words alone", () => {
    const u = usageOf(line({ input: "10", output: 5, cost: { total: "0.029" }, speed: "fast" }));
    expect(u.recordedCostUsd).toBe(0.029);
    expect(u.speed).toBe("fast");
  });
});

describe("the plugin's push leaves lines the meter reads as whole numbers to the meter", () => {
  const message = (usage: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    role: "assistant",
    content: [],
    api: "openai-completions",
    provider: "mock",
    model: "mock-gpt",
    usage,
    stopReason: "stop",
    timestamp: 1795371120050,
    ...extra,
  });
  const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5550101" };

  it("a fractional or text count, total or 1-hour part is not pushed (the meter bills it)", () => {
    expect(pluginUsageEvent(message({ input: 1000, output: 5 }), where)).not.toBeNull();
    for (const usage of [
      { input: 1000, output: 14417.92 },
      { input: "1000", output: 5 },
      { input: 1000, output: 5, totalTokens: 1005.5 },
      { input: 1000, output: 5, cacheWrite: 900, cacheWrite1h: "300" },
    ])
      expect(pluginUsageEvent(message(usage), where)).toBeNull();
    // a Google line whose total, as text, shows its input holding the cache: the meter corrects it
    const google = message(
      { input: 21675, output: 5, cacheRead: 16289, cacheWrite: 0, totalTokens: "21680" },
      { api: "google-generative-ai", provider: "google", model: "gemini-3-flash-preview" },
    );
    expect(pluginUsageEvent(google, where)).toBeNull();
    expect(usageOf(JSON.stringify({ type: "message", message: google })).input).toBe(5386);
  });
});

describe("case usage-total-only-held: a call whose only count is a total is held, never dropped", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 1 call $0.00375 billed and 2 held (was: 2 skipped as zero usage, never held)`, async () => {
      const { s, world } = await meterCase("usage-total-only-held", mode);
      expect(s).toMatchObject({ billed: 1, held: 2, malformed: 0, zeroUsage: 0 });
      expect(byUser(world)).toEqual({
        "telegram:5550101": [1, 1000, 50, 0, 0, "0.00375"],
      });
      const held = world.db.prepare("SELECT reason, account_id FROM usage_review ORDER BY reason").all() as {
        reason: string;
        account_id: string;
      }[];
      expect(held.map((r) => [r.account_id, r.reason])).toEqual([
        ["telegram:5550101", "token total 1280 without an input/output split (not priced)"],
        ["telegram:5550102", "token total 2150 without an input/output split (not priced)"],
      ]);
    });
  }

  it("a line with no count at all, or a total of 0, is still zero usage", () => {
    expect(parseLine(line({ input: 0, output: 0, totalTokens: 0 }))).toEqual({
      kind: "skip",
      why: "zero-usage",
    });
    expect(parseLine(line({}))).toEqual({ kind: "skip", why: "zero-usage" });
    expect(usageOf(line({ total_tokens: 900 })).countProblem).toBe(
      "token total 900 without an input/output split (not priced)",
    );
  });
});

describe("case usage-gemini-total-only-held: a Gemini call whose only count is its total is held", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 1 call $0.00375 billed and 2 held (was: 2 skipped as zero usage, never held)`, async () => {
      const { s, world } = await meterCase("usage-gemini-total-only-held", mode);
      expect(s).toMatchObject({ billed: 1, held: 2, malformed: 0, zeroUsage: 0 });
      expect(byUser(world)).toEqual({
        "telegram:5550201": [1, 1000, 50, 0, 0, "0.00375"],
      });
      const held = world.db.prepare("SELECT reason, account_id FROM usage_review ORDER BY reason").all() as {
        reason: string;
        account_id: string;
      }[];
      expect(held.map((r) => [r.account_id, r.reason])).toEqual([
        ["telegram:5550201", "token total 1280 without an input/output split (not priced)"],
        ["telegram:5550202", "token total 2150 without an input/output split (not priced)"],
      ]);
    });
  }

  it("a Gemini total of 0 is still zero usage; its total is the held call's total", () => {
    expect(parseLine(line({ totalTokenCount: 0 }))).toEqual({ kind: "skip", why: "zero-usage" });
    expect(parseLine(line({ total_token_count: 0, promptTokenCount: 0 }))).toEqual({
      kind: "skip",
      why: "zero-usage",
    });
    const u = usageOf(line({ totalTokenCount: 640 }));
    expect(u.countProblem).toBe("token total 640 without an input/output split (not priced)");
    expect(u.totalTokens).toBe(640);
    // beside a split, the total is read as before (the call is billed on its split)
    expect(
      usageOf(line({ promptTokenCount: 10, candidatesTokenCount: 2, totalTokenCount: 12 })).countProblem,
    ).toBe(undefined);
  });
});

describe("case qqbot-c2c-route-target: a QQ private chat's route bills qqbot:<openid>", () => {
  it("1 call $0.00375 to qqbot:<openid> (was qqbot:c2c:<openid>)", async () => {
    const { s, world } = await meterCase("qqbot-c2c-route-target", "calculate");
    expect(s).toMatchObject({ billed: 1, held: 0 });
    expect(byUser(world)).toEqual({
      "qqbot:a2b91ccea0e039905b45c84dd96c92fd": [1, 1000, 50, 0, 0, "0.00375"],
    });
  });
});
