import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findTablePrice } from "../../src/meter/pricing.js";
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

describe("case deepseek-v3-2-cache-hit-price: V3.2 by its own name at DeepSeek's price, cache hits at $0.028", () => {
  const at = Date.parse("2025-12-10T15:00:00Z");
  it.each([
    ["deepseek", "deepseek-v3.2"],
    ["deepseek", "deepseek-v3.2-exp"],
    ["deepseek", "deepseek-v3.2-speciale"],
    ["deepseek", "deepseek/deepseek-v3.2"],
    ["litellm", "deepseek/deepseek-v3.2"],
    ["my-proxy", "deepseek-v3.2-exp"],
  ])("%s %s: $0.28 / $0.028 / $0.42", (provider, model) => {
    const r = findTablePrice(provider, model, at);
    expect(r?.input.base).toBe(280_000n);
    expect(r?.cacheRead.base).toBe(28_000n);
    expect(r?.output.base).toBe(420_000n);
  });

  it("OpenRouter's deepseek/deepseek-v3.2 keeps its own listing", () => {
    expect(findTablePrice("openrouter", "deepseek/deepseek-v3.2", at)?.output.base).toBe(343_200n);
  });

  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551402 2 calls $0.01302, not $0.0374764`, async () => {
      const { s, world } = await meterCase("deepseek-v3-2-cache-hit-price", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5551402",
        requests: 2,
        costUsd: "0.01302",
        unknownModelRequests: 0,
      });
    });
  }
});

describe("case azure-foundry-deepseek-price: DeepSeek V3.2 on Microsoft Foundry at Foundry's price", () => {
  const at = Date.parse("2026-01-20T12:00:00Z");
  it.each([
    ["azure", "deepseek-v3.2"],
    ["microsoft-foundry", "DeepSeek-V3.2"],
    ["azure", "DeepSeek-V3.2-Speciale"],
  ])("%s %s: $0.58 / $1.68, no cache discount", (provider, model) => {
    const r = findTablePrice(provider, model, at);
    expect(r?.input.base).toBe(580_000n);
    expect(r?.cacheRead.base).toBe(580_000n);
    expect(r?.output.base).toBe(1_680_000n);
  });

  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551405 1 call $0.03572, not OpenRouter's listing $0.0128128`, async () => {
      const { s, world } = await meterCase("azure-foundry-deepseek-price", mode);
      expect(s).toMatchObject({ billed: 1, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({ key: "telegram:5551405", requests: 1, costUsd: "0.03572" });
    });
  }
});
