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

describe("case cloudflare-gateway-provider-slugs: Cloudflare AI Gateway's provider prefixes are read", () => {
  const at = Date.parse("2026-11-22T10:00:00Z");
  it("prices workers-ai/, grok/ and perplexity-ai/ ids as the bare ids on their providers", () => {
    const pairs: [string, string, string][] = [
      ["workers-ai/@cf/moonshotai/kimi-k2.6", "cloudflare-workers-ai", "@cf/moonshotai/kimi-k2.6"],
      ["grok/grok-4", "xai", "grok-4"],
      ["perplexity-ai/sonar", "perplexity", "sonar"],
    ];
    for (const [id, provider, bare] of pairs) {
      const via = findTablePrice("cloudflare-ai-gateway", id, at);
      expect(via, id).not.toBeNull();
      expect(via).toEqual(findTablePrice(provider, bare, at));
    }
  });

  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551333 2 calls $0.189, no unknown model (not $2.025)`, async () => {
      const { s, world } = await meterCase("cloudflare-gateway-provider-slugs", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5551333",
        requests: 2,
        costUsd: "0.189",
        unknownModelRequests: 0,
      });
    });
  }
});
