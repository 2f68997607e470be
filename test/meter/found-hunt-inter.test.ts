import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createBiller } from "../../src/meter/biller.js";
import { parseLine } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { answersOwnSend, OriginScan, setBounded } from "../../src/meter/sources/batch-builder.js";
import { createJsonlReader } from "../../src/meter/sources/jsonl-reader.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * The hunt for turns a user did not cause billed to that user: a turn OpenClaw marks on its user
 * line (`message.provenance`) as another session's `sessions_send` or the operator's cron or
 * heartbeat run goes, with every call answering it, to that session's payer or the operator.
 */
const CASES = resolve(import.meta.dirname, "../cases");
const CASE = join(CASES, "inter-session-turn-payer");
const HENRY = "11111111-0000-4000-8000-000000000001.jsonl";

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

const RIGHT = {
  "telegram:5550101": { requests: 5, costUsd: "0.0225" },
  "agent:main": { requests: 4, costUsd: "0.01845" },
  "telegram:5550202": { requests: 2, costUsd: "0.0138" },
};

describe("case inter-session-turn-payer: a marked turn in a user's DM goes to whoever caused it", () => {
  it("Henry 5 calls $0.0225, the operator 4 $0.01845, Ivy 2 $0.0138 (was Henry 9 calls $0.04575)", async () => {
    const { s, world } = await meterCaseDir(CASE, "calculate");
    w = world;
    expect(s).toMatchObject({ billed: 11 });
    expect(byUser(world)).toEqual(RIGHT);
  });

  it("a cursor inside a marked turn (a restart between its calls) keeps the turn's payer", async () => {
    w = tempWorld(join(CASE, "state"));
    const file = join(w.stateDir, "agents", "main", "sessions", HENRY);
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    // cut right after the first call answering the cron job's sessions_send (line 5 of 0..)
    const cut = lines.findIndex((l) => l.includes('"stopReason":"toolUse"') && l.includes('"input":2000'));
    expect(cut).toBeGreaterThan(0);
    writeFileSync(file, `${lines.slice(0, cut + 1).join("\n")}\n`);
    let meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    meter.close();
    appendFileSync(file, `${lines.slice(cut + 1).join("\n")}\n`);
    meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    meter.close();
    expect(byUser(w)).toEqual(RIGHT);
  });

  it("a following reader that forgot a file's resume point (resumeMemoryEntries: 1) reads back and bills the same", async () => {
    for (const resumeMemoryEntries of [1, undefined]) {
      w?.cleanup();
      w = tempWorld(join(CASE, "state"));
      const world = w;
      const file = join(world.stateDir, "agents", "main", "sessions", HENRY);
      const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
      const cut = lines.findIndex((l) => l.includes('"stopReason":"toolUse"') && l.includes('"input":2000'));
      writeFileSync(file, `${lines.slice(0, cut + 1).join("\n")}\n`);
      const biller = createBiller(world.db, createLedger(world.db), {
        pricer: casePricer(CASE),
        markup: { num: 1n, den: 1n },
        creditsPerUsd: { num: 1n, den: 1n },
      });
      const reader = createJsonlReader(
        {
          agentDir: join(world.stateDir, "agents", "main"),
          agentId: "main",
          batchSize: 500,
          resumeMemoryEntries,
        },
        world.db,
      );
      const poll = () =>
        reader.poll((batch, id) => {
          biller.bill(batch);
          reader.committed(id);
        });
      await poll(); // Henry's file first (its name sorts first), then the others push it out at 1
      appendFileSync(file, `${lines.slice(cut + 1).join("\n")}\n`);
      await poll();
      expect(byUser(world), `resumeMemoryEntries ${resumeMemoryEntries}`).toEqual(RIGHT);
    }
  });

  it("setBounded keeps the newest `max` entries, a rewrite counting as newest", () => {
    const m = new Map<string, number>();
    for (const [k, v] of [
      ["a", 1],
      ["b", 2],
      ["a", 3],
      ["c", 4],
    ] as const)
      setBounded(m, k, v, 2);
    expect([...m]).toEqual([
      ["a", 3],
      ["c", 4],
    ]);
  });
});

