import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { archiveTranscript } from "../../src/meter/sources/cold-envelope.js";
import { decodeZstd } from "../../src/meter/sources/zst.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * test/cases found by the hunt for transcripts OpenClaw moves, renames or archives (2026-12-03),
 * each with its right value in its README (copied per test, never written).
 */
const CASES = resolve(import.meta.dirname, "../cases");

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

describe("case cold-archive-envelope: OpenClaw's cold-storage archive is an envelope of store rows", () => {
  const CASE = "cold-archive-envelope";
  const caseDir = join(CASES, CASE);
  const SID2 = "5b0c1e7a-2f4d-4e61-8a90-0c1d2e3f0002";
  const right = {
    "telegram:5550101": { requests: 1, costUsd: "0.0045" },
    "telegram:5550202": { requests: 1, costUsd: "0.0075" },
    "telegram:5550303": { requests: 1, costUsd: "0.0135" },
  };

  it("3 calls $0.0255: the cold sessions (a cold/ file and an in-database blob) are billed (was 1 call $0.0045)", async () => {
    const r = await meterCaseDir(caseDir);
    w = r.world;
    expect(r.s.billed).toBe(3);
    expect(r.s.unattributedCalls).toBe(0);
    expect(byUser(w)).toEqual(right);
  });

  it("a session read live before it went cold is not billed again from its archive", async () => {
    w = tempWorld(join(caseDir, "state"));
    const store = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
    const coldDir = join(w.stateDir, "agents", "main", "sessions", "cold");
    const [file] = readdirSync(coldDir);
    if (!file) throw new Error("the case has no cold file");
    const events = archiveTranscript(decodeZstd(readFileSync(join(coldDir, file))))
      .content.toString("utf8")
      .trimEnd()
      .split("\n");
    expect(events).toHaveLength(3);
    // before: session 2's rows are live, not yet archived
    const db = new Database(store);
    const coldRow = db
      .prepare("SELECT * FROM session_transcript_cold_archives WHERE session_id = ?")
      .get(SID2) as Record<string, unknown>;
    db.prepare("DELETE FROM session_transcript_cold_archives WHERE session_id = ?").run(SID2);
    const ins = db.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    for (const [i, e] of events.entries()) ins.run(SID2, i, e, 1790000000000 + i);
    db.close();
    renameSync(join(coldDir, file), join(w.dir, file));
    const meter = meterFor(w, { pricer: casePricer(caseDir) });
    expect((await meter.runOnce()).billed).toBe(3);
    expect(byUser(w)).toEqual(right);
    // cold storage moves them: rows gone, archive published
    const db2 = new Database(store);
    db2.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(SID2);
    const cols = Object.keys(coldRow);
    db2
      .prepare(
        `INSERT INTO session_transcript_cold_archives (${cols.join(",")}) VALUES (${cols.map(() => "?").join(",")})`,
      )
      .run(...cols.map((c) => coldRow[c]));
    db2.close();
    renameSync(join(w.dir, file), join(coldDir, file));
    const s = await meter.runOnce();
    meter.close();
    expect(s.billed).toBe(0);
    expect(byUser(w)).toEqual(right);
  });

  it("without a store (the JSONL source): the cold file's session is its envelope header's", async () => {
    w = tempWorld(join(caseDir, "state"));
    rmSync(join(w.stateDir, "agents", "main", "agent"), { recursive: true });
    writeFileSync(
      join(w.stateDir, "agents", "main", "sessions", "sessions.json"),
      JSON.stringify({
        "agent:main:telegram:direct:5550202": {
          sessionId: SID2,
          updatedAt: 1790000000000,
          chatType: "direct",
        },
      }),
    );
    const meter = meterFor(w, { pricer: casePricer(caseDir) });
    const s = await meter.runOnce();
    meter.close();
    expect(s.billed).toBe(1);
    expect(byUser(w)).toEqual({ "telegram:5550202": { requests: 1, costUsd: "0.0075" } });
  });

  it("archiveTranscript: other content as is; an unparseable record is kept (rejected), not dropped", () => {
    const plain = Buffer.from('{"type":"session","id":"s"}\n{"type":"message"}\n');
    expect(archiveTranscript(plain)).toEqual({ content: plain, sessionId: null });
    const env = Buffer.from(
      [
        '{"kind":"header","version":1,"sessionId":"s1","generation":"g"}',
        '{"kind":"event","row":{"seq":0,"event_json":"{\\"type\\":\\"session\\",\\"id\\":\\"s1\\"}","created_at":1}}',
        '{"kind":"fts","row":{"text":"hi","message_id":"m","role":"assistant","timestamp":1}}',
        '{"kind":"event","row":{"seq":1,"event_js',
        "",
      ].join("\n"),
    );
    const out = archiveTranscript(env);
    expect(out.sessionId).toBe("s1");
    expect(out.content.toString("utf8")).toBe(
      '{"type":"session","id":"s1"}\n{"kind":"event","row":{"seq":1,"event_js\n',
    );
  });
});

describe("case session-file-stale-after-reset: a reset rotated sessionId but kept the entry's sessionFile", () => {
  const CASE = "session-file-stale-after-reset";

  it("telegram:5550404 3 calls $0.01425 (was agent:main 3 calls $0.01425)", async () => {
    const r = await meterCaseDir(join(CASES, CASE));
    w = r.world;
    expect(r.s.billed).toBe(3);
    expect(r.s.unattributedCalls).toBe(0);
    expect(byUser(w)).toEqual({ "telegram:5550404": { requests: 3, costUsd: "0.01425" } });
  });

  it("an id another entry names as its own session keeps that entry", async () => {
    w = tempWorld(join(CASES, CASE, "state"));
    const idx = join(w.stateDir, "agents", "main", "sessions", "sessions.json");
    const sessions = JSON.parse(readFileSync(idx, "utf8")) as Record<string, unknown>;
    sessions["agent:main:telegram:direct:5550505"] = {
      sessionId: "7d1e2f30-4a5b-4c6d-8e9f-0a1b2c3d4e01",
      updatedAt: 1778058003000,
      chatType: "direct",
      lastChannel: "telegram",
    };
    writeFileSync(idx, JSON.stringify(sessions));
    const meter = meterFor(w, { pricer: casePricer(join(CASES, CASE)) });
    await meter.runOnce();
    meter.close();
    expect(byUser(w)).toEqual({ "telegram:5550505": { requests: 3, costUsd: "0.01425" } });
  });
});
