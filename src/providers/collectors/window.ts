import { CollectorError } from "../types.js";

/** Days of daily reports a poll asks for (today and the 6 before it), and at most this many pages. */
export const REPORT_DAYS = 7;
export const MAX_PAGES = 10;

/** Start of the report window: 00:00 UTC `REPORT_DAYS − 1` days before `nowMs` (ms). */
export function reportStartMs(nowMs: number): number {
  const day = 86_400_000;
  return (Math.floor(nowMs / day) - (REPORT_DAYS - 1)) * day;
}

/**
 * Follows a cursor-paginated report (`{ data, has_more, next_page }`, OpenAI and Anthropic) and
 * returns every page's `data`, in order. `fetchPage(null)` is the first page, then
 * `fetchPage(next_page)` while `has_more`. Errors (CollectorError `shape`): a cursor the provider
 * already gave (it would return the same buckets again and count their spend twice), or still
 * `has_more` after {@link MAX_PAGES} pages (a partial report would under-report spend).
 */
export async function paginate<T>(
  what: string,
  fetchPage: (
    page: string | null,
  ) => Promise<{ data: T[]; has_more?: boolean | null; next_page?: string | null }>,
): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  let page: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const r = await fetchPage(page);
    out.push(...r.data);
    if (!r.has_more || !r.next_page) return out;
    if (seen.has(r.next_page))
      throw new CollectorError("shape", `${what}: the provider repeated a page cursor (has_more loop)`);
    seen.add(r.next_page);
    page = r.next_page;
  }
  throw new CollectorError(
    "shape",
    `${what}: still has_more after ${MAX_PAGES} pages; refusing a partial report`,
  );
}
