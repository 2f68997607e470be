import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";

/** A query for the report thread: `sql` with `params`, on a read-only connection to `file`. */
export interface ReportJob {
  seq: number;
  file: string;
  sql: string;
  params: (string | number)[];
  /** Page cache (KiB) for the query (its GROUP BY sorts in memory). */
  cacheKib: number;
  /** Columns after the two keys (`k1, k2`) in each row: the sums. */
  width: number;
  /** Rows per part of the answer. @defaultValue REPORT_CHUNK_ROWS */
  chunkRows?: number;
  /** Tests: the thread answers a failure after this many parts (as if its query failed midway). */
  failAfterParts?: number;
}

/**
 * One part of the thread's answer (it answers in parts of at most {@link REPORT_CHUNK_ROWS} rows,
 * in the query's order, the last with `done`, so the caller can use the first rows while the
 * thread still reads the rest): row `i`'s two key columns are `keys[i]` and `keys2?.[i]` (`keys2` null
 * when every second key is NULL, as in a by-user or by-agent query), its other columns are
 * `values[i * width .. (i + 1) * width)` (integers as numbers; NaN for NULL; an integer past
 * 2^53 - 1 comes as an inexact number, which `Number.isSafeInteger` rejects), or the error text.
 */
export interface ReportRows {
  keys: unknown[];
  keys2: unknown[] | null;
  values: Float64Array;
}
export type ReportJobResult =
  | ({ seq: number; ok: true; done: boolean } & ReportRows)
  | { seq: number; ok: false; error: string };

/** Rows per part of a report thread's answer (~1.3 MB of values at 16 sums per row). */
export const REPORT_CHUNK_ROWS = 8192;

/**
 * The compiled worker entry: beside this file in dist/; under vitest (this file runs from src/
 * as TypeScript, which a worker cannot load) the build's copy in dist/. Null when missing.
 */
function reportWorkerFile(): string | null {
  const here = import.meta.url;
  const url = here.endsWith(".ts")
    ? new URL("../../dist/meter/report-worker.js", here)
    : new URL("./report-worker.js", here);
  const path = fileURLToPath(url);
  return existsSync(path) ? path : null;
}

interface Thread {
  worker: Worker;
  port: MessagePort;
  /** [0]: unused; [1]: messages the thread has posted (it notifies on [1] after each). */
  flag: Int32Array;
  seq: number;
  dead: boolean;
}
let thread: Thread | null = null;
/** Jobs answered by the thread, and jobs the caller had to run itself (failure, death, timeout). */
const stats = { answered: 0, failed: 0 };

/** How many report-thread jobs were answered, and how many failed (tests, diagnostics). */
export function reportThreadStats(): { answered: number; failed: number } {
  return { ...stats };
}
/** Set once the entry is missing or the thread failed to start or died: no more tries. */
let unusable = false;

function started(): Thread | null {
  if (thread && !thread.dead) return thread;
  if (unusable) return null;
  const file = reportWorkerFile();
  if (!file) {
    unusable = true;
    return null;
  }
  try {
    const { port1, port2 } = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(file, { workerData: { port: port2, flag }, transferList: [port2] });
    worker.unref();
    port1.unref();
    const t: Thread = { worker, port: port1, flag, seq: 0, dead: false };
    // A thread that died is not started again: a caller blocked in `wait` only notices a death
    // as silence (events cannot run meanwhile), so a thread that kept dying would stall every
    // split report for the whole timeout.
    worker.on("error", () => {
      t.dead = true;
      unusable = true;
    });
    worker.on("exit", () => {
      t.dead = true;
      unusable = true;
    });
    thread = t;
    return t;
  } catch {
    unusable = true;
    return null;
  }
}

/**
 * Starts the report thread and has it open `file` (read-only) and read its schema, so that a
 * server's first split report does not wait for the thread to start. Optional: a report starts
 * the thread itself. Does nothing when the thread cannot be used. `file`: a SQLite database path.
 */
export function warmReportThread(file: string): void {
  const t = started();
  if (!t) return;
  t.port.postMessage({ open: file } satisfies ReportOpen);
}

/** Opens a database on the report thread without a query (see {@link warmReportThread}). */
export interface ReportOpen {
  open: string;
}

/** A job handed to the report thread; `next` blocks the calling thread until its next part. */
export interface PendingReportJob {
  /**
   * The next part of the rows (`done`: the last one), or null when the thread failed, died or
   * sent nothing for `timeoutMs` (then the caller runs the query itself, and ignores the parts
   * it had; a late answer is dropped). After a `done` part or a null, do not call again.
   */
  next(timeoutMs?: number): { rows: ReportRows; done: boolean } | null;
}

/**
 * How long (ms) a caller waits for the report thread's half before grouping it itself. The
 * caller blocks its event loop while it waits (a thread that died is only noticed as silence), so
 * this bounds that stall: a half takes well under a second at 10M rows on an idle machine.
 */
export const REPORT_JOB_TIMEOUT_MS = 15_000;

/**
 * Starts `job` on the report thread (one `worker_threads` worker per process, started on first
 * use, unref'd so it never keeps the process alive) and returns at once, so the calling thread can
 * run another query meanwhile; `wait()` then blocks (`Atomics.wait`) until the answer. Null when
 * the thread cannot be used (its entry is not built, it failed to start): run the query yourself.
 */
export function startReportJob(job: Omit<ReportJob, "seq">): PendingReportJob | null {
  const t = started();
  if (!t) return null;
  // drop answers of earlier jobs that were given up on
  while (receiveMessageOnPort(t.port)) {}
  const seq = ++t.seq;
  t.port.postMessage({ ...job, seq } satisfies ReportJob);
  return {
    next(timeoutMs = REPORT_JOB_TIMEOUT_MS) {
      const until = Date.now() + timeoutMs;
      const failed = () => {
        stats.failed++;
        return null;
      };
      for (;;) {
        // the count first, then the port: a part posted after the look at the port has raised
        // the count, so the wait below returns at once instead of missing it
        const posted = Atomics.load(t.flag, 1);
        const m = receiveMessageOnPort(t.port)?.message as ReportJobResult | undefined;
        if (m) {
          if (m.seq !== seq) continue; // an answer to a job given up on
          if (!m.ok) return failed();
          if (m.done) stats.answered++;
          return { rows: { keys: m.keys, keys2: m.keys2, values: m.values }, done: m.done };
        }
        if (t.dead) return failed();
        const left = until - Date.now();
        if (left <= 0) return failed();
        // wake at least every 100 ms to notice a thread that died without answering
        Atomics.wait(t.flag, 1, posted, Math.min(left, 100));
      }
    },
  };
}
