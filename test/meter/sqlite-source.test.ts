import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createBiller } from "../../src/meter/biller.js";
import {
  addStats,
  type BatchSink,
  emptyStats,
  type MeterSource,
  type Reject,
} from "../../src/meter/source.js";
import { createReaderThread, type ReaderThread } from "../../src/meter/sources/jsonl-thread.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import type { ParsedUsage, PriceQuote, Pricer } from "../../src/meter/types.js";
import { usdFloatToPico } from "../../src/money.js";
import { OC_FIXTURE } from "../support/meter-env.js";
import { zstdStore } from "../support/zstd.js";

const FIXTURE = OC_FIXTURE;
const MAIN_DB = "agents/main/agent/openclaw-agent.sqlite";
const SUPPORT_DB = "agents/support/agent/openclaw-agent.sqlite";
const DELETED_ZST =
  "agents/main/sessions/239d247b-2d91-4de3-b43f-04d5f1b14bfd.jsonl.deleted.2026-11-22T18-19-31.611Z.f034ac701a8a49aea49a302c1b5bdcc5.zst";
const ALICE_SID = "8213c258-61fb-4420-afda-9f1b077d8f23"; // agent:main:telegram:direct:123456
const MAIN_SID = "70d33abb-7508-4dab-96fd-dc8f4f8b7cb8"; // agent:main:main

interface Tokens {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}
interface SummarySession {
  sessionKey: string;
  agentId: string;
  expected: Tokens & { costUsd: number };
}
interface Summary {
  totals: { expected: Tokens; expectedCostUsd: number };
  perAgent: Record<string, { expected: Tokens; expectedCostUsd: number }>;
  sessions: SummarySession[];
}
interface PlanEntry {
  agentId: string;
  channel: string | null;
  peer: string | null;
  via: string;
  sessionKey: string;
}
const summary = JSON.parse(readFileSync(join(FIXTURE, "summary.json"), "utf8")) as Summary;
const plan = JSON.parse(readFileSync(join(FIXTURE, "sessions-plan.json"), "utf8")) as PlanEntry[];

/** The fixture's model prices as integer pico-USD per token (= micro-USD per 1M tokens). */
const PRICES: Record<string, readonly [bigint, bigint, bigint, bigint]> = {
  "mock/mock-gpt": [3_000_000n, 15_000_000n, 300_000n, 3_750_000n],
  "mock/mock-mini": [150_000n, 600_000n, 75_000n, 0n],
  "mockanthropic/mock-claude": [1_000_000n, 5_000_000n, 100_000n, 1_250_000n],
};
const testPricer: Pricer = {
  price(u: ParsedUsage): PriceQuote {
    const p = PRICES[`${u.provider}/${u.model}`];
    if (!p) return { costPicoUsd: 0n, source: "fallback", version: "test", unknownModel: true };
    const cost =
      BigInt(u.input) * p[0] +
      BigInt(u.output) * p[1] +
      BigInt(u.cacheRead) * p[2] +
      BigInt(u.cacheWrite) * p[3];
    return { costPicoUsd: cost, source: "table", version: "test", unknownModel: false };
  },
};

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Copies a fixture tree into a writable temp dir (the fixture files themselves are read-only). */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    if (statSync(src).isDirectory()) copyTree(src, dst);
    else {
      copyFileSync(src, dst);
      chmodSync(dst, 0o644);
    }
  }
}

function assistantLine(o: {
  ts: number;
  input: number;
  output: number;
  cacheRead?: number;
  provider?: string;
  model?: string;
}): string {
  return JSON.stringify({
    type: "message",
    id: `a-${o.ts}`,
    parentId: null,
    timestamp: new Date(o.ts).toISOString(),
    message: {
      role: "assistant",
      content: [{ type: "text", text: "secret reply text" }],
      api: "openai-completions",
      provider: o.provider ?? "mock",
      model: o.model ?? "mock-gpt",
      usage: { input: o.input, output: o.output, cacheRead: o.cacheRead ?? 0, cacheWrite: 0 },
      stopReason: "stop",
      timestamp: o.ts,
      responseId: `resp-${o.ts}`,
    },
  });
}

