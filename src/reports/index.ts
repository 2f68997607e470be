/**
 * reports: the operator's usage reports (`creditgate report`, `GET /v1/reports`): ranges and
 * calendar buckets in `CREDITGATE_TIMEZONE`, grouping by time, agent, model, provider, user,
 * session and kind of session, and table/JSON/CSV output; operator budgets (`budgets`: the only table it writes).
 *
 * Also the operator console's aggregate queries (overview, spend series, users, agents,
 * payments), over the same tables and the same whole-day/raw-edge split as `creditgate usage`
 * (src/meter/report.ts); read-only except `retryDeadAlert`.
 */

export {
  BUDGET_PERIODS,
  BUDGET_SCOPES,
  type Budget,
  type BudgetPeriod,
  type BudgetScope,
  type BudgetStatus,
  budgetName,
  budgetStatuses,
  createBudgetsRepo,
  normalizeBudgetTarget,
  parseUsdToMicro,
  runBudgetScan,
  syncBudgetBlocks,
  usedPctText,
} from "./budgets.js";
export {
  CSV_DECIMALS,
  CSV_METRIC_COLUMNS,
  csvField,
  fixedDecimals,
  metricCells,
  reportCsv,
  reportTable,
} from "./format.js";
export { apiMessage, InputError } from "./input-error.js";
export { SESSION_KIND_SQL, SESSION_KINDS, type SessionKind, sessionKind } from "./kind.js";
export { type LiveView, liveView } from "./live.js";
export {
  accountsSummary,
  BUCKETS,
  type Bucket,
  balanceTotals,
  catchUpHourly,
  costInMicroCredits,
  MAX_HOURLY_RANGE_MS,
  MAX_STACKS,
  newUsers,
  rangeTotals,
  runwayDays,
  type SeriesPoint,
  STACKS,
  type Stack,
  soonestRunouts,
  spendSeries,
  topModels,
  topupTotals,
  type UsageTotals,
  usersCharged,
} from "./queries.js";
export {
  ARCHIVED_BUCKET_MS,
  ARCHIVED_SESSION,
  REPORT_DIMS,
  type Report,
  type ReportDim,
  type ReportFilters,
  type ReportQuery,
  type ReportRow,
  runReport,
  successTenths,
} from "./query.js";
export {
  type Bucket as ReportBucket,
  bucketsOf,
  DEFAULT_LAST,
  MAX_BUCKETS,
  type RangeSpec,
  resolveRange,
  type TimeRange,
} from "./range.js";
export {
  agentsReport,
  listUsers,
  paymentsReport,
  retryDeadAlert,
  TOPUP_STATUSES,
  USER_SORTS,
  type UserListRow,
  type UserSort,
  userActivity,
} from "./tables.js";