describe("OpenClaw's SQLite store: a cron job's sessions_send and a heartbeat in a DM are the operator's", () => {
  const DM = "agent:main:direct:5550101";
  function call(id: string, at: number, input: number, output: number, stop = "stop") {
    return JSON.stringify({
      type: "message",
      id,
      parentId: null,
      timestamp: new Date(at + 5).toISOString(),
      message: {
        role: "assistant",
        content: [{ type: "text", text: "ok" }],
        api: "openai-completions",
        provider: "mock",
        model: "mock-gpt",
        usage: { input, output, cacheRead: 0, cacheWrite: 0, totalTokens: input + output },
        stopReason: stop,
        timestamp: at,
        responseId: `chatcmpl-${id}`,
      },
    });
  }
  function user(id: string, at: number, text: string, provenance?: object) {
    return JSON.stringify({
      type: "message",
      id,
      parentId: null,
      timestamp: new Date(at).toISOString(),
      message: { role: "user", content: text, timestamp: at, ...(provenance ? { provenance } : {}) },
    });
  }

  it("the DM's user keeps only their own turn; a restart inside the marked turn changes nothing", async () => {
    // the per-peer DM store of case subagent-into-other-agent-store (main's store only)
    w = tempWorld(join(CASES, "subagent-into-other-agent-store", "state"));
    rmSync(join(w.stateDir, "agents", "support"), { recursive: true, force: true });
    const dbFile = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
    let meter = meterFor(w);
    await meter.runOnce();
    meter.close();
    const before = byUser(w);
    const db = new Database(dbFile);
    const at = 1795500000000;
    let seq = 0;
    let sid = "";
    const rows: [string, number][] = [];
    try {
      const win = db.prepare("SELECT session_id FROM session_windows WHERE session_key = ?").get(DM) as {
        session_id: string;
      };
      sid = win.session_id;
      seq = (
        db.prepare("SELECT MAX(seq) AS m FROM transcript_events WHERE session_id = ?").get(sid) as {
          m: number;
        }
      ).m;
      rows.push(
        [
          user("u-cron", at, "[Inter-session message] sourceTool=sessions_send isUser=false\nshipped", {
            kind: "inter_session",
            sourceSessionKey: "agent:main:cron:nightly:run:r1",
            sourceChannel: "internal",
            sourceTool: "sessions_send",
          }),
          at,
        ],
        [call("c-cron-1", at + 1000, 2000, 10, "toolUse"), at + 1000],
      );
      const ins = db.prepare(
        "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
      );
      for (const [json, t] of rows) ins.run(sid, ++seq, json, t);
    } finally {
      db.close();
    }
    meter = meterFor(w);
    await meter.runOnce();
    meter.close();
    // a new meter (a restart) resumes inside the marked turn, then a heartbeat and the user's own
    const db2 = new Database(dbFile);
    try {
      const ins = db2.prepare(
        "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
      );
      for (const [json, t] of [
        [call("c-cron-2", at + 2000, 2000, 10), at + 2000],
        [
          user("u-hb", at + 3000, "Read HEARTBEAT.md if it exists.", {
            kind: "internal_system",
            sourceTool: "heartbeat",
          }),
          at + 3000,
        ],
        [call("c-hb", at + 4000, 500, 10), at + 4000],
        [user("u-own", at + 5000, "thanks"), at + 5000],
        [call("c-own", at + 6000, 1000, 100), at + 6000],
      ] as [string, number][])
        ins.run(sid, ++seq, json, t);
    } finally {
      db2.close();
    }
    meter = meterFor(w);
    await meter.runOnce();
    meter.close();
    const after = byUser(w);
    const plus = (k: string) => ({
      requests: after[k]?.requests ?? 0,
      costUsd: Number(after[k]?.costUsd ?? 0) - Number(before[k]?.costUsd ?? 0),
      was: before[k]?.requests ?? 0,
    });
    const op = plus("agent:main");
    expect(op.requests - op.was).toBe(3); // 2×(2000×3+10×15) + (500×3+10×15) per 1M
    expect(op.costUsd).toBeCloseTo(0.01395, 9);
    const henry = plus("telegram:5550101");
    expect(henry.requests - henry.was).toBe(1);
    expect(henry.costUsd).toBeCloseTo(0.0045, 9);
  });

  it("a marked turn with a long tool loop stays the operator's: a following meter and a restart alike (a tester's finding)", async () => {
    w = tempWorld(join(CASES, "subagent-into-other-agent-store", "state"));
    rmSync(join(w.stateDir, "agents", "support"), { recursive: true, force: true });
    const dbFile = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
    const following = meterFor(w);
    await following.runOnce();
    const before = byUser(w);
    const at = 1795600000000;
    const append = (rows: string[]) => {
      const db = new Database(dbFile);
      try {
        const sid = (
          db.prepare("SELECT session_id FROM session_windows WHERE session_key = ?").get(DM) as {
            session_id: string;
          }
        ).session_id;
        let seq = (
          db.prepare("SELECT MAX(seq) AS m FROM transcript_events WHERE session_id = ?").get(sid) as {
            m: number;
          }
        ).m;
        const ins = db.prepare(
          "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
        );
        for (const r of rows) ins.run(sid, ++seq, r, at);
      } finally {
        db.close();
      }
    };
    const toolRows = (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({
          type: "message",
          id: `t-${tag}-${i}`,
          parentId: null,
          timestamp: new Date(at + 1500 + i).toISOString(),
          message: { role: "toolResult", toolCallId: `x${i}`, content: [{ type: "text", text: `r${i}` }] },
        }),
      );
    append([
      user("u-cron2", at, "nightly", { kind: "internal_system", sourceTool: "cron" }),
      call("c-cron2-1", at + 1000, 2000, 10, "toolUse"),
    ]);
    await following.runOnce();
    // 100 tool rows (more than the 64 the turn's look-back reads) polled between the turn's calls
    append(toolRows(100, "a"));
    await following.runOnce();
    append([call("c-cron2-2", at + 5000, 500, 10, "toolUse"), ...toolRows(100, "b")]);
    await following.runOnce();
    following.close();
    // a restart inside the same turn, 100 more tool rows back from its next call
    append([call("c-cron2-3", at + 9000, 500, 10)]);
    const restarted = meterFor(w);
    await restarted.runOnce();
    restarted.close();
    const after = byUser(w);
    expect((after["agent:main"]?.requests ?? 0) - (before["agent:main"]?.requests ?? 0)).toBe(3);
    expect(after["telegram:5550101"]).toEqual(before["telegram:5550101"]);
  });
});

