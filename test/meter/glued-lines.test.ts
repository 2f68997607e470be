// A complete entry glued after a truncated fragment is billed (found case
// truncated-line-glued-to-next): when OpenClaw crashes mid-append the file ends in a fragment without
// its newline, and the next append (`JSON.stringify(entry) + "\n"`) lands on the same physical line.
// The fragment is still malformed (a located reject); the complete entry after it is recovered by
// `gluedEntry` and billed exactly once, however often the file is read.
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gluedEntry, INVALID_JSON_REASON, MAX_GLUED_ATTEMPTS } from "../../src/meter/parse.js";
import { BatchBuilder, turnOf } from "../../src/meter/sources/batch-builder.js";
import { runCli } from "../support/cli.js";
import {
  assistantLine,
  FIXTURE_PRICES,
  meterFor,
  type TempWorld,
  tempWorld,
  writeJson,
} from "../support/meter-env.js";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const SID = "11111111-1111-4111-8111-111111111111";
const KEY = "agent:main:telegram:direct:5550101";

// The found case's transcript, byte for byte (hunt/found/truncated-line-glued-to-next/state).
const CASE_LINES = [
  '{"type":"session","version":3,"id":"11111111-1111-4111-8111-111111111111","timestamp":"2026-11-22T18:11:35.000Z","cwd":"/home/bot/workspace-main"}',
  '{"type":"message","id":"u0000001","parentId":null,"timestamp":"2026-11-22T18:11:38.000Z","message":{"role":"user","content":[{"type":"text","text":"hi"}],"timestamp":1795371098000}}',
  '{"type":"message","id":"a0000001","parentId":"u0000001","timestamp":"2026-11-22T18:11:41.500Z","message":{"role":"assistant","content":[{"type":"text","text":"ok"}],"api":"openai-completions","provider":"mock","model":"mock-gpt","usage":{"input":1000,"output":50,"cacheRead":0,"cacheWrite":0,"totalTokens":1050,"cost":{"input":0.003,"output":0.00075,"cacheRead":0,"cacheWrite":0,"total":0.00375}},"stopReason":"stop","timestamp":1795371100000}}',
  '{"type":"message","id":"u0000002","parentId":null,"timestamp":"2026-11-22T18:13:18.000Z","message":{"role":"user","content":[{"type":"text","text":"hi"}],"timestamp":1795371198000}}',
  '{"type":"message","id":"a0000002","parentId":"u0000002","timestamp":"2026-11-22T18:13:21.500Z","message":{"role":"assistant","content":[{"type":"text","text":"ok"}],"api":"openai-{"type":"message","id":"a0000003","parentId":"u0000002","timestamp":"2026-11-22T18:15:01.500Z","message":{"role":"assistant","content":[{"type":"text","text":"ok"}],"api":"openai-completions","provider":"mock","model":"mock-gpt","usage":{"input":3000,"output":70,"cacheRead":0,"cacheWrite":0,"totalTokens":3070},"stopReason":"stop","timestamp":1795371300000}}',
];
const CASE_TEXT = `${CASE_LINES.join("\n")}\n`;

function sessionsDir(world: TempWorld): string {
  const dir = join(world.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeJson(join(dir, "sessions.json"), { [KEY]: { sessionId: SID, lastChannel: "telegram" } });
  return dir;
}

/** An assistant call (mock/mock-gpt) with `input` tokens; `content` blocks as given. */
const call = assistantLine;

const userMsg = (text: string) =>
  JSON.stringify({
    type: "message",
    id: "u1",
    timestamp: "2026-11-01T00:00:00.000Z",
    message: { role: "user", content: [{ type: "text", text }], timestamp: 1_793_491_200_000 },
  });

const T0 = 1_795_000_000_000;

/** Every position of an unescaped `{"type":` in `text`. */
function starts(text: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf('{"type":'); i !== -1; i = text.indexOf('{"type":', i + 1)) out.push(i);
  return out;
}

/**
 * Whether a cut-off `fragment` ends where JSON expects a value (after `:`, `[` or `,`, outside a
 * string): the oracle for `gluedEntry`'s skip, written another way (strings removed by a regex).
 */
