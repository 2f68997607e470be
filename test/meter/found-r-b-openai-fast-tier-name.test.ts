import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { servedServiceTier } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** OpenAI's Fast mode (Priority processing renamed 2026-07-30) reported as `service_tier: "fast"` is priced as priority (r-b). */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("case openai-fast-tier-name: a line's service_tier 'fast' is OpenAI's priority tier", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551932 2 calls $0.234, not $0.13 at the standard price`, async () => {
      const r = await meterCaseDir(join(CASES, "openai-fast-tier-name"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 2, unknownModels: [] });
      expect(queryUsage(w.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551932", requests: 2, costUsd: "0.234" }),
      ]);
      const rows = w.db
        .prepare("SELECT price_version AS v FROM usage_events ORDER BY message_ts_ms")
        .all() as {
        v: string;
      }[];
      for (const row of rows) expect(row.v.endsWith("+service-tier:priority")).toBe(true);
    });
  }

  it("the meter, the center (a pushed serviceTier) and the plugin read 'fast' alike", () => {
    expect(servedServiceTier("fast")).toBe("priority");
    expect(servedServiceTier(" FAST ")).toBe("priority");
    // the plugin pushes the tier it read, so the center prices the push at the tier, not the standard price
    const pushed = pluginUsageEvent(
      {
        role: "assistant",
        api: "openai-responses",
        provider: "openai",
        model: "gpt-5-mini",
        usage: { input: 100, output: 10, cacheRead: 0, cacheWrite: 0, totalTokens: 110 },
        service_tier: "fast",
        timestamp: 1791367241000,
      } as never,
      { sessionKey: "agent:main:telegram:direct:5551932" },
    );
    expect(pushed?.serviceTier).toBe("priority");
  });
});
