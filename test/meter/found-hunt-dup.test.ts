import { copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import type { MeterOptions } from "../../src/meter/meter.js";
import { queryUsage } from "../../src/meter/report.js";
import { classifyTranscriptFile } from "../../src/meter/sources/classify.js";
import { generationsOf, headerParentId, sortForReading } from "../../src/meter/sources/read-order.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Cases of the hunt for calls counted twice or not at all across files and sessions (forks,
 * copies, retries): test/cases/<name>, each with its right value in its README.
 */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function pricerOf(name: string) {
  return casePricer(join(CASES, name));
}

async function meterCase(name: string, extra: Partial<MeterOptions> = {}) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name), "calculate", extra);
  w = r.world;
  return r;
}

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

const FORK_CASE = "fork-copy-billed-to-fork-owner";
const PARENT = "3f6d2a10-7b4e-4c1a-9e2f-8a5b6c7d8e01";
const FORK_FILE = "2026-09-22T10-00-00-000Z_b81c4e77-2d3a-4f5b-8c6d-9e0f1a2b3c4d.jsonl";

describe("case fork-copy-billed-to-fork-owner: a fork's copies of its parent's calls stay the parent's user's", () => {
  it("telegram:5550901 2 calls $0.012, agent:main 1 call $0.0075 (was agent:main 3 calls $0.0195)", async () => {
    const { s, world } = await meterCase(FORK_CASE);
    expect(s).toMatchObject({ billed: 3, duplicates: 2 });
    expect(byUser(world)).toEqual({
      "telegram:5550901": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.0075" },
    });
    // the copies are the DM's calls: billed under the DM's session, once
    const rows = world.db
      .prepare("SELECT session_key AS k, COUNT(*) AS n FROM usage_events GROUP BY session_key ORDER BY k")
      .all();
    expect(rows).toEqual([
      { k: "agent:main:dashboard:0b7e3c52-9a1d-4e2f-8b3c-4d5e6f708192", n: 1 },
      { k: "agent:main:telegram:direct:5550901", n: 1 + 1 },
    ]);
  });

  it("fresh meter over a parent, its fork and the fork's fork, all in one poll: the DM keeps its calls", async () => {
    w = tempWorld(join(CASES, FORK_CASE, "state"));
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    const forkOfFork = "2026-09-23T08-00-00-000Z_0d0d0d0d-1111-4222-8333-444455556666.jsonl";
    const forkLines = readFileSync(join(sessions, FORK_FILE), "utf8").trimEnd().split("\n");
    const header = JSON.parse(forkLines[0] as string);
    header.id = "0d0d0d0d-1111-4222-8333-444455556666";
    header.parentSession = `C:\\Users\\bot\\.openclaw\\agents\\main\\sessions\\${FORK_FILE}`;
    writeFileSync(
      join(sessions, forkOfFork),
      `${[JSON.stringify(header), ...forkLines.slice(1)].join("\n")}\n`,
    );
    const index = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8"));
    // an operator's session whose account sorts before everything else
    index["agent:main:dashboard:00000000-fork-of-fork"] = {
      sessionId: "0d0d0d0d-1111-4222-8333-444455556666",
      updatedAt: 1790150402000,
      forkSource: { sessionKey: "agent:main:dashboard:0b7e3c52-9a1d-4e2f-8b3c-4d5e6f708192" },
    };
    writeFileSync(join(sessions, "sessions.json"), JSON.stringify(index));
    const meter = meterFor(w, { pricer: pricerOf(FORK_CASE) });
    const s = await meter.runOnce();
    meter.close();
    expect(s).toMatchObject({ billed: 3, duplicates: 5 });
    expect(byUser(w)).toEqual({
      "telegram:5550901": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.0075" },
    });
    const forkCall = w.db
      .prepare("SELECT session_key AS k FROM usage_events WHERE input_tokens = 2000")
      .get() as { k: string };
    expect(forkCall.k).toBe("agent:main:dashboard:0b7e3c52-9a1d-4e2f-8b3c-4d5e6f708192");
  });

  it("a fork under another user's account made before the parent was billed still leaves the parent its calls", async () => {
    w = tempWorld(join(CASES, FORK_CASE, "state"));
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    const index = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8"));
    // the parent belongs to a user whose account sorts after the fork's
    const dm = index["agent:main:telegram:direct:5550901"];
    delete index["agent:main:telegram:direct:5550901"];
    index["agent:main:whatsapp:direct:+15550901"] = { ...dm, lastChannel: "whatsapp", origin: undefined };
    writeFileSync(join(sessions, "sessions.json"), JSON.stringify(index));
    const meter = meterFor(w, { pricer: pricerOf(FORK_CASE) });
    await meter.runOnce();
    meter.close();
    expect(byUser(w)).toEqual({
      "whatsapp:+15550901": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.0075" },
    });
  });
});

