import { createHash } from "node:crypto";
import { closeSync, fstatSync, readSync } from "node:fs";
import {
  CODEX_HARNESS_API_MARKS,
  type CodexCumulative,
  codexCumulativeOf,
  codexIncrement,
} from "../codex-cumulative.js";
import { hasUserMark, mayBeUsage, parseLine } from "../parse.js";
import type { ParsedUsage } from "../types.js";
import {
  crEndsLine,
  eachLine,
  firstLineEnd,
  firstNonBlank,
  loneCrAt,
  OriginScan,
  TurnBackScan,
  type TurnBefore,
  type TurnCalls,
  TurnCallsScan,
  type TurnOrigin,
} from "./batch-builder.js";
import { classifyTranscriptFile } from "./classify.js";
import { headerParentId } from "./read-order.js";
import { openRegularFile } from "./regular-file.js";
import { utf8Content } from "./text-encoding.js";

// Small reads of a transcript beside its cursor: the hash of its first line and of the bytes just
// before the cursor (a file replaced or rewritten under its name), and the turn a resumed
// transcript is in (the latency of its next reply). Split from jsonl-reader.ts.

const NEWLINE = 0x0a;
/** Bytes of a file's head read for its first-line hash. */
export const HEAD_BYTES = 4096;
/** Bytes before a cursor its tail hash covers. */
export const TAIL_BYTES = 256;
/** Bytes before a cursor first read back to find the turn a resumed transcript is in; grows ×4. */
const LOOKBACK_MIN_BYTES = 16 * 1024;
/** Past this the turn before a cursor is given up as unknown (latency null for its first reply). */
const LOOKBACK_MAX_BYTES = 1024 * 1024;
/** One scratch buffer per thread: every function here uses it synchronously. */
const head = Buffer.allocUnsafe(HEAD_BYTES);

/**
 * What the read-backs below read: a transcript's descriptor, or the UTF-8 text of a UTF-16
 * transcript's lines before its cursor (text-encoding.ts; the offset is then one in that text).
 */
export type ProbeSource = number | Buffer;

/** `readSync(src, buf, 0, length, position)` on a descriptor or a buffer. */
function readAt(src: ProbeSource, buf: Buffer, length: number, position: number): number {
  if (typeof src === "number") return readSync(src, buf, 0, length, position);
  return src.copy(buf, 0, position, Math.min(src.length, position + length));
}

/**
 * The user message still waiting for a reply just before byte `offset` (a line start) of a
 * transcript (`turn`): reads back line by line to the last user line or billed reply, at most
 * LOOKBACK_MAX_BYTES; null when a reply came last, at the file start, or past the limit. And the
 * time a call without a time of its own right after `offset` is dated by (`datedBy`, see
 * `BatchBuilder.datedBy`): that of the last user line or call with a time before it (null when
 * none is found within the limit).
 */
export function lookBefore(fd: ProbeSource, offset: number, previewChars: number): TurnBefore {
  const scan = new TurnBackScan(previewChars);
  let found: TurnBefore | undefined;
  readBack(
    fd,
    offset,
    LOOKBACK_MAX_BYTES,
    () => scan.restart(),
    (raw) => {
      let line = raw;
      while (line.length > 0 && (line.at(-1) === NEWLINE || line.at(-1) === 0x0d))
        line = line.subarray(0, line.length - 1);
      if (line.length === 0 || !(mayBeUsage(line) || hasUserMark(line))) return false;
      found = scan.line(line.toString("utf8"));
      return found !== undefined;
    },
  );
  return found ?? scan.end();
}

/**
 * Reads a transcript back from byte `offset` (a line start) in windows that grow ×4 from
 * LOOKBACK_MIN_BYTES up to `maxBytes`: `window()` at the start of each, then `line(bytes)` for
 * each complete line of it, newest first, with its line end (a window's first line is cut unless
 * the window starts the file, and is skipped). `line` returning true ends the read. The one
 * read-back loop of `lookBefore`, `originBefore` and `turnCallsBefore`.
 * @returns `"line"` when a line ended it, `"start"` when the file's start was read, `"limit"`
 *   when `maxBytes` was read without either
 */
