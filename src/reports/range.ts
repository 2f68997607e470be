/**
 * Report time ranges and calendar buckets in an IANA time zone (`CREDITGATE_TIMEZONE`), with the
 * limits module's Intl-only windows: a day starts at local midnight (DST days are 23 or 25 hours),
 * a week on Monday, a month on the 1st. Pure: every function takes `nowMs`.
 */

import { localMidnightMs, type Period, windowAt } from "../limits/index.js";
import { InputError } from "./input-error.js";

/** A half-open range of epoch milliseconds `[fromMs, toMs)`. */
export interface TimeRange {
  fromMs: number;
  toMs: number;
  /**
   * Set when no end was asked (`today`, `last`, a `from` without `to`): `toMs` is then "now", and
   * a call stamped after it (a bot host whose clock runs ahead: the meter bills calls up to 365
   * days ahead) still belongs to the range up to this instant (exclusive): the end of today for
   * `today`, else now + 365 days. `runReport` moves `toMs` to just after the latest such call.
   */
  openUntilMs?: number | undefined;
}

/** How far ahead of now a call may be stamped and still be billed (the meter's review bound). */
const OPEN_END_AHEAD_MS = 365 * 86_400_000;

/** How the caller asked for a range (CLI flags / API query); at most one of today/last/from-to. */
export interface RangeSpec {
  /** Today in the zone: local midnight to now. */
  today?: boolean | undefined;
  /** A rolling window ending now: `12h`, `7d`, `30d`, `90m` (minutes), `2w` (weeks). */
  last?: string | undefined;
  /**
   * Start: a date `YYYY-MM-DD` (its local midnight in the zone) or an ISO date-time with `Z` or an
   * offset (that instant).
   */
  from?: string | undefined;
  /**
   * End: a date `YYYY-MM-DD` is INCLUSIVE (up to the next local midnight), an ISO date-time with
   * `Z`/offset is exclusive. Omitted: now.
   */
  to?: string | undefined;
}

/** Default range when none is asked for: the last 7 days (rolling). */
export const DEFAULT_LAST = "7d";

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
const LAST_RE = /^(\d{1,5})([mhdw])$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const UNIT_WORD = { m: "minutes", h: "hours", d: "days", w: "weeks" } as const;

function parseDate(text: string): [number, number, number] | null {
  const m = DATE_RE.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(y, mo - 1, d));
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  return [y, mo, d];
}

/** One end of `--from/--to`; `end` makes a plain date inclusive (the next local midnight). */
function parseBound(text: string, timeZone: string, end: boolean, label: "from" | "to"): number {
  const t = text.trim();
  const date = parseDate(t);
  if (date) return localMidnightMs(date[0], date[1], date[2] + (end ? 1 : 0), timeZone);
  if (DATETIME_RE.test(t)) {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  throw new InputError(
    (n) =>
      `${n(label)}: cannot read "${text}": use a date 2026-11-01 (in ${timeZone}) or a date-time with a zone, 2026-11-01T12:00:00Z`,
  );
}

/**
 * The range a {@link RangeSpec} names, in `timeZone` at `nowMs`. Nothing asked: the last 7 days.
 * @throws RangeError (a readable message) for unreadable input, two ways of asking at once, or an
 *   empty/inverted range.
 */
export function resolveRange(spec: RangeSpec, timeZone: string, nowMs: number): TimeRange {
  const ways = [
    spec.today ? ["today"] : null,
    spec.last ? ["last"] : null,
    spec.from || spec.to ? ["from", "to"] : null,
  ];
  const asked = ways.filter((w) => w !== null);
  if (asked.length > 1)
    throw new InputError((n) => `use one of ${asked.map((w) => w.map(n).join("/")).join(", ")}, not several`);
  let range: TimeRange;
  if (spec.today) {
    const day = windowAt("day", nowMs, timeZone);
    range = { fromMs: day.startMs, toMs: nowMs, openUntilMs: day.endMs };
  } else if (spec.from || spec.to) {
    if (!spec.from) throw new InputError((n) => `${n("to")} needs ${n("from")}`);
    range = {
      fromMs: parseBound(spec.from, timeZone, false, "from"),
      toMs: spec.to ? parseBound(spec.to, timeZone, true, "to") : nowMs,
      ...(spec.to ? {} : { openUntilMs: nowMs + OPEN_END_AHEAD_MS }),
    };
  } else {
    const text = (spec.last ?? DEFAULT_LAST).trim();
    const m = LAST_RE.exec(text);
    const n = Number(m?.[1]);
    // a span the pattern reads but that names no range (`0d`), or past its largest (`100000d`):
    // said as such, not "cannot read" (a tester, 2026-12-04: `report --last 100000d`)
    const whole = /^(\d+)([mhdw])$/.exec(text);
    if (!m && whole && whole[1] !== undefined && whole[1].replace(/^0+/, "").length > 5)
      throw new InputError(
        (n) =>
          `${n("last")}: "${text}" is longer than the largest span, 99999${whole[2]}: give fewer ${UNIT_WORD[whole[2] as keyof typeof UNIT_WORD]}, or ${n("from")} for an older start`,
      );
    if (m && n === 0)
      throw new InputError((n) => `${n("last")}: "${text}" is an empty span: use at least 1 (1d, 12h, 30m)`);
    if (!m || !(n > 0))
      throw new InputError((n) => `${n("last")}: cannot read "${text}": use 12h, 7d, 30d, 90m or 2w`);
    range = {
      fromMs: nowMs - n * UNIT_MS[m[2] as keyof typeof UNIT_MS],
      toMs: nowMs,
      openUntilMs: nowMs + OPEN_END_AHEAD_MS,
    };
  }
  if (!(range.fromMs < range.toMs))
    throw new RangeError("the range is empty: its start is not before its end");
  return range;
}

/** One calendar bucket of a report: `[startMs, endMs)` clipped to the range, and its label. */
export interface Bucket {
  startMs: number;
  endMs: number;
  /** `2026-03-08` (day), `2026-03-02` (the week's Monday), `2026-03` (month), in the zone. */
  label: string;
}

/** Most buckets one report may split into (10 years of days). */
export const MAX_BUCKETS = 3660;

/**
 * The calendar buckets of `period` covering `range` in `timeZone`, each clipped to the range
 * (the first and last may be partial).
 * @throws RangeError past {@link MAX_BUCKETS}.
 */
export function bucketsOf(period: Period, range: TimeRange, timeZone: string): Bucket[] {
  // Shortest possible bucket (a DST day is 23 h): refuse a huge range before computing it.
  const shortestMs = { day: 23, week: 167, month: 671 }[period] * 3_600_000;
  if ((range.toMs - range.fromMs) / shortestMs > MAX_BUCKETS + 1)
    throw new InputError((n) => `more than ${MAX_BUCKETS} ${period}s: use a larger ${n("by")}`);
  const out: Bucket[] = [];
  let t = range.fromMs;
  while (t < range.toMs) {
    if (out.length >= MAX_BUCKETS)
      throw new InputError((n) => `more than ${MAX_BUCKETS} ${period}s: use a larger ${n("by")}`);
    const w = windowAt(period, t, timeZone);
    out.push({
      startMs: Math.max(w.startMs, range.fromMs),
      endMs: Math.min(w.endMs, range.toMs),
      label: w.key.slice(w.key.indexOf(":") + 1),
    });
    t = w.endMs;
  }
  return out;
}
