import { describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester, meterIdentityOf, pushEventSchema } from "../../src/ingest/index.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { createPricer, fastModeMultiple, parsePriceOverrides } from "../../src/meter/pricing.js";
import { EventPacker, packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/**
 * Anthropic fast mode (`speed: "fast"`, the response's `usage.speed` says which speed served the
 * call): every rate × the model's multiple — Opus 5 / 4.8 2× ($10 / $50), Opus 4.7 / 4.6 6×
 * ($30 / $150) while they had it. Case: test/cases/anthropic-fast-mode.
 */
const T = Date.parse("2026-11-20T10:00:00Z");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

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

function pricer(mode: "calculate" | "auto" | "recorded", overrides: Record<string, unknown> = {}) {
  return createPricer({ mode, overrides: parsePriceOverrides(overrides, "test"), fallback: FALLBACK });
}

/** A center's push ingester pricing in `auto`, at markup 1 and one credit per USD. */
const centerIngester = (db: Parameters<typeof createPushIngester>[0]) =>
  createPushIngester(db, {
    pricer: pricer("auto"),
    markup: parseDecimal("1"),
    creditsPerUsd: parseDecimal("1"),
    nowMs: () => T + 60_000,
  });

const usd = (pico: bigint) => Number(pico) / 1e12;
// Opus 4.8 list: 1,000 × $5 + 400 × $25 + 20,000 × $0.50 + 2,000 × $6.25 per 1M = $0.0375
const STANDARD = 0.0375;

describe("parse: usage.speed", () => {
  it('keeps "fast" and "standard" (trimmed, any case), on OpenClaw-named and Anthropic-named usage alike', () => {
    expect(parsed({}, { speed: "fast" }).speed).toBe("fast");
    expect(parsed({}, { speed: " FAST " }).speed).toBe("fast");
    expect(parsed({}, { speed: "Standard" }).speed).toBe("standard");
    for (const v of ["", "priority", 1, null, true, undefined])
      expect("speed" in parsed({}, { speed: v })).toBe(false);
    // a line whose usage is Anthropic's own (a claude-cli line): the same field
    const raw = parseLine(
      JSON.stringify({
        type: "message",
        message: {
          role: "assistant",
          provider: "claude-cli",
          api: "cli",
          model: "claude-opus-4-8",
          timestamp: T,
          usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 100, speed: "fast" },
        },
      }),
    );
    expect(raw).toMatchObject({ kind: "usage", usage: { input: 10, cacheRead: 100, speed: "fast" } });
  });

  it("is not part of the call's identity", () => {
    expect(dedupeKey(parsed({}, { speed: "fast" }))).toBe(dedupeKey(parsed()));
  });
});

describe("fastModeMultiple", () => {
  const at = (iso: string) => Date.parse(iso);
  it("Opus 5 and 4.8: 2×; Opus 4.7 until 2026-07-24 and Opus 4.6 until 2026-06-29: 6×, then 1×", () => {
    const now = at("2026-11-20T00:00:00Z");
    expect(fastModeMultiple("anthropic", "claude-opus-5", now)).toBe(2n);
    expect(fastModeMultiple("anthropic", "claude-opus-5-20260723", now)).toBe(2n);
    expect(fastModeMultiple("anthropic", "claude-opus-4-8", now)).toBe(2n);
    expect(fastModeMultiple("anthropic", " Claude-Opus-4.8 ", now)).toBe(2n);
    expect(fastModeMultiple("claude-cli", "claude-opus-4-8", now)).toBe(2n);
    expect(fastModeMultiple("anthropic", "claude-opus-4-6", at("2026-06-28T23:59:59.999Z"))).toBe(6n);
    expect(fastModeMultiple("anthropic", "claude-opus-4-6", at("2026-06-29T00:00:00Z"))).toBe(1n);
    expect(fastModeMultiple("anthropic", "claude-opus-4-7", at("2026-07-23T12:00:00Z"))).toBe(6n);
    expect(fastModeMultiple("anthropic", "claude-opus-4-7", at("2026-07-24T00:00:00Z"))).toBe(1n);
  });

  it("1× for other models (Opus 5.5: no confirmed price here) and for every other provider", () => {
    const now = at("2026-11-20T00:00:00Z");
    for (const model of ["claude-opus-5-5", "claude-sonnet-5", "claude-fable-5", "claude-opus-4-5"])
      expect(fastModeMultiple("anthropic", model, now), model).toBe(1n);
    // not offered on Bedrock / Vertex / Foundry; OpenRouter's `-fast` models are their own entries
    for (const provider of ["anthropic-vertex", "amazon-bedrock", "openrouter", "litellm"])
      expect(fastModeMultiple(provider, "claude-opus-4-8", now), provider).toBe(1n);
  });
});

