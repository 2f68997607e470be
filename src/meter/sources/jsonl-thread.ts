import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Db } from "../../db/index.js";
import type { BatchSink, ProblemReporter, SourceBatch } from "../source.js";
import { type PackedEvents, unpackEvents } from "./event-columns.js";
import type { Emit, JsonlReaderOptions } from "./jsonl-reader.js";
import type { SqliteReaderOptions } from "./sqlite-reader.js";

/**
 * One poll of one source on the reader thread: an agent's session files (`jsonl`, jsonl-reader.ts)
 * or its OpenClaw store (`sqlite`, sqlite-reader.ts). `key` names the reader with `kind` and
 * `dbPath` (its memory lives on the thread across polls): the agent dir. `dbPath` is creditgate's database, opened
 * read-only on the thread for the committed state (cursors, archives done, session memory).
 */
export type ReaderRequest =
  | { kind: "jsonl"; key: string; dbPath: string; opts: JsonlReaderOptions }
  | { kind: "sqlite"; key: string; dbPath: string; opts: SqliteReaderOptions };

/** Main thread → reader thread. */
export type ToReader =
  /** Read from the committed state (see ReaderRequest). */
  | ({ type: "poll" } & ReaderRequest)
  /** Batch `id` committed: the reader's memory may advance; one more batch may be in flight. */
  | { type: "ack"; id: number }
  /** Billing failed: stop reading, forget what is in flight. */
  | { type: "abort" }
  /** The source closed: drop its reader (a store reader closes its OpenClaw connection). */
  | { type: "release"; kind: ReaderRequest["kind"]; dbPath: string; key: string };

/** Reader thread → main thread, in order. */
export type FromReader =
  /** `packed`: the batch's events in columns (`batch.events` is then empty). */
  | { type: "batch"; id: number; batch: SourceBatch; packed?: PackedEvents }
  | { type: "problem"; problem: Parameters<ProblemReporter>[0] }
  | { type: "end" }
  | { type: "error"; message: string; code: string | null };

/**
 * Batches read ahead of the writer at most: one being billed, three waiting (back-pressure).
 * With one waiting (the earlier value) the writer idled whenever a batch took the reader longer
 * than average (a GC pause, a file's first read): `meter --once` on bench:meter's 1.1 GB went
 * 3.97 -> 3.45 s (median of 5 alternating pairs, same peak RSS ~182 MB); 8 gave no more.
 * Unacknowledged batches are only re-read after a crash (dedupe absorbs them).
 */
export const MAX_IN_FLIGHT = 4;

/**
 * The longest line (bytes, or UTF-16 units) the reader thread decodes and parses: 16 MiB, half
 * its old-generation limit below. Lines of 32–40 MB ended the thread through V8's heap limit (the
 * crash path), but from ~45 MB JSON.parse's allocation aborted the whole process (exit 134, a
 * tester, 2026-12-03). A longer line ends the thread with {@link LINE_TOO_BIG_EXIT} first.
 */
export const READER_THREAD_MAX_LINE = 16 * 1024 * 1024;
/** The reader thread's exit code for a line over {@link READER_THREAD_MAX_LINE}. */
export const LINE_TOO_BIG_EXIT = 75;

/**
 * The reader thread's old-generation heap limit (MB) when a meter starts. A thread that runs out
 * of it (`ERR_WORKER_OUT_OF_MEMORY`) is started again at the next poll with twice the limit, up
 * to {@link READER_THREAD_MAX_OLD_GEN_MB}; the poll it died in goes on on the main thread. The
 * thread's fixed cost grows with an agent's transcripts (their listing, `Stat`s and who pays for
 * each: ~2 KB a transcript at a backfill's first poll), so an agent with ~10,000 transcripts
 * outgrew 32 MB and, before 2026-12-03, left every later poll to the main thread until a restart.
 * 48, not 32 (2026-12-04): V8 caps the next full collection's limit at halfway from the live heap
 * to this limit and starts marking at once when that slack is under the young generation's 8 MB
 * semi-space; at 32 MB a live heap of ~16 MB (bench:meter's 3,000 transcripts) kept the thread
 * marking back to back (~98 full collections per backlog against ~17 at 48 MB: V8's helper
 * threads' CPU 3.8-4.2 s → 1.8-2.1 s, the meter's peak RSS +~7 MB).
 */
