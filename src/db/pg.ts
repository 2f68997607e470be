/**
 * creditgate's database on PostgreSQL, behind the same synchronous API the repositories use on
 * SQLite (the subset of better-sqlite3's `Database` / `Statement` they call), over libpq's
 * synchronous calls (node-libpq, from node-postgres). One connection per process, as with SQLite;
 * each statement blocks the event loop for one round trip (a local one: ~0.1-0.3 ms).
 *
 * Semantics kept from SQLite (docs/postgres.md):
 * - Every transaction is SERIALIZABLE (the session default), so any interleaving of transactions
 *   from many processes has the outcome of some serial order: what SQLite's single writer gives.
 *   A top-level `db.transaction(fn)` that hits a serialization failure or deadlock (SQLSTATE 40001,
 *   40P01; also a unique violation caused by a concurrent insert of the same key, which PostgreSQL
 *   reports as 40001) is rolled back and `fn` runs again, up to `MAX_TX_ATTEMPTS` times, with a
 *   short blocking backoff. `fn` must therefore do nothing but database work (true of every
 *   transaction in creditgate: side effects such as HTTP calls happen outside them). A failure
 *   swallowed by `fn` (e.g. in a nested savepoint) still retries the whole transaction.
 * - Nested `db.transaction` calls are savepoints; `.immediate/.deferred/.exclusive` are the same
 *   transaction on PostgreSQL (SERIALIZABLE makes the lock mode irrelevant).
 * - Integers come back as numbers (bigint/numeric results too, e.g. COUNT and SUM), or as BigInt
 *   for a statement with `.safeIntegers(true)`; booleans as 1/0; bytea as Buffer.
 * - Errors carry `code` as the SQLite equivalent where one exists (`SQLITE_CONSTRAINT_UNIQUE`,
 *   `_FOREIGNKEY`, `_CHECK`, `_NOTNULL`, `SQLITE_BUSY` for serialization failures that ran out of
 *   retries) and `sqlState` as PostgreSQL's.
 */
import { createRequire } from "node:module";
import type LibpqType from "libpq";
import { type PgSchemaInfo, type TranslatedSql, translateSql } from "./pg-sql.js";

// Loaded through require: libpq prints its include directory when it has no CommonJS parent.
type Libpq = LibpqType;
let libpqClass: typeof LibpqType | undefined;
/**
 * The libpq binding, loaded on the first PostgreSQL connection: it is an optional dependency
 * (it compiles against libpq's headers), so a SQLite install without libpq-dev still installs and
 * runs. @throws Error naming the fix when it is not installed.
 */
function loadLibpq(): typeof LibpqType {
  if (!libpqClass) {
    try {
      libpqClass = createRequire(import.meta.url)("libpq") as typeof LibpqType;
    } catch (err) {
      throw new Error(
        `CREDITGATE_DB is a PostgreSQL URL but the PostgreSQL driver (the optional npm package libpq) is not installed: install libpq's headers (Debian/Ubuntu: apt-get install libpq-dev) and run npm ci again (${(err as Error).message.split("\n")[0]})`,
      );
    }
  }
  return libpqClass;
}

/**
 * Closed libpq handles, kept reachable until their libuv poll handle has finished closing: libpq's
 * `finish()` starts an asynchronous `uv_close` on memory owned by the JS object and then lets it be
 * collected, and a collection before the close completes aborts the process (a libuv assertion).
 */
const closing = new Set<Libpq>();

/** Attempts of one top-level transaction before its serialization failure is thrown. */
export const MAX_TX_ATTEMPTS = 40;

/** True for `postgres://` and `postgresql://` URLs (what `CREDITGATE_DB` takes for PostgreSQL). */
export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

const SQLITE_CODE: Record<string, string> = {
  "23505": "SQLITE_CONSTRAINT_UNIQUE",
  "23503": "SQLITE_CONSTRAINT_FOREIGNKEY",
  "23514": "SQLITE_CONSTRAINT_CHECK",
  "23502": "SQLITE_CONSTRAINT_NOTNULL",
  "40001": "SQLITE_BUSY",
  "40P01": "SQLITE_BUSY",
  "55P03": "SQLITE_BUSY",
};

/** SQLite's wording of the same failures, kept as a message prefix (callers and tests match on it). */
const SQLITE_PHRASE: Record<string, string> = {
  "23505": "UNIQUE constraint failed",
  "23503": "FOREIGN KEY constraint failed",
  "23514": "CHECK constraint failed",
  "23502": "NOT NULL constraint failed",
};

