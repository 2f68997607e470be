import { readFileSync } from "node:fs";
import rateLimit from "@fastify/rate-limit";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { ZodError, z } from "zod";
import {
  type AuthFailureLimit,
  BUSY_RETRY_AFTER_S,
  clientErrorHandler,
  createAuthFailureLimiter,
  createUrlRedactor,
  DEFAULT_AUTH_FAILURE_LIMIT,
  DEFAULT_BUSY_RETRY_MS,
  frameworkErrors,
  requestSerializer,
  retryRequestOnBusy,
} from "./api/hardening.js";
import {
  createMetrics,
  createOpenApi,
  installAuth,
  type OpsProbes,
  operatorRoutes,
  registerOps,
  renderDocsHtml,
} from "./api/index.js";
import { isBusyError } from "./db/index.js";
import { AppError, ErrorCode, formatZodIssues } from "./errors.js";
import { createPushIngester, type PushIngesterOptions } from "./ingest/index.js";
import { formatMicroCredits } from "./money.js";
import {
  createTopup,
  createTopupRequestSchema,
  DISABLED_HINT,
  describeTopup,
  type PaymentsDeps,
  type TopupStatus,
} from "./payments/index.js";
import { createRepositories, type Repositories } from "./services.js";
import { mercadoPagoWebhookRoutes, stripeWebhookRoutes } from "./webhooks/index.js";
import { DEFAULT_SETTINGS, type WorkerSettings, workerRoutes } from "./worker/index.js";

export interface AppDeps extends PaymentsDeps {
  /**
   * Bootstrap admin key for `/v1/*` (CREDITGATE_API_KEY), accepted besides the stored keys of
   * `creditgate keys create`; null: only stored keys work.
   */
  apiKey: string | null;
  nowMs?: () => number;
  logger?: FastifyServerOptions["logger"];
  /** Webhook body limit; provider events are a few KiB. Default 1 MiB. */
  webhookBodyLimitBytes?: number;
  /** Limits, alerts and windows (see docs/worker.md); default DEFAULT_SETTINGS. */
  worker?: WorkerSettings;
  /** Pricing for `POST /v1/usage` (the meter's pricer, markup, credit rate); absent: 503. */
  ingest?: Omit<PushIngesterOptions, "nowMs"> | null;
  /** Requests per API key per window on /v1 (CREDITGATE_RATE_LIMIT_*). Default 600 per 60 s. */
  rateLimit?: { max: number; timeWindowMs: number };
  /** Redis and queue probes for /readyz and /metrics (when Redis is configured). */
  probes?: OpsProbes;
  /**
   * How long (ms, wall time) a request keeps retrying, with asynchronous backoff, when the
   * database is locked by another process, before answering 503 `busy`. Default 2,000.
   */
  busyRetryMs?: number;
  /** Failed authentications per client address per window before 429. Default 30 per 60 s. */
  authFailureLimit?: AuthFailureLimit;
  /**
   * Repositories built once by the composition root (createServices); absent (tests): built here
   * from `db`, `apiKey` and `worker`.
   */
  repos?: Repositories;
}

const DEFAULT_WEBHOOK_BODY_LIMIT_BYTES = 1_048_576;
const API_BODY_LIMIT_BYTES = 64 * 1024;
/** Longest path parameter (user ids are at most 200 characters); longer → 414. */
const MAX_PARAM_LENGTH = 256;
/** API keys' last-use times are written this often (and at close), never on the request path. */
const LAST_USED_FLUSH_MS = 60_000;

/** Public wording for 5xx codes: details go to the log, never to the client. */
const PUBLIC_5XX: Partial<Record<string, string>> = {
  upstream_unavailable: "the payment provider is unavailable; retry later",
  invalid_config: "server misconfigured",
  internal: "internal error",
};

/** Never logged: credentials and provider signatures (bodies and chat text are never logged at all). */
const REDACT = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["stripe-signature"]',
  'req.headers["x-signature"]',
];

/** Hand-set (no helmet needed for a JSON API): no sniffing, framing, referrers or third-party loads. */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const VERSION = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    return String(pkg.version);
  } catch {
    return "0.0.0";
  }
})();

