import { bomLength, eachLine } from "./batch-builder.js";

/**
 * OpenClaw's cold-storage archive (`session.maintenance.coldStorage`, openclaw/openclaw#145172,
 * 2026-09-11; `prepareSessionColdArchiveInWorker` in src/config/sessions/session-accessor.sqlite-cold*.ts,
 * `sessionColdRecordSchema` in session-cold-storage-codec.ts) is not a transcript but an envelope of
 * the session's store rows, one JSON record a line, zstd-compressed, as `cold/<sha256>.jsonl.zst` or
 * in `session_transcript_cold_archives.archive_blob`:
 *
 *     {"kind":"header","version":1,"sessionId":"…","generation":"…"}
 *     {"kind":"event","row":{"seq":0,"event_json":"{\"type\":\"session\",…}","created_at":…}}
 *     {"kind":"identity"|"active"|"index"|"fts","row":{…}}
 *
 * Each `event` row's `event_json` is one former `transcript_events` row (a transcript line); the
 * other records are indexes. Before 2026-12-03 creditgate read such an archive line by line as a
 * transcript: no line was an assistant message, so the calls of every session cold storage moved
 * before the meter read them were never billed, and nothing was reported (case
 * `test/cases/cold-archive-envelope`).
 */

/** The session id of an envelope's header record, or null when `content` is no cold-archive envelope. */
function envelopeSessionId(content: Buffer): string | null {
  if (content.length === 0) return null;
  const at = bomLength(content, 0);
  if (content[at] !== 0x7b) return null; // "{"
  const nl = content.indexOf(0x0a, at);
  try {
    const h = JSON.parse(content.toString("utf8", at, nl === -1 ? content.length : nl)) as {
      kind?: unknown;
      sessionId?: unknown;
    };
    return h !== null && h.kind === "header" && typeof h.sessionId === "string" && h.sessionId !== ""
      ? h.sessionId
      : null;
  } catch {
    return null;
  }
}

/**
 * The transcript an archive holds: for a cold-storage envelope, its `event` rows' `event_json`, one
 * a line in the order stored (seq order), what the session's `transcript_events` held; any other
 * content (a plain or decoded `.deleted`/`.reset` archive, an older cold file written as plain
 * JSONL) as is. A record line that does not parse is kept as it is, so it is rejected and reported
 * as a malformed line rather than dropped.
 */
export function archiveTranscript(content: Buffer): { content: Buffer; sessionId: string | null } {
  const sessionId = envelopeSessionId(content);
  if (sessionId === null) return { content, sessionId: null };
  const parts: Buffer[] = [];
  let first = true;
  for (const [line] of eachLine(content)) {
    if (first) {
      first = false; // the header
      continue;
    }
    let rec: { kind?: unknown; row?: { event_json?: unknown } | null } | null;
    try {
      rec = JSON.parse(line.toString("utf8")) as typeof rec;
    } catch {
      parts.push(line, NL);
      continue;
    }
    if (rec === null || typeof rec !== "object" || rec.kind !== "event") continue;
    const json = rec.row?.event_json;
    if (typeof json === "string") parts.push(Buffer.from(json, "utf8"), NL);
    else parts.push(line, NL); // an event row without its JSON: rejected, not dropped
  }
  return { content: Buffer.concat(parts), sessionId };
}

const NL = Buffer.from("\n");
