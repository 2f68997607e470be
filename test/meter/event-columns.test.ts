import { describe, expect, it } from "vitest";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import type { UsageEvent } from "../../src/meter/types.js";

function event(i: number, over: Partial<UsageEvent> = {}): UsageEvent {
  const r = parseLine(
    JSON.stringify({
      type: "message",
      timestamp: "2026-01-01T00:00:01.000Z",
      message: {
        role: "assistant",
        provider: i % 2 ? "anthropic" : "openai",
        model: "m",
        api: i % 3 ? "messages" : undefined,
        responseId: i % 4 ? `r${i}` : undefined,
        timestamp: 1_700_000_000_000 + i,
        stopReason: i % 5 ? "stop" : "error",
        errorMessage: i % 5 ? undefined : "boom ✓",
        usage: {
          input: i,
          output: 2 * i + 1,
          cacheRead: 0,
          cacheWrite: i % 7,
          cacheWrite1h: i % 3,
          reasoningTokens: i % 2 ? 5 : undefined,
          cost:
            i % 3 ? { total: 0.1 + i / 1000, totalOrigin: i % 2 ? "provider-billed" : undefined } : undefined,
        },
      },
    }),
  );
  if (r.kind !== "usage") throw new Error("fixture");
  return {
    ...usageEvent(
      r.usage,
      "main",
      i % 6 ? `s${i % 3}` : null,
      i % 6 ? `agent:main:s${i % 3}` : null,
      "telegram:1",
      "jsonl",
      `/x/y.jsonl@${i * 100}`,
      i % 2 ? i * 10 : null,
      i % 8 ? null : "hi",
      i % 8 ? null : "ho",
    ),
    dedupeKey: `k${i}`,
    ...over,
  };
}

describe("packEvents / unpackEvents (reader thread → writer)", () => {
  it("gives back equal events, nulls, absent dedupe keys and shared strings included", () => {
    const events = Array.from({ length: 50 }, (_, i) => event(i));
    delete events[3]?.dedupeKey;
    const packed = packEvents(events);
    expect(packed).not.toBeNull();
    // repeated strings are stored once
    expect(packed?.table.filter((s) => s === "telegram:1")).toHaveLength(1);
    const back = unpackEvents(structuredClone(packed) as NonNullable<typeof packed>);
    expect(back).toStrictEqual(events);
    expect("dedupeKey" in (back[3] as object)).toBe(false);
    expect(Object.keys(back[5] as object)).toEqual(Object.keys(events[5] as object));
  });

  it("declines events it cannot encode exactly (the caller sends them as objects)", () => {
    expect(packEvents([event(1, { latencyMs: undefined })])).toBeNull();
    expect(packEvents([event(1, { input: Number.NaN })])).toBeNull();
    expect(packEvents([{ ...event(1), extra: 1 } as UsageEvent])).toBeNull();
    const missing = event(1) as Partial<UsageEvent>;
    delete missing.userPreview;
    expect(packEvents([missing as UsageEvent])).toBeNull();
    expect(packEvents([])).toEqual({ n: 0, nums: new Float64Array(0), strs: new Int32Array(0), table: [] });
  });
});
