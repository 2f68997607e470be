/** Which files of an agent directory are JSONL transcripts, and of which session. */

export interface ClassifiedFile {
  sessionId: string;
  archived: boolean;
}

/**
 * OpenClaw's archive timestamp (`formatSessionArchiveTimestamp`: ISO with `:` as `-`), the whole
 * suffix after `.bak.`, optionally followed by the archive's generation, 32 hex digits (its
 * `ARCHIVE_SUFFIX_RE`, src/config/sessions/artifacts.ts).
 */
const ARCHIVE_TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?Z(?:\.[0-9a-f]{32})?$/;
/**
 * A compaction backup compressed: `<id>.jsonl.bak.<ts>[.<generation>].zst`. OpenClaw's SQLite-era
 * `openclaw sessions compact` publishes the whole transcript in `sessions/` before it trims the
 * session's rows to the last lines (`trimSqliteTranscriptForManualCompact` →
 * `writeSqliteTranscriptArchive`, reason "bak", zstd where the runtime has it, plain JSONL
 * otherwise), and no archive row records it: the calls of the rows it dropped are only there.
 * Read whole, like a `.deleted`/`.reset` archive (`.gz`: an operator's rotation compressed it).
 */
export const COMPRESSED_COMPACTION_BACKUP_RE =
  /\.jsonl\.bak\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?Z(?:\.[0-9a-f]{32})?\.(?:zst|gz)$/;
/**
 * A session-file repair's backup, the whole file before the repair (`<file>.bak-<pid>-<ms>`,
 * `repairSessionFileIfNeeded`): the repair drops lines that are not JSON (a complete entry glued
 * to a crash fragment with them) and, in 2026.5.2, trimmed trailing assistant replies.
 */
const REPAIR_BACKUP_RE = /^\.bak-\d+-\d+$/;
/**
 * `openclaw doctor --fix`'s branch repair backup: `<transcript>.pre-doctor-branch-repair-<ISO>.bak`
 * (openclaw/openclaw src/commands/doctor-session-transcripts.ts `writeActiveTranscript`: an
 * `fs.copyFile` of the whole file, the ISO time with `:` and `.` as `-`), taken before the file is
 * rewritten to its active branch only. Replies on the abandoned branch (calls the provider charged)
 * are then only here. Its codex-repair backup (`.pre-doctor-openai-codex-repair-<ISO>.bak`) is not
 * matched: the rewritten file keeps every entry of it (`writeTranscriptEntries`), nothing is only there.
 */
const DOCTOR_BRANCH_BACKUP_RE =
  /^(.+\.jsonl)\.pre-doctor-branch-repair-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.bak$/;
/**
 * A pre-`agents/` transcript OpenClaw's legacy-state migration renamed beside the one of the same
 * name it found in the target `sessions/` (openclaw/openclaw src/infra/state-migrations.ts
 * `migrateLegacySessions`: `path.parse` name `.legacy-<ms>` ext, so `<id>.legacy-<ms>.jsonl`).
 */
const LEGACY_MIGRATED_RE = /^(.+)\.legacy-\d+(\.jsonl)$/;
/** A compaction checkpoint copy: `<id>.checkpoint.<uuid>.jsonl` (OpenClaw's `CHECKPOINT_MARKER_RE`). */
const CHECKPOINT_RE =
  /^(.+)\.checkpoint\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl$/i;

/**
 * A copy `logrotate` left of a live transcript: `<file>.<n>` (its default numbered rotation) or
 * `<file>-<date>` (`dateext`: `-%Y%m%d` up to seconds, or `-%Y-%m-%d`), later compressed to `….gz` (read
 * whole by the archive reader). With `copytruncate` the live file is copied there and then emptied
 * in place, so the calls appended between the meter's last poll and the copy are only in the copy:
 * before 2026-12-04 they were never billed (case `logrotate-copytruncate`). Every other call in it
 * is the live file's, absorbed by dedupe.
 */
const LOGROTATE_COPY_RE = /^(?:\.\d{1,4}|-\d{8}(?:\d{2}){0,3}|-\d{4}-\d{2}-\d{2})$/;

/**
 * Which files in `sessions/` are transcripts, and of which session.
 * Read: `<id>.jsonl`, `<id>-topic-<n>.jsonl`, `<id>.jsonl.deleted.<ts>`, `<id>.jsonl.reset.<ts>`,
 * `<ISO>_<id>.jsonl` branch copies, and what compaction keeps of a transcript it shortened:
 * `<id>.jsonl.bak.<ts>` (the whole file `sessions.compact` renamed away before writing its last
 * `maxLines` lines back) and `<id>.checkpoint.<uuid>.jsonl` (the pre-compaction copy, the only
 * one left once `truncateAfterCompaction` rewrote the file without the summarized messages), and
 * a repair's backup `<id>.jsonl.bak-<pid>-<ms>` (the repaired file lost what the repair dropped),
 * and doctor's branch-repair backup of any of these `<file>.pre-doctor-branch-repair-<ISO>.bak`
 * (the rewritten file lost the abandoned branches), and the legacy migration's renamed copy
 * `<id>.legacy-<ms>.jsonl` (session `<id>`), and `logrotate`'s copies of a live transcript
 * `<id>.jsonl.<n>`, `<id>.jsonl-<date>` (LOGROTATE_COPY_RE). Dedupe absorbs every repeat. Skipped:
 * `*.trajectory.jsonl` (run traces), other `*.bak*` (`*.pre-doctor-openai-codex-repair-*.bak`,
 * `sessions.json.bak.*`), `sessions.json*`, temp/lock files, and `.zst`
 * archives (read whole by the archive reader).
 */
