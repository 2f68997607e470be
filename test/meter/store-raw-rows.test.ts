// The store reader reads `transcript_events` rows with a raw statement (`[seq, event_json,
// event_zstd]` tuples, not objects). Odd rows of hand-made or non-STRICT stores must bill, reject
// and move cursors exactly as before: a blob, a number or NULL in event_json, event_zstd set or
// not, a missing event_json or event_zstd column, very long rows, rows spread over several batches,
// and cursor fingerprints carried across polls. Every scenario runs at several batch sizes, on the
// calling thread and on the reader thread, and must give the same result each time.
//
// With CG_RAW_ROWS_DUMP=<dir> each scenario's result is also written there as JSON, so that two
// trees (e.g. this one and one with the previous commit's sqlite-reader.ts) can be diffed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import type { SourceBatch } from "../../src/meter/source.js";
import { createReaderThread, type ReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import { rowFingerprint } from "../../src/meter/sources/sqlite-reader.js";
import { mockCallLine, synthBiller } from "../support/meter-env.js";
import { zstdStore } from "../support/zstd.js";

const dirs: string[] = [];
let thread: ReaderThread | undefined;
afterAll(async () => {
  await thread?.terminate();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Cell = string | number | Buffer | null;
/** A row: session, seq, event_json, event_zstd (columns a store lacks are left out). */
type Row = [sid: string, seq: number, json: Cell, zstd: Cell];

interface Scenario {
  /** `transcript_events`' columns after `session_id, seq` (non-STRICT unless it says so). */
  ddl: string;
  cols: ("event_json" | "event_zstd")[];
  /** Rows of the first poll, then rows written (INSERT OR REPLACE) before each later poll. */
  steps: Row[][];
}

const T0 = 1_795_000_000_000;
const call = (i: number, pad = 0) => {
  const line = JSON.parse(mockCallLine(T0 + i * 1000, `r${i}`));
  if (pad) line.message.content = [{ type: "text", text: "x".repeat(pad) }];
  return JSON.stringify(line);
};
const user = (i: number) =>
  JSON.stringify({
    type: "message",
    id: `u${i}`,
    timestamp: new Date(T0 + i * 1000 - 500).toISOString(),
    message: { role: "user", content: [{ type: "text", text: "hi" }], timestamp: T0 + i * 1000 - 500 },
  });
const z = (s: string) => zstdStore(Buffer.from(s));

const ODD: Row[] = [
  ["s1", 0, user(1), null],
  ["s1", 1, call(1), null],
  ["s1", 2, Buffer.from(call(2)), null], // a blob in event_json
  ["s1", 3, 42, null], // a number in event_json
  ["s1", 4, 1.5, null],
  ["s1", 5, null, z(call(3))], // NULL with event_zstd
  ["s1", 6, null, null], // neither
  ["s1", 7, null, Buffer.from("not a zstd frame")],
  ["s1", 8, null, 7], // a number in event_zstd
  ["s1", 9, call(4, 2_000_000), null], // a very long row (~2 MB)
  ["s1", 10, call(5), z(call(6))], // both: event_json wins
  ["s1", 11, "", null],
  ["s1", 12, "not json", null],
  ["s1", 13, Buffer.from([0xff, 0xfe, 0x7b]), null], // a blob that is not UTF-8
  ["s1", 20, null, z(call(7, 300_000))], // a gap in seq, a long zstd row
  ["s1", 21, Buffer.alloc(0), null], // an empty blob
  ...Array.from(
    { length: 23 },
    (_, i): Row => ["s2", i, i % 3 === 0 ? null : call(100 + i), i % 3 === 0 ? z(call(100 + i)) : null],
  ),
];

const SCENARIOS: Record<string, Scenario> = {
  // event_json and event_zstd without a type: values keep their storage class (a number stays one)
  untyped: {
    ddl: "event_json, event_zstd",
    cols: ["event_json", "event_zstd"],
    steps: [
      ODD,
      // appended rows, odd ones last (the cursor's fingerprint of a number, a blob, NULL+zstd)
      [
        ["s1", 22, user(8), null],
        ["s1", 23, call(8), null],
        ["s1", 24, 99, null],
        ["s2", 23, null, z(call(200))],
        ["s3", 0, Buffer.from(call(300)), null],
      ],
      // the rows at the cursors change in place (same seq): rescans, nothing billed twice
      [
        ["s1", 24, Buffer.from(call(9)), null],
        ["s2", 23, null, z(call(201))],
        ["s3", 0, call(301), null],
        ["s3", 1, user(10), null], // s3 grew: its cursor's row is checked this poll
      ],
      // and back to odd values
      [
        ["s1", 24, null, null],
        ["s3", 1, 3.25, null],
      ],
    ],
  },
  // the fixture's declared types (TEXT/BLOB affinity), not STRICT
  typed: {
    ddl: "event_json TEXT, created_at INTEGER, event_zstd BLOB",
    cols: ["event_json", "event_zstd"],
    steps: [ODD, [["s1", 30, null, z(call(400))]], [["s1", 30, call(401), null]]],
  },
  "no event_zstd column": {
    ddl: "event_json",
    cols: ["event_json"],
    steps: [
      [
        ["s1", 0, call(500), null],
        ["s1", 1, null, null],
        ["s1", 2, Buffer.from(call(501)), null],
        ["s1", 3, 8, null],
        ["s1", 4, call(502, 500_000), null],
      ],
      [["s1", 5, null, null]],
      [["s1", 5, call(503), null]],
    ],
  },
  "no event_json column": {
    ddl: "event_zstd",
    cols: ["event_zstd"],
    steps: [
      [
        ["s1", 0, null, z(call(600))],
        ["s1", 1, null, null],
        ["s1", 2, null, Buffer.from("garbage")],
        ["s1", 3, null, z(call(601, 400_000))],
        ["s1", 4, null, 12],
      ],
      [["s1", 5, null, z(call(602))]],
      [["s1", 5, null, null]],
    ],
  },
};

function writeRows(store: string, s: Scenario, rows: Row[]): void {
  const oc = new Database(store);
  const names = ["session_id", "seq", ...s.cols];
  const ins = oc.prepare(
    `INSERT OR REPLACE INTO transcript_events (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})`,
  );
  oc.transaction(() => {
    for (const [sid, seq, json, zstd] of rows) {
      const v: Cell[] = [sid, seq];
      if (s.cols.includes("event_json")) v.push(json);
      if (s.cols.includes("event_zstd")) v.push(zstd);
      ins.run(...v);
    }
  })();
  oc.close();
}

/** Runs a scenario's polls into a fresh database; what it billed, rejected and left in cursors. */
async function run(s: Scenario, batchSize: number, threaded: boolean) {
  const dir = mkdtempSync(join(tmpdir(), "cg-raw-rows-"));
  dirs.push(dir);
  const agentDir = join(dir, "state", "agents", "main");
  mkdirSync(join(agentDir, "agent"), { recursive: true });
  mkdirSync(join(agentDir, "sessions"), { recursive: true });
  const store = join(agentDir, "agent", "openclaw-agent.sqlite");
  const oc = new Database(store);
  oc.pragma("journal_mode = WAL");
  oc.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, ${s.ddl},
    PRIMARY KEY (session_id, seq));
    CREATE TABLE session_windows (session_id TEXT PRIMARY KEY, session_key TEXT, channel TEXT);
    INSERT INTO session_windows VALUES ('s1', 'agent:main:telegram:direct:1', 'telegram'),
      ('s2', 'agent:main:telegram:direct:2', 'telegram'), ('s3', 'agent:main:main', NULL);`);
  oc.close();
  const db = openDatabase(join(dir, "db.sqlite"));
  if (threaded) thread ??= createReaderThread();
  const polls: { billed: number; problems: unknown[]; bytes: number; lines: number; rescans: number }[] = [];
  try {
    const biller = synthBiller(db);
    const source = () =>
      createSqliteSource({ agentDir, agentId: "main", db, batchSize, ...(threaded ? { thread } : {}) });
    let src = source();
    // each step's rows, then two more polls (nothing new: nothing billed, no new reject); after
    // the last step, a new reader (its first poll is a full reconcile: every cursor's row checked)
    for (const rows of [...s.steps, null]) {
      if (rows) writeRows(store, s, rows);
      else {
        src.close();
        src = source();
      }
      for (let i = 0; i < 3; i++) {
        const p = { billed: 0, problems: [] as unknown[], bytes: 0, lines: 0, rescans: 0 };
        await src.poll(
          (b: SourceBatch) => {
            p.billed += biller.bill(b).billed;
            p.bytes += b.stats.bytes ?? 0;
            p.lines += b.stats.lines ?? 0;
            p.rescans += b.stats.rescans ?? 0;
          },
          (x) => p.problems.push(x),
        );
        polls.push(p);
      }
    }
    src.close();
    if (thread) expect(thread.crashes).toBe(0);
    return {
      polls,
      usage: db
        .prepare(
          `SELECT session_id, session_key, account_id, source_ref, response_id, input_tokens, output_tokens,
             latency_ms, charge_micro_credits FROM usage_events ORDER BY id`,
        )
        .all(),
      rejects: db.prepare("SELECT source_ref, reason FROM meter_rejects ORDER BY source_ref").all(),
      cursors: db
        .prepare(
          "SELECT session_id, last_seq, rewrite_generation, last_row_sha256 FROM meter_sqlite_cursors ORDER BY session_id",
        )
        .all(),
    };
  } finally {
    db.close();
  }
}

/** The fingerprint of the row a session ends with after the scenario's last step. */
function lastRows(s: Scenario): Map<string, string> {
  const rows = new Map<string, Row>();
  for (const step of s.steps)
    for (const r of step) {
      const prev = rows.get(r[0]);
      if (!prev || r[1] >= prev[1]) rows.set(r[0], r);
    }
  const out = new Map<string, string>();
  for (const [sid, [, , json, zstd]] of rows) {
    const j = s.cols.includes("event_json") ? json : null;
    const zz = s.cols.includes("event_zstd") ? zstd : null;
    out.set(sid, rowFingerprint(j as string | null, zz as Buffer | null));
  }
  return out;
}

describe.each(Object.entries(SCENARIOS))("store rows read raw: %s", (name, s) => {
  it("bill, reject and move cursors the same at every batch size, on either thread", async () => {
    const base = await run(s, 1000, false);
    // nothing is billed or rejected twice; later polls of a step read nothing new
    for (let i = 0; i < base.polls.length; i++) if (i % 3) expect(base.polls[i]?.billed, `poll ${i}`).toBe(0);
    for (const p of base.polls) expect(p.problems).toEqual([]);
    const ids = base.usage.map((u) => (u as { response_id: string }).response_id);
    expect(new Set(ids).size).toBe(ids.length);
    // every cursor ends at its session's last row, with that row's fingerprint
    const fps = lastRows(s);
    for (const c of base.cursors as { session_id: string; last_row_sha256: string }[])
      expect(c.last_row_sha256, c.session_id).toBe(fps.get(c.session_id));
    expect(base.cursors.length).toBe(fps.size);
    if (process.env.CG_RAW_ROWS_DUMP) {
      mkdirSync(process.env.CG_RAW_ROWS_DUMP, { recursive: true });
      writeFileSync(join(process.env.CG_RAW_ROWS_DUMP, `${name}.json`), JSON.stringify(base, null, 1));
    }
    for (const [size, threaded] of [
      [1, false],
      [2, true],
      [3, false],
      [5, true],
      [1000, true],
    ] as const) {
      const r = await run(s, size, threaded);
      // batch boundaries change how a poll is split, not what it bills, rejects or leaves
      expect(r.usage, `batch ${size}, thread ${threaded}`).toEqual(base.usage);
      expect(r.rejects, `batch ${size}, thread ${threaded}`).toEqual(base.rejects);
      expect(r.cursors, `batch ${size}, thread ${threaded}`).toEqual(base.cursors);
      expect(
        r.polls.map((p) => [p.billed, p.bytes, p.lines]),
        `batch ${size}, thread ${threaded}`,
      ).toEqual(base.polls.map((p) => [p.billed, p.bytes, p.lines]));
    }
  }, 120_000);
});

describe("store rows read raw: what the odd rows come to", () => {
  it("untyped store: billed calls, rejects by reason, rescans of rows changed in place", async () => {
    const r = await run(SCENARIOS.untyped as Scenario, 4, true);
    const rej = new Map(
      (r.rejects as { source_ref: string; reason: string }[]).map((x) => [x.source_ref, x.reason]),
    );
    expect(rej.get("sqlite:main#s1:3")).toBe("event_json is neither text nor a blob");
    expect(rej.get("sqlite:main#s1:4")).toBe("event_json is neither text nor a blob");
    expect(rej.get("sqlite:main#s1:6")).toBe("row has neither event_json nor event_zstd");
    expect(rej.get("sqlite:main#s1:7")).toBe("event_zstd does not decode");
    expect(rej.has("sqlite:main#s1:8")).toBe(true);
    const ids = (r.usage as { response_id: string }[]).map((u) => u.response_id).sort();
    // r2 from a blob, r3 from zstd, r4 ~2 MB, r5 not r6 (event_json wins), r7 long zstd,
    // r201 (s2:23 rewritten in place, found by the last reader's reconcile), r300 (s3:0 as a blob),
    // r301 (s3:0 rewritten, found when s3 grew). r9 (s1:24 as a blob) was gone before any check saw it.
    for (const id of ["r1", "r2", "r3", "r4", "r5", "r7", "r8", "r200", "r201", "r300", "r301"])
      expect(ids).toContain(id);
    expect(ids).not.toContain("r6");
    expect(ids).not.toContain("r9");
    for (let i = 100; i < 123; i++) expect(ids).toContain(`r${i}`);
    // the changed rows at the cursors were noticed: s3's when it grew, the rest at the reconcile
    expect(r.polls[6]?.rescans).toBe(1);
    expect(r.polls[9]?.rescans).toBe(0);
    expect(r.polls[12]?.rescans).toBeGreaterThan(0);
  }, 60_000);
});
