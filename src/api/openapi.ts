import type { FastifyInstance, RouteOptions } from "fastify";
import { type ZodType, z } from "zod";
import { pushBatchSchema, pushEventSchema } from "../ingest/index.js";
import { createTopupRequestSchema } from "../payments/index.js";
import { limitRulesSchema } from "../worker/index.js";
import { requiredScope } from "./auth.js";
import {
  balancesQuerySchema,
  createKeyBodySchema,
  grantBodySchema,
  ledgerQuerySchema,
  usageQuerySchema,
} from "./routes.js";

interface RouteDoc {
  summary: string;
  tag: string;
  query?: ZodType;
  body?: ZodType;
  /** Extra words under the summary. */
  description?: string;
}

const range = z.object({
  fromMs: z.coerce.number().int().min(0).optional(),
  toMs: z.coerce.number().int().min(0).optional(),
});
const reason = z.object({ reason: z.string().min(1).max(500) });

/**
 * Every operator route's documentation. A test checks that each registered /v1 route has an
 * entry here, so a new route cannot ship undocumented.
 */
export const ROUTE_DOCS: Readonly<Record<string, RouteDoc>> = {
  "GET /v1/balances": {
    tag: "balances",
    summary: "List balances (paged by account id)",
    query: balancesQuerySchema,
  },
  "GET /v1/balances/:userId": { tag: "balances", summary: "One user's balance" },
  "GET /v1/users/:id/status": { tag: "status", summary: "Enforcement status: allowed or blocked, and why" },
  "GET /v1/users/:id/consumo": {
    tag: "status",
    summary: "Balance, today's and this month's usage, limits (the /consumo answer)",
  },
  "POST /v1/users/:id/block": { tag: "status", summary: "Block a user manually", body: reason },
  "POST /v1/users/:id/unblock": { tag: "status", summary: "Lift a manual block" },
  "GET /v1/usage": {
    tag: "usage",
    summary: "Usage totals grouped by user, agent, model or day (same numbers as `creditgate usage`)",
    query: usageQuerySchema,
  },
  "POST /v1/usage": {
    tag: "usage",
    summary: "Push a batch of usage events (billed once per idempotency key)",
    description:
      "Each event is billed, duplicate, conflict (same key, different content), held (out of range: review queue) " +
      "or rejected with a reason; events never apply partially. timestampMs must be within 30 days before and " +
      "10 minutes after the server clock. A key shaped like the meter's dedupe key (12 hex digits, '-', 32 hex " +
      "digits) must equal the identity recomputed from the event's content; other keys are namespaced per API key " +
      "and agent. Each event: see components.schemas.PushEvent.",
    body: pushBatchSchema,
  },
  "GET /v1/users/:id/usage": { tag: "usage", summary: "One user's usage in a time range", query: range },
  "GET /v1/agents/:agentId/usage": {
    tag: "usage",
    summary: "One agent's usage in a time range",
    query: range,
  },
  "GET /v1/agents/:agentId/burn": { tag: "usage", summary: "An agent's spend rate and runway" },
  "GET /v1/users/:id/ledger": {
    tag: "ledger",
    summary: "A user's ledger entries, newest first",
    query: ledgerQuerySchema,
  },
  "POST /v1/users/:id/grants": {
    tag: "ledger",
    summary: "Grant credits (idempotent per key)",
    body: grantBodySchema,
  },
  "POST /v1/topups": {
    tag: "topups",
    summary: "Create a top-up payment link",
    body: createTopupRequestSchema,
  },
  "GET /v1/topups/:id": { tag: "topups", summary: "A top-up's status" },
  "GET /v1/packs": { tag: "topups", summary: "Credit packs and their prices" },
  "GET /v1/users/:id/limits": { tag: "limits", summary: "A user's limits (own, defaults, effective)" },
  "PUT /v1/users/:id/limits": { tag: "limits", summary: "Set a user's limits", body: limitRulesSchema },
  "DELETE /v1/users/:id/limits": { tag: "limits", summary: "Remove a user's own limits (defaults apply)" },
  "GET /v1/limits/defaults": { tag: "limits", summary: "Default limits" },
  "PUT /v1/limits/defaults": { tag: "limits", summary: "Set the default limits", body: limitRulesSchema },
  "GET /v1/notices": {
    tag: "notices",
    summary: "Undelivered user notices",
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
  },
  "POST /v1/notices/:id/ack": { tag: "notices", summary: "Acknowledge a delivered notice" },
  "GET /v1/alerts": {
    tag: "notices",
    summary: "Operator alerts and their webhook delivery state",
    query: z.object({
      state: z.enum(["none", "pending", "queued", "delivered", "dead"]).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  "GET /v1/keys": { tag: "keys", summary: "List API keys (never the secrets)" },
  "POST /v1/keys": {
    tag: "keys",
    summary: "Create an API key; the response shows the key once",
    body: createKeyBodySchema,
  },
  "DELETE /v1/keys/:id": { tag: "keys", summary: "Revoke an API key" },
};

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string" }, message: { type: "string" }, requestId: { type: "string" } },
    },
  },
};

