import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

/** A `-fast` Claude id whose line says it ran at standard speed is billed the standard price (r-b). */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("case fast-id-served-standard: the served speed wins over the -fast id", () => {
  for (const mode of ["calculate", "auto", "recorded"] as const) {
    it(`${mode}: telegram:5551933 3 calls $0.60, not $1.50`, async () => {
      const r = await meterCaseDir(join(CASES, "fast-id-served-standard"), mode);
      w = r.world;
      expect(r.s).toMatchObject({ billed: 3, unknownModels: [] });
      expect(queryUsage(w.db, { by: "user" })).toEqual([
        expect.objectContaining({ key: "telegram:5551933", requests: 3, costUsd: "0.6" }),
      ]);
      const rows = w.db
        .prepare("SELECT cost_pico_usd AS c, price_version AS v FROM usage_events ORDER BY message_ts_ms")
        .all() as { c: number | bigint; v: string }[];
      // Opus 4.6 / 4.8 at standard speed ($5 / $25 per 1M: $0.15), the last with no speed stated at fast mode (2x)
      expect(rows.map((x) => [Number(x.c), x.v.endsWith("+speed:fast")])).toEqual([
        [150_000_000_000, false],
        [150_000_000_000, false],
        [300_000_000_000, true],
      ]);
    });
  }
});
