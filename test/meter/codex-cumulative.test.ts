import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { usageEvent as pluginUsageEvent } from "../../plugin/src/push.js";
import { pushEventOf } from "../../src/edge/outbox.js";
import { meterIdentityOf, pushEventSchema } from "../../src/ingest/push.js";
import {
  CODEX_CUMULATIVE_BEFORE_MS,
  CODEX_CUMULATIVE_FROM_MS,
  type CodexCumulative,
  codexCumulativeOf,
  codexIncrement,
} from "../../src/meter/codex-cumulative.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { packEvents, unpackEvents } from "../../src/meter/sources/event-columns.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { casePricer, meterFor, OC_FIXTURE, tempWorld } from "../support/meter-env.js";

const T = Date.UTC(2026, 3, 10, 9, 0, 0);

/** A Codex-harness assistant line as OpenClaw 2026.4.10 wrote it (input holds the cache, total = input + output, cost 0). */
function harnessLine(
  ts: number,
  input: number,
  output: number,
  cacheRead: number,
  over: { model?: string; provider?: string; total?: number; cost?: number; responseId?: string } = {},
): string {
  return JSON.stringify({
    type: "message",
    id: `h${ts}`,
    parentId: null,
    timestamp: new Date(ts + 40).toISOString(),
    message: {
      role: "assistant",
      content: [{ type: "text", text: "ok" }],
      api: "openai-codex-responses",
      provider: over.provider ?? "codex",
      model: over.model ?? "gpt-5.4",
      usage: {
        input,
        output,
        cacheRead,
        cacheWrite: 0,
        totalTokens: over.total ?? input + output,
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: over.cost ?? 0 },
      },
      stopReason: "stop",
      timestamp: ts,
      ...(over.responseId ? { responseId: over.responseId } : {}),
    },
  });
}

function parsed(line: string): ParsedUsage {
  const r = parseLine(line);
  if (r.kind !== "usage") throw new Error(`not a usage line: ${r.kind}`);
  return r.usage;
}

/** Bills a transcript's lines in order as the reader does, from its start. */
function billAll(lines: string[]): (ParsedUsage | null)[] {
  let state: CodexCumulative | null = null;
  return lines.map((l) => {
    const step = codexIncrement(parsed(l), state);
    state = step.state;
    return step.usage;
  });
}

const counts = (u: ParsedUsage | null) =>
  u && { input: u.input, output: u.output, cacheRead: u.cacheRead, totalTokens: u.totalTokens };

describe("codexCumulativeOf: only a Codex-harness line of the cumulative era", () => {
  it("reads the written counts of a harness line before 2026-04-11", () => {
    expect(codexCumulativeOf(parsed(harnessLine(T, 40000, 1370, 25600)))).toEqual({
      provider: "codex",
      model: "gpt-5.4",
      messageTsMs: T,
      input: 40000,
      output: 1370,
      cacheRead: 25600,
    });
  });

  it.each([
    [
      "at 2026-04-11 00:00 UTC (#64669 could exist)",
      harnessLine(CODEX_CUMULATIVE_BEFORE_MS, 40000, 1370, 25600),
    ],
    ["before the harness existed", harnessLine(CODEX_CUMULATIVE_FROM_MS - 1, 40000, 1370, 25600)],
    [
      "pi-ai's shape (total = the sum of the four counts)",
      harnessLine(T, 14400, 1370, 25600, { total: 41370 }),
    ],
    ["a recorded cost", harnessLine(T, 40000, 1370, 25600, { cost: 0.01 })],
    ["a response id", harnessLine(T, 40000, 1370, 25600, { responseId: "resp_0123456789abcdef" })],
  ])("not %s", (_why, line) => {
    expect(codexCumulativeOf(parsed(line))).toBeNull();
  });

  it("not another api", () => {
    const line = harnessLine(T, 40000, 1370, 25600).replace("openai-codex-responses", "openai-responses");
    expect(codexCumulativeOf(parsed(line))).toBeNull();
  });
});

