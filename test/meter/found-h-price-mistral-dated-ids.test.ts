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

describe("case mistral-dated-model-id: Mistral's dated API ids are priced as the model they version", () => {
  const at = Date.parse("2026-10-20T10:00:00Z");
  it.each([
    ["mistral", "pixtral-12b-2409", 150_000n, 150_000n],
    ["mistral", "ministral-3b-2410", 40_000n, 40_000n],
    ["mistral", "open-mistral-nemo-2407", 150_000n, 150_000n],
    ["mistral", "mistral-saba-2502", 200_000n, 600_000n],
    ["mistral", "mistral-small-2501", 100_000n, 300_000n],
    ["mistral", "mistral-small-2503", 100_000n, 300_000n],
    ["litellm", "mistral/pixtral-12b-2409", 150_000n, 150_000n],
    ["my-proxy", "mistral-saba-2502", 200_000n, 600_000n],
    // a dated id the table lists itself keeps its own (another generation, another price)
    ["mistral", "ministral-8b-2512", 150_000n, 150_000n],
  ])("%s %s: input and output at Mistral's price", (provider, model, input, output) => {
    const r = findTablePrice(provider, model, at);
    expect(r?.input.base).toBe(input);
    expect(r?.output.base).toBe(output);
  });

  it("a name without its own undated entry, or another host, stays unknown", () => {
    expect(findTablePrice("mistral", "mistral-small-2409", at)).toBeNull();
    expect(findTablePrice("together", "pixtral-12b-2409", at)).toBeNull();
    expect(findTablePrice("my-proxy", "gpt-4o-2411", at)).toBeNull();
  });

  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551404 3 calls $0.009975, no unknown model (not $1.1775)`, async () => {
      const { s, world } = await meterCase("mistral-dated-model-id", mode);
      expect(s).toMatchObject({ billed: 3, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5551404",
        requests: 3,
        costUsd: "0.009975",
        unknownModelRequests: 0,
      });
    });
  }
});
