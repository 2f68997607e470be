import { createHash } from "node:crypto";
import { z } from "zod";
import {
  accountIdSchema,
  agentIdSchema,
  assertAccountId,
  createLedger,
  idempotencyKeySchema,
  type Ledger,
} from "../credits/index.js";
import type { Db } from "../db/index.js";
import { formatZodIssues } from "../errors.js";
import {
  type BilledEvent,
  createBiller,
  dedupeKey,
  EPOCH_MICROS_FROM,
  EPOCH_SECONDS_BELOW,
  EPOCH_UNITS_BELOW,
  MAX_ENTRY_ID_CHARS,
  type ParsedUsage,
  type Pricer,
  PUSH_IDENTITY_PREFIX,
  type SupersededCopy,
  servedInferenceGeo,
  servedSearchContextSize,
  servedServiceTier,
  servedSpeed,
  type UsageEvent,
} from "../meter/index.js";
import type { Ratio } from "../money.js";

/** Max events per `POST /v1/usage` request. */
export const MAX_PUSH_BATCH = 1000;

const tokens = z.number().int().min(0).max(1e12);
/** The largest recorded cost a pushed event may carry: $1,000,000 in pico-USD (as `costUsd`'s max). */
const MAX_RECORDED_PICO = 10n ** 18n;

