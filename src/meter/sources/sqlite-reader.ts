import { createHash, type Hash } from "node:crypto";
import { readdirSync, readFileSync, realpathSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Db } from "../../db/index.js";
import { createCursorRepo } from "../cursor-repo.js";
import { resolveAccount, type SessionHints } from "../resolve-user.js";
import { createSessionMemory, type RememberedSession } from "../session-memory.js";
import type { ProblemReporter, SessionFact } from "../source.js";
import {
  BatchBuilder,
  bomLength,
  eachLine,
  type KeysHere,
  type LineOwner,
  type PendingTurn,
  turnOf,
} from "./batch-builder.js";
import type { Emit } from "./jsonl-reader.js";
import { configuredMainKey } from "./openclaw-config.js";
import { sortForReading } from "./read-order.js";
import { decodeMaybeZstd, decodeZstd } from "./zst.js";

/**
 * `opts` of an OpenClaw store reader: everything it needs, all of it cloneable (it may run on
 * the reader thread). See SqliteSourceOptions for the meaning of each.
 */
export interface SqliteReaderOptions {
  /** `<state>/agents/<agentId>`. */
  agentDir: string;
  agentId: string;
  /** Most transcript rows (and archive events) per batch; a positive integer. */
  batchSize: number;
  /** Rows in the first batch of each poll (the writer starts sooner). @defaultValue batchSize */
  firstBatchSize?: number;
  /** How long a read waits for a writer's lock, ms. @defaultValue 5000 */
  busyTimeoutMs?: number;
  /** Redacted previews of this length in characters; 0 or absent: previews off. */
  previewChars?: number;
  /**
   * Hand out events in columns with their dedupe keys (`Emit`'s `packed`; the reader thread).
   * @defaultValue false
   */
  packEvents?: boolean;
  /**
   * With `packEvents`: asked per event whether to derive its dedupe key on this thread; false
   * leaves it to the biller (see batch-builder.ts `KeysHere`). @defaultValue always
   */
  keysHere?: KeysHere;
}

/** Rows read back before a session's cursor to find the turn it is in (latency of its next reply). */
const LOOKBACK_ROWS = 64;

interface Attribution {
  sessionKey: string | null;
  accountId: string;
  channel: string | null;
}

/**
 * Page cache of the read-only connection to OpenClaw's store, KiB (better-sqlite3's default is
 * 16 MB). Its rows are read once, in key order, so a cache only keeps the B-tree's inner pages
 * warm; cycling 16 MB of pages through a 1.1 GB backlog raised the meter's peak RSS by ~58 MB
 * (bench:meter BENCH_SOURCE=sqlite: 236-239 -> 178-181 MB, time within noise).
 */
const OC_CACHE_KIB = 2048;

interface Work {
  sid: string;
  /** Read rows with `seq > fromSeq`. */
  fromSeq: number;
  gen: number | null;
  /** Fingerprint of the row at `fromSeq` (`rowFingerprint`); null: unknown, or no row there. */
  rowSha: string | null;
  stored: { lastSeq: number; gen: number | null } | null;
  /** The committed cursor the next move continues from (see `SqliteCursorMove.from`). */
  base: { lastSeq: number; gen: number | null } | null;
  attribution?: Attribution;
  /** The session's pending turn at `fromSeq` (undefined: not looked up yet). */
  turn?: PendingTurn | null;
  /** Read again from its first row because it changed under a cursor past its start (`rescans`). */
  rescan?: boolean;
}

interface Caps {
  tables: Set<string>;
  cols: (table: string) => Set<string>;
}

/**
 * One `transcript_events` row as read, `[seq, event_json, event_zstd]` (`event_json` may be a blob
 * in a non-STRICT store). An array (the statement is `raw`), not an object: better-sqlite3 builds
 * an object row by internalizing each column name again for every row, ~15 % of reading a store's
 * rows (112k rows: 330 vs 390 ms).
 */
type StoreRow = [seq: number, json: string | null, zstd: Buffer | null];

