import { describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import type { ParsedUsage } from "../../src/meter/types.js";

/** One assistant line as OpenClaw writes it; `over` patches the line, `msg` the message. */
function line(over: Record<string, unknown> = {}, msg: Record<string, unknown> = {}): ParsedUsage {
  const r = parseLine(
    JSON.stringify({
      type: "message",
      id: "a1b2c3d4",
      parentId: "00000000",
      timestamp: "2026-11-22T18:12:19.844Z",
      ...over,
      message: {
        role: "assistant",
        content: [{ type: "text", text: "hi" }],
        api: "openai-completions",
        provider: "mock",
        model: "mock-gpt",
        usage: {
          input: 1498,
          output: 47,
          cacheRead: 13184,
          cacheWrite: 0,
          totalTokens: 14729,
          cost: { total: 0.0091542 },
        },
        stopReason: "stop",
        timestamp: 1795371307361,
        ...msg,
      },
    }),
  );
  if (r.kind !== "usage") throw new Error(`not a usage line: ${JSON.stringify(r)}`);
  return r.usage;
}

describe("transcript dedupe identity", () => {
  it("one call written twice with different metadata keeps one identity", () => {
    const k = dedupeKey(line());
    // re-appended with a new line id, parent and write time (rewrite, checkpoint, import, archive)
    expect(
      dedupeKey(line({ id: "ffffffff", parentId: "eeeeeeee", timestamp: "2026-11-30T00:00:00.000Z" })),
    ).toBe(k);
    // content, api, stop reason, total, recorded cost and error text are not part of it
    expect(
      dedupeKey(
        line(
          {},
          {
            content: [],
            api: "openai-responses",
            stopReason: "length",
            errorMessage: "x",
            usage: {
              input: 1498,
              output: 47,
              cacheRead: 13184,
              cacheWrite: 0,
              totalTokens: 1,
              cost: { total: 9 },
            },
          },
        ),
      ),
    ).toBe(k);
  });

  it("two different calls never share one, whatever differs", () => {
    const k = dedupeKey(line());
    const variants = [
      line({}, { timestamp: 1795371307362 }),
      line({}, { provider: "mock2" }),
      line({}, { model: "mock-gpt-2" }),
      line({}, { usage: { input: 1499, output: 47, cacheRead: 13184, cacheWrite: 0 } }),
      line({}, { usage: { input: 1498, output: 48, cacheRead: 13184, cacheWrite: 0 } }),
      line({}, { usage: { input: 1498, output: 47, cacheRead: 13185, cacheWrite: 0 } }),
      line({}, { usage: { input: 1498, output: 47, cacheRead: 13184, cacheWrite: 1 } }),
      line({}, { responseId: "chatcmpl-1" }),
      line({}, { responseId: "chatcmpl-2" }),
    ];
    const keys = new Set([k, ...variants.map(dedupeKey)]);
    expect(keys.size).toBe(variants.length + 1);
  });

  it("fields are joined unambiguously (no field can bleed into the next)", () => {
    const a = dedupeKey(line({}, { provider: "ab", model: "c" }));
    const b = dedupeKey(line({}, { provider: "a", model: "bc" }));
    expect(a).not.toBe(b);
  });
});
