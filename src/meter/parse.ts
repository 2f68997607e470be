import { normalizeAgentId } from "../agent-id.js";
import { usdFloatToPico } from "../money.js";
import { MAX_ENTRY_ID_CHARS } from "./identity.js";
import { webSearchFeeProvider } from "./server-tools.js";
import type { ParsedUsage, UsageEvent, UsageSource } from "./types.js";

/**
 * The one transcript-line parser, shared by the JSONL and SQLite sources (their JSON events
 * have the same shape). Pure: no I/O.
 *
 * A line is billable when it is `{type:"message", message:{role:"assistant", usage:{...}}}`
 * with non-zero token usage and a provider that is not OpenClaw itself (`provider:"openclaw"`
 * marks synthetic lines: `delivery-mirror`, `gateway-injected`).
 */
export type LineResult =
  | {
      kind: "usage";
      usage: ParsedUsage;
      /**
       * When the reply was written: the entry's ISO `timestamp` in epoch ms, or null. Not
       * `message.timestamp`, which is when the call started (see `latencyMs`).
       */
      writtenAtMs: number | null;
      /** `message.content` as found (for a reply preview; never logged). */
      content: unknown;
      /** A negative token count was read as 0 (see {@link tokenCount}). */
      clamped: boolean;
      /**
       * The entry's own `id` (OpenClaw's entry id, unique within its transcript), or null (absent,
       * not text, longer than MAX_ENTRY_ID_CHARS): a later line of the same transcript with the
       * same id is the same message written again (`BatchBuilder`'s same-entry rule).
       */
      entryId: string | null;
    }
  /** A user message line: when it was sent (`message.timestamp`, else the entry's ISO time) and its content. */
  | { kind: "user"; atMs: number | null; content: unknown; source: TurnSource | null }
  /** Valid JSON that is not a billable call (user line, header, zero-usage error, synthetic). */
  | { kind: "skip"; why: SkipReason }
  /** Not JSON, or a message line with unusable usage fields. */
  | { kind: "malformed"; reason: string };

export type SkipReason = "not-usage" | "synthetic" | "zero-usage";

/**
 * Who caused a user line OpenClaw marked as not the end user's (`message.provenance`, OpenClaw's
 * `applyInputProvenanceToUserMessage`, src/sessions/input-provenance.ts): the operator's automation
 * (`kind: "internal_system"`, `sourceTool` `cron` or `heartbeat`: a cron job or heartbeat run in the
 * session), or another session (`kind: "inter_session"`, `sourceTool: "sessions_send"`: that
 * session's agent wrote into this one, `sourceSessionKey` names it; null when the line does not).
 * `internal` for the other marked lines: a sub-agent's completion announce or an exec completion
 * (the session's own work), a restart recovery (its interrupted turn). Null for the user's own line.
 */
export type TurnSource =
  | { kind: "operator" }
  | { kind: "session"; key: string | null }
  /**
   * Another line OpenClaw marked as not the user's typing (a sub-agent's completion announce, an
   * exec completion, a restart recovery): the session's own work, billed to its payer, that does
   * not end an agent-to-agent exchange the user's turn started (`TurnOrigin.sent` stays).
   */
  | { kind: "internal" };

const OPERATOR_TOOLS: ReadonlySet<string> = new Set(["cron", "heartbeat"]);
const INTERNAL: TurnSource = { kind: "internal" };

function turnSourceOf(p: unknown): TurnSource | null {
  if (typeof p !== "object" || p === null) return null;
  const { kind: rawKind, sourceTool, sourceSessionKey } = p as Record<string, unknown>;
  const kind = typeof rawKind === "string" ? rawKind.trim().toLowerCase() : "";
  const tool = typeof sourceTool === "string" ? sourceTool.trim().toLowerCase() : "";
  if (kind === "internal_system") return OPERATOR_TOOLS.has(tool) ? { kind: "operator" } : INTERNAL;
  if (kind !== "inter_session") return null;
  if (tool !== "sessions_send") return INTERNAL;
  const key = typeof sourceSessionKey === "string" ? sourceSessionKey.trim().toLowerCase() : "";
  return { kind: "session", key: key || null };
}

/**
 * The sessions an assistant message's calls of OpenClaw's `sessions_send` tool write to: each
 * call's `sessionKey` argument (trimmed, lower-cased; `arguments`, or `input` as Anthropic names
 * it, an object or its JSON text); for a call naming only `agentId`, that agent's main session
 * `agent:<agentId>:main` (OpenClaw's `resolveConfiguredAgentMainSessionKey`, sessions-send-tool.ts:
 * `toAgentStoreSessionKey` with `requestKey: "main"`); `*` for a call that names its target
 * otherwise (`label`). Empty when the message calls no `sessions_send`. Before 2026-12-03 an
 * `agentId`-only call was `*`, so any sender's turn after it stayed the user's (case
 * `sessions-send-by-agent-id`).
 */
export function sessionsSendTargets(content: unknown): string[] {
  if (!Array.isArray(content)) return NO_TARGETS;
  let out: string[] | null = null;
  for (const c of content) {
    if (typeof c !== "object" || c === null || (c as { name?: unknown }).name !== "sessions_send") continue;
    let args = (c as { arguments?: unknown; input?: unknown }).arguments ?? (c as { input?: unknown }).input;
    if (typeof args === "string") {
      try {
        args = JSON.parse(args);
      } catch {
        args = null;
      }
    }
    const a = typeof args === "object" && args !== null ? (args as Record<string, unknown>) : {};
    const str = (v: unknown) => (typeof v === "string" ? v.trim().toLowerCase() : "");
    const k = str(a.sessionKey);
    const agent = k || str(a.label) ? "" : agentIdOf(str(a.agentId));
    if (out === null) out = [];
    out.push(k || (agent ? `agent:${agent}:main` : "*"));
  }
  return out ?? NO_TARGETS;
}
const NO_TARGETS: string[] = [];

/**
 * An agent id as OpenClaw normalizes it (`normalizeAgentId`, src/routing/session-key.ts), from a
 * trimmed lower-cased value: "" when none is given; one with no valid character left is
 * OpenClaw's default agent, `main` (before 2026-12-03 it was read as naming no agent: a send to
 * any session).
 */
function agentIdOf(v: string): string {
  return v ? normalizeAgentId(v) : "";
}

export const USAGE_MARK = Buffer.from('"usage"');
export const ASSISTANT_MARK = Buffer.from('"assistant"');
/**
 * A user message line contains this (compact JSON, as OpenClaw writes it). Inside a JSON string
 * the quotes would be escaped, so chat text cannot fake it; a tool call's argument object can,
 * which is why a candidate is parsed before it counts.
 */
export const USER_MARK = Buffer.from('"role":"user"');
export const USER_MARK_TEXT = '"role":"user"';
/**
 * The value of a user line's role, as a token: with {@link roleUserBefore}, the user mark with any
 * white space JSON allows around its colon (`"role": "user"` as Python's `json.dumps` writes it,
 * `"role" : "user"`, a tab). Before 2026-12-03 only the compact form was looked for, so in a
 * transcript a script rewrote a call without a time of its own was held instead of dated by its
 * turn's user message.
 */
export const USER_WORD = Buffer.from('"user"');
const USER_WORD_TEXT = '"user"';
const LOOSE_USER_MARK = /"role"[ \t\r\n]*:[ \t\r\n]*"user"/;

/** JSON white space (RFC 8259): space, tab, line feed, carriage return. */
function isJsonSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** Whether the `"user"` token at `at` in `data` is the value of a `"role"` key (white space allowed around the colon). */
export function roleUserBefore(data: Buffer, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && isJsonSpace(data[i])) i--;
  if (i < 0 || data[i] !== 0x3a) return false; // :
  i--;
  while (i >= 0 && isJsonSpace(data[i])) i--;
  return (
    i >= 5 &&
    data[i] === 0x22 && // "
    data[i - 1] === 0x65 && // e
    data[i - 2] === 0x6c && // l
    data[i - 3] === 0x6f && // o
    data[i - 4] === 0x72 && // r
    data[i - 5] === 0x22 // "
  );
}

/** Whether a line (bytes) holds a user mark, compact ({@link USER_MARK}) or with white space around its colon. */
export function hasUserMark(line: Buffer): boolean {
  if (line.includes(USER_MARK)) return true;
  for (let i = line.indexOf(USER_WORD); i !== -1; i = line.indexOf(USER_WORD, i + 1))
    if (roleUserBefore(line, i)) return true;
  return false;
}

/** {@link hasUserMark} for a line as text, searched from `from` (UTF-16 index). */
export function textHasUserMark(text: string, from = 0): boolean {
  if (text.includes(USER_MARK_TEXT, from)) return true;
  return text.includes(USER_WORD_TEXT, from) && LOOSE_USER_MARK.test(from === 0 ? text : text.slice(from));
}

/**
 * Latencies above this (1 hour, in ms) are not believed: a clock jump, a restored backup, or a
 * turn that was left waiting. Stored as null.
 */
export const MAX_LATENCY_MS = 3_600_000;

/**
 * Latency of a reply in ms: `replyAtMs − userAtMs`, or null when either is unknown, the
 * difference is negative (out-of-order clocks) or above {@link MAX_LATENCY_MS}.
 */
export function latencyMs(userAtMs: number | null, replyAtMs: number | null): number | null {
  if (userAtMs === null || replyAtMs === null) return null;
  const d = replyAtMs - userAtMs;
  return Number.isSafeInteger(d) && d >= 0 && d <= MAX_LATENCY_MS ? d : null;
}

/**
 * Cheap byte-level pre-filter: a line that contains neither `"usage"` nor `"assistant"` cannot
 * be a billable call, so it is never decoded or JSON-parsed. This is what lets the meter read
 * faster than a naive pass that parses every line.
 */
export function mayBeUsage(line: Buffer): boolean {
  return line.includes(USAGE_MARK) && line.includes(ASSISTANT_MARK);
}

/** The reject reason for a line the pre-filter kept that `JSON.parse` refuses. */
export const INVALID_JSON_REASON = "invalid JSON";

/** The reject reason for a line that cannot be complete JSON (cut off mid-write or mid-copy). */
export const TRUNCATED_REASON = "truncated line (does not end with })";

const CLOSE_BRACE = 0x7d;

/**
 * Whether the bytes `[start, end)` of `buf` end like a JSON object: the last byte that is not JSON
 * whitespace (space, tab, CR, LF) is `}`. A line that fails this cannot be complete JSON and is reported as
 * malformed (`TRUNCATED_REASON`) even when `mayBeUsage` would skip it, so a cut-off line is
 * counted, not silently dropped. Only the line's last bytes are looked at (no scan, no decode).
 * Defaults: the whole buffer.
 */
export function endsLikeObject(buf: Uint8Array, start = 0, end = buf.length): boolean {
  let e = end - 1;
  while (e >= start && (buf[e] === 0x20 || buf[e] === 0x09 || buf[e] === 0x0d || buf[e] === 0x0a)) e--;
  return e >= start && buf[e] === CLOSE_BRACE;
}

/**
 * Where the JSON object that begins at `data[s]` (a `{`) ends, just past its closing brace, when it
 * closes before `end`; else -1 (a cut-off line). Strings and their escapes are skipped, so a brace
 * in a text is not counted. Only for a line that does not end with `}`: an entry with text after
 * it on the same line — a trailing comma or semicolon (lines taken from a JSON array, a script's
 * output), Windows' end-of-file mark Ctrl-Z (0x1A, `copy /a`, `type … >>`), a comment — whose call
 * was rejected with the line as truncated and never billed (before 2026-12-04, case
 * `entry-with-trailing-text`).
 */
export function entryEnd(data: Uint8Array, s: number, end: number): number {
  let depth = 0;
  let inString = false;
  for (let i = s; i < end; i++) {
    const c = data[i];
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next byte is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === CLOSE_BRACE || c === 0x5d) {
      depth--;
      if (depth === 0) return c === CLOSE_BRACE ? i + 1 : -1;
      if (depth < 0) return -1;
    }
  }
  return -1;
}

/**
 * Whether `data[from, end)` after an entry is only separators a writer or a copy leaves behind
 * (white space, `,`, `;`, Ctrl-Z): taken silently; anything else after the entry is reported.
 */
export function onlyJunk(data: Uint8Array, from: number, end: number): boolean {
  for (let i = from; i < end; i++) {
    const c = data[i];
    if (
      c !== 0x20 &&
      c !== 0x09 &&
      c !== 0x0d &&
      c !== 0x0b &&
      c !== 0x0c &&
      c !== 0x2c &&
      c !== 0x3b &&
      c !== 0x1a
    )
      return false;
  }
  return true;
}

/** `endsLikeObject` for a line already decoded to a string. */
export function textEndsLikeObject(text: string): boolean {
  let e = text.length - 1;
  while (e >= 0) {
    const c = text.charCodeAt(e);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return c === CLOSE_BRACE;
    e--;
  }
  return false;
}

/**
 * The event the biller receives for a parsed call, as a plain object literal with every field
 * listed (no spread: building events is on the meter's hot path, and a literal of one fixed
 * shape is many times cheaper). Optional `ParsedUsage` fields (`cacheWrite1h`,
 * `recordedCostOrigin`) are always present on the event (`undefined` when the call lacks them;
 * `parseEntry` sets both); `dedupeKey` is left out (derived from the call).
 */
export function usageEvent(
  u: ParsedUsage,
  agentId: string,
  sessionId: string | null,
  sessionKey: string | null,
  accountId: string,
  source: UsageSource,
  sourceRef: string,
  latency: number | null = null,
  userPreview: string | null = null,
  replyPreview: string | null = null,
): UsageEvent {
  const e: UsageEvent = {
    provider: u.provider,
    model: u.model,
    api: u.api,
    messageTsMs: u.messageTsMs,
    responseId: u.responseId,
    input: u.input,
    output: u.output,
    cacheRead: u.cacheRead,
    cacheWrite: u.cacheWrite,
    cacheWrite1h: u.cacheWrite1h,
    totalTokens: u.totalTokens,
    reasoningTokens: u.reasoningTokens,
    stopReason: u.stopReason,
    isError: u.isError,
    errorMessage: u.errorMessage,
    recordedCostUsd: u.recordedCostUsd,
    recordedCostOrigin: u.recordedCostOrigin,
    agentId,
    sessionId,
    sessionKey,
    accountId,
    source,
    sourceRef,
    latencyMs: latency,
    userPreview,
    replyPreview,
  };
  // Only on the rare corrected call, so every other event keeps the one shape (event-columns.ts
  // packs that shape; an event with this key is sent as an object).
  if (u.identityTsMs !== undefined) e.identityTsMs = u.identityTsMs;
  if (u.identityEntryId !== undefined) e.identityEntryId = u.identityEntryId;
  if (u.zonelessTime === true) e.zonelessTime = true;
  if (u.countProblem !== undefined) e.countProblem = u.countProblem;
  if (u.writtenInput !== undefined) e.writtenInput = u.writtenInput;
  if (u.identityInput !== undefined) e.identityInput = u.identityInput;
  if (u.identityCacheRead !== undefined) e.identityCacheRead = u.identityCacheRead;
  if (u.identityCacheWrite !== undefined) e.identityCacheWrite = u.identityCacheWrite;
  if (u.identityOutput !== undefined) e.identityOutput = u.identityOutput;
  if (u.responseModel !== undefined) e.responseModel = u.responseModel;
  if (u.speed !== undefined) e.speed = u.speed;
  if (u.inferenceGeo !== undefined) e.inferenceGeo = u.inferenceGeo;
  if (u.serviceTier !== undefined) e.serviceTier = u.serviceTier;
  if (u.webSearchRequests !== undefined) e.webSearchRequests = u.webSearchRequests;
  if (u.searchContextSize !== undefined) e.searchContextSize = u.searchContextSize;
  if (u.tierInputTotal !== undefined) e.tierInputTotal = u.tierInputTotal;
  if (u.supersedes !== undefined) e.supersedes = u.supersedes;
  return e;
}

const MAX_ERROR_CHARS = 300;

/**
 * A usage object's `speed` as Anthropic writes it, `"fast"` or `"standard"`
 * (https://platform.claude.com/docs/en/build-with-claude/fast-mode: the response's `usage.speed`
 * reports the speed the request ran at), compared trimmed and case-insensitively; null for any
 * other value or none.
 */
export function servedSpeed(v: unknown): "fast" | "standard" | null {
  if (typeof v !== "string") return null;
  const s = v.trim().toLowerCase();
  return s === "fast" || s === "standard" ? s : null;
}
/**
 * A usage object's `inference_geo` as Anthropic writes it (the response's `usage.inference_geo`,
 * where the request's inference ran: https://platform.claude.com/docs/en/manage-claude/data-residency),
 * compared trimmed and case-insensitively: `"us"` for US-only inference, null for `"global"`, any
 * other value or none.
 */
export function servedInferenceGeo(v: unknown): "us" | null {
  return typeof v === "string" && v.trim().toLowerCase() === "us" ? "us" : null;
}
/**
 * A line's service tier as the provider wrote it (`ParsedUsage.serviceTier`): OpenAI's response
 * `service_tier` (https://platform.openai.com/docs/api-reference/responses/object: "auto",
 * "default", "flex", "scale", "priority"; the response carries the tier actually used) or
 * Anthropic's `usage.service_tier` (https://docs.anthropic.com/en/api/messages: "standard",
 * "priority", "batch"), trimmed and case-insensitively. `default`, `standard`, `scale` and `auto`
 * are the standard price; null for any other value or none. `fast` is `priority`: OpenAI renamed
 * Priority processing Fast mode on 2026-07-30 and takes and reports either name for the same tier
 * (https://developers.openai.com/api/docs/guides/fast-mode: "You can use either
 * `service_tier: "priority"` or `service_tier: "fast"`"; LiteLLM's calls "each returned a Fast
 * processing tier", https://docs.litellm.ai/docs/providers/openai/ultrafast). Before 2026-12-05 a
 * line or push saying `fast` was billed at the standard price.
 */
export function servedServiceTier(v: unknown): "flex" | "priority" | "batch" | "standard" | null {
  if (typeof v !== "string") return null;
  const t = v.trim().toLowerCase();
  if (t === "flex" || t === "priority" || t === "batch") return t;
  if (t === "fast") return "priority";
  return t === "default" || t === "standard" || t === "scale" || t === "auto" ? "standard" : null;
}
/**
 * A usage object's `search_context_size` as Perplexity writes it (the Sonar response's
 * `usage.search_context_size`, https://docs.perplexity.ai/getting-started/pricing: the request fee
 * "varies by search context size"), trimmed and case-insensitively: `"low"`, `"medium"` or
 * `"high"`; null for any other value or none.
 */
export function servedSearchContextSize(v: unknown): "low" | "medium" | "high" | null {
  if (typeof v !== "string") return null;
  const s = v.trim().toLowerCase();
  return s === "low" || s === "medium" || s === "high" ? s : null;
}
/**
 * The service tier of a Gemini API / Vertex AI call from its `usageMetadata.trafficType` (the
 * traffic the request was processed with: https://docs.cloud.google.com/java/docs/reference/google-cloud-aiplatform/latest/com.google.cloud.aiplatform.v1.GenerateContentResponse.UsageMetadata.TrafficType):
 * `ON_DEMAND_FLEX` (and `FLEX`) is flex, `ON_DEMAND_PRIORITY` priority, `BATCH` batch, `ON_DEMAND`
 * standard; null for anything else (`PROVISIONED_THROUGHPUT`, none). BerriAI/litellm#37647: an
 * `ON_DEMAND_FLEX` call billed at the standard rate, twice what Google charged.
 */
export function servedTrafficType(v: unknown): "flex" | "priority" | "batch" | "standard" | null {
  if (typeof v !== "string") return null;
  const t = v.trim().toUpperCase();
  if (t === "ON_DEMAND_FLEX" || t === "FLEX") return "flex";
  if (t === "ON_DEMAND_PRIORITY") return "priority";
  if (t === "BATCH") return "batch";
  return t === "ON_DEMAND" ? "standard" : null;
}
/** The longest `responseModel` kept (a pushed `model` is at most 200 characters too). */
const MAX_MODEL_CHARS = 200;