describe("a fork of a session reset since: the parent file no entry names is the fork source's, not the fork's", () => {
  it("telegram:5550901 keeps its 2 calls $0.012 from the reset archive (was agent:main 3 calls $0.0195)", async () => {
    w = tempWorld(join(CASES, FORK_CASE, "state"));
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    // the DM was reset after the fork: its old transcript is an archive, its entry names a new id
    renameSync(
      join(sessions, `${PARENT}.jsonl`),
      join(sessions, `${PARENT}.jsonl.reset.2026-09-22T09-00-00.000Z`),
    );
    const index = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8"));
    index["agent:main:telegram:direct:5550901"].sessionId = "99999999-0000-4000-8000-000000000009";
    writeFileSync(join(sessions, "sessions.json"), JSON.stringify(index));
    const meter = meterFor(w, { pricer: pricerOf(FORK_CASE) });
    const s = await meter.runOnce();
    meter.close();
    expect(s).toMatchObject({ billed: 3, duplicates: 2 });
    expect(byUser(w)).toEqual({
      "telegram:5550901": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.0075" },
    });
  });

  it("a compaction successor (no forkSource) still gives its predecessor its own key", async () => {
    const { world } = await meterCase("compaction-successor-orphan");
    expect(byUser(world)).toEqual({ "telegram:5550101": { requests: 4, costUsd: "0.02565" } });
  });
});

describe("sortForReading with fork generations", () => {
  const items = [
    { name: "fork", account: "agent:main", gen: 1 },
    { name: "parent", account: "telegram:1", gen: 0 },
    { name: "orphan", account: null, gen: 0 },
    { name: "fork-of-fork", account: "agent:main", gen: 2 },
    { name: "other", account: "agent:main", gen: 0 },
  ];
  it("reads every transcript before the ones that copy it, then by account (unowned last)", () => {
    const sorted = sortForReading(
      [...items],
      (i) => i.account,
      (i) => i.gen,
    ).map((i) => i.name);
    expect(sorted).toEqual(["other", "parent", "orphan", "fork", "fork-of-fork"]);
  });
  it("without generations the order is the accounts' (as before)", () => {
    const sorted = sortForReading([...items], (i) => i.account).map((i) => i.name);
    expect(sorted).toEqual(["fork", "fork-of-fork", "other", "parent", "orphan"]);
  });
});

describe("fork generations only follow branch-named files with a parent in the poll", () => {
  it("branch files whose headers name each other (a cycle) are read; the DM and its reset archive keep its calls", async () => {
    w = tempWorld(join(CASES, FORK_CASE, "state"));
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    // two branch files whose headers name each other (hand-made), and a reset archive of the DM
    const a = "2026-01-01T00-00-00-000Z_aaaaaaaa-0000-4000-8000-00000000000a.jsonl";
    const b = "2026-01-01T00-00-00-000Z_bbbbbbbb-0000-4000-8000-00000000000b.jsonl";
    const line = (id: string, parent: string) =>
      `${JSON.stringify({ type: "session", version: 3, id, timestamp: "2026-01-01T00:00:00.000Z", cwd: "/w", parentSession: `/x/${parent}` })}\n`;
    writeFileSync(join(sessions, a), line("aaaaaaaa-0000-4000-8000-00000000000a", b));
    writeFileSync(join(sessions, b), line("bbbbbbbb-0000-4000-8000-00000000000b", a));
    copyFileSync(
      join(sessions, `${PARENT}.jsonl`),
      join(sessions, `${PARENT}.jsonl.reset.2026-09-21T15-00-00.000Z`),
    );
    const meter = meterFor(w, { pricer: pricerOf(FORK_CASE) });
    const s = await meter.runOnce();
    meter.close();
    expect(s.billed).toBe(3);
    expect(byUser(w)).toEqual({
      "telegram:5550901": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.0075" },
    });
  });
});

