import {
  appendFileSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { commandUser } from "../../plugin/src/commands.js";
import { gatedUser } from "../../plugin/src/gate.js";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { configuredIdentityLinks } from "../../plugin/src/user.js";
import { MIGRATIONS } from "../../src/db/migrations.js";
import { pushEventOf } from "../../src/edge/outbox.js";
import { createPushIngester } from "../../src/ingest/index.js";
import { meterIdentityOf, pushEventSchema } from "../../src/ingest/push.js";
import { discoverStateDirs } from "../../src/meter/discover.js";
import { dedupeKey } from "../../src/meter/identity.js";
import type { MeterOptions } from "../../src/meter/meter.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import {
  CORRECTED_TABLE_VERSION,
  clearTablePriceCache,
  createPricer,
  findTablePrice,
  parsePriceOverrides,
  tableVersionOf,
} from "../../src/meter/pricing.js";
import { parseTimeArg, queryUsage } from "../../src/meter/report.js";
import { sessionChannel } from "../../src/meter/resolve-user.js";
import { packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import { parseDecimal } from "../../src/money.js";
import { meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * test/cases: inputs a fresh tester built from public bug reports of tools like this one, each
 * with its right value in its README (copied per test, never written).
 */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(
  name: string,
  mode: "calculate" | "auto" | "recorded" = "calculate",
  extra: Partial<MeterOptions> = {},
) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), mode, extra);
  w = r.world;
  return r;
}

describe("case dm-thread-session-key: a DM thread bills the DM's user", () => {
  it("telegram:5550101 3 calls $0.01365, discord $0.01215, slack $0.01515, no per-thread account", async () => {
    const { s, world } = await meterCase("dm-thread-session-key");
    expect(s.billed).toBe(5);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": { requests: 3, costUsd: "0.01365" },
      "discord:123456789012345678": { requests: 1, costUsd: "0.01215" },
      "slack:u07abc": { requests: 1, costUsd: "0.01515" },
    });
  });
});

describe("case heartbeat-isolated-session: an isolated heartbeat run is the operator's, even of a DM", () => {
  it("agent:main 4 calls $0.02325, telegram:5550101 1 call $0.0045, no :heartbeat account, whatsapp user unbilled", async () => {
    const { s, world } = await meterCase("heartbeat-isolated-session");
    expect(s.billed).toBe(5);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "agent:main": { requests: 4, costUsd: "0.02325" },
      "telegram:5550101": { requests: 1, costUsd: "0.0045" },
    });
  });
});

describe("case negative-input-dropped: a negative token count is billed, not dropped", () => {
  // Since 2026-12-03 (case usage-prompt-excludes-cached) the second call's input -400 beside 500
  // cached tokens is a cache-exclusive prompt count of 100, no longer read as 0.
  it("telegram:5550101 2 calls $0.00495 (the second with input -400 + 500 cached = 100), not dropped", async () => {
    const { s, world } = await meterCase("negative-input-dropped");
    expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0 });
    const [u] = queryUsage(world.db, { by: "user" });
    expect(u).toMatchObject({
      key: "telegram:5550101",
      requests: 2,
      input: 1100,
      output: 100,
      costUsd: "0.00495",
    });
  });
});

describe("case usage-prompt-excludes-cached: a prompt count without its cached part is the uncached input", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: 2 calls $0.0011718 each (input 4142 at $0.20), not $0.0003434 (input read as 0)`, async () => {
      const { s, world } = await meterCase("usage-prompt-excludes-cached", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.input, r.output, r.cacheRead, r.costUsd],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550401": [1, 4142, 254, 4328, "0.0011718"],
        "telegram:5550402": [1, 4142, 254, 4328, "0.0011718"],
      });
    });
  }

  it("keeps the identity the call was billed under before (input 0), packed and pushed", () => {
    const dir = join(CASES, "usage-prompt-excludes-cached", "state/agents/main/sessions");
    for (const sid of ["b2b20000-0000-4000-8000-000000000001", "b2b20000-0000-4000-8000-000000000002"]) {
      const line = readFileSync(join(dir, `${sid}.jsonl`), "utf8")
        .trim()
        .split("\n")
        .at(-1) as string;
      const r = parseLine(line);
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      expect(r.clamped).toBe(false);
      const u = r.usage;
      expect([u.input, u.identityInput]).toEqual([4142, 0]);
      const old = { ...u, input: 0 };
      delete old.identityInput;
      expect(dedupeKey(u)).toBe(dedupeKey(old));
      const ev = usageEvent(u, "main", sid, null, "telegram:5550401", "jsonl", `${sid}@0`);
      const packed = packEvents([ev]);
      expect(packed).not.toBeNull();
      expect(unpackEvents(packed as NonNullable<typeof packed>)[0]).toEqual(ev);
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(old));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    }
  });

  it("any other negative count is still billed as 0 and counted", () => {
    const call = (usage: Record<string, unknown>) =>
      parseLine(
        JSON.stringify({
          type: "message",
          message: { role: "assistant", provider: "xai", model: "m", usage, timestamp: 1795371120050 },
        }),
      );
    // no cache reads to add back, or more taken out than the cache reads hold
    expect(call({ input: -5, output: 3, cacheRead: 0 })).toMatchObject({
      clamped: true,
      usage: { input: 0 },
    });
    expect(call({ input: -500, output: 3, cacheRead: 400 })).toMatchObject({
      clamped: true,
      usage: { input: 0, cacheRead: 400 },
    });
    // a prompt count that holds its cached part is read as before
    expect(call({ prompt_tokens: 500, completion_tokens: 3, cached_tokens: 400 })).toMatchObject({
      clamped: false,
      usage: { input: 100, cacheRead: 400 },
    });
    expect(call({ prompt_tokens: 100, completion_tokens: 3, cached_tokens: 400 })).toMatchObject({
      clamped: false,
      usage: { input: 100, cacheRead: 400, identityInput: 0 },
    });
  });
});

describe("case usage-provider-field-names: usage under the providers' own names is billed, cached tokens once", () => {
  it("4 calls $0.04875: Anthropic snake_case, OpenAI chat and Responses totals minus cached, DeepSeek cache hits", async () => {
    const { s, world } = await meterCase("usage-provider-field-names");
    expect(s).toMatchObject({ billed: 4, malformed: 0, clamped: 0 });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [
        r.key,
        [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
      ]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": [1, 2000, 300, 10000, 1000, "0.01725"],
      "telegram:5550102": [1, 2000, 200, 10000, 0, "0.012"],
      "telegram:5550103": [1, 1000, 400, 4000, 0, "0.0102"],
      "telegram:5550104": [1, 2000, 100, 6000, 0, "0.0093"],
    });
  });
});

describe("case usage-codex-cached-input-names: Codex's cached input and cache writes are billed once", () => {
  it("3 calls $0.0573 (cached at the cache-read rate, writes once), not $0.1515", async () => {
    const { s, world } = await meterCase("usage-codex-cached-input-names");
    expect(s).toMatchObject({ billed: 3, malformed: 0, clamped: 0 });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [
        r.key,
        [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.totalTokens, r.costUsd],
      ]),
    );
    expect(byUser).toEqual({
      "telegram:5550201": [1, 2000, 300, 10000, 0, 12300, "0.0135"],
      "telegram:5550202": [1, 1000, 500, 15000, 4000, 20500, "0.03"],
      "telegram:5550203": [1, 1000, 100, 6000, 2000, 9100, "0.0138"],
    });
  });

  it("keeps the identity the call was billed under before (input as written, no cache), packed and pushed", () => {
    const dir = join(CASES, "usage-codex-cached-input-names", "state/agents/main/sessions");
    const before: Record<string, number> = {
      "c0de0000-0000-4000-8000-000000000001": 12000,
      "c0de0000-0000-4000-8000-000000000002": 20000,
      "c0de0000-0000-4000-8000-000000000003": 9000,
    };
    for (const [sid, oldInput] of Object.entries(before)) {
      const line = readFileSync(join(dir, `${sid}.jsonl`), "utf8")
        .trim()
        .split("\n")
        .at(-1) as string;
      const r = parseLine(line);
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      const u = r.usage;
      expect(u.input + u.cacheRead + u.cacheWrite).toBe(oldInput);
      // what the reader before 2026-12-03 made of the line: input as written, no cache counts
      // in its identity (the app-server's writes were read as Bedrock's, outside the identity)
      const old = { ...u, input: oldInput, cacheRead: 0, cacheWrite: 0 };
      delete old.identityInput;
      delete old.identityCacheRead;
      delete old.identityCacheWrite;
      expect(dedupeKey(u)).toBe(dedupeKey(old));
      const ev = usageEvent(u, "main", sid, null, "telegram:5550201", "jsonl", `${sid}@0`);
      const packed = packEvents([ev]);
      expect(packed).not.toBeNull();
      expect(unpackEvents(packed as NonNullable<typeof packed>)[0]).toEqual(ev);
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(old));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    }
  });
});

describe("case usage-xai-reasoning-outside-completion: xAI's reasoning, counted apart, is billed as output", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: 2 calls $0.0234827 (grok-4.20 at xAI's own $0.0232856), not $0.0162672`, async () => {
      const { s, world } = await meterCase("usage-xai-reasoning-outside-completion", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.input, r.output, r.cacheRead, r.totalTokens, r.costUsd],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550301": [1, 9992, 4308, 128, 14428, "0.0232856"],
        "telegram:5550302": [1, 12, 387, 0, 399, "0.0001971"],
      });
    });
  }

  it("keeps the identity the call was billed under before (output without reasoning), packed and pushed", () => {
    const dir = join(CASES, "usage-xai-reasoning-outside-completion", "state/agents/main/sessions");
    const before: Record<string, number> = {
      "a1a10000-0000-4000-8000-000000000001": 1499,
      "a1a10000-0000-4000-8000-000000000002": 1,
    };
    for (const [sid, oldOutput] of Object.entries(before)) {
      const line = readFileSync(join(dir, `${sid}.jsonl`), "utf8")
        .trim()
        .split("\n")
        .at(-1) as string;
      const r = parseLine(line);
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      const u = r.usage;
      expect(u.output).toBe(oldOutput + (u.reasoningTokens ?? 0));
      const old = { ...u, output: oldOutput };
      delete old.identityOutput;
      expect(u.identityOutput).toBe(oldOutput);
      expect(dedupeKey(u)).toBe(dedupeKey(old));
      const ev = usageEvent(u, "main", sid, null, "telegram:5550301", "jsonl", `${sid}@0`);
      const packed = packEvents([ev]);
      expect(packed).not.toBeNull();
      expect(unpackEvents(packed as NonNullable<typeof packed>)[0]).toEqual(ev);
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(old));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    }
  });
});

