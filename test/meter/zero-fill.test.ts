// A crash's zero fill (NUL bytes) in a transcript: the complete entries around it are billed
// (case test/cases/zero-filled-crash-tail; anthropics/claude-code#49876, openclaw/openclaw#119887).
import { appendFileSync, closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { eachLine } from "../../src/meter/sources/batch-builder.js";
import { assistantLine, meterFor, type TempWorld, tempWorld, totalsBy } from "../support/meter-env.js";
import { zstdStore } from "../support/zstd.js";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const T0 = 1_795_371_100_000;
const zeros = (n: number) => "\0".repeat(n);

function sessionsDir(world: TempWorld): string {
  const dir = join(world.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "sessions.json"),
    JSON.stringify({ "agent:main:telegram:direct:5550101": { sessionId: "s1", lastChannel: "telegram" } }),
  );
  return dir;
}

describe("NUL bytes in a live transcript", () => {
  it("end a line: calls before, after and between runs are billed once, a zeroed record stays malformed", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const cut = assistantLine(T0 + 3).slice(0, 90); // a record whose end was zeroed
    writeFileSync(
      join(dir, "s1.jsonl"),
      `${assistantLine(T0)}${zeros(512)}${assistantLine(T0 + 1)}\n` +
        `${zeros(300)}${assistantLine(T0 + 2)}\n${cut}${zeros(40)}\n${zeros(7)}\n`,
    );
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 3, malformed: 1 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    meter.close();
    expect(totalsBy(w.db, "account_id").get("telegram:5550101")?.requests).toBe(3);
  });

  it("binary garbage holding NULs is one malformed line, not one per piece", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const garbage = Buffer.from(
      Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256).filter((b) => b !== 10),
    );
    writeFileSync(
      join(dir, "s1.jsonl"),
      Buffer.concat([
        Buffer.from(`${assistantLine(T0)}\n`),
        garbage,
        Buffer.from(`\n${assistantLine(T0 + 1)}\n`),
      ]),
    );
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 2, malformed: 1 });
    meter.close();
  });

  it("a file ending in a call and a zero fill bills it at once; the writer's next append is read after the fill", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const file = join(dir, "s1.jsonl");
    writeFileSync(file, `${assistantLine(T0)}\n${assistantLine(T0 + 1)}${zeros(4096)}`);
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 2, malformed: 0 });
    // after the restart the writer appends past the fill: a line of its own, and a half line that waits
    appendFileSync(file, `${assistantLine(T0 + 2)}\n${assistantLine(T0 + 3).slice(0, 50)}`);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    appendFileSync(file, `${assistantLine(T0 + 3).slice(50)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    meter.close();
    expect(totalsBy(w.db, "account_id").get("telegram:5550101")?.requests).toBe(4);
  });

  it("zeros seen only for a moment (data not visible yet) are re-read when the bytes arrive: billed once", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    const file = join(dir, "s1.jsonl");
    const first = `${assistantLine(T0)}\n`;
    const second = `${assistantLine(T0 + 1, 100, [{ type: "text", text: "x".repeat(400) }])}\n`;
    // the size already covers the second line, its bytes still read as zeros
    writeFileSync(file, first + zeros(Buffer.byteLength(second)));
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    const fd = openSync(file, "r+");
    writeSync(fd, second, Buffer.byteLength(first));
    closeSync(fd);
    expect(await meter.runOnce()).toMatchObject({ billed: 1, duplicates: 1 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    meter.close();
  });

  it("a fill longer than a read chunk (1 MiB) costs one line end, and the call after it is billed", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    writeFileSync(
      join(dir, "s1.jsonl"),
      `${assistantLine(T0)}${zeros(3 * 1024 * 1024 + 17)}${assistantLine(T0 + 1)}\n`,
    );
    const meter = meterFor(w);
    const started = Date.now();
    const s = await meter.runOnce();
    meter.close();
    expect(s).toMatchObject({ billed: 2, malformed: 0 });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe("NUL bytes in archives", () => {
  it("eachLine splits at a NUL run; line numbers count newlines; later garbage pieces of a line are dropped", () => {
    const content = Buffer.from(
      `{"a":1}${zeros(3)}{"b":2}\n${zeros(2)}{"c":3}\n{"d":4}${zeros(5)}\nxx${zeros(1)}yy${zeros(1)}{"e":5}`,
    );
    const lines = [...eachLine(content)].map(([line, no, at]) => [line.toString("utf8"), no, at]);
    expect(lines).toEqual([
      ['{"a":1}', 1, 0],
      ['{"b":2}', 1, 10],
      ['{"c":3}', 2, 20],
      ['{"d":4}', 3, 28],
      ["xx", 4, 41],
      ['{"e":5}', 4, 47],
    ]);
  });

  it("a reset archive and a zstd deleted archive ending in their last call and a NUL tail bill every call", async () => {
    w = tempWorld();
    const dir = sessionsDir(w);
    writeFileSync(
      join(dir, "s1.jsonl.reset.2026-11-22T19-05-00.000Z"),
      `${assistantLine(T0)}\n${assistantLine(T0 + 1)}${zeros(284)}`,
    );
    writeFileSync(
      join(dir, "s2.jsonl.deleted.2026-11-22T19-06-00.000Z.0123456789abcdef0123456789abcdef.zst"),
      zstdStore(Buffer.from(`${assistantLine(T0 + 2)}\n${assistantLine(T0 + 3)}${zeros(284)}`)),
    );
    const meter = meterFor(w);
    expect(await meter.runOnce()).toMatchObject({ billed: 4, malformed: 0 });
    meter.close();
  });
});