export const READER_THREAD_OLD_GEN_MB = 48;
/**
 * The reader thread's young-generation limit (MB): two 4 MiB semi-spaces (12 gives the same).
 * 8, not 16 (2026-12-04): 16 MiB of the meter's ~200 MB peak RSS was that thread's semi-spaces,
 * and bench:meter's target is < 200 MB. Measured on its backlog (with the 8 MiB SQLite cache,
 * 2 alternating runs each, machine under load): peak RSS 187-189 → 180-183 MB, scavenges
 * 137 → 261 and full collections 14 → 21 (the same ~1 MB survives each scavenge), user CPU
 * +~0.3 s (~4 %).
 */
export const READER_THREAD_YOUNG_GEN_MB = 8;
/** The most the reader thread's old-generation limit grows to (MB); out of heap there, it is final. */
export const READER_THREAD_MAX_OLD_GEN_MB = 256;

/** The reader thread died or could not start (not a problem of its input): the caller falls back. */
export class ReaderThreadCrash extends Error {
  constructor(cause: unknown) {
    super(`reader thread failed: ${String((cause as Error)?.message ?? cause).slice(0, 300)}`, {
      cause,
    });
    this.name = "ReaderThreadCrash";
  }
}

/**
 * The compiled worker entry. From dist/ it sits beside this file; under vitest this file runs
 * from src/ as TypeScript, which a worker thread cannot load, so it is the build's copy in
 * dist/ (test/global-setup.ts builds dist/ before any test runs). Null when it is missing.
 */
export function readerWorkerFile(): string | null {
  const here = import.meta.url;
  const url = here.endsWith(".ts")
    ? new URL("../../../dist/meter/sources/jsonl-worker.js", here)
    : new URL("./jsonl-worker.js", here);
  const path = fileURLToPath(url);
  return existsSync(path) ? path : null;
}

export interface ReaderThreadOptions {
  log?: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  /** The worker entry (tests). @defaultValue `readerWorkerFile()` */
  workerFile?: string | null;
  /**
   * The thread's first old-generation heap limit, MB (tests). Doubled after each time the thread
   * runs out of heap, up to READER_THREAD_MAX_OLD_GEN_MB. @defaultValue READER_THREAD_OLD_GEN_MB
   */
  oldGenerationMb?: number;
}

/**
 * One `worker_threads` reader shared by every source of a meter (session files and OpenClaw
 * stores): it reads, decodes, pre-filters and parses transcripts and builds events on the second
 * core while the main thread bills the previous batch. Polls run one at a time. The main thread bills each batch in one transaction
 * (cursor moves included) and acknowledges it; the reader's memory advances only on that ack.
 * If the thread dies, `poll` rejects with `ReaderThreadCrash`: the batches it acknowledged are
 * committed, nothing else is, and the caller re-reads from the committed cursors.
 */
