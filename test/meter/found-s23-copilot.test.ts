import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  clearTablePriceCache,
  createPricer,
  findTablePrice,
  parsePriceOverrides,
} from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** test/cases found by the s23 hunt (GitHub Copilot's per-token billing). */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const pricer = (mode: CostMode = "calculate", overrides: Record<string, unknown> = {}) =>
  createPricer({ mode, overrides: parsePriceOverrides(overrides, "test"), fallback: FALLBACK });

const call = (model: string, iso: string, over: Partial<ParsedUsage> = {}) =>
  parsedUsage({
    provider: "github-copilot",
    model,
    api: model.startsWith("claude") ? "anthropic-messages" : "openai-completions",
    messageTsMs: Date.parse(iso),
    input: 10_000,
    output: 1_000,
    ...over,
  });

describe("case copilot-per-token-billing: Copilot models the table lacks at GitHub's per-token rates", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551404 3 calls $0.095, not $0.522 (2 unknown models)`, async () => {
      w?.cleanup();
      const r = await meterCaseDir(join(CASES, "copilot-per-token-billing"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 3, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551404",
          requests: 3,
          costUsd: "0.095",
          unknownModelRequests: 0,
        }),
      ]);
      const byModel = Object.fromEntries(
        queryUsage(r.world.db, { by: "model" }).map((x) => [x.key, x.costUsd]),
      );
      expect(byModel).toEqual({
        "github-copilot/claude-sonnet-4.6": "0.0585",
        "github-copilot/gemini-3.1-pro-preview": "0.032",
        "github-copilot/gpt-5-mini": "0.0045",
      });
    });
  }
});

describe("Copilot supplement prices: from 2026-06-01, before it unknown as before", () => {
  it("one pricer, calls in every order: Sonnet 4.6 $0.045 from June 1, the fallback before", () => {
    const p = pricer("calculate");
    const seq: [string, string, bigint, boolean][] = [
      ["claude-sonnet-4.6", "2026-11-10T00:00:00Z", 45_000_000_000n, false],
      ["claude-sonnet-4.6", "2026-05-31T23:59:59.999Z", 225_000_000_000n, true],
      ["claude-sonnet-4.6", "2026-06-01T00:00:00Z", 45_000_000_000n, false],
      ["claude-sonnet-4.6", "2026-03-01T00:00:00Z", 225_000_000_000n, true],
      // Opus 4.5 / 4.6: $5 / $25; Sonnet 4 / 4.5: $3 / $15; GPT-5.4 nano $0.20 / $1.25
      ["claude-opus-4.6", "2026-07-01T00:00:00Z", 75_000_000_000n, false],
      ["claude-opus-4.5", "2026-07-01T00:00:00Z", 75_000_000_000n, false],
      ["claude-sonnet-4.5", "2026-07-01T00:00:00Z", 45_000_000_000n, false],
      ["claude-sonnet-4", "2026-07-01T00:00:00Z", 45_000_000_000n, false],
      ["gpt-5.4-nano", "2026-07-01T00:00:00Z", 3_250_000_000n, false],
      ["gemini-3.1-pro-preview", "2026-07-01T00:00:00Z", 32_000_000_000n, false],
    ];
    for (const round of [1, 2]) {
      for (const [model, iso, want, unknown] of seq) {
        const q = p.price(call(model, iso));
        expect(q.costPicoUsd, `${round} ${model} ${iso}`).toBe(want);
        expect(q.unknownModel, `${round} ${model} ${iso}`).toBe(unknown);
      }
    }
  });
  it("the table cache answers both sides of the date", () => {
    clearTablePriceCache();
    expect(
      findTablePrice("github-copilot", "claude-sonnet-4.6", Date.parse("2026-05-01T00:00:00Z")),
    ).toBeNull();
    expect(
      findTablePrice("github-copilot", "claude-sonnet-4.6", Date.parse("2026-06-02T00:00:00Z")),
    ).not.toBeNull();
    expect(
      findTablePrice("github-copilot", "claude-sonnet-4.6", Date.parse("2026-05-01T00:00:00Z")),
    ).toBeNull();
  });
  it("cache reads and writes at Copilot's rates; Gemini 3.1 Pro's tier above 200K; rows say supplement", () => {
    const p = pricer("calculate");
    const sonnet = p.price(
      call("claude-sonnet-4.6", "2026-11-10T00:00:00Z", { cacheRead: 20_000, cacheWrite: 2_000 }),
    );
    expect(sonnet.costPicoUsd).toBe(58_500_000_000n);
    expect(sonnet.version).toMatch(/\+supplement:[0-9a-f]{8}$/);
    const long = p.price(call("gemini-3.1-pro-preview", "2026-11-10T00:00:00Z", { input: 250_000 }));
    expect(long.costPicoUsd).toBe(1_018_000_000_000n); // 250K × $4 + 1K × $18
  });
  it("the table's own Copilot entries and an override keep their prices", () => {
    const p = pricer("calculate", {
      "github-copilot/claude-sonnet-4.6": { input: "1", output: "1", cacheRead: "1", cacheWrite: "1" },
    });
    expect(p.price(call("claude-sonnet-4.6", "2026-11-10T00:00:00Z")).costPicoUsd).toBe(11_000_000_000n);
    expect(p.price(call("claude-opus-4.7", "2026-11-10T00:00:00Z")).costPicoUsd).toBe(75_000_000_000n);
    // GPT-4.1: the table's entry without a token price, GitHub lists none: unknown as before
    expect(p.price(call("gpt-4.1", "2026-11-10T00:00:00Z")).unknownModel).toBe(true);
  });
});
