/**
 * Entry of the report thread (see report-thread.ts): runs one aggregate query at a time on a
 * READ-ONLY connection to a SQLite file (kept open while the file stays the same), answers on
 * its port, then wakes the main thread, which waits with `Atomics.wait`.
 */
import { statSync } from "node:fs";
import { type MessagePort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { REPORT_CHUNK_ROWS, type ReportJob, type ReportJobResult, type ReportOpen } from "./report-thread.js";

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };
/** Open connections by path, with the identity (device:inode) of the file they opened. */
const dbs = new Map<string, { db: Database.Database; id: string }>();

/**
 * The read-only connection to `file`, opened on first use (one file at a time: any other is
 * closed), and opened again when another file now has that path (deleted and created again, or a
 * backup renamed over it: the old connection would keep reading the old file, and the report
 * would mix two databases). Throws when `file` does not exist.
 */
function connection(file: string): Database.Database {
  const st = statSync(file, { bigint: true });
  const id = `${st.dev}:${st.ino}`;
  const had = dbs.get(file);
  if (had && had.id === id) return had.db;
  for (const [other, open] of dbs) {
    open.db.close();
    dbs.delete(other);
  }
  const db = new Database(file, { readonly: true, fileMustExist: true });
  dbs.set(file, { db, id });
  return db;
}

port.on("message", (job: ReportJob | ReportOpen) => {
  if ("open" in job) {
    // warm-up: open the file and read its schema; a failure here is met again by the first job
    try {
      connection(job.open).prepare("SELECT 1 FROM usage_daily LIMIT 0").all();
    } catch {}
    return;
  }
  let restore: (() => void) | null = null;
  /** Posts one part and wakes the waiting caller (see report-thread.ts `next`). */
  const post = (out: ReportJobResult, transfer: ArrayBuffer[] = []): void => {
    port.postMessage(out, transfer);
    Atomics.add(flag, 1, 1);
    Atomics.notify(flag, 1);
  };
  try {
    const db = connection(job.file);
    // the big cache only for the query (as on the main connection): its pages are freed after,
    // so a serve process does not keep ~40 MB of a month's aggregates per report thread
    const cacheSize = Number(db.pragma("cache_size", { simple: true }));
    db.pragma(`cache_size = -${job.cacheKib}`);
    restore = () => db?.pragma(`cache_size = ${cacheSize}`);
    // Parts of REPORT_CHUNK_ROWS rows: the keys as arrays, the values (all numbers: integers are
    // read as numbers, an unsafe one stays unsafe and the caller reads that group again exactly)
    // in one transferred buffer. The caller builds report rows from a part while this thread
    // reads the next (a GROUP BY yields its rows over the second half of its time).
    const w = job.width;
    const size = Math.max(1, job.chunkRows ?? REPORT_CHUNK_ROWS);
    let parts = 0;
    let keys: unknown[] = [];
    let keys2: unknown[] = [];
    let anyKey2 = false;
    let values = new Float64Array(w * size);
    let n = 0;
    const flush = (done: boolean): void => {
      if (parts++ === job.failAfterParts) throw new Error("failAfterParts (a test)");
      const used = n === size ? values : values.slice(0, n * w);
      post({ seq: job.seq, ok: true, done, keys, keys2: anyKey2 ? keys2 : null, values: used }, [
        used.buffer,
      ]);
      keys = [];
      keys2 = [];
      anyKey2 = false;
      values = new Float64Array(w * size);
      n = 0;
    };
    for (const r of db
      .prepare(job.sql)
      .raw()
      .iterate(...job.params) as IterableIterator<unknown[]>) {
      if (n === size) flush(false);
      keys.push(r[0]);
      keys2.push(r[1]);
      if (r[1] !== null) anyKey2 = true;
      const at = n * w;
      for (let i = 0; i < w; i++) {
        const v = r[i + 2];
        values[at + i] = typeof v === "number" ? v : v === null ? Number.NaN : Number(v);
      }
      n++;
    }
    restore?.();
    restore = null;
    flush(true);
  } catch (err) {
    try {
      restore?.();
    } catch {}
    post({ seq: job.seq, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
});