export function createReaderThread(opts: ReaderThreadOptions = {}) {
  const file = opts.workerFile === undefined ? readerWorkerFile() : opts.workerFile;
  let worker: Worker | null = null;
  let crashes = 0;
  let batches = 0;
  let dead = file === null;
  let oldGenMb = opts.oldGenerationMb ?? READER_THREAD_OLD_GEN_MB;
  if (dead)
    opts.log?.("warn", "reader thread entry not found (is dist/ built?); reading on the main thread", {
      file: "dist/meter/sources/jsonl-worker.js",
    });
  /** A poll is waiting on the thread: its end now is a crash even if `terminate` caused it. */
  let polling = false;
  let stopping = false;

  /**
   * Counts and logs the thread's end. `retry`: the next poll starts a new thread, this one goes on
   * on the main thread. It is `"line"` when the thread stopped itself for a line over
   * READER_THREAD_MAX_LINE (exit LINE_TOO_BIG_EXIT; before 2026-12-03 every later poll read on
   * the main thread until a restart: a reviewer), `"heap"` when it ran out of heap below
   * READER_THREAD_MAX_OLD_GEN_MB (the next thread gets twice the limit). Any other end is final:
   * reading stays on the main thread.
   */
  function crashed(err: unknown, retry: "line" | "heap" | null = null): ReaderThreadCrash {
    crashes++;
    if (!retry) dead = true;
    const e = err instanceof ReaderThreadCrash ? err : new ReaderThreadCrash(err);
    if (retry === "line")
      opts.log?.("warn", "reader thread stopped before a huge line; this poll reads on the main thread", {
        reason: e.message,
      });
    else if (retry === "heap") {
      opts.log?.("warn", "reader thread ran out of heap; this poll reads on the main thread", {
        reason: e.message,
        oldGenerationMb: oldGenMb,
        nextOldGenerationMb: Math.min(oldGenMb * 2, READER_THREAD_MAX_OLD_GEN_MB),
      });
      oldGenMb = Math.min(oldGenMb * 2, READER_THREAD_MAX_OLD_GEN_MB);
    } else
      opts.log?.("error", "reader thread failed; reading on the main thread from now on", {
        reason: e.message,
      });
    return e;
  }

  function started(): Worker {
    if (worker) return worker;
    // Small heap limits: the thread's garbage is short-lived line strings, and V8's defaults
    // would add ~60 MB to the process's peak RSS (bench:meter target < 200 MB). A thread that
    // outgrows them (an agent of ~10,000 transcripts) is started again with twice the old
    // generation (READER_THREAD_OLD_GEN_MB); a single line of tens of MB ends it first
    // (READER_THREAD_MAX_LINE). The young generation is not the
    // smallest, though: at 2 MB the thread scavenged ~800 times per 1.1 GB backlog (0.9 s of
    // GC); at 16 MB ~130 times (0.4 s), for ~9 MB more peak RSS. READER_THREAD_YOUNG_GEN_MB says
    // why it is 8 now.
    const w = new Worker(file as string, {
      resourceLimits: {
        maxYoungGenerationSizeMb: READER_THREAD_YOUNG_GEN_MB,
        maxOldGenerationSizeMb: oldGenMb,
      },
    });
    w.unref();
    let lastError: unknown = null;
    // Registered first, so a poll's own listeners see the crash already counted.
    w.on("error", (err) => {
      lastError = err;
    });
    w.on("exit", (code) => {
      if (worker !== w) return;
      worker = null;
      if (polling || !stopping) {
        const oneLine = lastError === null && code === LINE_TOO_BIG_EXIT;
        const outOfHeap =
          (lastError as { code?: unknown } | null)?.code === "ERR_WORKER_OUT_OF_MEMORY" &&
          oldGenMb < READER_THREAD_MAX_OLD_GEN_MB;
        crashed(
          lastError ??
            new Error(
              oneLine
                ? `a line over ${READER_THREAD_MAX_LINE} bytes is read on the main thread`
                : `exited with code ${code}`,
            ),
          oneLine ? "line" : outOfHeap ? "heap" : null,
        );
      }
    });
    worker = w;
    return w;
  }

  return {
    /** Starts the thread now (it loads its modules while the caller does other work). */
    prestart(): void {
      if (dead) return;
      try {
        started();
      } catch (err) {
        crashed(err);
      }
    },
    /** False once the thread crashed (or its entry is missing): read on the calling thread. */
    get usable(): boolean {
      return !dead;
    },
    /** Batches read on the thread and billed. */
    get batches(): number {
      return batches;
    },
    /** Times the thread died (each is logged). */
    get crashes(): number {
      return crashes;
    },
    /** The old-generation heap limit (MB) the next thread starts with. */
    get oldGenerationMb(): number {
      return oldGenMb;
    },
    /**
     * Reads one source on the thread, billing each batch through `sink` as it arrives, in order.
     * Resolves when the reader is done and every batch it sent was billed. Rejects with the
     * sink's error (the reader is told to stop), the reader's own error (an Error with its
     * `message`, at most 300 characters, and its string `code` when it had one, e.g.
     * SQLITE_BUSY), or ReaderThreadCrash.
     */
    poll(req: ReaderRequest, sink: BatchSink, report?: ProblemReporter) {
      return new Promise<void>((resolve, reject) => {
        let w: Worker;
        try {
          w = started();
        } catch (err) {
          reject(crashed(err));
          return;
        }
        polling = true;
        let failed: { err: unknown } | null = null;
        const done = () => {
          polling = false;
          w.off("message", onMessage);
          w.off("exit", onExit);
          w.unref();
        };
        const onMessage = (m: FromReader) => {
          switch (m.type) {
            case "batch":
              if (failed) return; // read past a failed batch: dropped, its cursor never moved
              try {
                if (m.packed) m.batch.events = unpackEvents(m.packed);
                sink(m.batch);
              } catch (err) {
                failed = { err };
                w.postMessage({ type: "abort" } satisfies ToReader);
                return;
              }
              batches++;
              w.postMessage({ type: "ack", id: m.id } satisfies ToReader);
              return;
            case "problem":
              report?.(m.problem);
              return;
            case "end":
              done();
              if (failed) reject(failed.err);
              else resolve();
              return;
            case "error":
              done();
              reject(
                failed ? failed.err : Object.assign(new Error(m.message), m.code ? { code: m.code } : {}),
              );
              return;
          }
        };
        const onExit = (code: number) => {
          done();
          reject(failed ? failed.err : new ReaderThreadCrash(new Error(`exited with code ${code}`)));
        };
        w.on("message", onMessage);
        w.on("exit", onExit);
        w.ref(); // the poll is waiting on it
        w.postMessage({ type: "poll", ...req } satisfies ToReader);
      });
    },
    /** Drops a source's reader on the thread (its source closed); a no-op when none runs. */
    release(kind: ReaderRequest["kind"], dbPath: string, key: string): void {
      if (!worker) return;
      try {
        worker.postMessage({ type: "release", kind, dbPath, key } satisfies ToReader);
      } catch {
        // a thread on its way out drops everything anyway
      }
    },
    /** Stops the thread (meter close; tests use it to kill the thread mid-poll). */
    terminate(): Promise<number> {
      stopping = true;
      return worker ? worker.terminate() : Promise.resolve(0);
    },
  };
}