describe("case google-input-holds-cache: Gemini cached tokens in input are billed once", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550107 2 calls $0.0078442 (input 5386 + 933), not $0.0159887`, async () => {
      const { s, world } = await meterCase("google-input-holds-cache", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0 });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550107",
        requests: 2,
        input: 6319,
        output: 125,
        cacheRead: 86194,
        costUsd: "0.0078442",
      });
    });
  }
});

describe("case google-unknown-model-estimate: an unlisted model's estimate of a doubled cache is corrected", () => {
  for (const mode of ["auto", "recorded"] as const) {
    it(`${mode}: telegram:5551107 2 calls $0.00867275 (the cached tokens out of OpenClaw's estimate), not $0.01355945`, async () => {
      const { s, world } = await meterCase("google-unknown-model-estimate", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0 });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5551107",
        requests: 2,
        input: 6319,
        cacheRead: 86194,
        costUsd: "0.00867275",
        unknownModelRequests: mode === "auto" ? 2 : 0,
        fallbackPricedRequests: 0,
      });
      const rows = world.db
        .prepare("SELECT cost_pico_usd AS c, price_source AS s FROM usage_events ORDER BY message_ts_ms")
        .all();
      expect(rows).toEqual([
        { c: 2_849_975_000, s: "recorded" },
        { c: 5_822_775_000, s: "recorded" },
      ]);
    });
  }

  it("a provider-billed amount on the same shape is billed as written", () => {
    const line = (cost: Record<string, unknown>) =>
      JSON.stringify({
        type: "message",
        timestamp: "2026-02-14T09:30:01.900Z",
        message: {
          role: "assistant",
          api: "google-generative-ai",
          provider: "google",
          model: "gemini-robotics-er-1.5-preview",
          usage: { input: 21675, output: 5, cacheRead: 16289, cacheWrite: 0, totalTokens: 21680, cost },
          stopReason: "stop",
          timestamp: 1771061400040,
        },
      });
    const estimate = { input: 0.0065025, output: 0.0000125, cacheRead: 0.001221675, cacheWrite: 0 };
    const parsed = (cost: Record<string, unknown>) => {
      const r = parseLine(line(cost));
      if (r.kind !== "usage") throw new Error(r.kind);
      return r.usage;
    };
    expect(parsed({ ...estimate, total: 0.007736675 }).recordedCostUsd).toBe(0.002849975);
    // what the provider charged, and an estimate whose parts do not add up: as written
    expect(parsed({ ...estimate, total: 0.0077, totalOrigin: "provider-billed" }).recordedCostUsd).toBe(
      0.0077,
    );
    expect(parsed({ ...estimate, total: 0.009 }).recordedCostUsd).toBe(0.009);
    expect(parsed({ total: 0.007736675 }).recordedCostUsd).toBe(0.007736675);
  });
});

describe("case openclaw-estimate-unit-slip: an estimate 10^6 under the list price is not billed", () => {
  for (const mode of ["recorded", "auto", "calculate"] as const) {
    it(`${mode}: telegram:5551201 2 calls $1.83822975 (Opus 4.7 at its list price), not $0.030055424539`, async () => {
      const { s, world } = await meterCase("openclaw-estimate-unit-slip", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0 });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({ key: "telegram:5551201", requests: 2, costUsd: "1.83822975" });
      const rows = world.db
        .prepare(
          "SELECT cost_pico_usd AS c, price_source AS s, anomaly FROM usage_events ORDER BY message_ts_ms",
        )
        .all() as { c: number; s: string; anomaly: string | null }[];
      expect(rows.map((r) => [r.c, r.s])).toEqual([
        [1_808_179_750_000, "table"],
        [30_050_000_000, mode === "recorded" ? "recorded" : "table"],
      ]);
      expect(rows[0]?.anomaly).toMatch(
        /^recorded estimate \$0\.000005424539 is under 1\/1000 of the list price/,
      );
      expect(rows[1]?.anomaly).toBeNull();
    });
  }

  it("recorded: a per-1K price in the per-1M field (1000x over) is not billed either; a provider-billed one is", () => {
    const pricer = createPricer({
      mode: "recorded",
      overrides: parsePriceOverrides({}, "p"),
      fallback: FALLBACK,
    });
    const call = {
      provider: "anthropic",
      model: "claude-opus-4-7",
      api: "anthropic-messages",
      messageTsMs: 1776938460050,
      responseId: null,
      input: 10,
      output: 200,
      cacheRead: 50000,
      cacheWrite: 0,
      cacheWrite1h: 0,
      totalTokens: 50210,
      reasoningTokens: null,
      stopReason: "stop",
      isError: false,
      errorMessage: null,
    };
    // list $0.03005: an estimate of 1000x that or more is a unit slip, 1000x exactly too (a per-1K
    // price in a per-1M field; before 2026-12-03 exactly 1000x was billed as recorded), with 1 %
    // to spare for the estimate's float rounding; 988x is not
    for (const usd of [30.06, 30.05, 29.8]) {
      expect(pricer.price({ ...call, recordedCostUsd: usd, recordedCostOrigin: null })).toMatchObject({
        costPicoUsd: 30_050_000_000n,
        source: "table",
      });
    }
    expect(pricer.price({ ...call, recordedCostUsd: 29.7, recordedCostOrigin: null })).toMatchObject({
      costPicoUsd: 29_700_000_000_000n,
      source: "recorded",
    });
    // and under: exactly 1/1000 of the list (and a float's rounding below it) is a slip, 1/988 is not
    for (const usd of [0.00003005, 0.0000300500000001, 0.0000303]) {
      expect(pricer.price({ ...call, recordedCostUsd: usd, recordedCostOrigin: null })).toMatchObject({
        costPicoUsd: 30_050_000_000n,
        source: "table",
      });
    }
    expect(pricer.price({ ...call, recordedCostUsd: 0.0000304, recordedCostOrigin: null })).toMatchObject({
      costPicoUsd: 30_400_000n,
      source: "recorded",
    });
    expect(
      pricer.price({ ...call, recordedCostUsd: 0.00000003, recordedCostOrigin: "provider-billed" }),
    ).toMatchObject({
      costPicoUsd: 30_000n,
      source: "provider-billed",
    });
  });
});

describe("case openclaw-estimate-per-1k-slip: an estimate of exactly 1/1000 of the list price is a slip too", () => {
  for (const mode of ["recorded", "auto", "calculate"] as const) {
    it(`${mode}: telegram:5551201 2 calls $0.12505 (the per-1K estimate at its list price), not $0.030145`, async () => {
      const { s, world } = await meterCase("openclaw-estimate-per-1k-slip", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0 });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({ key: "telegram:5551201", requests: 2, costUsd: "0.12505" });
      const rows = world.db
        .prepare("SELECT cost_pico_usd AS c, anomaly FROM usage_events ORDER BY message_ts_ms")
        .all() as { c: number; anomaly: string | null }[];
      expect(rows.map((r) => r.c)).toEqual([95_000_000_000, 30_050_000_000]);
      expect(rows[0]?.anomaly).toMatch(/^recorded estimate \$0\.000095 is about 1\/1000 of the list price/);
    });
  }
});

describe("case openrouter-free-variant: OpenRouter's free models cost $0, not the fallback price", () => {
  it("auto: $0, $0 and the provider-billed $0.0042; nothing unknown", async () => {
    const { s, world } = await meterCase("openrouter-free-variant", "auto");
    expect(s).toMatchObject({ billed: 3, unknownModels: [] });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [
        r.key,
        [r.requests, r.costUsd, r.unknownModelRequests],
      ]),
    );
    expect(byUser).toEqual({
      "telegram:5550201": [1, "0", 0],
      "telegram:5550202": [1, "0", 0],
      "telegram:5550203": [1, "0.0042", 0],
    });
  });
});
describe("case subagent-of-per-peer-dm: a sub-agent of a per-peer DM bills the DM's user", () => {
  it("telegram:5550101 3 calls $0.01365 (the parent's channel), no channel-less direct: account", async () => {
    const { s, world } = await meterCase("subagent-of-per-peer-dm");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "telegram:5550101": { requests: 3, costUsd: "0.01365" } });
  });
});

describe("case custom-main-key: the main session under a configured session.mainKey is the operator's", () => {
  it("agent:main 2 calls $0.012, not telegram:5550101 (the last sender in its route)", async () => {
    const { s, world } = await meterCase("custom-main-key");
    expect(s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "agent:main": { requests: 2, costUsd: "0.012" } });
  });
});

describe("case compaction-successor-orphan: a compacted session's predecessor bills the session's user", () => {
  it("telegram:5550101 4 calls $0.02565, nothing on agent:main (was $0.0045)", async () => {
    const { s, world } = await meterCase("compaction-successor-orphan");
    expect(s.billed).toBe(4);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "telegram:5550101": { requests: 4, costUsd: "0.02565" } });
  });
});

describe("case subagent-into-other-agent: a sub-agent run under another agent bills the requester's user", () => {
  it("telegram:5550101 3 calls $0.01365, no direct:5550101 account (was $0.00915)", async () => {
    const { s, world } = await meterCase("subagent-into-other-agent");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "telegram:5550101": { requests: 3, costUsd: "0.01365" } });
  });
});

describe("case codex-input-holds-cache: Codex-harness cached tokens in input are billed once", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550301 2 calls $0.055592 (input 3154 + 2210), not $0.168232`, async () => {
      const { s, world } = await meterCase("codex-input-holds-cache", mode);
      expect(s).toMatchObject({ billed: 2, malformed: 0 });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550301",
        requests: 2,
        input: 5364,
        output: 1242,
        cacheRead: 94208,
        costUsd: "0.055592",
      });
    });
  }
});

describe("case codex-harness-cumulative-usage: a Codex thread's running totals are billed once", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550302 3 calls $0.076846 (the thread's total once), not $0.179796`, async () => {
      const { s, world } = await meterCase("codex-harness-cumulative-usage", mode);
      expect(s).toMatchObject({ billed: 3, malformed: 0 });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550302",
        requests: 3,
        input: 15576,
        output: 1870,
        cacheRead: 39424,
        costUsd: "0.076846",
      });
    });
  }

  it("each call keeps the identity of its counts as written (calls billed before stay duplicates)", async () => {
    const { world } = await meterCase("codex-harness-cumulative-usage");
    const file = join(world.stateDir, "agents/main/sessions/4b7e2c91-6d3a-4f58-9e1b-2a8c5d7f0e64.jsonl");
    const written = readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.includes('"assistant"'))
      .map((l) => {
        const r = parseLine(l);
        if (r.kind !== "usage") throw new Error("not a usage line");
        return dedupeKey(r.usage);
      });
    const keys = (
      world.db.prepare("SELECT dedupe_key FROM usage_events ORDER BY message_ts_ms").all() as {
        dedupe_key: string;
      }[]
    ).map((r) => r.dedupe_key);
    expect(keys).toEqual(written);
  });
});