/** Prepared statements over one open OpenClaw database. */
interface OcHandle {
  conn: Database.Database;
  dbPath: string;
  dev: number;
  ino: number;
  /**
   * The next plan checks the row at every session's cursor (`plan`): true on a handle just
   * opened, so a store file replaced while creditgate runs (a restored backup) is verified whole.
   */
  checkAll: boolean;
  maxSeqAll: Database.Statement<[], { sid: string; maxSeq: number | null }>;
  maxSeqByWindow: Database.Statement<[], { sid: string; maxSeq: number | null }> | null;
  watermarks: Database.Statement<[], { sid: string; generation: string | number | null }> | null;
  rows: Database.Statement<[string, number, number], StoreRow>;
  /** The row of a session at one seq (a cursor's fingerprint check). */
  rowAt: Database.Statement<[string, number], { json: string | null; zstd: Buffer | null }>;
  /** Rows of a session at or before a seq, newest first (the turn before a cursor). */
  rowsBefore: Database.Statement<
    [string, number, number],
    { seq: number; json: string | null; zstd: Buffer | null }
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
  /** `session_windows.channel` of a session by key (any of its windows that names one). */
  windowChannelOfKey: Database.Statement<[string], { channel: string | null }> | null;
  node: Database.Statement<[string], { entry_json: string | null }> | null;
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
 * A full reconcile runs on the first poll of a reader and every Nth after: a `GROUP BY` of every
 * session's max seq (sessions without a `session_windows` row included), and the row at every
 * session cursor checked against its fingerprint (rows rewritten at or before a cursor).
 */
const FULL_RECONCILE_EVERY = 30;
/** Plain `.jsonl.deleted.*` / `.jsonl.reset.*` files are tailed by the JSONL source; the `.zst` ones are ours. */
const ARCHIVE_FILE_RE = /\.jsonl\.(?:deleted|reset)\..*\.zst$/;
const COLD_FILE_RE = /\.jsonl\.zst$/;
const SESSION_ID_PREFIX_RE = /^([0-9a-zA-Z][0-9a-zA-Z_-]{7,})(?:-topic-[^.]+)?\.jsonl/;

/** The OpenClaw store of an agent dir. */
export function storeFile(agentDir: string): string {
  return join(agentDir, "agent", "openclaw-agent.sqlite");
}

const factSig = (f: { sessionKey: string | null; accountId: string | null; channel: string | null }) =>
  `${f.sessionKey}\u001f${f.accountId}\u001f${f.channel ?? ""}`;

/**
 * The reading half of the OpenClaw store source of one agent (see sqlite.ts for what is read
 * and how): plans the sessions with new rows from the committed cursors (checking the row at a
 * cursor against its fingerprint, see `plan`), reads rows in short
 * read transactions, decodes and parses them, reads archives, and emits batches whose
 * `cursorMoves` cover exactly what they hold. It never writes: `db` may be a read-only
 * connection (the reader thread's). It keeps the OpenClaw connection open across polls
 * (reopened when the file's dev/ino changes). Its memory of what is done (session facts
 * recorded, archives read) advances only when the writer reports a batch committed
 * (`committed(id)`); within a poll, what emitted batches carry is not emitted again. A poll
 * that ends early forgets the rest: the next one starts again from the committed state.
 * Errors (busy store, not a database, creditgate's database failing) end the poll with the
 * error; `storeProblem` tells which of them are the store's (see sqlite.ts).
 * @throws RangeError when `batchSize` is not a positive integer
 */
export function createSqliteReader(opts: SqliteReaderOptions, db: Db) {
  const { agentDir, agentId } = opts;
  const mainKey = configuredMainKey(agentDir);
  if (!Number.isSafeInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  const batchSize = opts.batchSize;
  const previewChars = opts.previewChars ?? 0;
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  const pack = opts.packEvents ?? false;
  const dbFile = storeFile(agentDir);
  const sessionsDir = join(agentDir, "sessions");

  const memory = createSessionMemory(db);
  const cursors = createCursorRepo(db);

  let oc: OcHandle | null = null;
  let polls = 0;
  /** The current poll's problem reporter (see source.ts). */
  let report: ProblemReporter = () => {};
  /** Archives (rows and files) whose batches were committed (or that held nothing): not even decoded again. */
  const archivesSeen = new Set<string>();
  /** sessionId → last fact committed, so each session's key/account reaches `meter_sessions` once. */
  const factsSent = new Map<string, string>();
  /** What each emitted, not yet committed batch lets the reader remember once it is committed. */
  const pending = new Map<number, (() => void)[]>();
  let nextId = 1;

  // Per poll: what the batches emitted so far carry (committed or in flight).
  /** The last batch emitted in this poll (null: none yet). */
  let lastId: number | null = null;
  /** sessionId → the fact an emitted batch carries. */
  let issuedFacts = new Map<string, SessionFact>();
  /** Content hashes of the archives an emitted batch marks done. */
  let issuedBlobs = new Set<string>();
  let emit: Emit = () => {};
  let limit = batchSize;

  // ---------------------------------------------------------------- opening

  function closeOc(): void {
    if (!oc) return;
    try {
      oc.conn.close();
    } catch {
      // closing a read-only handle cannot lose data
    }
    oc = null;
  }

  /** The open OpenClaw DB, (re)opened when the file appears or is replaced; null if absent or not OpenClaw's. */
  function openOc(): OcHandle | null {
    let st: Stats;
    try {
      st = statSync(dbFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR")
        report({ path: dbFile, code: code ?? "error", reason: String((err as Error).message).slice(0, 300) });
      closeOc();
      return null;
    }
    if (oc && oc.dev === st.dev && oc.ino === st.ino) return oc;
    closeOc();
    if (!st.isFile()) {
      report({ path: dbFile, code: "not-a-file", reason: "the OpenClaw store path is not a regular file" });
      return null;
    }
    // Busy or not a database: thrown, and reported by the source (storeProblem).
    const conn = new Database(dbFile, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
    try {
      conn.pragma(`busy_timeout = ${Math.max(0, Math.trunc(busyTimeoutMs))}`);
      conn.pragma("query_only = 1");
      conn.pragma(`cache_size = -${OC_CACHE_KIB}`);
      const handle = prepare(conn, realpathSync(dbFile), st);
      if (!handle) {
        conn.close();
        return null;
      }
      oc = handle;
      return oc;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  // ---------------------------------------------------------------- attribution

  function hintsFromEntry(entryJson: string | null | undefined): { channels: string[]; targets: string[] } {
    const channels: string[] = [];
    const targets: string[] = [];
    if (!entryJson) return { channels, targets };
    let e: unknown;
    try {
      e = JSON.parse(entryJson);
    } catch {
      return { channels, targets };
    }
    const at = (...path: string[]): string | null => {
      let v: unknown = e;
      for (const p of path) {
        if (typeof v !== "object" || v === null) return null;
        v = (v as Record<string, unknown>)[p];
      }
      return typeof v === "string" && v.length > 0 ? v : null;
    };
    for (const c of [
      at("delivery", "context", "channel"),
      at("delivery", "route", "channel"),
      at("deliveryContext", "channel"),
      at("lastChannel"),
      at("channel"),
    ]) {
      if (c) channels.push(c);
    }
    for (const t of [
      at("delivery", "origin", "from"),
      at("delivery", "context", "to"),
      at("delivery", "route", "target", "to"),
      at("origin", "from"),
      at("deliveryContext", "to"),
      at("lastTo"),
    ]) {
      if (t) targets.push(t);
    }
    return { channels, targets };
  }

  /**
   * The meter's memory of a session as it is once this poll's emitted batches are committed:
   * the committed row overlaid with the fact in flight (the biller's upsert keeps a column
   * the fact leaves null). On the main thread the two are the same; on the reader thread a
   * batch may still be in flight, and the attribution must not depend on it.
   */
  function remembered(sid: string): RememberedSession | null {
    const mem = memory.get(agentId, sid);
    const f = issuedFacts.get(sid);
    if (!f) return mem;
    return {
      sessionKey: f.sessionKey ?? mem?.sessionKey ?? null,
      accountId: f.accountId ?? mem?.accountId ?? null,
      channel: f.channel ?? mem?.channel ?? null,
    };
  }

  /** The channel of another session by key: its window's, else its node entry's. */
  function channelOfKey(h: OcHandle | null, key: string): string | null {
    if (!h) return null;
    return (
      h.windowChannelOfKey?.get(key)?.channel ??
      hintsFromEntry(h.node?.get(key)?.entry_json).channels[0] ??
      null
    );
  }

  /** Attribution of a session that is no longer live: the archive's key, else the meter's memory. */
  function rememberedAttribution(h: OcHandle | null, sid: string, key: string | null): Attribution {
    const mem = remembered(sid);
    const sessionKey = key ?? mem?.sessionKey ?? null;
    const channel = mem?.channel ?? null;
    if (mem?.accountId && (key === null || mem.sessionKey === key)) {
      return { sessionKey, accountId: mem.accountId, channel };
    }
    const hints: SessionHints = {
      channel,
      parentKey: h?.parentOfKey ?? undefined,
      channelOfKey: (k) => channelOfKey(h, k),
      mainKey,
    };
    return { sessionKey, accountId: resolveAccount(agentId, sessionKey, hints).accountId, channel };
  }

  /** Attribution of a live session: window → key, node entry + conversation → channel and route hints. */
  function liveAttribution(h: OcHandle, sid: string, fallbackKey: string | null): Attribution {
    const w = h.window?.get(sid);
    if (!w?.session_key) return rememberedAttribution(h, sid, fallbackKey);
    const node = h.node?.get(w.session_key);
    const { channels, targets } = hintsFromEntry(node?.entry_json);
    const conv = w.conversation ? h.conversation?.get(w.conversation) : undefined;
    const channel = w.channel ?? channels[0] ?? conv?.channel ?? null;
    if (conv?.target) targets.push(conv.target);
    const r = resolveAccount(agentId, w.session_key, {
      channel,
      routeTargets: targets,
      parentKey: h.parentOfKey ?? undefined,
      channelOfKey: (k) => channelOfKey(h, k),
      mainKey,
    });
    return { sessionKey: w.session_key, accountId: r.accountId, channel };
  }

  /** The session's fact, unless a committed or emitted batch already carries the same. */
  function factFor(sid: string, a: Attribution): SessionFact | null {
    if (a.sessionKey === null) return null;
    const sig = factSig(a);
    if (factsSent.get(sid) === sig) return null;
    const issued = issuedFacts.get(sid);
    if (issued && factSig(issued) === sig) return null;
    return { agentId, sessionId: sid, sessionKey: a.sessionKey, accountId: a.accountId, channel: a.channel };
  }

  // ---------------------------------------------------------------- batches

  function newBatch(): BatchBuilder {
    return new BatchBuilder(agentId, "sqlite", previewChars, pack, opts.keysHere);
  }

  function addFact(b: BatchBuilder, sid: string, a: Attribution): void {
    const f = factFor(sid, a);
    if (f) b.sessions.push(f);
  }

  /**
   * Emits the batch; what it carries (facts) is remembered once the writer commits it, and
   * `settle`d work with it.
   */
  async function flush(b: BatchBuilder): Promise<void> {
    if (b.isEmpty()) return;
    limit = batchSize;
    const id = nextId++;
    const facts = b.sessions.map((f) => [f.sessionId, factSig(f)] as const);
    for (const f of b.sessions) issuedFacts.set(f.sessionId, f);
    pending.set(id, [
      () => {
        for (const [sid, sig] of facts) factsSent.set(sid, sig);
      },
    ]);
    lastId = id;
    const { batch, packed } = b.takePacked();
    await emit(batch, id, packed);
  }

  /**
   * Runs `fn` once every batch emitted so far in this poll is committed: now if none is in
   * flight, else with the last one's commit (acknowledgements come in order).
   */
  function settle(fn: () => void): void {
    const after = lastId === null ? undefined : pending.get(lastId);
    if (after) after.push(fn);
    else fn();
  }

  const owner = (sid: string | null, a: Attribution): LineOwner => ({
    sessionId: sid,
    sessionKey: a.sessionKey,
    accountId: a.accountId,
  });

  // ---------------------------------------------------------------- live rows

  /**
   * The sessions to read this poll, from the committed cursors. A session is rescanned from its
   * first row (dedupe absorbs what was billed) when its rewrite generation changed, when it
   * shrank below its cursor, or when the row at its cursor is not the one read there (its
   * fingerprint differs, or it is gone: a store restored from an older backup and written past
   * the cursor). The row at the cursor is checked for every session with new rows, and on a full
   * reconcile (`FULL_RECONCILE_EVERY`, a handle just opened) for every session: one point query
   * each, so ordinary polls only pay for the sessions that grew.
   */
  function plan(h: OcHandle): Work[] {
    const reconcile = polls % FULL_RECONCILE_EVERY === 0 || h.checkAll;
    // Without session_windows every poll reads every session's max seq, but checks only the
    // cursors of the sessions that grew (unless it is a reconcile).
    const full = reconcile || !h.maxSeqByWindow;
    const maxSeqs = full ? h.maxSeqAll.all() : (h.maxSeqByWindow?.all() ?? []);
    const gens = new Map<string, number | null>();
    for (const w of h.watermarks?.all() ?? []) gens.set(w.sid, hashGeneration(w.generation));
    // The fingerprints are read in bulk only when every cursor is checked; otherwise one point
    // read per session that grew.
    const committed = new Map<
      string,
      { last_seq: number; rewrite_generation: number | null; last_row_sha256?: string | null }
    >(
      (reconcile ? cursors.sqliteCursors(h.dbPath) : cursors.sqliteCursorPositions(h.dbPath)).map((c) => [
        c.session_id,
        c,
      ]),
    );
    const work: Work[] = [];
    // once per session, even where a hand-made store lists a session in two windows
    const planned = new Set<string>();
    for (const { sid, maxSeq } of maxSeqs) {
      if (maxSeq === null || planned.has(sid)) continue;
      planned.add(sid);
      const c = committed.get(sid);
      const watermark = gens.get(sid) ?? null;
      if (!c) {
        work.push({ sid, fromSeq: -1, gen: watermark, rowSha: null, stored: null, base: null });
        continue;
      }
      const stored = { lastSeq: c.last_seq, gen: c.rewrite_generation };
      // A vanished watermark is not a rewrite: keep the generation we had.
      const gen = watermark ?? c.rewrite_generation;
      const rescan = (): void => {
        // dedupe absorbs repeats
        work.push({ sid, fromSeq: -1, gen, rowSha: null, stored, base: stored, rescan: c.last_seq >= 0 });
      };
      if (gen !== c.rewrite_generation || maxSeq < c.last_seq) rescan();
      else if (reconcile || maxSeq > c.last_seq) {
        const sha =
          c.last_row_sha256 !== undefined
            ? c.last_row_sha256
            : cursors.sqliteCursorRowSha(h.dbPath, sid, c.last_seq);
        if (!cursorRowUnchanged(h, sid, c.last_seq, sha)) rescan();
        else if (maxSeq > c.last_seq)
          work.push({ sid, fromSeq: c.last_seq, gen, rowSha: sha, stored, base: stored });
      }
    }
    h.checkAll = false;
    // Read like session files (`sortForReading`): sessions without a key (billed to the operator)
    // last; the query's session order within an account.
    for (const w of work) w.attribution = liveAttribution(h, w.sid, null);
    return sortForReading(work, (w) => (w.attribution?.sessionKey == null ? null : w.attribution.accountId));
  }

  function readRows(h: OcHandle, queue: Work[], b: BatchBuilder): void {
    let budget = limit;
    while (budget > 0 && queue.length > 0) {
      const w = queue[0] as Work;
      w.attribution ??= liveAttribution(h, w.sid, null);
      addFact(b, w.sid, w.attribution);
      const who = owner(w.sid, w.attribution);
      if (w.rescan) {
        b.stats.rescans++;
        w.rescan = false;
      }
      if (w.turn === undefined) w.turn = w.fromSeq < 0 ? null : turnBeforeSeq(h, w.sid, w.fromSeq);
      b.turn = w.turn;
      const rows = h.rows.all(w.sid, w.fromSeq, budget);
      rowsInto(b, rows, agentId, w.sid, who);
      w.turn = b.turn;
      b.turn = null;
      const last = rows.at(-1);
      if (last) {
        w.fromSeq = last[0];
        w.rowSha = rowFingerprint(last[1], last[2]);
      }
      const exhausted = rows.length < budget;
      budget -= rows.length;
      // A move without a row read in this batch carries the fingerprint of the row at its seq
      // as known: read earlier in this poll, the stored one (same seq), or null (seq -1).
      if (last || (exhausted && (w.stored?.lastSeq !== w.fromSeq || w.stored?.gen !== w.gen))) {
        b.sqlite.set(w.sid, {
          dbPath: h.dbPath,
          sessionId: w.sid,
          lastSeq: w.fromSeq,
          gen: w.gen,
          rowSha: w.rowSha,
          from: w.base,
        });
        w.base = { lastSeq: w.fromSeq, gen: w.gen };
      }
      if (exhausted) queue.shift();
    }
  }

  /**
   * Whether the row at a session's cursor is still the one read there: true when its
   * fingerprint is unknown (null: cursors from before migration 35, or a cursor at -1), else
   * whether the row at `lastSeq` exists and has the same fingerprint. One point query.
   */
  function cursorRowUnchanged(h: OcHandle, sid: string, lastSeq: number, sha: string | null): boolean {
    if (sha === null) return true;
    const r = h.rowAt.get(sid, lastSeq);
    return r !== undefined && rowFingerprint(r.json, r.zstd) === sha;
  }

  /**
   * The user message still waiting for a reply at a session's cursor (`seq` read last): the rows
   * before it, newest first, up to the last user line or billed reply (at most LOOKBACK_ROWS rows;
   * past that, unknown: null). Lets a reply read in a later poll than its question get its latency.
   */
  function turnBeforeSeq(h: OcHandle, sid: string, seq: number): PendingTurn | null {
    for (const r of h.rowsBefore.all(sid, seq, LOOKBACK_ROWS)) {
      let text: string;
      const json: unknown = r.json;
      if (typeof json === "string") text = json;
      else if (Buffer.isBuffer(json)) text = json.toString("utf8");
      else if (json !== null) continue;
      else if (r.zstd !== null) {
        try {
          text = decodeZstd(r.zstd).toString("utf8");
        } catch {
          continue;
        }
      } else continue;
      if (!(text.includes('"usage"') || text.includes('"role":"user"'))) continue;
      const t = turnOf(text, previewChars);
      if (t === "reply") return null;
      if (t) return t.user;
    }
    return null;
  }

  // ---------------------------------------------------------------- archives

  /**
   * Reads one decoded JSONL archive into batches of at most `batchSize` events; the last one
   * records the blob as done. Skipped when it is done (committed) or an earlier batch of this
   * poll marks the same content done (an archive row and its identical `.zst` file).
   */
  async function emitBlob(
    content: Buffer,
    blobName: string,
    refBase: string,
    sid: string | null,
    a: Attribution,
  ): Promise<void> {
    const sha = createHash("sha256").update(content).digest("hex");
    if (issuedBlobs.has(sha) || cursors.blobDone(sha)) return;
    let b = newBatch();
    b.stats.files = 1;
    b.stats.bytes = content.length;
    if (sid) addFact(b, sid, a);
    const who = owner(sid, a);
    let events = 0;
    for (const [line, lineNo] of eachLine(content)) {
      const before = b.eventCount;
      b.bytesLine(line, who, `${refBase}#line${lineNo}`);
      events += b.eventCount - before;
      if (b.eventCount >= batchSize) {
        // Only the last part marks the archive done: after a failure in between it is read
        // again whole, and dedupe absorbs the parts already billed.
        const turn = b.turn;
        await flush(b);
        b = newBatch();
        b.turn = turn; // the same transcript goes on
      }
    }
    b.blobs.push({ sha, name: blobName, events });
    issuedBlobs.add(sha);
    await flush(b);
  }

  function sessionIdOfFile(fileName: string): string | null {
    return SESSION_ID_PREFIX_RE.exec(fileName)?.[1] ?? null;
  }

  function headerId(content: Buffer): string | null {
    const nl = content.indexOf(0x0a);
    const first = content
      .subarray(bomLength(content, 0), nl === -1 ? Math.min(content.length, 65536) : nl)
      .toString("utf8");
    try {
      const h = JSON.parse(first) as { type?: unknown; id?: unknown };
      return h.type === "session" && typeof h.id === "string" && h.id.length > 0 ? h.id : null;
    } catch {
      return null;
    }
  }

  /** Marks an archive read once what this poll emitted so far is committed. */
  const seen = (key: string) => settle(() => archivesSeen.add(key));

  async function readArchiveRows(h: OcHandle): Promise<void> {
    if (!h.archives || !h.archiveBlob) return;
    const list = readTx(h, () => h.archives?.all() ?? []);
    for (const row of list) {
      const seenKey = `table:${row.sid}:${row.generation}:${row.sha ?? ""}`;
      if (archivesSeen.has(seenKey)) continue;
      const blobRow = readTx(h, () => h.archiveBlob?.get(row.sid, row.generation));
      const refBase = `archive:${agentId}:${row.name}`;
      // A reset archive's session may still be live; a deleted one falls back to the archive's key.
      const a = readTx(h, () => liveAttribution(h, row.sid, row.key));
      if (!blobRow?.blob) {
        archivesSeen.add(seenKey); // nothing to bill
        continue;
      }
      let content: Buffer;
      try {
        content = blobRow.encoding === "zstd" ? decodeZstd(blobRow.blob) : decodeMaybeZstd(blobRow.blob);
      } catch {
        await rejectOnly(refBase, "archive blob does not decode");
        seen(seenKey);
        continue;
      }
      await emitBlob(content, refBase, refBase, row.sid, a);
      seen(seenKey);
      if (!(await yieldStillOpen(h))) return;
    }
    if (h.coldArchives && h.coldBlob) {
      const cold = readTx(h, () => h.coldArchives?.all() ?? []);
      for (const row of cold) {
        if (!row.inDb) continue;
        const seenKey = `cold:${row.sid}:${row.generation ?? ""}:${row.name}`;
        if (archivesSeen.has(seenKey)) continue;
        const blobRow = readTx(h, () => h.coldBlob?.get(row.sid));
        if (!blobRow?.blob) {
          archivesSeen.add(seenKey); // nothing to bill
          continue;
        }
        const refBase = `archive:${agentId}:cold:${row.name}`;
        let content: Buffer;
        try {
          content = decodeMaybeZstd(blobRow.blob);
        } catch {
          await rejectOnly(refBase, "cold archive blob does not decode");
          seen(seenKey);
          continue;
        }
        const a = readTx(h, () => liveAttribution(h, row.sid, null));
        await emitBlob(content, refBase, refBase, row.sid, a);
        seen(seenKey);
        if (!(await yieldStillOpen(h))) return;
      }
    }
  }

  function listArchiveFiles(): { path: string; rel: string; name: string; st: Stats }[] {
    const out: { path: string; rel: string; name: string; st: Stats }[] = [];
    const scan = (dir: string, relDir: string, re: RegExp) => {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOENT") report({ path: dir, code: code ?? "error", reason: errLine(err) });
        return;
      }
      for (const n of names.sort()) {
        if (!re.test(n) || /\.tmp(?:$|[.-])|\.bak/.test(n)) continue;
        const path = join(dir, n);
        try {
          const st = statSync(path);
          if (st.isFile()) out.push({ path, rel: relDir ? `${relDir}/${n}` : n, name: n, st });
          else report({ path, code: "not-a-file", reason: "an archive name that is not a regular file" });
        } catch (err) {
          // vanished between readdir and stat is normal; anything else is reported
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "ENOENT") report({ path, code: code ?? "error", reason: errLine(err) });
        }
      }
    };
    scan(sessionsDir, "", ARCHIVE_FILE_RE);
    scan(join(sessionsDir, "cold"), "cold", COLD_FILE_RE);
    return out;
  }

  async function readArchiveFiles(h: OcHandle): Promise<void> {
    const files = listArchiveFiles();
    if (files.length === 0) return;
    // File names carry no session key: take it from OpenClaw's archive tables, else our memory.
    const keyBySid = new Map<string, string | null>();
    const sidByName = new Map<string, string>();
    readTx(h, () => {
      for (const r of h.archives?.all() ?? []) {
        keyBySid.set(r.sid, r.key);
        sidByName.set(r.name, r.sid);
      }
      for (const r of h.coldArchives?.all() ?? []) sidByName.set(r.name, r.sid);
    });
    for (const f of files) {
      const seenKey = `file:${f.rel}:${f.st.size}:${f.st.mtimeMs}`;
      if (archivesSeen.has(seenKey)) continue;
      const refBase = `archive:${agentId}:sessions/${f.rel}`;
      let content: Buffer;
      try {
        content = decodeMaybeZstd(readFileSync(f.path));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        if (typeof (err as NodeJS.ErrnoException).syscall === "string") {
          // unreadable (EACCES, EIO, EISDIR): reported and retried next poll, not marked seen
          report({
            path: f.path,
            code: (err as NodeJS.ErrnoException).code ?? "error",
            reason: errLine(err),
          });
          continue;
        }
        await rejectOnly(refBase, "archive file does not decode");
        seen(seenKey);
        continue;
      }
      const sid = sidByName.get(f.name) ?? sessionIdOfFile(f.name) ?? headerId(content);
      const a =
        sid === null
          ? rememberedAttribution(h, "", null)
          : readTx(h, () => liveAttribution(h, sid, keyBySid.get(sid) ?? null));
      await emitBlob(content, refBase, refBase, sid, a);
      seen(seenKey);
      if (!(await yieldStillOpen(h))) return;
    }
  }

  /**
   * Lets the event loop breathe between batches (on the reader thread: the writer's
   * acknowledgements arrive); false when `close()` ran meanwhile.
   */
  async function yieldStillOpen(h: OcHandle): Promise<boolean> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return oc === h;
  }

  async function rejectOnly(sourceRef: string, reason: string): Promise<void> {
    const b = newBatch();
    b.reject(sourceRef, reason);
    await flush(b);
  }

  // ---------------------------------------------------------------- poll

  async function pollOnce(): Promise<void> {
    const h = openOc();
    if (!h) return;
    const queue = readTx(h, () => plan(h));
    polls++;
    let first = true;
    while (queue.length > 0) {
      const b = newBatch();
      readTx(h, () => readRows(h, queue, b));
      if (first && b.stats.lines > 0) {
        b.stats.files = 1;
        first = false;
      }
      await flush(b);
      if (!(await yieldStillOpen(h))) return;
    }
    await readArchiveRows(h);
    if (oc !== h) return;
    await readArchiveFiles(h);
  }

  return {
    /**
     * Reads everything new since the committed state, emitting batches in order (see `Emit`:
     * each is billed, or the poll ends). Problems that do not stop the poll go to `report`
     * (path, code, reason; never content). Rejects with the store's errors (busy, not a
     * database: the connection is then closed and reopened next poll) and `emit`'s. One poll
     * at a time.
     */
    async poll(emitBatch: Emit, onProblem?: ProblemReporter): Promise<void> {
      // batches of an earlier poll that never committed: forgotten
      pending.clear();
      lastId = null;
      issuedFacts = new Map();
      issuedBlobs = new Set();
      limit = opts.firstBatchSize ?? batchSize;
      emit = emitBatch;
      report = onProblem ?? (() => {});
      try {
        await pollOnce();
      } catch (err) {
        if (isNotOpenClaw(err)) closeOc();
        throw err;
      } finally {
        emit = () => {};
        report = () => {};
      }
    },
    /** The writer committed batch `id` (ids are acknowledged in order). */
    committed(id: number): void {
      const advance = pending.get(id);
      pending.delete(id);
      if (advance) for (const fn of advance) fn();
    },
    /** Closes the OpenClaw connection (a later poll reopens it). */
    close(): void {
      closeOc();
    },
  };
}

export type SqliteReader = ReturnType<typeof createSqliteReader>;

/**
 * Whether a failed poll's error is the store's own (not creditgate's or the sink's), and reports
 * it: busy/locked (a writer holds the lock, or WAL recovery: retried next poll) or not a
 * readable SQLite database. False for anything else, which the caller rethrows. Works on an
 * error from the reader thread too (its `code` and message cross the thread).
 */
export function storeProblem(err: unknown, dbFile: string, report: ProblemReporter): boolean {
  const why = String((err as Error)?.message ?? err).slice(0, 300);
  if (isBusy(err)) {
    report({ path: dbFile, code: sqliteCode(err), reason: `locked by a writer, retried next poll: ${why}` });
    return true;
  }
  if (isNotOpenClaw(err)) {
    report({ path: dbFile, code: sqliteCode(err), reason: `not a readable SQLite database: ${why}` });
    return true;
  }
  return false;
}

// ------------------------------------------------------------------ helpers

function prepare(conn: Database.Database, dbPath: string, st: Stats): OcHandle | null {
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

  const hasWindows = tables.has("session_windows") && caps.cols("session_windows").has("session_key");
  const hasNodes = tables.has("session_nodes") && caps.cols("session_nodes").has("session_key");
  const parentCols = (table: string) =>
    `${col(table, "parent_session_key", "parent")}, ${col(table, "spawned_by", "spawned_by")}`;
  const nodeParent = hasNodes
    ? conn.prepare<[string], { parent: string | null; spawned_by: string | null }>(
        `SELECT ${parentCols("session_nodes")} FROM session_nodes WHERE session_key = ?`,
      )
    : null;
  const windowParent = hasWindows
    ? conn.prepare<[string], { parent: string | null; spawned_by: string | null }>(
        `SELECT ${parentCols("session_windows")} FROM session_windows WHERE session_key = ? LIMIT 1`,
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
    checkAll: true,
    maxSeqAll: conn.prepare(
      "SELECT session_id AS sid, MAX(seq) AS maxSeq FROM transcript_events GROUP BY session_id",
    ),
    maxSeqByWindow: hasWindows
      ? conn.prepare(
          `SELECT w.session_id AS sid,
             (SELECT MAX(t.seq) FROM transcript_events t WHERE t.session_id = w.session_id) AS maxSeq
           FROM session_windows w`,
        )
      : null,
    watermarks:
      tables.has("transcript_rewrite_watermarks") &&
      caps.cols("transcript_rewrite_watermarks").has("generation")
        ? conn.prepare("SELECT session_id AS sid, generation FROM transcript_rewrite_watermarks")
        : null,
    rows: conn
      .prepare<[string, number, number], StoreRow>(
        `SELECT seq, ${te.has("event_json") ? "event_json" : "NULL"} AS json, ${te.has("event_zstd") ? "event_zstd" : "NULL"} AS zstd
       FROM transcript_events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
      )
      .raw(true),
    rowAt: conn.prepare(
      `SELECT ${te.has("event_json") ? "event_json" : "NULL"} AS json, ${te.has("event_zstd") ? "event_zstd" : "NULL"} AS zstd
       FROM transcript_events WHERE session_id = ? AND seq = ?`,
    ),
    rowsBefore: conn.prepare(
      `SELECT seq, ${te.has("event_json") ? "event_json" : "NULL"} AS json, ${te.has("event_zstd") ? "event_zstd" : "NULL"} AS zstd
       FROM transcript_events WHERE session_id = ? AND seq <= ? ORDER BY seq DESC LIMIT ?`,
    ),
    window: hasWindows
      ? conn.prepare(
          `SELECT session_key, ${col("session_windows", "channel", "channel")}, ${parentCols("session_windows")},
             ${col("session_windows", "primary_conversation_id", "conversation")}
           FROM session_windows WHERE session_id = ?`,
        )
      : null,
    parentOfKey,
    windowChannelOfKey:
      hasWindows && caps.cols("session_windows").has("channel")
        ? conn.prepare(
            "SELECT channel FROM session_windows WHERE session_key = ? AND channel IS NOT NULL LIMIT 1",
          )
        : null,
    node:
      hasNodes && caps.cols("session_nodes").has("entry_json")
        ? conn.prepare("SELECT entry_json FROM session_nodes WHERE session_key = ?")
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

/**
 * Adds one session's `transcript_events` rows (in seq order) to `b`: text rows through
 * `textLine`, blobs and decoded `event_zstd` rows through `bytesLine`; a row with neither, or one
 * that does not decode, is rejected (`sqlite:<agent>#<session>:<seq>`).
 *
 * A module-level function, not part of each reader's `readRows` closure: V8 optimizes one small
 * function per thread instead of the reader's loop once per agent (see jsonl-reader.ts
 * `scanLines`).
 */
function rowsInto(
  b: BatchBuilder,
  rows: readonly StoreRow[],
  agentId: string,
  sid: string,
  who: LineOwner,
): void {
  for (const r of rows) {
    const ref = `sqlite:${agentId}#${sid}:${r[0]}`;
    const json: unknown = r[1];
    const zstd = r[2];
    if (typeof json === "string") {
      b.stats.bytes += json.length;
      b.textLine(json, who, ref);
    } else if (Buffer.isBuffer(json)) {
      // A blob in event_json (a store whose transcript_events is not STRICT): the line's
      // UTF-8 bytes, read as a decoded event_zstd row is (textLine takes strings only).
      b.stats.bytes += json.length;
      b.bytesLine(json, who, ref);
    } else if (json !== null) {
      b.stats.lines++;
      b.reject(ref, "event_json is neither text nor a blob");
    } else if (zstd !== null) {
      let buf: Buffer;
      try {
        buf = decodeZstd(zstd);
      } catch {
        b.stats.lines++;
        b.reject(ref, "event_zstd does not decode");
        continue;
      }
      b.stats.bytes += buf.length;
      b.bytesLine(buf, who, ref);
    } else {
      b.stats.lines++;
      b.reject(ref, "row has neither event_json nor event_zstd");
    }
  }
}

/** One short read transaction (a consistent snapshot), released before anything is billed. */
function readTx<T>(h: OcHandle, fn: () => T): T {
  return h.conn.transaction(fn).deferred();
}

/**
 * Fingerprint of one `transcript_events` row as stored: sha256 hex of a tag and its bytes,
 * `j` + the `event_json` text (UTF-8) when it has one, else `z` + the `event_zstd` blob as stored
 * (not decoded), else `-` alone. What a cursor remembers of the row at its `last_seq`
 * (`SqliteCursorMove.rowSha`); equal rows at the same seq are taken to be the row read.
 */
export function rowFingerprint(json: string | null, zstd: Buffer | null): string {
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
function hashGeneration(g: string | number | null): number | null {
  if (g === null) return null;
  const hex = createHash("sha256").update(String(g)).digest("hex").slice(0, 12);
  return Number.parseInt(hex, 16);
}

/** First line of an error's message, at most 300 characters (fs/SQLite messages: paths, never content). */
function errLine(err: unknown): string {
  return (String((err as Error)?.message ?? err).split("\n")[0] ?? "").slice(0, 300);
}

function sqliteCode(err: unknown): string {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "string"
    ? (err as { code: string }).code
    : "";
}

function isBusy(err: unknown): boolean {
  const c = sqliteCode(err);
  return c.startsWith("SQLITE_BUSY") || c.startsWith("SQLITE_LOCKED");
}

function isNotOpenClaw(err: unknown): boolean {
  const c = sqliteCode(err);
  return c.startsWith("SQLITE_NOTADB") || c.startsWith("SQLITE_CORRUPT");
}
