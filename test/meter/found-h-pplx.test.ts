import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { createPushIngester } from "../../src/ingest/index.js";
import { pushEventSchema } from "../../src/ingest/push.js";
import { parseLine } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { meterCaseDir, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * test/cases of Perplexity's request fee on a line that does not say its search context size
 * (h-pplx, 2026-12-05): Perplexity's default size is `low`, so such a call is billed the low fee.
 */
const CASES = resolve(import.meta.dirname, "../cases");
const CASE = "usage-perplexity-default-search-context-fee";
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };
const T = Date.parse("2026-11-20T10:00:00Z");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function parsed(usage: Record<string, unknown>, over: Record<string, unknown> = {}): ParsedUsage {
  const message = {
    role: "assistant",
    api: "openai-completions",
    provider: "perplexity",
    model: "sonar",
    usage,
    stopReason: "stop",
    timestamp: T,
    ...over,
  };
  const r = parseLine(JSON.stringify({ type: "message", timestamp: new Date(T).toISOString(), message }));
  if (r.kind !== "usage") throw new Error(`not usage: ${r.kind}`);
  return r.usage;
}

const pricer = (mode: CostMode) =>
  createPricer({ mode, overrides: parsePriceOverrides({}, "test"), fallback: FALLBACK });

describe("case usage-perplexity-default-search-context-fee: a Sonar line without its size is billed the default low fee", () => {
  for (const mode of ["calculate", "auto"] as const) {
    it(`${mode}: telegram:5552701 4 calls $0.039704 (was $0.062704, the table's high fee)`, async () => {
      const r = await meterCaseDir(join(CASES, CASE), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, held: 0, unknownModels: [] });
      expect(queryUsage(w.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5552701", requests: 4, costUsd: "0.039704" }),
      ]);
      const rows = w.db
        .prepare("SELECT cost_pico_usd AS c, price_version AS v FROM usage_events ORDER BY message_ts_ms")
        .all() as { c: number | bigint; v: string }[];
      // sonar low ($5 / 1000), sonar-pro low ($6), sonar-reasoning-pro low ($6); the call that
      // says `high` keeps the high fee ($12)
      expect(rows.map((x) => Number(x.c))).toEqual([
        5_192_000_000, 12_120_000_000, 10_200_000_000, 12_192_000_000,
      ]);
      expect(rows.map((x) => x.v.replace(/^.*\+search-context:/, ""))).toEqual([
        "default-low",
        "default-low",
        "default-low",
        "high",
      ]);
    });
  }
  it("each Sonar model at its low fee; a size said, another provider, deep research as before", () => {
    const tokens = { input: 1000, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 1000 };
    const cost = (
      model: string,
      usage: Record<string, unknown> = tokens,
      over: Record<string, unknown> = {},
    ) => Number(pricer("calculate").price(parsed(usage, { model, ...over })).costPicoUsd);
    // 1000 input tokens: sonar $0.001, sonar-pro $0.003, sonar-reasoning-pro $0.002
    expect([
      cost("sonar"),
      cost("sonar-pro"),
      cost("sonar-reasoning-pro"),
      cost("perplexity/sonar-pro"),
    ]).toEqual([6_000_000_000, 9_000_000_000, 8_000_000_000, 9_000_000_000]);
    // Perplexity's own names without the field (a relay that drops it): the same
    expect(cost("sonar", { prompt_tokens: 1000, completion_tokens: 0, total_tokens: 1000 })).toBe(
      6_000_000_000,
    );
    // a size the line says is that size's fee
    expect(cost("sonar", { ...tokens, search_context_size: "medium" })).toBe(9_000_000_000);
    // another provider's route to Sonar keeps its own price; deep research has no request fee
    expect(cost("perplexity/sonar", tokens, { provider: "openrouter" })).not.toBe(6_000_000_000);
    expect(cost("sonar-deep-research")).toBe(
      cost("sonar-deep-research", { ...tokens, search_context_size: "high" }),
    );
  });
  it("the plugin's push of such a line is priced as the meter prices the line", () => {
    w = tempWorld(join(CASES, CASE, "state"));
    const line = {
      role: "assistant",
      api: "openai-completions",
      provider: "perplexity",
      model: "sonar",
      usage: { input: 12, output: 180, cacheRead: 0, cacheWrite: 0, totalTokens: 192 },
      stopReason: "stop",
      timestamp: T,
    };
    const pushed = pluginUsageEvent(line, {
      agentId: "main",
      sessionKey: "agent:main:telegram:direct:5552701",
    });
    expect(pushed).not.toBeNull();
    const ingester = createPushIngester(w.db, {
      pricer: pricer("auto"),
      markup: parseDecimal("1"),
      creditsPerUsd: parseDecimal("1"),
      nowMs: () => T + 60_000,
    });
    const r = ingester.ingest([pushEventSchema.parse(pushed)], "push:test", "test");
    expect(r.map((x) => x.status)).toEqual(["billed"]);
    const row = w.db.prepare("SELECT cost_pico_usd AS c FROM usage_events").get() as { c: number | bigint };
    expect(Number(row.c)).toBe(Number(pricer("auto").price(parsed(line.usage)).costPicoUsd));
    expect(Number(row.c)).toBe(5_192_000_000);
  });
});
