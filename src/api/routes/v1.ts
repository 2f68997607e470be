import rateLimit from "@fastify/rate-limit";
import type { FastifyPluginAsync } from "fastify";
import type { ApiKeys, ConsoleSessions } from "../../auth/index.js";
import { type createLedger, resolveAccountId } from "../../credits/index.js";
import type { Db } from "../../db/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import type { PushIngester, PushStatus } from "../../ingest/index.js";
import type { Enforcer, Queries } from "../../limits/index.js";
import type { Ratio } from "../../money.js";
import type { PaymentsDeps, TopupRepo } from "../../payments/index.js";
import type { ProviderService } from "../../providers/index.js";
import { installAuth } from "../auth.js";
import type { AuthFailureLimiter } from "../hardening.js";
import { autoTopupRoutes } from "./autotopup.js";
import { balanceRoutes } from "./balances.js";
import { type ConsoleDataRoutesOptions, consoleDataRoutes } from "./console-data.js";
import { keyRoutes } from "./keys.js";
import { ledgerRoutes } from "./ledger.js";
import { limitRoutes } from "./limits.js";
import { noticeRoutes } from "./notices.js";
import { packRoutes } from "./packs.js";
import { providerRoutes } from "./providers.js";
import { budgetRoutes, reportRoutes } from "./reports.js";
import { statusRoutes } from "./status.js";
import { topupRoutes } from "./topups.js";
import { usageRoutes } from "./usage.js";

export interface V1RoutesOptions {
  db: Db;
  payments: PaymentsDeps & { topups: TopupRepo };
  ledger: ReturnType<typeof createLedger>;
  apiKeys: ApiKeys;
  /** Console logins: the session cookie (+ CSRF header on changes) stands in for the bearer key. */
  consoleSessions?: ConsoleSessions;
  enforcer: Enforcer;
  queries: Queries;
  ingester: PushIngester | null;
  nowMs: () => number;
  authFailures: AuthFailureLimiter;
  /** Requests per API key per window. */
  rateLimit: { max: number; timeWindowMs: number };
  onPushResults?: (counts: Record<PushStatus, number>) => void;
  /** Provider accounts (issue #13); absent or null: `/v1/providers` lists none. */
  providers?: ProviderService | null;
  /** The console's aggregates and actions (pricing, fulfilment, reconcile age). */
  console: Pick<ConsoleDataRoutesOptions, "pricing" | "apply" | "reconcileAfterMs">;
  /** `CREDITGATE_CREDITS_PER_USD`, for report margins (`GET /v1/reports`). */
  creditsPerUsd: Ratio;
}

/**
 * The operator API, one encapsulated scope: every /v1 route needs a valid key (401), a strong
 * enough scope (403), then passes the per-key rate limit; then one plugin per resource.
 */
export const v1Routes: FastifyPluginAsync<V1RoutesOptions> = async (api, o) => {
  const { db, ledger, apiKeys, enforcer, queries, nowMs } = o;
  installAuth(api, apiKeys, nowMs, o.authFailures, Date.now, o.consoleSessions);
  installAccountIdResolution(api, db);
  await api.register(rateLimit, {
    hook: "onRequest",
    max: o.rateLimit.max,
    timeWindow: o.rateLimit.timeWindowMs,
    keyGenerator: (request) => `key:${request.principal?.keyId ?? request.ip}`,
    errorResponseBuilder: (_request, ctx) =>
      new AppError(
        ErrorCode.RateLimited,
        `rate limit of ${ctx.max} requests per ${o.rateLimit.timeWindowMs / 1000} s exceeded; retry in ${ctx.after}`,
      ),
  });
  await api.register(topupRoutes, { payments: o.payments, nowMs });
  await api.register(autoTopupRoutes, { payments: o.payments, enforcer, nowMs });
  await api.register(balanceRoutes, { db, ledger });
  await api.register(limitRoutes, { enforcer, nowMs });
  await api.register(statusRoutes, { enforcer, queries, nowMs });
  await api.register(usageRoutes, {
    db,
    queries,
    ingester: o.ingester,
    nowMs,
    ...(o.onPushResults ? { onPushResults: o.onPushResults } : {}),
  });
  const reportOptions = { db, timeZone: enforcer.settings.timezone, creditsPerUsd: o.creditsPerUsd, nowMs };
  await api.register(reportRoutes, reportOptions);
  await api.register(budgetRoutes, reportOptions);
  await api.register(noticeRoutes, { enforcer, nowMs });
  await api.register(packRoutes, { packs: o.payments.packs });
  await api.register(ledgerRoutes, { ledger, nowMs });
  await api.register(keyRoutes, { apiKeys, nowMs });
  await api.register(providerRoutes, { providers: o.providers ?? null, nowMs });
  await api.register(consoleDataRoutes, { db, nowMs, payments: o.payments, ...o.console });
};

