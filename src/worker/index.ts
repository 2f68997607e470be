/**
 * worker: the process that runs the limits domain on BullMQ. Owns the queues (`queues.ts`), the
 * outbox relay and sweep (`relay.ts`), one processor per queue (`processors/`), the runtime that
 * wires them (`runtime.ts`), the RPC client and the operator-webhook signature. The rules,
 * status, alerts and notices themselves live in `src/limits/` (import them from there).
 *
 * Must never: decide limits or write their tables itself (it calls `limits`), or move a balance.
 * This index stays free of BullMQ so the HTTP app loads light: the Redis-side entry points are
 * `./runtime.js` (processes) and `./rpc-client.js` (callers).
 *
 * The `limits` re-exports below keep today's importers (app, server, CLI, API) working until they
 * import `../limits/index.js` directly.
 */
export {
  ALERT_KINDS,
  type AlertKind,
  type AlertRow,
  BLOCK_REASONS,
  type BlockReason,
  CAP_KINDS,
  type Cap,
  type CheckResult,
  type Consumo,
  createEnforcer,
  createQueries,
  DEFAULT_SETTINGS,
  decide,
  type EffectiveLimits,
  type Enforcer,
  LANGUAGES,
  type LimitRules,
  limitRulesSchema,
  localMidnightMs,
  type Notice,
  PERIODS,
  type Period,
  QUERY_NAMES,
  type Queries,
  type QueryName,
  type QueryParams,
  type QueryResults,
  querySchemas,
  renderAlert,
  type StatusView,
  splitAccountId,
  type UserStatus,
  type Window,
  type WorkerSettings,
  windowAt,
  workerSettingsFromConfig,
} from "../limits/index.js";
export { type WorkerRoutesOptions, workerRoutes } from "./http-routes.js";
export { signWebhook, verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from "./webhook.js";
