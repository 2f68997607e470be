/**
 * Report numbers found wrong by helper h-reports (2026-12-04).
 */
import { appendFileSync, cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { heldText } from "../../src/cli/commands/meter.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { parseDecimal } from "../../src/money.js";
import { reportCsv, reportTable, runReport, successTenths } from "../../src/reports/index.js";
import { runCli } from "../support/cli.js";
import { CASES as SHARED_CASES } from "../support/meter-env.js";
import { createTempDb } from "../support/temp-db.js";
import { grantEntries, usageRow } from "../support/usage-data.js";

const CASES = resolve(import.meta.dirname, "../cases");
const env = { CREDITGATE_LOG_LEVEL: "silent" };

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), "creditgate-h-reports-"));
  dirs.push(d);
  return join(d, "creditgate.sqlite");
}

describe("meter --once's held row says which held calls have no price (was `$0`)", () => {
  // unreadable-token-count-held: 3 calls held with no computed cost (unreadable counts);
  // out-of-range-line without prices.json: 1 call held at its recorded $10000.
  const unpriced = join(CASES, "unreadable-token-count-held", "state");
  const priced = join(SHARED_CASES, "out-of-range-line", "state");

  it("table: `3 (not priced)` alone, `4 ($10000 + 3 not priced)` with a priced one (were `3 ($0)`, `4 ($10000)`)", async () => {
    const alone = await runCli(env, ["--db", tempDb(), "--state-dir", unpriced, "meter", "--once"]);
    expect(alone.error).toBeNull();
    expect(alone.out).toMatch(/held for review\s+3 \(not priced\)\n/);
    const both = await runCli(env, [
      ...["--db", tempDb(), "--state-dir", unpriced, "--state-dir", priced],
      ...["meter", "--once"],
    ]);
    expect(both.error).toBeNull();
    expect(both.out).toMatch(/held for review\s+4 \(\$10000 \+ 3 not priced\)\n/);
    expect(both.err).toMatch(/4 model call\(s\) \(\$10000; 3 not priced\) held for review/);
  });

  it("--json: `heldUnpriced` beside `held` and `heldCostUsd` (the priced ones' cost)", async () => {
    const db = tempDb();
    const r = await runCli(env, [
      ...["--db", db, "--state-dir", unpriced, "--state-dir", priced],
      ...["--json", "meter", "--once"],
    ]);
    expect(r.error).toBeNull();
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ held: 4, heldCostUsd: "10000", heldUnpriced: 3 });
    expect(s.reviewQueue).toMatchObject({ held: 4, heldCostUsd: "10000", unpriced: 3 });
    // a second run holds nothing new
    const again = JSON.parse(
      (await runCli(env, ["--db", db, "--state-dir", unpriced, "--json", "meter", "--once"])).out,
    );
    expect(again).toMatchObject({ held: 0, heldUnpriced: 0 });
  });

  it("review's table says `not priced` in the cost column (was `-`)", async () => {
    const db = tempDb();
    await runCli(env, ["--db", db, "--state-dir", unpriced, "--state-dir", priced, "meter", "--once"]);
    const t = (await runCli(env, ["--db", db, "review"])).out;
    expect(t.match(/ {2}not priced {2}\d{4}-/g)).toHaveLength(3); // the cost column, before `held at`
    expect(t).toMatch(/\$10000/);
  });

  it("heldText: none, priced, not priced, both", () => {
    expect(heldText(0, "0", 0)).toBe(0);
    expect(heldText(2, "0.05", 0)).toBe("2 ($0.05)");
    expect(heldText(2, "0", 2)).toBe("2 (not priced)");
    expect(heldText(3, "0.05", 1)).toBe("3 ($0.05 + 1 not priced)");
  });
});