describe("codexIncrement: a thread's running totals billed once", () => {
  const thread = [
    harnessLine(T, 12400, 600, 0),
    harnessLine(T + 600_000, 40000, 1370, 25600),
    harnessLine(T + 1_200_000, 55000, 1870, 39424),
  ];

  it("bills each line as its increment; the sum is the last line's counts", () => {
    expect(billAll(thread).map(counts)).toEqual([
      { input: 12400, output: 600, cacheRead: 0, totalTokens: 13000 },
      { input: 2000, output: 770, cacheRead: 25600, totalTokens: 28370 },
      { input: 1176, output: 500, cacheRead: 13824, totalTokens: 15500 },
    ]);
  });

  it("keeps the identity of the counts as written", () => {
    const billed = billAll(thread);
    thread.forEach((l, i) => {
      expect(dedupeKey(billed[i] as ParsedUsage)).toBe(dedupeKey(parsed(l)));
    });
  });

  it("a new thread (a count below the previous line's) is billed as written", () => {
    const lines = [...thread, harnessLine(T + 1_800_000, 15000, 400, 3072)];
    expect(counts(billAll(lines)[3] ?? null)).toEqual({
      input: 11928,
      output: 400,
      cacheRead: 3072,
      totalTokens: 15400,
    });
  });

  it("another model, or a line without cached tokens, is billed as written", () => {
    const other = billAll([
      thread[0] as string,
      harnessLine(T + 600_000, 40000, 1370, 25600, { model: "gpt-5.2" }),
    ]);
    expect(counts(other[1] ?? null)).toEqual({
      input: 14400,
      output: 1370,
      cacheRead: 25600,
      totalTokens: 41370,
    });
    const uncached = billAll([thread[0] as string, harnessLine(T + 600_000, 30000, 900, 0)]);
    expect(counts(uncached[1] ?? null)).toEqual({
      input: 30000,
      output: 900,
      cacheRead: 0,
      totalTokens: 30900,
    });
  });

  it("a re-appended copy of an earlier line changes nothing; the next line continues from the latest", () => {
    const lines = [thread[0], thread[1], thread[2], thread[1]] as string[];
    const next = harnessLine(T + 1_800_000, 71000, 2300, 53248);
    const billed = billAll([...lines, next]);
    expect(counts(billed[3] ?? null)).toEqual(counts(parsed(thread[1] as string)));
    expect(counts(billed[4] ?? null)).toEqual({
      input: 2176,
      output: 430,
      cacheRead: 13824,
      totalTokens: 16430,
    });
  });

  it("a line that adds nothing to its thread is no call", () => {
    expect(billAll([thread[1] as string, harnessLine(T + 900_000, 40000, 1370, 25600)])[1]).toBeNull();
  });

  it("never reduces a per-request line written after the fix, however its counts grow", () => {
    const after = CODEX_CUMULATIVE_BEFORE_MS + 3_600_000;
    const lines = [
      harnessLine(after, 12400, 600, 0),
      harnessLine(after + 60_000, 13500, 350, 12288),
      harnessLine(after + 120_000, 14100, 420, 13312),
      harnessLine(after + 180_000, 15000, 500, 13824),
    ];
    const billed = billAll(lines);
    lines.forEach((l, i) => {
      expect(billed[i]).toEqual(parsed(l));
    });
  });

  it("never reduces a line of another writer (pi-ai's openai-codex lines, other apis) in the window", () => {
    const pi = (ts: number, input: number, output: number, cacheRead: number) =>
      harnessLine(ts, input, output, cacheRead, {
        provider: "openai-codex",
        total: input + output + cacheRead,
      });
    const lines = [pi(T, 12400, 600, 0), pi(T + 60_000, 1200, 350, 12288), pi(T + 120_000, 1500, 420, 13312)];
    const billed = billAll(lines);
    lines.forEach((l, i) => {
      expect(billed[i]).toEqual(parsed(l));
    });
  });

  it("an increment rides through the reader thread's columns with its identity", () => {
    const billed = billAll(thread)[2] as ParsedUsage;
    const e = {
      ...billed,
      agentId: "main",
      sessionId: "s",
      sessionKey: null,
      accountId: "agent:main",
      source: "jsonl" as const,
      sourceRef: "x@1",
      latencyMs: null,
      userPreview: null,
      replyPreview: null,
    };
    const packed = packEvents([e]);
    expect(packed).not.toBeNull();
    const [back] = unpackEvents(packed as NonNullable<typeof packed>);
    expect(back).toMatchObject({ identityOutput: 1870, identityCacheRead: 39424, writtenInput: 55000 });
    expect(dedupeKey(back as ParsedUsage)).toBe(dedupeKey(parsed(thread[2] as string)));
  });
});

