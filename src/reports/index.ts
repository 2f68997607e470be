/**
 * reports: the operator console's aggregate queries (overview, spend series, users, agents,
 * payments), over the same tables and the same whole-day/raw-edge split as `creditgate usage`
 * (src/meter/report.ts). Read-only except `retryDeadAlert`.
 */
export {
  accountsSummary,
  BUCKETS,
  type Bucket,
  balanceTotals,
  costInMicroCredits,
  MAX_HOURLY_RANGE_MS,
  MAX_STACKS,
  newUsers,
  rangeTotals,
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
