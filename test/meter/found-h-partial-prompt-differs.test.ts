import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { responseSlotOf } from "../../src/meter/identity.js";
import { queryUsage } from "../../src/meter/report.js";
import { createUsageWriter, type NewUsageEventRow } from "../../src/meter/usage-repo.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";
import { ENGINES, testOn } from "../support/temp-db.js";

/**
 * Case response-partial-prompt-differs: a streamed reply's partial copy written with the usage
 * known at the stream's start (the cache counts missing: hebo-gateway#187; the prompt split
 * otherwise: bifrost#6378) has another prompt than its final copy. Since calls of another prompt
 * under one response id count as calls (a relay that reuses one id), both copies were billed
 * (6 calls $0.0819684); a partial is a copy: 4 calls $0.0290844.
 */
const NAME = "response-partial-prompt-differs";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "5e2b7c91-4a3d-4f60-8b1e-2c9d7a4f3b18";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const LINES = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");
const RIGHT = {
  key: "telegram:5551301",
  requests: 4,
  input: 1462,
  output: 436,
  cacheRead: 53028,
  cacheWrite: 600,
  costUsd: "0.0290844",
};
/** The entry ids of the three final copies (their partials come first). */
const FINALS = ["a3", "a6", "a9"];

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const usageOf = () => queryUsage((w as TempWorld).db, { by: "user" });

describe(`case ${NAME}: a partial copy whose prompt counts differ from its final is a copy`, () => {
  it("4 calls $0.0290844, each at its final copy (was 6 calls $0.0819684); the next call under a reused id still a call", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 4, duplicates: 3 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    meter.close();
    expect(usageOf()).toMatchObject([RIGHT]);
  });

  for (const restart of [false, true]) {
    it(`partials in one poll, finals in the next${restart ? " after a restart" : ""}: no response billed twice`, async () => {
      w = tempWorld(join(CASE, "state"));
      const file = join(w.stateDir, SESSION);
      const id = (l: string) => JSON.parse(l).id as string;
      writeFileSync(file, `${LINES.filter((l) => !FINALS.includes(id(l)) && id(l) !== "a11").join("\n")}\n`);
      let meter = meterFor(w, { pricer: casePricer(CASE) });
      expect(await meter.runOnce()).toMatchObject({ billed: 3 });
      if (restart) {
        meter.close();
        meter = meterFor(w, { pricer: casePricer(CASE) });
      }
      appendFileSync(file, `${LINES.filter((l) => FINALS.includes(id(l)) || id(l) === "a11").join("\n")}\n`);
      // the finals are copies of billed partials; only the next turn's call is billed
      expect(await meter.runOnce()).toMatchObject({ billed: 1, duplicates: 3 });
      meter.close();
      expect(usageOf()).toMatchObject([{ key: RIGHT.key, requests: 4 }]);
    });
  }
});

const NOW = 1_790_000_000_000;

describe.each(ENGINES)("%s: a partial copy finds its billed response under the id or a slot", (engine) => {
  const test = testOn(engine);

  test("the split moved, the cache counts missing: a copy; a larger prompt: another call", ({ db }) => {
    const ledger = createLedger(db);
    const writer = createUsageWriter(db);
    const rid = "msg_01RelayGatewayFixedResponse";
    const row = (key: string, input: number, cacheRead: number, slot?: string): NewUsageEventRow => ({
      dedupe_key: key,
      ledger_entry_id: ledger.post({
        accountId: "telegram:1",
        kind: "usage",
        amountMicroCredits: -1n,
        idempotencyKey: `usage:${key}`,
        nowMs: NOW,
      }).entryId,
      account_id: "telegram:1",
      agent_id: "main",
      session_id: "s1",
      session_key: null,
      source: "jsonl",
      source_ref: "/x.jsonl@1",
      provider: "anthropic",
      model: "claude-sonnet-4-5",
      api: "anthropic-messages",
      response_id: rid,
      ...(slot !== undefined ? { response_slot: slot } : {}),
      message_ts_ms: NOW,
      input_tokens: input,
      output_tokens: 10,
      cache_read_tokens: cacheRead,
      cache_write_tokens: 0,
      cache_write_1h_tokens: 0,
      total_tokens: input + cacheRead + 10,
      reasoning_tokens: 0,
      stop_reason: "stop",
      is_error: 0,
      error_message: null,
      recorded_cost_pico_usd: null,
      cost_pico_usd: 1_000_000,
      table_cost_pico_usd: null,
      charge_micro_credits: 1,
      price_source: "table",
      price_version: "test",
      unknown_model: 0,
      anomaly: null,
      created_at_ms: NOW,
    });
    const look = (input: number, cacheRead: number, cacheWrite = 0) =>
      writer.responseCopy("anthropic", rid, NOW + 2_000, [{ input, cacheRead, cacheWrite }]);
    const first = writer.insert(row("k1", 1000, 0));
    // the first call's partial without its cache counts, or with its cache write only
    expect(look(1000, 0)).toEqual({ id: first });
    expect(look(1000, 0, 600)).toEqual({ id: first });
    const second = writer.insert(row("k2", 250, 17306, responseSlotOf(rid, 17556)));
    // its partial counted the whole prompt as input and a part of the cache read (total 18056)
    expect(look(17556, 500)).toEqual({ id: second });
    // its partial without the cache read
    expect(look(250, 0)).toEqual({ id: second });
    // the next turn under the reused id: another call, its own slot
    expect(look(300, 17722)).toEqual({ slot: responseSlotOf(rid, 18022) });
  });
});