describe("an edge meter's push of an increment", () => {
  it("carries the identity of the counts as written to the center", () => {
    let state: CodexCumulative | null = null;
    let last: ParsedUsage | null = null;
    for (const l of [harnessLine(T, 12400, 600, 0), harnessLine(T + 600_000, 40000, 1370, 25600)]) {
      const step = codexIncrement(parsed(l), state);
      state = step.state;
      last = step.usage;
    }
    const ev = usageEvent(last as ParsedUsage, "main", "s", null, "agent:main", "jsonl", "x@1");
    const pushed = pushEventSchema.parse(pushEventOf(ev, "edge-1"));
    expect(pushed.idempotencyKey).toBe(dedupeKey(parsed(harnessLine(T + 600_000, 40000, 1370, 25600))));
    expect(meterIdentityOf(pushed)).toBe(pushed.idempotencyKey);
    expect(pushed).toMatchObject({ input: 2000, output: 770, cacheRead: 25600, identityOutput: 1370 });
  });
});

describe("the plugin's push", () => {
  it("leaves a cumulative line with cached tokens to the meter; a first line is pushed as the meter bills it", () => {
    const where = { agentId: "main", sessionKey: "agent:main:telegram:direct:5550302" };
    const msg = (line: string) => (JSON.parse(line) as { message: { role: string } }).message;
    expect(pluginUsageEvent(msg(harnessLine(T + 600_000, 40000, 1370, 25600)), where)).toBeNull();
    const first = pluginUsageEvent(msg(harnessLine(T, 12400, 600, 0)), where);
    expect(first).toMatchObject({ input: 12400, output: 600, cacheRead: 0 });
    expect(first?.idempotencyKey).toBe(dedupeKey(parsed(harnessLine(T, 12400, 600, 0))));
  });
});

describe("a transcript read across polls bills what one whole read would", () => {
  const CASE = resolve(import.meta.dirname, "../cases/codex-harness-cumulative-usage");
  const FILE = "agents/main/sessions/4b7e2c91-6d3a-4f58-9e1b-2a8c5d7f0e64.jsonl";

  for (const readerThread of [false, true]) {
    it(`one line per poll (reader thread ${readerThread ? "on" : "off"}): $0.076846, as the case`, async () => {
      const w = tempWorld(join(CASE, "state"));
      try {
        const path = join(w.stateDir, FILE);
        const lines = readFileSync(path, "utf8").split("\n").filter(Boolean);
        writeFileSync(path, "");
        mkdirSync(join(w.stateDir, "agents/main/sessions"), { recursive: true });
        const pricer = casePricer(CASE);
        for (const line of lines) {
          writeFileSync(path, `${line}\n`, { flag: "a" });
          const meter = meterFor(w, { pricer, readerThread });
          await meter.runOnce();
          meter.close();
        }
        const [u] = queryUsage(w.db, { by: "user" });
        expect(u).toMatchObject({
          key: "telegram:5550302",
          requests: 3,
          input: 15576,
          output: 1870,
          cacheRead: 39424,
          costUsd: "0.076846",
        });
      } finally {
        w.cleanup();
      }
    });
  }
});

