/**
 * Request and response shapes of the creditgate operator API (`/v1/*`) that the plugin uses, in
 * one place. `client.ts` sends and receives them; `rpc.ts`, `commands.ts`, `i18n.ts`,
 * `notices.ts`, `push.ts` and `status-cache.ts` read them. This file imports only types from
 * `config.ts` and nothing that imports it back, so the plugin has no import cycle
 * (test/import-cycles.test.ts keeps it so).
 *
 * Units: amounts are integer **micro-credits** (1 credit = 1 000 000) in fields named
 * `…MicroCredits`, sent by creditgate as JSON numbers (exact below 2^53); decimal credits
 * travel as strings ("2.5"). Times are ISO-8601 UTC strings unless the name says `…Ms`
 * (Unix epoch milliseconds). Token counts are integers.
 */
import type { PaymentProvider } from "./config.js";

/** A calendar window of limits: `day`, `week` or `month` (in creditgate's configured timezone). */
export type LimitPeriod = "day" | "week" | "month";
/** `hard` caps block at the cap; `soft` caps only alert. */
export type CapKind = "hard" | "soft";

/** One cap window in a user's status: how much of the cap is spent. */
export interface StatusWindow {
  /** `day`, `week` or `month` (a string, so a new period never breaks the plugin). */
  period: string;
  capMicroCredits: number;
  spentMicroCredits: number;
  /** ISO time the window ends (null when creditgate gives none). */
  resetsAt: string | null;
}
/**
 * The pre-call headroom in a status: a user may start a call only while their balance minus this
 * stays at or above their floor (creditgate README, "Pre-call headroom").
 */
