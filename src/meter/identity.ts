import * as crypto from "node:crypto";
import type { ParsedUsage } from "./types.js";

/**
 * The dedupe identity of a model call: what the call IS, not where it was seen.
 *
 * `<message.timestamp ms as 12 hex digits>-<first 128 bits of sha256(provider, model, message.timestamp ms,
 *   input, output, cacheRead, cacheWrite, responseId?)>`, with `input` as the line wrote it
 *   (`identityInput`, else `writtenInput`, when the parser corrected it), the cache counts as the reader before
 *   2026-12-02 read them (`identityCacheRead` / `identityCacheWrite`, set only where they differ),
 *   the output as the reader before 2026-12-03 read it (`identityOutput`, likewise) and the time 0
 *   for a line with no time of its own (`identityTsMs`; for a `message.timestamp` written in epoch
 *   seconds, the number as written, which the reader before 2026-12-04 took for ms); a cumulative Codex-harness line billed as
 *   its increment keeps its written counts the same way (`writtenInput`, `identityOutput`,
 *   `identityCacheRead`: codex-cumulative.ts). A line with no time of its own that has an entry id
 *   appends it as a tenth field (`identityEntryId`, since 2026-12-03): with no time, nothing else
 *   tells two calls of the same counts apart.
 *
 * Deliberately excluded: the line's `id` (re-appended and migrated lines get new ids) on every
 * line with a time of its own (the identity of every call billed before stays as it was), the
 * file, session and agent (checkpoint copies, `.deleted`/`.reset` archives, the archive table
 * and the JSONL→SQLite import repeat a message elsewhere), and the ISO write time. The
 * provider response id is included when present: every copy of a message carries the same one.
 */
export function dedupeKey(u: ParsedUsage): string {
  // a line with no time of its own keeps none in its identity (ParsedUsage.identityTsMs)
  const ts = u.identityTsMs ?? u.messageTsMs;
  const parts = [
    "v1",
    u.provider,
    u.model,
    msDecimal(ts),
    String(u.identityInput ?? u.writtenInput ?? u.input),
    String(u.identityOutput ?? u.output),
    String(u.identityCacheRead ?? u.cacheRead),
    String(u.identityCacheWrite ?? u.cacheWrite),
    u.responseId ?? "",
  ];
  // only on a line with no time of its own, or one written in epoch seconds (since 2026-12-04
  // evening; ParsedUsage.identityEntryId): every other call's identity keeps its nine fields
  if (u.identityEntryId !== undefined) parts.push(`id:${u.identityEntryId}`);
  // Time-ordered: a fixed-width hex timestamp prefix makes inserts into the UNIQUE indexes
  // (usage_events.dedupe_key, ledger_entries.idempotency_key) land near the right edge of the
  // B-tree instead of on a random page, which keeps a large backlog fast. 128 bits of the hash
  // follow; the timestamp is part of the identity anyway.
  return `${tsHex(ts)}-${sha256Hex(parts.join("\u001f")).slice(0, 32)}`;
}

/** Below this an identity's time (`identityTsMs`) is epoch seconds as written (parse.ts `EPOCH_SECONDS_BELOW`). */
const SECONDS_IDENTITY_BELOW = 1e11;

/**
 * The identity a call whose time was written in epoch seconds (`identityTsMs` in 1 … 10^11 − 1)
 * and whose identity holds its entry id had before 2026-12-04 evening, without that id (and, since
 * 2026-12-05, the same for a call whose entry time was written to the whole second, ISO text with
 * no fraction, which had no id in its identity before); null for every other call. A whole second holds many calls: two users' identical first turn in one
 * second shared that identity (one was dropped as a copy of the other); the entry id tells them
 * apart now, and the biller looks a call up under this one too, for the same session or account
 * only (biller.ts `twinBilled`), so a call held or billed before is never billed again.
 */
export function secondsTwinKeyOf(u: ParsedUsage): string | null {
  const ts = u.identityTsMs;
  // a timed line holds its entry id only for a time in epoch seconds (identityTsMs) or, since
  // 2026-12-05, an entry time written to the whole second (no identityTsMs: parse.ts
  // `hasFractionalSeconds`); a line with no time (identityTsMs 0) always had it
  if (u.identityEntryId === undefined || !(ts === undefined || (ts >= 1 && ts < SECONDS_IDENTITY_BELOW)))
    return null;
  const { identityEntryId: _, ...rest } = u;
  return dedupeKey(rest);
}

