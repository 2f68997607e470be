import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester, meterIdentityOf, pushEventSchema } from "../../src/ingest/index.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import { EventPacker, packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import type { CostMode, ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/** A line's own service tier (OpenAI's `service_tier`, Anthropic's `usage.service_tier`) prices the call (h-tier). */
const CASES = resolve(import.meta.dirname, "../cases");
const FALLBACK = { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const pricer = (mode: CostMode = "calculate") =>
  createPricer({ mode, overrides: parsePriceOverrides({}, "test"), fallback: FALLBACK });

const T = Date.parse("2026-09-25T10:00:00Z");

function parsed(msg: Record<string, unknown>, usage: Record<string, unknown> = {}): ParsedUsage {
  const r = parseLine(
    JSON.stringify({
      type: "message",
      timestamp: new Date(T).toISOString(),
      message: {
        role: "assistant",
        api: "openai-responses",
        provider: "openai",
        model: "gpt-5-mini",
        usage: {
          input: 100_000,
          output: 20_000,
          cacheRead: 0,
          cacheWrite: 0,
          totalTokens: 120_000,
          ...usage,
        },
        stopReason: "stop",
        timestamp: T,
        responseId: "resp_1",
        ...msg,
      },
    }),
  );
  if (r.kind !== "usage") throw new Error(`not usage: ${r.kind}`);
  return r.usage;
}

describe("case usage-line-service-tier: a line's own service tier prices the call", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551402 4 calls $0.184, not $0.1945`, async () => {
      const r = await meterCaseDir(join(CASES, "usage-line-service-tier"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 4, unknownModels: [] });
      expect(queryUsage(w.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551402", requests: 4, costUsd: "0.184" }),
      ]);
      const rows = w.db
        .prepare(
          "SELECT model, cost_pico_usd AS c, price_version AS v FROM usage_events ORDER BY message_ts_ms",
        )
        .all() as { model: string; c: number | bigint; v: string }[];
      expect(
        rows.map((x) => [x.model, Number(x.c), x.v.replace(/^.*?(\+service-tier:\w+)?$/, "$1")]),
      ).toEqual([
        ["gpt-5-mini", 32_500_000_000, "+service-tier:flex"],
        ["gpt-5-mini", 117_000_000_000, "+service-tier:priority"],
        ["claude-sonnet-4-6", 30_000_000_000, "+service-tier:batch"],
        ["gpt-5-mini", 4_500_000_000, ""],
      ]);
    });
  }
});

describe("parse: a line's service tier", () => {
  it("usage.service_tier / serviceTier, or the message's; default / standard / scale / auto are standard", () => {
    expect(parsed({}, { service_tier: "flex" }).serviceTier).toBe("flex");
    expect(parsed({}, { serviceTier: " Priority " }).serviceTier).toBe("priority");
    expect(parsed({ service_tier: "batch" }).serviceTier).toBe("batch");
    expect(parsed({ serviceTier: "default" }).serviceTier).toBe("standard");
    expect(parsed({ service_tier: "scale" }).serviceTier).toBe("standard");
    expect(parsed({ service_tier: "turbo" }).serviceTier).toBeUndefined();
    expect(parsed({ service_tier: 2 }).serviceTier).toBeUndefined();
    expect(parsed({}).serviceTier).toBeUndefined();
  });

  it("the tier is not part of the call's identity (a call billed before keeps its dedupe key)", () => {
    expect(dedupeKey(parsed({ service_tier: "flex" }))).toBe(dedupeKey(parsed({})));
  });
});

describe("pricing a stated tier", () => {
  // gpt-5-mini list: 100,000 × $0.25 + 20,000 × $2 per 1M = $0.065
  const LIST = 65_000_000_000n;

  it("OpenAI flex × 0.5, priority × OpenAI's multiple of the model, batch × 0.5", () => {
    const p = pricer();
    expect(p.price(parsed({ service_tier: "flex" })).costPicoUsd).toBe(LIST / 2n);
    expect(p.price(parsed({ service_tier: "priority" })).costPicoUsd).toBe((LIST * 9n) / 5n);
    expect(p.price(parsed({ service_tier: "priority", model: "gpt-5" })).version).toMatch(
      /\+service-tier:priority$/,
    );
    expect(p.price(parsed({ service_tier: "batch" })).costPicoUsd).toBe(LIST / 2n);
    expect(p.price(parsed({ service_tier: "default" })).costPicoUsd).toBe(LIST);
  });

  it("auto: a stated tier wins over the estimate (priced once, at OpenAI's multiple, not pi-ai's 2×)", () => {
    // pi-ai's estimate of a priority call: 2 × list
    const cost = { input: 0.05, output: 0.08, cacheRead: 0, cacheWrite: 0, total: 0.13 };
    const q = pricer("auto").price(parsed({ service_tier: "priority" }, { cost }));
    expect(q.costPicoUsd).toBe((LIST * 9n) / 5n);
    expect(q.version).toMatch(/\+service-tier:priority$/);
    // a stated "default" does not hide the estimate's tier (Codex echoes default: earendil-works/pi#3307)
    expect(pricer("auto").price(parsed({ service_tier: "default" }, { cost })).costPicoUsd).toBe(
      (LIST * 9n) / 5n,
    );
  });

  it("not on another provider, not Anthropic's priority (no published price), not a fine-tune", () => {
    const p = pricer();
    const other = parsed({ service_tier: "flex", provider: "openrouter", model: "openai/gpt-5-mini" });
    expect(p.price(other).version).not.toMatch(/service-tier/);
    const claude = (tier: string) =>
      parsed(
        { provider: "anthropic", api: "anthropic-messages", model: "claude-sonnet-4-6" },
        { service_tier: tier },
      );
    expect(p.price(claude("priority")).version).not.toMatch(/service-tier/);
    expect(p.price(claude("batch")).version).toMatch(/\+service-tier:batch$/);
    expect(
      p.price(parsed({ service_tier: "flex", model: "ft:gpt-4.1-mini-2025-04-14:acme::abc123" })).version,
    ).not.toMatch(/service-tier/);
  });
});

describe("serviceTier travels with the event", () => {
  it("packEvents / unpackEvents and the reader thread's EventPacker keep it, on that event only", () => {
    const u = parsed({ service_tier: "flex" });
    const ev = usageEvent(u, "main", "s", "agent:main:telegram:direct:1", "telegram:1", "jsonl", "/x@0");
    expect(ev.serviceTier).toBe("flex");
    const plain = usageEvent(
      parsed({}),
      "main",
      "s",
      "agent:main:telegram:direct:1",
      "telegram:1",
      "jsonl",
      "/y@0",
    );
    const events = [plain, ev, plain];
    const packed = packEvents(events);
    expect(packed).not.toBeNull();
    const back = unpackEvents(structuredClone(packed) as NonNullable<typeof packed>);
    expect(back).toStrictEqual(events);
    expect(Object.keys(back[1] as object)).toEqual(Object.keys(ev));
    const pk = new EventPacker(1);
    pk.add(
      u,
      "main",
      "s",
      "agent:main:telegram:direct:1",
      "telegram:1",
      "jsonl",
      "/x@0",
      null,
      null,
      null,
      undefined,
    );
    expect(unpackEvents(pk.take())[0]).toStrictEqual(ev);
    expect(packEvents([{ ...ev, serviceTier: "turbo" as "flex" }])).toBeNull();
  });
});

describe("an edge push carries a stated tier", () => {
  it("the center's identity is unchanged and it prices by it (flex: half); standard is not sent", () => {
    const ev = usageEvent(
      parsed({ service_tier: "flex" }),
      "main",
      "s",
      "agent:main:telegram:direct:1",
      "telegram:1",
      "jsonl",
      "/x@0",
    );
    const push = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(push.serviceTier).toBe("flex");
    expect(meterIdentityOf(push)).toBe(dedupeKey(ev));
    expect(pushEventOf({ ...ev, serviceTier: "standard" }, "edge-1")).not.toHaveProperty("serviceTier");
    for (const engine of ENGINES) {
      const t = createEngineDb(engine);
      try {
        const ing = createPushIngester(t.db, {
          pricer: pricer("auto"),
          markup: parseDecimal("1"),
          creditsPerUsd: parseDecimal("1"),
          nowMs: () => T + 60_000,
        });
        const std = {
          ...push,
          idempotencyKey: "g-1",
          edgeId: undefined,
          serviceTier: "default",
          responseId: "resp_2",
        };
        const [r, s] = ing.ingest([push, std], "push:edge:r1", "k1");
        expect(r, engine).toMatchObject({ status: "billed" });
        expect(s, engine).toMatchObject({ status: "billed" });
        const rows = t.db
          .prepare("SELECT cost_pico_usd AS c, price_version AS v FROM usage_events ORDER BY c DESC")
          .all() as { c: number | string | bigint; v: string }[];
        expect(
          rows.map((row) => ({ ...row, c: Number(row.c) })),
          engine,
        ).toEqual([
          { c: 65_000_000_000, v: "@pydantic/genai-prices@0.1.8" },
          { c: 32_500_000_000, v: "@pydantic/genai-prices@0.1.8+service-tier:flex" },
        ]);
      } finally {
        t.cleanup();
      }
    }
  });
});
