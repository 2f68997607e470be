import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case entry-copy-in-logrotate-copy: the partial copy of entry `4c2e9b10` billed from the live
 * transcript, then the file copied (partial and final copy) to `<id>.jsonl.1` and emptied
 * (logrotate copytruncate): the copy's final line took the partial's place in its batch and was
 * billed whole on top of it ($0.022425); now only what it adds to the billed partial ($0.01755).
 */
const NAME = "entry-copy-in-logrotate-copy";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "8c4d2e61-5a7b-4c93-8e1f-2b6a9d0c3e58";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const LATER = readFileSync(join(CASE, "appended.jsonl"), "utf8");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const RIGHT = { key: "telegram:5550921", input: 4500, output: 270, costUsd: "0.01755" };
const usageOf = () => queryUsage((w as TempWorld).db, { by: "user" });

describe(`case ${NAME}: a final copy read from another file bills only what it adds to its billed partial`, () => {
  for (const readerThread of [true, false]) {
    it(`$0.01755 (was $0.022425), reader thread ${readerThread}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const live = join(w.stateDir, SESSION);
      const meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 2 });
      appendFileSync(live, LATER);
      writeFileSync(`${live}.1`, readFileSync(live));
      writeFileSync(live, "");
      await meter.runOnce();
      expect(await meter.runOnce()).toMatchObject({ billed: 0 });
      meter.close();
      expect(usageOf()).toMatchObject([RIGHT]);
    });
  }

  it("the copy read alone (nothing billed before) bills the final copy whole: the same total", async () => {
    w = tempWorld(join(CASE, "state"));
    const live = join(w.stateDir, SESSION);
    appendFileSync(live, LATER);
    writeFileSync(`${live}.1`, readFileSync(live));
    writeFileSync(live, "");
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 3 });
    meter.close();
    expect(usageOf()).toMatchObject([{ ...RIGHT, requests: 3 }]);
  });

  it("the live file and its copy read in one poll: the same total", async () => {
    w = tempWorld(join(CASE, "state"));
    const live = join(w.stateDir, SESSION);
    appendFileSync(live, LATER);
    writeFileSync(`${live}.1`, readFileSync(live));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    meter.close();
    expect(usageOf()).toMatchObject([{ ...RIGHT, requests: 3 }]);
  });
});
