// Transcript bytes a naive line reader drops: byte order marks that begin a line mid-file
// (transcripts joined with `cat`, a BOM-writing append) and an archive's last line without its
// newline, an archive an operator's rotation gzipped (cases test/cases/bom-joined-transcript,
// test/cases/archive-last-line-unterminated, test/cases/gzip-rotated-archive).
import { appendFileSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { eachLine } from "../../src/meter/sources/batch-builder.js";
import { classifyTranscriptFile } from "../../src/meter/sources/classify.js";
import { decodeMaybeZstd } from "../../src/meter/sources/zst.js";
import {
  assistantLine,
  meterCaseDir,
  meterFor,
  type TempWorld,
  tempWorld,
  totalsBy,
} from "../support/meter-env.js";

const CASES = resolve(import.meta.dirname, "../cases");
const T0 = 1_795_371_100_000;
const BOM = "\ufeff";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function sessionsDir(world: TempWorld): string {
  const dir = join(world.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "sessions.json"),
    JSON.stringify({ "agent:main:telegram:direct:5550101": { sessionId: "s1", lastChannel: "telegram" } }),
  );
  return dir;
}

function byUser(world: TempWorld): Record<string, [number, string]> {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]]),
  );
}

describe("case bom-joined-transcript: a line that begins with byte order marks is read", () => {
  it("telegram:5550201 3 calls $0.0225, nothing malformed (was 1 call $0.00375 + 2 malformed)", async () => {
    const { s, world } = await meterCaseDir(join(CASES, "bom-joined-transcript"));
    w = world;
    expect(s).toMatchObject({ billed: 3, malformed: 0 });
    expect(byUser(world)).toEqual({ "telegram:5550201": [3, "0.0225"] });
    const again = meterFor(world);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  it("a BOM-led entry appended to a live file between polls is billed once", async () => {
    w = tempWorld();
    const file = join(sessionsDir(w), "s1.jsonl");
    writeFileSync(file, `${BOM}${assistantLine(T0)}\n`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    appendFileSync(file, `${BOM}${assistantLine(T0 + 1)}\r\n \t${BOM}${BOM}${assistantLine(T0 + 2)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 2, malformed: 0 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    meter.close();
    expect(totalsBy(w.db, "account_id").get("telegram:5550101")?.requests).toBe(3);
  });

  it("archives read whole (eachLine: .zst, store archive blobs) skip them too; a BOM inside a line is kept", () => {
    const inner = '{"text":"a\ufeffb"}';
    const content = Buffer.from(`${BOM}{"a":1}\n${BOM}${BOM}{"b":2}\r\n${inner}\n${BOM}\n`);
    expect([...eachLine(content)].map(([line]) => line.toString("utf8"))).toEqual([
      '{"a":1}',
      '{"b":2}',
      inner,
    ]);
  });
});

describe("case archive-last-line-unterminated: an archive's last line without a newline is billed", () => {
  it("telegram:5550301 2 calls $0.02625 (was 1 call $0.01125: the last call waited for good)", async () => {
    const { s, world } = await meterCaseDir(join(CASES, "archive-last-line-unterminated"));
    w = world;
    expect(s).toMatchObject({ billed: 2, malformed: 0 });
    expect(byUser(world)).toEqual({ "telegram:5550301": [2, "0.02625"] });
    const again = meterFor(world);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  it("a live file's unterminated last line is billed (since 2026-12-04); renamed to .reset, nothing twice", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const file = join(dir, "s1.jsonl");
    writeFileSync(file, `${assistantLine(T0)}\n${assistantLine(T0 + 1)}`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 2 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    renameSync(file, join(dir, "s1.jsonl.reset.2026-11-22T19-05-00.000Z"));
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    meter.close();
    expect(totalsBy(w.db, "account_id").get("telegram:5550101")?.requests).toBe(2);
  });

  it("an archive's torn last fragment (cannot be complete JSON) still waits: not billed, not counted", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    writeFileSync(
      join(dir, "s1.jsonl.deleted.2026-11-22T19-05-00.000Z"),
      `${assistantLine(T0)}\n${assistantLine(T0 + 1).slice(0, 80)}`,
    );
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    meter.close();
  });

  it("a backup still being copied that ends just after a nested `}` waits for the rest, then bills it once", async () => {
    w = tempWorld();
    const file = join(sessionsDir(w), "s1.jsonl.bak-4242-1795371100000");
    const last = assistantLine(T0 + 1);
    const cut = last.lastIndexOf("}", last.length - 2) + 1; // the message object's end: not the line's
    writeFileSync(file, `${assistantLine(T0)}\n${last.slice(0, cut)}`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    appendFileSync(file, last.slice(cut));
    expect(await meter.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    meter.close();
    expect(totalsBy(w.db, "account_id").get("telegram:5550101")?.requests).toBe(2);
  });
});

describe("case gzip-rotated-archive: a gzipped .deleted/.reset archive is decoded and billed", () => {
  it("telegram:5550401 2 calls $0.01125, nothing malformed (was nothing billed, 2 malformed lines)", async () => {
    const { s, world } = await meterCaseDir(join(CASES, "gzip-rotated-archive"));
    w = world;
    expect(s).toMatchObject({ billed: 2, malformed: 0 });
    expect(byUser(world)).toEqual({ "telegram:5550401": [2, "0.01125"] });
    const again = meterFor(world);
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  it("a live file partly read, then archived and gzipped: its unread tail is billed once, the rest absorbed", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const file = join(dir, "s1.jsonl");
    writeFileSync(file, `${assistantLine(T0)}\n`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 1 });
    appendFileSync(file, `${assistantLine(T0 + 1)}\n`);
    const archive = join(dir, "s1.jsonl.reset.2026-11-22T19-05-00.000Z");
    renameSync(file, archive);
    writeFileSync(`${archive}.gz`, gzipSync(readFileSync(archive)));
    unlinkSync(archive);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, duplicates: 1, malformed: 0 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    meter.close();
    expect(totalsBy(w.db, "account_id").get("telegram:5550101")?.requests).toBe(2);
  });

  it("gzip (every member of a concatenated stream) decodes; a .gz name is never tailed as text", () => {
    const two = Buffer.concat([gzipSync('{"a":1}\n'), gzipSync('{"b":2}\n')]);
    expect(decodeMaybeZstd(two).toString()).toBe('{"a":1}\n{"b":2}\n');
    expect(decodeMaybeZstd(Buffer.from('{"a":1}\n')).toString()).toBe('{"a":1}\n');
    expect(classifyTranscriptFile("s1.jsonl.deleted.2026-11-22T19-05-00.000Z.gz")).toBeNull();
    expect(classifyTranscriptFile("s1.jsonl.deleted.2026-11-22T19-05-00.000Z")).toMatchObject({
      archived: true,
    });
  });
});
