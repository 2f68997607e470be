/**
 * Calendar windows in an IANA time zone, with Intl only (no dependency). Pure: every function
 * takes `nowMs`. A day starts at local midnight, a week on Monday 00:00, a month on the 1st
 * 00:00; a window is [startMs, endMs) in epoch milliseconds, so DST days are 23 or 25 hours long.
 */

export const PERIODS = ["day", "week", "month"] as const;
export type Period = (typeof PERIODS)[number];

export interface Window {
  period: Period;
  startMs: number;
  /** Exclusive end: the instant the window resets. */
  endMs: number;
  /** Stable id of this window in the zone, e.g. `day:2026-03-01`, `week:2026-02-23`, `month:2026-03`. */
  key: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      weekday: "short",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** ISO weekday: Monday 1 … Sunday 7. */
  weekday: number;
}

function localParts(ms: number, timeZone: string): LocalParts {
  const out: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(ms)) out[p.type] = p.value;
  return {
    year: Number(out.year),
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour),
    minute: Number(out.minute),
    second: Number(out.second),
    weekday: WEEKDAYS[out.weekday ?? "Mon"] ?? 1,
  };
}

/** Zone offset (local minus UTC) in ms at instant `ms`, to the second. */
function offsetMs(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant of local midnight starting y-m-d (month 1-based; overflowing days/months roll over
 * as in Date.UTC). Where midnight does not exist (a DST gap), the first instant after it.
 */
export function localMidnightMs(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  const first = guess - offsetMs(guess, timeZone);
  const second = guess - offsetMs(first, timeZone);
  let at: number;
  if (second === first) at = first;
  else {
    // The offset changes near this midnight. `second` is local midnight when that exists; in a
    // gap at midnight `second` falls on the day before, and `first` is the transition instant:
    // the first instant of the day.
    const p = localParts(second, timeZone);
    at = Date.UTC(p.year, p.month - 1, p.day) === guess ? second : first;
  }
  // Midnight twice (clocks set back across it: Amman's and Gaza's DST ended 01:00 → 00:00,
  // Antarctica/Vostok went +07 → +05 at 02:00): the day starts at the FIRST midnight, under the
  // offset before the change. East of UTC both instants above are after the change, so they found
  // the second one, and the first local hour(s) of the day were counted in the day before (25 h,
  // then 24 h): test/limits/windows.test.ts. Every offset in use is within -12 h..+14 h, so the
  // offset 14 h before the UTC midnight is the one in force before any change near this midnight.
  const early = guess - offsetMs(guess - 14 * 3_600_000, timeZone);
  return early < at && offsetMs(early, timeZone) === guess - early ? early : at;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The last window computed per (period, zone): every status, check and RPC asks for the current one. */
const current = new Map<string, Window>();

/** The window of `period` containing `nowMs` in `timeZone`. */
export function windowAt(period: Period, nowMs: number, timeZone: string): Window {
  // Windows partition time, so the cached one is the answer for any instant inside it (five
  // Intl.formatToParts calls saved per window; `consumo` asks for four).
  const key = `${period} ${timeZone}`;
  const hit = current.get(key);
  if (hit && nowMs >= hit.startMs && nowMs < hit.endMs) return { ...hit };
  const w = computeWindow(period, nowMs, timeZone);
  current.set(key, w);
  return { ...w };
}

function computeWindow(period: Period, nowMs: number, timeZone: string): Window {
  const p = localParts(nowMs, timeZone);
  if (period === "day") {
    const startMs = localMidnightMs(p.year, p.month, p.day, timeZone);
    const endMs = localMidnightMs(p.year, p.month, p.day + 1, timeZone);
    return { period, startMs, endMs, key: `day:${isoDate(Date.UTC(p.year, p.month - 1, p.day))}` };
  }
  if (period === "week") {
    const d = p.day - (p.weekday - 1);
    const startMs = localMidnightMs(p.year, p.month, d, timeZone);
    const endMs = localMidnightMs(p.year, p.month, d + 7, timeZone);
    return { period, startMs, endMs, key: `week:${isoDate(Date.UTC(p.year, p.month - 1, d))}` };
  }
  const startMs = localMidnightMs(p.year, p.month, 1, timeZone);
  const endMs = localMidnightMs(p.year, p.month + 1, 1, timeZone);
  return { period, startMs, endMs, key: `month:${p.year}-${String(p.month).padStart(2, "0")}` };
}

/** Whether a zone name is UTC itself (the times it shows need no zone conversion). */
function isUtcZone(timeZone: string): boolean {
  return /^(etc\/)?(utc|uct|gmt|zulu|universal)$/i.test(timeZone.trim());
}

/**
 * An instant as the wall clock of `timeZone` shows it, `2026-12-06 00:00`, and the zone's name
 * (`UTC` for UTC and its aliases): what a user is told a cap resets or a block lifts at. The
 * windows are local (a day starts at local midnight in `CREDITGATE_TIMEZONE`), so the reset of a
 * daily cap is `00:00` there; before 2026-12-05 every user-facing time was written in UTC, and a
 * user in Mexico City was told their daily limit resets at `06:00 UTC` (case
 * `test/cases/reset-time-in-operator-zone`).
 */
export function localClock(ms: number, timeZone: string): { text: string; zone: string } {
  if (!isUtcZone(timeZone)) {
    try {
      const p = localParts(ms, timeZone);
      const pad = (n: number) => String(n).padStart(2, "0");
      return {
        text: `${String(p.year).padStart(4, "0")}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}`,
        zone: timeZone,
      };
    } catch {
      // not a zone Intl knows (config validates it; a test's made-up zone): UTC below
    }
  }
  return { text: new Date(ms).toISOString().replace("T", " ").slice(0, 16), zone: "UTC" };
}
