import { closeSync, fstatSync, lstatSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { JSONParser, TokenizerError, TokenParserError } from "@streamparser/json";
import { sessionChannel } from "../resolve-user.js";
import { classifyTranscriptFile } from "./classify.js";
import { openRegularFile } from "./regular-file.js";

/** What `sessions.json` tells about one session id. */
export interface IndexedSession {
  sessionId: string;
  sessionKey: string;
  channel: string | null;
  routeTargets: string[];
  parentKey: string | null;
  /** The entry is an isolated heartbeat run (`heartbeatIsolatedBaseSessionKey`): the operator's. */
  heartbeat: boolean;
  /**
   * The key of the session this one was forked from (`forkSource.sessionKey`, OpenClaw's
   * `buildForkedGatewaySessionEntry`), or null.
   */
  forkSourceKey?: string | null;
  /**
   * The entry records a one-to-one chat (`chatType` or `origin.chatType` `direct`), with the DM
   * user (`origin.nativeDirectUserId`, else `origin.from`): a DM keyed as a room (Matrix's per-room
   * DMs) is that user's. Null otherwise.
   */
  directChat?: { user: string | null } | null;
  /** The entry records a group or channel chat ({@link sharedChatOf}): its route names no person. */
  sharedChat?: boolean;
  /**
   * The session id of the entry's `sessionFile` (its base name, read as a transcript name) when it
   * is not `sessionId`: OpenClaw 2026.4.15 – 2026.5.x rotated `sessionId` on a reset (daily, idle,
   * `/reset`) but kept the persisted `sessionFile`, so the key's new turns went on in the old
   * session's file, and a later reset archived it as `<old id>.jsonl.reset.<ts>`
   * (openclaw/openclaw#70320, #78607, #77770). Null otherwise.
   */
  fileSessionId?: string | null;
}

function s(v: unknown): string | null {
  return typeof v === "string" && v.length > 0 ? v : null;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * Whether an entry (a `sessions.json` value, a store's `entry_json`) records a one-to-one chat: its
 * `chatType` or its origin's is `direct` (OpenClaw's `deriveSessionMetaPatch`), with the DM user its
 * origin records (`nativeDirectUserId`, else the sender `from`); null otherwise.
 */
export function directChatOf(
  entry: Record<string, unknown>,
  ...origins: Record<string, unknown>[]
): { user: string | null } | null {
  const direct = [entry, ...origins].some((o) => s(o.chatType)?.trim().toLowerCase() === "direct");
  if (!direct) return null;
  // the native id first (written once per DM), else the sender the origin names
  for (const field of ["nativeDirectUserId", "from"]) {
    for (const o of origins) {
      const user = s(o[field]);
      if (user) return { user };
    }
  }
  return { user: null };
}

/**
 * Whether an entry (a `sessions.json` value, a store's `entry_json`) records a shared chat: its
 * `chatType` or its origin's is `group` or `channel` (OpenClaw's `ChatType`). The route such an entry
 * recorded (`lastTo`, `origin.from`, `deliveryContext.to`) names that chat, never a person.
 */
export function sharedChatOf(entry: Record<string, unknown>, ...origins: Record<string, unknown>[]): boolean {
  return [entry, ...origins].some((o) => {
    const t = s(o.chatType)?.trim().toLowerCase();
    return t === "group" || t === "channel";
  });
}

/**
 * One `sessions.json` entry (session key → entry object) as the meter reads it, or null when it
 * names no session id. Unknown shapes yield null, never throw.
 */
function indexedSession(key: string, raw: unknown): IndexedSession | null {
  const e = obj(raw);
  const sessionId = s(e.sessionId);
  if (!sessionId) return null;
  const origin = obj(e.origin);
  const delivery = obj(e.deliveryContext);
  const routeTargets = [s(origin.from), s(delivery.to), s(e.lastTo)].filter((x): x is string => x !== null);
  return {
    sessionId,
    sessionKey: key,
    // the first messaging channel: `webchat` (the dashboard or a `sessions_send` touched the
    // session, openclaw/openclaw#47745, #54441) is none, and billed a per-peer DM to
    // `webchat:<peer>` before 2026-12-02; then the origin's provider, then a route's channel
    channel: sessionChannel(
      [s(e.lastChannel), s(e.channel), s(delivery.channel), s(origin.provider), s(origin.surface)],
      routeTargets,
    ),
    routeTargets,
    parentKey: s(e.spawnedBy) ?? s(e.parentSessionKey) ?? null,
    heartbeat: s(e.heartbeatIsolatedBaseSessionKey) !== null,
    forkSourceKey: s(obj(e.forkSource).sessionKey),
    directChat: directChatOf(e, origin),
    sharedChat: sharedChatOf(e, origin),
    fileSessionId: fileSessionIdOf(s(e.sessionFile), sessionId),
  };
}

/** The session id a `sessionFile` path names by its base name, when a transcript's and not `sessionId`. */
function fileSessionIdOf(sessionFile: string | null, sessionId: string): string | null {
  if (!sessionFile) return null;
  // written on the gateway's host: a Windows path too
  const base = sessionFile.slice(Math.max(sessionFile.lastIndexOf("/"), sessionFile.lastIndexOf("\\")) + 1);
  const id = classifyTranscriptFile(base)?.sessionId ?? null;
  return id && id !== sessionId ? id : null;
}

/** Parses a `sessions.json` object (sessionKey → entry). Unknown shapes yield nothing, never throw. */
export function parseSessionsJson(json: unknown): IndexedSession[] {
  const out: IndexedSession[] = [];
  for (const [key, raw] of Object.entries(obj(json))) {
    const x = indexedSession(key, raw);
    if (x) out.push(x);
  }
  return out;
}

/**
 * From this size on (bytes) `sessions.json` is read as a stream, one entry at a time. OpenClaw
 * keeps a `skillsSnapshot` (the skills prompt, ~5 KB) in every entry, so an agent with 10,000
 * sessions has a ~50 MB index: `JSON.parse` of it takes ~60 MB of heap at once, which aborted
 * the whole meter from the reader thread (exit 134, heap limit; nothing billed, every poll)
 * before 2026-12-03. Streamed, it takes a few MB whatever its size, at about twice the time, so
 * smaller files keep `JSON.parse`.
 */
export const STREAM_INDEX_FROM_BYTES = 2 * 1024 * 1024;

/**
 * Reads a `sessions.json` file: by `JSON.parse` when the file opened is smaller than
 * `streamFromBytes`, else streamed with @streamparser/json (entries kept only as
 * `IndexedSession`s). The size is the opened file's, not a `stat` before it: an index renamed over
 * in between (OpenClaw writes a temp file and renames it) by one of tens of MB would be
 * `JSON.parse`d whole in the reader thread, which aborts the process (a tester, 2026-12-03). A
 * leading BOM is skipped.
 * @param streamFromBytes @defaultValue STREAM_INDEX_FROM_BYTES
 * @throws SyntaxError, TokenizerError or TokenParserError (streamed) when the file is not one
 *   complete JSON value; `EBADJSON` "not a JSON object" when that value is no object
 *   (`notAnIndex`); `not-a-file` for a FIFO, device or directory (never waited on, see
 *   `openRegularFile`); an I/O error as `openSync`/`readSync` throw it.
 */
export function readSessionsJson(path: string, streamFromBytes = STREAM_INDEX_FROM_BYTES): IndexedSession[] {
  const fd = openRegularFile(path);
  try {
    if (fstatSync(fd).size < streamFromBytes) {
      const json: unknown = JSON.parse(readFileSync(fd, "utf8").replace(/^\uFEFF/, ""));
      if (json === null || typeof json !== "object" || Array.isArray(json)) throw notAnIndex();
      return parseSessionsJson(json);
    }
    return streamSessionsJson(fd);
  } finally {
    closeSync(fd);
  }
}

/** `readSessionsJson`'s streamed read of the open file `fd`, from its current offset. */
function streamSessionsJson(fd: number): IndexedSession[] {
  // Entries by key in an object as JSON.parse builds it (OpenClaw's own read of the file): a key
  // given twice keeps its first place and its last entry, integer-like keys come first in
  // ascending order. Pushed in file order instead, a repeated key's earlier entry named its
  // session too and a later key could win a session id that JSON.parse gives an earlier one
  // (before 2026-12-03, case sessions-index-repeated-key-streamed). No prototype: `__proto__` is
  // a key like any other, as in JSON.parse's object.
  const byKey: Record<string, IndexedSession | null> = Object.create(null);
  const parser = new JSONParser({ paths: ["$.*"], keepStack: false });
  parser.onValue = ({ value, key, stack }) => {
    // `$.*` also matches the elements of a top-level array: an index is an object of entries
    if (stack.length !== 1) return;
    if (typeof key !== "string") return;
    byKey[key] = indexedSession(key, value);
  };
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let first = true;
  let firstByte: number | null = null;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    let chunk = buf.subarray(0, n);
    if (first && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    first = false;
    if (firstByte === null) {
      const i = chunk.findIndex((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
      if (i >= 0) firstByte = chunk[i] as number;
    }
    if (parser.isEnded) {
      // only whitespace may follow the value, as for JSON.parse
      if (chunk.some((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)) {
        throw new SyntaxError("unexpected data after the JSON value");
      }
      continue;
    }
    parser.write(chunk);
  }
  if (!parser.isEnded) parser.end(); // throws: the file ends inside the value
  // a top-level array, or a scalar (whose value the `$.*` path never reports): told by the first
  // byte of the value, so an empty object `{}` is still an index of no session
  if (firstByte !== 0x7b) throw notAnIndex();
  return Object.values(byKey).filter((x): x is IndexedSession => x !== null);
}

/**
 * The error of an index that is valid JSON but no object of entries (`null`, `[]`, a string or
 * number: what a writer's bug or a hand edit leaves; OpenClaw's own load takes it for an empty
 * store and writes a new one). It names no session, so the sessions it should name wait like a
 * 0-byte file's (`EBADJSON`, "not a JSON object"); before 2026-12-03 it was read as an index of no
 * session and their calls were billed to the operator for good (a tester).
 */
function notAnIndex(): Error {
  return Object.assign(new Error("not a JSON object"), { code: "EBADJSON" });
}

/** Whether `err` says the text was not valid JSON (JSON.parse's or the stream parser's). */
function isJsonError(err: unknown): boolean {
  return err instanceof SyntaxError || err instanceof TokenizerError || err instanceof TokenParserError;
}

/** Why a `sessions.json` could not be read: `code` (`EBADJSON`, `EACCES`, `not-a-file`…) and a short reason. */
export interface IndexError {
  code: string;
  reason: string;
}

/** The `IndexError` of a failed read: a JSON error is `EBADJSON` "not valid JSON", else the error's code and message. */
function errorOf(err: unknown): IndexError {
  if (isJsonError(err)) return { code: "EBADJSON", reason: "not valid JSON" };
  const e = err as { code?: unknown; message?: unknown };
  return {
    code: typeof e?.code === "string" ? e.code : "error",
    reason: String(typeof e?.message === "string" ? e.message : err).slice(0, 200),
  };
}

/** Whether a failed `stat` of `path` means there is no index: ENOENT, and the name is not a symlink (to nothing). */
function isAbsent(path: string, err: unknown): boolean {
  if ((err as NodeJS.ErrnoException).code !== "ENOENT") return false;
  try {
    return !lstatSync(path).isSymbolicLink();
  } catch {
    return true;
  }
}

/**
 * A cached view of one agent's `sessions.json`, re-read only when its size or mtime changes
 * (OpenClaw rewrites it whole). A file that is missing or mid-write keeps the last good view.
 */
export function createSessionsIndex(path: string) {
  let sig = "";
  let byId = new Map<string, IndexedSession>();
  let byKey = new Map<string, IndexedSession>();
  let parentByKey = new Map<string, string>();
  let channelByKey = new Map<string, string>();
  let heartbeatKeys = new Set<string>();
  let lastError: IndexError | null = null;
  return {
    /**
     * Why the last `refresh` could not read the file, or null (read, unchanged, or absent): not
     * valid JSON (a 0-byte or zero-filled file a crash left, a hand edit), not a regular file (a
     * FIFO, device or directory), a symlink to nothing or in a loop, permission denied. OpenClaw
     * writes the index atomically (temp file + rename), so this is a damaged file, not a race.
     */
    error(): IndexError | null {
      return lastError;
    },
    /** Returns the sessions when the file changed since the last call, else null. */
    refresh(): IndexedSession[] | null {
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(path);
      } catch (err) {
        // absent: nothing to read; there but not to be read (a dangling or looping symlink,
        // a directory that cannot be searched): an error like an unreadable file
        lastError = isAbsent(path, err) ? null : errorOf(err);
        return null;
      }
      const next = `${st.size}:${st.mtimeMs}:${st.ino}`;
      if (next === sig) return null;
      let parsed: IndexedSession[];
      try {
        parsed = readSessionsJson(path);
      } catch (err) {
        // keep the last view, try again next poll
        lastError = errorOf(err);
        return null;
      }
      lastError = null;
      sig = next;
      byId = new Map(parsed.map((x) => [x.sessionId, x]));
      // An entry's stale `sessionFile` names the file its key's turns went on in (its old session
      // id): before 2026-12-03 that file and its `.reset` archive were attributed by that id only,
      // which no entry names, so a backfill billed them to the operator (case
      // `session-file-stale-after-reset`). An id another entry names as its own session keeps it.
      for (const x of parsed) if (x.fileSessionId && !byId.has(x.fileSessionId)) byId.set(x.fileSessionId, x);
      byKey = new Map(parsed.map((x) => [x.sessionKey, x]));
      parentByKey = new Map(
        parsed.filter((x) => x.parentKey).map((x) => [x.sessionKey, x.parentKey as string]),
      );
      channelByKey = new Map(parsed.filter((x) => x.channel).map((x) => [x.sessionKey, x.channel as string]));
      heartbeatKeys = new Set(parsed.filter((x) => x.heartbeat).map((x) => x.sessionKey));
      return parsed;
    },
    /**
     * Forgets what was last read, so the next `refresh` returns the sessions again even if the
     * file did not change: for a caller whose batch carrying them was never committed.
     */
    forget(): void {
      sig = "";
    },
    get(sessionId: string): IndexedSession | undefined {
      return byId.get(sessionId);
    },
    /** The entry of a session key (whichever session id it names now). */
    byKey(sessionKey: string): IndexedSession | undefined {
      return byKey.get(sessionKey);
    },
    parentOf(sessionKey: string): string | null {
      return parentByKey.get(sessionKey) ?? null;
    },
    /** The channel of a session by key (a sub-agent's per-peer parent names none in its key). */
    channelOf(sessionKey: string): string | null {
      return channelByKey.get(sessionKey) ?? null;
    },
    /** Whether the session by key is an isolated heartbeat run (`heartbeatIsolatedBaseSessionKey`). */
    heartbeatOf(sessionKey: string): boolean {
      return heartbeatKeys.has(sessionKey);
    },
    /** The direct chat the session by key records ({@link IndexedSession.directChat}), else null. */
    directChatOf(sessionKey: string): { user: string | null } | null {
      return byKey.get(sessionKey)?.directChat ?? null;
    },
  };
}

export type SessionsIndex = ReturnType<typeof createSessionsIndex>;

/** Where OpenClaw's doctor moves what it imported into an agent's store (classify.ts `IMPORT_ARCHIVE_DIR`). */
const IMPORT_ARCHIVE = "session-sqlite-import-archive";
/** The archived index's name: `legacy-store.<index file name>.imported-<ms>[.<n>]`. */
const IMPORTED_INDEX_RE = /^legacy-store\..+\.imported-(\d+)(?:\.(\d+))?$/;

/**
 * The newest `sessions.json` that `openclaw doctor --fix` archived in
 * `<agentDir>/session-sqlite-import-archive/` after importing it into the agent's SQLite store
 * (`planSessionJsonlArchiveMove` with archive key `legacy-store`: the index as it was before the
 * import, every entry with its JSONL-era route fields), or null when there is none (no import ran,
 * or it kept the index because an import failed). Newest by its `imported-<ms>` stamp, then its
 * `.<n>` suffix.
 */
export function importedIndexPath(agentDir: string): string | null {
  let names: string[];
  try {
    names = readdirSync(join(agentDir, IMPORT_ARCHIVE));
  } catch {
    return null;
  }
  let best: { name: string; ms: number; n: number } | null = null;
  for (const name of names) {
    const m = IMPORTED_INDEX_RE.exec(name);
    if (!m) continue;
    const ms = Number(m[1]);
    const n = Number(m[2] ?? 0);
    if (!best || ms > best.ms || (ms === best.ms && n > best.n)) best = { name, ms, n };
  }
  return best ? join(agentDir, IMPORT_ARCHIVE, best.name) : null;
}
