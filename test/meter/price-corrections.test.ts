import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findProvider } from "@pydantic/genai-prices";
import { afterEach, describe, expect, it } from "vitest";
import {
  applyPriceCorrection,
  CORRECTIONS_VERSION,
  findPriceCorrection,
  PRICE_CORRECTIONS,
} from "../../src/meter/price-corrections.js";
import {
  CORRECTED_TABLE_VERSION,
  createPricer,
  findTablePriceUncachedRates,
  parsePriceOverrides,
  TABLE_VERSION,
} from "../../src/meter/pricing.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { runCli } from "../support/cli.js";
import { parsedUsage } from "../support/meter-env.js";

const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };
const NOV_2026 = Date.UTC(2026, 10, 22, 18);

const usage = (over: Partial<ParsedUsage> = {}): ParsedUsage =>
  parsedUsage({
    provider: "anthropic",
    model: "claude-sonnet-4-20250514",
    api: "anthropic-messages",
    messageTsMs: NOV_2026,
    ...over,
  });

function pricer(mode: CostMode = "calculate", overrides = parsePriceOverrides({}, "none")) {
  return createPricer({ mode, overrides, fallback: FALLBACK });
}

/** USD per 1M tokens → micro-USD per 1M tokens (= pico-USD per token). */
const m = (usd: number) => BigInt(Math.round(usd * 1e6));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * The tester's case (hunt/found/sonnet-4-long-context-tier): one Telegram DM on
 * anthropic/claude-sonnet-4-20250514, a small call and one of 245,010 input tokens (10 uncached
 * + 240,000 cache reads + 5,000 cache writes). Written here verbatim, into a temp state dir.
 */
function sonnet4LongContextCase(): string {
  const dir = mkdtempSync(join(tmpdir(), "cg-corrections-"));
  dirs.push(dir);
  const sessions = join(dir, "state", "agents", "main", "sessions");
  mkdirSync(sessions, { recursive: true });
  const id = "55555555-5555-4555-8555-555555555555";
  const call = (n: number, ts: number, usage: Record<string, unknown>) => [
    {
      type: "message",
      id: `u000000${n}`,
      parentId: null,
      timestamp: new Date(ts - 2000).toISOString(),
      message: { role: "user", content: [{ type: "text", text: "hi" }], timestamp: ts - 2000 },
    },
    {
      type: "message",
      id: `a000000${n}`,
      parentId: `u000000${n}`,
      timestamp: new Date(ts + 1500).toISOString(),
      message: {
        role: "assistant",
        content: [{ type: "text", text: "ok" }],
        api: "anthropic-messages",
        provider: "anthropic",
        model: "claude-sonnet-4-20250514",
        usage,
        stopReason: "stop",
        timestamp: ts,
      },
    },
  ];
  const lines = [
    {
      type: "session",
      version: 3,
      id,
      timestamp: "2026-11-22T18:11:35.000Z",
      cwd: "/home/bot/workspace-main",
    },
    ...call(1, 1795371100000, {
      input: 1000,
      output: 100,
      cacheRead: 0,
      cacheWrite: 0,
      totalTokens: 1100,
      cost: { input: 0.003, output: 0.0015, cacheRead: 0, cacheWrite: 0, total: 0.0045 },
    }),
    ...call(2, 1795371200000, {
      input: 10,
      output: 1000,
      cacheRead: 240000,
      cacheWrite: 5000,
      totalTokens: 246010,
      cost: { input: 3e-5, output: 0.015, cacheRead: 0.072, cacheWrite: 0.01875, total: 0.10578 },
    }),
  ];
  writeFileSync(join(sessions, `${id}.jsonl`), `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`);
  writeFileSync(
    join(sessions, "sessions.json"),
    JSON.stringify({
      "agent:main:telegram:direct:5550101": {
        sessionId: id,
        updatedAt: 1795371200000,
        chatType: "direct",
        lastChannel: "telegram",
        lastTo: "telegram:5550101",
      },
    }),
  );
  return dir;
}

/** `creditgate <args>` in-process (`runCli`): its stdout, or a throw naming what failed. */
async function cli(env: Record<string, string>, args: string[]): Promise<string> {
  const r = await runCli({ CREDITGATE_LOG_LEVEL: "silent", ...env }, args);
  if (r.error) throw new Error(`creditgate ${args.join(" ")} failed: ${r.error.message} ${r.err}`);
  return r.out;
}

