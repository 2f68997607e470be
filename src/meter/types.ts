/** One model call as read from a transcript line (JSONL or SQLite `event_json`), before billing. */
export interface ParsedUsage {
  provider: string;
  /** The model the call asked for (`message.model`): part of the call's identity, and its row's `model`. */
  model: string;
  /**
   * The model the provider says answered (`message.responseModel`, OpenClaw ≥2026.9; the
   * response's own `model`), set only when it is a different text from `model`: an Anthropic
   * refusal fallback (`claude-fable-5` served by `claude-opus-4-8`), OpenRouter's Auto Router
   * (`openrouter/auto` served by e.g. `anthropic/claude-sonnet-4.5`), or just a dated snapshot
   * name (`gpt-4o` → `gpt-4o-2024-08-06`). Pricing uses it when it is another model the price
   * list or an override knows (pricing.ts `pricedModelOf`). Not part of the dedupe identity.
   */
  responseModel?: string;
  /**
   * The speed the line says the provider served the call at: the response's `usage.speed`
   * (Anthropic Messages API, `fast-mode-2026-02-01` beta: `"fast"` or `"standard"`, the speed the
   * request actually ran at), read from the line's usage object whether its counts are OpenClaw's
   * names or Anthropic's own (a `claude-cli` line). Absent for any other value or none. `"fast"`
   * is priced at the model's fast-mode multiple (pricing.ts `fastModeMultiple`); `"standard"` is
   * a standard call whose estimate is never read as a fast one (`fastEstimateQuote`). Not part of
   * the dedupe identity.
   */
  speed?: "fast" | "standard";
  /**
   * Where the line says Anthropic ran the call's inference: the response's `usage.inference_geo`
   * (Claude API data residency, https://platform.claude.com/docs/en/manage-claude/data-residency),
   * set only when it is `"us"` (US-only inference), read from the line's usage object whether its
   * counts are OpenClaw's names or Anthropic's own (a `claude-cli` line). Priced at 1.1× on Claude
   * Opus 4.6, Sonnet 4.6 and later models (pricing.ts `inferenceGeoMultiple`). Not part of the
   * dedupe identity.
   */
  inferenceGeo?: "us";
  /**
   * The service tier the line says the provider served the call at (since 2026-12-04): OpenAI's
   * response `service_tier` (`"flex"`, `"priority"`, `"default"`, `"scale"`; `"auto"` never comes
   * back resolved) or Anthropic's `usage.service_tier` (`"standard"`, `"priority"`, `"batch"`), read
   * from the line's usage object or its message (`service_tier` / `serviceTier`), trimmed and
   * case-insensitively. `"standard"` for `default` / `standard` / `scale` / `auto` (the standard
   * price, and the estimate is then never read as a tier); absent for any other value or none.
   * Priced in pricing.ts `statedTierMultiple`. Not part of the dedupe identity.
   */
  serviceTier?: "flex" | "priority" | "batch" | "standard";
  /**
   * Anthropic web searches the call ran (the response's `usage.server_tool_use.web_search_requests`,
   * or `serverToolUse.webSearchRequests`), set only when a whole positive count: each is billed on
   * top of the tokens at Anthropic's per-search price (pricing.ts `WEB_SEARCH_FEE_PICO_USD`, $10 per
   * 1,000) for a provider that has one (`WEB_SEARCH_FEE_PROVIDERS`); on any other provider's line
   * without a provider-billed cost the call is held for review (`countProblem`). Not part of the
   * dedupe identity. Since 2026-12-04.
   */
  webSearchRequests?: number;
  /**
   * Perplexity's `usage.search_context_size` (`searchContextSize` camelCase): how much web content
   * the Sonar call searched, `"low"`, `"medium"` or `"high"` (trimmed, case-insensitively; absent
   * for any other value or none). Perplexity's per-request fee depends on it (pricing.ts
   * `SONAR_REQUEST_FEES`: Sonar $5 / $8 / $12, Sonar Pro and Sonar Reasoning Pro $6 / $10 / $14
   * per 1,000 requests); the price table lists the high fee alone. Not part of the dedupe
   * identity. Since 2026-12-05.
   */
  searchContextSize?: "low" | "medium" | "high";
  api: string | null;
  /**
   * `message.timestamp`: epoch ms, stable across copies of the same message. For a line with no
   * readable time (`identityTsMs` set), the time of the transcript entry read before it (the
   * user message of its turn, or the call before it), else 0 (held for review).
   */
  messageTsMs: number;
  /**
   * The time the call's identity holds when it is not `messageTsMs`: 0 on a line with neither a
   * numeric `message.timestamp` nor a readable entry `timestamp` (an "untimed" line: only 0 means
   * that). Such a line was rejected as malformed before 2026-12-03 (its call never billed); every
   * copy of it has no time either, so its identity takes none, while `messageTsMs` dates it from
   * the transcript around it, which a copy read from elsewhere may not show the same way.
   * Since 2026-12-04 also the number as written (truncated) on a line whose `message.timestamp` is
   * epoch seconds (parse.ts `EPOCH_SECONDS_BELOW`): `messageTsMs` is that time in ms, while the
   * identity keeps what the reader before took for ms, so a call held for review then (at 1970)
   * and perhaps released is the same identity when read again, never billed twice.
   */
  identityTsMs?: number;
  /**
   * The transcript entry's own id (the line's top-level `id`, OpenClaw's entry id), set only with
   * `identityTsMs` (a line with no readable time) and only when the entry has one (a non-empty
   * string of at most 200 characters). Part of such a call's identity: without a time, two
   * different calls with the same provider, model and counts (two users, one system prompt, one
   * short reply) would otherwise be one identity, and the second never billed. Every copy of the
   * line keeps it (checkpoint, `.bak`/`.reset`/`.deleted` archives, forks, the JSONL→SQLite
   * import, whose `transcript_events.event_json` is the entry as written). Since 2026-12-03; a
   * timed line's identity never holds it, except one whose time was written in epoch seconds
   * (`identityTsMs` 1 … 10^11 − 1, since 2026-12-04 evening: a whole second holds many calls;
   * identity.ts `secondsTwinKeyOf`).
   */
  identityEntryId?: string;
  /**
   * Set (only then) when the call's time is an entry `timestamp` written without a zone
   * (`2026-11-22T23:30:40`, on a line with no numeric `message.timestamp`). Since 2026-12-04 such a
   * time is read as UTC, whatever the host's `TZ`; before, it was read in the host's zone, so the
   * call's identity depended on the `TZ` of the run that billed it. The biller also looks such a
   * call up under the identities of the same wall-clock time in every real UTC offset
   * (identity.ts `zonelessTwinTimes`): billed before on a host in any zone, it is not billed again.
   */
  zonelessTime?: true;
  /** Provider response id (`message.responseId`, OpenClaw ≥2026.9), when present. */
  responseId: string | null;
  /**
   * Why a token count on the line is unreadable (past 2^53, infinite, not a number: parse.ts
   * `readCount`), set only then; that count reads as 0 and the call is held for review
   * (validate.ts `inputProblem`), never billed automatically. Not part of the dedupe identity.
   * Also set (since 2026-12-03) when the line names no provider or model (read as `(unnamed)`).
   */
  countProblem?: string;
  /** Uncached input tokens (OpenClaw's `usage.input` excludes cache). */
  input: number;
  output: number;
  cacheRead: number;
  /** Cache writes of both TTLs (Anthropic: 5-minute + 1-hour). */
  cacheWrite: number;
  /**
   * The part of `cacheWrite` written with Anthropic's 1-hour TTL (`usage.cacheWrite1h`, OpenClaw
   * ≥2026.9), priced at the 1-hour rate; `0 ≤ cacheWrite1h ≤ cacheWrite`. Absent or 0 = every
   * write was a 5-minute write. Not part of the dedupe identity (it is a breakdown of cacheWrite).
   */
  cacheWrite1h?: number;
  /**
   * `usage.input` as the line wrote it, set only when the parser corrected `input` (a Google or
   * Codex-harness line whose `input` held its cached tokens too: see `parse.ts` `inputHoldsCache`).
   * Pricing reads it as "the line's own estimate was computed from other counts". The dedupe
   * identity uses it, so a call billed before the correction existed keeps its identity and a
   * later copy of it (archive, SQLite import) stays a duplicate.
   */
  writtenInput?: number;
  /**
   * The `input` the call's identity holds when it is neither `writtenInput` nor `input`: set only
   * on an OpenAI-style line whose prompt total holds cache writes (`cache_write_tokens`), which
   * the reader before 2026-12-02 left in `input` (see `parse.ts` `aliasCounts`). Identity only:
   * unlike `writtenInput` it says nothing of the line's estimate (a tester, 2026-12-02: as
   * `writtenInput` it turned OpenAI's service-tier detection off for such calls).
   */
  identityInput?: number;
  /**
   * The cache counts the call's identity holds when they are not `cacheRead` / `cacheWrite`: set
   * only on a line whose cache counts are written under AWS Bedrock Converse's names
   * (`cacheReadInputTokens`, `cacheWriteInputTokens`), which the reader before 2026-12-02 read as
   * 0 (see parse.ts `aliasCounts`). The dedupe identity uses them, so a call billed then keeps its
   * identity and a later copy of it (archive, SQLite import) stays a duplicate.
   */
  identityCacheRead?: number;
  /** See {@link identityCacheRead}. */
  identityCacheWrite?: number;
  /**
   * The `output` the call's identity holds when it is not `output`: set only on a line under the
   * providers' own names whose reasoning is outside its completion count (xAI: `total_tokens` =
   * prompt + completion + reasoning), which the reader before 2026-12-03 billed without the
   * reasoning (see `parse.ts` `aliasCounts`). The dedupe identity uses it, so a call billed then
   * keeps its identity and a later copy of it (archive, SQLite import) stays a duplicate. Also
   * set on a Codex-harness line of the cumulative era (see `codex-cumulative.ts`), billed as its
   * increment over the previous line of its thread: its identity keeps the counts as written
   * (with `writtenInput` and `identityCacheRead`).
   */
  identityOutput?: number;
  /**
   * Set only on the difference billed for a greater copy of an entry read after its billed copy
   * (batch-builder.ts `entryIncrement`, since 2026-12-04): the whole call's prompt total (input +
   * cache read + cache write of that copy), which picks a long-context tier's rates in place of
   * the difference's own counts; such a difference pays no per-call fee (the call paid it with
   * its first copy). Not part of the dedupe identity.
   */
  tierInputTotal?: number;
  /**
   * Set only on a copy of an entry that took the place of its lesser copy read in the same batch
   * (batch-builder.ts `#replace`, since 2026-12-04): that copy's dedupe identity and counts as
   * JSON (`SupersededCopy`). When that identity is already billed (read before from another file:
   * a logrotate copy of the live transcript, a copied archive), the biller bills only what this
   * copy adds to it, as `entryIncrement` does across polls. Not part of the dedupe identity.
   */
  supersedes?: string;
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
  /**
   * The recorded cost exactly, integer pico-USD as a decimal string (a string so the event stays
   * JSON, e.g. in the review queue). Set only on pushed events that carried it (edge meters send
   * `recordedCostPicoUsd`); pricing prefers it to `recordedCostUsd`, which then holds its
   * approximation for the checks that take a float.
   */
  recordedCostPicoUsd?: string;
  /**
   * `usage.cost.totalOrigin`: `"provider-billed"` when the provider reported what it charged
   * (OpenRouter and others) and OpenClaw stored that amount as `cost.total`; absent/null when
   * `cost.total` is OpenClaw's own estimate from its configured list prices.
   */
  recordedCostOrigin?: "provider-billed" | null;
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
  /**
   * User message to this reply in ms (docs/reports.md "Latency"): set on the first billed reply
   * after a user line of the same transcript; null (or absent: push ingestion) when not derivable.
   * Not part of the dedupe identity.
   */
  latencyMs?: number | null;
  /** Redacted preview of the user message this call answered (previews on), else null/absent. */
  userPreview?: string | null;
  /** Redacted preview of this reply's text (previews on), else null/absent. */
  replyPreview?: string | null;
}

/**
 * What priced a call: the genai-prices `table`, an operator `override`, the transcript's
 * `recorded` estimate, the amount the provider reported it billed (`provider-billed`), or the
 * configured `fallback` price for a model nobody knows.
 */
export type PriceSource = "table" | "override" | "recorded" | "provider-billed" | "fallback";

export interface PriceQuote {
  /** Exact cost in pico-USD (1 USD = 10^12). */
  costPicoUsd: bigint;
  source: PriceSource;
  /** What priced it, stored on the usage row: `@pydantic/genai-prices@0.1.8` (`+corrections:<hash>` when a price correction applied), `overrides:<sha8>`, ... */
  version: string;
  /**
   * True when neither the table nor an override knew the model and it was priced at the fallback
   * or at its recorded estimate. Never set on `provider-billed` quotes: that amount is authoritative.
   */
  unknownModel: boolean;
  /**
   * What the override or table price would have charged for this call (pico-USD), kept for
   * reconciliation against provider-billed amounts; omitted when neither knows the model.
   */
  tableCostPicoUsd?: bigint;
}

export interface Pricer {
  price(u: ParsedUsage): PriceQuote;
}

export type CostMode = "calculate" | "recorded" | "auto";
