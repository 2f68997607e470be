/**
 * The usage archive file format (docs/retention.md): zstd-compressed JSONL, one usage row per
 * line, one JSON object with the keys of {@link ARCHIVE_COLUMNS} in that order. Integers are JSON
 * numbers; an integer past 2^53 − 1 (possible only in the pico-USD columns) is written as a
 * decimal string so that no JSON reader rounds it. Read with `zstd -dc FILE` (or `zstdcat`).
 */
import { createHash } from "node:crypto";
import { Zstd } from "@hpcc-js/wasm-zstd";
import { decompress } from "fzstd";

/** The columns of an archived usage row: `usage_events` as stored, plus the derived `kind`. */
export const ARCHIVE_COLUMNS = [
  "id",
  "dedupe_key",
  "ledger_entry_id",
  "account_id",
  "agent_id",
  "session_id",
  "session_key",
  "kind",
  "source",
  "source_ref",
  "provider",
  "model",
  "api",
  "response_id",
  "message_ts_ms",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "cache_write_1h_tokens",
  "total_tokens",
  "reasoning_tokens",
  "stop_reason",
  "is_error",
  "error_message",
  "recorded_cost_pico_usd",
  "cost_pico_usd",
  "table_cost_pico_usd",
  "charge_micro_credits",
  "price_source",
  "price_version",
  "unknown_model",
  "anomaly",
  "created_at_ms",
  // model latency (user message to reply, ms; migration 25): kept so `report --archive` still has
  // avg/p95 for archived months. Previews are NOT archived: they go with the rows.
  "latency_ms",
  // requests the row counts as (migration 39): 0 for a later copy's difference, else 1; a line
  // without it (every file written before 2026-12-04) is read as 1
  "requests",
  // the charge's USD value at the rate it was charged at (migration 42); null in a line without it
  // (every file written before 2026-12-04) and for rows billed before (valued at today's rate)
  "charge_pico_usd",
] as const;
export type ArchiveColumn = (typeof ARCHIVE_COLUMNS)[number];
/** One archived row as read back: integers as bigint (exact), text as string, or null. */
export type ArchiveRow = Record<ArchiveColumn, string | bigint | null>;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** One JSON line (no newline) of a row read with `safeIntegers(true)`. Deterministic: same row, same bytes. */
export function archiveLine(row: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const c of ARCHIVE_COLUMNS) {
    const v = row[c];
    let text: string;
    if (v === null || v === undefined) text = "null";
    else if (typeof v === "bigint") text = v > MAX_SAFE || v < -MAX_SAFE ? `"${v}"` : v.toString();
    else if (typeof v === "number") text = Number.isFinite(v) ? String(v) : "null";
    else text = JSON.stringify(String(v));
    parts.push(`${JSON.stringify(c)}:${text}`);
  }
  return `{${parts.join(",")}}`;
}

/** The text columns of {@link ARCHIVE_COLUMNS}; every other column is an integer (read back as bigint). */
export const TEXT_COLUMNS: ReadonlySet<ArchiveColumn> = new Set<ArchiveColumn>([
  "dedupe_key",
  "account_id",
  "agent_id",
  "session_id",
  "session_key",
  "kind",
  "source",
  "source_ref",
  "provider",
  "model",
  "api",
  "response_id",
  "stop_reason",
  "error_message",
  "price_source",
  "price_version",
  "anomaly",
]);

/**
 * Parses one archive line. Integers come back as bigint (exact whether written as a number or a
 * decimal string); a line that is not an object of the archive's columns throws.
 */
export function parseArchiveLine(line: string): ArchiveRow {
  const o = JSON.parse(line) as Record<string, unknown>;
  if (o === null || typeof o !== "object") throw new Error("archive line is not a JSON object");
  const out = {} as ArchiveRow;
  for (const c of ARCHIVE_COLUMNS) {
    const v = o[c];
    if (c === "requests" && (v === null || v === undefined)) out[c] = 1n;
    else if (v === null || v === undefined) out[c] = null;
    else if (TEXT_COLUMNS.has(c)) out[c] = String(v);
    else if (typeof v === "number" || typeof v === "string") out[c] = BigInt(v);
    else throw new Error(`archive column ${c} is not an integer`);
  }
  return out;
}

let zstd: Promise<Zstd> | undefined;
/** The zstd compressor (WebAssembly, loaded once per process). */
function compressor(): Promise<Zstd> {
  zstd ??= Zstd.load();
  return zstd;
}

/** zstd level of archive files: zstd's default (3), fast in WebAssembly and ~20× on this JSONL. */
export const ARCHIVE_ZSTD_LEVEL = 3;

/**
 * A streaming zstd frame writer: `push` text, `end` to finish. Every compressed chunk goes to
 * `sink` as soon as it exists (bounded memory). Also hashes the uncompressed content.
 */
export async function createFrameWriter(sink: (bytes: Uint8Array) => void) {
  const z = await compressor();
  z.reset();
  z.setCompressionLevel(ARCHIVE_ZSTD_LEVEL);
  const contentHash = createHash("sha256");
  const enc = new TextEncoder();
  return {
    push(text: string): void {
      const bytes = enc.encode(text);
      contentHash.update(bytes);
      const out = z.compressChunk(bytes);
      if (out.length) sink(out);
    },
    /** Ends the frame; returns the sha256 (hex) of the uncompressed content. */
    end(): string {
      const out = z.compressEnd();
      if (out.length) sink(out);
      return contentHash.digest("hex");
    },
  };
}

/** Decompresses a whole archive file and returns its text. @throws Error when it is not zstd. */
export function decodeArchive(bytes: Uint8Array): string {
  return new TextDecoder().decode(decompress(bytes));
}

/** Decompresses a whole archive file to bytes (no string: a month may pass V8's string limit). */
export function decodeArchiveBytes(bytes: Uint8Array): Uint8Array {
  return decompress(bytes);
}

/** Calls `fn` with each non-empty line of decompressed archive bytes, decoded one line at a time. */
export function forEachArchiveLine(content: Uint8Array, fn: (line: string) => void): void {
  const dec = new TextDecoder();
  let start = 0;
  while (start < content.length) {
    let end = content.indexOf(10, start);
    if (end < 0) end = content.length;
    if (end > start) fn(dec.decode(content.subarray(start, end)));
    start = end + 1;
  }
}
