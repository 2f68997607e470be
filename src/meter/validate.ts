import { DEFAULT_CONFIG } from "../config/index.js";
import { ACCOUNT_ID_RE, ACCOUNT_ID_RULE } from "../credits/index.js";
import { PICO_PER_USD, formatPicoUsd as usd } from "../money.js";
import type { ParsedUsage } from "./types.js";

/**
 * The ranges a model call must fall in to be billed automatically. An event outside them is
 * never dropped and never fatal: it is HELD in the review queue (`usage_review`, see review.ts)
 * with the reason, until the operator releases or voids it (`creditgate review`).
 *
 * | what | range | why |
 * |---|---|---|
 * | `message.timestamp` | 2020-01-01T00:00:00Z … now + 365 days | older than any OpenClaw/Clawdbot/pi transcript; a wrong clock on the bot host is billed, a year 2100 or 1e20 is not |
 * | a line without a readable time | dated by the entry before it in its transcript | with none before it there is no time to bill it at (held) |
 * | each token count (input, output, cacheRead, cacheWrite) | 0 … 10^9 | 100× the largest context window sold today (10M) |
 * | cost per call | ≤ tokens × $0.01 + $1 | $0.01/token = $10,000 per 1M tokens, 16× the dearest list price (o1-pro output, $600/MTok); $1 covers per-call fees (web search, per-request prices) |
 * | cost per call | ≤ `CREDITGATE_REVIEW_MAX_CALL_USD` (default $200) | the operator's own ceiling |
 * | charge per call | ≤ 2^53−1 micro-credits, and the balance after it too | exact in SQLite and JSON |
 *
 * A recorded `usage.cost.total` that breaks the per-token bound is FLAGGED on the row
 * (`usage_events.anomaly`) when something else (the table or an override) priced the call,
 * and held when the recorded cost is the price.
 */
export const MIN_TIMESTAMP_MS = Date.UTC(2020, 0, 1);
export const MAX_FUTURE_MS = 365 * 86_400_000;
export const MAX_TOKENS_PER_CLASS = 1_000_000_000;
/** $0.01 per token in pico-USD. */
export const MAX_PICO_USD_PER_TOKEN = PICO_PER_USD / 100n;
/** $1 per call in pico-USD, on top of the per-token bound. */
export const PER_CALL_ALLOWANCE_PICO_USD = PICO_PER_USD;
/** Default of `CREDITGATE_REVIEW_MAX_CALL_USD` (USD, decimal text), from the config schema. */
export const DEFAULT_MAX_CALL_USD: string = DEFAULT_CONFIG.meter.reviewMaxCallUsd;
export const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Largest value an SQLite INTEGER column holds. */
export const MAX_INT64 = 9_223_372_036_854_775_807n;

/** Why a call cannot be priced at all (bad timestamp or token count), or null when it can. */
export function inputProblem(u: ParsedUsage, nowMs: number): string | null {
  const ts = u.messageTsMs;
  // a line with no time of its own that nothing before it in its transcript dated (parse.ts)
  if (u.identityTsMs === 0 && ts === 0)
    return "no timestamp, and no earlier entry of its transcript to date it by";
  if (!Number.isSafeInteger(ts) || ts < MIN_TIMESTAMP_MS || ts > nowMs + MAX_FUTURE_MS) {
    return `timestamp ${String(ts)} outside 2020-01-01 … now+365d`;
  }
  // a count the line holds but that is no count (parse.ts readCount): nothing to price it by
  if (u.countProblem !== undefined) return u.countProblem;
  for (const k of ["input", "output", "cacheRead", "cacheWrite"] as const) {
    const v = u[k];
    if (!Number.isSafeInteger(v) || v < 0 || v > MAX_TOKENS_PER_CLASS) {
      return `${k} token count ${String(v)} outside 0 … ${MAX_TOKENS_PER_CLASS}`;
    }
  }
  return null;
}

/** A lone UTF-16 surrogate (in `u` mode `\p{Cs}` matches only an unpaired one). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * True when `s` holds a lone UTF-16 surrogate: text no UTF-8 store keeps as it is (SQLite and
 * PostgreSQL both store U+FFFD in its place).
 */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/**
 * Why a call's account id cannot be billed, or null. An id with a lone UTF-16 surrogate (e.g. an
 * OpenAI-compatible caller's `user` of `"x\ud800"`, which JSON can carry) is not text any UTF-8
 * store keeps: SQLite and PostgreSQL both store U+FFFD in its place, so `x\ud800` and `x\ud801`
 * would be debited as one account. Such a call is held for review instead (the API refuses such
 * ids outright: `ACCOUNT_ID_RE`).
 */