describe("pricing a fast-mode call", () => {
  it("Opus 4.8 served fast: every rate × 2 (cache reads and writes too) in every mode, +speed:fast", () => {
    const u = parsed({}, { speed: "fast", cost: { total: STANDARD } });
    for (const mode of ["calculate", "auto", "recorded"] as const) {
      const q = pricer(mode).price(u);
      expect(usd(q.costPicoUsd), mode).toBe(2 * STANDARD);
      expect(q, mode).toMatchObject({
        source: "table",
        unknownModel: false,
        tableCostPicoUsd: q.costPicoUsd,
      });
      expect(q.version, mode).toBe("@pydantic/genai-prices@0.1.8+speed:fast");
    }
    // a standard call: as before
    const std = pricer("auto").price(parsed({}, { speed: "standard" }));
    expect(usd(std.costPicoUsd)).toBe(STANDARD);
    expect(std.version).toBe("@pydantic/genai-prices@0.1.8");
    // 1-hour cache writes are scaled too: 2,000 at $10 × 2 instead of $6.25 × 2
    const h = pricer("calculate").price(parsed({}, { speed: "fast", cacheWrite1h: 2000 }));
    expect(usd(h.costPicoUsd)).toBe(2 * (STANDARD - 0.0125 + 0.02));
  });

  it("an operator override is billed × the multiple, as a service tier's", () => {
    const q = pricer("auto", {
      "anthropic/claude-opus-4-8": { input: "4", output: "20", cacheRead: "0.4", cacheWrite: "5" },
    }).price(parsed({}, { speed: "fast" }));
    // (1,000 × 4 + 400 × 20 + 20,000 × 0.4 + 2,000 × 5) × 2 = $0.06
    expect(q.source).toBe("override");
    expect(usd(q.costPicoUsd)).toBe(0.06);
    expect(q.version).toMatch(/^overrides:[0-9a-f]+\+speed:fast$/);
  });

  it("Opus 4.6 at 6× before 2026-06-29, 1× after (its requests ran at standard speed)", () => {
    const before = Date.parse("2026-05-01T00:00:00Z");
    const old = parsed({ model: "claude-opus-4-6", timestamp: before }, { speed: "fast" });
    // $0.0375 × 6 = $0.225, exact
    expect(pricer("calculate").price(old).costPicoUsd).toBe(225_000_000_000n);
    const after = parsed({ model: "claude-opus-4-6" }, { speed: "fast", cost: { total: STANDARD } });
    for (const mode of ["calculate", "auto", "recorded"] as const) {
      const q = pricer(mode).price(after);
      expect(usd(q.costPicoUsd), mode).toBe(STANDARD);
      expect(q.version, mode).not.toMatch(/speed/);
    }
    // recorded: a 1× call keeps its estimate
    expect(pricer("recorded").price(after).source).toBe("recorded");
  });

  it("a model served in place of the requested one is priced at the served model's multiple", () => {
    // Fable 5 (no fast price) answered by Opus 4.8 in fast mode
    const q = pricer("calculate").price(
      parsed({ model: "claude-fable-5", responseModel: "claude-opus-4-8" }, { speed: "fast" }),
    );
    expect(usd(q.costPicoUsd)).toBe(2 * STANDARD);
    expect(q.version).toMatch(/\+served:claude-opus-4-8\+speed:fast$/);
  });

  it("a provider-billed amount still wins in auto and recorded; calculate bills the fast list price", () => {
    const u = parsed({}, { speed: "fast", cost: { total: 0.07, totalOrigin: "provider-billed" } });
    for (const mode of ["auto", "recorded"] as const) {
      const q = pricer(mode).price(u);
      expect(q.source).toBe("provider-billed");
      expect(usd(q.costPicoUsd)).toBe(0.07);
      expect(usd(q.tableCostPicoUsd as bigint)).toBe(2 * STANDARD);
    }
    expect(usd(pricer("calculate").price(u).costPicoUsd)).toBe(2 * STANDARD);
  });

  it("not on other providers: a Vertex line that says fast is billed at its list price", () => {
    const q = pricer("calculate").price(
      parsed({ provider: "anthropic-vertex", api: "anthropic-messages" }, { speed: "fast" }),
    );
    expect(q.version).not.toMatch(/speed/);
  });
});

