/**
 * api: the hardened operator HTTP surface: authentication and scopes, the routes added for
 * reports/grants/keys/push, OpenAPI, and health/readiness/metrics. Builds on buildApp; never
 * listens or reads the environment.
 */
export { installAuth, requiredScope } from "./auth.js";
export { createOpenApi, ROUTE_DOCS, renderDocsHtml } from "./openapi.js";
export { createMetrics, type Metrics, type OpsProbes, registerOps } from "./ops.js";
export { type OperatorRoutesOptions, operatorRoutes, PUSH_BODY_LIMIT_BYTES } from "./routes.js";
