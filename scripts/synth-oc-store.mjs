// Builds OpenClaw SQLite session stores (`agents/<id>/agent/openclaw-agent.sqlite`, the layout of
// OpenClaw >= 2026.7.2) holding the same transcripts as a JSONL state dir written by synthState:
// one session window per session file (its key from sessions.json), one transcript_events row
// per line (event_json, seq from 0). Only the tables and columns creditgate's SQLite source reads
// are created, with OpenClaw 2026.9's names and keys (see ../shared/fixtures/openclaw-2026.9.6).
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";

const SCHEMA = `
CREATE TABLE session_nodes (
  session_key TEXT NOT NULL PRIMARY KEY,
  current_session_id TEXT NOT NULL,
  entry_json TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE session_windows (
  session_id TEXT NOT NULL PRIMARY KEY,
  session_key TEXT NOT NULL REFERENCES session_nodes(session_key) ON DELETE CASCADE,
  session_scope TEXT NOT NULL DEFAULT 'conversation',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  chat_type TEXT,
  channel TEXT,
  parent_session_key TEXT,
  spawned_by TEXT
) STRICT;
CREATE INDEX idx_agent_session_windows_session_key ON session_windows(session_key);
CREATE TABLE transcript_events (
  session_id TEXT NOT NULL REFERENCES session_windows(session_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  event_json TEXT,
  created_at INTEGER NOT NULL,
  event_zstd BLOB,
  event_utf8_bytes INTEGER,
  navigation_json TEXT,
  PRIMARY KEY (session_id, seq)
) STRICT;`;

/**
 * Writes `<outStateDir>/agents/<agent>/agent/openclaw-agent.sqlite` for every agent of
 * `stateDir` (a synthState JSONL state dir), replacing what is there.
 * @returns {{ rows: number, sessions: number, bytes: number }} transcript rows, sessions, event_json bytes
 */
export function ocStoreFromState(stateDir, outStateDir) {
  let rows = 0;
  let sessions = 0;
  let bytes = 0;
  for (const agent of readdirSync(join(stateDir, "agents"))) {
    const sessionsDir = join(stateDir, "agents", agent, "sessions");
    const index = JSON.parse(readFileSync(join(sessionsDir, "sessions.json"), "utf8"));
    const dir = join(outStateDir, "agents", agent, "agent");
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "openclaw-agent.sqlite");
    for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.exec(SCHEMA);
    const node = db.prepare("INSERT INTO session_nodes VALUES (?, ?, ?, ?)");
    const win = db.prepare(
      "INSERT INTO session_windows (session_id, session_key, created_at, updated_at, chat_type, channel) VALUES (?, ?, ?, ?, ?, ?)",
    );
    const ev = db.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    db.transaction(() => {
      for (const [key, e] of Object.entries(index)) {
        const entry = JSON.stringify({
          sessionId: e.sessionId,
          updatedAt: e.updatedAt,
          chatType: e.chatType,
          lastChannel: e.lastChannel,
        });
        node.run(key, e.sessionId, entry, e.updatedAt);
        win.run(e.sessionId, key, e.updatedAt, e.updatedAt, e.chatType ?? null, e.lastChannel ?? null);
        sessions++;
        const text = readFileSync(join(sessionsDir, `${e.sessionId}.jsonl`), "utf8");
        let seq = 0;
        for (const line of text.split("\n")) {
          if (!line) continue;
          ev.run(e.sessionId, seq++, line, e.updatedAt);
          rows++;
          bytes += Buffer.byteLength(line);
        }
      }
    })();
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
  }
  return { rows, sessions, bytes };
}
