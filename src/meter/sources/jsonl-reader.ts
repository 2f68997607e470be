import { createHash } from "node:crypto";
import { closeSync, lstatSync, readdirSync, readSync, type Stats, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Db } from "../../db/index.js";
import { createCursorRepo } from "../cursor-repo.js";
import {
  ASSISTANT_MARK,
  endsLikeObject,
  entryEnd,
  onlyJunk,
  roleUserBefore,
  TRUNCATED_REASON,
  USAGE_MARK,
  USER_MARK,
  USER_WORD,
} from "../parse.js";
import { operatorAccount } from "../resolve-user.js";
import { createSessionMemory } from "../session-memory.js";
import type { FileCursor, ProblemReporter, SourceBatch } from "../source.js";
import {
  BatchBuilder,
  bomLength,
  checkLineSize,
  eachLine,
  firstLineEnd,
  firstNonBlank,
  type KeptEntryCalls,
  type KeysHere,
  type LineOwner,
  loneCrAt,
  OWN_TURN,
  type PendingTurn,
  RESUME_MEMORY_ENTRIES,
  type ReplyMark,
  replyMarkKept,
  setBounded,
  type TurnCalls,
  type TurnOrigin,
} from "./batch-builder.js";
import {
  type ClassifiedFile,
  COMPRESSED_COMPACTION_BACKUP_RE,
  classifyImportArchiveFile,
  classifyTranscriptFile,
  filesBySession,
  IMPORT_ARCHIVE_DIR,
} from "./classify.js";
import type { PackedEvents } from "./event-columns.js";
import {
  codexBefore,
  codexSeed,
  headerParentSessionId,
  headHash,
  lookBefore,
  originBefore,
  type ProbeSource,
  tailHash,
  tailOf,
  turnCallsBefore,
  turnEntriesBefore,
} from "./file-probe.js";
import { type ChangedFile, createJsonlAttribution } from "./jsonl-attribution.js";
import { sortForReading } from "./read-order.js";
import { openRegularFile, readRegularFile } from "./regular-file.js";

export { headerParentSessionId } from "./file-probe.js";

import { archiveTranscript } from "./cold-envelope.js";
import { configProblem } from "./openclaw-config.js";
import { createSessionsIndex } from "./sessions-index.js";
import {
  type LineEncoding,
  lineEncodingAt,
  lineEndAt,
  linesToUtf8,
  lineToUtf8,
  type Utf16,
  utf16Of,
} from "./text-encoding.js";
import { decodeMaybeZstd } from "./zst.js";