describe("speed travels with the event", () => {
  const u = parsed({}, { speed: "fast" });
  const ev = usageEvent(u, "main", "s", "agent:main:telegram:direct:1", "telegram:1", "jsonl", "/x@0");

  it("packEvents / unpackEvents and the reader thread's EventPacker keep it, on that event only", () => {
    expect(ev.speed).toBe("fast");
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
    expect("speed" in (back[0] as object)).toBe(false);
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
    // any other value is not this encoding's: sent as objects
    expect(packEvents([{ ...ev, speed: "slow" as "fast" }])).toBeNull();
    const std = { ...ev, speed: "standard" as const };
    expect(unpackEvents(packEvents([std]) as NonNullable<ReturnType<typeof packEvents>>)).toStrictEqual([
      std,
    ]);
  });

  it("an edge push carries it; the center's identity is unchanged and it prices by it", () => {
    const push = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(push.speed).toBe("fast");
    expect(meterIdentityOf(push)).toBe(dedupeKey(ev));
    expect(pushEventOf({ ...ev, speed: undefined }, "edge-1")).not.toHaveProperty("speed");
    for (const engine of ENGINES) {
      const t = createEngineDb(engine);
      try {
        const ing = centerIngester(t.db);
        // a pusher's "standard" is a standard call
        const std = {
          ...push,
          idempotencyKey: "std-1",
          edgeId: undefined,
          speed: "standard",
          responseId: "msg_2",
        };
        const [r, s] = ing.ingest([push, std], "push:edge:r1", "k1");
        expect(r, engine).toMatchObject({ status: "billed" });
        expect(s, engine).toMatchObject({ status: "billed" });
        const rows = t.db
          .prepare("SELECT cost_pico_usd AS c, price_version AS v FROM usage_events ORDER BY c DESC")
          .all() as { c: number | string | bigint; v: string }[];
        expect(
          rows.map((row) => ({ ...row, c: Number(row.c) })),
          engine,
        ).toEqual([
          { c: 75_000_000_000, v: "@pydantic/genai-prices@0.1.8+speed:fast" },
          { c: 37_500_000_000, v: "@pydantic/genai-prices@0.1.8" },
        ]);
      } finally {
        t.cleanup();
      }
    }
  });
});

