/**
 * reports: the operator's usage reports (`creditgate report`, `GET /v1/reports`): ranges and
 * calendar buckets in `CREDITGATE_TIMEZONE`, grouping by time, agent, model, provider, user,
 * session and kind of session, and table/JSON/CSV output. Read-only: never writes the database.
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
  parseUsdToMicro,
  runBudgetScan,
} from "./budgets.js";
export { CSV_METRIC_COLUMNS, csvField, metricCells, reportCsv, reportTable } from "./format.js";
export { SESSION_KIND_SQL, SESSION_KINDS, type SessionKind, sessionKind } from "./kind.js";
export {
  REPORT_DIMS,
  type Report,
  type ReportDim,
  type ReportFilters,
  type ReportQuery,
  type ReportRow,
  runReport,
} from "./query.js";
export {
  type Bucket,
  bucketsOf,
  DEFAULT_LAST,
  MAX_BUCKETS,
  type RangeSpec,
  resolveRange,
  type TimeRange,
} from "./range.js";