/** One pushed model call. Unknown fields are rejected so a typo is not silently ignored. */
export const pushEventSchema = z
  .strictObject({
    idempotencyKey: idempotencyKeySchema,
    agentId: agentIdSchema,
    /** Billable account, e.g. `telegram:123` or `agent:<id>` for the operator's own spend. */
    userId: accountIdSchema,
    provider: z.string().min(1).max(100),
    model: z.string().min(1).max(200),
    input: tokens,
    output: tokens,
    cacheRead: tokens.default(0),
    cacheWrite: tokens.default(0),
    /** The part of `cacheWrite` written with a 1-hour TTL (OpenClaw `usage.cacheWrite1h`); priced at the 1-hour rate. */
    cacheWrite1h: tokens.optional(),
    /**
     * `input` as the transcript wrote it, when the meter corrected it (a Google or Codex-harness line whose input
     * held its cached tokens: `ParsedUsage.writtenInput`). Part of the call's identity; edge
     * meters send it with such calls. At least `input`.
     */
    writtenInput: tokens.optional(),
    /**
     * The input the call's identity holds when it is neither `writtenInput` nor `input`
     * (`ParsedUsage.identityInput`: an OpenAI-style prompt total whose cache writes the meter
     * before 2026-12-02 left in `input`). Part of the call's identity; edge meters send it with
     * such calls.
     */
    identityInput: tokens.optional(),
    /**
     * The cache counts the call's identity holds when they are not `cacheRead` / `cacheWrite`
     * (`ParsedUsage.identityCacheRead`: a line with AWS Bedrock's cache names, billed before
     * 2026-12-02 without them). Part of the call's identity; edge meters send them with such calls.
     */
    identityCacheRead: tokens.optional(),
    identityCacheWrite: tokens.optional(),
    /**
     * 0 when the transcript line had no readable time (`ParsedUsage.identityTsMs`): the call's
     * identity then holds no time, and `timestampMs` is the time the meter dated it by. Since
     * 2026-12-04 also the line's `message.timestamp` as written when it is epoch seconds (1 …
     * 10^11 − 1, `EPOCH_SECONDS_BELOW`): `timestampMs` is that time in ms, the identity keeps the
     * number the meter before read as ms. Part of the call's identity; edge meters send it with
     * such calls (an older center refuses only the events that carry a seconds one).
     */
    identityTsMs: z
      .union([
        z.literal(0),
        z
          .number()
          .int()
          .min(1)
          .max(EPOCH_SECONDS_BELOW - 1),
        // microseconds or nanoseconds as written (parse.ts `EPOCH_MICROS_FROM`, since 2026-12-04)
        z
          .number()
          .min(EPOCH_MICROS_FROM)
          .max(EPOCH_UNITS_BELOW)
          .refine((t) => Number.isInteger(t) && t < EPOCH_UNITS_BELOW, "an integer below 10^20"),
      ])
      .optional(),
    /**
     * The transcript entry's own id (the line's top-level `id`) of a line with no readable time
     * (`ParsedUsage.identityEntryId`, since 2026-12-03): part of such a call's identity, which
     * holds no time, so two calls of the same counts stay two calls; since 2026-12-04 evening also
     * of a line whose time was written in epoch seconds (a whole second holds many calls), and since
     * 2026-12-05 of one whose entry time was written to the whole second (ISO text with no fraction:
     * no `identityTsMs`, `timestampMs` a whole second). Only with `identityTsMs` 0 or in seconds, or
     * without `identityTsMs` on a whole-second `timestampMs`;
     * edge meters send it with such calls when the entry has one (at most 200 characters).
     */
    identityEntryId: z.string().min(1).max(MAX_ENTRY_ID_CHARS).optional(),
    /**
     * `true` when the call's time is a transcript entry time written without a zone
     * (`ParsedUsage.zonelessTime`, since 2026-12-04: `2026-11-22T23:30:40` on a line with no numeric
     * `message.timestamp`, read as UTC). Such a call was read in the host's `TZ` before, so an edge
     * meter may have pushed it under another identity: the center then looks it up under the same
     * wall clock in every real UTC offset (identity.ts `zonelessTwinTimes`), exactly as a local
     * meter does, and answers `duplicate` when it was billed or held under one of them. Absent
     * (older edges, every other call): no such lookup, as before. Not part of the call's identity.
     */
    zonelessTime: z.literal(true).optional(),
    /**
     * Why a token count on the edge's line was no count (`ParsedUsage.countProblem`, since
     * 2026-12-03: past 2^53, infinite, not a number; that count is sent as 0): the center holds
     * the call for review, never bills it automatically. Not part of the call's identity.
     */
    countProblem: z.string().min(1).max(500).optional(),
    /**
     * The output the call's identity holds when it is not `output` (`ParsedUsage.identityOutput`:
     * a line whose reasoning is outside its completion count, xAI's, billed before 2026-12-03
     * without it; a cumulative Codex-harness line billed as its increment). Part of the call's identity; edge meters send it with such calls.
     */
    identityOutput: tokens.optional(),
    /**
     * The model that answered when it is not `model` (`message.responseModel`: an Anthropic
     * refusal fallback, OpenRouter's Auto Router, a dated snapshot name). The center prices the
     * call as that model when it is another model it knows (pricing.ts `pricedModelOf`), exactly
     * as a locally metered call. Not part of the call's identity.
     */
    responseModel: z.string().trim().min(1).max(200).optional(),
    /**
     * The line's `message.api` (`anthropic-messages`, `openai-responses`...): what the center
     * needs to read a fast-mode or service-tier estimate as a locally metered call does
     * (pricing.ts `serviceTierQuote`, `fastEstimateQuote`). Not part of the call's identity.
     */
    api: z.string().trim().min(1).max(100).optional(),
    /**
     * The speed the provider served the call at (Anthropic's `usage.speed`, fast mode: `"fast"`
     * or `"standard"`). `"fast"` prices the call at its model's fast-mode multiple (pricing.ts
     * `fastModeMultiple`: Claude Opus 5 / 4.8 2×, on the `anthropic` provider), exactly as a
     * locally metered call; any other value is a standard call (`"standard"`: one whose estimate
     * is never read as a fast one). Not part of the call's identity.
     */
    speed: z.string().trim().min(1).max(32).optional(),
    /**
     * Where Anthropic ran the call's inference (its `usage.inference_geo`, data residency): `"us"`
     * prices the call at the US-only multiple (pricing.ts `inferenceGeoMultiple`: 1.1× on Claude
     * Opus 4.6, Sonnet 4.6 and later models, on the `anthropic` provider), exactly as a locally
     * metered call; any other value is a standard call. Not part of the call's identity.
     */
    inferenceGeo: z.string().trim().min(1).max(32).optional(),
    /**
     * The service tier the provider served the call at (OpenAI's response `service_tier`,
     * Anthropic's `usage.service_tier`): `"flex"`, `"priority"` and `"batch"` price the call at
     * the tier (pricing.ts `statedTierMultiple`), exactly as a locally metered call; any other
     * value is the standard tier. Not part of the call's identity.
     */
    serviceTier: z.string().trim().min(1).max(32).optional(),
    /**
     * Anthropic web searches the call ran (its `usage.server_tool_use.web_search_requests`): on the
     * `anthropic` / `claude-cli` provider each is billed $0.01 on top of the tokens (server-tools.ts),
     * exactly as a locally metered call. Not part of the call's identity.
     */
    webSearchRequests: z.number().int().min(1).max(10_000).optional(),
    /**
     * Perplexity's search context size (its `usage.search_context_size`: `"low"`, `"medium"`,
     * `"high"`): on the `perplexity` provider a Sonar call's request fee is the size's (pricing.ts
     * `SONAR_REQUEST_FEES`), exactly as a locally metered call; any other value, or none, is
     * Perplexity's default, the low fee (pricing.ts `sonarContextFee`). Not part of the call's
     * identity. Since 2026-12-05.
     */
    searchContextSize: z.string().trim().min(1).max(32).optional(),
    /**
     * Set only on the difference an edge meter bills for a later, greater copy of a call it
     * already shipped (`ParsedUsage.tierInputTotal`, since 2026-12-04): the whole call's prompt
     * total (input + cache read + cache write of that copy). The center prices the difference at
     * that total's long-context tier and charges no second per-call fee, exactly as a locally
     * metered difference. Absent (older edges, every other call): priced on its own counts, as
     * before. At least the event's own prompt total. Not part of the call's identity.
     */
    tierInputTotal: tokens.optional(),
    /**
     * Set only by an edge meter, on a later, greater copy of a call that took the place of its
     * lesser copy read in the same batch (`ParsedUsage.supersedes`, since 2026-12-04: both copies
     * read from a logrotate copy or an archive of a transcript whose partial line was shipped
     * before): the lesser copy's identity and counts. When that identity is billed at the center,
     * only what this event adds to it is billed (no request of its own), exactly as a locally
     * metered copy; else this event is billed whole. Absent (older edges, every other call):
     * billed whole, as before. Not part of the call's identity.
     */
    supersedes: z
      .strictObject({
        /** The lesser copy's identity (the transcript meter's format). */
        idempotencyKey: z
          .string()
          .regex(/^[0-9a-f]{12}-[0-9a-f]{32}$/, "the transcript meter's identity format"),
        input: tokens,
        output: tokens,
        cacheRead: tokens.default(0),
        cacheWrite: tokens.default(0),
        cacheWrite1h: tokens.optional(),
        webSearchRequests: z.number().int().min(1).max(10_000).optional(),
        /** Its recorded cost, integer pico-USD as a decimal string (as the event's own). */
        recordedCostPicoUsd: z
          .string()
          .regex(/^(0|[1-9][0-9]{0,18})$/, "an integer number of pico-USD as a decimal string")
          .nullish(),
        success: z.boolean().default(true),
      })
      .optional(),
    /**
     * Cost the bot recorded, USD as a JSON number (the older form; kept for older edges and
     * pushers); used per CREDITGATE_COST_MODE (recorded/auto), like transcript costs.
     * `recordedCostPicoUsd` is preferred when both are sent.
     */
    costUsd: z.number().min(0).max(1e6).nullish(),
    /**
     * The same recorded cost exactly: integer pico-USD (10^-12 USD) as a decimal string, at most
     * 10^18 ($1,000,000). Edge meters send this (never a float); when present it is the cost used
     * and `costUsd` is ignored.
     */
    recordedCostPicoUsd: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,18})$/, 'an integer number of pico-USD as a decimal string, e.g. "8100000000"')
      // zod runs every check: only a string of digits reaches BigInt.
      .refine(
        (v) => !/^[0-9]+$/.test(v) || BigInt(v) <= MAX_RECORDED_PICO,
        "must be at most 1000000000000000000 ($1,000,000)",
      )
      .nullish(),
    /**
     * `"provider-billed"` when the recorded cost (`recordedCostPicoUsd` or `costUsd`) is what the
     * provider actually charged (OpenClaw `usage.cost.totalOrigin`): then `auto` bills it instead
     * of the list price.
     */
    costOrigin: z.literal("provider-billed").nullish(),
    /** When the model call happened, epoch ms. */
    timestampMs: z.number().int().min(946_684_800_000).max(8_640_000_000_000),
    success: z.boolean(),
    /** Provider error text only, never chat content; truncated to 300 characters. */
    errorMessage: z.string().max(10_000).nullish(),
    sessionKey: z.string().min(1).max(500).nullish(),
    /** The provider's response id (OpenClaw `message.responseId`): part of the meter's identity. */
    responseId: z.string().min(1).max(500).nullish(),
    /** OpenClaw session id the call was read from (edge meters send it; stored on the usage row). */
    sessionId: z.string().min(1).max(200).nullish(),
    /**
     * Set by an edge meter (`creditgate meter --ship-to`): its id. Such an event must carry the
     * transcript meter's identity as its idempotencyKey, is billed exactly like a locally metered
     * call (no 30-day push window: the meter's own plausibility ranges apply, outliers are held),
     * and a repeat of a known identity with other attribution is a duplicate (first seen wins, as
     * in the local meter), not a conflict. Not part of the content hash.
     */
    edgeId: z
      .string()
      .regex(/^[A-Za-z0-9._:-]{1,100}$/, "letters, digits and . _ : - only, at most 100")
      .optional(),
  })
  .refine((e) => e.cacheWrite1h === undefined || e.cacheWrite1h <= e.cacheWrite, {
    message: "must not exceed cacheWrite",
    path: ["cacheWrite1h"],
  })
  .refine((e) => e.writtenInput === undefined || e.writtenInput >= e.input, {
    message: "must not be below input",
    path: ["writtenInput"],
  })
  .refine((e) => e.tierInputTotal === undefined || e.tierInputTotal >= e.input + e.cacheRead + e.cacheWrite, {
    message: "must not be below input + cacheRead + cacheWrite",
    path: ["tierInputTotal"],
  })
  .refine((e) => e.supersedes === undefined || e.edgeId !== undefined, {
    message: "only on an edge meter's event (edgeId)",
    path: ["supersedes"],
  })
  // a line with no readable time, or (since 2026-12-04 evening) one written in epoch seconds, or
  // (since 2026-12-05) one whose entry time was written to the whole second
  .refine(
    (e) =>
      e.identityEntryId === undefined ||
      (e.identityTsMs !== undefined ? e.identityTsMs < EPOCH_SECONDS_BELOW : e.timestampMs % 1000 === 0),
    {
      message:
        "only with identityTsMs 0 or in epoch seconds, or on a whole-second timestampMs (a line with no readable time, a seconds one, or a whole-second entry time)",
      path: ["identityEntryId"],
    },
  );