export interface StatusHeadroom {
  microCredits: number;
  /** The same as credits text ("0.05"). */
  credits: string;
  /** `p95` (typical cost of the agent's model), `no_data`, `fixed` or `off` (a string: new bases never break the plugin). */
  basis: string;
}
/** `GET /v1/users/:id/status`: may the user talk to the bot now, and why not. */
export interface UserStatus {
  allowed: boolean;
  /**
   * `insufficient_balance`, `insufficient_headroom`, `daily_cap`, `monthly_cap`, `operator`,
   * `operator_budget` (the bot's operator budget is used up; only when asked with the agent), ...
   * (null when allowed).
   */
  reason: string | null;
  balanceMicroCredits: number;
  /** Absent from creditgate versions before the headroom. */
  headroom?: StatusHeadroom;
  windows: StatusWindow[];
  /** ISO 8601 UTC: when the block lifts by itself (a cap's or an operator budget's window end); null otherwise. */
  liftsAt?: string | null;
  /** The operator's top-up page, when configured. */
  topupUrl?: string;
  /**
   * The user's language when the operator chose one (`limits set <user> --language`, or `'*'`):
   * the plugin answers this user in it, as creditgate writes their notices. Absent: the plugin's
   * own `language`.
   */
  language?: string;
  /**
   * creditgate's `CREDITGATE_TIMEZONE` (IANA), where the cap windows are: `liftsAt` and each
   * `resetsAt` are written to the user on this zone's clock. Absent from servers before
   * 2026-12-05 (then UTC).
   */
  timeZone?: string;
}
/** Usage over one window (today, this month). */
export interface UsageTotals {
  /** Billed model calls. */
  requests: number;
  /** All tokens of those calls (input + output + cache). */
  tokens: number;
  chargedMicroCredits: number;
}
/** One cap in `/consumo`, with its kind. */
export interface ConsumoLimit {
  period: string;
  capMicroCredits: number;
  spentMicroCredits: number;
  kind: CapKind;
  resetsAt: string | null;
}
/** `GET /v1/users/:id/consumo`: what the `/consumo` command shows. */
export interface Consumo {
  userId: string;
  balanceMicroCredits: number;
  today: UsageTotals;
  month: UsageTotals;
  limits: ConsumoLimit[];
  /** Balance at or under the user's low-balance threshold. */
  lowBalance: boolean;
  /** creditgate's localized "top up here" line, sent only when `lowBalance`. */
  topupHint?: string;
  /** What the balance is made of (creditgate docs/grants.md); absent from servers before grants. */
  credits?: ConsumoCredits;
  /** The user's language when the operator chose one, as in the status answer. */
  language?: string;
  /** creditgate's `CREDITGATE_TIMEZONE`, as in the status answer: times are shown on its clock. */
  timeZone?: string;
}
/** The grant breakdown of `/consumo`: live credit by kind, debt, and the next expiry. */
export interface ConsumoCredits {
  paidMicroCredits: number;
  /** Promotional credit, shown as "bonus". */
  promotionalMicroCredits: number;
  refundCreditMicroCredits: number;
  debtMicroCredits: number;
  /** `at` ISO 8601 UTC; `microCredits` of all live credit expiring then. */
  nextExpiry: { at: string; microCredits: number; kind: "paid" | "promotional" | "refund-credit" } | null;
}
/** One price of a credit pack: an exact decimal `amount` in `currency`, payable through `provider`. */
export interface PackPrice {
  provider: PaymentProvider;
  /** ISO 4217 code, e.g. "USD", "ARS". */
  currency: string;
  /** Exact decimal string, e.g. "5.00". */
  amount: string;
}
/** A credit pack from `GET /v1/packs`. */
export interface Pack {
  id: string;
  title?: string;
  /** Credits the pack grants, as an exact decimal string, e.g. "5". */
  credits: string;
  prices: PackPrice[];
}
/** `GET /v1/packs` answers `{packs: [...]}` (a bare array is accepted too). */
export type PacksResponse = Pack[] | { packs?: Pack[] };
/** `POST /v1/topups` body: start a checkout for one pack. */
export interface CreateTopupBody {
  userId: string;
  packId: string;
  provider: PaymentProvider;
  /** Save the card for auto top-up (Stripe only). */
  saveCard?: boolean;
}
/** `PUT /v1/users/:id/autotopup` body: charge `packId` when the balance drops below `threshold` credits. */
export interface AutoTopupBody {
  packId: string;
  /** Decimal credits, e.g. "2" or "2.5"; creditgate's default (1) when absent. */
  threshold?: string;
}
/** `GET|PUT|DELETE /v1/users/:id/autotopup` answer. */
export interface AutoTopupView {
  userId: string;
  enabled: boolean;
  packId: string | null;
  /** Decimal credits, e.g. "2.00". */
  threshold: string | null;
  /** The saved card, brand and last 4 digits only; null: none yet. */
  card: { brand: string | null; last4: string | null } | null;
  /** On, but no card saved yet: the user must pay once with a save-card link. */
  needsCard: boolean;
}
/** `POST /v1/topups` answer: the checkout link to send to the user. */
export interface CreatedTopup {
  topupId: string;
  /** The provider's checkout URL. */
  url: string;
  provider: PaymentProvider;
  /** ISO time the checkout link expires. */
  expiresAt: string;
}
/** A message from creditgate's worker to one user (`GET /v1/notices`), acked after delivery. */
export interface Notice {
  /** creditgate sends a number (the `notices` row id); a string is accepted too. */
  id: string | number;
  userId: string;
  /** OpenClaw channel id, e.g. `telegram`. */
  channel: string;
  /** The chat/peer id on that channel. */
  to: string;
  /**
   * creditgate fills this with the billing account (= `userId`); only a value that differs from
   * `userId` is taken as the channel account (e.g. a second Telegram bot) to send from.
   */
  accountId?: string | null;
  /** `blocked`, `unblocked`, `low_balance`, ... */
  kind: string;
  /** Ready-to-send text, already localized by creditgate. */
  text: string;
  createdAt: string;
}
/** `GET /v1/agents/:id/burn`: an agent's spend rate. */
export interface Burn {
  agentId: string;
  lastHourMicroCredits: number;
  last24hMicroCredits: number;
  /** Hours the agent's own account lasts at the last 24 h rate (absent or null when not meaningful). */
  runwayHours?: number | null;
}
/** One operator budget of `GET /v1/budgets` (creditgate docs/reports.md "Budgets"). */
export interface BudgetView {
  /** `all`, `agent:<id>` or `provider:<name>`. */
  name: string;
  scope: string;
  subject: string;
  /** `day` or `month`. */
  period: string;
  /** `soft` (alerts) or `hard` (also blocks the agent's end users when reached). */
  mode: string;
  limitUsd: string;
  spentUsd: string;
  usedPct: number;
  windowEndMs: number;
  /** The answer's `timeZone` (creditgate's `CREDITGATE_TIMEZONE`, the budget windows'), copied onto each view by the client. */
  timeZone?: string;
}
/** `POST /v1/users/:id/grants` body (all required). */
export interface GrantBody {
  /** Exact decimal credits, e.g. "2.5". */
  credits: string;
  reason: string;
  /** The same key grants once (creditgate's ledger key `grant:<key>`). */
  idempotencyKey: string;
}
/**
 * creditgate's per-user rule set (`limitRulesSchema` on the server): the body of
 * `PUT /v1/users/:id/limits` (replaces the whole set) and `user` in `GET /v1/users/:id/limits`.
 */
