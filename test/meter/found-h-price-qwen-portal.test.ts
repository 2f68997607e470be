import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { findTablePrice, QWEN_PORTAL_FREE_VERSION, tableVersionOf } from "../../src/meter/pricing.js";
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

describe("case qwen-portal-oauth-free: the Qwen OAuth portal's free tier costs nothing", () => {
  const at = Date.parse("2026-02-10T14:00:00Z");
  it.each([
    ["qwen-portal", "coder-model"],
    ["qwen-portal", "vision-model"],
    ["qwen-portal", "qwen/qwen3-coder-plus"],
    ["qwen-oauth", "qwen3-coder-plus"],
    [" Qwen-Portal ", "deepseek-chat"],
  ])("%s %s: free, qwen-portal-free", (provider, model) => {
    const r = findTablePrice(provider, model, at);
    expect(r).not.toBeNull();
    if (r === null) return;
    expect([r.input.base, r.cacheRead.base, r.output.base]).toEqual([0n, 0n, 0n]);
    expect(tableVersionOf(r)).toBe(QWEN_PORTAL_FREE_VERSION);
  });

  it("Model Studio's own qwen provider keeps Alibaba's list", () => {
    expect(findTablePrice("qwen", "qwen3-coder-plus", at)?.input.base).toBe(1_000_000n);
  });

  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551403 2 calls $0, no unknown model (not $0.2955)`, async () => {
      const { s, world } = await meterCase("qwen-portal-oauth-free", mode);
      expect(s).toMatchObject({ billed: 2, unknownModels: [] });
      const [u] = queryUsage(world.db, { by: "user" });
      expect(u).toMatchObject({
        key: "telegram:5551403",
        requests: 2,
        costUsd: "0",
        unknownModelRequests: 0,
      });
    });
  }
});
