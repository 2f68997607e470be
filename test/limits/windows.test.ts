import { describe, expect, it } from "vitest";
import { localMidnightMs, type Period, windowAt } from "../../src/limits/index.js";
import { bucketsOf } from "../../src/reports/index.js";

interface Row {
  name: string;
  period: Period;
  at: string;
  zone: string;
  start: string;
  end: string;
  key: string;
}

const rows: Row[] = [
  {
    name: "a UTC day",
    period: "day",
    at: "2026-03-10T12:00:00Z",
    zone: "UTC",
    start: "2026-03-10T00:00:00Z",
    end: "2026-03-11T00:00:00Z",
    key: "day:2026-03-10",
  },
  {
    name: "the last millisecond of a UTC day is still in it",
    period: "day",
    at: "2026-03-10T23:59:59.999Z",
    zone: "UTC",
    start: "2026-03-10T00:00:00Z",
    end: "2026-03-11T00:00:00Z",
    key: "day:2026-03-10",
  },
  {
    name: "a week starts on Monday (Sunday belongs to the week before)",
    period: "week",
    at: "2026-03-15T20:00:00Z",
    zone: "UTC",
    start: "2026-03-09T00:00:00Z",
    end: "2026-03-16T00:00:00Z",
    key: "week:2026-03-09",
  },
  {
    name: "a week across a month end",
    period: "week",
    at: "2026-04-01T08:00:00Z",
    zone: "UTC",
    start: "2026-03-30T00:00:00Z",
    end: "2026-04-06T00:00:00Z",
    key: "week:2026-03-30",
  },
  {
    name: "a month in UTC",
    period: "month",
    at: "2026-02-28T23:00:00Z",
    zone: "UTC",
    start: "2026-02-01T00:00:00Z",
    end: "2026-03-01T00:00:00Z",
    key: "month:2026-02",
  },
  {
    name: "December rolls over into January",
    period: "month",
    at: "2026-12-31T10:00:00Z",
    zone: "UTC",
    start: "2026-12-01T00:00:00Z",
    end: "2027-01-01T00:00:00Z",
    key: "month:2026-12",
  },
  {
    name: "Buenos Aires (UTC-3): 02:00 UTC is still the day before locally",
    period: "day",
    at: "2026-03-10T02:00:00Z",
    zone: "America/Argentina/Buenos_Aires",
    start: "2026-03-09T03:00:00Z",
    end: "2026-03-10T03:00:00Z",
    key: "day:2026-03-09",
  },
  {
    name: "New York's spring-forward day is 23 hours long",
    period: "day",
    at: "2026-03-08T12:00:00Z",
    zone: "America/New_York",
    start: "2026-03-08T05:00:00Z",
    end: "2026-03-09T04:00:00Z",
    key: "day:2026-03-08",
  },
  {
    name: "New York's fall-back day is 25 hours long",
    period: "day",
    at: "2026-11-01T12:00:00Z",
    zone: "America/New_York",
    start: "2026-11-01T04:00:00Z",
    end: "2026-11-02T05:00:00Z",
    key: "day:2026-11-01",
  },
  {
    name: "a month in Tokyo (UTC+9) starts the evening before in UTC",
    period: "month",
    at: "2026-03-31T16:00:00Z",
    zone: "Asia/Tokyo",
    start: "2026-03-31T15:00:00Z",
    end: "2026-04-30T15:00:00Z",
    key: "month:2026-04",
  },
];

