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

describe("case mistral-api-alias-unknown: Mistral's Devstral / Ministral API names are priced", () => {
  const at = Date.parse("2026-11-18T14:00:00Z");
  it.each([
    ["mistral", "devstral-medium-latest", 400_000n, 2_000_000n],
    ["mistral", "devstral-latest", 400_000n, 2_000_000n],
    ["mistral", "devstral-medium-2507", 400_000n, 2_000_000n],
    ["mistral", "ministral-14b-latest", 200_000n, 200_000n],
    ["mistral", "mistral-small-2506", 100_000n, 300_000n],
    ["litellm", "mistral/devstral-medium-latest", 400_000n, 2_000_000n],
  ])("%s %s: input and output at Mistral's price", (provider, model, input, output) => {
    const r = findTablePrice(provider, model, at);
    expect(r?.input.base).toBe(input);
    expect(r?.output.base).toBe(output);
    expect(r?.cacheRead.base).toBe(input / 10n);
  });

  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551322 4 calls $0.0888, no unknown model (not $3.84 / $1.4904)`, async () => {
      const { s, world } = await meterCase("mistral-api-alias-unknown", mode);
      expect(s).toMatchObject({ billed: 4, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5551322",
        requests: 4,
        costUsd: "0.0888",
        unknownModelRequests: 0,
      });
    });
  }
});
