import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { pushEventOf } from "../../src/edge/index.js";
import { createPushIngester, meterIdentityOf, pushEventSchema } from "../../src/ingest/index.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine, usageEvent } from "../../src/meter/parse.js";
import { queryUsage } from "../../src/meter/report.js";
import { responseEntryIncrement } from "../../src/meter/sources/batch-builder.js";
import type { ParsedUsage } from "../../src/meter/types.js";
import { parseDecimal } from "../../src/money.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

/**
 * Case response-final-copy-later-poll: the transcript of case message-final-copy-later-poll with
 * the provider response id pi-ai writes on every assistant line. A streamed reply's partial line
 * (entry `4c2e9b10`, 1,500 in / 25 out) read by one poll and its final line under the same entry id
 * and response id (1,500 / 180) read by the next poll: the final was a duplicate of the partial's
 * response identity, so only the partial was billed ($0.015225); now the final bills what it adds
 * ($0.01755, every call at its final counts once), as without response ids.
 */
const NAME = "response-final-copy-later-poll";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "8c4d2e61-5a7b-4c93-8e1f-2b6a9d0c3e58";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const POLL1 = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");
const LATER = readFileSync(join(CASE, "appended.jsonl"), "utf8").trimEnd().split("\n");
const ALL = [...POLL1, ...LATER];

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

/** 4,050 (tool call) + 7,200 (the answer at its final counts) + 6,300 (turn 2) µ$. */
const RIGHT = { key: "telegram:5550921", input: 4500, output: 270, costUsd: "0.01755" };

const usageOf = () => queryUsage((w as TempWorld).db, { by: "user" });

