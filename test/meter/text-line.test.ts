// BatchBuilder.textLine (OpenClaw store rows, given by SQLite as strings) parses a line before it
// looks for the pre-filter's marks; bytesLine (archive lines, zstd rows) looks for the marks
// first. Same line, same outcome: events, rejects, stats and the pending turn, for every kind of
// line, including the ones where parsing and the marks disagree (escaped keys, marks inside tool
// output, invalid JSON with and without marks, lines past the parse-first limit).
import Database from "better-sqlite3";
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
  /** The clock after `ms` more. */
  const tick = (ms: number) => {
    ts += ms;
    return ts;
  };
  const usage = () =>
    pick([
      { input: 1 + int(900), output: int(90), cacheRead: int(3) * 100, cacheWrite: 0, totalTokens: 0 },
      { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, // zero usage
      { input: 1e300, output: 3 }, // malformed counts (a fraction is rounded: 2026-12-03)
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
    for (const reason of ["invalid JSON", "truncated line (does not end with })"])
      expect(reasons).toContain(reason);
  });
});

// Lines the generator above does not make: each compared as the store gives it (a string) and as
// bytes, with and without previews, with and without a pending turn before it.
const call = (extra: Record<string, unknown> = {}, usage: unknown = { input: 5, output: 2 }) =>
  JSON.stringify({
    type: "message",
    timestamp: "2026-11-01T00:00:01.000Z",
    message: {
      role: "assistant",
      provider: "mock",
      model: "mock-gpt",
      usage,
      timestamp: 1_793_000_000_000,
      content: [{ type: "text", text: "reply é✓ 😀" }],
      ...extra,
    },
  });
const userMsg = (content: unknown = [{ type: "text", text: "hi 😀 there" }]) =>
  JSON.stringify({
    type: "message",
    timestamp: "2026-11-01T00:00:00.000Z",
    message: { role: "user", content, timestamp: 1_792_999_999_000 },
  });

/** Pads a line's JSON to exactly `chars` UTF-16 code units with `fill` (1 or 2 units) in a field. */
function padded(line: string, chars: number, fill: string): string {
  const base = `${line.slice(0, -1)},"pad":""}`;
  const room = chars - base.length;
  const s = fill.repeat(Math.floor(room / fill.length)) + "x".repeat(room % fill.length);
  const out = `${line.slice(0, -1)},"pad":"${s}"}`;
  expect(out.length).toBe(chars);
  return out;
}

/** Every line's outcome, through textLine and through bytesLine of `bytes` (default: its UTF-8). */
function expectSame(lines: readonly (string | [string, Buffer])[]): void {
  for (const previewChars of [0, 40])
    for (const before of [null, { atMs: 1, preview: previewChars ? "q" : null }]) {
      lines.forEach((l, i) => {
        const [text, raw] = typeof l === "string" ? [l, Buffer.from(l)] : l;
        const t = new BatchBuilder("main", "sqlite", previewChars);
        const b = new BatchBuilder("main", "sqlite", previewChars);
        t.turn = before;
        b.turn = before;
        t.textLine(text, who, `ref${i}`);
        b.bytesLine(raw, who, `ref${i}`);
        const what = `line ${i} (previews ${previewChars}, turn ${before !== null}): ${text.slice(0, 120)}`;
        expect(t.turn, what).toEqual(b.turn);
        expect(t.take(), what).toEqual(b.take());
      });
    }
}

