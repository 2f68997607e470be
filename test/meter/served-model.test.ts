import { describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester, meterIdentityOf, pushEventSchema } from "../../src/ingest/index.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { EventPacker, packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/**
 * `message.responseModel`: the model that answered. A call is priced as the model that served it
 * when that is another model the price list or an override knows (earendil-works/pi#8285:
 * Anthropic's refusal fallback; OpenRouter's Auto Router), never by a dated snapshot's own list
 * price over the operator's price for the model asked for. Case: test/cases/served-model-pricing.
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
      model: "claude-fable-5",
      usage: { input: 412, output: 264, cacheRead: 0, cacheWrite: 0, totalTokens: 676, ...usage },
      stopReason: "stop",
      timestamp: T,
      responseId: "msg_1",
      ...over,
    },
  });
}

function parsed(over: Record<string, unknown>, usage: Record<string, unknown> = {}): ParsedUsage {
  const r = parseLine(line(over, usage));
  if (r.kind !== "usage") throw new Error(`not usage: ${r.kind}`);
  return r.usage;
}

function pricer(mode: "calculate" | "auto" | "recorded", overrides: Record<string, unknown> = {}) {
  return createPricer({ mode, overrides: parsePriceOverrides(overrides, "test"), fallback: FALLBACK });
}

const usd = (pico: bigint) => Number(pico) / 1e12;

describe("parse: message.responseModel", () => {
  it("is kept when it names another model than message.model, and only then", () => {
    expect(parsed({ responseModel: "claude-opus-4-8" }).responseModel).toBe("claude-opus-4-8");
    expect(parsed({ responseModel: " claude-opus-4-8 " }).responseModel).toBe("claude-opus-4-8");
    for (const v of ["claude-fable-5", "", "   ", 42, null, undefined, "x".repeat(201)])
      expect("responseModel" in parsed({ responseModel: v })).toBe(false);
  });

  it("is not part of the call's identity", () => {
    expect(dedupeKey(parsed({ responseModel: "claude-opus-4-8" }))).toBe(dedupeKey(parsed({})));
  });
});