describe("OpenClaw's SQLite store: a fork session is read after the session it copies", () => {
  const DM = "aaaaaaaa-0000-4000-8000-000000000001";
  const FORK = "ffffffff-0000-4000-8000-00000000000f";
  const KEY = "agent:main:dashboard:11111111-2222-4333-8444-555555555555";
  /** The DM store of case subagent-into-other-agent-store (its DM: 1 call) with an operator's fork of it. */
  function storeWithFork(parentRef: Record<string, unknown>): TempWorld {
    const world = tempWorld(join(CASES, "subagent-into-other-agent-store", "state"));
    rmSync(join(world.stateDir, "agents", "support"), { recursive: true, force: true });
    const db = new Database(join(world.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite"));
    try {
      const at = 1795400000000;
      db.prepare(
        `INSERT INTO session_nodes (session_key, current_session_id, entry_json, updated_at, created_via,
           fork_source_session_key, fork_source_session_id) VALUES (?, ?, ?, ?, 'operator', ?, ?)`,
      ).run(
        KEY,
        FORK,
        JSON.stringify({ sessionId: FORK, updatedAt: at }),
        at,
        "agent:main:direct:5550101",
        DM,
      );
      db.prepare(
        `INSERT INTO session_windows (session_id, session_key, reason, created_at, updated_at, transcript_updated_at)
         VALUES (?, ?, 'fork', ?, ?, ?)`,
      ).run(FORK, KEY, at, at, at);
      const rows = db
        .prepare("SELECT event_json AS j FROM transcript_events WHERE session_id = ? ORDER BY seq")
        .all(DM) as { j: string }[];
      const ins = db.prepare(
        "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
      );
      rows.forEach((r, i) => {
        const e = JSON.parse(r.j);
        ins.run(FORK, i, JSON.stringify(i === 0 ? { ...e, id: FORK, ...parentRef } : e), at);
      });
      const own = {
        type: "message",
        id: "f0000001-0000-4000-8000-000000000000",
        parentId: null,
        timestamp: "2026-11-23T01:00:02.000Z",
        message: {
          role: "assistant",
          content: [{ type: "text", text: "fork" }],
          api: "openai-completions",
          provider: "mock",
          model: "mock-gpt",
          usage: { input: 4000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 4100 },
          stopReason: "stop",
          timestamp: 1795400002000,
          responseId: "chatcmpl-fork-own-0000000001",
        },
      };
      ins.run(FORK, rows.length, JSON.stringify(own), at + 2000);
    } finally {
      db.close();
    }
    return world;
  }

  for (const [how, ref] of [
    ["parentSession locator", { parentSession: `sqlite-transcript://main/${DM}` }],
    ["parentTranscriptScope", { parentTranscriptScope: { agentId: "main", sessionId: DM } }],
  ] as const) {
    it(`${how}: telegram:5550101 keeps its call $0.0045, the fork's own $0.0135 is agent:main's (was both agent:main)`, async () => {
      w = storeWithFork(ref);
      const meter = meterFor(w);
      const s = await meter.runOnce();
      meter.close();
      expect(s).toMatchObject({ billed: 2, duplicates: 1 });
      expect(byUser(w)).toEqual({
        "telegram:5550101": { requests: 1, costUsd: "0.0045" },
        "agent:main": { requests: 1, costUsd: "0.0135" },
      });
    });
  }
});

describe("generationsOf / headerParentId", () => {
  it("counts ancestors in the map; a cycle stops", () => {
    const gen = generationsOf(
      new Map([
        ["b", "a"],
        ["c", "b"],
        ["x", "y"],
        ["y", "x"],
      ]),
    );
    expect(["a", "b", "c", "x", "y", "z"].map(gen)).toEqual([0, 1, 2, 1, 1, 0]);
  });
  it("reads a parent from a path of either host, a store locator or a transcript scope", () => {
    const id = "3f6d2a10-7b4e-4c1a-9e2f-8a5b6c7d8e01";
    const of = (h: Record<string, unknown>) => headerParentId(h, classifyTranscriptFile);
    expect(of({ parentSession: `/home/bot/.openclaw/agents/main/sessions/${id}.jsonl` })).toBe(id);
    expect(of({ parentSession: `C:\\Users\\bot\\sessions\\2026-09-22T10-00-00-000Z_${id}.jsonl` })).toBe(id);
    expect(of({ parentSession: `sqlite-transcript://main/${id}` })).toBe(id);
    expect(of({ parentSession: `sqlite-transcript://main/${id}.jsonl?topic=7` })).toBe(id);
    expect(of({ parentTranscriptScope: { agentId: "main", sessionId: id } })).toBe(id);
    expect(of({})).toBeNull();
    expect(of({ parentSession: 7 })).toBeNull();
  });
});
