import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createUsageWriter, type NewUsageEventRow } from "../../src/meter/usage-repo.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const NOW = 1_790_000_000_000;

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("usage_events writer", () => {
    test("writes every column of the table and reads back what it was given", ({ db }) => {
      const ledger = createLedger(db);
      const posted = ledger.post({
        accountId: "telegram:1",
        kind: "usage",
        amountMicroCredits: -450n,
        idempotencyKey: "usage:k1",
        nowMs: NOW,
      });
      const row: NewUsageEventRow = {
        dedupe_key: "k1",
        ledger_entry_id: posted.entryId,
        account_id: "telegram:1",
        agent_id: "main",
        session_id: "s1",
        session_key: "agent:main:telegram:direct:1",
        source: "jsonl",
        source_ref: "/x.jsonl@10",
        provider: "anthropic",
        model: "claude-sonnet-4-5",
        api: "anthropic-messages",
        response_id: "msg_1",
        message_ts_ms: NOW - 1,
        input_tokens: 100,
        output_tokens: 10,
        cache_read_tokens: 3,
        cache_write_tokens: 4,
        cache_write_1h_tokens: 2,
        total_tokens: 117,
        reasoning_tokens: 5,
        stop_reason: "stop",
        is_error: 0,
        error_message: null,
        // past 2^53: kept exactly as a bigint
        recorded_cost_pico_usd: 10n ** 16n + 1n,
        cost_pico_usd: 450_000_000n,
        table_cost_pico_usd: 450_000_000,
        charge_micro_credits: 450,
        price_source: "table",
        price_version: "test",
        unknown_model: 0,
        anomaly: "note",
        created_at_ms: NOW,
        latency_ms: 1234,
        preview_user: "hi [email]",
        preview_reply: "ok",
      };
      const writer = createUsageWriter(db);
      const id = writer.insert(row);
      expect(writer.idByDedupeKey("k1")).toBe(id);
      expect(writer.idByDedupeKey("k2")).toBeNull();
      // SELECT *: a column added by a later migration shows up here and must be added to the writer.
      const back = db.prepare("SELECT * FROM usage_events WHERE id = ?").safeIntegers(true).get(id) as Record<
        string,
        unknown
      >;
      const expected = Object.fromEntries(
        Object.entries({ id, ...row }).map(([k, v]) => [k, typeof v === "number" ? BigInt(v) : v]),
      );
      expect(back).toEqual(expected);
    });

    test("a second row with the same dedupe key is refused", ({ db }) => {
      const ledger = createLedger(db);
      const writer = createUsageWriter(db);
      const posted = ledger.post({
        accountId: "telegram:1",
        kind: "usage",
        amountMicroCredits: -1n,
        idempotencyKey: "usage:k1",
        nowMs: NOW,
      });
      const row: NewUsageEventRow = {
        dedupe_key: "k1",
        ledger_entry_id: posted.entryId,
        account_id: "telegram:1",
        agent_id: "main",
        session_id: null,
        session_key: null,
        source: "push",
        source_ref: "push:1",
        provider: "openai",
        model: "gpt",
        api: null,
        response_id: null,
        message_ts_ms: NOW,
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
        cost_pico_usd: 1,
        table_cost_pico_usd: null,
        charge_micro_credits: 1,
        price_source: "table",
        price_version: "test",
        unknown_model: 0,
        anomaly: null,
        created_at_ms: NOW,
      };
      writer.insert(row);
      expect(() => writer.insert(row)).toThrow(/UNIQUE/);
    });
  });
});
