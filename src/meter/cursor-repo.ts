import type { Db } from "../db/index.js";
import type { CursorMoves, FileCursor, MeterBlobDoneRow } from "./source.js";

/** A row of `meter_file_cursors` as SQLite returns it: one JSONL file's read cursor, by (device, inode). */
export interface MeterFileCursorRow {
  dev: string;
  ino: string;
  /** Last path seen (follows renames). */
  path: string;
  /** Hash of the first bytes: detects a recycled inode or a rewrite. */
  head_sha256: string;
  /** Hash of the bytes just before the cursor; null on cursors written before migration 3. */
  tail_sha256: string | null;
  offset_bytes: number;
  size_bytes: number;
  updated_at_ms: number;
}

/** A row of `meter_sqlite_cursors` as SQLite returns it: the last seq read per (database, session). */
export interface MeterSqliteCursorRow {
  db_path: string;
  session_id: string;
  last_seq: number;
  rewrite_generation: number | null;
  /**
   * sha256 hex of the stored bytes of the row at `last_seq` (see `SqliteCursorMove.rowSha`);
   * null when unknown (written before migration 35, or no row there).
   */
  last_row_sha256: string | null;
  updated_at_ms: number;
}

/**
 * Every statement over the meter's read positions: `meter_file_cursors` (JSONL byte cursors),
 * `meter_sqlite_cursors` (last seq per OpenClaw session) and `meter_blobs_done` (archives read
 * whole, by content hash). Sources read through it (on their own connection, possibly a
 * read-only one in the reader thread); the biller writes a batch's `cursorMoves` through it
 * inside the batch's transaction, which is what keeps a cursor and the rows it covers together.
 */