/**
 * A number written as text, the way some providers and relays serialize token counts
 * (`"prompt_tokens": "951"`): optional sign, digits, optional fraction and exponent, surrounding
 * spaces allowed. Nothing else (hex, `Infinity`, empty) is a number here.
 */
const NUMBER_TEXT = /^\s*-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*$/;

/**
 * Keys of a usage object that are not billed token counts (amounts of money, flags, words, OpenClaw's
 * context-window snapshot): never touched.
 */
const NOT_COUNTS = new Set([
  "cost",
  "cost_details",
  "costDetails",
  "speed",
  "inference_geo",
  "inferenceGeo",
  "service_tier",
  "serviceTier",
  "trafficType",
  "traffic_type",
  "is_byok",
  "isByok",
  "contextUsage",
  "cacheTelemetry",
]);

/**
 * A token count as a whole number: a fractional count rounded to the nearest token (half up), and
 * a count written as decimal text read as that number (rounded likewise); anything else as it is.
 *
 * Counts are not always whole numbers of type number on a transcript line. OpenRouter reports
 * fractional token counts for some models (image generation: `output_tokens` 14417.92,
 * BerriAI/litellm#28024), estimators report fractions (a Bedrock client's `completion_tokens` 2.25,
 * philschmid/easyllm#40), and pi-ai writes what the provider sent (`output = completion_tokens +
 * reasoning`), so such a count reaches OpenClaw's `usage`; OpenAI-compatible providers have sent
 * counts as numeric strings (openclaw/openclaw#43184, DashScope). OpenClaw's own usage report
 * takes any finite number. Before 2026-12-03 creditgate rejected such a line as malformed
 * ("usage token counts must be integers"): the call was never billed.
 */
function wholeCount(v: unknown): unknown {
  // `|| 0`: -0.5 rounds to -0, which is 0 tokens
  if (typeof v === "number") return Number.isFinite(v) && !Number.isInteger(v) ? Math.round(v) || 0 : v;
  if (typeof v === "string" && NUMBER_TEXT.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? Math.round(n) || 0 : v;
  }
  return v;
}

/**
 * `usage` with every token count as a whole number ({@link wholeCount}): its own values and those
 * of its nested objects (`prompt_tokens_details`, `cache_creation`, `timings`, … two levels deep),
 * never its cost (`NOT_COUNTS`). The same object when nothing changes (every count on a line
 * OpenClaw writes is already whole), else a copy.
 */
function wholeCounts(usage: Record<string, unknown>, depth: number): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k in usage) {
    if (NOT_COUNTS.has(k)) continue;
    const v = usage[k];
    let w: unknown;
    if (typeof v === "object") {
      if (v === null || Array.isArray(v) || depth >= 2) continue;
      w = wholeCounts(v as Record<string, unknown>, depth + 1);
    } else w = wholeCount(v);
    if (w !== v) {
      out ??= { ...usage };
      out[k] = w;
    }
  }
  return out ?? usage;
}

function count(v: unknown): number | null {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) return null;
  return v;
}

/**
 * A billed token count (`input`, `output`, `cacheRead`, `cacheWrite`, `cacheWrite1h`): as
 * {@link count}, but a negative safe integer is returned as -1, for the caller to bill as 0.
 * pi-ai's OpenAI-compatible providers write `input = prompt_tokens - cached_tokens`, and relays
 * that report more cached than prompt tokens make it negative (openclaw/openclaw#30765, #25242);
 * OpenClaw clamps such counts to 0 in its own usage reports (#31211, #26153) but writes the
 * transcript as it was. The call happened: its other counts are billed, and it is counted
 * (`stats.clamped`) rather than dropped as malformed. An unsafe or non-numeric count is held (readCount).
 * A negative `input` beside cache reads is billed as the prompt count instead (`uncachedPrompt`).
 */
function tokenCount(v: unknown): number | null {
  if (typeof v === "number" && v < 0 && Number.isSafeInteger(v)) return -1;
  return count(v);
}

/**
 * A billed token count as {@link tokenCount}, or 0 with the first such problem noted in `bad` when
 * the value is there but no count: a number past 2^53 or infinite (a writer's unsigned underflow
 * 18446744073709551615, `1e400` which JSON reads as Infinity, 1e308), text that is no decimal number
 * (`"1,234"`, `"0x64"`), a boolean, an array or an object. The line is still a call the provider
 * may have charged for: it is held for review with the reason (validate.ts `inputProblem`), its
 * other fields read as usual, never billed automatically. Before 2026-12-03 such a line was
 * rejected as malformed ("usage token counts must be integers"): the call was dropped, seen only
 * as a count of malformed lines, while a count of 10^15 on the same line was held (case
 * `test/cases/unreadable-token-count-held`; a corrupt log's oversized counts: chattymin/PokeTokenBar#306).
 */
function readCount(name: string, v: unknown, bad: { problem: string | null }): number {
  const c = tokenCount(v);
  if (c !== null) return c;
  bad.problem ??= `${name} token count ${countText(v)} unreadable: not a whole number within 2^53 (not priced)`;
  return 0;
}

/**
 * The provider or model a call is read under when its line names none (an empty string, absent,
 * or not text): such a call is held for review (parseEntryWith), never priced by the table.
 */
export const UNNAMED = "(unnamed)";

/** A provider or model field's value as a review reason shows it. */
function nameText(v: unknown): string {
  if (v === undefined) return "absent";
  if (v === null) return "null";
  return typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : countText(v);
}

/** A short, single-line description of an unreadable count for a review reason. */
function countText(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "boolean") return String(v);
  return Array.isArray(v) ? "(an array)" : `(${typeof v})`;
}

/** A nested object's field, or undefined. */
function field(o: unknown, k: string): unknown {
  return typeof o === "object" && o !== null ? (o as Record<string, unknown>)[k] : undefined;
}

/**
 * Whether `model` is one whose vendor always counts its reasoning INSIDE the completion count:
 * Anthropic's Claude (thinking is part of `output_tokens`) and OpenAI's GPT / o-series / Codex
 * (`completion_tokens_details.reasoning_tokens` is a breakdown). A total of prompt + completion +
 * reasoning on such a call is a relay's or gateway's total that added the reasoning a second time
 * (theopenco/llmgateway#3486: a Vertex Anthropic call "prompt 64 + completion 135 + reasoning 78 →
 * total_tokens: 277" when the 135 already held the 78; anomalyco/opencode#24268), not xAI's
 * reasoning outside the completion (see `aliasCounts`): the completion is billed as written. Before
 * 2026-12-04 the reasoning was billed twice on such lines. Only a reasoning count no greater than
 * the completion can be inside it: a relay that writes the visible completion alone and a total
 * with the reasoning (Clarifai/clarifai-python#978: o1/o3 "`completion_tokens` only reflects
 * visible output", total > prompt + completion) has its reasoning billed as output (since
 * 2026-12-04; before, only the visible completion, e.g. 162 of 1,186 output tokens).
 */
function reasoningInsideOutput(model: unknown): boolean {
  if (typeof model !== "string") return false;
  const m = model.trim().toLowerCase();
  if (m.includes("claude")) return true;
  // the id after a route (`openai/gpt-5`) or a Bedrock region and vendor (`us.openai.gpt-oss-…`)
  const last = m.slice(m.lastIndexOf("/") + 1).replace(/^(?:[a-z]{2,4}\.)?openai\./, "");
  return /^(?:gpt-|chatgpt|codex|o[1-9](?:$|[-:]))/.test(last);
}

/**
 * Token counts of a `usage` object written under the providers' own names instead of pi-ai's
 * (`input`/`output`/`cacheRead`/`cacheWrite`): Anthropic's `input_tokens` +
 * `cache_read_input_tokens` + `cache_creation_input_tokens` (with its 1-hour part in
 * `cache_creation.ephemeral_1h_input_tokens`), OpenAI's `prompt_tokens`/`completion_tokens` and
 * Responses `input_tokens`/`output_tokens`, camelCase SDK names, llama.cpp `prompt_n`/`predicted_n`.
 * Read in the same order as OpenClaw's own `normalizeUsage` (src/agents/usage.ts), which its usage
 * reports apply to every transcript line, and as it picks (a count's names through {@link pick}:
 * the first positive, so a relay's placeholder 0 under one name never hides the count under
 * another; `shadow` notes when that reads a line differently from the reader before 2026-12-03); without this such a call read as zero usage and was
 * skipped, never billed (OpenClaw fixed the same kind for DashScope, #44711, Kimi, #25436, MiniMax,
 * #75026, and DeepSeek, #122590).
 *
 * OpenAI-style prompt totals INCLUDE the cached prefix (`prompt_tokens_details.cached_tokens`,
 * `input_tokens_details.cached_tokens`, Kimi's top-level `cached_tokens`, DeepSeek's
 * `prompt_cache_hit_tokens` = prompt_tokens − prompt_cache_miss_tokens), so when one of those is
 * present the cached part is taken out of `input` (as OpenClaw does, #30792): otherwise every
 * cached token would be billed twice, at the input rate and again at the cache-read rate.
 * Anthropic's `input_tokens` excludes cache and is taken as is. A prompt total below its cached
 * part never held it (a cache-exclusive prompt count: see `uncachedPrompt`) and is the uncached
 * input as it is; before 2026-12-03 the negative difference was billed as 0.
 * Only called when `usage.input` is absent; a pi-ai field that is present always wins.
 *
 * AWS Bedrock Converse's `inputTokens` excludes the cache like Anthropic's, with the cache counts
 * beside it as `cacheReadInputTokens` / `cacheWriteInputTokens` (`…TokenCount` in ConverseStream
 * metadata), and `totalTokens` their sum with input and output
 * (https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html). Before 2026-12-02
 * only `inputTokens`/`outputTokens` were read: such a call was billed without its cache reads and
 * writes (the same fault: BerriAI/litellm#9221 and #31693, UKGovernmentBEIS/inspect_ai#4961,
 * vercel/ai#8113). Those calls keep the identity they were billed under (`legacyCacheRead`,
 * `legacyCacheWrite`: see parseEntry and `ParsedUsage.identityCacheRead`).
 *
 * Cache WRITES in OpenAI-style usage: `prompt_tokens_details.cache_write_tokens` (OpenRouter's
 * usage accounting, https://openrouter.ai/docs/use-cases/usage-accounting: 194 prompt tokens of
 * which 100 cache writes, total 196) and `input_tokens_details.cache_write_tokens` (OpenAI's
 * Responses and Chat usage from GPT-5.6 on, billed at 1.25× input). Like `cached_tokens` they are
 * INSIDE the prompt total, so they are taken out of `input` and billed once, at the cache-write
 * rate. Before 2026-12-02 they were not read: billed at the input rate (an Anthropic model behind
 * OpenRouter writes at 1.25×, so under-billed; the same fault: BerriAI/litellm#33772,
 * anomalyco/opencode#18440, aplisay/llm-agent#345, vercel/ai#21154). Read only when no
 * Anthropic or Bedrock write name is on the line. Such calls keep the identity they were billed
 * under (`legacyInput`, carried as `ParsedUsage.identityInput`; the write count as
 * `identityCacheWrite`, 0). Alibaba Model Studio (DashScope, Qwen) reports its explicit-cache
 * writes the same way under another name, `prompt_tokens_details.cache_creation_input_tokens`
 * (beside `cache_type: "ephemeral"` and `cache_creation.ephemeral_5m_input_tokens`; billed at 125%
 * of the input price, https://www.alibabacloud.com/help/model-studio/context-cache; inside
 * `prompt_tokens`: BerriAI/litellm's `dashscope_cost_per_token` bills prompt 2059 as 2048 writes +
 * 11 input, and mozilla-ai/any-llm#896 writes Anthropic's writes there with `prompt_tokens` =
 * input + reads + writes); read since 2026-12-03 as `cache_write_tokens` is (before, billed at the
 * input rate: the same fault, the writes at 1× instead of the cache-write rate).
 *
 * Reasoning OUTSIDE the completion count: OpenAI's `completion_tokens` / `output_tokens` include
 * the reasoning (`*_tokens_details.reasoning_tokens` is its breakdown, `total_tokens` = prompt +
 * completion), but xAI's Chat Completions count it apart ("reasoning token consumption will be
 * counted separately from completion_tokens, but will be counted in the total_tokens", as quoted in
 * vercel/ai#12425; Wei-Shaw/sub2api#5771: prompt 10120 + completion 1499 + reasoning 2809 = total
 * 14428, and xAI's own `cost_in_usd_ticks` bills the 2809 as output). When a line's total is
 * exactly prompt + completion + reasoning (a positive reasoning count), the reasoning is billed as
 * output with the completion (not for Claude or OpenAI models, whose completion always holds it:
 * such a total is a gateway's that added it again, see `reasoningInsideOutput`); any other total
 * (or none) leaves the output as written. Before
 * 2026-12-03 such reasoning was never billed (the same fault: UKGovernmentBEIS/inspect_ai#5528,
 * LiveBench/LiveBench#503, lobehub/lobehub#8984). Such calls keep the identity they were billed
 * under (`legacyOutput`, carried as `ParsedUsage.identityOutput`).
 *
 * Mistral's cached prompt tokens (`num_cached_tokens`, `prompt_token_details.cached_tokens` with
 * "token" singular, and its TS SDK's `numCachedTokens` / `promptTokensDetails.cachedTokens` /
 * `promptTokenDetails.cachedTokens`; https://docs.mistral.ai/studio-api/conversations/advanced/prompt-caching,
 * billed at 10% of the input price) are inside `prompt_tokens` like OpenAI's `cached_tokens`, and
 * are read after OpenAI's names as pi-ai's own Mistral reader does (`getMistralCachedPromptTokens`,
 * earendil-works/pi `packages/ai/src/api/mistral-conversations.ts`). Before 2026-12-03 they were
 * not read: the cached prefix was billed at the input rate, 10× its price (the same fault:
 * vercel/ai#14382 and #14889, symfony/ai#2236, langchain-ai/langchain#38385). Such calls keep the
 * identity they were billed under (`legacyInput`: the whole prompt count; cache read 0).
 *
 * SDKs' own cache breakdowns (`sdkCacheNames`): the AI SDK v6's `LanguageModelUsage`
 * (`inputTokens` the whole prompt, `inputTokenDetails.{noCacheTokens, cacheReadTokens,
 * cacheWriteTokens}` its parts, `outputTokenDetails.reasoningTokens` inside `outputTokens`;
 * https://ai-sdk.dev/docs/reference/ai-sdk-core/generate-text, getsentry/sentry-javascript#21488:
 * "v6 reports `inputTokens` as a cache-inclusive total") and LangChain's `usage_metadata`
 * (`input_tokens` "sum of all input token types", `input_token_details.{cache_read,
 * cache_creation}`, `output_token_details.reasoning`;
 * https://reference.langchain.com/python/langchain-core/messages/ai/InputTokenDetails), and the
 * OpenAI Realtime API's `input_token_details.cached_tokens` (inside its `input_tokens`). Their reads
 * are read after Mistral's names and their writes after OpenAI's `cache_write_tokens`, and leave
 * the input total the same way. Before 2026-12-04 they were not read: every cached token was billed
 * at the input rate (10× the cache-read price) and every write at the input rate (Anthropic's
 * 1.25×); the same fault: getsentry/sentry-javascript#21484, langchain-ai/langchain#32818 and #32830. Such calls keep
 * the identity they were billed under (the whole prompt as input, cache read and write 0).
 *
 * Codex's own names (see {@link codexCounts}): `cached_input_tokens` / `cachedInputTokens` and
 * `cache_write_input_tokens` / `cacheWriteInputTokens` are INSIDE Codex's `input_tokens` /
 * `inputTokens`, like OpenAI's `cached_tokens`.
 */
