import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { MIGRATIONS, type Migration } from "./migrations.js";
import { isPostgresUrl, PgDatabase } from "./pg.js";
import { PG_MIGRATIONS } from "./pg-migrations.js";

/**
 * creditgate's database connection. On SQLite it is better-sqlite3's `Database`; on PostgreSQL
 * (`CREDITGATE_DB=postgres://…`) a `PgDatabase` with the same synchronous API for the calls the
 * repositories make (src/db/pg.ts); `isPostgres(db)` tells them apart where SQL differs.
 */
export type Db = Database.Database;

/** True when `db` is a PostgreSQL connection (SQL that differs by dialect branches on this). */
export function isPostgres(db: Db): boolean {
  return (db as unknown as { dialect?: string }).dialect === "postgres";
}

/** The PostgreSQL connection behind `db`. @throws Error when `db` is SQLite. */
export function asPostgres(db: Db): PgDatabase {
  if (!isPostgres(db)) throw new Error("not a PostgreSQL connection");
  return db as unknown as PgDatabase;
}

/**
 * Connects to PostgreSQL at `url` (libpq URI, e.g. `postgres://user@host:5432/db`; a schema other
 * than `public` via `?options=-csearch_path%3Dname`) and applies pending PostgreSQL migrations.
 * @throws PgError when the server cannot be reached or a migration fails (nothing half-applied).
 */
export function openPostgres(url: string, migrations: readonly Migration[] = PG_MIGRATIONS): Db {
  const db = new PgDatabase(url);
  try {
    migratePostgres(db, migrations);
  } catch (err) {
    db.close();
    throw err;
  }
  return db as unknown as Db;
}

/**
 * Applies `migrations` newer than the schema's version, all in one transaction under an advisory
 * lock per schema (several processes starting at once migrate once). The version lives in
 * `creditgate_schema_migrations` (PostgreSQL only). Returns the version after.
 */
export function migratePostgres(db: PgDatabase, migrations: readonly Migration[] = PG_MIGRATIONS): number {
  const schema = db.query("SELECT current_schema()", []).rows[0]?.[0];
  if (typeof schema !== "string")
    throw new Error("PostgreSQL: the search_path names no existing schema (create it first)");
  let version = 0;
  db.transaction(() => {
    db.query("SELECT pg_advisory_xact_lock(hashtext('creditgate-migrate:' || current_schema()))", []);
    db.exec(`CREATE TABLE IF NOT EXISTS creditgate_schema_migrations (
      version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)`);
    version = Number(
      db.query("SELECT COALESCE(MAX(version), 0) FROM creditgate_schema_migrations", []).rows[0]?.[0],
    );
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= version) continue;
      db.exec(m.sql);
      db.query(
        "INSERT INTO creditgate_schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
        [String(m.version), m.name, String(Date.now())],
      );
      version = m.version;
    }
  })();
  db.resetSchemaInfo();
  return version;
}

/** Pages of WAL after which a commit checkpoints it (SQLite's default: 1,000). */
export const WAL_AUTOCHECKPOINT_PAGES = 10_000;

/** Page cache of each connection {@link openDatabase} opens, KiB (see there). */
export const SQLITE_CACHE_KIB = 8192;

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
 * A `postgres://` or `postgresql://` `path` opens PostgreSQL instead (`openPostgres`; `migrations`
 * and `opts` do not apply there: it migrates with `PG_MIGRATIONS`).
 */
export function openDatabase(
  path: string,
  migrations: readonly Migration[] = MIGRATIONS,
  opts: OpenDatabaseOptions = {},
): Db {
  if (isPostgresUrl(path)) return openPostgres(path);
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
  // Freed space is zeroed where that costs no extra I/O: a B-tree page split or a row update
  // otherwise leaves copies of old cells (chat previews) in the file's free space, which
  // `purge-previews` could not reach (its own secure_delete = ON only covers what it frees).
  db.pragma("secure_delete = FAST");
  // Page cache: the inner pages of the hot B-trees (dedupe keys, ledger keys) stay in memory
  // during a backlog. 8 MiB, not 16 (2026-12-04): the leaves of the random-order indexes
  // (dedupe keys, response keys, account+time: ~32 MB at bench:meter's 222,000 calls) never fit
  // in either, and the 8 MiB off the cache is off the meter's peak RSS (bench:meter 197-202 →
  // 187-189 MB); the misses it adds are ~7,000 more page reads from the OS cache per backlog
  // (`/proc/<pid>/io`: +29 MB read, 4 MiB would be +300 MB). Reports raise it for their query.
  db.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
  // Checkpoint the WAL every 10,000 pages (~40 MB) instead of SQLite's 1,000: a backlog's
  // commits rewrite the same index pages again and again, and each checkpoint copies them to the
  // database file and fsyncs it. Measured on bench:meter (1.1 GB, 222k calls): commit time
  // 2.0 -> 1.3 s, bytes written 614 -> 530 MB. The cost: a WAL file of up to ~40 MB, and a
  // checkpoint (copy + fsync of at most that much) on whichever commit crosses the mark.
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
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
