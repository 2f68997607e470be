import type { Db } from "../../db/index.js";
import type { BatchSink, MeterSource, ProblemReporter } from "../source.js";
import {
  createJsonlReader,
  type JsonlReader,
  type JsonlReaderOptions,
  positiveBatchSize,
} from "./jsonl-reader.js";
import { pollSource, type ReaderThread, threadFor } from "./jsonl-thread.js";

export {
  type ClassifiedFile,
  classifyImportArchiveFile,
  classifyTranscriptFile,
  IMPORT_ARCHIVE_DIR,
} from "./classify.js";

export interface JsonlSourceOptions {
  /** `<state>/agents/<agentId>` */
  agentDir: string;
  agentId: string;
  /** A directory `session.store` moved the transcripts to (see JsonlReaderOptions). @defaultValue `<agentDir>/sessions` */
  sessionsDir?: string;
  /** Its session index (the configured store file). @defaultValue `<sessionsDir>/sessions.json` */
  indexPath?: string;
  /** What `~` in OpenClaw's `session.store` expands to (`OPENCLAW_HOME`, else `HOME`); absent: the user's home. */
  home?: string | null;
  db: Db;
  /** Events per transaction during a backlog. */
  batchSize: number;
  /**
   * A live transcript whose session id is not (yet) in sessions.json is left for this long
   * before it is billed to the operator: OpenClaw may write the transcript a moment before
   * the index. In ms; 0 for one-shot runs. @defaultValue 0
   */
  unknownSessionGraceMs?: number;
  nowMs?: () => number;
  /**
   * Read on this `worker_threads` reader (shared by a meter's JSONL sources) so reading and
   * parsing overlap with billing. Absent, or an in-memory `db`, or once the thread crashed:
   * read on the calling thread. Not with a custom `nowMs` (a clock cannot cross threads).
   */
  thread?: ReaderThread;
  /** Redacted previews of this length (characters); 0 or absent: off (`CREDITGATE_PREVIEWS`). */
  previewChars?: number;
}

/**
 * JSONL transcripts of one agent (Clawdbot → OpenClaw ~2026.7). Reads only complete lines from
 * a byte cursor keyed by (device, inode), so a rename to `.deleted`/`.reset` continues where it
 * was; a file that shrank or whose first line changed (rewrite, recycled inode) is re-read from
 * 0 and the biller's dedupe absorbs what was already billed. A partial last line is held back
 * until its newline arrives. The reading itself is jsonl-reader.ts; this runs it on the
 * calling thread, handing each batch to the sink and advancing the reader once it returned.
 * @throws RangeError when `batchSize` is not a positive integer
 */
export function createJsonlSource(opts: JsonlSourceOptions): MeterSource {
  positiveBatchSize("batchSize", opts.batchSize); // here, not first on the reader thread
  const readerOpts: JsonlReaderOptions = {
    agentDir: opts.agentDir,
    agentId: opts.agentId,
    batchSize: opts.batchSize,
    unknownSessionGraceMs: opts.unknownSessionGraceMs ?? 0,
    previewChars: opts.previewChars ?? 0,
    ...(opts.sessionsDir !== undefined ? { sessionsDir: opts.sessionsDir, importArchive: false } : {}),
    ...(opts.indexPath !== undefined ? { indexPath: opts.indexPath } : {}),
    ...(opts.home ? { home: opts.home } : {}),
  };
  let inline: JsonlReader | null = null;
  const thread = threadFor(opts.thread, opts.db, opts.nowMs !== undefined);
  const key = opts.sessionsDir ?? opts.agentDir;
  const req = { kind: "jsonl", key, dbPath: opts.db.name, opts: readerOpts } as const;

  return {
    name: `jsonl:${opts.agentId}`,
    poll(sink: BatchSink, report?: ProblemReporter): Promise<void> {
      return pollSource(
        thread,
        req,
        () => (inline ??= createJsonlReader(readerOpts, opts.db, opts.nowMs ?? Date.now)),
        sink,
        report,
      );
    },
    close() {
      thread?.release("jsonl", opts.db.name, key);
    },
  };
}
