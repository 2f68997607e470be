import type { Db } from "../db/index.js";
import type { SessionFact } from "./source.js";
import { hasLoneSurrogate } from "./validate.js";

/**
 * Prefix of a `meter_sessions` text stored as JSON (see {@link storedText}): a control
 * character, which no account id holds and no real session key or channel starts with.
 */
const AS_JSON = "\u0001json:";

/**
 * The text to store for a session key, account id or channel: itself, or, when it holds a lone
 * UTF-16 surrogate (JSON can carry one, e.g. a sessions.json key `agent:main:telegram:direct:x\ud800`),
 * `AS_JSON` + its JSON (which escapes the surrogate). SQLite and PostgreSQL store a lone
 * surrogate as U+FFFD, so the memory of `telegram:x\ud800` would come back as
 * `telegram:x\ufffd`, a valid id shared with `telegram:x\ud801`: a reset archive attributed
 * from the memory would bill it (the live call was held for review). A text that starts with
 * `AS_JSON` itself is stored the same way, so {@link fromStoredText} is its exact inverse.
 */
export function storedText(s: string | null): string | null {
  if (s === null) return null;
  return hasLoneSurrogate(s) || s.startsWith(AS_JSON) ? AS_JSON + JSON.stringify(s) : s;
}

/** The text {@link storedText} stored. */
export function fromStoredText(s: string | null): string | null {
  if (s === null || !s.startsWith(AS_JSON)) return s;
  try {
    return JSON.parse(s.slice(AS_JSON.length)) as string;
  } catch {
    return s; // not written by storedText: as stored
  }
}

/**
 * The one upsert of a session fact into `meter_sessions` (the biller's and an edge meter's
 * outbox), with {@link sessionFactParams} as its parameters: a known field is never overwritten
 * by an unknown (NULL) one, and an unchanged row is not written. Target columns are qualified and
 * the comparison is `IS DISTINCT FROM` (SQLite's `IS NOT`): PostgreSQL refuses both an unqualified
 * column there ("ambiguous") and `IS NOT` between two values.
 */
export const UPSERT_SESSION_SQL = `INSERT INTO meter_sessions (agent_id, session_id, session_key, account_id, channel, first_seen_ms, updated_at_ms)
     VALUES (@agentId, @sessionId, @sessionKey, @accountId, @channel, @nowMs, @nowMs)
     ON CONFLICT(agent_id, session_id) DO UPDATE SET
       session_key = COALESCE(excluded.session_key, meter_sessions.session_key),
       account_id = COALESCE(excluded.account_id, meter_sessions.account_id),
       channel = COALESCE(excluded.channel, meter_sessions.channel),
       updated_at_ms = excluded.updated_at_ms
     WHERE excluded.session_key IS DISTINCT FROM meter_sessions.session_key
       OR excluded.account_id IS DISTINCT FROM meter_sessions.account_id
       OR excluded.channel IS DISTINCT FROM meter_sessions.channel`;

/** The parameters of a session fact's `meter_sessions` upsert (its texts as {@link storedText}). */
export function sessionFactParams(s: SessionFact, nowMs: number) {
  return {
    agentId: s.agentId,
    sessionId: s.sessionId,
    sessionKey: storedText(s.sessionKey),
    accountId: storedText(s.accountId),
    channel: storedText(s.channel),
    nowMs,
  };
}

export interface RememberedSession {
  sessionKey: string | null;
  accountId: string | null;
  channel: string | null;
}

/** A row of `meter_sessions` as SQLite returns it (written by the biller's session upsert). */
export interface MeterSessionRow {
  agent_id: string;
  session_id: string;
  session_key: string | null;
  account_id: string | null;
  channel: string | null;
  first_seen_ms: number;
  updated_at_ms: number;
}

/**
 * Read side of `meter_sessions`: every sessionId → (key, account) the meter has ever seen.
 * OpenClaw forgets old sessionIds after a reset (sessions.json keeps only the current one)
 * and deletion drops the key, so archives are attributed from this memory.
 */
export function createSessionMemory(db: Db) {
  const get = db.prepare<[string, string], Pick<MeterSessionRow, "session_key" | "account_id" | "channel">>(
    "SELECT session_key, account_id, channel FROM meter_sessions WHERE agent_id = ? AND session_id = ?",
  );
  // the newest row of a key (a key's sessions after resets share it): one agent's rows (the
  // primary key's first column), read only when a spawn chain leads through a session no index names
  const byKey = db.prepare<[string, string], Pick<MeterSessionRow, "account_id">>(
    "SELECT account_id FROM meter_sessions WHERE agent_id = ? AND session_key = ? AND account_id IS NOT NULL ORDER BY updated_at_ms DESC LIMIT 1",
  );
  return {
    /**
     * The account the meter last billed a session key's calls to, or null: for a sub-agent whose
     * parent OpenClaw deleted (its index entry gone), so the chain goes on from what the parent was
     * billed (resolve-user `SessionHints.rememberedAccountOfKey`).
     */
    accountOfKey(agentId: string, sessionKey: string): string | null {
      const key = storedText(sessionKey);
      if (key === null) return null;
      return fromStoredText(byKey.get(agentId, key)?.account_id ?? null);
    },
    get(agentId: string, sessionId: string): RememberedSession | null {
      const r = get.get(agentId, sessionId);
      return r
        ? {
            sessionKey: fromStoredText(r.session_key),
            accountId: fromStoredText(r.account_id),
            channel: fromStoredText(r.channel),
          }
        : null;
    },
  };
}

export type SessionMemory = ReturnType<typeof createSessionMemory>;
