// Transcripts a byte-for-byte UTF-8 line reader cannot read: one written in UTF-16 (Windows
// PowerShell 5.1's `>`/`>>`, `Out-File`, `Set-Content -Encoding Unicode|BigEndianUnicode`)
// (case test/cases/utf16-powershell-transcript); and a live transcript `logrotate` rotated with
// `copytruncate` (case test/cases/logrotate-copytruncate); an entry with text after it on its line
// (case test/cases/entry-with-trailing-text).
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { entryEnd } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { eachLine } from "../../src/meter/sources/batch-builder.js";
import { classifyTranscriptFile } from "../../src/meter/sources/classify.js";
import { utf8Content, utf16NewlineAt, utf16Of } from "../../src/meter/sources/text-encoding.js";
import { assistantLine, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASES = resolve(import.meta.dirname, "../cases");
const T0 = 1_795_371_100_000;

let worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});
function world(): TempWorld {
  const w = tempWorld();
  worlds.push(w);
  return w;
}

function sessionsDir(w: TempWorld): string {
  const dir = join(w.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "sessions.json"),
    JSON.stringify({ "agent:main:telegram:direct:5550101": { sessionId: "s1", lastChannel: "telegram" } }),
  );
  return dir;
}

function byUser(w: TempWorld): Record<string, [number, string]> {
  return Object.fromEntries(queryUsage(w.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]]));
}

/** `text` as UTF-16 (LE or BE), with or without a byte order mark. */
function utf16(text: string, be = false, bom = false): Buffer {
  const le = Buffer.from((bom ? "\ufeff" : "") + text, "utf16le");
  return be ? le.swap16() : le;
}

const userLine = (ts: number, text: string) =>
  JSON.stringify({
    type: "message",
    id: `u${ts}`,
    parentId: null,
    timestamp: new Date(ts).toISOString(),
    message: { role: "user", content: [{ type: "text", text }], timestamp: ts },
  });

/** Turns of a user line then a reply 2.5 s later, non-ASCII text (a surrogate pair) in each. */
function turns(n: number, from = 0): string[] {
  const out: string[] = [];
  for (let i = from; i < from + n; i++) {
    const t = T0 + i * 60_000;
    out.push(
      userLine(t, `héllo 🙂 ${i}`),
      assistantLine(t + 2_500, 100 + i, [{ type: "text", text: `ok 🙂 ${i}` }]),
    );
  }
  return out;
}

/** What each billed call came to: account, tokens, cost, latency (the turn read back on a resume). */
function rows(w: TempWorld) {
  return w.db
    .prepare(
      `SELECT account_id, input_tokens, cost_pico_usd, latency_ms FROM usage_events ORDER BY message_ts_ms`,
    )
    .all();
}

