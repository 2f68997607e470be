// A pretty-printed entry written without its final newline and the next entry appended right
// after its `}` (`}{…`) is read as two entries from the file's start too (case
// test/cases/pretty-entry-next-glued).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { assistantLine, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/pretty-entry-next-glued");
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

function inputs(w: TempWorld): number[] {
  return (
    w.db.prepare("SELECT input_tokens FROM usage_events ORDER BY input_tokens").all() as {
      input_tokens: number;
    }[]
  ).map((r) => r.input_tokens);
}

const pretty = (line: string) => JSON.stringify(JSON.parse(line), null, 2);

describe("case pretty-entry-next-glued: the entry glued after a pretty-printed one's `}`", () => {
  for (const readerThread of [true, false]) {
    it(`telegram:5551101 3 calls $0.02025 and telegram:5551202 3 calls $0.04725 (was 1 call each, $0.00375 and $0.01875, 80 malformed); reader thread ${readerThread}`, async () => {
      const { s, world: w } = await meterCaseDir(CASE, "calculate", { readerThread });
      worlds.push(w);
      expect(s).toMatchObject({ billed: 6, malformed: 0 });
      expect(
        Object.fromEntries(queryUsage(w.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]])),
      ).toEqual({ "telegram:5551101": [3, "0.02025"], "telegram:5551202": [3, "0.04725"] });
      const again = meterFor(w);
      expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0, rescans: 0 });
      again.close();
    });
  }

  it("in a gzipped archive: a compact entry and a pretty-printed one glued after `}`", async () => {
    const w = world();
    writeFileSync(
      join(sessionsDir(w), "s1.jsonl.deleted.2026-11-22T19-05-00.000Z.gz"),
      gzipSync(
        `${pretty(assistantLine(T0, 100))}${assistantLine(T0 + 1_000, 200)}\n` +
          `${pretty(assistantLine(T0 + 2_000, 300))}${pretty(assistantLine(T0 + 3_000, 400))}\n` +
          `${assistantLine(T0 + 4_000, 500)}\n`,
      ),
    );
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 5, malformed: 0 });
    m.close();
    expect(inputs(w)).toEqual([100, 200, 300, 400, 500]);
  });

  it("read live across two polls, then from the start by a new database: the same calls", async () => {
    const w = world();
    const file = join(sessionsDir(w), "s1.jsonl");
    writeFileSync(file, `${assistantLine(T0, 100)}\n${pretty(assistantLine(T0 + 1_000, 200))}`);
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 2, malformed: 0 });
    appendFileSync(file, `${assistantLine(T0 + 2_000, 300)}\n`);
    expect(await m.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    m.close();
    expect(inputs(w)).toEqual([100, 200, 300]);
    const fresh = tempWorld(w.stateDir); // a copy: new inodes, a new database
    worlds.push(fresh);
    const n = meterFor(fresh);
    expect(await n.runOnce()).toMatchObject({ billed: 3, malformed: 0 });
    n.close();
    expect(inputs(fresh)).toEqual([100, 200, 300]);
  });
});
