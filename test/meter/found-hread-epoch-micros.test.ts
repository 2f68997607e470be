import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld } from "../support/meter-env.js";

/**
 * Case message-timestamp-epoch-micros: a `message.timestamp` in epoch microseconds (16 digits) or
 * nanoseconds (19) was read as milliseconds (the year 58136) and the call held for review.
 */
const NAME = "message-timestamp-epoch-micros";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "8c1e5a73-2f9d-4b06-9e4a-71d3c0b8f25e";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const TEXT = readFileSync(join(CASE, "state", SESSION), "utf8");
const LINES = TEXT.trimEnd().split("\n");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const RIGHT = { key: "telegram:5550863", requests: 3, input: 6000, output: 350, costUsd: "0.02325" };

function usageOf(text: string): ParsedUsage {
  const r = parseLine(text);
  if (r.kind !== "usage") throw new Error(`not a call: ${r.kind}`);
  return r.usage;
}

/** The identity the reader before 2026-12-04 gave the line: its number read as milliseconds. */
function keyBefore(text: string): string {
  const { identityTsMs: _its, ...rest } = usageOf(text);
  return dedupeKey({ ...rest, messageTsMs: Math.trunc(JSON.parse(text).message.timestamp as number) });
}

describe(`case ${NAME}: a message.timestamp in epoch µs or ns is billed at its real time`, () => {
  it("reads µs and ns, leaves ms and seconds as they were", () => {
    expect(usageOf(LINES[2] as string)).toMatchObject({
      messageTsMs: 1796300002000,
      identityTsMs: 1796300002000000,
    });
    expect(usageOf(LINES[4] as string).messageTsMs).toBe(1796300060250);
    expect(usageOf(LINES[6] as string).identityTsMs).toBeUndefined();
    expect(parseLine(LINES[1] as string)).toMatchObject({ kind: "user", atMs: 1796300000000 });
    const at = (t: number) => {
      const e = JSON.parse(LINES[2] as string);
      e.message.timestamp = t;
      return usageOf(JSON.stringify(e));
    };
    expect(at(1796300002).messageTsMs).toBe(1796300002000);
    expect(at(99_999_999_999_999).messageTsMs).toBe(99_999_999_999_999);
    expect(at(99_999_999_999_999).identityTsMs).toBeUndefined();
    expect(at(1e14).messageTsMs).toBe(1e11);
    expect(at(1e20).messageTsMs).toBe(1e20);
    expect(at(1e20).identityTsMs).toBeUndefined();
  });

  for (const readerThread of [true, false]) {
    it(`telegram:5550863 3 calls $0.02325 on 2026-12-03 (was 1 call $0.00375, 2 held), reader thread ${readerThread}`, async () => {
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      expect(r.s).toMatchObject({ billed: 3, held: 0, duplicates: 0, malformed: 0 });
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
      expect(queryUsage(w.db, { by: "day" })).toMatchObject([
        { key: "2026-12-03", requests: 3, costUsd: "0.02325" },
      ]);
      const rows = w.db.prepare("SELECT dedupe_key AS k FROM usage_events").all() as { k: string }[];
      // identities as the reader before gave them: a call held then (and perhaps released) is a duplicate
      expect(rows.map((x) => x.k).sort()).toEqual(
        [LINES[2], LINES[4], LINES[6]].map((l) => keyBefore(l as string)).sort(),
      );
      writeFileSync(
        join(w.stateDir, "agents/main/sessions", `${SID}.jsonl.reset.2026-12-03T13-00-00.000Z`),
        TEXT,
      );
      const again = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect((await again.runOnce()).billed).toBe(0);
      again.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
    });
  }
});
