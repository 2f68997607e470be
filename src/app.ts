import { createHash, timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from "fastify";
import { ZodError, z } from "zod";
import { createLedger } from "./credits/index.js";
import { AppError, ErrorCode } from "./errors.js";
import { formatMicroCredits } from "./money.js";
import {
  createTopup,
  createTopupRepo,
  createTopupRequestSchema,
  DISABLED_HINT,
  describeTopup,
  type PaymentsDeps,
  type TopupStatus,
} from "./payments/index.js";
import { createFulfiller, mercadoPagoWebhookRoutes, stripeWebhookRoutes } from "./webhooks/index.js";
import {
  createEnforcer,
  createQueries,
  DEFAULT_SETTINGS,
  type WorkerSettings,
  workerRoutes,
} from "./worker/index.js";

export interface AppDeps extends PaymentsDeps {
  /** Operator key for `/v1/*` (`Authorization: Bearer <key>`); null disables the operator API. */
  apiKey: string | null;
  nowMs?: () => number;
  logger?: FastifyServerOptions["logger"];
  /** Webhook body limit; provider events are a few KiB. Default 1 MiB. */
  webhookBodyLimitBytes?: number;
  /** Limits, alerts and windows (see docs/worker.md); default DEFAULT_SETTINGS. */
  worker?: WorkerSettings;
}

const DEFAULT_WEBHOOK_BODY_LIMIT_BYTES = 1_048_576;
const API_BODY_LIMIT_BYTES = 64 * 1024;

/** Public wording for 5xx codes: details go to the log, never to the client. */
const PUBLIC_5XX: Partial<Record<string, string>> = {
  upstream_unavailable: "the payment provider is unavailable; retry later",
  invalid_config: "server misconfigured",
  internal: "internal error",
};

const sha256 = (s: string) => createHash("sha256").update(s).digest();

/** The HTTP app: operator API, landing pages and provider webhooks. Never listens (see server.ts). */
export function buildApp(deps: AppDeps): FastifyInstance {
  const nowMs = deps.nowMs ?? Date.now;
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: API_BODY_LIMIT_BYTES });
  const fulfiller = createFulfiller(deps.db);
  const ledger = createLedger(deps.db);
  const topups = createTopupRepo(deps.db);
  const enforcer = createEnforcer(deps.db, deps.worker ?? DEFAULT_SETTINGS);
  const queries = createQueries(deps.db, enforcer);

  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    const send = (status: number, code: string, message: string) =>
      reply.code(status).send({ error: { code, message, requestId: request.id } });
    if (err instanceof AppError) {
      if (err.httpStatus >= 500) request.log.warn({ err }, "request failed");
      const message = err.httpStatus >= 500 ? (PUBLIC_5XX[err.code] ?? err.message) : err.message;
      return send(err.httpStatus, err.code, message);
    }
    if (err instanceof ZodError) return send(400, ErrorCode.InvalidRequest, z.prettifyError(err));
    const status = "statusCode" in err ? err.statusCode : undefined;
    if (status !== undefined && status >= 400 && status < 500) {
      const code = (err as FastifyError).code;
      const message =
        code === "FST_ERR_CTP_BODY_TOO_LARGE"
          ? "request body is too large"
          : code === "FST_ERR_CTP_INVALID_JSON_BODY" || err instanceof SyntaxError
            ? "malformed JSON body"
            : err.message;
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

  app.register(async (api) => {
    const expected = deps.apiKey ? sha256(deps.apiKey) : null;
    api.addHook("onRequest", async (request) => {
      if (!expected) {
        throw new AppError(ErrorCode.Unauthorized, "the operator API is disabled: set CREDITGATE_API_KEY");
      }
      const m = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
      if (!m?.[1] || !timingSafeEqual(sha256(m[1]), expected)) {
        throw new AppError(ErrorCode.Unauthorized, "missing or wrong bearer token");
      }
    });

    api.post("/v1/topups", async (request, reply) => {
      const body = createTopupRequestSchema.parse(request.body ?? {});
      return reply.code(201).send(await createTopup(deps, body, nowMs()));
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
