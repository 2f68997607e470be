import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiKeys, ConsoleSession, ConsoleSessions } from "../../auth/index.js";
import { csrfMatches } from "../../auth/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import {
  CSRF_HEADER,
  clearedSessionCookie,
  isHttps,
  readCookie,
  SESSION_COOKIE,
  sessionCookie,
} from "../console-auth.js";
import type { AuthFailureLimiter } from "../hardening.js";

export interface ConsoleSessionRoutesOptions {
  apiKeys: ApiKeys;
  sessions: ConsoleSessions;
  failures: AuthFailureLimiter;
  nowMs: () => number;
  /** The real clock for the failure windows (see installAuth). Default Date.now. */
  clockMs?: () => number;
}

/** What the page learns about its session: never the key, never the cookie token. */
const sessionInfo = (s: ConsoleSession) => ({
  keyId: s.principal.keyId,
  scope: s.principal.scope,
  csrfToken: s.csrfToken,
  expiresAtMs: s.expiresAtMs,
});

/**
 * The console's login: `POST /console/session {apiKey}` checks the key exactly as the API does
 * (same failure limiter: 429 after too many wrong keys from one address), opens a server-side
 * session and sets it as an HttpOnly, SameSite=Strict cookie (Secure over https) with an expiry;
 * the answer carries the CSRF token the page sends on every change. `GET /console/session` gives a
 * reloaded page its token again; `DELETE /console/session` (CSRF token required) logs out. The key
 * itself is never stored by the browser: the page forgets it once the login answered.
 */
export const consoleSessionRoutes: FastifyPluginAsyncZod<ConsoleSessionRoutesOptions> = async (app, o) => {
  const clockMs = o.clockMs ?? Date.now;
  const guard = (ip: string) => {
    const retryAfterS = o.failures.retryAfterS(ip, clockMs());
    return retryAfterS;
  };
  app.post(
    "/console/session",
    { schema: { hide: true, body: z.strictObject({ apiKey: z.string().min(1).max(200) }) } },
    async (request, reply) => {
      const retryAfterS = guard(request.ip);
      if (retryAfterS > 0) {
        reply.header("retry-after", String(retryAfterS));
        throw new AppError(
          ErrorCode.RateLimited,
          `too many failed authentications from this address; retry in ${retryAfterS} s`,
        );
      }
      const principal = o.apiKeys.authenticate(request.body.apiKey.trim(), o.nowMs());
      if (!principal) {
        o.failures.fail(request.ip, clockMs());
        throw new AppError(ErrorCode.Unauthorized, "wrong, unknown or revoked API key");
      }
      const now = o.nowMs();
      const { token, session } = o.sessions.open(principal, now);
      reply.header("set-cookie", sessionCookie(token, session.expiresAtMs - now, isHttps(request)));
      reply.header("cache-control", "no-store");
      return reply.code(201).send(sessionInfo(session));
    },
  );
  app.get("/console/session", { schema: { hide: true } }, async (request, reply) => {
    const token = readCookie(request.headers.cookie, SESSION_COOKIE);
    const session = token ? o.sessions.resolve(token, o.nowMs()) : null;
    if (!session) throw new AppError(ErrorCode.Unauthorized, "not logged in");
    reply.header("cache-control", "no-store");
    return sessionInfo(session);
  });
  app.delete("/console/session", { schema: { hide: true } }, async (request, reply) => {
    const token = readCookie(request.headers.cookie, SESSION_COOKIE);
    const session = token ? o.sessions.resolve(token, o.nowMs()) : null;
    if (!token || !session) throw new AppError(ErrorCode.Unauthorized, "not logged in");
    const csrf = request.headers[CSRF_HEADER];
    if (!csrfMatches(typeof csrf === "string" ? csrf : undefined, session.csrfToken)) {
      throw new AppError(ErrorCode.Forbidden, "missing or wrong X-CSRF-Token header");
    }
    o.sessions.close(token);
    reply.header("set-cookie", clearedSessionCookie(isHttps(request)));
    return reply.code(204).send();
  });
};