/** A PostgreSQL error: `code` as SQLite would name it (when it has a twin), `sqlState` as PostgreSQL does. */
export class PgError extends Error {
  readonly code: string;
  readonly sqlState: string;
  constructor(message: string, sqlState: string) {
    super(SQLITE_PHRASE[sqlState] ? `${SQLITE_PHRASE[sqlState]}: ${message}` : message);
    this.name = "PgError";
    this.sqlState = sqlState;
    this.code = SQLITE_CODE[sqlState] ?? `PG_${sqlState}`;
  }
}

const RETRYABLE = new Set(["40001", "40P01"]);

/** Whether `err` is a serialization failure or deadlock (the transaction may simply run again). */
export function isRetryablePgError(err: unknown): boolean {
  return err instanceof PgError && RETRYABLE.has(err.sqlState);
}

type Param = string | number | bigint | boolean | Buffer | null | undefined;

function toText(v: Param): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "boolean") return v ? "1" : "0";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new RangeError(`PostgreSQL: cannot bind ${v}`);
    return String(v);
  }
  if (Buffer.isBuffer(v)) return `\\x${v.toString("hex")}`;
  return v;
}

const INT_OIDS = new Set([20, 21, 23, 26]);

function fromText(v: string, oid: number, safe: boolean): unknown {
  if (INT_OIDS.has(oid)) return safe ? BigInt(v) : Number(v);
  if (oid === 1700) {
    if (safe && /^-?\d+$/.test(v)) return BigInt(v);
    return Number(v);
  }
  if (oid === 700 || oid === 701) return Number(v);
  if (oid === 16) return v === "t" ? 1 : 0;
  if (oid === 17) return Buffer.from(v.slice(2), "hex");
  return v;
}

interface Result {
  rows: unknown[][];
  names: string[];
  changes: number;
}

/** Waits `ms` synchronously (the whole data layer is synchronous; this is a retry backoff). */
function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A prepared statement with better-sqlite3's calling conventions. */
export class PgStatement {
  readonly source: string;
  readonly reader: boolean;
  private readonly db: PgDatabase;
  private tr: TranslatedSql | null = null;
  private name: string | null = null;
  private mode: "object" | "pluck" | "raw" = "object";
  private safe = false;

  constructor(db: PgDatabase, source: string) {
    this.db = db;
    this.source = source;
    this.reader = /^\s*(SELECT|WITH|VALUES)\b/i.test(source) || /\bRETURNING\b/i.test(source);
  }

  pluck(on = true): this {
    this.mode = on ? "pluck" : "object";
    return this;
  }
  raw(on = true): this {
    this.mode = on ? "raw" : "object";
    return this;
  }
  safeIntegers(on = true): this {
    this.safe = on;
    return this;
  }

  private translated(): TranslatedSql {
    this.tr ??= translateSql(this.source, this.db.schemaInfo());
    return this.tr;
  }

  private bind(args: unknown[]): (string | null)[] {
    const tr = this.translated();
    const first = args[0];
    if (
      args.length === 1 &&
      first !== null &&
      typeof first === "object" &&
      !Array.isArray(first) &&
      !Buffer.isBuffer(first)
    ) {
      const o = first as Record<string, Param>;
      if (!tr.names && tr.paramCount === 0) return []; // better-sqlite3 accepts an unused object too
      if (!tr.names)
        throw new TypeError("PostgreSQL: named parameters given to a statement with ? parameters");
      return tr.names.map((n) => {
        if (!(n in o)) throw new RangeError(`Missing named parameter "${n}"`);
        return toText(o[n]);
      });
    }
    const flat = args.flat() as Param[];
    if (flat.length !== tr.paramCount)
      throw new RangeError(
        `Too ${flat.length < tr.paramCount ? "few" : "many"} parameter values were provided`,
      );
    return flat.map(toText);
  }

  private exec(args: unknown[]): Result {
    const params = this.bind(args);
    const tr = this.translated();
    if (this.name === null) this.name = this.db.prepareNamed(tr.text, tr.paramCount);
    return this.db.execPrepared(this.name, params, this.safe);
  }

  /** Runs the statement; `lastInsertRowid` is the `id` of the last row an INSERT wrote (0: none). */
  run(...args: unknown[]): { changes: number; lastInsertRowid: number | bigint } {
    const r = this.exec(args);
    const tr = this.translated();
    const last = tr.returnsId && r.rows.length > 0 ? (r.rows[r.rows.length - 1]?.[0] as number | bigint) : 0;
    return { changes: r.changes, lastInsertRowid: last };
  }
  get(...args: unknown[]): unknown {
    const r = this.exec(args);
    const row = r.rows[0];
    return row === undefined ? undefined : this.shape(row, r.names);
  }
  all(...args: unknown[]): unknown[] {
    const r = this.exec(args);
    return r.rows.map((row) => this.shape(row, r.names));
  }
  *iterate(...args: unknown[]): IterableIterator<unknown> {
    yield* this.all(...args);
  }

