import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { latencyMs, MAX_LATENCY_MS } from "../../src/meter/parse.js";
import { meterFor, OC_FIXTURE, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Latency derivation (docs/reports.md "Latency"): user message time (message.timestamp, else the
 * entry's ISO time) to the first billed reply's write time (the assistant entry's ISO timestamp),
 * through every reader: JSONL in one poll, JSONL resumed in a later poll by the same reader and by
 * a fresh one (restart: reads back before the cursor), tiny batches, and the OpenClaw SQLite
 * source (one poll and resumed).
 */

const T0 = Date.UTC(2026, 10, 22, 18, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();
let n = 0;

type Line = string;
/** A user line sent at `at` (message.timestamp), written at `writtenAt` (entry ISO). */
function U(at: number | null, opts: { writtenAt?: number | null; text?: string } = {}): Line {
  const writtenAt = opts.writtenAt === undefined ? (at ?? T0) + 1 : opts.writtenAt;
  const message: Record<string, unknown> = {
    role: "user",
    content: [{ type: "text", text: opts.text ?? "hi" }],
  };
  if (at !== null) message.timestamp = at;
  const e: Record<string, unknown> = { type: "message", id: `u${++n}`, parentId: null, message };
  if (writtenAt !== null) e.timestamp = iso(writtenAt);
  return JSON.stringify(e);
}
/** A billed assistant line: call started at `start` (message.timestamp), written at `writtenAt`. */
function A(
  start: number,
  writtenAt: number | null,
  opts: { stop?: string; zero?: boolean; provider?: string; content?: unknown[] } = {},
): Line {
  const k = ++n;
  const usage = opts.zero
    ? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0 }
    : { input: 100 + k, output: 10, cacheRead: 0, cacheWrite: 0, totalTokens: 110 + k };
  const e: Record<string, unknown> = {
    type: "message",
    id: `a${k}`,
    parentId: null,
    message: {
      role: "assistant",
      content: opts.content ?? [{ type: "text", text: `reply ${k}` }],
      provider: opts.provider ?? "mock",
      model: opts.provider === "openclaw" ? "delivery-mirror" : "mock-gpt",
      usage,
      stopReason: opts.stop ?? "stop",
      timestamp: start,
    },
  };
  if (writtenAt !== null) e.timestamp = iso(writtenAt);
  return JSON.stringify(e);
}
const TOOL = () =>
  JSON.stringify({
    type: "message",
    id: `t${++n}`,
    timestamp: iso(T0),
    message: { role: "toolResult", toolCallId: "c1", content: [{ type: "text", text: '{"role":"user"}' }] },
  });
const HEADER = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: iso(T0), cwd: "/tmp" });
const CUSTOM = JSON.stringify({ type: "custom", customType: "model-snapshot", data: {} });

interface Case {
  name: string;
  lines: Line[];
  /** Latency of each billed call, in line order. */
  want: (number | null)[];
}

const CASES: Case[] = [
  { name: "user then reply", lines: [HEADER, U(T0), A(T0 + 5, T0 + 800)], want: [800] },
  // a resume right after a 1-byte first line: the read-back must stop at the file start
  { name: "a blank first line", lines: ["", U(T0), A(T0 + 5, T0 + 800)], want: [800] },
  {
    name: "user entry ISO when message.timestamp is missing",
    lines: [U(null, { writtenAt: T0 + 100 }), A(T0 + 150, T0 + 900)],
    want: [800],
  },
  {
    name: "tool turn: only the first reply after the user line",
    lines: [U(T0), A(T0 + 1, T0 + 300, { stop: "toolUse" }), TOOL(), A(T0 + 400, T0 + 700)],
    want: [300, null],
  },
  {
    name: "several assistant lines per turn, then a new turn",
    lines: [U(T0), A(T0 + 1, T0 + 200), A(T0 + 201, T0 + 400), CUSTOM, U(T0 + 1000), A(T0 + 1001, T0 + 1250)],
    want: [200, null, 250],
  },
  {
    name: "two user lines before a reply: the last one counts",
    lines: [U(T0), U(T0 + 5000), A(T0 + 5001, T0 + 5600)],
    want: [600],
  },
  { name: "no user line (cron, session start)", lines: [HEADER, A(T0, T0 + 500)], want: [null] },
  {
    name: "out-of-order clocks: reply written before the user line",
    lines: [U(T0 + 10_000), A(T0 + 10_001, T0 + 9_000)],
    want: [null],
  },
  {
    name: "absurd: over an hour",
    lines: [U(T0), A(T0 + 1, T0 + MAX_LATENCY_MS + 1)],
    want: [null],
  },
  { name: "exactly an hour is kept", lines: [U(T0), A(T0 + 1, T0 + MAX_LATENCY_MS)], want: [MAX_LATENCY_MS] },
  { name: "reply without an ISO write time", lines: [U(T0), A(T0 + 1, null)], want: [null] },
  {
    name: "zero-usage error retries do not consume the turn (latency includes them)",
    lines: [
      U(T0),
      A(T0 + 1, T0 + 1500, { stop: "error", zero: true }),
      A(T0 + 1600, T0 + 3000, { stop: "error", zero: true }),
      A(T0 + 3100, T0 + 4000),
    ],
    want: [4000],
  },
  {
    name: "synthetic delivery-mirror lines do not consume the turn",
    lines: [U(T0), A(T0 + 1, T0 + 10, { provider: "openclaw", zero: true }), A(T0 + 20, T0 + 620)],
    want: [620],
  },
  {
    name: "a user-looking object inside a tool call is not a user line",
    lines: [
      U(T0),
      A(T0 + 1, T0 + 100, {
        stop: "toolUse",
        content: [{ type: "toolCall", id: "c1", name: "send", arguments: { role: "user", text: "x" } }],
      }),
      TOOL(),
      A(T0 + 200, T0 + 300),
    ],
    want: [100, null],
  },
  {
    name: "a broken user line changes nothing and is not rejected",
    lines: [U(T0), '{"type":"message","message":{"role":"user","content":"x",}', A(T0 + 1, T0 + 90)],
    want: [90],
  },
];

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function latencies(db: TempWorld["db"]): (number | null)[] {
  return (
    db.prepare("SELECT latency_ms AS l FROM usage_events ORDER BY message_ts_ms, id").all() as {
      l: number | null;
    }[]
  ).map((r) => r.l);
}

const sessionsDir = (world: TempWorld) => join(world.stateDir, "agents", "main", "sessions");

describe("latency derivation (JSONL)", () => {
  it("latencyMs: null for unknown, negative, above the cap", () => {
    expect(latencyMs(1000, 1500)).toBe(500);
    expect(latencyMs(null, 1500)).toBeNull();
    expect(latencyMs(1000, null)).toBeNull();
    expect(latencyMs(1500, 1000)).toBeNull();
    expect(latencyMs(0, MAX_LATENCY_MS + 1)).toBeNull();
  });

  for (const c of CASES) {
    it(`${c.name}: one poll, resumed at every line by the same and by a fresh reader, batches of 1`, async () => {
      // one poll
      w = tempWorld();
      mkdirSync(sessionsDir(w), { recursive: true });
      writeFileSync(join(sessionsDir(w), "s1.jsonl"), `${c.lines.join("\n")}\n`);
      const s = await meterFor(w, { readerThread: false }).runOnce();
      expect(latencies(w.db)).toEqual(c.want);
      expect(s.malformed).toBe(0);
      w.cleanup();

      for (let cut = 1; cut < c.lines.length; cut++) {
        for (const fresh of [false, true]) {
          w = tempWorld();
          mkdirSync(sessionsDir(w), { recursive: true });
          const file = join(sessionsDir(w), "s1.jsonl");
          writeFileSync(file, `${c.lines.slice(0, cut).join("\n")}\n`);
          const m = meterFor(w, { readerThread: false, batchSize: 1 });
          await m.runOnce();
          appendFileSync(file, `${c.lines.slice(cut).join("\n")}\n`);
          await (fresh ? meterFor(w, { readerThread: false, batchSize: 1 }) : m).runOnce();
          expect(latencies(w.db), `cut after line ${cut}, ${fresh ? "fresh" : "same"} reader`).toEqual(
            c.want,
          );
          w.cleanup();
        }
      }
      w = undefined;
    });
  }

  it("a pending user line does not leak into another transcript", async () => {
    w = tempWorld();
    mkdirSync(sessionsDir(w), { recursive: true });
    writeFileSync(join(sessionsDir(w), "a.jsonl"), `${U(T0)}\n`);
    writeFileSync(join(sessionsDir(w), "b.jsonl"), `${A(T0 + 1, T0 + 100)}\n`);
    await meterFor(w, { readerThread: false }).runOnce();
    expect(latencies(w.db)).toEqual([null]);
  });

  it("the fixtures: Clawdbot JSONL replies get user-message-to-reply latencies", async () => {
    w = tempWorld(join(OC_FIXTURE, "..", "clawdbot-2026.1.24-3"));
    await meterFor(w, { readerThread: false }).runOnce();
    const rows = w.db
      .prepare("SELECT latency_ms AS l, stop_reason AS s FROM usage_events WHERE latency_ms IS NOT NULL")
      .all() as { l: number; s: string }[];
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) expect(r.l).toBeLessThan(60_000);
  });
});