describe(`case ${NAME}: a final copy read a poll after its partial copy bills only its difference`, () => {
  for (const readerThread of [true, false]) {
    it(`$0.01755 (was $0.015225: the partial only), reader thread ${readerThread}`, async () => {
      w = tempWorld(join(CASE, "state"));
      const meter = meterFor(w, { pricer: casePricer(CASE), readerThread });
      expect(await meter.runOnce()).toMatchObject({ billed: 2 });
      appendFileSync(join(w.stateDir, SESSION), `${LATER.join("\n")}\n`);
      // the final copy's difference (180 − 25 output tokens) and turn 2's call
      expect(await meter.runOnce()).toMatchObject({ billed: 2, duplicates: 0 });
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

  it("a restart between the polls (nothing kept in memory: the turn is read back)", async () => {
    w = tempWorld(join(CASE, "state"));
    const first = meterFor(w, { pricer: casePricer(CASE) });
    expect(await first.runOnce()).toMatchObject({ billed: 2 });
    first.close();
    appendFileSync(join(w.stateDir, SESSION), `${LATER.join("\n")}\n`);
    const second = meterFor(w, { pricer: casePricer(CASE) });
    expect(await second.runOnce()).toMatchObject({ billed: 2 });
    second.close();
    expect(usageOf()).toMatchObject([RIGHT]);
  });

  it("read in one poll, the same total", async () => {
    w = tempWorld(join(CASE, "state"));
    writeFileSync(join(w.stateDir, SESSION), `${ALL.join("\n")}\n`);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 3 });
    meter.close();
    expect(usageOf()).toMatchObject([{ ...RIGHT, requests: 3 }]);
  });

  it("copies over three polls (partial, longer partial, final) add up to the final counts", async () => {
    w = tempWorld(join(CASE, "state"));
    const path = join(w.stateDir, SESSION);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    const mid = JSON.parse(LATER[0] as string);
    mid.message.usage.output = 100;
    appendFileSync(path, `${JSON.stringify(mid)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 1 });
    appendFileSync(path, `${LATER.join("\n")}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 2 });
    meter.close();
    expect(usageOf()).toMatchObject([RIGHT]);
  });

  it("a lesser or equal copy in a later poll bills nothing", async () => {
    w = tempWorld(join(CASE, "state"));
    const path = join(w.stateDir, SESSION);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    // the partial again, then one with fewer output tokens (a lesser copy)
    const less = JSON.parse(POLL1[4] as string);
    less.message.usage.output = 10;
    appendFileSync(path, `${POLL1[4]}\n${JSON.stringify(less)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    meter.close();
    // the tool call and the partial: 4,050 + 4,875 µ$
    expect(usageOf()).toMatchObject([{ key: "telegram:5550921", requests: 2, costUsd: "0.008925" }]);
  });

  it("a copy of the response under another entry id (rewritten, not streamed) stays a duplicate", async () => {
    w = tempWorld(join(CASE, "state"));
    const path = join(w.stateDir, SESSION);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    const other = JSON.parse(LATER[0] as string);
    other.id = "9a8b7c6d";
    appendFileSync(path, `${JSON.stringify(other)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    meter.close();
    expect(usageOf()).toMatchObject([{ key: "telegram:5550921", requests: 2, costUsd: "0.008925" }]);
  });

  it("in an OpenClaw SQLite store, rows added between polls", async () => {
    w = tempWorld(join(CASE, "state"));
    writeFileSync(join(w.stateDir, SESSION), `${POLL1[0]}\n`); // the JSONL copy: header only
    const dir = join(w.stateDir, "agents", "main", "agent");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "openclaw-agent.sqlite");
    const oc = new Database(file);
    oc.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
             event_zstd BLOB, created_at INTEGER, PRIMARY KEY (session_id, seq))`);
    const insert = oc.prepare(
      "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
    );
    for (const [i, l] of POLL1.entries()) insert.run(SID, i, l, 1795500000000 + i);
    const meter = meterFor(w, { pricer: casePricer(CASE), readerThread: false });
    expect(await meter.runOnce()).toMatchObject({ billed: 2 });
    for (const [i, l] of LATER.entries()) insert.run(SID, POLL1.length + i, l, 1795500100000 + i);
    oc.close();
    expect(await meter.runOnce()).toMatchObject({ billed: 2 });
    meter.close();
    expect(queryUsage(w.db, { by: "agent" })).toMatchObject([{ key: "main", costUsd: "0.01755" }]);
  });
});

describe(`case ${NAME}: an edge meter's push of the difference`, () => {
  const usageOfLine = (line: string): ParsedUsage => {
    const r = parseLine(line);
    if (r.kind !== "usage") throw new Error("not a usage line");
    return r.usage;
  };
  const partial = usageOfLine(POLL1[4] as string);
  const inc = responseEntryIncrement(partial, usageOfLine(LATER[0] as string)) as ParsedUsage;
  const ev = (u: ParsedUsage) =>
    pushEventOf(
      usageEvent(u, "main", SID, "agent:main:telegram:direct:5550921", "telegram:5550921", "jsonl", "/x@0"),
      "edge-1",
    );

  it("is billed at the center after the partial, on both engines; pushed again, a duplicate", () => {
    expect(inc).toMatchObject({ output: 155, input: 0, responseId: null });
    const push = pushEventSchema.parse(ev(inc));
    expect(meterIdentityOf(push)).toBe(dedupeKey(inc));
    for (const engine of ENGINES) {
      const t = createEngineDb(engine);
      try {
        const ing = createPushIngester(t.db, {
          pricer: casePricer(CASE),
          markup: parseDecimal("1"),
          creditsPerUsd: parseDecimal("1"),
          nowMs: () => partial.messageTsMs + 60_000,
        });
        const res = ing.ingest([ev(partial), ev(inc)], "push:edge:r1", "k1");
        expect(
          res.map((r) => r.status),
          engine,
        ).toEqual(["billed", "billed"]);
        const again = ing.ingest([ev(inc)], "push:edge:r2", "k1");
        expect(
          again.map((r) => r.status),
          engine,
        ).toEqual(["duplicate"]);
        // 4,875 + 2,325 µ$: the answer at its final counts, $0.0072
        expect(queryUsage(t.db, { by: "user" }), engine).toMatchObject([
          { key: "telegram:5550921", requests: 1, output: 180, costUsd: "0.0072" },
        ]);
      } finally {
        t.cleanup();
      }
    }
  });
});