export type PushEvent = z.infer<typeof pushEventSchema>;

/** A pushed `inferenceGeo` as the meter reads a line's (`servedInferenceGeo`): `{ inferenceGeo }` or nothing. */
function inferenceGeoOf(v: string | undefined): { inferenceGeo?: "us" } {
  return servedInferenceGeo(v) === null ? {} : { inferenceGeo: "us" };
}

/** A pushed `serviceTier` as the meter reads a line's (`servedServiceTier`): flex / priority / batch, or nothing. */
function serviceTierOf(v: string | undefined): { serviceTier?: "flex" | "priority" | "batch" } {
  const tier = servedServiceTier(v);
  return tier === null || tier === "standard" ? {} : { serviceTier: tier };
}

/** A pushed `searchContextSize` as the meter reads a line's (`servedSearchContextSize`), or nothing. */
function searchContextSizeOf(v: string | undefined): { searchContextSize?: "low" | "medium" | "high" } {
  const size = servedSearchContextSize(v);
  return size === null ? {} : { searchContextSize: size };
}

/** A pushed `speed` as the meter reads a line's (`servedSpeed`): `{ speed }` or nothing. */
function speedOf(v: string | undefined): { speed?: "fast" | "standard" } {
  const speed = servedSpeed(v);
  return speed === null ? {} : { speed };
}