export function accountProblem(accountId: string): string | null {
  if (hasLoneSurrogate(accountId))
    return "account id holds a lone UTF-16 surrogate (stored as UTF-8 it would merge with other accounts)";
  // an id the resolver could not make storable (`storableAccountId`): held with its cost, not failed at the ledger
  return ACCOUNT_ID_RE.test(accountId) ? null : `account id ${ACCOUNT_ID_RULE}`;
}

/** Tokens of all four classes (each already within range). */
export function tokensOf(u: ParsedUsage): bigint {
  return BigInt(u.input) + BigInt(u.output) + BigInt(u.cacheRead) + BigInt(u.cacheWrite);
}

/** The most a call with `tokens` tokens can plausibly cost, in pico-USD. */
export function plausibleMaxPico(tokens: bigint): bigint {
  return tokens * MAX_PICO_USD_PER_TOKEN + PER_CALL_ALLOWANCE_PICO_USD;
}

/**
 * True when every token count of `u` is a safe non-negative integer: then `tokensOf(u) >= 0`, so
 * any cost up to `PER_CALL_ALLOWANCE_PICO_USD` is within `plausibleMaxPico` (no bigint needed).
 */
function countsSane(u: ParsedUsage): boolean {
  return (
    Number.isSafeInteger(u.input) &&
    u.input >= 0 &&
    Number.isSafeInteger(u.output) &&
    u.output >= 0 &&
    Number.isSafeInteger(u.cacheRead) &&
    u.cacheRead >= 0 &&
    Number.isSafeInteger(u.cacheWrite) &&
    u.cacheWrite >= 0
  );
}

/**
 * Why `costPicoUsd` cannot be billed automatically for `u` (implausible per token, or above the
 * operator's per-call ceiling `maxCallPico`), or null.
 */
export function costProblem(u: ParsedUsage, costPicoUsd: bigint, maxCallPico: bigint): string | null {
  // The common case without bigint token sums: at most $1 (always plausible) and under the ceiling.
  if (costPicoUsd <= PER_CALL_ALLOWANCE_PICO_USD && costPicoUsd <= maxCallPico && countsSane(u)) return null;
  const tokens = tokensOf(u);
  if (costPicoUsd > plausibleMaxPico(tokens)) {
    return `cost $${usd(costPicoUsd)} for ${tokens} tokens is above $0.01/token + $1 (implausible)`;
  }
  if (costPicoUsd > maxCallPico) {
    return `cost $${usd(costPicoUsd)} is above the per-call maximum $${usd(maxCallPico)} (CREDITGATE_REVIEW_MAX_CALL_USD)`;
  }
  return null;
}

/** A note for the usage row when the transcript's own recorded cost is implausible, else null. */
export function recordedCostAnomaly(u: ParsedUsage, recordedPico: bigint | null): string | null {
  if (recordedPico === null) return null;
  if (recordedPico <= PER_CALL_ALLOWANCE_PICO_USD && countsSane(u)) return null; // as in costProblem
  const tokens = tokensOf(u);
  if (recordedPico <= plausibleMaxPico(tokens)) return null;
  return `recorded cost $${usd(recordedPico)} for ${tokens} tokens is implausible (not used)`;
}

/** A billed recorded cost under 1/{@link LIST_PRICE_RATIO} of the list price is flagged (a unit slip or a zeroed total). */
export const LIST_PRICE_RATIO = 1000n;

/**
 * Whether a cost `valuePico` is 1000× ({@link LIST_PRICE_RATIO}) or more under (`"under"`) or
 * over (`"over"`) the list price `listPico` of the same call, else null (also for a value or list
 * price ≤ 0). The bound holds exactly 1000× with 1 % to spare for the float rounding of the
 * estimate: a per-1K price typed into a per-1M field gives an estimate of exactly 1/1000 of the
 * list (before 2026-12-03 the bound was strict, so that most common slip was billed as recorded
 * and never flagged).
 */
