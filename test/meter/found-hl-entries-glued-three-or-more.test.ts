import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gluedEntries } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case entries-glued-three-or-more: three or more complete entries on one line (`{a}{b}{c}`,
 * `{a},{b},{c}`, `{a};{b};{c};{d}`, `{a} {b} {c}`, and two entries glued after a cut-off fragment)
 * kept only the last entry of each line: 5 calls $0.06885 + 5 malformed → 15 calls $0.19575 + 1
 * malformed (the fragment).
 */
const NAME = "entries-glued-three-or-more";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const entry = (id: string) => `{"type":"message","id":"${id}","n":[{"type":"text"}]}`;
const ids = (text: string) => gluedEntries(text)?.entries.map((e) => e.entry.id);

describe(`case ${NAME}`, () => {
  for (const readerThread of [true, false]) {
    it(`15 calls, $0.19575, 1 malformed (was 5 calls, $0.06885, 5 malformed), reader thread ${readerThread}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 15, malformed: 1 });
      expect((await meter.runOnce()).billed).toBe(0);
      meter.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([
        { key: "telegram:5550831", requests: 15, input: 61500, output: 750, costUsd: "0.19575" },
      ]);
    });
  }

  it("gluedEntries: every entry in line order, the fragment before them reported", () => {
    const [a, b, c, d] = ["a", "b", "c", "d"].map(entry) as [string, string, string, string];
    for (const sep of ["", ",", ";", " ", " ;\u001a", ", "]) {
      expect(ids([a, b, c].join(sep))).toEqual(["a", "b", "c"]);
      expect(ids([a, b, c, d].join(sep))).toEqual(["a", "b", "c", "d"]);
      expect(gluedEntries([a, b, c].join(sep))?.fragment).toBe(false);
    }
    const frag = '{"type":"message","id":"f","usage":{"input":9';
    const g = gluedEntries(`${frag}${b}${c}${d}`);
    expect(g?.entries.map((e) => e.entry.id)).toEqual(["b", "c", "d"]);
    expect(g?.fragment).toBe(true);
    expect(g?.entries[0]?.at).toBe(frag.length);
    // two entries: as gluedEntry read them
    expect(ids(`${a}${b}`)).toEqual(["a", "b"]);
    expect(gluedEntries(`${frag}${b}`)).toMatchObject({ fragment: true, entries: [{ at: frag.length }] });
    // an entry-shaped value nested in a fragment is never taken
    expect(gluedEntries(`{"type":"message","x":[1,${b}`)).toBeNull();
  });
});
