import { readFileSync } from "node:fs";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from "fastify";
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { ZodError } from "zod";
import {
  BUSY_RETRY_AFTER_S,
  clientErrorHandler,
  consoleSessionRoutes,
  consoleStatic,
  createUrlRedactor,
  DEFAULT_BUSY_RETRY_MS,
  defaultConsoleDir,
  docsRoutes,
  frameworkErrors,
  healthRoutes,
  installRequestHooks,
  issuesOf,
  type OpsProbes,
  observeRequests,
  opsRoutes,
  payPages,
  requestSerializer,
  SECURITY_HEADERS,
  swaggerOptions,
  v1Routes,
  webhookRoutes,
} from "./api/index.js";
import type { AppServices } from "./app-services.js";
import { DEFAULT_CONFIG } from "./config/index.js";
import { isBusyError } from "./db/index.js";
import { AppError, ErrorCode, formatZodIssues } from "./errors.js";
import type { Pricer } from "./meter/index.js";
import { parseDecimal, type Ratio } from "./money.js";
import type { PaymentsDeps } from "./payments/index.js";
import type { ProviderService } from "./providers/index.js";
import type { Repositories } from "./repositories.js";

/**
 * What the app registers, all built once by the composition root (createServices) or, in tests, by
 * the same functions (createRepositories, createAppServices).
 */
export interface AppDeps extends PaymentsDeps {
  /** The process's repositories (API keys, ledger, top-ups, fulfiller, enforcer, queries). */
  repos: Repositories;
  /** Bills `POST /v1/usage`; null: the endpoint answers 503. */
  ingester: AppServices["ingester"];
  /** The Prometheus registry and series of `/metrics`. */
  metrics: AppServices["metrics"];
  /** Provider accounts (issue #13) for `/v1/providers`; absent: none listed. */
  providers?: ProviderService | null;
  /** Failed authentications per client address (429 past its limit). */
  authFailures: AppServices["authFailures"];
  nowMs?: () => number;
  logger?: FastifyServerOptions["logger"];
  /** Webhook body limit; provider events are a few KiB. Default 1 MiB. */
  webhookBodyLimitBytes?: number;
  /** Requests per API key per window on /v1 (CREDITGATE_RATE_LIMIT_*). Default 600 per 60 s. */
  rateLimit?: { max: number; timeWindowMs: number };
  /** `CREDITGATE_CREDITS_PER_USD` (decimal text), for report margins. Default: the config default. */
  creditsPerUsd?: string;
  /** Redis and queue probes for /readyz (when Redis is configured; the metrics get theirs at createAppServices). */
  probes?: OpsProbes;
  /**
   * How long (ms, wall time) a request keeps retrying, with asynchronous backoff, when the
   * database is locked by another process, before answering 503 `busy`. Default 2,000.
   */
  busyRetryMs?: number;
  /**
   * The built console (dist/console: index.html + assets/), served under /console. Default: found
   * next to the server's own build; null or not built: /console answers 503 saying how to build it.
   */
  consoleDir?: string | null;
  /**
   * The meter's pricing (markup, credits per USD, pricer): console margins and review releases.
   * Default markup 1, 1 credit per USD, no pricer.
   */
  pricing?: { markup: Ratio; creditsPerUsd: Ratio; pricer?: Pricer | undefined };
  /** Pending top-ups younger than this are left to their webhook by `POST /v1/payments/reconcile`. Default 15 min. */
  reconcileAfterMs?: number;
}

const ONE: Ratio = { num: 1n, den: 1n };
const DEFAULT_RECONCILE_AFTER_MS = 15 * 60_000;
const DEFAULT_WEBHOOK_BODY_LIMIT_BYTES = 1_048_576;
const API_BODY_LIMIT_BYTES = 64 * 1024;
/** Unknown URLs answered per client address per window before 429 (URL probing). */
const NOT_FOUND_LIMIT = { max: 120, timeWindowMs: 60_000 };
/** Longest path parameter (user ids are at most 200 characters); longer → 414. */
const MAX_PARAM_LENGTH = 256;

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

const VERSION = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    return String(pkg.version);
  } catch {
    return "0.0.0";
  }
})();

