/**
 * `creditgate migrate-db --to postgres://…`: copies an existing SQLite install into PostgreSQL,
 * every table and row as is (ids included), in ONE PostgreSQL transaction that commits only after
 * verification. The SQLite side is read inside one read transaction (a consistent snapshot even if
 * a process still writes; stop them first anyway, or their later writes stay behind in SQLite).
 */
import { createHash } from "node:crypto";
import { AppError, ErrorCode } from "../errors.js";
import type { Db } from "./open.js";
import { migratePostgres } from "./open.js";
import type { PgDatabase } from "./pg.js";
import { PG_MIGRATIONS } from "./pg-migrations.js";

/** What was copied: rows per table (in copy order) and the verified totals. */
export interface CopyReport {
  tables: { table: string; rows: number }[];
  /** Sum of all account balances, micro-credits (equal on both sides). */
  totalBalanceMicroCredits: string;
  /** Sum of all ledger entry amounts, micro-credits (equal on both sides). */
  ledgerSumMicroCredits: string;
  schemaVersion: number;
}

/** Bound parameters per INSERT statement (PostgreSQL allows 65535). */
const MAX_PARAMS = 30_000;

const PG_ONLY_TABLES = new Set(["creditgate_schema_migrations"]);
/**
 * Tables whose rows a migration writes itself (migration 21's cursor row): not "data" for the
 * emptiness check, and emptied before the copy so the SQLite install's own row replaces it.
 */
const MIGRATION_SEEDED_TABLES = new Set(["usage_hourly_cursor"]);

function toPgText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "bigint" || typeof v === "number") return String(v);
  if (Buffer.isBuffer(v)) return `\\x${v.toString("hex")}`;
  return String(v);
}

/** Tables ordered so that every table comes after the tables its foreign keys reference. */
function copyOrder(src: Db, tables: string[]): string[] {
  const deps = new Map<string, Set<string>>();
  for (const t of tables) {
    const fks = src.prepare(`SELECT "table" AS t FROM pragma_foreign_key_list(?)`).pluck().all(t) as string[];
    deps.set(t, new Set(fks.filter((f) => f !== t)));
  }
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (t: string) => {
    if (seen.has(t)) return;
    seen.add(t);
    for (const d of deps.get(t) ?? []) visit(d);
    out.push(t);
  };
  for (const t of [...tables].sort()) visit(t);
  return out;
}

/** A digest of rows (for comparing what both sides hold). */
function digest(rows: unknown[][]): string {
  const h = createHash("sha256");
  for (const r of rows) h.update(`${r.map((v) => (v === null ? "\u0000" : String(v))).join("\u0001")}\n`);
  return h.digest("hex");
}

/**
 * Copies every creditgate table of the SQLite database `src` into the PostgreSQL database `dst`
 * (migrated here to the same schema version). Refuses, changing nothing, when `dst` already holds
 * any creditgate row or the two schema versions differ. Verifies before committing: row counts of
 * every table, each account's balance, the sum of ledger amounts, every ledger entry's
 * (id, account, amount, balance after, key), and that each balance equals its entries' sum.
 * @throws AppError(invalid_request) on a refusal; AppError(conflict) when verification fails
 *   (rolled back: PostgreSQL holds nothing of the copy).
 */