/** The `message.api` of a legacy Codex line, and the one OpenClaw's doctor renames it to. */
export const CODEX_RESPONSES_API = "openai-codex-responses";
export const CHATGPT_RESPONSES_API = "openai-chatgpt-responses";
/** The providers doctor renames to `openai` (OpenClaw's `LEGACY_CODEX_PROVIDER_IDS`). */
export const LEGACY_CODEX_PROVIDERS: readonly string[] = ["openai-codex", "codex"];

/**
 * The other spellings of a Codex line's provider (empty for any other line): `openai-codex` and
 * `codex` for a line of provider `openai` with `api` "openai-chatgpt-responses"; `openai` for one
 * of provider `openai-codex` or `codex` (the 2026.4.x Codex harness) with `api`
 * "openai-codex-responses". `openclaw doctor --fix` rewrites every legacy Codex line of a
 * transcript in place from the second spelling to the first (openclaw/openclaw
 * src/commands/doctor-session-transcripts.ts `normalizeLegacyOpenAICodexTranscriptMetadata`;
 * `LEGACY_CODEX_PROVIDER_IDS` = codex, openai-codex), also in its branch repair, whose backup
 * keeps the old spelling, and its SQLite import copies the rewritten lines. The provider is part
 * of a call's identity and of its response identity, so a call billed under one spelling was
 * billed again from a copy under the other (2026-12-03, case
 * `test/cases/doctor-codex-provider-rename`). The identity itself is not changed (an edge, a
 * center and the plugin on different versions still agree on every key): the biller also looks
 * such a call up under its twins' identities (biller.ts `twinBilled`).
 */
export function codexTwinProviders(provider: string, api: string | null | undefined): readonly string[] {
  if (provider === "openai" && api === CHATGPT_RESPONSES_API) return LEGACY_CODEX_PROVIDERS;
  if (LEGACY_CODEX_PROVIDERS.includes(provider) && api === CODEX_RESPONSES_API) return RENAMED_TO;
  return NO_TWINS;
}
const RENAMED_TO: readonly string[] = ["openai"];
const NO_TWINS: readonly string[] = [];

/**
 * Every real UTC offset, in minutes east, but 0: multiples of a quarter hour from UTC−12:00 to
 * UTC+14:00 (Nepal +5:45, Chatham +12:45, Marquesas −9:30 included; IANA tzdata has no other
 * offset since 1980).
 */
const QUARTER_HOUR_OFFSETS: readonly number[] = Array.from(
  { length: (840 + 720) / 15 + 1 },
  (_, i) => -720 + i * 15,
).filter((o) => o !== 0);

/**
 * The times a call whose entry time was written without a zone (`ParsedUsage.zonelessTime`, read
 * as UTC since 2026-12-04) was read as before, on a host whose `TZ` was at any real offset: the
 * same wall clock `utcMs` minus each offset. Its identity under each of them is looked up as a
 * twin (biller.ts `twinBilled`), so a call billed before in any zone is never billed again, and a
 * host whose `TZ` changes between runs bills a later copy (a `.reset` archive) once.
 */
export function zonelessTwinTimes(utcMs: number): number[] {
  return QUARTER_HOUR_OFFSETS.map((o) => utcMs - o * 60_000);
}

/**
 * `String(ms)`. A 13-digit epoch-ms time is a heap number whose decimal conversion is a slow path
 * in V8 (the number-to-string cache misses on every new time); a safe integer >= 10^6 is written
 * as its millions (a small integer) and six zero-padded digits, about three times cheaper. Any
 * other number goes through `String` itself, so the result is the same for every number.
 */
export function msDecimal(ms: number): string {
  if (!(ms >= 1e6 && Number.isSafeInteger(ms))) return String(ms);
  const hi = Math.floor(ms / 1e6);
  const lo = ms - hi * 1e6;
  const pad =
    lo < 10 ? "00000" : lo < 100 ? "0000" : lo < 1000 ? "000" : lo < 10000 ? "00" : lo < 100000 ? "0" : "";
  return `${hi}${pad}${lo}`;
}

/** Char codes of the hex digits. */
const HEX = Array.from("0123456789abcdef", (c) => c.charCodeAt(0));
/** 2^24: `tsHex` writes a timestamp as two 24-bit halves of 6 hex digits each. */
const HALF = 0x1000000;

