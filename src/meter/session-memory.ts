import type { Db } from "../db/index.js";

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
  return {
    get(agentId: string, sessionId: string): RememberedSession | null {
      const r = get.get(agentId, sessionId);
      return r ? { sessionKey: r.session_key, accountId: r.account_id, channel: r.channel } : null;
    },
  };
}

export type SessionMemory = ReturnType<typeof createSessionMemory>;
