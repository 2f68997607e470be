import { createHash } from "node:crypto";
import { type CodexCumulative, codexCumulativeOf, codexIncrement } from "../codex-cumulative.js";
import { dedupeKey, isResponseIdentity } from "../identity.js";
import {
  endsLikeObject,
  entryEnd,
  gluedEntries,
  hasUserMark,
  INVALID_JSON_REASON,
  type LineResult,
  latencyMs,
  leadingEntry,
  mayBeUsage,
  onlyJunk,
  parseEntry,
  parseLine,
  sessionsSendTargets,
  TRUNCATED_REASON,
  type TurnSource,
  textEndsLikeObject,
  textHasUserMark,
  usageEvent,
} from "../parse.js";
import { makePreview, messageText } from "../preview.js";
import { operatorAccount } from "../resolve-user.js";
import {
  type BlobDone,
  emptyStats,
  type FileCursor,
  type Reject,
  type SessionFact,
  type SourceBatch,
  type SourceStats,
  type SqliteCursorMove,
} from "../source.js";
import type { ParsedUsage, UsageEvent, UsageSource } from "../types.js";
import { EventPacker, type PackedEvents, unpackEvents } from "./event-columns.js";

/** Who a line's calls are billed to. */
export interface LineOwner {
  sessionId: string | null;
  sessionKey: string | null;
  accountId: string;
}

/**
 * A user message still waiting for its reply, in one transcript: when it was sent (epoch ms, null
 * when the line had no usable time) and its redacted preview (null when previews are off).
 */
export interface PendingTurn {
  atMs: number | null;
  preview: string | null;
}

/**
 * Who the calls of a transcript's current turn are billed to, when not the session's payer
 * (`BatchBuilder.origin`): `source` is the mark of the turn's user line (null: the user's own
 * turn, the session's payer); `sent` the sessions the session's own turns since its last unmarked
 * user line wrote to with `sessions_send` (`sessionsSendTargets`: keys, `*` for one named by label):
 * a marked reply from one of them is part of an exchange this session started (OpenClaw's
 * agent-to-agent ping-pong writes each side's reply into the other session as a `sessions_send`
 * message, sessions-send-tool.a2a.ts) and stays with the session's payer.
 */
export interface TurnOrigin {
  source: TurnSource | null;
  sent: readonly string[];
}

/**
 * How many transcripts' resume points (`turnAt` in the JSONL reader, `originAt` in the store
 * reader) a reader remembers. Each is only a shortcut (a resume elsewhere reads back), so the
 * least recently written are dropped past this: a meter following for months holds at most this
 * many (a few hundred bytes each, with a preview) instead of one per transcript ever read.
 */
export const RESUME_MEMORY_ENTRIES = 10_000;

/**
 * Writes `key` into `map` as its newest entry and drops the oldest past `max` entries (a Map's
 * insertion order: least recently written first). For caches whose entries can be rebuilt.
 * @param max - at least 1
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
}

/** A transcript's origin at its start: the session's payer. */
export const OWN_TURN: TurnOrigin = { source: null, sent: [] };

/** At most this many `sessions_send` targets are remembered per exchange (a turn calling it in a loop). */
const MAX_SENT = 32;

/** The origin after a user line marked `source` (null: unmarked), given the one before it. */
export function originAfterUser(before: TurnOrigin, source: TurnSource | null): TurnOrigin {
  if (source === null) return OWN_TURN;
  // the session's own work (an announce, an exec completion): its payer, the exchange goes on
  if (source.kind === "internal")
    return before.source === null ? before : { source: null, sent: before.sent };
  // a marked turn calls nothing on the session's behalf: `sent` stays that of its own turns
  return { source, sent: before.sent };
}

/** The origin after a call whose content is `content`: its `sessions_send` targets added to an own turn's. */
export function originAfterCall(before: TurnOrigin, content: unknown): TurnOrigin {
  if (before.source !== null) return before;
  const targets = sessionsSendTargets(content);
  if (targets.length === 0 || before.sent.length >= MAX_SENT) return before;
  return { source: null, sent: [...before.sent, ...targets].slice(0, MAX_SENT) };
}

/**
 * Short `sessions_send` targets OpenClaw never resolves to another session's full key: `main` (and
 * `global` under `session.scope: "global"`) is the literal main alias (`resolveInternalSessionKey`),
 * whose reply OpenClaw's ping-pong marks with that alias itself, and `current` the requester.
 */
const ALIAS_TARGETS: ReadonlySet<string> = new Set(["main", "global", "current"]);

/** A session id as OpenClaw makes them (`crypto.randomUUID`; its `looksLikeSessionId`). */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether a marked `sessions_send` turn from `key` (null: unnamed) answers one of the session's
 * own sends (`sent`), as OpenClaw resolves a target (`resolveSessionReference`,
 * src/agents/tools/sessions-resolution.ts; the ping-pong marks a reply with the resolved target,
 * sessions-send-tool.a2a.ts): the key itself; a short target written without `agent:<id>:` as the
 * key `agent:<agentId>:<target>` (`agentId` the session's own agent, the one OpenClaw resolves a
 * short key in), or, for a target other than the aliases `main` / `global` / `current`, as
 * `agent:<any id>:<target>` (an older gateway resolved it in its default agent); a session id
 * (OpenClaw resolves one to its session's key: `resolveSessionKeyFromSessionId`) as the key
 * `keyOfSessionId` names for it; any sender when a send named its target by label (`*`). Before
 * 2026-12-03 a short target matched any key ending in `:<target>`, so after a user's send to
 * `main` a turn another agent's main session (`agent:ops:main`) wrote into the DM was billed to
 * the user (case `sessions-send-short-target-other-agent`), and a send by session id matched no
 * key, so the reply to it was billed to the other session's user (case
 * `sessions-send-by-session-id`).
 */
export function answersOwnSend(
  sent: readonly string[],
  key: string | null,
  agentId: string,
  keyOfSessionId: ((sessionId: string) => string | null) | null = null,
  mainKey: string | null = null,
): boolean {
  const main = mainKey?.toLowerCase() ?? null;
  for (const sentTo of sent) {
    for (const t of main && main !== "main" ? underMainKey(sentTo, main) : [sentTo]) {
      if (answersTarget(t, key, agentId, keyOfSessionId, main)) return true;
    }
  }
  return false;
}

/**
 * A target as written and, under a custom `session.mainKey`, as OpenClaw resolves it: `main`
 * (the alias) also as the main key, and `agent:<id>:main` (what `sessionsSendTargets` records for
 * a send naming only `agentId`: OpenClaw's `resolveConfiguredAgentMainSessionKey`) also as
 * `agent:<id>:<mainKey>`. Before 2026-12-03 only `main` was tried: the reply to such a send
 * under a custom main key went to the other session's payer (a tester).
 */
function underMainKey(t: string, main: string): string[] {
  if (t === "main") return [t, main];
  if (t.startsWith("agent:") && t.endsWith(":main") && t.indexOf(":", 6) === t.length - 5)
    return [t, `${t.slice(0, -4)}${main}`];
  return [t];
}

function answersTarget(
  t: string,
  key: string | null,
  agentId: string,
  keyOfSessionId: ((sessionId: string) => string | null) | null,
  main: string | null,
): boolean {
  if (t === "*") return true;
  if (key === null) return false;
  if (key === t) return true;
  if (keyOfSessionId && SESSION_ID.test(t) && keyOfSessionId(t)?.toLowerCase() === key) return true;
  if (t.startsWith("agent:") || !key.startsWith("agent:") || !key.endsWith(`:${t}`)) return false;
  // `agent:<id>:<t>`: the id is one segment
  const id = key.slice("agent:".length, key.length - t.length - 1);
  if (id.length === 0 || id.includes(":")) return false;
  // the main alias (and the main key it stands for) is resolved in the session's own agent only
  return id === agentId.toLowerCase() || !(ALIAS_TARGETS.has(t) || t === main);
}

/**
 * The origin after a transcript's lines, folded newest first (a reader resuming a transcript at a
 * cursor it has no state for): `line` each line (true once decided), then `end` when the lines
 * ran out (the transcript's start or the look-back limit). The lines that matter (user lines and
 * calls naming `sessions_send`) are kept back to the last unmarked user line and replayed in
 * order by `end`, exactly as a read from that line would fold them.
 */
export class OriginScan {
  #kept: ({ user: TurnSource | null } | { content: unknown })[] = [];
  #done = false;