describe("pricing by the model that served the call", () => {
  it("an Anthropic refusal fallback (Fable 5 → Opus 4.8) is billed at Opus's rates: $0.00866, not $0.01732", () => {
    const u = parsed({ responseModel: "claude-opus-4-8" }, { cost: { total: 0.01732 } });
    for (const mode of ["calculate", "auto", "recorded"] as const) {
      const q = pricer(mode).price(u);
      expect(usd(q.costPicoUsd), mode).toBe(0.00866);
      expect(q).toMatchObject({ source: "table", unknownModel: false });
      expect(q.version).toMatch(/\+served:claude-opus-4-8$/);
    }
    // without responseModel: the requested model's price, as before
    expect(usd(pricer("calculate").price(parsed({})).costPicoUsd)).toBe(0.01732);
  });

  it("OpenRouter's Auto Router is billed as the model it picked, not at the fallback as an unknown model", () => {
    const u = parsed(
      {
        api: "openai-completions",
        provider: "openrouter",
        model: "openrouter/auto",
        responseModel: "anthropic/claude-sonnet-4.5",
      },
      { input: 10000, output: 1000, totalTokens: 11000 },
    );
    const q = pricer("auto").price(u);
    expect(usd(q.costPicoUsd)).toBe(0.045);
    expect(q.unknownModel).toBe(false);
    // A free route it picked is free.
    const free = pricer("auto").price({ ...u, responseModel: "meta-llama/llama-3.3-70b-instruct:free" });
    expect(free.costPicoUsd).toBe(0n);
    // A pick nobody prices: the requested model's price (here the fallback, flagged), as before.
    const unknown = pricer("auto").price({ ...u, responseModel: "nobody/knows-this-1" });
    expect(unknown).toMatchObject({ source: "fallback", unknownModel: true });
    expect(unknown.version).not.toMatch(/served/);
  });

  it("a dated snapshot of the requested model keeps the operator's price for the requested model", () => {
    const u = parsed(
      { api: "openai-responses", provider: "openai", model: "gpt-4o", responseModel: "gpt-4o-2024-08-06" },
      { input: 1000, output: 100, totalTokens: 1100 },
    );
    const q = pricer("calculate", {
      "openai/gpt-4o": { input: "2", output: "8", cacheRead: "1", cacheWrite: "0" },
    }).price(u);
    expect(q).toMatchObject({ source: "override" });
    expect(usd(q.costPicoUsd)).toBe(0.0028);
    expect(q.version).not.toMatch(/served/);
    // Google's `models/` prefix and case are the same name
    const g = parsed({
      provider: "google",
      model: "gemini-2.5-flash",
      responseModel: "models/Gemini-2.5-Flash",
    });
    expect(pricer("calculate").price(g).version).not.toMatch(/served/);
  });

  it("a served model only an override knows is priced by that override; a provider-wide override prices it too", () => {
    const u = parsed({ provider: "acme", model: "acme-big", responseModel: "acme-small" });
    const both = {
      "acme/acme-big": { input: "10", output: "10", cacheRead: "0", cacheWrite: "0" },
      "acme/acme-small": { input: "1", output: "1", cacheRead: "0", cacheWrite: "0" },
    };
    const q = pricer("calculate", both).price(u);
    expect(q).toMatchObject({ source: "override" });
    expect(usd(q.costPicoUsd)).toBe(0.000676);
    // only the requested model has a price: it stays priced as requested (not the fallback)
    const own = pricer("calculate", { "acme/acme-big": both["acme/acme-big"] }).price(u);
    expect(usd(own.costPicoUsd)).toBe(0.00676);
    expect(own.unknownModel).toBe(false);
  });

  it("an override of the requested model is kept when the table cannot tell the served name from it", () => {
    const price = (
      model: string,
      responseModel: string,
      provider: string,
      overrides: Record<string, unknown>,
    ) =>
      pricer("calculate", overrides).price(
        parsed(
          { api: "openai-completions", provider, model, responseModel },
          { input: 1000, output: 0, totalTokens: 1000 },
        ),
      );
    const flat = (usd: string) => ({ input: usd, output: usd, cacheRead: usd, cacheWrite: usd });
    // A proxy's alias the table does not know, answered by a dated name it does: the operator's $0
    // (a subscription) stays, not Claude's list price.
    const alias = price("sonnet", "claude-sonnet-4-5-20250929", "litellm", { "litellm/sonnet": flat("0") });
    expect(alias).toMatchObject({ source: "override", costPicoUsd: 0n });
    expect(alias.version).not.toMatch(/served/);
    // An Azure deployment name answered as its model.
    const azure = price("my-gpt4o", "gpt-4o-2024-11-20", "azure-openai-responses", {
      "azure-openai-responses/my-gpt4o": flat("1"),
    });
    expect(usd(azure.costPicoUsd)).toBe(0.001);
    // OpenRouter's dated slug of the model asked for: another table entry at the same prices.
    const or = price("anthropic/claude-sonnet-4", "anthropic/claude-4-sonnet-20250522", "openrouter", {
      "openrouter/anthropic/claude-sonnet-4": flat("1"),
    });
    expect(usd(or.costPicoUsd)).toBe(0.001);
    // Without the override these are priced by the table as before; a served model the table
    // prices differently (Fable → Opus) or one with its own override still wins over it.
    expect(price("sonnet", "claude-sonnet-4-5-20250929", "litellm", {}).version).toMatch(/\+served:/);
    const fable = price("claude-fable-5", "claude-opus-4-8", "anthropic", {
      "anthropic/claude-fable-5": flat("10"),
    });
    expect(usd(fable.costPicoUsd)).toBe(0.005);
    const both = price("sonnet", "claude-sonnet-4-5-20250929", "litellm", {
      "litellm/sonnet": flat("0"),
      "litellm/claude-sonnet-4-5-20250929": flat("2"),
    });
    expect(usd(both.costPicoUsd)).toBe(0.002);
  });

  it("a provider-billed amount still wins in auto and recorded", () => {
    const u = parsed(
      { responseModel: "claude-opus-4-8" },
      { cost: { total: 0.004, totalOrigin: "provider-billed" } },
    );
    for (const mode of ["auto", "recorded"] as const) {
      const q = pricer(mode).price(u);
      expect(q.source).toBe("provider-billed");
      expect(usd(q.costPicoUsd)).toBe(0.004);
      expect(usd(q.tableCostPicoUsd as bigint)).toBe(0.00866);
    }
  });
});

describe("responseModel travels with the event", () => {
  const u = parsed({ responseModel: "claude-opus-4-8" });
  const ev = usageEvent(u, "main", "s", "agent:main:telegram:direct:1", "telegram:1", "jsonl", "/x@0");

  it("packEvents / unpackEvents and the reader thread's EventPacker keep it, on that event only", () => {
    const plain = usageEvent(
      parsed({}),
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
    expect("responseModel" in (back[0] as object)).toBe(false);
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
    expect(packEvents([{ ...ev, responseModel: undefined }])).toBeNull();
  });

  it("an edge push carries it; the center's identity is unchanged and it prices by it", () => {
    const push = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(push.responseModel).toBe("claude-opus-4-8");
    expect(meterIdentityOf(push)).toBe(dedupeKey(ev));
    // a pusher's spaces are trimmed (the price_version names the model exactly); blank is refused
    expect(pushEventSchema.parse({ ...push, responseModel: " claude-opus-4-8 " }).responseModel).toBe(
      "claude-opus-4-8",
    );
    expect(pushEventSchema.safeParse({ ...push, responseModel: "  " }).success).toBe(false);
    for (const engine of ENGINES) {
      const t = createEngineDb(engine);
      try {
        const ing = createPushIngester(t.db, {
          pricer: pricer("auto"),
          markup: parseDecimal("1"),
          creditsPerUsd: parseDecimal("1"),
          nowMs: () => T + 60_000,
        });
        const [r] = ing.ingest([push], "push:edge:r1", "k1");
        expect(r, engine).toMatchObject({ status: "billed" });
        const row = t.db
          .prepare("SELECT model, cost_pico_usd AS c, price_version AS v FROM usage_events")
          .get() as { model: string; c: number | string | bigint; v: string };
        expect({ ...row, c: Number(row.c) }, engine).toEqual({
          model: "claude-fable-5",
          c: 8_660_000_000,
          v: "@pydantic/genai-prices@0.1.8+served:claude-opus-4-8",
        });
      } finally {
        t.cleanup();
      }
    }
  });
});