describe("case openrouter-routing-variant: an OpenRouter :nitro/:online slug is priced as its base model", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550401 2 calls $0.008816, none unknown (not $0.30075 at the fallback)`, async () => {
      const { s, world } = await meterCase("openrouter-routing-variant", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550401",
        requests: 2,
        costUsd: "0.008816",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case openrouter-byok-cost: OpenRouter BYOK and numeric usage.cost bill what the operator paid", () => {
  it("auto: $0.0021 (list price for a BYOK $0), $0.0360795, $0.0045, $0.00534 (fee + upstream)", async () => {
    const { s, world } = await meterCase("openrouter-byok-cost", "auto");
    expect(s).toMatchObject({ billed: 4, malformed: 0, unknownModels: [] });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [
        r.key,
        [r.requests, r.costUsd, r.providerBilledRequests],
      ]),
    );
    expect(byUser).toEqual({
      "telegram:5550301": [1, "0.0021", 0],
      "telegram:5550302": [1, "0.0360795", 1],
      "telegram:5550303": [1, "0.0045", 1],
      "telegram:5550304": [1, "0.00534", 1],
    });
    const anomalies = world.db
      .prepare<[], { account_id: string; anomaly: string }>(
        "SELECT account_id, anomaly FROM usage_events WHERE anomaly IS NOT NULL",
      )
      .all();
    expect(anomalies).toEqual([
      {
        account_id: "telegram:5550301",
        anomaly: expect.stringContaining("provider-billed cost $0 on a model listed at $0.0021"),
      },
    ]);
  });

  it("calculate: the list price for all four ($0.040608)", async () => {
    const { world } = await meterCase("openrouter-byok-cost", "calculate");
    const total = queryUsage(world.db, { by: "user" }).reduce((a, r) => a + BigInt(r.costPicoUsd), 0n);
    expect(total).toBe(40_608_000_000n);
  });
});

describe("case openclaw-profile-dirs: profile state dirs (--profile, --dev) and ~/.moldbot are read", () => {
  const sources = (home: string, extra: { openclawHome?: string; openclawProfile?: string } = {}) => ({
    explicitStateDirs: null,
    openclawStateDir: null,
    clawdbotStateDir: null,
    moltbotStateDir: null,
    home,
    agents: null,
    ...extra,
  });

  it("found from HOME alone: 4 calls $0.0018, one per user (before: ~/.openclaw only, 1 call $0.00045)", async () => {
    w = tempWorld();
    const home = join(w.dir, "home");
    cpSync(join(CASES, "openclaw-profile-dirs", "home"), home, { recursive: true });
    const dirs = discoverStateDirs(sources(home));
    expect(dirs.map((d) => [d.path.slice(home.length + 1), d.via])).toEqual([
      [".openclaw", "~/.openclaw"],
      [".moldbot", "~/.moldbot"],
      [".openclaw-dev", "~/.openclaw-dev (profile)"],
      [".openclaw-work", "~/.openclaw-work (profile)"],
    ]); // .openclaw-cache holds no agents/: not a state dir
    const prices = JSON.parse(readFileSync(join(CASES, "openclaw-profile-dirs", "prices.json"), "utf8"));
    const meter = meterFor(w, {
      stateDirs: dirs,
      pricer: createPricer({
        mode: "auto",
        overrides: parsePriceOverrides(prices, "prices.json"),
        fallback: FALLBACK,
      }),
    });
    const s = await meter.runOnce();
    meter.close();
    expect(s.billed).toBe(4);
    expect(queryUsage(w.db, { by: "user" }).map((r) => [r.key, r.requests, r.costUsd])).toEqual(
      expect.arrayContaining([
        ["telegram:5550401", 1, "0.00045"],
        ["telegram:5550402", 1, "0.00045"],
        ["telegram:5550403", 1, "0.00045"],
        ["telegram:5550404", 1, "0.00045"],
      ]),
    );
  });

  it("OPENCLAW_PROFILE names a dir watched before it exists; OPENCLAW_HOME is a second home", () => {
    w = tempWorld();
    const home = join(w.dir, "home");
    const ocHome = join(w.dir, "oc-home");
    mkdirSync(join(ocHome, ".openclaw", "agents"), { recursive: true });
    const dirs = discoverStateDirs(sources(home, { openclawHome: ocHome, openclawProfile: "team" }));
    expect(dirs.map((d) => [d.path, d.via])).toEqual([
      [join(home, ".openclaw-team"), "OPENCLAW_PROFILE"],
      [join(ocHome, ".openclaw"), "$OPENCLAW_HOME/.openclaw"],
    ]);
    expect(discoverStateDirs(sources(home, { openclawProfile: "default" }))[0]?.path).toBe(
      join(home, ".openclaw"),
    );
  });

  it("an OPENCLAW_PROFILE OpenClaw would refuse (a path) names no dir, least of all one outside HOME", () => {
    w = tempWorld();
    const home = join(w.dir, "home");
    mkdirSync(join(w.dir, "elsewhere", "agents"), { recursive: true });
    for (const bad of ["x/../../elsewhere", "../elsewhere", "a b", "x\\y"])
      expect(discoverStateDirs(sources(home, { openclawProfile: bad })), bad).toEqual([]);
  });
});

describe("case served-model-pricing: a call is priced as the model that served it (message.responseModel)", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    const snapshot = mode === "recorded" ? "0.0035" : "0.0028";
    it(`${mode}: Fable→Opus fallback $0.00866, openrouter/auto→Sonnet 4.5 $0.045, gpt-4o snapshot $${snapshot}`, async () => {
      const { s, world } = await meterCase("served-model-pricing", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      const byUser = Object.fromEntries(
        queryUsage(world.db, { by: "user" }).map((r) => [
          r.key,
          [r.requests, r.costUsd, r.unknownModelRequests],
        ]),
      );
      expect(byUser).toEqual({
        "telegram:5550601": [1, "0.00866", 0],
        "telegram:5550602": [1, "0.045", 0],
        // the same model under its dated name: the operator's price for gpt-4o (recorded: OpenClaw's estimate)
        "telegram:5550603": [1, snapshot, 0],
      });
    });
  }
});

describe("case model-id-resource-name: a Google / Vertex resource name is priced as its model id", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550501 2 calls $0.56475 (the >200k tier on 2.5 Pro), none unknown (not $3.7125)`, async () => {
      const { s, world } = await meterCase("model-id-resource-name", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550501",
        requests: 2,
        costUsd: "0.56475",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case gateway-provider-fuzzy-match: cloudflare-ai-gateway's Claude calls at Anthropic's price", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550601 2 calls $0.0279, none unknown (not $0.1575 at the fallback)`, async () => {
      const { s, world } = await meterCase("gateway-provider-fuzzy-match", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550601",
        requests: 2,
        costUsd: "0.0279",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case openai-service-tier: priority and flex calls bill the tier OpenAI charged", () => {
  for (const [mode, usd] of [
    ["auto", "0.0518"],
    ["recorded", "0.0518"],
    ["calculate", "0.03535"],
  ] as const) {
    it(`${mode}: telegram:5550701 3 calls $${usd}${mode === "calculate" ? " (list prices only)" : ", not the list $0.03535"}`, async () => {
      const { s, world } = await meterCase("openai-service-tier", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550701",
        requests: 3,
        costUsd: usd,
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case subagent-into-other-agent-store: the same, read from OpenClaw's SQLite stores", () => {
  it("telegram:5550101 3 calls $0.01365, no direct:5550101 account (was $0.00915)", async () => {
    const { s, world } = await meterCase("subagent-into-other-agent-store");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "telegram:5550101": { requests: 3, costUsd: "0.01365" } });
  });
});

describe("case slash-command-session: a native slash command's session bills its user", () => {
  it("slack:u07abc $0.01125, discord:123456789012345678 $0.012, telegram:5550101 $0.00165, no channel account", async () => {
    const { s, world } = await meterCase("slash-command-session");
    expect(s.billed).toBe(4);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "slack:u07abc": { requests: 2, costUsd: "0.01125" },
      "discord:123456789012345678": { requests: 1, costUsd: "0.012" },
      "telegram:5550101": { requests: 1, costUsd: "0.00165" },
    });
  });
});

describe("case slack-slash-custom-prefix: a custom Slack slash-command prefix bills the command's user", () => {
  it("slack:u07abc $0.01125 (was user:u07abc), slack:u07def $0.0045 (was agent:main)", async () => {
    const { s, world } = await meterCase("slack-slash-custom-prefix");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "slack:u07abc": { requests: 2, costUsd: "0.01125" },
      "slack:u07def": { requests: 1, costUsd: "0.0045" },
    });
  });
});

describe("case zero-filled-crash-tail: complete calls next to a crash's NUL fill are billed", () => {
  it("telegram:5550101 4 calls $0.0375, agent:main 2 calls $0.04125, nothing malformed (was 2 + 1 calls)", async () => {
    const { s, world } = await meterCase("zero-filled-crash-tail");
    expect(s).toMatchObject({ billed: 6, malformed: 0 });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]]),
    );
    expect(byUser).toEqual({ "telegram:5550101": [4, "0.0375"], "agent:main": [2, "0.04125"] });
    const again = meterFor(world);
    expect(await again.runOnce()).toMatchObject({ billed: 0 });
    again.close();
  });
});

describe("case openresponses-user-session: the OpenResponses endpoint's user is an account", () => {
  it("openai-user:alice $0.0315 and openresponses-user:alice $0.0315, nothing to agent:main", async () => {
    const { s, world } = await meterCase("openresponses-user-session");
    expect(s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "openai-user:alice": { requests: 1, costUsd: "0.0315" },
      "openresponses-user:alice": { requests: 1, costUsd: "0.0315" },
    });
  });
});