/**
 * `Math.max(0, ms).toString(16).padStart(12, "0")`, the key's time prefix. An integer in
 * [0, 2^48) (epoch ms until the year 10889) is written digit by digit with one
 * `String.fromCharCode`, ten times cheaper than a radix-16 `toString` (a slow runtime path in
 * V8); anything else (negative, fractional, larger, NaN) goes through that expression itself, so
 * the result is the same for every number.
 */
export function tsHex(ms: number): string {
  if (!(ms >= 0 && ms < HALF * HALF && Number.isInteger(ms)))
    return Math.max(0, ms).toString(16).padStart(12, "0");
  const hi = Math.floor(ms / HALF);
  const lo = ms - hi * HALF;
  return String.fromCharCode(
    HEX[(hi >>> 20) & 15] as number,
    HEX[(hi >>> 16) & 15] as number,
    HEX[(hi >>> 12) & 15] as number,
    HEX[(hi >>> 8) & 15] as number,
    HEX[(hi >>> 4) & 15] as number,
    HEX[hi & 15] as number,
    HEX[(lo >>> 20) & 15] as number,
    HEX[(lo >>> 16) & 15] as number,
    HEX[(lo >>> 12) & 15] as number,
    HEX[(lo >>> 8) & 15] as number,
    HEX[(lo >>> 4) & 15] as number,
    HEX[lo & 15] as number,
  );
}

/**
 * Longest entry id an untimed line's identity takes (`ParsedUsage.identityEntryId`; OpenClaw's are
 * 8 hex digits, a pi or Clawdbot id a UUID): a longer one is left out, as the push API refuses it.
 */
export const MAX_ENTRY_ID_CHARS = 200;

/** One-shot `crypto.hash` (Node ≥20.12) is about twice as fast as createHash on this hot path. */
const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (text) => (crypto as unknown as { hash(alg: string, data: string): string }).hash("sha256", text)
    : (text) => crypto.createHash("sha256").update(text).digest("hex");

/**
 * Shortest provider response id taken as naming one response. Real ids are longer (Anthropic
 * `msg_01…` 30 characters, OpenAI `chatcmpl-…` 38, Responses `resp_…` 50, OpenRouter `gen-…`,
 * Gemini ~22): shorter ones come from servers that do not make them unique, e.g. Ollama's
 * OpenAI-compatible `chatcmpl-<0..999>` (12 characters), and are left to the full identity.
 */
export const MIN_RESPONSE_ID_CHARS = 16;

/**
 * The response identity of a call: `<provider>\u001f<responseId>` when the line carries a
 * provider response id of at least {@link MIN_RESPONSE_ID_CHARS} characters, else null.
 *
 * One provider response is one call, however many times the transcript holds it: OpenClaw wrote
 * the same response again with a new entry id and a new `message.timestamp` seconds later
 * (openclaw/openclaw#47211, #85937 Gemini native streaming, #92563 the thinking-stripped copy,
 * #73119 `sessions_history`), and a streamed response may be written partial first (fewer output
 * tokens, the same id: anthropics/claude-code usage trackers' double counts). Those copies differ
 * in what {@link dedupeKey} hashes, so the biller also refuses a call whose response identity is
 * already billed on the same UTC day, or within an hour across midnight (`usage_response_keys`,
 * migration 38; {@link responseDaysOf}), and, within a batch, bills the copy with the most tokens;
 * a call of another prompt under the same id is another call ({@link promptsOf}, {@link samePrompt}). {@link dedupeKey} itself is unchanged, so calls billed before stay duplicates.
 */
export function responseKeyOf(provider: string, responseId: string | null | undefined): string | null {
  if (!isResponseIdentity(responseId)) return null;
  return `${provider}\u001f${responseId}`;
}

/** A call's prompt counts (its input, cache read and cache write tokens): see {@link promptsOf}. */
export interface PromptCounts {
  input: number;
  cacheRead: number;
  cacheWrite: number;
}

/** The prompt total (input + cache read + cache write) of `p`. */
export function promptTotal(p: PromptCounts): number {
  return p.input + p.cacheRead + p.cacheWrite;
}