describe("case utf16-powershell-transcript: a transcript in UTF-16 is decoded and billed", () => {
  it("telegram:5550601 3 calls $0.0225 and telegram:5550602 1 call $0.015 (was nothing billed, 31 malformed)", async () => {
    const { s, world: w } = await meterCaseDir(join(CASES, "utf16-powershell-transcript"));
    worlds.push(w);
    expect(s).toMatchObject({ billed: 4, malformed: 0 });
    expect(byUser(w)).toEqual({ "telegram:5550601": [3, "0.0225"], "telegram:5550602": [1, "0.015"] });
    const again = meterFor(w);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  it("case utf16-bomless-leading-blank: BOM-less UTF-16 whose first line is blank or indented: telegram:5550611 2 calls $0.01125, telegram:5550612 1 call $0.01125 (was nothing billed, 14 malformed)", async () => {
    const { s, world: w } = await meterCaseDir(join(CASES, "utf16-bomless-leading-blank"));
    worlds.push(w);
    expect(s).toMatchObject({ billed: 3, malformed: 0 });
    expect(byUser(w)).toEqual({ "telegram:5550611": [2, "0.01125"], "telegram:5550612": [1, "0.01125"] });
    const again = meterFor(w);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  for (const be of [false, true]) {
    const name = be ? "UTF-16BE" : "UTF-16LE";
    it(`${name}: appended between polls (no BOM on appends, CRLF, a cut mid code unit and mid surrogate pair), each call billed once, as from UTF-8`, async () => {
      const lines = turns(6);
      // reference: the same transcript in UTF-8, read whole
      const ref = world();
      writeFileSync(join(sessionsDir(ref), "s1.jsonl"), `${lines.join("\n")}\n`);
      const m0 = meterFor(ref);
      expect(await m0.runOnce()).toMatchObject({ billed: 6, malformed: 0 });
      m0.close();

      const w = world();
      const file = join(sessionsDir(w), "s1.jsonl");
      const all = Buffer.concat([utf16("", be, true), utf16(`${lines.join("\r\n")}\r\n`, be)]);
      // cuts: between turn 2's user line and its reply, one byte into a code unit, inside the 🙂
      // pair of turn 5's user line
      const upTo = (k: number) =>
        utf16("", be, true).length + utf16(`${lines.slice(0, k).join("\r\n")}\r\n`, be).length;
      const emoji = upTo(8) + utf16(lines[8]?.slice(0, lines[8].indexOf("🙂") + 1) ?? "", be).length;
      const cuts = [upTo(3), upTo(6) + 7, emoji, all.length];
      writeFileSync(file, all.subarray(0, cuts[0]));
      let billed = 0;
      for (let i = 0; i < cuts.length; i++) {
        if (i > 0) appendFileSync(file, all.subarray(cuts[i - 1], cuts[i]));
        // a fresh meter each poll (a restart): the turn before its cursor is read back from the file
        const m = meterFor(w, { batchSize: 1 });
        const s = await m.runOnce();
        m.close();
        expect(s).toMatchObject({ malformed: 0 });
        billed += s.billed;
      }
      expect(billed).toBe(6);
      expect(rows(w)).toEqual(rows(ref));
      // every reply 2.505 s after its user line, the one resumed after a restart too
      expect(rows(w).map((r) => (r as { latency_ms: number | null }).latency_ms)).toEqual(
        Array(6).fill(2_505),
      );
    });
  }

  it("a gzipped UTF-16 archive and a UTF-16 archive's unterminated last line are billed", async () => {
    const w = world();
    const dir = sessionsDir(w);
    writeFileSync(
      join(dir, "s1.jsonl.deleted.2026-11-22T19-05-00.000Z.gz"),
      gzipSync(utf16(`${turns(2).join("\r\n")}\r\n`, false, true)),
    );
    writeFileSync(
      join(dir, "s1.jsonl.reset.2026-11-22T19-06-00.000Z"),
      utf16(turns(1, 2).join("\r\n"), true, true),
    );
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 3, malformed: 0 });
    expect(await m.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    m.close();
  });

  it('detection: BOMs, BOM-less `{"` in either order; UTF-8, UTF-32LE and a NUL fill are not UTF-16', () => {
    expect(utf16Of(Buffer.from([0xff, 0xfe, 0x7b, 0]))).toEqual({ be: false, bom: 2 });
    expect(utf16Of(Buffer.from([0xfe, 0xff, 0, 0x7b]))).toEqual({ be: true, bom: 2 });
    expect(utf16Of(utf16('{"a":1}'))).toEqual({ be: false, bom: 0 });
    expect(utf16Of(utf16('{"a":1}', true))).toEqual({ be: true, bom: 0 });
    expect(utf16Of(Buffer.from('\ufeff{"a":1}'))).toBeNull();
    expect(utf16Of(Buffer.from([0xff, 0xfe, 0, 0]))).toBeNull();
    expect(utf16Of(Buffer.from([0, 0, 0, 0x7b]))).toBeNull();
    expect(utf16Of(Buffer.from('{"a":1}'))).toBeNull();
    // BOM-less with a blank, CRLF or indented first line (2026-12-04)
    expect(utf16Of(utf16('\r\n{"a":1}'))).toEqual({ be: false, bom: 0 });
    expect(utf16Of(utf16('  {"a":1}', true))).toEqual({ be: true, bom: 0 });
    expect(utf16Of(utf16('\n{"a":1}', true))).toEqual({ be: true, bom: 0 });
    expect(utf16Of(Buffer.from([0x7b, 0, 0, 0]))).toBeNull(); // UTF-32LE without BOM
    expect(utf16Of(Buffer.from([0, 0, 0x7b, 0]))).toBeNull();
    // a newline unit only at a code unit boundary (U+0A0A, U+xx0A are not newlines)
    const d = utf16("\u0a0a\u010a\n", false);
    expect(utf16NewlineAt(d, 0, false)).toBe(4);
    expect(utf16NewlineAt(utf16("\u0a0a\u0a01\n", true), 0, true)).toBe(4);
    expect(utf8Content(utf16('{"a":"é🙂"}\n', true, true)).toString()).toBe('{"a":"é🙂"}\n');
  });
});

describe("case logrotate-copytruncate: logrotate's copies of a live transcript are read", () => {
  it("telegram:5550701 4 calls $0.0375 (was 1 call $0.015: the calls only in .1 and .2.gz never billed)", async () => {
    const { s, world: w } = await meterCaseDir(join(CASES, "logrotate-copytruncate"));
    worlds.push(w);
    expect(s).toMatchObject({ billed: 4, malformed: 0 });
    expect(byUser(w)).toEqual({ "telegram:5550701": [4, "0.0375"] });
    const again = meterFor(w);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  it("rotated between polls (copy, empty in place, delaycompress, a writer without O_APPEND): each call billed once", async () => {
    const w = world();
    const dir = sessionsDir(w);
    const live = join(dir, "s1.jsonl");
    const t = turns(5);
    const header = JSON.stringify({
      type: "session",
      version: 3,
      id: "s1",
      timestamp: new Date(T0).toISOString(),
    });
    writeFileSync(live, `${[header, t[0], t[1]].join("\n")}\n`);
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 1 });
    // call 2 appended after that poll; then `copytruncate`: copied to .1, emptied; call 3 appended
    appendFileSync(live, `${t[2]}\n${t[3]}\n`);
    copyFileSync(live, join(dir, "s1.jsonl.1"));
    truncateSync(live, 0);
    appendFileSync(live, `${t[4]}\n${t[5]}\n`);
    expect(await m.runOnce()).toMatchObject({ billed: 2, malformed: 0 });
    // the next rotation (delaycompress): .1 renamed .2, the live file copied to .1 and emptied; the
    // writer, without O_APPEND, writes call 4 at its old offset (a hole of NULs before it)
    renameSync(join(dir, "s1.jsonl.1"), join(dir, "s1.jsonl.2"));
    const at = statSync(live).size;
    copyFileSync(live, join(dir, "s1.jsonl.1"));
    truncateSync(live, 0);
    const fd = openSync(live, "r+");
    writeSync(fd, `${t[6]}\n${t[7]}\n`, at);
    closeSync(fd);
    expect(await m.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    // .2 compressed by the rotation after
    writeFileSync(join(dir, "s1.jsonl.2.gz"), gzipSync(readFileSync(join(dir, "s1.jsonl.2"))));
    unlinkSync(join(dir, "s1.jsonl.2"));
    expect(await m.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    m.close();
    expect(byUser(w)).toEqual({ "telegram:5550101": [4, "0.001818"] });
  });

  it("names: numbered and dateext copies of a transcript; not other numbered names", () => {
    for (const n of [
      "s1.jsonl.1",
      "s1.jsonl.12",
      "s1.jsonl-20261204",
      "s1.jsonl-2026120413",
      "s1.jsonl-2026-12-04",
      "s1-topic-7.jsonl.1",
    ])
      expect(classifyTranscriptFile(n), n).toEqual({ sessionId: "s1", archived: true });
    for (const n of [
      "s1.jsonl.1.gz",
      "s1.jsonl-20261204.gz",
      "s1.jsonl.x",
      "s1.jsonl-2026",
      "s1.jsonl.12345",
    ])
      expect(classifyTranscriptFile(n), n).toBeNull();
  });
});

describe("case entry-with-trailing-text: a complete entry with text after it on its line is billed", () => {
  it("telegram:5550801 8 calls $0.03, 1 malformed (was 2 calls $0.0075, 6 malformed)", async () => {
    const { s, world: w } = await meterCaseDir(join(CASES, "entry-with-trailing-text"));
    worlds.push(w);
    expect(s).toMatchObject({ billed: 8, malformed: 1 });
    expect(byUser(w)).toEqual({ "telegram:5550801": [8, "0.03"] });
    const again = meterFor(w);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  it("case entry-with-trailing-brace: text after the entry that ends in } itself: telegram:5550811 4 calls $0.015 (was 1 call $0.00375, the other 3 invalid JSON)", async () => {
    const { s, world: w } = await meterCaseDir(join(CASES, "entry-with-trailing-brace"));
    worlds.push(w);
    expect(s).toMatchObject({ billed: 4, malformed: 3 });
    expect(byUser(w)).toEqual({ "telegram:5550811": [4, "0.015"] });
    const again = meterFor(w);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  it("in an archive read whole too; an entry that never closes is still rejected", async () => {
    const w = world();
    const dir = sessionsDir(w);
    const cut = assistantLine(T0 + 3).slice(0, 90);
    writeFileSync(
      join(dir, "s1.jsonl.deleted.2026-11-22T19-05-00.000Z.gz"),
      gzipSync(
        `${assistantLine(T0)},\n${assistantLine(T0 + 1)}\u001a\n${assistantLine(T0 + 2)}${cut}\n${cut}\n`,
      ),
    );
    const m = meterFor(w);
    // the 3rd entry's glued fragment and the lone fragment: 2 malformed
    expect(await m.runOnce()).toMatchObject({ billed: 3, malformed: 2 });
    m.close();
    expect([...eachLine(Buffer.from(`${cut}\n`))]).toHaveLength(1);
  });

  it("entryEnd: braces in strings and escapes are not counted; no close, -1", () => {
    const e = '{"a":"}\\"","b":{"c":[1,{"d":"{"}]}}';
    const b = Buffer.from(`${e}, x`);
    expect(entryEnd(b, 0, b.length)).toBe(Buffer.byteLength(e));
    const open = Buffer.from('{"a":"}"');
    expect(entryEnd(open, 0, open.length)).toBe(-1);
    const esc = Buffer.from('{"a":"\\"}"}');
    expect(entryEnd(esc, 0, esc.length)).toBe(esc.length);
  });
});