describe("usage --by day lists a day with only held calls in its place (was last)", () => {
  it("2026-09-19 (1 held, not priced) before 2026-09-20 and 2026-09-21, table and --json", async () => {
    // usage-since-without-zone's calls (09-20 23:30Z, 09-21 00:30Z, 09-21 09:30Z) and one call of
    // 09-19 12:00Z held for its unreadable output count, appended to the same transcript
    const db = tempDb();
    const state = join(db, "..", "state");
    cpSync(join(CASES, "usage-since-without-zone", "state"), state, { recursive: true });
    const sessions = join(state, "agents", "main", "sessions");
    const file = readdirSync(sessions).find((f) => f.endsWith(".jsonl")) as string;
    const ts = Date.parse("2026-09-19T12:00:00Z");
    appendFileSync(
      join(sessions, file),
      `${JSON.stringify({
        type: "message",
        id: "a4",
        parentId: "a3",
        timestamp: "2026-09-19T12:00:01.200Z",
        message: {
          role: "assistant",
          content: [{ type: "text", text: "Answer 4." }],
          api: "openai-completions",
          provider: "mock",
          model: "mock-gpt",
          usage: { input: 1000, output: "10 tokens", cacheRead: 0, cacheWrite: 0, totalTokens: 1100 },
          stopReason: "stop",
          timestamp: ts,
          responseId: "chatcmpl-held-4",
        },
      })}\n`,
    );
    const penv = { ...env, CREDITGATE_PRICES: join(CASES, "usage-since-without-zone", "prices.json") };
    expect((await runCli(penv, ["--db", db, "--state-dir", state, "meter", "--once"])).error).toBeNull();
    const rows = JSON.parse((await runCli(penv, ["--db", db, "--json", "usage", "--by", "day"])).out);
    expect(
      rows.map((r: { key: string; requests: number; heldRequests: number }) => [
        r.key,
        r.requests,
        r.heldRequests,
      ]),
    ).toEqual([
      ["2026-09-19", 0, 1],
      ["2026-09-20", 1, 0],
      ["2026-09-21", 2, 0],
    ]);
    const table = (await runCli(penv, ["--db", db, "usage", "--by", "day"])).out;
    expect(
      table
        .split("\n")
        .filter((l) => /^2026-/.test(l))
        .map((l) => l.slice(0, 10)),
    ).toEqual(["2026-09-19", "2026-09-20", "2026-09-21"]);
    // a --since that starts after it leaves it out; one that holds it alone gives it alone
    const late = JSON.parse(
      (await runCli(penv, ["--db", db, "--json", "usage", "--by", "day", "--since", "2026-09-20"])).out,
    );
    expect(late.map((r: { key: string }) => r.key)).toEqual(["2026-09-20", "2026-09-21"]);
  });
});

describe("report's success rate is rounded half-up but never to 100.0 beside an error, nor 0.0 beside a success", () => {
  it("1,999 ok of 2,000 is 99.9 (was 100.0); 2 of 3 is 66.7; JSON, table and CSV", () => {
    const t = createTempDb();
    try {
      const at = Date.parse("2026-03-08T12:00:00Z");
      const entry = grantEntries(t.db, ["telegram:1", "telegram:2"], at);
      const writer = createUsageWriter(t.db);
      t.db.transaction(() => {
        for (let i = 0; i < 2000; i++)
          writer.insert(
            usageRow({
              dedupe_key: `a${i}`,
              account_id: "telegram:1",
              ledger_entry_id: entry.get("telegram:1") as number,
              message_ts_ms: at + i,
              is_error: i === 0 ? 1 : 0,
            }),
          );
        for (let i = 0; i < 3; i++)
          writer.insert(
            usageRow({
              dedupe_key: `b${i}`,
              account_id: "telegram:2",
              ledger_entry_id: entry.get("telegram:2") as number,
              message_ts_ms: at + i,
              is_error: i === 0 ? 1 : 0,
            }),
          );
      })();
      const report = runReport(t.db, {
        range: { fromMs: at - 1000, toMs: at + 10_000 },
        timeZone: "UTC",
        by: ["user"],
        creditsPerUsd: parseDecimal("1"),
        latency: false,
      });
      const rate = Object.fromEntries(report.rows.map((r) => [r.group.user, r.successRatePct]));
      expect(rate).toEqual({ "telegram:1": 99.9, "telegram:2": 66.7 });
      expect(report.totals).toMatchObject({ requests: 2003, errors: 2, successRatePct: 99.9 });
      const csv = reportCsv(report).split("\r\n");
      expect(csv.slice(1, 3).map((l) => l.split(",").slice(0, 4))).toEqual([
        ["telegram:1", "2000", "1", "99.9"],
        ["telegram:2", "3", "1", "66.7"],
      ]);
      const table = reportTable(report).rows.map((r) => [r[0], r[3]]);
      expect(table).toEqual([
        ["telegram:1", "99.9"],
        ["telegram:2", "66.7"],
        ["total", "99.9"],
      ]);
      expect([successTenths(4, 1), successTenths(1, 0), successTenths(2000, 1999)]).toEqual([750, 1000, 1]);
    } finally {
      t.cleanup();
    }
  });
});