function readBack(
  fd: ProbeSource,
  offset: number,
  maxBytes: number,
  window: () => void,
  line: (bytes: Buffer) => boolean,
): "line" | "start" | "limit" {
  for (let span = LOOKBACK_MIN_BYTES; ; span *= 4) {
    window();
    const start = Math.max(0, offset - span);
    const buf = Buffer.allocUnsafe(offset - start);
    const n = readAt(fd, buf, buf.length, start);
    const data = buf.subarray(0, n);
    // The first line of the window is cut unless the window starts the file. Lines end in a
    // newline or a lone CR (batch-builder.ts LONE_CR).
    const first = start === 0 ? 0 : firstLineEnd(data) + 1;
    if (start === 0 || first > 0) {
      let end = data.length;
      while (end > first) {
        // (a negative offset would search from the buffer's end: never pass one)
        const nl = end - 2 >= first ? lastLineEnd(data, end - 2) : -1;
        const ls = nl < first ? first : nl + 1;
        const bytes = data.subarray(ls, end);
        end = ls;
        if (line(bytes)) return "line";
      }
    }
    if (start === 0) return "start";
    if (span >= maxBytes) return "limit";
  }
}

/** Position of the last line end in `data` at or before `from` (a newline, or a lone CR), or -1. */
function lastLineEnd(data: Buffer, from: number): number {
  const nl = data.lastIndexOf(NEWLINE, from);
  // a CR after that newline that ends a line (batch-builder.ts `crEndsLine`: not a CRLF's, nor
  // JSON white space inside an entry)
  let cr = data.lastIndexOf(CR, from);
  while (cr > nl && !crEndsLine(data, cr)) cr = cr > 0 ? data.lastIndexOf(CR, cr - 1) : -1;
  return cr > nl ? cr : nl;
}
const CR = 0x0d;

/**
 * Whose turn a transcript is in just before byte `offset` (a line start; see `TurnOrigin`): reads
 * back line by line to its last unmarked user line, at most ORIGIN_LOOKBACK_MAX_BYTES (a marked
 * turn's tool results can pass the 1 MiB of `lookBefore`: a tester's 1.2 MB result between a cron
 * turn's user line and its next call, with a restart between them, billed that call to the user).
 */
export function originBefore(fd: ProbeSource, offset: number): TurnOrigin {
  let scan = new OriginScan();
  readBack(
    fd,
    offset,
    ORIGIN_LOOKBACK_MAX_BYTES,
    () => {
      scan = new OriginScan();
    },
    (line) =>
      (hasUserMark(line) || line.includes(SESSIONS_SEND_MARK)) && scan.line(line.toString("utf8").trimEnd()),
  );
  return scan.end();
}
/**
 * The embedded calls of the turn a transcript is in just before byte `offset` (a line start; see
 * `BatchBuilder.turnCalls`): reads back line by line to its last user line, at most
 * ORIGIN_LOOKBACK_MAX_BYTES, and replays the turn's call lines as a reader would bill them. Null
 * past the limit (nothing is then taken for a mirror of the turn's run). Called only when a CLI
 * line comes up after a resumed cursor.
 */
export function turnCallsBefore(fd: ProbeSource, offset: number): TurnCalls | null {
  let scan = new TurnCallsScan();
  const ended = readBack(
    fd,
    offset,
    ORIGIN_LOOKBACK_MAX_BYTES,
    () => {
      scan = new TurnCallsScan();
    },
    (line) => (mayBeUsage(line) || hasUserMark(line)) && scan.line(line.toString("utf8").trimEnd()),
  );
  return scan.result(ended !== "limit");
}

