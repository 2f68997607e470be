import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { parseLine } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** A maker's `-latest` alias is priced as the model it named at the call's time, not the fallback. */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("case gemini-latest-alias: Gemini's -latest aliases at the model each named then", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551912 4 calls $0.1518, not $2.625 at the fallback`, async () => {
      const r = await meterCaseDir(join(CASES, "gemini-latest-alias"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551912",
          requests: 4,
          costUsd: "0.1518",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
});

describe("Gemini -latest aliases by era", () => {
  const pricer = createPricer({
    mode: "calculate",
    overrides: parsePriceOverrides({}, "test"),
    fallback: FALLBACK,
  });
  const at = (iso: string) => Date.parse(iso);
  const call = (provider: string, model: string, atMs: number, over: Partial<ParsedUsage> = {}) =>
    parsedUsage({
      provider,
      model,
      api: "google-generative-ai",
      messageTsMs: atMs,
      input: 1_000_000,
      output: 100_000,
      cacheRead: 0,
      cacheWrite: 0,
      ...over,
    });
  const usd = (n: string) => BigInt(Math.round(Number(n) * 1e6)) * 1_000_000n;

  it.each([
    // 1M in + 100K out (a prompt above 200K: the Pro models' long-context tier)
    ["google", "gemini-flash-latest", "2025-10-01", "0.55"], // 2.5 Flash preview $0.30 / $2.50
    ["google", "gemini-flash-latest", "2026-01-20T23:59:59Z", "0.55"],
    ["google", "gemini-flash-latest", "2026-01-21", "0.8"], // 3 Flash preview $0.50 / $3
    ["google", "gemini-flash-latest", "2026-05-19", "2.4"], // 3.5 Flash $1.50 / $9
    ["google", "gemini-flash-latest", "2026-11-30", "2.4"],
    ["google", "Gemini-Flash-Latest", "2026-11-30", "2.4"],
    ["google-vertex", "gemini-flash-latest", "2026-11-30", "2.4"],
    ["litellm", "gemini/gemini-flash-latest", "2026-11-30", "2.4"],
    ["my-proxy", "gemini-flash-latest", "2026-11-30", "2.4"],
    ["google", "gemini-flash-lite-latest", "2026-03-01", "0.14"], // 2.5 Flash-Lite $0.10 / $0.40
    ["google", "gemini-pro-latest", "2025-12-01", "4"], // 2.5 Pro > 200K: $2.50 / $15
    ["google", "gemini-pro-latest", "2026-02-01", "5.8"], // 3 Pro preview > 200K: $4 / $18
  ])("%s %s at %s: $%s", (provider, model, when, cost) => {
    const q = pricer.price(call(provider, model, at(when)));
    expect(q).toMatchObject({ source: "table", unknownModel: false });
    expect(q.costPicoUsd).toBe(usd(cost));
  });
});

describe("case gemini-flex-traffic-type: a Gemini / Vertex flex call is billed at Google's flex price", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5551913 4 calls $0.3935, not $0.7645 at the standard price`, async () => {
      const r = await meterCaseDir(join(CASES, "gemini-flex-traffic-type"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551913", requests: 4, costUsd: "0.3935" }),
      ]);
      const byModel = Object.fromEntries(
        queryUsage(r.world.db, { by: "model" }).map((x) => [x.key, x.costUsd]),
      );
      expect(byModel).toEqual({
        "google-vertex/gemini-2.5-flash": "0.0275",
        "google/gemini-3-flash-preview": "0.016",
        "google/gemini-2.5-pro": "0.0225",
        "google-vertex/gemini-2.5-pro": "0.3275",
      });
    });
  }
});