interface Harness {
  dir: string;
  db: Db;
  sources: MeterSource[];
  sink: BatchSink;
  totals: { billed: number; duplicates: number; batches: number };
  stats: ReturnType<typeof emptyStats>;
  rejects: Reject[];
  pollAll(): Promise<void>;
  reset(): void;
  source(agentId: string, extra?: { busyTimeoutMs?: number }): MeterSource;
  /** The reader thread the sources read on (the describe's mode), or undefined (main thread). */
  thread: ReaderThread | undefined;
}

/** Every test runs twice: read on the main thread, and on the reader thread (set per describe). */
let threaded = false;
const threads: ReaderThread[] = [];
/** A reader thread for a test when its describe reads on one (terminated after the test). */
function maybeThread(): ReaderThread | undefined {
  if (!threaded) return undefined;
  const t = createReaderThread();
  threads.push(t);
  return t;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    for (const s of h.sources) s.close();
    h.db.close();
    rmSync(h.dir, { recursive: true, force: true });
  }
  for (const t of threads.splice(0)) {
    // the thread read everything (no crash: a fallback would hide a thread-path bug)
    expect(t.crashes).toBe(0);
    await t.terminate();
  }
});

function harness(opts: { batchSize?: number; agents?: string[] } = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), "cg-sqlite-src-"));
  copyTree(join(FIXTURE, "agents"), join(dir, "agents"));
  const db = openDatabase(join(dir, "creditgate", "creditgate.sqlite"));
  const biller = createBiller(db, createLedger(db), {
    pricer: testPricer,
    markup: { num: 1n, den: 1n },
    creditsPerUsd: { num: 1n, den: 1n },
  });
  const thread = maybeThread();
  const h: Harness = {
    dir,
    db,
    thread,
    sources: [],
    totals: { billed: 0, duplicates: 0, batches: 0 },
    stats: emptyStats(),
    rejects: [],
    sink(batch) {
      const r = biller.bill(batch);
      h.totals.billed += r.billed;
      h.totals.duplicates += r.duplicates;
      h.totals.batches++;
      addStats(h.stats, batch.stats);
      h.rejects.push(...batch.rejects);
    },
    async pollAll() {
      for (const s of h.sources) await s.poll(h.sink);
    },
    reset() {
      h.totals = { billed: 0, duplicates: 0, batches: 0 };
      h.stats = emptyStats();
      h.rejects = [];
    },
    source(agentId, extra = {}) {
      const s = createSqliteSource({
        agentDir: join(dir, "agents", agentId),
        agentId,
        db,
        batchSize: opts.batchSize ?? 7,
        ...extra,
        ...(thread ? { thread } : {}),
      });
      h.sources.push(s);
      return s;
    },
  };
  for (const a of opts.agents ?? ["main", "support"]) h.source(a);
  harnesses.push(h);
  return h;
}

function sums(db: Db, groupBy: "session_key" | "account_id" | "agent_id") {
  const rows = db
    .prepare<
      [],
      {
        k: string;
        input: number;
        output: number;
        cacheRead: number;
        cacheWrite: number;
        cost: number;
        n: number;
      }
    >(
      `SELECT ${groupBy} AS k, SUM(input_tokens) AS input, SUM(output_tokens) AS output,
         SUM(cache_read_tokens) AS cacheRead, SUM(cache_write_tokens) AS cacheWrite,
         SUM(cost_pico_usd) AS cost, COUNT(*) AS n
       FROM usage_events GROUP BY ${groupBy}`,
    )
    .all();
  return new Map(rows.map((r) => [r.k, r]));
}

const tokensOf = (t: Tokens) => ({
  input: t.input,
  output: t.output,
  cacheRead: t.cacheRead,
  cacheWrite: t.cacheWrite,
});

/** Opens a temp COPY of an OpenClaw DB for writing (playing the gateway). */
function openWriter(h: Harness, rel: string): Database.Database {
  return new Database(join(h.dir, rel));
}

