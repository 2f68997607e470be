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

/**
 * The generation of each session in a parent map (`child sessionId → parent sessionId`, only
 * parents that are among the poll's own transcripts): how many ancestors it has there, 0 for a
 * session the map does not list. For `sortForReading`'s `generationOf`. A cycle (hand-made
 * headers) stops where it closes.
 */
export function generationsOf(parentOf: ReadonlyMap<string, string>): (sessionId: string) => number {
  if (parentOf.size === 0) return () => 0;
  const gen = new Map<string, number>();
  return (sid) => {
    const known = gen.get(sid);
    if (known !== undefined) return known;
    let n = 0;
    const chain = new Set<string>([sid]);
    for (let p = parentOf.get(sid); p !== undefined && !chain.has(p); p = parentOf.get(p)) {
      chain.add(p);
      n++;
    }
    gen.set(sid, n);
    return n;
  };
}

/**
 * The session id a transcript header (`{"type":"session",…}`) names as the one it was forked or
 * rotated from: `parentTranscriptScope.sessionId` (OpenClaw's SQLite store, newer), else the last
 * segment of `parentSession` (a file path of the writer's host, either separator, or a store
 * locator `sqlite-transcript://<agent>/<sessionId>[.jsonl][?topic=…]`) read like a transcript
 * name. Null when it names none.
 */
export function headerParentId(
  header: { parentSession?: unknown; parentTranscriptScope?: unknown },
  classify: (name: string) => { sessionId: string } | null,
): string | null {
  const scope = header.parentTranscriptScope as { sessionId?: unknown } | null | undefined;
  if (scope && typeof scope === "object" && typeof scope.sessionId === "string" && scope.sessionId)
    return scope.sessionId;
  if (typeof header.parentSession !== "string") return null;
  const name =
    header.parentSession
      .replace(/[?#].*$/, "")
      .split(/[\\/]/)
      .pop() ?? "";
  if (!name) return null;
  return classify(name)?.sessionId ?? classify(`${name}.jsonl`)?.sessionId ?? null;
}