describe("price corrections: long-context tiers the bundled table lacks", () => {
  for (const mode of ["auto", "calculate"] as const) {
    it(`case sonnet-4-long-context-tier (${mode}, real CLI): telegram:5550101 owes $0.20856, not $0.11028`, async () => {
      const dir = sonnet4LongContextCase();
      const db = join(dir, "cg.sqlite");
      const env = { CREDITGATE_COST_MODE: mode };
      const metered = JSON.parse(
        await cli(env, ["meter", "--once", "--state-dir", join(dir, "state"), "--db", db, "--json"]),
      ) as { billed: number; chargedMicroCredits: string; unknownModels: unknown[] };
      expect(metered).toMatchObject({ billed: 2, chargedMicroCredits: "208560", unknownModels: [] });
      const report = JSON.parse(await cli(env, ["usage", "--by", "user", "--json", "--db", db])) as {
        key: string;
        requests: number;
        costUsd: string;
      }[];
      expect(report).toEqual([
        expect.objectContaining({ key: "telegram:5550101", requests: 2, costUsd: "0.20856" }),
      ]);
    });
  }

  it("prices the case's calls: $0.0045 below the threshold, $0.20406 above it, both marked corrected", () => {
    const p = pricer("auto");
    const small = p.price(usage({ input: 1000, output: 100 }));
    const long = p.price(usage({ input: 10, output: 1000, cacheRead: 240_000, cacheWrite: 5_000 }));
    expect(small).toMatchObject({
      costPicoUsd: 4_500_000_000n,
      source: "table",
      version: CORRECTED_TABLE_VERSION,
    });
    // 10 × $6 + 240,000 × $0.60 + 5,000 × $7.50 + 1,000 × $22.50, per 1M tokens
    expect(long).toMatchObject({
      costPicoUsd: 204_060_000_000n,
      source: "table",
      version: CORRECTED_TABLE_VERSION,
    });
  });

  it("stays at the base rate at exactly 200,000 total input tokens and moves to the tier at 200,001", () => {
    const p = pricer();
    const at = usage({ input: 100_000, cacheRead: 90_000, cacheWrite: 10_000, output: 1_000 });
    const above = { ...at, input: 100_001 };
    expect(p.price(at).costPicoUsd).toBe(
      100_000n * m(3) + 90_000n * m(0.3) + 10_000n * m(3.75) + 1_000n * m(15),
    );
    expect(p.price(above).costPicoUsd).toBe(
      100_001n * m(6) + 90_000n * m(0.6) + 10_000n * m(7.5) + 1_000n * m(22.5),
    );
  });

  it("prices 1-hour cache writes above 200k at $12 (2 × the long-context input rate)", () => {
    const q = pricer().price(usage({ input: 200_000, cacheWrite: 1_000, cacheWrite1h: 1_000 }));
    expect(q.costPicoUsd).toBe(200_000n * m(6) + 1_000n * m(12));
  });

  it.each([
    ["anthropic", "claude-sonnet-4-20250514"],
    ["anthropic", "claude-sonnet-4-0"],
    ["anthropic", "claude-sonnet-4"],
    ["opencode", "claude-sonnet-4-20250514"], // a custom proxy: the package's model-name match
  ])("corrects every spelling the table maps to Sonnet 4's entry: %s/%s", (provider, model) => {
    const q = pricer().price(usage({ provider, model, input: 250_000, output: 1_000 }));
    expect(q).toMatchObject({
      costPicoUsd: 250_000n * m(6) + 1_000n * m(22.5),
      version: CORRECTED_TABLE_VERSION,
    });
  });

  it("leaves a model the bundled table already tiers unchanged (claude-sonnet-4-5), with the plain table version", () => {
    const u = usage({
      model: "claude-sonnet-4-5-20250929",
      input: 10,
      output: 1000,
      cacheRead: 240_000,
      cacheWrite: 5_000,
    });
    expect(pricer().price(u)).toMatchObject({ costPicoUsd: 204_060_000_000n, version: TABLE_VERSION });
    const tiered = findTablePriceUncachedRates("anthropic", "claude-sonnet-4-5", NOV_2026);
    const sonnet4 = PRICE_CORRECTIONS.find((c) => c.model === "claude-sonnet-4-0");
    expect(tiered && sonnet4 && applyPriceCorrection(tiered, sonnet4)).toBeNull();
  });

  it("never touches a model it does not name (gpt-4o, gemini-2.5-flash keep the plain table version)", () => {
    const p = pricer();
    expect(p.price(usage({ provider: "openai", model: "gpt-4o", input: 300_000 })).version).toBe(
      TABLE_VERSION,
    );
    expect(p.price(usage({ provider: "google", model: "gemini-2.5-flash", input: 300_000 })).version).toBe(
      TABLE_VERSION,
    );
  });

  it("adds a tier only to the prices the table has flat; a price the table tiers keeps the table's tier", () => {
    const c = findPriceCorrection("anthropic", "claude-sonnet-4-0");
    expect(c).toBeDefined();
    if (!c) return;
    const flat = { base: 1n, tiers: [] };
    const tableTier = { base: 2n, tiers: [{ above: 100_000, rate: 4n }] };
    const out = applyPriceCorrection(
      {
        input: tableTier,
        output: flat,
        cacheRead: flat,
        cacheWrite: flat,
        cacheWrite1h: flat,
        perCallPico: 7n,
      },
      c,
    );
    expect(out?.input).toBe(tableTier);
    expect(out?.output).toEqual({ base: 1n, tiers: [{ above: 200_000, rate: m(22.5) }] });
    expect(out?.perCallPico).toBe(7n);
  });

  it("an operator override wins over a correction (its own price, its own version)", () => {
    const overrides = parsePriceOverrides(
      {
        "anthropic/claude-sonnet-4-20250514": {
          input: "3",
          output: "15",
          cacheRead: "0.3",
          cacheWrite: "3.75",
        },
      },
      "prices.json",
    );
    const q = pricer("calculate", overrides).price(usage({ input: 250_000, output: 1_000 }));
    expect(q).toMatchObject({
      costPicoUsd: 250_000n * m(3) + 1_000n * m(15),
      source: "override",
      version: overrides.version,
    });
  });

  it("price_version names the table and the corrections: @pydantic/genai-prices@x.y.z+corrections:<hash>", () => {
    expect(CORRECTED_TABLE_VERSION).toBe(`${TABLE_VERSION}+${CORRECTIONS_VERSION}`);
    expect(CORRECTIONS_VERSION).toMatch(/^corrections:[0-9a-f]{8}$/);
  });

  it("every correction names a table entry that exists and an https source", () => {
    for (const c of PRICE_CORRECTIONS) {
      expect(c.source).toMatch(/^https:\/\//);
      expect(c.tier.above).toBeGreaterThan(0);
      // by the table's own ids: a Bedrock `regional.…` entry is matched by its endpoints' names
      // (`us.anthropic.…`, `anthropic.…`), never by its id, so look the id up in the provider's list
      expect(findProvider({ providerId: c.provider })?.models.some((e) => e.id === c.model)).toBe(true);
    }
  });
});