/**
 * The counts the turn a transcript is in just before byte `offset` (a line start) billed per entry
 * id (see `BatchBuilder`'s same-entry rule, `replayEntryCalls`): read back as `turnCallsBefore`
 * reads it, null past ORIGIN_LOOKBACK_MAX_BYTES (a later copy of one of its entries is then billed
 * as a call). Called only when a line with an entry id comes up after a resumed cursor.
 */
export function turnEntriesBefore(fd: ProbeSource, offset: number): Map<string, ParsedUsage> | null {
  let scan = new TurnCallsScan();
  const ended = readBack(
    fd,
    offset,
    ORIGIN_LOOKBACK_MAX_BYTES,
    () => {
      scan = new TurnCallsScan();
    },
    (line) => (mayBeUsage(line) || hasUserMark(line)) && scan.line(line.toString("utf8").trimEnd()),
  );
  return scan.entryCalls(ended !== "limit");
}

/** How far back `originBefore` reads at most: 16 MiB (16 KiB × 4^5), read only on a resume. */
const ORIGIN_LOOKBACK_MAX_BYTES = 16 * 1024 * 1024;
const SESSIONS_SEND_MARK = Buffer.from('"sessions_send"');

/** Past this many bytes before a cursor, the Codex-thread state there is given up as unknown (none). */
const CODEX_PREFIX_MAX_BYTES = 64 * 1024 * 1024;
/** The `api`s a cumulative Codex-harness line names (as written, or renamed by doctor): lines with neither are not parsed. */
const CODEX_API_MARKS = CODEX_HARNESS_API_MARKS.map((m) => Buffer.from(m));
const hasCodexApiMark = (line: Buffer): boolean => CODEX_API_MARKS.some((m) => line.includes(m));

/**
 * The Codex-thread state (codex-cumulative.ts) after the complete lines before byte `offset` (a
 * line start) of a transcript: its lines are replayed from the start, as a reader from byte 0 would
 * (the state is a function of those bytes), so a transcript read across polls bills each line as
 * one read whole would. Null when none, or past CODEX_PREFIX_MAX_BYTES (its next cumulative line is
 * then billed as written). Called only when a cumulative-era Codex-harness line comes up after a
 * cursor: other transcripts never pay for it.
 */
export function codexBefore(fd: ProbeSource, offset: number): CodexCumulative | null {
  if (offset <= 0 || offset > CODEX_PREFIX_MAX_BYTES) return null;
  const buf = Buffer.allocUnsafe(offset);
  const n = readAt(fd, buf, offset, 0);
  let state: CodexCumulative | null = null;
  for (const [line] of eachLine(buf.subarray(0, n))) {
    if (!hasCodexApiMark(line) || !mayBeUsage(line)) continue;
    const r = parseLine(line.toString("utf8"));
    if (r.kind === "usage") state = codexIncrement(r.usage, state).state;
  }
  return state;
}

/**
 * The Codex-thread state a transcript's first cumulative Codex-harness line at `tsMs` (epoch ms) has
 * no line of its own before: the cumulative-era harness line with the latest message time before
 * `tsMs` in the session's other transcript files (`paths`: its compaction and repair copies,
 * `.jsonl.bak.<ts>`, `.checkpoint.<uuid>.jsonl`, `.jsonl.bak-<pid>-<ms>`, and its live file).
 * A compaction rewrites the live file without the lines it summarized (`truncateAfterCompaction`)
 * or with only its last lines (`sessions.compact --max-lines`), and a backup rewritten later starts
 * mid-thread too: without this, the next running total would be billed whole. Each file is read
 * up to CODEX_PREFIX_MAX_BYTES; an unreadable one is skipped (its line is then billed as written,
 * never less). Null: none (the line starts its thread). Called only when such a line has no
 * predecessor in its file, so other transcripts never pay for it.
 */
