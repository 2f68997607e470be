import type { Db } from "../../db/index.js";
import type { BatchSink, MeterSource, ProblemReporter } from "../source.js";
import { pollSource, type ReaderThread, threadFor } from "./jsonl-thread.js";
import {
  createSqliteReader,
  type SqliteReader,
  type SqliteReaderOptions,
  storeFile,
  storeProblem,
} from "./sqlite-reader.js";

/**
 * The OpenClaw SQLite-era source (OC ≥2026.7.2/2026.8.1): reads
 * `<agentDir>/agent/openclaw-agent.sqlite` strictly read-only, plus the archives of deleted and
 * reset sessions (`session_transcript_archives` rows and `sessions/*.jsonl.{deleted,reset}.*`,
 * `sessions/cold/*.jsonl.zst` files).
 *
 * - Live rows: per session the last `seq` read, and a fingerprint of the row read there (sha256
 *   of its stored bytes), are kept in `meter_sqlite_cursors` and move forward in the same
 *   transaction as the usage it covers. A changed `transcript_rewrite_watermarks.generation`, a
 *   session shrunk below its cursor, or a row at the cursor that is not the one read there (a
 *   store restored from an older backup and written past the cursor) rescans the session from
 *   its first row; the biller's dedupe key absorbs the repeats. The row at the cursor is checked
 *   when the session has new rows, and for every session on the reader's first poll, every
 *   30th poll and after the store file was replaced (new device/inode).
 * - Archives are whole blobs, read once each: `meter_blobs_done` holds the sha256 of the
 *   decoded content, written with the blob's last batch. The archive row and its `.zst` file
 *   are read once if identical; if not (OC anonymises `cwd` in one of them), dedupe absorbs.
 * - The OpenClaw database is never written: `readonly`, `query_only`, one short read
 *   transaction per step, released before the batch is billed.
 */
export interface SqliteSourceOptions {
  /** `<state>/agents/<agentId>`. */
  agentDir: string;
  agentId: string;
  /** A store file `session.store` moved (store-location.ts). @defaultValue `storeFile(agentDir)` */
  storePath?: string;
  /** Where that store publishes its archives. @defaultValue `<agentDir>/sessions` */
  sessionsDir?: string;
  /** What `~` in OpenClaw's `session.store` expands to (`OPENCLAW_HOME`, else `HOME`); absent: the user's home. */
  home?: string | null;
  /** creditgate's own database: cursors, blobs done, session memory. */
  db: Db;
  /** Most transcript rows (and archive events) per batch. */
  batchSize: number;
  /** How long a read waits for a writer's lock before the round is skipped. @defaultValue 5000 */
  busyTimeoutMs?: number;
  /** A custom clock: the store is then read on the calling thread (a clock cannot cross threads). */
  nowMs?: () => number;
  /** Redacted previews of this length (characters); 0 or absent: off (`CREDITGATE_PREVIEWS`). */
  previewChars?: number;
  /**
   * Read on this `worker_threads` reader (the meter's, shared with its JSONL sources) so reading,
   * decoding and parsing overlap with billing. Absent, or an in-memory `db`, or once the thread
   * crashed, or with `nowMs`: read on the calling thread.
   */
  thread?: ReaderThread;
}

/**
 * The store source of one agent. The reading is sqlite-reader.ts; this runs it on the reader
 * thread (batches billed as they arrive, acknowledged once committed) or on the calling thread
 * (each batch committed once the sink returned, then the reader advances). A thread that dies
 * mid-poll is logged and counted by the thread; the poll goes on here from the committed
 * cursors, and dedupe absorbs any overlap. A busy store (a writer's lock) or one that is not a
 * readable SQLite database is reported as a problem of this poll, not thrown, on either path.
 * @throws RangeError when `batchSize` is not a positive integer
 */
export function createSqliteSource(opts: SqliteSourceOptions): MeterSource {
  if (!Number.isSafeInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  const readerOpts: SqliteReaderOptions = {
    agentDir: opts.agentDir,
    agentId: opts.agentId,
    batchSize: opts.batchSize,
    busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
    previewChars: opts.previewChars ?? 0,
    ...(opts.storePath !== undefined ? { storePath: opts.storePath } : {}),
    ...(opts.sessionsDir !== undefined ? { sessionsDir: opts.sessionsDir } : {}),
    ...(opts.home ? { home: opts.home } : {}),
  };
  let inline: SqliteReader | null = null;
  const dbFile = opts.storePath ?? storeFile(opts.agentDir);
  const thread = threadFor(opts.thread, opts.db, opts.nowMs !== undefined);
  const key = opts.storePath ?? opts.agentDir;
  const req = { kind: "sqlite", key, dbPath: opts.db.name, opts: readerOpts } as const;
  let running = false;

  return {
    name: `sqlite:${opts.agentId}`,
    async poll(sink: BatchSink, onProblem?: ProblemReporter): Promise<void> {
      if (running) return; // an overlapping poll would read the same rows twice
      running = true;
      const report = onProblem ?? (() => {});
      try {
        await pollSource(
          thread,
          req,
          () => (inline ??= createSqliteReader(readerOpts, opts.db)),
          sink,
          report,
        );
      } catch (err) {
        if (!storeProblem(err, dbFile, report)) throw err;
      } finally {
        running = false;
      }
    },
    close(): void {
      inline?.close();
      inline = null;
      thread?.release("sqlite", opts.db.name, key);
    },
  };
}
