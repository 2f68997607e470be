import { CHATGPT_RESPONSES_API, CODEX_RESPONSES_API, LEGACY_CODEX_PROVIDERS } from "./identity.js";
import type { ParsedUsage } from "./types.js";

/**
 * OpenClaw's Codex app-server harness, as first shipped (OpenClaw 2026.4.10, openclaw/openclaw#64298),
 * wrote on every turn's assistant line the Codex thread's CUMULATIVE usage: its event projector took
 * `thread/tokenUsage/updated` `tokenUsage.total` (every request of the thread so far) as the turn's
 * usage (`handleTokenUsage` → `createAssistantMessage`: `input = total.inputTokens`,
 * `output = total.outputTokens`, `cacheRead = total.cachedInputTokens`, `totalTokens = total.totalTokens`,
 * `cacheWrite` 0, every cost 0, `api` "openai-codex-responses"). openclaw/openclaw#64669 (opened and
 * merged 2026-04-11) switched it to `tokenUsage.last` (per request). Billed as written, a thread of
 * n turns bills about n²/2 turns.
 *
 * Such a line is billed as its increment over the previous one of its thread, so the thread's total
 * is billed once. It is recognised only where nothing else can have written it:
 *
 * - `api` "openai-codex-responses" (or "openai-chatgpt-responses", doctor's rename of it), `cacheWrite` 0, recorded cost exactly 0, no response id, and
 *   `totalTokens` exactly `input + output` with `input` as written (Codex's total counts the cached
 *   prefix once, inside input). pi-ai's own `openai-codex-responses` lines (the PI runner) write
 *   `input` without the cache and `totalTokens` as the sum of the four counts, so a PI line with
 *   cached tokens never has this shape.
 * - `message.timestamp` in [{@link CODEX_CUMULATIVE_FROM_MS}, {@link CODEX_CUMULATIVE_BEFORE_MS}):
 *   before 2026-04-11 00:00 UTC no build with #64669 existed, so every harness line of this shape
 *   is cumulative; a per-request line (written after the fix) is never reduced. Harness lines
 *   written later by a gateway still on 2026.4.10 are billed as written (README, Known limits).
 *
 * The increment is taken over the previous such line of the same transcript with the same provider
 * and model (the harness keeps one Codex thread per OpenClaw session), only when every count of the
 * line is at least that line's and the line has cached tokens (a later turn of a thread reads its
 * prefix from the cache); anything else (a first line, a new thread whose counts start again lower,
 * a model change) is billed as written. A line whose message time is before the previous one's (a
 * re-appended copy of an earlier message) changes nothing: it is a duplicate of that message.
 */

/** 2026-04-01 00:00 UTC: no Codex-harness line of OpenClaw is older (the harness shipped in 2026.4.10). */
export const CODEX_CUMULATIVE_FROM_MS = Date.UTC(2026, 3, 1);
/** 2026-04-11 00:00 UTC: openclaw/openclaw#64669 did not exist before (opened and merged that day). */
export const CODEX_CUMULATIVE_BEFORE_MS = Date.UTC(2026, 3, 11);

const CODEX_HARNESS_API = CODEX_RESPONSES_API;
/**
 * What `openclaw doctor --fix` renames that api to, in place, in every transcript it checks (with
 * `provider` "codex"/"openai-codex" → "openai"; identity.ts `codexTwinProviders`). A
 * cumulative-era harness line renamed so is the same running total: before 2026-12-03 it was
 * billed whole (case `codex-cumulative-doctor-renamed`).
 */
const RENAMED_HARNESS_API = CHATGPT_RESPONSES_API;
/** The `api` marks a cumulative-era harness line may carry in its raw text (byte-level prefilters). */
export const CODEX_HARNESS_API_MARKS: readonly string[] = [
  `"${CODEX_HARNESS_API}"`,
  `"${RENAMED_HARNESS_API}"`,
];

/**
 * The thread's provider as compared between two lines: doctor's rename makes `codex` and
 * `openai-codex` lines `openai`, so a renamed line continues the thread of an unrenamed copy (a
 * backup, a compaction copy) and vice versa.
 */
