import type { Stats } from "node:fs";
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Db } from "../../db/index.js";
import {
  CODEX_HARNESS_API_MARKS,
  type CodexCumulative,
  codexCumulativeOf,
  codexIncrement,
} from "../codex-cumulative.js";
import { createCursorRepo } from "../cursor-repo.js";
import { parseLine, textHasUserMark } from "../parse.js";
import { agentOfKey, operatorAccount } from "../resolve-user.js";
import { createSessionMemory, type RememberedSession } from "../session-memory.js";
import type { ProblemReporter, SessionFact } from "../source.js";
import type { ParsedUsage } from "../types.js";
import {
  BatchBuilder,
  checkLineSize,
  type KeptEntryCalls,
  type KeysHere,
  type LineOwner,
  OriginScan,
  OWN_TURN,
  type PendingTurn,
  RESUME_MEMORY_ENTRIES,
  type ReplyMark,
  replyMarkKept,
  setBounded,
  TurnBackScan,
  type TurnBefore,
  type TurnCalls,
  TurnCallsScan,
  type TurnOrigin,
} from "./batch-builder.js";
import { classifyTranscriptFile, filesBySession } from "./classify.js";
import { codexSeed } from "./file-probe.js";
import { type Emit, positiveBatchSize } from "./jsonl-reader.js";
import {
  configProblem,
  configuredIdentityLinks,
  configuredMainKey,
  configuredSlashPrefixes,
} from "./openclaw-config.js";
import { generationsOf, headerParentId, sortForReading } from "./read-order.js";
import { createSessionsIndex, importedIndexPath } from "./sessions-index.js";
import { createStoreArchives } from "./store-archives.js";
import { type Attribution, createStoreAttribution } from "./store-attribution.js";
import {
  hashGeneration,
  isBusy,
  isNotOpenClaw,
  type OcHandle,
  openStore,
  readTx,
  rowFingerprint,
  type StoreRow,
  sqliteCode,
  storeChanged,
} from "./store-handle.js";
import { agentStoreFile } from "./store-location.js";
import { createWhatsAppLidResolver } from "./whatsapp-lid.js";
import { decodeZstd } from "./zst.js";

export { rowFingerprint } from "./store-handle.js";

/**
 * `opts` of an OpenClaw store reader: everything it needs, all of it cloneable (it may run on
 * the reader thread). See SqliteSourceOptions for the meaning of each.
 */
export interface SqliteReaderOptions {
  /** `<state>/agents/<agentId>`. */
  agentDir: string;
  agentId: string;
  /**
   * The store file when `session.store` moved it (store-location.ts).
   * @defaultValue `storeFile(agentDir)`
   */
  storePath?: string;
  /**
   * Where that store publishes its `.zst` archives and `cold/`. @defaultValue `<agentDir>/sessions`
   */
  sessionsDir?: string;
  /** What `~` in OpenClaw's `session.store` expands to (`OPENCLAW_HOME`, else `HOME`); absent: the user's home. */
  home?: string | null;
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
  /**
   * How many transcripts' resume points the reader remembers (a shortcut; past it the least
   * recently read resume by reading back). A positive integer. @defaultValue RESUME_MEMORY_ENTRIES (10,000)
   */
  resumeMemoryEntries?: number;
}

/** Rows read back before a session's cursor to find the turn it is in (latency of its next reply). */
const LOOKBACK_ROWS = 64;
/** How many rows before a cursor `originBeforeSeq` reads at most (one at a time, stopping early). */
const ORIGIN_LOOKBACK_ROWS = 4096;
/**
 * Rows of a session replayed at most to find its Codex-thread state at a cursor (codexBeforeSeq),
 * and rows of the windows it continues read at most to seed its first line (codexSeedOfStore).
 */