export function copySqliteToPostgres(src: Db, dst: PgDatabase): CopyReport {
  const srcVersion = src.pragma("user_version", { simple: true }) as number;
  const dstVersion = migratePostgres(dst, PG_MIGRATIONS);
  if (srcVersion !== dstVersion)
    throw new AppError(
      ErrorCode.InvalidRequest,
      `the SQLite database is at schema version ${srcVersion} and PostgreSQL at ${dstVersion}; this creditgate can only copy between equal versions`,
    );
  const pgTables = (
    dst.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
      [],
    ).rows as [string][]
  )
    .map((r) => r[0])
    .filter((t) => !PG_ONLY_TABLES.has(t));
  const srcTables = src
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all() as string[];
  const missing = srcTables.filter((t) => !pgTables.includes(t));
  if (missing.length)
    throw new AppError(ErrorCode.InvalidRequest, `PostgreSQL lacks table(s) ${missing.join(", ")}`);
  const order = copyOrder(src, srcTables);
  const report: CopyReport = {
    tables: [],
    totalBalanceMicroCredits: "0",
    ledgerSumMicroCredits: "0",
    schemaVersion: srcVersion,
  };
  const readSnapshot = src.transaction(() => {
    dst.transaction(() => {
      report.tables = [];
      for (const t of pgTables) {
        if (MIGRATION_SEEDED_TABLES.has(t)) continue;
        const n = Number(dst.query(`SELECT COUNT(*) FROM ${t}`, []).rows[0]?.[0]);
        if (n > 0)
          throw new AppError(
            ErrorCode.InvalidRequest,
            `PostgreSQL already holds creditgate data (table ${t} has ${n} rows); migrate-db only fills an empty database`,
          );
      }
      for (const t of order) {
        const cols = (src.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]).map(
          (c) => `"${c}"`,
        );
        if (MIGRATION_SEEDED_TABLES.has(t)) dst.exec(`DELETE FROM ${t}`);
        dst.exec(`ALTER TABLE ${t} DISABLE TRIGGER USER`);
        const perStmt = Math.max(1, Math.floor(MAX_PARAMS / cols.length));
        let batch: (string | null)[] = [];
        let rowsInBatch = 0;
        let rows = 0;
        const flush = () => {
          if (rowsInBatch === 0) return;
          const values: string[] = [];
          let p = 0;
          for (let r = 0; r < rowsInBatch; r++) values.push(`(${cols.map(() => `$${++p}`).join(", ")})`);
          dst.query(`INSERT INTO ${t} (${cols.join(", ")}) VALUES ${values.join(", ")}`, batch);
          batch = [];
          rowsInBatch = 0;
        };
        const it = src
          .prepare(`SELECT ${cols.join(", ")} FROM "${t}"`)
          .raw()
          .safeIntegers(true)
          .iterate() as IterableIterator<unknown[]>;
        for (const row of it) {
          for (const v of row) batch.push(toPgText(v));
          rowsInBatch++;
          rows++;
          if (rowsInBatch >= perStmt) flush();
        }
        flush();
        dst.exec(`ALTER TABLE ${t} ENABLE TRIGGER USER`);
        report.tables.push({ table: t, rows });
      }
      // identity columns continue after the copied ids
      for (const t of order) {
        const ident = dst.query(
          `SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1
             AND column_name = 'id' AND is_identity = 'YES'`,
          [t],
        ).rows.length;
        if (ident)
          dst.query(
            `SELECT setval(pg_get_serial_sequence($1, 'id'), COALESCE((SELECT MAX(id) FROM ${t}), 0) + 1, false)`,
            [t],
          );
      }
      verify(src, dst, report);
    })();
  });
  readSnapshot();
  return report;
}

function verify(src: Db, dst: PgDatabase, report: CopyReport): void {
  const fail = (what: string) => {
    throw new AppError(ErrorCode.Conflict, `verification failed, nothing was copied: ${what}`);
  };
  for (const { table, rows } of report.tables) {
    const n = Number(dst.query(`SELECT COUNT(*) FROM ${table}`, []).rows[0]?.[0]);
    if (n !== rows) fail(`${table} has ${n} rows in PostgreSQL, ${rows} in SQLite`);
  }
  const sql = {
    balances: "SELECT id, balance_micro_credits FROM accounts ORDER BY id",
    entries:
      "SELECT id, account_id, amount_micro_credits, balance_after_micro_credits, idempotency_key FROM ledger_entries ORDER BY id",
    total: "SELECT COALESCE(SUM(balance_micro_credits), 0) FROM accounts",
    ledger: "SELECT COALESCE(SUM(amount_micro_credits), 0) FROM ledger_entries",
    mismatch: `SELECT COUNT(*) FROM (SELECT a.id FROM accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
       GROUP BY a.id HAVING a.balance_micro_credits <> COALESCE(SUM(e.amount_micro_credits), 0)) x`,
  };
  const s = (q: string) => src.prepare(q).raw().safeIntegers(true).all() as unknown[][];
  const d = (q: string) => dst.query(q, [], true).rows;
  for (const k of ["balances", "entries"] as const)
    if (digest(s(sql[k])) !== digest(d(sql[k]))) fail(`${k} differ`);
  const total = String(s(sql.total)[0]?.[0]);
  const ledger = String(s(sql.ledger)[0]?.[0]);
  if (String(d(sql.total)[0]?.[0]) !== total) fail("the sum of balances differs");
  if (String(d(sql.ledger)[0]?.[0]) !== ledger) fail("the sum of ledger entries differs");
  if (Number(d(sql.mismatch)[0]?.[0]) !== 0) fail("an account's balance differs from the sum of its entries");
  report.totalBalanceMicroCredits = total;
  report.ledgerSumMicroCredits = ledger;
}
