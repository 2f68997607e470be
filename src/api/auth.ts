import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  type ApiKeys,
  type ConsoleSessions,
  csrfMatches,
  type Principal,
  type Scope,
  scopeAllows,
} from "../auth/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { CSRF_HEADER, readCookie, SAFE_METHODS, SESSION_COOKIE } from "./console-auth.js";
import type { AuthFailureLimiter } from "./hardening.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated API key (set by the /v1 auth hook). */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /**
     * API-key scope this /v1 route needs (read < ingest < admin; `push`: POST /v1/usage only, see `scopeAllows`). Required on every route under
     * /v1 (checked when the route is registered); unused elsewhere.
     */
    scope?: Scope;
  }
}

/**
 * The scope a /v1 route requires: its `config.scope`. Every /v1 route declares one (`installAuth`
 * refuses to register a route without it); an undeclared scope would need `admin` (fail closed).
 */
export function requiredScope(configured: Scope | undefined): Scope {
  return configured ?? "admin";
}

/**
 * Adds Bearer authentication and scope checks to every route of `scope` (the /v1 plugin).
 * 401 when the key is missing, unknown or revoked; 403 when its scope is too weak; 429 (with
 * `Retry-After`) for a client address that failed too often, see `createAuthFailureLimiter`.
 * `clockMs` is the real clock (the failure windows must pass even when `nowMs` is fixed in tests).
 *
 * With `sessions`, a request without an Authorization header may instead carry the operator
 * console's session cookie: it acts as the session's key (same scope checks, same per-key rate
 * limit), and every state-changing method (not GET/HEAD/OPTIONS) must also send the session's
 * CSRF token in `X-CSRF-Token` (else 403, nothing changed). A bearer header always wins.
 */
export function installAuth(
  scope: FastifyInstance,
  apiKeys: ApiKeys,
  nowMs: () => number,
  failures?: AuthFailureLimiter,
  clockMs: () => number = Date.now,
  sessions?: ConsoleSessions,
): void {
  scope.addHook("onRoute", (route) => {
    if (!route.config?.scope) {
      throw new Error(
        `${[route.method].flat().join(",")} ${route.url}: declare config.scope (push, read, ingest or admin)`,
      );
    }
  });
  scope.addHook("onRequest", async (request: FastifyRequest, reply) => {
    const retryAfterS = failures?.retryAfterS(request.ip, clockMs()) ?? 0;
    if (retryAfterS > 0) {
      reply.header("retry-after", String(retryAfterS));
      throw new AppError(
        ErrorCode.RateLimited,
        `too many failed authentications from this address; retry in ${retryAfterS} s`,
      );
    }
    const cookie =
      sessions && request.headers.authorization === undefined
        ? readCookie(request.headers.cookie, SESSION_COOKIE)
        : null;
    let principal: Principal | null;
    if (sessions && cookie !== null) {
      const session = sessions.resolve(cookie, nowMs());
      if (!session) {
        failures?.fail(request.ip, clockMs());
        throw new AppError(ErrorCode.Unauthorized, "console session expired or logged out: log in again");
      }
      const csrf = request.headers[CSRF_HEADER];
      if (
        !SAFE_METHODS.has(request.method) &&
        !csrfMatches(typeof csrf === "string" ? csrf : undefined, session.csrfToken)
      ) {
        throw new AppError(
          ErrorCode.Forbidden,
          "missing or wrong X-CSRF-Token header: a console session changes nothing without it",
        );
      }
      principal = session.principal;
    } else {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
      principal = m?.[1] ? apiKeys.authenticate(m[1], nowMs()) : null;
    }
    if (!principal) {
      failures?.fail(request.ip, clockMs());
      throw new AppError(
        ErrorCode.Unauthorized,
        apiKeys.enabled()
          ? "missing or wrong bearer token"
          : "the operator API is disabled: set CREDITGATE_API_KEY or run `creditgate keys create`",
      );
    }
    request.principal = principal;
    const need = requiredScope(request.routeOptions.config.scope);
    if (!scopeAllows(principal.scope, need)) {
      throw new AppError(
        ErrorCode.Forbidden,
        `api key ${principal.keyId} has scope ${principal.scope}; this route needs ${need}`,
      );
    }
  });
}
