import type { Db } from "../../db/index.js";
import type { BatchSink, MeterSource, ProblemReporter } from "../source.js";
import { createJsonlReader, type JsonlReader, type JsonlReaderOptions } from "./jsonl-reader.js";
import { type ReaderThread, ReaderThreadCrash } from "./jsonl-thread.js";

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
 */
export function createJsonlSource(opts: JsonlSourceOptions): MeterSource {
  const readerOpts: JsonlReaderOptions = {
    agentDir: opts.agentDir,
    agentId: opts.agentId,
    batchSize: opts.batchSize,
    unknownSessionGraceMs: opts.unknownSessionGraceMs ?? 0,
    previewChars: opts.previewChars ?? 0,
  };
  let inline: JsonlReader | null = null;
  const onDisk = !opts.db.memory && opts.db.name !== "" && !opts.db.name.startsWith("file:");
  const thread = opts.thread && onDisk && !opts.nowMs ? opts.thread : null;

  /** Reads on this thread: each batch is committed once the sink returned, then the reader advances. */
  async function pollInline(sink: BatchSink, report?: ProblemReporter): Promise<void> {
    inline ??= createJsonlReader(readerOpts, opts.db, opts.nowMs ?? Date.now);
    const reader = inline;
    await reader.poll((batch, id) => {
      sink(batch); // returned: committed
      reader.committed(id);
    }, report);
  }

  return {
    name: `jsonl:${opts.agentId}`,
    async poll(sink: BatchSink, report?: ProblemReporter): Promise<void> {
      if (!thread?.usable) return pollInline(sink, report);
      try {
        await thread.poll(
          { kind: "jsonl", key: opts.agentDir, dbPath: opts.db.name, opts: readerOpts },
          sink,
          report,
        );
      } catch (err) {
        if (!(err instanceof ReaderThreadCrash)) throw err;
        // Logged and counted by the thread. What it had acknowledged is committed, nothing else
        // is: read again here from the committed cursors (dedupe absorbs any overlap).
        await pollInline(sink, report);
      }
    },
    close() {
      thread?.release("jsonl", opts.db.name, opts.agentDir);
    },
  };
}