  line(text: string): boolean {
    if (this.#done) return true;
    const user = textHasUserMark(text);
    if (!user && !(text.includes('"sessions_send"') && textMayBeUsage(text))) return false;
    const r = parseLine(text);
    if (r.kind === "usage") {
      this.#kept.push({ content: r.content });
      return false;
    }
    if (r.kind !== "user") return false;
    this.#kept.push({ user: r.source });
    // the last unmarked user line: what follows it starts from the session's own turn
    if (r.source === null) this.#done = true;
    return this.#done;
  }

  end(): TurnOrigin {
    let o = OWN_TURN;
    for (let i = this.#kept.length - 1; i >= 0; i--) {
      const k = this.#kept[i] as { user: TurnSource | null } | { content: unknown };
      o = "user" in k ? originAfterUser(o, k.user) : originAfterCall(o, k.content);
    }
    return o;
  }
}

/**
 * What a transcript line means for latency: a user message (a new pending turn), a billed reply
 * (consumes the pending turn), or neither (null: tool results, zero-usage and synthetic lines,
 * headers, anything unparsable).
 * @param previewChars preview length; 0: previews off (no text is read)
 */
export function turnOf(text: string, previewChars: number): { user: PendingTurn } | "reply" | null {
  const r = parseLine(text);
  if (r.kind === "malformed" && r.reason === INVALID_JSON_REASON) {
    // Complete entries glued on one line (see `gluedEntries`): the last that means something wins.
    const g = gluedEntries(text);
    if (g === null) return null;
    for (let i = g.entries.length - 1; i >= 0; i--) {
      const t = turnOfResult(parseEntry((g.entries[i] as { entry: unknown }).entry), previewChars);
      if (t !== null) return t;
    }
    return null;
  }
  return turnOfResult(r, previewChars);
}

/**
 * The time a transcript line read back before a cursor dates a later call without a time of its
 * own by (`BatchBuilder.datedBy`): a user message's time, or a call's own time; null for any other
 * line (a call without a time of its own included: the one before it decides).
 */
export function datingTimeOf(text: string): number | null {
  const r = parseLine(text);
  if (r.kind === "user") return r.atMs;
  return r.kind === "usage" && r.usage.identityTsMs !== 0 ? r.usage.messageTsMs : null;
}

function turnOfResult(r: LineResult, previewChars: number): { user: PendingTurn } | "reply" | null {
  if (r.kind === "user") return { user: userTurn(r, previewChars) };
  return r.kind === "usage" ? "reply" : null;
}

function userTurn(r: Extract<LineResult, { kind: "user" }>, previewChars: number): PendingTurn {
  return {
    atMs: r.atMs,
    preview: previewChars > 0 ? makePreview(messageText(r.content), previewChars) : null,
  };
}

/**
 * The last billed reply of a transcript with no user line after it (`BatchBuilder.lastReply`): what
 * tells a copy of it that OpenClaw wrote again (see {@link isRewrittenCopy}).
 */
export interface ReplyMark {
  provider: string;
  model: string;
  api: string | null;
  responseId: string | null;
  stopReason: string | null;
  /** Its own `message.timestamp` (epoch ms). */
  tsMs: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  cacheWrite1h: number;
  /** `message.content` as parsed (dropped once its key is taken: {@link replyMarkKept}). */
  content?: unknown;
  /** sha256 of the content without thinking blocks ({@link contentKeyOf}), once taken. */
  contentKey?: string;
}

/** How long after a reply a copy of it may be written and still be taken for one: 30 s. */
export const REWRITTEN_COPY_MAX_MS = 30_000;

/**
 * The mark of a billed reply for {@link isRewrittenCopy}, or null when it cannot be one's original:
 * a line without a time of its own (its identity holds its entry id, which every copy keeps), an
 * error or aborted reply (each retry of a failing request may be charged for the same prompt and
 * write the same empty reply), one with no visible content, or one without prompt counts (input,
 * cache read and cache write all 0: an upstream that reports output only, pi-ai's `x || 0`). What
 * tells a later call from a copy is that its prompt holds more (see {@link isRewrittenCopy}); with
 * no prompt counts only the output and content are left, and a tool loop's next call can repeat
 * both (the same poll, a model-made tool call id such as Kimi's `functions.process:4` again:
 * openclaw/openclaw#40996, #84730). Before 2026-12-03 such a call was skipped as a copy.
 */
export function replyMarkOf(u: ParsedUsage, content: unknown): ReplyMark | null {
  if (u.identityTsMs === 0 || u.isError) return null;
  if ((u.writtenInput ?? u.input) + u.cacheRead + u.cacheWrite === 0) return null;
  if (!Array.isArray(content) || !content.some((c) => !isThinking(c))) return null;
  return {
    provider: u.provider,
    model: u.model,
    api: u.api,
    responseId: u.responseId,
    stopReason: u.stopReason,
    tsMs: u.messageTsMs,
    input: u.writtenInput ?? u.input,
    output: u.output,
    cacheRead: u.cacheRead,
    cacheWrite: u.cacheWrite,
    cacheWrite1h: u.cacheWrite1h ?? 0,
    content,
  };
}

function isThinking(c: unknown): boolean {
  return typeof c === "object" && c !== null && (c as { type?: unknown }).type === "thinking";
}

/** The key of a mark's content: sha256 of its JSON without thinking blocks (taken once). */
function contentKeyOf(m: ReplyMark): string {
  if (m.contentKey === undefined) {
    const visible = Array.isArray(m.content) ? m.content.filter((c) => !isThinking(c)) : [];
    m.contentKey = createHash("sha256").update(JSON.stringify(visible)).digest("base64");
  }
  return m.contentKey;
}

/**
 * The kept mark ({@link replyMarkKept}) of the reply a transcript line read back before a cursor
 * holds (`lookBefore`), or null (not a billed reply, or one no copy is looked for of).
 */
export function replyMarkOfLine(text: string): ReplyMark | null {
  const r = parseLine(text);
  return r.kind === "usage" ? replyMarkKept(replyMarkOf(r.usage, r.content)) : null;
}

/** A mark to keep across polls: its content replaced by its key (a long reply is not held). */
export function replyMarkKept(m: ReplyMark | null): ReplyMark | null {
  if (m === null) return null;
  const { content: _, ...rest } = m;
  return { ...rest, contentKey: contentKeyOf(m) };
}

/**
 * Whether `next` is a copy of the reply `prev` that OpenClaw wrote again (a new entry id and a new
 * `message.timestamp` seconds later: openclaw/openclaw#47211 on 2026.3.11, #85937 Gemini native
 * streaming 1.5–3 s apart, #92563 a copy without the thinking blocks), not a call: the next reply
 * of the same transcript with no user line between them, up to {@link REWRITTEN_COPY_MAX_MS}
 * later, of the same provider, model, api, stop reason, token counts and visible content (thinking
 * blocks aside; two CLI turn lines need not hold the same text: {@link isCliTurnLine}), and
 * without a response id that tells them apart. A later call of the same
 * conversation always sends more than the one before it (the earlier reply, a tool result or a
 * user message is in its prompt), so its counts differ; a copy with a long enough response id is
 * already one call by it (`usage_response_keys`), and one with the same time is the same identity.
 */
export function isRewrittenCopy(prev: ReplyMark | null, next: ReplyMark): boolean {
  if (prev === null) return false;
  const dt = next.tsMs - prev.tsMs;
  if (!(dt > 0 && dt <= REWRITTEN_COPY_MAX_MS)) return false;
  return sameReply(prev, next);
}

/**
 * Whether a mark is a CLI backend's turn line (`api: "cli"`, no response id): one line per turn
 * whose text is the writer's own assembly of the turn's reply. Two writers of one turn assemble it
 * differently (openclaw/openclaw#118185: the runner's `cli-assistant:<runId>` line holds every text
 * segment, the agent command's terminal mirror only the final visible text), so for two such lines
 * the same counts, not the same text, tell the same turn written twice.
 */
function isCliTurnLine(m: ReplyMark): boolean {
  return m.api === "cli" && m.responseId === null;
}

/** Whether two marks hold the same reply, their times aside (see {@link isRewrittenCopy}). */
function sameReply(prev: ReplyMark, next: ReplyMark): boolean {
  if (next.responseId !== prev.responseId || isResponseIdentity(next.responseId)) return false;
  return (
    next.provider === prev.provider &&
    next.model === prev.model &&
    next.api === prev.api &&
    next.stopReason === prev.stopReason &&
    next.input === prev.input &&
    next.output === prev.output &&
    next.cacheRead === prev.cacheRead &&
    next.cacheWrite === prev.cacheWrite &&
    next.cacheWrite1h === prev.cacheWrite1h &&
    ((isCliTurnLine(prev) && isCliTurnLine(next)) || contentKeyOf(next) === contentKeyOf(prev))
  );
}

/**
 * Rebuilds `BatchBuilder.lastReply` from a transcript's lines read back before a cursor, newest
 * first (`lookBefore`, `lookBeforeSeq`): the last billed reply and the replies right before it that
 * hold the same reply ({@link sameReply}), back to a user line or another reply, replayed oldest
 * first as the builder read them. The last reply alone is not enough: when it is a copy the
 * builder skipped, the builder kept its original, and a later line is a copy only within
 * {@link REWRITTEN_COPY_MAX_MS} of that. (Before 2026-12-03 the last reply line was taken: a
 * reply 45 s after its original and 25 s after its skipped copy was billed by a meter that read
 * them in one go and skipped by one that resumed between the copy and it.)
 */
export class LastReplyScan {
  /** Marks of the replies read back, newest first. */
  readonly #marks: (ReplyMark | null)[] = [];
  /** Whether no older line can change the result any more. */
  done = false;

  /** The next older line (one with the usage or user mark), with its {@link turnOf}. */
  line(t: ReturnType<typeof turnOf>, text: string): void {
    if (this.done || t === null) return;
    if (t !== "reply") {
      this.done = true; // a user line
      return;
    }
    const m = replyMarkOfLine(text);
    const last = this.#marks[0];
    if (this.#marks.length > 0 && (m === null || last == null || !sameReply(m, last))) {
      this.done = true;
      return;
    }
    this.#marks.push(m);
    if (m === null) this.done = true;
  }

  /** `BatchBuilder.lastReply` after the lines read back (null when no reply came last). */
  result(): ReplyMark | null {
    let last: ReplyMark | null = null;
    for (let i = this.#marks.length - 1; i >= 0; i--) {
      const m = this.#marks[i] ?? null;
      if (m === null || !isRewrittenCopy(last, m)) last = m;
    }
    return last;
  }
}

/** What precedes a cursor ({@link TurnBackScan}): `BatchBuilder.turn`, `.datedBy` and `.lastReply` there. */
export interface TurnBefore {
  turn: PendingTurn | null;
  datedBy: number | null;
  lastReply: ReplyMark | null;
}

/**
 * Reads a transcript back from a cursor, newest line first, to what the builder had there: the user
 * message still waiting for a reply (`turn`: the last user line, when no billed reply came after
 * it), the time a call without a time of its own right after the cursor is dated by (`datedBy`:
 * that user line's, else the latest line's with one), and the last billed reply
 * ({@link LastReplyScan}). The one rule behind both readers' look-backs: `lookBefore` (JSONL, byte
 * windows that grow) and `lookBeforeSeq` (SQLite store rows); each feeds it only lines with a
 * usage or user mark.
 */
export class TurnBackScan {
  // undefined: not decided yet (no user line or call met)
  #turn: PendingTurn | null | undefined;
  #replies = new LastReplyScan();
  // undefined: not found yet (a reply came last: the time of the latest line with one)
  #datedBy: number | undefined;
  readonly #previewChars: number;
  /** @param previewChars as `turnOf`'s (the user line's preview kept with the turn) */
  constructor(previewChars: number) {
    this.#previewChars = previewChars;
  }

  /**
   * Starts again from the newest line (a wider window of the same bytes): the replies are read
   * back anew, what is already decided (the turn, the dating time) stays.
   */
  restart(): void {
    this.#replies = new LastReplyScan();
  }

