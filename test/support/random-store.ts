// Random OpenClaw SQLite stores (OpenClaw >= 2026.7.2) for the store reader's order- and
// thread-independent tests (sqlite-thread): one agent whose store is changed by random steps that
// keep every call written somewhere OpenClaw keeps transcripts (live rows, json or zstd; archive
// rows of deleted sessions, json or zstd, some also published as `.zst` files, identical or not;
// cold-storage rows), plus rewrite-watermark bumps, malformed rows and sub-agents; and the oracle
// of which account each call must be billed to.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { rng } from "./rng.js";
import { zstdStore } from "./zstd.js";

/** OpenClaw 2026.9's names, only the columns creditgate's store reader looks at. */
const SCHEMA = `
CREATE TABLE session_nodes (session_key TEXT PRIMARY KEY, current_session_id TEXT, entry_json TEXT,
  updated_at INTEGER, spawned_by TEXT, parent_session_key TEXT);
CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT, channel TEXT,
  created_at INTEGER, updated_at INTEGER, parent_session_key TEXT, spawned_by TEXT);
CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
  created_at INTEGER, event_zstd BLOB, event_utf8_bytes INTEGER, PRIMARY KEY (session_id, seq));
CREATE TABLE transcript_rewrite_watermarks (session_id TEXT PRIMARY KEY, generation TEXT);
CREATE TABLE session_transcript_archives (session_id TEXT, generation TEXT, session_key TEXT,
  archive_name TEXT, archive_sha256 TEXT, encoding TEXT, archive_blob BLOB, created_at INTEGER,
  PRIMARY KEY (session_id, generation));
CREATE TABLE session_transcript_cold_archives (session_id TEXT PRIMARY KEY, generation TEXT,
  archive_name TEXT, storage TEXT, archive_blob BLOB);`;

interface Session {
  id: string;
  key: string;
  account: string;
  live: boolean;
  /** Every line written to it (its transcript), for its archive. */
  lines: string[];
  /** Lines still in `transcript_events` (the rest went to cold storage). */
  first: number;
  seq: number;
  cold: boolean;
  subagent: boolean;
}

