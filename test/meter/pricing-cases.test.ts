import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createPricer, overrideSanityWarnings, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode } from "../../src/meter/types.js";
import { admin, testApp } from "../api/support.js";
import { runCli } from "../support/cli.js";
import { meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/** ../shared/cases: small real inputs with their right values (read-only; copied per test). */
const CASES = resolve(import.meta.dirname, "../../../shared/cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function rows(world: TempWorld) {
  return world.db
    .prepare(
      `SELECT message_ts_ms AS ts, cache_write_tokens AS cw, cache_write_1h_tokens AS cw1h, cost_pico_usd AS cost,
              price_source AS source, price_version AS version, unknown_model AS unknown,
              table_cost_pico_usd AS tableCost, recorded_cost_pico_usd AS recorded, charge_micro_credits AS charged
         FROM usage_events ORDER BY message_ts_ms`,
    )
    .safeIntegers(true)
    .all() as Record<string, bigint | string | null>[];
}

async function meterCase(name: string, mode: CostMode) {
  w = tempWorld(join(CASES, name, "state"));
  const meter = meterFor(w, {
    pricer: createPricer({ mode, overrides: parsePriceOverrides({}, "none"), fallback: FALLBACK }),
  });
  const s = await meter.runOnce();
  meter.close();
  return { s, world: w };
}

describe("case anthropic-1h-cache-write: 1-hour cache writes at 2x input, 5-minute at 1.25x", () => {
  for (const mode of ["auto", "calculate"] as const) {
    it(`${mode}: call 1 $0.0633, call 2 $0.0498, total $0.1131`, async () => {
      const { s, world } = await meterCase("anthropic-1h-cache-write", mode);
      expect(s.billed).toBe(2);
      expect(s.malformed).toBe(0);
      const r = rows(world);
      expect(r.map((x) => x.cw1h)).toEqual([10_000n, 4_000n]);
      expect(r.map((x) => x.cw)).toEqual([10_000n, 10_000n]);
      // sonnet-4.5: 100 × $3 + 200 × $15 + 1h writes × $6 + 5m writes × $3.75, per 1M tokens
      expect(r.map((x) => x.cost)).toEqual([63_300_000_000n, 49_800_000_000n]);
      expect(r.every((x) => x.source === "table" && x.unknown === 0n)).toBe(true);
      expect(r.map((x) => x.tableCost)).toEqual([63_300_000_000n, 49_800_000_000n]);
      const [total] = queryUsage(world.db, { by: "agent" });
      expect(total?.costUsd).toBe("0.1131");
      expect(total?.cacheWrite1h).toBe(14_000);
      expect(total?.chargedMicros).toBe(113_100);
    });
  }
});

describe("case provider-billed-cost: what the provider billed is the truth", () => {
  it("auto: bills cost.total $0.029 with price source provider-billed, and keeps the list price", async () => {
    const { s, world } = await meterCase("provider-billed-cost", "auto");
    expect(s.billed).toBe(1);
    const [r] = rows(world);
    expect(r).toMatchObject({
      cost: 29_000_000_000n,
      source: "provider-billed",
      version: "transcript",
      unknown: 0n,
      recorded: 29_000_000_000n,
      charged: 29_000n,
    });
    // The table's list price for qwen3-235b-a22b-2507 on OpenRouter: $0.0185 (the case README's "today" value).
    expect(r?.tableCost).toBe(18_500_000_000n);
    const [u] = queryUsage(world.db, { by: "model" });
    expect(u).toMatchObject({
      key: "openrouter/qwen/qwen3-235b-a22b-2507",
      costUsd: "0.029",
      providerBilledRequests: 1,
      providerBilledCostUsd: "0.029",
      providerBilledTableCostUsd: "0.0185",
      providerBilledDiffUsd: "0.0105",
    });
    // The CLI report shows the difference next to the row.
    const out = await runCli({ CREDITGATE_DB: world.dbPath }, ["usage", "--by", "model"]);
    expect(out.out).toMatch(/provider-billed\s+billed - list \(USD\)/);
    expect(out.out).toMatch(/openrouter\/qwen\/qwen3-235b-a22b-2507\s+1\s.*\s1\s+0\.0105\s+0\n/);
    // GET /v1/usage answers the same rows.
    const app = testApp(world.db);
    const api = await app.inject({ url: "/v1/usage?by=model", headers: admin });
    await app.close();
    expect(api.json().rows[0]).toMatchObject({ providerBilledRequests: 1, providerBilledDiffUsd: "0.0105" });
  });

  it("calculate bills the list price; recorded bills the provider-billed amount and says so", async () => {
    const calc = await meterCase("provider-billed-cost", "calculate");
    expect(rows(calc.world)[0]).toMatchObject({ cost: 18_500_000_000n, source: "table" });
    calc.world.cleanup();
    w = undefined;
    const rec = await meterCase("provider-billed-cost", "recorded");
    expect(rows(rec.world)[0]).toMatchObject({
      cost: 29_000_000_000n,
      source: "provider-billed",
      tableCost: 18_500_000_000n,
    });
  });
});

describe("unknown-model warnings say what priced the call", () => {
  it("recorded cost when the recorded cost was used, fallback price only when the fallback was", async () => {
    w = tempWorld(join(CASES, "anthropic-1h-cache-write", "state"));
    const file = join(w.stateDir, "agents/main/sessions/3c9e1b7a-0d2f-4e6a-8b1c-5f4a2d9e7c31.jsonl");
    const line = (model: string, ts: number, cost?: number) =>
      `${JSON.stringify({
        type: "message",
        id: `u${ts}`,
        message: {
          role: "assistant",
          provider: "custom-proxy",
          model,
          usage: {
            input: 1000,
            output: 10,
            cacheRead: 0,
            cacheWrite: 0,
            ...(cost ? { cost: { total: cost } } : {}),
          },
          stopReason: "stop",
          timestamp: ts,
        },
      })}\n`;
    appendFileSync(
      file,
      line("priced-by-openclaw", 1795168900000, 0.002) + line("priced-by-nobody", 1795168901000),
    );
    const logs: string[] = [];
    const meter = meterFor(w, {
      pricer: createPricer({ mode: "auto", overrides: parsePriceOverrides({}, "none"), fallback: FALLBACK }),
      log: (_level, msg, fields) => logs.push(`${msg} ${JSON.stringify(fields)}`),
    });
    const s = await meter.runOnce();
    meter.close();
    expect(s.unknownModels).toEqual(["custom-proxy/priced-by-nobody", "custom-proxy/priced-by-openclaw"]);
    const unknownLogs = logs.filter((l) => l.startsWith("unknown model"));
    expect(unknownLogs).toEqual([
      'unknown model priced at its recorded cost {"model":"custom-proxy/priced-by-openclaw"}',
      'unknown model priced at the fallback price (CREDITGATE_FALLBACK_PRICE) {"model":"custom-proxy/priced-by-nobody"}',
    ]);
    const out = await runCli({ CREDITGATE_DB: w.dbPath }, ["usage", "--by", "model"]);
    expect(out.err).toBe(
      "warn: 1 request(s) of unknown models priced at the fallback price\n" +
        "warn: 1 request(s) of unknown models priced at their recorded cost\n",
    );
  });
});

describe("override unit sanity at load", () => {
  const NOW = Date.UTC(2026, 10, 20);

  it("warns, naming the key, when an override is >= 1000x or <= 1/1000 of the table's price", () => {
    const o = parsePriceOverrides(
      {
        // per-token prices typed into per-1M fields: 10^6 too low
        "anthropic/claude-sonnet-4-5": {
          input: "0.000003",
          output: "0.000015",
          cacheRead: "0.3",
          cacheWrite: "3.75",
        },
        // 1000x too high on input only
        "openai/gpt-4o": { input: "2500", output: "10", cacheRead: "1.25", cacheWrite: "2.5" },
        // plausible (a negotiated discount), free (0), wildcard and unknown models: no warning
        "openai/gpt-4o-mini": { input: "0.1", output: "0.5", cacheRead: "0", cacheWrite: "0" },
        "openai/*": { input: "0.000001", output: "0", cacheRead: "0", cacheWrite: "0" },
        "mock/mock-gpt": { input: "0.000001", output: "1", cacheRead: "0", cacheWrite: "0" },
      },
      "prices.json",
    );
    expect(overrideSanityWarnings(o, NOW)).toEqual([
      "price override \"anthropic/claude-sonnet-4-5\" looks like the wrong unit (prices are USD per 1M tokens): input 0.000003 vs the table's 3, output 0.000015 vs the table's 15",
      'price override "openai/gpt-4o" looks like the wrong unit (prices are USD per 1M tokens): input 2500 vs the table\'s 2.5',
    ]);
  });

  it("creditgate meter prints the warning at start and still uses the override", async () => {
    w = tempWorld(join(CASES, "anthropic-1h-cache-write", "state"));
    const prices = join(w.dir, "prices.json");
    writeFileSync(
      prices,
      JSON.stringify({
        "anthropic/claude-sonnet-4-5": {
          input: "0.000003",
          output: "15",
          cacheRead: "0.3",
          cacheWrite: "3.75",
        },
      }),
    );
    const r = await runCli({ CREDITGATE_DB: w.dbPath, CREDITGATE_PRICES: prices }, [
      "meter",
      "--once",
      "--state-dir",
      w.stateDir,
    ]);
    expect(r.error).toBeNull();
    // stderr is not a terminal here: log lines are pino-style JSON.
    const warning = r.err
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level: number; msg: string; file?: string })
      .find((l) => l.msg.startsWith("price override"));
    expect(warning).toEqual({
      level: 40,
      time: expect.any(Number),
      msg: 'price override "anthropic/claude-sonnet-4-5" looks like the wrong unit (prices are USD per 1M tokens): input 0.000003 vs the table\'s 3',
      file: prices,
    });
  });
});