  /** The next older line; returns the answer once no older line can change it, else undefined. */
  line(text: string): TurnBefore | undefined {
    if (this.#turn === undefined) {
      const t = turnOf(text, this.#previewChars);
      if (t === "reply") this.#turn = null;
      else if (t) return { turn: t.user, datedBy: t.user.atMs, lastReply: null };
      this.#replies.line(t, text);
    } else if (!this.#replies.done) this.#replies.line(turnOf(text, 0), text);
    // a reply came last: the time of the latest line with one dates what follows
    if (this.#turn === null && this.#datedBy === undefined) this.#datedBy = datingTimeOf(text) ?? undefined;
    if (this.#turn === null && this.#datedBy !== undefined && this.#replies.done) return this.end();
    return undefined;
  }

  /** The answer from the lines read so far (the file's start, or the look-back's limit, reached). */
  end(): TurnBefore {
    return { turn: this.#turn ?? null, datedBy: this.#datedBy ?? null, lastReply: this.#replies.result() };
  }
}

/**
 * The billed calls of a transcript's current turn (since its last user line) that an embedded model
 * runner made (`api` other than `"cli"`): their summed counts as written and the last one's. What
 * tells OpenClaw's end-of-run mirror of a turn ({@link isRunMirror}) from a call.
 */
export interface TurnCalls {
  /** How many calls were summed. */
  n: number;
  sum: CallCounts;
  /** The last call's counts (null: none). */
  last: CallCounts | null;
}

/** A call's four token counts as its line wrote them (`input` before any correction). */
export interface CallCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/** A turn with no call yet: a transcript's start, or right after a user line. */
export function emptyTurnCalls(): TurnCalls {
  return { n: 0, sum: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, last: null };
}

function countsOf(u: ParsedUsage): CallCounts {
  return {
    input: u.writtenInput ?? u.input,
    output: u.output,
    cacheRead: u.cacheRead,
    cacheWrite: u.cacheWrite,
  };
}

function sameCounts(a: CallCounts, b: CallCounts): boolean {
  return (
    a.input === b.input &&
    a.output === b.output &&
    a.cacheRead === b.cacheRead &&
    a.cacheWrite === b.cacheWrite
  );
}

/**
 * `t` after a billed call `u` of its turn: an embedded runner's call (any `api` but `"cli"`) is
 * added; a CLI line (a CLI backend's own turn, or a mirror that was billed) leaves it as it is.
 */
export function withTurnCall(t: TurnCalls, u: ParsedUsage): TurnCalls {
  if (u.api === "cli") return t;
  const c = countsOf(u);
  return { n: t.n + 1, sum: plusCounts(t.sum, c), last: c };
}

/** The field-wise sum of two calls' counts. */
function plusCounts(a: CallCounts, b: CallCounts): CallCounts {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    cacheRead: a.cacheRead + b.cacheRead,
    cacheWrite: a.cacheWrite + b.cacheWrite,
  };
}

/**
 * Whether the call line `u` is OpenClaw's mirror of the turn's run, not a call: an assistant line
 * with `api: "cli"` and no response id (`persistCliTurnTranscript`, which the agent command also
 * runs after an embedded run, `embeddedAssistantGapFill`, when the transcript's last assistant text
 * is not the run's final text, e.g. after `sessions_yield`) whose four counts are exactly those of
 * the embedded calls already billed in the same turn: their sum (the run's usage accumulator,
 * `agentMeta.usage`, OpenClaw 2026.6.11: the run's ten calls 20 / 1468 / 268344 / 4002 written
 * again as one line) or the last one's (`agentMeta.lastCallUsage`, later releases). A CLI backend's
 * own line (`claude-cli`, the only record of its turn) follows no embedded call of its turn; a
 * mirror of a run whose lines were never written (the gap the mirror fills) matches none: both are
 * billed. `t` null: the turn's calls are unknown (a read-back past its limit), nothing is skipped.
 */
export function isRunMirror(t: TurnCalls | null, u: ParsedUsage): boolean {
  if (t === null || t.n === 0 || u.api !== "cli" || u.responseId !== null) return false;
  const c = countsOf(u);
  return sameCounts(c, t.sum) || (t.last !== null && sameCounts(c, t.last));
}

/**
 * The {@link TurnCalls} after a turn's lines, as a builder reading them from the turn's start bills
 * them (rewritten copies and mirrors skipped): `lines` oldest first, each a billed-call candidate
 * with its kept reply mark ({@link replyMarkKept}). Used to read back what precedes a cursor.
 */
export function replayTurnCalls(lines: readonly { usage: ParsedUsage; mark: ReplyMark | null }[]): TurnCalls {
  let t = emptyTurnCalls();
  let last: ReplyMark | null = null;
  for (const { usage, mark } of lines) {
    if (mark !== null && isRewrittenCopy(last, mark)) continue;
    if (isRunMirror(t, usage)) continue;
    last = mark;
    t = withTurnCall(t, usage);
  }
  return t;
}

/**
 * Reads a transcript's current turn back from a cursor, newest line first (see `turnCallsBefore`,
 * `turnCallsBeforeSeq`): collects its call lines up to its last user line.
 */
export class TurnCallsScan {
  readonly #lines: { usage: ParsedUsage; mark: ReplyMark | null; entryId: string | null }[] = [];
  /** Whether the turn's user line was met. */
  done = false;

  /** The next older line's text; true once the turn's user line is met. */
  line(text: string): boolean {
    if (this.done) return true;
    const r = parseLine(text);
    if (r.kind === "user") this.done = true;
    else if (r.kind === "usage")
      this.#lines.push({
        usage: r.usage,
        mark: replyMarkKept(replyMarkOf(r.usage, r.content)),
        entryId: r.entryId,
      });
    return this.done;
  }

  /**
   * The counts the turn's lines billed per entry id, as a builder reading them from the turn's
   * start bills them ({@link replayEntryCalls}); `complete` as in {@link result}, else null.
   */
  entryCalls(complete: boolean): Map<string, ParsedUsage> | null {
    if (!(complete || this.done)) return null;
    return replayEntryCalls([...this.#lines].reverse());
  }

  /** The turn's calls; `complete`: every line back to the turn's start was seen (else null). */
  result(complete: boolean): TurnCalls | null {
    if (!(complete || this.done)) return null;
    return replayTurnCalls([...this.#lines].reverse());
  }
}

/**
 * Of a call billed under an entry id, what a later copy of it is matched with (provider, model,
 * response id: {@link sameEntryCopy}) and billed against (the counts {@link entryIncrement}
 * subtracts, those of {@link SupersededCopy}): all a call of an earlier poll is kept with.
 */
export type EntryCounts = Pick<ParsedUsage, "provider" | "model" | "responseId"> & SupersededCopy["usage"];

/** A call of {@link KeptEntryCalls}: its entry id, its session and its {@link EntryCounts}. */
export interface KeptEntryCall extends EntryCounts {
  readonly entryId: string;
  readonly sessionId: string | null;
}

/**
 * A turn's billed calls by entry id as a reader keeps them between polls
 * (`BatchBuilder.keptEntryCalls`), for every transcript it read: only their {@link EntryCounts},
 * in an array. Kept as whole parsed calls in a map each (2026-12-04, when calls with a response
 * identity joined them: every transcript's last turn then held its calls' `ParsedUsage`), they
 * held ~2 MB more of the reader thread's 32 MB heap on bench:meter's 3,000 transcripts, and its
 * full collections came ~15 % more often (~10 % more meter CPU).
 */
export type KeptEntryCalls = readonly KeptEntryCall[];

/** {@link KeptEntryCalls} with no call: one shared array. */
const NO_KEPT_ENTRY_CALLS: KeptEntryCalls = Object.freeze([]);

/** The {@link KeptEntryCall} of `u` billed under `entryId`: a copy of only the fields it keeps. */
function keptEntryCall(entryId: string, sessionId: string | null, u: EntryCounts): KeptEntryCall {
  return {
    entryId,
    sessionId,
    provider: u.provider,
    model: u.model,
    responseId: u.responseId,
    input: u.input,
    output: u.output,
    cacheRead: u.cacheRead,
    cacheWrite: u.cacheWrite,
    cacheWrite1h: u.cacheWrite1h,
    webSearchRequests: u.webSearchRequests,
    totalTokens: u.totalTokens,
    reasoningTokens: u.reasoningTokens,
    recordedCostUsd: u.recordedCostUsd,
    isError: u.isError,
  };
}

/** A call the current turn billed from a line with an entry id (`BatchBuilder`'s same-entry rule). */
interface EntryCall {
  /** The builder's `take()` count when it was added: its event is in the batch while it holds. */
  generation: number;
  /** Its event's index among the batch's events (`events`, then the packer's). */
  index: number;
  sessionId: string | null;
  accountId: string;
  latency: number | null;
  userPreview: string | null;
  /**
   * The counts billed for it (the copy with the most tokens so far): a line's whole usage, or only
   * its {@link EntryCounts} for a call of an earlier poll a reader kept (generation -1).
   */
  usage: ParsedUsage | EntryCounts;
}

/**
 * Whether two lines of one entry id (`p` read first) are copies of one message as their response
 * ids tell: the same id (or none), or only **one** of them naming a response
 * ({@link isResponseIdentity}). A streamed reply's copies do not always agree on it: the line
 * written while streaming may have none yet (the id arrives with a later event, or a relay sends
 * it only at the end) and the final line has it, or a copy written again drops it; under one
 * entry id such lines are still one message. Before 2026-12-04 a response id on one copy only made
 * them two calls, both billed (the fault of ccusage/ccusage#976 and #797: a message's copies keyed
 * `messageId:requestId` when one has a request id and `messageId` when another has none; case
 * `test/cases/entry-copy-one-response-id`). Two different response identities stay two calls.
 */
export function entryResponsesAgree(p: string | null, u: string | null): boolean {
  return p === u || !isResponseIdentity(p) || !isResponseIdentity(u);
}

/**
 * The call of the current turn that line `u` (entry id `entryId`, of session `sessionId`) is a copy
 * of, or null. OpenClaw's entry ids are unique within a transcript (pi's session writer draws a new
 * one until it is unused), so a later line with an id a billed line of the same transcript has is
 * that message written again (a streamed reply written partial, then with its final usage), not a
 * new call; its `message.timestamp` and counts may differ, which gives it another identity. Lines
 * of the same provider, model and response id (or none) are taken for copies, except two with the
 * same response identity (a long enough `responseId` is one call by it already:
 * `usage_response_keys`, and a later copy's difference is `responseEntryIncrement`'s); since
 * 2026-12-04 also lines of which only one has a response identity ({@link entryResponsesAgree}).
 * Before 2026-12-04 both were billed.
 */
export function sameEntryCopy(
  calls: ReadonlyMap<string, EntryCall>,
  entryId: string | null,
  sessionId: string | null,
  u: ParsedUsage,
): EntryCall | null {
  if (entryId === null) return null;
  const c = calls.get(entryId);
  if (c === undefined || c.sessionId !== sessionId) return null;
  const p = c.usage;
  if (isResponseIdentity(u.responseId) && p.responseId === u.responseId) return null;
  return p.provider === u.provider && p.model === u.model && entryResponsesAgree(p.responseId, u.responseId)
    ? c
    : null;
}

/** Whether `u` holds more tokens than the copy `prior` billed (of equals, the first stands). */
function outweighs(u: ParsedUsage, prior: EntryCall): boolean {
  return heavier(u, prior.usage);
}

/** Whether `u` holds more tokens than `p`. */
function heavier(u: EntryCounts, p: EntryCounts): boolean {
  return u.input + u.output + u.cacheRead + u.cacheWrite > p.input + p.output + p.cacheRead + p.cacheWrite;
}

/**
 * The counts billed per entry id for a turn's call lines read back before a cursor (`lines` oldest
 * first, each with its entry id), as a builder reading them from the turn's start bills them: the
 * rewritten copies and run mirrors {@link replayTurnCalls} skips are skipped, a Codex cumulative
 * line (billed as its increment, never taken for an entry's copy) and a line with a response
 * identity are left out, and of one entry's copies the counts billed in all (the most tokens
 * of those that grew field by field: {@link entryIncrement}) are kept.
 */
export function replayEntryCalls(
  lines: readonly { usage: ParsedUsage; mark: ReplyMark | null; entryId: string | null }[],
): Map<string, ParsedUsage> {
  const out = new Map<string, ParsedUsage>();
  let t = emptyTurnCalls();
  let last: ReplyMark | null = null;
  for (const { usage, mark, entryId } of lines) {
    if (mark !== null && isRewrittenCopy(last, mark)) continue;
    if (isRunMirror(t, usage)) continue;
    if (entryId === null || codexCumulativeOf(usage) !== null) {
      last = mark;
      t = withTurnCall(t, usage);
      continue;
    }
    const p = out.get(entryId);
    if (
      p === undefined ||
      p.provider !== usage.provider ||
      p.model !== usage.model ||
      !entryResponsesAgree(p.responseId, usage.responseId)
    ) {
      // (a same id under another provider or model is not its copy: billed as a call)
      out.set(entryId, usage);
      last = mark;
      t = withTurnCall(t, usage);
      continue;
    }
    // a lesser copy, or one that did not grow field by field, is skipped; a grown one billed its
    // difference (BatchBuilder `#increment`)
    if (!heavier(usage, p) || entryIncrement(p, usage) === null) continue;
    last = mark;
    out.set(entryId, usage);
  }
  return out;
}

/**
 * What copy `u` of a message adds to the copy `p` already billed for it (a streamed reply's final
 * line after the partial one a poll or batch before billed), as a call of its own to bill: every
 * count the difference (`u` minus `p`), its identity that of `u` as written (so reading `u` again,
 * or a copy of the whole transcript, finds it billed), its recorded cost the difference when both
 * lines have one (else none). Null when a count of `u` is below `p`'s (not a later copy of the
 * same call's usage: nothing is billed for it, `p` stands) or `u` adds nothing. The sum of `p`'s
 * and the difference's counts is `u`'s, so the call is billed at its final counts in all.
 */
export function entryIncrement(p: EntryCounts, u: ParsedUsage): ParsedUsage | null {
  const w1h = (u.cacheWrite1h ?? 0) - (p.cacheWrite1h ?? 0);
  const ws = (u.webSearchRequests ?? 0) - (p.webSearchRequests ?? 0);
  const d = {
    input: u.input - p.input,
    output: u.output - p.output,
    cacheRead: u.cacheRead - p.cacheRead,
    cacheWrite: u.cacheWrite - p.cacheWrite,
  };
  if (d.input < 0 || d.output < 0 || d.cacheRead < 0 || d.cacheWrite < 0 || w1h < 0 || ws < 0) return null;
  if (d.input + d.output + d.cacheRead + d.cacheWrite === 0) return null;
  const inc: ParsedUsage = {
    ...u,
    ...d,
    totalTokens: Math.max(0, u.totalTokens - p.totalTokens),
    reasoningTokens:
      u.reasoningTokens === null
        ? null
        : Math.max(0, Math.min(u.reasoningTokens - (p.reasoningTokens ?? 0), d.output)),
    recordedCostUsd:
      u.recordedCostUsd === null || p.recordedCostUsd === null
        ? null
        : Math.max(0, Number((u.recordedCostUsd - p.recordedCostUsd).toFixed(12))),
    // the identity of `u` as written (identity.ts dedupeKey), none of it read as an estimate's
    identityInput: u.identityInput ?? u.writtenInput ?? u.input,
    identityOutput: u.identityOutput ?? u.output,
    identityCacheRead: u.identityCacheRead ?? u.cacheRead,
    identityCacheWrite: u.identityCacheWrite ?? u.cacheWrite,
    // priced at the whole call's long-context tier, without a second per-call fee
    tierInputTotal: u.tierInputTotal ?? u.input + u.cacheRead + u.cacheWrite,
    // an error once per call, as it is one request (usage_events.requests 0): only when this copy
    // made the call an error (the billed copy was not), else a call whose partial and final lines
    // are both errors showed 2 errors for 1 request
    isError: u.isError && !p.isError,
  };
  delete inc.writtenInput;
  delete inc.recordedCostPicoUsd;
  if (w1h > 0) inc.cacheWrite1h = w1h;
  else delete inc.cacheWrite1h;
  if (ws > 0) inc.webSearchRequests = ws;
  else delete inc.webSearchRequests;
  return inc;
}

/**
 * {@link entryIncrement} for a copy `u` with a response identity of a call `p` an earlier batch or
 * poll billed under the same entry id (a streamed reply's partial line, then its final one: pi-ai
 * writes the response id from the stream's first event, so both carry it). The difference is
 * billed without the response id: its response identity is the billed copy's already (a copy of
 * the response read later is a duplicate of it), and under it the biller would take the difference
 * for that copy. Its identity is `u`'s counts and time as written without the id, so reading `u`
 * again bills nothing. Before 2026-12-04 such a final was a duplicate of its partial's response
 * identity and only the partial was billed (case `test/cases/response-final-copy-later-poll`).
 */
export function responseEntryIncrement(p: EntryCounts, u: ParsedUsage): ParsedUsage | null {
  const inc = entryIncrement(p, u);
  return inc === null ? null : { ...inc, responseId: null };
}

/**
 * How many of a turn's calls with a response identity a {@link BatchBuilder} keeps by entry id for
 * {@link responseEntryIncrement} (the last ones read: a streamed partial is the last call read
 * before the poll that reads its final).
 */
const RESPONSE_ENTRY_CALLS_KEPT = 8;

/** What `ParsedUsage.supersedes` holds: a copy's dedupe identity and the counts it billed. */
export interface SupersededCopy {
  key: string;
  usage: Pick<
    ParsedUsage,
    | "input"
    | "output"
    | "cacheRead"
    | "cacheWrite"
    | "cacheWrite1h"
    | "webSearchRequests"
    | "totalTokens"
    | "reasoningTokens"
    | "recordedCostUsd"
    | "isError"
  >;
}

/** `ParsedUsage.supersedes` for copy `p` (undefined when its identity cannot be computed). */
function supersededCopy(p: ParsedUsage): string | undefined {
  const key = identity(p);
  if (key === undefined) return undefined;
  const c: SupersededCopy = {
    key,
    usage: {
      input: p.input,
      output: p.output,
      cacheRead: p.cacheRead,
      cacheWrite: p.cacheWrite,
      cacheWrite1h: p.cacheWrite1h,
      webSearchRequests: p.webSearchRequests,
      totalTokens: p.totalTokens,
      reasoningTokens: p.reasoningTokens,
      recordedCostUsd: p.recordedCostUsd,
      isError: p.isError,
    },
  };
  return JSON.stringify(c);
}

/**
 * The call to bill for event `e` that took the place of a lesser copy of its entry in its batch
 * (`e.supersedes`), when that copy's identity is billed already (`billed`): only what `e` adds to
 * it ({@link entryIncrement}, under `e`'s own identity), or null when `e` adds nothing to it
 * field by field (the copy stands: nothing to bill). `e` as it is when the copy is not billed.
 */
export function supersedingCall<E extends ParsedUsage>(e: E, billed: (key: string) => boolean): E | null {
  if (e.supersedes === undefined) return e;
  let c: SupersededCopy;
  try {
    c = JSON.parse(e.supersedes) as SupersededCopy;
  } catch {
    return e;
  }
  const { supersedes: _, ...whole } = e;
  if (typeof c?.key !== "string" || !billed(c.key)) return whole as E;
  const inc = entryIncrement({ ...whole, ...c.usage }, whole);
  if (inc === null) return null;
  return { ...whole, ...inc } as E;
}

/**
 * Collects one batch: the "parsed line → event, stats, rejects" step shared by every reader
 * (JSONL files, compressed archives, OpenClaw SQLite rows and archive blobs), plus the cursor
 * moves that cover what was collected. `take()` hands out the batch as a value and starts afresh.
 */
export class BatchBuilder {
  events: UsageEvent[] = [];
  rejects: Reject[] = [];
  sessions: SessionFact[] = [];
  stats: SourceStats = emptyStats();
  /** Cursor moves by key (dev:ino, session id): the last move of a key wins. */
  files = new Map<string, FileCursor>();
  sqlite = new Map<string, SqliteCursorMove>();
  blobs: BlobDone[] = [];
  /**
   * Rejects still recorded (with their location) in the current file; past it they are only
   * counted (`stats.malformed`), so one corrupt file cannot flood `meter_rejects`. Set per file
   * by the caller. @defaultValue Infinity
   */
  rejectsLeft = Number.POSITIVE_INFINITY;

  /**
   * The user message of the current transcript still waiting for its first billed reply. The
   * reader sets it when it starts a transcript (null at its start, or what precedes its cursor) and
   * keeps it across batches of the same transcript; `take()` leaves it alone. Setting it also
   * sets `datedBy` to the turn's time (a reader that knows a later time sets `datedBy` after).
   */
  get turn(): PendingTurn | null {
    return this.#turn;
  }
  set turn(t: PendingTurn | null) {
    this.#turn = t;
    this.datedBy = t?.atMs ?? null;
    this.lastReply = null;
    this.turnCalls = emptyTurnCalls();
    this.#callsAfter = emptyTurnCalls();
    this.#entryCalls.clear();
    this.#responseEntryIds.length = 0;
    this.#entriesBefore = null;
  }
  #turn: PendingTurn | null = null;
  /**
   * The current turn's billed calls by entry id (see {@link sameEntryCopy}): a later line of the
   * transcript with the same entry id is the same message written again, not a call. Setting
   * `turn` (a transcript's start, a user line) empties it; `take()` leaves it (a copy of a call of
   * an earlier batch is skipped, its first copy stays billed). Readers neither keep it with their
   * resume point nor read it back: a copy read in a later poll is billed again (README Known limits).
   */
  readonly #entryCalls = new Map<string, EntryCall>();
  /**
   * The entry ids of the calls with a response identity this builder put in `#entryCalls`, oldest
   * first, at most {@link RESPONSE_ENTRY_CALLS_KEPT}: only a turn's last few such calls are kept
   * (a streamed reply's partial, whose final a later poll reads, is the last call read). Keeping
   * every one held each call's parsed usage until its turn ended, which cost the backlog's reader
   * ~10 % of its CPU in garbage collection (2026-12-04 A/B).
   */
  readonly #responseEntryIds: string[] = [];
  /**
   * Reads back what the current turn billed per entry id before the reader's cursor (the counts
   * of each entry's copies billed in earlier polls: {@link replayEntryCalls}), called once, when
   * the first line of the resumed turn with an entry id not in `#entryCalls` comes up; null: none
   * to read (a transcript read from its start, a turn begun since the cursor, or read already).
   */
  #entriesBefore: (() => Map<string, ParsedUsage> | null) | null = null;
  /** Counts `take()`s: an {@link EntryCall} of another generation is no longer in this batch. */
  #generation = 0;
  /**
   * The current transcript's last billed reply with no user line after it ({@link ReplyMark};
   * null: none, or one that no copy is looked for of). Setting `turn` (a transcript's start, a
   * user line) clears it; readers keep it with `turn` across batches and polls of the same
   * transcript, and set it after `turn` when they resume one (`lookBefore`). A reply that is a
   * copy of it ({@link isRewrittenCopy}) is not billed: counted as synthetic.
   */
  lastReply: ReplyMark | null = null;
  /**
   * The current turn's embedded calls billed so far ({@link TurnCalls}): a CLI line that mirrors
   * them ({@link isRunMirror}) is not billed, counted as synthetic. Setting `turn` (a transcript's
   * start, a user line) empties it. Null: unknown (nothing is skipped); undefined: what precedes
   * the reader's cursor is read back (`turnCallsBefore`) when a CLI line first needs it. Readers
   * keep it with `turn` across batches and polls of the same transcript ({@link resumeTurnCalls}).
   */
  turnCalls: TurnCalls | null | undefined = emptyTurnCalls();
  /** Reads back the turn's calls before the reader's cursor (see `turnCalls`); null: none known. */
  turnCallsBefore: (() => TurnCalls | null) | null = null;
  /** The embedded calls billed since the cursor while `turnCalls` is undefined. */
  #callsAfter: TurnCalls = emptyTurnCalls();

  /**
   * Resumes a transcript's turn after `turn` was set: `known` as kept from the last read of the
   * same transcript (undefined: not kept, read back with `before` when a CLI line needs it).
   */
  resumeTurnCalls(
    known: TurnCalls | null | undefined,
    before: (() => TurnCalls | null) | null,
    entriesBefore: (() => Map<string, ParsedUsage> | null) | null = null,
    knownEntries?: KeptEntryCalls,
  ): void {
    this.turnCalls = known;
    this.turnCallsBefore = before;
    this.#callsAfter = emptyTurnCalls();
    this.#entriesBefore = knownEntries === undefined ? entriesBefore : null;
    if (knownEntries !== undefined)
      for (const c of knownEntries)
        this.#entryCalls.set(c.entryId, {
          generation: -1, // billed by an earlier poll: never in this batch
          index: -1,
          sessionId: c.sessionId,
          accountId: "",
          latency: null,
          userPreview: null,
          usage: c,
        });
  }

  /**
   * The current turn's calls by entry id as billed so far, for a reader to keep with its resume
   * point and pass back to {@link resumeTurnCalls} (so a later poll need not read the turn back);
   * undefined while what precedes the cursor was not read back (then it is read back next time).
   */
  get keptEntryCalls(): KeptEntryCalls | undefined {
    if (this.#entriesBefore !== null) return undefined;
    if (this.#entryCalls.size === 0) return NO_KEPT_ENTRY_CALLS;
    const kept: KeptEntryCall[] = [];
    for (const [id, c] of this.#entryCalls) kept.push(keptEntryCall(id, c.sessionId, c.usage));
    return kept;
  }

  /**
   * {@link sameEntryCopy} of line `r`, with the calls of the current turn before the reader's
   * cursor read back first (`#entriesBefore`) when its entry id is not among those known.
   */
  #entryCopyOf(r: Extract<LineResult, { kind: "usage" }>, sessionId: string | null): EntryCall | null {
    this.#readEntriesBefore(r, sessionId);
    return sameEntryCopy(this.#entryCalls, r.entryId, sessionId, r.usage);
  }

  /**
   * The call of an earlier batch or poll of the current turn that line `r`, which has a response
   * identity, is a later copy of (see {@link responseEntryIncrement}), or null.
   */
  #responseEntryCopyOf(
    r: Extract<LineResult, { kind: "usage" }>,
    sessionId: string | null,
  ): EntryCall | null {
    if (r.entryId === null || !isResponseIdentity(r.usage.responseId)) return null;
    this.#readEntriesBefore(r, sessionId);
    const c = this.#entryCalls.get(r.entryId);
    if (c === undefined || c.generation === this.#generation || c.sessionId !== sessionId) return null;
    const p = c.usage;
    return p.provider === r.usage.provider && p.model === r.usage.model && p.responseId === r.usage.responseId
      ? c
      : null;
  }

  /**
   * Notes that a call with a response identity under `entryId` is about to be put in
   * `#entryCalls`, and drops the oldest such call once more than {@link RESPONSE_ENTRY_CALLS_KEPT}
   * are kept (a copy of it read later is then a duplicate of its response identity, as before
   * 2026-12-04).
   */
  #keepResponseEntry(entryId: string): void {
    const ids = this.#responseEntryIds;
    // an entry written again moves to the newest place (its first write must not evict it)
    const at = ids.indexOf(entryId);
    if (at >= 0) ids.splice(at, 1);
    ids.push(entryId);
    if (ids.length <= RESPONSE_ENTRY_CALLS_KEPT) return;
    const oldest = ids.shift() as string;
    const c = this.#entryCalls.get(oldest);
    if (c !== undefined && isResponseIdentity(c.usage.responseId)) this.#entryCalls.delete(oldest);
  }

  /** Reads back the current turn's calls before the cursor once, when line `r`'s entry id is not known. */
  #readEntriesBefore(r: Extract<LineResult, { kind: "usage" }>, sessionId: string | null): void {
    const before = this.#entriesBefore;
    if (before !== null && r.entryId !== null && !this.#entryCalls.has(r.entryId)) {
      this.#entriesBefore = null;
      for (const [id, usage] of before() ?? [])
        if (!this.#entryCalls.has(id))
          this.#entryCalls.set(id, {
            generation: -1, // billed by an earlier poll: never in this batch
            index: -1,
            sessionId,
            accountId: "",
            latency: null,
            userPreview: null,
            usage,
          });
    }
  }

  /** `turnCalls`, read back first when undefined (what precedes the cursor plus what came since). */
  #knownTurnCalls(): TurnCalls | null {
    if (this.turnCalls !== undefined) return this.turnCalls;
    const base = this.turnCallsBefore?.() ?? null;
    const after = this.#callsAfter;
    this.turnCalls =
      base === null
        ? null
        : { n: base.n + after.n, sum: plusCounts(base.sum, after.sum), last: after.last ?? base.last };
    return this.turnCalls;
  }
  /**
   * The time of the last entry of the current transcript read with one (a user message or a call
   * with a time of its own): what a call whose line has no readable time is dated by
   * (`ParsedUsage.identityTsMs`); null: none known (such a call stays at 0 and is held). Readers
   * keep it with `turn` across batches and polls of the same transcript.
   */
  datedBy: number | null = null;

  /**
   * Whose turn the current transcript is in (see `TurnOrigin`): readers keep it with `turn`
   * across batches and polls of the same transcript, and set it when they start one (`OWN_TURN`
   * at its start, else what precedes its cursor: `originBefore` / the store's rows).
   */
  origin: TurnOrigin = OWN_TURN;
  /**
   * The account a session key's calls are billed to (the reader's attribution), for a turn another
   * session wrote (`TurnSource` `session`); null: unknown, such turns go to the operator.
   */
  accountOfKey: ((sessionKey: string) => string) | null = null;
  /**
   * The key of a session by its id (this agent's index or store), for a `sessions_send` that named
   * its target by session id (`answersOwnSend`); null: not looked up.
   */
  keyOfSessionId: ((sessionId: string) => string | null) | null = null;
  /** The configured `session.mainKey` (null: `main`), for `answersOwnSend`. */
  mainKey: string | null = null;
  #keyAccounts = new Map<string, string>();

  /**
   * The Codex-thread state of the current transcript (codex-cumulative.ts): off (false) unless the
   * reader started a transcript with {@link startCodexThread}, so no line is ever measured against
   * another transcript's. Then the last cumulative Codex-harness line read (null: none yet), or
   * undefined until first needed, when `codexBefore` says what precedes the transcript's cursor.
   * Kept across batches of the same transcript, like `turn`.
   */
  codex: CodexCumulative | null | undefined | false = false;
  /**
   * The state before the current transcript's first cumulative Codex-harness line, given that
   * line's message time (epoch ms): what precedes the cursor, else the session's other copies
   * (see `codex`); null: none (the line starts its thread).
   */
  codexBefore: ((tsMs: number) => CodexCumulative | null) | null = null;

  readonly agentId: string;
  readonly source: UsageSource;
  /** Preview length in characters; 0: previews off. */
  readonly previewChars: number;

  /**
   * Set (`pack`): events go here in columns with their dedupe keys, not to `events` (the reader
   * thread; see event-columns.ts), and `takePacked` hands them out.
   */
  readonly packer: EventPacker | null;

  /** With `pack`: asked per event whether to derive its dedupe key here (see `KeysHere`). */
  readonly keysHere: KeysHere;

  /**
   * @param previewChars `CREDITGATE_PREVIEW_CHARS` when previews are on, else 0 (default).
   * @param pack collect events in columns (`takePacked`) instead of `events`. @defaultValue false
   * @param keysHere with `pack`: whether to derive dedupe keys here. @defaultValue always
   */
  constructor(
    agentId: string,
    source: UsageSource,
    previewChars = 0,
    pack = false,
    keysHere: KeysHere = always,
  ) {
    this.agentId = agentId;
    this.source = source;
    this.previewChars = previewChars;
    this.packer = pack ? new EventPacker() : null;
    this.keysHere = keysHere;
  }

  /**
   * Starts a transcript whose cumulative Codex-harness lines are billed as increments
   * (codex-cumulative.ts). `before` says what precedes the first such line read, given its message
   * time (epoch ms): the last such line before the cursor, or one in the session's other copies
   * (called at most once, only when such a line comes up); null: none, its first line starts the
   * thread.
   */
  startCodexThread(before: ((tsMs: number) => CodexCumulative | null) | null): void {
    this.codex = before === null ? null : undefined;
    this.codexBefore = before;
  }

  /** Ends the current transcript's Codex-thread state: its lines are billed as written. */
  endCodexThread(): void {
    this.codex = false;
    this.codexBefore = null;
  }

  /** Events collected so far (in `events` or in columns). */
  get eventCount(): number {
    return this.events.length + (this.packer?.length ?? 0);
  }

  /** A line that is not usable: counted, and recorded while the file's allowance lasts. */
  reject(sourceRef: string, reason: string): void {
    this.stats.malformed++;
    if (this.rejectsLeft-- > 0) this.rejects.push({ sourceRef, reason });
  }

  /**
   * A line the byte pre-filter kept (it may be a billable call): parses it, then counts it as
   * malformed, synthetic, zero-usage or a usage line (one event, located by `eventRef`; a reject
   * by `sourceRef`). Does not count `lines`.
   */
  parsed(text: string, who: LineOwner, sourceRef: string, eventRef: string = sourceRef): void {
    checkLineSize(text.length);
    const r = parseLine(text);
    if (r.kind === "malformed" && r.reason === INVALID_JSON_REASON)
      this.#unglued(text, who, sourceRef, eventRef);
    else this.#counted(r, who, sourceRef, eventRef);
  }

  /**
   * A line the pre-filter kept that is not JSON. When a complete entry was appended after a
   * cut-off fragment (`gluedEntry`), the fragment is rejected as invalid JSON (located by
   * `sourceRef`, as any invalid line) and the entry is taken as a line of its own, located at
   * `<ref>+<its byte offset in the line>` (a distinct ref: the reject table and an unkeyed
   * event are keyed by it). A head that is itself a complete entry (only its newline was lost)
   * is taken too, not rejected. Otherwise the whole line is rejected as invalid JSON.
   */
  #unglued(text: string, who: LineOwner, sourceRef: string, eventRef: string): void {
    const g = gluedEntries(text);
    if (g === null) {
      // a complete entry with text after it that ends in `}` (see parse.ts `leadingEntry`): the
      // entry is read, the text reported, as when the text does not end in `}`
      const lead = leadingEntry(text);
      if (lead === null) this.reject(sourceRef, INVALID_JSON_REASON);
      else {
        this.reject(`${sourceRef}+${lead.end}`, TRUNCATED_REASON);
        this.#entryLine(lead.text, lead.entry, who, sourceRef, eventRef);
      }
      return;
    }
    if (g.fragment) this.reject(sourceRef, INVALID_JSON_REASON);
    // each entry as a line of its own (with the separators after it), located at its byte offset
    // in the line: the line's own ref for one at its start (as for two entries before 2026-12-04)
    g.entries.forEach(({ entry, at }, i) => {
      const end = g.entries[i + 1]?.at ?? text.length;
      const k = at === 0 ? "" : `+${Buffer.byteLength(text.slice(0, at))}`;
      this.#entryLine(text.slice(at, end), entry, who, sourceRef + k, eventRef + k);
    });
  }

  /**
   * One entry recovered from a glued line (`text` is its JSON, `entry` its value), taken as a
   * whole line would be: the pre-filter's marks decide whether it is counted (as in `bytesLine`).
   */
  #entryLine(
    text: string,
    entry: Record<string, unknown>,
    who: LineOwner,
    sourceRef: string,
    eventRef: string,
  ): void {
    if (textMayBeUsage(text)) this.#counted(parseEntry(entry), who, sourceRef, eventRef);
    else if (textHasUserMark(text)) this.#userEntry(entry);
  }

  /** An entry outside the pre-filter that carries the user mark: only tracks the pending turn. */
  #userEntry(entry: unknown): void {
    const r = parseEntry(entry);
    if (r.kind === "user") this.#user(r);
  }

