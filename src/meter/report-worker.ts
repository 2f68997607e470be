/**
 * Entry of the report thread (see report-thread.ts): runs one aggregate query at a time on a
 * READ-ONLY connection to a SQLite file (kept open while the file stays the same), answers on
 * its port, then wakes the main thread, which waits with `Atomics.wait`.
 */
import { type MessagePort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import type { ReportJob, ReportJobResult, ReportOpen } from "./report-thread.js";

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };
const dbs = new Map<string, Database.Database>();

/** The read-only connection to `file`, opened on first use (one file at a time: any other is closed). */
function connection(file: string): Database.Database {
  let db = dbs.get(file);
  if (!db) {
    for (const [other, open] of dbs) {
      open.close();
      dbs.delete(other);
    }
    db = new Database(file, { readonly: true, fileMustExist: true });
    dbs.set(file, db);
  }
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
  let out: ReportJobResult;
  let restore: (() => void) | null = null;
  try {
    const db = connection(job.file);
    // the big cache only for the query (as on the main connection): its pages are freed after,
    // so a serve process does not keep ~40 MB of a month's aggregates per report thread
    const cacheSize = Number(db.pragma("cache_size", { simple: true }));
    db.pragma(`cache_size = -${job.cacheKib}`);
    restore = () => db?.pragma(`cache_size = ${cacheSize}`);
    // The keys as an array, the values (all numbers: integers are read as numbers, an unsafe one
    // stays unsafe and the main thread reads that group again exactly) in one transferred buffer.
    const keys: unknown[] = [];
    const keys2: unknown[] = [];
    let anyKey2 = false;
    let values = new Float64Array(job.width * 4096);
    let n = 0;
    for (const r of db
      .prepare(job.sql)
      .raw()
      .iterate(...job.params) as IterableIterator<unknown[]>) {
      if ((n + 1) * job.width > values.length) {
        const grown = new Float64Array(values.length * 2);
        grown.set(values);
        values = grown;
      }
      keys.push(r[0]);
      keys2.push(r[1]);
      if (r[1] !== null) anyKey2 = true;
      for (let i = 0; i < job.width; i++) {
        const v = r[i + 2];
        values[n * job.width + i] = typeof v === "number" ? v : v === null ? Number.NaN : Number(v);
      }
      n++;
    }
    restore?.();
    restore = null;
    const used = values.slice(0, n * job.width);
    out = { seq: job.seq, ok: true, keys, keys2: anyKey2 ? keys2 : null, values: used };
    port.postMessage(out, [used.buffer]);
    Atomics.store(flag, 0, job.seq);
    Atomics.notify(flag, 0);
    return;
  } catch (err) {
    try {
      restore?.();
    } catch {}
    out = { seq: job.seq, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(out);
  Atomics.store(flag, 0, job.seq);
  Atomics.notify(flag, 0);
});
