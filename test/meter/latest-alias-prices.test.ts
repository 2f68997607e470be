import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
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