/**
 * The prompt counts a call of one response id is told apart by: its counts as read, and as its
 * identity holds them (`identityInput` / `writtenInput`, `identityCacheRead`,
 * `identityCacheWrite`: a row billed before a reading changed holds those).
 *
 * Every copy of one response was sent the same prompt: a copy written again, the thinking-stripped
 * copy and a streamed response's partial and final copies repeat its prompt (only the output
 * grows). A relay or gateway that answers **every** response with the same id (ccusage/
 * ccusage#1635: a local relay's constant message id; #976, #797: proxies without a request id)
 * gives two calls of one conversation the same id with different prompts (each turn sends more
 * than the last). So a call whose response id is billed already is another call only when its
 * prompt cannot be the same one ({@link samePrompt}) (2026-12-04, case
 * `test/cases/response-id-reused-by-relay`).
 */
export function promptsOf(u: {
  input: number;
  cacheRead: number;
  cacheWrite: number;
  identityInput?: number;
  writtenInput?: number;
  identityCacheRead?: number;
  identityCacheWrite?: number;
}): PromptCounts[] {
  const read = { input: u.input, cacheRead: u.cacheRead, cacheWrite: u.cacheWrite };
  const asIdentity = {
    input: u.identityInput ?? u.writtenInput ?? u.input,
    cacheRead: u.identityCacheRead ?? u.cacheRead,
    cacheWrite: u.identityCacheWrite ?? u.cacheWrite,
  };
  return asIdentity.input === read.input &&
    asIdentity.cacheRead === read.cacheRead &&
    asIdentity.cacheWrite === read.cacheWrite
    ? [read]
    : [read, asIdentity];
}

/**
 * Whether a call of prompt counts `a` ({@link promptsOf}) and one of `b` under the same response
 * identity are copies of one response. A streamed response's partial copy is written with the
 * usage known when the stream started, which is not always its final prompt: the cache counts
 * can be missing from it (an Anthropic-compatible gateway that sends them in one event only:
 * 8monkey-ai/hebo-gateway#187, decolua/9router#2209), the prompt can be split otherwise (the
 * whole prompt counted as input at `message_start`, the cache read only at `message_delta`:
 * maximhq/bifrost#6378, envoyproxy/ai-gateway#2241), or absent (input only in the final event).
 * Billing such a partial as another call bills its prompt twice (Piebald-AI/splitrail#220). So
 * two prompts are one when either has none (0), a total is in common, the counts of one are
 * the other's with some missing (each is 0 or equal), or the input of one is the whole prompt
 * of the other; only prompts that differ otherwise (a relay's next turn sends more) are two calls
 * (2026-12-04, case `test/cases/response-partial-prompt-differs`).
 */
export function samePrompt(a: readonly PromptCounts[], b: readonly PromptCounts[]): boolean {
  return a.some((p) => b.some((q) => onePrompt(p, q)));
}

function onePrompt(p: PromptCounts, q: PromptCounts): boolean {
  const tp = promptTotal(p);
  const tq = promptTotal(q);
  if (tp === 0 || tq === 0 || tp === tq) return true;
  if (p.input === tq || q.input === tp) return true;
  return subset(p, q) || subset(q, p);
}

/** Every count of `p` is 0 (missing) or the same in `q`. */
function subset(p: PromptCounts, q: PromptCounts): boolean {
  return (
    (p.input === 0 || p.input === q.input) &&
    (p.cacheRead === 0 || p.cacheRead === q.cacheRead) &&
    (p.cacheWrite === 0 || p.cacheWrite === q.cacheWrite)
  );
}

/**
 * The text a call's response identity is recorded under (`usage_response_keys.response_id`): the
 * response id itself, or, for another call under an id a call of another prompt holds already
 * (`promptsOf`), the id with `\u001fp<prompt total>` appended, so that each such call and
 * its own copies keep one response identity.
 */
export function responseSlotOf(responseId: string, promptTotal: number): string {
  return `${responseId}\u001fp${promptTotal}`;
}

/** Where a call was written, as {@link mayBeCopies} compares it. */
export interface CallPlace {
  sessionId: string | null;
  messageTsMs: number;
  /** The session key (a push carries it, not the session id); compared only where a session id is unknown. */
  sessionKey?: string | null;
}

