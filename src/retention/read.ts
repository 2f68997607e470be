import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Db, isPostgres } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import {
  ARCHIVE_COLUMNS,
  decodeArchiveBytes,
  forEachArchiveLine,
  parseArchiveLine,
  TEXT_COLUMNS,
} from "./format.js";

/** The temporary table (this connection only) that {@link loadArchiveRows} fills (SQLite's name). */
export const ARCHIVE_ROWS_TABLE = "temp.usage_archive_rows";
/** The same table on PostgreSQL (its temporary schema is `pg_temp`). */
const PG_ARCHIVE_ROWS_TABLE = "pg_temp.usage_archive_rows";

/**
 * Loads the archived rows of the months that overlap `[fromMs, toMs)` from the archive files in
 * `dir` into {@link ARCHIVE_ROWS_TABLE} (columns as usage_events, plus `kind`), for
 * `runReport(…, {archiveTable})`. Only files the database lists as archived are read (a file it
 * does not list is a leftover whose rows are still in usage_events). Writes nothing to the database
 * file.
 * @throws AppError(InvalidRequest) when a listed file is missing from `dir` or does not match its
 *   recorded sha256 (then the report would be short), or a line does not parse.
 */
export function loadArchiveRows(
  db: Db,
  dir: string,
  fromMs: number,
  toMs: number,
): { table: string; files: number; rows: number } {
  const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);
  const lo = month(Math.max(fromMs, 0));
  const hi = month(Math.min(toMs, 253_402_300_799_999));
  const files = db
    .prepare<[string, string], { file: string; sha256: string; rows: number }>(
      "SELECT file, sha256, rows FROM usage_archive_files WHERE month >= ? AND month <= ? ORDER BY file",
    )
    .all(lo, hi);
  const pg = isPostgres(db);
  const table = pg ? PG_ARCHIVE_ROWS_TABLE : ARCHIVE_ROWS_TABLE;
  // SQLite: untyped columns (values kept as given); PostgreSQL: text or BIGINT per column
  const columns = pg
    ? ARCHIVE_COLUMNS.map((c) => `${c} ${TEXT_COLUMNS.has(c) ? "TEXT" : "BIGINT"}`)
    : ARCHIVE_COLUMNS;
  db.exec(`DROP TABLE IF EXISTS ${table};
     CREATE TABLE ${table} (${columns.join(", ")})`);
  const missing = files.filter((f) => !existsSync(join(dir, f.file)));
  if (missing.length)
    throw new AppError(
      ErrorCode.InvalidRequest,
      `--archive ${dir}: ${missing.length} archive file(s) of this range are missing: ${missing
        .slice(0, 5)
        .map((f) => f.file)
        .join(", ")}`,
    );
  const insert = db.prepare(`INSERT INTO ${table} VALUES (${ARCHIVE_COLUMNS.map(() => "?").join(", ")})`);
  let rows = 0;
  const load = db.transaction(() => {
    for (const f of files) {
      const bytes = readFileSync(join(dir, f.file));
      if (createHash("sha256").update(bytes).digest("hex") !== f.sha256)
        throw new AppError(
          ErrorCode.InvalidRequest,
          `--archive: ${f.file} does not match its recorded sha256`,
        );
      let n = 0;
      forEachArchiveLine(decodeArchiveBytes(bytes), (line) => {
        let r: ReturnType<typeof parseArchiveLine>;
        try {
          r = parseArchiveLine(line);
        } catch (err) {
          throw new AppError(
            ErrorCode.InvalidRequest,
            `--archive: ${f.file} line ${n + 1}: ${(err as Error).message}`,
          );
        }
        insert.run(...ARCHIVE_COLUMNS.map((c) => r[c]));
        n++;
      });
      if (n !== f.rows)
        throw new AppError(
          ErrorCode.InvalidRequest,
          `--archive: ${f.file} has ${n} rows, ${f.rows} recorded`,
        );
      rows += n;
    }
  });
  load();
  return { table, files: files.length, rows };
}
