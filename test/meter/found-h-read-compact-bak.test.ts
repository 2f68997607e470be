// A compaction's compressed backup (`<id>.jsonl.bak.<ts>.zst`), the only place of the calls of the
// rows `openclaw sessions compact` trimmed (test/cases/store-compact-bak-archive; 2026-12-04, h-read).
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { decodeZstd } from "../../src/meter/sources/zst.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";
import { zstdStore } from "../support/zstd.js";

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

describe("case store-compact-bak-archive: a compaction's compressed backup is read", () => {
  const caseDir = join(CASES, "store-compact-bak-archive");
  const SID = "c0c00000-0000-4000-8000-000000000141";
  const BAK = `${SID}.jsonl.bak.2026-11-22T18-30-00.000Z.zst`;
  const right = { "telegram:5550141": { requests: 3, costUsd: "0.02175" } };
  const lines = () =>
    decodeZstd(readFileSync(join(caseDir, "state", "agents", "main", "sessions", BAK)))
      .toString("utf8")
      .trimEnd()
      .split("\n");

  it("3 calls $0.02175: the calls of the rows compaction trimmed are billed from its .bak.<ts>.zst (was 1 call $0.0105)", async () => {
    const r = await meterCaseDir(caseDir);
    w = r.world;
    expect(r.s).toMatchObject({ billed: 3, malformed: 0, unattributedCalls: 0 });
    expect(byUser(w)).toEqual(right);
    const again = meterFor(w, { pricer: casePricer(caseDir) });
    expect(await again.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    again.close();
  });

  it("a session billed from its rows before the compaction is not billed again from the backup", async () => {
    w = tempWorld(join(caseDir, "state"));
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    const store = join(w.stateDir, "agents", "main", "agent", "openclaw-agent.sqlite");
    // before the compaction: every row live, no backup
    const db = new Database(store);
    const trimmed = db
      .prepare("SELECT seq, event_json, created_at FROM transcript_events WHERE session_id = ? ORDER BY seq")
      .all(SID) as { seq: number; event_json: string; created_at: number }[];
    db.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(SID);
    const ins = db.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    for (const [i, e] of lines().entries()) ins.run(SID, i, e, 1795371000000 + i);
    db.close();
    renameSync(join(sessions, BAK), join(w.dir, BAK));
    const meter = meterFor(w, { pricer: casePricer(caseDir) });
    expect(await meter.runOnce()).toMatchObject({ billed: 3 });
    // `openclaw sessions compact`: the backup published, the rows replaced by the last lines
    renameSync(join(w.dir, BAK), join(sessions, BAK));
    const db2 = new Database(store);
    db2.prepare("DELETE FROM transcript_events WHERE session_id = ?").run(SID);
    const ins2 = db2.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    for (const [i, r] of trimmed.entries()) ins2.run(SID, i, r.event_json, r.created_at);
    db2.close();
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    meter.close();
    expect(byUser(w)).toEqual(right);
  });

  it("on a JSONL install: `<id>.jsonl.bak.<ts>.zst` and a plain `.bak.<ts>.<generation>` are read too", async () => {
    for (const [name, bytes] of [
      [BAK, (b: Buffer) => zstdStore(b)],
      [`${SID}.jsonl.bak.2026-11-22T18-30-00.000Z.0123456789abcdef0123456789abcdef`, (b: Buffer) => b],
    ] as const) {
      w?.cleanup();
      w = tempWorld();
      const sessions = join(w.stateDir, "agents", "main", "sessions");
      mkdirSync(sessions, { recursive: true });
      writeFileSync(
        join(sessions, "sessions.json"),
        JSON.stringify({
          "agent:main:telegram:direct:5550141": {
            sessionId: SID,
            lastChannel: "telegram",
            chatType: "direct",
          },
        }),
      );
      const all = lines();
      // the live file keeps the header and the last turn (`--max-lines 2`), the backup all of it
      writeFileSync(join(sessions, `${SID}.jsonl`), `${[all[0], ...all.slice(-2)].join("\n")}\n`);
      writeFileSync(join(sessions, name), bytes(Buffer.from(`${all.join("\n")}\n`)));
      const meter = meterFor(w, { pricer: casePricer(caseDir) });
      expect(await meter.runOnce(), name).toMatchObject({ billed: 3, malformed: 0 });
      expect(await meter.runOnce(), name).toMatchObject({ billed: 0 });
      meter.close();
      expect(byUser(w), name).toEqual(right);
      expect(readdirSync(sessions)).toContain(name);
    }
  });

  it("other .bak names stay unread: doctor's codex-repair backup, a .bak without OpenClaw's archive time", async () => {
    w = tempWorld();
    const sessions = join(w.stateDir, "agents", "main", "sessions");
    mkdirSync(sessions, { recursive: true });
    writeFileSync(
      join(sessions, "sessions.json"),
      JSON.stringify({ "agent:main:telegram:direct:5550141": { sessionId: SID, lastChannel: "telegram" } }),
    );
    const all = Buffer.from(`${lines().join("\n")}\n`);
    writeFileSync(
      join(sessions, `${SID}.jsonl.pre-doctor-openai-codex-repair-2026-11-22T18-30-00-000Z.bak`),
      all,
    );
    writeFileSync(join(sessions, `${SID}.jsonl.bak.zst`), zstdStore(all));
    const meter = meterFor(w, { pricer: casePricer(caseDir) });
    expect(await meter.runOnce()).toMatchObject({ billed: 0, malformed: 0 });
    meter.close();
    rmSync(sessions, { recursive: true });
  });
});
