/** One model call as read from a transcript line (JSONL or SQLite `event_json`), before billing. */
export interface ParsedUsage {
  provider: string;
  model: string;
  api: string | null;
  /** `message.timestamp`: epoch ms, stable across copies of the same message. */
  messageTsMs: number;
  /** Provider response id (`message.responseId`, OpenClaw ≥2026.9), when present. */
  responseId: string | null;
  /** Uncached input tokens (OpenClaw's `usage.input` excludes cache). */
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** `usage.totalTokens`, or the sum of the four counts when the line lacks it. */
  totalTokens: number;
  /** A breakdown of output; never added to it. */
  reasoningTokens: number | null;
  stopReason: string | null;
  isError: boolean;
  /** Truncated to 300 chars; provider error text, never chat content. */
  errorMessage: string | null;
  /** `usage.cost.total` as written by OpenClaw (USD float), or null when absent. */
  recordedCostUsd: number | null;
}

export type UsageSource = "jsonl" | "sqlite" | "push";

/** A parsed call with who and where: what the biller needs. */
export interface UsageEvent extends ParsedUsage {
  agentId: string;
  sessionId: string | null;
  sessionKey: string | null;
  /** Billable account: `telegram:123`, or `agent:<agentId>` for the operator's own spend. */
  accountId: string;
  source: UsageSource;
  /** Where the event was read (for audits): `path@byteOffset`, `db#session:seq`. */
  sourceRef: string;
  /**
   * The identity to bill this call under when the caller supplies one (push ingestion with its
   * own idempotency key); otherwise it is derived from the call itself (`dedupeKey`).
   */
  dedupeKey?: string;
}

export type PriceSource = "table" | "override" | "recorded" | "fallback";

export interface PriceQuote {
  /** Exact cost in pico-USD (1 USD = 10^12). */
  costPicoUsd: bigint;
  source: PriceSource;
  /** What priced it, stored on the usage row: `@pydantic/genai-prices@0.1.8`, `overrides:<sha8>`, ... */
  version: string;
  /** True when neither the table nor an override knew the model (priced at the fallback or recorded). */
  unknownModel: boolean;
}

export interface Pricer {
  price(u: ParsedUsage): PriceQuote;
}

export type CostMode = "calculate" | "recorded" | "auto";
