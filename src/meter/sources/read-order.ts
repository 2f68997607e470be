/**
 * Sorts a poll's transcripts (session files, store sessions) in place into the order they are
 * read: grouped by account (`accountOf`, ascending), those with no known owner (`null`: billed
 * to the operator) last; stable, so the caller's order holds within an account. A backlog's
 * batches then hold fewer accounts (fewer ledger entries, usage_daily groups and index pages
 * per commit), and a call that is also in an attributed copy of its session is billed to its
 * user, not to the operator. Billing order within an account is unchanged.
 */
export function sortForReading<T>(items: T[], accountOf: (item: T) => string | null): T[] {
  return items.sort((x, y) => {
    const a = accountOf(x);
    const b = accountOf(y);
    if (a === null || b === null) return a !== null ? -1 : b !== null ? 1 : 0;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}
