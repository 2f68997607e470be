/**
 * The one list of alert kinds (imports nothing). An alert is raised once per account, kind,
 * threshold and window (see `alerts` in src/db/migrations.ts), rendered per language, and sent to
 * the operator's webhook; the kinds in {@link USER_NOTICE_KINDS} are also shown to the end user.
 */
export const ALERT_KINDS = [
  /** Balance at or under the low-balance level after a debit (once per funding episode). */
  "low_balance",
  /** Balance at or under zero after a debit (once per funding episode). */
  "depleted",
  /** Spend in a calendar window crossed one of the cap-threshold percentages. */
  "cap_threshold",
  /** The account was blocked (insufficient balance, a hard cap, or the operator). */
  "blocked",
  /** A block was lifted. */
  "unblocked",
  /** A paid top-up was credited. */
  "topup_received",
  /** A refund or dispute took credits back. */
  "payment_reversed",
  /** The last hour's spend is at least the spike factor × the trailing 24-hour hourly average (operator only). */
  "spend_spike",
  /** An auto top-up's off-session charge was declined (once per low-balance episode), with a checkout link. */
  "autotopup_declined",
  /** The operator's own budget on provider cost crossed a threshold in its window (operator only). */
  "operator_budget",
] as const;

/** One of {@link ALERT_KINDS}. */
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Kinds the end user is told about in their chat; the rest go to the operator only. */
export const USER_NOTICE_KINDS: ReadonlySet<AlertKind> = new Set<AlertKind>([
  "low_balance",
  "depleted",
  "cap_threshold",
  "blocked",
  "unblocked",
  "topup_received",
  "payment_reversed",
  "autotopup_declined",
]);

/**
 * Kinds whose alert key never recurs (a window, a ledger entry, a spike hour), so their finished
 * alerts may be deleted after the retention period. The others (low balance, depleted, blocked
 * episodes) are kept: deleting them would let an old episode alert again.
 */
export const ONE_OFF_ALERT_KINDS: readonly AlertKind[] = [
  "cap_threshold",
  "operator_budget",
  "spend_spike",
  "topup_received",
  "payment_reversed",
  "unblocked",
];
