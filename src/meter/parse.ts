import type { ParsedUsage } from "./types.js";

/**
 * The one transcript-line parser, shared by the JSONL and SQLite sources (their JSON events
 * have the same shape). Pure: no I/O.
 *
 * A line is billable when it is `{type:"message", message:{role:"assistant", usage:{...}}}`
 * with non-zero token usage and a provider that is not OpenClaw itself (`provider:"openclaw"`
 * marks synthetic lines: `delivery-mirror`, `gateway-injected`).
 */
export type LineResult =
  | { kind: "usage"; usage: ParsedUsage }
  /** Valid JSON that is not a billable call (user line, header, zero-usage error, synthetic). */
  | { kind: "skip"; why: SkipReason }
  /** Not JSON, or a message line with unusable usage fields. */
  | { kind: "malformed"; reason: string };

export type SkipReason = "not-usage" | "synthetic" | "zero-usage";

export const USAGE_MARK = Buffer.from('"usage"');
export const ASSISTANT_MARK = Buffer.from('"assistant"');

/**
 * Cheap byte-level pre-filter: a line that contains neither `"usage"` nor `"assistant"` cannot
 * be a billable call, so it is never decoded or JSON-parsed. This is what lets the meter read
 * faster than a naive pass that parses every line.
 */
export function mayBeUsage(line: Buffer): boolean {
  return line.includes(USAGE_MARK) && line.includes(ASSISTANT_MARK);
}

const MAX_ERROR_CHARS = 300;

function count(v: unknown): number | null {
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) return null;
  return v;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v.length > 0 ? v : null;
}

/** Parses one complete transcript line (without its newline). */
export function parseLine(text: string): LineResult {
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return { kind: "malformed", reason: "invalid JSON" };
  }
  return parseEntry(entry);
}

/** Parses an already-decoded transcript entry. */
export function parseEntry(entry: unknown): LineResult {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    return { kind: "malformed", reason: "line is not a JSON object" };
  }
  const e = entry as Record<string, unknown>;
  if (e.type !== "message") return { kind: "skip", why: "not-usage" };
  const m = e.message;
  if (typeof m !== "object" || m === null)
    return { kind: "malformed", reason: "message line without message" };
  const msg = m as Record<string, unknown>;
  if (msg.role !== "assistant") return { kind: "skip", why: "not-usage" };
  const u = msg.usage;
  if (u === undefined || u === null) return { kind: "skip", why: "not-usage" };
  if (typeof u !== "object") return { kind: "malformed", reason: "usage is not an object" };
  const usage = u as Record<string, unknown>;

  const provider = str(msg.provider);
  if (provider === "openclaw") return { kind: "skip", why: "synthetic" };

  const input = count(usage.input);
  const output = count(usage.output);
  const cacheRead = count(usage.cacheRead);
  const cacheWrite = count(usage.cacheWrite);
  const cacheWrite1hRaw = count(usage.cacheWrite1h);
  if (
    input === null ||
    output === null ||
    cacheRead === null ||
    cacheWrite === null ||
    cacheWrite1hRaw === null
  ) {
    return { kind: "malformed", reason: "usage token counts must be non-negative integers" };
  }
  // `cacheWrite1h` is the 1-hour part of `cacheWrite`. More than the whole is inconsistent: the
  // call still happened, so it is billed, with every write at the (higher) 1-hour rate.
  const cacheWrite1h = Math.min(cacheWrite1hRaw, cacheWrite);
  if (input + output + cacheRead + cacheWrite === 0) return { kind: "skip", why: "zero-usage" };
  if (provider === null) return { kind: "malformed", reason: "assistant usage without provider" };
  const model = str(msg.model);
  if (model === null) return { kind: "malformed", reason: "assistant usage without model" };

  let messageTsMs: number | null = null;
  if (typeof msg.timestamp === "number" && Number.isFinite(msg.timestamp))
    messageTsMs = Math.trunc(msg.timestamp);
  else if (typeof e.timestamp === "string") {
    // Very old pi lines have no message.timestamp: the entry's ISO time is the next best stable value.
    const t = Date.parse(e.timestamp);
    if (Number.isFinite(t)) messageTsMs = t;
  }
  if (messageTsMs === null) return { kind: "malformed", reason: "assistant usage without a timestamp" };

  const totalRaw = count(usage.totalTokens);
  // OpenClaw writes `reasoningTokens`; pi-ai's own Usage calls it `reasoning`. A breakdown of output.
  const reasoningRaw = usage.reasoningTokens ?? usage.reasoning;
  const reasoning = reasoningRaw === undefined ? null : count(reasoningRaw);
  const cost = usage.cost;
  let recordedCostUsd: number | null = null;
  let recordedCostOrigin: "provider-billed" | null = null;
  if (typeof cost === "object" && cost !== null) {
    const c = cost as Record<string, unknown>;
    if (typeof c.total === "number" && Number.isFinite(c.total) && c.total >= 0) {
      recordedCostUsd = c.total;
      // OpenClaw's only origin value: the provider reported what it billed (authoritative).
      if (c.totalOrigin === "provider-billed") recordedCostOrigin = "provider-billed";
    }
  }
  const stopReason = str(msg.stopReason);
  const errorText = str(msg.errorMessage);
  return {
    kind: "usage",
    usage: {
      provider,
      model,
      api: str(msg.api),
      messageTsMs,
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
    },
  };
}