export interface LimitRules {
  /** Blocked at balance ≤ this (≤ 0; `-overdraft`). */
  floorMicroCredits?: number;
  caps?: { period: LimitPeriod; capMicroCredits: number; kind: CapKind }[];
  /**
   * Windows with no cap for this user. Present (even `[]`): every other window without a cap of the
   * user's follows the defaults' (`*`) live; absent with `caps` set: `caps` replaces all of them.
   */
  capsOff?: LimitPeriod[];
  /** `lowBalance` (and its notice) at balance ≤ this. */
  lowBalanceMicroCredits?: number;
  language?: "en" | "es";
}
/** `GET /v1/users/:id/limits` as the plugin reads it: the user's own rules (null when none). */
export interface LimitsResponse {
  user: LimitRules | null;
}
/** One model call pushed to `POST /v1/usage` (push metering); token counts are integers. */
export interface PushEvent {
  /** creditgate's meter identity of the call (see `identity.ts`); the same key bills once. */
  idempotencyKey: string;
  agentId: string;
  userId: string;
  provider: string;
  model: string;
  /** Input tokens, without cached prompt tokens. */
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  timestampMs: number;
  success: boolean;
  /** The provider response id: creditgate recomputes the meter identity from it (must match the key). */
  responseId?: string;
  /** Part of cacheWrite with a 1-hour TTL, priced at the 1-hour rate. */
  cacheWrite1h?: number;
  /** The model that answered when it is not `model` (a refusal fallback, a router): creditgate prices by it. */
  responseModel?: string;
  /** Anthropic's served speed, `"fast"` or `"standard"` (fast mode): creditgate prices `"fast"` at the model's fast multiple. */
  speed?: string;
  /** Where Anthropic ran the call, `"us"` (data residency): creditgate prices it at the US-only multiple (1.1× on Claude 4.6 and later). */
  inferenceGeo?: string;
  /** The service tier that served the call, `"flex"`, `"priority"` or `"batch"`: creditgate prices the call at it. */
  serviceTier?: string;
  /** The line's `api` (`openai-responses`, `anthropic-messages`…): creditgate reads a service-tier estimate by it. */
  api?: string;
  /**
   * The line's recorded cost, USD: OpenClaw's own estimate, or with `costOrigin: "provider-billed"`
   * what the provider charged. creditgate uses it per its cost mode, as the transcript meter does.
   */
  costUsd?: number;
  costOrigin?: "provider-billed";
  /**
   * The OpenClaw session key the call was written under: creditgate tells two calls under one
   * provider response id with the same prompt apart by their session (a relay's reused id).
   */
  sessionKey?: string;
}
/** The outcome of one pushed event. */
export interface PushResult {
  idempotencyKey: string;
  status: "billed" | "duplicate" | "conflict" | "held" | "rejected";
  reason?: string;
}
/** `POST /v1/usage` body. */
export interface PushUsageBody {
  events: PushEvent[];
}
/** `POST /v1/usage` answer: one result per event, in order. */
export interface PushUsageResponse {
  results: PushResult[];
}
/** creditgate's error body on a non-2xx answer. */
export interface ApiErrorBody {
  error?: { code?: string; message?: string };
}