describe("Google service tiers", () => {
  const pricer = createPricer({
    mode: "calculate",
    overrides: parsePriceOverrides({}, "test"),
    fallback: FALLBACK,
  });
  const SEP = Date.parse("2026-09-20T12:00:00Z");
  const call = (provider: string, model: string, over: Partial<ParsedUsage> = {}) =>
    parsedUsage({
      provider,
      model,
      api: "google-generative-ai",
      messageTsMs: SEP,
      input: 100_000,
      output: 10_000,
      ...over,
    });
  const STANDARD = 55_000_000_000n; // gemini-2.5-flash: 100K × $0.30 + 10K × $2.50 per 1M = $0.055

  it.each([
    ["flex", STANDARD / 2n, "+service-tier:flex"],
    ["batch", STANDARD / 2n, "+service-tier:batch"],
    // Google's priority multiple is by model (1.75× to 2×) and not known here: the standard price
    ["priority", STANDARD, ""],
    ["standard", STANDARD, ""],
  ] as const)("google gemini-2.5-flash %s", (tier, want, tag) => {
    const q = pricer.price(call("google", "gemini-2.5-flash", { serviceTier: tier }));
    expect(q.costPicoUsd).toBe(want);
    expect(q.version.endsWith(tag)).toBe(true);
  });

  it("trafficType is read as the tier, in the usage or beside it, any case; a stated service tier wins", () => {
    const line = (usage: Record<string, unknown>, msg: Record<string, unknown> = {}) =>
      JSON.stringify({
        type: "message",
        timestamp: "2026-09-20T09:00:01.000Z",
        message: {
          role: "assistant",
          api: "google-vertex",
          provider: "google-vertex",
          model: "gemini-2.5-flash",
          usage: { input: 100, output: 10, cacheRead: 0, cacheWrite: 0, totalTokens: 110, ...usage },
          stopReason: "stop",
          timestamp: 1789894800000,
          ...msg,
        },
      });
    const tierOf = (usage: Record<string, unknown>, msg?: Record<string, unknown>) => {
      const r = parseLine(line(usage, msg));
      if (r.kind !== "usage") throw new Error(r.kind);
      return r.usage.serviceTier;
    };
    expect(tierOf({ trafficType: "ON_DEMAND_FLEX" })).toBe("flex");
    expect(tierOf({ traffic_type: "on_demand_flex" })).toBe("flex");
    expect(tierOf({}, { trafficType: "ON_DEMAND_FLEX" })).toBe("flex");
    expect(tierOf({ trafficType: "ON_DEMAND_PRIORITY" })).toBe("priority");
    expect(tierOf({ trafficType: "ON_DEMAND" })).toBe("standard");
    expect(tierOf({ trafficType: "PROVISIONED_THROUGHPUT" })).toBeUndefined();
    expect(tierOf({ trafficType: "ON_DEMAND_FLEX", service_tier: "standard" })).toBe("standard");
  });

  it("the plugin's push carries the same tier", () => {
    const msg = (usage: Record<string, unknown>) =>
      pluginUsageEvent(
        {
          role: "assistant",
          api: "google-vertex",
          provider: "google-vertex",
          model: "gemini-2.5-flash",
          usage: { input: 100, output: 10, cacheRead: 0, cacheWrite: 0, totalTokens: 110, ...usage },
          timestamp: 1789894800000,
        } as never,
        { sessionKey: "agent:main:telegram:direct:5551913" },
      );
    expect(msg({ trafficType: "ON_DEMAND_FLEX" })?.serviceTier).toBe("flex");
    expect(msg({ trafficType: "ON_DEMAND_FLEX", serviceTier: "standard" })?.serviceTier).toBeUndefined();
    expect(msg({ trafficType: "ON_DEMAND" })?.serviceTier).toBeUndefined();
  });
});