  /** A user line: a new pending turn, and whose turn it is. */
  #user(r: Extract<LineResult, { kind: "user" }>): void {
    this.turn = userTurn(r, this.previewChars);
    this.origin = originAfterUser(this.origin, r.source);
  }

  /**
   * The account a call of the current turn is billed to: the session's (`own`) unless the turn's
   * user line says another session or the operator's automation caused it (`TurnOrigin`).
   */
  #payer(own: string): string {
    const o = this.origin;
    if (o.source === null || o.source.kind === "internal") return own;
    if (o.source.kind === "operator") return operatorAccount(this.agentId);
    if (answersOwnSend(o.sent, o.source.key, this.agentId, this.keyOfSessionId, this.mainKey)) return own;
    const key = o.source.key;
    if (key === null || this.accountOfKey === null) return operatorAccount(this.agentId);
    let a = this.#keyAccounts.get(key);
    if (a === undefined) {
      a = this.accountOfKey(key);
      this.#keyAccounts.set(key, a);
    }
    return a;
  }

  /** `parsed` for a line already parsed into `r`. */
  #counted(r: LineResult, who: LineOwner, sourceRef: string, eventRef: string): void {
    if (r.kind === "malformed") {
      this.reject(sourceRef, r.reason);
    } else if (r.kind === "user") {
      this.#user(r);
    } else if (r.kind === "skip") {
      if (r.why === "synthetic") this.stats.synthetic++;
      else if (r.why === "zero-usage") this.stats.zeroUsage++;
    } else {
      const mark = replyMarkOf(r.usage, r.content);
      if (mark !== null && isRewrittenCopy(this.lastReply, mark)) {
        this.stats.synthetic++; // a copy OpenClaw wrote again, not a call (isRewrittenCopy)
        return;
      }
      if (
        r.usage.api === "cli" &&
        r.usage.responseId === null &&
        isRunMirror(this.#knownTurnCalls(), r.usage)
      ) {
        this.stats.synthetic++; // OpenClaw's mirror of the turn's run, not a call (isRunMirror)
        return;
      }
      const earlier = this.#responseEntryCopyOf(r, who.sessionId);
      if (earlier !== null && outweighs(r.usage, earlier)) {
        // a streamed reply's final line under the response id and entry id of its partial line,
        // which an earlier batch or poll billed: what it adds is billed (responseEntryIncrement)
        const inc = responseEntryIncrement(earlier.usage, r.usage);
        if (inc !== null) {
          this.lastReply = mark;
          this.#increment(earlier, inc, r, who, eventRef);
          return;
        }
      }
      const prior = this.#entryCopyOf(r, who.sessionId);
      if (prior !== null && (prior.generation !== this.#generation || !outweighs(r.usage, prior))) {
        // the same message written again (a streamed partial, then the final): of its copies the
        // one with the most tokens is billed; a lesser one is not a call (counted as synthetic),
        // nor is a greater one whose copy an earlier batch or poll billed, but what it adds to
        // that copy's counts is billed (#increment)
        if (prior.generation !== this.#generation && outweighs(r.usage, prior)) {
          const inc = entryIncrement(prior.usage, r.usage);
          if (inc !== null) {
            this.lastReply = mark;
            this.#increment(prior, inc, r, who, eventRef);
            return;
          }
        }
        this.stats.synthetic++;
        return;
      }
      this.lastReply = mark;
      if (prior !== null) {
        // a copy with more tokens than the one this batch holds: it takes that one's place
        this.stats.synthetic++;
        if (r.usage.identityTsMs !== 0) this.datedBy = r.usage.messageTsMs;
        else if (this.datedBy !== null) r.usage.messageTsMs = this.datedBy;
        this.#replace(prior, r, who, eventRef);
        return;
      }
      if (this.turnCalls === undefined) this.#callsAfter = withTurnCall(this.#callsAfter, r.usage);
      else if (this.turnCalls !== null) this.turnCalls = withTurnCall(this.turnCalls, r.usage);
      let usage = r.usage;
      if (this.codex !== false) {
        // the state before the cursor is looked up only when a cumulative line comes up
        if (this.codex === undefined && codexCumulativeOf(usage) !== null)
          this.codex = this.codexBefore?.(usage.messageTsMs) ?? null;
        if (this.codex !== undefined) {
          const step = codexIncrement(usage, this.codex);
          this.codex = step.state;
          if (step.usage === null) {
            this.stats.zeroUsage++; // a cumulative line that adds nothing to its thread
            return;
          }
          usage = step.usage;
        }
      }
      this.stats.usageLines++;
      if (r.clamped) this.stats.clamped++;
      const accountId = this.#payer(who.accountId);
      this.origin = originAfterCall(this.origin, r.content);
      // The first billed reply after a user line takes its latency and preview; later replies of
      // the same turn (tool-use continuations) have none.
      const t = this.#turn;
      this.#turn = null;
      if (r.usage.identityTsMs === 0) {
        // no time of its own: dated by the entry before it (its turn's user message, or the call
        // before it), else left at 0, which holds it for review; its identity holds no time
        if (this.datedBy !== null) r.usage.messageTsMs = this.datedBy;
      } else this.datedBy = r.usage.messageTsMs;
      const latency = t ? latencyMs(t.atMs, r.writtenAtMs) : null;
      const userPreview = t?.preview ?? null;
      const replyPreview =
        this.previewChars > 0 ? makePreview(messageText(r.content), this.previewChars) : null;
      if (r.entryId !== null && usage === r.usage) {
        if (isResponseIdentity(usage.responseId)) this.#keepResponseEntry(r.entryId);
        this.#entryCalls.set(r.entryId, {
          generation: this.#generation,
          index: this.eventCount,
          sessionId: who.sessionId,
          accountId,
          latency,
          userPreview,
          usage,
        });
      }
      this.#emit(usage, who, accountId, eventRef, latency, userPreview, replyPreview);
    }
  }

  /**
   * A line the usage pre-filter skipped but that carries the user-message mark: parsed only to
   * track the pending turn. Never counted or rejected (before latency, such lines were not
   * parsed at all; a broken one changes nothing).
   */
  userLine(text: string): void {
    checkLineSize(text.length);
    const r = parseLine(text);
    if (r.kind === "user") this.#user(r);
    else if (r.kind === "malformed" && r.reason === INVALID_JSON_REASON) {
      // entries glued on one line (see `gluedEntries`), each taken as its own line
      const g = gluedEntries(text);
      if (g === null) return;
      g.entries.forEach(({ entry, at }, i) => {
        const end = g.entries[i + 1]?.at ?? text.length;
        if (textHasUserMark(text.slice(at, end))) this.#userEntry(entry);
      });
    }
  }

  /**
   * One whole non-blank line as bytes (an archive line, a zstd row): counted; a line that cannot
   * be complete JSON is rejected as truncated; one without the usage marks is skipped undecoded.
   */
  bytesLine(whole: Buffer, who: LineOwner, sourceRef: string, eventRef: string = sourceRef): void {
    let line = whole;
    this.stats.lines++;
    if (!endsLikeObject(line)) {
      // a complete entry with text after it is read (see parse.ts `entryEnd`), the text reported
      const s = line.indexOf(0x7b);
      const end = s === -1 || !isBlank(line.subarray(0, s)) ? -1 : entryEnd(line, s, line.length);
      if (end === -1) {
        this.reject(sourceRef, TRUNCATED_REASON); // cannot be complete JSON: counted, not skipped
        return;
      }
      if (!onlyJunk(line, end, line.length)) this.reject(`${sourceRef}+${end}`, TRUNCATED_REASON);
      line = line.subarray(0, end);
    }
    if (!mayBeUsage(line)) {
      if (hasUserMark(line)) {
        checkLineSize(line.length);
        this.userLine(line.toString("utf8"));
      }
      return;
    }
    checkLineSize(line.length);
    this.parsed(line.toString("utf8"), who, sourceRef, eventRef);
  }

  /**
   * `bytesLine` for a line SQLite already gave as a string: the same outcome for every line (a
   * property test checks it against `bytesLine`), reached in another order. On a string the mark
   * searches cost more than parsing (an 8 kB tool result: ~11 µs for the two searches, ~5 µs for
   * `JSON.parse`), so a line of up to PARSE_FIRST_MAX_CHARS is parsed first, and the marks are
   * only looked for where they decide something: a line that parses to a user message, a call, or
   * a malformed or skipped call; or one that is not valid JSON. A line that parses to anything
   * else (a tool result, a header) means nothing whether or not it has the marks. Longer lines
   * take the marks first (a huge tool result is never parsed, as in `bytesLine`).
   */
  textLine(text: string, who: LineOwner, sourceRef: string): void {
    if (!textEndsLikeObject(text)) {
      // maybe a complete entry with text after it (rare): read as `bytesLine` reads it
      this.bytesLine(Buffer.from(text, "utf8"), who, sourceRef);
      return;
    }
    this.stats.lines++;
    if (text.length <= PARSE_FIRST_MAX_CHARS) {
      let entry: unknown;
      try {
        entry = JSON.parse(text);
      } catch {
        // what `bytesLine` makes of invalid JSON (a glued entry included, see `gluedEntry`)
        if (textMayBeUsage(text)) this.#unglued(text, who, sourceRef, sourceRef);
        else if (textHasUserMark(text)) this.userLine(text);
        return;
      }
      const r = parseEntry(entry);
      if (r.kind === "skip" && r.why === "not-usage") return;
      if (r.kind === "user") {
        if (textHasUserMark(text) || textMayBeUsage(text)) this.#user(r);
        return;
      }
      if (textMayBeUsage(text)) this.#counted(r, who, sourceRef, sourceRef);
      return;
    }
    if (!textMayBeUsage(text)) {
      if (textHasUserMark(text)) this.userLine(text);
      return;
    }
    this.parsed(text, who, sourceRef);
  }

  isEmpty(): boolean {
    return (
      this.eventCount === 0 &&
      this.rejects.length === 0 &&
      this.sessions.length === 0 &&
      this.files.size === 0 &&
      this.sqlite.size === 0 &&
      this.blobs.length === 0
    );
  }

  /**
   * Bills what line `r` adds to its copy `prior` billed by an earlier batch or poll (`inc`: the
   * difference of their counts under `r`'s identity, {@link entryIncrement}) as an event of its
   * own: the payer the turn's (as for any call of it), no latency or user preview (not a reply of
   * its own), `r`'s reply preview and location. The line counts as synthetic (a copy, not a call);
   * `prior` takes `r`'s counts, so a still greater copy adds only what it adds to them.
   */
  #increment(
    prior: EntryCall,
    inc: ParsedUsage,
    r: Extract<LineResult, { kind: "usage" }>,
    who: LineOwner,
    eventRef: string,
  ): void {
    this.stats.synthetic++;
    if (r.clamped) this.stats.clamped++;
    if (inc.identityTsMs !== 0) this.datedBy = inc.messageTsMs;
    else if (this.datedBy !== null) inc.messageTsMs = this.datedBy;
    const accountId = this.#payer(who.accountId);
    const replyPreview =
      this.previewChars > 0 ? makePreview(messageText(r.content), this.previewChars) : null;
    prior.usage = r.usage;
    this.#emit(inc, who, accountId, eventRef, null, null, replyPreview);
  }

  /**
   * Adds one call to the batch: to the column packer when the reader packs (with its identity
   * when `keysHere`), else as a `UsageEvent`. `latency` in ms and the previews as `usageEvent`
   * takes them (null: none).
   */
  #emit(
    usage: ParsedUsage,
    who: LineOwner,
    accountId: string,
    eventRef: string,
    latency: number | null,
    userPreview: string | null,
    replyPreview: string | null,
  ): void {
    if (this.packer)
      this.packer.add(
        usage,
        this.agentId,
        who.sessionId,
        who.sessionKey,
        accountId,
        this.source,
        eventRef,
        latency,
        userPreview,
        replyPreview,
        this.keysHere() ? identity(usage) : undefined,
      );
    else
      this.events.push(
        usageEvent(
          usage,
          this.agentId,
          who.sessionId,
          who.sessionKey,
          accountId,
          this.source,
          eventRef,
          latency,
          userPreview,
          replyPreview,
        ),
      );
  }

  /**
   * Puts the call of line `r` in the place of its earlier copy `prior` in this batch (see
   * {@link sameEntryCopy}): the payer, latency and user preview stay the first copy's (the turn it
   * answered); the counts, time, reply preview and location are this line's.
   */
  #replace(
    prior: EntryCall,
    r: Extract<LineResult, { kind: "usage" }>,
    who: LineOwner,
    eventRef: string,
  ): void {
    // the copy first read in this batch, which may be billed already from another file (a logrotate
    // copy read after the live transcript): then the biller bills only what this one adds to it
    // a call of this batch (the caller's rule): a line's whole usage, never kept EntryCounts
    const billed = prior.usage as ParsedUsage;
    const supersedes = billed.supersedes ?? supersededCopy(billed);
    const usage: ParsedUsage = supersedes === undefined ? r.usage : { ...r.usage, supersedes };
    const replyPreview =
      this.previewChars > 0 ? makePreview(messageText(r.content), this.previewChars) : null;
    if (this.packer)
      this.packer.replace(
        prior.index - this.events.length,
        usage,
        this.agentId,
        who.sessionId,
        who.sessionKey,
        prior.accountId,
        this.source,
        eventRef,
        prior.latency,
        prior.userPreview,
        replyPreview,
        this.keysHere() ? identity(usage) : undefined,
      );
    else
      this.events[prior.index] = usageEvent(
        usage,
        this.agentId,
        who.sessionId,
        who.sessionKey,
        prior.accountId,
        this.source,
        eventRef,
        prior.latency,
        prior.userPreview,
        replyPreview,
      );
    prior.usage = usage;
  }

  /**
   * `take()` and, with `pack`, the events in columns (the batch's `events` then hold none;
   * `unpackEvents` gives them back). Null without `pack`.
   */
  takePacked(): { batch: SourceBatch; packed: PackedEvents | null } {
    const packed = this.packer ? this.packer.take() : null;
    return { batch: this.take(), packed };
  }

  /** The batch collected so far, as a value (cursor moves included); the builder starts afresh. */
  take(): SourceBatch {
    // (with `pack`, a caller that takes plain batches still gets every event)
    if (this.packer && this.packer.length > 0) this.events.push(...unpackEvents(this.packer.take()));
    const batch: SourceBatch = {
      events: this.events,
      rejects: this.rejects,
      sessions: this.sessions,
      stats: this.stats,
    };
    if (this.files.size > 0 || this.sqlite.size > 0 || this.blobs.length > 0) {
      batch.cursorMoves = {};
      if (this.files.size > 0) batch.cursorMoves.files = [...this.files.values()];
      if (this.sqlite.size > 0) batch.cursorMoves.sqlite = [...this.sqlite.values()];
      if (this.blobs.length > 0) batch.cursorMoves.blobs = this.blobs;
    }
    this.events = [];
    this.rejects = [];
    this.sessions = [];
    this.stats = emptyStats();
    this.files = new Map();
    this.sqlite = new Map();
    this.blobs = [];
    this.#keyAccounts.clear();
    this.#generation++;
    return batch;
  }
}