export function unitSlipSide(valuePico: bigint, listPico: bigint): "under" | "over" | null {
  if (valuePico <= 0n || listPico <= 0n) return null;
  if (valuePico * LIST_PRICE_RATIO * 100n <= listPico * 101n) return "under";
  if (valuePico * 101n >= listPico * LIST_PRICE_RATIO * 100n) return "over";
  return null;
}

/** The price version suffix of a call billed as the list price plus an OpenRouter BYOK fee (pricing.ts `byokFee`). */
export const BYOK_FEE_VERSION = "+openrouter-byok-fee";

/**
 * A note for the usage row when the provider-billed amount was OpenRouter's BYOK fee alone and the
 * list price was billed with it (pricing.ts `byokFee`), else null.
 */
export function byokFeeAnomaly(
  recordedPico: bigint | null,
  quote: { costPicoUsd: bigint; version: string; tableCostPicoUsd?: bigint },
): string | null {
  if (recordedPico === null || !quote.version.endsWith(BYOK_FEE_VERSION)) return null;
  const list = quote.tableCostPicoUsd ?? quote.costPicoUsd - recordedPico;
  return `provider-billed cost $${usd(recordedPico)} is about 5% of the list price $${usd(list)} (OpenRouter's BYOK fee alone: the inference was charged to the operator's own provider key): billed the list price plus the fee`;
}

/**
 * A note for the usage row when the recorded (or provider-billed) cost that was BILLED is under
 * 1/1000 of what the list price (override or table) gives for the same call, else null. The cost
 * is still billed as recorded (the provider's figure is the truth): the note and a warning make
 * a per-token price typed as per-million, or a zeroed total, visible.
 */
export function belowListAnomaly(
  billedPico: bigint,
  source: string,
  listPico: bigint | undefined,
): string | null {
  if (source !== "recorded" && source !== "provider-billed") return null;
  if (listPico === undefined || listPico <= 0n) return null;
  if (billedPico > 0n && unitSlipSide(billedPico, listPico) !== "under") return null;
  const side = billedPico * LIST_PRICE_RATIO < listPico ? "under" : "about";
  return `${source} cost $${usd(billedPico)} is ${side} 1/1000 of the list price $${usd(listPico)} (billed as recorded)`;
}

/**
 * A note for the usage row when OpenClaw's recorded estimate (not a provider-billed amount) is
 * 1000× or more ({@link unitSlipSide}) under or over what the list price (override or table) BILLED for the call: a
 * price in the wrong unit in OpenClaw's model catalog (pricing.ts `estimateUnitSlip`,
 * openclaw/openclaw#70416), which no cost mode bills. Else null.
 */
export function estimateSlipAnomaly(
  u: ParsedUsage,
  recordedPico: bigint | null,
  quote: { costPicoUsd: bigint; source: string },
): string | null {
  if (u.recordedCostOrigin === "provider-billed" || recordedPico === null || recordedPico <= 0n) return null;
  if ((quote.source !== "table" && quote.source !== "override") || quote.costPicoUsd <= 0n) return null;
  const list = quote.costPicoUsd;
  const slip = unitSlipSide(recordedPico, list);
  if (slip === null) return null;
  // "about" within unitSlipSide's 1 % margin, where the estimate is not strictly past the ratio
  const side =
    slip === "under"
      ? recordedPico * LIST_PRICE_RATIO < list
        ? "under 1/1000 of"
        : "about 1/1000 of"
      : recordedPico > list * LIST_PRICE_RATIO
        ? "over 1000×"
        : "about 1000×";
  return `recorded estimate $${usd(recordedPico)} is ${side} the list price $${usd(list)} (a price in the wrong unit in OpenClaw's catalog): billed at the list price`;
}

/**
 * A note for the usage row when the provider reported billing $0 for a call the list price puts
 * above $0 and the list price was billed instead (pricing.ts `byokZero`: an OpenRouter BYOK call,
 * whose inference the operator's own provider key paid), else null.
 */
export function billedZeroAnomaly(
  u: ParsedUsage,
  recordedPico: bigint | null,
  quote: { costPicoUsd: bigint; source: string },
): string | null {
  if (u.recordedCostOrigin !== "provider-billed" || recordedPico !== 0n) return null;
  if ((quote.source !== "table" && quote.source !== "override") || quote.costPicoUsd <= 0n) return null;
  return `provider-billed cost $0 on a model listed at $${usd(quote.costPicoUsd)} (an OpenRouter BYOK call is paid by the operator's own provider key): billed at the list price`;
}
