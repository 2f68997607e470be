import type { FastifyInstance, FastifyRequest } from "fastify";
import { type ApiKeys, type Principal, type Scope, scopeAllows } from "../auth/index.js";
import { AppError, ErrorCode } from "../errors.js";

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
 * Routes registered elsewhere (src/worker/http-routes.ts) whose scope is not the method default.
 * What the OpenClaw plugin does for its users needs only an `ingest` key: acknowledging a
 * delivered notice, and creating a payment link for `/recargar` (a link moves no money; only the
 * provider's verified webhook credits).
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
 * 401 when the key is missing, unknown or revoked; 403 when its scope is too weak.
 */
export function installAuth(scope: FastifyInstance, apiKeys: ApiKeys, nowMs: () => number): void {
  scope.addHook("onRequest", async (request: FastifyRequest) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
    const principal = m?.[1] ? apiKeys.authenticate(m[1], nowMs()) : null;
    if (!principal) {
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