export function classifyTranscriptFile(name: string): ClassifiedFile | null {
  const doctorBackup = DOCTOR_BRANCH_BACKUP_RE.exec(name);
  if (doctorBackup?.[1]) {
    // the file doctor copied: a transcript (not a trace, not another backup) of the same session
    const of = classifyTranscriptFile(doctorBackup[1]);
    return of ? { sessionId: of.sessionId, archived: true } : null;
  }
  // The session's earlier calls, kept apart when it went on under its own name in the new place:
  // before 2026-12-03 its session was taken to be `<id>.legacy-<ms>`, so they went to the operator
  // (case `legacy-sessions-renamed-copy`).
  const legacy = LEGACY_MIGRATED_RE.exec(name);
  if (legacy?.[1] && legacy[2]) {
    const of = classifyTranscriptFile(legacy[1] + legacy[2]);
    return of ? { sessionId: of.sessionId, archived: true } : null;
  }
  const checkpoint = CHECKPOINT_RE.exec(name);
  if (checkpoint?.[1]) {
    const id = sessionIdOf(checkpoint[1]);
    return id ? { sessionId: id, archived: true } : null;
  }
  const at = name.indexOf(".jsonl");
  if (at <= 0) return null;
  if (name.startsWith("sessions.json")) return null;
  if (name.includes(".trajectory") || /\.checkpoint\./.test(name)) return null;
  // compressed archives (`.zst`, an operator's `.gz`) are read whole by the archive reader
  if (name.endsWith(".zst") || name.endsWith(".gz") || name.endsWith(".tmp") || name.endsWith(".lock"))
    return null;
  const suffix = name.slice(at + ".jsonl".length);
  const compacted =
    (suffix.startsWith(".bak.") && ARCHIVE_TS_RE.test(suffix.slice(".bak.".length))) ||
    REPAIR_BACKUP_RE.test(suffix);
  if (!compacted && /\.bak/i.test(name)) return null;
  const archived = compacted || /^\.(deleted|reset)\./.test(suffix) || LOGROTATE_COPY_RE.test(suffix);
  if (suffix !== "" && !archived) return null;
  const base = sessionIdOf(name.slice(0, at));
  return base ? { sessionId: base, archived } : null;
}

/** The session id in a transcript's base name: without `-topic-<n>` and a branch copy's `<ISO>_`. */
function sessionIdOf(base: string): string {
  const id = base.replace(/-topic-.+$/, "");
  const branch = /^\d{4}-\d{2}-\d{2}T[^_]*_(.+)$/.exec(id);
  return branch?.[1] ? branch[1] : id;
}

/** The archive key doctor's import gives the `*.jsonl` files no sessions.json entry names. */
const UNREFERENCED_ARCHIVE_PREFIX = "archive-tier.";

/** OpenClaw's doctor (JSONL→SQLite import) moves each imported transcript here, beside `sessions/`. */
export const IMPORT_ARCHIVE_DIR = "session-sqlite-import-archive";

/**
 * Transcripts `openclaw doctor` moved into `agents/<id>/session-sqlite-import-archive/` after
 * importing them into SQLite (or, for files no `sessions.json` entry named, WITHOUT importing
 * them, as `archive-tier.<file name>`): `<sessionKey slug>.<transcript file name>.imported-<ms>[.<n>]`
 * (openclaw/openclaw `src/commands/doctor-session-sqlite.ts` `planSessionJsonlArchiveMove`). The slug is the
 * session key with every character outside `[A-Za-z0-9_.-]` replaced by `_` (lossy), so the session
 * id in the file name is what attributes the calls (sessions.json, then the meter's memory).
 */
export function classifyImportArchiveFile(name: string): ClassifiedFile | null {
  const m = /^(.+)\.imported-\d+(?:\.\d+)?$/.exec(name);
  if (!m?.[1]) return null;
  // A `*.jsonl` no sessions.json entry named is moved as `archive-tier.<its name>`
  // (`archiveUnreferencedJsonlFiles`, archive key "archive-tier"): the rest is the name it had in
  // `sessions/`, classified as there. A compaction checkpoint `<id>.checkpoint.<uuid>.jsonl` is one
  // (no entry names it): before 2026-12-03 its session was taken to be the checkpoint's uuid, so
  // the calls only it holds went to the operator (case `import-archive-checkpoint-session`).
  if (m[1].startsWith(UNREFERENCED_ARCHIVE_PREFIX)) {
    const cls = classifyTranscriptFile(m[1].slice(UNREFERENCED_ARCHIVE_PREFIX.length));
    return cls ? { sessionId: cls.sessionId, archived: true } : null;
  }
  // an imported transcript's run trace, moved beside it (`<key slug>.<id>.trajectory.jsonl`)
  if (m[1].endsWith(".trajectory.jsonl")) return null;
  const t = /^(?:.*\.)?([^.]+)\.jsonl$/.exec(m[1]);
  if (!t?.[1]) return null;
  // A branch copy (`<ISO>_<id>.jsonl`, which no sessions.json entry names) is moved here too: its
  // session is the id after the `<ISO>_`, as in sessions/ (else its calls went to the operator).
  const sessionId = sessionIdOf(t[1]);
  return sessionId ? { sessionId, archived: true } : null;
}

/**
 * Transcript files grouped by session id: each session's paths in the order given (`files`, as
 * classified by {@link classifyTranscriptFile}). Where a Codex thread's earlier running totals
 * are looked for (its compaction and repair copies, its live file).
 */
export function filesBySession(
  files: Iterable<{ path: string; cls: ClassifiedFile }>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { path, cls } of files) {
    const same = out.get(cls.sessionId);
    if (same) same.push(path);
    else out.set(cls.sessionId, [path]);
  }
  return out;
}
