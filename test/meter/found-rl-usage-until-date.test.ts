// `creditgate usage --until D` with a date alone excluded day D (`--since D --until D` was empty),
// while `report --to D` and ccusage's `--until` include it. Since 2026-12-04 a date-only `--until`
// (and `--until today`) runs through the end of that UTC day; a date-time stays exclusive, and
// the HTTP API's `to` keeps its contract (exclusive for a date too: the console asks for the
// next day itself).
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseTimeArg, parseUntilArg } from "../../src/meter/report.js";
import { runCli as run } from "../support/cli.js";
import { meterCaseDir, type TempWorld } from "../support/meter-env.js";

// three calls on 2026-12-03 (UTC): 12:13:22, 12:14:20.250, 12:15:20 (case of found-rl-epoch-seconds)
const CASE = join(resolve(import.meta.dirname, "../cases"), "message-timestamp-epoch-seconds");
const NOW = Date.parse("2026-12-04T01:00:00Z");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("parseUntilArg: a date alone is included", () => {
  it("a date or today ends at the next UTC midnight; a date-time or a relative time is as parseTimeArg", () => {
    expect(parseUntilArg("2026-12-03", NOW)).toBe(Date.parse("2026-12-04T00:00:00Z"));
    expect(parseUntilArg(" 2026-02-28 ", NOW)).toBe(Date.parse("2026-03-01T00:00:00Z"));
    expect(parseUntilArg("2028-02-29", NOW)).toBe(Date.parse("2028-03-01T00:00:00Z"));
    expect(parseUntilArg("2026-12-31", NOW)).toBe(Date.parse("2027-01-01T00:00:00Z"));
    expect(parseUntilArg("today", NOW)).toBe(Date.parse("2026-12-05T00:00:00Z"));
    for (const t of [
      "2026-12-03T00:00:00Z",
      "2026-12-03T00:00",
      "2026-12-03 12:00:00+02:00",
      "7d",
      "12h",
      "30m",
    ])
      expect(parseUntilArg(t, NOW), t).toBe(parseTimeArg(t, NOW));
    for (const bad of ["2026-02-30", "yesterday", "2026-12-03x"])
      expect(() => parseUntilArg(bad, NOW)).toThrow(/cannot read time/);
  });
});

describe("creditgate usage --until D", () => {
  it("--since D --until D is day D (was empty); a date-time --until stays exclusive", async () => {
    const r = await meterCaseDir(CASE, "calculate");
    w = r.world;
    expect(r.s).toMatchObject({ billed: 3 });
    w.db.close();
    const usage = async (...args: string[]) =>
      JSON.parse(
        (await run({}, ["--db", (w as TempWorld).dbPath, "--json", "usage", "--by", "day", ...args])).out,
      );
    expect(await usage("--since", "2026-12-03", "--until", "2026-12-03")).toMatchObject([
      { key: "2026-12-03", requests: 3, costUsd: "0.02325" },
    ]);
    expect(await usage("--until", "2026-12-03")).toMatchObject([{ key: "2026-12-03", requests: 3 }]);
    expect(await usage("--until", "2026-12-02")).toEqual([]);
    // a date-time is the instant it names, exclusive: the first call only
    expect(await usage("--since", "2026-12-03", "--until", "2026-12-03T12:14:00Z")).toMatchObject([
      { key: "2026-12-03", requests: 1 },
    ]);
    expect(await usage("--since", "2026-12-03", "--until", "2026-12-03T12:15:20Z")).toMatchObject([
      { key: "2026-12-03", requests: 2 },
    ]);
  });
});
