// An entry pretty-printed over several lines whose own `{` does not group (cut by a crash, not
// JSON) must not make the reader search ahead again from each of its inner lone `{` lines: that
// made such an entry quadratic (case test/cases/pretty-entry-inner-brace-rescan).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { assistantLine, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/pretty-entry-inner-brace-rescan");
const T0 = 1_795_371_100_000;
// No timing assertion (benchmarks are scripts): an entry with 20,000 inner `{` lines took ~30 s to
// read before the fix (each searched ahead again) and well under a second after, so a regression
// fails these tests at vitest's 30 s test timeout, not on a wall-clock bound of their own.

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

function inputs(w: TempWorld): number[] {
  return (
    w.db.prepare("SELECT input_tokens FROM usage_events ORDER BY input_tokens").all() as {
      input_tokens: number;
    }[]
  ).map((r) => r.input_tokens);
}

/** An assistant entry with `blocks` content blocks, pretty-printed (2 spaces): one `    {` line each. */
function prettyWithBlocks(tsMs: number, input: number, blocks: number): string {
  const e = JSON.parse(assistantLine(tsMs, input));
  e.message.content = Array.from({ length: blocks }, (_, i) => ({ type: "text", text: `part ${i}` }));
  return JSON.stringify(e, null, 2);
}

describe("case pretty-entry-inner-brace-rescan: an entry that does not group is read in linear time", () => {
  it("the case: telegram:5551101 2 calls $0.0105, the crash-cut entry's lines malformed", async () => {
    const { s, world: w } = await meterCaseDir(CASE, "calculate");
    worlds.push(w);
    expect(s).toMatchObject({ billed: 2 });
    expect(
      Object.fromEntries(queryUsage(w.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]])),
    ).toEqual({ "telegram:5551101": [2, "0.0105"] });
  });

  it("a live file: an entry cut by a crash with 20,000 inner `{` lines, then compact entries", async () => {
    const w = world();
    const pretty = prettyWithBlocks(T0 + 1_000, 999, 20_000);
    const cut = pretty.slice(0, pretty.length - 300); // the crash: its last lines never written
    writeFileSync(
      join(sessionsDir(w), "s1.jsonl"),
      `${assistantLine(T0, 100)}\n${cut}\n${assistantLine(T0 + 2_000, 200)}\n${assistantLine(T0 + 3_000, 300)}\n`,
    );
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 3 });
    expect(await m.runOnce()).toMatchObject({ billed: 0 });
    m.close();
    expect(inputs(w)).toEqual([100, 200, 300]);
  });

  it("a gzipped archive: Python's json.dump(indent=2) wrote NaN (no JSON), 20,000 inner `{` lines", async () => {
    const w = world();
    const pretty = prettyWithBlocks(T0 + 1_000, 999, 20_000).replace(
      '"input": 999',
      '"input": 999, "score": NaN',
    );
    expect(pretty).toContain('"score": NaN');
    writeFileSync(
      join(sessionsDir(w), "s1.jsonl.deleted.2026-11-22T19-05-00.000Z.gz"),
      gzipSync(`${assistantLine(T0, 100)}\n${pretty}\n${assistantLine(T0 + 2_000, 200)}\n`),
    );
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 2 });
    m.close();
    expect(inputs(w)).toEqual([100, 200]);
  });
});

// A crash's zero fill inside a pretty-printed entry cut mid-write, and the next entry appended
// right after the fill on the same physical line: the grouping took that line for an indented
// line of the cut entry and waited for its `}`, so the call after the fill, the session's last,
// was not billed (case test/cases/pretty-entry-cut-by-zero-fill).
describe("case pretty-entry-cut-by-zero-fill: the entry after a crash's zero fill is billed at once", () => {
  const ZERO_CASE = resolve(import.meta.dirname, "../cases/pretty-entry-cut-by-zero-fill");
  for (const readerThread of [true, false]) {
    it(`telegram:5551101 2 calls $0.015 (was 1 call $0.003); reader thread ${readerThread}`, async () => {
      const { s, world: w } = await meterCaseDir(ZERO_CASE, "calculate", { readerThread });
      worlds.push(w);
      expect(s).toMatchObject({ billed: 2 });
      expect(
        Object.fromEntries(queryUsage(w.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]])),
      ).toEqual({ "telegram:5551101": [2, "0.015"] });
    });
  }

  it("written across two polls: the cut entry waits, then a 4 KiB fill and the next call bill it", async () => {
    const w = world();
    const file = join(sessionsDir(w), "s1.jsonl");
    const pretty = JSON.stringify(JSON.parse(assistantLine(T0 + 1_000, 999)), null, 2);
    writeFileSync(file, `${assistantLine(T0, 100)}\n${pretty.slice(0, pretty.indexOf('"usage"') + 4)}`);
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 1 });
    appendFileSync(
      file,
      Buffer.concat([Buffer.alloc(4096), Buffer.from(`${assistantLine(T0 + 2_000, 200)}\n`)]),
    );
    expect(await m.runOnce()).toMatchObject({ billed: 1 });
    m.close();
    expect(inputs(w)).toEqual([100, 200]);
  });
});