describe("case fast-mode-model-id: a -fast model id is the model at its fast tier", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551914 4 calls $3.725, not $4.675`, async () => {
      const r = await meterCaseDir(join(CASES, "fast-mode-model-id"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, unknownModels: [] });
      const byModel = Object.fromEntries(
        queryUsage(r.world.db, { by: "model" }).map((x) => [x.key, x.costUsd]),
      );
      expect(byModel).toEqual({
        "anthropic/claude-opus-4-6-fast": "0.9",
        "openai/gpt-5.5-fast": "2",
        "openai-codex/gpt-5.4-fast": "0.8",
        "xai/grok-4-fast": "0.025",
      });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551914",
          requests: 4,
          costUsd: "3.725",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  const pricer = createPricer({
    mode: "calculate",
    overrides: parsePriceOverrides({}, "test"),
    fallback: FALLBACK,
  });
  const SEP = Date.parse("2026-09-20T12:00:00Z");
  const call = (provider: string, model: string, over: Partial<ParsedUsage> = {}) =>
    parsedUsage({
      provider,
      model,
      api: "openai-responses",
      messageTsMs: SEP,
      input: 100_000,
      output: 10_000,
      ...over,
    });
  it.each([
    ["openai", "gpt-5.4-mini-fast", 240_000_000_000n, "+service-tier:priority"], // 2 × ($0.75 × 0.1 + $4.50 × 0.01)
    ["azure", "gpt-5.4-fast", 800_000_000_000n, "+service-tier:priority"],
    ["openai", "GPT-5.5-Fast", 2_000_000_000_000n, "+service-tier:priority"],
  ] as const)("%s %s", (provider, model, want, tag) => {
    const q = pricer.price(call(provider, model));
    expect(q).toMatchObject({ source: "table", unknownModel: false, costPicoUsd: want });
    expect(q.version.endsWith(tag)).toBe(true);
  });
  it("a stated flex tier is kept; an override of the -fast id wins; an id the table has is its own model", () => {
    expect(pricer.price(call("openai", "gpt-5.4-fast", { serviceTier: "flex" })).costPicoUsd).toBe(
      200_000_000_000n,
    );
    const own = createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides(
        { "openai/gpt-5.5-fast": { input: "1", output: "1", cacheRead: "0.1", cacheWrite: "1" } },
        "test",
      ),
      fallback: FALLBACK,
    });
    expect(own.price(call("openai", "gpt-5.5-fast")).costPicoUsd).toBe(110_000_000_000n);
    // xAI's grok-4-fast / grok-code-fast-1 are models of their own, not grok-4 at a tier
    expect(pricer.price(call("xai", "grok-4-fast")).costPicoUsd).toBe(25_000_000_000n);
    // a Claude model without fast mode is its base at the standard price
    expect(pricer.price(call("anthropic", "claude-sonnet-4-5-fast")).costPicoUsd).toBe(450_000_000_000n);
  });
});

describe("case dated-alias-resource-name: a dated alias written as a resource name is dated too", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551931 4 calls $0.1518, not the fallback`, async () => {
      const r = await meterCaseDir(join(CASES, "dated-alias-resource-name"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551931",
          requests: 4,
          costUsd: "0.1518",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  const pricer = createPricer({
    mode: "calculate",
    overrides: parsePriceOverrides({}, "test"),
    fallback: FALLBACK,
  });
  const price = (provider: string, model: string, iso: string) =>
    pricer.price(
      parsedUsage({
        provider,
        model,
        api: "google-generative-ai",
        messageTsMs: Date.parse(iso),
        input: 1_000_000,
        output: 0,
        cacheRead: 0,
        cacheWrite: 0,
      }),
    );
  it.each([
    // the same era as the bare alias, on both sides of each move (the cache keeps them apart)
    ["google", "models/gemini-flash-latest", "2026-01-20T23:59:59.999Z", "gemini-flash-latest"],
    ["google", "models/gemini-flash-latest", "2026-01-21T00:00:00.000Z", "gemini-flash-latest"],
    ["google", "models/gemini-flash-latest", "2026-05-19T00:00:00.000Z", "gemini-flash-latest"],
    [
      "google-vertex",
      "publishers/google/models/gemini-pro-latest",
      "2025-12-01T00:00:00Z",
      "gemini-pro-latest",
    ],
    [
      "google-vertex",
      "publishers/google/models/gemini-pro-latest",
      "2026-02-01T00:00:00Z",
      "gemini-pro-latest",
    ],
  ] as const)("%s %s at %s = %s", (provider, model, iso, bare) => {
    const q = price(provider, model, iso);
    expect(q.unknownModel).toBe(false);
    expect(q.costPicoUsd).toBe(price(provider, bare, iso).costPicoUsd);
  });
});
