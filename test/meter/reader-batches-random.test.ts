// The JSONL reader's line scan (jsonl-reader.ts `scanLines` and the chunk loop around it) against a
// reference that reads each transcript line by line: random transcripts (calls, repeats, user
// lines, tool results, look-alikes of the marks, invalid, truncated and non-object lines, blank,
// CRLF and indented lines, multi-byte text) of more than one read chunk, read over three polls
// (lines appended, a line left half-written and completed), in batches of 1, 2, 3 and 7 calls and
// of the default sizes. Whatever the batch size, each file gives the reference's events (latency and
// previews included), rejects (located `path@offset`) and counts; every batch but a poll's last
// holds exactly its batch size, and each batch's cursors stop right after the last line it holds.
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { endsLikeObject, mayBeUsage, TRUNCATED_REASON, USER_MARK } from "../../src/meter/parse.js";
import { operatorAccount } from "../../src/meter/resolve-user.js";
import type { FileCursor, Reject, SourceBatch, SourceStats } from "../../src/meter/source.js";
import { BatchBuilder, type LineOwner } from "../../src/meter/sources/batch-builder.js";
import { unpackEvents } from "../../src/meter/sources/event-columns.js";
import { createJsonlSource } from "../../src/meter/sources/jsonl.js";
import { createJsonlReader } from "../../src/meter/sources/jsonl-reader.js";
import type { UsageEvent } from "../../src/meter/types.js";
import { randomTranscript } from "../support/random-transcript.js";
import { createTempDb } from "../support/temp-db.js";

/** jsonl-reader.ts CHUNK_BYTES: the reader reads files in pieces of this size. */
const CHUNK = 128 * 1024;
const NL = 0x0a;

const sid = (n: number) => `11111111-2222-4333-8444-${String(n).padStart(12, "0")}`;
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

/** A line (newline included) that no reader counts for anything: a tool result of `bytes` bytes. */
function filler(bytes: number): string {
  const empty = JSON.stringify({ type: "message", message: { role: "toolResult", content: "" } });
  const text = "f".repeat(Math.max(0, bytes - empty.length - 1));
  return `${JSON.stringify({ type: "message", message: { role: "toolResult", content: text } })}\n`;
}

/**
 * What each of the three polls appends to each file (deterministic from `seed`). File 0 grows past
 * a chunk in the first poll, with one call line placed so its newline is the chunk's last byte,
 * the next chunk's first, or just before the chunk ends; and again past a chunk in the second.
 */
function script(seed: number): string[][] {
  const g = [0, 1].map((i) => randomTranscript(seed * 7 + i, sid(i)));
  const [a, b] = g as [ReturnType<typeof randomTranscript>, ReturnType<typeof randomTranscript>];
  const call = () => {
    // a complete call line from the generator (the first one its text holds)
    for (;;) {
      const l = a.text(1);
      if (l.includes('"usage"') && l.includes('"mock"') && l.startsWith("{") && l.endsWith("}\n")) return l;
    }
  };
  // poll 1, file 0: random lines, a filler, the aligned call, random lines, a filler, more lines
  let p1 = a.text(60 + a.int(60));
  const aligned = call();
  const d = [0, 1, -1, 2][seed % 4] as number; // where the aligned call's newline falls
  p1 += filler(CHUNK - 1 + d - Buffer.byteLength(p1) - (Buffer.byteLength(aligned) - 1));
  p1 += aligned;
  if (Buffer.byteLength(p1) !== CHUNK + d) throw new Error("the aligned call is not where it should be");
  p1 += a.text(40 + a.int(40)) + filler(50_000 + a.int(200_000)) + a.text(40 + a.int(40));
  const part0 = a.partial();
  p1 += part0;
  // poll 2: complete the half line, then more than a chunk more, ending with another half line
  let p2 = `\n${a.text(30)}${filler(CHUNK - 40_000 + a.int(80_000))}${a.text(30 + a.int(60))}`;
  const part1 = b.partial();
  const b1 = `${b.text(40 + b.int(40))}${part1}`;
  const b2 = `\n${b.text(20)}`;
  p2 += a.text(5);
  // poll 3: a few lines each
  return [
    [p1, b1],
    [p2, b2],
    [a.text(10 + a.int(20)), b.text(a.int(10))],
  ];
}

interface Expected {
  events: UsageEvent[];
  rejects: Reject[];
  stats: Partial<SourceStats>;
}

