// What a tester found in fa80e9d (OpenAI fine-tunes): a fine-tune's estimate at its base model's
// price was read as OpenAI's flex tier (probe of branch test-prices, 9bf4523).
import { describe, expect, it } from "vitest";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import type { CostMode } from "../../src/meter/types.js";
import { parsedUsage } from "../support/meter-env.js";

const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };
const t = (iso: string) => Date.parse(iso);
const pricer = (mode: CostMode = "calculate") =>
  createPricer({ mode, overrides: parsePriceOverrides({}, "t"), fallback: FALLBACK });
const usd = (s: string) => BigInt(Math.round(Number(s) * 1e6)) * 1_000_000n;

describe("OpenAI fine-tunes (fa80e9d)", () => {
  const ft = (model: string, recordedCostUsd: number) =>
    parsedUsage({
      provider: "openai",
      model,
      api: "openai-responses",
      input: 1_000_000,
      cacheRead: 2_000_000,
      output: 3_000_000,
      recordedCostUsd,
      messageTsMs: t("2026-05-04T10:00:00Z"),
    });
  it("auto: a fine-tune whose recorded estimate is at its BASE model's price is not a flex call", () => {
    // ft:gpt-4.1-mini list $0.80 / $0.20 / $3.20; base gpt-4.1-mini $0.40 / $0.10 / $1.60: exactly half.
    const q = pricer("auto").price(ft("ft:gpt-4.1-mini-2025-04-14:acme::x", 0.4 + 0.2 + 4.8));
    expect(q.version).not.toMatch(/service-tier:flex/);
    expect(q.costPicoUsd).toBe(10_800_000_000_000n); // $10.80: OpenAI has no flex tier for fine-tuned models
  });
  it("auto: no tier at all for a fine-tune (nano, 4o mini, checkpoints; an estimate at 2× is no priority call)", () => {
    const cases: [string, number, string][] = [
      ["ft:gpt-4.1-nano-2025-04-14:acme::x", 1.35, "2.7"],
      ["ft:gpt-4o-mini-2024-07-18:acme:bot:x", 2.1, "4.2"],
      ["FT:gpt-4.1-mini-2025-04-14:acme::x:ckpt-step-100", 5.4, "10.8"],
      ["ft:gpt-4.1-mini-2025-04-14:acme::x", 21.6, "10.8"],
    ];
    for (const [model, est, want] of cases) {
      const q = pricer("auto").price(ft(model, est));
      expect(q.version, model).not.toContain("service-tier");
      expect(q.costPicoUsd, model).toBe(usd(want));
    }
  });
  it("auto: a base model's flex estimate is still read as flex", () => {
    // gpt-4.1-mini list $0.40 / $0.10 / $1.60: $5.40; OpenClaw's flex estimate half that
    const q = pricer("auto").price(ft("gpt-4.1-mini-2025-04-14", 2.7));
    expect(q.version).toContain("+service-tier:flex");
    expect(q.costPicoUsd).toBe(usd("2.7"));
  });
});
