import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { createEnforcer, DEFAULT_SETTINGS, renderAlert } from "../../src/limits/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import {
  budgetStatuses,
  createBudgetsRepo,
  parseUsdToMicro,
  runBudgetScan,
} from "../../src/reports/index.js";
import { test } from "../support/temp-db.js";

const H = 3_600_000;
const USD = 1_000_000_000_000n; // pico-USD

let n = 0;
function spend(db: Db, atMs: number, costPico: bigint, agent = "main", provider = "openai") {
  const ledger = createLedger(db);
  const entry = ledger.post({
    accountId: "telegram:1",
    kind: "grant",
    amountMicroCredits: 1n,
    idempotencyKey: `g${++n}`,
    nowMs: atMs,
  }).entryId;
  createUsageWriter(db).insert({
    dedupe_key: `k${n}`,
    ledger_entry_id: entry,
    account_id: "telegram:1",
    agent_id: agent,
    session_id: null,
    session_key: null,
    source: "push",
    source_ref: "t",
    provider,
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
    cost_pico_usd: costPico,
    table_cost_pico_usd: null,
    charge_micro_credits: 1,
    price_source: "table",
    price_version: "t",
    unknown_model: 0,
    anomaly: null,
    created_at_ms: atMs,
  });
}

const budgetAlerts = (db: Db) =>
  db
    .prepare(
      "SELECT account_id, threshold, window_key FROM alerts WHERE kind = 'operator_budget' ORDER BY id",
    )
    .all() as { account_id: string; threshold: string; window_key: string }[];

describe("operator budgets", () => {
  test("soft budgets alert once per threshold per window, in the configured zone", ({ db }) => {
    const tz = "America/New_York";
    const enforcer = createEnforcer(db, { ...DEFAULT_SETTINGS, timezone: tz });
    const budgets = createBudgetsRepo(db);
    const day0 = Date.parse("2026-03-08T05:00:00Z"); // local midnight of the 23-hour DST day
    budgets.set(
      {
        scope: "all",
        subject: "",
        period: "day",
        limitMicroUsd: 1_000_000,
        mode: "soft",
        thresholdsPct: null,
      },
      day0,
    );
    budgets.set(
      {
        scope: "agent",
        subject: "main",
        period: "month",
        limitMicroUsd: 10_000_000,
        mode: "soft",
        thresholdsPct: [50, 100],
      },
      day0,
    );
    budgets.set(
      {
        scope: "provider",
        subject: "anthropic",
        period: "day",
        limitMicroUsd: 1,
        mode: "soft",
        thresholdsPct: null,
      },
      day0,
    );

    spend(db, day0 + H, (USD * 6n) / 10n); // $0.60: 50% of the daily overall budget
    expect(runBudgetScan(db, enforcer, day0 + 2 * H)).toBe(1);
    expect(runBudgetScan(db, enforcer, day0 + 2 * H)).toBe(0); // again: nothing new
    spend(db, day0 + 3 * H, USD * 5n); // $5.60: 80% and 100% at once; the agent's month at 50%
    expect(runBudgetScan(db, enforcer, day0 + 4 * H)).toBe(3);
    expect(runBudgetScan(db, enforcer, day0 + 22 * H)).toBe(0);
    expect(budgetAlerts(db)).toEqual([
      { account_id: "budget:all", threshold: "day/50", window_key: "day:2026-03-08" },
      { account_id: "budget:agent:main", threshold: "month/50", window_key: "month:2026-03" },
      { account_id: "budget:all", threshold: "day/80", window_key: "day:2026-03-08" },
      { account_id: "budget:all", threshold: "day/100", window_key: "day:2026-03-08" },
    ]);
    // 23 hours later it is the next local day: a new window, its own alerts.
    spend(db, day0 + 23 * H + 1, USD);
    expect(runBudgetScan(db, enforcer, day0 + 23 * H + 2)).toBe(3);
    expect(
      budgetAlerts(db)
        .slice(4)
        .map((a) => a.window_key),
    ).toEqual(["day:2026-03-09", "day:2026-03-09", "day:2026-03-09"]);

    const status = budgetStatuses(db, tz, day0 + 23 * H + 2);
    expect(status.map((s) => [s.name, s.period, s.spentUsd, s.usedPct])).toEqual([
      ["agent:main", "month", "6.6", 66],
      ["all", "day", "1", 100],
      ["provider:anthropic", "day", "0", 0],
    ]);
    const text = renderAlert(
      "operator_budget",
      { period: "day", pct: 80, budget: "all", budgetUsd: "1", spentUsd: "0.8" },
      "en",
    );
    expect(text).toBe("Daily budget for all: 80% used ($0.8 of $1).");
    expect(
      renderAlert(
        "operator_budget",
        { period: "month", pct: 50, budget: "agent:main", budgetUsd: "10", spentUsd: "5" },
        "es",
      ),
    ).toBe("Presupuesto mensual de agent:main: 50% usado (US$5 de US$10).");
  });

  test("bad budgets are refused and change nothing; clear removes", ({ db }) => {
    const budgets = createBudgetsRepo(db);
    budgets.set(
      {
        scope: "agent",
        subject: "main",
        period: "day",
        limitMicroUsd: 5,
        mode: "soft",
        thresholdsPct: [80, 50, 80],
      },
      1,
    );
    expect(budgets.list()[0]?.thresholdsPct).toEqual([50, 80]);
    const base = {
      scope: "all",
      subject: "",
      period: "day",
      limitMicroUsd: 5,
      mode: "soft",
      thresholdsPct: null,
    } as const;
    expect(() => budgets.set({ ...base, mode: "hard" }, 1)).toThrow(/not implemented yet/);
    expect(() => budgets.set({ ...base, subject: "x" }, 1)).toThrow(/takes no agent/);
    expect(() => budgets.set({ ...base, scope: "agent" }, 1)).toThrow(/needs its agent/);
    expect(() => budgets.set({ ...base, period: "week" as never }, 1)).toThrow(/day or month/);
    expect(() => budgets.set({ ...base, thresholdsPct: [0] }, 1)).toThrow(/percentages/);
    expect(() => budgets.set({ ...base, limitMicroUsd: 0 }, 1)).toThrow(/positive/);
    expect(budgets.list()).toHaveLength(1);
    expect(parseUsdToMicro("2.5")).toBe(2_500_000);
    expect(() => parseUsdToMicro("0.0000001")).toThrow(/at most 6 decimals/);
    expect(() => parseUsdToMicro("0")).toThrow(/greater than 0/);
    expect(() => parseUsdToMicro("-1")).toThrow(/not a USD amount/);
    expect(budgets.clear("agent", "main", "month")).toBe(0);
    expect(budgets.clear("agent", "main")).toBe(1);
    expect(budgets.list()).toEqual([]);
  });
});
