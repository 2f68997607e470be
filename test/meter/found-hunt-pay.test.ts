import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester, meterIdentityOf, pushEventSchema } from "../../src/ingest/index.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides, usInferencePremium } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import { EventPacker, packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/** test/cases built from public bug reports of wrong prices (hunt-pay). */
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

const pricer = (mode: CostMode = "calculate", overrides: Record<string, unknown> = {}) =>
  createPricer({ mode, overrides: parsePriceOverrides(overrides, "test"), fallback: FALLBACK });

// ---------------------------------------------------------------------------------------------
// Anthropic US-only inference (`usage.inference_geo: "us"`): 1.1× on Claude 4.6 and later
// ---------------------------------------------------------------------------------------------

const T = Date.parse("2026-11-20T10:00:00Z");

function line(over: Record<string, unknown>, usage: Record<string, unknown> = {}) {
  return JSON.stringify({
    type: "message",
    timestamp: new Date(T).toISOString(),
    message: {
      role: "assistant",
      api: "anthropic-messages",
      provider: "anthropic",
      model: "claude-opus-4-8",
      usage: { input: 1000, output: 400, cacheRead: 20000, cacheWrite: 2000, totalTokens: 23400, ...usage },
      stopReason: "stop",
      timestamp: T,
      responseId: "msg_1",
      ...over,
    },
  });
}

function parsed(over: Record<string, unknown> = {}, usage: Record<string, unknown> = {}): ParsedUsage {
  const r = parseLine(line(over, usage));
  if (r.kind !== "usage") throw new Error(`not usage: ${r.kind}`);
  return r.usage;
}

// Opus 4.8 list: 1,000 × $5 + 400 × $25 + 20,000 × $0.50 + 2,000 × $6.25 per 1M = $0.0375
const STANDARD = 0.0375;
const STANDARD_PICO = 37_500_000_000n;
const US_PICO = 41_250_000_000n;
const US_VERSION = "@pydantic/genai-prices@0.1.8+inference-geo:us";