function nextSeq(w: Database.Database, sid: string): number {
  const r = w
    .prepare<[string], { m: number }>("SELECT MAX(seq) AS m FROM transcript_events WHERE session_id = ?")
    .get(sid);
  return (r?.m ?? -1) + 1;
}

function insertJson(w: Database.Database, sid: string, json: string): number {
  const seq = nextSeq(w, sid);
  w.prepare(
    "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
  ).run(sid, seq, json, Date.now());
  return seq;
}

function insertZstd(w: Database.Database, sid: string, blob: Buffer, utf8Bytes: number): number {
  const seq = nextSeq(w, sid);
  const nav = w
    .prepare<[], { navigation_json: string }>(
      "SELECT navigation_json FROM transcript_events WHERE event_zstd IS NOT NULL LIMIT 1",
    )
    .get();
  w.prepare(
    `INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, event_utf8_bytes, navigation_json)
     VALUES (?, ?, NULL, ?, ?, ?, ?)`,
  ).run(sid, seq, Date.now(), blob, utf8Bytes, nav?.navigation_json ?? null);
  return seq;
}

const fixtureHashes = new Map<string, string>();
beforeAll(() => {
  for (const rel of [MAIN_DB, SUPPORT_DB, DELETED_ZST]) fixtureHashes.set(rel, sha(join(FIXTURE, rel)));
});
afterAll(() => {
  for (const [rel, hash] of fixtureHashes) expect(sha(join(FIXTURE, rel)), rel).toBe(hash);
});