export function createCursorRepo(db: Db) {
  const upsertFile = db.prepare<[string, string, string, string, string | null, number, number, number]>(
    `INSERT INTO meter_file_cursors (dev, ino, path, head_sha256, tail_sha256, offset_bytes, size_bytes, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(dev, ino) DO UPDATE SET path = excluded.path, head_sha256 = excluded.head_sha256,
       tail_sha256 = excluded.tail_sha256, offset_bytes = excluded.offset_bytes,
       size_bytes = excluded.size_bytes, updated_at_ms = excluded.updated_at_ms`,
  );
  const upsertSqlite = db.prepare<[string, string, number, number | null, string | null, number]>(
    `INSERT INTO meter_sqlite_cursors (db_path, session_id, last_seq, rewrite_generation, last_row_sha256, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(db_path, session_id) DO UPDATE SET last_seq = excluded.last_seq,
       rewrite_generation = excluded.rewrite_generation, last_row_sha256 = excluded.last_row_sha256,
       updated_at_ms = excluded.updated_at_ms`,
  );
  // A move that continues from a known cursor (`SqliteCursorMove.from`): applied only over it
  // (one statement for a generation, one for none: `IS ?` is not portable to PostgreSQL).
  const moveSqliteFrom = (genIsNull: boolean) =>
    db.prepare<[number, number | null, string | null, number, string, string, number, ...number[]]>(
      `UPDATE meter_sqlite_cursors SET last_seq = ?, rewrite_generation = ?, last_row_sha256 = ?, updated_at_ms = ?
       WHERE db_path = ? AND session_id = ? AND last_seq = ? AND ${genIsNull ? "rewrite_generation IS NULL" : "rewrite_generation = ?"}`,
    );
  const moveSqliteFromGen = moveSqliteFrom(false);
  const moveSqliteFromNoGen = moveSqliteFrom(true);
  const insertSqliteNew = db.prepare<[string, string, number, number | null, string | null, number]>(
    `INSERT INTO meter_sqlite_cursors (db_path, session_id, last_seq, rewrite_generation, last_row_sha256, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(db_path, session_id) DO NOTHING`,
  );
  const insertBlob = db.prepare<[string, string, number, number]>(
    "INSERT INTO meter_blobs_done (content_sha256, name, events, done_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT(content_sha256) DO NOTHING",
  );
  const fileRow = db.prepare<
    [string, string],
    Pick<MeterFileCursorRow, "path" | "head_sha256" | "tail_sha256" | "offset_bytes" | "size_bytes">
  >(
    "SELECT path, head_sha256, tail_sha256, offset_bytes, size_bytes FROM meter_file_cursors WHERE dev = ? AND ino = ?",
  );
  const lastFileRowAt = db.prepare<[string], MeterFileCursorRow>(
    "SELECT dev, ino, path, head_sha256, tail_sha256, offset_bytes, size_bytes, updated_at_ms FROM meter_file_cursors WHERE path = ? ORDER BY updated_at_ms DESC LIMIT 1",
  );
  const sqliteRows = db.prepare<
    [string],
    Pick<MeterSqliteCursorRow, "session_id" | "last_seq" | "rewrite_generation" | "last_row_sha256">
  >(
    "SELECT session_id, last_seq, rewrite_generation, last_row_sha256 FROM meter_sqlite_cursors WHERE db_path = ?",
  );
  const sqlitePositions = db.prepare<
    [string],
    Pick<MeterSqliteCursorRow, "session_id" | "last_seq" | "rewrite_generation">
  >("SELECT session_id, last_seq, rewrite_generation FROM meter_sqlite_cursors WHERE db_path = ?");
  const sqliteRowSha = db.prepare<[string, string, number], Pick<MeterSqliteCursorRow, "last_row_sha256">>(
    "SELECT last_row_sha256 FROM meter_sqlite_cursors WHERE db_path = ? AND session_id = ? AND last_seq = ?",
  );
  const blobName = db.prepare<[string], Pick<MeterBlobDoneRow, "name">>(
    "SELECT name FROM meter_blobs_done WHERE content_sha256 = ?",
  );

  return {
    /** The committed cursor of the file at (dev, ino), or null when it was never read. */
    fileCursor(dev: string, ino: string): FileCursor | null {
      const r = fileRow.get(dev, ino);
      return r ? fileCursorOf(dev, ino, r) : null;
    },
    /**
     * The committed file cursor last read under `path` (where two inodes share the name, a file
     * replaced by a new one, the one written last), or null. One lookup in the path index
     * (migration 37), not a scan: the table keeps a cursor for every file ever read.
     */
    lastFileCursorAt(path: string): FileCursor | null {
      const r = lastFileRowAt.get(path);
      return r ? fileCursorOf(r.dev, r.ino, r) : null;
    },
    /**
     * Every committed session cursor of one OpenClaw database (by its realpath): session id,
     * last seq read, rewrite generation digest and the fingerprint of the row at last seq.
     */
    sqliteCursors(dbPath: string) {
      return sqliteRows.all(dbPath);
    },
    /**
     * `sqliteCursors` without the fingerprints: what a store poll needs for every session (read
     * every 250 ms over thousands of sessions; the 64-character strings cost ~30% more to read).
     */
    sqliteCursorPositions(dbPath: string) {
      return sqlitePositions.all(dbPath);
    },
    /**
     * The fingerprint of one session cursor's row, if the cursor is still at `lastSeq` (read
     * apart from `sqliteCursorPositions`: a commit may have moved it since); null when unknown,
     * or no such cursor.
     */
    sqliteCursorRowSha(dbPath: string, sessionId: string, lastSeq: number): string | null {
      return sqliteRowSha.get(dbPath, sessionId, lastSeq)?.last_row_sha256 ?? null;
    },
    /** True when a blob with this content sha256 was read to its end. */
    blobDone(sha: string): boolean {
      return blobName.get(sha) !== undefined;
    },
    /**
     * Writes a batch's cursor moves. Call INSIDE the transaction that writes the rows they
     * cover (the biller's); `nowMs` stamps `updated_at_ms` / `done_at_ms`. A session cursor move
     * with `from` is a compare-and-set: it applies only while the committed cursor is still the
     * one it continues from (none, for `from: null`); otherwise another meter on this database
     * moved it since, and it is kept (the batch's rows are still billed; the next poll reads on
     * from the kept cursor, and dedupe absorbs what both read).
     * @returns how many session cursor moves were not applied for that reason
     */
    write(moves: CursorMoves | undefined, nowMs: number): number {
      if (!moves) return 0;
      let kept = 0;
      for (const c of moves.files ?? [])
        upsertFile.run(c.dev, c.ino, c.path, c.head, c.tail, c.offset, c.size, nowMs);
      for (const m of moves.sqlite ?? []) {
        if (m.from === undefined) upsertSqlite.run(m.dbPath, m.sessionId, m.lastSeq, m.gen, m.rowSha, nowMs);
        else if (m.from === null) {
          if (insertSqliteNew.run(m.dbPath, m.sessionId, m.lastSeq, m.gen, m.rowSha, nowMs).changes === 0)
            kept++;
        } else {
          const f = m.from;
          const moved =
            f.gen === null
              ? moveSqliteFromNoGen.run(m.lastSeq, m.gen, m.rowSha, nowMs, m.dbPath, m.sessionId, f.lastSeq)
              : moveSqliteFromGen.run(
                  m.lastSeq,
                  m.gen,
                  m.rowSha,
                  nowMs,
                  m.dbPath,
                  m.sessionId,
                  f.lastSeq,
                  f.gen,
                );
          if (moved.changes === 0) kept++;
        }
      }
      for (const b of moves.blobs ?? []) insertBlob.run(b.sha, b.name, b.events, nowMs);
      return kept;
    },
  };
}

export type CursorRepo = ReturnType<typeof createCursorRepo>;

/** A `meter_file_cursors` row of the file at (dev, ino) as a {@link FileCursor}. */
function fileCursorOf(
  dev: string,
  ino: string,
  r: Pick<MeterFileCursorRow, "path" | "head_sha256" | "tail_sha256" | "offset_bytes" | "size_bytes">,
): FileCursor {
  return {
    dev,
    ino,
    path: r.path,
    head: r.head_sha256,
    tail: r.tail_sha256,
    offset: r.offset_bytes,
    size: r.size_bytes,
  };
}
