/**
 * worker: the operator's rules. Owns limits, the per-user status, alerts and notices, the
 * limit-check outbox and its relay to BullMQ, RPC answers and scheduled maintenance. Reads the
 * ledger and usage; never moves a balance itself (payments reconciliation goes through the
 * injected fulfilment path). This index stays free of BullMQ so the HTTP app loads light: the
 * Redis-side entry points are `./runtime.js` (processes) and `./rpc-client.js` (callers).
 */
export {
  type AlertRow,
  type CheckResult,
  createEnforcer,
  type Enforcer,
  type Notice,
  splitAccountId,
  type UserStatus,
} from "./enforcer.js";
export {
  BLOCK_REASONS,
  type BlockReason,
  CAP_KINDS,
  type Cap,
  DEFAULT_SETTINGS,
  decide,
  type EffectiveLimits,
  LANGUAGES,
  type LimitRules,
  limitRulesSchema,
  type WorkerSettings,
} from "./limits.js";
export {
  type Consumo,
  createQueries,
  QUERY_NAMES,
  type Queries,
  type QueryName,
  type QueryParams,
  type QueryResults,
  querySchemas,
  type StatusView,
} from "./queries.js";
export { ALERT_KINDS, type AlertKind, renderAlert } from "./templates.js";
export { signWebhook, verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from "./webhook.js";
export { localMidnightMs, PERIODS, type Period, type Window, windowAt } from "./windows.js";

import type { Config } from "../config/index.js";
import type { WorkerSettings } from "./limits.js";

/** Worker settings from config (the only place config is read for the worker). */
export function workerSettingsFromConfig(config: Config): WorkerSettings {
  const w = config.worker;
  return {
    timezone: w.timezone,
    language: w.language,
    capThresholdsPct: w.capThresholdsPct,
    lowBalanceMicroCredits: w.lowBalanceMicroCredits,
    lowBalancePct: w.lowBalancePct,
    spikeFactor: w.spikeFactor,
    spikeMinMicroCredits: w.spikeMinMicroCredits,
    topupUrl: w.topupUrl,
    webhookEnabled: w.webhook !== null,
    retentionDays: w.retentionDays,
  };
}