describe("case mistral-latest-alias: a -latest alias is priced as the model it named at the call's time", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550801 2 calls $0.0325 (Large 2.1 before 2025-12-02, Large 3 after), not $0.052`, async () => {
      const { s, world } = await meterCase("mistral-latest-alias", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550801",
        requests: 2,
        costUsd: "0.0325",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case http-user-heartbeat-subagent: a sub-agent of an HTTP user's heartbeat run is the operator's", () => {
  it("both calls to agent:main, none to an account named openresponses-user:alice:heartbeat", async () => {
    const { s, world } = await meterCase("http-user-heartbeat-subagent");
    expect(s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "agent:main": { requests: 2, costUsd: "0.063" } });
  });
});

describe("case response-copy-rewritten: one provider response is one call, however often it is written", () => {
  const SESSION = "agents/main/sessions/7c1e9a40-2b6d-4f8e-9a3c-5d7e1f2a4b60.jsonl";
  const pricer = () =>
    createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides(
        JSON.parse(readFileSync(join(CASES, "response-copy-rewritten", "prices.json"), "utf8")),
        "prices.json",
      ),
      fallback: FALLBACK,
    });

  it("5 calls $0.01855 (a copy with a new time once, a partial + final copy as final, short reused ids apart), not 7 / $0.02965", async () => {
    const { s, world } = await meterCase("response-copy-rewritten");
    expect(s).toMatchObject({ billed: 5, duplicates: 2 });
    const [u] = queryUsage(world.db, { by: "user" });
    expect(u).toMatchObject({ key: "telegram:5550901", requests: 5, output: 1270, costUsd: "0.01855" });
    const again = meterFor(world, { pricer: pricer() });
    expect((await again.runOnce()).billed).toBe(0);
    again.close();
  });

  it("a copy appended after its response was billed is a duplicate, also after the upgrade's backfill", async () => {
    const { world } = await meterCase("response-copy-rewritten");
    // Billed before migration 38: the table is rebuilt by the migration's own backfill.
    const m38 = MIGRATIONS.find((m) => m.version === 38);
    world.db.exec("DROP TABLE usage_response_keys");
    world.db.exec(m38?.sql ?? "");
    expect(world.db.prepare("SELECT COUNT(*) AS n FROM usage_response_keys").get()).toEqual({ n: 3 });
    const file = join(world.stateDir, SESSION);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    const first = JSON.parse(lines[2] as string);
    first.id = "a-copy";
    first.message.timestamp += 30_000;
    first.timestamp = new Date(first.message.timestamp + 40).toISOString();
    appendFileSync(file, `${JSON.stringify(first)}\n`);
    const again = meterFor(world, { pricer: pricer() });
    expect(await again.runOnce()).toMatchObject({ billed: 0, duplicates: 1 });
    again.close();
    expect(queryUsage(world.db, { by: "user" })[0]).toMatchObject({ requests: 5, costUsd: "0.01855" });
  });
});

describe("case response-split-across-lines: a response written as several lines bills once", () => {
  it("telegram:5550101 2 calls $0.02415 (was 3, $0.0414), telegram:5550102 both chatcmpl-42 calls $0.0105", async () => {
    const { s, world } = await meterCase("response-split-across-lines");
    expect(s).toMatchObject({ billed: 4, malformed: 0, duplicates: 1 });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [
        r.key,
        [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
      ]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": [2, 2500, 400, 23000, 1000, "0.02415"],
      "telegram:5550102": [2, 3000, 100, 0, 0, "0.0105"],
    });
    // a copy of the session read by a fresh meter (a restart, then a reset archive) bills nothing
    const dir = join(world.stateDir, "agents/main/sessions");
    const sid = "5e5a0000-0000-4000-8000-00000000000a";
    copyFileSync(join(dir, `${sid}.jsonl`), join(dir, `${sid}.jsonl.reset.2026-11-22T18-20-00.000Z`));
    const again = meterFor(world, {
      pricer: createPricer({
        mode: "calculate",
        overrides: parsePriceOverrides({}, "x"),
        fallback: FALLBACK,
      }),
    });
    const s2 = await again.runOnce();
    again.close();
    expect(s2).toMatchObject({ billed: 0, duplicates: 3 });
  });
});

describe("case usage-gemini-metadata-names: usage under Gemini's usageMetadata names is billed", () => {
  it("3 calls $0.05115: cached tokens out of the prompt, tool-use prompt as input, thoughts as output", async () => {
    const { s, world } = await meterCase("usage-gemini-metadata-names");
    expect(s).toMatchObject({ billed: 3, malformed: 0, zeroUsage: 0, clamped: 0 });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [
        r.key,
        [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
      ]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": [1, 4000, 1000, 8000, 0, "0.0294"],
      "telegram:5550102": [1, 3500, 200, 0, 0, "0.0135"],
      "telegram:5550103": [1, 2000, 150, 0, 0, "0.00825"],
    });
  });
});

describe("case usage-bedrock-cache-names: Bedrock Converse's cache counts are billed", () => {
  it("2 calls $0.02715 with their cache reads and writes (was $0.01215 without them)", async () => {
    const { s, world } = await meterCase("usage-bedrock-cache-names");
    expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0 });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [
        r.key,
        [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
      ]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": [1, 1500, 250, 20000, 2000, "0.02175"],
      "telegram:5550102": [1, 800, 100, 5000, 0, "0.0054"],
    });
  });

  it("keeps the identity the call was billed under before (cache read as 0), locally, packed and pushed", () => {
    const dir = join(CASES, "usage-bedrock-cache-names", "state/agents/main/sessions");
    for (const sid of ["7b3a0000-0000-4000-8000-000000000001", "7b3a0000-0000-4000-8000-000000000002"]) {
      const line = readFileSync(join(dir, `${sid}.jsonl`), "utf8")
        .trim()
        .split("\n")
        .at(-1) as string;
      const r = parseLine(line);
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      const u = r.usage;
      expect(u.cacheRead).toBeGreaterThan(0);
      // what the reader before 2026-12-02 made of the line: the same call without its cache counts
      const before = { ...u, cacheRead: 0, cacheWrite: 0 };
      delete before.identityCacheRead;
      delete before.identityCacheWrite;
      expect(dedupeKey(u)).toBe(dedupeKey(before));
      const ev = usageEvent(u, "main", sid, null, "telegram:5550101", "jsonl", `${sid}@0`);
      const packed = packEvents([ev]);
      expect(packed).not.toBeNull();
      expect(unpackEvents(packed as NonNullable<typeof packed>)[0]).toEqual(ev);
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(before));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    }
  });
});

describe("case openrouter-cache-price-gap: a router entry without cache prices takes its maker's", () => {
  it("borrows only from a maker at the same input and output prices; rows say maker-cache", () => {
    const at = Date.parse("2026-06-01T00:00:00Z");
    const claude = findTablePrice("openrouter", "anthropic/claude-3.7-sonnet", at);
    expect(claude?.cacheRead.base).toBe(300_000n); // $0.30 per 1M, not the $3 input price
    expect(claude?.cacheWrite.base).toBe(3_750_000n);
    expect(claude && tableVersionOf(claude)).toMatch(/\+maker-cache$/);
    // OpenRouter's deepseek-chat is another upstream's price than DeepSeek's own: nothing borrowed
    const deepseek = findTablePrice("openrouter", "deepseek/deepseek-chat", at);
    expect(deepseek?.cacheRead.base).toBe(deepseek?.input.base);
  });
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550901 2 calls $0.0755, cache reads at the cache rate (not $0.2355)`, async () => {
      const { s, world } = await meterCase("openrouter-cache-price-gap", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550901",
        requests: 2,
        costUsd: "0.0755",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case mistral-latest-alias-proxy-route: a vendor-prefixed -latest alias is dated too", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550802 2 calls $0.0325 (litellm mistral/mistral-large-latest), not $0.052`, async () => {
      const { s, world } = await meterCase("mistral-latest-alias-proxy-route", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550802",
        requests: 2,
        costUsd: "0.0325",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case claude-4-6-long-context-premium-ended: no >200k premium on Opus 4.6 after 2026-03-13", () => {
  it("the cached table lookup switches at the date, in either order", () => {
    const before = Date.parse("2026-03-12T23:59:59.999Z");
    const after = Date.parse("2026-03-13T00:00:00Z");
    for (const order of [
      [after, before],
      [before, after],
    ]) {
      clearTablePriceCache();
      const tiers = order.map(
        (t) => findTablePrice("google-vertex", "claude-opus-4-6", t)?.input.tiers.length,
      );
      expect(tiers).toEqual(order.map((t) => (t === before ? 1 : 0)));
    }
    const flat = findTablePrice("google-vertex", "claude-opus-4-6", after);
    expect(flat && tableVersionOf(flat)).toBe(CORRECTED_TABLE_VERSION);
  });
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551001 2 calls $0.895 (premium on 2026-03-01 only), not $1.16`, async () => {
      const { s, world } = await meterCase("claude-4-6-long-context-premium-ended", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5551001",
        requests: 2,
        costUsd: "0.895",
        unknownModelRequests: 0,
      });
    });
  }
});
describe("case per-peer-dm-webchat-channel: a per-peer DM the dashboard touched bills its user", () => {
  it("telegram:5550101 2 calls $0.012, whatsapp:+15551234567 $0.00165, no webchat: account", async () => {
    const { s, world } = await meterCase("per-peer-dm-webchat-channel");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.012" },
      "whatsapp:+15551234567": { requests: 1, costUsd: "0.00165" },
    });
  });
});

describe("case push-subagent-payer: the plugin's push bills no call the meter bills to someone else", () => {
  it("telegram:5550101 3 calls $0.01365, agent:main 1 call $0.012 (a heartbeat), when every call was pushed first", async () => {
    w = tempWorld(join(CASES, "push-subagent-payer", "state"));
    const pricer = createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides(
        JSON.parse(readFileSync(join(CASES, "push-subagent-payer", "prices.json"), "utf8")),
        "prices.json",
      ),
      fallback: FALLBACK,
    });
    // the plugin's before_message_write push of every assistant line, with the hook's session key
    const sessionsDir = join(w.stateDir, "agents", "main", "sessions");
    const index = JSON.parse(readFileSync(join(sessionsDir, "sessions.json"), "utf8")) as Record<
      string,
      { sessionId: string }
    >;
    const events = [];
    for (const [sessionKey, e] of Object.entries(index))
      for (const line of readFileSync(join(sessionsDir, `${e.sessionId}.jsonl`), "utf8").split("\n")) {
        const entry = line ? JSON.parse(line) : null;
        const ev =
          entry?.type === "message" ? pluginUsageEvent(entry.message, { agentId: "main", sessionKey }) : null;
        if (ev) events.push(ev);
      }
    const ingester = createPushIngester(w.db, {
      pricer,
      markup: parseDecimal("1"),
      creditsPerUsd: parseDecimal("1"),
    });
    expect(ingester.ingest(events, "push:test", "test").every((r) => r.status === "billed")).toBe(true);
    const meter = meterFor(w, { pricer });
    await meter.runOnce();
    meter.close();
    const byUser = Object.fromEntries(
      queryUsage(w.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": { requests: 3, costUsd: "0.01365" },
      "agent:main": { requests: 1, costUsd: "0.012" },
    });
  });
});

describe("plugin push first: a pushed call is priced from OpenClaw's estimate as its transcript copy is", () => {
  // The plugin's before_message_write push of every line of a case, then the meter on the same
  // database: the push bills first and the transcript copy is its duplicate, so the push must carry
  // what the pricer reads (the line's api and OpenClaw's estimate) or it bills another amount.
  async function pushThenMeter(name: string, mode: "auto" | "recorded") {
    w = tempWorld(join(CASES, name, "state"));
    const pricer = createPricer({
      mode,
      overrides: parsePriceOverrides({}, "prices.json"),
      fallback: FALLBACK,
    });
    const sessionsDir = join(w.stateDir, "agents", "main", "sessions");
    const index = JSON.parse(readFileSync(join(sessionsDir, "sessions.json"), "utf8")) as Record<
      string,
      { sessionId: string }
    >;
    const events = [];
    for (const [sessionKey, e] of Object.entries(index))
      for (const line of readFileSync(join(sessionsDir, `${e.sessionId}.jsonl`), "utf8").split("\n")) {
        const entry = line ? JSON.parse(line) : null;
        const ev =
          entry?.type === "message" ? pluginUsageEvent(entry.message, { agentId: "main", sessionKey }) : null;
        if (ev) events.push(pushEventSchema.parse(ev));
      }
    // pushed as they were written (the push window is the last 30 days)
    const lastMs = Math.max(...events.map((e) => e.timestampMs));
    const ingester = createPushIngester(w.db, {
      pricer,
      markup: parseDecimal("1"),
      creditsPerUsd: parseDecimal("1"),
      nowMs: () => lastMs + 60_000,
    });
    const pushed = ingester.ingest(events, "push:test", "test");
    const meter = meterFor(w, { pricer });
    await meter.runOnce();
    meter.close();
    return { pushed, usage: queryUsage(w.db, { by: "user" }) };
  }

  for (const mode of ["auto", "recorded"] as const) {
    it(`${mode}: openai-service-tier's priority and flex calls pushed first bill $0.0518, not the list $0.03535`, async () => {
      const { pushed, usage } = await pushThenMeter("openai-service-tier", mode);
      expect(pushed.map((r) => r.status)).toEqual(["billed", "billed", "billed"]);
      expect(usage).toMatchObject([{ key: "telegram:5550701", requests: 3, costUsd: "0.0518" }]);
    });

    it(`${mode}: google-unknown-model-estimate's unlisted model pushed first bills its estimate, not the fallback`, async () => {
      // call 1 (input holding the cache) is left to the transcript meter; call 2 is pushed
      const { pushed, usage } = await pushThenMeter("google-unknown-model-estimate", mode);
      expect(pushed.map((r) => r.status)).toEqual(["billed"]);
      expect(usage).toMatchObject([{ key: "telegram:5551107", requests: 2, costUsd: "0.00867275" }]);
    });
  }
});

