// `usage --since/--until` (and GET /v1/usage, the console's data routes) read a date-time without
// a zone as UTC, like a date alone and like the report's days, whatever the host's TZ (case
// test/cases/usage-since-without-zone; before 2026-12-03 Date.parse read it in the host's zone).
import { afterEach, describe, expect, it } from "vitest";
import { parseTimeArg } from "../../src/meter/report.js";

const saved = process.env.TZ;
afterEach(() => {
  if (saved === undefined) delete process.env.TZ;
  else process.env.TZ = saved;
});

const NOW = Date.parse("2026-12-03T01:00:00Z");
const MIDNIGHT = Date.parse("2026-09-21T00:00:00Z");

describe("parseTimeArg", () => {
  for (const tz of ["UTC", "Asia/Tokyo", "America/New_York", "Asia/Kathmandu"]) {
    it(`reads a date-time without a zone as UTC under TZ=${tz}`, () => {
      process.env.TZ = tz;
      if (tz !== "UTC") expect(Date.parse("2026-09-21T00:00:00")).not.toBe(MIDNIGHT); // the host zone is in effect
      expect(parseTimeArg("2026-09-21", NOW)).toBe(MIDNIGHT);
      expect(parseTimeArg("2026-09-21T00:00:00", NOW)).toBe(MIDNIGHT);
      expect(parseTimeArg("2026-09-21T00:00", NOW)).toBe(MIDNIGHT);
      expect(parseTimeArg(" 2026-09-21 00:00:00.250 ", NOW)).toBe(MIDNIGHT + 250);
      // a zone given is read as written
      expect(parseTimeArg("2026-09-21T09:00:00+09:00", NOW)).toBe(MIDNIGHT);
      expect(parseTimeArg("2026-09-21T09:00:00+0900", NOW)).toBe(MIDNIGHT);
      expect(parseTimeArg("2026-09-20T20:00:00-04:00", NOW)).toBe(MIDNIGHT);
      expect(parseTimeArg("2026-09-21T00:00:00Z", NOW)).toBe(MIDNIGHT);
      expect(parseTimeArg("today", NOW)).toBe(Date.parse("2026-12-03T00:00:00Z"));
    });
  }

  it("refuses what is not a date, a date-time or a relative time", () => {
    for (const bad of [
      "2026-09-21T00:00:00+09",
      "2026-09-21x",
      "2026-09-21T25:00:00",
      "2026-13-01",
      "yesterday",
    ])
      expect(() => parseTimeArg(bad, NOW)).toThrow(/cannot read time/);
    expect(parseTimeArg("12h", NOW)).toBe(NOW - 12 * 3_600_000);
  });
});

describe("parseTimeArg: a day that is not on the calendar is refused, not rolled over", () => {
  it("2026-02-30 and 2026-04-31 (Date.parse reads them as March 2 and May 1) are errors", () => {
    for (const t of ["2026-02-30", "2026-04-31", "2026-02-29T10:00:00Z", "2026-13-01", "2026-00-10"])
      expect(() => parseTimeArg(t, NOW), t).toThrow(/cannot read time/);
    expect(parseTimeArg("2028-02-29", NOW)).toBe(Date.parse("2028-02-29T00:00:00Z")); // a leap day
    expect(parseTimeArg("0050-01-01", NOW)).toBe(Date.parse("0050-01-01T00:00:00Z"));
  });
});