describe("windowAt: calendar windows in a time zone", () => {
  it.each(rows)("$name", (row) => {
    const w = windowAt(row.period, Date.parse(row.at), row.zone);
    expect(w).toEqual({
      period: row.period,
      startMs: Date.parse(row.start),
      endMs: Date.parse(row.end),
      key: row.key,
    });
  });

  it("answers the same window from its cache for any instant inside it, and a new one after it", () => {
    const a = windowAt("day", Date.parse("2026-05-05T01:00:00Z"), "UTC");
    expect(windowAt("day", Date.parse("2026-05-05T23:00:00Z"), "UTC")).toEqual(a);
    expect(windowAt("day", a.endMs, "UTC").key).toBe("day:2026-05-06");
  });

  it("takes the first instant after a missing local midnight (a DST gap at 00:00)", () => {
    // Santiago springs forward at 00:00 on 2026-09-06: local midnight does not exist; 01:00 -03 does.
    expect(localMidnightMs(2026, 9, 6, "America/Santiago")).toBe(Date.parse("2026-09-06T04:00:00Z"));
  });

  it("a day after a DST gap at midnight starts at the gap, and the day before it ends there", () => {
    // Before the fix the 5th ended (and the 6th began) at 03:00Z = 23:00 local on the 5th.
    const before = windowAt("day", Date.parse("2026-09-06T03:30:00Z"), "America/Santiago");
    expect(before.key).toBe("day:2026-09-05");
    expect(before.endMs).toBe(Date.parse("2026-09-06T04:00:00Z"));
    const after = windowAt("day", Date.parse("2026-09-06T04:00:00Z"), "America/Santiago");
    expect(after).toMatchObject({ key: "day:2026-09-06", startMs: Date.parse("2026-09-06T04:00:00Z") });
  });
  it("a day whose local midnight happens twice starts at the first one and lasts 25 h", () => {
    // Havana falls back from 01:00 CDT to 00:00 CST on 2026-11-01: 00:00-01:00 local happens twice
    // (04:00Z and 05:00Z). The 1st is 04:00Z to 2026-11-02T05:00Z; both 00:30s are in it.
    for (const at of ["2026-11-01T04:30:00Z", "2026-11-01T05:30:00Z"])
      expect(windowAt("day", Date.parse(at), "America/Havana")).toMatchObject({
        key: "day:2026-11-01",
        startMs: Date.parse("2026-11-01T04:00:00Z"),
        endMs: Date.parse("2026-11-02T05:00:00Z"),
      });
    expect(windowAt("day", Date.parse("2026-11-01T03:59:59Z"), "America/Havana")).toMatchObject({
      key: "day:2026-10-31",
      endMs: Date.parse("2026-11-01T04:00:00Z"),
    });
  });

  it("east of UTC too: a day whose midnight happens twice starts at the first one (was the second)", () => {
    // Amman fell back from 01:00 +03 to 00:00 +02 on 2021-10-29: 00:00-01:00 local twice, at
    // 2021-10-28T21:00Z and 22:00Z. Before 2026-12-04 the 29th began at 22:00Z, so the 28th ran
    // to 22:00Z (25 h) and held the first 00:30 of the 29th.
    const first = "2021-10-28T21:30:00Z"; // 00:30 +03 on the 29th
    expect(windowAt("day", Date.parse(first), "Asia/Amman")).toEqual({
      period: "day",
      key: "day:2021-10-29",
      startMs: Date.parse("2021-10-28T21:00:00Z"),
      endMs: Date.parse("2021-10-29T22:00:00Z"),
    });
    expect(windowAt("day", Date.parse("2021-10-28T20:59:59Z"), "Asia/Amman")).toMatchObject({
      key: "day:2021-10-28",
      startMs: Date.parse("2021-10-27T21:00:00Z"),
      endMs: Date.parse("2021-10-28T21:00:00Z"),
    });
    // Vostok went from +07 to +05 at 02:00 on 2023-12-18: 00:00-02:00 twice; the 18th is 26 h.
    expect(localMidnightMs(2023, 12, 18, "Antarctica/Vostok")).toBe(Date.parse("2023-12-17T17:00:00Z"));
    expect(windowAt("day", Date.parse("2023-12-17T17:30:00Z"), "Antarctica/Vostok").key).toBe(
      "day:2023-12-18",
    );
    // Gaza, the same night; and `report --by day` buckets (CREDITGATE_TIMEZONE) follow
    expect(localMidnightMs(2021, 10, 29, "Asia/Gaza")).toBe(Date.parse("2021-10-28T21:00:00Z"));
    const buckets = bucketsOf(
      "day",
      { fromMs: Date.parse("2021-10-28T00:00:00Z"), toMs: Date.parse("2021-10-30T00:00:00Z") },
      "Asia/Amman",
    );
    expect(buckets.map((b) => [b.label, new Date(b.startMs).toISOString()])).toEqual([
      ["2021-10-28", "2021-10-28T00:00:00.000Z"],
      ["2021-10-29", "2021-10-28T21:00:00.000Z"],
      ["2021-10-30", "2021-10-29T22:00:00.000Z"],
    ]);
  });

  it("each window holds its instant and starts and ends on a change of local date, in zones with odd offsets and shifts", () => {
    // Lord Howe shifts by 30 min, Chatham is +12:45/+13:45, Kathmandu +05:45, St John's -03:30,
    // Havana and Santiago change at midnight, Apia, Kiritimati (+14) and Niue (-11) are the far ends.
    const zones = [
      "Australia/Lord_Howe",
      "Pacific/Chatham",
      "Asia/Kathmandu",
      "America/St_Johns",
      "America/Havana",
      "America/Santiago",
      "Pacific/Apia",
      "Pacific/Kiritimati",
      "Pacific/Niue",
      "Europe/London",
    ];
    const formats = new Map(
      zones.map((zone) => [
        zone,
        new Intl.DateTimeFormat("en-CA", {
          timeZone: zone,
          year: "numeric",
          month: "2-digit",
          day: "2-digit",
        }),
      ]),
    );
    const wrong: string[] = [];
    for (const zone of zones) {
      const dateIn = (ms: number) => formats.get(zone)?.format(ms) ?? "";
      for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 97 * 60_000 * 7) {
        const day = windowAt("day", t, zone);
        const month = windowAt("month", t, zone);
        const d = dateIn(t);
        const ok =
          day.startMs <= t &&
          t < day.endMs &&
          day.key === `day:${d}` &&
          dateIn(day.startMs) === d &&
          dateIn(day.endMs - 1) === d &&
          dateIn(day.startMs - 1) !== d &&
          dateIn(day.endMs) !== d &&
          month.startMs <= t &&
          t < month.endMs &&
          dateIn(month.startMs).slice(0, 7) === d.slice(0, 7) &&
          dateIn(month.startMs - 1).slice(0, 7) !== d.slice(0, 7);
        if (!ok) wrong.push(`${zone} ${new Date(t).toISOString()}: ${day.key} ${month.key}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
