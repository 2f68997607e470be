import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester, meterIdentityOf, pushEventSchema } from "../../src/ingest/index.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { entryIncrement } from "../../src/meter/sources/batch-builder.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/**
 * An edge meter pushes the difference it bills for a later, greater copy of a call (a streamed
 * reply's final line read a poll after its partial) with the whole call's prompt total
 * (`tierInputTotal`), so the center prices it at the call's long-context tier and charges no
 * second per-call fee, as a local meter does. Before, the push API had no such field: the
 * center priced the difference on its own counts (base rate).
 */
const CASE = join(resolve(import.meta.dirname, "../cases"), "message-final-copy-later-poll");
const SESSION = "agents/main/sessions/8c4d2e61-5a7b-4c93-8e1f-2b6a9d0c3e58.jsonl";
const PARTIAL = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n")[4] as string;
const FINAL = readFileSync(join(CASE, "appended.jsonl"), "utf8").trimEnd().split("\n")[0] as string;

/** The line at a 250,000-token prompt, with no recorded cost. */
function longUsage(line: string): ParsedUsage {
  const e = JSON.parse(line);
  e.message.usage.input = 250_000;
  delete e.message.usage.cost;
  const p = parseLine(JSON.stringify(e));
  if (p.kind !== "usage") throw new Error("not a usage line");
  return p.usage;
}

const pricer = () =>
  createPricer({
    mode: "calculate",
    overrides: parsePriceOverrides(
      {
        "anthropic/claude-sonnet-4-5": {
          input: "3",
          output: "15",
          cacheRead: "0.3",
          cacheWrite: "3.75",
          tiers: [
            { aboveInputTokens: 200000, input: "6", output: "22.5", cacheRead: "0.6", cacheWrite: "7.5" },
          ],
        },
      },
      "test",
    ),
    fallback: { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" },
  });

const partial = longUsage(PARTIAL);
const inc = entryIncrement(partial, longUsage(FINAL)) as ParsedUsage;
const ev = (u: ParsedUsage) =>
  usageEvent(u, "main", "s", "agent:main:telegram:direct:1", "telegram:1", "jsonl", "/x@0");

/** The pico-USD the center prices each pushed event at, in push order. */
function centerCosts(events: unknown[]): number[] {
  const out: number[][] = [];
  for (const engine of ENGINES) {
    const t = createEngineDb(engine);
    try {
      const ing = createPushIngester(t.db, {
        pricer: pricer(),
        markup: parseDecimal("1"),
        creditsPerUsd: parseDecimal("1"),
        nowMs: () => partial.messageTsMs + 60_000,
      });
      const res = ing.ingest(events, "push:edge:r1", "k1");
      for (const r of res) expect(r, engine).toMatchObject({ status: "billed" });
      const rows = t.db.prepare("SELECT cost_pico_usd AS c FROM usage_events ORDER BY id").all() as {
        c: number | string | bigint;
      }[];
      out.push(rows.map((r) => Number(r.c)));
    } finally {
      t.cleanup();
    }
  }
  for (const o of out) expect(o).toEqual(out[0]);
  return out[0] as number[];
}

describe("an edge-pushed difference of a later copy carries the call's tier (tierInputTotal)", () => {
  it("the push carries it; the call's identity is unchanged", () => {
    expect(inc.tierInputTotal).toBe(250_000);
    const push = pushEventSchema.parse(pushEventOf(ev(inc), "edge-1"));
    expect(push.tierInputTotal).toBe(250_000);
    expect(meterIdentityOf(push)).toBe(dedupeKey(inc));
    expect(pushEventOf(ev(partial), "edge-1")).not.toHaveProperty("tierInputTotal");
  });

  it("the center prices the difference at the call's tier: $1.50405 for the call (was $1.5028875)", () => {
    const costs = centerCosts([pushEventOf(ev(partial), "edge-1"), pushEventOf(ev(inc), "edge-1")]);
    // 250,000 × 6 + 25 × 22.5 = 1,500,562.5 µ$; the difference 155 × 22.5 = 3,487.5 µ$ (on its
    // own counts it was 155 × 15 = 2,325 µ$)
    expect(costs).toEqual([1_500_562_500_000, 3_487_500_000]);
  });

  it("an older edge's difference (no tierInputTotal) is priced on its own counts, as before", () => {
    const { tierInputTotal: _t, ...older } = pushEventOf(ev(inc), "edge-1");
    expect(centerCosts([older])).toEqual([2_325_000_000]);
  });

  it("a tierInputTotal below the event's own prompt total is refused", () => {
    const push = pushEventOf(ev(inc), "edge-1");
    const r = pushEventSchema.safeParse({ ...push, input: 1000, tierInputTotal: 999 });
    expect(r.success).toBe(false);
    expect(pushEventSchema.safeParse({ ...push, input: 1000, tierInputTotal: 1000 }).success).toBe(true);
  });
});
