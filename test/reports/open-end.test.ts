/**
 * Case `test/cases/report-open-end-future-stamped`: a call stamped ahead of this clock (the bot
 * host's clock runs ahead; the meter bills calls up to 365 days ahead) is billed, counted by
 * `usage --since today`, a budget's spend and the balance, but `report --today`, `--last` and
 * `--from` without `--to` ended their range at now and left it out until its time came.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { createCliContext } from "../../src/cli/context.js";
import { buildProgram } from "../../src/cli/program.js";
import { createLedger } from "../../src/credits/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { resolveRange, runReport } from "../../src/reports/index.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";

const CASE = resolve(import.meta.dirname, "../cases/report-open-end-future-stamped");
/** The case's "now": calls at 09:00Z (past), 12:10Z (10 minutes ahead) and tomorrow 00:05Z. */
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

interface Report {
  toMs: number;
  rows: { group: { day?: string }; requests: number; costUsd: string }[];
  totals: { requests: number; costUsd: string };
  budgets: { spentUsd: string }[];
}

describe("case report-open-end-future-stamped", () => {
  test("a report without an asked end counts calls stamped after now, as usage and budgets do", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-open-end-"));
    dirs.push(dir);
    cpSync(CASE, join(dir, "case"), { recursive: true });
    const env = { CREDITGATE_LOG_LEVEL: "silent", CREDITGATE_PRICES: join(dir, "case", "prices.json") };
    const db = join(dir, "creditgate.sqlite");
    const state = join(dir, "case", "state");
    expect(
      JSON.parse(await cli(env, ["--db", db, "--state-dir", state, "--json", "meter", "--once"])),
    ).toMatchObject({
      billed: 3,
      held: 0,
    });
    await cli(env, ["--db", db, "budgets", "set", "all", "--daily", "1"]);
    const report = async (...args: string[]) =>
      JSON.parse(await cli(env, ["--db", db, "--json", "report", "--no-latency", ...args])) as Report;
    const totals = (r: Report) => [r.totals.requests, r.totals.costUsd];
    const days = (r: Report) => r.rows.map((x) => [x.group.day, x.requests]);

    // today: before 1 request $0.0045 (the 12:10Z call left out); the day's budget spend is $0.009
    const today = await report("--today");
    expect(totals(today)).toEqual([2, "0.009"]);
    expect(today.budgets.map((b) => b.spentUsd)).toEqual(["0.009"]);
    expect(today.toMs).toBe(Date.parse("2026-12-04T12:10:00.001Z"));
    // a call stamped tomorrow is tomorrow's, not today's
    expect(days(await report("--today", "--by", "day"))).toEqual([["2026-12-04", 2]]);
    // no end asked: every call from the start on, as `usage --since` (before: 1)
    expect(days(await report("--from", "2026-12-04", "--by", "day"))).toEqual([
      ["2026-12-04", 2],
      ["2026-12-05", 1],
    ]);
    expect(totals(await report("--last", "7d"))).toEqual([3, "0.0135"]);
    // an asked end is kept
    expect(totals(await report("--from", "2026-12-04", "--to", "2026-12-04"))).toEqual([2, "0.009"]);
    const usage = JSON.parse(
      await cli(env, ["--db", db, "--json", "usage", "--by", "day", "--since", "today"]),
    ) as {
      key: string;
      requests: number;
    }[];
    expect(usage.map((x) => [x.key, x.requests])).toEqual([
      ["2026-12-04", 2],
      ["2026-12-05", 1],
    ]);
  });

  test("resolveRange marks an end it did not get as open: to the day's end for today, else a year on", () => {
    const tz = "America/New_York";
    expect(resolveRange({ today: true }, tz, NOW)).toEqual({
      fromMs: Date.parse("2026-12-04T05:00:00Z"),
      toMs: NOW,
      openUntilMs: Date.parse("2026-12-05T05:00:00Z"),
    });
    expect(resolveRange({ last: "7d" }, tz, NOW).openUntilMs).toBe(NOW + 365 * 86_400_000);
    expect(resolveRange({ from: "2026-12-01" }, tz, NOW).openUntilMs).toBe(NOW + 365 * 86_400_000);
    expect(resolveRange({ from: "2026-12-01", to: "2026-12-02" }, tz, NOW).openUntilMs).toBeUndefined();
  });

  for (const engine of ENGINES)
    test(`${engine}: runReport moves an open end to just after the latest call stamped after it`, ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const ledger = createLedger(t.db);
      const writer = createUsageWriter(t.db);
      for (const [i, ts] of [NOW - 3_600_000, NOW + 600_000, NOW + 13 * 3_600_000].entries()) {
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
          session_key: null,
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
          charge_micro_credits: 1,
          price_source: "table",
          price_version: "t",
          unknown_model: 0,
          anomaly: null,
          created_at_ms: NOW,
        });
      }
      const run = (spec: Parameters<typeof resolveRange>[0]) =>
        runReport(t.db, {
          range: resolveRange(spec, "UTC", NOW),
          timeZone: "UTC",
          by: ["day"],
          creditsPerUsd: { num: 1n, den: 1n },
        });
      const today = run({ today: true });
      expect([today.totals.requests, today.toMs]).toEqual([2, NOW + 600_001]);
      const last = run({ last: "1d" });
      expect([last.totals.requests, last.toMs]).toEqual([3, NOW + 13 * 3_600_000 + 1]);
      expect(last.rows.map((r) => [r.group.day, r.requests])).toEqual([
        ["2026-12-04", 2],
        ["2026-12-05", 1],
      ]);
      expect(run({ from: "2026-12-04", to: "2026-12-04" }).totals.requests).toBe(2);
    });
});
