/** Which files of an agent directory are JSONL transcripts, and of which session. */

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
  const base = sessionIdOf(name.slice(0, at));
  return base ? { sessionId: base, archived } : null;
}

/** The session id in a transcript's base name: without `-topic-<n>` and a branch copy's `<ISO>_`. */
function sessionIdOf(base: string): string {
  const id = base.replace(/-topic-.+$/, "");
  const branch = /^\d{4}-\d{2}-\d{2}T[^_]*_(.+)$/.exec(id);
  return branch?.[1] ? branch[1] : id;
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
  // A branch copy (`<ISO>_<id>.jsonl`, which no sessions.json entry names) is moved here too: its
  // session is the id after the `<ISO>_`, as in sessions/ (else its calls went to the operator).
  const sessionId = sessionIdOf(t[1]);
  return sessionId ? { sessionId, archived: true } : null;
}
