import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { MIGRATIONS, type Migration } from "./migrations.js";

export type Db = Database.Database;

/** Busy timeout of one-shot CLI commands: waiting a while for another writer is fine there. */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
/**
 * Busy timeout of processes that serve HTTP (`serve`, `start`). better-sqlite3 is synchronous:
 * while SQLite waits for another process's write lock, the whole event loop waits with it. So
 * these processes wait at most this long per attempt and retry asynchronously instead (HTTP
 * writes: `retryOnBusy` in src/app.ts; meter batches: the next poll). Short enough that several
 * writers retrying against a lock held elsewhere cannot add up to a visible stall (/healthz).
 */
export const SERVER_BUSY_TIMEOUT_MS = 2;

export interface OpenDatabaseOptions {
  /** How long one statement waits for another connection's lock, in ms. @defaultValue `DEFAULT_BUSY_TIMEOUT_MS` (10_000) */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating if needed) creditgate's own database: WAL (readers never wait for a writer),
 * FULL sync (a committed debit survives power loss), foreign keys, and every pending migration
 * in its own transaction. A database file this call creates is mode 0600 (SQLite gives its
 * `-wal`/`-shm` files the same mode), and directories it creates are 0700: balances and key
 * hashes are nobody else's business. Existing files and directories keep their modes.
 */
export function openDatabase(
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
  opts: OpenDatabaseOptions = {},
): Db {
  const onDisk = path !== ":memory:" && path !== "" && !path.startsWith("file:");
  let created = false;
  if (onDisk) {
    makeDirs(dirname(path));
    if (!existsSync(path)) {
      closeSync(openSync(path, "a", 0o600));
      created = true;
    }
  }
  // Opening and migrating may wait for another process (a start-up is not latency-critical);
  // the requested busy timeout applies from then on.
  const db = new Database(path, { timeout: DEFAULT_BUSY_TIMEOUT_MS });
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  // 16 MiB page cache: the hot B-trees (dedupe keys, ledger keys) stay in memory during a backlog.
  db.pragma("cache_size = -16384");
  if (created) {
    // Belt and braces for file systems or SQLite builds that do not copy the mode to WAL files.
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      try {
        chmodSync(f, 0o600);
      } catch {
        // not there (yet): SQLite creates it with the database file's mode
      }
    }
  }
  migrate(db, migrations);
  db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
  return db;
}

/** True for SQLite's "another connection holds the lock" errors (SQLITE_BUSY*, SQLITE_LOCKED*). */
export function isBusyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/**
 * Runs `fn` and, while it fails with a busy error (`isBusyError`), runs it again after an
 * asynchronous backoff (5 ms doubling to 200 ms) until `budgetMs` of wall time has passed; then
 * rethrows the last busy error. The event loop is free between attempts; each attempt blocks it
 * at most the connection's busy_timeout. Only for work that is safe to repeat after a busy
 * failure, e.g. one transaction (a busy failure rolled it back whole).
 */
export async function retryOnBusy<T>(fn: () => Promise<T> | T, budgetMs: number): Promise<T> {
  const deadline = performance.now() + budgetMs;
  let delayMs = 5;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isBusyError(err) || performance.now() + delayMs > deadline) throw err;
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 200);
    }
  }
}

export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): number {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (m.version <= current) continue;
    const fkBefore = db.pragma("foreign_keys", { simple: true }) as number;
    if (m.rebuildsTables) db.pragma("foreign_keys = OFF");
    try {
      db.transaction(() => {
        // Another process may have applied it since `current` was read (two meters starting
        // on a new database): the version is read again under the write lock.
        if ((db.pragma("user_version", { simple: true }) as number) >= m.version) return;
        db.exec(m.sql);
        if (m.rebuildsTables) {
          const broken = db.pragma("foreign_key_check") as unknown[];
          if (broken.length > 0)
            throw new Error(
              `migration ${m.version} (${m.name}) would leave ${broken.length} broken foreign key(s)`,
            );
        }
        db.pragma(`user_version = ${m.version}`);
      }).immediate();
    } finally {
      if (m.rebuildsTables) db.pragma(`foreign_keys = ${fkBefore ? "ON" : "OFF"}`);
    }
  }
  return db.pragma("user_version", { simple: true }) as number;
}

/**
 * `mkdir -p` with mode 0700 for each directory it creates. Not `mkdirSync({recursive})`: on Node
 * 20 that spins forever under pseudo file systems such as /proc (it keeps retrying ENOENT); here
 * each level is created once, parents first, and the first failure throws.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  let d = dir;
  while (!existsSync(d)) {
    missing.push(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing.reverse()) mkdirSync(m, { mode: 0o700 });
}
