import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { createEnforcer, DEFAULT_SETTINGS, runSpikeScan } from "../../src/limits/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 2, 10, 12, 30);

/** One usage row of `account` (agent `agent`) at `atMs`, charged `micro` micro-credits. */
function call(db: Db, n: number, account: string, agent: string, atMs: number, micro: number): void {
  const entry = createLedger(db).post({
    accountId: account,
    kind: "usage",
    amountMicroCredits: BigInt(-micro),
    idempotencyKey: `u${n}`,
    nowMs: atMs,
  }).entryId;
  createUsageWriter(db).insert({
    dedupe_key: `k${n}`,
    ledger_entry_id: entry,
    account_id: account,
    agent_id: agent,
    session_id: null,
    session_key: null,
    source: "push",
    source_ref: "t",
    provider: "openai",
    model: "gpt-5",
    api: null,
    response_id: null,
    message_ts_ms: atMs,
    input_tokens: 1,
    output_tokens: 1,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cache_write_1h_tokens: 0,
    total_tokens: 2,
    reasoning_tokens: null,
    stop_reason: null,
    is_error: 0,
    error_message: null,
    recorded_cost_pico_usd: null,
    cost_pico_usd: 1n,
    table_cost_pico_usd: null,
    charge_micro_credits: micro,
    price_source: "table",
    price_version: "t",
    unknown_model: 0,
    anomaly: null,
    created_at_ms: atMs,
  });
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  test("spend spikes: last hour ≥ factor × the trailing hourly average and ≥ the floor; once per subject per hour", ({
    db,
  }) => {
    const settings = { ...DEFAULT_SETTINGS, spikeFactor: 3, spikeMinMicroCredits: 1_000_000 };
    const enforcer = createEnforcer(db, settings);
    let n = 0;
    // telegram:1 (agent a): 24 × 100k over the day before, then 2M in the last hour: a spike
    for (let h = 2; h < 26; h++) call(db, ++n, "telegram:1", "a", NOW - h * HOUR, 100_000);
    call(db, ++n, "telegram:1", "a", NOW - 10 * 60_000, 2_000_000);
    // telegram:2 (agent b): a steady 1.5M an hour: over the floor, not a spike
    for (let h = 0; h < 26; h++) call(db, ++n, "telegram:2", "b", NOW - h * HOUR - 60_000, 1_500_000);
    // telegram:3 (agent b): a jump under the floor
    call(db, ++n, "telegram:3", "b", NOW - 60_000, 999_999);
    const spikes = () =>
      db
        .prepare(
          "SELECT account_id AS a, window_key AS w FROM alerts WHERE kind = 'spend_spike' ORDER BY account_id",
        )
        .all();
    // telegram:1 and its agent a (a's only user); agent b's last hour (2.5M) is under 3 × its average
    expect(runSpikeScan(db, enforcer, NOW)).toBe(2);
    expect(spikes()).toEqual([
      { a: "agent:a", w: "hour:2026-03-10T12" },
      { a: "telegram:1", w: "hour:2026-03-10T12" },
    ]);
    expect(runSpikeScan(db, enforcer, NOW + 60_000)).toBe(0); // same clock hour: nothing new
    // the next clock hour, the same burst still in the rolling hour: not told again (before
    // 2026-12-04 it was, as hour:2026-03-10T13: case test/cases/spend-spike-told-twice)
    expect(runSpikeScan(db, enforcer, NOW + 40 * 60_000)).toBe(0);
    expect(spikes()).toHaveLength(2);
  });
});
