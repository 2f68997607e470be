import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Db } from "../../db/index.js";
import {
  ASSISTANT_MARK,
  endsLikeObject,
  parseLine,
  TRUNCATED_REASON,
  textEndsLikeObject,
  USAGE_MARK,
  usageEvent,
} from "../parse.js";
import { operatorAccount, resolveAccount } from "../resolve-user.js";
import { createSessionMemory } from "../session-memory.js";
import type { BatchSink, MeterSource, ProblemReporter, Reject, SessionFact, SourceStats } from "../source.js";
import type { UsageEvent } from "../types.js";
import { createSessionsIndex } from "./sessions-index.js";
import { decodeMaybeZstd } from "./zst.js";

export interface JsonlSourceOptions {
  /** `<state>/agents/<agentId>` */
  agentDir: string;
  agentId: string;
  db: Db;
  /** Events per transaction during a backlog. */
  batchSize: number;
  /**
   * A live transcript whose session id is not (yet) in sessions.json is left for this long
   * before it is billed to the operator: OpenClaw may write the transcript a moment before
   * the index. In ms; 0 for one-shot runs. @defaultValue 0
   */
  unknownSessionGraceMs?: number;
  nowMs?: () => number;
}

const CHUNK_BYTES = 1024 * 1024;
const HEAD_BYTES = 4096;
const TAIL_BYTES = 256;
const MAX_REJECTS_PER_FILE = 100;
/** Files touched per transaction at most, so a backlog of many small files still commits often. */
const MAX_FILES_PER_BATCH = 256;
const NEWLINE = 0x0a;
/** One read buffer for all JSONL sources: polls run one at a time. */
let sharedChunk: Buffer | null = null;
const OPEN_BRACE = 0x7b;

export interface ClassifiedFile {
  sessionId: string;
  archived: boolean;
}

/**
 * Which files in `sessions/` are transcripts, and of which session.
 * Read: `<id>.jsonl`, `<id>-topic-<n>.jsonl`, `<id>.jsonl.deleted.<ts>`, `<id>.jsonl.reset.<ts>`,
 * `<ISO>_<id>.jsonl` branch copies (dedupe absorbs their repeats).
 * Skipped: `*.checkpoint.*.jsonl` (compaction copies), `*.trajectory.jsonl` (run traces),
 * `*.bak*` (repair backups), `sessions.json*`, temp/lock files, and `.zst` archives (read whole
 * by the archive reader).
 */
export function classifyTranscriptFile(name: string): ClassifiedFile | null {
  const at = name.indexOf(".jsonl");
  if (at <= 0) return null;
  if (name.startsWith("sessions.json")) return null;
  if (/\.bak/i.test(name) || name.includes(".trajectory") || /\.checkpoint\./.test(name)) return null;
  if (name.endsWith(".zst") || name.endsWith(".tmp") || name.endsWith(".lock")) return null;
  const suffix = name.slice(at + ".jsonl".length);
  const archived = /^\.(deleted|reset)\./.test(suffix);
  if (suffix !== "" && !archived) return null;
  let base = name.slice(0, at).replace(/-topic-.+$/, "");
  const branch = /^\d{4}-\d{2}-\d{2}T[^_]*_(.+)$/.exec(base);
  if (branch?.[1]) base = branch[1];
  return base ? { sessionId: base, archived } : null;
}

/** OpenClaw's doctor (JSONL→SQLite import) moves each imported transcript here, beside `sessions/`. */
export const IMPORT_ARCHIVE_DIR = "session-sqlite-import-archive";

/**
 * Transcripts `openclaw doctor` moved into `agents/<id>/session-sqlite-import-archive/` after
 * importing them into SQLite (or, for files no `sessions.json` entry named, WITHOUT importing
 * them): `<sessionKey slug>.<transcript file name>.imported-<ms>[.<n>]`. The slug is the session
 * key with every character outside `[A-Za-z0-9_.-]` replaced by `_` (lossy), so the session id
 * in the file name is what attributes the calls (sessions.json, then the meter's memory).
 */
export function classifyImportArchiveFile(name: string): ClassifiedFile | null {
  const m = /^(.+)\.imported-\d+(?:\.\d+)?$/.exec(name);
  if (!m?.[1]) return null;
  const t = /^(?:.*\.)?([^.]+)\.jsonl$/.exec(m[1]);
  if (!t?.[1]) return null;
  const sessionId = t[1].replace(/-topic-.+$/, "");
  return sessionId ? { sessionId, archived: true } : null;
}