describe("auto: OpenClaw's native fast mode, read from its ×2 estimate when the line keeps no speed", () => {
  // OpenClaw prices its native fast-mode estimate at the catalog cost × 2 (stream-wrappers.ts
  // applyAnthropicFastModePricing); pi-ai's line keeps no usage.speed.
  it("an Opus 4.8 estimate exactly 2× the list price is billed 2×, +speed:fast; calculate stays list-only", () => {
    const u = parsed({}, { cost: { total: 2 * STANDARD } });
    const q = pricer("auto").price(u);
    expect(q.costPicoUsd).toBe(75_000_000_000n);
    expect(q).toMatchObject({ source: "table", tableCostPicoUsd: 75_000_000_000n });
    expect(q.version).toBe("@pydantic/genai-prices@0.1.8+speed:fast");
    expect(pricer("calculate").price(u).costPicoUsd).toBe(37_500_000_000n);
    // recorded: the ×2 estimate itself
    expect(pricer("recorded").price(u)).toMatchObject({ source: "recorded", costPicoUsd: 75_000_000_000n });
    // an override is billed × 2 (the estimate is read against the table, never the override)
    const o = pricer("auto", {
      "anthropic/claude-opus-4-8": { input: "4", output: "20", cacheRead: "0.4", cacheWrite: "5" },
    }).price(u);
    expect(o.costPicoUsd).toBe(60_000_000_000n);
  });

  it("not for another estimate, another model, provider or API, a provider-billed amount or a line that says its speed", () => {
    const at = (over: Record<string, unknown>, usage: Record<string, unknown> = {}) =>
      pricer("auto").price(parsed(over, { cost: { total: 2 * STANDARD }, ...usage }));
    expect(at({}, { cost: { total: STANDARD } }).version).not.toMatch(/speed/);
    expect(at({}, { cost: { total: 1.9 * STANDARD } }).version).not.toMatch(/speed/);
    // Opus 4.6 (6× while it had fast mode; OpenClaw never sent it natively), Sonnet: no
    expect(at({ model: "claude-opus-4-6" }).version).not.toMatch(/speed/);
    expect(at({ model: "claude-sonnet-4-5" }).version).not.toMatch(/speed/);
    expect(at({ provider: "anthropic-vertex" }).version).not.toMatch(/speed/);
    expect(at({ api: "openai-completions" }).version).not.toMatch(/speed/);
    expect(at({}, { cost: { total: 2 * STANDARD, totalOrigin: "provider-billed" } })).toMatchObject({
      source: "provider-billed",
    });
    // a line that says standard is not read from its estimate (the served speed wins)
    expect(at({}, { speed: "standard" }).version).not.toMatch(/speed/);
  });
});

describe("what a reviewer found (2026-12-02)", () => {
  it('recorded: a line that says "standard" with a ×2 estimate (fast asked, standard served) bills the list price', () => {
    const u = parsed({}, { speed: "standard", cost: { total: 2 * STANDARD } });
    expect(pricer("recorded").price(u).costPicoUsd).toBe(37_500_000_000n);
    // a standard estimate comes to the same (the list price: its estimate is not read)
    expect(
      pricer("recorded").price(parsed({}, { speed: "standard", cost: { total: STANDARD } })).costPicoUsd,
    ).toBe(37_500_000_000n);
  });

  it("claude-opus-5.0 (an id the table matches to Opus 5) served fast is 2×", () => {
    expect(fastModeMultiple("anthropic", "claude-opus-5.0", T)).toBe(2n);
    expect(fastModeMultiple("anthropic", "claude-opus-5-0-20260801", T)).toBe(2n);
    expect(fastModeMultiple("anthropic", "claude-opus-5-5", T)).toBe(1n);
  });

  it("an edge push carries the api, so the center reads OpenClaw's ×2 estimate as a local meter does", () => {
    const ev = usageEvent(
      parsed({}, { cost: { total: 2 * STANDARD } }),
      "main",
      "s1",
      null,
      "telegram:1",
      "jsonl",
      "f@0",
    );
    const push = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(push.api).toBe("anthropic-messages");
    const t = createEngineDb("sqlite");
    try {
      const ing = centerIngester(t.db);
      expect(ing.ingest([push], "push:edge:r1", "k1")[0]).toMatchObject({ status: "billed" });
      expect(t.db.prepare("SELECT cost_pico_usd AS c FROM usage_events").get()).toEqual({
        c: 75_000_000_000,
      });
    } finally {
      t.cleanup();
    }
  });
});
