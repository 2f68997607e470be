import type { FastifyInstance, FastifyRequest } from "fastify";
import { type ApiKeys, type Principal, type Scope, scopeAllows } from "../auth/index.js";
import { AppError, ErrorCode } from "../errors.js";
import type { AuthFailureLimiter } from "./hardening.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated API key (set by the /v1 auth hook). */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /**
     * API-key scope this /v1 route needs (read < ingest < admin). Required on every route under
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
 */
export function installAuth(
  scope: FastifyInstance,
  apiKeys: ApiKeys,
  nowMs: () => number,
  failures?: AuthFailureLimiter,
  clockMs: () => number = Date.now,
): void {
  scope.addHook("onRoute", (route) => {
    if (!route.config?.scope) {
      throw new Error(
        `${[route.method].flat().join(",")} ${route.url}: declare config.scope (read, ingest or admin)`,
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
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    const principal = m?.[1] ? apiKeys.authenticate(m[1], nowMs()) : null;
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