interface Cursor {
  dev: string;
  ino: string;
  path: string;
  head: string;
  /** sha256 of up to TAIL_BYTES bytes before `offset` (null when offset is 0). */
  tail: string | null;
  offset: number;
  size: number;
}

interface Seen {
  size: number;
  mtimeMs: number;
  cursor: Cursor;
}

/** A row of `meter_file_cursors` as SQLite returns it: one JSONL file's read cursor, by (device, inode). */
interface MeterFileCursorRow {
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

/**
 * JSONL transcripts of one agent (Clawdbot → OpenClaw ~2026.7). Reads only complete lines from
 * a byte cursor keyed by (device, inode), so a rename to `.deleted`/`.reset` continues where it
 * was; a file that shrank or whose first line changed (rewrite, recycled inode) is re-read from
 * 0 and the biller's dedupe absorbs what was already billed. A partial last line is held back
 * until its newline arrives.
 */
export function createJsonlSource(opts: JsonlSourceOptions): MeterSource {
  const sessionsDir = join(opts.agentDir, "sessions");
  const index = createSessionsIndex(join(sessionsDir, "sessions.json"));
  const memory = createSessionMemory(opts.db);
  const now = opts.nowMs ?? Date.now;
  const grace = opts.unknownSessionGraceMs ?? 0;
  const seen = new Map<string, Seen>();
  const seenArchives = new Map<string, string>();
  const blobDone = opts.db.prepare<[string], { one: number }>(
    "SELECT 1 AS one FROM meter_blobs_done WHERE content_sha256 = ?",
  );
  // The biller commits batches on opts.db, so the cursor statements are prepared once on it.
  const upsertCursor = opts.db.prepare(
    `INSERT INTO meter_file_cursors (dev, ino, path, head_sha256, tail_sha256, offset_bytes, size_bytes, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(dev, ino) DO UPDATE SET path = excluded.path, head_sha256 = excluded.head_sha256,
       tail_sha256 = excluded.tail_sha256, offset_bytes = excluded.offset_bytes,
       size_bytes = excluded.size_bytes, updated_at_ms = excluded.updated_at_ms`,
  );
  const markBlobDone = opts.db.prepare(
    "INSERT INTO meter_blobs_done (content_sha256, name, events, done_at_ms) VALUES (?, ?, ?, ?) ON CONFLICT(content_sha256) DO NOTHING",
  );
  const loadCursor = opts.db.prepare<
    [string, string],
    Pick<MeterFileCursorRow, "path" | "head_sha256" | "tail_sha256" | "offset_bytes" | "size_bytes">
  >(
    "SELECT path, head_sha256, tail_sha256, offset_bytes, size_bytes FROM meter_file_cursors WHERE dev = ? AND ino = ?",
  );
  const head = Buffer.allocUnsafe(HEAD_BYTES);

  function headHash(fd: number, size: number): string {
    const n = readSync(fd, head, 0, Math.min(HEAD_BYTES, size), 0);
    const nl = head.subarray(0, n).indexOf(NEWLINE);
    return createHash("sha256")
      .update(head.subarray(0, nl >= 0 ? nl : n))
      .digest("hex");
  }

  /** Hash of the bytes just before `offset`: proves the consumed prefix is still the same. */
  function tailHash(fd: number, offset: number): string | null {
    if (offset <= 0) return null;
    const start = Math.max(0, offset - TAIL_BYTES);
    const n = readSync(fd, head, 0, offset - start, start);
    return createHash("sha256").update(head.subarray(0, n)).digest("hex");
  }

  /** Tail hash from the buffer when it holds the bytes, else from the file. */
  function tailOf(data: Buffer, end: number, fd: number, offset: number): string | null {
    if (end >= TAIL_BYTES)
      return createHash("sha256")
        .update(data.subarray(end - TAIL_BYTES, end))
        .digest("hex");
    return tailHash(fd, offset);
  }

  function attribution(sessionId: string): { sessionKey: string | null; accountId: string } | null {
    const indexed = index.get(sessionId);
    if (indexed) {
      const r = resolveAccount(opts.agentId, indexed.sessionKey, {
        channel: indexed.channel,
        routeTargets: indexed.routeTargets,
        parentKey: (k) => index.parentOf(k),
      });
      return { sessionKey: indexed.sessionKey, accountId: r.accountId };
    }
    const remembered = memory.get(opts.agentId, sessionId);
    if (remembered?.sessionKey) {
      const r = resolveAccount(opts.agentId, remembered.sessionKey, { channel: remembered.channel });
      return { sessionKey: remembered.sessionKey, accountId: remembered.accountId ?? r.accountId };
    }
    return null;
  }

  return {
    name: `jsonl:${opts.agentId}`,
    async poll(sink: BatchSink, report?: ProblemReporter): Promise<void> {
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
      let events: UsageEvent[] = [];
      let rejects: Reject[] = [];
      let facts: SessionFact[] = [];
      let cursors = new Map<string, Cursor>();
      let stats: Partial<SourceStats> = {};
      let pendingSeen: [string, Seen][] = [];
      const bump = (k: keyof SourceStats, n = 1) => {
        stats[k] = (stats[k] ?? 0) + n;
      };

      const flush = () => {
        if (events.length === 0 && cursors.size === 0 && facts.length === 0 && rejects.length === 0) return;
        const batchCursors = [...cursors.values()];
        sink({
          events,
          rejects,
          sessions: facts,
          stats,
          commit() {
            const t = now();
            for (const c of batchCursors)
              upsertCursor.run(c.dev, c.ino, c.path, c.head, c.tail, c.offset, c.size, t);
          },
        });
        // Only after the transaction committed does memory move on.
        for (const [k, s] of pendingSeen) seen.set(k, s);
        events = [];
        rejects = [];
        facts = [];
        cursors = new Map();
        stats = {};
        pendingSeen = [];
      };

      const indexPath = join(sessionsDir, "sessions.json");
      try {
        if (!statSync(indexPath).isFile())
          report?.({ path: indexPath, code: "not-a-file", reason: "sessions.json is not a regular file" });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem(indexPath, err);
      }
      const refreshed = index.refresh();
      const indexError = index.error();
      if (indexError)
        report?.({
          path: indexPath,
          code: "EBADJSON",
          reason: `sessions.json cannot be read (${indexError}): new sessions cannot be attributed`,
        });
      if (refreshed) {
        for (const s of refreshed) {
          const r = resolveAccount(opts.agentId, s.sessionKey, {
            channel: s.channel,
            routeTargets: s.routeTargets,
            parentKey: (k) => index.parentOf(k),
          });
          facts.push({
            agentId: opts.agentId,
            sessionId: s.sessionId,
            sessionKey: s.sessionKey,
            accountId: r.accountId,
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
      for (const name of list(importDir)) {
        const cls = classifyImportArchiveFile(name);
        if (cls) files.push({ path: join(importDir, name), cls });
      }
      for (const { path, cls } of files) {
        let st: ReturnType<typeof statSync>;
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
        const key = `${st.dev}:${st.ino}`;
        const prev = seen.get(key);
        if (prev && prev.size === st.size && prev.mtimeMs === st.mtimeMs && prev.cursor.path === path)
          continue;

        const who = attribution(cls.sessionId);
        if (!who && !cls.archived && grace > 0 && now() - st.mtimeMs < grace) continue;
        const sessionKey = who?.sessionKey ?? null;
        const accountId = who?.accountId ?? operatorAccount(opts.agentId);

        let fd: number;
        try {
          fd = openSync(path, "r");
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem(path, err);
          continue;
        }
        try {
          const size = st.size;
          const h = headHash(fd, size);
          let cursor: Cursor | undefined = cursors.get(key) ?? prev?.cursor;
          if (!cursor) {
            const row = loadCursor.get(String(st.dev), String(st.ino));
            if (row)
              cursor = {
                dev: String(st.dev),
                ino: String(st.ino),
                path: row.path,
                head: row.head_sha256,
                tail: row.tail_sha256,
                offset: row.offset_bytes,
                size: row.size_bytes,
              };
          }
          let offset = cursor?.offset ?? 0;
          // A different first line means a different or rewritten file on this inode; a shrink
          // means truncation; changed bytes before the cursor mean a same-size rewrite. Each
          // re-reads from 0: dedupe keeps it exactly-once.
          if (
            cursor &&
            (cursor.head !== h ||
              size < cursor.offset ||
              (cursor.tail !== null && tailHash(fd, cursor.offset) !== cursor.tail))
          ) {
            offset = 0;
          }
          const fileCursor: Cursor = {
            dev: String(st.dev),
            ino: String(st.ino),
            path,
            head: h,
            tail: null,
            offset,
            size,
          };
          if (offset < size) bump("files");
          let fileRejects = 0;
          let readPos = offset;
          let carry: Buffer | null = null;
          let carryStart = offset;
          while (readPos < size) {
            const n = readSync(fd, chunk, 0, Math.min(CHUNK_BYTES, size - readPos), readPos);
            if (n <= 0) break;
            bump("bytes", n);
            readPos += n;
            const data: Buffer = carry ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
            const dataStart = carryStart;
            let ls = 0;
            // Next positions of the two marks a billable line must contain: lines before them are
            // skipped without being decoded or parsed (see parse.ts, mayBeUsage).
            let usageAt = data.indexOf(USAGE_MARK);
            let assistantAt = data.indexOf(ASSISTANT_MARK);
            for (let nl = data.indexOf(NEWLINE, ls); nl !== -1; nl = data.indexOf(NEWLINE, ls)) {
              const lineStart = ls;
              ls = nl + 1;
              let s = lineStart;
              while (s < nl && (data[s] === 0x20 || data[s] === 0x09 || data[s] === 0x0d)) s++;
              if (s === nl) continue; // blank line
              bump("lines");
              if (data[s] !== OPEN_BRACE) {
                bump("malformed");
                if (fileRejects++ < MAX_REJECTS_PER_FILE)
                  rejects.push({
                    sourceRef: `${path}@${dataStart + lineStart}`,
                    reason: "not a JSON object line",
                  });
                continue;
              }
              if (!endsLikeObject(data, s, nl)) {
                bump("malformed");
                if (fileRejects++ < MAX_REJECTS_PER_FILE)
                  rejects.push({ sourceRef: `${path}@${dataStart + lineStart}`, reason: TRUNCATED_REASON });
                continue;
              }
              if (usageAt !== -1 && usageAt < s) usageAt = data.indexOf(USAGE_MARK, s);
              if (usageAt === -1 || usageAt > nl) continue;
              if (assistantAt !== -1 && assistantAt < s) assistantAt = data.indexOf(ASSISTANT_MARK, s);
              if (assistantAt === -1 || assistantAt > nl) continue;
              const r = parseLine(data.toString("utf8", s, nl));
              if (r.kind === "malformed") {
                bump("malformed");
                if (fileRejects++ < MAX_REJECTS_PER_FILE)
                  rejects.push({ sourceRef: `${path}@${dataStart + lineStart}`, reason: r.reason });
                continue;
              }
              if (r.kind === "skip") {
                if (r.why === "synthetic") bump("synthetic");
                else if (r.why === "zero-usage") bump("zeroUsage");
                continue;
              }
              bump("usageLines");
              events.push(
                usageEvent(
                  r.usage,
                  opts.agentId,
                  cls.sessionId,
                  sessionKey,
                  accountId,
                  "jsonl",
                  `${path}@${dataStart + lineStart}`,
                ),
              );
              if (events.length >= opts.batchSize) {
                fileCursor.offset = dataStart + ls;
                fileCursor.tail = tailOf(data, ls, fd, fileCursor.offset);
                cursors.set(key, { ...fileCursor });
                flush();
                await new Promise<void>((resolve) => setImmediate(resolve));
              }
            }
            carry = ls < data.length ? Buffer.from(data.subarray(ls)) : null;
            carryStart = dataStart + ls;
          }
          // Everything up to the last newline is consumed; a partial last line waits.
          fileCursor.offset = carryStart;
          fileCursor.tail = tailHash(fd, carryStart);
          cursors.set(key, fileCursor);
          pendingSeen.push([key, { size, mtimeMs: st.mtimeMs, cursor: { ...fileCursor } }]);
          if (cursors.size >= MAX_FILES_PER_BATCH) flush();
        } catch (err) {
          // An I/O error mid-file (fs errors carry `syscall`): reported with the path; its cursor
          // did not move, so the next poll reads it again (dedupe absorbs what was billed).
          // Anything else (the biller's database failing) ends the poll.
          if (typeof (err as NodeJS.ErrnoException).syscall !== "string") throw err;
          problem(path, err);
        } finally {
          closeSync(fd);
        }
      }
      flush();
      readCompressedArchives(sink, names, problem);
    },
    close() {},
  };

  /**
   * `sessions/*.jsonl.{deleted,reset}.*.zst` and `sessions/cold/*.jsonl.zst`: whole compressed
   * transcripts, read once each by content hash (`meter_blobs_done`, shared with the SQLite
   * source, which reads the same files with better attribution when the agent has a store).
   */
  function readCompressedArchives(
    sink: BatchSink,
    sessionNames: readonly string[],
    problem: (path: string, err: unknown) => void,
  ): void {
    const found: { path: string; name: string; cold: boolean }[] = [];
    for (const name of sessionNames)
      if (/\.jsonl\.(deleted|reset)\..*\.zst$/.test(name))
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
      try {
        content = decodeMaybeZstd(readFileSync(path));
      } catch (err) {
        if (typeof (err as NodeJS.ErrnoException).syscall === "string") {
          // unreadable, not undecodable: reported and retried next poll
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem(path, err);
          continue;
        }
        sink(onlyReject(`${path}@0`, "archive does not decode"));
        seenArchives.set(path, sig);
        continue;
      }
      const sha = createHash("sha256").update(content).digest("hex");
      if (blobDone.get(sha)) {
        seenArchives.set(path, sig);
        continue;
      }
      const lines = content.toString("utf8").split("\n");
      // Archive names start with the session id; cold-storage names are hashes: use the header.
      const sessionId = cold
        ? headerSessionId(lines[0])
        : (classifyTranscriptFile(name.replace(/\.zst$/, ""))?.sessionId ?? headerSessionId(lines[0]));
      const who = sessionId ? attribution(sessionId) : null;
      const events: UsageEvent[] = [];
      const rejects: Reject[] = [];
      const stats: Partial<SourceStats> = { files: 1, bytes: content.length, lines: 0, usageLines: 0 };
      let offset = 0;
      for (const [i, line] of lines.entries()) {
        const at = offset;
        offset += Buffer.byteLength(line) + 1;
        if (!line.trim()) continue;
        stats.lines = (stats.lines ?? 0) + 1;
        if (!textEndsLikeObject(line)) {
          stats.malformed = (stats.malformed ?? 0) + 1;
          if (rejects.length < MAX_REJECTS_PER_FILE)
            rejects.push({ sourceRef: `${path}#line${i + 1}`, reason: TRUNCATED_REASON });
          continue;
        }
        if (!line.includes('"usage"') || !line.includes('"assistant"')) continue;
        const r = parseLine(line);
        if (r.kind === "malformed") {
          stats.malformed = (stats.malformed ?? 0) + 1;
          if (rejects.length < MAX_REJECTS_PER_FILE)
            rejects.push({ sourceRef: `${path}#line${i + 1}`, reason: r.reason });
        } else if (r.kind === "skip") {
          if (r.why === "synthetic") stats.synthetic = (stats.synthetic ?? 0) + 1;
          else if (r.why === "zero-usage") stats.zeroUsage = (stats.zeroUsage ?? 0) + 1;
        } else {
          stats.usageLines = (stats.usageLines ?? 0) + 1;
          events.push(
            usageEvent(
              r.usage,
              opts.agentId,
              sessionId,
              who?.sessionKey ?? null,
              who?.accountId ?? operatorAccount(opts.agentId),
              "jsonl",
              `${path}@${at}`,
            ),
          );
        }
      }
      sink({
        events,
        rejects,
        sessions: [],
        stats,
        commit() {
          markBlobDone.run(sha, name, events.length, now());
        },
      });
      seenArchives.set(path, sig);
    }
  }
}

function headerSessionId(firstLine: string | undefined): string | null {
  try {
    const h = JSON.parse(firstLine ?? "") as { type?: unknown; id?: unknown };
    return h.type === "session" && typeof h.id === "string" && h.id ? h.id : null;
  } catch {
    return null;
  }
}

function onlyReject(sourceRef: string, reason: string) {
  return {
    events: [],
    rejects: [{ sourceRef, reason }],
    sessions: [],
    stats: { malformed: 1 },
    commit() {},
  };
}

/** True when `path` is a symbolic link whose target does not exist. */
function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