describe("case whatsapp-sender-jid: a WhatsApp sender's JID names the account its DMs bill", () => {
  it("whatsapp:+15551234567 2 calls $0.012, and /recargar from 15551234567@s.whatsapp.net credits it", async () => {
    const { s, world } = await meterCase("whatsapp-sender-jid");
    expect(s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "whatsapp:+15551234567": { requests: 2, costUsd: "0.012" } });
    // Clawdbot's command context has no session key; WhatsApp's SenderId is the sender's JID
    for (const senderId of [
      "15551234567@s.whatsapp.net",
      "15551234567:12@s.whatsapp.net",
      "whatsapp:15551234567@s.whatsapp.net",
      "15551234567",
      "+15551234567",
    ]) {
      const ctx = {
        channel: "whatsapp",
        senderId,
        isAuthorizedSender: true,
        commandBody: "/recargar",
        config: {},
      };
      expect(commandUser(ctx), senderId).toBe("whatsapp:+15551234567");
      expect(gatedUser(undefined, "whatsapp", senderId), senderId).toBe("whatsapp:+15551234567");
    }
  });
});
describe("case anthropic-fast-mode: a call Anthropic served in fast mode bills the fast rates", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550801 4 calls $0.40 (Opus 4.6 fast 6× $0.255, after its cut-off $0.01, Opus 4.8 fast 2× $0.11, standard $0.025), not $0.1325`, async () => {
      const { s, world } = await meterCase("anthropic-fast-mode", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550801",
        requests: 4,
        costUsd: "0.4",
        unknownModelRequests: 0,
      });
      const rows = world.db
        .prepare(
          "SELECT model, cost_pico_usd AS cost, price_version AS v FROM usage_events ORDER BY message_ts_ms",
        )
        .all() as { model: string; cost: number | bigint; v: string }[];
      expect(rows.map((r) => [r.model, BigInt(r.cost), r.v.endsWith("+speed:fast")])).toEqual([
        ["claude-opus-4-6", 255_000_000_000n, true],
        ["claude-opus-4-6", 10_000_000_000n, false],
        ["claude-opus-4-8", 110_000_000_000n, true],
        ["claude-opus-4-8", 25_000_000_000n, false],
      ]);
    });
  }
});

describe("per-peer DMs on an internal surface: what the first fix left (tester, 2026-12-02)", () => {
  it("a route target's kind (user:, chat:) or a device JID names no channel", () => {
    expect(sessionChannel(["webchat"], ["user:U07ABC"])).toBeNull();
    expect(sessionChannel(["webchat"], ["chat:oc_123"])).toBeNull();
    expect(sessionChannel(["webchat"], ["15551234567:12@s.whatsapp.net"])).toBeNull();
    expect(sessionChannel(["webchat"], ["user:U07ABC", "telegram:5550101"])).toBe("telegram");
    expect(sessionChannel([], ["tg:5550101"])).toBe("telegram");
  });

  it("SQLite store: the sub-agent of a DM whose window says webchat bills the DM's route channel, as the DM does", async () => {
    w?.cleanup();
    w = tempWorld(join(CASES, "subagent-into-other-agent-store", "state"));
    const store = new Database(join(w.stateDir, "agents/main/agent/openclaw-agent.sqlite"));
    store.prepare("UPDATE session_windows SET channel = 'webchat'").run();
    store
      .prepare("UPDATE session_nodes SET entry_json = ? WHERE session_key = 'agent:main:direct:5550101'")
      .run(
        JSON.stringify({
          sessionId: "aaaaaaaa-0000-4000-8000-000000000001",
          updatedAt: 1795371109000,
          chatType: "direct",
          createdVia: "channel",
          delivery: {
            kind: "external",
            context: { channel: "webchat", to: "telegram:5550101" },
            origin: { provider: "webchat", from: "telegram:5550101" },
          },
        }),
      );
    store.close();
    const prices = JSON.parse(
      readFileSync(join(CASES, "subagent-into-other-agent-store", "prices.json"), "utf8"),
    );
    const meter = meterFor(w, {
      pricer: createPricer({
        mode: "calculate",
        overrides: parsePriceOverrides(prices, "p"),
        fallback: FALLBACK,
      }),
    });
    await meter.runOnce();
    meter.close();
    expect(queryUsage(w.db, { by: "user" }).map((r) => [r.key, r.requests, r.costUsd])).toEqual([
      ["telegram:5550101", 3, "0.01365"],
    ]);
  });

  it("a session remembered on webchat:<peer> (billed before the fix) is resolved again when its file is archived", async () => {
    const { world } = await meterCase("per-peer-dm-webchat-channel");
    // what a meter before the fix remembered of the DM
    world.db
      .prepare(
        "UPDATE meter_sessions SET account_id = 'webchat:5550101', channel = 'webchat' WHERE session_key = 'agent:main:direct:5550101'",
      )
      .run();
    const dir = join(world.stateDir, "agents/main/sessions");
    const file = join(dir, "c1c1c1c1-0000-4000-8000-000000000001.jsonl");
    const last = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .filter((l) => l.includes('"usage"'))
      .at(-1) as string;
    const copy = JSON.parse(last);
    copy.id = "next-call";
    copy.message.timestamp += 100_000;
    copy.message.usage.input = 4000;
    delete copy.message.responseId;
    appendFileSync(file, `${JSON.stringify(copy)}\n`);
    renameSync(file, `${file}.reset.2026-11-22T18-20-00.000Z`);
    const index = JSON.parse(readFileSync(join(dir, "sessions.json"), "utf8"));
    index["agent:main:direct:5550101"].sessionId = "11111111-2222-4333-8444-555555555555";
    writeFileSync(join(dir, "sessions.json"), JSON.stringify(index));
    const prices = JSON.parse(
      readFileSync(join(CASES, "per-peer-dm-webchat-channel", "prices.json"), "utf8"),
    );
    const meter = meterFor(world, {
      pricer: createPricer({
        mode: "calculate",
        overrides: parsePriceOverrides(prices, "p"),
        fallback: FALLBACK,
      }),
    });
    expect((await meter.runOnce()).billed).toBe(1);
    meter.close();
    const row = world.db
      .prepare("SELECT account_id AS a FROM usage_events WHERE input_tokens = 4000")
      .get() as { a: string };
    expect(row.a).toBe("telegram:5550101");
  });
});

describe("case usage-openai-cache-write-tokens: OpenAI-style cache writes leave the input total", () => {
  it("calculate: 2 calls $0.029475, writes at the cache-write rate (was $0.0261 at the input rate)", async () => {
    const { s, world } = await meterCase("usage-openai-cache-write-tokens");
    expect(s).toMatchObject({ billed: 2, malformed: 0, clamped: 0 });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [
        r.key,
        [r.requests, r.input, r.output, r.cacheRead, r.cacheWrite, r.costUsd],
      ]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": [1, 1000, 200, 8000, 3000, "0.01965"],
      "telegram:5550102": [1, 500, 100, 4000, 1500, "0.009825"],
    });
  });

  for (const mode of ["auto", "recorded"] as const) {
    it(`${mode}: OpenRouter's provider-billed $0.0199, the Responses call $0.009825`, async () => {
      const { s, world } = await meterCase("usage-openai-cache-write-tokens", mode);
      expect(s).toMatchObject({ billed: 2 });
      const byUser = Object.fromEntries(queryUsage(world.db, { by: "user" }).map((r) => [r.key, r.costUsd]));
      expect(byUser).toEqual({ "telegram:5550101": "0.0199", "telegram:5550102": "0.009825" });
    });
  }

  it("keeps the identity the call was billed under before (writes inside input), locally, packed and pushed", () => {
    const dir = join(CASES, "usage-openai-cache-write-tokens", "state/agents/main/sessions");
    const before: Record<string, [number, number]> = {
      "c0000000-0000-4000-8000-000000000001": [4000, 3000],
      "c0000000-0000-4000-8000-000000000002": [2000, 1500],
    };
    for (const [sid, [oldInput, writes]] of Object.entries(before)) {
      const line = readFileSync(join(dir, `${sid}.jsonl`), "utf8")
        .trim()
        .split("\n")
        .at(-1) as string;
      const r = parseLine(line);
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      const u = r.usage;
      expect([u.input + writes, u.cacheWrite]).toEqual([oldInput, writes]);
      // what the reader before 2026-12-02 made of the line: the writes left in input, none written
      const old = { ...u, input: oldInput, cacheWrite: 0 };
      delete old.identityInput;
      delete old.identityCacheWrite;
      // identity only: the line's estimate is not marked as from other counts (writtenInput)
      expect([u.identityInput, u.writtenInput]).toEqual([oldInput, undefined]);
      expect(dedupeKey(u)).toBe(dedupeKey(old));
      const ev = usageEvent(u, "main", sid, null, "telegram:5550101", "jsonl", `${sid}@0`);
      const packed = packEvents([ev]);
      expect(packed).not.toBeNull();
      expect(unpackEvents(packed as NonNullable<typeof packed>)[0]).toEqual(ev);
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(old));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    }
  });

  it("auto: an OpenAI service tier is still read from the estimate of a line with cache writes (tester)", () => {
    const line =
      '{"type":"message","id":"a2","timestamp":"2026-11-22T18:12:02.500Z","message":{"role":"assistant","content":[],"api":"openai-responses","provider":"openai","model":"gpt-5.1","usage":{"input_tokens":60000,"output_tokens":1000,"cost":{"total":COST},"total_tokens":61000,"input_tokens_details":{"cached_tokens":40000,"cache_write_tokens":15000}},"stopReason":"stop","timestamp":1795371122100}}';
    const pricer = createPricer({
      mode: "auto",
      overrides: parsePriceOverrides({}, "test"),
      fallback: FALLBACK,
    });
    const quote = (cost: string) => {
      const r = parseLine(line.replace("COST", cost));
      if (r.kind !== "usage") throw new Error(r.kind);
      return pricer.price(r.usage);
    };
    // gpt-5.1 lists no cache-write price (writes at the input rate): list $0.04; 2x is priority,
    // 0.5x flex, as before cache writes were read
    expect(quote("0.08")).toMatchObject({ costPicoUsd: 80_000_000_000n });
    expect(quote("0.08").version).toContain("+service-tier:priority");
    expect(quote("0.02")).toMatchObject({ costPicoUsd: 20_000_000_000n });
    expect(quote("0.02").version).toContain("+service-tier:flex");
  });
});

