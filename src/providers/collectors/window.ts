/** Days of daily reports a poll asks for (today and the 6 before it), and at most this many pages. */
export const REPORT_DAYS = 7;
export const MAX_PAGES = 10;

/** Start of the report window: 00:00 UTC `REPORT_DAYS − 1` days before `nowMs` (ms). */
export function reportStartMs(nowMs: number): number {
  const day = 86_400_000;
  return (Math.floor(nowMs / day) - (REPORT_DAYS - 1)) * day;
}
