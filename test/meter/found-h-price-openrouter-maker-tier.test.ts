import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findTablePrice, MAKER_TIERS_VERSION, tableVersionOf } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode } from "../../src/meter/types.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** test/cases built from public bug reports of wrong prices (h-price, 2026-12-04). */
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

describe("case openrouter-maker-long-context-tier: a router entry listed flat takes the maker's tier", () => {
  const at = Date.parse("2026-11-20T09:00:00Z");

  it("OpenRouter's Gemini 2.5 Pro / 3.1 Pro take Google's >200K rates where the base is Google's", () => {
    const pro = findTablePrice("openrouter", "google/gemini-2.5-pro", at);
    expect(pro?.input).toEqual({ base: 1_250_000n, tiers: [{ above: 200_000, rate: 2_500_000n }] });
    expect(pro?.output).toEqual({ base: 10_000_000n, tiers: [{ above: 200_000, rate: 15_000_000n }] });
    // OpenRouter's own cache figures (not Google's) stay as listed
    expect(pro?.cacheRead).toEqual({ base: 310_000n, tiers: [] });
    expect(pro?.cacheWrite).toEqual({ base: 1_625_000n, tiers: [] });
    expect(pro && tableVersionOf(pro)).toBe(MAKER_TIERS_VERSION);
    const p31 = findTablePrice("openrouter", "google/gemini-3.1-pro-preview", at);
    expect(p31?.cacheRead).toEqual({ base: 200_000n, tiers: [{ above: 200_000, rate: 400_000n }] });
    expect(p31?.cacheWrite.tiers).toEqual([]);
  });

  it("leaves a router price at another base than the maker's, and a maker without a tier, alone", () => {
    // OpenRouter's deepseek-chat is another upstream's price: nothing borrowed
    const deepseek = findTablePrice("openrouter", "deepseek/deepseek-chat", at);
    expect(deepseek && tableVersionOf(deepseek)).not.toMatch(/maker-tiers/);
    const flash = findTablePrice("openrouter", "google/gemini-2.5-flash", at);
    expect(flash?.input.tiers).toEqual([]);
  });

  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5551311 3 calls $1.186 (not the flat $0.6895)`, async () => {
      const { s, world } = await meterCase("openrouter-maker-long-context-tier", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5551311",
        requests: 3,
        costUsd: "1.186",
        unknownModelRequests: 0,
      });
    });
  }

  it("recorded: pi-ai's flat estimates as written, $0.6895", async () => {
    const { world } = await meterCase("openrouter-maker-long-context-tier", "recorded");
    const [u] = queryUsage(world.db, { by: "user" });
    expect(u).toMatchObject({ key: "telegram:5551311", requests: 3, costUsd: "0.6895" });
  });
});
