// A live transcript whose last line is a complete entry without a newline after it: billed (case
// test/cases/live-last-line-unterminated).
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { assistantLine, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

const CASE = resolve(import.meta.dirname, "../cases/live-last-line-unterminated");
const T0 = 1_795_371_100_000;

let worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});

function byUser(w: TempWorld): Record<string, [number, string]> {
  return Object.fromEntries(queryUsage(w.db, { by: "user" }).map((r) => [r.key, [r.requests, r.costUsd]]));
}

describe("case live-last-line-unterminated: a live transcript's complete last line without a newline is billed", () => {
  for (const readerThread of [true, false]) {
    it(`telegram:5551001 2 calls $0.0105 (was 1 call $0.00375); reader thread ${readerThread}`, async () => {
      const { s, world: w } = await meterCaseDir(CASE, "calculate", { readerThread });
      worlds.push(w);
      expect(s).toMatchObject({ billed: 2, malformed: 0 });
      expect(byUser(w)).toEqual({ "telegram:5551001": [2, "0.0105"] });
      const again = meterFor(w);
      expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0, rescans: 0 });
      again.close();
    });
  }

  for (const [name, next] of [
    ["a newline then an entry", (l: string) => `\n${l}\n`],
    ["an entry glued right after it", (l: string) => `${l}\n`],
  ] as const) {
    it(`appended after it later (${name}): only the new call is billed, nothing malformed`, async () => {
      const w = tempWorld();
      worlds.push(w);
      const dir = join(w.stateDir, "agents", "main", "sessions");
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, "sessions.json"),
        JSON.stringify({
          "agent:main:telegram:direct:5550101": { sessionId: "s1", lastChannel: "telegram" },
        }),
      );
      const file = join(dir, "s1.jsonl");
      writeFileSync(file, `${assistantLine(T0)}\n${assistantLine(T0 + 1_000)}`);
      const m = meterFor(w);
      expect(await m.runOnce()).toMatchObject({ billed: 2, malformed: 0 });
      appendFileSync(file, next(assistantLine(T0 + 2_000)));
      expect(await m.runOnce()).toMatchObject({ billed: 1, malformed: 0, duplicates: 0, rescans: 0 });
      expect(await m.runOnce()).toMatchObject({ billed: 0 });
      m.close();
    });
  }

  it("a live file's last line that is not a whole object yet (an append under way) still waits, not counted", async () => {
    const w = tempWorld();
    worlds.push(w);
    const dir = join(w.stateDir, "agents", "main", "sessions");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "s1.jsonl");
    const last = assistantLine(T0 + 1_000);
    const cut = last.lastIndexOf("}", last.length - 2) + 1; // a nested object's end: not the line's
    writeFileSync(file, `${assistantLine(T0)}\n${last.slice(0, cut)}`);
    const m = meterFor(w);
    expect(await m.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    appendFileSync(file, `${last.slice(cut)}\n`);
    expect(await m.runOnce()).toMatchObject({ billed: 1, malformed: 0 });
    m.close();
  });
});