/** The reference: every complete line of `data` on its own, in order (no marks carried between lines). */
function reference(data: Buffer, path: string, owner: LineOwner, previewChars: number): Expected {
  const b = new BatchBuilder("main", "jsonl", previewChars);
  b.rejectsLeft = 100;
  for (let at = 0, nl = data.indexOf(NL); nl !== -1; at = nl + 1, nl = data.indexOf(NL, at)) {
    let s = at;
    while (s < nl && (data[s] === 0x20 || data[s] === 0x09 || data[s] === 0x0d)) s++;
    if (s === nl) continue;
    const line = data.subarray(s, nl);
    const ref = `${path}@${at}`;
    b.stats.lines++;
    if (line[0] !== 0x7b) b.reject(ref, "not a JSON object line");
    else if (!endsLikeObject(line)) b.reject(ref, TRUNCATED_REASON);
    else if (mayBeUsage(line)) b.parsed(line.toString("utf8"), owner, ref);
    else if (line.includes(USER_MARK)) b.userLine(line.toString("utf8"));
  }
  const { events, rejects, stats } = b.take();
  return { events, rejects, stats };
}

const CONFIGS: { batchSize: number; firstBatchSize?: number; packEvents?: boolean }[] = [
  { batchSize: 1 },
  { batchSize: 2 },
  { batchSize: 3, firstBatchSize: 1 },
  { batchSize: 1, firstBatchSize: 3 },
  { batchSize: 7 },
  { batchSize: 2000, firstBatchSize: 200, packEvents: true }, // as on the reader thread
  { batchSize: 2000 },
];

