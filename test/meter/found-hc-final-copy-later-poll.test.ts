import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { dedupeKey } from "../../src/meter/identity.js";
import { parseLine } from "../../src/meter/parse.js";
import {
  callCostPicoUsd,
  createPricer,
  type ModelRates,
  parsePriceOverrides,
} from "../../src/meter/pricing.js";
import { queryUsage } from "../../src/meter/report.js";
import { entryIncrement } from "../../src/meter/sources/batch-builder.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";

/**
 * Case message-final-copy-later-poll: a streamed reply's partial line (entry `4c2e9b10`, 1,500 in /
 * 25 out) read by one poll and its final line under the same entry id (1,500 / 180) read by the
 * next poll was billed twice, partial and final ($0.022425 for the transcript); now the final copy
 * bills only what it adds to the partial one ($0.01755: every call at its final counts once).
 */
const NAME = "message-final-copy-later-poll";
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
    it(`$0.01755 (was $0.022425: partial and final both), reader thread ${readerThread}`, async () => {
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

  it("a lesser copy in a later poll bills nothing; a copy that shrank a count is not taken for a grown one", async () => {
    w = tempWorld(join(CASE, "state"));
    const path = join(w.stateDir, SESSION);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    // the partial again (a lesser or equal copy), then one with fewer input tokens but more output
    const odd = JSON.parse(POLL1[4] as string);
    odd.message.usage.input = 1400;
    odd.message.usage.output = 400;
    appendFileSync(path, `${POLL1[4]}\n${JSON.stringify(odd)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    meter.close();
    // the tool call and the partial: 4,050 + 4,875 µ$
    expect(usageOf()).toMatchObject([{ key: "telegram:5550921", requests: 2, costUsd: "0.008925" }]);
  });

  it("genuinely distinct calls stay calls: the same id in a later turn, or under another model", async () => {
    w = tempWorld(join(CASE, "state"));
    const path = join(w.stateDir, SESSION);
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    await meter.runOnce();
    const otherModel = JSON.parse(LATER[0] as string);
    otherModel.message.model = "claude-sonnet-4-5-20250929";
    const laterTurn = JSON.parse(LATER[0] as string);
    laterTurn.message.timestamp += 70_000;
    appendFileSync(path, `${JSON.stringify(otherModel)}\n${LATER[1]}\n${JSON.stringify(laterTurn)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 2 });
    meter.close();
    // 4,050 + 4,875 + 7,200 (another model) + 7,200 (after a user line: a call of its own)
    expect(usageOf()).toMatchObject([{ key: "telegram:5550921", requests: 4, costUsd: "0.023325" }]);
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

  it("the difference is priced at the whole call's long-context tier, with no second per-call fee", async () => {
    w = tempWorld(join(CASE, "state"));
    const path = join(w.stateDir, SESSION);
    const long = (line: string) => {
      const e = JSON.parse(line);
      e.message.usage.input = 250_000;
      delete e.message.usage.cost;
      return JSON.stringify(e);
    };
    // only the streamed answer (and the turn's tool call) at a 250,000-token prompt
    writeFileSync(path, `${[...POLL1.slice(0, 4), long(POLL1[4] as string)].join("\n")}\n`);
    const pricer = createPricer({
      mode: "calculate",
      overrides: parsePriceOverrides(
        {
          "anthropic/claude-sonnet-4-5": {
            input: "3",
            output: "15",
            cacheRead: "0.3",
            cacheWrite: "3.75",
            tiers: [
              { aboveInputTokens: 200000, input: "6", output: "22.5", cacheRead: "0.6", cacheWrite: "7.5" },
            ],
          },
        },
        "test",
      ),
      fallback: { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" },
    });
    const meter = meterFor(w, { pricer });
    await meter.runOnce();
    appendFileSync(path, `${long(LATER[0] as string)}\n`);
    expect(await meter.runOnce()).toMatchObject({ billed: 1 });
    meter.close();
    // tool call 1,200 × 3 + 30 × 15 = 4,050 µ$; the answer once, at its tier: 250,000 × 6 +
    // 180 × 22.5 = 1,504,050 µ$ (the partial's 1,500,562.5, then the difference 155 × 22.5 =
    // 3,487.5; priced on its own counts it was 155 × 15 = 2,325: $1.5069375 in all)
    expect(usageOf()).toMatchObject([{ key: "telegram:5550921", costUsd: "1.5081" }]);
    // a per-call fee (genai-prices `requests_kcount`) is paid by the call's first copy only
    const fee: ModelRates = {
      input: { base: 3_000_000n, tiers: [] },
      output: { base: 15_000_000n, tiers: [] },
      cacheRead: { base: 0n, tiers: [] },
      cacheWrite: { base: 0n, tiers: [] },
      cacheWrite1h: { base: 0n, tiers: [] },
      perCallPico: 1_000_000_000n,
    };
    const p = parseLine(POLL1[4] as string);
    const f = parseLine(LATER[0] as string);
    if (p.kind !== "usage" || f.kind !== "usage") throw new Error("not usage lines");
    const inc = entryIncrement(p.usage, f.usage) as NonNullable<ReturnType<typeof entryIncrement>>;
    expect(callCostPicoUsd(p.usage, fee) + callCostPicoUsd(inc, fee)).toBe(callCostPicoUsd(f.usage, fee));
  });

  it("the difference is billed under the final line's own identity", () => {
    const p = parseLine(POLL1[4] as string);
    const f = parseLine(LATER[0] as string);
    if (p.kind !== "usage" || f.kind !== "usage") throw new Error("not usage lines");
    const inc = entryIncrement(p.usage, f.usage);
    expect(inc).toMatchObject({ input: 0, output: 155, cacheRead: 0, cacheWrite: 0 });
    expect(dedupeKey(inc as NonNullable<typeof inc>)).toBe(dedupeKey(f.usage));
    expect(inc?.recordedCostUsd).toBeCloseTo(0.002325, 12);
    expect(entryIncrement(f.usage, p.usage)).toBeNull();
  });
});
