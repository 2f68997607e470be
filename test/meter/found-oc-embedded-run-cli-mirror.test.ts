import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case embedded-run-cli-mirror: after an embedded run whose transcript does not end with the run's
 * final text (a `sessions_yield`), OpenClaw's agent command appends an `api: "cli"` assistant line
 * without a response id that repeats the run's usage (`embeddedAssistantGapFill`: the run's summed
 * usage, or the last call's in later releases). It was billed as one more call.
 */
const NAME = "embedded-run-cli-mirror";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "6e1c2a9f-3b7d-4c58-9a0e-5f2d8b1c4e70";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const LINES = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");
const USER = "telegram:5550301";
const RIGHT = { key: USER, requests: 5, output: 450, cacheRead: 84800, costUsd: "0.045192" };
const CLI = { key: "telegram:5550302", requests: 2, costUsd: "0.096036" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const byUser = (world: TempWorld) => queryUsage(world.db, { by: "user" });
const row = (world: TempWorld, key: string) => byUser(world).find((r) => r.key === key);

describe(`case ${NAME}: OpenClaw's CLI-line mirror of an embedded run is not a call`, () => {
  it(`${USER} 5 calls $0.045192 (was 7 calls $0.075675); the Claude CLI DM's lines stay billed`, async () => {
    const r = await meterCaseDir(CASE);
    w = r.world;
    expect(r.s).toMatchObject({ billed: 7, duplicates: 0, malformed: 0 });
    expect(row(w, USER)).toMatchObject(RIGHT);
    expect(row(w, CLI.key)).toMatchObject(CLI);
  });

  for (const restart of [false, true]) {
    it(`the same at every cut of the transcript between two polls (${restart ? "restart between: read back" : "same meter"})`, async () => {
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
      rmSync(join(w.stateDir, "agents/main/sessions/7f2d3b0a-4c8e-4d69-8b1f-6a3e9c2d5f81.jsonl"));
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
      // a store without session windows: its sessions are the agent's (as in reply-copy-window-read-back)
      expect({ cut, ...queryUsage(w.db, { by: "agent" })[0] }).toMatchObject({
        cut,
        ...RIGHT,
        key: "main",
      });
      w.cleanup();
      w = undefined;
    }
  }, 300_000);
});