describe("JSONL reader batches against a line-by-line reference", () => {
  it("same events, rejects, counts and cursors in batches of 1, 2, 3, 7 and the defaults (4 transcripts sets, 3 polls)", async () => {
    const t = createTempDb();
    cleanup = t.cleanup;
    const sessionsDir = join(t.dir, "agents", "main", "sessions");
    const paths = [0, 1].map((i) => join(sessionsDir, `${sid(i)}.jsonl`));
    const owner = (i: number): LineOwner => ({
      sessionId: sid(i),
      sessionKey: null,
      accountId: operatorAccount("main"),
    });
    let fills = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const polls = script(seed);
      const previewChars = seed % 2 === 0 ? 40 : 0;
      // the files as each poll sees them, and what each poll reads of them (bytes)
      const contents: Buffer[][] = [];
      let acc = ["", ""];
      for (const p of polls) {
        acc = acc.map((s, i) => s + p[i]);
        contents.push(acc.map((s) => Buffer.from(s)));
      }
      /** File `i` as poll `k` sees it. */
      const content = (k: number, i: number): Buffer => {
        const c = contents[k]?.[i];
        if (!c) throw new Error(`no content ${k} ${i}`);
        return c;
      };
      const whole = contents.at(-1) as Buffer[];
      const want = whole.map((data, i) => reference(data, paths[i] as string, owner(i), previewChars));
      expect(want[0]?.events.length).toBeGreaterThan(50);
      expect(want[0]?.rejects.length).toBeLessThan(100); // all located (one poll's allowance)
      let wantBytes = 0;
      for (let k = 0; k < polls.length; k++)
        for (let i = 0; i < 2; i++) {
          const from = k === 0 ? 0 : content(k - 1, i).lastIndexOf(NL) + 1;
          wantBytes += content(k, i).length - from;
        }
      expect(content(0, 0).length).toBeGreaterThan(CHUNK);

      for (const cfg of CONFIGS) {
        const label = `seed ${seed} ${JSON.stringify(cfg)}`;
        rmSync(sessionsDir, { recursive: true, force: true });
        mkdirSync(sessionsDir, { recursive: true });
        const reader = createJsonlReader(
          { agentDir: join(t.dir, "agents", "main"), agentId: "main", previewChars, ...cfg },
          t.db,
        );
        const got = [0, 1].map(() => ({ events: [] as UsageEvent[], rejects: [] as Reject[] }));
        const stats: Partial<SourceStats> = {};
        const fileOf = (ref: string) => paths.findIndex((p) => ref.startsWith(`${p}@`));
        const at = (ref: string) => Number(ref.slice(ref.lastIndexOf("@") + 1));
        for (let k = 0; k < polls.length; k++) {
          for (let i = 0; i < 2; i++) appendFileSync(paths[i] as string, polls[k]?.[i] as string);
          const batches: { events: UsageEvent[]; batch: SourceBatch }[] = [];
          await reader.poll((batch, id, packed) => {
            const events = packed ? unpackEvents(packed) : batch.events;
            for (const e of events) delete e.dedupeKey;
            batches.push({ events, batch });
            reader.committed(id);
          });
          const now = contents[k] as Buffer[];
          const last: (FileCursor | undefined)[] = [undefined, undefined];
          batches.forEach(({ events, batch }, n) => {
            const limit = n === 0 ? (cfg.firstBatchSize ?? cfg.batchSize) : cfg.batchSize;
            if (n < batches.length - 1) expect(events.length, `${label} poll ${k} batch ${n}`).toBe(limit);
            else expect(events.length).toBeLessThanOrEqual(limit);
            for (const e of events) got[fileOf(e.sourceRef)]?.events.push(e);
            for (const r of batch.rejects) got[fileOf(r.sourceRef)]?.rejects.push(r);
            for (const [key, v] of Object.entries(batch.stats))
              stats[key as keyof SourceStats] = (stats[key as keyof SourceStats] ?? 0) + (v as number);
            for (const c of batch.cursorMoves?.files ?? []) {
              const i = paths.indexOf(c.path);
              const data = now[i] as Buffer;
              // a line end, with the hashes of the bytes before it and of the first line
              expect(c.offset === 0 || data[c.offset - 1] === NL, label).toBe(true);
              expect(c.tail).toBe(
                c.offset === 0 ? null : sha(data.subarray(Math.max(0, c.offset - 256), c.offset)),
              );
              expect(c.head).toBe(sha(data.subarray(0, Math.min(data.indexOf(NL), 4096))));
              expect(c.size).toBe(data.length);
              // it covers this file's events of this batch and earlier ones, and no later one
              for (const later of batches.slice(n + 1))
                for (const e of later.events)
                  if (fileOf(e.sourceRef) === i)
                    expect(at(e.sourceRef), label).toBeGreaterThanOrEqual(c.offset);
              for (const e of events)
                if (fileOf(e.sourceRef) === i) expect(at(e.sourceRef)).toBeLessThan(c.offset);
              last[i] = c;
            }
            if (n < batches.length - 1) {
              // a full batch: its last call's file stops right after that call's line
              fills++;
              const e = events.at(-1) as UsageEvent;
              const i = fileOf(e.sourceRef);
              const c = batch.cursorMoves?.files?.find((f) => f.path === paths[i]);
              expect(c?.offset, label).toBe((now[i] as Buffer).indexOf(NL, at(e.sourceRef)) + 1);
            }
          });
          // after the poll every file's cursor is past its last complete line
          for (let i = 0; i < 2; i++)
            expect(last[i]?.offset, label).toBe((now[i] as Buffer).lastIndexOf(NL) + 1);
        }
        for (let i = 0; i < 2; i++) {
          expect(got[i]?.events, `${label} file ${i}`).toEqual(want[i]?.events);
          expect(got[i]?.rejects, `${label} file ${i}`).toEqual(want[i]?.rejects);
        }
        for (const key of ["lines", "malformed", "usageLines", "synthetic", "zeroUsage"] as const)
          expect(stats[key] ?? 0, `${label} ${key}`).toBe(
            (want[0]?.stats[key] ?? 0) + (want[1]?.stats[key] ?? 0),
          );
        expect(stats.bytes, label).toBe(wantBytes);
        expect(stats.rescans ?? 0).toBe(0);
      }
    }
    expect(fills).toBeGreaterThan(1000);
  }, 30_000);
});

describe("JSONL reader batch sizes", () => {
  // Since fc44eea the chunk loop flushes whenever the batch is not below its limit after a scan:
  // with 0 or NaN that is every time, and a poll emitted cursor-only batches without end.
  it("refuses a batch size that is not a positive integer, before reading anything", () => {
    const t = createTempDb();
    cleanup = t.cleanup;
    const agentDir = join(t.dir, "agents", "main");
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createJsonlReader({ agentDir, agentId: "main", batchSize: bad }, t.db)).toThrow(
        RangeError,
      );
      expect(() =>
        createJsonlReader({ agentDir, agentId: "main", batchSize: 10, firstBatchSize: bad }, t.db),
      ).toThrow(RangeError);
      expect(() => createJsonlSource({ agentDir, agentId: "main", db: t.db, batchSize: bad })).toThrow(
        /batchSize must be a positive integer/,
      );
    }
    expect(() =>
      createJsonlReader({ agentDir, agentId: "main", batchSize: 1, firstBatchSize: 1 }, t.db),
    ).not.toThrow();
  });
});
