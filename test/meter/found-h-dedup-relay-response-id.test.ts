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
 * Case response-id-reused-by-relay: a relay that answers every response with one id
 * (ccusage/ccusage#1635) gave six calls of one DM two ids; creditgate took every call under an
 * id already billed that day for a copy of it and billed 2 calls $0.0129. A call is a copy of a
 * billed response only when its prompt matches (a copy, a partial and its final repeat it); the
 * others are calls: 6 calls $0.037.
 */
const NAME = "response-id-reused-by-relay";
const CASE = join(resolve(import.meta.dirname, "../cases"), NAME);
const SID = "3f8a1c52-7d4e-4b96-a0c1-9e2d5b7f4a63";
const SESSION = `agents/main/sessions/${SID}.jsonl`;
const LINES = readFileSync(join(CASE, "state", SESSION), "utf8")
  .trimEnd()
  .split("\n");
const RIGHT = { key: "telegram:5551201", requests: 6, input: 12500, output: 710, costUsd: "0.037" };

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

const usageOf = () => queryUsage((w as TempWorld).db, { by: "user" });

/** The line of entry `id` written again under a new entry id `ms` later. */
function copyOf(id: string, ms: number): string {
  const line = LINES.find((l) => JSON.parse(l).id === id) as string;
  const o = JSON.parse(line);
  o.id = `${id}-copy`;
  o.message.timestamp += ms;
  o.timestamp = new Date(o.message.timestamp + 40).toISOString();
  return JSON.stringify(o);
}

describe(`case ${NAME}: calls of other prompts under one reused response id are calls`, () => {
  it("6 calls $0.037 (was 2 calls $0.0129); the copy and the partial copy stay one call each", async () => {
    w = tempWorld(join(CASE, "state"));
    const meter = meterFor(w, { pricer: casePricer(CASE) });
    expect(await meter.runOnce()).toMatchObject({ billed: 6, duplicates: 2 });
    expect(await meter.runOnce()).toMatchObject({ billed: 0 });
    meter.close();
    expect(usageOf()).toMatchObject([RIGHT]);
  });

  for (const restart of [false, true]) {
    it(`read over two polls${restart ? " with a restart" : ""}, then copies and a reset archive: the same total`, async () => {
      w = tempWorld(join(CASE, "state"));
      const file = join(w.stateDir, SESSION);
      // poll 1: the first two turns (the first call and the final copy; the copy and the partial skipped)
      writeFileSync(file, `${LINES.slice(0, 7).join("\n")}\n`);
      let meter = meterFor(w, { pricer: casePricer(CASE) });
      expect(await meter.runOnce()).toMatchObject({ billed: 2, duplicates: 2 });
      if (restart) {
        meter.close();
        meter = meterFor(w, { pricer: casePricer(CASE) });
      }
      // poll 2: the tool loop's two calls and the OpenAI-compatible pair, each under a reused id
      appendFileSync(file, `${LINES.slice(7).join("\n")}\n`);
      expect(await meter.runOnce()).toMatchObject({ billed: 4 });
      expect(usageOf()).toMatchObject([RIGHT]);
      // copies of calls billed under a reused id's other prompts, written again a minute later
      appendFileSync(
        file,
        `${["a10", "a8", "a14", "a12", "a6"].map((id) => copyOf(id, 60_000)).join("\n")}\n`,
      );
      expect(await meter.runOnce()).toMatchObject({ billed: 0 });
      meter.close();
      // a restarted meter reading a reset archive of the whole transcript bills nothing more
      const dir = join(w.stateDir, "agents/main/sessions");
      writeFileSync(join(dir, `${SID}.jsonl.reset.2026-09-21T15-00-00.000Z`), `${LINES.join("\n")}\n`);
      const again = meterFor(w, { pricer: casePricer(CASE) });
      expect((await again.runOnce()).billed).toBe(0);
      again.close();
      expect(usageOf()).toMatchObject([RIGHT]);
    });
  }
});

const NOW = 1_790_000_000_000;

describe.each(ENGINES)("%s: usage_response_keys per prompt", (engine) => {
  const test = testOn(engine);

  test("a reused id's other prompt gets its own slot; its copies, and a call without a prompt, find theirs", ({
    db,
  }) => {
    const ledger = createLedger(db);
    const writer = createUsageWriter(db);
    const row = (key: string, input: number, slot?: string): NewUsageEventRow => ({
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
      response_id: "msg_01RelayGatewayFixedResponse",
      ...(slot !== undefined ? { response_slot: slot } : {}),
      message_ts_ms: NOW,
      input_tokens: input,
      output_tokens: 10,
      cache_read_tokens: 200,
      cache_write_tokens: 0,
      cache_write_1h_tokens: 0,
      total_tokens: input + 210,
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
    const id = "msg_01RelayGatewayFixedResponse";
    // prompt totals of calls that read the rows' 200 cached tokens (0: no prompt)
    const look = (totals: number[]) =>
      writer.responseCopy(
        "anthropic",
        id,
        NOW + 5_000,
        totals.map((t) =>
          t === 0
            ? { input: 0, cacheRead: 0, cacheWrite: 0 }
            : { input: t - 200, cacheRead: 200, cacheWrite: 0 },
        ),
      );
    expect(look([1200])).toEqual({ slot: id });
    const first = writer.insert(row("k1", 1000));
    expect(look([1200])).toEqual({ id: first });
    expect(look([0])).toEqual({ id: first });
    expect(look([1500])).toEqual({ slot: responseSlotOf(id, 1500) });
    const second = writer.insert(row("k2", 1300, responseSlotOf(id, 1500)));
    expect(look([1500])).toEqual({ id: second });
    expect(look([1700, 1500])).toEqual({ id: second });
    expect(look([1900])).toEqual({ slot: responseSlotOf(id, 1900) });
    // the same id and prompt again: refused by the table's primary key, as a copy always was
    expect(() => writer.insert(row("k3", 1300, responseSlotOf(id, 1500)))).toThrow();
  });
});
