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
  /** A grant with credit left expires within CREDITGATE_EXPIRY_WARN_DAYS (once per grant). */
  "credits_expiring",
  /** A grant expired and its unused remainder left the balance (once per `expiry` entry). */
  "credits_expired",
  /** A model-provider account's balance is at or under its threshold (operator only; account `provider:<id>`; once per UTC day). */
  "provider_low_balance",
  /** A model-provider account runs out within its runway threshold at the current burn (operator only; once per UTC day). */
  "provider_low_runway",
  /** A provider's last hour of spend is at least its spike factor × the trailing 24 h hourly average (operator only). */
  "provider_spend_spike",
  /** A provider billed a day differently from what creditgate metered, beyond the tolerance (operator only; once per day). */
  "provider_drift",
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
  "credits_expiring",
  "credits_expired",
]);

/**
 * Kinds whose alert key never recurs (a window, a ledger entry, a spike hour), so their finished
 * alerts may be deleted after the retention period. The others (low balance, depleted, blocked
 * episodes) are kept: deleting them would let an old episode alert again.
 */
export const ONE_OFF_ALERT_KINDS: readonly AlertKind[] = [
  "provider_low_balance",
  "provider_low_runway",
  "provider_spend_spike",
  "provider_drift",
  "cap_threshold",
  "operator_budget",
  "spend_spike",
  "topup_received",
  "payment_reversed",
  "unblocked",
  "credits_expiring",
  "credits_expired",
];
