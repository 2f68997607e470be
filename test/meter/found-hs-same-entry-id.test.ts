import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case message-rewritten-same-entry-id: a transcript line written again under the same OpenClaw
 * entry id (a streamed reply written partial, then with its final usage; a reply appended again
 * 40 s later) was billed once per line, the partial counts included.
 */
const NAME = "message-rewritten-same-entry-id";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "3d9a6c21-7b4e-4f10-9e2a-6c8b5d1f0a77";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const LINES = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const RIGHT = {
  key: "telegram:5550921",
  requests: 3,
  input: 7600,
  output: 230,
  costUsd: "0.02625",
};

describe(`case ${NAME}: a message written again under its entry id bills once, as its final copy`, () => {
  for (const readerThread of [true, false]) {
    it(`telegram:5550921 3 calls $0.02625 (was 5 calls $0.04305), reader thread ${readerThread}`, async () => {
      const r = await meterCaseDir(CASE, "calculate", { readerThread });
      w = r.world;
      expect(r.s).toMatchObject({ billed: 3, duplicates: 0, malformed: 0 });
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
      // a second poll, and a fresh meter reading a reset copy of the transcript, bill nothing
      const dir = join(w.stateDir, "agents/main/sessions");
      writeFileSync(join(dir, `${SID}.jsonl.reset.2026-11-23T00-00-00.000Z`), `${LINES.join("\n")}\n`);
      const again = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect((await again.runOnce()).billed).toBe(0);
      again.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
    });
  }

  it("a lesser copy after the final one is not billed either, and other entries stay calls", async () => {
    w = tempWorld(join(CASE, "state"));
    const partial = LINES[2] as string;
    const final = LINES[3] as string;
    // final first, then the partial under the same id: the final stands
    const lines = [LINES[0], LINES[1], final, partial, ...LINES.slice(4)];
    writeFileSync(join(w.stateDir, SESSION), `${lines.join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 3 });
    meter.close();
    expect(queryUsage(w.db, { by: "user" })).toMatchObject([RIGHT]);
  });

  it("the same id in another transcript is another entry's (two calls)", async () => {
    w = tempWorld(join(CASE, "state"));
    const other = "9b1c0d2e-3f40-4a51-8b62-7c83d94e05f6";
    const copy = LINES.slice(0, 3).map((l, i) => {
      const e = JSON.parse(l as string);
      if (i === 0) e.id = other;
      else e.message.timestamp += 500; // another call: another time
      return JSON.stringify(e);
    });
    writeFileSync(join(w.stateDir, `agents/main/sessions/${other}.jsonl`), `${copy.join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 4 });
    meter.close();
  });

  it("in an OpenClaw SQLite store", async () => {
    w = tempWorld(join(CASE, "state"));
    writeFileSync(join(w.stateDir, SESSION), `${LINES[0]}\n`); // the JSONL copy: header only
    const dir = join(w.stateDir, "agents", "main", "agent");
    mkdirSync(dir, { recursive: true });
    const oc = new Database(join(dir, "openclaw-agent.sqlite"));
    oc.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
             event_zstd BLOB, created_at INTEGER, PRIMARY KEY (session_id, seq))`);
    const insert = oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    for (const [i, l] of LINES.entries()) insert.run(SID, i, l, 1795400000000 + i);
    oc.close();
    const meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
    expect(await meter.runOnce()).toMatchObject({ billed: 3 });
    meter.close();
    expect(queryUsage(w.db, { by: "agent" })).toMatchObject([
      { key: "main", requests: 3, costUsd: "0.02625" },
    ]);
  });
  it("a final copy read in a later poll than its partial copy bills only what it adds (was billed whole)", async () => {
    // Before 2026-12-04 the turn's entry ids were neither kept with the reader's resume point nor
    // read back, so this reply was billed twice, partial and final ($0.0144); the later poll now
    // reads the turn back and bills the final copy's difference (case message-final-copy-later-poll).
    w = tempWorld(join(CASE, "state"));
    const path = join(w.stateDir, SESSION);
    writeFileSync(path, `${LINES.slice(0, 3).join("\n")}\n`); // header, user, partial
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 1 });
    writeFileSync(path, `${LINES.slice(0, 4).join("\n")}\n`); // + the final under the same id
    expect(await meter.runOnce()).toMatchObject({ billed: 1 });
    meter.close();
    // 2,000 × 3 + 40 × 15 = 6,600 µ$ (partial) + 80 × 15 = 1,200 µ$ (the difference): 7,800 µ$
    expect(queryUsage(w.db, { by: "user" })).toMatchObject([
      { key: "telegram:5550921", output: 120, costUsd: "0.0078" },
    ]);
  });
});