describe("ping-pong: a marked sessions_send reply stays with the session only from a session it wrote to", () => {
  const own = (targets: object[]) =>
    JSON.stringify({
      type: "message",
      message: {
        role: "assistant",
        content: targets.map((a, i) => ({
          type: "toolCall",
          id: `t${i}`,
          name: "sessions_send",
          arguments: a,
        })),
        provider: "mock",
        model: "mock-gpt",
        usage: { input: 10, output: 1 },
        timestamp: 1795500000000,
      },
    });
  const marked = (key: string) =>
    JSON.stringify({
      type: "message",
      message: {
        role: "user",
        content: "[Inter-session message]",
        timestamp: 1795500000000,
        provenance: { kind: "inter_session", sourceTool: "sessions_send", sourceSessionKey: key },
      },
    });
  const plain = JSON.stringify({ type: "message", message: { role: "user", content: "hi", timestamp: 1 } });

  it("answersOwnSend: the key written to (in full or short), any sender after a send by label", () => {
    expect(answersOwnSend(["agent:main:main"], "agent:main:main", "main")).toBe(true);
    expect(answersOwnSend(["main"], "agent:main:main", "main")).toBe(true);
    expect(answersOwnSend(["agent:main:main"], "agent:main:telegram:direct:5550202", "main")).toBe(false);
    expect(answersOwnSend(["*"], "agent:main:telegram:direct:5550202", "main")).toBe(true);
    expect(answersOwnSend([], "agent:main:main", "main")).toBe(false);
    expect(answersOwnSend(["agent:main:main"], null, "main")).toBe(false);
  });

  it("a scan back from a cursor folds the lines as a forward read does (a tester's finding: an unrelated sender stayed with the user)", () => {
    // the user's own turn wrote to agent:main:main; then Ivy's DM and the cron run wrote in
    const lines = [
      plain,
      own([{ sessionKey: "agent:main:main", message: "x" }]),
      marked("agent:main:telegram:direct:5550202"),
    ];
    const scan = new OriginScan();
    for (const l of [...lines].reverse()) if (scan.line(l)) break;
    const o = scan.end();
    expect(o.source).toEqual({ kind: "session", key: "agent:main:telegram:direct:5550202" });
    expect(o.sent).toEqual(["agent:main:main"]);
    expect(answersOwnSend(o.sent, "agent:main:telegram:direct:5550202", "main")).toBe(false);
    // from the start of a file with no unmarked user line: the same fold, from the session's own turn
    const start = new OriginScan();
    for (const l of [own([{ sessionKey: "main" }]), marked("agent:main:main")].reverse()) start.line(l);
    const o2 = start.end();
    expect(answersOwnSend(o2.sent, "agent:main:main", "main")).toBe(true);
  });

  it("a sub-agent announce between the user's send and the reply does not end the exchange (a reviewer's finding)", () => {
    const announce = JSON.stringify({
      type: "message",
      message: {
        role: "user",
        content: "[Internal task completion event]",
        timestamp: 1795500000000,
        provenance: {
          kind: "inter_session",
          sourceTool: "subagent_announce",
          sourceSessionKey: "agent:main:subagent:abc",
        },
      },
    });
    const ivy = "agent:main:telegram:direct:5550202";
    const scan = new OriginScan();
    for (const l of [plain, own([{ sessionKey: ivy }]), announce, marked(ivy)].reverse())
      if (scan.line(l)) break;
    const o = scan.end();
    expect(o.source).toEqual({ kind: "session", key: ivy });
    expect(answersOwnSend(o.sent, ivy, "main")).toBe(true);
    // the announce itself is the session's own work: its payer, the exchange kept
    const a = new OriginScan();
    for (const l of [plain, own([{ sessionKey: ivy }]), announce].reverse()) if (a.line(l)) break;
    expect(a.end()).toEqual({ source: null, sent: [ivy] });
  });

  it("a provenance kind is read trimmed and in any case; a string provenance is no mark", () => {
    const r = parseLine(
      JSON.stringify({
        type: "message",
        message: {
          role: "user",
          content: "x",
          timestamp: 1,
          provenance: { kind: " Inter_Session ", sourceTool: "sessions_send" },
        },
      }),
    );
    expect(r.kind === "user" && r.source).toEqual({ kind: "session", key: null });
    const s = parseLine(
      JSON.stringify({
        type: "message",
        message: { role: "user", content: "x", timestamp: 1, provenance: "cron" },
      }),
    );
    expect(s.kind === "user" && s.source).toBe(null);
  });
});