describe("case anthropic-us-only-inference: a call Anthropic ran US-only is billed at 1.1× on Claude 4.6+", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551301 4 calls $0.12545, not $0.1155`, async () => {
      const { s, world } = await meterCase("anthropic-us-only-inference", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551301",
          requests: 4,
          costUsd: "0.12545",
          unknownModelRequests: 0,
        }),
      ]);
      const rows = world.db
        .prepare(
          "SELECT model, cost_pico_usd AS c, price_version AS v FROM usage_events ORDER BY message_ts_ms",
        )
        .all() as { model: string; c: number | bigint; v: string }[];
      expect(rows.map((r) => [r.model, Number(r.c)])).toEqual([
        ["claude-opus-4-8", 88_000_000_000],
        ["claude-sonnet-4-6", 21_450_000_000],
        ["claude-haiku-4-5", 6_000_000_000],
        ["claude-opus-4-8", 10_000_000_000],
      ]);
      expect(rows.map((r) => r.v.endsWith("+inference-geo:us"))).toEqual([true, true, false, false]);
    });
  }
});

describe("parse: usage.inference_geo", () => {
  it('"us" (any case, trimmed; camelCase too) is kept; "global", other values or none are not', () => {
    expect(parsed({}, { inference_geo: "us" }).inferenceGeo).toBe("us");
    expect(parsed({}, { inference_geo: " US " }).inferenceGeo).toBe("us");
    expect(parsed({}, { inferenceGeo: "us" }).inferenceGeo).toBe("us");
    for (const v of ["global", "eu", "", 1, null, undefined]) {
      expect("inferenceGeo" in parsed({}, { inference_geo: v })).toBe(false);
    }
  });
  it("read from Anthropic's own usage names too (a claude-cli or raw Anthropic line)", () => {
    const raw = parseLine(
      JSON.stringify({
        type: "message",
        timestamp: new Date(T).toISOString(),
        message: {
          role: "assistant",
          provider: "claude-cli",
          model: "opus-4.6",
          usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, inference_geo: "us" },
          timestamp: T,
        },
      }),
    );
    expect(raw).toMatchObject({ kind: "usage", usage: { input: 10, cacheRead: 100, inferenceGeo: "us" } });
  });
  it("is not part of the dedupe identity (a call billed before keeps its key)", () => {
    expect(dedupeKey(parsed({}, { inference_geo: "us" }))).toBe(dedupeKey(parsed()));
  });
});

describe("usInferencePremium: Claude Opus 4.6, Sonnet 4.6 and later on the Claude API", () => {
  it.each([
    ["anthropic", "claude-opus-4-6", true],
    ["anthropic", "claude-opus-4-6-20260205", true],
    ["anthropic", "claude-sonnet-4-6", true],
    ["anthropic", "claude-opus-4-7", true],
    ["anthropic", "claude-opus-4-8", true],
    ["anthropic", "claude-opus-5", true],
    ["anthropic", "claude-opus-5-5", true],
    ["anthropic", "claude-sonnet-5", true],
    ["anthropic", "claude-fable-5", true],
    ["anthropic", "claude-mythos-5-1", true],
    ["anthropic", "anthropic/claude-opus-4.6", true],
    [" Anthropic ", "CLAUDE-OPUS-4-6", true],
    ["claude-cli", "opus-4.6", true],
    ["claude-cli", "sonnet-4.6[1m]", true],
    ["anthropic", "claude-opus-4-5", false],
    ["anthropic", "claude-opus-4-5-20251101", false],
    ["anthropic", "claude-sonnet-4-5-20250929", false],
    ["anthropic", "claude-haiku-4-5", false],
    ["anthropic", "claude-opus-4-1", false],
    ["anthropic", "claude-opus-4-20250514", false],
    ["anthropic", "claude-sonnet-4-20250514", false],
    ["anthropic", "claude-3-7-sonnet-20250219", false],
    ["claude-cli", "opus", false],
    ["claude-cli", "sonnet-4.5", false],
    ["amazon-bedrock", "us.anthropic.claude-opus-4-6-v1", false],
    ["anthropic-vertex", "claude-opus-4-6", false],
    ["google-vertex", "claude-opus-4-6", false],
    ["openrouter", "anthropic/claude-opus-4.6", false],
  ])("%s/%s → %s", (provider, model, want) => {
    expect(usInferencePremium(provider, model)).toBe(want);
  });
});

describe("pricing a US-only call", () => {
  it("Opus 4.8 run US-only: every rate × 1.1 in every mode, +inference-geo:us", () => {
    const u = parsed({}, { inference_geo: "us", cost: { total: STANDARD } });
    for (const mode of ["calculate", "auto", "recorded"] as const) {
      const q = pricer(mode).price(u);
      expect(q.costPicoUsd, mode).toBe(US_PICO);
      // recorded: OpenClaw's estimate (standard rates) × 1.1; the others: the table × 1.1
      expect(q.version, mode).toBe(mode === "recorded" ? "transcript+inference-geo:us" : US_VERSION);
      expect(q.tableCostPicoUsd, mode).toBe(US_PICO);
    }
    expect(pricer("calculate").price(parsed({}, { inference_geo: "global" })).costPicoUsd).toBe(
      STANDARD_PICO,
    );
  });
  it("1-hour cache writes and long-context tiers are scaled too; the result is rounded up to the pico-USD", () => {
    const h = pricer("calculate").price(parsed({}, { inference_geo: "us", cacheWrite1h: 2000 }));
    // 2,000 1-hour writes at $10 instead of $6.25: +$0.0075, × 1.1
    expect(h.costPicoUsd).toBe(49_500_000_000n);
    const odd = pricer("calculate").price(
      parsed({}, { input: 1, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 1, inference_geo: "us" }),
    );
    // 1 token × 5,000,000 pico × 1.1 = 5,500,000 exactly
    expect(odd.costPicoUsd).toBe(5_500_000n);
    const o = pricer("calculate", {
      "anthropic/claude-opus-4-8": { input: "0.000003", output: "1", cacheRead: "0.1", cacheWrite: "1" },
    }).price(
      parsed({}, { input: 1, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 1, inference_geo: "us" }),
    );
    // 3 pico × 1.1 = 3.3 → 4 (never under what Anthropic charged)
    expect(o.costPicoUsd).toBe(4n);
    expect(o.version).toMatch(/^overrides:[0-9a-f]+\+inference-geo:us$/);
  });
  it("with fast mode: both multiples (Opus 4.8 fast 2× and US-only 1.1×)", () => {
    const q = pricer("calculate").price(parsed({}, { speed: "fast", inference_geo: "us" }));
    expect(q.costPicoUsd).toBe(82_500_000_000n);
    expect(q.version).toBe("@pydantic/genai-prices@0.1.8+speed:fast+inference-geo:us");
  });
  it("recorded: OpenClaw's estimate × 1.1, its native fast mode's × 2 included (not the table's standard × 1.1)", () => {
    // pi-ai's estimate at 2× the list price: OpenClaw's own fast mode, no `speed` on the line
    const fastEstimate = parsed({}, { inference_geo: "us", cost: { total: STANDARD * 2 } });
    const q = pricer("recorded").price(fastEstimate);
    expect(q.costPicoUsd).toBe(US_PICO * 2n);
    expect(q.version).toBe("transcript+inference-geo:us");
    // auto reads the same estimate as fast mode: the same amount
    expect(pricer("auto").price(fastEstimate).costPicoUsd).toBe(US_PICO * 2n);
  });
  it("a later Claude model the table does not know: its estimate × 1.1 in auto and recorded", () => {
    const u = parsed({ model: "claude-mythos-5-2" }, { inference_geo: "us", cost: { total: 8 } });
    for (const mode of ["auto", "recorded"] as const) {
      const q = pricer(mode).price(u);
      expect(q.costPicoUsd, mode).toBe(8_800_000_000_000n);
      expect(q.version, mode).toBe("transcript+inference-geo:us");
    }
  });
  it("a model before Opus 4.6, another platform, or a provider-billed amount: no premium", () => {
    const haiku = pricer("calculate").price(parsed({ model: "claude-haiku-4-5" }, { inference_geo: "us" }));
    expect(haiku.version).not.toMatch(/geo/);
    const vertex = pricer("calculate").price(
      parsed({ provider: "anthropic-vertex", model: "claude-opus-4-6" }, { inference_geo: "us" }),
    );
    expect(vertex.version).not.toMatch(/geo/);
    const billed = pricer("auto").price(
      parsed({}, { inference_geo: "us", cost: { total: 0.05, totalOrigin: "provider-billed" } }),
    );
    expect(billed).toMatchObject({ source: "provider-billed", costPicoUsd: 50_000_000_000n });
  });
  it("priced by the model that ran it: a refusal fallback to Opus 4.8 of a Fable 5 call", () => {
    const q = pricer("calculate").price(
      parsed({ model: "claude-fable-5", responseModel: "claude-opus-4-8" }, { inference_geo: "us" }),
    );
    expect(q.costPicoUsd).toBe(US_PICO);
    expect(q.version).toMatch(/\+served:claude-opus-4-8\+inference-geo:us$/);
  });
});

describe("inferenceGeo travels with the event", () => {
  const u = parsed({}, { inference_geo: "us" });
  const ev = usageEvent(u, "main", "s", "agent:main:telegram:direct:1", "telegram:1", "jsonl", "/x@0");

  it("packEvents / unpackEvents and the reader thread's EventPacker keep it, on that event only", () => {
    expect(ev.inferenceGeo).toBe("us");
    const plain = usageEvent(
      parsed(),
      "main",
      "s",
      "agent:main:telegram:direct:1",
      "telegram:1",
      "jsonl",
      "/y@0",
    );
    const events = [plain, ev, plain];
    const packed = packEvents(events);
    expect(packed).not.toBeNull();
    const back = unpackEvents(structuredClone(packed) as NonNullable<typeof packed>);
    expect(back).toStrictEqual(events);
    expect(Object.keys(back[1] as object)).toEqual(Object.keys(ev));
    expect("inferenceGeo" in (back[0] as object)).toBe(false);
    const p = new EventPacker(1);
    p.add(
      u,
      "main",
      "s",
      "agent:main:telegram:direct:1",
      "telegram:1",
      "jsonl",
      "/x@0",
      null,
      null,
      null,
      undefined,
    );
    expect(unpackEvents(p.take())[0]).toStrictEqual(ev);
    expect(packEvents([{ ...ev, inferenceGeo: "eu" as "us" }])).toBeNull();
  });

  it("an edge push carries it; the center's identity is unchanged and it prices by it", () => {
    const push = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(push.inferenceGeo).toBe("us");
    expect(meterIdentityOf(push)).toBe(dedupeKey(ev));
    expect(pushEventOf({ ...ev, inferenceGeo: undefined }, "edge-1")).not.toHaveProperty("inferenceGeo");
    for (const engine of ENGINES) {
      const t = createEngineDb(engine);
      try {
        const ing = createPushIngester(t.db, {
          pricer: pricer("auto"),
          markup: parseDecimal("1"),
          creditsPerUsd: parseDecimal("1"),
          nowMs: () => T + 60_000,
        });
        const global = {
          ...push,
          idempotencyKey: "g-1",
          edgeId: undefined,
          inferenceGeo: "global",
          responseId: "msg_2",
        };
        const [r, s] = ing.ingest([push, global], "push:edge:r1", "k1");
        expect(r, engine).toMatchObject({ status: "billed" });
        expect(s, engine).toMatchObject({ status: "billed" });
        const rows = t.db
          .prepare("SELECT cost_pico_usd AS c, price_version AS v FROM usage_events ORDER BY c DESC")
          .all() as { c: number | string | bigint; v: string }[];
        expect(
          rows.map((row) => ({ ...row, c: Number(row.c) })),
          engine,
        ).toEqual([
          { c: Number(US_PICO), v: US_VERSION },
          { c: Number(STANDARD_PICO), v: "@pydantic/genai-prices@0.1.8" },
        ]);
      } finally {
        t.cleanup();
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Claude models newer than the table: Haiku 5.5 (with its >100K prompt tier), Mythos 5 / 5.1
// ---------------------------------------------------------------------------------------------

describe("case claude-model-newer-than-table: Haiku 5.5 and Mythos 5.1 at Anthropic's prices, not the fallback", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551302 4 calls $0.058376, not $1.0989`, async () => {
      const { s, world } = await meterCase("claude-model-newer-than-table", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551302",
          requests: 4,
          costUsd: "0.058376",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
});

describe("price supplement: Anthropic's newer Claude models", () => {
  const at = Date.parse("2026-11-20T10:00:00Z");
  const call = (provider: string, model: string, over: Partial<ParsedUsage> = {}) =>
    parsedUsage({ provider, model, api: "anthropic-messages", messageTsMs: at, ...over });
  const cost = (u: ParsedUsage) => pricer("calculate").price(u);
  it.each([
    ["anthropic", "claude-haiku-5-5"],
    ["anthropic", "claude-haiku-5-5[1m]"],
    ["claude-cli", "haiku-5.5"],
    ["anthropic", "claude-haiku-5-5-20261007"],
    ["anthropic", "claude-haiku-5-5-20261007[1m]"],
    ["openrouter", "anthropic/claude-haiku-5.5"],
    ["litellm", "anthropic/claude-haiku-5-5"],
  ])(
    "%s/%s: Haiku 5.5, 100K prompt tokens at the base rates, 100,001 at the tier's on every token",
    (p, m) => {
      // 100,000 prompt tokens: 40,000 × $0.10 + 60,000 × $0.01 + 1,000 × $0.50 = $0.0051
      const base = cost(call(p, m, { input: 40_000, cacheRead: 60_000, output: 1_000 }));
      expect(base).toMatchObject({ costPicoUsd: 5_100_000_000n, unknownModel: false });
      expect(base.version).toMatch(/\+supplement:[0-9a-f]{8}$/);
      // one more prompt token: 40,001 × $0.50 + 60,000 × $0.05 + 1,000 × $2.50 = $0.0255005
      const over = cost(call(p, m, { input: 40_001, cacheRead: 60_000, output: 1_000 }));
      expect(over.costPicoUsd).toBe(25_500_500_000n);
    },
  );
  it("Haiku 5.5 cache writes: 5-minute $0.125, 1-hour $0.20 (over 100K: $0.625, $1.00)", () => {
    expect(cost(call("anthropic", "claude-haiku-5-5", { cacheWrite: 1_000_000 })).costPicoUsd).toBe(
      625_000_000_000n,
    );
    expect(
      cost(call("anthropic", "claude-haiku-5-5", { cacheWrite: 10_000, cacheWrite1h: 10_000 })).costPicoUsd,
    ).toBe(2_000_000_000n);
    expect(
      cost(call("anthropic", "claude-haiku-5-5", { cacheWrite: 50_000, cacheWrite1h: 50_000 })).costPicoUsd,
    ).toBe(10_000_000_000n);
    // 5-minute writes below the tier: 50,000 × $0.125
    expect(cost(call("anthropic", "claude-haiku-5-5", { cacheWrite: 50_000 })).costPicoUsd).toBe(
      6_250_000_000n,
    );
  });
  it("Mythos 5 and 5.1: $10 / $50, cache hits $1 and $0.25, writes $12.50 / $20", () => {
    const u = { input: 1_000, output: 1_000, cacheRead: 100_000, cacheWrite: 1_000 };
    // 0.01 + 0.05 + 0.1 + 0.0125
    expect(cost(call("anthropic", "claude-mythos-5", u)).costPicoUsd).toBe(172_500_000_000n);
    // 0.01 + 0.05 + 0.025 + 0.0125
    expect(cost(call("anthropic", "claude-mythos-5-1", u)).costPicoUsd).toBe(97_500_000_000n);
    // a snapshot date or a context suffix on the id (a tester's finding: the fallback price before)
    expect(cost(call("anthropic", "claude-mythos-5-1-20261007", u)).costPicoUsd).toBe(97_500_000_000n);
    expect(cost(call("anthropic", "claude-mythos-5-1[1m]", u)).costPicoUsd).toBe(97_500_000_000n);
  });
  it("not on Bedrock or Vertex (their own price lists), and an override still wins", () => {
    expect(cost(call("amazon-bedrock", "anthropic.claude-haiku-5-5")).unknownModel).toBe(true);
    const o = pricer("calculate", {
      "anthropic/claude-haiku-5-5": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" },
    }).price(call("anthropic", "claude-haiku-5-5", { input: 1_000_000 }));
    expect(o).toMatchObject({ costPicoUsd: 1_000_000_000_000n, source: "override" });
  });
  it("a model the table knows keeps the table's price (Haiku 4.5, Fable 5.1)", () => {
    expect(cost(call("anthropic", "claude-haiku-4-5", { input: 1_000_000 })).version).toBe(
      "@pydantic/genai-prices@0.1.8",
    );
    expect(cost(call("anthropic", "claude-fable-5-1", { input: 1_000_000 })).costPicoUsd).toBe(
      10_000_000_000_000n,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// A platform's own price-change date: Azure's GPT-5.6 Sol cut from 2026-09-01, not OpenAI's date
// ---------------------------------------------------------------------------------------------

describe("case azure-platform-price-date: Azure Sol calls before Azure's own cut at Azure's price then", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551303 4 calls $3.38, not $2.73`, async () => {
      const { s, world } = await meterCase("azure-platform-price-date", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551303", requests: 4, costUsd: "3.38" }),
      ]);
    });
  }
});

describe("platformPriceWindow: Azure GPT-5.6 Sol", () => {
  const at = (iso: string) => Date.parse(iso);
  const usage = { input: 10_000, output: 2_000, cacheRead: 50_000 };
  const call = (provider: string, model: string, iso: string, over: Partial<ParsedUsage> = usage) =>
    parsedUsage({ provider, model, api: "azure-openai-responses", messageTsMs: at(iso), ...over });
  it("one pricer, calls in every order: Azure at $5 / $30 until 2026-09-01, OpenAI's cut from its own date", () => {
    const p = pricer("calculate");
    const seq: [string, string, string, bigint][] = [
      ["azure-openai-responses", "gpt-5.6-sol", "2026-09-02T00:00:00Z", 100_000_000_000n],
      ["azure-openai-responses", "gpt-5.6-sol", "2026-08-25T00:00:00Z", 135_000_000_000n],
      ["azure-openai-responses", "gpt-5.6", "2026-08-31T23:59:59.999Z", 135_000_000_000n],
      ["azure-openai-responses", "gpt-5.6-sol", "2026-09-01T00:00:00Z", 100_000_000_000n],
      ["azure-openai-responses", "gpt-5.6-sol", "2026-08-20T00:00:00Z", 135_000_000_000n],
      ["azure-openai-responses", "gpt-5.6-sol", "2026-08-21T00:00:00Z", 135_000_000_000n],
      // OpenClaw's Microsoft Foundry provider and an operator's `azure-openai` are Azure too (a
      // tester's finding: OpenAI's prices and date before)
      ["microsoft-foundry", "gpt-5.6-sol", "2026-08-25T00:00:00Z", 135_000_000_000n],
      ["microsoft-foundry-eu", "gpt-5.6-sol", "2026-08-25T00:00:00Z", 135_000_000_000n],
      ["azure-openai", "gpt-5.6-sol", "2026-08-25T00:00:00Z", 135_000_000_000n],
      ["azure-openai", "gpt-5.6-sol", "2026-09-02T00:00:00Z", 100_000_000_000n],
      ["openai", "gpt-5.6-sol", "2026-08-25T00:00:00Z", 100_000_000_000n],
      ["openai-codex", "gpt-5.6-sol", "2026-08-25T00:00:00Z", 100_000_000_000n],
    ];
    for (const round of [1, 2]) {
      for (const [provider, model, iso, want] of seq) {
        expect(p.price(call(provider, model, iso)).costPicoUsd, `${round} ${provider}/${model} ${iso}`).toBe(
          want,
        );
      }
    }
  });
  it("the window's rows say so; the long-context tier is Azure's then too ($10 / $45)", () => {
    const q = pricer("calculate").price(
      call("azure-openai-responses", "gpt-5.6-sol", "2026-08-28T00:00:00Z", {
        input: 300_000,
        output: 1_000,
      }),
    );
    expect(q.costPicoUsd).toBe(3_045_000_000_000n);
    expect(q.version).toMatch(/\+corrections:[0-9a-f]{8}$/);
  });
  it("other GPT-5.6 models on Azure keep the table's dates (no Azure date confirmed here)", () => {
    const p = pricer("calculate");
    const terra = (iso: string) => p.price(call("azure-openai-responses", "gpt-5.6-terra", iso)).costPicoUsd;
    const openaiTerra = (iso: string) => p.price(call("openai", "gpt-5.6-terra", iso)).costPicoUsd;
    expect(terra("2026-08-25T00:00:00Z")).toBe(openaiTerra("2026-08-25T00:00:00Z"));
  });
});