describe("case openai-fine-tuned-model: a fine-tune is billed at its base snapshot's fine-tuned rates", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550901 2 calls $0.0894 (ft:gpt-4.1 and ft:gpt-4o-mini with cached reads), not $0.4044`, async () => {
      const { s, world } = await meterCase("openai-fine-tuned-model", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550901",
        requests: 2,
        costUsd: "0.0894",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case deepseek-api-alias-repriced: deepseek-chat / -reasoner are priced as the model DeepSeek served then", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550902 4 calls $0.03052 (V3.1, V3.2, V3.2, V4-Flash), not V3 / R1's $0.05965`, async () => {
      const { s, world } = await meterCase("deepseek-api-alias-repriced", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550902",
        requests: 4,
        costUsd: "0.03052",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case zai-glm-unknown-model: Z.AI models the table lacks are priced from Z.AI's own list", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5550903 3 calls $0.0228 (GLM-4.7, GLM-4.5-Air, free GLM-4.7-Flash), not the fallback's $0.945`, async () => {
      const { s, world } = await meterCase("zai-glm-unknown-model", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550903",
        requests: 3,
        costUsd: "0.0228",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case xai-dated-model-id: xAI's dated Grok 4.20 ids are priced as the table's grok-4.20", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5550904 2 calls $0.4945 (the second above 200K prompt tokens), not unknown`, async () => {
      const { s, world } = await meterCase("xai-dated-model-id", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5550904",
        requests: 2,
        costUsd: "0.4945",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("plugin push and the price supplement: what a tester found (2026-12-02)", () => {
  const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5559999" };
  const msg = (usage: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    role: "assistant",
    content: [],
    api: "openai-completions",
    provider: "openrouter",
    model: "openai/gpt-4o",
    usage: { input: 10000, output: 1000, cacheRead: 0, cacheWrite: 0, totalTokens: 11000, ...usage },
    stopReason: "stop",
    timestamp: Date.parse("2026-05-04T10:00:00Z"),
    responseId: "r0",
    ...extra,
  });

  it("a recorded total the push cannot send as the meter reads it is left to the meter", () => {
    // decimal text (parse.ts usdAmount bills it): pushed without it, an unknown model billed the
    // fallback price $0.225 first instead of the transcript's $0.012
    expect(
      pluginUsageEvent(
        msg(
          { cost: { input: "0.01", output: "0.002", cacheRead: 0, cacheWrite: 0, total: "0.012" } },
          { provider: "myproxy", model: "mystery-1" },
        ),
        where,
      ),
    ).toBeNull();
    expect(
      pluginUsageEvent(msg({ cost: { total: "0.031", totalOrigin: "provider-billed" } }), where),
    ).toBeNull();
    // negative or absurd: the meter flags or holds it
    expect(pluginUsageEvent(msg({ cost: { total: -1 } }), where)).toBeNull();
    expect(pluginUsageEvent(msg({ cost: { total: 1e7 } }), where)).toBeNull();
    // a numeric estimate still rides along
    expect(pluginUsageEvent(msg({ cost: { total: 0.04 } }), where)?.costUsd).toBe(0.04);
  });

  it("OpenRouter BYOK fields inside usage.cost are left to the meter (fee + upstream)", () => {
    expect(
      pluginUsageEvent(
        msg({
          cost: {
            total: 0.0015,
            totalOrigin: "provider-billed",
            is_byok: true,
            cost_details: { upstream_inference_cost: 0.035 },
          },
        }),
        where,
      ),
    ).toBeNull();
    expect(pluginUsageEvent(msg({ cost: { total: 0.0015, is_byok: true } }), where)).toBeNull();
  });

  it("xAI's other documented aliases of grok-4.20-0309-reasoning are priced as grok-4.20", () => {
    const at = Date.parse("2026-09-20T09:00:00Z");
    for (const name of [
      "grok-4.20-experimental-beta-0304-reasoning",
      "grok-4.20-experimental-beta-0304",
      "grok-4.20-experimental-beta-reasoning-latest",
      "grok-4.20-experimental-beta-latest",
      "grok-4.20-reasoning-gv2",
    ])
      expect(findTablePrice("xai", name, at)).toEqual(findTablePrice("xai", "grok-4.20-0309-reasoning", at));
  });
});

describe("price supplement through an OpenRouter routing variant (tester, 2026-12-02)", () => {
  it("x-ai/grok-4.20-0309-reasoning:nitro is priced as its base id", () => {
    const at = Date.parse("2026-09-20T09:00:00Z");
    const nitro = findTablePrice("openrouter", "x-ai/grok-4.20-0309-reasoning:nitro", at);
    expect(nitro).not.toBeNull();
    expect(nitro).toEqual(findTablePrice("openrouter", "x-ai/grok-4.20-0309-reasoning", at));
  });
});

describe("case session-store-relocated: sessions under a configured session.store are billed", () => {
  it("telegram:5550101 3 calls $0.024 (was 1 call $0.0045), telegram:7770707 1 call $0.015 (was nothing)", async () => {
    // the case's `~` is its home/ (OpenClaw expands `~` to OPENCLAW_HOME when set)
    const { s, world } = await meterCase("session-store-relocated", "calculate", {
      openclawHome: join(CASES, "session-store-relocated", "home"),
    });
    expect(s).toMatchObject({ billed: 4, duplicates: 1, failures: [] });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": { requests: 3, costUsd: "0.024" },
      "telegram:7770707": { requests: 1, costUsd: "0.015" },
    });
  });
});

describe("case compaction-truncated-history: calls only in a compaction or repair backup or checkpoint are billed", () => {
  it("telegram:5550101 4 calls $0.02565 (was 2, $0.01365), telegram:7770707 3 calls $0.0357 (was 1, $0.0027), telegram:8880808 2 calls $0.0051 (was 1, $0.00285)", async () => {
    const { s, world } = await meterCase("compaction-truncated-history");
    expect(s).toMatchObject({ billed: 9, duplicates: 2, failures: [] });
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": { requests: 4, costUsd: "0.02565" },
      "telegram:7770707": { requests: 3, costUsd: "0.0357" },
      "telegram:8880808": { requests: 2, costUsd: "0.0051" },
    });
  });
});

describe("case identity-links-one-payer: a person linked by session.identityLinks is one account", () => {
  it("alice 5 calls $0.033 (was telegram:alice, whatsapp:alice, telegram:7770707), JSONL and store", async () => {
    const { s, world } = await meterCase("identity-links-one-payer");
    expect(s.billed).toBe(5);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ alice: { requests: 5, costUsd: "0.033" } });
  });

  it("the plugin's commands and gate name the same account from every channel", () => {
    const config = JSON.parse(
      readFileSync(join(CASES, "identity-links-one-payer", "state", "openclaw.json"), "utf8"),
    ) as unknown;
    const links = configuredIdentityLinks(config);
    for (const [channel, senderId, sessionKey] of [
      ["telegram", "7770707", "agent:main:telegram:direct:alice"],
      ["whatsapp", "15557770707@s.whatsapp.net", "agent:main:whatsapp:direct:alice"],
      ["telegram", "7770707", undefined],
      ["whatsapp", "+15557770707", undefined],
    ] as const) {
      const ctx = {
        channel,
        senderId,
        sessionKey,
        isAuthorizedSender: true,
        commandBody: "/recargar",
        config,
      };
      expect(commandUser(ctx), `${channel} ${sessionKey}`).toBe("alice");
      expect(gatedUser(sessionKey, channel, senderId, "main", links), `${channel} ${sessionKey}`).toBe(
        "alice",
      );
    }
  });

  it("a session the meter remembers under a channel's account bills the person once the link is read", async () => {
    // first metered without the config (before the link was read), then the config is there and
    // the pre-link DM left sessions.json (a reset) while its transcript got one more call
    w?.cleanup();
    w = tempWorld(join(CASES, "identity-links-one-payer", "state"));
    const prices = JSON.parse(readFileSync(join(CASES, "identity-links-one-payer", "prices.json"), "utf8"));
    const pricer = () =>
      createPricer({
        mode: "calculate",
        overrides: parsePriceOverrides(prices, "prices.json"),
        fallback: FALLBACK,
      });
    const first = meterFor(w, { pricer: pricer() });
    expect((await first.runOnce()).billed).toBe(5);
    first.close();
    copyFileSync(
      join(CASES, "identity-links-one-payer", "state", "openclaw.json"),
      join(w.stateDir, "openclaw.json"),
    );
    const index = join(w.stateDir, "agents", "main", "sessions", "sessions.json");
    const entries = JSON.parse(readFileSync(index, "utf8")) as Record<string, unknown>;
    delete entries["agent:main:telegram:direct:7770707"];
    writeFileSync(index, JSON.stringify(entries));
    appendFileSync(
      join(w.stateDir, "agents", "main", "sessions", "73737373-0000-4000-8000-000000000003.jsonl"),
      `${JSON.stringify({
        type: "message",
        id: "a0000009",
        parentId: "a0000000",
        timestamp: "2026-11-22T18:30:01.000Z",
        message: {
          role: "assistant",
          content: [{ type: "text", text: "ok" }],
          api: "openai-completions",
          provider: "mock",
          model: "mock-gpt",
          usage: { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 1100 },
          stopReason: "stop",
          timestamp: 1795371801000,
        },
      })}\n`,
    );
    const second = meterFor(w, { pricer: pricer() });
    expect((await second.runOnce()).billed).toBe(1);
    second.close();
    const alice = queryUsage(w.db, { by: "user" }).find((r) => r.key === "alice");
    // the new call ($0.0045) bills the person; calls billed before stay where they were billed
    expect(alice).toMatchObject({ requests: 1, costUsd: "0.0045" });
  });
});