/** `opts` of a JSONL reader: everything it needs, all of it cloneable (it may run in a worker thread). */
export interface JsonlReaderOptions {
  /** `<state>/agents/<agentId>` */
  agentDir: string;
  agentId: string;
  /**
   * The transcripts' directory when `session.store` moved it (store-location.ts).
   * @defaultValue `<agentDir>/sessions`
   */
  sessionsDir?: string;
  /** The session index naming them (the configured store file). @defaultValue `<sessionsDir>/sessions.json` */
  indexPath?: string;
  /**
   * Also read `<agentDir>/session-sqlite-import-archive/` (the agent dir's own reader does; a
   * relocated directory's reader does not, so it is read once). @defaultValue true
   */
  importArchive?: boolean;
  /** What `~` in OpenClaw's `session.store` expands to (`OPENCLAW_HOME`, else `HOME`); absent: the user's home. */
  home?: string | null;
  /** Events per batch during a backlog. */
  batchSize: number;
  /** Events in the first batch of each poll (the writer starts sooner). @defaultValue batchSize */
  firstBatchSize?: number;
  /** See JsonlSourceOptions.unknownSessionGraceMs (ms). @defaultValue 0 */
  unknownSessionGraceMs?: number;
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

/**
 * Hands one batch to the writer. `id` is the batch's sequence number: the writer reports it
 * committed through `JsonlReader.committed(id)`. The reader awaits the returned promise before
 * reading on (back-pressure); throwing (or rejecting) ends the poll. With `packEvents`, `packed`
 * holds the batch's events in columns and `batch.events` is empty (`unpackEvents` restores them).
 */
export type Emit = (batch: SourceBatch, id: number, packed?: PackedEvents | null) => void | Promise<void>;

/**
 * The read buffer (bytes). 128 KiB, not 1 MiB (2026-12-05): on bench:meter's 1.1 GB backlog
 * `readSync` into a 1 MiB buffer took ~0.35 s more system CPU than into 128 KiB (the copy out of
 * the page cache runs through a buffer larger than the core's caches, and the scan after it reads
 * the bytes back from memory), 64 KiB gave no more.
 */
const CHUNK_BYTES = 128 * 1024;
const MAX_REJECTS_PER_FILE = 100;
/** Files touched per transaction at most, so a backlog of many small files still commits often. */
const MAX_FILES_PER_BATCH = 256;
/** Parent transcripts (`parentSession` headers) followed back for a Codex thread's state (`threadFiles`). */
const CODEX_PARENT_HOPS = 8;
const NEWLINE = 0x0a;
const OPEN_BRACE = 0x7b;
/** The newline an archive's unterminated last line is read with. */
const LINE_END = Buffer.from([NEWLINE]);
/**
 * A NUL byte: ends a line like a newline. A crash or power loss during an append (ext4 delayed
 * allocation, NTFS) leaves the file's size extended over blocks never written, which read as
 * zeros: a run of NULs after, before or between complete entries, and the writer appends the next
 * entry right after the run, on the same physical line (anthropics/claude-code#49876, #76059;
 * OpenClaw's own archives, openclaw/openclaw#119887). JSON text never holds a raw NUL (a string's
 * U+0000 is written `\u0000`), so no entry spans one: splitting there bills the complete entries
 * around the fill, which a newline-only split rejected with it (their calls never billed).
 */
export const ZERO_FILL = 0x00;
/**
 * A compressed archive: zstd (OpenClaw's own) or gzip (an operator's rotation compressed it; before
 * 2026-12-04 read as text, its calls never billed: case gzip-rotated-archive), and a compressed
 * `logrotate` copy of a live transcript (`<id>.jsonl.<n>.gz`, `<id>.jsonl-<date>.gz`; see
 * classify.ts LOGROTATE_COPY_RE).
 */
const COMPRESSED_ARCHIVE_RE =
  /\.jsonl(?:\.(?:deleted|reset)\..*|\.\d{1,4}|-\d{8}(?:\d{2}){0,3}|-\d{4}-\d{2}-\d{2})\.(?:zst|gz)$/;
/** One read buffer per thread for all JSONL readers: polls run one at a time. */
let sharedChunk: Buffer | null = null;

interface Seen {
  size: number;
  mtimeMs: number;
  cursor: FileCursor;
}

/** @throws RangeError when `value` is not a positive integer */
export function positiveBatchSize(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
}

/**
 * The reading half of the JSONL source of one agent: lists transcripts, reads complete lines
 * from each file's cursor, pre-filters, parses and builds events, and emits batches whose
 * `cursorMoves` cover exactly what they hold. It never writes: `db` may be a read-only
 * connection (the reader thread's). Its memory of what is done (files unchanged since, archives
 * read) advances only when the writer reports a batch committed (`committed(id)`); a poll that
 * ends early forgets the rest, and the next poll starts again from the committed cursors.
 * @throws RangeError when `batchSize` or `firstBatchSize` is not a positive integer
 */
export function createJsonlReader(opts: JsonlReaderOptions, db: Db, now: () => number = Date.now) {
  // A batch that can never fill (0, NaN) would make `poll` flush at every chunk end forever.
  positiveBatchSize("batchSize", opts.batchSize);
  if (opts.firstBatchSize !== undefined) positiveBatchSize("firstBatchSize", opts.firstBatchSize);
  const sessionsDir = opts.sessionsDir ?? join(opts.agentDir, "sessions");
  const indexPath = opts.indexPath ?? join(sessionsDir, "sessions.json");
  const index = createSessionsIndex(indexPath);
  const attributions = createJsonlAttribution(
    opts.agentId,
    opts.agentDir,
    index,
    createSessionMemory(db),
    opts.home ?? null,
  );
  const cursors = createCursorRepo(db);
  const grace = opts.unknownSessionGraceMs ?? 0;
  /** Committed state: files unchanged since their last committed batch are not even opened. */
  const seen = new Map<string, Seen>();
  const seenArchives = new Map<string, string>();
  /** What each emitted, not yet committed batch lets the reader forget once committed. */
  const pending = new Map<number, () => void>();
  let nextId = 1;
  /**
   * The index facts of the last `refresh` are not committed yet (their batch failed or was
   * dropped): the next poll reads sessions.json again instead of skipping an unchanged file.
   */
  let factsUncommitted = false;
  const previewChars = opts.previewChars ?? 0;
  const pack = opts.packEvents ?? false;
  const resumeMemory = opts.resumeMemoryEntries ?? RESUME_MEMORY_ENTRIES;
  positiveBatchSize("resumeMemoryEntries", resumeMemory);
  /** A batch builder for this agent's transcripts, with what it looks up about their sessions. */
  const newBuilder = (): BatchBuilder => {
    const b = new BatchBuilder(opts.agentId, "jsonl", previewChars, pack, opts.keysHere);
    b.accountOfKey = attributions.accountOfKey;
    b.keyOfSessionId = (sid) => attributions.attribution(sid)?.sessionKey ?? null;
    b.mainKey = attributions.mainKey;
    return b;
  };
  /**
   * The pending turn at the end of what was last read of each file (by dev:ino): a file resumed at
   * exactly that offset continues from it; any other resume reads back (`lookBefore`). Only a
   * shortcut: the turn (and `datedBy`) is a function of the bytes before the offset, so both give the same.
   */
  const turnAt = new Map<
    string,
    {
      offset: number;
      turn: PendingTurn | null;
      datedBy: number | null;
      origin: TurnOrigin;
      lastReply: ReplyMark | null;
      /** `BatchBuilder.turnCalls` there (undefined: read back when needed). */
      turnCalls: TurnCalls | null | undefined;
      /** `BatchBuilder.keptEntryCalls` there (undefined: read back when needed). */
      entryCalls: KeptEntryCalls | undefined;
      /** The encoding of the line read last: that of a next line whose first bytes do not tell. */
      lineEnc: LineEncoding;
    }
  >();
  /** Files (dev:ino) seen to hold UTF-16 lines after UTF-8 ones: their read-backs are decoded. */
  const mixedFiles = new Map<string, true>();

  async function poll(emit: Emit, report?: ProblemReporter): Promise<void> {
    pending.clear(); // batches of an earlier poll that never committed: forgotten
    if (factsUncommitted) index.forget();
    const problem = (path: string, err: unknown) => {
      const e = err as { code?: unknown; message?: unknown };
      report?.({
        path,
        code: typeof e?.code === "string" ? e.code : "error",
        reason: String(typeof e?.message === "string" ? e.message : err).slice(0, 300),
      });
    };
    sharedChunk ??= Buffer.allocUnsafe(CHUNK_BYTES);
    const chunk = sharedChunk;
    const b = newBuilder();
    let pendingSeen: [string, Seen][] = [];
    /** Cursors of this poll's emitted batches: a second name of the same inode continues from them. */
    const issued = new Map<string, FileCursor>();
    let limit = opts.firstBatchSize ?? opts.batchSize;
    /**
     * Whether the file now at `path` (never read under its inode, first line hashing to `head`)
     * replaced, under that name, a transcript read from the same first line on another inode.
     * (One indexed lookup of the name's last committed cursor, only for a new inode.)
     */
    const replacedUnderName = (path: string, st: Stats, head: string): boolean => {
      const last = cursors.lastFileCursorAt(path);
      return (
        last !== null &&
        last.offset > 0 &&
        last.head === head &&
        (last.dev !== String(st.dev) || last.ino !== String(st.ino))
      );
    };

    /** Emits the batch so far; what it completed is remembered once the writer commits it. */
    const flush = async (): Promise<void> => {
      if (b.isEmpty()) return;
      limit = opts.batchSize;
      const id = nextId++;
      const done = pendingSeen;
      const carriesFacts = b.sessions.length > 0;
      for (const [k, c] of b.files) issued.set(k, c);
      pending.set(id, () => {
        for (const [k, s] of done) seen.set(k, s);
        if (carriesFacts) factsUncommitted = false;
      });
      pendingSeen = [];
      const { batch, packed } = b.takePacked();
      await emit(batch, id, packed);
    };

    const refreshed = index.refresh();
    /**
     * sessions.json is there but cannot be read (not JSON, not a regular file, permission
     * denied…): it may name the sessions the meter does not know yet, so their transcripts wait
     * until it reads (reported below) instead of going to the operator for good.
     */
    const indexError = index.error();
    // a config that does not parse: reported each poll (its identity links are not applied)
    const cfg = configProblem(dirname(dirname(opts.agentDir)));
    if (cfg) report?.(cfg);
    if (refreshed) {
      factsUncommitted = refreshed.length > 0;
      for (const s of refreshed) {
        b.sessions.push({
          agentId: opts.agentId,
          sessionId: s.sessionId,
          sessionKey: s.sessionKey,
          accountId: attributions.accountOfEntry(s),
          channel: s.channel,
        });
      }
    }

    const list = (dir: string): string[] => {
      try {
        return readdirSync(dir).sort();
      } catch (err) {
        // Absent is normal (an agent without JSONL, no import archive); anything else is a failure.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem(dir, err);
        return [];
      }
    };
    const names = list(sessionsDir);
    const importDir = join(opts.agentDir, IMPORT_ARCHIVE_DIR);
    const files: { path: string; cls: ClassifiedFile }[] = [];
    for (const name of names) {
      const cls = classifyTranscriptFile(name);
      if (cls) files.push({ path: join(sessionsDir, name), cls });
    }
    // A session's transcript files (live file and compaction/repair copies): where a Codex-harness
    // thread's state comes from when a file's first running total has none before it (codexSeed).
    // Grouped only when such a line comes up (`threadFiles`), never on an ordinary poll.
    const sessionFileCount = files.length; // the import archive's files come after
    let filesOfSession: Map<string, string[]> | null = null;
    /**
     * The files a Codex thread read in `path` (session `sid`) may have run through before it: the
     * session's other files, then those of each session its header names as its parent (a
     * compaction successor `<ISO>_<newid>.jsonl` whose `parentSession` is the transcript it
     * continues: openclaw/openclaw#72435), at most CODEX_PARENT_HOPS back. Read only when a
     * cumulative-era Codex line has no predecessor in its own file.
     */
    const threadFiles = (sid: string, path: string): string[] => {
      filesOfSession ??= filesBySession(files.slice(0, sessionFileCount));
      const out = (filesOfSession.get(sid) ?? []).filter((p) => p !== path);
      const seen = new Set([sid]);
      let headerOf: string | undefined = path;
      for (let hop = 0; hop < CODEX_PARENT_HOPS && headerOf !== undefined; hop++) {
        const parent = headerParentSessionId(headerOf);
        if (parent === null || seen.has(parent)) break;
        seen.add(parent);
        const files = filesOfSession.get(parent) ?? [];
        out.push(...files);
        headerOf = files[0];
      }
      return out;
    };
    for (const name of opts.importArchive === false ? [] : list(importDir)) {
      const cls = classifyImportArchiveFile(name);
      if (cls) files.push({ path: join(importDir, name), cls });
    }
    // First the files with something new (stat; unchanged ones skipped), then they are read in
    // `sortForReading` order (bench:meter, 3,000 session files of 500 users: WAL written
    // 532 -> 459 MB, writer-thread CPU -6 %).
    const changed: (ChangedFile & { st: Stats })[] = [];
    /** dev:ino of every transcript listed now: what `seen` and `turnAt` keep of files gone is dropped. */
    const listed = new Set<string>();
    for (const { path, cls } of files) {
      let st: Stats;
      try {
        st = statSync(path);
      } catch (err) {
        // Renamed or deleted between readdir and stat: the next poll finds it. A symlink whose
        // target is gone is still listed, though: that is a problem to show, not a race.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem(path, err);
        else if (isDanglingLink(path))
          report?.({
            path,
            code: "dangling-link",
            reason: "a transcript name that is a symlink to nothing",
          });
        continue;
      }
      if (!st.isFile()) {
        report?.({ path, code: "not-a-file", reason: "a transcript name that is not a regular file" });
        continue;
      }
      const listedKey = `${st.dev}:${st.ino}`;
      listed.add(listedKey);
      const seenBefore = seen.get(listedKey);
      if (
        seenBefore &&
        seenBefore.size === st.size &&
        seenBefore.mtimeMs === st.mtimeMs &&
        seenBefore.cursor.path === path
      )
        continue;
      changed.push({ path, cls, st, who: attributions.attribution(cls.sessionId) });
    }
    // Both are shortcuts (a file missing from them is read from its committed cursor), kept only
    // for files that still exist: a following meter no longer grows with every transcript deleted.
    // (not after a listing that found nothing: a directory failing to list would drop them all)
    if (listed.size > 0) {
      for (const k of seen.keys()) if (!listed.has(k)) seen.delete(k);
      for (const k of turnAt.keys()) if (!listed.has(k)) turnAt.delete(k);
      for (const k of mixedFiles.keys()) if (!listed.has(k)) mixedFiles.delete(k);
    }
    if (changed.some((c) => !c.who)) attributions.linkPredecessors(changed, b.sessions);
    if (indexError) {
      // Before 2026-12-03 they were read and billed to the operator (`agent:<id>`): a user's
      // calls, never charged to them once the index read again (case
      // sessions-index-unreadable-waits).
      const waiting = changed.filter((c) => !c.who).length;
      report?.({
        path: indexPath,
        code: indexError.code,
        reason:
          `sessions.json cannot be read (${indexError.reason}): ` +
          `${waiting} transcript(s) of sessions it may name wait until it reads`,
      });
    }
    // name order within an account; a fork after the transcript it copies
    sortForReading(changed, (c) => c.who?.accountId ?? null, attributions.forkGenerations(changed));
    for (const { path, cls, st, who } of changed) {
      const key = `${st.dev}:${st.ino}`;
      const prev = seen.get(key);
      if (!who && indexError) continue; // waits for sessions.json (above)
      if (!who && !cls.archived && grace > 0 && now() - st.mtimeMs < grace) continue;
      const owner: LineOwner = {
        sessionId: cls.sessionId,
        sessionKey: who?.sessionKey ?? null,
        accountId: who?.accountId ?? operatorAccount(opts.agentId),
      };

      let fd: number;
      try {
        fd = openRegularFile(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem(path, err);
        continue;
      }
      try {
        const size = st.size;
        const h = headHash(fd, size);
        const cursor: FileCursor | null =
          b.files.get(key) ??
          issued.get(key) ??
          prev?.cursor ??
          cursors.fileCursor(String(st.dev), String(st.ino));
        let offset = cursor?.offset ?? 0;
        // A different first line means a different or rewritten file on this inode; a shrink
        // means truncation; changed bytes before the cursor mean a same-size rewrite. Each
        // re-reads from 0: dedupe keeps it exactly-once. It is a rescan (`stats.rescans`) when it
        // is the file the cursor was read under (that name, or another name of this inode); a
        // cursor left by a deleted file whose inode number a new file got (ext4 reuses them at
        // once) makes this the new file's first read.
        // A UTF-16 transcript (text-encoding.ts) is decoded line by line; its cursor stays a byte
        // offset just past a line (odd after a UTF-8 line of odd length in a file of both).
        const enc = utf16At(fd, size);
        if (
          cursor &&
          (cursor.head !== h ||
            size < cursor.offset ||
            (cursor.tail !== null && tailHash(fd, cursor.offset) !== cursor.tail))
        ) {
          if (offset > 0 && sameFile(cursor.path, path, st)) b.stats.rescans++;
          offset = 0;
        } else if (!cursor && size > 0 && replacedUnderName(path, st, h)) {
          // Never read under this inode, but the last cursor of this name (another inode) read
          // into a file with the same first line: the transcript was replaced by a rewritten
          // copy (a repair writes a temp file and renames it over). Read from 0: a rescan.
          b.stats.rescans++;
        }
        const fileCursor: FileCursor = {
          dev: String(st.dev),
          ino: String(st.ino),
          path,
          head: h,
          tail: null,
          offset,
          size,
        };
        // what the read-backs of a resumed file read: the lines before `offset` as UTF-8 when some
        // are UTF-16 (a UTF-16 file, or UTF-16 lines appended to a UTF-8 one)
        let decoded: Buffer | null = null;
        const before = (): [ProbeSource, number] => {
          if (decoded === null) {
            if (enc === null && !mixedFiles.has(key) && !nulBefore(fd, offset)) return [fd, offset];
            decoded = textBefore(fd, offset, enc);
          }
          return [decoded, decoded.length];
        };
        if (offset < size) {
          b.stats.files++;
          const known = turnAt.get(key);
          if (offset === 0) {
            b.turn = null;
            b.origin = OWN_TURN;
          } else if (known?.offset === offset) {
            b.turn = known.turn;
            b.datedBy = known.datedBy;
            b.origin = known.origin;
            b.lastReply = known.lastReply;
          } else {
            const turn = lookBefore(...before(), previewChars);
            b.turn = turn.turn;
            b.datedBy = turn.datedBy;
            b.lastReply = turn.lastReply;
            b.origin = originBefore(...before());
          }
          // the turn's embedded calls before the cursor are read back only if a CLI line needs
          // them (BatchBuilder.turnCalls, isRunMirror)
          if (offset > 0)
            b.resumeTurnCalls(
              known?.offset === offset ? known.turnCalls : undefined,
              () => turnCallsBefore(...before()),
              () => turnEntriesBefore(...before()),
              known?.offset === offset ? known.entryCalls : undefined,
            );
          // A cumulative Codex-harness line is billed as its increment over the last one before it
          // (codex-cumulative.ts): what precedes the cursor is replayed only if such a line comes up.
          // A file with nothing before it (a compaction's rewrite, a copy) takes the thread's
          // state from the session's other files and its parents' (threadFiles).
          const at = offset;
          const sid = cls.sessionId;
          const seed = (tsMs: number) => codexSeed(threadFiles(sid, path), tsMs);
          b.startCodexThread(at === 0 ? seed : (tsMs: number) => codexBefore(...before()) ?? seed(tsMs));
        }
        b.rejectsLeft = MAX_REJECTS_PER_FILE;
        // a UTF-16 file is read past its byte order mark
        let readPos = enc !== null && offset < enc.bom ? enc.bom : offset;
        let carry: Buffer | null = null;
        let carryStart = readPos;
        // A UTF-8 file is scanned fast until a line in UTF-16 comes up (appended by PowerShell's
        // `>>`: text-encoding.ts LineEncoding); from there, like a file that begins in UTF-16, it is
        // read line by line, each line in its own encoding (`lineEnc`: the line before's).
        const resumed = turnAt.get(key);
        let lineEnc: LineEncoding =
          resumed !== undefined && resumed.offset === offset
            ? resumed.lineEnc
            : enc === null
              ? "utf8"
              : enc.be
                ? "be"
                : "le";
        /** The rest of a UTF-8 chunk from its first UTF-16 line: read line by line before reading on. */
        let handed: Buffer | null = null;
        // The partial line a read ends in stays in the read buffer (`kept` bytes, moved to its
        // start) and the next read goes on after it; a line longer than half the buffer reads into
        // one of twice the size, this file's only.
        let buf = chunk;
        let kept = 0;
        while (readPos < size && lineEnc === "utf8") {
          if (kept > buf.length >> 1) {
            const bigger = Buffer.allocUnsafe(buf.length * 2);
            buf.copy(bigger, 0, 0, kept);
            buf = bigger;
          }
          const n = readSync(fd, buf, kept, Math.min(buf.length - kept, size - readPos), readPos);
          if (n <= 0) break;
          b.stats.bytes += n;
          readPos += n;
          const data: Buffer = buf.subarray(0, kept + n);
          const dataStart = carryStart;
          let ls = 0;
          for (;;) {
            ls = scanLines(b, data, ls, dataStart, path, owner, limit, true);
            if (b.eventCount < limit || utf16LineAt !== null) break; // every complete line of the chunk is read
            fileCursor.offset = dataStart + ls;
            fileCursor.tail = tailOf(data, ls, fd, fileCursor.offset);
            b.files.set(key, { ...fileCursor });
            await flush();
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
          carryStart = dataStart + ls;
          if (utf16LineAt !== null) {
            lineEnc = utf16LineAt;
            setBounded(mixedFiles, key, true, resumeMemory);
            handed = data.subarray(ls);
            kept = 0;
            break;
          }
          kept = data.length - ls;
          if (kept > 0) buf.copy(buf, 0, ls, data.length);
        }
        if (kept > 0) carry = Buffer.from(buf.subarray(0, kept));
        while (handed !== null || (readPos < size && lineEnc !== "utf8")) {
          // Line by line, each decoded to UTF-8 (a UTF-16 one) and scanned as a line of its own,
          // located by its byte offset in the file.
          let data: Buffer;
          if (handed !== null) {
            data = handed;
            handed = null;
          } else {
            const n = readSync(fd, chunk, 0, Math.min(CHUNK_BYTES, size - readPos), readPos);
            if (n <= 0) break;
            b.stats.bytes += n;
            readPos += n;
            data = carry ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
          }
          const dataStart = carryStart;
          let ls = 0;
          for (;;) {
            const at = lineEncodingAt(data, ls, lineEnc, true);
            if (at === undefined) break; // too few bytes yet to tell
            const start = ls + at.bom;
            const end = lineEndAt(data, start, at.enc);
            if (end === -1) break; // a partial line waits for its newline
            lineEnc = at.enc;
            let next = end;
            if (lineEnc === "utf8")
              scanLines(
                b,
                data.subarray(0, end),
                ls,
                dataStart,
                path,
                owner,
                Number.POSITIVE_INFINITY,
                false,
              );
            else {
              const text = lineToUtf8(data, start, end, lineEnc);
              // a pretty-printed entry (`jq .` in PowerShell 5.1 writes UTF-16): its lines together
              const block = loneBrace(text) ? prettyLinesAhead(data, end, lineEnc, text) : null;
              if (block === "wait") break; // its last line may still be coming
              const line = Buffer.concat([block?.text ?? text, LINE_END]);
              scanLines(b, line, 0, dataStart + ls, path, owner, Number.POSITIVE_INFINITY, false);
              if (block) next = block.end;
            }
            ls = next;
            if (b.eventCount < limit) continue;
            fileCursor.offset = dataStart + ls;
            fileCursor.tail = tailHash(fd, fileCursor.offset);
            b.files.set(key, { ...fileCursor });
            await flush();
            await new Promise<void>((resolve) => setImmediate(resolve));
          }
          carry = ls < data.length ? Buffer.from(data.subarray(ls)) : null;
          carryStart = dataStart + ls;
        }
        // A file's last line without its newline: read as a line once it is one complete JSON
        // object; anything else waits as before (an append or a backup's copy still under way may
        // end mid-line, even just after a nested `}`, and no proper prefix of an object is one).
        // An archive's (a crash cut the append just before its `\n`, then the session was reset or
        // deleted: nothing appends to it again) waited for good before 2026-12-04 (case
        // archive-last-line-unterminated); so did a live transcript's, whose writer wrote no final
        // newline ("strongly recommended but not required", jsonlines.org: a script's
        // `"\n".join(lines)`, an editor that strips it, a copy or import tool) until an append
        // came that may never come (case live-last-line-unterminated). The next append starts with
        // a newline (OpenClaw's appends do after a torn final line: a blank line) or glues its entry
        // right after it (read from the cursor just past this one). In UTF-16 it is decoded first.
        if (carry && carryStart + carry.length === size) {
          const at = lineEncodingAt(carry, 0, lineEnc, false) ?? { enc: lineEnc, bom: 0 };
          const text = lineToUtf8(carry, at.bom, carry.length, at.enc);
          const tail = Buffer.concat([text, LINE_END]);
          if (isCompleteJson(tail, text.length)) {
            scanLines(b, tail, 0, carryStart, path, owner, Number.POSITIVE_INFINITY, false);
            carryStart = size;
            carry = null;
          }
        }
        // Everything up to the last newline is consumed; a partial last line waits.
        fileCursor.offset = carryStart;
        fileCursor.tail = tailHash(fd, carryStart);
        if (offset < size)
          setBounded(
            turnAt,
            key,
            {
              offset: carryStart,
              turn: b.turn,
              datedBy: b.datedBy,
              origin: b.origin,
              lastReply: replyMarkKept(b.lastReply),
              turnCalls: b.turnCalls,
              entryCalls: b.keptEntryCalls,
              lineEnc,
            },
            resumeMemory,
          );
        b.files.set(key, fileCursor);
        pendingSeen.push([key, { size, mtimeMs: st.mtimeMs, cursor: { ...fileCursor } }]);
        if (b.files.size >= MAX_FILES_PER_BATCH) await flush();
      } catch (err) {
        // An I/O error mid-file (fs errors carry `syscall`): reported with the path; its cursor
        // did not move, so the next poll reads it again (dedupe absorbs what was billed).
        // Anything else (the biller's database failing) ends the poll.
        if (typeof (err as NodeJS.ErrnoException).syscall !== "string") throw err;
        problem(path, err);
      } finally {
        b.endCodexThread(); // its replay reads this fd: never past the file
        closeSync(fd);
      }
    }
    await flush();
    await readCompressedArchives(emit, names, problem, indexError !== null);
  }

  /**
   * `sessions/*.jsonl.{deleted,reset}.*.zst` and `sessions/cold/*.jsonl.zst`: whole compressed
   * transcripts, read once each by content hash (`meter_blobs_done`, shared with the SQLite
   * source, which reads the same files with better attribution when the agent has a store).
   */
  async function readCompressedArchives(
    emit: Emit,
    sessionNames: readonly string[],
    problem: (path: string, err: unknown) => void,
    indexUnread: boolean,
  ): Promise<void> {
    const found: { path: string; name: string; cold: boolean }[] = [];
    for (const name of sessionNames)
      if (COMPRESSED_ARCHIVE_RE.test(name) || COMPRESSED_COMPACTION_BACKUP_RE.test(name))
        found.push({ path: join(sessionsDir, name), name, cold: false });
    const coldDir = join(sessionsDir, "cold");
    let coldNames: string[] = [];
    try {
      coldNames = readdirSync(coldDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem(coldDir, err);
    }
    for (const name of coldNames.sort())
      if (name.endsWith(".jsonl.zst")) found.push({ path: join(coldDir, name), name, cold: true });
    /** Emits one archive's batch; the archive is remembered as read once it is committed. */
    const emitArchive = async (b: BatchBuilder, path: string, sig: string) => {
      const id = nextId++;
      pending.set(id, () => seenArchives.set(path, sig));
      const { batch, packed } = b.takePacked();
      await emit(batch, id, packed);
    };
    for (const { path, name, cold } of found) {
      let sig: string;
      try {
        const st = statSync(path);
        sig = `${st.size}:${st.mtimeMs}`;
      } catch {
        continue;
      }
      if (seenArchives.get(path) === sig) continue;
      let content: Buffer;
      let envelopeSid: string | null = null;
      try {
        // a cold-storage envelope is read as the transcript it holds (its `event` rows)
        ({ content, sessionId: envelopeSid } = archiveTranscript(decodeMaybeZstd(readRegularFile(path))));
      } catch (err) {
        if (typeof (err as NodeJS.ErrnoException).syscall === "string") {
          // unreadable, not undecodable: reported and retried next poll
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem(path, err);
          continue;
        }
        const b = new BatchBuilder(opts.agentId, "jsonl", previewChars, pack, opts.keysHere);
        b.reject(`${path}@0`, "archive does not decode");
        await emitArchive(b, path, sig);
        continue;
      }
      const sha = createHash("sha256").update(content).digest("hex");
      if (cursors.blobDone(sha)) {
        seenArchives.set(path, sig);
        continue;
      }
      // Archive names start with the session id; cold-storage names are hashes: use the header.
      const sessionId = cold
        ? (envelopeSid ?? headerSessionId(content))
        : (classifyTranscriptFile(name.replace(/\.(?:zst|gz)$/, ""))?.sessionId ?? headerSessionId(content));
      const attributed = sessionId ? attributions.attribution(sessionId) : null;
      // like a transcript: an archive of a session no one knows waits for an unreadable sessions.json
      if (!attributed && indexUnread) continue;
      const owner: LineOwner = {
        sessionId,
        sessionKey: attributed?.sessionKey ?? null,
        accountId: attributed?.accountId ?? operatorAccount(opts.agentId),
      };
      const b = newBuilder();
      b.rejectsLeft = MAX_REJECTS_PER_FILE;
      b.stats.files = 1;
      b.stats.bytes = content.length;
      b.startCodexThread(null); // read whole, from its first line
      let events = 0;
      for (const [line, lineNo, at] of eachEntryLine(content)) {
        // a usage line is located by its byte offset, like a live transcript's; a reject by line
        b.bytesLine(line, owner, `${path}#line${lineNo}`, `${path}@${at}`);
        if (b.eventCount >= opts.batchSize) {
          // A big archive goes in batches of `batchSize` like a live transcript (one batch of
          // 80k calls ran the reader thread out of heap). Only the last part marks the archive
          // done: after a failure in between it is read again whole, and dedupe absorbs the
          // parts already billed.
          events += b.eventCount;
          const { batch, packed } = b.takePacked();
          await emit(batch, nextId++, packed);
        }
      }
      b.blobs.push({ sha, name, events: events + b.eventCount });
      await emitArchive(b, path, sig);
    }
  }

  return {
    /**
     * Reads everything new since the committed state, emitting batches in order (see `Emit`).
     * Problems that do not stop the poll go to `report` (path, code, reason; never content).
     */
    poll,
    /** The writer committed batch `id` (ids are acknowledged in order). */
    committed(id: number): void {
      const advance = pending.get(id);
      pending.delete(id);
      advance?.();
    },
  };
}

export type JsonlReader = ReturnType<typeof createJsonlReader>;

/**
 * Reads the complete lines of `data` (a chunk of one transcript; `dataStart` is its byte offset
 * in the file) from `from` into `b`, until the chunk has no further newline or `b` holds `limit`
 * events; returns the offset in `data` just past the last line read. Lines without the marks are
 * skipped undecoded (see parse.ts, `mayBeUsage` and `USER_MARK`); lines that cannot be JSON
 * objects are rejected and counted.
 *
 * A module-level function, not a closure inside each reader's `poll`: V8 then optimizes one small
 * function once per thread instead of the whole `poll` once per agent (bench:meter, 4 agents:
 * 11 TurboFan compiles of `poll` took ~1.2 s of helper-thread CPU).
 */
/**
 * Set by `scanLines` when it stopped (`handOver`) at a line in UTF-16 in a UTF-8 chunk: that
 * line's encoding; null when it read every complete line it was given.
 */
let utf16LineAt: LineEncoding | null = null;

function scanLines(
  b: BatchBuilder,
  data: Buffer,
  from: number,
  dataStart: number,
  path: string,
  owner: LineOwner,
  limit: number,
  handOver: boolean,
): number {
  utf16LineAt = null;
  let ls = from;
  // Next known positions of the marks: only `"usage"` is searched across the chunk;
  // `"assistant"` only from a line that holds `"usage"` (-2: not searched yet), and the user mark
  // only from a line without it.
  let usageAt = data.indexOf(USAGE_MARK, ls);
  let assistantAt = -2;
  // A `"user"` token that may be a user mark, compact or with white space around its colon
  // (USER_WORD, `roleUserBefore`). One search: until 2026-12-05 the compact mark was searched
  // first (`findUserMark`) and this one only where it was not, so each byte between two user
  // lines was scanned twice for the same answer (the compact mark's `"user"` passes
  // `roleUserBefore`); ~0.15-0.2 s of the reader's CPU per GB of tool output.
  let looseUserAt = -2;
  // A NUL byte ends a line too (see ZERO_FILL): searched once per call, and again only past one.
  let newlineAt = data.indexOf(NEWLINE, ls);
  // and so does a lone CR (batch-builder.ts LONE_CR): searched once per call in a CRLF file
  let crAt = loneCrAt(data, ls);
  let zeroAt = data.indexOf(ZERO_FILL, ls);
  // Where the last non-blank piece of a physical line (up to its newline) began: a later piece
  // of the same line, after a NUL run, that is no entry (binary garbage) is not counted again.
  let pieceOf = -1;
  for (;;) {
    if (newlineAt !== -1 && newlineAt < ls) newlineAt = data.indexOf(NEWLINE, ls);
    // a CR in the white space before a line's first byte is white space (as before), not a line end
    const lead = firstNonBlank(data, ls);
    if (crAt !== -1 && crAt < lead) crAt = loneCrAt(data, lead);
    if (zeroAt !== -1 && zeroAt < ls) zeroAt = data.indexOf(ZERO_FILL, ls);
    // the physical line's end: a newline or a lone CR
    const eol = crAt !== -1 && (newlineAt === -1 || crAt < newlineAt) ? crAt : newlineAt;
    const zeroEnds = zeroAt !== -1 && (eol === -1 || zeroAt < eol);
    const nl = zeroEnds ? zeroAt : eol;
    if (nl === -1) break;
    const lineStart = ls;
    // A NUL in a line's first bytes: a line in UTF-16 (appended by PowerShell's `>>`), whose
    // encoding the caller reads it in from here; or too few bytes yet to tell (read again with more).
    if (handOver && zeroEnds && nl - lineStart < 4) {
      const at = lineEncodingAt(data, lineStart, "utf8", true);
      if (at === undefined) return lineStart;
      if (at.enc !== "utf8") {
        utf16LineAt = at.enc;
        return lineStart;
      }
    }
    // (pieces split by a lone CR are pieces of one line here: binary garbage holding CR bytes is
    // one malformed line, as before)
    const physical = newlineAt === -1 ? data.length : newlineAt;
    ls = nl + 1;
    // a zero-filled run is one line end, however long (a crash's fill is kilobytes)
    if (zeroEnds) while (ls < data.length && data[ls] === ZERO_FILL) ls++;
    // Byte order marks before a line are not part of it: a file's first line, and a line that
    // began another file (transcripts joined with `cat`, an append by a tool that writes one;
    // each joined file brings its own, so a run of them: elizaOS/eliza#28249).
    let s = lineStart;
    for (;;) {
      if (s < nl && (data[s] === 0x20 || data[s] === 0x09 || data[s] === 0x0d)) s++;
      else if (s + 3 <= nl && bomLength(data, s) === 3) s += 3;
      else break;
    }
    if (s === nl) continue; // blank line
    if (pieceOf === physical && data[s] !== OPEN_BRACE) continue; // garbage after a NUL run
    pieceOf = physical;
    // an entry pretty-printed over several lines (`jq .`): read as the one line it would be. Only a
    // `{` at its line's start (byte order marks aside) opens one: an indented lone `{` is an inner
    // object of an entry whose own `{` did not group (cut by a crash, over the cap, not JSON), and
    // searching ahead from each of those made such an entry quadratic (case pretty-entry-inner-brace-rescan)
    if (!zeroEnds && nl === newlineAt && data[s] === OPEN_BRACE && !indented(data, lineStart, s)) {
      const pretty = prettyEntry(data, s, nl);
      if (pretty === "wait") {
        if (handOver) return lineStart; // its last line may still be coming: read again with more
      } else if (pretty !== null) {
        ls = pretty.next;
        b.bytesLine(pretty.line, owner, `${path}@${dataStart + lineStart}`);
        if (b.eventCount >= limit) return ls;
        continue;
      }
    }
    b.stats.lines++;
    if (data[s] !== OPEN_BRACE) {
      b.reject(`${path}@${dataStart + lineStart}`, "not a JSON object line");
      continue;
    }
    // where the line's entry ends: the line's end, or a complete entry's with text after it
    let end = nl;
    if (!endsLikeObject(data, s, nl)) {
      end = entryEnd(data, s, nl);
      if (end === -1) {
        b.reject(`${path}@${dataStart + lineStart}`, TRUNCATED_REASON);
        continue;
      }
      if (!onlyJunk(data, end, nl))
        b.reject(`${path}@${dataStart + lineStart}+${end - lineStart}`, TRUNCATED_REASON);
    }
    if (usageAt !== -1 && usageAt < s) usageAt = data.indexOf(USAGE_MARK, s);
    let candidate = false;
    if (usageAt !== -1 && usageAt < end) {
      if (assistantAt !== -1 && assistantAt < s) assistantAt = data.indexOf(ASSISTANT_MARK, s);
      candidate = assistantAt !== -1 && assistantAt < end;
    }
    if (!candidate) {
      // Not a billable call; a user message line is parsed for the turn (latency, preview).
      if (looseUserAt !== -1 && looseUserAt < s) looseUserAt = data.indexOf(USER_WORD, s);
      while (looseUserAt !== -1 && looseUserAt < end && !roleUserBefore(data, looseUserAt))
        looseUserAt = data.indexOf(USER_WORD, looseUserAt + 1);
      if (looseUserAt !== -1 && looseUserAt < end) {
        checkLineSize(end - s); // before decoding it (see limitLineSize)
        b.userLine(data.toString("utf8", s, end));
      }
      continue;
    }
    checkLineSize(end - s);
    b.parsed(data.toString("utf8", s, end), owner, `${path}@${dataStart + lineStart}`);
    if (b.eventCount >= limit) return ls;
  }
  return ls;
}

/** The most bytes an entry pretty-printed over several lines is read in (from its `{`). */
const PRETTY_ENTRY_MAX_BYTES = 16 * 1024 * 1024;
const CLOSE_BRACE = 0x7d;

/** Whether `data[from, to)` holds only spaces, tabs and CRs. */
function blankBytes(data: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (data[i] !== 0x20 && data[i] !== 0x09 && data[i] !== 0x0d) return false;
  return true;
}

/**
 * An entry pretty-printed over several lines (a transcript passed through `jq .` without `-c`,
 * re-serialised with `JSON.stringify(e, null, 2)` or Python's `json.dump(e, indent=…)`): its
 * first line is a lone `{` at the line's start (at `s`, its newline at `nl`), its inner lines are
 * indented and its last is a `}` at the line's start, blanks around them. Grouped as log shippers group such lines
 * (Fluent Bit's `json` multiline parser: a line starting `{`, indented lines, a lone `}`).
 * @returns the entry compacted to one line and the position past its last line's newline; "wait"
 *   when `data` ends before its last line (more bytes may complete it); null when the lines are no
 *   such entry (a line at its start that is not indented comes first, the lines reach
 *   PRETTY_ENTRY_MAX_BYTES, or they are not one JSON object): read line by line as before.
 */
function prettyEntry(data: Buffer, s: number, nl: number): { line: Buffer; next: number } | "wait" | null {
  if (!blankBytes(data, s + 1, nl)) return null;
  for (let at = nl + 1; ; ) {
    if (at - s > PRETTY_ENTRY_MAX_BYTES) return null;
    const e = data.indexOf(NEWLINE, at);
    if (e === -1) return "wait";
    // its closing `}`, alone on its line or with the next entry glued after it (`}{"type":…}`: the
    // entry was written without its final newline and the next one appended right after it; read
    // live, the two were read apart, but read from the start both were lost: case
    // pretty-entry-next-glued). `next` is then the glued entry's `{`, read as a line of its own.
    const glued = data[at] === CLOSE_BRACE ? gluedAfter(data, at + 1, e) : -1;
    if (data[at] === CLOSE_BRACE && (glued !== -1 || blankBytes(data, at + 1, e))) {
      try {
        const v: unknown = JSON.parse(data.toString("utf8", s, at + 1));
        if (v === null || typeof v !== "object" || Array.isArray(v)) return null;
        return { line: Buffer.from(JSON.stringify(v)), next: glued !== -1 ? glued : e + 1 };
      } catch {
        return null;
      }
    }
    // a line that starts a line of its own (an entry, another `{`, garbage) ends the search
    if (at < e && data[at] !== 0x20 && data[at] !== 0x09 && data[at] !== 0x0d) return null;
    // and so does a NUL: no pretty-printed entry holds one, a crash's zero fill does, and the
    // entry appended after it is read at once, not held back until a later line (case
    // pretty-entry-cut-by-zero-fill)
    if (data.subarray(at, e).indexOf(ZERO_FILL) !== -1) return null;
    at = e + 1;
  }
}

/** The position of a `{` after blanks in `data[from, to)` (an entry glued after a `}`), or -1. */
function gluedAfter(data: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to && (data[i] === 0x20 || data[i] === 0x09 || data[i] === 0x0d)) i++;
  return i < to && data[i] === OPEN_BRACE ? i : -1;
}

/** Whether `data[from, to)` holds a space or a tab: a line's indentation (see {@link prettyEntry}). */
function indented(data: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (data[i] === 0x20 || data[i] === 0x09) return true;
  return false;
}

/** Whether a decoded line (with its line end) is a lone `{` at its start: a pretty-printed entry's first. */
function loneBrace(line: Buffer): boolean {
  const b = line.indexOf(OPEN_BRACE);
  return b !== -1 && !indented(line, 0, b) && blankLine(line, 0, b) && blankLine(line, b + 1, line.length);
}

/** `blankBytes` that takes a newline for a blank too (a decoded line keeps its line end). */
function blankLine(data: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (data[i] !== NEWLINE && !blankBytes(data, i, i + 1)) return false;
  return true;
}

/**
 * The UTF-8 text of a pretty-printed entry in a UTF-16 transcript (see {@link prettyEntry}): its
 * first line decoded (`first`, a lone `{`), then the lines from `from` up to a `}` at a line's
 * start, each decoded. Returns that text and the byte offset past its last line; "wait" when
 * `data` ends first; null when a line at its start that is not the closing `}` comes first, a
 * line changes encoding, or PRETTY_ENTRY_MAX_BYTES is reached (its lines are read one by one).
 */
function prettyLinesAhead(
  data: Buffer,
  from: number,
  enc: LineEncoding,
  first: Buffer,
): { text: Buffer; end: number } | "wait" | null {
  const parts = [first];
  let size = first.length;
  for (let at = from; ; ) {
    if (size > PRETTY_ENTRY_MAX_BYTES) return null;
    const e = lineEncodingAt(data, at, enc, true);
    if (e === undefined) return "wait";
    if (e.enc !== enc) return null;
    const end = lineEndAt(data, at + e.bom, enc);
    if (end === -1) return "wait";
    const u = lineToUtf8(data, at + e.bom, end, enc);
    parts.push(u);
    size += u.length;
    if (u[0] === CLOSE_BRACE && blankLine(u, 1, u.length)) return { text: Buffer.concat(parts), end };
    if (u.length > 0 && !blankLine(u, 0, 1)) return null;
    at = end;
  }
}

/**
 * `eachLine` with each entry pretty-printed over several lines (see {@link prettyEntry}) given as
 * the one line it would be, compacted, at its first line's number and offset: a whole archive's.
 */
function* eachEntryLine(content: Buffer): Generator<[Buffer, number, number]> {
  let skipTo = -1;
  for (const item of eachLine(content)) {
    const [line, lineNo, at] = item;
    if (at < skipTo) continue;
    const b = line.indexOf(OPEN_BRACE);
    if (b !== -1 && !indented(line, 0, b) && blankBytes(line, 0, b) && blankBytes(line, b + 1, line.length)) {
      let s = content.indexOf(OPEN_BRACE, at); // (after a byte order mark `line` no longer holds)
      let no = lineNo;
      let from = at;
      for (;;) {
        const nl = content.indexOf(NEWLINE, s);
        const pretty = nl === -1 ? null : prettyEntry(content, s, nl);
        if (pretty === null || pretty === "wait") {
          if (from === at) break; // not a pretty-printed entry: the line as it is
          // the entry glued after a pretty-printed one's `}`: the rest of that line
          const end = nl === -1 ? content.length : nl;
          const rest = content.subarray(s, content[end - 1] === 0x0d ? end - 1 : end);
          skipTo = end + 1;
          yield [rest, no, s];
          break;
        }
        skipTo = pretty.next;
        yield [pretty.line, no, from];
        if (content[pretty.next - 1] === NEWLINE) break;
        // another entry glued after its `}` (see prettyEntry): on the `}` line
        for (let i = s; i < pretty.next; i++) if (content[i] === NEWLINE) no++;
        s = from = pretty.next;
      }
      if (skipTo > at) continue;
    }
    yield item;
  }
}

/**
 * Position of the first `"role":"user"` (USER_MARK) in `data` at or after `from`, or -1. Searches
 * for its tail `:"user"`, whose first byte is rare outside JSON structure (`"`, the mark's first
 * byte, is everywhere in JSON, which makes a plain search for the whole mark several times
 * slower), then checks the 6 bytes before it: the same positions as `data.indexOf(USER_MARK, from)`.
 * (`scanLines` no longer uses it since 2026-12-05: its `"user"` search finds these marks too.)
 */
export function findUserMark(data: Buffer, from: number): number {
  for (
    let i = data.indexOf(USER_TAIL, from + USER_HEAD_LENGTH);
    i !== -1;
    i = data.indexOf(USER_TAIL, i + 1)
  ) {
    const p = i - USER_HEAD_LENGTH;
    if (
      data[p] === 0x22 && // "
      data[p + 1] === 0x72 && // r
      data[p + 2] === 0x6f && // o
      data[p + 3] === 0x6c && // l
      data[p + 4] === 0x65 && // e
      data[p + 5] === 0x22 // "
    )
      return p;
  }
  return -1;
}
/** USER_MARK is `"role"` followed by this. */
const USER_TAIL = Buffer.from(':"user"');
const USER_HEAD_LENGTH = USER_MARK.length - USER_TAIL.length;

/** The session id in a transcript's header line (`{"type":"session","id":…}`), or null. */
function headerSessionId(content: Buffer): string | null {
  // (a newline or a lone CR: batch-builder.ts LONE_CR)
  const nl = firstLineEnd(content);
  try {
    // after a byte order mark, as `eachLine` reads the same first line
    const at = bomLength(content, 0);
    const h = JSON.parse(content.toString("utf8", at, nl === -1 ? content.length : nl)) as {
      type?: unknown;
      id?: unknown;
    };
    return h.type === "session" && typeof h.id === "string" && h.id ? h.id : null;
  } catch {
    return null;
  }
}

/**
 * Whether `data[0, end)` is one complete JSON object (byte order marks and blanks around it
 * allowed): an archive's unterminated last line that is a whole entry, not a fragment.
 */
function isCompleteJson(data: Buffer, end: number): boolean {
  if (!endsLikeObject(data, 0, end)) return false;
  let s = 0;
  while (s < end && (data[s] === 0x20 || data[s] === 0x09 || data[s] === 0x0d || bomLength(data, s) === 3))
    s += data[s] === 0xef ? 3 : 1;
  if (data[s] !== OPEN_BRACE) return false;
  checkLineSize(end - s);
  try {
    JSON.parse(data.toString("utf8", s, end));
    return true;
  } catch {
    return false;
  }
}

/** One scratch buffer per thread for `utf16At`. */
const encodingHead = Buffer.alloc(4);

/** The UTF-16 of the transcript open as `fd` (`size` bytes), by its first bytes, or null (UTF-8). */
function utf16At(fd: number, size: number): Utf16 | null {
  if (size < 2) return null;
  encodingHead.fill(0);
  readSync(fd, encodingHead, 0, Math.min(4, size), 0);
  return utf16Of(encodingHead);
}

/** Raw bytes before a UTF-16 transcript's cursor decoded for its read-backs (at most 32 MiB). */
const UTF16_BEFORE_MAX_BYTES = 32 * 1024 * 1024;
/** Bytes before a UTF-8 transcript's cursor looked at for UTF-16 lines (`nulBefore`). */
const NUL_PROBE_BYTES = 4096;

/**
 * Whether the last NUL_PROBE_BYTES before `offset` hold a NUL byte: lines appended in UTF-16 to a
 * UTF-8 transcript (or a crash's zero fill), whose read-backs then read decoded text.
 */
function nulBefore(fd: number, offset: number): boolean {
  const start = Math.max(0, offset - NUL_PROBE_BYTES);
  if (start >= offset) return false;
  const n = readSync(fd, encodingProbe, 0, offset - start, start);
  return encodingProbe.subarray(0, n).indexOf(0) !== -1;
}
const encodingProbe = Buffer.alloc(NUL_PROBE_BYTES);

/**
 * The complete lines of a transcript before byte `offset` (a line start), as UTF-8, each decoded
 * in its own encoding (text-encoding.ts `linesToUtf8`; `enc`: the file's, by its first bytes):
 * what `lookBefore`, `originBefore`, `turnCallsBefore` and `codexBefore` read back in a UTF-8 file.
 * Past UTF16_BEFORE_MAX_BYTES only the lines of the last ones (from the first line start in them).
 */
function textBefore(fd: number, offset: number, enc: Utf16 | null): Buffer {
  const bom = enc?.bom ?? 0;
  const first: LineEncoding = enc === null ? "utf8" : enc.be ? "be" : "le";
  let start = Math.max(bom, offset - UTF16_BEFORE_MAX_BYTES);
  if (enc !== null) start += (start - bom) & 1;
  if (start >= offset) return Buffer.alloc(0);
  const buf = Buffer.allocUnsafe(offset - start);
  const n = readSync(fd, buf, 0, buf.length, start);
  const data = buf.subarray(0, n);
  if (start === bom) return linesToUtf8(data, 0, first);
  // the window's first line is cut: skipped
  let from = lineEndAt(data, 0, first);
  if (from === -1) return Buffer.alloc(0);
  // past a UTF-8 newline, the second byte of a UTF-16LE newline unit
  if (enc === null && data[from] === 0 && lineEncodingAt(data, from, first, false)?.enc !== "be") from++;
  return linesToUtf8(data, from, first);
}

/** True when `path` is a symbolic link whose target does not exist. */
function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Whether a cursor last read under `cursorPath` is the cursor of the file now at `path` (`st`):
 * the same name, or another name that still holds this inode (a hard link, a rename being
 * followed). False when that name is gone or holds another inode: the cursor's file was deleted
 * and its inode number went to this one.
 */
function sameFile(cursorPath: string, path: string, st: Stats): boolean {
  if (cursorPath === path) return true;
  try {
    const c = statSync(cursorPath);
    return c.dev === st.dev && c.ino === st.ino;
  } catch {
    return false;
  }
}
