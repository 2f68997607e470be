import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { GROUP_BY, queryUsage, queryUsageRaw, type UsageQuery } from "../../src/meter/report.js";
import { createUsageWriter, DAY_MS, type NewUsageEventRow } from "../../src/meter/usage-repo.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const D0 = Date.UTC(2026, 10, 10);

function write(db: Db, rows: Partial<NewUsageEventRow>[]): void {
  const ledger = createLedger(db);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    const entries = new Map<string, number>();
    rows.forEach((p, i) => {
      const account = p.account_id ?? "u";
      if (!entries.has(account))
        entries.set(
          account,
          ledger.post({
            accountId: account,
            kind: "grant",
            amountMicroCredits: 1n,
            idempotencyKey: `g:${account}`,
            nowMs: D0,
          }).entryId,
        );
      writer.insert({
        dedupe_key: `k${i}`,
        ledger_entry_id: entries.get(account) as number,
        account_id: account,
        agent_id: "main",
        session_id: null,
        session_key: null,
        source: "jsonl",
        source_ref: `f@${i}`,
        provider: "p",
        model: "m",
        api: null,
        response_id: null,
        message_ts_ms: D0,
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
        cost_pico_usd: 100,
        table_cost_pico_usd: null,
        charge_micro_credits: 1,
        price_source: "table",
        price_version: "t",
        unknown_model: 0,
        anomaly: null,
        created_at_ms: D0,
        ...p,
      });
    });
  })();
}

const SAFE = 2 ** 53 - 1;
describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("report merge edge cases", () => {
    test("ties, concatenation collisions, sums crossing 2^53 between parts, unicode", ({ db }) => {
      const rows: Partial<NewUsageEventRow>[] = [];
      const accounts = ["a", "b", "é", "😀", "\uFFFF", "A", "null"];
      for (const a of accounts) {
        rows.push({ account_id: a, message_ts_ms: D0 - 1, cost_pico_usd: 100 }); // edge part
        rows.push({ account_id: a, message_ts_ms: D0 + DAY_MS / 2, cost_pico_usd: 50 }); // daily
        rows.push({ account_id: a, message_ts_ms: D0 + 3 * DAY_MS + 5, cost_pico_usd: 50 }); // far edge
      }
      // model key collisions: "x/y" + "z" vs "x" + "y/z"
      rows.push({ provider: "x/y", model: "z", message_ts_ms: D0 + 10, cost_pico_usd: 7 });
      rows.push({ provider: "x", model: "y/z", message_ts_ms: D0 - 10, cost_pico_usd: 7 });
      rows.push({ provider: "x", model: "y/z", message_ts_ms: D0 + 2 * DAY_MS, cost_pico_usd: 7 });
      // sums crossing 2^53 only once merged (edge + daily), and within daily
      rows.push({
        account_id: "big",
        message_ts_ms: D0 - 1,
        cost_pico_usd: SAFE - 3,
        input_tokens: SAFE - 3,
        charge_micro_credits: SAFE - 3,
      });
      rows.push({
        account_id: "big",
        message_ts_ms: D0 + 1,
        cost_pico_usd: 10,
        input_tokens: 10,
        charge_micro_credits: 10,
      });
      rows.push({ account_id: "big2", message_ts_ms: D0 + 1, cost_pico_usd: SAFE - 1 });
      rows.push({ account_id: "big2", message_ts_ms: D0 + 2, cost_pico_usd: 3 });
      write(db, rows);
      const qs: UsageQuery[] = [];
      for (const by of GROUP_BY)
        for (const [s, u] of [
          [D0 - DAY_MS, D0 + 4 * DAY_MS],
          [D0 - 5, D0 + 3 * DAY_MS + 10],
          [undefined, undefined],
          [D0 - 20, undefined],
        ] as const) {
          qs.push({ by, sinceMs: s, untilMs: u });
          qs.push({ by, sinceMs: s, untilMs: u, model: "x/y/z" });
          qs.push({ by, sinceMs: s, untilMs: u, model: "y/z" });
        }
      for (const q of qs)
        expect(JSON.stringify(queryUsage(db, q)), JSON.stringify(q)).toBe(
          JSON.stringify(queryUsageRaw(db, q)),
        );
    });
  });
});