export const pushBatchSchema = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_PUSH_BATCH),
});

export type PushResult =
  | {
      index: number;
      idempotencyKey: string;
      status: "billed";
      dedupeKey: string;
      chargeMicroCredits: number;
      balanceMicroCredits: number;
      /** Set when the call was billed with a note on its row (e.g. a cost far under the list price). */
      anomaly?: string;
    }
  /** Already billed (or held) under this identity with the same content. */
  | { index: number; idempotencyKey: string; status: "duplicate"; dedupeKey: string }
  /** The same idempotency key was used before with DIFFERENT content: nothing billed. */
  | { index: number; idempotencyKey: string; status: "conflict"; dedupeKey: string; reason: string }
  /** Out of the plausible range (see src/meter/validate.ts): kept in the review queue, not billed. */
  | { index: number; idempotencyKey: string; status: "held"; dedupeKey: string; reason: string }
  | { index: number; idempotencyKey: string | null; status: "rejected"; reason: string };

export type PushStatus = PushResult["status"];

/** The meter's dedupe identity format (src/meter/identity.ts): 12 hex ms + '-' + 32 hex. */
const METER_KEY_RE = /^[0-9a-f]{12}-[0-9a-f]{32}$/;

/** A pushed event older than this (vs the server clock) is rejected: 30 days. */
export const PUSH_MAX_AGE_MS = 30 * 86_400_000;
/** A pushed event newer than the server clock by more than this is rejected: 10 minutes. */
export const PUSH_MAX_FUTURE_MS = 10 * 60_000;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The usage identity an ordinary push key bills under: `push:<sha256 of the JSON array
 * ["push-v2", apiKeyId, agentId, idempotencyKey]>`. JSON-array encoding is unambiguous (`a` +
 * `b:c` and `a:b` + `c` differ), the key is scoped to the API key and the agent that pushed it,
 * and the `push:` prefix can never equal a transcript call's identity (12 hex + '-' + 32 hex).
 */
export function pushIdentity(apiKeyId: string, agentId: string, idempotencyKey: string): string {
  return `${PUSH_IDENTITY_PREFIX}${sha256(JSON.stringify(["push-v2", apiKeyId, agentId, idempotencyKey]))}`;
}

