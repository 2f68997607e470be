import type { Db } from "../../db/index.js";
import type { BatchSink, MeterSource, ProblemReporter } from "../source.js";
import { createJsonlReader } from "./jsonl-reader.js";

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
  const reader = createJsonlReader(
    {
      agentDir: opts.agentDir,
      agentId: opts.agentId,
      batchSize: opts.batchSize,
      unknownSessionGraceMs: opts.unknownSessionGraceMs ?? 0,
    },
    opts.db,
    opts.nowMs ?? Date.now,
  );
  return {
    name: `jsonl:${opts.agentId}`,
    async poll(sink: BatchSink, report?: ProblemReporter): Promise<void> {
      await reader.poll((batch, id) => {
        sink(batch); // returned: committed
        reader.committed(id);
      }, report);
    },
    close() {},
  };
}