describe("textLine and bytesLine agree on odd lines", () => {
  it("JSON whitespace, a BOM, CR and non-JSON whitespace around a line", () => {
    expectSame([
      `${call()}\r`,
      `${call()}\r\n`,
      `${call()} \t `,
      `  ${call()}`,
      `\uFEFF${call()}`,
      `\uFEFF${userMsg()}`,
      `${call()}\u00a0`, // not JSON whitespace: does not end like an object
      `${userMsg()}\u2028`,
      `\u00a0${call()}`, // ends like one, not valid JSON
      `\u00a0${userMsg()}`,
    ]);
  });

  it("duplicate keys (the last wins), __proto__ keys, numbers in usage written oddly", () => {
    expectSame([
      call().replace('"usage":{', '"usage":{"input":-1},"usage":{'), // the first is malformed, the last counts
      call().replace('"usage":{"input":5', '"usage":{"input":0,"output":0},"x":{"input":5'),
      call().replace('"role":"assistant"', '"role":"user","role":"assistant"'),
      call().replace('"role":"assistant"', '"role":"assistant","role":"user"'), // a user line with the usage marks
      userMsg().replace('"role":"user"', '"role":"assistant","role":"user"'),
      userMsg().replace('"role":"user"', '"role":"user","role":"toolResult"'),
      call().replace('"type":"message"', '"type":"session","type":"message"'),
      call().replace('"type":"message"', '"type":"message","type":"custom"'),
      call().replace('"message":{', '"__proto__":{"type":"x"},"message":{"__proto__":{"role":"user"},'),
      JSON.stringify({ type: "message", message: { __proto__: null, role: "user", content: "x" } }),
      '{"type":"message","__proto__":{"message":{"role":"user"}}}',
      call({}, { input: 1e2, output: -0, cacheRead: 1.0, cacheWrite: 0 }).replace(
        '"input":100',
        '"input":1e2',
      ),
      call({}, { input: 5, output: 2 }).replace('"input":5', '"input":5.0'),
      call({}, { input: 5, output: 2 }).replace('"input":5', '"input":-0'),
      call({}, { input: 5, output: 2 }).replace('"input":5', '"input":5e-0'),
      call({}, { input: 5, output: 2 }).replace('"input":5', '"input":0.5e1'),
      call({}, { input: 5, output: 2 }).replace('"input":5', '"input":9007199254740993'),
      call({}, { input: 5, output: 2 }).replace('"input":5', '"input":1e400'),
      call({ timestamp: 1.5e12 }),
      call({ timestamp: "1793000000000" }),
    ]);
  });

  it("marks in odd places: escaped, spaced, nested, in text, in keys", () => {
    expectSame([
      call().replace('"assistant"', '"\\u0061ssistant"'), // parses to a call, no mark: skipped
      call().replace('"usage"', '"usag\\u0065"'),
      userMsg().replace('"role":"user"', '"role" : "user"'), // a user line without the mark
      userMsg().replace('"role":"user"', '"\\u0072ole":"user"'),
      userMsg([{ type: "text", text: '"role":"user" "usage" "assistant"' }]), // escaped quotes in text
      userMsg({ role: "user", usage: { input: 1 }, who: "assistant" }),
      JSON.stringify({ type: "message", message: { role: "toolResult", content: { role: "user" } } }),
      JSON.stringify({
        type: "message",
        message: { role: "toolResult", usage: { input: 3 }, r: "assistant" },
      }),
      JSON.stringify({ type: "message", message: { role: "user", nested: { role: "user" } } }),
      JSON.stringify({ type: "message", message: { role: "assistant", usage: null, x: '"usage"' } }),
      JSON.stringify({ type: "message", message: { role: "assistant", usage: 5, y: 1 } }),
      JSON.stringify({ type: "message", message: "assistant usage" }).replace("}", ',"usage":1}'),
      JSON.stringify({ type: "message", message: null, role: "assistant", usage: {} }),
      JSON.stringify({ type: "message", usage: {}, assistant: 1, role: "user" }),
      JSON.stringify({ role: "user", type: "message" }).replace("}", ',"message":{"role":"user"}}'),
      '{"type":"message","message":{"role":"user"}}}', // one brace too many: invalid, with the mark
      '{"type":"message","message":{"role":"assistant","usage":{"input":1}}', // one too few: truncated
      '{"usage","assistant"}',
      '{"role":"user"}',
      "{}",
      "}",
      " }",
    ]);
  });

  it("lines at the parse-first limit, in UTF-16 code units and in bytes", () => {
    const lines: string[] = [];
    for (const chars of [PARSE_FIRST_MAX_CHARS - 1, PARSE_FIRST_MAX_CHARS, PARSE_FIRST_MAX_CHARS + 1])
      for (const fill of ["x", "é", "😀", "\\n"])
        for (const line of [call(), userMsg(), call().replace('"usage"', '"\\u0075sage"')]) {
          const p = padded(line, chars, fill);
          lines.push(p, p.replace(":", "::"), p.slice(0, -2));
        }
    // a surrogate pair cut by the limit: one line of 65,535 units + a pair
    lines.push(padded(call(), PARSE_FIRST_MAX_CHARS - 1, "x").replace('"pad":"x', '"pad":"😀'));
    expectSame(lines);
  });

  it("invalid UTF-8 in a store row: what SQLite gives as text agrees with the row's bytes", () => {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE t (i INTEGER PRIMARY KEY, j TEXT) STRICT");
    const ins = db.prepare("INSERT INTO t (i, j) VALUES (?, CAST(? AS TEXT))");
    const bad = [
      [0xed, 0xa0, 0x80], // a UTF-16 surrogate encoded as UTF-8 (CESU-8)
      [0xff],
      [0xc0, 0x80], // overlong NUL
      [0xe2, 0x82], // cut sequence
      [0xf0, 0x9f, 0x98],
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0x80],
      [0x00], // NUL inside text
    ];
    const raws: Buffer[] = [];
    for (const seq of bad)
      for (const line of [
        call({ model: "mock-gpt" }),
        call({ responseId: "rX" }),
        userMsg([{ type: "text", text: "ask X now" }]),
        call({ content: [{ type: "text", text: "reply X" }] }),
      ]) {
        const [a, b] = line.split(/X|mock-gpt/) as [string, string];
        const raw = Buffer.concat([
          Buffer.from(a),
          Buffer.from(seq),
          Buffer.from(line.includes("mock-gpt") ? "mock-gpt" : ""),
          Buffer.from(b),
        ]);
        raws.push(raw);
      }
    raws.forEach((raw, i) => {
      ins.run(i, raw);
    });
    const rows = db.prepare<[], { i: number; j: string }>("SELECT i, j FROM t ORDER BY i").all();
    db.close();
    expect(rows.length).toBe(raws.length);
    expectSame(rows.map((r) => [r.j, raws[r.i] as Buffer] as [string, Buffer]));
  });

  it("a lone surrogate never reaches textLine from the store: SQLite gives U+FFFD, and then they agree", () => {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE t (j TEXT) STRICT");
    const line = call({ model: "mock\uD800gpt" }).replace("\\ud800", "\uD800"); // raw, not escaped
    expect(line).toContain("\uD800");
    db.prepare("INSERT INTO t (j) VALUES (?)").run(line);
    const got = (db.prepare("SELECT j FROM t").get() as { j: string }).j;
    db.close();
    expect(got).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    expect(got).toContain("\uFFFD");
    expectSame([got]);
  });

  it("random edits of every kind of line (seeded)", () => {
    const r = rng(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const bases = [
      call(),
      userMsg(),
      call({ provider: "openclaw" }),
      call({}, { input: 0, output: 0 }),
      JSON.stringify({
        type: "message",
        message: { role: "toolResult", details: { usage: { input: 1 }, role: "assistant" } },
      }),
      JSON.stringify({ type: "session", id: "s" }),
    ];
    const bits = [
      '"usage"',
      '"assistant"',
      '"role":"user"',
      '"role"',
      ":",
      '"user"',
      '"',
      ",",
      "{",
      "}",
      "[",
      "]",
      "\\",
      "\\u0075",
      "é",
      "😀",
      " ",
      "\r",
      "\t",
      "null",
      "-0",
      "1e2",
      '"type":"message"',
      '"message":{',
      '"usage":{"input":3}',
      '"provider":"p"',
      '"model":"m"',
      '"timestamp":9',
      '"role":"assistant"',
      "\u2028",
      "\uFEFF",
      '"__proto__"',
    ];
    const lines: string[] = [];
    for (let i = 0; i < 4000; i++) {
      let s = pick(bases);
      for (let k = 1 + Math.floor(r() * 4); k > 0; k--) {
        const at = Math.floor(r() * (s.length + 1));
        const how = r();
        if (how < 0.5) s = s.slice(0, at) + pick(bits) + s.slice(at);
        else if (how < 0.8) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 5));
        else {
          const from = Math.floor(r() * s.length);
          s = s.slice(0, at) + s.slice(from, from + 10) + s.slice(at);
        }
      }
      // whole code points only (a lone surrogate cannot come from SQLite; see above)
      lines.push(s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "?"));
    }
    expectSame(lines);
  });
});
