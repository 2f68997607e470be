import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { createEnforcer, createQueries, DEFAULT_SETTINGS, renderAlert } from "../../src/limits/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import {
  budgetStatuses,
  createBudgetsRepo,
  parseUsdToMicro,
  runBudgetScan,
  runReport,
  syncBudgetBlocks,
  usedPctText,
} from "../../src/reports/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";

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

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("operator budgets", () => {
    test("a provider budget and --provider count the provider's calls in any letter case", ({ db }) => {
      // Rows keep the provider as written (a pushed `OpenAI`, a transcript's `OPENAI`), priced
      // case-insensitively; the filter compared it exactly, so a budget on `openai` (subjects are
      // lower-cased) saw $1 of the $3.50 spent there and a report --provider openai 1 call of 3.
      const day0 = Date.parse("2026-11-30T00:00:00Z");
      createBudgetsRepo(db).set(
        {
          scope: "provider",
          subject: "OpenAI",
          period: "day",
          limitMicroUsd: 2_000_000,
          mode: "soft",
          thresholdsPct: null,
        },
        day0,
      );
      spend(db, day0 + H, USD, "main", "openai");
      spend(db, day0 + 2 * H, USD * 2n, "main", "OpenAI");
      spend(db, day0 + 3 * H, USD / 2n, "ops", "OPENAI");
      spend(db, day0 + 4 * H, USD * 7n, "main", "anthropic");
      const status = budgetStatuses(db, "UTC", day0 + 5 * H);
      expect(status.map((s) => [s.name, s.spentUsd, s.usedPct])).toEqual([["provider:openai", "3.5", 175]]);
      for (const provider of ["openai", "OpenAI"]) {
        const r = runReport(db, {
          range: { fromMs: day0, toMs: day0 + 5 * H },
          timeZone: "UTC",
          by: [],
          filters: { provider },
          creditsPerUsd: { num: 1n, den: 1n },
          latency: false,
        });
        expect([r.totals.requests, r.totals.costUsd]).toEqual([3, "3.5"]);
      }
    });

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

    test("a raised budget's thresholds are told in the same window; a budget set back is not told again", ({
      db,
    }) => {
      const enforcer = createEnforcer(db, { ...DEFAULT_SETTINGS, capThresholdsPct: [80] });
      const budgets = createBudgetsRepo(db);
      const day0 = Date.parse("2026-03-10T00:00:00Z");
      const set = (limitMicroUsd: number, at: number) =>
        budgets.set(
          { scope: "all", subject: "", period: "day", limitMicroUsd, mode: "soft", thresholdsPct: null },
          at,
        );
      set(1_000_000, day0);
      spend(db, day0 + H, (USD * 8n) / 10n); // $0.80 of $1
      expect(runBudgetScan(db, enforcer, day0 + H + 1)).toBe(1);
      set(2_000_000, day0 + 2 * H); // raised to $2: $0.80 is 40 %
      expect(runBudgetScan(db, enforcer, day0 + 2 * H + 1)).toBe(0);
      spend(db, day0 + 3 * H, USD); // $1.80 of $2: 90 % (before: never told)
      expect(runBudgetScan(db, enforcer, day0 + 3 * H + 1)).toBe(1);
      set(1_000_000, day0 + 4 * H); // set back to $1: its 80 % was told
      expect(runBudgetScan(db, enforcer, day0 + 4 * H + 1)).toBe(0);
      expect(budgetAlerts(db).map((a) => [a.threshold, a.window_key])).toEqual([
        ["day/80", "day:2026-03-10"],
        ["day/80@2", "day:2026-03-10"],
      ]);
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
      expect(() => budgets.set({ ...base, mode: "stern" as never }, 1)).toThrow(/soft or hard/);
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

    test("hard budgets block the agent's end users with operator_budget until rollover or a raise", ({
      db,
    }) => {
      const tz = "UTC";
      const settings = { ...DEFAULT_SETTINGS, timezone: tz, topupUrl: "https://pay.example/top" };
      const enforcer = createEnforcer(db, settings);
      const queries = createQueries(db, enforcer);
      const budgets = createBudgetsRepo(db);
      const day0 = Date.parse("2026-03-10T00:00:00Z");
      const day1 = day0 + 24 * H;
      createLedger(db).post({
        accountId: "telegram:9",
        kind: "grant",
        amountMicroCredits: 50_000_000n,
        idempotencyKey: "fund-9",
        nowMs: day0,
      });
      const status = (agentId: string | undefined, at: number) =>
        queries.answer("status", { userId: "telegram:9", ...(agentId ? { agentId } : {}) }, at);
      const hard = (scope: "all" | "agent" | "provider", subject: string, limitMicroUsd: number) =>
        budgets.set(
          { scope, subject, period: "day", limitMicroUsd, mode: "hard", thresholdsPct: [50, 100] },
          day0,
        );

      hard("agent", "support", 1_000_000); // $1 a day for agent support
      spend(db, day0 + H, (USD * 6n) / 10n, "support"); // $0.60
      expect(runBudgetScan(db, enforcer, day0 + H + 1)).toBe(1); // 50%
      expect(status("support", day0 + H + 2).allowed).toBe(true);

      spend(db, day0 + 2 * H, (USD * 4n) / 10n, "support"); // $1.00: reached exactly
      spend(db, day0 + 2 * H, USD * 9n, "main"); // another agent's spend does not count
      expect(runBudgetScan(db, enforcer, day0 + 2 * H + 1)).toBe(1); // 100%
      expect(runBudgetScan(db, enforcer, day0 + 2 * H + 2)).toBe(0); // exactly once per window
      const blocked = status("support", day0 + 3 * H);
      expect(blocked).toMatchObject({
        allowed: false,
        reason: "operator_budget",
        liftsAt: new Date(day1).toISOString(),
      });
      expect(blocked.topupUrl).toBeUndefined(); // a top-up cannot help
      expect(status("main", day0 + 3 * H)).toMatchObject({ allowed: true, reason: null }); // other agents
      expect(status(undefined, day0 + 3 * H).allowed).toBe(true); // asked without an agent
      expect(
        budgetAlerts(db).map((a) => a.threshold),
        "alerts still once per threshold",
      ).toEqual(["day/50", "day/100"]);

      // The window rolls over: unblocked at once, before any scan; the scan then drops the row.
      expect(status("support", day1).allowed).toBe(true);
      runBudgetScan(db, enforcer, day1 + 1);
      expect(enforcer.allBudgetBlocks()).toEqual([]);

      // Reached again on day 1, then the operator raises the budget: unblocked at once.
      spend(db, day1 + H, USD * 2n, "support");
      runBudgetScan(db, enforcer, day1 + H + 1);
      expect(status("support", day1 + H + 2).reason).toBe("operator_budget");
      hard("agent", "support", 3_000_000);
      syncBudgetBlocks(db, tz, day1 + H + 3);
      expect(status("support", day1 + H + 4).allowed).toBe(true);
      // Switched to soft: alerts only, never blocks.
      spend(db, day1 + 2 * H, USD * 2n, "support"); // $4 of $3
      budgets.set(
        {
          scope: "agent",
          subject: "support",
          period: "day",
          limitMicroUsd: 3_000_000,
          mode: "soft",
          thresholdsPct: null,
        },
        day1 + 2 * H,
      );
      runBudgetScan(db, enforcer, day1 + 2 * H + 1);
      expect(status("support", day1 + 2 * H + 2).allowed).toBe(true);
      budgets.clear("agent", "support");

      // A provider budget blocks the agents that spent on that provider in the window.
      spend(db, day1 + 3 * H, USD, "research", "anthropic");
      hard("provider", "anthropic", 500_000);
      runBudgetScan(db, enforcer, day1 + 3 * H + 1);
      expect(status("research", day1 + 3 * H + 2).reason).toBe("operator_budget");
      expect(status("main", day1 + 3 * H + 2).allowed).toBe(true); // main spent on openai only
      budgets.clear("provider", "anthropic");
      syncBudgetBlocks(db, tz, day1 + 3 * H + 3);
      expect(status("research", day1 + 3 * H + 4).allowed).toBe(true);

      // An overall budget blocks every agent, even one that never spent.
      hard("all", "", 1_000_000);
      runBudgetScan(db, enforcer, day1 + 4 * H);
      expect(status("brand-new", day1 + 4 * H + 1).reason).toBe("operator_budget");
      expect(enforcer.allBudgetBlocks().map((b) => [b.agentId, b.budget, b.windowKey])).toEqual([
        ["*", "all", "day:2026-03-11"],
      ]);
    });
  });

  test("used % for people: two decimals, <0.01 for a spend too small to show, never 0 beside a spend", () => {
    expect(usedPctText({ usedPct: 0, spentPicoUsd: "0" })).toBe("0.00");
    expect(usedPctText({ usedPct: 0, spentPicoUsd: "1" })).toBe("<0.01");
    expect(usedPctText({ usedPct: 0.08, spentPicoUsd: "800" })).toBe("0.08");
    expect(usedPctText({ usedPct: 150, spentPicoUsd: "9" })).toBe("150.00");
  });
});