/**
 * Lines of at most this many UTF-16 code units are parsed before their marks are searched
 * (`textLine`); longer ones are searched first, so a tool result of megabytes is never parsed.
 */
export const PARSE_FIRST_MAX_CHARS = 65_536;
/**
 * The longest line (in bytes, or UTF-16 units once decoded) a reader decodes and parses, and what
 * happens to a longer one: nothing by default (the main thread parses any line the process can
 * hold). The reader thread (jsonl-worker.ts) runs with small heap limits; a user or usage line of
 * ~45 MB or more (base64 images inline in a user message, openclaw/openclaw#16358, #108071)
 * did not end the thread there but aborted the whole process (V8's fatal out-of-memory while
 * JSON.parse allocated the line's strings: exit 134, nothing billed, every poll again). It stops
 * itself before decoding such a line instead, and the main thread reads on from the committed
 * cursors (jsonl-thread.ts).
 */
let maxLineSize = Number.POSITIVE_INFINITY;
let lineTooBig: (size: number) => void = () => {};

/** Sets {@link checkLineSize}'s limit and what it calls for a longer line (the reader thread's). */
export function limitLineSize(max: number, tooBig: (size: number) => never): void {
  maxLineSize = max;
  lineTooBig = tooBig;
}

/** Before a line of `size` bytes (or UTF-16 units) is decoded or parsed: see {@link limitLineSize}. */
export function checkLineSize(size: number): void {
  if (size > maxLineSize) lineTooBig(size);
}

