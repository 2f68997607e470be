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
        // a later copy's difference row is no request of its own (migration 39)
        requests: 0,
        // the charge's USD value at its rate (migration 42): 450 micro-credits at 2 per USD
        charge_pico_usd: 225_000_000n,
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
      // and its usage_daily group sums it with the charge it values
      expect(
        db
          .prepare("SELECT charge_pico_usd AS p, rated_charge_micro_credits AS r FROM usage_daily")
          .safeIntegers(true)
          .get(),
      ).toEqual({ p: 225_000_000n, r: 450n });
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

    test("usage_daily sums are exact past 2^53 (number sums that overflow, bigint costs, both in one group)", ({
      db,
    }) => {
      const ledger = createLedger(db);
      const writer = createUsageWriter(db);
      const posted = ledger.post({
        accountId: "telegram:1",
        kind: "usage",
        amountMicroCredits: -1n,
        idempotencyKey: "usage:big",
        nowMs: NOW,
      });
      const MAX = Number.MAX_SAFE_INTEGER;
      const row = (i: number, over: Partial<NewUsageEventRow>): NewUsageEventRow => ({
        dedupe_key: `big${i}`,
        ledger_entry_id: posted.entryId,
        account_id: "telegram:1",
        agent_id: "main",
        session_id: null,
        session_key: null,
        source: "push",
        source_ref: `push:${i}`,
        provider: "openai",
        model: "gpt",
        api: null,
        response_id: null,
        message_ts_ms: NOW + i,
        input_tokens: 1,
        output_tokens: 2,
        cache_read_tokens: 3,
        cache_write_tokens: 4,
        cache_write_1h_tokens: 1,
        total_tokens: 10,
        reasoning_tokens: null,
        stop_reason: null,
        is_error: i % 2,
        error_message: null,
        recorded_cost_pico_usd: null,
        cost_pico_usd: 1,
        table_cost_pico_usd: null,
        charge_micro_credits: 1,
        price_source: "provider-billed",
        price_version: "test",
        unknown_model: 0,
        anomaly: null,
        created_at_ms: NOW,
        ...over,
      });
      writer.insertMany([
        row(0, {
          cost_pico_usd: MAX,
          charge_micro_credits: MAX,
          table_cost_pico_usd: MAX,
          total_tokens: MAX,
        }),
        row(1, { cost_pico_usd: MAX - 1, charge_micro_credits: MAX, table_cost_pico_usd: 5 }),
        row(2, { cost_pico_usd: 2n ** 60n, input_tokens: 7, price_source: "fallback", unknown_model: 1 }),
        row(3, { cost_pico_usd: 3, total_tokens: MAX, table_cost_pico_usd: MAX }),
        row(4, { cost_pico_usd: 2n, price_source: "table" }),
      ]);
      // A second write adds to the same day's row (the upsert's own sums).
      writer.insertMany([row(5, { cost_pico_usd: MAX, charge_micro_credits: 9 })]);
      const q = (sql: string) => db.prepare(sql).safeIntegers(true).get() as Record<string, bigint>;
      const daily =
        q(`SELECT requests, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
          cache_write_1h_tokens, total_tokens, cost_pico_usd, charge_micro_credits, unknown_model_requests,
          fallback_priced_requests, provider_billed_requests, provider_billed_cost_pico_usd,
          provider_billed_known_cost_pico_usd, provider_billed_table_cost_pico_usd FROM usage_daily`);
      // The same sums from the raw rows (migration 16's definitions).
      const raw = q(`SELECT COUNT(*) AS requests, SUM(is_error) AS errors, SUM(input_tokens) AS input_tokens,
          SUM(output_tokens) AS output_tokens, SUM(cache_read_tokens) AS cache_read_tokens,
          SUM(cache_write_tokens) AS cache_write_tokens, SUM(cache_write_1h_tokens) AS cache_write_1h_tokens,
          SUM(total_tokens) AS total_tokens, SUM(cost_pico_usd) AS cost_pico_usd,
          SUM(charge_micro_credits) AS charge_micro_credits, SUM(unknown_model) AS unknown_model_requests,
          SUM(CASE WHEN price_source = 'fallback' THEN 1 ELSE 0 END) AS fallback_priced_requests,
          SUM(CASE WHEN price_source = 'provider-billed' THEN 1 ELSE 0 END) AS provider_billed_requests,
          SUM(CASE WHEN price_source = 'provider-billed' THEN cost_pico_usd ELSE 0 END) AS provider_billed_cost_pico_usd,
          SUM(CASE WHEN price_source = 'provider-billed' AND table_cost_pico_usd IS NOT NULL THEN cost_pico_usd ELSE 0 END)
            AS provider_billed_known_cost_pico_usd,
          SUM(CASE WHEN price_source = 'provider-billed' THEN COALESCE(table_cost_pico_usd, 0) ELSE 0 END)
            AS provider_billed_table_cost_pico_usd
        FROM usage_events`);
      expect(Object.fromEntries(Object.entries(daily).map(([k, v]) => [k, BigInt(v)]))).toEqual(
        Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, BigInt(v)])),
      );
      expect(BigInt(daily.cost_pico_usd as bigint)).toBe(2n ** 60n + 3n * BigInt(MAX) + 4n);
    });

    test("the rated sums (charge_pico_usd, rated_charge_micro_credits) are exact past 2^53 and count only rated rows", ({
      db,
    }) => {
      // 2026-12-05 (h-perfw): the rated sums moved from a BigInt per row to number sums that
      // move to bigints when they would leave the safe range, as the other sums
      const ledger = createLedger(db);
      const writer = createUsageWriter(db);
      const posted = ledger.post({
        accountId: "telegram:1",
        kind: "usage",
        amountMicroCredits: -1n,
        idempotencyKey: "usage:rated",
        nowMs: NOW,
      });
      const MAX = Number.MAX_SAFE_INTEGER;
      const row = (i: number, model: string, over: Partial<NewUsageEventRow>): NewUsageEventRow => ({
        dedupe_key: `rated${i}`,
        ledger_entry_id: posted.entryId,
        account_id: "telegram:1",
        agent_id: "main",
        session_id: null,
        session_key: null,
        source: "push",
        source_ref: `push:${i}`,
        provider: "openai",
        model,
        api: null,
        response_id: null,
        message_ts_ms: NOW + i,
        input_tokens: 1,
        output_tokens: 2,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cache_write_1h_tokens: 0,
        total_tokens: 3,
        reasoning_tokens: null,
        stop_reason: null,
        is_error: 0,
        error_message: null,
        recorded_cost_pico_usd: null,
        cost_pico_usd: 1,
        table_cost_pico_usd: null,
        charge_micro_credits: 7,
        price_source: "table",
        price_version: "test",
        unknown_model: 0,
        anomaly: null,
        created_at_ms: NOW,
        ...over,
      });
      writer.insertMany([
        row(0, "a", { charge_pico_usd: MAX, charge_micro_credits: MAX }),
        row(1, "a", { charge_pico_usd: MAX - 2, charge_micro_credits: MAX }),
        row(2, "a", { charge_pico_usd: 2n ** 60n, charge_micro_credits: 5 }),
        // billed at no known rate: in the charge sum, not in the rated sums
        row(3, "a", { charge_pico_usd: null, charge_micro_credits: 11 }),
        row(4, "a", { charge_pico_usd: 4, charge_micro_credits: 3 }),
        // a group with no rated row keeps its rated sums at 0
        row(5, "b", { charge_micro_credits: 13 }),
      ]);
      writer.insertMany([row(6, "a", { charge_pico_usd: MAX, charge_micro_credits: 1 })]);
      const daily = db
        .prepare(
          "SELECT model, charge_pico_usd AS p, rated_charge_micro_credits AS r, charge_micro_credits AS c FROM usage_daily ORDER BY model",
        )
        .safeIntegers(true)
        .all();
      const raw = db
        .prepare(
          `SELECT model, COALESCE(SUM(charge_pico_usd), 0) AS p,
             COALESCE(SUM(CASE WHEN charge_pico_usd IS NOT NULL THEN charge_micro_credits END), 0) AS r,
             SUM(charge_micro_credits) AS c
           FROM usage_events GROUP BY model ORDER BY model`,
        )
        .safeIntegers(true)
        .all();
      const big = (rows: unknown[]) =>
        (rows as Record<string, unknown>[]).map((r) =>
          Object.fromEntries(
            Object.entries(r).map(([k, v]) => [k, typeof v === "string" ? v : BigInt(v as bigint)]),
          ),
        );
      expect(big(daily)).toEqual(big(raw));
      expect(big(daily)[0]).toEqual({
        model: "a",
        p: 2n ** 60n + 3n * BigInt(MAX) + 2n,
        r: 2n * BigInt(MAX) + 9n,
        c: 2n * BigInt(MAX) + 20n,
      });
      expect(big(daily)[1]).toEqual({ model: "b", p: 0n, r: 0n, c: 13n });
    });
  });
});
