import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases of the hunters' leftovers (helper r-left, 2026-12-03). */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const byUser = (world: TempWorld) =>
  Object.fromEntries(queryUsage(world.db, { by: "user" }).map((x) => [x.key, [x.requests, x.costUsd]]));

describe("case usage-without-provider-or-model-held: a call naming no provider or model is held, not dropped", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 1 call billed, the 3 unnamed ones held for review (were malformed, never seen)`, async () => {
      const r = await meterCaseDir(join(CASES, "usage-without-provider-or-model-held"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 1, malformed: 0, held: 3 });
      expect(byUser(w)).toEqual({ "telegram:5550101": [1, "0.00375"] });
      const reasons = (
        w.db.prepare("SELECT reason FROM usage_review ORDER BY id").all() as { reason: string }[]
      ).map((x) => x.reason);
      expect(reasons).toEqual([
        'call with usage names no model (provider "mock", model ""): not priced',
        'call with usage names no provider (provider null, model "mock-gpt"): not priced',
        'call with usage names no model (provider "mock", model (object)): not priced',
      ]);
      const costs = w.db.prepare("SELECT cost_pico_usd AS c FROM usage_review").all() as { c: unknown }[];
      expect(costs.every((x) => x.c === null)).toBe(true);
    });
  }

  it("a line naming both is read as before; zero usage without a model is still skipped", () => {
    const line = (msg: string, usage: string) =>
      `{"type":"message","id":"a1","timestamp":"2026-11-22T18:13:21.500Z","message":{"role":"assistant","content":[],"api":"openai-completions",${msg}"usage":${usage},"timestamp":1795371200000}}`;
    const ok = parseLine(line('"provider":"mock","model":"mock-gpt",', '{"input":10,"output":5}'));
    expect(ok.kind === "usage" && ok.usage.countProblem).toBeUndefined();
    const none = parseLine(line("", '{"input":10,"output":5}'));
    expect(none.kind === "usage" && none.usage.countProblem).toMatch(/names no provider/);
    expect(parseLine(line("", '{"input":0,"output":0}'))).toMatchObject({ kind: "skip", why: "zero-usage" });
  });
});

describe("case usage-anthropic-cache-creation-breakdown-only: writes given only as the TTL breakdown are billed", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 3 calls $0.1539 with 30000 writes, 14000 of them 1-hour (were $0.0474, 10000 writes)`, async () => {
      const r = await meterCaseDir(join(CASES, "usage-anthropic-cache-creation-breakdown-only"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 3, malformed: 0, held: 0 });
      const [u] = queryUsage(w.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550202",
        requests: 3,
        cacheWrite: 30_000,
        cacheWrite1h: 14_000,
        costUsd: "0.1539",
      });
    });
  }

  it("the breakdown is not read beside a write total or an OpenAI-style prompt total", () => {
    const line = (usage: string) =>
      `{"type":"message","id":"a1","timestamp":"2026-11-22T18:13:21.500Z","message":{"role":"assistant","content":[],"api":"anthropic-messages","provider":"anthropic","model":"claude-sonnet-4-5","usage":${usage},"timestamp":1795371200000}}`;
    const only = parseLine(
      line(
        '{"input_tokens":5,"output_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":30,"ephemeral_1h_input_tokens":70}}',
      ),
    );
    expect(only.kind === "usage" && [only.usage.cacheWrite, only.usage.cacheWrite1h]).toEqual([100, 70]);
    // billed before with no writes: that identity is kept
    expect(only.kind === "usage" && only.usage.identityCacheWrite).toBe(0);
    const total = parseLine(
      line(
        '{"input_tokens":5,"output_tokens":1,"cache_creation_input_tokens":120,"cache_creation":{"ephemeral_5m_input_tokens":30,"ephemeral_1h_input_tokens":70}}',
      ),
    );
    expect(total.kind === "usage" && [total.usage.cacheWrite, total.usage.cacheWrite1h]).toEqual([120, 70]);
    const prompt = parseLine(
      line('{"prompt_tokens":500,"completion_tokens":1,"cache_creation":{"ephemeral_5m_input_tokens":100}}'),
    );
    expect(prompt.kind === "usage" && [prompt.usage.input, prompt.usage.cacheWrite]).toEqual([500, 0]);
  });
});

describe("case usage-deepseek-cache-split-without-prompt-total: the cache-miss tokens are the input", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 3 calls $0.0423, input 7000, cache read 16000 (were $0.0273, input 2000)`, async () => {
      const r = await meterCaseDir(join(CASES, "usage-deepseek-cache-split-without-prompt-total"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 3, malformed: 0, held: 0 });
      const [u] = queryUsage(w.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550303",
        requests: 3,
        input: 7_000,
        cacheRead: 16_000,
        costUsd: "0.0423",
      });
    });
  }

  it("reads miss as input only without a prompt total, and keeps the identity (input 0)", () => {
    const line = (usage: string) =>
      `{"type":"message","id":"a1","timestamp":"2026-11-22T18:13:21.500Z","message":{"role":"assistant","content":[],"api":"openai-completions","provider":"deepseek","model":"deepseek-chat","usage":${usage},"timestamp":1795371200000}}`;
    const split = parseLine(
      line('{"prompt_cache_hit_tokens":80,"prompt_cache_miss_tokens":20,"completion_tokens":5}'),
    );
    expect(
      split.kind === "usage" && [split.usage.input, split.usage.cacheRead, split.usage.identityInput],
    ).toEqual([20, 80, 0]);
    const zero = parseLine(
      line(
        '{"prompt_tokens":0,"prompt_cache_hit_tokens":80,"prompt_cache_miss_tokens":20,"completion_tokens":5}',
      ),
    );
    expect(zero.kind === "usage" && [zero.usage.input, zero.usage.cacheRead]).toEqual([20, 80]);
    const total = parseLine(
      line(
        '{"prompt_tokens":100,"prompt_cache_hit_tokens":80,"prompt_cache_miss_tokens":20,"completion_tokens":5}',
      ),
    );
    expect(
      total.kind === "usage" && [total.usage.input, total.usage.cacheRead, total.usage.identityInput],
    ).toEqual([20, 80, undefined]);
  });
});
