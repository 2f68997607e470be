import { type Db, isPostgres } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";

/**
 * One billed call of an account as the API and `report --previews` show it: what it was, what it
 * cost, its latency and (previews on) the redacted previews kept with it.
 */
export interface CallRow {
  id: number;
  /** `message.timestamp` of the call (epoch ms). */
  messageTsMs: number;
  agentId: string;
  sessionKey: string | null;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  isError: boolean;
  /** Provider cost, exact pico-USD (decimal string). */
  costPicoUsd: string;
  chargeMicroCredits: number;
  /** User message to reply, ms; null when not derivable. */
  latencyMs: number | null;
  /** Redacted preview of the user message (null: previews off, no text, or purged). */
  previewUser: string | null;
  /** Redacted preview of the reply. */
  previewReply: string | null;
}

/** Most calls `recentCalls` returns at once. */
export const MAX_CALLS = 500;

/**
 * The account's billed calls, newest first (by message time, then id): at most `limit` (1–500,
 * default 50), optionally only those with `sinceMs <= message_ts_ms < untilMs` and with an id
 * below `beforeId` (paging: pass the last row's id). Read-only.
 */
export function recentCalls(
  db: Db,
  accountId: string,
  o: { limit?: number; sinceMs?: number; untilMs?: number; beforeId?: number } = {},
): CallRow[] {
  const where = ["account_id = ?"];
  const params: (string | number)[] = [accountId];
  const add = (sql: string, v: number) => {
    where.push(sql);
    params.push(v);
  };
  if (o.sinceMs !== undefined) add("message_ts_ms >= ?", o.sinceMs);
  if (o.untilMs !== undefined) add("message_ts_ms < ?", o.untilMs);
  if (o.beforeId !== undefined) add("id < ?", o.beforeId);
  const limit = Math.max(1, Math.min(MAX_CALLS, Math.trunc(o.limit ?? 50)));
  const rows = db
    .prepare<(string | number)[], Record<string, unknown>>(
      `SELECT id, message_ts_ms, agent_id, session_key, provider, model, input_tokens, output_tokens,
              cache_read_tokens, cache_write_tokens, is_error, cost_pico_usd, charge_micro_credits,
              latency_ms, preview_user, preview_reply
         FROM usage_events WHERE ${where.join(" AND ")}
        ORDER BY message_ts_ms DESC, id DESC LIMIT ?`,
    )
    .safeIntegers(true)
    .all(...params, limit);
  const num = (v: unknown) => Number(v as bigint);
  return rows.map((r) => ({
    id: num(r.id),
    messageTsMs: num(r.message_ts_ms),
    agentId: r.agent_id as string,
    sessionKey: (r.session_key as string | null) ?? null,
    provider: r.provider as string,
    model: r.model as string,
    inputTokens: num(r.input_tokens),
    outputTokens: num(r.output_tokens),
    cacheReadTokens: num(r.cache_read_tokens),
    cacheWriteTokens: num(r.cache_write_tokens),
    isError: num(r.is_error) === 1,
    costPicoUsd: String(r.cost_pico_usd),
    chargeMicroCredits: num(r.charge_micro_credits),
    latencyMs: r.latency_ms === null ? null : num(r.latency_ms),
    previewUser: (r.preview_user as string | null) ?? null,
    previewReply: (r.preview_reply as string | null) ?? null,
  }));
}

/**
 * Removes every stored preview of one account (`creditgate purge-previews <user>`): nulls both
 * preview columns of its usage rows and drops the previews from its calls held for review. Billing
 * is untouched. Returns the usage rows that had a preview. One transaction.
 * @throws AppError(NotFound) for an id with no account, usage row or held call (a typo must not
 *   look like a successful purge).
 */
export function purgePreviews(db: Db, accountId: string): { rows: number; held: number } {
  // A mistyped id would purge nothing and look like success: refuse an id creditgate never saw.
  const known = db
    .prepare(
      `SELECT 1 AS one FROM accounts WHERE id = ?
       UNION ALL SELECT 1 FROM usage_events WHERE account_id = ?
       UNION ALL SELECT 1 FROM usage_review WHERE account_id = ? LIMIT 1`,
    )
    .get(accountId, accountId, accountId);
  if (!known)
    throw new AppError(
      ErrorCode.NotFound,
      `no user ${JSON.stringify(accountId)}: it has no account, usage or held call (ids look like telegram:123); nothing purged`,
    );
  // The text must not survive in the file: SQLite's secure_delete zeroes the freed cells the
  // updates leave behind (every connection runs with secure_delete = FAST, src/db/open.ts, so page
  // splits left no stale copies either; rows written before that may, until a VACUUM), and a TRUNCATE checkpoint moves the new pages into the database file
  // and empties the WAL, which still holds the old page images (SQLite only; PostgreSQL's
  // VACUUM is the operator's).
  const sqlite = !isPostgres(db);
  const previous = sqlite ? db.pragma("secure_delete", { simple: true }) : undefined;
  if (sqlite) db.pragma("secure_delete = ON");
  try {
    return purgeIn(db, accountId);
  } finally {
    if (sqlite) {
      db.pragma(`secure_delete = ${["OFF", "ON", "FAST"][Number(previous)] ?? "FAST"}`);
      db.pragma("wal_checkpoint(TRUNCATE)");
    }
  }
}

function purgeIn(db: Db, accountId: string): { rows: number; held: number } {
  return db.transaction(() => {
    const rows = db
      .prepare(
        `UPDATE usage_events SET preview_user = NULL, preview_reply = NULL
          WHERE account_id = ? AND (preview_user IS NOT NULL OR preview_reply IS NOT NULL)`,
      )
      .run(accountId).changes;
    // the held event's JSON without its previews (a JSON null preview counts as none on both)
    const held = db
      .prepare(
        isPostgres(db)
          ? `UPDATE usage_review SET event_json = (event_json::jsonb - 'userPreview' - 'replyPreview')::text
              WHERE account_id = ? AND (event_json::jsonb ->> 'userPreview' IS NOT NULL
                                     OR event_json::jsonb ->> 'replyPreview' IS NOT NULL)`
          : `UPDATE usage_review SET event_json = json_remove(event_json, '$.userPreview', '$.replyPreview')
              WHERE account_id = ? AND (json_extract(event_json, '$.userPreview') IS NOT NULL
                                     OR json_extract(event_json, '$.replyPreview') IS NOT NULL)`,
      )
      .run(accountId).changes;
    return { rows, held };
  })();
}
