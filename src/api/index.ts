/**
 * api: the hardened operator HTTP surface: authentication and scopes, one route plugin per
 * resource (routes/, each declaring its zod request/response schemas), the generated OpenAPI
 * document, and health/readiness/metrics. Builds on buildApp; never listens or reads the environment.
 */
export { installAuth, requiredScope } from "./auth.js";
export { CSRF_HEADER, SESSION_COOKIE } from "./console-auth.js";
export {
  type AuthFailureLimit,
  type AuthFailureLimiter,
  BUSY_RETRY_AFTER_S,
  clientErrorHandler,
  createAuthFailureLimiter,
  createUrlRedactor,
  DEFAULT_AUTH_FAILURE_LIMIT,
  DEFAULT_BUSY_RETRY_MS,
  frameworkErrors,
  installRequestHooks,
  requestSerializer,
  SECURITY_HEADERS,
} from "./hardening.js";
export { swaggerOptions } from "./openapi.js";
export { createMetrics, type Metrics, type OpsProbes, observeRequests } from "./ops.js";
export { balanceRoutes } from "./routes/balances.js";
export { CONSOLE_CSP, consoleStatic, defaultConsoleDir } from "./routes/console.js";
export { consoleSessionRoutes } from "./routes/console-session.js";
export { docsRoutes, renderDocsHtml } from "./routes/docs.js";
export { healthRoutes } from "./routes/health.js";
export { keyRoutes } from "./routes/keys.js";
export { ledgerRoutes } from "./routes/ledger.js";
export { limitRoutes } from "./routes/limits.js";
export { noticeRoutes } from "./routes/notices.js";
export { type OpsRoutesOptions, opsRoutes } from "./routes/ops.js";
export { packRoutes } from "./routes/packs.js";
export { payPages } from "./routes/pay-pages.js";
export { type ProviderRoutesOptions, providerRoutes, providerViewSchema } from "./routes/providers.js";
export { budgetRoutes, reportQuerySchema, reportRoutes, reportSchema } from "./routes/reports.js";
export { errorResponseSchema, issuesOf } from "./routes/shared.js";
export { statusRoutes } from "./routes/status.js";
export { topupRoutes } from "./routes/topups.js";
export { PUSH_BODY_LIMIT_BYTES, usageRoutes } from "./routes/usage.js";
export { type V1RoutesOptions, v1Routes } from "./routes/v1.js";
export { webhookRoutes } from "./routes/webhooks.js";
