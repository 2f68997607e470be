/**
 * Entry of the reader thread (see jsonl-thread.ts): runs JSONL readers (session files) and
 * OpenClaw store readers against a READ-ONLY connection to creditgate's database (cursors,
 * archives done, session memory) and posts their batches to the main thread in order, at most
 * MAX_IN_FLIGHT unacknowledged. A reader's memory advances only on the main thread's ack; on
 * abort the poll stops.
 */
import { parentPort } from "node:worker_threads";
import Database from "better-sqlite3";
import type { Db } from "../../db/index.js";
import { limitLineSize } from "./batch-builder.js";
import { packedBuffers } from "./event-columns.js";
import { createJsonlReader } from "./jsonl-reader.js";
import {
  type CommittingReader,
  type FromReader,
  LINE_TOO_BIG_EXIT,
  MAX_IN_FLIGHT,
  READER_THREAD_MAX_LINE,
  type ReaderRequest,
  type ToReader,
} from "./jsonl-thread.js";
import { createSqliteReader } from "./sqlite-reader.js";

const port = parentPort;
if (!port) throw new Error("jsonl-worker.js runs as a worker thread");

// A line too long for this thread's heap ends the thread before it is decoded (an exit, not an
// error a reader could catch and report as a source problem): the main thread reads on from the
// committed cursors and parses it (see limitLineSize).
limitLineSize(READER_THREAD_MAX_LINE, () => process.exit(LINE_TOO_BIG_EXIT));

class Aborted extends Error {}

const dbs = new Map<string, Db>();
/**
 * By kind, creditgate database and agent dir: a reader's memory lives across polls, and is only
 * valid against the database it was built from.
 */
const readers = new Map<string, CommittingReader>();
const readerKey = (m: Pick<ReaderRequest, "kind" | "dbPath" | "key">) =>
  `${m.kind}\u0000${m.dbPath}\u0000${m.key}`;
let current: CommittingReader | null = null;
let inFlight = 0;
let aborted = false;
let wake: (() => void) | null = null;

const post = (m: FromReader, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer);

/**
 * Batches sent and not yet acknowledged from which on the writer counts as busy: the reader
 * thread then derives the dedupe keys of the events it reads (~3 µs per call); below, the writer
 * would idle waiting for this thread, so the keys are left to it (the biller derives a missing
 * key with the same function). On bench:meter's OpenClaw stores the writer idled ~40 % of the
 * run while this thread spent ~0.7 s on keys; on session files the two are closer to balanced.
 */
const WRITER_BUSY_AT = 2;
const writerBusy = () => inFlight >= WRITER_BUSY_AT;

port.on("message", (m: ToReader) => {
  switch (m.type) {
    case "poll":
      void run(m);
      return;
    case "ack":
      current?.committed(m.id);
      inFlight--;
      wake?.();
      return;
    case "abort":
      aborted = true;
      wake?.();
      return;
    case "release": {
      const k = readerKey(m);
      readers.get(k)?.close?.();
      readers.delete(k);
      return;
    }
  }
});

async function run(m: Extract<ToReader, { type: "poll" }>): Promise<void> {
  inFlight = 0;
  aborted = false;
  try {
    let db = dbs.get(m.dbPath);
    if (!db) {
      db = new Database(m.dbPath, { readonly: true, fileMustExist: true, timeout: 10_000 });
      dbs.set(m.dbPath, db);
    }
    const k = readerKey(m);
    let reader = readers.get(k);
    if (!reader) {
      // A small first batch gets the writer going while the rest is read.
      // Events in columns. Their dedupe keys are derived here while the writer has batches
      // waiting (it is the busier thread), else left to it (it would only wait for this one).
      const first = Math.min(m.opts.batchSize, 200);
      const packing = { firstBatchSize: first, packEvents: true, keysHere: writerBusy };
      reader =
        m.kind === "sqlite"
          ? createSqliteReader({ ...m.opts, ...packing }, db)
          : createJsonlReader({ ...m.opts, ...packing }, db);
      readers.set(k, reader);
    }
    current = reader;
    await reader.poll(
      async (batch, id, packed) => {
        if (aborted) throw new Aborted();
        // Both readers run with `packEvents` here, so events come in columns (cheaper to clone
        // than 28-field objects); a batch with events as objects would be posted as it is (the
        // biller derives missing dedupe keys).
        // The columns' buffers are transferred, not copied (each is this batch's alone).
        if (packed && batch.events.length === 0)
          post({ type: "batch", id, batch, packed }, packedBuffers(packed));
        else post({ type: "batch", id, batch });
        inFlight++;
        while (inFlight >= MAX_IN_FLIGHT && !aborted) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
        if (aborted) throw new Aborted();
      },
      (problem) => post({ type: "problem", problem }),
    );
    post({ type: "end" });
  } catch (err) {
    if (err instanceof Aborted) post({ type: "end" });
    else {
      const code = (err as { code?: unknown })?.code;
      post({
        type: "error",
        message: String((err as Error)?.message ?? err).slice(0, 300),
        code: typeof code === "string" ? code : null,
      });
    }
  }
}
