import { createHash, type Hash } from "node:crypto";
import { realpathSync, type Stats } from "node:fs";
import Database from "better-sqlite3";

// An open OpenClaw store (`<agent>/agent/openclaw-agent.sqlite`): the read-only connection, the
// statements prepared for the schema it has, and the row fingerprints and error kinds the store
// reader works with. Split from sqlite-reader.ts, which plans and reads through it.

/**
 * Page cache of the read-only connection to OpenClaw's store, KiB (better-sqlite3's default is
 * 16 MB). Its rows are read once, in key order, so a cache only keeps the B-tree's inner pages
 * warm; cycling 16 MB of pages through a 1.1 GB backlog raised the meter's peak RSS by ~58 MB
 * (bench:meter BENCH_SOURCE=sqlite: 236-239 -> 178-181 MB, time within noise).
 */
const OC_CACHE_KIB = 2048;

/**
 * The longest `event_json` (UTF-8 bytes) read as text: a longer one is read as a blob (its bytes,
 * outside the JS heap), decoded only once its size was checked (`checkLineSize`), as a JSONL
 * line is. OpenClaw stores an event over 4 MiB (its `MAX_COMPRESSED_EVENT_BYTES`) as plain
 * `event_json` whatever its size (`prepareTranscriptPayload`: "giant identity values"), e.g. a
 * user message with a base64 image inline. Before 2026-12-03 the reader thread fetched such a row
 * whole as a string before any check: a row of ~50 MB aborted the whole process (V8's fatal
 * out-of-memory, exit 134, nothing billed, every poll again). `octet_length` reads the size from
 * the record header without loading the value.
 */
export const BIG_ROW_BYTES = 4 * 1024 * 1024;

export interface Caps {
  tables: Set<string>;
  cols: (table: string) => Set<string>;
}

/**
 * One `transcript_events` row as read, `[seq, event_json, event_zstd]` (`event_json` may be a blob
 * in a non-STRICT store, and is one over BIG_ROW_BYTES). An array (the statement is `raw`), not an object: better-sqlite3 builds
 * an object row by internalizing each column name again for every row, ~15 % of reading a store's
 * rows (112k rows: 330 vs 390 ms).
 */
export type StoreRow = [seq: number, json: string | Buffer | null, zstd: Buffer | null];

/** Prepared statements over one open OpenClaw database. */
export interface OcHandle {
  conn: Database.Database;
  dbPath: string;
  dev: number;
  ino: number;
  /**
   * `PRAGMA schema_version` when the statements were prepared: OpenClaw migrating the store in
   * place (a rename of its session tables at agent schema 14, a new column) changes it, and the
   * handle is then prepared again (`storeChanged`), as for a replaced file.
   */
  schemaVersion: number;
  /**
   * The next plan checks the row at every session's cursor (`plan`): true on a handle just
   * opened, so a store file replaced while creditgate runs (a restored backup) is verified whole.
   */
  checkAll: boolean;
  maxSeqAll: Database.Statement<[], { sid: string; maxSeq: number | null }>;
  maxSeqByWindow: Database.Statement<[], { sid: string; maxSeq: number | null }> | null;
  watermarks: Database.Statement<[], { sid: string; generation: string | number | null }> | null;
  rows: Database.Statement<[string, number, number], StoreRow>;
  /** A session's first row as stored text (its `{"type":"session",…}` header), null when compressed. */
  firstRow: Database.Statement<[string], { json: string | Buffer | null }>;
  /** The row of a session at one seq (a cursor's fingerprint check). */
  rowAt: Database.Statement<[string, number], { json: string | Buffer | null; zstd: Buffer | null }>;
  /** Rows of a session at or before a seq, newest first (the turn before a cursor). */
  rowsBefore: Database.Statement<
    [string, number, number],
    { seq: number; json: string | Buffer | null; zstd: Buffer | null }
  >;
  window: Database.Statement<
    [string],
    {
      session_key: string | null;
      channel: string | null;
      parent: string | null;
      spawned_by: string | null;
      conversation: string | null;
    }
  > | null;
  parentOfKey: ((key: string) => string | null) | null;
  /**
   * The window a session's window was opened after (`previous_session_id`) and why (`reason`:
   * `compaction`, `reset`, `fork`, …); null without those columns.
   */
  previousWindow: Database.Statement<[string], { prev: string | null; reason: string | null }> | null;
  /** `session_windows.channel` of a session by key (any of its windows that names one). */
  windowChannelOfKey: Database.Statement<[string], { channel: string | null }> | null;
  node: Database.Statement<[string], { entry_json: string | null }> | null;
  /**
   * The main key the gateway runs with (`session_key_contract.main_key`, OpenClaw writes its
   * normalized `session.mainKey` there: `setCanonicalSqliteSessionMainKey`); null without it.
   */
  mainKey: Database.Statement<[], { main_key: unknown }> | null;
  conversation: Database.Statement<[string], { channel: string | null; target: string | null }> | null;
  archives: Database.Statement<
    [],
    { sid: string; generation: string; key: string | null; name: string; sha: string | null }
  > | null;
  archiveBlob: Database.Statement<[string, string], { encoding: string | null; blob: Buffer | null }> | null;
  coldArchives: Database.Statement<
    [],
    { sid: string; generation: string | null; name: string; inDb: number }
  > | null;
  coldBlob: Database.Statement<[string], { blob: Buffer | null }> | null;
}

