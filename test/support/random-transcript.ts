// Random JSONL transcript text for the reader's line-scan tests (reader-batches-random): every kind
// of line the reader tells apart (calls, user lines, tool results, look-alikes of the marks,
// truncated and non-object lines, invalid JSON, blank and whitespace-only lines, CRLF, leading
// whitespace, multi-byte text), so batch boundaries and chunk boundaries land anywhere among them.
import { rng } from "./rng.js";

/** A random transcript: `text()` grows it by `lines` more random lines (each with its newline). */
export function randomTranscript(seed: number, sessionId: string) {
  const { next: r, int, pick } = rng(seed);
  let ts = 1_790_000_000_000 + int(1_000_000);
  let n = 0;
  const calls: string[] = [];
  const iso = (ms: number) => new Date(ms).toISOString();
  const text = (x: number) =>
    pick(["ok", "naïve café ✓", "日本語のテキスト", "emoji 🚀🚀", '"quoted" \\ back', "x".repeat(x)]);
  const ws = () => (r() < 0.15 ? pick([" ", "  ", "\t", " \t", "\r"]) : "");
  const call = () => {
    ts += 1 + int(4000);
    const input = r() < 0.05 ? 0 : 1 + int(20000);
    const output = input === 0 ? 0 : 1 + int(900);
    const line = JSON.stringify({
      type: "message",
      id: `a${n++}`,
      timestamp: iso(ts + int(3000)),
      message: {
        role: "assistant",
        content: [{ type: "text", text: text(int(300)) }],
        provider: r() < 0.05 ? "openclaw" : "mock",
        model: "mock-gpt",
        usage: { input, output, cacheRead: int(3) * 100, cacheWrite: 0, totalTokens: input + output },
        stopReason: "stop",
        timestamp: ts,
        responseId: `resp-${seed}-${n}`,
      },
    });
    calls.push(line);
    return line;
  };
  const user = () => {
    ts += 1 + int(4000);
    return JSON.stringify({
      type: "message",
      id: `u${n++}`,
      timestamp: iso(ts),
      message: {
        role: "user",
        content: [{ type: "text", text: text(int(2000)) }],
        ...(r() < 0.5 ? { timestamp: ts } : {}),
      },
    });
  };
  const kinds: [number, () => string][] = [
    [30, call],
    [3, () => (calls.length > 0 ? pick(calls) : call())], // a repeated call: the reader emits it again
    [15, user],
    [
      12,
      () =>
        JSON.stringify({
          type: "message",
          id: `t${n++}`,
          message: { role: "toolResult", content: [{ type: "text", text: text(int(5000)) }] },
        }),
    ],
    // both marks, but not a call (parsed, skipped); the user mark where no user message is
    [2, () => JSON.stringify({ type: "custom", data: { usage: 1, role: "assistant" } })],
    [2, () => JSON.stringify({ type: "custom", data: { role: "user", usage: { input: 1 } } })],
    [1, () => JSON.stringify({ type: "message", message: { role: "assistant", usage: { input: -1 } } })],
    [2, () => `{"type":"message","message":{"role":"assistant","usage" ${int(9)}}}`], // invalid JSON
    [1, () => `{"role":"user" oops}`], // invalid JSON with the user mark
    [
      3,
      () => {
        const l = r() < 0.6 ? call() : user();
        let s = l.slice(0, 2 + int(l.length - 3));
        while (s.endsWith("}")) s = s.slice(0, -1);
        return s; // truncated
      },
    ],
    [2, () => pick(["[1,2]", "hello", '"usage" "assistant"', "42", "null", "\u00e9t\u00e9"])],
    [4, () => pick(["", " ", "\t", "\r", "  \r"])], // blank
    [1, () => JSON.stringify({ type: "session", version: 3, id: sessionId })],
  ];
  const total = kinds.reduce((a, [w]) => a + w, 0);
  const line = () => {
    let x = r() * total;
    for (const [w, k] of kinds) {
      x -= w;
      if (x < 0) return k();
    }
    return call();
  };
  return {
    r,
    int,
    /** `lines` random lines, each ending with `\n` (sometimes `\r\n`), some with whitespace around. */
    text(lines: number): string {
      let out = "";
      for (let i = 0; i < lines; i++) {
        const l = line();
        out += `${ws()}${l}${l === "" ? "" : ws()}${r() < 0.1 ? "\r\n" : "\n"}`;
      }
      return out;
    },
    /** The start of one more call line, without its newline (a line still being written). */
    partial(): string {
      const l = call();
      return l.slice(0, 1 + int(l.length - 1));
    },
  };
}
