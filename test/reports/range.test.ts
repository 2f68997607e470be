import { describe, expect, test } from "vitest";
import { bucketsOf, resolveRange } from "../../src/reports/index.js";

const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe("report ranges", () => {
  const now = Date.parse("2026-03-10T15:30:00Z");

  test.each([
    // [spec, zone, from, to]
    [{ today: true }, "UTC", "2026-03-10T00:00:00.000Z", "2026-03-10T15:30:00.000Z"],
    [{ today: true }, "America/New_York", "2026-03-10T04:00:00.000Z", "2026-03-10T15:30:00.000Z"],
    [{ today: true }, "Asia/Tokyo", "2026-03-10T15:00:00.000Z", "2026-03-10T15:30:00.000Z"],
    [{ last: "12h" }, "UTC", "2026-03-10T03:30:00.000Z", "2026-03-10T15:30:00.000Z"],
    [{ last: "7d" }, "America/New_York", "2026-03-03T15:30:00.000Z", "2026-03-10T15:30:00.000Z"],
    [{}, "UTC", "2026-03-03T15:30:00.000Z", "2026-03-10T15:30:00.000Z"],
    [{ last: "30d" }, "UTC", "2026-02-08T15:30:00.000Z", "2026-03-10T15:30:00.000Z"],
    [{ last: "90m" }, "UTC", "2026-03-10T14:00:00.000Z", "2026-03-10T15:30:00.000Z"],
    // a date --to is inclusive; the 2026-03-08 New York day is 23 hours long
    [
      { from: "2026-03-08", to: "2026-03-08" },
      "America/New_York",
      "2026-03-08T05:00:00.000Z",
      "2026-03-09T04:00:00.000Z",
    ],
    [
      { from: "2026-11-01", to: "2026-11-01" },
      "America/New_York",
      "2026-11-01T04:00:00.000Z",
      "2026-11-02T05:00:00.000Z",
    ],
    // Havana springs forward AT midnight: 2026-03-08 starts at 01:00 local (05:00Z)
    [
      { from: "2026-03-08", to: "2026-03-08" },
      "America/Havana",
      "2026-03-08T05:00:00.000Z",
      "2026-03-09T04:00:00.000Z",
    ],
    [{ from: "2026-03-01" }, "UTC", "2026-03-01T00:00:00.000Z", "2026-03-10T15:30:00.000Z"],
    [
      { from: "2026-03-01T12:00:00Z", to: "2026-03-02T00:00:00-03:00" },
      "Asia/Tokyo",
      "2026-03-01T12:00:00.000Z",
      "2026-03-02T03:00:00.000Z",
    ],
  ] as const)("%j in %s", (spec, zone, from, to) => {
    const r = resolveRange(spec, zone, now);
    expect([iso(r.fromMs), iso(r.toMs)]).toEqual([from, to]);
  });

  test.each([
    [{ today: true, last: "7d" }, /one of --today, --last/],
    [{ last: "7" }, /--last: cannot read "7"/],
    [{ last: "0d" }, /--last/],
    [{ last: "7y" }, /--last/],
    [{ from: "2026-02-30" }, /--from: cannot read "2026-02-30"/],
    [{ from: "2026-03-01T12:00:00" }, /with a zone/],
    [{ to: "2026-03-01" }, /--to needs --from/],
    [{ from: "2026-03-05", to: "2026-03-01" }, /range is empty/],
    [{ from: "yesterday" }, /--from: cannot read/],
  ] as const)("%j is refused", (spec, message) => {
    expect(() => resolveRange(spec, "UTC", now)).toThrow(message);
  });
});

describe("calendar buckets", () => {
  test("New York days across both DST changes are 23 and 25 hours long", () => {
    const tz = "America/New_York";
    const spring = bucketsOf("day", resolveRange({ from: "2026-03-07", to: "2026-03-09" }, tz, 0), tz);
    expect(spring.map((b) => [b.label, (b.endMs - b.startMs) / H])).toEqual([
      ["2026-03-07", 24],
      ["2026-03-08", 23],
      ["2026-03-09", 24],
    ]);
    const fall = bucketsOf("day", resolveRange({ from: "2026-10-31", to: "2026-11-02" }, tz, 0), tz);
    expect(fall.map((b) => [b.label, (b.endMs - b.startMs) / H])).toEqual([
      ["2026-10-31", 24],
      ["2026-11-01", 25],
      ["2026-11-02", 24],
    ]);
  });

  test("weeks start on Monday, months on the 1st; edge buckets are clipped to the range", () => {
    const range = { fromMs: Date.parse("2026-03-04T12:00:00Z"), toMs: Date.parse("2026-03-17T06:00:00Z") };
    const weeks = bucketsOf("week", range, "UTC");
    expect(weeks.map((b) => [b.label, iso(b.startMs), iso(b.endMs)])).toEqual([
      ["2026-03-02", "2026-03-04T12:00:00.000Z", "2026-03-09T00:00:00.000Z"],
      ["2026-03-09", "2026-03-09T00:00:00.000Z", "2026-03-16T00:00:00.000Z"],
      ["2026-03-16", "2026-03-16T00:00:00.000Z", "2026-03-17T06:00:00.000Z"],
    ]);
    const months = bucketsOf(
      "month",
      resolveRange({ from: "2026-01-15", to: "2026-03-02" }, "Europe/Berlin", 0),
      "Europe/Berlin",
    );
    expect(months.map((b) => [b.label, iso(b.startMs), iso(b.endMs)])).toEqual([
      ["2026-01", "2026-01-14T23:00:00.000Z", "2026-01-31T23:00:00.000Z"],
      ["2026-02", "2026-01-31T23:00:00.000Z", "2026-02-28T23:00:00.000Z"],
      ["2026-03", "2026-02-28T23:00:00.000Z", "2026-03-02T23:00:00.000Z"],
    ]);
  });

  test("too many buckets is refused, not computed", () => {
    expect(() => bucketsOf("day", { fromMs: 0, toMs: 20 * 365 * 24 * H }, "UTC")).toThrow(
      /more than 3660 days/,
    );
  });
});
