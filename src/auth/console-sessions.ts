import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "../db/index.js";
import type { ApiKeys, Principal } from "./api-keys.js";

/** How long a console login lasts: 12 hours (a working day), then the operator logs in again. */
export const CONSOLE_SESSION_TTL_MS = 12 * 3_600_000;

/** A live console session: who it acts as, the CSRF token its page echoes, when it ends (epoch ms). */
export interface ConsoleSession {
  principal: Principal;
  csrfToken: string;
  expiresAtMs: number;
}

const sha256hex = (s: string) => createHash("sha256").update(s).digest("hex");
const token = () => randomBytes(32).toString("base64url");

/**
 * Server-side console sessions (table `console_sessions`). A login trades an API key for a random
 * session token (the cookie) and a CSRF token (given to the page); only the token's sha256 is
 * stored. Every lookup re-checks the key with `apiKeys.principalOf`, so revoking a key ends its
 * sessions and a scope is never cached past its key.
 */
export function createConsoleSessions(db: Db, apiKeys: ApiKeys, ttlMs: number = CONSOLE_SESSION_TTL_MS) {
  const insert = db.prepare<[string, string, string, number, number]>(
    `INSERT INTO console_sessions (token_sha256, key_id, csrf_token, created_at_ms, expires_at_ms)
     VALUES (?, ?, ?, ?, ?)`,
  );
  const byToken = db.prepare<[string], { key_id: string; csrf_token: string; expires_at_ms: number }>(
    "SELECT key_id, csrf_token, expires_at_ms FROM console_sessions WHERE token_sha256 = ?",
  );
  const remove = db.prepare<[string]>("DELETE FROM console_sessions WHERE token_sha256 = ?");
  const purge = db.prepare<[number]>("DELETE FROM console_sessions WHERE expires_at_ms <= ?");
  return {
    /**
     * Opens a session for an authenticated key. Returns the cookie token (never stored), the
     * CSRF token and the expiry. Expired sessions are deleted on the way.
     */
    open(principal: Principal, nowMs: number): { token: string; session: ConsoleSession } {
      const t = token();
      const csrfToken = token();
      const expiresAtMs = nowMs + ttlMs;
      db.transaction(() => {
        purge.run(nowMs);
        insert.run(sha256hex(t), principal.keyId, csrfToken, nowMs, expiresAtMs);
      })();
      return { token: t, session: { principal, csrfToken, expiresAtMs } };
    },
    /** The live session of a cookie token, or null (unknown, expired, logged out, key revoked). */
    resolve(t: string, nowMs: number): ConsoleSession | null {
      const row = byToken.get(sha256hex(t));
      if (!row || row.expires_at_ms <= nowMs) return null;
      const principal = apiKeys.principalOf(row.key_id);
      if (!principal) return null;
      return { principal, csrfToken: row.csrf_token, expiresAtMs: row.expires_at_ms };
    },
    /** Ends a session (logout). False when there was none. */
    close(t: string): boolean {
      return remove.run(sha256hex(t)).changes > 0;
    },
  };
}
export type ConsoleSessions = ReturnType<typeof createConsoleSessions>;

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
