import type { UsageEvent } from "./types.js";

/**
 * A row of `meter_blobs_done` as SQLite returns it: a whole-file source (a `.zst` archive, an
 * OpenClaw SQLite archive row) read once, by content hash. Written by the cursor repository with a batch's `cursorMoves.blobs`.
 */
export interface MeterBlobDoneRow {
  content_sha256: string;
  name: string;
  events: number;
  done_at_ms: number;
}

/** Counters every source reports; summed into `meter --once`'s summary. */
export interface SourceStats {
  files: number;
  lines: number;
  usageLines: number;
  malformed: number;
  synthetic: number;
  zeroUsage: number;
  bytes: number;
  /**
   * Transcripts re-read from their start because what the meter had read there changed under
   * its cursor: a session file truncated or rewritten (its first line or the bytes before the
   * cursor differ), a store session rewritten (a new rewrite generation, fewer rows) or restored
   * from an older backup (the row at the cursor differs or is gone). Calls already billed come
   * back as duplicates; a first read is not counted.
   */
  rescans: number;
  /**
   * Billed calls with a negative token count, read as 0 (a relay's `cached_tokens` above its
   * `prompt_tokens` makes OpenClaw's `input` negative; see parse.ts `tokenCount`).
   */
  clamped: number;
}

export const emptyStats = (): SourceStats => ({
  files: 0,
  lines: 0,
  usageLines: 0,
  malformed: 0,
  synthetic: 0,
  zeroUsage: 0,
  bytes: 0,
  rescans: 0,
  clamped: 0,
});

export function addStats(into: SourceStats, s: Partial<SourceStats>): void {
  for (const k of Object.keys(s) as (keyof SourceStats)[]) into[k] += s[k] ?? 0;
}

/** A malformed line, recorded (not its content: it may be chat text) so an operator can look. */
export interface Reject {
  sourceRef: string;
  reason: string;
}

/**
 * One JSONL file's read cursor (`meter_file_cursors`), keyed by (device, inode) so a rename
 * continues where it was. `offset` is the byte after the last complete line consumed.
 */
export interface FileCursor {
  dev: string;
  ino: string;
  /** Last path seen (follows renames). */
  path: string;
  /** sha256 of the first line (up to 4 KiB): detects a recycled inode or a rewrite. */
  head: string;
  /** sha256 of up to 256 bytes before `offset` (null when offset is 0). */
  tail: string | null;
  offset: number;
  size: number;
}

/** The last `seq` read of one session of an OpenClaw SQLite store (`meter_sqlite_cursors`). */
export interface SqliteCursorMove {
  /** realpath of the OpenClaw database. */
  dbPath: string;
  sessionId: string;
  lastSeq: number;
  /** 48-bit digest of the session's rewrite watermark generation; null when it has none. */
  gen: number | null;
  /**
   * Fingerprint of the row at `lastSeq` as the reader saw it: sha256 hex of its stored bytes
   * (`event_json` text, else the `event_zstd` blob; see sqlite-reader.ts `rowFingerprint`).
   * The next polls compare it with the row now at `lastSeq` and rescan the session when it
   * differs (a store restored from an older backup and written past the cursor). Null: unknown
   * (no row there, e.g. `lastSeq` -1), nothing to compare.
   */
  rowSha: string | null;
  /**
   * The cursor this move continues from, as the reader planned it (its last seq and generation;
   * null: the session had no cursor). The move only applies while the committed cursor is still
   * that one: another meter on the same database may have moved it meanwhile (e.g. a rescan from
   * the session's first row), and overwriting it would skip the rows in between. Absent: applied
   * unconditionally.
   */
  from?: { lastSeq: number; gen: number | null } | null;
}

/** A whole blob (archive) read to its end: recorded by content hash so it is never billed again. */
export interface BlobDone {
  sha: string;
  name: string;
  events: number;
}

/**
 * The cursor moves that cover a batch, as data: the cursor repository (cursor-repo.ts) writes
 * them INSIDE the biller's transaction, with the usage rows and ledger entries they cover.
 */
export interface CursorMoves {
  files?: FileCursor[];
  sqlite?: SqliteCursorMove[];
  blobs?: BlobDone[];
}

/**
 * What a source hands the biller: events plus the cursor moves that cover them (a value, not a
 * callback). The biller writes `cursorMoves` INSIDE the same SQLite transaction as the usage
 * rows and ledger entries, so a crash either keeps all of it or none of it. A source advances
 * its in-memory state only once the sink returned (in-thread) or acknowledged the batch
 * (the reader thread): the batch is then committed.
 */
export interface SourceBatch {
  events: UsageEvent[];
  rejects: Reject[];
  /** Session → key/account facts learnt while reading (kept forever: archives lose them). */
  sessions: SessionFact[];
  /** Absent: the batch moves no cursor (push ingestion, tests). */
  cursorMoves?: CursorMoves;
  stats: Partial<SourceStats>;
}

export interface SessionFact {
  agentId: string;
  sessionId: string;
  sessionKey: string | null;
  accountId: string | null;
  channel: string | null;
}

/**
 * Synchronous sink: bills a batch and commits its cursor moves in one transaction. Returning
 * normally means committed; throwing means nothing of the batch was kept.
 */
export type BatchSink = (batch: SourceBatch) => void;

export interface MeterSource {
  readonly name: string;
  /**
   * Reads everything new since the persisted cursors, handing batches to `sink`. Problems that
   * do not stop the poll (an unreadable file or directory, a locked store) go to `report`, with
   * the path and a reason, never file content (see health.ts).
   */
  poll(sink: BatchSink, report?: ProblemReporter): Promise<void>;
  close(): void;
}

/** Where a source reports a problem: the path concerned, an error code and a one-line reason. */
export type ProblemReporter = (p: { path: string; code: string; reason: string }) => void;
