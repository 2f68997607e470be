import { describe, expect, it } from "vitest";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import {
  EventPacker,
  packEvents,
  packedBuffers,
  unpackEvents,
} from "../../src/meter/sources/event-columns.js";
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

  it("keeps identityTsMs, the no-time identity of a line without a readable time, in order", () => {
    const r = parseLine(
      JSON.stringify({
        type: "message",
        timestamp: null,
        message: { role: "assistant", provider: "mock", model: "m", usage: { input: 3, output: 4 } },
      }),
    );
    if (r.kind !== "usage") throw new Error("fixture");
    r.usage.messageTsMs = 1_700_000_000_000; // dated by the reader
    const untimed = {
      ...usageEvent(r.usage, "main", null, null, "agent:main", "jsonl", "/x@0"),
      dedupeKey: "k",
    };
    const events = [event(1), untimed, event(2)];
    const back = unpackEvents(packEvents(events) as NonNullable<ReturnType<typeof packEvents>>);
    expect(back).toStrictEqual(events);
    expect(back[1]?.identityTsMs).toBe(0);
    expect(Object.keys(back[1] as object)).toEqual(Object.keys(untimed));
    expect("identityTsMs" in (back[0] as object)).toBe(false);
  });

  it("keeps identityEntryId, the entry id of a line without a readable time, in order (absent: absent)", () => {
    const untimed = (id: string | undefined, dedupeKey: string) => {
      const r = parseLine(
        JSON.stringify({
          type: "message",
          ...(id !== undefined ? { id } : {}),
          timestamp: null,
          message: { role: "assistant", provider: "mock", model: "m", usage: { input: 3, output: 4 } },
        }),
      );
      if (r.kind !== "usage") throw new Error("fixture");
      r.usage.messageTsMs = 1_700_000_000_000; // dated by the reader
      return { ...usageEvent(r.usage, "main", null, null, "agent:main", "jsonl", "/x@0"), dedupeKey };
    };
    const events = [event(1), untimed("3f1a9c02", "k1"), untimed(undefined, "k2"), untimed("b7e40d51", "k3")];
    expect(events[1]?.identityEntryId).toBe("3f1a9c02");
    const back = unpackEvents(
      structuredClone(packEvents(events)) as NonNullable<ReturnType<typeof packEvents>>,
    );
    expect(back).toStrictEqual(events);
    expect(back.map((e) => e.identityEntryId)).toEqual([undefined, "3f1a9c02", undefined, "b7e40d51"]);
    for (const [i, e] of back.entries()) expect(Object.keys(e)).toEqual(Object.keys(events[i] as object));
    expect("identityEntryId" in (back[2] as object)).toBe(false);
    // a value of another type is not encoded: the caller sends the objects as they are
    expect(packEvents([{ ...events[1], identityEntryId: 5 } as unknown as UsageEvent])).toBeNull();
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

/** A Google line whose input holds its cached tokens, parsed (the parser corrects its input). */
function googleInputHoldingCache() {
  const r = parseLine(
    JSON.stringify({
      type: "message",
      timestamp: "2026-02-14T09:30:01.940Z",
      message: {
        role: "assistant",
        api: "google-generative-ai",
        provider: "google",
        model: "gemini-3-flash-preview",
        timestamp: 1_771_061_400_040,
        stopReason: "stop",
        usage: { input: 21675, output: 5, cacheRead: 16289, cacheWrite: 0, totalTokens: 21680 },
      },
    }),
  );
  if (r.kind !== "usage") throw new Error("fixture");
  return r;
}

describe("packEvents / unpackEvents: a call whose input the parser corrected keeps writtenInput", () => {
  it("round-trips writtenInput on that event only, key order included", () => {
    const r = googleInputHoldingCache();
    expect(r.usage).toMatchObject({ input: 5386, writtenInput: 21675 });
    const google = {
      ...usageEvent(r.usage, "main", "s", "agent:main:s", "telegram:1", "jsonl", "/x@0"),
      dedupeKey: "g",
    };
    const events = [event(1), google, event(2)];
    const packed = packEvents(events);
    expect(packed).not.toBeNull();
    const back = unpackEvents(structuredClone(packed) as NonNullable<typeof packed>);
    expect(back).toStrictEqual(events);
    expect(Object.keys(back[1] as object)).toEqual(Object.keys(google));
    expect("writtenInput" in (back[0] as object)).toBe(false);
    expect(packEvents([{ ...event(1), writtenInput: undefined }])).toBeNull();
  });
});

describe("an edge push of a corrected call carries the identity of its counts as written", () => {
  it("pushEventOf sends writtenInput; the center's meterIdentityOf gives the same key", async () => {
    const { pushEventOf } = await import("../../src/edge/index.js");
    const { meterIdentityOf, pushEventSchema } = await import("../../src/ingest/index.js");
    const { dedupeKey } = await import("../../src/meter/identity.js");
    const r = googleInputHoldingCache();
    const ev = usageEvent(r.usage, "main", "s", "agent:main:s", "telegram:1", "jsonl", "/x@0");
    const push = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(push).toMatchObject({ input: 5386, writtenInput: 21675 });
    expect(meterIdentityOf(push)).toBe(dedupeKey(ev));
    expect(pushEventSchema.safeParse({ ...push, writtenInput: 10 }).success).toBe(false);
  });
});

describe("the per-event strings cross as UTF-8 bytes, off the reader thread's heap (2026-12-05)", () => {
  it("gives back every string exactly: ASCII, multi-byte, empty, a lone surrogate, a long one", () => {
    const odd = [
      "/x/y.jsonl@12",
      "réponse ✓ 日本語 🙂",
      "",
      "half \ud83d of a pair", // not well-formed: through the string table
      "z".repeat(5000), // long: through the string table
      "tail \udc00",
    ];
    const events = odd.map((text, i) =>
      event(i + 1, {
        responseId: text,
        sourceRef: `${text}@${i}`,
        dedupeKey: `k-${text}`,
        replyPreview: text,
      }),
    );
    const p = new EventPacker(1);
    for (const e of events)
      p.add(
        e,
        e.agentId,
        e.sessionId,
        e.sessionKey,
        e.accountId,
        e.source,
        e.sourceRef,
        e.latencyMs ?? null,
        e.userPreview ?? null,
        e.replyPreview ?? null,
        e.dedupeKey,
      );
    const packed = p.take();
    // the well-formed short ones are bytes, not table strings
    expect(packed.bytes?.length).toBeGreaterThan(0);
    expect(packed.table).not.toContain("/x/y.jsonl@12");
    expect(packed.table).toContain("half \ud83d of a pair");
    // as the reader thread posts it: its buffers transferred
    const moved = structuredClone(packed, { transfer: packedBuffers(packed) });
    expect(packed.nums.length).toBe(0); // detached: transferred, not copied
    expect(unpackEvents(moved)).toStrictEqual(events);
    // and a packer reused after take() starts afresh
    p.add(
      events[0] as UsageEvent,
      "main",
      null,
      null,
      "telegram:1",
      "jsonl",
      "/a@1",
      null,
      null,
      null,
      undefined,
    );
    expect(unpackEvents(p.take())[0]?.sourceRef).toBe("/a@1");
  });
});
