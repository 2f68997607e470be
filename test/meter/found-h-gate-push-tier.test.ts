/**
 * Case push-line-service-tier: the plugin's push (`before_message_write`) of a line that keeps the
 * service tier the provider served it at bills that tier, as the transcript meter does; the push bills
 * first and the transcript copy is its duplicate, so a push without the tier fixed the standard price.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { servedServiceTier as pluginTier, usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { createPushIngester } from "../../src/ingest/index.js";
import { pushEventSchema } from "../../src/ingest/push.js";
import { servedServiceTier } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import { parseDecimal } from "../../src/money.js";
import { meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/push-line-service-tier");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

/** Every assistant line pushed as the plugin's hook would, then the meter on the same database. */
async function pushThenMeter(mode: "calculate" | "auto" | "recorded") {
  w = tempWorld(join(CASE, "state"));
  const pricer = createPricer({
    mode,
    overrides: parsePriceOverrides({}, "prices.json"),
    fallback: FALLBACK,
  });
  const sessionsDir = join(w.stateDir, "agents", "main", "sessions");
  const index = JSON.parse(readFileSync(join(sessionsDir, "sessions.json"), "utf8")) as Record<
    string,
    { sessionId: string }
  >;
  const events = [];
  for (const [sessionKey, e] of Object.entries(index))
    for (const line of readFileSync(join(sessionsDir, `${e.sessionId}.jsonl`), "utf8").split("\n")) {
      const entry = line ? JSON.parse(line) : null;
      const ev =
        entry?.type === "message" ? pluginUsageEvent(entry.message, { agentId: "main", sessionKey }) : null;
      if (ev) events.push(pushEventSchema.parse(ev));
    }
  const lastMs = Math.max(...events.map((e) => e.timestampMs));
  const ingester = createPushIngester(w.db, {
    pricer,
    markup: parseDecimal("1"),
    creditsPerUsd: parseDecimal("1"),
    nowMs: () => lastMs + 60_000,
  });
  const pushed = ingester.ingest(events, "push:test", "test");
  const meter = meterFor(w, { pricer });
  await meter.runOnce();
  meter.close();
  return { events, pushed, usage: queryUsage(w.db, { by: "user" }) };
}

describe("case push-line-service-tier: a pushed call is billed at the tier its line says served it", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551403 4 calls $0.184 (flex, priority, batch, default) pushed first, not $0.1945`, async () => {
      const { events, pushed, usage } = await pushThenMeter(mode);
      expect(pushed.map((r) => r.status)).toEqual(["billed", "billed", "billed", "billed"]);
      expect(usage).toMatchObject([{ key: "telegram:5551403", requests: 4, costUsd: "0.184" }]);
      // flex / priority / batch ride along; a standard tier is the absence of one, as the meter reads it
      expect(events.map((e) => e.serviceTier)).toEqual(["flex", "priority", "batch", undefined]);
    });
  }

  it("the transcript meter alone bills the same $0.184", async () => {
    const r = await meterCaseDir(CASE, "calculate");
    w = r.world;
    expect(queryUsage(r.world.db, { by: "user" })).toMatchObject([
      { key: "telegram:5551403", requests: 4, costUsd: "0.184" },
    ]);
  });

  it("the push reads a tier as the meter does: the same values, the same places", () => {
    for (const v of [
      " FLEX ",
      "Priority",
      "batch",
      "default",
      "standard",
      "scale",
      "auto",
      "on_demand",
      "",
      5,
      null,
    ]) {
      const meter = servedServiceTier(v);
      expect(pluginTier(v), String(v)).toBe(meter === "standard" ? null : meter);
    }
    const base = {
      role: "assistant",
      api: "openai-responses",
      provider: "openai",
      model: "gpt-5-mini",
      timestamp: 1790330441000,
    };
    const counts = { input: 10, output: 2, cacheRead: 0, cacheWrite: 0, totalTokens: 12 };
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5551403" };
    // usage.service_tier is read before usage.serviceTier, then the message's, as the meter does
    expect(
      pluginUsageEvent({ ...base, usage: { ...counts, service_tier: "batch", serviceTier: "flex" } }, where)
        ?.serviceTier,
    ).toBe("batch");
    expect(pluginUsageEvent({ ...base, usage: counts, serviceTier: "Priority" }, where)?.serviceTier).toBe(
      "priority",
    );
    expect(pluginUsageEvent({ ...base, usage: counts, service_tier: "scale" }, where)).not.toHaveProperty(
      "serviceTier",
    );
  });
});