/**
 * The HTTP app: operator API, landing pages and provider webhooks, as route plugins (src/api/routes/)
 * with their zod schemas; this only registers plugins, routes and the error/404 handlers over the
 * services it is given (builds none). Never listens (see server.ts).
 */
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
    // A request that fails its route's zod schema: 400 with one line naming each field.
    schemaErrorFormatter: (errors, dataVar) =>
      new AppError(
        ErrorCode.InvalidRequest,
        formatZodIssues(issuesOf(errors), dataVar === "querystring" ? "query" : dataVar),
      ),
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest("principal", null);
  installRequestHooks(app, { busyRetryMs: deps.busyRetryMs ?? DEFAULT_BUSY_RETRY_MS });
  app.setErrorHandler(errorHandler);
  // The 404 is rate limited per client address: unknown URLs are mostly probes for admin panels
  // and leaked files, and each answer costs a log line; a prober past the limit gets 429.
  app.register(rateLimit, { global: false });
  app.after(() => {
    app.setNotFoundHandler(
      {
        preHandler: app.rateLimit({
          max: NOT_FOUND_LIMIT.max,
          timeWindow: NOT_FOUND_LIMIT.timeWindowMs,
          errorResponseBuilder: (_request, ctx) =>
            new AppError(
              ErrorCode.RateLimited,
              `rate limit of ${ctx.max} unknown URLs per ${NOT_FOUND_LIMIT.timeWindowMs / 1000} s exceeded; retry in ${ctx.after}`,
            ),
        }),
      },
      (request, reply) =>
        reply.code(404).send({
          error: {
            code: ErrorCode.NotFound,
            // The path is echoed only in part: a probe's 10 kB URL must not come back whole.
            message: `no route ${request.method} ${truncate(request.url.split("?")[0] ?? "", 200)}`,
            requestId: request.id,
          },
        }),
    );
  });

  const { repos, metrics } = deps;
  const probes = deps.probes ?? {};
  const payments = { ...deps, topups: repos.topups };

  app.register(swagger, swaggerOptions({ version: VERSION }));
  app.register(healthRoutes, { stripe: deps.stripe, mercadoPago: deps.mercadoPago, packs: deps.packs });
  app.register(payPages, { topups: repos.topups, db: deps.db });
  observeRequests(app, metrics);
  app.register(opsRoutes, { db: deps.db, probes, metrics, nowMs });
  app.register(docsRoutes);
  app.register(consoleStatic, {
    dir: deps.consoleDir === undefined ? defaultConsoleDir() : deps.consoleDir,
  });
  app.register(consoleSessionRoutes, {
    apiKeys: repos.apiKeys,
    sessions: repos.consoleSessions,
    failures: deps.authFailures,
    nowMs,
  });
  app.register(v1Routes, {
    db: deps.db,
    payments,
    ledger: repos.ledger,
    apiKeys: repos.apiKeys,
    consoleSessions: repos.consoleSessions,
    enforcer: repos.enforcer,
    queries: repos.queries,
    ingester: deps.ingester,
    nowMs,
    authFailures: deps.authFailures,
    rateLimit: deps.rateLimit ?? DEFAULT_CONFIG.http.rateLimit,
    providers: deps.providers ?? null,
    console: {
      pricing: deps.pricing ?? { markup: ONE, creditsPerUsd: ONE },
      apply: (topupId, observation, now) =>
        repos.fulfiller.apply({ event: null, topupId, observation, nowMs: now }),
      reconcileAfterMs: deps.reconcileAfterMs ?? DEFAULT_RECONCILE_AFTER_MS,
    },
    creditsPerUsd: parseDecimal(deps.creditsPerUsd ?? DEFAULT_CONFIG.pricing.creditsPerUsd),
    onPushResults: (c) => {
      for (const [status, n] of Object.entries(c)) if (n > 0) metrics.pushEvents.inc({ status }, n);
    },
  });
  app.register(webhookRoutes, {
    stripe: deps.stripe,
    mercadoPago: deps.mercadoPago,
    fulfiller: repos.fulfiller,
    nowMs,
    bodyLimitBytes: deps.webhookBodyLimitBytes ?? DEFAULT_WEBHOOK_BODY_LIMIT_BYTES,
  });
  return app;
}

/**
 * One error shape: `{error:{code,message,requestId}}`, the message one line. AppErrors keep their
 * code (5xx wording is public, details go to the log); Fastify's own 4xx errors are mapped to
 * `invalid_request` / `not_found` with a readable message.
 */
function errorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
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
}

/** `text` cut to `max` characters, with an ellipsis when cut. */
function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