  private shape(row: unknown[], names: string[]): unknown {
    if (this.mode === "pluck") return row[0];
    if (this.mode === "raw") return row;
    const o: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) o[names[i] ?? ""] = row[i];
    return o;
  }
}

/** A transaction function with better-sqlite3's modifiers. */
export type PgTransaction<F extends (...args: never[]) => unknown> = F & {
  deferred: F;
  immediate: F;
  exclusive: F;
  default: F;
};

export interface PgOpenOptions {
  /** Overrides how many times a serialization failure is retried. @defaultValue MAX_TX_ATTEMPTS */
  maxTxAttempts?: number;
}

/**
 * One synchronous PostgreSQL connection behaving like better-sqlite3's `Database` for the calls
 * creditgate makes. Build with `openPostgres` (src/db/open.ts), which also migrates.
 */
export class PgDatabase {
  readonly dialect = "postgres" as const;
  readonly name: string;
  readonly memory = false;
  readonly readonly = false;
  open = true;
  private readonly pq: Libpq;
  private depth = 0;
  private retryWanted = false;
  private seq = 0;
  private info: PgSchemaInfo | null = null;
  private readonly maxTxAttempts: number;
  /** Top-level transactions run again after a serialization failure or deadlock, since opening. */
  txRetries = 0;

