import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findPriceCorrection } from "../../src/meter/price-corrections.js";
import { CORRECTED_TABLE_VERSION, createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** test/cases found by the s23 hunt (prompt-length price tiers). */
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

const NOV_2026 = Date.UTC(2026, 10, 26, 9);
const pricer = (mode: CostMode = "calculate") =>
  createPricer({ mode, overrides: parsePriceOverrides({}, "test"), fallback: FALLBACK });
const call = (model: string, over: Partial<ParsedUsage> = {}): ParsedUsage =>
  parsedUsage({ provider: "openrouter", model, api: "openai-completions", messageTsMs: NOV_2026, ...over });
/** USD per 1M tokens (decimal string) → pico-USD per token. */
const r = (usd: string) => BigInt(Math.round(Number(usd) * 1e6));

describe("case openrouter-grok-long-context-tier: Grok 4.20 / 4.3 / Build 0.1 on OpenRouter at 200K+ prompt tokens", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5551201 4 calls $1.08675, not $0.5575`, async () => {
      const { s, world } = await meterCase("openrouter-grok-long-context-tier", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551201",
          requests: 4,
          costUsd: "1.08675",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
  it("recorded: OpenClaw's flat estimates as written, $0.5575", async () => {
    const { world } = await meterCase("openrouter-grok-long-context-tier", "recorded");
    expect(queryUsage(world.db, { by: "user" })).toEqual([
      expect.objectContaining({ key: "telegram:5551201", requests: 4, costUsd: "0.5575" }),
    ]);
  });
});

describe("xAI's ≥200K tier on OpenRouter's Grok entries", () => {
  it.each([
    ["x-ai/grok-4.20", { base: ["1.25", "0.2", "2.5"], tier: ["2.5", "0.4", "5"] }],
    ["x-ai/grok-4.3", { base: ["1.25", "0.2", "2.5"], tier: ["2.5", "0.4", "5"] }],
    ["x-ai/grok-4.3:nitro", { base: ["1.25", "0.2", "2.5"], tier: ["2.5", "0.4", "5"] }],
    ["x-ai/grok-build-0.1", { base: ["1", "0.2", "2"], tier: ["2", "0.4", "4"] }],
  ])("%s: a prompt reaching 200,000 tokens is billed wholly at the tier", (model, t) => {
    const p = pricer();
    const cost = (rates: string[], input: number, cacheRead: number, output: number) =>
      BigInt(input) * r(rates[0] ?? "") +
      BigInt(cacheRead) * r(rates[1] ?? "") +
      BigInt(output) * r(rates[2] ?? "");
    const at = p.price(call(model, { input: 10_000, cacheRead: 190_000, output: 1_000 }));
    expect(at).toMatchObject({ source: "table", unknownModel: false, version: CORRECTED_TABLE_VERSION });
    expect(at.costPicoUsd).toBe(cost(t.tier, 10_000, 190_000, 1_000));
    // one token below the threshold: the base rates
    const below = p.price(call(model, { input: 9_999, cacheRead: 190_000, output: 1_000 }));
    expect(below.costPicoUsd).toBe(cost(t.base, 9_999, 190_000, 1_000));
  });

  it("entries name OpenRouter's own table entries, and xAI's direct entries stay the table's", () => {
    for (const m of ["x-ai/grok-4.20", "x-ai/grok-4.3", "x-ai/grok-build-0.1"]) {
      expect(findPriceCorrection("openrouter", m)?.tier.above).toBe(199_999);
    }
    expect(findPriceCorrection("x-ai", "grok-4.3")).toBeUndefined();
    const direct = pricer().price(
      parsedUsage({
        provider: "xai",
        model: "grok-4.3",
        api: "openai-completions",
        messageTsMs: NOV_2026,
        input: 200_000,
        output: 0,
      }),
    );
    expect(direct.costPicoUsd).toBe(200_000n * r("2.5"));
  });
});

describe("case openai-flex-long-context: a flex call above 272K at half the long-context rates", () => {
  it("auto: telegram:5551301 3 calls $1.6075, not $3.1825", async () => {
    const { s, world } = await meterCase("openai-flex-long-context", "auto");
    expect(s).toMatchObject({ billed: 3, unknownModels: [] });
    expect(queryUsage(world.db, { by: "user" })).toEqual([
      expect.objectContaining({ key: "telegram:5551301", requests: 3, costUsd: "1.6075" }),
    ]);
  });
  it.each([
    ["calculate", "3.215"],
    ["recorded", "0.8275"],
  ] as const)("%s: as before, $%s", async (mode, usd) => {
    const { world } = await meterCase("openai-flex-long-context", mode);
    expect(queryUsage(world.db, { by: "user" })).toEqual([
      expect.objectContaining({ key: "telegram:5551301", requests: 3, costUsd: usd }),
    ]);
  });

  const openai = (model: string, over: Partial<ParsedUsage>) =>
    parsedUsage({ provider: "openai", model, api: "openai-responses", messageTsMs: NOV_2026, ...over });
  it("a flat flex estimate above the threshold is flex; a flat priority estimate there is not read", () => {
    const p = pricer("auto");
    const counts = { input: 300_000, output: 1_000 };
    const flatUsd = 300_000 * 2.5e-6 + 1_000 * 15e-6; // $0.765 at the base rates
    const tiered = 300_000n * r("5") + 1_000n * r("22.5");
    const flex = p.price(openai("gpt-5.4", { ...counts, recordedCostUsd: flatUsd * 0.5 }));
    expect(flex.version).toMatch(/\+service-tier:flex$/);
    expect(flex.costPicoUsd).toBe(tiered / 2n);
    const priority = p.price(openai("gpt-5.4", { ...counts, recordedCostUsd: flatUsd * 2 }));
    expect(priority.version).not.toMatch(/service-tier/);
    expect(priority.costPicoUsd).toBe(tiered);
    // a standard call with no output (every rate it used doubles): its flat estimate is half the
    // tiered list, not a flex call (a reviewer), nor is 2× the tiered list priority (a tester)
    const noOutput = { input: 300_000, output: 0 };
    const noOutputList = 300_000n * r("5");
    for (const usd of [300_000 * 2.5e-6, 300_000 * 5e-6 * 2]) {
      const q = p.price(openai("gpt-5.4", { ...noOutput, recordedCostUsd: usd }));
      expect(q.version).not.toMatch(/service-tier/);
      expect(q.costPicoUsd).toBe(noOutputList);
    }
    // below the threshold nothing changes: flex and priority both read
    const small = { input: 100_000, output: 1_000 };
    const smallUsd = 100_000 * 2.5e-6 + 1_000 * 15e-6;
    const base = 100_000n * r("2.5") + 1_000n * r("15");
    expect(p.price(openai("gpt-5.4", { ...small, recordedCostUsd: smallUsd * 2 })).costPicoUsd).toBe(
      base * 2n,
    );
  });
});
