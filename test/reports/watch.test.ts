import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createEnforcer, DEFAULT_SETTINGS } from "../../src/limits/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { createBudgetsRepo, runBudgetScan } from "../../src/reports/index.js";
import { createEngineDb, type Engine } from "../support/temp-db.js";

/** The built binary (test/global-setup.ts builds dist/ before any test runs). */
const MAIN = resolve(import.meta.dirname, "../../dist/cli/main.js");

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A database with one user's call today (agent support, $2 of provider cost) and a reached hard budget. */
function seeded(engine: Engine = "sqlite"): string {
  const t = createEngineDb(engine);
  cleanups.push(t.cleanup);
  const now = Date.now();
  const entry = createLedger(t.db).post({
    accountId: "telegram:42",
    kind: "grant",
    amountMicroCredits: 1n,
    idempotencyKey: "g1",
    nowMs: now,
  }).entryId;
  createUsageWriter(t.db).insert({
    dedupe_key: "k1",
    ledger_entry_id: entry,
    account_id: "telegram:42",
    agent_id: "support",
    session_id: null,
    session_key: null,
    source: "push",
    source_ref: "t",
    provider: "openai",
    model: "gpt-5",
    api: null,
    response_id: null,
    message_ts_ms: now - 60_000,
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
    cost_pico_usd: 2_000_000_000_000n,
    table_cost_pico_usd: null,
    charge_micro_credits: 1,
    price_source: "table",
    price_version: "t",
    unknown_model: 0,
    anomaly: null,
    created_at_ms: now - 60_000,
  });
  createBudgetsRepo(t.db).set(
    {
      scope: "agent",
      subject: "support",
      period: "day",
      limitMicroUsd: 1_000_000,
      mode: "hard",
      thresholdsPct: null,
    },
    now,
  );
  runBudgetScan(t.db, createEnforcer(t.db, { ...DEFAULT_SETTINGS, timezone: "UTC" }), now);
  t.db.close();
  return t.path;
}

function start(
  cmd: string,
  args: string[],
  dbPath: string,
): { child: ChildProcess; out: () => string; exit: Promise<number | null> } {
  const child = spawn(cmd, args, {
    env: { PATH: process.env.PATH ?? "", CREDITGATE_DB: dbPath, CREDITGATE_TIMEZONE: "UTC", TERM: "xterm" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  cleanups.push(() => child.kill("SIGKILL"));
  return { child, out: () => out, exit };
}

async function until(cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const frames = (s: string) => s.split("creditgate live · ").slice(1);

describe("creditgate report --watch", () => {
  it.each([
    ["sqlite", "SIGINT"],
    ["sqlite", "SIGTERM"],
    ["postgres", "SIGINT"],
  ] as const)(
    "without a terminal (%s) prints one plain frame per interval and exits 0 on %s",
    async (engine, signal) => {
      const p = start(process.execPath, [MAIN, "report", "--watch", "--every", "1"], seeded(engine));
      await until(() => frames(p.out()).length >= 2);
      p.child.kill(signal);
      expect(await p.exit).toBe(0);
      const out = p.out();
      expect(out).not.toContain("\x1b"); // no ANSI escapes when not a terminal
      const first = frames(out)[0] ?? "";
      expect(first).toMatch(/^\S+ \S+ UTC · UTC · every 1 s · Ctrl-C quits\n/);
      expect(first).toContain("today      $2 cost · 1 requests (0 errors) · 0.000001 credits charged");
      expect(first).toMatch(/telegram:42\s+1\s+2\s+0\.000001/);
      expect(first).toContain("users of agent support  operator_budget (agent:support day) until");
      expect(first).toContain("agent:support day hard: $2 of $1 (200.00%) BLOCKING");
      expect(first).toMatch(/operator_budget {2}budget:agent:support day\/100/);
    },
    40_000,
  );

  it("on a terminal redraws in place, hides the cursor and restores it on Ctrl-C (exit 0)", async () => {
    // `script` gives the CLI a real pseudo-terminal; a ^C typed into it is a real SIGINT.
    const cmd = `exec ${process.execPath} ${MAIN} report --watch --every 1`; // exec: no shell between
    const p = start("script", ["-qfec", cmd, "/dev/null"], seeded());
    await until(() => frames(p.out()).length >= 2);
    p.child.stdin?.write("\x03");
    expect(await p.exit).toBe(0);
    const out = p.out();
    expect(out).toContain("\x1b[?25l");
    expect(out).toContain("\x1b[H\x1b[2J");
    expect(out.lastIndexOf("\x1b[?25h")).toBeGreaterThan(out.lastIndexOf("creditgate live"));
  }, 40_000);

  it("refuses --json/--csv, and --every without --watch", async () => {
    const db = seeded();
    for (const args of [
      ["--watch", "--csv"],
      ["--every", "2"],
    ]) {
      const p = start(process.execPath, [MAIN, "report", ...args], db);
      expect(await p.exit).toBe(1);
      expect(p.out()).toMatch(/--watch|--every/);
    }
  }, 40_000);
});
