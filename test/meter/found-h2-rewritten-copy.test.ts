import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { queryUsage } from "../../src/meter/report.js";
import { casePricer, meterCaseDir, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case reply-rewritten-without-response-id: OpenClaw wrote a reply again (a new entry id, a new
 * `message.timestamp` seconds later, no response id to tell it by: openclaw/openclaw#47211,
 * #85937, #92563) and each copy was billed as a call of its own.
 */
const CASES = resolve(import.meta.dirname, "../cases");
const NAME = "reply-rewritten-without-response-id";
const CASE = join(CASES, NAME);
const SID = "5b2f7c10-9d4e-4a61-8c3b-2e7f1a9d0c44";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
/** The case transcript's lines (header first). */
const LINES = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");
/** The index of the line with entry id `id`. */
const at = (id: string) => LINES.findIndex((l) => JSON.parse(l).id === id);

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe(`case ${NAME}: a reply written again without a response id bills once`, () => {
  it("telegram:5550911 6 calls $0.04035 (was 8, $0.0544); a second poll bills nothing", async () => {
    const r = await meterCaseDir(CASE);
    w = r.world;
    expect(r.s).toMatchObject({ billed: 6, duplicates: 0, malformed: 0 });
    expect(queryUsage(w.db, { by: "user" })).toMatchObject([
      { key: "telegram:5550911", requests: 6, errors: 2, output: 390, costUsd: "0.04035" },
    ]);
    const again = meterFor(w, { pricer: casePricer(CASE) });
    expect((await again.runOnce()).billed).toBe(0);
    again.close();
  });

  for (const restart of [false, true]) {
    it(`a copy appended in a later poll is not billed (${restart ? "after a restart: read back" : "same meter"})`, async () => {
      w = tempWorld(join(CASE, "state"));
      const file = join(w.stateDir, SESSION);
      const cut = (id: string) => `${LINES.slice(0, at(id)).join("\n")}\n`;
      writeFileSync(file, cut("a1copy"));
      let meter = meterFor(w, { pricer: casePricer(CASE) });
      expect(await meter.runOnce()).toMatchObject({ billed: 1 });
      const step = async (from: string, to: string | null, billed: number) => {
        if (restart) {
          meter.close();
          meter = meterFor(w as TempWorld, { pricer: casePricer(CASE) });
        }
        const end = to === null ? LINES.length : at(to);
        appendFileSync(file, `${LINES.slice(at(from), end).join("\n")}\n`);
        expect(await meter.runOnce()).toMatchObject({ billed });
      };
      await step("a1copy", "u2", 0); // the copy alone, 1.8 s after its original
      await step("u2", "a3copy", 2); // the tool turn
      await step("a3copy", "u3", 0); // the copy without its thinking
      await step("u3", null, 3); // a real call with the same counts after a user line; two failed tries
      meter.close();
      expect(queryUsage(w.db, { by: "user" })).toMatchObject([{ requests: 6, costUsd: "0.04035" }]);
    });
  }

  for (const readerThread of [true, false]) {
    it(`in an OpenClaw SQLite store, also across a restart (reader thread ${readerThread})`, async () => {
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
      rows(0, at("a3copy"));
      let meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 3 });
      // a restart between the reply and its copy: the rows before the cursor are read back
      meter.close();
      meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      rows(at("a3copy"), LINES.length);
      expect(await meter.runOnce()).toMatchObject({ billed: 3 });
      meter.close();
      oc.close();
      // (a store without session tables bills its rows to the operator, the JSONL header to the DM)
      expect(queryUsage(w.db, { by: "agent" })).toMatchObject([
        { key: "main", requests: 6, costUsd: "0.04035" },
      ]);
    });
  }
});