/**
 * Opens OpenClaw's store `dbFile` read-only (`query_only`, a small page cache, `busyTimeoutMs` to
 * wait for a writer's lock) and prepares its statements. Null when the file is a SQLite database
 * but not OpenClaw's (no `transcript_events` with `session_id` and `seq`; the connection is closed).
 * @throws better-sqlite3's errors: busy/locked, not a database (see `storeProblem`)
 */
export function openStore(dbFile: string, st: Stats, busyTimeoutMs: number): OcHandle | null {
  const conn = new Database(dbFile, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  try {
    conn.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
    conn.pragma("query_only = 1");
    conn.pragma(`cache_size = -${OC_CACHE_KIB}`);
    // read before the schema is: a migration in between makes the next poll prepare again
    const schemaVersion = Number(conn.pragma("schema_version", { simple: true }));
    const handle = prepare(conn, realpathSync(dbFile), st, schemaVersion);
    if (!handle) conn.close();
    return handle;
  } catch (err) {
    conn.close();
    throw err;
  }
}

/**
 * Whether an open handle no longer fits its store: the file at its path was replaced (another
 * device or inode), or OpenClaw changed the schema in place since the handle's statements were
 * prepared (`PRAGMA schema_version`; before 2026-12-03 a following meter kept its statements after
 * OpenClaw renamed a first-release store's tables, failed every poll with "no such table" and
 * held the agent's calls until restarted). A failed read of the version (busy) counts as no change:
 * the poll's own reads meet the same error and are retried.
 */
export function storeChanged(h: OcHandle, st: Stats): boolean {
  if (h.dev !== st.dev || h.ino !== st.ino) return true;
  try {
    return Number(h.conn.pragma("schema_version", { simple: true })) !== h.schemaVersion;
  } catch {
    return false;
  }
}

function prepare(conn: Database.Database, dbPath: string, st: Stats, schemaVersion: number): OcHandle | null {
  const tables = new Set(
    conn
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
      .all()
      .map((r) => r.name),
  );
  if (!tables.has("transcript_events")) return null;
  const colCache = new Map<string, Set<string>>();
  const caps: Caps = {
    tables,
    cols(table: string): Set<string> {
      let c = colCache.get(table);
      if (!c) {
        c = new Set(
          tables.has(table)
            ? conn
                .prepare<[], { name: string }>(
                  `SELECT name FROM pragma_table_info('${table.replace(/'/g, "''")}')`,
                )
                .all()
                .map((r) => r.name)
            : [],
        );
        colCache.set(table, c);
      }
      return c;
    },
  };
  const col = (table: string, c: string, as: string) =>
    caps.cols(table).has(c) ? `${c} AS ${as}` : `NULL AS ${as}`;
  const te = caps.cols("transcript_events");
  if (!te.has("session_id") || !te.has("seq")) return null;
  // every statement reading an event's JSON reads a row over BIG_ROW_BYTES as a blob (see there)
  const json = te.has("event_json")
    ? `CASE WHEN octet_length(event_json) > ${BIG_ROW_BYTES} THEN CAST(event_json AS BLOB) ELSE event_json END`
    : "NULL";
  const zstd = te.has("event_zstd") ? "event_zstd" : "NULL";

  const names = legacyNames(tables, caps);
  const { windows, nodes } = names;
  const parentCols = (table: string) =>
    `${col(table, "parent_session_key", "parent")}, ${col(table, "spawned_by", "spawned_by")}`;
  const nodeParent = nodes
    ? conn.prepare<[string], { parent: string | null; spawned_by: string | null }>(
        `SELECT ${parentCols(nodes)} FROM ${nodes} WHERE session_key = ?`,
      )
    : null;
  const windowParent = windows
    ? conn.prepare<[string], { parent: string | null; spawned_by: string | null }>(
        `SELECT ${parentCols(windows)} FROM ${windows} AS w WHERE ${names.windowKey} = ? LIMIT 1`,
      )
    : null;
  const parentOfKey =
    nodeParent || windowParent
      ? (key: string): string | null => {
          const n = nodeParent?.get(key);
          const w = windowParent?.get(key);
          return n?.spawned_by ?? n?.parent ?? w?.spawned_by ?? w?.parent ?? null;
        }
      : null;

  const arch = caps.cols("session_transcript_archives");
  const hasArchives = ["session_id", "generation", "archive_blob", "archive_name"].every((c) => arch.has(c));
  const cold = caps.cols("session_transcript_cold_archives");
  const hasCold = ["session_id", "archive_name"].every((c) => cold.has(c));
  const coldInDb = cold.has("archive_blob") && cold.has("storage");

  return {
    conn,
    dbPath,
    dev: st.dev,
    ino: st.ino,
    schemaVersion,
    checkAll: true,
    maxSeqAll: conn.prepare(
      "SELECT session_id AS sid, MAX(seq) AS maxSeq FROM transcript_events GROUP BY session_id",
    ),
    maxSeqByWindow: windows
      ? conn.prepare(
          `SELECT w.session_id AS sid,
             (SELECT MAX(t.seq) FROM transcript_events t WHERE t.session_id = w.session_id) AS maxSeq
           FROM ${windows} w`,
        )
      : null,
    watermarks: names.watermarks
      ? conn.prepare(`SELECT session_id AS sid, generation FROM ${names.watermarks}`)
      : null,
    rows: conn
      .prepare<[string, number, number], StoreRow>(
        `SELECT seq, ${json} AS json, ${zstd} AS zstd
       FROM transcript_events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      )
      .raw(true),
    firstRow: conn.prepare(
      `SELECT ${json} AS json FROM transcript_events WHERE session_id = ? ORDER BY seq LIMIT 1`,
    ),
    rowAt: conn.prepare(
      `SELECT ${json} AS json, ${zstd} AS zstd FROM transcript_events WHERE session_id = ? AND seq = ?`,
    ),
    rowsBefore: conn.prepare(
      `SELECT seq, ${json} AS json, ${zstd} AS zstd
       FROM transcript_events WHERE session_id = ? AND seq <= ? ORDER BY seq DESC LIMIT ?`,
    ),
    window: windows
      ? conn.prepare(
          `SELECT ${names.windowKey} AS session_key, ${col(windows, "channel", "channel")}, ${parentCols(windows)},
             ${col(windows, "primary_conversation_id", "conversation")}
           FROM ${windows} AS w WHERE w.session_id = ?`,
        )
      : null,
    parentOfKey,
    previousWindow:
      windows === "session_windows" &&
      caps.cols("session_windows").has("previous_session_id") &&
      caps.cols("session_windows").has("reason")
        ? conn.prepare("SELECT previous_session_id AS prev, reason FROM session_windows WHERE session_id = ?")
        : null,
    windowChannelOfKey:
      windows && caps.cols(windows).has("channel")
        ? conn.prepare(
            `SELECT channel FROM ${windows} AS w WHERE ${names.windowKey} = ? AND channel IS NOT NULL LIMIT 1`,
          )
        : null,
    mainKey: caps.cols("session_key_contract").has("main_key")
      ? conn.prepare("SELECT main_key FROM session_key_contract ORDER BY id LIMIT 1")
      : null,
    node:
      nodes && caps.cols(nodes).has("entry_json")
        ? conn.prepare(`SELECT entry_json FROM ${nodes} WHERE session_key = ?`)
        : null,
    conversation:
      caps.cols("conversations").has("conversation_id") && caps.cols("conversations").has("channel")
        ? conn.prepare(
            `SELECT channel, ${col("conversations", "delivery_target", "target")} FROM conversations WHERE conversation_id = ?`,
          )
        : null,
    archives: hasArchives
      ? conn.prepare(
          `SELECT session_id AS sid, generation, ${col("session_transcript_archives", "session_key", "key")},
             archive_name AS name, ${col("session_transcript_archives", "archive_sha256", "sha")}
           FROM session_transcript_archives ORDER BY ${arch.has("created_at") ? "created_at, " : ""}session_id, generation`,
        )
      : null,
    archiveBlob: hasArchives
      ? conn.prepare(
          `SELECT ${col("session_transcript_archives", "encoding", "encoding")}, archive_blob AS blob
           FROM session_transcript_archives WHERE session_id = ? AND generation = ?`,
        )
      : null,
    coldArchives: hasCold
      ? conn.prepare(
          `SELECT session_id AS sid, ${col("session_transcript_cold_archives", "generation", "generation")},
             archive_name AS name, ${coldInDb ? "(storage = 'sqlite' AND archive_blob IS NOT NULL)" : "0"} AS inDb
           FROM session_transcript_cold_archives`,
        )
      : null,
    coldBlob: coldInDb
      ? conn.prepare("SELECT archive_blob AS blob FROM session_transcript_cold_archives WHERE session_id = ?")
      : null,
  };
}

/** The tables a store keeps its sessions in (`legacyNames`); null: the store has none. */
interface SessionTables {
  /** One row per session id with its key: `session_windows`, or `sessions` before schema 14. */
  windows: string | null;
  /** A session's key as a window row `w` of `windows` names it (an SQL expression). */
  windowKey: string;
  /** The session entry by key: `session_nodes`, or `session_entries` before schema 14. */
  nodes: string | null;
  /** The rewrite generations: `transcript_rewrite_watermarks`, or `session_transcript_generations` before schema 14. */
  watermarks: string | null;
}

/**
 * The session tables of a store, by the names of its schema. OpenClaw's first SQLite stores
 * (agent schema < 14, 2026.7 – 2026.8 releases) kept the windows in `sessions`, the session
 * entries in `session_entries` (and `session_routes`) and the rewrite generations in
 * `session_transcript_generations`; schema 14 renamed them (`migrateSessionWindows`,
 * `renameTranscriptRewriteWatermarks`), taking each window's key from its `session_entries` row,
 * else its `session_routes` row, else `sessions.session_key`: an older store's key is read the
 * same way. Before 2026-12-03 such a store was read without keys (every call the agent's) and
 * without rewrite generations.
 */
function legacyNames(tables: Set<string>, caps: Caps): SessionTables {
  const has = (t: string, ...cs: string[]) => tables.has(t) && cs.every((c) => caps.cols(t).has(c));
  const watermarks = has("transcript_rewrite_watermarks", "session_id", "generation")
    ? "transcript_rewrite_watermarks"
    : has("session_transcript_generations", "session_id", "generation")
      ? "session_transcript_generations"
      : null;
  if (has("session_windows", "session_key")) {
    return {
      windows: "session_windows",
      windowKey: "w.session_key",
      nodes: has("session_nodes", "session_key") ? "session_nodes" : null,
      watermarks,
    };
  }
  const nodes = has("session_nodes", "session_key")
    ? "session_nodes"
    : has("session_entries", "session_key", "entry_json")
      ? "session_entries"
      : null;
  if (!has("sessions", "session_id", "session_key"))
    return { windows: null, windowKey: "NULL", nodes, watermarks };
  // the migration's owner: the entry's key, else the route's, else the window's own
  const owner = (t: string) =>
    has(t, "session_id", "session_key")
      ? `(SELECT o.session_key FROM ${t} AS o WHERE o.session_id = w.session_id
           ORDER BY CASE WHEN o.session_key = w.session_key THEN 0 ELSE 1 END${
             caps.cols(t).has("updated_at") ? ", o.updated_at DESC" : ""
           }, o.session_key LIMIT 1), `
      : "";
  return {
    windows: "sessions",
    windowKey: `COALESCE(${owner("session_entries")}${owner("session_routes")}w.session_key)`,
    nodes,
    watermarks,
  };
}

/** One short read transaction (a consistent snapshot), released before anything is billed. */
export function readTx<T>(h: OcHandle, fn: () => T): T {
  return h.conn.transaction(fn).deferred();
}

/**
 * Fingerprint of one `transcript_events` row as stored: sha256 hex of a tag and its bytes,
 * `j` + the `event_json` text (UTF-8; a row read as a blob, the same bytes) when it has one, else `z` + the `event_zstd` blob as stored
 * (not decoded), else `-` alone. What a cursor remembers of the row at its `last_seq`
 * (`SqliteCursorMove.rowSha`); equal rows at the same seq are taken to be the row read.
 */
export function rowFingerprint(json: string | Buffer | null, zstd: Buffer | null): string {
  const h = createHash("sha256");
  if (json !== null) put(h, "j", json);
  else if (zstd !== null) put(h, "z", zstd);
  else h.update("-");
  return h.digest("hex");
}

/**
 * Hashes a tag and a column value. A value that is neither text nor a blob (a number, in a store
 * whose table is not STRICT) is hashed as its decimal text under its own tag (`?`): the row is
 * rejected as malformed when read, and fingerprinting it must not throw (that failed every poll).
 */
function put(h: Hash, tag: string, v: string | Buffer): void {
  if (typeof v === "string") h.update(tag).update(v, "utf8");
  else if (Buffer.isBuffer(v)) h.update(tag).update(v);
  else h.update(`${tag}?`).update(String(v));
}

/**
 * OpenClaw's watermark generation is a hex token; the cursor column is an INTEGER, so store a
 * 48-bit digest of it (only equality matters).
 */
export function hashGeneration(g: string | number | null): number | null {
  if (g === null) return null;
  const hex = createHash("sha256").update(String(g)).digest("hex").slice(0, 12);
  return Number.parseInt(hex, 16);
}

/** First line of an error's message, at most 300 characters (fs/SQLite messages: paths, never content). */
export function errLine(err: unknown): string {
  return (String((err as Error)?.message ?? err).split("\n")[0] ?? "").slice(0, 300);
}

export function sqliteCode(err: unknown): string {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "string"
    ? (err as { code: string }).code
    : "";
}

export function isBusy(err: unknown): boolean {
  const c = sqliteCode(err);
  return c.startsWith("SQLITE_BUSY") || c.startsWith("SQLITE_LOCKED");
}

export function isNotOpenClaw(err: unknown): boolean {
  const c = sqliteCode(err);
  return c.startsWith("SQLITE_NOTADB") || c.startsWith("SQLITE_CORRUPT");
}