/** `mayBeUsage` on a string: both marks are in it. */
function textMayBeUsage(text: string): boolean {
  return text.includes('"usage"') && text.includes('"assistant"');
}

/**
 * Whether the reader derives a packed event's dedupe key itself (true) or leaves it to the biller,
 * which derives every missing key with the same function (`e.dedupeKey ?? dedupeKey(e)`): where
 * it is computed changes nothing but which thread spends the ~3 µs per call. The reader thread
 * passes "the writer has batches waiting" (see jsonl-worker.ts), so the work goes to whichever
 * thread is idle.
 */
export type KeysHere = () => boolean;
const always: KeysHere = () => true;

/** The call's dedupe key, or undefined when it cannot be derived (the biller holds it for review). */
function identity(u: ParsedUsage): string | undefined {
  try {
    return dedupeKey(u);
  } catch {
    return undefined;
  }
}

/** Calls `fn(line, lineNo, byteOffset)` for each non-blank line of `content` (CR of CRLF dropped). */
export function forEachLine(content: Buffer, fn: (line: Buffer, lineNo: number, at: number) => void): void {
  for (const [line, lineNo, at] of eachLine(content)) fn(line, lineNo, at);
}

/**
 * Each non-blank line of `content` as `[line, lineNo, byteOffset]` (CR of CRLF dropped); lines are
 * views into `content`, not copies. For a caller that must pause between lines (await a batch).
 * A run of NUL bytes ends a line like a newline (a crash's zero fill: see jsonl-reader.ts
 * `ZERO_FILL`), so the complete entries before and after it are lines of their own; line numbers
 * count physical lines (newlines).
 */