/**
 * The transcript meter's identity of a pushed event, computed from its content. A push key in
 * the meter's format (the OpenClaw plugin sends exactly that) is accepted only when it EQUALS
 * this, so it can only ever name the call it describes: a transcript call and its push then
 * bill once between them, and no pushed key can pre-empt a different call.
 */
export function meterIdentityOf(e: PushEvent): string {
  return dedupeKey({
    provider: e.provider,
    model: e.model,
    messageTsMs: e.timestampMs,
    input: e.input,
    output: e.output,
    cacheRead: e.cacheRead,
    cacheWrite: e.cacheWrite,
    responseId: e.responseId ?? null,
    ...(e.writtenInput !== undefined ? { writtenInput: e.writtenInput } : {}),
    ...(e.identityInput !== undefined ? { identityInput: e.identityInput } : {}),
    ...(e.identityCacheRead !== undefined ? { identityCacheRead: e.identityCacheRead } : {}),
    ...(e.identityCacheWrite !== undefined ? { identityCacheWrite: e.identityCacheWrite } : {}),
    ...(e.identityTsMs !== undefined ? { identityTsMs: e.identityTsMs } : {}),
    ...(e.identityEntryId !== undefined ? { identityEntryId: e.identityEntryId } : {}),
    ...(e.identityOutput !== undefined ? { identityOutput: e.identityOutput } : {}),
  } as ParsedUsage);
}

/**
 * `ParsedUsage.supersedes` (the biller's `SupersededCopy` as JSON) of a pushed event's lesser
 * copy, in the terms the center reads the event itself in (usageEventOf): its total the sum of
 * its counts, its recorded cost the float of the exact pico-USD, no reasoning count.
 */
function supersededCopyOf(s: NonNullable<PushEvent["supersedes"]>): string {
  const pico = s.recordedCostPicoUsd;
  const c: SupersededCopy = {
    key: s.idempotencyKey,
    usage: {
      input: s.input,
      output: s.output,
      cacheRead: s.cacheRead,
      cacheWrite: s.cacheWrite,
      ...(s.cacheWrite1h ? { cacheWrite1h: s.cacheWrite1h } : {}),
      ...(s.webSearchRequests !== undefined ? { webSearchRequests: s.webSearchRequests } : {}),
      totalTokens: s.input + s.output + s.cacheRead + s.cacheWrite,
      reasoningTokens: null,
      recordedCostUsd: pico != null ? Number(pico) / 1e12 : null,
      isError: !s.success,
    },
  };
  return JSON.stringify(c);
}

/** sha256 of the event's canonical JSON (defaults applied, keys sorted). */
export function pushContentHash(e: PushEvent): string {
  const { edgeId: _edge, ...rec } = e as unknown as Record<string, unknown>;
  const sorted = Object.fromEntries(
    Object.keys(rec)
      .sort()
      .map((k) => [k, rec[k] ?? null]),
  );
  return sha256(JSON.stringify(sorted));
}

export interface PushIngesterOptions {
  pricer: Pricer;
  markup: Ratio;
  creditsPerUsd: Ratio;
  /** See BillerOptions.maxCallPicoUsd. @defaultValue $200 */
  maxCallPicoUsd?: bigint;
  nowMs?: () => number;
  onBilled?: (events: BilledEvent[]) => void;
  /** The process's ledger over `db` (createServices' `repos.ledger`); absent: one is built (standalone use: tests). */
  ledger?: Ledger;
}

/** A row of `push_identities`: the content hash of each pushed identity. */
interface PushIdentityRow {
  dedupe_key: string;
  content_sha256: string;
  api_key_id: string;
  created_at_ms: number;
}

/**
 * Keys per `push_identities` lookup and rows per insert: one statement (one round trip on
 * PostgreSQL) per this many events; a short last chunk is padded with its own first key.
 */
const IDENTITY_CHUNK = 100;

/** An event that passed the per-event checks: what the biller is given, with its content hash. */
interface Candidate {
  index: number;
  e: PushEvent;
  identity: string;
  hash: string;
  event: UsageEvent;
}