/**
 * Every operator route naming one account (`/v1/users/:id/…`, `/v1/balances/:userId`, `GET
 * /v1/usage?user=`, `GET /v1/reports?user=`, `POST /v1/topups`'s `userId`) acts on the account the
 * meter bills ({@link resolveAccountId}): the id itself when such an account exists (an API-pushed
 * `api:MyUser` keeps its case), else its canonical, lower-case form. Before 2026-12-04 a grant to
 * `slack:U07ABC` (as Slack shows the id) opened a second account nobody is billed under, and
 * `?user=slack:U07ABC` found nothing (case `operator-id-letter-case`). `POST
 * /v1/review/:reviewId/release`'s `accountId` likewise (2026-12-04). When the id was changed, or
 * names no account yet, the answer carries `x-creditgate-account-note` (percent-encoded). `POST
 * /v1/usage` keeps the ids it is given.
 */
function installAccountIdResolution(api: Parameters<FastifyPluginAsync>[0], db: Db): void {
  const stmt = db.prepare("SELECT 1 AS x FROM accounts WHERE id = ?");
  const exists = (id: string) => stmt.get(id) !== undefined;
  // a released review item's account may have no account row yet (all its calls held), as the
  // CLI's `review release --account` (account-arg.ts `accountExists`)
  const heldStmt = db.prepare(
    `SELECT 1 AS x FROM accounts WHERE id = ?
     UNION ALL SELECT 1 FROM usage_review WHERE account_id = ? LIMIT 1`,
  );
  const existsOrHeld = (id: string) => heldStmt.get(id, id) !== undefined;
  api.addHook("preHandler", async (request, reply) => {
    const url = request.routeOptions.url ?? "";
    const fix = (given: unknown, known = exists): string | undefined => {
      if (typeof given !== "string" || given === "") return undefined;
      const r = resolveAccountId(given, known);
      if (r.note !== null && (r.how === "canonical" || r.accountId !== r.given))
        reply.header("x-creditgate-account-note", encodeURIComponent(r.note));
      return r.accountId;
    };
    if (url.startsWith("/v1/users/:id/")) {
      const p = request.params as { id?: string };
      const id = fix(p.id);
      if (id !== undefined) p.id = id;
    } else if (url === "/v1/balances/:userId") {
      const p = request.params as { userId?: string };
      const id = fix(p.userId);
      if (id !== undefined) p.userId = id;
    } else if (request.method === "GET" && (url === "/v1/usage" || url === "/v1/reports")) {
      const q = request.query as { user?: string } | undefined;
      const id = fix(q?.user);
      if (q && id !== undefined) q.user = id;
    } else if (request.method === "POST" && url === "/v1/topups") {
      const b = request.body as { userId?: string } | undefined;
      const id = fix(b?.userId);
      if (b && id !== undefined) b.userId = id;
    } else if (request.method === "POST" && url === "/v1/review/:reviewId/release") {
      const b = request.body as { accountId?: string } | undefined;
      const id = fix(b?.accountId, existsOrHeld);
      if (b && id !== undefined) b.accountId = id;
    }
  });
}