describe("case account-id-kind-word: a channel account named like a key word bills its DMs' users", () => {
  it("telegram:5550101 2 calls $0.012 (was agent:main), telegram:7770707 $0.0105 (was telegram:direct:7770707)", async () => {
    const { s, world } = await meterCase("account-id-kind-word");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.012" },
      "telegram:7770707": { requests: 1, costUsd: "0.0105" },
    });
    // the plugin gates, credits and pushes the same accounts
    for (const [key, user] of [
      ["agent:main:telegram:group:direct:5550101", "telegram:5550101"],
      ["agent:main:telegram:direct:direct:7770707", "telegram:7770707"],
    ] as const) {
      expect(gatedUser(key, "telegram", undefined, "main"), key).toBe(user);
      const ctx = {
        channel: "telegram",
        sessionKey: key,
        isAuthorizedSender: true,
        commandBody: "/recargar",
        config: {},
      };
      expect(commandUser(ctx), key).toBe(user);
    }
  });
});

describe("case signal-uuid-sender: a Signal sender known by UUID names the account its DMs bill", () => {
  it("signal:uuid:<uuid> 2 calls $0.012, and /recargar from uuid:<uuid> credits it (was uuid:<uuid>)", async () => {
    const u = "6f1c2a9e-4b7d-4e2a-9c3f-1a2b3c4d5e6f";
    const { s, world } = await meterCase("signal-uuid-sender");
    expect(s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ [`signal:uuid:${u}`]: { requests: 2, costUsd: "0.012" } });
    // Clawdbot's command context has no session key; Signal's SenderId is `uuid:<uuid>`
    for (const senderId of [`uuid:${u}`, `uuid:${u.toUpperCase()}`, `signal:uuid:${u}`]) {
      const ctx = {
        channel: "signal",
        senderId,
        isAuthorizedSender: true,
        commandBody: "/recargar",
        config: {},
      };
      expect(commandUser(ctx), senderId).toBe(`signal:uuid:${u}`);
      expect(gatedUser(undefined, "signal", senderId), senderId).toBe(`signal:uuid:${u}`);
    }
    // a sender known by number stays the number's account
    expect(gatedUser(undefined, "signal", "+15551230000")).toBe("signal:+15551230000");
  });
});

describe("case imessage-sender-handle: an iMessage sender's raw handle names the account its DMs bill", () => {
  it("imessage:+15550101234 2 calls $0.012, and /recargar from the raw handle credits it (was imessage:15550101234)", async () => {
    const { s, world } = await meterCase("imessage-sender-handle");
    expect(s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "imessage:+15550101234": { requests: 2, costUsd: "0.012" } });
    // Clawdbot's command context has no session key, and a command typed in an iMessage group has a
    // group's: iMessage's SenderId is chat.db's raw handle, its DM key the handle in E.164
    for (const senderId of [
      "15550101234",
      "+1 (555) 010-1234",
      "+1 555.010.1234",
      "sms:+15550101234",
      "imessage:15550101234",
    ]) {
      const ctx = {
        channel: "imessage",
        senderId,
        isAuthorizedSender: true,
        commandBody: "/recargar",
        config: {},
      };
      expect(commandUser(ctx), senderId).toBe("imessage:+15550101234");
      expect(commandUser({ ...ctx, sessionKey: "agent:main:imessage:group:42" }), senderId).toBe(
        "imessage:+15550101234",
      );
      expect(gatedUser(undefined, "imessage", senderId), senderId).toBe("imessage:+15550101234");
    }
    // an Apple ID email is lower-cased, as its DM key is
    expect(gatedUser(undefined, "imessage", "Dana@iCloud.com")).toBe("imessage:dana@icloud.com");
    // a linked handle links its person whatever its formatting
    const config = { session: { identityLinks: { dana: ["imessage:+1 (555) 010-1234"] } } };
    expect(
      commandUser({
        channel: "imessage",
        senderId: "15550101234",
        isAuthorizedSender: true,
        commandBody: "/saldo",
        config,
      }),
    ).toBe("dana");
  });
});

describe("case irc-sender-prefix: an IRC sender's full prefix names the account its DMs bill", () => {
  it("irc:alice 2 calls $0.012, the channel agent:main $0.003, and /recargar from alice!~alice@host credits irc:alice (was irc:alice!~alice@host.example)", async () => {
    const { s, world } = await meterCase("irc-sender-prefix");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "irc:alice": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.003" },
    });
    // OpenClaw's IRC SenderId is `nick!user@host` (its DM key the nick): a command typed in an IRC
    // channel, or a context without a session key, names the user from it
    for (const senderId of [
      "alice!~alice@host.example",
      "Alice!~alice@host.example",
      "alice!?@host.example",
      "alice!~alice@2001:db8::1",
      "irc:alice!~alice@host.example",
      "alice",
    ]) {
      const ctx = {
        channel: "irc",
        senderId,
        isAuthorizedSender: true,
        commandBody: "/recargar",
        config: {},
      };
      expect(commandUser(ctx), senderId).toBe("irc:alice");
      expect(commandUser({ ...ctx, sessionKey: "agent:main:irc:group:#openclaw" }), senderId).toBe(
        "irc:alice",
      );
      expect(gatedUser(undefined, "irc", senderId), senderId).toBe("irc:alice");
    }
    // in the DM the key names her already
    expect(
      commandUser({
        channel: "irc",
        senderId: "alice!~alice@host.example",
        sessionKey: "agent:main:irc:direct:alice",
        isAuthorizedSender: true,
        commandBody: "/saldo",
        config: {},
      }),
    ).toBe("irc:alice");
    // a linked nick links the sender whatever prefix the server sent
    const config = { session: { identityLinks: { alice: ["irc:alice"] } } };
    expect(
      commandUser({
        channel: "irc",
        senderId: "alice!~alice@host.example",
        isAuthorizedSender: true,
        commandBody: "/saldo",
        config,
      }),
    ).toBe("alice");
  });
});

describe("case gate-pass-command-args: the call a blocked user got through `/consumo <question>`", () => {
  it("telegram:5550102 1 call $0.0105 (the leak; the plugin's gate test shows it is now claimed)", async () => {
    const { s, world } = await meterCase("gate-pass-command-args");
    expect(s.billed).toBe(1);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "telegram:5550102": { requests: 1, costUsd: "0.0105" } });
  });
});

describe("case gate-host-without-hook: the call a blocked user got through on OpenClaw 2026.3.13", () => {
  it("telegram:5550102 1 call $0.0105 (the leak; the plugin's test shows the gate is now reported off there)", async () => {
    const { s, world } = await meterCase("gate-host-without-hook");
    expect(s.billed).toBe(1);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "telegram:5550102": { requests: 1, costUsd: "0.0105" } });
  });
});

describe("case gate-command-forms: the calls blocked users got through command forms the gate misread", () => {
  it("telegram:5550102 $0.0105 (`/consumo` turned off), discord:123456789012345678 $0.0054 (`/recargar@creditbot <essay>`): the leaks; the plugin's gate tests show both are now claimed", async () => {
    const { s, world } = await meterCase("gate-command-forms");
    expect(s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "telegram:5550102": { requests: 1, costUsd: "0.0105" },
      "discord:123456789012345678": { requests: 1, costUsd: "0.0054" },
    });
  });
});

describe("case gate-dm-bound-spawned-session: a blocked user's turns in a DM bound to an ACP session", () => {
  it("telegram:5550102 3 calls $0.033, $0.0285 of them in the bound `acp:` sessions the gate let through (the plugin's gate test shows them claimed now)", async () => {
    const { s, world } = await meterCase("gate-dm-bound-spawned-session");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "telegram:5550102": { requests: 3, costUsd: "0.033" } });
  });
});

describe("case telegram-pseudo-sender: an anonymous group admin's /recargar names no account", () => {
  it("the group's call is agent:main $0.0060; /recargar from @GroupAnonymousBot, @Channel_Bot or 777000 names nobody (was telegram:1087968824 …), a real member still names their DM account", async () => {
    const { s, world } = await meterCase("telegram-pseudo-sender");
    expect(s.billed).toBe(1);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "agent:main": { requests: 1, costUsd: "0.006" } });
    const base = {
      channel: "telegram",
      isAuthorizedSender: true,
      commandBody: "/recargar",
      config: {},
      sessionKey: "agent:main:telegram:group:-1001234567890",
    };
    for (const senderId of ["1087968824", "136817688", "777000", "telegram:1087968824"])
      expect(commandUser({ ...base, senderId }), senderId).toBeNull();
    expect(commandUser({ ...base, senderId: "5550101" })).toBe("telegram:5550101");
  });
});