/** Spend over the last hour / 24 h / 7 days and the per-day rate (micro-units of the account's currency). */
export interface ProviderBurn {
  lastHourMicro: number;
  last24hMicro: number;
  last7dMicro: number;
  perDayMicro: number | null;
}

/** `GET /v1/providers` → `{providers: ProviderView[]}`: one model-provider account (never its key). */
export interface ProviderView {
  provider: string;
  keySource: string | null;
  currency: string | null;
  balanceMicro: number | null;
  balanceAt: string | null;
  burn: { provider: ProviderBurn; metered: ProviderBurn & { currency: "USD" } };
  runway: { hours: number | null; runsOutAt: string | null; basis: "provider" | "metered" | null };
  /** A non-USD account's exchange rate (`usdPerUnit` null: none configured, drift not computed); absent from older creditgate. */
  fx?: { currency: string; usdPerUnit: string | null } | null;
  /** USD equivalents (micro-USD) of a non-USD account's balance and burn per day. */
  usd?: { balanceMicro: number | null; burnPerDayMicro: number | null } | null;
  /**
   * An account holding several currencies (DeepSeek CNY + USD): each currency's balance (integer
   * micro-units of that currency) and its USD equivalent in micro-USD at the configured rate
   * (`usdMicro` null: no rate, so that currency is not counted in `balanceMicro`). Null for
   * single-currency accounts; absent from older creditgate.
   */
  balances?: { currency: string; balanceMicro: number; usdMicro: number | null }[] | null;
  /** `providerMicro` in the account's currency; the rest in micro-USD. */
  drift: {
    day: string;
    currency?: string;
    providerMicro: number;
    providerUsdMicro?: number;
    meteredMicro: number;
    diffMicro: number;
    pct: number | null;
    exceeds: boolean;
  } | null;
  lastPollAt: string | null;
  lastOkAt: string | null;
  error: {
    kind: string;
    message: string;
    at: string | null;
    consecutiveFailures: number;
    retryAfterMs: number | null;
  } | null;
  thresholds: {
    lowBalanceMicro: number;
    lowRunwayHours: number;
    spikeFactor: number;
    driftPct: number;
    driftMinMicro: number;
  };
}

/** `GET /v1/providers/:provider/history`. */
export interface ProviderHistory {
  provider: string;
  fx?: { currency: string; usdPerUnit: string | null } | null;
  snapshots: {
    at: string;
    currency: string;
    balanceMicro: number | null;
    spendSinceLastMicro: number | null;
    /** Runway as it stood at this snapshot (hours); absent from older creditgate. */
    runwayHours?: number | null;
  }[];
  days: {
    day: string;
    currency: string;
    providerMicro: number;
    /** In micro-USD; null: a non-USD day without an exchange rate. */
    providerUsdMicro?: number | null;
    source: string;
    meteredMicro: number | null;
    drift: { diffMicro: number; pct: number | null; exceeds: boolean } | null;
  }[];
}

/** `PUT /v1/providers/:provider/alerts` body (decimal strings; null: inherit). */
export interface ProviderThresholdsBody {
  lowBalance?: string | null;
  lowRunwayDays?: string | null;
  spikeFactor?: number | null;
  driftPct?: number | null;
}
