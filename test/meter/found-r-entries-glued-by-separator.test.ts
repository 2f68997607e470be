import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { gluedEntry } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/** Case entries-glued-by-separator: `{a},{b}` lost both calls, `{a};{b}` lost `a` ($0.06975 → $0.114). */
const NAME = "entries-glued-by-separator";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe(`case ${NAME}`, () => {
  for (const readerThread of [true, false]) {
    it(`8 calls, $0.114 (was 5 calls, $0.06975), reader thread ${readerThread}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 8 });
      meter.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([
        { key: "telegram:5550801", requests: 8, input: 36000, output: 400, costUsd: "0.114" },
      ]);
    });
  }

  it("gluedEntry: a separator after a closed head splits; a `{` after `,` inside the head stays nested", () => {
    const a = '{"type":"message","id":"a","n":1}';
    const b = '{"type":"message","id":"b","n":2}';
    for (const sep of [",", ";", ", ", " ;\u001a"]) {
      const g = gluedEntry(`${a}${sep}${b}`);
      expect(g?.head).toMatchObject({ id: "a" });
      expect(g?.entry).toMatchObject({ id: "b" });
    }
    // a cut-off fragment whose nested array holds an entry-shaped value: never taken
    expect(gluedEntry(`{"type":"message","x":[1,${b}`)).toBeNull();
  });
});