describe("provider-billed-cost's line in the other shapes OpenClaw (or a hand) can leave it", () => {
  const SESSION = "agents/main/sessions/9e4b2c7d-1a3f-4d8e-b6c5-7f2a1e9d3b48.jsonl";
  /** The case's session with its one assistant line's usage changed by `edit`, metered in `auto`. */
  async function variant(edit: (usage: Record<string, unknown>, cost: Record<string, unknown>) => void) {
    w?.cleanup();
    w = tempWorld(join(CASES, "provider-billed-cost", "state"));
    const file = join(w.stateDir, SESSION);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    const out = lines.map((l) => {
      const e = JSON.parse(l);
      if (e.message?.role === "assistant") edit(e.message.usage, e.message.usage.cost);
      return JSON.stringify(e);
    });
    writeFileSync(file, `${out.join("\n")}\n`);
    const meter = meterFor(w, {
      pricer: createPricer({ mode: "auto", overrides: parsePriceOverrides({}, "none"), fallback: FALLBACK }),
    });
    const s = await meter.runOnce();
    meter.close();
    return { s, rows: rows(w) };
  }

  it("only OpenClaw's exact `provider-billed` is the provider's figure (its schema's literal): another spelling is an estimate", async () => {
    const { rows: r } = await variant((_u, c) => {
      c.totalOrigin = "Provider-Billed";
    });
    expect(r[0]).toMatchObject({ cost: 18_500_000_000n, source: "table" });
  });

  it("a total written as decimal text is still the provider's figure", async () => {
    const { rows: r } = await variant((_u, c) => {
      c.total = "0.029";
    });
    expect(r[0]).toMatchObject({ cost: 29_000_000_000n, source: "provider-billed" });
  });

  it("OpenClaw's estimatedTotal beside a provider-billed total changes nothing", async () => {
    const { rows: r } = await variant((_u, c) => {
      c.estimatedTotal = 0.0185;
    });
    expect(r[0]).toMatchObject({ cost: 29_000_000_000n, source: "provider-billed" });
  });

  it("a provider-billed $0 on a paid model is billed at the list price and flagged", async () => {
    const { rows: r } = await variant((_u, c) => {
      c.total = 0;
    });
    expect(r[0]).toMatchObject({ cost: 18_500_000_000n, source: "table", recorded: 0n });
  });

  it("a tiny provider-billed total is billed as the provider's figure; an absurd one is held, not billed", async () => {
    const tiny = await variant((_u, c) => {
      c.total = 0.0000001;
    });
    expect(tiny.rows[0]).toMatchObject({ cost: 100_000n, source: "provider-billed" });
    const huge = await variant((_u, c) => {
      c.total = 500;
    });
    expect(huge.s.billed).toBe(0);
    expect(huge.s).toMatchObject({ held: 1, heldCostPicoUsd: "500000000000000" });
  });

  it("a cost-only line (counts 0, OpenClaw's zeroed terminal usage) bills its provider-billed total; $0 of it is no call", async () => {
    const paid = await variant((u) => {
      Object.assign(u, { input: 0, output: 0, totalTokens: 0 });
    });
    expect(paid.rows[0]).toMatchObject({ cost: 29_000_000_000n, source: "provider-billed" });
    const free = await variant((u, c) => {
      Object.assign(u, { input: 0, output: 0, totalTokens: 0 });
      c.total = 0;
    });
    expect(free.rows).toHaveLength(0);
  });
});