export function* eachLine(content: Buffer): Generator<[Buffer, number, number]> {
  let lineNo = 1;
  let start = bomLength(content, 0);
  let zeroAt = content.indexOf(0x00, start);
  let newlineAt = content.indexOf(0x0a, start);
  let crAt = loneCrAt(content, start);
  // the newline-ended line of the last non-blank piece yielded (see jsonl-reader.ts `scanLines`;
  // pieces split by a NUL run or a lone CR are pieces of it)
  let pieceOf = -1;
  let newlineNo = 0;
  while (start < content.length) {
    if (newlineAt !== -1 && newlineAt < start) newlineAt = content.indexOf(0x0a, start);
    // a CR in the white space before a line's first byte is white space, not a line end
    const lead = firstNonBlank(content, start);
    if (crAt !== -1 && crAt < lead) crAt = loneCrAt(content, lead);
    // a lone CR ends a line like a newline (LONE_CR)
    let end = crAt !== -1 && (newlineAt === -1 || crAt < newlineAt) ? crAt : newlineAt;
    if (end === -1) end = content.length;
    if (zeroAt !== -1 && zeroAt < start) zeroAt = content.indexOf(0x00, start);
    const zeroEnds = zeroAt !== -1 && zeroAt < end;
    if (zeroEnds) end = zeroAt;
    const no = lineNo;
    const piece = newlineNo;
    const at = start;
    let line = content.subarray(start, end);
    start = end + 1;
    if (zeroEnds) while (start < content.length && content[start] === 0x00) start++;
    else lineNo++;
    if (end === newlineAt || end === content.length) newlineNo++;
    if (line.at(-1) === 0x0d) line = line.subarray(0, line.length - 1);
    // byte order marks before a line (one that began another file: see jsonl-reader `scanLines`)
    while (bomLength(line, 0) === 3) line = line.subarray(3);
    if (line.length === 0 || isBlank(line)) continue;
    // a later piece of the same line, after a NUL run, that is no entry (binary garbage): skipped
    if (pieceOf === piece && line[firstNonBlank(line)] !== 0x7b) continue;
    pieceOf = piece;
    yield [line, no, at];
  }
}

