/**
 * The kind of work a usage row was, derived from its OpenClaw session key (see
 * shared/reference/openclaw.md §4). One JS function (`sessionKind`) and one SQL expression
 * (`SESSION_KIND_SQL`) that gives the same answer for every key (test/reports/kind.test.ts checks
 * both over one table), so reports can group and filter by kind inside SQLite.
 *
 * The key is `agent:<agentId>:<rest>`; the kind is read from `<rest>`:
 * | `<rest>`                                                   | kind        |
 * |------------------------------------------------------------|-------------|
 * | `main`                                                     | `operator`  |
 * | `subagent:…`                                               | `subagent`  |
 * | `cron` or `cron:…`                                         | `cron`      |
 * | `heartbeat` or `heartbeat:…`                               | `heartbeat` |
 * | `hook` or `hook:…`                                         | `hook`      |
 * | contains a `group:` or `channel:` segment                  | `group`     |
 * | `direct:…`, `dm:…`, contains `:direct:`/`:dm:`, `openai-user:…`, `openresponses-user:…` | `dm` |
 * | anything else, a key not starting `agent:`, or no key      | `other`     |
 *
 * Heartbeats run in the operator's `main` session on most installs (OpenClaw marks them only in
 * the run's `trigger`, which transcripts do not keep), so they are `operator` unless a
 * `heartbeat` key carries them.
 */
export const SESSION_KINDS = [
  "dm",
  "group",
  "subagent",
  "cron",
  "heartbeat",
  "hook",
  "operator",
  "other",
] as const;
/** One of {@link SESSION_KINDS}. */
export type SessionKind = (typeof SESSION_KINDS)[number];

/** The part of `agent:<agentId>:<rest>` after the agent id, or null for other keys. */
function restOf(key: string): string | null {
  if (!key.startsWith("agent:")) return null;
  const colon = key.indexOf(":", 6);
  return colon < 0 ? null : key.slice(colon + 1);
}

const first = (rest: string, word: string) => rest === word || rest.startsWith(`${word}:`);
const segment = (rest: string, word: string) => rest.startsWith(`${word}:`) || rest.includes(`:${word}:`);

/** The {@link SessionKind} of a session key (null/unknown keys are `other`). Pure. */
export function sessionKind(sessionKey: string | null | undefined): SessionKind {
  const rest = sessionKey ? restOf(sessionKey) : null;
  if (rest === null || rest === "") return "other";
  if (rest === "main") return "operator";
  if (rest.startsWith("subagent:")) return "subagent";
  if (first(rest, "cron")) return "cron";
  if (first(rest, "heartbeat")) return "heartbeat";
  if (first(rest, "hook")) return "hook";
  if (segment(rest, "group") || segment(rest, "channel")) return "group";
  if (
    segment(rest, "direct") ||
    segment(rest, "dm") ||
    rest.startsWith("openai-user:") ||
    rest.startsWith("openresponses-user:")
  )
    return "dm";
  return "other";
}

/** `<rest>` of `session_key` in SQL (NULL when the key is not `agent:<id>:…`). */
const REST_SQL = `(CASE WHEN substr(session_key, 1, 6) = 'agent:' AND instr(substr(session_key, 7), ':') > 0
  THEN substr(session_key, 7 + instr(substr(session_key, 7), ':')) END)`;

/**
 * {@link sessionKind} as a SQL expression over a `session_key` column (usage_events). GLOB is
 * case-sensitive like the JS checks.
 */
export const SESSION_KIND_SQL = `(CASE
    WHEN R IS NULL OR R = '' THEN 'other'
    WHEN R = 'main' THEN 'operator'
    WHEN R GLOB 'subagent:*' THEN 'subagent'
    WHEN R = 'cron' OR R GLOB 'cron:*' THEN 'cron'
    WHEN R = 'heartbeat' OR R GLOB 'heartbeat:*' THEN 'heartbeat'
    WHEN R = 'hook' OR R GLOB 'hook:*' THEN 'hook'
    WHEN R GLOB 'group:*' OR R GLOB '*:group:*' OR R GLOB 'channel:*' OR R GLOB '*:channel:*' THEN 'group'
    WHEN R GLOB 'direct:*' OR R GLOB '*:direct:*' OR R GLOB 'dm:*' OR R GLOB '*:dm:*' OR R GLOB 'openai-user:*'
      OR R GLOB 'openresponses-user:*' THEN 'dm'
    ELSE 'other' END)`.replace(/\bR\b/g, REST_SQL);