describe("OpenClaw's SQLite store (a doctor import of such a session)", () => {
  for (const readerThread of [false, true]) {
    it(`rows read across polls bill increments (reader thread ${readerThread ? "on" : "off"})`, async () => {
      const w = tempWorld(OC_FIXTURE);
      try {
        const store = new Database(join(w.stateDir, "agents/main/agent/openclaw-agent.sqlite"));
        const { sid } = store
          .prepare<[], { sid: string }>("SELECT session_id AS sid FROM transcript_events LIMIT 1")
          .get() as { sid: string };
        const insert = (line: string) => {
          const { m } = store
            .prepare<[string], { m: number }>(
              "SELECT MAX(seq) AS m FROM transcript_events WHERE session_id = ?",
            )
            .get(sid) as { m: number };
          store
            .prepare(
              "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
            )
            .run(sid, m + 1, line, Date.now());
        };
        const codexRows = () =>
          w.db
            .prepare<[], { input: number; output: number; cacheRead: number }>(
              `SELECT input_tokens AS input, output_tokens AS output, cache_read_tokens AS cacheRead
               FROM usage_events WHERE provider = 'codex' ORDER BY message_ts_ms`,
            )
            .all();
        const lines = [
          harnessLine(T, 12400, 600, 0),
          harnessLine(T + 600_000, 40000, 1370, 25600),
          harnessLine(T + 1_200_000, 55000, 1870, 39424),
        ];
        for (const line of lines) {
          insert(line);
          const meter = meterFor(w, { readerThread });
          await meter.runOnce();
          meter.close();
        }
        store.close();
        expect(codexRows()).toEqual([
          { input: 12400, output: 600, cacheRead: 0 },
          { input: 2000, output: 770, cacheRead: 25600 },
          { input: 1176, output: 500, cacheRead: 13824 },
        ]);
      } finally {
        w.cleanup();
      }
    });
  }
});

describe("a compaction that rewrites the transcript keeps the thread's running total billed once", () => {
  const CASE = resolve(import.meta.dirname, "../cases/codex-harness-cumulative-usage");
  const SID = "4b7e2c91-6d3a-4f58-9e1b-2a8c5d7f0e64";
  const DIR = "agents/main/sessions";
  const compactionEntry = JSON.stringify({
    type: "compaction",
    id: "c0mp0001",
    parentId: "d4f5b6c7",
    timestamp: "2026-04-10T09:15:00.000Z",
    summary: "deploy.sh gained --dry-run; tests pass",
    firstKeptEntryId: "e5a6c7d8",
    tokensBefore: 30000,
  });
  // lines: 0 header, 1 user, 2 call 1, 3 user, 4 call 2, 5 user, 6 call 3
  const scenarios: Record<
    string,
    (lines: string[]) => { before: Record<string, string>; after: Record<string, string> }
  > = {
    "sessions.compact --max-lines (the file renamed to .bak.<ts>, its last lines written back)": (l) => ({
      before: { [`${SID}.jsonl`]: l.slice(0, 5).join("\n") },
      after: {
        [`${SID}.jsonl.bak.2026-04-10T09-15-00.000Z`]: l.slice(0, 5).join("\n"),
        [`${SID}.jsonl`]: [l[0], l[3], l[4], l[5], l[6]].join("\n"),
      },
    }),
    "truncateAfterCompaction (a checkpoint copy, the file rewritten without the summarized lines)": (l) => ({
      before: { [`${SID}.jsonl`]: l.slice(0, 5).join("\n") },
      after: {
        [`${SID}.checkpoint.0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0.jsonl`]: l.slice(0, 5).join("\n"),
        [`${SID}.jsonl`]: [l[0], compactionEntry, l[5], l[6]].join("\n"),
      },
    }),
  };
  for (const [name, scenario] of Object.entries(scenarios)) {
    for (const meterBefore of [true, false]) {
      it(`${name}; meter ${meterBefore ? "running before it" : "first run after it"}: $0.076846`, async () => {
        const w = tempWorld(join(CASE, "state"));
        try {
          const sessions = join(w.stateDir, DIR);
          const lines = readFileSync(join(sessions, `${SID}.jsonl`), "utf8")
            .split("\n")
            .filter(Boolean);
          const { before, after } = scenario(lines);
          const pricer = casePricer(CASE);
          if (meterBefore) {
            for (const [f, text] of Object.entries(before)) writeFileSync(join(sessions, f), `${text}\n`);
            const meter = meterFor(w, { pricer });
            await meter.runOnce();
            meter.close();
          }
          for (const [f, text] of Object.entries(after)) writeFileSync(join(sessions, f), `${text}\n`);
          const meter = meterFor(w, { pricer });
          await meter.runOnce();
          meter.close();
          const [u] = queryUsage(w.db, { by: "user" });
          expect(u).toMatchObject({
            key: "telegram:5550302",
            requests: 3,
            input: 15576,
            output: 1870,
            cacheRead: 39424,
            costUsd: "0.076846",
          });
        } finally {
          w.cleanup();
        }
      });
    }
  }
});

