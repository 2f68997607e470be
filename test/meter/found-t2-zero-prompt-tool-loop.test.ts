import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/**
 * Case reply-copy-rule-zero-prompt-tool-loop: a tool loop's second poll, of an upstream that
 * reports output tokens only (input, cache read and cache write 0), with the same model-made tool
 * call id, was skipped as a rewritten copy of the first (isRewrittenCopy): nothing but the prompt
 * counts tells such calls apart, and there are none.
 */
const NAME = "reply-copy-rule-zero-prompt-tool-loop";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe(`case ${NAME}: replies without prompt counts are never taken for copies`, () => {
  it("telegram:5550911 3 calls $0.00132 (was 2 calls, $0.00075)", async () => {
    const r = await meterCaseDir(CASE);
    w = r.world;
    expect(r.s).toMatchObject({ billed: 3, duplicates: 0, malformed: 0 });
    expect(queryUsage(w.db, { by: "user" })).toMatchObject([
      { key: "telegram:5550911", requests: 3, output: 88, costUsd: "0.00132" },
    ]);
  });
});