/**
 * A carriage return (0x0D) not followed by a newline: a line end of its own. A transcript whose
 * lines end in a lone CR (classic Mac line ends: a file passed through `unix2mac`/`mac2unix -c`,
 * an editor or a sync tool set to CR, or a copy from a system that writes them) has no newline at
 * all; readers of line-delimited JSON that split on every line end (Node's `readline`, Python's
 * universal newlines; "Mac users do sometimes give me files where lines are terminated by '\r'",
 * wardi/jsonlines#3) read it, and creditgate, splitting on newlines only, waited for good for one:
 * its calls were never billed, silently (case `lone-cr-line-ends`). JSON text holds a raw CR only
 * as white space between tokens (JSON.stringify and JSONL writers write none): such a CR inside an
 * entry ends no line ({@link crEndsLine}). The CR of a CRLF stays part of its line (a CRLF file reads as before); a CR
 * that is the last byte read is taken as a line end (a CRLF's LF read later is a blank line).
 */
export const LONE_CR = 0x0d;

/**
 * Position of the first lone CR that ends a line (LONE_CR: a CR whose next byte is not a newline,
 * {@link crEndsLine}) at or after `from`, or -1.
 */
export function loneCrAt(data: Uint8Array, from: number): number {
  let i = data.indexOf(LONE_CR, from);
  // a CRLF's CR is skipped: in a CRLF file this walks each CR once per buffer, and finds none
  while (i !== -1 && !crEndsLine(data, i)) i = data.indexOf(LONE_CR, i + 1);
  return i;
}

/**
 * Whether the CR at `i` ends a line: not a CRLF's, and not JSON white space inside an entry. An
 * entry's text may hold a raw CR between tokens (`{"a":1,\r"b":2}` is one JSON object); such a
 * line was billed whole before lone CRs ended lines, and split there it was two malformed pieces,
 * its call lost. A CR between two entries follows an object's closing `}` and comes before the next
 * one's `{` (or a newline, a NUL, the data's end), and inside one JSON value `}` is never followed
 * by `{`; so a lone CR ends a line only there (white space around it skipped). Any other CR (in
 * binary garbage too) stays part of its line, as before lone CRs ended lines.
 */
export function crEndsLine(data: Uint8Array, i: number): boolean {
  if (data[i + 1] === 0x0a) return false;
  let p = i - 1;
  while (p >= 0 && (data[p] === 0x20 || data[p] === 0x09 || data[p] === LONE_CR)) p--;
  // (a NUL before or after it: a UTF-16 line's CR, or a zero fill, which ends lines anyway)
  if (p >= 0 && data[p] !== 0x7d && data[p] !== 0x00 && data[p] !== 0x0a) return false;
  const k = firstNonBlank(data, i + 1);
  const after = k < data.length ? data[k] : -1;
  return after === -1 || after === 0x7b || after === 0x0a || after === 0x00 || after === 0xef;
}

/**
 * Position of the first line end in `data` (a newline, or a lone CR that ends a line:
 * {@link loneCrAt}), or -1.
 */
export function firstLineEnd(data: Uint8Array): number {
  const nl = data.indexOf(0x0a);
  const cr = loneCrAt(data, 0);
  return cr !== -1 && (nl === -1 || cr < nl) ? cr : nl;
}

/**
 * Index of the first byte of `data` at or after `from` that is not a space, tab or CR
 * (`data.length` when none).
 */
export function firstNonBlank(data: Uint8Array, from = 0): number {
  let i = from;
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x09 || data[i] === 0x0d)) i++;
  return i;
}

/**
 * 3 when `data` holds a UTF-8 byte order mark (EF BB BF) at `at`, else 0. A file written on Windows
 * (PowerShell 5.1, some editors; openclaw/openclaw#100289) may start with one: it is not part of
 * the first line's JSON, so a reader skips it at a file's byte 0, and only there.
 */
export function bomLength(data: Buffer, at: number): number {
  return data[at] === 0xef && data[at + 1] === 0xbb && data[at + 2] === 0xbf ? 3 : 0;
}

function isBlank(line: Buffer): boolean {
  for (const byte of line) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false;
  return true;
}