function aliasCounts(
  u: Record<string, unknown>,
  shadow: Shadow | null,
  model: unknown = null,
): {
  input: unknown;
  output: unknown;
  cacheRead: unknown;
  cacheWrite: unknown;
  cacheWrite1h: unknown;
  total: unknown;
  reasoning: unknown;
  /** `cacheRead` as the reader before 2026-12-02 read it (without Bedrock's names). */
  legacyCacheRead: unknown;
  /** `cacheWrite` likewise. */
  legacyCacheWrite: unknown;
  /**
   * `input` as the reader before 2026-12-02 read it, when it differs (an OpenAI-style prompt total
   * whose cache writes were left in it: see `cache_write_tokens` above), else undefined.
   */
  legacyInput?: unknown;
  /**
   * `output` as the reader before 2026-12-03 read it, when it differs (reasoning outside the
   * completion count: see above), else undefined.
   */
  legacyOutput?: unknown;
} {
  const gemini = geminiCounts(u, shadow);
  if (gemini) return gemini;
  const native = nativeCounts(u);
  if (native) return native;
  const codex = codexCounts(u, shadow);
  if (codex) return codex;
  const timings = u.timings;
  const priorCached = pick(
    shadow,
    u.cached_tokens,
    field(u.input_tokens_details, "cached_tokens"),
    field(u.prompt_tokens_details, "cached_tokens"),
    u.prompt_cache_hit_tokens,
  );
  // Mistral's own names of its cached prompt tokens, inside `prompt_tokens` like OpenAI's (since
  // 2026-12-03; see the comment above this function): read after the names above, as pi-ai's
  // `getMistralCachedPromptTokens` reads them after `prompt_tokens_details.cached_tokens`
  const mistralCached = pick(
    shadow,
    u.num_cached_tokens,
    u.numCachedTokens,
    field(u.prompt_token_details, "cached_tokens"),
    field(u.promptTokensDetails, "cachedTokens"),
    field(u.promptTokenDetails, "cachedTokens"),
    // SDKs' own breakdowns of a cache-inclusive input total (since 2026-12-04, read as Mistral's
    // are: see `sdkCacheNames` in the comment above this function)
    ...sdkCachedReads(u),
  );
  const openAiCached = pick(shadow, priorCached, mistralCached);
  // the cached count came from Mistral's names only: the reader before 2026-12-03 left it in input
  const mistralOnly = openAiCached !== priorCached;
  const legacyCacheRead = pick(shadow, u.cache_read, u.cache_read_input_tokens, priorCached);
  const cacheRead = pick(
    shadow,
    mistralOnly ? pick(shadow, u.cache_read, u.cache_read_input_tokens, openAiCached) : legacyCacheRead,
    u.cacheReadInputTokens,
    u.cacheReadInputTokenCount,
  );
  const legacyCacheWrite = pick(shadow, u.cache_write, u.cache_creation_input_tokens);
  // Anthropic's camelCase name (`cacheCreationInputTokens`: the AI SDK's Anthropic provider
  // metadata, Theia's `ResponseTokenUsage`), outside `inputTokens` like Bedrock's, beside the
  // `cacheReadInputTokens` read above; since 2026-12-04 (before, such writes were never billed)
  const bedrockCacheWrite = pick(
    shadow,
    u.cacheWriteInputTokens,
    u.cacheWriteInputTokenCount,
    u.cacheCreationInputTokens,
  );
  // OpenAI's (GPT-5.6 and later, Responses and Chat) and OpenRouter's cache writes, INSIDE the
  // prompt total like `cached_tokens`; read only when no other writer's name is present
  // (a top-level `cacheWrite`, OpenClaw's own name, wins in parseEntry: then none are read here).
  // Alibaba Model Studio (DashScope) names its explicit-cache writes
  // `prompt_tokens_details.cache_creation_input_tokens`, inside `prompt_tokens` as well (since
  // 2026-12-03; see the comment above this function)
  const detailsCacheWrite =
    legacyCacheWrite == null && bedrockCacheWrite == null && u.cacheWrite === undefined
      ? pick(
          shadow,
          field(u.input_tokens_details, "cache_write_tokens"),
          field(u.prompt_tokens_details, "cache_write_tokens"),
          field(u.prompt_tokens_details, "cache_creation_input_tokens"),
          field(u.input_tokens_details, "cache_creation_input_tokens"),
          // LiteLLM's `PromptTokensDetailsWrapper` name (since 2026-12-03)
          field(u.prompt_tokens_details, "cache_creation_tokens"),
          // the AI SDK's and LangChain's (since 2026-12-04)
          ...sdkCacheWrites(u),
        )
      : undefined;
  const promptTotal = pick(
    shadow,
    u.inputTokens,
    u.input_tokens,
    u.promptTokens,
    u.prompt_tokens,
    u.prompt_n,
    field(timings, "prompt_n"),
    u.inputTokenCount,
  );
  const completion = pick(
    shadow,
    u.outputTokens,
    u.output_tokens,
    u.completionTokens,
    u.completion_tokens,
    u.predicted_n,
    field(timings, "predicted_n"),
    u.outputTokenCount,
  );
  const reasoning = pick(
    shadow,
    field(u.output_tokens_details, "reasoning_tokens"),
    field(u.completion_tokens_details, "reasoning_tokens"),
  );
  // the SDKs' reasoning breakdown (inside their output total): shown, never added to output
  const sdkReasoning = pick(
    shadow,
    field(u.outputTokenDetails, "reasoningTokens"),
    field(u.output_token_details, "reasoning"),
    field(u.output_token_details, "reasoning_tokens"),
  );
  const total = pick(shadow, u.total, u.total_tokens);
  // A prompt count WITHOUT its cached part, told by the total (since 2026-12-04): xAI's own total
  // counts every token once (`total_tokens` = prompt + completion, + reasoning on its reasoning
  // models), and a model that reports its prompt exclusive of the cache (vercel/ai#12485:
  // grok-4-1-fast-non-reasoning, `prompt_tokens` 4142 + `cached_tokens` 4328 + 254 = total 8724)
  // has a total of exactly prompt + cached (+ writes) + completion (+ reasoning). The rule below
  // (a prompt below its cached part) tells only the turns whose cached prefix outgrew the new
  // prompt; on the others the cached tokens were taken out of an input that never held them: that
  // many uncached tokens billed at the cache-read rate. An OpenAI-style total (prompt +
  // completion) never matches with cached tokens present; the xAI reasoning rule below wins a tie.
  const positive = (v: unknown): number => (isCount(v) && v > 0 ? v : 0);
  const outsideWrites =
    positive(legacyCacheWrite) || positive(bedrockCacheWrite) || positive(detailsCacheWrite);
  const exclusiveByTotal =
    shadow !== null &&
    isCount(promptTotal) &&
    isCount(cacheRead) &&
    cacheRead > 0 &&
    cacheRead <= promptTotal &&
    openAiCached != null &&
    isCount(completion) &&
    isCount(total) &&
    (total === promptTotal + cacheRead + outsideWrites + completion ||
      (positive(reasoning) > 0 &&
        total === promptTotal + cacheRead + outsideWrites + completion + positive(reasoning))) &&
    !(positive(reasoning) > 0 && total === promptTotal + completion + positive(reasoning));
  // the reader before (`shadow` null) took the cached tokens out: parseEntry keeps that identity
  if (exclusiveByTotal && shadow !== null) shadow.hit = true;
  let input: unknown = promptTotal;
  let legacyInput: unknown;
  if (
    openAiCached !== undefined &&
    openAiCached !== null &&
    typeof input === "number" &&
    typeof cacheRead === "number" &&
    Number.isSafeInteger(input) &&
    Number.isSafeInteger(cacheRead)
  ) {
    // A prompt count below its cached part never held it (xAI's and Claude relays' cache-exclusive
    // prompt counts: see `uncachedPrompt`): it is the uncached input. Before 2026-12-03 the
    // difference, negative, was billed as 0; such a call keeps that identity (`legacyInput`).
    if (input >= 0 && cacheRead > input) legacyInput = input - cacheRead;
    else if (!exclusiveByTotal) input = input - cacheRead;
    // Mistral's names were not read before 2026-12-03: such a call was billed, and keeps the
    // identity, with its whole prompt count as input
    if (mistralOnly) legacyInput = promptTotal;
  }
  // DeepSeek's split of the prompt without its total (`prompt_cache_hit_tokens` +
  // `prompt_cache_miss_tokens`, https://api-docs.deepseek.com/guides/kv_cache: prompt_tokens =
  // hit + miss) on a line that keeps no `prompt_tokens` (a relay or SDK that copies only the cache
  // fields): the miss tokens are the uncached input, the hit tokens the cache reads (read above).
  // Before 2026-12-03 the input read as 0 and the misses were never billed; such a call keeps the
  // identity it was billed under (input 0).
  const deepSeekMiss = u.prompt_cache_miss_tokens;
  if ((promptTotal == null || promptTotal === 0) && isCount(deepSeekMiss) && deepSeekMiss > 0) {
    if (legacyInput === undefined) legacyInput = 0;
    input = deepSeekMiss;
  }
  // The writes leave the prompt total only when they are a positive count it can hold: more
  // than what is left of it after the reads is taken as all of that (a 1,000-token prompt is not
  // billed as 3,000 writes); anything else (negative, fractional, text) is ignored, and the call
  // billed as before these names were read, with every prompt token at the input rate.
  let writes: number | undefined;
  // outside a cache-exclusive prompt count, as its total shows (see `exclusiveByTotal`)
  if (exclusiveByTotal && outsideWrites > 0 && detailsCacheWrite != null) writes = outsideWrites;
  else if (
    typeof input === "number" &&
    Number.isSafeInteger(input) &&
    input > 0 &&
    typeof detailsCacheWrite === "number" &&
    Number.isSafeInteger(detailsCacheWrite) &&
    detailsCacheWrite > 0
  ) {
    writes = Math.min(detailsCacheWrite, input);
    if (legacyInput === undefined) legacyInput = input;
    input = input - writes;
  }
  // Anthropic's write count beside OpenAI's prompt total, `prompt_tokens` (LiteLLM's and
  // any-llm's OpenAI format of a Claude call: `prompt_tokens = input_tokens +
  // cache_creation_input_tokens + cache_read_input_tokens`, the two cache counts kept beside it):
  // the writes are inside that total, like OpenRouter's `cache_write_tokens`, and leave it when it
  // holds them after its reads. A cache-exclusive prompt count (a relay's: see `uncachedPrompt`)
  // is mostly the short uncached tail and smaller than the writes: left as it is. Before
  // 2026-12-03 they stayed in the input: billed twice, at the input and the cache-write rate.
  // Only beside OpenAI's breakdown of the prompt (an OpenAI-style cached count, even 0, or a
  // `prompt_tokens_details` object: LiteLLM and any-llm write both), the writer's sign that
  // `prompt_tokens` is OpenAI's whole prompt: without it the reads (`cache_read_input_tokens`) are
  // read as outside `prompt_tokens`, and so must the writes be (one-api relays write Anthropic's
  // `input_tokens` as `prompt_tokens` with both Anthropic cache counts beside it and no details: a
  // long uncached tail there lost the writes from its input).
  const promptDetails = u.prompt_tokens_details ?? u.promptTokensDetails;
  if (
    writes === undefined &&
    !exclusiveByTotal &&
    (openAiCached != null || (typeof promptDetails === "object" && promptDetails !== null)) &&
    u.input_tokens == null &&
    u.inputTokens == null &&
    (u.prompt_tokens != null || u.promptTokens != null) &&
    typeof input === "number" &&
    Number.isSafeInteger(input) &&
    isCount(legacyCacheWrite) &&
    legacyCacheWrite > 0 &&
    input >= legacyCacheWrite
  ) {
    if (legacyInput === undefined) legacyInput = input;
    input = input - legacyCacheWrite;
  }
  // Anthropic's TTL breakdown of the writes (`cache_creation.ephemeral_5m_input_tokens` +
  // `ephemeral_1h_input_tokens`) on a line without the total `cache_creation_input_tokens` (a
  // relay or SDK that keeps only the breakdown): the writes are its sum, the 1-hour part billed
  // at the 1-hour rate as below. Read only when no other write name is on the line and no
  // OpenAI-style prompt total that could hold them (DashScope writes the breakdown beside
  // `prompt_tokens_details.cache_creation_input_tokens`: read above). Before 2026-12-03 such
  // writes were not billed at all; such calls keep the identity they were billed under (writes 0).
  let nestedWrites: number | undefined;
  if (
    legacyCacheWrite == null &&
    bedrockCacheWrite == null &&
    detailsCacheWrite == null &&
    u.cacheWrite === undefined &&
    u.prompt_tokens == null &&
    u.promptTokens == null
  ) {
    const w5m = field(u.cache_creation, "ephemeral_5m_input_tokens") ?? 0;
    const w1h = field(u.cache_creation, "ephemeral_1h_input_tokens") ?? 0;
    if (isCount(w5m) && isCount(w1h) && w5m + w1h > 0) nestedWrites = w5m + w1h;
  }
  // xAI's reasoning, outside the completion count: only when the total says so exactly
  let output: unknown = completion;
  let legacyOutput: unknown;
  if (
    isCount(reasoning) &&
    reasoning > 0 &&
    isCount(completion) &&
    isCount(promptTotal) &&
    isCount(total) &&
    total ===
      promptTotal + (exclusiveByTotal ? (cacheRead as number) + outsideWrites : 0) + completion + reasoning &&
    // a completion smaller than the reasoning cannot hold it, whatever the model
    !(reasoningInsideOutput(model) && reasoning <= completion)
  ) {
    legacyOutput = completion;
    output = completion + reasoning;
  }
  // Bedrock InvokeModel's invocation-metric names (`inputTokenCount`, `outputTokenCount`, beside
  // the `cacheReadInputTokenCount` / `cacheWriteInputTokenCount` read above): before 2026-12-03
  // only the cache ones were read and such a call was billed without its input and output (a
  // tester). Such calls keep the identity they were billed under: input and output 0.
  const none = (...v: unknown[]) => v.every((x) => x == null); // null was read as absent before too
  if (
    u.inputTokenCount !== undefined &&
    none(
      u.inputTokens,
      u.input_tokens,
      u.promptTokens,
      u.prompt_tokens,
      u.prompt_n,
      field(timings, "prompt_n"),
    )
  )
    legacyInput = 0;
  if (
    u.outputTokenCount !== undefined &&
    none(
      u.outputTokens,
      u.output_tokens,
      u.completionTokens,
      u.completion_tokens,
      u.predicted_n,
      field(timings, "predicted_n"),
    )
  )
    legacyOutput = 0;
  return {
    input,
    output,
    cacheRead,
    cacheWrite: legacyCacheWrite ?? bedrockCacheWrite ?? writes ?? nestedWrites,
    cacheWrite1h:
      legacyCacheWrite == null && bedrockCacheWrite != null
        ? bedrockOneHourWrites(u.cacheDetails)
        : (field(u.cache_creation, "ephemeral_1h_input_tokens") ?? nestedOneHourWrites(u)),
    total,
    reasoning: reasoning ?? sdkReasoning,
    legacyCacheRead,
    legacyCacheWrite,
    legacyInput,
    legacyOutput,
  };
}

/**
 * The cache reads SDKs write inside their own cache-inclusive input total (see `sdkCacheNames`
 * above aliasCounts): the AI SDK's (v6) `inputTokenDetails.cacheReadTokens`, LangChain's
 * `usage_metadata` `input_token_details.cache_read`, and the OpenAI Realtime API's
 * `input_token_details.cached_tokens` (its `input_tokens` holds them too).
 */
function sdkCachedReads(u: Record<string, unknown>): unknown[] {
  if (u.inputTokenDetails === undefined && u.input_token_details === undefined) return NO_NAMES;
  return [
    field(u.inputTokenDetails, "cacheReadTokens"),
    field(u.input_token_details, "cache_read"),
    field(u.input_token_details, "cached_tokens"),
  ];
}

/** The cache writes of the same SDKs, inside the same input total: `cacheWriteTokens`, `cache_creation`. */
function sdkCacheWrites(u: Record<string, unknown>): unknown[] {
  if (u.inputTokenDetails === undefined && u.input_token_details === undefined) return NO_NAMES;
  return [field(u.inputTokenDetails, "cacheWriteTokens"), field(u.input_token_details, "cache_creation")];
}

const NO_NAMES: unknown[] = [];

/**
 * The 1-hour part of a Claude call's cache writes where an OpenAI-format writer nests Anthropic's
 * TTL breakdown inside the prompt details instead of a top-level `cache_creation` object:
 * LiteLLM's `prompt_tokens_details.cache_creation_token_details.ephemeral_1h_input_tokens`
 * (its `PromptTokensDetailsWrapper`, beside `cache_creation_tokens` and the top-level
 * `cache_creation_input_tokens`), the same object under `input_tokens_details` (its Responses
 * format), GitHub Copilot's `prompt_tokens_details.anthropic_cache_creation` (jher7/tokenyst-copilot#16)
 * and LangChain's `usage_metadata` `input_token_details.ephemeral_1h_input_tokens`
 * (langchain-anthropic). Anthropic bills a 1-hour write at 2× the input price, a 5-minute one at
 * 1.25×. Before 2026-12-04 these were not read: every write of such a line was billed at the
 * 5-minute rate (case usage-nested-one-hour-cache-writes). A count written as decimal text is read
 * as one; anything that is no whole count is ignored (the writes stay at the 5-minute rate, as
 * before). Not part of the dedupe identity (the write total is).
 */
function nestedOneHourWrites(u: Record<string, unknown>): number | undefined {
  const names = [
    field(field(u.prompt_tokens_details, "cache_creation_token_details"), "ephemeral_1h_input_tokens"),
    field(field(u.input_tokens_details, "cache_creation_token_details"), "ephemeral_1h_input_tokens"),
    field(field(u.prompt_tokens_details, "anthropic_cache_creation"), "ephemeral_1h_input_tokens"),
    field(u.input_token_details, "ephemeral_1h_input_tokens"),
  ];
  for (const v of names) {
    const n = wholeCount(v);
    if (isCount(n) && n > 0) return n;
  }
  return undefined;
}

/**
 * The 1-hour part of a Bedrock Converse line's cache writes: the `inputTokens` of its
 * `cacheDetails` entries whose `ttl` is `"1h"` (Converse's `TokenUsage.cacheDetails`, "Detailed
 * breakdown of cache writes by TTL … Sorted by TTL duration (1h before 5m)", each a `CacheDetail`
 * of `inputTokens` and `ttl` `5m | 1h`: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html,
 * API_runtime_CacheDetail.html). Bedrock bills a 1-hour write at 2× the input price (the bundled
 * table's own Bedrock entries with a 1-hour price, from AWS's price list: Claude Opus 5.5 $4 input,
 * $8 1-hour write), as Anthropic does. Before 2026-12-03 the split was not read: every write of
 * such a line was billed at the 5-minute rate (1.25×). Undefined (no 1-hour part) when there is
 * no such list or an entry's count is not a whole non-negative number: the call is billed as
 * before, never held as malformed for its breakdown.
 */
function bedrockOneHourWrites(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  let oneHour = 0;
  for (const d of details) {
    const ttl = field(d, "ttl");
    const tokens = field(d, "inputTokens");
    if (!isCount(tokens)) return undefined;
    if (typeof ttl === "string" && ttl.trim().toLowerCase() === "1h") oneHour += tokens;
  }
  return Number.isSafeInteger(oneHour) ? oneHour : undefined;
}

/**
 * Set by {@link pick} when a usage object's names disagree and a placeholder 0 (or another
 * present value that is not a positive count) was passed over for a positive count under a later
 * name: the line then reads differently from how the reader before 2026-12-03 read it (see
 * parseEntry, which keeps the identity that reader gave it).
 */
interface Shadow {
  hit: boolean;
}

/**
 * The count a usage object gives under one meaning written under several names (`input_tokens`,
 * `prompt_tokens`, …): the first that is a positive count, else the first present (neither
 * undefined nor null), as OpenClaw's own `normalizeUsage` picks (src/agents/usage.ts: "first
 * positive, else first finite"). OpenAI-compatible relays fill both generations of names and
 * leave one of them as placeholder zeros (yunwu-openai: `input_tokens` 0 beside `prompt_tokens` 4,
 * openclaw/openclaw#27518; api.usvip.cc: `prompt_tokens` 0 and `completion_tokens` 0 beside
 * `input_tokens` 38829, yinxulai/one-switch#5). Read as the first present name (`a ?? b`, the
 * reader before 2026-12-03) such a call read as 0 and was skipped as zero usage, or billed without
 * the counts the zeros shadowed. With `shadow` null, the first present value (that reader).
 */
function pick(shadow: Shadow | null, ...names: unknown[]): unknown {
  let first: unknown;
  for (const v of names) {
    if (v === undefined || v === null) continue;
    if (shadow === null) return v;
    if (first === undefined) first = v;
    if (typeof v === "number" && v > 0 && Number.isSafeInteger(v)) {
      if (v !== first) shadow.hit = true;
      return v;
    }
  }
  return first;
}

