import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case cli-turn-two-writers: OpenClaw (2026.7.x, openclaw/openclaw#118185) wrote one `claude-cli`
 * turn twice: the CLI runner's line (`idempotencyKey: "cli-assistant:<runId>"`, every text segment
 * joined) and, ~300 ms later, the agent command's terminal mirror (`persistCliTurnTranscript`, only
 * the final visible text), both `api: "cli"` with the turn's usage. The texts differ, so it was not
 * taken for a rewritten copy, and the turn was billed twice.
 */
const NAME = "cli-turn-two-writers";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "8a3e4c1b-5d9f-4e7a-9c2b-7b4f0d3e6a92";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const LINES = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");
const USER = "telegram:5550401";
// turn 1 $0.048018 + turn 2 $0.024594 + two distinct CLI turns with no user line between them
// ($0.020949 + $0.019725), each billed once
const RIGHT = { key: USER, requests: 4, output: 1650, cacheRead: 184800, costUsd: "0.113286" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const row = (world: TempWorld, key: string) =>
  queryUsage(world.db, { by: "user" }).find((r) => r.key === key);

describe(`case ${NAME}: one CLI turn written by two writers is one call`, () => {
  it(`${USER} 4 calls $0.113286 (was 6 calls $0.185898)`, async () => {
    const r = await meterCaseDir(CASE);
    w = r.world;
    expect(r.s).toMatchObject({ billed: 4, duplicates: 0, malformed: 0 });
    expect(row(w, USER)).toMatchObject(RIGHT);
  });

  for (const restart of [false, true]) {
    it(`the same at every cut of the transcript between two polls (${restart ? "restart between" : "same meter"})`, async () => {
      for (let cut = 1; cut < LINES.length; cut++) {
        w = tempWorld(join(CASE, "state"));
        const file = join(w.stateDir, SESSION);
        writeFileSync(file, `${LINES.slice(0, cut).join("\n")}\n`);
        let meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
        await meter.runOnce();
        if (restart) {
          meter.close();
          meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
        }
        appendFileSync(file, `${LINES.slice(cut).join("\n")}\n`);
        await meter.runOnce();
        meter.close();
        expect({ cut, ...row(w, USER) }).toMatchObject({ cut, ...RIGHT });
        w.cleanup();
        w = undefined;
      }
    }, 300_000);
  }

  it("in an OpenClaw SQLite store, at every cut with a restart between", async () => {
    for (let cut = 1; cut <= LINES.length; cut++) {
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
        for (let i = from; i < to; i++) insert.run(SID, i, LINES[i], 1795640000000 + i);
      };
      rows(0, cut);
      let meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
      await meter.runOnce();
      meter.close();
      meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
      rows(cut, LINES.length);
      await meter.runOnce();
      meter.close();
      oc.close();
      expect({ cut, ...queryUsage(w.db, { by: "agent" })[0] }).toMatchObject({ cut, ...RIGHT, key: "main" });
      w.cleanup();
      w = undefined;
    }
  }, 300_000);
});
