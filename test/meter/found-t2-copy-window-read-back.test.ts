import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case reply-copy-window-read-back: a meter that resumed a transcript after a skipped copy
 * (`reply-rewritten-without-response-id`) counted the copy window from the copy, not from the
 * billed reply, and skipped a reply 45 s after it that a running meter billed.
 */
const NAME = "reply-copy-window-read-back";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "5b2f7c10-9d4e-4a61-8c3b-2e7f1a9d0c44";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const LINES = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");
const LATE = LINES.findIndex((l) => JSON.parse(l).id === "a1late");

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe(`case ${NAME}: the copy window counts from the billed reply, also after a restart`, () => {
  it("telegram:5550911 2 calls $0.0102 in one poll", async () => {
    const r = await meterCaseDir(CASE);
    w = r.world;
    expect(r.s).toMatchObject({ billed: 2, duplicates: 0, malformed: 0 });
    expect(queryUsage(w.db, { by: "user" })).toMatchObject([
      { key: "telegram:5550911", requests: 2, costUsd: "0.0102" },
    ]);
  });

  for (const restart of [false, true]) {
    it(`a1late read in a later poll is billed (${restart ? "after a restart: read back" : "same meter"}; was 1 call after a restart)`, async () => {
      w = tempWorld(join(CASE, "state"));
      const file = join(w.stateDir, SESSION);
      writeFileSync(file, `${LINES.slice(0, LATE).join("\n")}\n`);
      let meter = meterFor(w, { pricer: casePricer(CASE) });
      expect(await meter.runOnce()).toMatchObject({ billed: 1 });
      if (restart) {
        meter.close();
        meter = meterFor(w, { pricer: casePricer(CASE) });
      }
      appendFileSync(file, `${LINES.slice(LATE).join("\n")}\n`);
      expect(await meter.runOnce()).toMatchObject({ billed: 1 });
      meter.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([{ requests: 2, costUsd: "0.0102" }]);
    });
  }

  it("in an OpenClaw SQLite store across a restart", async () => {
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
    const rows = (from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(SID, i, LINES[i], 1790100000000 + i);
    };
    rows(0, LATE);
    let meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
    expect(await meter.runOnce()).toMatchObject({ billed: 1 });
    meter.close();
    meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
    rows(LATE, LINES.length);
    expect(await meter.runOnce()).toMatchObject({ billed: 1 });
    meter.close();
    oc.close();
    expect(queryUsage(w.db, { by: "agent" })).toMatchObject([
      { key: "main", requests: 2, costUsd: "0.0102" },
    ]);
  });
});