/** A non-negative safe integer. */
function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Token counts of a `usage` object written under a provider's native names that none of the
 * OpenAI-, Anthropic-, Gemini- or Bedrock-style names above share, or null when it has none of them
 * (or has one of those: then it is read by them). Since 2026-12-04; before, such a call read as
 * zero usage and was skipped, never billed (case usage-native-count-names):
 *
 * - Cohere's v2 Chat `usage`: `billed_units.{input_tokens, output_tokens}` (camelCase
 *   `billedUnits.{inputTokens, outputTokens}` in its TS SDK) are what Cohere bills; `tokens.{…}`
 *   are what the model consumed, with tokens Cohere adds and does not bill (cohere-ai/
 *   cohere-developer-experience#399: "billed tokens are the ones users are charged for"). Billed
 *   counts first, each class falling back to `tokens` when the billed one is absent
 *   (traceloop/openllmetry#1040, open-telemetry/semantic-conventions-genai#13 and #211).
 * - Ollama's native `/api/chat` and `/api/generate`: `prompt_eval_count` (input) and `eval_count`
 *   (output).
 * - IBM watsonx.ai's `input_token_count` + `generated_token_count`, Replicate's metrics
 *   `input_token_count` + `output_token_count`.
 *
 * None of these shows a cache, so input and output are all. The identity a call read as zero
 * usage but billed for a provider-billed cost got before (counts 0) is kept (`legacyInput`,
 * `legacyOutput`, applied only to such a call: parseEntryWith).
 */
function nativeCounts(
  u: Record<string, unknown>,
): (ReturnType<typeof aliasCounts> & { native: true }) | null {
  if (
    (u.inputTokens ??
      u.input_tokens ??
      u.promptTokens ??
      u.prompt_tokens ??
      u.outputTokens ??
      u.output_tokens) !== undefined ||
    (u.completionTokens ?? u.completion_tokens ?? u.prompt_n ?? u.predicted_n) !== undefined
  )
    return null;
  const present = (...v: unknown[]) => v.find((x) => x !== undefined && x !== null);
  const billed = u.billed_units ?? u.billedUnits;
  const consumed = u.tokens;
  let input: unknown;
  let output: unknown;
  if (isObject(billed) || isObject(consumed)) {
    input = present(
      field(billed, "input_tokens"),
      field(billed, "inputTokens"),
      field(consumed, "input_tokens"),
      field(consumed, "inputTokens"),
    );
    output = present(
      field(billed, "output_tokens"),
      field(billed, "outputTokens"),
      field(consumed, "output_tokens"),
      field(consumed, "outputTokens"),
    );
  }
  if (input === undefined && output === undefined) {
    input = present(u.prompt_eval_count, u.input_token_count);
    output = present(u.eval_count, u.generated_token_count, u.output_token_count);
  }
  if (input === undefined && output === undefined) return null;
  return {
    native: true,
    input,
    output,
    cacheRead: undefined,
    cacheWrite: undefined,
    cacheWrite1h: undefined,
    total: present(u.total, u.total_tokens),
    reasoning: undefined,
    legacyCacheRead: undefined,
    legacyCacheWrite: undefined,
    legacyInput: 0,
    legacyOutput: 0,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Token counts of a `usage` object written under Codex's own names, or null when it has none of
 * them: codex-rs's `TokenUsage` (`input_tokens`, `cached_input_tokens`, `cache_write_input_tokens`,
 * `output_tokens`, `reasoning_output_tokens`, `total_tokens`: `codex exec --json`'s
 * `turn.completed` usage and the rollout's `token_count` events) and the app-server's v2
 * `TokenUsageBreakdown` (`inputTokens`, `cachedInputTokens`, `cacheWriteInputTokens`,
 * `outputTokens`, `reasoningOutputTokens`, `totalTokens`). A line is Codex's when it carries
 * `cached_input_tokens` or `cachedInputTokens`, which no other writer uses.
 *
 * Codex's input total INCLUDES the cached prefix and the cache writes, and its output INCLUDES the
 * reasoning (`total_tokens = input_tokens + output_tokens`; OpenClaw's own Codex harness writes
 * `input = inputTokens − cachedInputTokens − cacheWriteInputTokens`,
 * extensions/codex/src/app-server/event-projector-usage.ts). So input = input − cached − writes,
 * cacheRead = cached, cacheWrite = writes, output = output as written, reasoning its breakdown.
 * Before 2026-12-03 `cached_input_tokens` was not read and the cached prefix was billed at the
 * input rate (up to 10× its price), and `cacheWriteInputTokens` was taken for Bedrock's name (input
 * excludes it) and billed twice, at the input and the write rate: the same fault in other trackers,
 * janekbaraniewski/openusage#360, kenn-io/agentsview#362, steipete/CodexBar#1797,
 * getagentseal/codeburn#1075, case `test/cases/usage-codex-cached-input-names`. Such calls keep the
 * identity they were billed under: input as written (`legacyInput`), cache read and write 0.
 *
 * A cached count that is not a safe integer leaves the line malformed (tokenCount), as it would
 * alone; more cached than input tokens gives a negative input, billed as 0 and counted, like
 * OpenAI's. Writes that are not a positive count are ignored (left in the input, as before), and
 * more than what is left after the reads are capped at that, like OpenAI's `cache_write_tokens`.
 */
function codexCounts(
  u: Record<string, unknown>,
  shadow: Shadow | null,
): ReturnType<typeof aliasCounts> | null {
  const snake = u.cached_input_tokens !== undefined && u.cached_input_tokens !== null;
  const camel = !snake && u.cachedInputTokens !== undefined && u.cachedInputTokens !== null;
  if (!snake && !camel) return null;
  const rawInput = snake
    ? pick(shadow, u.input_tokens, u.inputTokens)
    : pick(shadow, u.inputTokens, u.input_tokens);
  const cached = snake ? u.cached_input_tokens : u.cachedInputTokens;
  // the AI SDK (v6) keeps its deprecated `cachedInputTokens` beside `inputTokenDetails`, whose
  // `cacheWriteTokens` are inside `inputTokens` like Codex's writes (since 2026-12-04)
  const writesRaw = snake
    ? u.cache_write_input_tokens
    : pick(shadow, u.cacheWriteInputTokens, field(u.inputTokenDetails, "cacheWriteTokens"));
  // An input below its cached part never held it: the AI SDK before v6 wrote Anthropic's and
  // Bedrock's `inputTokens` without the cache beside `cachedInputTokens` (getsentry/sentry-javascript#21484),
  // as aliasCounts reads such a prompt count. Before 2026-12-04 the difference, negative, was
  // billed as 0 input. Codex's own input always holds its cached part.
  let input: unknown =
    isCount(rawInput) && isCount(cached) && cached > rawInput ? rawInput : minus(rawInput, cached);
  // like OpenAI's `cache_write_tokens` (aliasCounts): only a positive count leaves the input
  let writes: number | undefined;
  if (
    typeof input === "number" &&
    input > 0 &&
    typeof writesRaw === "number" &&
    Number.isSafeInteger(writesRaw) &&
    writesRaw > 0
  ) {
    writes = Math.min(writesRaw, input);
    input = input - writes;
  }
  // Anthropic's write name beside Codex's (a relay's mix): outside the input, as Anthropic's
  const anthropicWrites = pick(shadow, u.cache_write, u.cache_creation_input_tokens);
  const extraWrites =
    typeof anthropicWrites === "number" && anthropicWrites > 0 ? anthropicWrites : undefined;
  return {
    input,
    // read as before (Codex's output holds its reasoning, as OpenAI's does), so the identity holds
    output: pick(
      shadow,
      u.outputTokens,
      u.output_tokens,
      u.completionTokens,
      u.completion_tokens,
      u.predicted_n,
      field(u.timings, "predicted_n"),
    ),
    cacheRead: cached,
    cacheWrite: extraWrites === undefined ? writes : sumCounts(writes, extraWrites),
    cacheWrite1h: undefined,
    total: pick(shadow, u.total_tokens, u.totalTokens, u.total),
    reasoning: snake
      ? u.reasoning_output_tokens
      : (u.reasoningOutputTokens ?? field(u.outputTokenDetails, "reasoningTokens")),
    // as the reader before 2026-12-03 read it: input as written, no cache read; writes only under
    // Anthropic's names (Bedrock's `cacheWriteInputTokens` was left out of the identity already)
    legacyCacheRead: pick(shadow, u.cache_read, u.cache_read_input_tokens),
    legacyCacheWrite: anthropicWrites,
    legacyInput: pick(
      shadow,
      u.inputTokens,
      u.input_tokens,
      u.promptTokens,
      u.prompt_tokens,
      u.prompt_n,
      field(u.timings, "prompt_n"),
    ),
  };
}

/**
 * Token counts of a `usage` object written under Gemini's `usageMetadata` names (the Gemini API and
 * Vertex AI; `generateContent` and `streamGenerateContent`), camelCase or the Python SDK's
 * snake_case, or null when it has none of them. Before 2026-12-02 such a line read as zero usage
 * and was skipped, never billed (case `test/cases/usage-gemini-metadata-names`). Google's meaning
 * of the names (https://ai.google.dev/api/generate-content#UsageMetadata):
 *
 * - `promptTokenCount` INCLUDES `cachedContentTokenCount` ("the total effective prompt size"), so the
 *   cached part is taken out of input (billed once, at the cache-read rate; the same double count
 *   as openclaw/openclaw#15265 otherwise).
 * - `toolUsePromptTokenCount` (the tool-use prompt, e.g. search grounding) is prompt the model read
 *   beside `promptTokenCount`, billed as input; `totalTokenCount` counts it separately.
 * - `candidatesTokenCount` EXCLUDES `thoughtsTokenCount`, which Google bills as output: output is
 *   their sum (pi-ai's own Google provider writes `output` so), and the thoughts are its reasoning
 *   breakdown. Reading candidates alone under-bills every thinking model's reasoning (the same
 *   fault in other trackers: simonw/llm-gemini#75, vercel/ai#6082, confident-ai/deepeval#2943,
 *   Wei-Shaw/sub2api#554).
 */
function geminiCounts(
  u: Record<string, unknown>,
  shadow: Shadow | null,
): ReturnType<typeof aliasCounts> | null {
  const prompt = pick(shadow, u.promptTokenCount, u.prompt_token_count);
  const geminiCandidates = pick(
    shadow,
    u.candidatesTokenCount,
    u.candidates_token_count,
    u.responseTokenCount,
  );
  // Meta Llama's InvokeModel body on Bedrock names its counts `prompt_token_count` (as Gemini's
  // snake_case prompt) and `generation_token_count`: read as the output since 2026-12-04 (before,
  // such a call was billed for its prompt alone; case usage-native-count-names)
  const candidates = pick(shadow, geminiCandidates, u.generation_token_count);
  if (prompt === undefined && candidates === undefined) return null;
  // a line that also has OpenAI's or Anthropic's names is read by those (aliasCounts)
  if ((u.inputTokens ?? u.input_tokens ?? u.promptTokens ?? u.prompt_tokens) !== undefined) return null;
  const cached = pick(shadow, u.cachedContentTokenCount, u.cached_content_token_count);
  const toolPrompt = pick(shadow, u.toolUsePromptTokenCount, u.tool_use_prompt_token_count);
  const thoughts = pick(shadow, u.thoughtsTokenCount, u.thoughts_token_count);
  const promptSum = sumCounts(prompt, toolPrompt);
  // A prompt below its cached part never held it (a relay's cache-exclusive count): it is the
  // uncached input, as aliasCounts and codexCounts read such a count (since 2026-12-04; before,
  // the negative difference was billed as 0 input, the identity such a call keeps)
  const exclusive = isCount(promptSum) && isCount(cached) && cached > promptSum;
  const total = pick(shadow, u.totalTokenCount, u.total_token_count);
  // ...and one whose total shows it: Google's `totalTokenCount` is prompt + tool-use prompt +
  // candidates + thoughts, the cached part inside the prompt; a total of exactly that plus the
  // cached tokens is a relay's cache-exclusive prompt count (since 2026-12-04; see
  // `exclusiveByTotal` in aliasCounts). The reader before took the cached tokens out of it:
  // parseEntry keeps that identity (`shadow`).
  const exclusiveByTotal =
    shadow !== null &&
    !exclusive &&
    isCount(promptSum) &&
    isCount(cached) &&
    cached > 0 &&
    isCount(total) &&
    (candidates == null || isCount(candidates)) &&
    (thoughts == null || isCount(thoughts)) &&
    total ===
      promptSum +
        cached +
        ((candidates as number | null | undefined) ?? 0) +
        ((thoughts as number | null | undefined) ?? 0);
  if (exclusiveByTotal && shadow !== null) shadow.hit = true;
  // Thoughts already inside the candidates count: some Gemini deployments (the Gemini API as
  // LiteLLM found it, BerriAI/litellm#10141 "with the Gemini API, `candidatesTokenCount`
  // includes thinking tokens", simonw/llm-gemini#75) and relays that fold them in before passing
  // Google's names on write `candidatesTokenCount` with the thoughts in it, and their total is then
  // prompt + tool-use prompt + candidates, with no room for the thoughts beside them (the
  // detection llmgateway's `adjustGoogleCandidateTokens` applies). Summed, the thoughts were billed
  // twice at the output rate (since 2026-12-04: case usage-gemini-thoughts-inside-candidates); such
  // a call keeps the identity it was billed under (output = candidates + thoughts).
  const thoughtsInside =
    isCount(thoughts) &&
    thoughts > 0 &&
    isCount(candidates) &&
    thoughts <= candidates &&
    isCount(promptSum) &&
    isCount(total) &&
    total === promptSum + candidates;
  return {
    // prompt + tool-use prompt − cached
    input: exclusive || exclusiveByTotal ? promptSum : minus(promptSum, cached),
    output: thoughtsInside ? candidates : sumCounts(candidates, thoughts),
    cacheRead: cached,
    cacheWrite: undefined,
    cacheWrite1h: undefined,
    total,
    reasoning: thoughts,
    // never billed before 2026-12-02 (read as zero usage): no earlier identity to keep
    legacyCacheRead: cached,
    legacyCacheWrite: undefined,
    legacyInput: exclusive ? 0 : undefined,
    // a Llama line was billed before 2026-12-04 without its `generation_token_count`: that identity
    legacyOutput:
      candidates !== geminiCandidates || thoughtsInside ? sumCounts(geminiCandidates, thoughts) : undefined,
  };
}

/** A non-count (not a safe integer, present and not null) among `parts`, else undefined. */
function badCount(parts: readonly unknown[]): unknown {
  return parts.find(
    (v) => v !== undefined && v !== null && !(typeof v === "number" && Number.isSafeInteger(v)),
  );
}

/**
 * The sum of token counts read from a line, absent or null counting as 0. A value that is not a
 * safe integer is returned as it is, so `tokenCount` rejects the line as malformed, as it would
 * that value alone.
 */
function sumCounts(...parts: unknown[]): unknown {
  const bad = badCount(parts);
  if (bad !== undefined) return bad;
  let sum = 0;
  for (const v of parts) if (typeof v === "number") sum += v;
  return sum;
}

/** `a − b` of token counts as {@link sumCounts} reads them. */
function minus(a: unknown, b: unknown): unknown {
  const bad = badCount([a, b]);
  if (bad !== undefined) return bad;
  return (typeof a === "number" ? a : 0) - (typeof b === "number" ? b : 0);
}

/** A strict non-negative decimal (`"0.029"`, `"1e-5"`), the way some proxies write amounts as text. */
const DECIMAL_TEXT = /^\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/;

/** A USD amount written as a finite non-negative number or decimal text, else null. */
function usdAmount(v: unknown): number | null {
  const n =
    typeof v === "number" ? v : typeof v === "string" && DECIMAL_TEXT.test(v.trim()) ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * What the line says the call cost, and whether that is what the provider billed:
 *
 * - `usage.cost` an object (OpenClaw's shape): `cost.total`; `provider-billed` when
 *   `cost.totalOrigin` says so (OpenClaw ≥ 2026.7 stores OpenRouter's reported `usage.cost` there,
 *   openclaw/openclaw#101177), else OpenClaw's own estimate from its configured list prices.
 * - `usage.cost` a number (or decimal text): OpenRouter's own `usage.cost`, the amount it charged
 *   (OpenClaw's estimate is always an object, so a bare number is the provider's figure; OpenClaw's
 *   own reader missed this shape, openclaw/openclaw#30204). `provider-billed`.
 * - OpenRouter BYOK (`is_byok: true`, beside `cost` on `usage` or inside `usage.cost`): `cost` is
 *   only OpenRouter's fee (often 0) and the inference itself was charged to the operator's own
 *   provider key as `cost_details.upstream_inference_cost`; the call cost their sum
 *   (OpenRouter usage accounting; the same $0 bug in Kilo-Org/kilocode#13829,
 *   tailcallhq/forgecode#1641, cline/cline#9053). Summed in exact pico-USD. A BYOK line without the
 *   upstream amount carries no cost (its `cost` is the fee alone, ~5 % of the call; billed as the
 *   call's cost in `recorded` mode or for an unknown model, it undercharged): usd null. Without
 *   `is_byok: true` the upstream amount is never added (OpenRouter mirrors it on non-BYOK calls,
 *   where `cost` already includes it).
 */
function recordedCost(usage: Record<string, unknown>): {
  usd: number | null;
  origin: "provider-billed" | null;
} {
  const c = usage.cost;
  const obj =
    typeof c === "object" && c !== null && !Array.isArray(c) ? (c as Record<string, unknown>) : null;
  let usd: number | null;
  let origin: "provider-billed" | null = null;
  if (obj) {
    usd = usdAmount(obj.total);
    if (usd !== null && obj.totalOrigin === "provider-billed") origin = "provider-billed";
  } else {
    usd = usdAmount(c);
    if (usd !== null) origin = "provider-billed";
  }
  // Other providers' own billed figures on the usage object (since 2026-12-04; see
  // `providerReportedCost`): xAI's `cost_in_usd_ticks`, Perplexity's `cost.total_cost`.
  if (origin === null) {
    const reported = providerReportedCost(usage, obj);
    if (reported !== null) return { usd: reported, origin: "provider-billed" };
  }
  const byok = usage.is_byok ?? usage.isByok ?? obj?.is_byok ?? obj?.isByok;
  if (byok !== true || usd === null) return { usd, origin };
  const details = usage.cost_details ?? usage.costDetails ?? obj?.cost_details ?? obj?.costDetails;
  const upstream = usdAmount(
    field(details, "upstream_inference_cost") ?? field(details, "upstreamInferenceCost"),
  );
  // The fee alone is not what the call cost (the inference was billed to the operator's own key):
  // no cost at all, so every mode prices the call from the list (or the fallback), never the fee.
  if (upstream === null) return { usd: null, origin: null };
  if (usd > MAX_SUMMED_USD || upstream > MAX_SUMMED_USD)
    return { usd: usd + upstream, origin: "provider-billed" };
  return { usd: Number(usdFloatToPico(usd) + usdFloatToPico(upstream)) / 1e12, origin: "provider-billed" };
}

/** xAI's billing unit: `cost_in_usd_ticks` counts 10^-10 USD (1 USD = 10^10 ticks). */
const XAI_TICKS_PER_USD = 1e10;

/**
 * What a provider other than OpenRouter reported it charged for the call, on the usage object it
 * returned, when a writer kept that object (a relay, an SDK's raw usage, a gateway that copies the
 * response's `usage` into the transcript), in USD, else null:
 *
 * - xAI's `cost_in_usd_ticks` (`costInUsdTicks` in camelCase SDKs; Chat Completions and Responses
 *   `usage`): the request's cost in ticks of 10^-10 USD, "the exact request cost", which includes
 *   what the token counts cannot show: its server-side tool calls (`server_side_tool_usage_details`:
 *   web / X search, code execution, billed per call), Live Search sources (`num_sources_used`),
 *   image and audio tokens. A whole number of ticks is a whole number of pico-USD (× 100): exact.
 * - Perplexity's `usage.cost` object (`input_tokens_cost`, `output_tokens_cost`, `request_cost`,
 *   `search_queries_cost`, `citation_tokens_cost`, `reasoning_tokens_cost`, `total_cost`: the
 *   Sonar API's response since 2025): `total_cost` is what Perplexity billed, with the per-request
 *   search fee at the request's own `search_context_size` and sonar-deep-research's citation
 *   tokens, reasoning tokens and search queries, none of which the prompt and completion counts
 *   price (the same fault: bgeneto/open-webui-cost-tracker#6, a sonar-deep-research call with
 *   73,248 reasoning tokens, 7,299 citation tokens and 74 searches priced at $0.0036 for ~$0.63).
 *   Read only from an object without OpenClaw's own `total`.
 *
 * Before 2026-12-04 neither was read: such a call was billed at the table's token prices, its
 * tool, search and citation charges never billed (and a Sonar call's request fee at the table's
 * one context size). Not part of the dedupe identity (no cost is).
 */
function providerReportedCost(
  usage: Record<string, unknown>,
  costObj: Record<string, unknown> | null,
): number | null {
  const ticksRaw = usage.cost_in_usd_ticks ?? usage.costInUsdTicks;
  if (ticksRaw !== undefined && ticksRaw !== null) {
    const ticks = usdAmount(ticksRaw);
    if (ticks !== null && ticks <= MAX_SUMMED_USD * XAI_TICKS_PER_USD)
      return Math.round(ticks) / XAI_TICKS_PER_USD;
  }
  if (costObj !== null && (costObj.total === undefined || costObj.total === null)) {
    const total = usdAmount(costObj.total_cost ?? costObj.totalCost);
    if (total !== null) return total;
  }
  return null;
}

/**
 * OpenRouter's own figure in `cost.total` of a line that does not say so (no `totalOrigin`):
 * `provider-billed`, else `cost` unchanged. OpenClaw wrote OpenRouter's reported cost into the
 * `cost.total` of pi-ai's estimate before it had `totalOrigin` (openclaw/openclaw#101177,
 * 2026-07): its OpenRouter stream wrapper (openclaw/openclaw#91073, 2026-06, fixing #68066)
 * overwrites `cost.total` in place with `total_cost` from OpenRouter's `/generation` record, the
 * amount OpenRouter billed, when it is greater than what was there, and leaves the estimate's
 * `input`/`output`/`cacheRead`/`cacheWrite` components as they were. pi-ai's `calculateCost`
 * always writes `total` as the sum of those components, so on an `openrouter` line a `total`
 * above their sum (beyond a pico-USD per component of rounding; not all of them 0) was not written
 * by it: it is
 * OpenRouter's billed figure (a long-context tier the estimate priced at the base rate: 4× for
 * `qwen/qwen3.6-plus` above 256K). Only above: the wrapper never writes a smaller one, and a
 * total below the sum (another writer's) stays an estimate. Custom OpenRouter-compatible routes
 * (another provider id) are skipped by that wrapper and here.
 */
function openRouterReportedTotal(provider: unknown, rawCost: unknown, cost: RecordedCost): RecordedCost {
  if (cost.origin !== null || cost.usd === null || cost.usd <= 0 || cost.usd > MAX_SUMMED_USD) return cost;
  if (typeof provider !== "string" || provider.trim().toLowerCase() !== "openrouter") return cost;
  if (typeof rawCost !== "object" || rawCost === null || Array.isArray(rawCost)) return cost;
  const c = rawCost as Record<string, unknown>;
  if (c.totalOrigin !== undefined) return cost;
  let sum = 0n;
  let priced = false;
  for (const part of [c.input, c.output, c.cacheRead, c.cacheWrite]) {
    // pi-ai writes all four; a catalog's sentinel price (OpenRouter lists `openrouter/auto` at
    // -1 per token) makes them negative, which is still its estimate, never a billed figure
    if (typeof part !== "number" || !Number.isFinite(part) || Math.abs(part) > MAX_SUMMED_USD) return cost;
    sum += part < 0 ? -usdFloatToPico(-part) : usdFloatToPico(part);
    if (part !== 0) priced = true;
  }
  // All-zero components say nothing of who wrote the total (OpenClaw's own flat estimate has been
  // stored that way: case openrouter-grok-long-context-tier), so only a priced estimate is compared.
  if (!priced) return cost;
  return usdFloatToPico(cost.usd) > sum + 4n ? { usd: cost.usd, origin: "provider-billed" } : cost;
}

/** Below this (USD) a pico-USD count divided by 1e12 converts back to the same count (money.ts). */
const MAX_SUMMED_USD = 400;

/** What `recordedCost` read: the USD amount and whether the provider billed it. */
type RecordedCost = { usd: number | null; origin: "provider-billed" | null };

/**
 * pi-ai's own estimate (`calculateCost`: each class's tokens × its catalog rate, `total` their
 * sum) as pico-USD: its `total` and the magnitude of its `cost.input` component (`inputUsd` of the
 * components; `inputSign` the sign that component has in the sum), for a correction of the input
 * it priced. null when there is nothing to correct by: a provider-billed amount (what was charged,
 * not an estimate), no such `cost.input` component, or components that do not add up to `total`
 * (another writer's cost, not pi-ai's), beyond a pico-USD per component of rounding.
 */
function piAiEstimate(
  rawCost: unknown,
  cost: RecordedCost,
  inputUsd: (c: Record<string, unknown>) => number | null,
  inputSign: 1n | -1n,
): { totalPico: bigint; inputPico: bigint } | null {
  if (cost.origin !== null || cost.usd === null || cost.usd > MAX_SUMMED_USD) return null;
  if (typeof rawCost !== "object" || rawCost === null || Array.isArray(rawCost)) return null;
  const c = rawCost as Record<string, unknown>;
  const input = inputUsd(c);
  if (input === null || input > MAX_SUMMED_USD) return null;
  const rest = [c.output ?? 0, c.cacheRead ?? 0, c.cacheWrite ?? 0].map(usdAmount);
  if (rest.some((p) => p === null || p > MAX_SUMMED_USD)) return null;
  const inputPico = usdFloatToPico(input);
  const sum = rest.reduce((a: bigint, p) => a + usdFloatToPico(p as number), inputSign * inputPico);
  const totalPico = usdFloatToPico(cost.usd);
  if ((sum > totalPico ? sum - totalPico : totalPico - sum) > 4n) return null;
  return { totalPico, inputPico };
}

/**
 * OpenClaw's own estimate of a call whose `input` held its cached tokens (`inputHoldsCache`: pi-ai's
 * Google providers before pi#2588, openclaw/openclaw#15265; OpenClaw's Codex harness, #69298),
 * with the cached tokens it priced at the input rate taken out, or `cost` unchanged.
 *
 * pi-ai's `cost.input` component priced `writtenInput` tokens, `cacheRead` of them cached tokens
 * also priced again in `cost.cacheRead`. The cached tokens' share of `cost.input`
 * (`cost.input × cacheRead / writtenInput`, half-up to the pico-USD) is the overcharge. This
 * matters for a model no price list knows, whose call `auto` and `recorded` bill at this estimate;
 * a known model's call is priced from the list (pricing.ts). Unchanged when {@link piAiEstimate}
 * finds nothing to correct by.
 */
function estimateWithoutDoubledCache(
  rawCost: unknown,
  cost: RecordedCost,
  writtenInput: number,
  cacheRead: number,
): RecordedCost {
  if (writtenInput <= 0 || cacheRead <= 0 || cacheRead > writtenInput) return cost;
  const e = piAiEstimate(rawCost, cost, (c) => usdAmount(c.input), 1n);
  if (e === null) return cost;
  const w = BigInt(writtenInput);
  const over = (2n * e.inputPico * BigInt(cacheRead) + w) / (2n * w);
  if (over > e.totalPico) return cost;
  return { usd: Number(e.totalPico - over) / 1e12, origin: null };
}

/**
 * The uncached input of a pi-ai line whose `input` is negative beside its cache reads, else null.
 *
 * pi-ai's OpenAI-style providers write `input = prompt_tokens − cached_tokens` (Responses:
 * `input_tokens − cached_tokens`), OpenAI's meaning, where the prompt count holds its cached part.
 * A provider that reports more cached than prompt tokens counts the prompt WITHOUT them: xAI does
 * for some models and through some gateways ("some models (e.g. `grok-4-1-fast-non-reasoning`)
 * report them exclusive of cached tokens, where `cached_tokens > prompt_tokens`", vercel/ai#12485:
 * `prompt_tokens` 4142, `cached_tokens` 4328, `completion_tokens` 254, xAI's own `total_tokens`
 * 8724 = 4142 + 4328 + 254), as do OpenAI-format relays of Claude, whose prompt count is
 * Anthropic's cache-exclusive `input_tokens` (openclaw/openclaw#30765, #30812). The line's
 * `input` is then that prompt count minus the cache reads, and `input + cacheRead` is the prompt
 * count: the uncached tokens the provider billed at the input rate. Before 2026-12-03 such an
 * `input` was billed as 0 (and counted as clamped): the uncached prompt was never billed.
 * Needs positive cache reads (what was taken out) and a sum that is not negative itself; any other
 * negative count is still billed as 0 and counted.
 */
function uncachedPrompt(written: unknown, cacheRead: number): number | null {
  if (typeof written !== "number" || !Number.isSafeInteger(written) || written >= 0) return null;
  if (cacheRead <= 0 || written + cacheRead < 0) return null;
  return written + cacheRead;
}

/**
 * OpenClaw's own estimate of a call whose negative `input` was a prompt count without its cache
 * reads minus them ({@link uncachedPrompt}), with the uncached tokens' price added back, or `cost`
 * unchanged. pi-ai priced `written` (negative) tokens at the input rate, so its `cost.input`
 * component is negative and `cost.input / written` is the rate: the `cacheRead` tokens it took
 * out are added back at it (`−cost.input × cacheRead / −written`, half-up to the pico-USD), which
 * makes the estimate that of the uncached prompt. Matters for a model no price list knows, whose
 * call `auto` and `recorded` bill at this estimate, and for `recorded` mode. Unchanged when
 * {@link piAiEstimate} finds nothing to correct by (here: no negative numeric `cost.input`).
 */
function estimateWithUncachedPrompt(
  rawCost: unknown,
  cost: RecordedCost,
  written: number,
  cacheRead: number,
): RecordedCost {
  if (written >= 0 || cacheRead <= 0) return cost;
  const negativeInput = (c: Record<string, unknown>) =>
    typeof c.input === "number" && c.input < 0 ? usdAmount(-c.input) : null;
  const e = piAiEstimate(rawCost, cost, negativeInput, -1n);
  if (e === null) return cost;
  const w = BigInt(-written);
  const back = (2n * e.inputPico * BigInt(cacheRead) + w) / (2n * w);
  return { usd: Number(e.totalPico + back) / 1e12, origin: null };
}

/** pi-ai's Google APIs (Gemini API and Vertex AI), whose lines up to early 2026 carry the defect below. */
const GOOGLE_APIS = new Set(["google-generative-ai", "google-vertex"]);

/**
 * APIs whose `input` never holds the cache: Anthropic's `input_tokens` and Bedrock Converse's
 * `inputTokens` exclude cache reads and writes by definition, so `inputHoldsCache` never corrects
 * their lines (whatever their `totalTokens` says).
 */
const CACHE_EXCLUSIVE_APIS = new Set(["anthropic-messages", "bedrock-converse-stream"]);

/**
 * Whether the line's provider says its `input` holds no cache, or cannot be told by its total,
 * whatever API the line names. OpenClaw's Claude CLI backend (`claude-cli`, compared trimmed and
 * lower-cased as OpenClaw's `isClaudeCliProvider` does) reports Anthropic's usage, `input_tokens`
 * without cache reads and writes. CLI backends' lines say `api: "cli"` (`persistCliTurnTranscript`),
 * and OpenClaw's `buildUsageWithNoCost` wrote `totalTokens = input + output` when the CLI reported
 * no total (Claude's never does), so a correct line with cache reads and no cache write has exactly
 * the Codex-harness shape below: on an `api: "cli"` line the total tells nothing. Only Codex CLI's
 * (`codex-cli`) input is known to hold its cache (Codex's `input_tokens` is the whole prompt), so it
 * is the one CLI backend corrected; any other is billed as written.
 */
function cacheNotTellable(api: string | null, provider: string | null): boolean {
  const p = provider?.trim().toLowerCase() ?? "";
  return p === "claude-cli" || (api === "cli" && p !== "codex-cli");
}

/**
 * Whether a line's `input` also holds its cached tokens, so every cached token would be billed
 * twice, at the input rate and again at the cache-read rate. Two writers are known to do it:
 *
 * - pi-ai's `google` and `google-vertex` providers wrote `input = promptTokenCount` next to
 *   `cacheRead = cachedContentTokenCount`, but Google's `promptTokenCount` INCLUDES the cached
 *   tokens (https://ai.google.dev/gemini-api/docs/caching: "the cached tokens … are included in
 *   the prompt token count"); openclaw/openclaw#15265, OpenClaw 2026.2.12 with pi-ai 0.52.10;
 *   fixed upstream in pi#2588, 2026-03: `input = promptTokenCount − cachedContentTokenCount`.
 * - OpenClaw's Codex app-server harness (`api: "openai-codex-responses"`) wrote
 *   `input = inputTokens`, `cacheRead = cachedInputTokens`, `totalTokens = totalTokens`, but
 *   Codex's `inputTokens` is the whole prompt, cached prefix included (openclaw/openclaw#69298,
 *   OpenClaw 2026.4.15; the same contract as Codex CLI's `non_cached_input = input − cached`).
 * Such transcripts stay on disk and in archives.
 *
 * Told apart by the line itself: its `totalTokens` is the provider's own total (Google's
 * `totalTokenCount`, Codex's `totalTokens` = input + output), which counts the cached tokens
 * once, so on a defective line it is below `input + output + cacheRead + cacheWrite`; on a fixed
 * line, and on every line whose total pi-ai computes itself, it is that sum (or more). Needs
 * `cacheRead` ≤ `input` (the cache is part of the prompt) and a recorded `totalTokens`. For a
 * Google line a total below the sum is enough (`totalTokenCount` may add tool-use prompt
 * tokens); for any other API the total must be exactly `input + output + cacheWrite` (the cached
 * prefix counted once, inside input), and the line must name its API (every writer of this shape
 * does; a line without one is as old as pi's first formats), never one whose input excludes the
 * cache by definition (`CACHE_EXCLUSIVE_APIS`) or whose total cannot tell (`cacheNotTellable`).
 */
function inputHoldsCache(
  api: string | null,
  provider: string | null,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
  total: number | null,
): boolean {
  if (cacheRead === 0 || input < cacheRead || total === null || total === 0) return false;
  if (total >= input + output + cacheRead + cacheWrite) return false;
  if (isGoogleLine(api, provider)) return true;
  if (api === null || CACHE_EXCLUSIVE_APIS.has(api) || cacheNotTellable(api, provider)) return false;
  return total === input + output + cacheWrite;
}

/** Whether a line is pi-ai's Google (Gemini API or Vertex AI) call, by its API or, without one, its provider. */
function isGoogleLine(api: string | null, provider: string | null): boolean {
  return api !== null ? GOOGLE_APIS.has(api) : provider === "google" || provider === "google-vertex";
}

/**
 * Whether a pi-ai Google line's `output` holds its thoughts twice. pi-ai's Google providers write
 * `output = candidatesTokenCount + thoughtsTokenCount`, `reasoning = thoughtsTokenCount` and
 * `totalTokens = totalTokenCount`, Google's documented meaning (thoughts beside the candidates).
 * Some deployments and relays write `candidatesTokenCount` with the thoughts already in it (see
 * `geminiCounts`: simonw/llm-gemini#75, BerriAI/litellm#10141), so such a line's output counts the
 * thoughts twice, and Google's total, which counts them once, is exactly the line's sum less its
 * reasoning: `total = input + output + cacheRead + cacheWrite − reasoning`. Before 2026-12-04 the
 * thoughts were billed twice at the output rate, and the total short of the sum was read as pi-ai's
 * old cache defect (`inputHoldsCache`), taking the cached tokens out of the input a second time
 * (case usage-gemini-thoughts-inside-candidates). Needs a positive reasoning count no greater than
 * the output and a total that is exactly that; a gap equal to the cache reads rather than the
 * reasoning is pi-ai's cache defect, as before.
 */
function piAiThoughtsInside(
  api: string | null,
  provider: string | null,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
  total: number | null,
  reasoningRaw: unknown,
): boolean {
  if (total === null || total === 0 || !isGoogleLine(api, provider)) return false;
  const reasoning = count(reasoningRaw);
  if (reasoning === null || reasoning === 0 || reasoning > output || reasoning === cacheRead) return false;
  return total === input + output + cacheRead + cacheWrite - reasoning;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v.length > 0 ? v : null;
}

function isoMs(v: unknown): number | null {
  if (typeof v !== "string") return null;
  const t = dateParse(v);
  return Number.isFinite(t) ? t : null;
}

/**
 * A numeric `message.timestamp` below this is epoch SECONDS, not milliseconds: 10^11 ms is
 * 1973-03-03 (before any transcript; OpenClaw and pi write `Date.now()`, 13 digits), while 10^11 s
 * is the year 5138, so no real time in either unit falls on the wrong side. A tool or relay that
 * writes Unix seconds (10 digits, e.g. 1764806400 = 2025-12-04) would otherwise be read as 1970
 * and its call held for review (the same unit mistake: janekbaraniewski/openusage#357). Only
 * times from 1 s up are taken for seconds (0 and below stay as written: out of range, held).
 */
export const EPOCH_SECONDS_BELOW = 1e11;

/** True when a numeric `message.timestamp` is epoch seconds (see {@link EPOCH_SECONDS_BELOW}). */
export function isEpochSeconds(t: number): boolean {
  return t >= 1 && t < EPOCH_SECONDS_BELOW;
}

/**
 * A numeric `message.timestamp` at or above this is epoch MICROseconds (16 digits), and at or above
 * 10^17 NANOseconds (19 digits), not milliseconds: 10^14 ms is the year 5138 (no real time in ms
 * reaches it), while 10^14 µs is 1973 and 10^17 ns 1973 as well. Python's `time.time_ns()`, Go's
 * `UnixNano` and SQLite `strftime('%s') * 1000000` write them; read as ms, a call was dated to the
 * year 58136 and held for review (vshulcz/deja-vu#2102). Since 2026-12-04. Below 10^20 only (the
 * year 5138 in ns): a larger number stays as written (out of range, held).
 */
export const EPOCH_MICROS_FROM = 1e14;
export const EPOCH_NANOS_FROM = 1e17;
export const EPOCH_UNITS_BELOW = 1e20;

/**
 * True when a numeric `message.timestamp` is not epoch ms but seconds, microseconds or nanoseconds
 * (its identity then keeps the number as written, which the reader before took for ms).
 */
export function isOtherEpochUnit(t: number): boolean {
  return isEpochSeconds(t) || (t >= EPOCH_MICROS_FROM && t < EPOCH_UNITS_BELOW);
}

/**
 * A numeric `message.timestamp` in epoch ms: as written (truncated) when it is milliseconds, times
 * 1000 (rounded to the millisecond: 1764806400.123 is ...400123) when it is seconds, divided by
 * 1000 or 10^6 (rounded) when it is microseconds or nanoseconds.
 */
export function messageTimeMs(t: number): number {
  if (isEpochSeconds(t)) return Math.round(t * 1000);
  if (t >= EPOCH_MICROS_FROM && t < EPOCH_UNITS_BELOW)
    return Math.round(t >= EPOCH_NANOS_FROM ? t / 1e6 : t / 1000);
  return Math.trunc(t);
}

/**
 * `Date.parse(text)`, with a fast exact path for the form every OpenClaw line carries,
 * `YYYY-MM-DDTHH:MM:SS.mmmZ` (24 characters, year 1970–9999, month 01–12, day 01–31, hour 00–23,
 * minute and second 00–59): epoch ms by integer arithmetic. A day past its month's end rolls over
 * into the next month as `Date.parse` does (2026-02-30 is March 2). Any other text goes to
 * `Date.parse` itself, so the result is the same for every string (NaN when it does not parse).
 */
export function dateParse(text: string): number {
  if (text.length === 24) {
    const ms = canonicalIsoMs(text);
    if (ms >= 0) return ms;
  }
  // A date-time without a zone is UTC (since 2026-12-04): `Date.parse` reads it in the host's
  // `TZ`, so the same line was another time, and another call identity, on a host in another
  // zone or after its `TZ` changed (a `.reset` copy billed twice).
  if (isZonelessDateTime(text))
    return Date.parse(`${text.charCodeAt(10) === 0x20 ? `${text.slice(0, 10)}T${text.slice(11)}` : text}Z`);
  return Date.parse(text);
}

/**
 * An ISO date and time with no zone designator (`2026-11-22T23:30:40`, `2026-11-22 23:30:40.123`):
 * the form `Date.parse` reads in the host's time zone. A date alone is UTC already.
 */
/**
 * Whether an ISO time text holds a fraction of a second (`…:40.123Z`, `…:40,5`): one without
 * (`2026-11-24T06:00:02Z`, a date alone) names a whole second at best, which many calls share.
 */
export function hasFractionalSeconds(text: string): boolean {
  return FRACTIONAL_SECONDS.test(text);
}
const FRACTIONAL_SECONDS = /\d:\d{2}[.,]\d/;

const ZONELESS_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/;
export function isZonelessDateTime(text: string): boolean {
  return text.length <= 29 && ZONELESS_DATE_TIME.test(text);
}

/** `d0d1` as a number when both are ASCII digits, else -1 (from char codes). */
function two(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** See `dateParse`: epoch ms of a 24-character canonical ISO time, or -1 when it is not one. */
function canonicalIsoMs(s: string): number {
  if (
    s.charCodeAt(4) !== 0x2d || // -
    s.charCodeAt(7) !== 0x2d ||
    s.charCodeAt(10) !== 0x54 || // T
    s.charCodeAt(13) !== 0x3a || // :
    s.charCodeAt(16) !== 0x3a ||
    s.charCodeAt(19) !== 0x2e || // .
    s.charCodeAt(23) !== 0x5a // Z
  )
    return -1;
  const yh = two(s, 0);
  const yl = two(s, 2);
  const mo = two(s, 5);
  const d = two(s, 8);
  const h = two(s, 11);
  const mi = two(s, 14);
  const sec = two(s, 17);
  const ms3 = s.charCodeAt(22) - 48;
  const msh = two(s, 20);
  if (yh < 19 || yl < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23) return -1;
  if (mi < 0 || mi > 59 || sec < 0 || sec > 59 || msh < 0 || ms3 < 0 || ms3 > 9) return -1;
  const year = yh * 100 + yl;
  if (year < 1970) return -1;
  // Days since 1970-01-01 of the civil date (H. Hinnant's days_from_civil; every term is >= 0 here).
  const y = mo <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + msh * 10 + ms3;
}

/** How every OpenClaw entry begins (`type` is its first key): where a glued entry is looked for. */
const ENTRY_START = '{"type":';

/**
 * At most this many suffixes of a line that is not JSON are tried by `gluedEntry` (each attempt is
 * one `JSON.parse` of the rest of the line), so a hostile line full of `{"type":` costs
 * O(64 × length), never O(length²).
 */
export const MAX_GLUED_ATTEMPTS = 64;

/** A complete entry found in a physical line that is not JSON (see `gluedEntry`). */
export interface GluedEntry {
  /** The entry appended after the cut-off fragment: `text.slice(at)`, parsed. */
  entry: Record<string, unknown>;
  /** Where it starts in the line (UTF-16 index). */
  at: number;
  /**
   * The line's head `text.slice(0, at)`, parsed, when it is itself a complete entry (only its
   * newline was lost), else null: the head is a cut-off fragment.
   */
  head: Record<string, unknown> | null;
}

/**
 * The complete entry at the end of a physical line that does not parse, when a writer crashed
 * mid-append and the next append (`JSON.stringify(entry) + "\n"`) was glued onto the fragment it
 * left: `…"api":"openai-{"type":"message",…}`. Null when there is none.
 *
 * The line was written by `JSON.stringify`, so inside a string every `"` is escaped: an unescaped
 * `{"type":` is always structural, the start of an entry or of a nested object. The suffixes
 * starting at such positions after index 0 are parsed left to right (at most
 * MAX_GLUED_ATTEMPTS), and the first that parses to an object is the glued entry; a position
 * where the head expects a value (after `:`, `[` or `,`, outside a string) is skipped unparsed,
 * as the object there may be the head's own nested value (see below). A suffix that
 * starts at a nested object of the fragment cannot parse: that object is still open when the
 * fragment ends, and the balanced entry after it cannot close it (or, cut inside a string, the
 * entry's first `"` ends the string and `type"` follows it). One that starts at a nested object
 * of the glued entry has the rest of the entry (`]}…}`) after it. So at most one suffix parses.
 *
 * Only for a line whose `JSON.parse` already failed: nothing here runs for a line that parses.
 */
export function gluedEntry(text: string): GluedEntry | null {
  let attempts = 0;
  // A JSON scanner over text[0, pos): inside a string or not, and the last character outside
  // strings (as a char code). One pass over the line in all.
  let pos = 0;
  let inString = false;
  let last = 0;
  // objects and arrays open at `pos` outside strings: 0 once the head's first object closed
  let depth = 0;
  for (
    let at = text.indexOf(ENTRY_START, 1);
    at !== -1 && attempts < MAX_GLUED_ATTEMPTS;
    at = text.indexOf(ENTRY_START, at + 1)
  ) {
    for (; pos < at; pos++) {
      const c = text.charCodeAt(pos);
      if (inString) {
        if (c === BACKSLASH) pos++;
        else if (c === QUOTE) {
          inString = false;
          last = QUOTE; // a string just ended: the head is after a value or a key, not before one
        }
      } else if (c === QUOTE) inString = true;
      else if (c !== SPACE && c !== TAB && c !== LF && c !== CR) {
        last = c;
        if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === CLOSE_BRACE_CODE || c === CLOSE_BRACKET) depth--;
      }
    }
    // Where the head expects a value (after `:`, `[` or `,`, outside a string), the object there
    // may be the head's own nested value: a line cut right after it still ends in `}`, and a
    // model-written object (a tool call's arguments) can be shaped like an entry. Never taken,
    // and not counted as an attempt: a long turn's content blocks cannot use up the budget. (A
    // writer cut at exactly such a point loses the glued entry with the fragment, as before.)
    // A `,` after the head's closed object (depth 0: `{…},{…}`, entries joined by a comma) is a
    // separator, not a value's place (since 2026-12-04: before, both entries were lost).
    if (!inString && (last === COLON || last === OPEN_BRACKET || (last === COMMA && depth !== 0))) continue;
    attempts++;
    const entry = parseObject(text.slice(at));
    if (entry === null) continue;
    // A cut-off prefix of an object never parses (its braces do not balance); a head that does
    // is a complete entry that lost only its newline.
    // (separators after it, as `entryEnd` takes them: `{…};{…}`, `{…},{…}`; since 2026-12-04)
    return { entry, at, head: parseObject(withoutSeparators(text.slice(0, at))) };
  }
  return null;
}

/** Every complete entry found in a physical line that is not JSON (see `gluedEntries`). */
export interface GluedEntries {
  /** The entries in line order, each with where it starts in the line (UTF-16 index; the first may be 0). */
  entries: { entry: Record<string, unknown>; at: number }[];
  /** True when the line begins with a cut-off fragment (`text.slice(0, entries[0].at)`), not an entry. */
  fragment: boolean;
}

/**
 * Every complete entry of a physical line that does not parse: `gluedEntry`'s last entry, then,
 * while the rest before it is no entry, the same search on that rest (without its separators), so
 * three or more entries on one line (`{a}{b}{c}`, `{a},{b},{c}`, `{a};{b};{c}`, `{a} {b} {c}`, or
 * entries glued after a cut-off fragment: `frag{b}{c}`) are all read. Before 2026-12-04 only the
 * last entry was (and the one before it when the rest was that entry alone): the others were
 * rejected with the line as a fragment and their calls never billed (case
 * `entries-glued-three-or-more`). Each step is one `gluedEntry` (at most MAX_GLUED_ATTEMPTS parses),
 * and a step ends at a `{"type":` the previous one started at, so a line costs at most O(entries ×
 * length). Null when `gluedEntry` finds none.
 */
export function gluedEntries(text: string): GluedEntries | null {
  const g = gluedEntry(text);
  if (g === null) return null;
  const entries = [{ entry: g.entry, at: g.at }];
  let head = g.head;
  let rest = text.slice(0, g.at);
  while (head === null) {
    const h = gluedEntry(withoutSeparators(rest));
    if (h === null) return { entries, fragment: true };
    entries.unshift({ entry: h.entry, at: h.at });
    head = h.head;
    rest = rest.slice(0, h.at);
  }
  entries.unshift({ entry: head, at: 0 });
  return { entries, fragment: false };
}

/** `text` without the separators after an entry `onlyJunk` takes (white space, `,`, `;`, Ctrl-Z). */
function withoutSeparators(text: string): string {
  let e = text.length;
  while (e > 0) {
    const c = text.charCodeAt(e - 1);
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x2c || c === 0x3b || c === 0x1a) e--;
    else break;
  }
  return text.slice(0, e);
}

/**
 * The complete entry a line that does not parse begins with, when text follows it that ends in `}`
 * itself (`{…entry…}}`, `{…entry…} // }`, `{…entry…},{"x":{}}`): `entryEnd` for a line that
 * `endsLikeObject` cannot tell apart from an entry. `end` is the byte length of the entry (with
 * any blank before it) in the line's UTF-8. Null when the line does not begin with a complete
 * object. Before 2026-12-04 such a line was rejected whole as invalid JSON and its call never
 * billed, while the same entry with trailing text not ending in `}` was read (case
 * `entry-with-trailing-brace`). Only for a line whose `JSON.parse` and `gluedEntry` failed.
 */
export function leadingEntry(
  text: string,
): { entry: Record<string, unknown>; text: string; end: number } | null {
  const buf = Buffer.from(text, "utf8");
  let s = 0;
  while (s < buf.length && (buf[s] === SPACE || buf[s] === TAB || buf[s] === CR || buf[s] === LF)) s++;
  if (buf[s] !== 0x7b) return null; // `{`
  const end = entryEnd(buf, s, buf.length);
  if (end === -1 || end === buf.length) return null;
  const head = buf.toString("utf8", s, end);
  const entry = parseObject(head);
  return entry === null ? null : { entry, text: head, end };
}

/** Char codes `gluedEntry`'s scanner tells apart. */
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE_CODE = 0x7d;
const CLOSE_BRACKET = 0x5d;

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The most web searches one call is read with: Anthropic's `max_uses` is per request, far below. */
const MAX_WEB_SEARCHES = 10_000;

/**
 * The Anthropic web searches a usage object says the call ran: `server_tool_use.web_search_requests`
 * (the Messages API's `usage`, kept as it is on a `claude-cli` line or by a relay that copies the
 * response's usage into the transcript) or `serverToolUse.webSearchRequests` (camelCase SDKs), read
 * whether the token counts are OpenClaw's names or the provider's own. Each search is $0.01 on top
 * of the tokens (server-tools.ts). 0 for none (absent or null). A count written as text or
 * fractional arrives read as token counts are (`"3"` → 3, `1.5` → 2: `count`'s half-up rule, case
 * usage-fractional-text-counts). One that is no count from 0 to 10,000 (`1e9`, `-1`, `"x"`,
 * `true`) is 0 with the problem noted in `bad`: the
 * call is held for review like an unreadable token count (readCount), since what the provider
 * charged for its searches is unknown; before the same day's review it was billed as 0 searches,
 * silently. Before 2026-12-04 never read: every search was billed $0 (the same fault:
 * BerriAI/litellm#16996, #31355).
 */
function webSearchRequestsOf(usage: Record<string, unknown>, bad: { problem: string | null }): number {
  const n =
    field(usage.server_tool_use, "web_search_requests") ?? field(usage.serverToolUse, "webSearchRequests");
  if (n === undefined || n === null) return 0;
  if (isCount(n) && n <= MAX_WEB_SEARCHES) return n;
  bad.problem ??= `web search request count ${countText(n)} unreadable: not a whole number from 0 to ${MAX_WEB_SEARCHES} (not priced)`;
  return 0;
}

/** `{ modality, tokenCount }` entries of a Gemini `…TokensDetails` list whose modality is one of `kinds`, summed. */
function geminiModalityCount(list: unknown, kinds: ReadonlySet<string>): number {
  if (!Array.isArray(list)) return 0;
  let n = 0;
  for (const d of list) {
    const m = field(d, "modality");
    const c = field(d, "tokenCount") ?? field(d, "token_count");
    if (typeof m === "string" && kinds.has(m.trim().toUpperCase()) && isCount(c)) n += c;
  }
  return n;
}

const AUDIO_OR_IMAGE: ReadonlySet<string> = new Set(["AUDIO", "IMAGE"]);
const AUDIO: ReadonlySet<string> = new Set(["AUDIO"]);

/** The usage keys {@link modalityTokensOf} reads under; a usage object with none of them has no audio or image counts. */
const MODALITY_DETAIL_KEYS = [
  "prompt_tokens_details",
  "completion_tokens_details",
  "input_tokens_details",
  "output_tokens_details",
  "promptTokensDetails",
  "completionTokensDetails",
  "inputTokensDetails",
  "outputTokensDetails",
  "input_token_details",
  "output_token_details",
  "inputTokenDetails",
  "outputTokenDetails",
  "candidatesTokensDetails",
  "candidates_tokens_details",
  "responseTokensDetails",
  "response_tokens_details",
] as const;

/**
 * Tokens of a usage object that are audio or generated/vision-model image tokens, which providers
 * price far above text but count INSIDE the prompt / completion totals a line bills as text, as a
 * short description (`"prompt_tokens_details.audio_tokens 1200"`), or null when there are none:
 * - OpenAI's audio tokens: `prompt_tokens_details.audio_tokens` / `completion_tokens_details.audio_tokens`
 *   (Chat Completions: gpt-4o-audio-preview $40 / $80 per 1M audio against $2.50 / $10 text) and
 *   `input_tokens_details.audio_tokens` / `output_tokens_details.audio_tokens`, and the Realtime API's
 *   `input_token_details.audio_tokens` / `.image_tokens` / `output_token_details.audio_tokens`
 *   (`token`, not `tokens`: https://platform.openai.com/docs/api-reference/realtime-server-events,
 *   `response.done`; gpt-realtime $32 / $64 audio against $4 / $16 text; read since 2026-12-04 after
 *   the rest, case realtime-token-details-audio-held), camelCase too;
 *   https://platform.openai.com/docs/pricing;
 * - OpenAI's image tokens: `input_tokens_details.image_tokens` / `output_tokens_details.image_tokens`
 *   (gpt-image-1: image input $10 and output $40 per 1M against $5 text input);
 * - Gemini's `candidatesTokensDetails` AUDIO / IMAGE entries (gemini-2.5-flash-image's generated
 *   images at $30 per 1M against $2.50 text output), the Live API's `responseTokensDetails` (the
 *   same list under its own name, since 2026-12-04) and `promptTokensDetails` AUDIO entries (audio
 *   input at $1 per 1M against $0.30 text on Gemini 2.5 Flash); https://ai.google.dev/gemini-api/docs/pricing.
 * Billed as text, such a call was under-billed 4–16× for its audio or images (the same fault:
 * BerriAI/litellm#19771, gpt-audio's 482 output audio tokens billed at the text rate, $0.00592
 * instead of $0.03966; comet-ml/opik#7137 and #7253; langwatch/langwatch#7021 and #7036). The
 * bundled table's audio rates are not applied per token here, so the call is held for review
 * (the operator prices it: `review release --cost-usd`) since 2026-12-04; before it was billed at
 * the text rates.
 */
function modalityTokensOf(usage: Record<string, unknown>): string | null {
  // Most usage objects (OpenClaw's own names) carry no details at all: answer without building the
  // list below, whose arrays per call the backlog's garbage collector would otherwise pay for.
  let any = false;
  for (const k of MODALITY_DETAIL_KEYS)
    if (usage[k] !== undefined) {
      any = true;
      break;
    }
  if (!any) return null;
  const named: [string, unknown][] = [
    ["prompt_tokens_details.audio_tokens", field(usage.prompt_tokens_details, "audio_tokens")],
    ["completion_tokens_details.audio_tokens", field(usage.completion_tokens_details, "audio_tokens")],
    ["input_tokens_details.audio_tokens", field(usage.input_tokens_details, "audio_tokens")],
    ["output_tokens_details.audio_tokens", field(usage.output_tokens_details, "audio_tokens")],
    ["input_tokens_details.image_tokens", field(usage.input_tokens_details, "image_tokens")],
    ["output_tokens_details.image_tokens", field(usage.output_tokens_details, "image_tokens")],
    ["promptTokensDetails.audioTokens", field(usage.promptTokensDetails, "audioTokens")],
    ["completionTokensDetails.audioTokens", field(usage.completionTokensDetails, "audioTokens")],
    ["inputTokensDetails.audioTokens", field(usage.inputTokensDetails, "audioTokens")],
    ["outputTokensDetails.audioTokens", field(usage.outputTokensDetails, "audioTokens")],
    ["inputTokensDetails.imageTokens", field(usage.inputTokensDetails, "imageTokens")],
    ["outputTokensDetails.imageTokens", field(usage.outputTokensDetails, "imageTokens")],
    // the Realtime API's own names (`token`, not `tokens`): `response.done`'s `usage`
    ["input_token_details.audio_tokens", field(usage.input_token_details, "audio_tokens")],
    ["input_token_details.image_tokens", field(usage.input_token_details, "image_tokens")],
    ["output_token_details.audio_tokens", field(usage.output_token_details, "audio_tokens")],
    ["inputTokenDetails.audioTokens", field(usage.inputTokenDetails, "audioTokens")],
    ["inputTokenDetails.imageTokens", field(usage.inputTokenDetails, "imageTokens")],
    ["outputTokenDetails.audioTokens", field(usage.outputTokenDetails, "audioTokens")],
    // generated image tokens under OpenAI's Chat names, as LiteLLM and OpenRouter write a Gemini
    // image model's `candidatesTokensDetails` IMAGE entries (BerriAI/litellm#17410:
    // gemini-3-pro-image `completion_tokens_details.image_tokens` 1120 of 1345, $120 per 1M
    // against $12 text), and LangChain's `usage_metadata` audio (`input_token_details.audio`,
    // `output_token_details.audio`: reference.langchain.com InputTokenDetails /
    // OutputTokenDetails), read since 2026-12-04 (case usage-modality-names-litellm-langchain);
    // before, billed at the text rate
    ["completion_tokens_details.image_tokens", field(usage.completion_tokens_details, "image_tokens")],
    ["completionTokensDetails.imageTokens", field(usage.completionTokensDetails, "imageTokens")],
    ["input_token_details.audio", field(usage.input_token_details, "audio")],
    ["output_token_details.audio", field(usage.output_token_details, "audio")],
    [
      "candidatesTokensDetails audio/image",
      geminiModalityCount(usage.candidatesTokensDetails ?? usage.candidates_tokens_details, AUDIO_OR_IMAGE),
    ],
    // the Live API's name of the same list (`responseTokenCount`'s breakdown: native-audio models'
    // spoken replies, $12 per 1M against $2 text on gemini-2.5-flash-native-audio; read since
    // 2026-12-04, case usage-gemini-live-response-audio-held; before, billed at the text rate,
    // as BerriAI/litellm#38457 found in its own Live usage)
    [
      "responseTokensDetails audio/image",
      geminiModalityCount(usage.responseTokensDetails ?? usage.response_tokens_details, AUDIO_OR_IMAGE),
    ],
    [
      "promptTokensDetails audio",
      geminiModalityCount(usage.promptTokensDetails ?? usage.prompt_tokens_details, AUDIO),
    ],
  ];
  const found = named.filter(([, v]) => isCount(v) && v > 0).map(([k, v]) => `${k} ${String(v)}`);
  return found.length === 0 ? null : found.join(", ");
}

/**
 * Audio a usage object says the call read that none of its token counts holds, as a short
 * description (`"prompt_audio_seconds 203"`), or null. Mistral's Chat Completions with audio
 * input (Voxtral) report it as `prompt_audio_seconds` beside a `prompt_tokens` of the text alone
 * (its `total_tokens` counts the audio: 4 prompt + 406 completion, total 3264), and its
 * transcription usage as a root `audio_tokens` (pydantic/genai-prices#591: `prompt_tokens` 3,
 * `audio_tokens` 375, `completion_tokens` 1, `total_tokens` 379). Mistral bills that audio per
 * minute ($0.004 per minute of audio input on voxtral-small, $0.003 transcription,
 * https://mistral.ai/pricing), not as tokens: billed as the text tokens alone such a call was
 * under-billed some 80× (case usage-mistral-audio-seconds-held). creditgate has no per-minute
 * prices, so the call is held for the operator to price (since 2026-12-04; before, billed as its
 * text tokens). A fractional count arrives rounded (`wholeCounts`); 0 or absent changes nothing.
 */
function audioOutsideTokens(usage: Record<string, unknown>): string | null {
  const found: string[] = [];
  for (const k of ["prompt_audio_seconds", "promptAudioSeconds", "audio_tokens", "audioTokens"]) {
    const v = usage[k];
    if (isCount(v) && v > 0) found.push(`${k} ${String(v)}`);
  }
  return found.length === 0 ? null : found.join(", ");
}

/**
 * A key that names a count (tokens, a `…Count`, billed units), not a time, duration, amount, rate
 * (`tokens_per_second`, SambaNova's `…_tokens_per_sec`) or a limit (`max_tokens`,
 * `token_limit`, `remaining_tokens`).
 */
const COUNT_KEY = /token|count|units/i;
const NOT_COUNT_KEY = /time|duration|cost|price|_ms$|Ms$|second|sec$|per_|limit|max|remain/i;

/**
 * The positive counts of a usage object under count-like names (`COUNT_KEY`), on it or in an
 * object one level down (`billed_units.input_tokens`), as `"name n"` (at most 4), or null when
 * there are none. Only asked of a line none of whose names creditgate reads gave a count: any such
 * count is one the call used under a name not read (a provider's native names no reader knows yet),
 * so the call is held for review with them instead of skipped as zero usage.
 */
function unreadCounts(usage: Record<string, unknown>): string | null {
  const found: string[] = [];
  const visit = (o: Record<string, unknown>, prefix: string, depth: number) => {
    for (const k in o) {
      if (found.length >= 4) return;
      if (NOT_COUNTS.has(k) || NOT_COUNT_KEY.test(k)) continue;
      const v = o[k];
      if (isObject(v)) {
        if (depth === 0) visit(v, `${k}.`, 1);
      } else if (COUNT_KEY.test(k) && isCount(v) && v > 0) found.push(`${prefix}${k} ${String(v)}`);
    }
  };
  visit(usage, "", 0);
  return found.length === 0 ? null : found.join(", ");
}

/**
 * The tokens of a Gemini call that its usage counts leave out but its total keeps, else 0:
 * `total − (input + output + cacheRead + cacheWrite)` for a line read under the providers' own
 * names (no pi-ai `input`) whose model id names Gemini. Gemini's `totalTokenCount` also counts
 * two classes its prompt and candidates counts exclude, and converters to OpenAI's format drop:
 *
 * - its thoughts (`thoughtsTokenCount`, billed as output): converters that map
 *   `completion_tokens` from the candidates alone and drop the thoughts leave them only in
 *   `total_tokens` (mozilla-ai/any-llm#1290: prompt 20, completion 198, total 623 for 405
 *   thoughts; crewAIInc/crewAI#5699, Portkey-AI/gateway#1458, router-for-me/CLIProxyAPI#5743).
 *   Before 2026-12-04 such a call was billed without its thoughts.
 * - its tool-use prompt (`toolUsePromptTokenCount`: what server-side tools such as search
 *   grounding and code execution fed the model, billed as input): converters that map
 *   `prompt_tokens` from `promptTokenCount` alone drop it (mozilla-ai/any-llm#1367: prompt 80,
 *   tool-use prompt 237, candidates 173, thoughts 60, total 550). Before 2026-12-04 (the fix of
 *   the thoughts above, the same day, billed it as output) it was not billed.
 *
 * The caller tells them apart by the reasoning count: a line that gives its thoughts
 * (`reasoning_tokens` > 0) accounted for them, so what its total has beyond is prompt; a line
 * without one is taken for one that dropped its thoughts. Every count read above is in the sum (an
 * OpenAI-style input has its cached part as `cacheRead`), so only tokens no name accounts for are
 * the gap. Such a call keeps the identity it was billed under (`identityOutput`, `identityInput`).
 * A line with no prompt count at all has no gap: before 2026-12-05 its whole total (a total alone,
 * or one beside counts under names not read) was billed as thoughts, at the output rate.
 */
function geminiTotalGap(
  model: unknown,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
  total: number | null,
): number {
  if (total === null || typeof model !== "string" || !/gemini/i.test(model)) return 0;
  // No prompt count read (a total alone, or counts under names not read: the Interactions API's
  // `total_input_tokens`…): the total is no split's remainder, and the call is held for review
  // with it (parseEntry), not billed whole as thoughts at the output rate (since 2026-12-05, case
  // usage-gemini-total-without-prompt-held)
  if (input + cacheRead + cacheWrite === 0) return 0;
  const gap = total - (input + output + cacheRead + cacheWrite);
  return Number.isSafeInteger(gap) && gap > 0 ? gap : 0;
}

/** A positive whole count under `name` in `o`, as `"name n"`, else null. */
function positiveCount(o: unknown, name: string, label = name): string | null {
  const v = field(o, name);
  return isCount(v) && v > 0 ? `${label} ${String(v)}` : null;
}

/**
 * Charges a usage object reports beyond the token counts creditgate prices, as a short
 * description, or null when there are none. Each is billed per use, on top of the tokens, and is
 * in the provider's own cost (`providerReportedCost`) when the line keeps it, but not in any
 * token count:
 *
 * - xAI's server-side tool calls (Agent Tools: web search, X search, code execution, document
 *   search, … $5 per 1,000 calls, https://docs.x.ai/docs/models "Tools pricing"):
 *   `server_side_tool_usage_details.*_calls` or, without it, `num_server_side_tools_used`; and
 *   Live Search sources (`num_sources_used`, $25 per 1,000 sources).
 * - Perplexity's sonar-deep-research (a model id holding `deep-research`): citation tokens ($2 per
 *   1M), reasoning tokens ($3 per 1M; Perplexity's `reasoning_tokens` is outside `total_tokens`
 *   = prompt + completion) and search queries ($5 per 1,000), `citation_tokens`,
 *   `reasoning_tokens` and `num_search_queries` beside `prompt_tokens`
 *   (https://docs.perplexity.ai/getting-started/pricing). On the other Sonar models these counts
 *   are not billed per use (their per-request fee is in the table's price), so they change nothing.
 *
 * Before 2026-12-04 these lines were billed at their token counts alone: a deep-research call
 * with 73,248 reasoning tokens, 7,299 citation tokens and 74 searches at $0.026 of its ~$0.63
 * (bgeneto/open-webui-cost-tracker#6), an xAI call with 3 X searches at $0.003 of its $0.032.
 */
function chargesBeyondTokens(usage: Record<string, unknown>, model: string): string | null {
  // Most usage objects (OpenClaw's own names, with no `prompt_tokens`) carry none of these names:
  // answer without the list below, whose array per line the backlog's collector would pay for
  if (
    usage.server_side_tool_usage_details === undefined &&
    usage.serverSideToolUsageDetails === undefined &&
    usage.num_server_side_tools_used === undefined &&
    usage.numServerSideToolsUsed === undefined &&
    usage.num_sources_used === undefined &&
    usage.numSourcesUsed === undefined &&
    usage.prompt_tokens === undefined
  )
    return null;
  const found: string[] = [];
  const tools = usage.server_side_tool_usage_details ?? usage.serverSideToolUsageDetails;
  if (typeof tools === "object" && tools !== null && !Array.isArray(tools)) {
    for (const k of Object.keys(tools).sort()) {
      const c = positiveCount(tools, k, `server_side_tool_usage_details.${k}`);
      if (c !== null) found.push(c);
    }
  } else {
    const c =
      positiveCount(usage, "num_server_side_tools_used") ?? positiveCount(usage, "numServerSideToolsUsed");
    if (c !== null) found.push(c);
  }
  const sources = positiveCount(usage, "num_sources_used") ?? positiveCount(usage, "numSourcesUsed");
  if (sources !== null) found.push(sources);
  if (/deep-research/i.test(model) && usage.prompt_tokens !== undefined) {
    for (const k of ["citation_tokens", "reasoning_tokens", "num_search_queries"]) {
      const c = positiveCount(usage, k);
      if (c !== null) found.push(c);
    }
  }
  return found.length === 0 ? null : found.join(", ");
}

/**
 * The counts of Anthropic's server-side compaction passes (`context_management` strategy
 * `compact_20260112`) that a line's top-level counts leave out. When compaction fires, the
 * Messages API runs an extra sampling pass that summarises the conversation and bills it, but
 * "the top-level `input_tokens` and `output_tokens` do not include compaction iteration usage";
 * the whole is the sum over `usage.iterations` (entries `{type: "compaction" | "message",
 * input_tokens, output_tokens, cache_read_input_tokens, cache_creation_input_tokens}`:
 * https://platform.claude.com/docs/en/build-with-claude/compaction#understanding-usage;
 * pydantic/pydantic-ai#5065, BerriAI/litellm#27060, maximhq/bifrost#6500: top-level 23,000 in /
 * 1,000 out beside a compaction pass of 180,000 in / 3,500 out). Only Anthropic-named usage
 * (`input_tokens`, no OpenAI `prompt_tokens`) with `type: "compaction"` entries is read; a writer
 * that already folded the passes into the top level (top-level = the sum of every compaction and
 * message entry) is taken as written. Other entry types (a refusal fallback's attempt, billed at
 * another model's rates) are not added. Null when there is nothing to add. Before 2026-12-04 only
 * the top-level counts were billed: the summarising pass, usually the largest part, was free.
 */
function compactionIterations(
  usage: Record<string, unknown>,
  input: number,
  output: number,
  cacheRead: number,
  cacheWrite: number,
): {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h: number;
  sum: number;
} | null {
  const its = usage.iterations;
  if (!Array.isArray(its) || usage.input_tokens === undefined || usage.prompt_tokens !== undefined)
    return null;
  const c = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0, sum: 0 };
  const all = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
  let passes = 0;
  for (const it of its) {
    if (typeof it !== "object" || it === null || Array.isArray(it)) continue;
    const o = it as Record<string, unknown>;
    if (o.type !== "compaction" && o.type !== "message") continue;
    const part = {
      input: wholeCount(o.input_tokens) ?? 0,
      output: wholeCount(o.output_tokens) ?? 0,
      cacheRead: wholeCount(o.cache_read_input_tokens) ?? 0,
      cacheWrite: wholeCount(o.cache_creation_input_tokens) ?? 0,
      cacheWrite1h: wholeCount(field(o.cache_creation, "ephemeral_1h_input_tokens")) ?? 0,
    };
    if (
      !isCount(part.input) ||
      !isCount(part.output) ||
      !isCount(part.cacheRead) ||
      !isCount(part.cacheWrite)
    )
      return null;
    all.input += part.input;
    all.output += part.output;
    all.cacheRead += part.cacheRead;
    all.cacheWrite += part.cacheWrite;
    if (o.type !== "compaction") continue;
    passes++;
    c.input += part.input;
    c.output += part.output;
    c.cacheRead += part.cacheRead;
    c.cacheWrite += part.cacheWrite;
    if (isCount(part.cacheWrite1h)) c.cacheWrite1h += Math.min(part.cacheWrite1h, part.cacheWrite);
  }
  c.sum = c.input + c.output + c.cacheRead + c.cacheWrite;
  if (passes === 0 || c.sum === 0) return null;
  // already folded into the top level by the writer
  if (
    input === all.input &&
    output === all.output &&
    cacheRead === all.cacheRead &&
    cacheWrite === all.cacheWrite
  )
    return null;
  return c;
}

/**
 * The advisor calls a usage object reports beside its top-level counts, as a short description
 * (`"usage.iterations advisor_message claude-opus-4-7: input 159419, output 7805, …"`), or null
 * when there are none. Anthropic's advisor tool (`advisor_20260301`; Claude Code's `/advisor`)
 * lets the executor model consult a stronger advisor model inside one Messages request; each
 * consultation is an `advisor_message` entry of `usage.iterations`, with its own `model` and
 * counts, "billed at the advisor model's rates" and EXCLUDED from the top-level counts, which
 * cover the executor only (https://platform.claude.com/docs/en/agents-and-tools/tool-use/advisor-tool;
 * ccusage/ccusage#1115 and #1423: an Opus advisor's 159,419 input and 7,805 output tokens beside a
 * Sonnet line of 2 / 491; getagentseal/codeburn#659). creditgate prices a line at one model's
 * rates, so such a call is held for the operator to price (since 2026-12-04; before, billed as
 * its executor's counts alone and the advisor, usually the dearer model, was free). An entry with
 * no positive count changes nothing; one whose counts are no counts holds the call as well.
 */
function advisorIterations(usage: Record<string, unknown>): string | null {
  const its = usage.iterations;
  if (!Array.isArray(its)) return null;
  const found: string[] = [];
  for (const it of its) {
    if (!isObject(it) || iterationType(it) !== "advisor_message") continue;
    const counts = iterationCounts(it);
    if (counts === "") continue;
    found.push(`usage.iterations advisor_message ${iterationModel(it)}: ${counts}`);
    if (found.length >= 4) break;
  }
  return found.length === 0 ? null : found.join("; ");
}

/** A `usage.iterations` entry's `type`, trimmed and lower-cased; "" when it has none. */
function iterationType(it: unknown): string {
  return isObject(it) && typeof it.type === "string" ? it.type.trim().toLowerCase() : "";
}

/** A `usage.iterations` entry's `model`, trimmed and cut to 80 characters; "?" when it has none. */
function iterationModel(it: Record<string, unknown>): string {
  return typeof it.model === "string" && it.model.trim() !== "" ? it.model.trim().slice(0, 80) : "?";
}

/**
 * A `usage.iterations` entry's counts that are not zero, as review text (`"input 159419, output
 * 7805"`: input, output, cache read, cache write, an unreadable count as written); "" when none.
 */
function iterationCounts(it: Record<string, unknown>): string {
  const parts: [string, unknown][] = [
    ["input", wholeCount(it.input_tokens)],
    ["output", wholeCount(it.output_tokens)],
    ["cache read", wholeCount(it.cache_read_input_tokens)],
    ["cache write", wholeCount(it.cache_creation_input_tokens)],
  ];
  return parts
    .filter(([, v]) => v !== undefined && v !== null && !(isCount(v) && v === 0))
    .map(([k, v]) => `${k} ${countText(v)}`)
    .join(", ");
}

/** A model name as compared across a line and its iterations: no provider prefix, no date. */
function bareModel(name: string): string {
  const m = name.trim().toLowerCase();
  return m.slice(m.lastIndexOf("/") + 1).replace(/-\d{8}$/, "");
}

/**
 * What Anthropic's server-side refusal fallback (`fallbacks`, beta `server-side-fallback-2026-06-01`)
 * reports beside a line's top-level counts that the line's model cannot price, as a short
 * description, or null when there is nothing. When the requested model's classifiers decline, the
 * API retries on a fallback model inside the same request: `usage.iterations` holds each attempt
 * with its own `model`, the one that served as a `fallback_message` entry, and the top-level
 * counts repeat the served attempt only. A declined attempt that emitted output (or wrote cache)
 * is billed at ITS model's rates outside the top-level counts (a waived one, no output and no
 * cache write, is free), and the served model may not be the line's `model`
 * (https://platform.claude.com/docs/en/build-with-claude/refusals-and-fallback; ccusage/ccusage#1552:
 * `message` claude-fable-5 output 578, cache write 10,421 beside a `fallback_message`
 * claude-opus-4-8 that the parent repeats; posit-dev/chatlas#380, maximhq/bifrost#5387,
 * bastani-inc/atomic#2809). creditgate prices a line at one model's rates, so such a call is held
 * for the operator to price (since 2026-12-05; before, the declined attempt was free and the served
 * attempt priced at the line's model). A waived attempt beside a fallback served by the line's own
 * model (or its `responseModel`) is billed as written.
 */
function fallbackIterations(usage: Record<string, unknown>, lineModels: string[]): string | null {
  const its = usage.iterations;
  if (!Array.isArray(its)) return null;
  const fallbacks = its.filter((it) => iterationType(it) === "fallback_message") as Record<string, unknown>[];
  if (fallbacks.length === 0) return null;
  const found: string[] = [];
  const known = new Set(lineModels.map(bareModel));
  const served = iterationModel(fallbacks[fallbacks.length - 1] as Record<string, unknown>);
  if (served === "?" || !known.has(bareModel(served)))
    found.push(`served by the fallback model ${served}, not the line's model`);
  for (const it of its) {
    const type = iterationType(it);
    if (!isObject(it) || type === "fallback_message" || type === "advisor_message") continue;
    const billed = [wholeCount(it.output_tokens), wholeCount(it.cache_creation_input_tokens)].some(
      (v) => v !== undefined && v !== null && !(isCount(v) && v === 0),
    );
    if (!billed) continue;
    found.push(
      `declined attempt usage.iterations ${type || "?"} ${iterationModel(it)}: ${iterationCounts(it)}`,
    );
    if (found.length >= 4) break;
  }
  return found.length === 0 ? null : `refusal fallback: ${found.join("; ")}`;
}

/** Parses one complete transcript line (without its newline). */
export function parseLine(text: string): LineResult {
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return { kind: "malformed", reason: INVALID_JSON_REASON };
  }
  return parseEntry(entry);
}

/**
 * Parses an already-decoded transcript entry.
 *
 * A line whose usage names disagree (a placeholder 0 under one name, the count under another:
 * see {@link pick}) is billed at the positive counts. Before 2026-12-03 the first present name
 * won: such a call was skipped as zero usage (never billed) or billed without the shadowed
 * counts. A call billed then keeps the identity it was billed under (its counts as that reader
 * read them, carried as `identityInput` / `identityOutput` / `identityCacheRead` /
 * `identityCacheWrite`), so a later copy of it (an archive, the SQLite import) stays a duplicate.
 */
export function parseEntry(entry: unknown): LineResult {
  const shadow: Shadow = { hit: false };
  const r = parseEntryWith(entry, shadow);
  if (!shadow.hit || r.kind !== "usage") return r;
  const before = parseEntryWith(entry, null);
  if (before.kind === "usage") keepIdentity(r.usage, before.usage);
  return r;
}

/**
 * Gives `u` the dedupe identity `before` had (see identity.ts `dedupeKey`): each count of the
 * identity that differs is set as its `identity…` field. Time, provider, model and response id
 * are read the same way by both.
 */
function keepIdentity(u: ParsedUsage, before: ParsedUsage): void {
  const input = before.identityInput ?? before.writtenInput ?? before.input;
  if (input !== (u.identityInput ?? u.writtenInput ?? u.input)) u.identityInput = input;
  const output = before.identityOutput ?? before.output;
  if (output !== (u.identityOutput ?? u.output)) u.identityOutput = output;
  const cacheRead = before.identityCacheRead ?? before.cacheRead;
  if (cacheRead !== (u.identityCacheRead ?? u.cacheRead)) u.identityCacheRead = cacheRead;
  const cacheWrite = before.identityCacheWrite ?? before.cacheWrite;
  if (cacheWrite !== (u.identityCacheWrite ?? u.cacheWrite)) u.identityCacheWrite = cacheWrite;
}

/**
 * Whether an assistant message is OpenClaw's import of a CLI backend's own history
 * (`__openclaw.importedFrom: "claude-cli"`, `src/gateway/cli-session-history.claude.ts`): a Claude
 * Code transcript row (`~/.claude/projects/…/<cliSessionId>.jsonl`) rebuilt as an
 * `anthropic-messages` message of provider `claude-cli` with that row's usage. The CLI runner's own
 * line (`api: "cli"`, `idempotencyKey: "cli-assistant:<runId>"`) holds the turn's usage already,
 * so such a row is a copy of calls billed from it, not a call. Meant for `chat.history` only, but
 * after a session reseed (interrupted-turn recovery) OpenClaw 2026.8.x appended it to the
 * transcript beside the runner's line on every later turn (openclaw/openclaw#136251): before
 * 2026-12-04 each such turn was billed twice, once per imported row on top of the runner's line
 * (case `test/cases/cli-history-import-appended`).
 */
export function isCliHistoryImport(msg: Record<string, unknown>): boolean {
  const meta = msg.__openclaw;
  if (typeof meta !== "object" || meta === null) return false;
  const from = (meta as Record<string, unknown>).importedFrom;
  return typeof from === "string" && from.trim().toLowerCase() === "claude-cli";
}

/** parseEntry, reading a usage object's names with `shadow` (see {@link pick}). */
function parseEntryWith(entry: unknown, shadow: Shadow | null): LineResult {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    return { kind: "malformed", reason: "line is not a JSON object" };
  }
  const e = entry as Record<string, unknown>;
  if (e.type !== "message") return { kind: "skip", why: "not-usage" };
  const m = e.message;
  if (typeof m !== "object" || m === null)
    return { kind: "malformed", reason: "message line without message" };
  const msg = m as Record<string, unknown>;
  if (msg.role === "user") {
    const at =
      typeof msg.timestamp === "number" && Number.isFinite(msg.timestamp)
        ? messageTimeMs(msg.timestamp)
        : isoMs(e.timestamp);
    return { kind: "user", atMs: at, content: msg.content, source: turnSourceOf(msg.provenance) };
  }
  if (msg.role !== "assistant") return { kind: "skip", why: "not-usage" };
  // OpenClaw's own usage reader takes `message.usage ?? entry.usage` (session-cost-usage.ts).
  const u = msg.usage ?? e.usage;
  if (u === undefined || u === null) return { kind: "skip", why: "not-usage" };
  if (typeof u !== "object") return { kind: "malformed", reason: "usage is not an object" };
  const usage = wholeCounts(u as Record<string, unknown>, 0);

  const providerRaw = msg.provider;
  if (providerRaw === "openclaw") return { kind: "skip", why: "synthetic" };
  if (isCliHistoryImport(msg)) return { kind: "skip", why: "synthetic" };

  const n = usage.input === undefined ? aliasCounts(usage, shadow, msg.model) : null;
  // A count that is there but no readable count (see readCount) holds the call for review.
  const bad: { problem: string | null } = { problem: null };
  let input = readCount("input", n ? n.input : usage.input, bad);
  let output = readCount("output", usage.output ?? n?.output, bad);
  let cacheRead = readCount("cacheRead", usage.cacheRead ?? n?.cacheRead, bad);
  let cacheWrite = readCount("cacheWrite", usage.cacheWrite ?? n?.cacheWrite, bad);
  let cacheWrite1hRaw = readCount("cacheWrite1h", usage.cacheWrite1h ?? n?.cacheWrite1h, bad);
  // what the reader before 2026-12-02 read (Bedrock's cache names unread: see aliasCounts)
  const legacyCacheRead = n ? Math.max(0, tokenCount(usage.cacheRead ?? n.legacyCacheRead) ?? 0) : null;
  const legacyCacheWrite = n ? Math.max(0, tokenCount(usage.cacheWrite ?? n.legacyCacheWrite) ?? 0) : null;
  // A negative pi-ai `input` beside cache reads: the writer took the cached tokens out of a prompt
  // count that never held them (uncachedPrompt). The prompt count is the uncached input.
  const exclusivePrompt = n === null ? uncachedPrompt(usage.input, cacheRead) : null;
  if (exclusivePrompt !== null) input = exclusivePrompt;
  // -1: a negative count, billed as 0 (tokenCount)
  const clamped = input < 0 || output < 0 || cacheRead < 0 || cacheWrite < 0 || cacheWrite1hRaw < 0;
  if (clamped) {
    input = Math.max(0, input);
    output = Math.max(0, output);
    cacheRead = Math.max(0, cacheRead);
    cacheWrite = Math.max(0, cacheWrite);
    cacheWrite1hRaw = Math.max(0, cacheWrite1hRaw);
  }
  // Anthropic's server-side compaction: its summarising pass is billed but not in the top-level
  // counts, only in `usage.iterations` (see `compactionIterations`). Added since 2026-12-04; a call
  // billed before keeps the identity of its top-level counts (the reader without it, via `shadow`).
  const compaction =
    n !== null && shadow !== null && !clamped && bad.problem === null
      ? compactionIterations(usage, input, output, cacheRead, cacheWrite)
      : null;
  if (compaction !== null && shadow !== null) {
    shadow.hit = true;
    input += compaction.input;
    output += compaction.output;
    cacheRead += compaction.cacheRead;
    cacheWrite += compaction.cacheWrite;
    cacheWrite1hRaw += compaction.cacheWrite1h;
  }
  let totalRaw = count(usage.totalTokens ?? n?.total);
  // a total of the top-level counts grows with the compaction pass added to them
  if (
    compaction !== null &&
    totalRaw !== null &&
    totalRaw === input + output + cacheRead + cacheWrite - compaction.sum
  )
    totalRaw += compaction.sum;
  // A Gemini call's thoughts that a relay's OpenAI-format usage left out of its completion count
  // and its breakdown, but not out of its total (see `geminiTotalGap`): billed as output
  // ...and its tool-use prompt, when the line gives its thoughts (see `geminiTotalGap`): as input
  let outputBeforeThoughts: number | undefined;
  let inputBeforeToolPrompt: number | undefined;
  if (n !== null && !clamped && bad.problem === null && n.legacyOutput === undefined) {
    const gap = geminiTotalGap(msg.model, input, output, cacheRead, cacheWrite, totalRaw);
    if (gap > 0 && isCount(n.reasoning) && n.reasoning > 0) {
      inputBeforeToolPrompt = input;
      input += gap;
    } else if (gap > 0) {
      outputBeforeThoughts = output;
      output += gap;
    }
  }
  const api = str(msg.api);
  // A pi-ai Google line whose thoughts the deployment already counted inside the candidates
  // (see `piAiThoughtsInside`): billed once, under the identity it was billed with before
  let outputWithThoughtsTwice: number | undefined;
  if (
    n === null &&
    !clamped &&
    piAiThoughtsInside(
      api,
      str(providerRaw),
      input,
      output,
      cacheRead,
      cacheWrite,
      totalRaw,
      usage.reasoningTokens ?? usage.reasoning,
    )
  ) {
    outputWithThoughtsTwice = output;
    output -= count(usage.reasoningTokens ?? usage.reasoning) ?? 0;
  }
  let writtenInput: number | undefined;
  if (
    outputWithThoughtsTwice === undefined &&
    inputHoldsCache(api, str(providerRaw), input, output, cacheRead, cacheWrite, totalRaw)
  ) {
    writtenInput = input;
    input -= cacheRead;
  }
  // `cacheWrite1h` is the 1-hour part of `cacheWrite`. More than the whole is inconsistent: the
  // call still happened, so it is billed, with every write at the (higher) 1-hour rate.
  const cacheWrite1h = Math.min(cacheWrite1hRaw, cacheWrite);
  const written = openRouterReportedTotal(providerRaw, usage.cost, recordedCost(usage));
  const cost =
    writtenInput !== undefined
      ? estimateWithoutDoubledCache(usage.cost, written, writtenInput, cacheRead)
      : exclusivePrompt !== null
        ? estimateWithUncachedPrompt(usage.cost, written, usage.input as number, cacheRead)
        : written;
  // Anthropic web searches the call ran, billed per search on top of its tokens (see
  // `webSearchRequestsOf`); a call with searches and no tokens is still a charge.
  const webSearches = webSearchRequestsOf(usage, bad);
  // A call without token counts is billable only when its provider reported charging for it (a
  // per-request price, e.g. OpenRouter's `usage.cost` on a call that reports no tokens).
  const providerBilled = cost.origin === "provider-billed" && cost.usd !== null && cost.usd > 0;
  if (
    input + output + cacheRead + cacheWrite === 0 &&
    webSearches === 0 &&
    bad.problem === null &&
    !providerBilled
  ) {
    // ...but a line whose only count is a positive total (`totalTokens`, `total_tokens`,
    // `totalTokenCount`) says the call used tokens without saying which: a relay that reports the
    // total alone, or a split written under names not read. Held for review with the total (the
    // operator prices it), never dropped as zero usage: before 2026-12-04 it was skipped and never
    // billed (case usage-total-only-held). No such line was billed before, so its identity is new.
    // Gemini's total names (`totalTokenCount`, `total_token_count`) are read with its split only
    // (geminiCounts); a Gemini line with the total alone is such a line too (since 2026-12-04;
    // before, skipped as zero usage: case usage-total-only-held, its Gemini line)
    if (totalRaw === 0) totalRaw = count(pick(null, usage.totalTokenCount, usage.total_token_count));
    if (totalRaw !== null && totalRaw > 0)
      bad.problem = `token total ${totalRaw} without an input/output split (not priced)`;
    else {
      // ...and so is one whose counts are all under names not read (a provider's or SDK's own:
      // see `unreadCounts`), held with those names rather than dropped as zero usage (since
      // 2026-12-04; before, skipped and never billed: case usage-native-count-names)
      // (not in the reader before 2026-12-03 that parseEntry replays with `shadow` null: its
      // names shadowed by a placeholder 0 are no names not read)
      const unread = n !== null && totalRaw !== null && shadow !== null ? unreadCounts(usage) : null;
      if (unread === null) return { kind: "skip", why: "zero-usage" };
      bad.problem = `token counts under names not read (${unread}): not priced`;
    }
  }
  // A call with usage whose line names no provider or model (empty, absent, not text) is still a
  // call the provider charged for: it is held for review with the reason, like an unreadable count
  // (`countProblem`), and priced by the operator (review release --cost-usd). Before 2026-12-03 it
  // was rejected as malformed ("assistant usage without provider/model") and never billed nor held.
  // No such line was billed before, so its identity (provider/model read as UNNAMED) is new.
  const provider = str(providerRaw) ?? UNNAMED;
  const model = str(msg.model) ?? UNNAMED;
  if (provider === UNNAMED || model === UNNAMED)
    bad.problem ??= `call with usage names no ${provider === UNNAMED ? "provider" : "model"} (provider ${nameText(providerRaw)}, model ${nameText(msg.model)}): not priced`;
  // Web searches of a provider with no sourced per-search price (a relay writing another vendor's
  // searches in Anthropic's shape): held for the operator to price rather than billed as tokens
  // alone, unless the provider reported what it billed (that amount holds the searches).
  if (
    webSearches > 0 &&
    !webSearchFeeProvider(provider) &&
    !(cost.origin === "provider-billed" && cost.usd !== null && cost.usd > 0)
  )
    bad.problem ??= `${webSearches} web search request(s) (usage.server_tool_use.web_search_requests) on provider ${nameText(providerRaw)}, which has no per-search price: not priced`;
  // Audio or image tokens, priced above text and counted inside the token totals as text: held
  // for the operator to price (see `modalityTokensOf`), unless the provider reported what it billed.
  const modality = modalityTokensOf(usage);
  if (modality !== null && !(cost.origin === "provider-billed" && cost.usd !== null && cost.usd > 0))
    bad.problem ??= `${modality} priced above text tokens, which the token counts bill as text: not priced`;
  // Audio input billed per minute, outside every token count (Mistral's `prompt_audio_seconds`,
  // and its root `audio_tokens`: see `audioOutsideTokens`): held likewise, since 2026-12-04.
  const audioOutside = audioOutsideTokens(usage);
  if (audioOutside !== null && !(cost.origin === "provider-billed" && cost.usd !== null && cost.usd > 0))
    bad.problem ??= `${audioOutside}: audio billed per minute, outside the token counts: not priced`;
  // Per-use charges beyond the tokens that only a provider-billed cost holds (xAI's server-side
  // tools and Live Search sources, sonar-deep-research's citations, reasoning and searches: see
  // `chargesBeyondTokens`): held for the operator to price, not billed as tokens alone.
  const beyond = chargesBeyondTokens(usage, model);
  if (beyond !== null && !(cost.origin === "provider-billed" && cost.usd !== null && cost.usd > 0))
    bad.problem ??= `${beyond} billed by the provider beyond the token counts, and no provider-billed cost on the line: not priced`;
  // Advisor-model calls outside the top-level counts, at another model's rates (Anthropic's advisor
  // tool: see `advisorIterations`): held for the operator to price, since 2026-12-04.
  const advisor = advisorIterations(usage);
  if (advisor !== null && !(cost.origin === "provider-billed" && cost.usd !== null && cost.usd > 0))
    bad.problem ??= `${advisor} (advisor model tokens outside the top-level counts, billed at the advisor model's rates): not priced`;
  // Anthropic's server-side refusal fallback: a declined attempt billed at its own model's rates
  // outside the top-level counts, or a served model that is not the line's (see
  // `fallbackIterations`): held for the operator to price, since 2026-12-05.
  const fallback = fallbackIterations(
    usage,
    [model, str(msg.responseModel)].filter((m): m is string => m !== undefined && m !== null),
  );
  if (fallback !== null && !(cost.origin === "provider-billed" && cost.usd !== null && cost.usd > 0))
    bad.problem ??= `${fallback} (each attempt billed at its own model's rates): not priced`;

  let messageTsMs: number | null = null;
  // a time written in epoch seconds: its identity keeps the number as written (see below)
  let secondsIdentity: number | null = null;
  let zoneless = false;
  // an entry time written to the whole second or coarser (no fraction): its identity holds the entry id
  let coarseIsoTime = false;
  if (typeof msg.timestamp === "number" && Number.isFinite(msg.timestamp)) {
    messageTsMs = messageTimeMs(msg.timestamp);
    if (isOtherEpochUnit(msg.timestamp)) secondsIdentity = Math.trunc(msg.timestamp);
  } else if (typeof e.timestamp === "string") {
    // Very old pi lines have no message.timestamp: the entry's ISO time is the next best stable value.
    const t = dateParse(e.timestamp);
    if (Number.isFinite(t)) {
      messageTsMs = t;
      // read as UTC (dateParse); its identity may have been billed in another zone before
      if (isZonelessDateTime(e.timestamp)) zoneless = true;
      if (!hasFractionalSeconds(e.timestamp)) coarseIsoTime = true;
    }
  }
  // A call whose line has no readable time is still a call (the provider charged for it; OpenClaw's
  // own usage reader counts such a line at time 0, openclaw/openclaw#100687): its identity takes
  // no time (every copy of it has none) and the reader dates it from the entry before it
  // (BatchBuilder), else it stays at 0 and is held for review. Before 2026-12-03 it was
  // rejected as malformed and never billed.
  const untimed = messageTsMs === null;

  // OpenClaw writes `reasoningTokens`; pi-ai's own Usage calls it `reasoning`. A breakdown of output.
  const reasoningRaw = usage.reasoningTokens ?? usage.reasoning ?? n?.reasoning;
  const reasoning =
    outputBeforeThoughts !== undefined
      ? output - outputBeforeThoughts
      : reasoningRaw === undefined
        ? null
        : count(reasoningRaw);
  const { usd: recordedCostUsd, origin: recordedCostOrigin } = cost;
  const stopReason = str(msg.stopReason);
  const errorText = str(msg.errorMessage);
  const parsed: ParsedUsage = {
    provider,
    model,
    api,
    messageTsMs: messageTsMs ?? 0,
    responseId: str(msg.responseId),
    input,
    output,
    cacheRead,
    cacheWrite,
    cacheWrite1h,
    totalTokens: totalRaw && totalRaw > 0 ? totalRaw : input + output + cacheRead + cacheWrite,
    reasoningTokens: reasoning,
    stopReason,
    isError: stopReason === "error" || stopReason === "aborted" || errorText !== null,
    errorMessage: errorText ? errorText.slice(0, MAX_ERROR_CHARS) : null,
    recordedCostUsd,
    recordedCostOrigin,
  };
  // A time written in epoch seconds: billed at its real time, while its identity keeps the number
  // as written, which the reader before 2026-12-04 took for milliseconds (a call held for review
  // at 1970, perhaps released by the operator since, is the same identity when read again).
  if (secondsIdentity !== null) {
    parsed.identityTsMs = secondsIdentity;
    // A whole second holds every call of it: two users' identical first turn (one system prompt,
    // one short reply) in the same second had one identity, and the second was dropped as a copy
    // of the first. The entry's own id tells them apart, as for a line with no time (below); every
    // copy of the line (a fork, checkpoint, archive, the store's import) keeps it. A call billed or
    // held before under the identity without it is found as a twin (biller.ts `twinBilled`).
    // Since 2026-12-04 evening (case `seconds-time-distinct-sessions`).
    if (isEpochSeconds(msg.timestamp as number)) {
      const entryId = str(e.id);
      if (entryId !== null && entryId.length <= MAX_ENTRY_ID_CHARS) parsed.identityEntryId = entryId;
    }
  }
  // The same for an entry `timestamp` written to the whole second (`2026-11-24T06:00:02Z`, Go's
  // RFC 3339, Python's `isoformat()` of a time without microseconds, `date -u +%FT%TZ`) on a line
  // with no numeric `message.timestamp`: two users' calls of the same counts in one second had one
  // identity and the second was dropped as a copy (2026-12-05, case
  // `iso-whole-second-distinct-sessions`). A call billed or held before under the identity without
  // the id is found as its twin (identity.ts `secondsTwinKeyOf`); a time with a fraction keeps
  // its identity as before.
  if (coarseIsoTime) {
    const entryId = str(e.id);
    if (entryId !== null && entryId.length <= MAX_ENTRY_ID_CHARS) parsed.identityEntryId = entryId;
  }
  if (zoneless) parsed.zonelessTime = true;
  if (untimed) {
    parsed.identityTsMs = 0;
    // Without a time, the entry's own id tells two calls of the same counts apart (two users, one
    // system prompt, one short reply); every copy of the line keeps it (ParsedUsage.identityEntryId).
    // Before the fix of 2026-12-03 (the same day) such calls shared one identity.
    const entryId = str(e.id);
    if (entryId !== null && entryId.length <= MAX_ENTRY_ID_CHARS) parsed.identityEntryId = entryId;
  }
  if (bad.problem !== null) parsed.countProblem = bad.problem;
  if (writtenInput !== undefined) parsed.writtenInput = writtenInput;
  // billed before 2026-12-03 with that negative input read as 0: the identity keeps the 0
  if (exclusivePrompt !== null) parsed.identityInput = 0;
  // A provider's native names (nativeCounts) were read as zero usage before 2026-12-04: such a
  // call was billed then only for a provider-billed cost, under counts of 0; any other is new.
  const legacy = n !== null && "native" in n && !providerBilled ? null : n;
  if (legacy?.legacyInput !== undefined) {
    // A call billed before OpenAI-style cache writes were read keeps the identity it was billed
    // under: its input then still held the writes (see aliasCounts), whether or not
    // inputHoldsCache corrected it then or now (its identity input was this either way).
    const before = Math.max(0, tokenCount(legacy.legacyInput) ?? 0);
    if (before !== (writtenInput ?? input)) parsed.identityInput = before;
  }
  // a call billed before Bedrock's cache names were read keeps the identity it was billed under
  if (legacyCacheRead !== null && legacyCacheRead !== cacheRead) parsed.identityCacheRead = legacyCacheRead;
  if (legacyCacheWrite !== null && legacyCacheWrite !== cacheWrite)
    parsed.identityCacheWrite = legacyCacheWrite;
  // a call billed before reasoning outside its completion count was read keeps that identity
  if (legacy?.legacyOutput !== undefined) {
    const before = Math.max(0, tokenCount(legacy.legacyOutput) ?? 0);
    if (before !== output) parsed.identityOutput = before;
  }
  // billed before 2026-12-04 with its thoughts twice in its output: that identity
  if (outputWithThoughtsTwice !== undefined) parsed.identityOutput = outputWithThoughtsTwice;
  // billed before 2026-12-04 without the thoughts its total shows: that identity
  if (outputBeforeThoughts !== undefined && parsed.identityOutput === undefined)
    parsed.identityOutput = outputBeforeThoughts;
  // billed before 2026-12-04 without the tool-use prompt its total shows: that identity
  if (inputBeforeToolPrompt !== undefined && parsed.identityInput === undefined)
    parsed.identityInput = inputBeforeToolPrompt;
  // The model that answered, when the line names another than the one asked for (see
  // ParsedUsage.responseModel); at most 200 characters, like a pushed model name.
  const served = str(msg.responseModel)?.trim();
  if (served && served !== model && served.length <= MAX_MODEL_CHARS) parsed.responseModel = served;
  // The speed Anthropic served the call at (`usage.speed`, fast mode): only "fast" prices
  // differently; "standard", absent or anything else is a standard call (ParsedUsage.speed).
  const speed = servedSpeed(usage.speed);
  if (speed !== null) parsed.speed = speed;
  // Where Anthropic ran the call (`usage.inference_geo`, data residency): "us" prices at the US-only
  // multiple; "global", absent or anything else is a standard call (ParsedUsage.inferenceGeo).
  const geo = servedInferenceGeo(usage.inference_geo ?? usage.inferenceGeo);
  if (geo !== null) parsed.inferenceGeo = geo;
  // The service tier the provider served the call at, when the line keeps it: in its usage
  // (Anthropic's `usage.service_tier`) or beside it (OpenAI's response-level `service_tier`).
  // Gemini / Vertex name it in their usage metadata's `trafficType` instead (since 2026-12-05).
  const tier =
    servedServiceTier(
      usage.service_tier ?? usage.serviceTier ?? msg.service_tier ?? msg.serviceTier ?? e.service_tier,
    ) ?? servedTrafficType(usage.trafficType ?? usage.traffic_type ?? msg.trafficType);
  if (tier !== null) parsed.serviceTier = tier;
  if (webSearches > 0) parsed.webSearchRequests = webSearches;
  // Perplexity's search context size, which its per-request fee depends on (since 2026-12-05:
  // before, every Sonar call was billed the table's fee, the high one; case
  // usage-perplexity-search-context-fee)
  const context = servedSearchContextSize(usage.search_context_size ?? usage.searchContextSize);
  if (context !== null) parsed.searchContextSize = context;
  const entryId = str(e.id);
  return {
    kind: "usage",
    writtenAtMs: isoMs(e.timestamp),
    content: msg.content,
    clamped,
    usage: parsed,
    entryId: entryId !== null && entryId.length <= MAX_ENTRY_ID_CHARS ? entryId : null,
  };
}