const CODEX_REPLAY_ROWS = 200_000;
/** Compaction predecessors followed back at most to seed a window's first Codex line (codexSeedOfStore). */
const CODEX_SEED_WINDOWS = 8;

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
  /** `BatchBuilder.datedBy` at `fromSeq` (undefined: not known; the turn's time is used). */
  datedBy?: number | null;
  /** `BatchBuilder.lastReply` at `fromSeq` (kept: `replyMarkKept`; undefined: not looked up yet). */
  lastReply?: ReplyMark | null;
  /** `BatchBuilder.turnCalls` at `fromSeq` (undefined: read back when a CLI line needs it). */
  turnCalls?: TurnCalls | null;
  /** `BatchBuilder.keptEntryCalls` at `fromSeq` (undefined: read back when needed). */
  entryCalls?: KeptEntryCalls;
  /** Whose turn the session is in at `fromSeq` (`TurnOrigin`; undefined: not looked up yet). */
  origin?: TurnOrigin;
  /** The session's Codex-thread state at `fromSeq` (codex-cumulative.ts; undefined: not replayed yet). */
  codex?: CodexCumulative | null;
  /**
   * Read from its first row up to `fromSeq` in this poll without a cumulative Codex-harness line:
   * its next one has none before it in the session's rows (no replay; only the seed).
   */
  codexNone?: boolean;
  /** Read again from its first row because it changed under a cursor past its start (`rescans`). */
  rescan?: boolean;
}

/**
 * A full reconcile runs on the first poll of a reader and every Nth after: a `GROUP BY` of every
 * session's max seq (sessions without a `session_windows` row included), and the row at every
 * session cursor checked against its fingerprint (rows rewritten at or before a cursor).
 */