/**
 * Bills pushed usage through the meter's biller (same pricing, validation, review queue and
 * ledger rows), exactly once per identity.
 *
 * The whole request is ONE transaction (IMMEDIATE on SQLite; SERIALIZABLE, re-run whole after a
 * lost race, on PostgreSQL) and ONE `biller` batch: one `usage` ledger entry per account per
 * request (`usage-batch:<identity of the account's first billed event>`, as the local meter writes
 * one per account per batch), each usage row pointing at it with its own charge. Per event, in
 * order, before the transaction starts: schema; account id; the time window (`PUSH_MAX_AGE_MS`
 * back, `PUSH_MAX_FUTURE_MS` ahead; not for an edge meter's events); its identity
 * (`meterIdentityOf` for a meter-format key, which must match, else `pushIdentity`). A failed
 * check rejects that event alone (with its reason) and the rest go on. Then, against the
 * identities already pushed (`push_identities`) and the earlier events of the same request:
 * `duplicate` (same identity, same content — or any content from an edge meter: first seen
 * wins), `conflict` (same identity, different content); the rest go to the biller, which answers
 * `duplicate` (billed by the transcript meter, or already held), `held` (out of range: review
 * queue; an event whose billing throws is held with the error, never failing the others) or
 * `billed`. The content hash of every billed or held identity is remembered in the same
 * transaction, so a retried request answers `duplicate` event by event.
 *
 * A database failure (disk full, I/O, a race lost more often than PostgreSQL's retries allow)
 * fails the whole request: nothing of it is kept, and the sender retries it.
 */
