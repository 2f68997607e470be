import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case entry-copy-one-response-id: two streamed replies each written twice under one OpenClaw
 * entry id, where only one of the two lines carries the provider `responseId`: `4c2e9b10` partial
 * without it (1,500 in / 25 out), final with it (1,500 / 180); `f2b85d19` partial with it
 * (1,800 / 20), final written again without it (1,800 / 60). The same-entry rule asked for the
 * same response id on both lines, so each reply was billed twice, its partial on top of its final
 * (5 requests, $0.028125); now each is one call at its final counts (3 requests, $0.01755), however
 * the lines fall into polls.
 */
const NAME = "entry-copy-one-response-id";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "3f7a1c92-0d4e-4b8a-9c61-5e2b7d8f0a14";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const ALL = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");

/** 4,050 (tool call) + 7,200 (`4c2e9b10` final) + 6,300 (`f2b85d19` final) µ$. */
const RIGHT = { key: "telegram:5550931", requests: 3, input: 4500, output: 270, costUsd: "0.01755" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const usageOf = () => queryUsage((w as TempWorld).db, { by: "user" });

describe(`case ${NAME}: copies of one entry of which one carries the response id are one call`, () => {
  for (const readerThread of [true, false]) {
    it(`read in one poll: 3 calls, $0.01755 (was 5, $0.028125), reader thread ${readerThread}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 3, duplicates: 0 });
      expect(await meter.runOnce()).toMatchObject({ billed: 0 });
      meter.close();
      expect(usageOf()).toMatchObject([RIGHT]);
      // a restarted meter reading a reset copy of the whole transcript bills nothing more
      const dir = join(w.stateDir, "agents/main/sessions");
      writeFileSync(join(dir, `${SID}.jsonl.reset.2026-11-24T07-00-00.000Z`), `${ALL.join("\n")}\n`);
      const again = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect((await again.runOnce()).billed).toBe(0);
      again.close();
      expect(usageOf()).toMatchObject([RIGHT]);
    });
  }

  for (const restart of [false, true]) {
    it(`each final copy read a poll after its partial bills only its difference (restart ${restart})`, async () => {
      w = tempWorld(join(CASE, "state"));
      const path = join(w.stateDir, SESSION);
      // polls end after each partial: lines 0-4, 5-7, 8
      const cuts = [5, 8, ALL.length];
      let meter = meterFor(w, { pricer: casePricer(CASE) });
      for (const cut of cuts) {
        writeFileSync(path, `${ALL.slice(0, cut).join("\n")}\n`);
        await meter.runOnce();
        if (restart) {
          meter.close();
          meter = meterFor(w, { pricer: casePricer(CASE) });
        }
      }
      expect(await meter.runOnce()).toMatchObject({ billed: 0 });
      meter.close();
      expect(usageOf()).toMatchObject([RIGHT]);
    });
  }

  it("two different response ids under one entry id stay two calls", async () => {
    w = tempWorld(join(CASE, "state"));
    const lines = [...ALL];
    const partial = JSON.parse(lines[4] as string);
    partial.message.responseId = "msg_01OtherResponse00000000";
    lines[4] = JSON.stringify(partial);
    writeFileSync(join(w.stateDir, SESSION), `${lines.join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 4 });
    meter.close();
    // the partial 1,500×3 + 25×15 = 4,875 µ$ on top
    expect(usageOf()).toMatchObject([{ key: "telegram:5550931", requests: 4, costUsd: "0.022425" }]);
  });

  it("in an OpenClaw SQLite store, rows added between polls", async () => {
    w = tempWorld(join(CASE, "state"));
    writeFileSync(join(w.stateDir, SESSION), `${ALL[0]}\n`); // the JSONL copy: header only
    const dir = join(w.stateDir, "agents", "main", "agent");
    mkdirSync(dir, { recursive: true });
    const oc = new Database(join(dir, "openclaw-agent.sqlite"));
    oc.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
             event_zstd BLOB, created_at INTEGER, PRIMARY KEY (session_id, seq))`);
    const insert = oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    const meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
    let seq = 0;
    for (const cut of [5, 8, ALL.length]) {
      for (; seq < cut; seq++) insert.run(SID, seq, ALL[seq], 1795500000000 + seq);
      await meter.runOnce();
    }
    oc.close();
    meter.close();
    expect(queryUsage(w.db, { by: "agent" })).toMatchObject([
      { key: "main", requests: 3, costUsd: "0.01755" },
    ]);
  });
});
