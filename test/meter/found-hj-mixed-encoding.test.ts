// A transcript whose lines are not all in one encoding: Windows PowerShell's `>>` / `Out-File
// -Append` never match the file's encoding (5.1 appends UTF-16LE to a UTF-8 file, 7 appends UTF-8
// to a UTF-16 one: PowerShell/PowerShell#9423, #8782), and OpenClaw appends UTF-8 to a transcript a
// PowerShell pipeline restored in UTF-16 (case test/cases/mixed-encoding-append).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { lineEncodingAt, utf8Content } from "../../src/meter/sources/text-encoding.js";
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

type Enc = "utf8" | "le" | "be";
/** `text` in `enc` (UTF-16 with or without a byte order mark). */
function encode(text: string, enc: Enc, bom = false): Buffer {
  if (enc === "utf8") return Buffer.from(text);
  const le = Buffer.from((bom ? "\ufeff" : "") + text, "utf16le");
  return enc === "be" ? le.swap16() : le;
}

const userLine = (ts: number, text: string) =>
  JSON.stringify({
    type: "message",
    id: `u${ts}`,
    parentId: null,
    timestamp: new Date(ts).toISOString(),
    message: { role: "user", content: [{ type: "text", text }], timestamp: ts },
  });

/** Turn `i`: a user line, then a reply 2.5 s later (2.505 s as `assistantLine` stamps it); non-ASCII text (a surrogate pair) in each. */
function turn(i: number): string[] {
  const t = T0 + i * 60_000;
  return [
    userLine(t, `héllo 🙂 ${i}`),
    assistantLine(t + 2_500, 100 + i, [{ type: "text", text: `ok ✓ ${i}` }]),
  ];
}

/** What each billed call came to: account, tokens, cost, latency (the turn read back on a resume). */
function rows(w: TempWorld) {
  return w.db
    .prepare(
      `SELECT account_id, input_tokens, cost_pico_usd, latency_ms FROM usage_events ORDER BY message_ts_ms`,
    )
    .all();
}

/** The same calls read from a UTF-8 transcript: what a mixed one must bill. */
function reference(n: number) {
  const ref = world();
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(...turn(i));
  writeFileSync(join(sessionsDir(ref), "s1.jsonl"), `${lines.join("\n")}\n`);
  return ref;
}

