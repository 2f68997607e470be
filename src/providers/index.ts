/**
 * providers: the operator's own model-provider accounts (issue #13). One collector per provider
 * behind one interface (`collectors/`), keys from config or (opt-in) OpenClaw's auth profiles
 * (`keys.ts`, never stored), snapshots and daily spend in SQLite (`repo.ts`, migration 18),
 * burn / runway / drift arithmetic (`math.ts`, pure) and the service that polls, stores and
 * raises alerts through the limits module's pipeline (`service.ts`).
 *
 * Must never: store, log or return an API key; move a balance; import BullMQ or `worker/` (the
 * worker schedules `poll` through its own processor).
 */
export { COLLECTORS } from "./collectors/index.js";
export { getJson, parseRetryAfter, redactSecrets } from "./http.js";
export {
  authProfileFiles,
  keyFromOpenClaw,
  lookupOpenClawKey,
  OPENCLAW_DB_BUSY_TIMEOUT_MS,
  parseSecretRef,
  readOpenClawAuthDb,
  resolveKey,
  type SecretRef,
} from "./keys.js";
export { drift, driftCauses, isProviderSpike, perDay, runway } from "./math.js";
export {
  type AlertThresholds,
  type Burn,
  createProviderService,
  DRIFT_SETTLE_MS,
  type PollOutcome,
  type ProviderService,
  type ProvidersSettings,
  type ProviderView,
  providersSettingsFromConfig,
} from "./service.js";
export {
  COLLECTOR_ERROR_KINDS,
  type Collector,
  CollectorError,
  type CollectorErrorKind,
  type Observation,
  PROVIDER_IDS,
  type ProviderId,
} from "./types.js";
