import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** Alibaba Cloud Model Studio (OpenClaw's `qwen` provider): Qwen models at Alibaba's international list. */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const pricer = (mode: CostMode = "calculate") =>
  createPricer({ mode, overrides: parsePriceOverrides({}, "test"), fallback: FALLBACK });
const AT = Date.parse("2026-11-20T12:00:00Z");
const cost = (provider: string, model: string, over: Partial<ParsedUsage>) =>
  pricer().price(parsedUsage({ provider, model, api: "openai-completions", messageTsMs: AT, ...over }));
/** USD per 1M × tokens, in pico-USD. */
const pico = (usdPerM: string, tokens: number) =>
  (BigInt(Math.round(Number(usdPerM) * 1_000_000)) * BigInt(tokens) * 1_000_000n) / 1_000_000n;

describe("case qwen-model-studio-priced: Qwen on Model Studio at Alibaba's prices, not the fallback", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551419 4 calls $0.1752, not $1.845`, async () => {
      const r = await meterCaseDir(join(CASES, "qwen-model-studio-priced"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551419",
          requests: 4,
          costUsd: "0.1752",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
});

describe("case qwen-provider-vendor-prefix-kept: a vendor's price on the qwen provider still holds", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5551420 2 calls $0.01515 (zai/glm-4.6 at Z.ai's price), not $0.2389`, async () => {
      const r = await meterCaseDir(join(CASES, "qwen-provider-vendor-prefix-kept"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 2, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551420",
          requests: 2,
          costUsd: "0.01515",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }

  it.each(["qwen", "modelstudio", "dashscope", "qwencloud", "alibaba"])(
    "%s: a supplement-priced vendor/model keeps the vendor's price",
    (p) => {
      expect(cost(p, "zai/glm-4.6", { input: 10_000, cacheRead: 5_000, output: 1_000 })).toMatchObject({
        costPicoUsd: pico("0.6", 10_000) + pico("0.11", 5_000) + pico("2.2", 1_000),
        unknownModel: false,
      });
    },
  );
});

describe("price supplement: Alibaba Cloud Model Studio", () => {
  it.each([
    ["qwen", "qwen3.5-plus"],
    ["modelstudio", "qwen3.5-plus"],
    ["dashscope", " Qwen3.5-Plus "],
    ["qwencloud", "qwen3.5-plus-2026-02-15"],
    ["litellm", "dashscope/qwen3.5-plus"],
    ["litellm", "qwen/qwen3.5-plus"],
    ["openrouter", "qwen/qwen3.5-plus"],
  ])("%s/%s: $0.40 / $0.08 cached / $2.40, write $0.50 per 1M up to 256K", (p, m) => {
    const q = cost(p, m, { input: 100_000, cacheRead: 100_000, cacheWrite: 10_000, output: 10_000 });
    expect(q).toMatchObject({
      costPicoUsd: pico("0.4", 100_000) + pico("0.08", 100_000) + pico("0.5", 10_000) + pico("2.4", 10_000),
      unknownModel: false,
    });
    expect(q.version).toMatch(/\+supplement:[0-9a-f]{8}$/);
  });

  it("qwen3-max: the tier of the whole prompt (input + cache), K = 1,024", () => {
    const m = "qwen3-max-2026-01-23";
    expect(cost("qwen", m, { input: 32_768, output: 1_000 }).costPicoUsd).toBe(
      pico("1.2", 32_768) + pico("6", 1_000),
    );
    expect(cost("qwen", m, { input: 768, cacheRead: 32_001, output: 1_000 }).costPicoUsd).toBe(
      pico("2.4", 768) + pico("0.48", 32_001) + pico("12", 1_000),
    );
    expect(cost("qwen", m, { input: 131_073, output: 1_000 }).costPicoUsd).toBe(
      pico("3", 131_073) + pico("15", 1_000),
    );
  });

  it.each([
    ["qwen3.6-plus", 262_144, ["0.5", "3"]],
    ["qwen3.6-plus", 262_145, ["2", "6"]],
    ["qwen3-coder-plus", 10_000, ["1", "5"]],
    ["qwen3-coder-plus", 300_000, ["6", "60"]],
    ["qwen3-coder-flash", 40_000, ["0.5", "2.5"]],
    ["qwen-plus", 10_000, ["0.4", "1.2"]],
    ["qwen-plus-latest", 300_000, ["1.2", "3.6"]],
    ["qwen-flash", 10_000, ["0.05", "0.4"]],
    ["qwen-flash", 300_000, ["0.25", "2"]],
    ["qwen3.5-flash", 10_000, ["0.1", "0.4"]],
    ["qwen-turbo", 10_000, ["0.05", "0.2"]],
    ["qwen-max", 10_000, ["1.6", "6.4"]],
  ] as const)("qwen/%s, %i input tokens: input / output %j per 1M", (m, input, [i, o]) => {
    expect(cost("qwen", m, { input, output: 1_000 }).costPicoUsd).toBe(pico(i, input) + pico(o, 1_000));
  });

  it("what the table already prices keeps its price (OpenRouter's own Qwen listings)", () => {
    // OpenRouter's qwen/qwen3.6-plus: $0.325 / $1.95 (0.65× Alibaba's list)
    expect(cost("openrouter", "qwen/qwen3.6-plus", { input: 10_000, output: 1_000 }).costPicoUsd).toBe(
      pico("0.325", 10_000) + pico("1.95", 1_000),
    );
  });

  it("not on a host that runs the open weights, nor on the free Qwen OAuth portal", () => {
    expect(cost("together", "qwen/qwen3.5-plus", { input: 1_000, output: 100 }).unknownModel).toBe(true);
    // the portal's free tier costs nothing (case qwen-portal-oauth-free; before 2026-12-04 unknown)
    const portal = cost("qwen-portal", "qwen3.5-plus", { input: 1_000, output: 100 });
    expect(portal).toMatchObject({ unknownModel: false, costPicoUsd: 0n });
    expect(cost("qwen", "qwen3-coder-next", { input: 1_000, output: 100 }).unknownModel).toBe(true);
  });
});
