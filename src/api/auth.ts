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
    /** Scope this route needs; default: `read` for GET/HEAD, `admin` otherwise. */
    scope?: Scope;
  }
}

/**
 * Routes registered elsewhere (src/api/routes/*.ts) whose scope is not the method
 * default. What the OpenClaw plugin does for its users needs only an `ingest` key: acknowledging a
 * delivered notice, and creating a payment link for `/recargar` (a link moves no money; only the
 * provider's verified webhook credits). See SCOPES in src/auth/api-keys.ts.
 */
const ROUTE_SCOPES: Readonly<Record<string, Scope>> = {
  "POST /v1/notices/:id/ack": "ingest",
  "POST /v1/topups": "ingest",
};

/** The scope a route requires: its `config.scope`, the table above, or the method default. */
export function requiredScope(method: string, url: string, configured: Scope | undefined): Scope {
  if (configured) return configured;
  const fromTable = ROUTE_SCOPES[`${method} ${url}`];
  if (fromTable) return fromTable;
  return method === "GET" || method === "HEAD" ? "read" : "admin";
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
    const need = requiredScope(
      request.method,
      request.routeOptions.url ?? "",
      request.routeOptions.config.scope,
    );
    if (!scopeAllows(principal.scope, need)) {
      throw new AppError(
        ErrorCode.Forbidden,
        `api key ${principal.keyId} has scope ${principal.scope}; this route needs ${need}`,
      );
    }
  });
}