export function codexSeed(paths: readonly string[], tsMs: number): CodexCumulative | null {
  let best: CodexCumulative | null = null;
  for (const path of paths) {
    let fd: number;
    try {
      fd = openRegularFile(path);
    } catch {
      continue; // renamed or gone since the listing
    }
    try {
      const size = Math.min(fstatSync(fd).size, CODEX_PREFIX_MAX_BYTES);
      const buf = Buffer.allocUnsafe(size);
      const n = readSync(fd, buf, 0, size, 0);
      for (const [line] of eachLine(utf8Content(buf.subarray(0, n)))) {
        if (!hasCodexApiMark(line) || !mayBeUsage(line)) continue;
        const r = parseLine(line.toString("utf8"));
        if (r.kind !== "usage") continue;
        const c = codexCumulativeOf(r.usage);
        if (c !== null && c.messageTsMs < tsMs && (best === null || c.messageTsMs > best.messageTsMs))
          best = c;
      }
    } catch {
      // an I/O error: this copy gives no state
    } finally {
      closeSync(fd);
    }
  }
  return best;
}

/** sha256 hex of a file's first line (at most its first HEAD_BYTES): tells a file replaced under its name. */
export function headHash(fd: number, size: number): string {
  const n = readSync(fd, head, 0, Math.min(HEAD_BYTES, size), 0);
  const read = head.subarray(0, n);
  let nl = read.indexOf(NEWLINE);
  // or a lone CR (batch-builder.ts LONE_CR) before it; never the last byte read, whose next byte
  // is not known (the hash of every LF and CRLF file's first line stays what it was)
  const cr = loneCrAt(read, firstNonBlank(read));
  if (cr !== -1 && cr < n - 1 && (nl === -1 || cr < nl)) nl = cr;
  return createHash("sha256")
    .update(head.subarray(0, nl >= 0 ? nl : n))
    .digest("hex");
}

/** Hash of the bytes just before `offset`: proves the consumed prefix is still the same. */
export function tailHash(fd: number, offset: number): string | null {
  if (offset <= 0) return null;
  const start = Math.max(0, offset - TAIL_BYTES);
  const n = readSync(fd, head, 0, offset - start, start);
  return createHash("sha256").update(head.subarray(0, n)).digest("hex");
}

/** Tail hash from the buffer when it holds the bytes, else from the file. */
export function tailOf(data: Buffer, end: number, fd: number, offset: number): string | null {
  if (end >= TAIL_BYTES)
    return createHash("sha256")
      .update(data.subarray(end - TAIL_BYTES, end))
      .digest("hex");
  return tailHash(fd, offset);
}

/** A header line longer than this is not looked into for its `parentSession`. */
const HEADER_MAX_BYTES = 16 * 1024;
const PARENT_SESSION_MARK = Buffer.from('"parentSession"');

/**
 * The session id of the transcript a file's header (`{"type":"session",…,"parentSession":<path>}`)
 * names as its parent, or null (no header, no parent, unreadable). The path is the writer host's:
 * its last segment (either separator) is classified like a transcript name.
 */
export function headerParentSessionId(path: string): string | null {
  let fd: number;
  try {
    fd = openRegularFile(path);
  } catch {
    return null;
  }
  try {
    const buf = Buffer.allocUnsafe(HEADER_MAX_BYTES);
    const n = readSync(fd, buf, 0, HEADER_MAX_BYTES, 0);
    const text = utf8Content(buf.subarray(0, n)); // a UTF-16 copy's header too
    const nl = firstLineEnd(text);
    const line = text.subarray(0, nl >= 0 ? nl : text.length);
    if (!line.includes(PARENT_SESSION_MARK)) return null;
    const h = JSON.parse(line.toString("utf8").replace(/^\uFEFF/, "")) as {
      type?: unknown;
      parentSession?: unknown;
    };
    if (h.type !== "session" || typeof h.parentSession !== "string") return null;
    return headerParentId({ parentSession: h.parentSession }, classifyTranscriptFile);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