describe("case qqbot-group-member-openid: a QQ group member's openid names no account a DM bills", () => {
  it("qqbot:<user_openid> 2 calls $0.012, the group agent:main $0.003; /recargar in the group names no account (was qqbot:<member_openid>)", async () => {
    const { s, world } = await meterCase("qqbot-group-member-openid");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    const dm = "qqbot:8a1f3c2b9d4e5f60718293a4b5c6d7e8";
    expect(byUser).toEqual({
      [dm]: { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.003" },
    });
    const base = { channel: "qqbot", isAuthorizedSender: true, commandBody: "/recargar", config: {} };
    const member = "0C9B8A7F6E5D4C3B2A1908F7E6D5C4B3";
    const group = "F0E1D2C3B4A5968778695A4B3C2D1E0F";
    // in the C2C chat the key (and the sender, its user_openid) names the DM's account
    expect(
      commandUser({
        ...base,
        senderId: "8A1F3C2B9D4E5F60718293A4B5C6D7E8",
        sessionKey: `agent:main:qqbot:direct:${dm.slice(6)}`,
      }),
    ).toBe(dm);
    expect(
      commandUser({
        ...base,
        senderId: "8A1F3C2B9D4E5F60718293A4B5C6D7E8",
        from: "qqbot:c2c:8A1F3C2B9D4E5F60718293A4B5C6D7E8",
      }),
    ).toBe(dm);
    // typed in a QQ group: the sender is its member_openid there, no DM's peer
    for (const ctx of [
      { sessionKey: `agent:main:qqbot:group:${group.toLowerCase()}` },
      { sessionKey: `agent:main:qqbot:bot2:group:${group.toLowerCase()}` },
      { from: `qqbot:group:${group}`, to: `qqbot:group:${group}` },
      { to: `qqbot:group:${group}` },
    ]) {
      expect(commandUser({ ...base, senderId: member, ...ctx }), JSON.stringify(ctx)).toBeNull();
    }
    // a member_openid an identity link names is the person
    const config = { session: { identityLinks: { erin: [`qqbot:${member}`, "telegram:5550101"] } } };
    expect(
      commandUser({
        ...base,
        senderId: member,
        sessionKey: `agent:main:qqbot:group:${group.toLowerCase()}`,
        config,
      }),
    ).toBe("erin");
    // a QQ guild channel's author id is its guild DM's peer, and other channels' group senders are kept
    expect(
      commandUser({
        ...base,
        senderId: "144115218678",
        sessionKey: "agent:main:qqbot:channel:6001",
        from: "qqbot:channel:6001",
      }),
    ).toBe("qqbot:144115218678");
    expect(
      commandUser({
        ...base,
        channel: "telegram",
        senderId: "5550101",
        sessionKey: "agent:main:telegram:group:-100123",
      }),
    ).toBe("telegram:5550101");
  });
});

describe("case googlechat-dm-space: a Google Chat DM is keyed by its space, not its sender", () => {
  it("googlechat:spaces/aaaa1b2c3d4 2 calls $0.012; a users/<id> sender alone names no account (was googlechat:users/<id>)", async () => {
    const { s, world } = await meterCase("googlechat-dm-space");
    expect(s.billed).toBe(2);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({ "googlechat:spaces/aaaa1b2c3d4": { requests: 2, costUsd: "0.012" } });
    const base = { channel: "googlechat", isAuthorizedSender: true, commandBody: "/recargar", config: {} };
    const senderId = "users/112233445566778899";
    // in the DM, the session key names the space the meter bills
    expect(
      commandUser({ ...base, senderId, sessionKey: "agent:main:googlechat:direct:spaces/aaaa1b2c3d4" }),
    ).toBe("googlechat:spaces/aaaa1b2c3d4");
    // typed in a group space, or without a session key: the sender names no DM's account
    expect(
      commandUser({ ...base, senderId, sessionKey: "agent:main:googlechat:group:spaces/bbbb5e6f7g8" }),
    ).toBeNull();
    expect(commandUser({ ...base, senderId })).toBeNull();
    expect(commandUser({ ...base, senderId: `googlechat:${senderId}` })).toBeNull();
    expect(gatedUser(undefined, "googlechat", senderId)).toBeNull();
    // a sender an identity link names is the person
    const config = { session: { identityLinks: { erin: [`googlechat:${senderId}`, "telegram:5550101"] } } };
    expect(commandUser({ ...base, senderId, config })).toBe("erin");
    // other channels' senders are unchanged
    expect(gatedUser(undefined, "telegram", "5550101")).toBe("telegram:5550101");
  });
});

describe("case slack-grid-sender-team: a Slack Grid sender names the workspace-qualified account its DMs bill", () => {
  it("slack:team:t0grida:user:u07abc 2 calls $0.012; /recargar from U07ABC in a Grid channel credits it (was slack:u07abc)", async () => {
    const { s, world } = await meterCase("slack-grid-sender-team");
    expect(s.billed).toBe(3);
    const byUser = Object.fromEntries(
      queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
    );
    expect(byUser).toEqual({
      "slack:team:t0grida:user:u07abc": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.003" },
    });
    const base = { channel: "slack", isAuthorizedSender: true, commandBody: "/recargar", config: {} };
    const grid = "slack:team:t0grida:user:u07abc";
    // typed in a Grid channel: the key's workspace qualifies the bare sender
    for (const sessionKey of [
      "agent:main:slack:channel:team:t0grida:channel:c0123abc",
      "agent:main:slack:channel:team:t0grida:channel:c0123abc:thread:1700000000.000100",
    ]) {
      expect(commandUser({ ...base, senderId: "U07ABC", sessionKey }), sessionKey).toBe(grid);
    }
    // in the DM, by its key; a sender already qualified, with or without a session key
    expect(
      commandUser({
        ...base,
        senderId: "U07ABC",
        sessionKey: "agent:main:slack:direct:team:t0grida:user:u07abc",
      }),
    ).toBe(grid);
    expect(commandUser({ ...base, senderId: "team:T0GRIDA:user:U07ABC" })).toBe(grid);
    expect(gatedUser(undefined, "slack", "team:T0GRIDA:user:U07ABC")).toBe(grid);
    // a workspace that is no Grid install keeps the bare user id, as its DMs are keyed
    expect(
      commandUser({ ...base, senderId: "U07ABC", sessionKey: "agent:main:slack:channel:c0123abc" }),
    ).toBe("slack:u07abc");
  });
});

describe("case untimed-usage-line: a call whose line has no readable time is billed once", () => {
  it("telegram:5550902 3 calls $0.01305, dated by the entry before each, the reset copy adds nothing", async () => {
    const { s, world } = await meterCase("untimed-usage-line");
    expect(s).toMatchObject({ billed: 3, malformed: 0, held: 0 });
    const byUser = queryUsage(world.db, { by: "user" });
    expect(byUser.map((r) => [r.key, r.requests, r.costUsd])).toEqual([["telegram:5550902", 3, "0.01305"]]);
    // the two untimed calls are dated by their turn's user message (2026-09-21T14:13:20Z)
    expect(queryUsage(world.db, { by: "day" }).map((r) => [r.key, r.requests])).toEqual([["2026-09-21", 3]]);
    const meter = meterFor(world);
    expect(await meter.runOnce()).toMatchObject({ billed: 0, held: 0 });
    meter.close();
  });

  it("an edge meter's push of such a call keeps its identity (no time) at the center", () => {
    const dir = join(CASES, "untimed-usage-line", "state", "agents", "main", "sessions");
    const line = readFileSync(join(dir, "5d0c7e21-6a4b-4c3d-9e8f-1a2b3c4d5e6f.jsonl"), "utf8").split("\n")[2];
    const r = parseLine(line as string);
    if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
    expect(r.usage.identityTsMs).toBe(0);
    r.usage.messageTsMs = 1_790_000_000_000; // as the reader dates it
    const ev = usageEvent(r.usage, "main", "s", null, "telegram:5550902", "jsonl", "s@0");
    const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(pushed.idempotencyKey).toBe(dedupeKey(r.usage));
    expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    expect(pushed.timestampMs).toBe(1_790_000_000_000);
    // its entry id travels with it (part of its identity since 2026-12-03)
    expect(pushed.identityEntryId).toBe("a2");
  });

  it("an edge meter's pushes of two such calls of the same counts are two identities at the center; a copy's push is the same", () => {
    const dir = join(CASES, "untimed-usage-line", "state", "agents", "main", "sessions");
    const line = readFileSync(join(dir, "5d0c7e21-6a4b-4c3d-9e8f-1a2b3c4d5e6f.jsonl"), "utf8").split("\n")[2];
    const pushOf = (text: string, userId: string) => {
      const r = parseLine(text);
      if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
      r.usage.messageTsMs = 1_790_000_000_000;
      const ev = usageEvent(r.usage, "main", "s", null, userId, "jsonl", "s@0");
      const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
      expect(pushed.idempotencyKey).toBe(dedupeKey(r.usage));
      expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
      return pushed;
    };
    const entry = JSON.parse(line as string) as Record<string, unknown>;
    const alice = pushOf(line as string, "telegram:alice");
    const bob = pushOf(JSON.stringify({ ...entry, id: "b7e40d51" }), "telegram:bob");
    expect(bob.idempotencyKey).not.toBe(alice.idempotencyKey);
    // a copy (another parent, another entry time, unreadable too): the same identity
    const copy = pushOf(
      JSON.stringify({ ...entry, parentId: "x", timestamp: "not a date" }),
      "telegram:alice",
    );
    expect(copy.idempotencyKey).toBe(alice.idempotencyKey);
    // without an entry id: no identityEntryId, the identity of a line without one
    const { id: _id, ...noId } = entry;
    const anon = pushOf(JSON.stringify(noId), "telegram:carol");
    expect("identityEntryId" in anon).toBe(false);
    expect(anon.idempotencyKey).not.toBe(alice.idempotencyKey);
    // the center recomputes the identity: an entry id the key was not derived from is caught
    expect(meterIdentityOf({ ...alice, identityEntryId: "b7e40d51" })).toBe(bob.idempotencyKey);
    // an entry id only with a line without a time (or, since 2026-12-05, a whole-second one: not
    // this time, which has a fraction)
    const { identityTsMs: _ts, ...whole } = alice;
    const timed = { ...whole, timestampMs: whole.timestampMs + 1 };
    expect(pushEventSchema.safeParse(alice).success).toBe(true);
    expect(pushEventSchema.safeParse(timed).error?.issues.map((i) => i.path)).toEqual([["identityEntryId"]]);
  });
});

describe("case usage-since-without-zone: a date-time without a zone is the same window on every host", () => {
  const saved = process.env.TZ;
  afterEach(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });

  it("--by day --since 2026-09-21T00:00:00: 2026-09-21 2 requests $0.009 under TZ=UTC, Asia/Tokyo, America/New_York", async () => {
    const { world } = await meterCase("usage-since-without-zone");
    const now = Date.parse("2026-12-03T01:00:00Z");
    for (const tz of ["UTC", "Asia/Tokyo", "America/New_York"]) {
      process.env.TZ = tz;
      const rows = queryUsage(world.db, { by: "day", sinceMs: parseTimeArg("2026-09-21T00:00:00", now) });
      expect(rows.map((r) => [r.key, r.requests, r.costUsd])).toEqual([["2026-09-21", 2, "0.009"]]);
    }
  });
});