/** A store and random changes to it that keep every call line somewhere creditgate reads. */
export function randomStore(seed: number, dir: string) {
  const { next: r, pick, int } = rng(seed);
  const agentDir = join(dir, "state", "agents", "main");
  const sessionsDir = join(agentDir, "sessions");
  mkdirSync(join(agentDir, "agent"), { recursive: true });
  mkdirSync(sessionsDir, { recursive: true });
  const oc = new Database(join(agentDir, "agent", "openclaw-agent.sqlite"));
  oc.pragma("journal_mode = WAL");
  oc.exec(SCHEMA);
  const sessions: Session[] = [];
  /** message timestamp → account of the session that made the call */
  const accountOfCall = new Map<number, string>();
  let ts = 1_790_000_000_000;
  let n = 0;
  const insRow = oc.prepare(
    "INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const write = (s: Session, line: string) => {
    s.lines.push(line);
    const zipped = r() < 0.25;
    insRow.run(
      s.id,
      s.seq++,
      zipped ? null : line,
      n,
      zipped ? zstdStore(Buffer.from(line)) : null,
      zipped ? Buffer.byteLength(line) : null,
    );
  };
  const userLine = () => {
    ts += 1 + int(3000);
    return JSON.stringify({
      type: "message",
      id: `u${n++}`,
      timestamp: new Date(ts).toISOString(),
      message: { role: "user", content: [{ type: "text", text: "hello" }], timestamp: ts },
    });
  };
  const callLine = (account: string) => {
    ts += 1 + int(5000);
    const usage = { input: 1 + int(20000), output: 1 + int(800), cacheRead: int(3) * 100, cacheWrite: 0 };
    accountOfCall.set(ts, account);
    return JSON.stringify({
      type: "message",
      id: `m${n++}`,
      timestamp: new Date(ts).toISOString(),
      message: {
        role: "assistant",
        content: [{ type: "text", text: "ok" }],
        provider: "mock",
        model: "mock-gpt",
        usage: { ...usage, totalTokens: usage.input + usage.output },
        stopReason: "stop",
        timestamp: ts,
        responseId: `resp-${ts}`,
      },
    });
  };
  const peers = ["100", "101", "102", "103", "104"];
  const ops: [number, () => void][] = [
    [
      4,
      function newSession() {
        const id = `${int(0xffffffff).toString(16).padStart(8, "0")}-0000-4000-a000-${String(n++).padStart(12, "0")}`;
        const users = sessions.filter((s) => !s.subagent && s.account.startsWith("telegram:"));
        const x = r();
        let key: string;
        let account: string;
        let parent: string | null = null;
        if (x < 0.15) {
          key = `agent:main:cron:${n++}`;
          account = "agent:main";
        } else if (x < 0.35 && users.length > 0) {
          const p = pick(users);
          parent = p.key;
          key = `agent:main:subagent:${n++}`;
          account = p.account;
        } else {
          const peer = pick(peers);
          key = `agent:main:telegram:direct:${peer}`;
          // one live session per key: OpenClaw's reset gives the key a new session id
          const prev = sessions.find((s) => s.live && s.key === key);
          if (prev) return;
          account = `telegram:${peer}`;
        }
        oc.prepare("INSERT OR REPLACE INTO session_nodes VALUES (?, ?, '{}', ?, ?, ?)").run(
          key,
          id,
          n,
          parent,
          parent,
        );
        oc.prepare("INSERT INTO session_windows VALUES (?, ?, 'telegram', ?, ?, ?, ?)").run(
          id,
          key,
          n,
          n,
          parent,
          parent,
        );
        const s: Session = {
          id,
          key,
          account,
          live: true,
          lines: [],
          first: 0,
          seq: 0,
          cold: false,
          subagent: parent !== null,
        };
        sessions.push(s);
        write(s, JSON.stringify({ type: "session", version: 3, id }));
      },
    ],
    [
      8,
      function append() {
        const live = sessions.filter((s) => s.live);
        if (live.length === 0) return;
        const s = pick(live);
        for (let i = 1 + int(4); i > 0; i--) {
          if (r() < 0.6) write(s, userLine());
          write(s, callLine(s.account));
          if (r() < 0.3)
            write(s, JSON.stringify({ type: "message", id: `t${n++}`, message: { role: "toolResult" } }));
          if (r() < 0.03) write(s, '{"type":"message","message":{"role":"assistant","usage":');
        }
      },
    ],
    [
      1,
      function rewrite() {
        const live = sessions.filter((s) => s.live);
        if (live.length === 0) return;
        oc.prepare("INSERT OR REPLACE INTO transcript_rewrite_watermarks VALUES (?, ?)").run(
          pick(live).id,
          `g${n++}`,
        );
      },
    ],
    [
      1.5,
      function remove() {
        // a deleted session: its rows go to the archive table (and often to a .zst file too)
        const live = sessions.filter((s) => s.live && !s.subagent && !s.cold);
        if (live.length === 0) return;
        const s = pick(live);
        const content = Buffer.from(`${s.lines.join("\n")}\n`);
        const zipped = r() < 0.5;
        const name = `${s.id}.jsonl.deleted.2026-11-2${int(10)}T10-11-12.${n++}Z.zst`;
        oc.prepare("INSERT INTO session_transcript_archives VALUES (?, ?, ?, ?, NULL, ?, ?, ?)").run(
          s.id,
          `gen${n++}`,
          s.key,
          name,
          zipped ? "zstd" : null,
          zipped ? zstdStore(content) : content,
          n,
        );
        oc.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(s.id);
        oc.prepare("DELETE FROM session_windows WHERE session_id = ?").run(s.id);
        oc.prepare("DELETE FROM session_nodes WHERE current_session_id = ?").run(s.id);
        const x = r();
        // the same transcript as a file: identical (read once), or with a line more (dedupe)
        if (x < 0.35) writeFileSync(join(sessionsDir, name), zstdStore(content));
        else if (x < 0.55)
          writeFileSync(
            join(sessionsDir, name),
            zstdStore(Buffer.concat([content, Buffer.from('{"type":"custom","id":"x"}\n')])),
          );
        s.live = false;
      },
    ],
    [
      0.7,
      function coldStorage() {
        // the transcript so far moves to cold storage in the database; the session goes on
        const live = sessions.filter((s) => s.live && !s.cold && s.lines.length > 1);
        if (live.length === 0) return;
        const s = pick(live);
        const content = Buffer.from(`${s.lines.join("\n")}\n`);
        oc.prepare("INSERT INTO session_transcript_cold_archives VALUES (?, ?, ?, 'sqlite', ?)").run(
          s.id,
          `cold${n++}`,
          `${n++}.jsonl.zst`,
          zstdStore(content),
        );
        oc.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(s.id);
        s.cold = true;
        s.first = s.lines.length;
      },
    ],
  ];
  const total = ops.reduce((a, [w]) => a + w, 0);
  const step = () => {
    let x = r() * total;
    for (const [w, op] of ops) {
      x -= w;
      if (x < 0) return op();
    }
  };
  return {
    r,
    agentDir,
    step,
    /** message timestamp → account, of every call written so far */
    expected: () => new Map(accountOfCall),
    /** Sessions created so far (each has a key: one `meter_sessions` row once read). */
    sessionCount: () => sessions.length,
    close(): void {
      oc.close();
    },
  };
}

/**
 * A closed random store (`randomStore(seed, dir)` after `steps` steps): its agent dir, store file,
 * and the first live session by id with its highest seq (the session these tests write to).
 * @throws Error when the store has no live session
 */
export function steppedStore(
  seed: number,
  dir: string,
  steps: number,
): { agentDir: string; store: string; sid: string; maxSeq: number } {
  const rs = randomStore(seed, dir);
  for (let i = 0; i < steps; i++) rs.step();
  rs.close();
  const store = join(rs.agentDir, "agent", "openclaw-agent.sqlite");
  const oc = new Database(store, { readonly: true });
  const first = oc
    .prepare<[], { sid: string; m: number }>(
      "SELECT session_id AS sid, MAX(seq) AS m FROM transcript_events GROUP BY session_id ORDER BY session_id LIMIT 1",
    )
    .get();
  oc.close();
  if (!first) throw new Error("the random store has no live session");
  return { agentDir: rs.agentDir, store, sid: first.sid, maxSeq: first.m };
}