const FULL_RECONCILE_EVERY = 30;

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
  positiveBatchSize("batchSize", opts.batchSize);
  const batchSize = opts.batchSize;
  const previewChars = opts.previewChars ?? 0;
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  const pack = opts.packEvents ?? false;
  const dbFile = opts.storePath ?? storeFile(agentDir);
  const sessionsDir = opts.sessionsDir ?? join(agentDir, "sessions");

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
  /**
   * Whose turn each session was in after the last row read (`TurnOrigin` at that seq), as the
   * JSONL reader keeps `turnAt`: a session resumed at exactly that seq continues from it, any other
   * resume reads back (`originBeforeSeq`). Before 2026-12-03 every poll read back at most 64 rows,
   * so a following meter billed the rest of a marked turn with a longer tool loop to the DM's user.
   */
  const originAt = new Map<string, { seq: number; origin: TurnOrigin }>();
  const resumeMemory = opts.resumeMemoryEntries ?? RESUME_MEMORY_ENTRIES;
  positiveBatchSize("resumeMemoryEntries", resumeMemory);
  /** What each emitted, not yet committed batch lets the reader remember once it is committed. */
  const pending = new Map<number, (() => void)[]>();
  let nextId = 1;

  // Per poll: what the batches emitted so far carry (committed or in flight).
  /** The last batch emitted in this poll (null: none yet). */
  let lastId: number | null = null;
  /** sessionId → the fact an emitted batch carries. */
  let issuedFacts = new Map<string, SessionFact>();
  /** Content hashes of the archives an emitted batch marks done. */
  const issuedBlobs = new Set<string>();
  let emit: Emit = () => {};
  let limit = batchSize;
  /** sessionId → its transcript files in `sessions/` (transcriptFilesOf); null: not listed yet this poll. */
  let sessionFiles: Map<string, string[]> | null = null;

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
    if (oc && !storeChanged(oc, st)) return oc;
    closeOc();
    if (!st.isFile()) {
      report({ path: dbFile, code: "not-a-file", reason: "the OpenClaw store path is not a regular file" });
      return null;
    }
    // Busy or not a database: thrown, and reported by the source (storeProblem).
    oc = openStore(dbFile, st, busyTimeoutMs);
    return oc;
  }

  // ---------------------------------------------------------------- attribution

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

  /**
   * Other agents' stores, opened read-only (like this agent's) when a spawn chain leads into
   * their keys: a sub-agent run under this agent (`sessions_spawn` with `agentId`) names its
   * requester in another agent, whose `per-peer` DM key names no channel; the channel (and the
   * requester's own parent) are in that agent's store only.
   */
  const siblings = new Map<string, OcHandle>();
  function closeSibling(agent: string): void {
    const h = siblings.get(agent);
    siblings.delete(agent);
    try {
      h?.conn.close();
    } catch {
      // closing a read-only handle cannot lose data
    }
  }
  function siblingStore(agent: string): OcHandle | null {
    if (agent === agentId || !/^[a-z0-9_-]+$/i.test(agent)) return null;
    const file = agentStoreFile(dirname(dirname(agentDir)), agent, opts.home ?? null);
    if (file === null) {
      closeSibling(agent);
      return null;
    }
    let st: Stats;
    try {
      st = statSync(file);
    } catch {
      closeSibling(agent);
      return null;
    }
    const had = siblings.get(agent);
    if (had && !storeChanged(had, st)) return had;
    closeSibling(agent);
    if (!st.isFile()) return null;
    try {
      const h = openStore(file, st, busyTimeoutMs);
      if (h) siblings.set(agent, h);
      return h;
    } catch (err) {
      // Locked by a writer: the poll ends and is retried (a channel-less `direct:<peer>` now would
      // be billed for good, the very account this lookup exists to avoid). Not a database: no
      // hint from it (its own reader reports it).
      if (isBusy(err)) {
        const why = String((err as Error)?.message ?? err).slice(0, 200);
        throw Object.assign(new Error(`${file} (a spawn chain's requester's store): ${why}`), {
          code: sqliteCode(err),
        });
      }
      return null;
    }
  }

  /**
   * The `sessions.json` OpenClaw's doctor archived beside a store when it imported an agent's
   * JSONL (`importedIndexPath`), for the route fields its import dropped (store-attribution.ts
   * `importedChannelOf`): this agent's, and the agent's a key names when a spawn chain leads to
   * another agent's DM (`agent:ops:subagent:<id>` spawned by `agent:main:direct:<peer>`: the
   * channel is in main's archived index, not in ops'; before, such a sub-agent was billed to a
   * channel-less `direct:<peer>` while the JSONL path billed `<channel>:<peer>`). Each is looked
   * for at most once per poll and re-read when it changes.
   */
  const importedIndexes = new Map<
    string,
    { file: string | null; index: ReturnType<typeof createSessionsIndex>; poll: number }
  >();
  function importedIndexOf(agent: string): ReturnType<typeof createSessionsIndex> | null {
    if (agent !== agentId && !/^[a-z0-9_-]+$/i.test(agent)) return null;
    let e = importedIndexes.get(agent);
    if (e && e.poll === polls) return e.file ? e.index : null;
    const file = importedIndexPath(agent === agentId ? agentDir : join(dirname(agentDir), agent));
    if (!e || e.file !== file) e = { file, index: createSessionsIndex(file ?? ""), poll: polls };
    e.poll = polls;
    importedIndexes.set(agent, e);
    if (file) e.index.refresh();
    return file ? e.index : null;
  }
  const { rememberedAttribution, liveAttribution, accountOfKey } = createStoreAttribution(
    agentId,
    mainKey,
    remembered,
    siblingStore,
    configuredSlashPrefixes(agentDir),
    configuredIdentityLinks(agentDir),
    (key) => importedIndexOf(agentOfKey(key) ?? agentId)?.byKey(key) ?? null,
    createWhatsAppLidResolver(dirname(dirname(agentDir))),
    (key) => memory.accountOfKey(agentOfKey(key) ?? agentId, key),
  );

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
    const b = new BatchBuilder(agentId, "sqlite", previewChars, pack, opts.keysHere);
    // a turn another session wrote (`sessions_send`) is billed to that session's payer
    b.accountOfKey = (key) => {
      const h = oc;
      if (!h) return operatorAccount(agentId);
      return h.conn.inTransaction ? accountOfKey(h, key) : readTx(h, () => accountOfKey(h, key));
    };
    b.mainKey = mainKey;
    // a send that named its target by session id: that session's key, from its window
    b.keyOfSessionId = (sid) => {
      const h = oc;
      if (!h?.window) return null;
      const w = h.window;
      return (h.conn.inTransaction ? w.get(sid) : readTx(h, () => w.get(sid)))?.session_key ?? null;
    };
    return b;
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

  const archives = createStoreArchives({
    agentId,
    batchSize,
    sessionsDir,
    archivesSeen,
    issuedBlobs,
    blobDone: (sha) => cursors.blobDone(sha),
    newBatch,
    addFact,
    owner,
    flush,
    settle,
    report: (p) => report(p),
    rememberedAttribution,
    liveAttribution,
    yieldStillOpen,
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
    // a fork after the session it copies (forkGenerations)
    const gen = forkGenerations(h, work);
    return sortForReading(
      work,
      (w) => (w.attribution?.sessionKey == null ? null : w.attribution.accountId),
      (w) => gen(w.sid),
    );
  }

  /**
   * How many of the poll's sessions each one descends from through its header
   * (`parentTranscriptScope`, `parentSession`: `headerParentId`), for `sortForReading`. OpenClaw's
   * SQLite store writes a fork (`sessions.create` with `fork`, the Control UI's fork actions,
   * `sessions_spawn` with `context: "fork"`: a `session_windows` row with reason `fork`) as a new
   * session whose rows are its header and the parent's branch copied verbatim; those copies have the
   * parent's identity, so the first one read is billed, and a fork under another account (the
   * operator's dashboard key) read first took the parent's user's calls. One point read of the
   * first row per planned session, only when more than one is planned.
   */
  function forkGenerations(h: OcHandle, work: readonly Work[]): (sid: string) => number {
    if (work.length < 2) return () => 0;
    const ids = new Set(work.map((w) => w.sid));
    const parentOf = new Map<string, string>();
    for (const { sid } of work) {
      const parent = storeHeaderParent(h, sid);
      if (parent && parent !== sid && ids.has(parent)) parentOf.set(sid, parent);
    }
    return generationsOf(parentOf);
  }

  /**
   * The session a store session's header row (its first, `{"type":"session",…}`) names as its
   * parent (`headerParentId`), or null: none, compressed, or not a header we can read.
   */
  function storeHeaderParent(h: OcHandle, sid: string): string | null {
    try {
      const raw = h.firstRow.get(sid)?.json;
      if (raw == null) return null;
      if (typeof raw !== "string") checkLineSize(raw.length);
      const text = typeof raw === "string" ? raw : raw.toString("utf8");
      if (!text.includes('"parent')) return null;
      const header = JSON.parse(text) as {
        type?: unknown;
        parentSession?: unknown;
        parentTranscriptScope?: unknown;
      };
      return header?.type === "session" ? headerParentId(header, classifyTranscriptFile) : null;
    } catch {
      return null;
    }
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
      if (w.turn === undefined) {
        const before = w.fromSeq < 0 ? null : lookBeforeSeq(h, w.sid, w.fromSeq);
        w.turn = before?.turn ?? null;
        w.datedBy = before?.datedBy ?? null;
        w.lastReply = before?.lastReply ?? null;
      }
      w.origin ??= w.fromSeq < 0 ? OWN_TURN : originBeforeSeq(h, w.sid, w.fromSeq);
      b.turn = w.turn;
      if (w.datedBy !== undefined) b.datedBy = w.datedBy;
      b.lastReply = w.lastReply ?? null;
      b.origin = w.origin;
      if (w.fromSeq >= 0) {
        // the turn's embedded calls before the cursor: read back only if a CLI line needs them
        const at = w.fromSeq;
        const s = w.sid;
        b.resumeTurnCalls(
          w.turnCalls,
          () => turnCallsBeforeSeq(h, s, at),
          () => turnEntriesBeforeSeq(h, s, at),
          w.entryCalls,
        );
      }
      // cumulative Codex-harness lines bill their increment (codex-cumulative.ts): the state at the
      // cursor is replayed from the session's rows only if such a line comes up; a first such line
      // with none before it in the session's rows (a compaction's rewrite, a compaction window)
      // takes the thread's state from the session's JSONL copies and the windows it continues
      const from = w.fromSeq;
      const sid = w.sid;
      const seed = (tsMs: number) => codexSeedFor(h, sid, tsMs);
      if (w.codex !== undefined) b.startCodexThread(null);
      else if (from < 0 || w.codexNone) b.startCodexThread(seed);
      else b.startCodexThread((tsMs) => codexBeforeSeq(h, sid, from) ?? seed(tsMs));
      if (w.codex !== undefined) b.codex = w.codex;
      const rows = h.rows.all(w.sid, w.fromSeq, budget);
      rowsInto(b, rows, agentId, w.sid, who);
      w.turn = b.turn;
      w.datedBy = b.datedBy;
      w.lastReply = replyMarkKept(b.lastReply);
      w.turnCalls = b.turnCalls;
      w.entryCalls = b.keptEntryCalls;
      w.origin = b.origin;
      const lastRow = rows.at(-1);
      if (lastRow) setBounded(originAt, w.sid, { seq: lastRow[0], origin: b.origin }, resumeMemory);
      b.turn = null;
      b.origin = OWN_TURN;
      if (b.codex !== undefined && b.codex !== false) w.codex = b.codex;
      else if (from < 0) w.codexNone = true;
      b.endCodexThread();
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
   * And the time a call without a time of its own read next is dated by (`BatchBuilder.datedBy`):
   * that of the last user row or call with a time in those rows (null when none).
   */
  function lookBeforeSeq(h: OcHandle, sid: string, seq: number): TurnBefore {
    const scan = new TurnBackScan(previewChars);
    for (const r of h.rowsBefore.all(sid, seq, LOOKBACK_ROWS)) {
      const text = rowText(r);
      if (text === null) continue;
      if (!(text.includes('"usage"') || textHasUserMark(text))) continue;
      const found = scan.line(text);
      if (found) return found;
    }
    return scan.end();
  }

  /**
   * The embedded calls of the turn a session is in at its cursor (`seq` read last; see
   * `BatchBuilder.turnCalls`): its rows before it, newest first, back to its last user row (at most
   * ORIGIN_LOOKBACK_ROWS rows, read one at a time), replayed as a reader bills them; null past that.
   */
  function turnCallsBeforeSeq(h: OcHandle, sid: string, seq: number): TurnCalls | null {
    const scan = new TurnCallsScan();
    let rows = 0;
    for (const r of h.rowsBefore.iterate(sid, seq, ORIGIN_LOOKBACK_ROWS)) {
      rows++;
      const text = rowText(r);
      if (text === null) continue;
      if (!(text.includes('"usage"') || textHasUserMark(text))) continue;
      if (scan.line(text)) return scan.result(true);
    }
    return scan.result(rows < ORIGIN_LOOKBACK_ROWS);
  }

  /**
   * The counts the turn a session is in at its cursor (`seq` read last) billed per entry id (see
   * `BatchBuilder`'s same-entry rule): its rows before it read back as `turnCallsBeforeSeq` reads
   * them; null past ORIGIN_LOOKBACK_ROWS.
   */
  function turnEntriesBeforeSeq(h: OcHandle, sid: string, seq: number): Map<string, ParsedUsage> | null {
    const scan = new TurnCallsScan();
    let rows = 0;
    for (const r of h.rowsBefore.iterate(sid, seq, ORIGIN_LOOKBACK_ROWS)) {
      rows++;
      const text = rowText(r);
      if (text === null) continue;
      if (!(text.includes('"usage"') || textHasUserMark(text))) continue;
      if (scan.line(text)) return scan.entryCalls(true);
    }
    return scan.entryCalls(rows < ORIGIN_LOOKBACK_ROWS);
  }

  /**
   * Whose turn a session is in at its cursor (`seq` read last; see `TurnOrigin`): its rows before
   * it, newest first, back to its last unmarked user row (at most ORIGIN_LOOKBACK_ROWS rows, read
   * one at a time: a marked turn's tool loop can pass LOOKBACK_ROWS).
   */
  function originBeforeSeq(h: OcHandle, sid: string, seq: number): TurnOrigin {
    const known = originAt.get(sid);
    if (known?.seq === seq) return known.origin;
    const scan = new OriginScan();
    for (const r of h.rowsBefore.iterate(sid, seq, ORIGIN_LOOKBACK_ROWS)) {
      const text = rowText(r);
      if (text === null) continue;
      if (scan.line(text)) break;
    }
    return scan.end();
  }

  /**
   * The Codex-thread state (codex-cumulative.ts) after a session's rows up to `seq` (the cursor):
   * its rows replayed in order, as a read from its first row would, at most CODEX_REPLAY_ROWS
   * (past that, none: its next cumulative line is billed as written). Only called when a
   * cumulative-era Codex-harness line comes up past a cursor.
   */
  function codexBeforeSeq(h: OcHandle, sid: string, seq: number): CodexCumulative | null {
    let state = null as CodexCumulative | null;
    const seen = codexRows(h, sid, seq, CODEX_REPLAY_ROWS, (u) => {
      state = codexIncrement(u, state).state;
    });
    return seen === null ? null : state;
  }

  /**
   * The Codex-thread state a session's first cumulative Codex-harness line at `tsMs` (epoch ms) has
   * no line of its own before (codex-cumulative.ts), as the JSONL reader seeds a file's (file-probe.ts
   * `codexSeed`): the cumulative-era harness line with the latest message time before `tsMs` among
   * the session's transcript files in `sessions/` (a compaction's `.jsonl.bak.<ts>` or
   * `.checkpoint.<uuid>.jsonl`, a repair's backup, its live file: what a `doctor --fix` import left
   * beside the rewritten transcript it put in the store) and the store's windows this one continues
   * (codexSeedOfStore). Null: none (the line starts its thread). Called at most once per session
   * read, only when such a line comes up with none before it.
   */
  function codexSeedFor(h: OcHandle, sid: string, tsMs: number): CodexCumulative | null {
    const files = transcriptFilesOf(sid);
    const fromFiles = files.length === 0 ? null : codexSeed(files, tsMs);
    const fromStore = codexSeedOfStore(h, sid, tsMs);
    if (fromFiles === null) return fromStore;
    if (fromStore === null) return fromFiles;
    return fromStore.messageTsMs > fromFiles.messageTsMs ? fromStore : fromFiles;
  }

  /**
   * The session's transcript files in `sessions/` (classify.ts), listed once per poll and only when
   * a seed is looked up.
   */
  function transcriptFilesOf(sid: string): string[] {
    if (sessionFiles === null) {
      let names: string[] = [];
      try {
        names = readdirSync(sessionsDir);
      } catch {
        // no sessions/ (a store-only agent): no copies
      }
      sessionFiles = filesBySession(
        names.flatMap((name) => {
          const cls = classifyTranscriptFile(name);
          return cls ? [{ path: join(sessionsDir, name), cls }] : [];
        }),
      );
    }
    return sessionFiles.get(sid) ?? [];
  }

  /**
   * The latest cumulative-era Codex-harness line before `tsMs` in the store's windows a session's
   * window continues: OpenClaw opens a new window (a new session id under the same key) when a
   * compaction rotates the transcript, `session_windows.previous_session_id` naming the old one and
   * `reason` `compaction` (a compaction successor whose window names none: the one its header names,
   * `parentTranscriptScope` / `parentSession`). The Codex thread goes on across it; a `reset`,
   * `fork` or any other reason starts again and is not followed. Followed back at most
   * CODEX_SEED_WINDOWS windows, to the nearest one holding such a line; CODEX_REPLAY_ROWS rows read
   * at most in all (past that: none, the line is billed as written, never less).
   */
  function codexSeedOfStore(h: OcHandle, sid: string, tsMs: number): CodexCumulative | null {
    if (!h.previousWindow) return null;
    const chain = new Set<string>([sid]);
    let budget = CODEX_REPLAY_ROWS;
    let at = sid;
    for (let i = 0; i < CODEX_SEED_WINDOWS; i++) {
      const prev = compactionPredecessor(h, at);
      if (prev === null || chain.has(prev)) return null;
      chain.add(prev);
      let best = null as CodexCumulative | null;
      const seen = codexRows(h, prev, Number.MAX_SAFE_INTEGER, budget, (u) => {
        const c = codexCumulativeOf(u);
        if (c !== null && c.messageTsMs < tsMs && (best === null || c.messageTsMs > best.messageTsMs))
          best = c;
      });
      if (seen === null) return null;
      if (best !== null) return best;
      budget -= seen;
      at = prev;
    }
    return null;
  }

  /** The session a compaction window continues (codexSeedOfStore), or null. */
  function compactionPredecessor(h: OcHandle, sid: string): string | null {
    const w = h.previousWindow?.get(sid);
    if (w?.reason !== "compaction") return null;
    return w.prev ? w.prev : storeHeaderParent(h, sid);
  }

  /**
   * Calls `visit` with each usage line that may be a Codex-harness one among a session's rows up to
   * `seq`, in order. The number of rows read, or null past `limit` rows.
   */
  function codexRows(
    h: OcHandle,
    sid: string,
    seq: number,
    limit: number,
    visit: (u: ParsedUsage) => void,
  ): number | null {
    let after = -1;
    let seen = 0;
    for (;;) {
      const rows = h.rows.all(sid, after, 1000) as [number, unknown, Buffer | null][];
      for (const [rowSeq, json, zstd] of rows) {
        if (rowSeq > seq) return seen;
        after = rowSeq;
        if (++seen > limit) return null;
        const text = rowText({ json, zstd });
        if (text === null) continue;
        if (!CODEX_HARNESS_API_MARKS.some((m) => text.includes(m)) || !text.includes('"usage"')) continue;
        const r = parseLine(text);
        if (r.kind === "usage") visit(r.usage);
      }
      if (rows.length < 1000) return seen;
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

  // ---------------------------------------------------------------- poll

  async function pollOnce(): Promise<void> {
    const h = openOc();
    if (!h) return;
    sessionFiles = null;
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
    await archives.readArchiveRows(h);
    if (oc !== h) return;
    await archives.readArchiveFiles(h);
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
      issuedBlobs.clear();
      limit = opts.firstBatchSize ?? batchSize;
      emit = emitBatch;
      report = onProblem ?? (() => {});
      // a config that does not parse: reported each poll (its identity links are not applied)
      const cfg = configProblem(dirname(dirname(opts.agentDir)));
      if (cfg) report(cfg);
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
      for (const agent of [...siblings.keys()]) closeSibling(agent);
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

/** A store row's event as text: its `event_json`, else its `event_zstd` decoded; null when neither reads. */
function rowText(r: { json: unknown; zstd: Buffer | null }): string | null {
  const json = r.json;
  if (typeof json === "string") return json;
  if (Buffer.isBuffer(json)) {
    checkLineSize(json.length); // a row over BIG_ROW_BYTES is read as a blob (store-handle.ts)
    return json.toString("utf8");
  }
  if (json !== null || r.zstd === null) return null;
  let buf: Buffer;
  try {
    buf = decodeZstd(r.zstd);
  } catch {
    return null;
  }
  checkLineSize(buf.length);
  return buf.toString("utf8");
}