export function createPushIngester(db: Db, opts: PushIngesterOptions) {
  const ledger = opts.ledger ?? createLedger(db);
  const now = opts.nowMs ?? Date.now;
  const billed: BilledEvent[] = [];
  const biller = createBiller(db, ledger, {
    pricer: opts.pricer,
    markup: opts.markup,
    creditsPerUsd: opts.creditsPerUsd,
    ...(opts.maxCallPicoUsd !== undefined ? { maxCallPicoUsd: opts.maxCallPicoUsd } : {}),
    ...(opts.nowMs ? { nowMs: opts.nowMs } : {}),
    onBilled: (events) => billed.push(...events),
  });
  const params = (n: number, one: string) => Array.from({ length: n }, () => one).join(", ");
  const knownHashes = db.prepare<string[], Pick<PushIdentityRow, "dedupe_key" | "content_sha256">>(
    `SELECT dedupe_key, content_sha256 FROM push_identities WHERE dedupe_key IN (${params(IDENTITY_CHUNK, "?")})`,
  );
  const rememberHashes = db.prepare<(string | number)[]>(
    `INSERT INTO push_identities (dedupe_key, content_sha256, api_key_id, created_at_ms) VALUES ${params(
      IDENTITY_CHUNK,
      "(?, ?, ?, ?)",
    )} ON CONFLICT(dedupe_key) DO NOTHING`,
  );

  /** identity → content hash, for the identities already pushed among `keys`. */
  function hashesOf(keys: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (let i = 0; i < keys.length; i += IDENTITY_CHUNK) {
      const chunk = keys.slice(i, i + IDENTITY_CHUNK);
      const pad = chunk[0] as string;
      while (chunk.length < IDENTITY_CHUNK) chunk.push(pad);
      for (const r of knownHashes.all(...chunk)) out.set(r.dedupe_key, r.content_sha256);
    }
    return out;
  }

  /** Remembers each candidate's content hash (padding repeats the chunk's first row: a no-op). */
  function remember(list: readonly Candidate[], apiKeyId: string, nowMs: number): void {
    for (let i = 0; i < list.length; i += IDENTITY_CHUNK) {
      const chunk = list.slice(i, i + IDENTITY_CHUNK);
      const pad = chunk[0] as Candidate;
      while (chunk.length < IDENTITY_CHUNK) chunk.push(pad);
      rememberHashes.run(...chunk.flatMap((c) => [c.identity, c.hash, apiKeyId, nowMs]));
    }
  }

  function usageEventOf(e: PushEvent, identity: string, sourceRef: string): UsageEvent {
    const pico = e.recordedCostPicoUsd;
    return {
      provider: e.provider,
      model: e.model,
      api: e.api ?? null,
      messageTsMs: e.timestampMs,
      responseId: e.responseId ?? null,
      input: e.input,
      output: e.output,
      cacheRead: e.cacheRead,
      cacheWrite: e.cacheWrite,
      totalTokens: e.input + e.output + e.cacheRead + e.cacheWrite,
      reasoningTokens: null,
      stopReason: e.success ? null : "error",
      isError: !e.success,
      errorMessage: e.errorMessage ? e.errorMessage.slice(0, 300) : null,
      // The exact integer wins; its float is only for the checks that take one.
      ...(pico != null
        ? { recordedCostUsd: Number(pico) / 1e12, recordedCostPicoUsd: pico }
        : { recordedCostUsd: e.costUsd ?? null }),
      ...(e.cacheWrite1h ? { cacheWrite1h: e.cacheWrite1h } : {}),
      ...(e.writtenInput !== undefined ? { writtenInput: e.writtenInput } : {}),
      ...(e.identityInput !== undefined ? { identityInput: e.identityInput } : {}),
      ...(e.identityCacheRead !== undefined ? { identityCacheRead: e.identityCacheRead } : {}),
      ...(e.identityCacheWrite !== undefined ? { identityCacheWrite: e.identityCacheWrite } : {}),
      ...(e.identityTsMs !== undefined ? { identityTsMs: e.identityTsMs } : {}),
      ...(e.identityEntryId !== undefined ? { identityEntryId: e.identityEntryId } : {}),
      // an entry time without a zone: the biller looks the call up in every host zone (twinBilled)
      ...(e.zonelessTime === true ? { zonelessTime: true as const } : {}),
      ...(e.countProblem !== undefined ? { countProblem: e.countProblem } : {}),
      ...(e.identityOutput !== undefined ? { identityOutput: e.identityOutput } : {}),
      ...(e.responseModel !== undefined && e.responseModel !== e.model
        ? { responseModel: e.responseModel }
        : {}),
      ...speedOf(e.speed),
      ...inferenceGeoOf(e.inferenceGeo),
      ...serviceTierOf(e.serviceTier),
      ...(e.webSearchRequests !== undefined ? { webSearchRequests: e.webSearchRequests } : {}),
      ...searchContextSizeOf(e.searchContextSize),
      ...(e.tierInputTotal !== undefined ? { tierInputTotal: e.tierInputTotal } : {}),
      ...(e.supersedes !== undefined ? { supersedes: supersededCopyOf(e.supersedes) } : {}),
      recordedCostOrigin:
        (pico ?? e.costUsd) != null && e.costOrigin === "provider-billed" ? "provider-billed" : null,
      agentId: e.agentId,
      sessionId: e.sessionId ?? null,
      sessionKey: e.sessionKey ?? null,
      accountId: e.userId,
      source: "push",
      sourceRef,
      dedupeKey: identity,
    };
  }

  /** The per-event checks; a candidate for the biller, or the event's `rejected` result. */
  function check(
    item: unknown,
    index: number,
    sourceRef: string,
    apiKeyId: string,
    nowMs: number,
  ): Candidate | (PushResult & { status: "rejected" }) {
    const rawKey = (item as { idempotencyKey?: unknown } | null)?.idempotencyKey;
    const keyForResult = typeof rawKey === "string" ? rawKey.slice(0, 200) : null;
    const parsed = pushEventSchema.safeParse(item);
    if (!parsed.success) {
      return {
        index,
        idempotencyKey: keyForResult,
        status: "rejected",
        reason: formatZodIssues(parsed.error.issues, "event"),
      } satisfies PushResult;
    }
    const e = parsed.data;
    const rejected = (reason: string) =>
      ({ index, idempotencyKey: e.idempotencyKey, status: "rejected", reason }) satisfies PushResult;
    try {
      assertAccountId(e.userId);
    } catch (err) {
      return rejected((err as Error).message);
    }
    const fromEdge = e.edgeId !== undefined;
    if (fromEdge && !METER_KEY_RE.test(e.idempotencyKey))
      return rejected("an edge meter's event (edgeId) must carry the call's identity as its idempotencyKey");
    if (
      !fromEdge &&
      (e.timestampMs < nowMs - PUSH_MAX_AGE_MS || e.timestampMs > nowMs + PUSH_MAX_FUTURE_MS)
    ) {
      return rejected(
        `timestampMs ${e.timestampMs} is outside the push window (server time − 30 days … + 10 minutes)`,
      );
    }
    let identity: string;
    if (METER_KEY_RE.test(e.idempotencyKey)) {
      identity = meterIdentityOf(e);
      if (identity !== e.idempotencyKey)
        return rejected(
          "idempotencyKey has the transcript meter's identity format but is not this event's identity (provider, model, timestampMs, token counts, responseId)",
        );
    } else identity = pushIdentity(apiKeyId, e.agentId, e.idempotencyKey);
    const ref = fromEdge ? `edge:${e.edgeId}:${sourceRef}#${index}` : `${sourceRef}#${index}`;
    return { index, e, identity, hash: pushContentHash(e), event: usageEventOf(e, identity, ref) };
  }

  const CONFLICT = "this idempotencyKey was already used with different content; nothing billed";
  /** `duplicate`, or `conflict` when the content differs (an edge meter's repeat is always a duplicate). */
  const repeatOf = (c: Candidate, knownHash: string): PushResult => {
    const base = { index: c.index, idempotencyKey: c.e.idempotencyKey, dedupeKey: c.identity };
    return knownHash === c.hash || c.e.edgeId !== undefined
      ? { ...base, status: "duplicate" }
      : { ...base, status: "conflict", reason: CONFLICT };
  };

  /**
   * The write: `checked` events (the others already have their `rejected` result in `results`).
   * Fills in `results` for each of them; PostgreSQL may run it more than once (after a lost race).
   */
  const batchTx = db.transaction(
    (checked: readonly Candidate[], results: PushResult[], apiKeyId: string, nowMs: number): PushResult[] => {
      billed.length = 0; // PostgreSQL runs this again after a lost race: start clean
      const known = hashesOf([...new Set(checked.map((c) => c.identity))]);
      const fresh: Candidate[] = [];
      const firstOf = new Map<string, Candidate>();
      const repeats: { c: Candidate; first: Candidate }[] = [];
      for (const c of checked) {
        const seen = known.get(c.identity);
        const first = firstOf.get(c.identity);
        if (seen !== undefined) results[c.index] = repeatOf(c, seen);
        else if (first) repeats.push({ c, first });
        else {
          firstOf.set(c.identity, c);
          fresh.push(c);
        }
      }
      if (fresh.length === 0) return fillRepeats(results, repeats, new Map());

      const { result, outcomes } = biller.billWithOutcomes({
        events: fresh.map((c) => c.event),
        rejects: [],
        sessions: [],
        stats: {},
      });
      const billedByKey = new Map(billed.map((b) => [b.dedupeKey, b]));
      const heldReason = new Map(result.heldReasons.map((h) => [h.sourceRef, h.reason]));
      const anomalyOf = new Map(result.anomalies.map((a) => [a.sourceRef, a.reason]));
      const outcomeOf = new Map<string, string>();
      const toRemember: Candidate[] = [];
      fresh.forEach((c, i) => {
        const outcome = outcomes[i];
        const base = { index: c.index, idempotencyKey: c.e.idempotencyKey, dedupeKey: c.identity };
        outcomeOf.set(c.identity, outcome ?? "duplicate");
        // Billed by the transcript meter already (it stores no content hash): a duplicate.
        if (outcome !== "billed" && outcome !== "held") {
          results[c.index] = { ...base, status: "duplicate" };
          return;
        }
        toRemember.push(c);
        if (outcome === "held") {
          results[c.index] = { ...base, status: "held", reason: heldReason.get(c.event.sourceRef) ?? "held" };
          return;
        }
        const b = billedByKey.get(c.identity);
        if (!b) throw new Error("biller reported billed without an event");
        const anomaly = anomalyOf.get(c.event.sourceRef);
        results[c.index] = {
          ...base,
          status: "billed",
          chargeMicroCredits: b.chargeMicroCredits,
          balanceMicroCredits: b.balanceMicroCredits,
          ...(anomaly ? { anomaly } : {}),
        };
      });
      remember(toRemember, apiKeyId, nowMs);
      return fillRepeats(results, repeats, outcomeOf);
    },
  );

  /**
   * A repeat of an identity earlier in the same request: compared with that event's content when
   * it was billed or held; a duplicate when the biller found it billed before (no hash stored).
   */
  function fillRepeats(
    results: PushResult[],
    repeats: readonly { c: Candidate; first: Candidate }[],
    outcomeOf: ReadonlyMap<string, string>,
  ): PushResult[] {
    for (const { c, first } of repeats) {
      const o = outcomeOf.get(first.identity);
      results[c.index] =
        o === "billed" || o === "held"
          ? repeatOf(c, first.hash)
          : {
              index: c.index,
              idempotencyKey: c.e.idempotencyKey,
              dedupeKey: c.identity,
              status: "duplicate",
            };
    }
    return results;
  }

  return {
    /**
     * Bills a batch (already checked to hold 1..MAX_PUSH_BATCH items) in one transaction; one
     * result per item, in order. `sourceRef` says who pushed it (stored on each usage row), e.g.
     * `push:<keyId>:<requestId>`; `apiKeyId` scopes ordinary idempotency keys (see `pushIdentity`).
     * @throws the database's error when the transaction itself fails (nothing is kept).
     */
    ingest(raw: unknown[], sourceRef: string, apiKeyId = "default"): PushResult[] {
      billed.length = 0;
      // The per-event checks need no database: done before the write lock is taken.
      const nowMs = now();
      const results: PushResult[] = new Array(raw.length);
      const checked: Candidate[] = [];
      raw.forEach((item, index) => {
        const c = check(item, index, sourceRef, apiKeyId, nowMs);
        if ("status" in c) results[index] = c;
        else checked.push(c);
      });
      // (statement journals in memory, as the transcript meter's batches: see createBiller)
      if (checked.length > 0)
        biller.withJournalsInMemory(() => batchTx.immediate(checked, results, apiKeyId, nowMs));
      const done = billed.splice(0);
      if (done.length > 0) opts.onBilled?.(done);
      return results;
    },
  };
}

export type PushIngester = ReturnType<typeof createPushIngester>;