function expectsValue(fragment: string): boolean {
  const noStrings = fragment.replace(/"(?:[^"\\]|\\.)*"/g, "S");
  if (noStrings.includes('"')) return false; // cut inside a string
  return /[:[,]\s*$/.test(noStrings);
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Input tokens billed, and the number of calls. */
function billed(world: TempWorld): { calls: number; input: number } {
  const r = world.db
    .prepare("SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens), 0) AS input FROM usage_events")
    .get() as { calls: number; input: number };
  return { calls: Number(r.calls), input: Number(r.input) };
}

async function meterOnce(world: TempWorld) {
  const m = meterFor(world);
  return m.runOnce().finally(() => m.close());
}

describe("a complete entry glued after a truncated fragment", () => {
  it("the found case: the call after the fragment is billed ($0.0138), once, through the CLI", async () => {
    w = tempWorld();
    w.db.close();
    const dir = sessionsDir(w);
    const file = join(dir, `${SID}.jsonl`);
    writeFileSync(file, CASE_TEXT);
    const prices = join(w.dir, "prices.json");
    writeFileSync(prices, JSON.stringify({ "mock/mock-gpt": FIXTURE_PRICES["mock/mock-gpt"] }));
    const env = {
      CREDITGATE_PRICES: prices,
      CREDITGATE_COST_MODE: "calculate",
      CREDITGATE_LOG_LEVEL: "silent",
    };
    const g = ["--db", w.dbPath, "--state-dir", w.stateDir, "--json"];

    const first = JSON.parse((await runCli(env, [...g, "meter", "--once"])).out);
    expect(first).toMatchObject({ lines: 5, usageLines: 2, malformed: 1, billed: 2, duplicates: 0 });
    const usage = JSON.parse((await runCli(env, ["--db", w.dbPath, "--json", "usage", "--by", "user"])).out);
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({ key: "telegram:5550101", requests: 2, input: 4000, output: 120 });
    expect(usage[0].costUsd).toBe("0.0138");

    // the fragment is one located reject, at the start of its physical line, as before
    const { default: Database } = await import("better-sqlite3");
    const db = new Database(w.dbPath, { readonly: true });
    try {
      const rejects = db.prepare("SELECT source_ref, reason FROM meter_rejects").all();
      const lineStart = Buffer.byteLength(`${CASE_LINES.slice(0, 4).join("\n")}\n`);
      expect(rejects).toEqual([{ source_ref: `${file}@${lineStart}`, reason: INVALID_JSON_REASON }]);
      const refs = db.prepare("SELECT source_ref FROM usage_events ORDER BY source_ref").pluck().all();
      const glued = CASE_LINES[4] as string;
      const at = Buffer.byteLength(glued.slice(0, glued.lastIndexOf('{"type":"message"')));
      expect(refs).toContain(`${file}@${lineStart}+${at}`);
    } finally {
      db.close();
    }

    // a second run reads nothing new; a rewritten copy of the file (rescan from 0) bills nothing more
    const again = JSON.parse((await runCli(env, [...g, "meter", "--once"])).out);
    expect(again).toMatchObject({ billed: 0, malformed: 0 });
    writeFileSync(`${file}.tmp`, CASE_TEXT);
    renameSync(`${file}.tmp`, file);
    const rescan = JSON.parse((await runCli(env, [...g, "meter", "--once"])).out);
    expect(rescan).toMatchObject({ rescans: 1, usageLines: 2, billed: 0, duplicates: 2 });
    const after = JSON.parse((await runCli(env, ["--db", w.dbPath, "--json", "usage", "--by", "user"])).out);
    expect(after[0]).toMatchObject({ requests: 2, costUsd: "0.0138" });
  });

  it("archive copies (.jsonl.deleted) recover it too, and dedupe against the live file", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    writeFileSync(join(dir, `${SID}.jsonl.deleted.2026-11-23T00-00-00.000Z`), CASE_TEXT);
    const s = await meterOnce(w);
    expect(s).toMatchObject({ malformed: 1, billed: 2 });
    expect(billed(w)).toEqual({ calls: 2, input: 4000 });
    // the same transcript live as well (and a reset archive of it): nothing more
    writeFileSync(join(dir, `${SID}.jsonl`), CASE_TEXT);
    copyFileSync(join(dir, `${SID}.jsonl`), join(dir, `${SID}.jsonl.reset.2026-11-24T00-00-00.000Z`));
    const again = await meterOnce(w);
    expect(again.billed).toBe(0);
    expect(again.duplicates).toBe(4);
    expect(billed(w)).toEqual({ calls: 2, input: 4000 });
  });

  it("every cut point of a line: the glued entry is found where it starts, and nothing else", () => {
    const cutLine = call(T0, 1, [
      { type: "thinking", thinking: "hmm" },
      { type: "text", text: 'say {"type":"message"} and a quote " here' },
      { type: "toolCall", id: "t1", name: "read", arguments: { type: "file", path: "/x" } },
    ]);
    const glued = call(T0 + 1, 2, [
      { type: "text", text: "nested" },
      { type: "toolCall", id: "t2", name: "read", arguments: { type: "dir" } },
    ]);
    let lost = 0;
    for (let i = 1; i < cutLine.length; i++) {
      const fragment = cutLine.slice(0, i);
      const g = gluedEntry(fragment + glued);
      if (expectsValue(fragment)) {
        // cut where the line expects a value: the glued entry could be the fragment's own nested
        // value, so it is not taken (lost with the fragment, as before the recovery)
        expect(g, `cut at ${i}`).toBeNull();
        lost++;
        continue;
      }
      expect(g?.at, `cut at ${i}`).toBe(i);
      expect(g?.entry).toEqual(JSON.parse(glued));
      expect(g?.head).toBeNull();
    }
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThan(cutLine.length / 5); // 52 of 519 here: a line of short strings
  });

  it("a suffix at a nested object of the fragment or of the glued entry never parses", () => {
    const fragment = call(T0, 1, [
      { type: "text", text: "a" },
      { type: "toolCall", id: "t1", name: "x", arguments: { type: "y" } },
      { type: "text", text: "b" },
    ]).slice(0, 220);
    const glued = call(T0 + 1, 2, [
      { type: "text", text: "c" },
      { type: "image", data: "", mimeType: "image/png" },
    ]);
    const line = fragment + glued;
    const nestedInFragment = starts(fragment).filter((i) => i > 0);
    const nestedInGlued = starts(glued)
      .filter((i) => i > 0)
      .map((i) => fragment.length + i);
    expect(nestedInFragment.length).toBeGreaterThanOrEqual(2);
    expect(nestedInGlued).toHaveLength(2);
    for (const i of [...nestedInFragment, ...nestedInGlued])
      expect(parses(line.slice(i)), `at ${i}`).toBe(false);
    expect(parses(line.slice(fragment.length))).toBe(true);
    expect(gluedEntry(line)?.at).toBe(fragment.length);
  });

  it("a line cut right after an entry-shaped nested object (nothing glued) bills nothing", () => {
    // a tool call's arguments are model-written JSON: a prompt can shape them like a billable entry
    const fake = call(T0 + 9, 5_000_000);
    const line = call(T0, 1, [{ type: "toolCall", id: "t", name: "x", arguments: JSON.parse(fake) }]);
    const cut = line.slice(0, line.indexOf(fake) + fake.length); // the crash cut it right there
    expect(cut.endsWith("}")).toBe(true);
    expect(() => JSON.parse(cut)).toThrow();
    expect(JSON.parse(cut.slice(cut.indexOf(fake)))).toEqual(JSON.parse(fake)); // it would parse
    expect(gluedEntry(cut)).toBeNull();
    // the same object in an array of content blocks, or after a comma: the same
    const inArray = call(T0, 1, [{ type: "text", text: "a" }, JSON.parse(fake) as never]);
    expect(gluedEntry(inArray.slice(0, inArray.indexOf(fake) + fake.length))).toBeNull();
  });

  it('an escaped {\\"type\\":…} inside the fragment\'s text is never taken for an entry', async () => {
    // a tool result quoting a whole billable transcript line: inside a string its quotes are escaped
    const quoted = call(T0 + 50, 999_999);
    const hostile = call(T0, 1, [{ type: "text", text: `cat says: ${quoted}\n${quoted}` }]);
    expect(hostile).toContain('{\\"type\\":\\"message\\"');
    const cutInQuote = hostile.slice(0, hostile.indexOf("999999") + 3);
    // nothing glued after it: nothing to recover, even though the fragment holds a "complete" quoted line
    expect(gluedEntry(`${cutInQuote}}`)).toBeNull();
    expect(gluedEntry(hostile.slice(0, hostile.lastIndexOf("}", hostile.length - 3)))).toBeNull();
    const real = call(T0 + 1, 7);
    expect(gluedEntry(cutInQuote + real)?.at).toBe(cutInQuote.length);

    w = tempWorld();
    const dir = sessionsDir(w);
    writeFileSync(join(dir, `${SID}.jsonl`), `${cutInQuote}${real}\n${call(T0 + 2, 11)}\n`);
    const s = await meterOnce(w);
    expect(s).toMatchObject({ malformed: 1, billed: 2 });
    expect(billed(w)).toEqual({ calls: 2, input: 18 }); // never the quoted 999999
  });

  it("two complete lines after one fragment: each is billed, the fragment alone is malformed", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const full = call(T0, 1_000_000);
    const frag = full.slice(0, full.indexOf('"model":"') + 12); // cut inside a string
    const lines = [
      // the normal case: fragment + A, its own newline, then B on the next line
      `${frag}${call(T0 + 1, 1)}`,
      call(T0 + 2, 2),
      // A whose write lost only its newline, then B: both complete, nothing malformed
      `${call(T0 + 3, 4)}${call(T0 + 4, 8)}`,
      // fragment + A + B on one line: B parses as a suffix, then A as the rest's (since
      // 2026-12-04, parse.ts gluedEntries; before, A was lost with the fragment)
      `${frag}${call(T0 + 5, 16)}${call(T0 + 6, 32)}`,
    ];
    writeFileSync(join(dir, `${SID}.jsonl`), `${lines.join("\n")}\n`);
    const s = await meterOnce(w);
    expect(s).toMatchObject({ lines: 4, malformed: 2, usageLines: 6, billed: 6 });
    expect(billed(w)).toEqual({ calls: 6, input: 1 + 2 + 4 + 8 + 16 + 32 });
    const again = await meterOnce(w);
    expect(again).toMatchObject({ billed: 0, malformed: 0 });
  });

  it(`tries at most ${MAX_GLUED_ATTEMPTS} suffixes: a garbage line with 1000 {"type": is malformed, fast`, async () => {
    const real = call(T0, 5);
    // a long turn's content blocks sit where the line expects a value: skipped unparsed, so any
    // number of them leaves the glued entry found (they used to use up the budget)
    const fragmentWith = (nested: number) =>
      `{"type":"message","message":{"role":"assistant","content":[${'{"type":"text","text":"a"},'.repeat(nested)}{"type":"te`;
    expect(gluedEntry(fragmentWith(MAX_GLUED_ATTEMPTS + 200) + real)?.entry).toEqual(JSON.parse(real));
    // candidates after a closed value are parsed, and count: the glued entry is the (n + 1)-th
    const afterValues = (n: number) => `{"a":"b"}${'{"type":"q"}}'.repeat(n)}`;
    expect(gluedEntry(afterValues(MAX_GLUED_ATTEMPTS - 1) + real)?.entry).toEqual(JSON.parse(real));
    expect(gluedEntry(afterValues(MAX_GLUED_ATTEMPTS) + real)).toBeNull();

    // hostile: a long line of candidates, none of them an entry
    const garbage = `${'{"type":'.repeat(1000)}"usage","assistant"${" ".repeat(1_000_000)}}`;
    expect(starts(garbage)).toHaveLength(1000);
    expect(gluedEntry(garbage)).toBeNull();

    w = tempWorld();
    const dir = sessionsDir(w);
    writeFileSync(join(dir, `${SID}.jsonl`), `${garbage}\n${call(T0 + 1, 3)}\n`);
    const t = performance.now();
    const s = await meterOnce(w);
    expect(performance.now() - t).toBeLessThan(20_000); // 1000 attempts × 1 MB would take minutes
    expect(s).toMatchObject({ lines: 2, malformed: 1, billed: 1 });
    const reasons = w.db.prepare("SELECT reason FROM meter_rejects").pluck().all();
    expect(reasons).toEqual([INVALID_JSON_REASON]);
  });

  it("a user message glued after a fragment still starts the turn (latency)", async () => {
    const frag = call(T0, 1).slice(0, 120);
    const user = userMsg("question");
    expect(turnOf(frag + user, 0)).toEqual({ user: { atMs: 1_793_491_200_000, preview: null } });
    const b = new BatchBuilder("main", "jsonl", 20);
    // without the usage marks: only the pending turn, never a reject (as a broken user line)
    b.userLine(`{"type":"message","message":{"role":"user","content":"x${user}`);
    expect(b.turn).toEqual({ atMs: 1_793_491_200_000, preview: "question" });
    expect(b.take().stats.malformed).toBe(0);
  });

  it("the SQLite text path (textLine) and the bytes path (bytesLine) agree on glued lines", () => {
    const who = { sessionId: "s1", sessionKey: KEY, accountId: "telegram:5550101" };
    const frag = call(T0, 1).slice(0, 200);
    const lines = [
      CASE_LINES[4] as string,
      `${frag}${call(T0 + 1, 2)}`,
      `${call(T0 + 3, 4)}${call(T0 + 4, 8)}`,
      `${frag}${userMsg("q")}`,
      `{"type":"message","message":{"role":"user","content":"x${userMsg("q")}`,
      `${frag}{"type":"message"}`,
      `${frag}${frag}}`,
    ];
    lines.forEach((line, i) => {
      const t = new BatchBuilder("main", "sqlite", 20);
      const b = new BatchBuilder("main", "sqlite", 20);
      t.textLine(line, who, `ref${i}`);
      b.bytesLine(Buffer.from(line), who, `ref${i}`);
      expect(t.turn, `line ${i}`).toEqual(b.turn);
      expect(t.take(), `line ${i}`).toEqual(b.take());
    });
  });
});
