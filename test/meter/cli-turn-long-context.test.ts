import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cliTurnWithoutLongContext, createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { meterCaseDir, parsedUsage, type TempWorld } from "../support/meter-env.js";

/** A CLI backend's turn sums several requests: no long-context tier of Claude without the 1M option. */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };
const APR_2026 = Date.UTC(2026, 3, 2, 11);

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const pricer = (overrides: Record<string, unknown> = {}) =>
  createPricer({ mode: "calculate", overrides: parsePriceOverrides(overrides, "test"), fallback: FALLBACK });
const call = (provider: string, model: string, over: Partial<ParsedUsage> = {}): ParsedUsage =>
  parsedUsage({ provider, model, api: "cli", messageTsMs: APR_2026, ...over });
/** A turn of a tool loop: 250,000 prompt tokens summed over its requests. */
const TURN = { input: 30, cacheRead: 240_000, cacheWrite: 8_000, output: 2_000 };
/** Sonnet 4.5's base rates (pico-USD per token): $3 / $15 / $0.30 / $3.75 per 1M. */
const SONNET_BASE = 30n * 3_000_000n + 2_000n * 15_000_000n + 240_000n * 300_000n + 8_000n * 3_750_000n;
const SONNET_TIER = 30n * 6_000_000n + 2_000n * 22_500_000n + 240_000n * 600_000n + 8_000n * 7_500_000n;

describe("case claude-cli-turn-sum-long-context: a Claude CLI turn is never priced at a >200K tier by its summed prompt", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const satisfies CostMode[]) {
    it(`${mode}: telegram:5551301 5 calls $0.75228, not $1.11747`, async () => {
      const r = await meterCaseDir(join(CASES, "claude-cli-turn-sum-long-context"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 5, unknownModels: [] });
      expect(queryUsage(r.world.db, { by: "user" })).toEqual([
        expect.objectContaining({
          key: "telegram:5551301",
          requests: 5,
          costUsd: "0.75228",
          unknownModelRequests: 0,
        }),
      ]);
    });
  }
});

describe("cliTurnWithoutLongContext / pricing of a CLI turn", () => {
  it("claude-cli or api cli, a Claude model, no [1m]: base rates, +cli-turn", () => {
    const p = pricer();
    for (const [provider, model, api] of [
      ["claude-cli", "sonnet-4.5", "cli"],
      ["claude-cli", "claude-sonnet-4-5", "cli"],
      ["claude-cli", "claude-sonnet-4-5-20250929", "anthropic-messages"],
      ["Claude-CLI ", "Sonnet-4.5", null],
      ["my-claude", "claude-sonnet-4-5", "cli"],
    ] as const) {
      const q = p.price(call(provider, model, { api, ...TURN }));
      expect(q.costPicoUsd, `${provider}/${model}`).toBe(SONNET_BASE);
      expect(q.version).toMatch(/\+cli-turn$/);
    }
  });

  it("the 1M option, a single API request, or a non-Claude CLI keeps the tier", () => {
    const p = pricer();
    expect(p.price(call("claude-cli", "sonnet-4.5[1m]", TURN)).costPicoUsd).toBe(SONNET_TIER);
    expect(p.price(call("claude-cli", "claude-sonnet-4-5[1M]", TURN)).costPicoUsd).toBe(SONNET_TIER);
    expect(
      p.price(call("anthropic", "claude-sonnet-4-5", { api: "anthropic-messages", ...TURN })).costPicoUsd,
    ).toBe(SONNET_TIER);
    expect(cliTurnWithoutLongContext(call("codex-cli", "gpt-5.4"), "gpt-5.4")).toBe(false);
    expect(
      cliTurnWithoutLongContext(
        call("google-gemini-cli", "gemini-2.5-pro", { api: "cli" }),
        "gemini-2.5-pro",
      ),
    ).toBe(false);
    expect(
      cliTurnWithoutLongContext(
        call("anthropic", "claude-sonnet-4-5", { api: "anthropic-messages" }),
        "claude-sonnet-4-5",
      ),
    ).toBe(false);
  });

  it("a tier below Claude's 200K window (Haiku 5.5's >100K) is kept: some request may have passed it", () => {
    const p = pricer();
    const turn = { input: 40_001, cacheRead: 160_000, output: 1_000 };
    const cli = p.price(call("claude-cli", "haiku-5.5", turn));
    expect(cli.costPicoUsd).toBe(
      p.price(call("anthropic", "claude-haiku-5-5", { api: "anthropic-messages", ...turn })).costPicoUsd,
    );
    expect(cli.version).not.toMatch(/cli-turn/);
  });

  it("below the threshold nothing changes (no +cli-turn); an override's tiers are read the same way", () => {
    const p = pricer({
      "claude-cli/*": {
        input: "3",
        output: "15",
        cacheRead: "0.3",
        cacheWrite: "3.75",
        tiers: [
          { aboveInputTokens: 200000, input: "6", output: "22.5", cacheRead: "0.6", cacheWrite: "7.5" },
        ],
      },
    });
    const small = p.price(call("claude-cli", "sonnet-4.5", { input: 30, cacheRead: 40_000, output: 100 }));
    expect(small.version).not.toMatch(/cli-turn/);
    const q = p.price(call("claude-cli", "sonnet-4.5", TURN));
    expect(q).toMatchObject({ source: "override", costPicoUsd: SONNET_BASE });
    expect(q.version).toMatch(/\+cli-turn$/);
  });
});