export type ReaderThread = ReturnType<typeof createReaderThread>;

/**
 * What a source needs of its reader (jsonl-reader.ts, sqlite-reader.ts), on either thread: a poll
 * that emits numbered batches, and `committed(id)` once the writer committed one (the reader's
 * memory advances only then).
 */
export interface CommittingReader {
  poll(emit: Emit, report?: ProblemReporter): Promise<void>;
  committed(id: number): void;
  close?(): void;
}

/**
 * The reader thread a source of `db` reads on, or null for the calling thread: `thread` unless
 * `db` is in memory (the thread opens creditgate's database by file name) or the source has a
 * custom clock (`customClock`: a clock cannot cross threads).
 */
export function threadFor(
  thread: ReaderThread | undefined,
  db: Db,
  customClock: boolean,
): ReaderThread | null {
  const onDisk = !db.memory && db.name !== "" && !db.name.startsWith("file:");
  return thread && onDisk && !customClock ? thread : null;
}

/**
 * One poll of a source: on `thread` while it is usable, else on the calling thread through the
 * reader `inline()` returns (the caller keeps one across polls), each batch committed once `sink`
 * returned and then acknowledged. If the thread dies mid-poll (logged and counted by it), the
 * poll goes on inline from the committed cursors: what the thread had acknowledged is committed,
 * nothing else is, and dedupe absorbs any overlap.
 * @throws what `sink` or the reader throws (a thread's own error carries its `message` and `code`)
 */
export async function pollSource(
  thread: ReaderThread | null,
  req: ReaderRequest,
  inline: () => CommittingReader,
  sink: BatchSink,
  report?: ProblemReporter,
): Promise<void> {
  if (thread?.usable) {
    try {
      return await thread.poll(req, sink, report);
    } catch (err) {
      if (!(err instanceof ReaderThreadCrash)) throw err;
    }
  }
  const reader = inline();
  await reader.poll((batch, id) => {
    sink(batch); // returned: committed
    reader.committed(id);
  }, report);
}
