import * as crypto from "node:crypto";
import type { ParsedUsage } from "./types.js";

/**
 * The dedupe identity of a model call: what the call IS, not where it was seen.
 *
 * `<message.timestamp ms as 12 hex digits>-<first 128 bits of sha256(provider, model, message.timestamp ms,
 *   input, output, cacheRead, cacheWrite, responseId?)>`
 *
 * Deliberately excluded: the line's `id` (re-appended and migrated lines get new ids), the
 * file, session and agent (checkpoint copies, `.deleted`/`.reset` archives, the archive table
 * and the JSONL→SQLite import repeat a message elsewhere), and the ISO write time. The
 * provider response id is included when present: every copy of a message carries the same one.
 */
export function dedupeKey(u: ParsedUsage): string {
  const parts = [
    "v1",
    u.provider,
    u.model,
    String(u.messageTsMs),
    String(u.input),
    String(u.output),
    String(u.cacheRead),
    String(u.cacheWrite),
    u.responseId ?? "",
  ];
  // Time-ordered: a fixed-width hex timestamp prefix makes inserts into the UNIQUE indexes
  // (usage_events.dedupe_key, ledger_entries.idempotency_key) land near the right edge of the
  // B-tree instead of on a random page, which keeps a large backlog fast. 128 bits of the hash
  // follow; the timestamp is part of the identity anyway.
  const ts = Math.max(0, u.messageTsMs).toString(16).padStart(12, "0");
  return `${ts}-${sha256Hex(parts.join("\u001f")).slice(0, 32)}`;
}

/** One-shot `crypto.hash` (Node ≥20.12) is about twice as fast as createHash on this hot path. */
const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === "function"
    ? (text) => (crypto as unknown as { hash(alg: string, data: string): string }).hash("sha256", text)
    : (text) => crypto.createHash("sha256").update(text).digest("hex");
