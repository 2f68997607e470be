/**
 * The collector contract: what one poll of one provider's billing API returns, and how it fails.
 * Amounts are integer micro-units of the provider's currency (see `providerAmountToMicro` in
 * src/money.ts); a collector never returns or stores a float.
 */

/** Providers creditgate can collect from, one collector file each (src/providers/collectors/). */
export const PROVIDER_IDS = ["openrouter", "openai", "anthropic", "moonshot", "deepseek"] as const;
/** One of {@link PROVIDER_IDS}. */
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** An amount in micro-units (10^-6) of `currency` (ISO 4217, upper case: "USD", "CNY"). */
export interface Money {
  micro: bigint;
  currency: string;
}

/** One UTC day's spend as the provider reports it (the provider's own number for that whole day, so far). */
export interface DaySpend {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  micro: bigint;
}

/**
 * What one poll learned. Every field is optional because providers expose different things:
 * OpenRouter a balance, a cumulative usage counter and today's spend; OpenAI and Anthropic daily
 * cost reports but no balance; Moonshot and DeepSeek a balance only (spend is then derived from
 * balance decreases between polls).
 */
export interface Observation {
  /** The currency of every amount in this observation. */
  currency: string;
  /** Money left to spend, or null when the provider does not say. */
  balance: bigint | null;
  /** A cumulative spend counter that only grows (OpenRouter `total_usage`), or null. */
  spentTotal: bigint | null;
  /** Daily spend reported by the provider (complete days and today so far), oldest first. */
  days: DaySpend[];
  /**
   * Every currency's balance when the account holds several (DeepSeek: CNY and USD), `balance`'s
   * currency included; absent or one entry: single-currency. The service combines them into USD
   * where `CREDITGATE_FX_RATES` allows (see `combineCurrencies` in service.ts).
   */
  balances?: Money[];
  /**
   * Non-secret facts for the history view (per-currency balances, voucher/cash split, key limit,
   * token counts, line items). Never the key.
   */
  detail: Record<string, unknown>;
}

/** Why a poll failed (stored per collector; the next poll tries again). */
export const COLLECTOR_ERROR_KINDS = [
  /** 401: the key is wrong or revoked. */
  "unauthorized",
  /** 403: the key is valid but may not read billing (not an admin / management key). */
  "forbidden",
  /** 429: rate limited; `retryAfterMs` from `Retry-After` when given. */
  "rate_limited",
  /** 5xx: the provider failed. */
  "server",
  /** Another unexpected HTTP status (404 from a wrong base URL, 400, ...). */
  "http",
  /** No answer within the timeout. */
  "timeout",
  /** Connection refused, DNS, TLS, reset. */
  "network",
  /** The answer was not JSON, or not the shape the collector knows (the provider changed it). */
  "shape",
  /** No key configured or found (nothing was sent). */
  "no_key",
  /**
   * The key's configuration is wrong (nothing was sent): a key file that holds more than one
   * line or whitespace inside the key, an OpenClaw `keyRef` that cannot be resolved. The message
   * names the file or reference, never the key.
   */
  "config",
] as const;
export type CollectorErrorKind = (typeof COLLECTOR_ERROR_KINDS)[number];

/** A failed poll, with a one-line message that never contains the key. */
export class CollectorError extends Error {
  readonly kind: CollectorErrorKind;
  readonly status: number | null;
  /** From a 429's `Retry-After` (seconds or HTTP date), in ms; null when absent. */
  readonly retryAfterMs: number | null;
  constructor(
    kind: CollectorErrorKind,
    message: string,
    status: number | null = null,
    retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = "CollectorError";
    this.kind = kind;
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

/** What a collector is given for one poll. */
export interface CollectContext {
  /** The API key (kept in memory for this poll only). */
  key: string;
  /** Base URL of the provider's API, without a trailing slash. */
  baseUrl: string;
  /** Per-request timeout (ms). */
  timeoutMs: number;
  nowMs: number;
  fetch: typeof fetch;
}

/** One provider's billing collector. `collect` rejects only with {@link CollectorError}. */
export interface Collector {
  id: ProviderId;
  /** Default API base URL (overridden by `CREDITGATE_<P>_BASE_URL`). */
  defaultBaseUrl: string;
  /** Provider ids of metered usage (usage_events.provider) this account pays for. */
  meteredProviders: readonly string[];
  /** What kind of key it needs, for error hints and docs. */
  keyHint: string;
  collect(ctx: CollectContext): Promise<Observation>;
}