const jsonSchema = (s: ZodType) => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
};

/** Collects the routes as they register; `document()` renders OpenAPI 3.1 from them. */
export function createOpenApi(app: FastifyInstance, info: { version: string }) {
  const routes: { method: string; url: string; scope: RouteOptions["config"] }[] = [];
  app.addHook("onRoute", (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const method of methods) {
      if (method === "HEAD" || !r.url.startsWith("/v1/")) continue;
      routes.push({ method, url: r.url, scope: r.config });
    }
  });

  function document() {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of routes) {
      const key = `${r.method} ${r.url}`;
      const doc = ROUTE_DOCS[key];
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      const params = [...r.url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({
        name: m[1],
        in: "path",
        required: true,
        schema: { type: "string" },
      }));
      if (doc?.query) {
        const q = jsonSchema(doc.query) as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, schema] of Object.entries(q.properties ?? {})) {
          params.push({
            name,
            in: "query",
            required: q.required?.includes(name) ?? false,
            schema: schema as { type: string },
          });
        }
      }
      const scope = requiredScope(r.method, r.url, (r.scope as { scope?: "read" } | undefined)?.scope);
      paths[path] ??= {};
      (paths[path] as Record<string, unknown>)[r.method.toLowerCase()] = {
        tags: [doc?.tag ?? "other"],
        summary: doc?.summary ?? key,
        description: `${doc?.description ? `${doc.description}\n\n` : ""}Requires an API key with scope \`${scope}\` or stronger.`,
        security: [{ bearer: [] }],
        parameters: params,
        ...(doc?.body
          ? {
              requestBody: {
                required: true,
                content: { "application/json": { schema: jsonSchema(doc.body) } },
              },
            }
          : {}),
        responses: {
          "200": { description: "OK (201 when created, 204 when there is no body)" },
          default: { description: "Error", content: { "application/json": { schema: errorSchema } } },
        },
      };
    }
    return {
      openapi: "3.1.0",
      info: {
        title: "creditgate operator API",
        version: info.version,
        description:
          "Every /v1 route needs `Authorization: Bearer <api key>` (scopes read < ingest < admin). " +
          "Errors are `{error:{code,message,requestId}}` with a one-line message; 429 and 503 `busy` (the database is locked by another process; nothing was changed) carry Retry-After.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
        schemas: { Error: errorSchema, PushEvent: jsonSchema(pushEventSchema) },
      },
      paths,
    };
  }

  return {
    document,
    /** Registered /v1 routes without documentation (a test keeps this empty). */
    undocumented: () => routes.map((r) => `${r.method} ${r.url}`).filter((k) => !ROUTE_DOCS[k]),
  };
}

/** A dependency-free HTML listing of the document (no scripts, so the strict CSP holds). */
export function renderDocsHtml(doc: ReturnType<ReturnType<typeof createOpenApi>["document"]>): string {
  const esc = (s: string) =>
    s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);
  const rows: string[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const o = op as { summary: string; description: string };
      rows.push(
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${esc(path)}</code></td><td>${esc(o.summary)}<br><small>${esc(o.description.split("\n\n").at(-1) ?? "")}</small></td></tr>`,
      );
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}td{padding:.3rem .6rem;vertical-align:top;border-bottom:1px solid #ddd}</style>
</head><body><h1>${esc(doc.info.title)} ${esc(doc.info.version)}</h1>
<p>${esc(doc.info.description)}</p><p>Machine-readable: <a href="/docs/openapi.json">/docs/openapi.json</a> (OpenAPI 3.1).</p>
<table>${rows.join("\n")}</table></body></html>
`;
}