/**
 * Whether two calls under one response id with the same prompt ({@link samePrompt}) can be copies
 * of one response: written in the same session (OpenClaw writes a response again, or partial then
 * final, in the transcript it streamed into: openclaw/openclaw#47211, #85937, #73119) or at the
 * same message time (a verbatim copy elsewhere: a fork, checkpoint, archive, the store's import),
 * or either place unknown. Two calls in two sessions at two times are two calls (2026-12-04): a
 * relay that answers every response with one id, and two sessions sent the same prompt (every new
 * Telegram user's `/start`, each run of an isolated cron job); before, all but one were dropped.
 */
export function mayBeCopies(a: CallPlace, b: CallPlace): boolean {
  if (a.messageTsMs === b.messageTsMs) return true;
  if (a.sessionId != null && b.sessionId != null) return a.sessionId === b.sessionId;
  // a call pushed live carries its session key, not its session id (2026-12-04, h-diff2): two
  // keys known and different are two sessions (before, every pushed call of the same prompt under
  // a relay's one id was a copy of the first: case
  // test/cases/response-id-reused-same-prompt-other-sessions pushed then metered)
  const ka = a.sessionKey ?? null;
  const kb = b.sessionKey ?? null;
  return ka === null || kb === null || sameSessionKey(ka, kb);
}

/**
 * Whether two session keys name one session as OpenClaw's store compares them
 * (`normalizeStoreSessionKey`: trimmed, lower-cased). The plugin pushes the key as the hook spelled
 * it, the meter reads the store's (lower-cased by current OpenClaw, as written by older ones), so
 * one session's key can reach the center in two letter cases (2026-12-05, case
 * `test/cases/push-session-key-letter-case`: compared as written, a reply pushed under
 * `…:direct:U07ABC123` and its rewritten copy read under `…:direct:u07abc123` were two calls).
 */
export function sameSessionKey(a: string, b: string): boolean {
  return a === b || a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * The slot of another call under a response id whose prompt a call of another session and time
 * holds already ({@link mayBeCopies}): its prompt's slot with its session and message time, which
 * no other call can have (a call of the same session or time with the same prompt is a copy).
 */
export function responsePlaceSlotOf(responseId: string, promptTotal: number, place: CallPlace): string {
  return `${responseSlotOf(responseId, promptTotal)}\u001fs${place.sessionId ?? ""}\u001ft${place.messageTsMs}`;
}

/** True when `responseId` is long enough to name one response (see {@link responseKeyOf}). */
export function isResponseIdentity(responseId: string | null | undefined): responseId is string {
  return typeof responseId === "string" && responseId.length >= MIN_RESPONSE_ID_CHARS;
}

/** The prefix of the identity of a call pushed under an ordinary idempotency key (`POST /v1/usage`). */
export const PUSH_IDENTITY_PREFIX = "push:";

/**
 * Whether a call billed under `dedupeKey` with `responseId` has a response identity: a long
 * enough id ({@link isResponseIdentity}), and not a call pushed under an ordinary idempotency key
 * ({@link PUSH_IDENTITY_PREFIX}): its response id is the pusher's text, which need not name one
 * response, and one pusher's id must never settle another's call (docs/api.md).
 */
export function hasResponseIdentity(
  dedupeKey: string | null | undefined,
  responseId: string | null | undefined,
): responseId is string {
  return isResponseIdentity(responseId) && !dedupeKey?.startsWith(PUSH_IDENTITY_PREFIX);
}

/** Milliseconds in a UTC day. */
const DAY_MS = 86_400_000;
/** A call this close to midnight (ms) is also looked for under the day next to it. */
export const RESPONSE_DAY_MARGIN_MS = 3_600_000;

/**
 * The UTC days under which a response identity is kept and looked for: `[day]` of the message
 * time (`message_ts_ms / 86400000` truncated, as SQL's integer division), plus the previous day
 * within {@link RESPONSE_DAY_MARGIN_MS} after midnight or the next day within it before
 * midnight. So copies of one response are caught on the same UTC day and up to an hour apart
 * across midnight; copies further apart on two days are not (an hour covers every shape reported:
 * seconds apart).
 */
export function responseDaysOf(messageTsMs: number): { day: number; near: number | null } {
  const day = Math.trunc(messageTsMs / DAY_MS) || 0;
  const into = messageTsMs - day * DAY_MS;
  if (into >= 0 && into < RESPONSE_DAY_MARGIN_MS) return { day, near: day - 1 };
  if (into >= DAY_MS - RESPONSE_DAY_MARGIN_MS && into < DAY_MS) return { day, near: day + 1 };
  return { day, near: null };
}