describe("case mixed-encoding-append: lines appended in another encoding are billed", () => {
  it("telegram:5550621 3 calls $0.0225, telegram:5550622 2 calls $0.0195 (was 1 call $0.00375 and 1 call $0.015, 14 malformed)", async () => {
    const { s, world: w } = await meterCaseDir(join(CASES, "mixed-encoding-append"));
    worlds.push(w);
    expect(s).toMatchObject({ billed: 5, malformed: 0 });
    expect(byUser(w)).toEqual({ "telegram:5550621": [3, "0.0225"], "telegram:5550622": [2, "0.0195"] });
    const again = meterFor(w);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  // Each part: the encoding its turns are appended in (PowerShell 5.1 `>>`: UTF-16LE, CRLF, no BOM;
  // PowerShell 7 / OpenClaw: UTF-8, LF), then read by a meter polling between appends.
  const plans: [string, Enc, Enc[]][] = [
    ["UTF-8, then UTF-16LE appends, then UTF-8 again", "utf8", ["utf8", "le", "le", "utf8", "le"]],
    ["UTF-16LE with BOM, then UTF-8 appends", "le", ["le", "utf8", "utf8", "le"]],
    ["UTF-8, then UTF-16BE appends", "utf8", ["utf8", "be", "utf8"]],
    ["UTF-16BE with BOM, then UTF-8 appends", "be", ["be", "utf8", "be"]],
  ];
  for (const [name, first, parts] of plans) {
    for (const restart of [false, true]) {
      it(`${name}: each call billed once, with its latency, as from UTF-8 (${restart ? "a new meter each poll" : "one meter"}; appends cut mid line and mid code unit)`, async () => {
        const ref = reference(parts.length);
        const m0 = meterFor(ref);
        expect(await m0.runOnce()).toMatchObject({ billed: parts.length, malformed: 0 });
        m0.close();

        const w = world();
        const file = join(sessionsDir(w), "s1.jsonl");
        const bytes = Buffer.concat([
          encode("", first, first !== "utf8"),
          ...parts.map((enc, i) =>
            encode(`${turn(i).join(enc === "utf8" ? "\n" : "\r\n")}${enc === "utf8" ? "\n" : "\r\n"}`, enc),
          ),
        ]);
        // cut points: odd byte offsets inside lines (mid code unit), and the end
        const cuts = [37, 301, 911, 1203, 1777, 2401, 3001, bytes.length].filter((c) => c <= bytes.length);
        writeFileSync(file, bytes.subarray(0, cuts[0]));
        let billed = 0;
        let one = restart ? null : meterFor(w, { batchSize: 1 });
        for (let i = 0; i < cuts.length; i++) {
          if (i > 0) appendFileSync(file, bytes.subarray(cuts[i - 1], cuts[i]));
          const m = one ?? meterFor(w, { batchSize: 1 });
          const s = await m.runOnce();
          if (!one) m.close();
          expect(s).toMatchObject({ malformed: 0 });
          billed += s.billed;
        }
        one?.close();
        one = null;
        expect(billed).toBe(parts.length);
        expect(rows(w)).toEqual(rows(ref));
        expect(rows(w).map((r) => (r as { latency_ms: number | null }).latency_ms)).toEqual(
          Array(parts.length).fill(2_505),
        );
      });
    }
  }

  it("mixed archives read whole: gzipped, and an unterminated last line in UTF-16 after UTF-8 ones", async () => {
    const w = world();
    const dir = sessionsDir(w);
    writeFileSync(
      join(dir, "s1.jsonl.deleted.2026-11-22T19-05-00.000Z.gz"),
      gzipSync(
        Buffer.concat([
          encode(`${turn(0).join("\n")}\n`, "utf8"),
          encode(`${turn(1).join("\r\n")}\r\n`, "le"),
        ]),
      ),
    );
    writeFileSync(
      join(dir, "s1.jsonl.reset.2026-11-22T19-06-00.000Z"),
      Buffer.concat([encode(`${turn(2).join("\n")}\n`, "utf8"), encode(turn(3).join("\r\n"), "le")]),
    );
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 4, malformed: 0 });
    expect(await m.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    m.close();
  });

  it("per line: UTF-16 only by its first bytes' pattern or a BOM; a NUL fill and UTF-8 stay UTF-8 byte for byte", () => {
    expect(lineEncodingAt(encode('{"a":1}', "le"), 0, "utf8", false)).toEqual({ enc: "le", bom: 0 });
    expect(lineEncodingAt(encode('{"a":1}', "be"), 0, "utf8", false)).toEqual({ enc: "be", bom: 0 });
    expect(lineEncodingAt(encode('{"a":1}', "le", true), 0, "utf8", false)).toEqual({ enc: "le", bom: 2 });
    expect(lineEncodingAt(Buffer.from('{"a":1}'), 0, "le", false)).toEqual({ enc: "utf8", bom: 0 });
    expect(lineEncodingAt(Buffer.from('\ufeff{"a":1}'), 0, "le", false)).toEqual({ enc: "utf8", bom: 0 });
    // a crash's zero fill (then an entry) is no UTF-16: the line before's encoding
    expect(lineEncodingAt(Buffer.from('\0\0\0\0{"a":1}'), 0, "utf8", false)).toEqual({ enc: "utf8", bom: 0 });
    expect(lineEncodingAt(Buffer.from([0x7b, 0, 0, 0]), 0, "utf8", false)).toEqual({ enc: "utf8", bom: 0 });
    // too few bytes to tell, more to come
    expect(lineEncodingAt(Buffer.from([0x7b, 0]), 0, "utf8", true)).toBeUndefined();
    const fill = Buffer.from(`{"a":1}\n{"b":\0\0\0\0{"c":2}\n`);
    expect(utf8Content(fill)).toEqual(fill);
    const mixed = Buffer.concat([
      Buffer.from('{"a":"é"}\n'),
      encode('{"b":"🙂"}\r\n', "le"),
      Buffer.from('{"c":1}\n'),
    ]);
    expect(utf8Content(mixed).toString()).toBe('{"a":"é"}\n{"b":"🙂"}\r\n{"c":1}\n');
  });
});