/** A minimal OpenClaw SQLite store: one agent, `transcript_events` only. */
function ocStore(world: TempWorld): Database.Database {
  const dir = join(world.stateDir, "agents", "main", "agent");
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, "openclaw-agent.sqlite"));
  db.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
             event_zstd BLOB, created_at INTEGER, PRIMARY KEY (session_id, seq))`);
  return db;
}

describe("latency derivation (OpenClaw SQLite)", () => {
  for (const c of CASES) {
    it(`${c.name}: one poll and resumed at every row by a fresh source`, async () => {
      for (let cut = 0; cut < c.lines.length; cut++) {
        w = tempWorld();
        const oc = ocStore(w);
        const ins = oc.prepare(
          "INSERT INTO transcript_events (session_id, seq, event_json) VALUES ('s1', ?, ?)",
        );
        for (let i = 0; i < cut; i++) ins.run(i + 1, c.lines[i]);
        if (cut > 0) await meterFor(w, { readerThread: false, batchSize: 1 }).runOnce();
        for (let i = cut; i < c.lines.length; i++) ins.run(i + 1, c.lines[i]);
        oc.close();
        await meterFor(w, { readerThread: false, batchSize: 1 }).runOnce();
        expect(latencies(w.db), `rows before the cut: ${cut}`).toEqual(c.want);
        w.cleanup();
      }
      w = undefined;
    });
  }

  it("the OpenClaw 2026.9 fixture: the SQLite rows and the same events read as JSONL give the same latencies", async () => {
    w = tempWorld(OC_FIXTURE);
    await meterFor(w, { readerThread: false }).runOnce();
    const fromSqlite = new Map(
      (
        w.db.prepare("SELECT dedupe_key AS k, latency_ms AS l FROM usage_events").all() as {
          k: string;
          l: number | null;
        }[]
      ).map((r) => [r.k, r.l]),
    );
    w.cleanup();
    // The export holds the same events as JSONL lines: read them as a JSONL-era transcript.
    w = tempWorld();
    mkdirSync(sessionsDir(w), { recursive: true });
    const exportDir = join(OC_FIXTURE, "sqlite-export", "main");
    for (const f of readdirSync(exportDir).filter((x) => x.endsWith(".jsonl")))
      writeFileSync(join(sessionsDir(w), f), readFileSync(join(exportDir, f)));
    await meterFor(w, { readerThread: false }).runOnce();
    const fromJsonl = w.db.prepare("SELECT dedupe_key AS k, latency_ms AS l FROM usage_events").all() as {
      k: string;
      l: number | null;
    }[];
    expect(fromJsonl.length).toBeGreaterThan(5);
    let compared = 0;
    for (const r of fromJsonl) {
      if (!fromSqlite.has(r.k)) continue;
      expect(fromSqlite.get(r.k), r.k).toBe(r.l);
      compared++;
    }
    expect(compared).toBe(fromJsonl.length);
    expect(fromJsonl.some((r) => r.l !== null)).toBe(true);
  });
});