describe.each([
  ["on the main thread", false],
  ["on the reader thread", true],
])("read %s", (_name, onThread) => {
  beforeAll(() => {
    threaded = onThread;
  });
  describe("createSqliteSource on the openclaw-2026.9.6 fixture", () => {
    test("bills exactly the expected tokens and cost per session key, end user and agent", async () => {
      const h = harness();
      const before = [MAIN_DB, SUPPORT_DB].map((rel) => sha(join(h.dir, rel)));
      await h.pollAll();

      const bySession = sums(h.db, "session_key");
      expect([...bySession.keys()].sort()).toEqual(summary.sessions.map((s) => s.sessionKey).sort());
      for (const s of summary.sessions) {
        const got = bySession.get(s.sessionKey);
        expect(got && tokensOf(got), s.sessionKey).toEqual(tokensOf(s.expected));
        expect(BigInt(got?.cost ?? -1), s.sessionKey).toBe(usdFloatToPico(s.expected.costUsd));
      }

      const byAccount = sums(h.db, "account_id");
      const accountOf = (p: PlanEntry) =>
        p.peer
          ? `${p.channel}:${p.peer.toLowerCase()}`
          : p.via === "openai-http"
            ? "openai-user:frank"
            : `agent:${p.agentId}`;
      expect([...byAccount.keys()].sort()).toEqual(plan.map(accountOf).sort());
      for (const p of plan) {
        const s = summary.sessions.find((x) => x.sessionKey === p.sessionKey);
        expect(s).toBeDefined();
        if (!s) continue;
        expect(tokensOf(byAccount.get(accountOf(p)) ?? s.expected), accountOf(p)).toEqual(
          tokensOf(s.expected),
        );
      }
      expect(byAccount.get("telegram:123456")).toBeDefined();
      expect(byAccount.get("whatsapp:+15551234567")).toBeDefined();
      expect(byAccount.get("openai-user:frank")).toBeDefined();
      expect(byAccount.get("agent:main")).toBeDefined();

      const byAgent = sums(h.db, "agent_id");
      for (const [agent, exp] of Object.entries(summary.perAgent)) {
        const got = byAgent.get(agent);
        expect(got && tokensOf(got), agent).toEqual(tokensOf(exp.expected));
        expect(BigInt(got?.cost ?? -1), agent).toBe(usdFloatToPico(exp.expectedCostUsd));
      }
      const total = h.db.prepare<[], { c: number }>("SELECT SUM(cost_pico_usd) AS c FROM usage_events").get();
      expect(BigInt(total?.c ?? -1)).toBe(usdFloatToPico(summary.totals.expectedCostUsd));

      // The deleted session is in the archive table AND the .zst file (different bytes): billed once.
      const grace = bySession.get("agent:main:telegram:direct:555000");
      expect(grace?.n).toBe(2);
      expect(h.totals.duplicates).toBe(2);
      const blobs = h.db
        .prepare<[], { name: string; events: number }>("SELECT name, events FROM meter_blobs_done")
        .all();
      expect(blobs.map((b) => b.events)).toEqual([2, 2]);
      expect(h.rejects).toEqual([]);
      expect(h.stats).toMatchObject({
        malformed: 0,
        lines: 153 + 20,
        usageLines: 29 + 4,
        zeroUsage: 2,
        files: 4,
      });

      // Every session learnt its key and account, archives included.
      const mem = h.db
        .prepare<[], { session_key: string; account_id: string }>(
          "SELECT session_key, account_id FROM meter_sessions WHERE session_id = '239d247b-2d91-4de3-b43f-04d5f1b14bfd'",
        )
        .get();
      expect(mem).toEqual({
        session_key: "agent:main:telegram:direct:555000",
        account_id: "telegram:555000",
      });
      expect(h.db.prepare("SELECT COUNT(*) AS n FROM meter_sessions").get()).toEqual({ n: 10 });

      // Read-only: the copies are byte-identical and got no journal/WAL sidecars.
      for (const s of h.sources) s.close();
      expect([MAIN_DB, SUPPORT_DB].map((rel) => sha(join(h.dir, rel)))).toEqual(before);
      for (const rel of [MAIN_DB, SUPPORT_DB]) {
        for (const suffix of ["-wal", "-shm", "-journal"])
          expect(existsSync(join(h.dir, rel + suffix))).toBe(false);
      }
    });

    test("a second poll, and a restarted source, bill and read nothing new", async () => {
      const h = harness();
      await h.pollAll();
      const billed = h.totals.billed;
      expect(billed).toBe(31);
      h.reset();
      await h.pollAll();
      expect(h.totals).toEqual({ billed: 0, duplicates: 0, batches: 0 });

      for (const s of h.sources.splice(0)) s.close();
      h.source("main");
      h.source("support");
      await h.pollAll();
      expect(h.totals).toEqual({ billed: 0, duplicates: 0, batches: 0 });
      expect(h.stats.lines).toBe(0);

      // No read transaction outlives a poll: the gateway can take its write lock at once.
      const w = new Database(join(h.dir, MAIN_DB), { timeout: 0 });
      expect(() => w.exec("BEGIN EXCLUSIVE; ROLLBACK")).not.toThrow();
      w.close();
    });

    test("a backfill is handed over in batches of at most batchSize rows, yielding to the event loop between them", async () => {
      const h = harness({ batchSize: 4, agents: [] });
      const src = h.source("support");
      let yielded = false;
      let sawYield = false;
      const sizes: number[] = [];
      setImmediate(() => {
        yielded = true;
      });
      await src.poll((batch) => {
        sizes.push(batch.stats.lines ?? 0);
        if (sizes.length === 2) sawYield = yielded;
        h.sink(batch);
      });
      expect(sawYield).toBe(true);
      expect(sizes.every((n) => n <= 4)).toBe(true);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(51);
      expect(h.totals.billed).toBe(9);
    });

    test("rows appended as event_json and event_zstd are billed on the next poll, once", async () => {
      const h = harness({ batchSize: 3 });
      await h.pollAll();
      h.reset();

      const w = openWriter(h, MAIN_DB);
      const jsonLine = assistantLine({ ts: 1_800_000_000_000, input: 1000, output: 10, cacheRead: 500 });
      insertJson(w, ALICE_SID, jsonLine);
      const zLine = Buffer.from(assistantLine({ ts: 1_800_000_000_500, input: 2000, output: 20 }));
      insertZstd(w, ALICE_SID, zstdStore(zLine), zLine.length);
      insertJson(w, MAIN_SID, JSON.stringify({ type: "custom", customType: "openclaw.cache-ttl", id: "x" }));
      w.close();

      await h.pollAll();
      expect(h.totals).toMatchObject({ billed: 2, duplicates: 0 });
      expect(h.stats).toMatchObject({ lines: 3, usageLines: 2, malformed: 0 });
      const rows = h.db
        .prepare<[], { account_id: string; input_tokens: number; cost_pico_usd: number; source_ref: string }>(
          "SELECT account_id, input_tokens, cost_pico_usd, source_ref FROM usage_events WHERE message_ts_ms >= 1800000000000 ORDER BY id",
        )
        .all();
      expect(rows).toEqual([
        {
          account_id: "telegram:123456",
          input_tokens: 1000,
          cost_pico_usd: 1000 * 3_000_000 + 10 * 15_000_000 + 500 * 300_000,
          source_ref: `sqlite:main#${ALICE_SID}:26`,
        },
        {
          account_id: "telegram:123456",
          input_tokens: 2000,
          cost_pico_usd: 2000 * 3_000_000 + 20 * 15_000_000,
          source_ref: `sqlite:main#${ALICE_SID}:27`,
        },
      ]);
      const cursor = h.db
        .prepare<[string], { last_seq: number }>(
          "SELECT last_seq FROM meter_sqlite_cursors WHERE session_id = ?",
        )
        .get(ALICE_SID);
      expect(cursor?.last_seq).toBe(27);

      h.reset();
      await h.pollAll();
      expect(h.totals.batches).toBe(0);
    });

    test("a rewrite watermark bump rescans the session from seq 0 without billing it twice", async () => {
      const h = harness();
      await h.pollAll();
      const genBefore = h.db
        .prepare<[string], { g: number }>(
          "SELECT rewrite_generation AS g FROM meter_sqlite_cursors WHERE session_id = ?",
        )
        .get(ALICE_SID);
      h.reset();

      const w = openWriter(h, MAIN_DB);
      w.prepare("UPDATE transcript_rewrite_watermarks SET generation = ? WHERE session_id = ?").run(
        "0123456789abcdef0123456789abcdef",
        ALICE_SID,
      );
      w.close();
      await h.pollAll();
      expect(h.stats.lines).toBe(26); // the whole session again
      expect(h.totals).toMatchObject({ billed: 0, duplicates: 6 });
      const genAfter = h.db
        .prepare<[string], { g: number; s: number }>(
          "SELECT rewrite_generation AS g, last_seq AS s FROM meter_sqlite_cursors WHERE session_id = ?",
        )
        .get(ALICE_SID);
      expect(genAfter?.g).not.toBe(genBefore?.g);
      expect(genAfter?.s).toBe(25);

      h.reset();
      await h.pollAll();
      expect(h.stats.lines).toBe(0);
    });

    test("malformed rows are counted and rejected with their location, and the rows after them still bill", async () => {
      const h = harness({ agents: ["main"] });
      await h.pollAll();
      h.reset();

      const w = openWriter(h, MAIN_DB);
      const s1 = insertJson(w, MAIN_SID, '{"type":"message","message":{"role":"assistant","usage":');
      const s2 = insertJson(
        w,
        MAIN_SID,
        JSON.stringify({
          type: "message",
          message: {
            role: "assistant",
            provider: "mock",
            model: "mock-gpt",
            // not an object (a count of 1e300, this row until 2026-12-03, is now held for review)
            usage: "1e300 tokens",
          },
        }),
      );
      const s3 = insertZstd(w, MAIN_SID, Buffer.from("definitely not zstd"), 19);
      insertJson(w, MAIN_SID, assistantLine({ ts: 1_800_000_001_000, input: 10, output: 1 }));
      w.close();

      await h.pollAll();
      expect(h.stats).toMatchObject({ malformed: 3, usageLines: 1, lines: 4 });
      expect(h.totals.billed).toBe(1);
      expect(h.rejects.map((r) => r.sourceRef)).toEqual(
        [s1, s2, s3].map((s) => `sqlite:main#${MAIN_SID}:${s}`),
      );
      for (const r of h.rejects) {
        expect(r.reason.length).toBeGreaterThan(0);
        expect(r.reason).not.toContain("assistant");
      }
      const stored = h.db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM meter_rejects").get();
      expect(stored?.n).toBe(3);
      expect(
        h.db.prepare("SELECT account_id FROM usage_events WHERE message_ts_ms = 1800000001000").get(),
      ).toEqual({
        account_id: "agent:main",
      });
    });
  });

  describe("createSqliteSource truncated rows", () => {
    test("rows that cannot be complete JSON are malformed even without usage, located, without their text", async () => {
      const h = harness({ agents: ["main"] });
      await h.pollAll();
      h.reset();

      const w = openWriter(h, MAIN_DB);
      const user = '{"type":"message","message":{"role":"user","content":[{"type":"text","text":"SECRET-CHAT';
      const s1 = insertJson(w, MAIN_SID, user);
      const s2 = insertJson(w, MAIN_SID, `${user}  \r`);
      const zipped = Buffer.from(`${user} more`);
      const s3 = insertZstd(w, MAIN_SID, zstdStore(zipped), zipped.length);
      insertJson(w, MAIN_SID, `${assistantLine({ ts: 1_800_000_002_000, input: 10, output: 1 })}\r\n`);
      w.close();

      await h.pollAll();
      expect(h.stats).toMatchObject({ malformed: 3, usageLines: 1, lines: 4 });
      expect(h.totals.billed).toBe(1);
      expect(h.rejects.map((r) => r.sourceRef)).toEqual(
        [s1, s2, s3].map((s) => `sqlite:main#${MAIN_SID}:${s}`),
      );
      for (const r of h.rejects) expect(JSON.stringify(r)).not.toContain("SECRET");
    });
  });

  describe("createSqliteSource archives and attribution", () => {
    test("an archive row and a .zst file with identical content are read once", async () => {
      const h = harness({ agents: ["main"] });
      const w = openWriter(h, MAIN_DB);
      const row = w
        .prepare<[], { archive_blob: Buffer }>("SELECT archive_blob FROM session_transcript_archives")
        .get();
      w.close();
      if (!row) throw new Error("fixture has no archive row");
      writeFileSync(join(h.dir, DELETED_ZST), row.archive_blob);

      await h.pollAll();
      const blobs = h.db.prepare<[], { name: string }>("SELECT name FROM meter_blobs_done").all();
      expect(blobs).toHaveLength(1);
      expect(blobs[0]?.name).toMatch(/^archive:main:239d247b-.*\.zst$/);
      expect(h.totals.duplicates).toBe(0);
      expect(h.stats.files).toBe(2); // the database + one archive
    });

    test("a deleted session's .zst file without an archive row bills the user remembered for that session", async () => {
      const h = harness({ agents: ["main"] });
      await h.pollAll(); // learns 8213c258 → telegram:123456
      h.reset();

      // OpenClaw deletes the session (rows gone) and publishes only the file, with one unbilled line.
      const w = openWriter(h, MAIN_DB);
      const events = w
        .prepare<[string], { event_json: string | null }>(
          "SELECT event_json FROM transcript_events WHERE session_id = ? ORDER BY seq",
        )
        .all(ALICE_SID)
        .map((r) => r.event_json)
        .filter((j): j is string => j !== null);
      w.pragma("foreign_keys = OFF");
      w.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(ALICE_SID);
      w.prepare("DELETE FROM session_windows WHERE session_id = ?").run(ALICE_SID);
      w.prepare("DELETE FROM session_nodes WHERE current_session_id = ?").run(ALICE_SID);
      w.close();
      const jsonl = `${[...events, assistantLine({ ts: 1_800_000_002_000, input: 7, output: 7 })].join("\n")}\n`;
      writeFileSync(
        join(h.dir, `agents/main/sessions/${ALICE_SID}.jsonl.deleted.2026-11-23T00-00-00.000Z.abcdef.zst`),
        zstdStore(Buffer.from(jsonl)),
      );

      await h.pollAll();
      expect(h.totals.billed).toBe(1);
      expect(h.totals.duplicates).toBe(6);
      const r = h.db
        .prepare<[], { account_id: string; session_key: string; source_ref: string }>(
          "SELECT account_id, session_key, source_ref FROM usage_events WHERE message_ts_ms = 1800000002000",
        )
        .get();
      expect(r?.account_id).toBe("telegram:123456");
      expect(r?.session_key).toBe("agent:main:telegram:direct:123456");
      expect(r?.source_ref).toMatch(/^archive:main:sessions\/8213c258-.*\.zst#line\d+$/);
    });

    test("a sub-agent session bills the end user of the session that spawned it", async () => {
      const h = harness({ agents: ["main"] });
      const w = openWriter(h, MAIN_DB);
      const key = "agent:main:subagent:11111111-2222-3333-4444-555555555555";
      const sid = "99999999-aaaa-bbbb-cccc-dddddddddddd";
      const t = Date.now();
      w.prepare(
        `INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at, spawned_by, parent_session_key)
       VALUES (?, ?, '{}', ?, ?, ?)`,
      ).run(key, sid, t, "agent:main:telegram:direct:987654", "agent:main:telegram:direct:987654");
      w.prepare(
        "INSERT INTO session_windows (session_id, session_key, created_at, updated_at) VALUES (?, ?, ?, ?)",
      ).run(sid, key, t, t);
      insertJson(w, sid, assistantLine({ ts: 1_800_000_003_000, input: 50, output: 5 }));
      w.close();

      await h.pollAll();
      const r = h.db
        .prepare<[], { account_id: string }>(
          "SELECT account_id FROM usage_events WHERE message_ts_ms = 1800000003000",
        )
        .get();
      expect(r?.account_id).toBe("telegram:987654");
    });
  });

  describe("createSqliteSource when the database is absent, foreign or busy", () => {
    test("polling a missing, non-SQLite or non-OpenClaw database is a no-op", async () => {
      const dir = mkdtempSync(join(tmpdir(), "cg-sqlite-none-"));
      const db = openDatabase(join(dir, "cg.sqlite"));
      try {
        const batches: unknown[] = [];
        const sink: BatchSink = (b) => batches.push(b);
        const thread = maybeThread();
        const problems: string[] = [];
        const make = (agent: string) =>
          createSqliteSource({
            agentDir: join(dir, "agents", agent),
            agentId: agent,
            db,
            batchSize: 10,
            ...(thread ? { thread } : {}),
          });

        await make("missing").poll(sink);

        mkdirSync(join(dir, "agents/garbage/agent"), { recursive: true });
        writeFileSync(
          join(dir, "agents/garbage/agent/openclaw-agent.sqlite"),
          "this is not a database at all".repeat(50),
        );
        const garbage = make("garbage");
        await garbage.poll(sink, (p) => problems.push(p.code));
        garbage.close();

        mkdirSync(join(dir, "agents/other/agent"), { recursive: true });
        const other = new Database(join(dir, "agents/other/agent/openclaw-agent.sqlite"));
        other.exec("CREATE TABLE unrelated (x INTEGER)");
        other.close();
        const foreign = make("other");
        await foreign.poll(sink);
        foreign.close();

        expect(batches).toEqual([]);
        // not a database: reported (its code crossed the thread), not thrown
        expect(problems).toEqual(["SQLITE_NOTADB"]);
      } finally {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("a database locked by a writer is skipped this round and read on the next", async () => {
      const h = harness({ agents: [] });
      const src = h.source("main", { busyTimeoutMs: 50 });
      const w = openWriter(h, MAIN_DB);
      w.exec("BEGIN EXCLUSIVE");
      insertJson(w, MAIN_SID, assistantLine({ ts: 1_800_000_004_000, input: 1, output: 1 }));
      const problems: { code: string; reason: string }[] = [];
      await src.poll(h.sink, (p) => problems.push(p));
      expect(h.totals.batches).toBe(0);
      expect(problems).toHaveLength(1);
      expect(problems[0]?.code).toMatch(/^SQLITE_BUSY/);
      expect(problems[0]?.reason).toMatch(/^locked by a writer, retried next poll/);
      w.exec("COMMIT");
      w.close();
      await src.poll(h.sink);
      expect(h.totals.billed).toBe(23); // main's 22 live + archived calls, plus the new one
    });
  });
});
