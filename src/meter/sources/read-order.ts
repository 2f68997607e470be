/**
 * Sorts a poll's transcripts (session files, store sessions) in place into the order they are
 * read: grouped by account (`accountOf`, ascending), those with no known owner (`null`: billed
 * to the operator) last; stable, so the caller's order holds within an account. A backlog's
 * batches then hold fewer accounts (fewer ledger entries, usage_daily groups and index pages
 * per commit), and a call that is also in an attributed copy of its session is billed to its
 * user, not to the operator. Billing order within an account is unchanged.
 *
 * `generationOf` (optional) orders before all that: how many of the poll's own transcripts a
 * transcript descends from (0 for one that copies none). A fork (OpenClaw's `sessions.create`
 * with `fork`, the Control UI's "Fork conversation" / "Fork from here", `sessions_spawn` with
 * `context: "fork"`) starts as a verbatim copy of its parent's branch under another session,
 * often another account's (a dashboard key: the operator's); its copies are the parent's calls
 * and must be read, and billed, after the parent, or the parent's user's calls go to whoever
 * owns the fork (2026-12-03, case `test/cases/fork-copy-billed-to-fork-owner`).
 */
export function sortForReading<T>(
  items: T[],
  accountOf: (item: T) => string | null,
  generationOf?: (item: T) => number,
): T[] {
  return items.sort((x, y) => {
    // A fork is read after the transcript it copies (see `generationOf` in the doc above).
    const g = generationOf ? generationOf(x) - generationOf(y) : 0;
    if (g !== 0) return g;
    const a = accountOf(x);
    const b = accountOf(y);
    if (a === null || b === null) return a !== null ? -1 : b !== null ? 1 : 0;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}
