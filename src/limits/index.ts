/**
 * limits: the operator's rules and what follows from them. Owns limit rules (`account_limits`),
 * operator blocks, the per-user status (`user_status`), alerts and user notices, the read-only
 * answers (`consumo`, `status`, usage) and the maintenance passes (rollover, spend spikes,
 * retention); it writes the limit-check outbox, which the worker relays.
 *
 * Must never: move a balance (it only reads the ledger and usage), import BullMQ, Redis or
 * `worker/`, or read config beyond `workerSettingsFromConfig`. The pure files (`decide`,
 * `windows`, `thresholds`, `rules`, `templates`) do no I/O and take `nowMs`; the `*-repo` files
 * wrap one SQLite table each; `check` composes them in one transaction.
 */
export { type AlertRow, alertRowSchema, WEBHOOK_STATES, type WebhookState } from "./alerts-repo.js";
export type { OperatorBlock } from "./blocks-repo.js";
export { type BudgetBlockRow, createBudgetBlocksRepo } from "./budget-blocks-repo.js";
export { type CheckResult, createEnforcer, type Enforcer, type Evaluation } from "./check.js";
export {
  BLOCK_REASONS,
  type BlockReason,
  type BudgetBlock,
  type Decision,
  decide,
  type WindowUse,
} from "./decide.js";
export {
  HEADROOM_BASES,
  HEADROOM_SAMPLE_CALLS,
  HEADROOM_SAMPLE_WINDOW_MS,
  type Headroom,
  type HeadroomBasis,
  p95MicroCredits,
  resolveHeadroom,
} from "./headroom.js";
export {
  runGrantExpiry,
  runRetention,
  runRollover,
  runSpikeScan,
  spikeToldWithinHour,
} from "./maintenance.js";
export { type Notice, noticeSchema, splitAccountId } from "./notices-repo.js";
export {
  type AgentUsage,
  agentBurnSchema,
  agentUsageSchema,
  type BalanceView,
  type Consumo,
  consumoSchema,
  createQueries,
  type HeadroomView,
  headroomViewSchema,
  QUERY_NAMES,
  type Queries,
  type QueryName,
  type QueryParams,
  type QueryResults,
  querySchemas,
  type StatusView,
  statusViewSchema,
  type UsageTotals,
  type UserUsage,
  userUsageSchema,
} from "./queries.js";
export {
  CAP_KINDS,
  type Cap,
  type CapKind,
  capOrderProblem,
  capSchema,
  type EffectiveLimits,
  effectiveCaps,
  effectiveLimits,
  effectiveLimitsSchema,
  type HeadroomRule,
  headroomRuleSchema,
  inheritedNote,
  LANGUAGES,
  type Language,
  type LimitRules,
  limitRulesSchema,
  limitsViewSchema,
} from "./rules.js";
export { DEFAULTS_SUBJECT } from "./rules-repo.js";
export { createSamplesRepo, HEADROOM_INGEST_BATCH, type SamplesRepo } from "./samples-repo.js";
export { DEFAULT_SETTINGS, type WorkerSettings, workerSettingsFromConfig } from "./settings.js";
export type { UserStatus } from "./status-repo.js";
export {
  ALERT_KINDS,
  type AlertFacts,
  type AlertKind,
  renderAlert,
  topupHint,
  USER_NOTICE_KINDS,
} from "./templates.js";
export {
  capThresholdsReached,
  type FundingEpisode,
  followFunding,
  isSpendSpike,
  type LedgerEntryFact,
  lowBalanceLevelMicroCredits,
  RECEIPT_MAX_AGE_MS,
} from "./thresholds.js";
export { localMidnightMs, PERIODS, type Period, type Window, windowAt } from "./windows.js";
