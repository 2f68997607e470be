/**
 * Case `test/cases/report-margin-rate-changed`: a report valued every charge at TODAY's
 * CREDITGATE_CREDITS_PER_USD (no rate was stored with a charge), so calls billed at 1 credit/USD
 * were worth 1/100 of their USD once the rate became 100, and the report's charged USD and margin
 * went wrong for all history. Each charge now stores its USD value at the rate it was charged at
 * (migration 41, summed exactly in usage_daily and usage_archived); rows billed before it are
 * valued at the current rate, as before.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { createCliContext } from "../../src/cli/context.js";
import { buildProgram } from "../../src/cli/program.js";
import { createLedger } from "../../src/credits/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { rangeTotals, runReport } from "../../src/reports/index.js";

import { createEngineDb, ENGINES } from "../support/temp-db.js";

const CASE = resolve(import.meta.dirname, "../cases/report-margin-rate-changed");
const FILE = "state/agents/main/sessions/7a2c4e61-9b3d-4f5a-8c1e-2d4f6b8a0c13.jsonl";
const NOW = Date.parse("2026-12-04T12:00:00Z");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function cli(env: Record<string, string>, args: string[]): Promise<string> {
  let out = "";
  const ctx = createCliContext(env, {
    out: (t) => {
      out += t;
    },
    err: () => {},
  });
  ctx.nowMs = () => NOW;
  await buildProgram(ctx).parseAsync(["node", "creditgate", ...args]);
  return out;
}

interface Row {
  group: { day?: string; session?: string };
  chargedMicroCredits: number;
  chargedUsd: string | null;
  marginUsd: string | null;
  costUsd: string;
}

describe("case report-margin-rate-changed", () => {
  test("a report values each charge at the credit rate it was charged at, not today's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-rate-"));
    dirs.push(dir);
    cpSync(CASE, join(dir, "case"), { recursive: true });
    const file = join(dir, "case", FILE);
    const full = readFileSync(file, "utf8");
    // the first call only (its user message and reply), billed at 1 credit per USD
    writeFileSync(file, `${full.split("\n").slice(0, 3).join("\n")}\n`);
    const base = {
      CREDITGATE_LOG_LEVEL: "silent",
      CREDITGATE_PRICES: join(dir, "case", "prices.json"),
      CREDITGATE_MARKUP: "1.25",
    };
    const db = join(dir, "creditgate.sqlite");
    const state = join(dir, "case", "state");
    const meter = async (rate: string) =>
      JSON.parse(
        await cli({ ...base, CREDITGATE_CREDITS_PER_USD: rate }, [
          "--db",
          db,
          "--state-dir",
          state,
          "--json",
          "meter",
          "--once",
        ]),
      ) as { billed: number; chargedMicroCredits: string };
    expect(await meter("1")).toMatchObject({ billed: 1, chargedMicroCredits: "5625" });
    // the operator moves to 100 credits per USD; the second call is billed at it
    writeFileSync(file, full);
    expect(await meter("100")).toMatchObject({ billed: 1, chargedMicroCredits: "562500" });

    const report = async (...args: string[]) =>
      JSON.parse(
        await cli({ ...base, CREDITGATE_CREDITS_PER_USD: "100" }, [
          "--db",
          db,
          "--json",
          "report",
          "--no-latency",
          "--from",
          "2026-12-01",
          "--to",
          "2026-12-03",
          ...args,
        ]),
      ) as { rows: Row[]; totals: Row };
    const money = (r: Row) => [r.chargedMicroCredits, r.chargedUsd, r.marginUsd];
    // before: charged $0.00568125, margin −$0.00331875 (the 2026-12-01 call worth $0.00005625)
    const days = await report("--by", "day");
    expect(money(days.totals)).toEqual([568125, "0.01125", "0.00225"]);
    expect(days.rows.map((r) => [r.group.day, ...money(r)])).toEqual([
      ["2026-12-01", 5625, "0.005625", "0.001125"],
      ["2026-12-03", 562500, "0.005625", "0.001125"],
    ]);
    // the raw path (by session: not aggregated) says the same as the daily aggregate
    const sessions = await report("--by", "session");
    expect(money(sessions.totals)).toEqual([568125, "0.01125", "0.00225"]);
  });

  for (const engine of ENGINES)
    test(`${engine}: stored values and pre-migration rows (valued at the current rate) sum exactly on every path`, ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const ledger = createLedger(t.db);
      const writer = createUsageWriter(t.db);
      const DAY = 86_400_000;
      const d0 = Date.parse("2026-11-02T00:00:00Z");
      // [time, charge micro-credits, its stored value (pico-USD; null: billed before migration 41)]
      const calls: [number, number, bigint | null][] = [
        [d0 + 3_600_000, 1_000_000, 1_000_000_000_000n], // 1 credit at 1 credit/USD: $1
        [d0 + DAY + 3_600_000, 3, 1_000_000n], // 3 micro-credits at 3 credits/USD: $0.000001
        [d0 + DAY + 7_200_000, 3, 1_000_000n],
        [d0 + DAY + 20 * 3_600_000, 500_000, null], // before the migration: at today's 100 → $0.005
        [d0 + 2 * DAY + 3_600_000, 100_000_000, 1_000_000_000_000n], // 100 credits at 100/USD: $1
      ];
      for (const [i, [ts, charge, value]] of calls.entries()) {
        const entry = ledger.post({
          accountId: "telegram:42",
          kind: "grant",
          amountMicroCredits: 1n,
          idempotencyKey: `g${i}`,
          nowMs: NOW,
        }).entryId;
        writer.insert({
          dedupe_key: `k${i}`,
          ledger_entry_id: entry,
          account_id: "telegram:42",
          agent_id: "main",
          session_id: null,
          session_key: `agent:main:telegram:direct:42`,
          source: "push",
          source_ref: "t",
          provider: "mock",
          model: "mock-gpt",
          api: null,
          response_id: null,
          message_ts_ms: ts,
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
          cost_pico_usd: 1_000_000n,
          table_cost_pico_usd: null,
          charge_micro_credits: charge,
          charge_pico_usd: value,
          price_source: "table",
          price_version: "t",
          unknown_model: 0,
          anomaly: null,
          created_at_ms: NOW,
        });
      }
      const run = (by: ("day" | "session")[], fromMs: number, toMs: number) =>
        runReport(t.db, {
          range: { fromMs, toMs },
          timeZone: "UTC",
          by,
          creditsPerUsd: { num: 100n, den: 1n },
          latency: false,
        });
      const whole = run([], d0, d0 + 3 * DAY); // usage_daily
      expect(whole.totals.chargedUsd).toBe("2.005002");
      expect(whole.totals.marginUsd).toBe("2.004997");
      expect(run(["session"], d0, d0 + 3 * DAY).totals.chargedUsd).toBe("2.005002"); // raw rows
      // a range with raw edges and a subtracted part (nearest-day split)
      const edged = run([], d0 + 2 * 3_600_000, d0 + 2 * DAY + 2 * 3_600_000);
      expect(edged.totals.chargedUsd).toBe("1.005002");
      expect(run(["day"], d0, d0 + 3 * DAY).rows.map((r) => [r.group.day, r.chargedUsd])).toEqual([
        ["2026-11-02", "1"],
        ["2026-11-03", "0.005002"],
        ["2026-11-04", "1"],
      ]);
      // the console overview's margin in credits at today's rate: each charge's stored USD value at
      // 100 credits/USD (before: the micro-credits of charges billed at 1 and 3 credits/USD as such)
      const hundred = { num: 100n, den: 1n };
      expect(rangeTotals(t.db, d0, d0 + 3 * DAY, hundred)).toMatchObject({
        chargedMicroCredits: 101_500_006,
        marginMicroCredits: 200_499_700,
      });
      expect(rangeTotals(t.db, d0 + 2 * 3_600_000, d0 + 2 * DAY + 2 * 3_600_000, hundred)).toMatchObject({
        chargedMicroCredits: 100_500_006,
        marginMicroCredits: 100_499_800,
      });
      // a rate of 0 today: pre-migration charges have no value; rows with a stored one keep it
      const zero = (fromMs: number, toMs: number) =>
        runReport(t.db, {
          range: { fromMs, toMs },
          timeZone: "UTC",
          by: [],
          creditsPerUsd: { num: 0n, den: 1n },
          latency: false,
        }).totals.chargedUsd;
      expect(zero(d0, d0 + 3 * DAY)).toBeNull();
      expect(zero(d0, d0 + DAY)).toBe("1");
    });
});
