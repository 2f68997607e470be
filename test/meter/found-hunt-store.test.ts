import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { relocatedStores, storeArtifactDir } from "../../src/meter/sources/store-location.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * test/cases found by the hunt for faults in reading OpenClaw's SQLite store (OpenClaw 2026.7 –
 * 2026.11, 2026-12-03): each store built from OpenClaw's own DDL and source, with its right value in
 * its README (copied per test, never written).
 */
const CASES = resolve(import.meta.dirname, "../cases");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

async function meterCase(name: string) {
  w?.cleanup();
  const r = await meterCaseDir(join(CASES, name));
  w = r.world;
  return r;
}

function byUser(world: TempWorld) {
  return Object.fromEntries(
    queryUsage(world.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
}

const storeOf = (world: TempWorld, agent = "main") =>
  join(world.stateDir, "agents", agent, "agent", "openclaw-agent.sqlite");

describe("case store-legacy-session-tables: a store of agent schema < 14 (sessions, session_entries, session_transcript_generations)", () => {
  const CASE = "store-legacy-session-tables";

  it("telegram:5550101 2 calls $0.012, agent:main $0.00225 (was agent:main 3 calls $0.01425)", async () => {
    const { s, world } = await meterCase(CASE);
    expect(s.billed).toBe(3);
    expect(s.unattributedCalls).toBe(0);
    expect(byUser(world)).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.00225" },
    });
  });

  it("a window's key is the one its session_entries row names, as schema 14's migration takes it", async () => {
    w = tempWorld(join(CASES, CASE, "state"));
    const db = new Database(storeOf(w));
    // a stale key on the window row; the entry (and route) name the DM
    db.prepare(
      "UPDATE sessions SET session_key = 'agent:main:main' WHERE session_key LIKE '%direct:5550101'",
    ).run();
    db.close();
    const meter = meterFor(w, { pricer: casePricer(join(CASES, CASE)) });
    await meter.runOnce();
    meter.close();
    expect(byUser(w)).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.00225" },
    });
  });

  it("a rotated session_transcript_generations row rescans its session; nothing is billed twice", async () => {
    w = tempWorld(join(CASES, CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(join(CASES, CASE)) });
    expect((await meter.runOnce()).billed).toBe(3);
    const db = new Database(storeOf(w));
    db.prepare(
      "UPDATE session_transcript_generations SET generation = 'rotated' WHERE session_id LIKE '%0001'",
    ).run();
    db.close();
    const again = await meter.runOnce();
    meter.close();
    expect(again.billed).toBe(0);
    expect(again.rescans).toBe(1);
    expect(byUser(w)["telegram:5550101"]).toEqual({ requests: 2, costUsd: "0.012" });
  });

  it("once OpenClaw renames the tables (schema 14), the cursors go on: nothing re-read or re-billed", async () => {
    w = tempWorld(join(CASES, CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(join(CASES, CASE)) });
    expect((await meter.runOnce()).billed).toBe(3);
    const db = new Database(storeOf(w));
    db.exec(`ALTER TABLE sessions RENAME TO session_windows;
      ALTER TABLE session_transcript_generations RENAME TO transcript_rewrite_watermarks;
      ALTER TABLE session_entries RENAME TO session_nodes;`);
    db.close();
    const again = await meter.runOnce();
    expect(again.billed).toBe(0);
    expect(again.rescans).toBe(0);
    expect(byUser(w)).toEqual({
      "telegram:5550101": { requests: 2, costUsd: "0.012" },
      "agent:main": { requests: 1, costUsd: "0.00225" },
    });
    // the same running meter bills a call written after the rename: its store handle is prepared
    // again when the schema changes (before 2026-12-03 it failed every poll with "no such table"
    // until restarted, a tester's finding)
    const db2 = new Database(storeOf(w));
    const a1 = db2
      .prepare<[], { event_json: string }>(
        "SELECT event_json FROM transcript_events WHERE session_id LIKE '%0001' AND seq = 2",
      )
      .get();
    const next = JSON.parse(a1?.event_json ?? "{}");
    next.id = "0001-a2";
    next.message.timestamp += 60_000;
    next.message.responseId = "chatcmpl-mock-0001-b";
    db2
      .prepare("INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, 3, ?, ?)")
      .run("7a1c0e52-4b1d-4c55-9a0e-3f6f1b2c0001", JSON.stringify(next), next.message.timestamp);
    db2.close();
    const third = await meter.runOnce();
    meter.close();
    expect(third.billed).toBe(1);
    expect(third.failures).toEqual([]);
    expect(byUser(w)["telegram:5550101"]).toEqual({ requests: 3, costUsd: "0.0165" });
  });
});

describe("case store-relocated-agent-dir-archives: a relocated store in a dir named `agent` archives into its sibling sessions/", () => {
  const CASE = "store-relocated-agent-dir-archives";

  it("2 calls $0.012: the cold-stored DM telegram:5550202 $0.0075 is billed (was 1 call $0.0045)", async () => {
    w?.cleanup();
    const r = await meterCaseDir(join(CASES, CASE), "calculate", { openclawHome: join(CASES, CASE, "home") });
    w = r.world;
    expect(r.s.billed).toBe(2);
    expect(byUser(w)).toEqual({
      "telegram:5550101": { requests: 1, costUsd: "0.0045" },
      "telegram:5550202": { requests: 1, costUsd: "0.0075" },
    });
  });

  it("OpenClaw's artifact directory: a dir named agent maps to its sibling sessions, any other is itself", () => {
    expect(storeArtifactDir("/b/main/agent")).toBe("/b/main/sessions");
    expect(storeArtifactDir("/b/main/store")).toBe("/b/main/store");
    expect(relocatedStores("/b/main/agent/openclaw-agent.sqlite", [])).toEqual([
      { file: "/b/main/agent/openclaw-agent.sqlite", sessionsDir: "/b/main/sessions", suffixAgent: null },
    ]);
    expect(relocatedStores("/b/agent/sessions.json", ["openclaw-agent.ops.sqlite"])).toEqual([
      { file: "/b/agent/openclaw-agent.sqlite", sessionsDir: "/b/sessions", suffixAgent: null },
      { file: "/b/agent/openclaw-agent.ops.sqlite", sessionsDir: "/b/sessions", suffixAgent: "ops" },
    ]);
  });
});
