/**
 * meter: reads what OpenClaw bots spent from their own transcripts (JSONL files and the
 * SQLite store), prices each model call and bills it to the right end user exactly once
 * through the credits ledger. Never writes to OpenClaw's files or databases; never logs
 * chat text.
 */
import type { Config } from "../config/index.js";
import type { Db } from "../db/index.js";
import { decimalToScaled, parseDecimal } from "../money.js";
import { discoverStateDirs } from "./discover.js";
import { createMeter, type MeterOptions } from "./meter.js";
import { createPricer, loadPriceOverrides, overrideSanityWarnings } from "./pricing.js";

export { type BilledEvent, type Biller, createBiller } from "./biller.js";
export { type CallRow, MAX_CALLS, purgePreviews, recentCalls } from "./calls.js";
export { createCursorRepo } from "./cursor-repo.js";
export {
  type AgentDir,
  agentFilterOf,
  discoverStateDirs,
  HOME_STATE_DIRS,
  listAgents,
  type StateDir,
} from "./discover.js";
export { createSourceHealth, type SourceHealth, type SourceProblem, sourceHealth } from "./health.js";
export { dedupeKey, MAX_ENTRY_ID_CHARS, PUSH_IDENTITY_PREFIX } from "./identity.js";
export { createMeter, type Meter, type MeterOptions, type MeterSummary, SinkPaused } from "./meter.js";
export {
  EPOCH_MICROS_FROM,
  EPOCH_SECONDS_BELOW,
  EPOCH_UNITS_BELOW,
  type LineResult,
  latencyMs,
  MAX_LATENCY_MS,
  parseEntry,
  parseLine,
  servedInferenceGeo,
  servedSearchContextSize,
  servedServiceTier,
  servedSpeed,
} from "./parse.js";
export { DEFAULT_PREVIEW_CHARS, makePreview, messageText, redact } from "./preview.js";
export { createPricer, loadPriceOverrides, overrideSanityWarnings, recordedCostPico } from "./pricing.js";
export {
  GROUP_BY,
  type GroupBy,
  parseTimeArg,
  parseUntilArg,
  queryUsage,
  queryUsageRaw,
  sinceIsNowProblem,
  type UsageQuery,
  type UsageRow,
  usageRowSchema,
} from "./report.js";
export { reportThreadStats, warmReportThread } from "./report-thread.js";
export { operatorAccount, resolveAccount } from "./resolve-user.js";
export {
  createReviewQueue,
  type HeldEvent,
  type HeldSummary,
  heldByGroup,
  heldSummary,
  queryUsageWithHeld,
  type ReviewQueue,
  type ReviewStatus,
  type UsageRowWithHeld,
  usageRowWithHeldSchema,
} from "./review.js";
export { sessionFactParams, UPSERT_SESSION_SQL } from "./session-memory.js";
export type { SessionFact, SourceBatch } from "./source.js";
export type { SupersededCopy } from "./sources/batch-builder.js";
export { readOpenClawConfig } from "./sources/openclaw-config.js";
export { openRegularFile, readRegularFile } from "./sources/regular-file.js";
export type { CostMode, ParsedUsage, PriceQuote, Pricer, UsageEvent } from "./types.js";
export {
  AGGREGATED_UNTIL_MS,
  DAY_MS,
  nearestDaySplit,
  type SignedEdge,
  splitUtcDays,
  type UtcDaySplit,
  type UtcDaySplitNearest,
} from "./usage-repo.js";

/**
 * The pricer an entrypoint builds from config: table + operator overrides + fallback. With `log`,
 * overrides that look like the wrong unit for their model are warned about, naming the key.
 */
export function pricerFromConfig(config: Config, log?: MeterOptions["log"], nowMs: number = Date.now()) {
  const overrides = loadPriceOverrides(config.pricing.overridesPath);
  for (const w of overrideSanityWarnings(overrides, nowMs)) {
    log?.("warn", w, { file: config.pricing.overridesPath });
  }
  return createPricer({ mode: config.pricing.mode, overrides, fallback: config.pricing.fallbackUsdPerMTok });
}

/** Wires a meter from config: discovered state dirs, pricing, markup and credit rate. */
export function meterFromConfig(
  config: Config,
  db: Db,
  extra: Partial<
    Pick<
      MeterOptions,
      "onBilled" | "onProgress" | "log" | "nowMs" | "unknownSessionGraceMs" | "ledger" | "record"
    >
  > = {},
) {
  const stateDirs = discoverStateDirs(config.sources);
  const meter = createMeter({
    db,
    stateDirs,
    agents: config.sources.agents,
    pricer: pricerFromConfig(config, extra.log),
    markup: parseDecimal(config.pricing.markup),
    creditsPerUsd: parseDecimal(config.pricing.creditsPerUsd),
    batchSize: config.meter.batchSize,
    readerThread: config.meter.readerThread,
    previewChars: config.meter.previewChars,
    pollMs: config.meter.pollMs,
    openclawHome: config.sources.openclawHome ?? config.sources.home,
    maxCallPicoUsd: decimalToScaled(config.meter.reviewMaxCallUsd, 12),
    ...extra,
  });
  return { meter, stateDirs };
}
