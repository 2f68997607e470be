import rateLimit from "@fastify/rate-limit";
import type { FastifyPluginAsync } from "fastify";
import type { ApiKeys, ConsoleSessions } from "../../auth/index.js";
import type { createLedger } from "../../credits/index.js";
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
