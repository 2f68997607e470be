import { createHash } from "node:crypto";
import { readdirSync, type Stats, statSync } from "node:fs";
import { join } from "node:path";
import type { ProblemReporter } from "../source.js";
import { type BatchBuilder, bomLength, eachLine, type LineOwner } from "./batch-builder.js";
import { COMPRESSED_COMPACTION_BACKUP_RE } from "./classify.js";
import { archiveTranscript } from "./cold-envelope.js";
import { readRegularFile } from "./regular-file.js";
import type { Attribution, StoreAttribution } from "./store-attribution.js";
import { errLine, type OcHandle, readTx } from "./store-handle.js";
import { decodeMaybeZstd, decodeZstd } from "./zst.js";

// The archives of an OpenClaw store: rows of `session_transcript_archives` and in-database cold
// archives, and `.jsonl.{deleted,reset}.*.zst` / `cold/*.jsonl.zst` files beside the sessions,
// each read whole into batches and marked done by content hash with its last batch. Split from
// sqlite-reader.ts, whose batches, facts and commit bookkeeping it uses through `ctx`.

/**
 * Plain `.jsonl.deleted.*` / `.jsonl.reset.*` / `.jsonl.bak.<ts>` files are tailed by the JSONL
 * source; the compressed ones are ours: `.zst` (OpenClaw's) and `.gz` (an operator's rotation;
 * decodeMaybeZstd), and a compaction's compressed backup (classify.ts COMPRESSED_COMPACTION_BACKUP_RE).
 */
const ARCHIVE_FILE_RE = /\.jsonl\.(?:deleted|reset)\..*\.(?:zst|gz)$/;
const COLD_FILE_RE = /\.jsonl\.zst$/;
const SESSION_ID_PREFIX_RE = /^([0-9a-zA-Z][0-9a-zA-Z_-]{7,})(?:-topic-[^.]+)?\.jsonl/;

/** What the archive reading borrows from its store reader (see createSqliteReader). */
export interface StoreArchiveContext {
  agentId: string;
  /** Most events per batch. */
  batchSize: number;
  /** `<agent>/sessions`, where archive files live. */
  sessionsDir: string;
  /** Archives (rows and files) whose batches were committed (or that held nothing): not decoded again. */
  archivesSeen: Set<string>;
  /** Content hashes of the archives an emitted batch of this poll marks done. */
  issuedBlobs: Set<string>;
  /** Whether a committed batch marked the archive with this content hash done. */
  blobDone(sha: string): boolean;
  newBatch(): BatchBuilder;
  /** Adds the session's fact to `b` unless a committed or emitted batch carries it. */
  addFact(b: BatchBuilder, sid: string, a: Attribution): void;
  owner(sid: string | null, a: Attribution): LineOwner;
  /** Emits the batch (the writer bills it, or the poll ends). */
  flush(b: BatchBuilder): Promise<void>;
  /** Runs `fn` once every batch emitted so far in this poll is committed. */
  settle(fn: () => void): void;
  report: ProblemReporter;
  rememberedAttribution: StoreAttribution["rememberedAttribution"];
  liveAttribution: StoreAttribution["liveAttribution"];
  /** Yields to the event loop; false when the reader was closed meanwhile. */
  yieldStillOpen(h: OcHandle): Promise<boolean>;
}

/** The archive reading of one agent's store reader. */
export function createStoreArchives(ctx: StoreArchiveContext) {
  const { agentId, batchSize, sessionsDir, archivesSeen, newBatch, addFact, owner, flush, settle, report } =
    ctx;
  const { rememberedAttribution, liveAttribution, yieldStillOpen } = ctx;

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
    if (ctx.issuedBlobs.has(sha) || ctx.blobDone(sha)) return;
    let b = newBatch();
    b.stats.files = 1;
    b.stats.bytes = content.length;
    b.startCodexThread(null); // read whole, from its first line
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
        const datedBy = b.datedBy;
        const lastReply = b.lastReply;
        const turnCalls = b.turnCalls;
        const codex = b.codex;
        const origin = b.origin;
        await flush(b);
        b = newBatch();
        b.turn = turn; // the same transcript goes on
        b.datedBy = datedBy;
        b.lastReply = lastReply;
        b.resumeTurnCalls(turnCalls, null);
        b.origin = origin;
        b.codex = codex;
      }
    }
    b.blobs.push({ sha, name: blobName, events });
    ctx.issuedBlobs.add(sha);
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
          // an envelope of the session's rows: read as the transcript its `event` rows hold
          content = archiveTranscript(decodeMaybeZstd(blobRow.blob)).content;
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
        // a compaction's compressed backup is read (its trimmed rows' calls are only there); other
        // `.bak` names and temp files are not
        const bak = COMPRESSED_COMPACTION_BACKUP_RE.test(n);
        if (!(re.test(n) || (bak && relDir === "")) || /\.tmp(?:$|[.-])/.test(n) || (/\.bak/.test(n) && !bak))
          continue;
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
        content = decodeMaybeZstd(readRegularFile(f.path));
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
      // A cold file is an envelope of the session's rows (its header names the session; its name is
      // a hash): read as the transcript its `event` rows hold.
      const env = archiveTranscript(content);
      content = env.content;
      const sid = sidByName.get(f.name) ?? env.sessionId ?? sessionIdOfFile(f.name) ?? headerId(content);
      const a =
        sid === null
          ? rememberedAttribution(h, "", null)
          : readTx(h, () => liveAttribution(h, sid, keyBySid.get(sid) ?? null));
      await emitBlob(content, refBase, refBase, sid, a);
      seen(seenKey);
      if (!(await yieldStillOpen(h))) return;
    }
  }

  async function rejectOnly(sourceRef: string, reason: string): Promise<void> {
    const b = newBatch();
    b.reject(sourceRef, reason);
    await flush(b);
  }

  return { readArchiveRows, readArchiveFiles };
}