/** The HTTP app: operator API, landing pages and provider webhooks. Never listens (see server.ts). */
export function buildApp(deps: AppDeps): FastifyInstance {
  const nowMs = deps.nowMs ?? Date.now;
  // Request logs: credentials redacted, end-user ids in URLs replaced by a keyed hash.
  const serializers = { req: requestSerializer(createUrlRedactor()) };
  const logger =
    deps.logger && typeof deps.logger === "object"
      ? { ...deps.logger, redact: REDACT, serializers: { ...deps.logger.serializers, ...serializers } }
      : deps.logger === true
        ? { redact: REDACT, serializers }
        : false;
  const app = Fastify({
    logger,
    bodyLimit: API_BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrors(MAX_PARAM_LENGTH, SECURITY_HEADERS),
    clientErrorHandler,
  });
  app.decorateRequest("principal", null);
  // Every handler: a database locked by another process is retried asynchronously (the event
  // loop stays free: /healthz answers), then 503 `busy`. Handlers are safe to re-run after a busy
  // failure: each write is one transaction, so a failed attempt left nothing behind.
  const busyRetryMs = deps.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS;
  app.addHook("onRoute", (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request, reply) {
      return retryRequestOnBusy(() => handler.call(this, request, reply), busyRetryMs);
    };
  });
  const openApi = createOpenApi(app, { version: VERSION });
  const repos =
    deps.repos ??
    createRepositories(deps.db, { apiKey: deps.apiKey, worker: deps.worker ?? DEFAULT_SETTINGS });
  const { apiKeys, fulfiller, ledger, topups, enforcer, queries } = repos;
  const payments = { ...deps, topups };
  const flushTimer = setInterval(() => apiKeys.flushLastUsed(), LAST_USED_FLUSH_MS);
  flushTimer.unref();
  app.addHook("onClose", async () => {
    clearInterval(flushTimer);
    apiKeys.flushLastUsed();
  });
  const authFailures = createAuthFailureLimiter(deps.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT);
  const probes = deps.probes ?? {};
  const metrics = createMetrics(deps.db, probes, nowMs);
  const ingester = deps.ingest ? createPushIngester(deps.db, { ...deps.ingest, nowMs }) : null;
  app.addHook("onSend", async (_request, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });

  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    // One line, always: a multi-line message (a quoted parser error, a list) is joined with "; ".
    const send = (status: number, code: string, message: string) =>
      reply.code(status).send({
        error: {
          code,
          message: message
            .trim()
            .split(/\s*\n\s*/)
            .join("; "),
          requestId: request.id,
        },
      });
    if (err instanceof AppError) {
      if (err.code === ErrorCode.Busy) reply.header("retry-after", String(BUSY_RETRY_AFTER_S));
      if (err.httpStatus >= 500) request.log.warn({ err }, "request failed");
      const message = err.httpStatus >= 500 ? (PUBLIC_5XX[err.code] ?? err.message) : err.message;
      return send(err.httpStatus, err.code, message);
    }
    if (err instanceof ZodError) return send(400, ErrorCode.InvalidRequest, formatZodIssues(err.issues));
    if (isBusyError(err)) {
      // From a hook (not retried there) or a reader meeting an EXCLUSIVE-mode lock.
      reply.header("retry-after", String(BUSY_RETRY_AFTER_S));
      return send(503, ErrorCode.Busy, "the database is locked by another process; retry shortly");
    }
    const status = "statusCode" in err ? err.statusCode : undefined;
    if (status === 429) return send(429, ErrorCode.RateLimited, err.message);
    if (status !== undefined && status >= 400 && status < 500) {
      const code = (err as FastifyError).code;
      const message =
        code === "FST_ERR_CTP_BODY_TOO_LARGE"
          ? "request body is too large"
          : code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
            ? `unsupported content-type ${JSON.stringify(request.headers["content-type"] ?? "")}: send application/json`
            : code === "FST_ERR_CTP_INVALID_JSON_BODY" || err instanceof SyntaxError
              ? "malformed JSON body"
              : err.message.replace(/\s+/g, " ").trim();
      return send(status, status === 404 ? ErrorCode.NotFound : ErrorCode.InvalidRequest, message);
    }
    request.log.error({ err }, "unhandled error");
    return send(500, ErrorCode.Internal, "internal error");
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: {
        code: ErrorCode.NotFound,
        message: `no route ${request.method} ${request.url.split("?")[0]}`,
        requestId: request.id,
      },
    }),
  );

  app.get("/healthz", async () => ({
    ok: true,
    providers: {
      stripe: deps.stripe ? "enabled" : DISABLED_HINT.stripe,
      mercadopago: deps.mercadoPago ? "enabled" : DISABLED_HINT.mercadopago,
    },
    packs: deps.packs.list().length,
  }));

  // Landing pages: display only. Credits come from verified webhooks, never from a redirect.
  app.get("/pay/success", async (request, reply) => {
    const status = topupStatusFromQuery(request.query);
    const line =
      status === "paid"
        ? "Your payment is confirmed and the credits are on your balance."
        : "Thanks! As soon as the payment provider confirms your payment (usually within seconds; some " +
          "methods such as bank transfer or cash take longer), the credits are added to your balance.";
    return reply.type("text/html; charset=utf-8").send(page("Payment received", line));
  });
  app.get("/pay/cancel", async (_request, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .send(
        page(
          "Payment cancelled",
          "No payment was taken and nothing changed. Ask the bot for a new link any time.",
        ),
      ),
  );
  function topupStatusFromQuery(query: unknown): TopupStatus | null {
    const id = (query as Record<string, unknown>).topup;
    return typeof id === "string" ? (topups.get(id)?.status ?? null) : null;
  }

  registerOps(app, { db: deps.db, probes, metrics, nowMs });
  app.get("/docs/openapi.json", async () => openApi.document());
  app.get("/docs", async (_request, reply) =>
    reply.type("text/html; charset=utf-8").send(renderDocsHtml(openApi.document())),
  );

  app.register(async (api) => {
    // Every /v1 route: a valid key (401), a strong enough scope (403), then the per-key rate limit.
    installAuth(api, apiKeys, nowMs, authFailures);
    const limit = deps.rateLimit ?? { max: 600, timeWindowMs: 60_000 };
    await api.register(rateLimit, {
      hook: "onRequest",
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      keyGenerator: (request) => `key:${request.principal?.keyId ?? request.ip}`,
      errorResponseBuilder: (_request, ctx) =>
        new AppError(ErrorCode.RateLimited, `rate limit of ${ctx.max} requests per ${ctx.after} exceeded`),
    });

    api.post("/v1/topups", async (request, reply) => {
      const body = createTopupRequestSchema.parse(request.body ?? {});
      return reply.code(201).send(await createTopup(payments, body, nowMs()));
    });
    api.get("/v1/topups/:id", async (request) => {
      const { id } = z.object({ id: z.string().min(1).max(100) }).parse(request.params);
      const t = topups.get(id);
      if (!t) throw new AppError(ErrorCode.NotFound, `no top-up ${id}`);
      return describeTopup(t);
    });
    api.get("/v1/balances/:userId", async (request) => {
      const { userId } = z.object({ userId: z.string().min(1).max(200) }).parse(request.params);
      const b = ledger.balance(userId);
      const micro = b?.balanceMicroCredits ?? 0;
      return {
        userId,
        balanceMicroCredits: micro,
        balanceCredits: formatMicroCredits(micro),
        overdrawn: micro < 0,
      };
    });
    // Limits, status, /consumo, notices, usage and packs: same answers as the BullMQ RPC queue.
    await api.register(workerRoutes, { enforcer, queries, packs: deps.packs, nowMs });
    await api.register(operatorRoutes, {
      db: deps.db,
      ledger,
      apiKeys,
      ingester,
      nowMs,
      onPushResults: (c) => {
        for (const [status, n] of Object.entries(c)) if (n > 0) metrics.pushEvents.inc({ status }, n);
      },
    });
  });

  const bodyLimitBytes = deps.webhookBodyLimitBytes ?? DEFAULT_WEBHOOK_BODY_LIMIT_BYTES;
  app.register(stripeWebhookRoutes, { stripe: deps.stripe, fulfiller, nowMs, bodyLimitBytes });
  app.register(mercadoPagoWebhookRoutes, { mercadoPago: deps.mercadoPago, fulfiller, nowMs, bodyLimitBytes });
  return app;
}

function page(title: string, text: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1>${title}</h1><p>${text}</p><p>You can close this page and return to the chat.</p>
</body></html>
`;
}
