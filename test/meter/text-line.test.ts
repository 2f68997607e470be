// BatchBuilder.textLine (OpenClaw store rows, given by SQLite as strings) parses a line before it
// looks for the pre-filter's marks; bytesLine (archive lines, zstd rows) looks for the marks
// first. Same line, same outcome: events, rejects, stats and the pending turn, for every kind of
// line, including the ones where parsing and the marks disagree (escaped keys, marks inside tool
// output, invalid JSON with and without marks, lines past the parse-first limit).
import { describe, expect, it } from "vitest";
import { BatchBuilder, PARSE_FIRST_MAX_CHARS } from "../../src/meter/sources/batch-builder.js";

/** mulberry32: a small seeded PRNG, so a failure is reproducible from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["ok", "usage", "assistant", "role", "user", '"usage"', '"role":"user"', "é✓", "}", "{"];

function lineGen(seed: number) {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const int = (n: number) => Math.floor(r() * n);
  const text = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  let ts = 1_790_000_000_000;
  /** The next message time, `d` ms after the last. */
  const tick = (d: number) => {
    ts += d;
    return ts;
  };
  const usage = () =>
    pick([
      { input: 1 + int(900), output: int(90), cacheRead: int(3) * 100, cacheWrite: 0, totalTokens: 0 },
      { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, // zero usage
      { input: -1, output: 3 }, // malformed counts
      { input: 5, output: 2, cost: { total: 0.001, totalOrigin: "provider-billed" } },
    ]);
  const assistant = () => ({
    type: "message",
    id: `a${int(1e6)}`,
    timestamp: new Date(tick(1000)).toISOString(),
    message: {
      role: "assistant",
      content: [{ type: "text", text: text(int(12)) }],
      provider: pick(["mock", "mock", "openclaw", undefined]),
      model: pick(["mock-gpt", "mock-gpt", undefined]),
      usage: usage(),
      stopReason: pick(["stop", "toolUse", "error"]),
      timestamp: ts,
    },
  });
  const user = () => ({
    type: "message",
    id: `u${int(1e6)}`,
    timestamp: new Date(tick(1000)).toISOString(),
    message: { role: "user", content: [{ type: "text", text: text(int(12)) }], timestamp: ts },
  });
  const tool = (big: boolean) => ({
    type: "message",
    id: `t${int(1e6)}`,
    timestamp: new Date(tick(10)).toISOString(),
    message: {
      role: "toolResult",
      toolName: "read",
      content: [{ type: "text", text: big ? "x".repeat(PARSE_FIRST_MAX_CHARS + 10) : text(int(30)) }],
      // the marks inside tool output: structure that is not the message's
      details: pick([{}, { usage: { input: 9 }, role: "assistant" }, { role: "user" }, { note: '"usage"' }]),
    },
  });
  const compact = (o: unknown) => JSON.stringify(o);
  return (): string => {
    const kind = int(16);
    switch (kind) {
      case 0:
      case 1:
      case 2:
        return compact(assistant());
      case 3:
      case 4:
        return compact(user());
      case 5:
        return compact(tool(false));
      case 6:
        return compact(tool(r() < 0.3));
      case 7: // spaced and indented JSON: marks with spaces, `"role": "user"` is not the user mark
        return JSON.stringify(pick([assistant(), user()]), null, pick([0, 1, 2]));
      case 8: // an escaped key: the call parses, the marks are not there
        return compact(assistant()).replace('"usage"', '"\\u0075sage"');
      case 9: // an escaped role value
        return compact(pick([user(), assistant()])).replace(
          /"role":"(user|assistant)"/,
          '"role":"\\u0075$1"',
        );
      case 10: // invalid JSON that still ends like an object, with and without marks
        return pick([compact(assistant()), compact(user()), compact(tool(false))]).replace(/:/, "::");
      case 11: // truncated
        return compact(pick([assistant(), user()])).slice(0, 20 + int(60));
      case 12:
        return compact({
          type: "session",
          version: 3,
          id: `s${int(9)}`,
          timestamp: "2026-01-01T00:00:00.000Z",
        });
      case 13: // a huge line of each kind, past the parse-first limit
        return compact({ ...pick([assistant(), user()]), pad: "p".repeat(PARSE_FIRST_MAX_CHARS) });
      case 14: // not an object, trailing whitespace
        return pick(["[1,2]}", '"x"', `${compact(assistant())}  \t`, "{}", '{"type":"message"}']);
      default:
        return compact({ type: "custom", data: { role: "user", usage: {}, who: "assistant" } });
    }
  };
}

const who = { sessionId: "s1", sessionKey: "agent:main:telegram:direct:1", accountId: "telegram:1" };

describe("textLine (parse first) and bytesLine (marks first) agree on every line", () => {
  it.each([
    [1, 0],
    [2, 0],
    [3, 40],
    [4, 40],
    [5, 0],
  ])("seed %i, previews %i chars", (seed, previewChars) => {
    const next = lineGen(seed);
    const text = new BatchBuilder("main", "sqlite", previewChars);
    const bytes = new BatchBuilder("main", "sqlite", previewChars);
    for (let i = 0; i < 3000; i++) {
      const line = next();
      text.textLine(line, who, `ref${i}`);
      bytes.bytesLine(Buffer.from(line), who, `ref${i}`);
      expect(text.turn, `line ${i}: ${line.slice(0, 200)}`).toEqual(bytes.turn);
      if (i % 100 === 99) expect(text.take()).toEqual(bytes.take());
    }
    expect(text.take()).toEqual(bytes.take());
  });

  it("the generator reaches every outcome", () => {
    const next = lineGen(1);
    const b = new BatchBuilder("main", "sqlite", 0);
    let turns = 0;
    for (let i = 0; i < 3000; i++) {
      b.turn = null;
      b.textLine(next(), who, `ref${i}`);
      if (b.turn) turns++;
    }
    const batch = b.take();
    expect(batch.events.length).toBeGreaterThan(100);
    expect(turns).toBeGreaterThan(100);
    expect(batch.stats).toMatchObject({ synthetic: expect.any(Number), zeroUsage: expect.any(Number) });
    expect(batch.stats.synthetic).toBeGreaterThan(10);
    expect(batch.stats.zeroUsage).toBeGreaterThan(10);
    const reasons = new Set(batch.rejects.map((x) => x.reason));
    for (const reason of [
      "invalid JSON",
      "truncated line (does not end with })",
      "usage token counts must be non-negative integers",
      "assistant usage without model",
    ])
      expect(reasons).toContain(reason);
  });
});