function threadProvider(provider: string, api: string | null | undefined): string {
  if (LEGACY_CODEX_PROVIDERS.includes(provider)) return "codex";
  return provider === "openai" && api === RENAMED_HARNESS_API ? "codex" : provider;
}

/** The counts of a cumulative Codex-harness line as written, with what ties it to its thread. */
export interface CodexCumulative {
  /** The thread's provider: `codex` for `codex`, `openai-codex` and a doctor-renamed line (`threadProvider`). */
  provider: string;
  model: string;
  messageTsMs: number;
  /** `usage.input` as written (the thread's prompt tokens so far, cached prefix included). */
  input: number;
  output: number;
  cacheRead: number;
}

/**
 * The written counts of `u` when it is a Codex-harness line of the cumulative era (see the module
 * comment), else null. `u` is the parser's reading: its `input` may already be corrected
 * (`writtenInput` holds the input as written).
 */
export function codexCumulativeOf(u: ParsedUsage): CodexCumulative | null {
  if (u.api !== CODEX_HARNESS_API && u.api !== RENAMED_HARNESS_API) return null;
  if (u.messageTsMs < CODEX_CUMULATIVE_FROM_MS || u.messageTsMs >= CODEX_CUMULATIVE_BEFORE_MS) return null;
  if (u.responseId !== null || u.cacheWrite !== 0 || u.recordedCostUsd !== 0) return null;
  if (u.recordedCostOrigin === "provider-billed" || u.recordedCostPicoUsd !== undefined) return null;
  if (u.identityInput !== undefined || u.identityCacheRead !== undefined || u.identityOutput !== undefined)
    return null;
  const input = u.writtenInput ?? u.input;
  if (u.cacheRead > input || u.totalTokens !== input + u.output) return null;
  return {
    provider: threadProvider(u.provider, u.api),
    model: u.model,
    messageTsMs: u.messageTsMs,
    input,
    output: u.output,
    cacheRead: u.cacheRead,
  };
}

/** What {@link codexIncrement} made of one line: the usage to bill (null: nothing new) and the thread's state after it. */
export interface CodexStep {
  usage: ParsedUsage | null;
  state: CodexCumulative | null;
}

/**
 * One line of a transcript, given the last cumulative Codex-harness line before it in the same
 * transcript (`prev`, null when none): the usage to bill and the state for the next line. A line
 * that is not a cumulative-era harness line is returned as is and leaves the state alone. A
 * continuation of `prev`'s thread is billed as the difference of the written counts (uncached input
 * = Δinput − ΔcacheRead), keeping the identity of its written counts (`writtenInput`,
 * `identityOutput`, `identityCacheRead`); a continuation that adds nothing (`usage` null) is not a
 * call. Never more than the line as written, never a negative count.
 */
export function codexIncrement(u: ParsedUsage, prev: CodexCumulative | null): CodexStep {
  const cur = codexCumulativeOf(u);
  if (cur === null) return { usage: u, state: prev };
  if (prev !== null && cur.messageTsMs < prev.messageTsMs) return { usage: u, state: prev };
  if (
    prev === null ||
    prev.provider !== cur.provider ||
    prev.model !== cur.model ||
    cur.cacheRead === 0 ||
    cur.input < prev.input ||
    cur.output < prev.output ||
    cur.cacheRead < prev.cacheRead
  )
    return { usage: u, state: cur };
  const dInput = cur.input - prev.input;
  const dOutput = cur.output - prev.output;
  const dCache = cur.cacheRead - prev.cacheRead;
  // The new prompt tokens hold the new cached ones; otherwise this is no continuation.
  if (dCache > dInput) return { usage: u, state: cur };
  if (dInput === 0 && dOutput === 0) return { usage: null, state: cur };
  const billed: ParsedUsage = {
    ...u,
    input: dInput - dCache,
    output: dOutput,
    cacheRead: dCache,
    totalTokens: dInput + dOutput,
    reasoningTokens: u.reasoningTokens === null ? null : Math.min(u.reasoningTokens, dOutput),
    writtenInput: cur.input,
  };
  if (dOutput !== cur.output) billed.identityOutput = cur.output;
  if (dCache !== cur.cacheRead) billed.identityCacheRead = cur.cacheRead;
  return { usage: billed, state: cur };
}