  /** Connects to `url` (a libpq URI). @throws PgError when the server cannot be reached. */
  constructor(url: string, opts: PgOpenOptions = {}) {
    this.pq = new (loadLibpq())();
    this.name = url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
    this.maxTxAttempts = opts.maxTxAttempts ?? MAX_TX_ATTEMPTS;
    try {
      this.pq.connectSync(url);
    } catch (err) {
      throw new PgError(
        `cannot connect to PostgreSQL ${this.name}: ${(err as Error).message.trim()}`,
        "08001",
      );
    }
    this.exec(
      "SET default_transaction_isolation = 'serializable'; SET TIME ZONE 'UTC'; SET client_min_messages = warning",
    );
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  /** Columns per table of the current schema (what the SQL translator qualifies and returns ids from). */
  schemaInfo(): PgSchemaInfo {
    if (this.info) return this.info;
    const r = this.query(
      `SELECT c.table_name, c.column_name, c.is_identity FROM information_schema.columns c
        WHERE c.table_schema = current_schema()`,
      [],
    );
    const columns = new Map<string, Set<string>>();
    const identityTables = new Set<string>();
    for (const [t, c, ident] of r.rows as [string, string, string][]) {
      const set = columns.get(t) ?? new Set<string>();
      columns.set(t, set);
      set.add(c);
      if (c === "id" && ident === "YES") identityTables.add(t);
    }
    this.info = { columns, identityTables };
    return this.info;
  }

  /** Forgets the cached schema (after migrations). */
  resetSchemaInfo(): void {
    this.info = null;
  }

  prepare(sql: string): PgStatement {
    this.assertOpen();
    return new PgStatement(this, sql);
  }

  /** Runs one or more statements without parameters, as written (no dialect rewriting). */
  exec(sql: string): this {
    this.assertOpen();
    this.pq.exec(sql);
    this.check();
    this.pq.clear();
    return this;
  }

  /** Runs `sql` with `$n` parameters (PostgreSQL dialect, no rewriting); rows as arrays. */
  query(sql: string, params: (string | null)[], safe = false): Result {
    this.assertOpen();
    this.pq.execParams(sql, params);
    return this.collect(safe);
  }

  /** @internal Prepares `text` under a fresh name on this connection. */
  prepareNamed(text: string, n: number): string {
    const name = `cg${++this.seq}`;
    this.pq.prepare(name, text, n);
    try {
      this.check();
    } finally {
      this.pq.clear();
    }
    return name;
  }

  /** @internal */
  execPrepared(name: string, params: (string | null)[], safe: boolean): Result {
    this.assertOpen();
    if (this.depth === 0) {
      // autocommit: a lone statement can still hit a serialization failure; it is safe to repeat
      for (let attempt = 1; ; attempt++) {
        try {
          this.pq.execPrepared(name, params);
          return this.collect(safe);
        } catch (err) {
          if (!isRetryablePgError(err) || attempt >= this.maxTxAttempts) throw err;
          blockFor(Math.min(2 ** attempt, 50));
        }
      }
    }
    this.pq.execPrepared(name, params);
    return this.collect(safe);
  }

  private collect(safe: boolean): Result {
    try {
      this.check();
      const nt = this.pq.ntuples();
      const nf = this.pq.nfields();
      const names: string[] = [];
      const types: number[] = [];
      for (let c = 0; c < nf; c++) {
        names.push(this.pq.fname(c));
        types.push(this.pq.ftype(c));
      }
      const rows: unknown[][] = [];
      for (let r = 0; r < nt; r++) {
        const row: unknown[] = new Array(nf);
        for (let c = 0; c < nf; c++)
          row[c] = this.pq.getisnull(r, c) ? null : fromText(this.pq.getvalue(r, c), types[c] ?? 25, safe);
        rows.push(row);
      }
      const changes = Number(this.pq.cmdTuples() || 0);
      return { rows, names, changes };
    } finally {
      this.pq.clear();
    }
  }

  /** Throws the last result's error, if any (marking the transaction for a retry when it is retryable). */
  private check(): void {
    const st = this.pq.resultStatus();
    if (st === "PGRES_COMMAND_OK" || st === "PGRES_TUPLES_OK" || st === "PGRES_EMPTY_QUERY") return;
    const f = this.pq.resultErrorFields();
    const msg = (this.pq.resultErrorMessage() || this.pq.errorMessage()).trim().replace(/^ERROR:\s+/, "");
    const state = f?.sqlState ?? (st ? "XX000" : "08006");
    if (RETRYABLE.has(state) && this.depth > 0) this.retryWanted = true;
    throw new PgError(msg || `PostgreSQL error ${state}`, state);
  }

  /**
   * Wraps `fn` in a transaction (top level: SERIALIZABLE, retried on serialization failures;
   * nested: a savepoint). See the module comment for the retry contract.
   */
  transaction<F extends (...args: never[]) => unknown>(fn: F): PgTransaction<F> {
    const run = ((...args: Parameters<F>) => this.runTx(fn, args)) as unknown as F;
    return Object.assign(run, { deferred: run, immediate: run, exclusive: run, default: run });
  }

  private runTx<F extends (...args: never[]) => unknown>(fn: F, args: Parameters<F>): ReturnType<F> {
    if (this.depth > 0) {
      const sp = `sp${this.depth}`;
      this.exec(`SAVEPOINT ${sp}`);
      this.depth++;
      try {
        const r = fn(...args) as ReturnType<F>;
        this.depth--;
        this.exec(`RELEASE SAVEPOINT ${sp}`);
        return r;
      } catch (err) {
        this.depth--;
        if (!this.retryWanted) {
          try {
            this.exec(`ROLLBACK TO SAVEPOINT ${sp}; RELEASE SAVEPOINT ${sp}`);
          } catch {
            this.retryWanted = true; // the transaction is unusable: run it again from the top
          }
        }
        throw err;
      }
    }
    for (let attempt = 1; ; attempt++) {
      this.exec("BEGIN ISOLATION LEVEL SERIALIZABLE");
      this.depth = 1;
      this.retryWanted = false;
      try {
        const r = fn(...args) as ReturnType<F>;
        if (this.retryWanted) throw new PgError("could not serialize access (retried)", "40001");
        this.depth = 0;
        this.exec("COMMIT");
        return r;
      } catch (err) {
        const retry = this.retryWanted || isRetryablePgError(err);
        this.depth = 0;
        this.retryWanted = false;
        try {
          this.exec("ROLLBACK");
        } catch {
          // COMMIT failed (already rolled back) or the connection is gone: nothing to undo
        }
        if (!retry || attempt >= this.maxTxAttempts) throw err;
        this.txRetries++;
        blockFor(Math.min(2 ** attempt, 50) * (0.5 + Math.random()));
      }
    }
  }

  /**
   * The few pragmas the code reads or sets, answered for PostgreSQL: `busy_timeout` and
   * `cache_size` (no-ops, read as 0), `foreign_keys` (always on). Others throw.
   */
  pragma(source: string, opts: { simple?: boolean } = {}): unknown {
    const m = /^\s*(\w+)\s*(=\s*(.+))?$/.exec(source);
    const name = m?.[1]?.toLowerCase();
    const setting = m?.[3] !== undefined;
    const value = name === "foreign_keys" ? 1 : name === "busy_timeout" || name === "cache_size" ? 0 : null;
    if (value === null) throw new Error(`PRAGMA ${source} has no PostgreSQL equivalent`);
    if (setting) return [];
    return opts.simple ? value : [{ [name ?? ""]: value }];
  }

  close(): this {
    if (this.open) {
      this.open = false;
      this.pq.finish();
      const pq = this.pq;
      closing.add(pq);
      setTimeout(() => closing.delete(pq), 1000).unref();
    }
    return this;
  }

  private assertOpen(): void {
    if (!this.open) throw new TypeError("The database connection is not open");
  }
}