describe("in OpenClaw's SQLite store, a compaction's rewrite keeps the thread's running total billed once", () => {
  const CASE = resolve(import.meta.dirname, "../cases/codex-harness-cumulative-usage");
  const SID = "4b7e2c91-6d3a-4f58-9e1b-2a8c5d7f0e64";
  /** The window the compaction rotated away from (form "window"). */
  const OLD = "4b7e2c91-6d3a-4f58-9e1b-2a8c5d7f0e00";
  const KEY = "agent:main:telegram:direct:5550302";
  const compactionEntry = JSON.stringify({
    type: "compaction",
    id: "c0mp0001",
    parentId: "f6b7d8e9",
    timestamp: "2026-04-10T09:25:00.000Z",
    summary: "deploy.sh gained --dry-run; tests pass; committed",
    firstKeptEntryId: "f6b7d8e9",
    tokensBefore: 50000,
  });
  // turn 4, 30 min after turn 1: the thread's running total after four turns
  const turn4 = harnessLine(Date.UTC(2026, 3, 10, 9, 30, 30), 70000, 2400, 53248);
  /** The case's lines: 0 header, 1 user, 2 call 1, 3 user, 4 call 2, 5 user, 6 call 3. */
  const caseLines = () =>
    readFileSync(join(CASE, "state/agents/main/sessions", `${SID}.jsonl`), "utf8")
      .split("\n")
      .filter(Boolean);
  const entry = JSON.parse(readFileSync(join(CASE, "state/agents/main/sessions/sessions.json"), "utf8"))[KEY];
  const pricer = () => casePricer(CASE);

  /** Opens a window `sid` of the DM's key in the fixture's main store with `lines` as its rows. */
  function addWindow(
    store: Database.Database,
    sid: string,
    lines: string[],
    link: { prev: string | null; reason: string } | null = null,
  ): void {
    const at = Date.UTC(2026, 3, 10, 9, 0, 0);
    store
      .prepare(
        `INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (session_key) DO UPDATE SET current_session_id = excluded.current_session_id,
           entry_json = excluded.entry_json`,
      )
      .run(KEY, sid, JSON.stringify({ ...entry, sessionId: sid }), at);
    store
      .prepare(
        `INSERT INTO session_windows (session_id, session_key, previous_session_id, reason, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(sid, KEY, link?.prev ?? null, link?.reason ?? "initial", at, at);
    const insert = store.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    for (const [seq, l] of lines.entries()) insert.run(sid, seq, l.replaceAll(SID, sid), at);
  }

  /**
   * What each form leaves: `before`, the state a meter running before the compaction read (turns
   * 1–3); `after`, what the compaction (and a `doctor --fix` import) left with turn 4.
   */
  const forms: Record<
    string,
    {
      before(store: Database.Database, sessions: string, l: string[]): void;
      after(store: Database.Database, sessions: string, l: string[]): void;
    }
  > = {
    "the rewritten transcript in the store, turns 1-3 in its .jsonl.bak.<ts> (a doctor --fix import)": {
      before: (_store, sessions, l) => {
        // the JSONL era: the live file, named by sessions.json
        writeFileSync(join(sessions, "sessions.json"), JSON.stringify({ [KEY]: entry }));
        writeFileSync(join(sessions, `${SID}.jsonl`), `${l.join("\n")}\n`);
      },
      after: (store, sessions, l) => {
        rmSync(join(sessions, `${SID}.jsonl`), { force: true });
        writeFileSync(join(sessions, `${SID}.jsonl.bak.2026-04-10T09-25-00.000Z`), `${l.join("\n")}\n`);
        addWindow(store, SID, [l[0] as string, compactionEntry, turn4]);
      },
    },
    "a compaction window (previous_session_id, reason compaction) after the window of turns 1-3": {
      before: (store, _sessions, l) => addWindow(store, OLD, l),
      after: (store, _sessions, l) => {
        if (!store.prepare("SELECT 1 FROM session_windows WHERE session_id = ?").get(OLD))
          addWindow(store, OLD, l);
        addWindow(store, SID, [l[0] as string, compactionEntry, turn4], { prev: OLD, reason: "compaction" });
      },
    },
    "a compaction window naming the old one only in its header (parentTranscriptScope)": {
      before: (store, _sessions, l) => addWindow(store, OLD, l),
      after: (store, _sessions, l) => {
        if (!store.prepare("SELECT 1 FROM session_windows WHERE session_id = ?").get(OLD))
          addWindow(store, OLD, l);
        const header = {
          ...JSON.parse(l[0] as string),
          parentTranscriptScope: { agentId: "main", sessionId: OLD },
        };
        addWindow(store, SID, [JSON.stringify(header), compactionEntry, turn4], {
          prev: null,
          reason: "compaction",
        });
      },
    },
  };

  async function run(
    form: (typeof forms)[string],
    meterBefore: boolean,
    readerThread: boolean,
    batchSize = 500,
  ): Promise<ReturnType<typeof queryUsage>[number] | undefined> {
    const w = tempWorld(OC_FIXTURE);
    try {
      const sessions = join(w.stateDir, "agents/main/sessions");
      mkdirSync(sessions, { recursive: true });
      const storePath = join(w.stateDir, "agents/main/agent/openclaw-agent.sqlite");
      const lines = caseLines();
      const step = async (change: (store: Database.Database) => void) => {
        const store = new Database(storePath);
        try {
          change(store);
        } finally {
          store.close();
        }
        const meter = meterFor(w, { pricer: pricer(), readerThread, batchSize });
        await meter.runOnce();
        meter.close();
      };
      if (meterBefore) await step((store) => form.before(store, sessions, lines));
      await step((store) => form.after(store, sessions, lines));
      return queryUsage(w.db, { by: "user" }).find((u) => u.key === "telegram:5550302");
    } finally {
      w.cleanup();
    }
  }

  for (const [name, form] of Object.entries(forms)) {
    for (const meterBefore of [true, false]) {
      for (const readerThread of [false, true]) {
        it(`${name}; meter ${meterBefore ? "running before it" : "first run after it"}, reader thread ${readerThread ? "on" : "off"}: turn 4 $0.014346, $0.091192 in all`, async () => {
          expect(await run(form, meterBefore, readerThread)).toMatchObject({
            requests: 4,
            input: 16752,
            output: 2400,
            cacheRead: 53248,
            costUsd: "0.091192",
          });
        });
      }
    }
  }

  it("read a row per batch (the line's window read from its start across batches): the same", async () => {
    for (const form of Object.values(forms))
      expect(await run(form, false, false, 1)).toMatchObject({ requests: 4, costUsd: "0.091192" });
  });

  it("a window opened by a reset (a new Codex thread) is not continued: turn 4 is billed as written", async () => {
    const reset = {
      before: () => {},
      after: (store: Database.Database, _sessions: string, l: string[]) => {
        addWindow(store, OLD, l);
        addWindow(store, SID, [l[0] as string, turn4], { prev: OLD, reason: "reset" });
      },
    };
    expect(await run(reset, false, false)).toMatchObject({
      requests: 4,
      input: 15576 + 16752,
      output: 1870 + 2400,
      cacheRead: 39424 + 53248,
      costUsd: "0.168038",
    });
  });
});

describe("a compaction successor transcript (<ISO>_<newid>.jsonl, parentSession) continues its parent's thread", () => {
  const CASE = resolve(import.meta.dirname, "../cases/codex-harness-cumulative-usage");
  const A = "4b7e2c91-6d3a-4f58-9e1b-2a8c5d7f0e64";
  const B = "4b7e2c91-6d3a-4f58-9e1b-2a8c5d7f0b0b";
  const DIR = "agents/main/sessions";
  for (const meterBefore of [true, false]) {
    it(`turn 3 in the successor is billed as its increment (meter ${meterBefore ? "running before" : "first run after"}): $0.076846`, async () => {
      const w = tempWorld(join(CASE, "state"));
      try {
        const sessions = join(w.stateDir, DIR);
        const lines = readFileSync(join(sessions, `${A}.jsonl`), "utf8")
          .split("\n")
          .filter(Boolean);
        writeFileSync(join(sessions, `${A}.jsonl`), `${lines.slice(0, 5).join("\n")}\n`);
        const pricer = casePricer(CASE);
        if (meterBefore) {
          const meter = meterFor(w, { pricer });
          await meter.runOnce();
          meter.close();
        }
        // OpenClaw moves the session to a successor file whose header names the old one, and
        // points the session's entry at it (openclaw/openclaw#72435)
        const name = `2026-04-10T09-15-00-000Z_${B}.jsonl`;
        const header = JSON.stringify({
          type: "session",
          version: 3,
          id: B,
          timestamp: "2026-04-10T09:15:00.000Z",
          cwd: "/home/bot/.openclaw/workspace",
          parentSession: `/home/bot/.openclaw/agents/main/sessions/${A}.jsonl`,
        });
        const compaction = JSON.stringify({
          type: "compaction",
          id: "c0mp0002",
          parentId: null,
          timestamp: "2026-04-10T09:15:00.000Z",
          summary: "deploy.sh gained --dry-run; tests pass",
          firstKeptEntryId: "e5a6c7d8",
          tokensBefore: 30000,
        });
        writeFileSync(join(sessions, name), `${[header, compaction, lines[5], lines[6]].join("\n")}\n`);
        const index = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8")) as Record<
          string,
          { sessionId: string; sessionFile?: string }
        >;
        for (const e of Object.values(index)) {
          e.sessionId = B;
          e.sessionFile = `/home/bot/.openclaw/agents/main/sessions/${name}`;
        }
        writeFileSync(join(sessions, "sessions.json"), JSON.stringify(index));
        const meter = meterFor(w, { pricer });
        await meter.runOnce();
        expect(await meter.runOnce()).toMatchObject({ billed: 0 });
        meter.close();
        const [u] = queryUsage(w.db, { by: "user" });
        expect(u).toMatchObject({ key: "telegram:5550302", requests: 3, costUsd: "0.076846" });
      } finally {
        w.cleanup();
      }
    });
  }
});
