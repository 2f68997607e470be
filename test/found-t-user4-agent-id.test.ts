import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { normalizeAgentId } from "../src/agent-id.js";
import { loadConfig } from "../src/config/index.js";
import { openDatabase } from "../src/db/index.js";
import { budgetStatuses, createBudgetsRepo } from "../src/reports/index.js";

const MAIN = resolve(import.meta.dirname, "../dist/cli/main.js");
const STATE = resolve(import.meta.dirname, "cases/operator-agent-id-not-normalized/state");

/** The built CLI with only these variables (and PATH, HOME) set. */
function cli(env: Record<string, string>, args: string[]) {
  const home = mkdtempSync(join(tmpdir(), "cg-tuser4-"));
  return spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: home, CREDITGATE_LOG_LEVEL: "silent", ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
}

type UsageRow = { key: string; requests: number; costUsd: string; chargedMicros: number };

describe("found by t-user4 (2026-12-05): an agent id typed as OpenClaw's config writes it", () => {
  it("is normalized as OpenClaw does (lower case, invalid runs to '-', empty is main)", () => {
    expect(normalizeAgentId("main")).toBe("main");
    expect(normalizeAgentId(" Main ")).toBe("main");
    expect(normalizeAgentId("Support Bot")).toBe("support-bot");
    expect(normalizeAgentId("--Ops!!")).toBe("ops");
    expect(normalizeAgentId("!!!")).toBe("main");
    expect(loadConfig({ CREDITGATE_AGENTS: "Main, Support Bot,main" }).sources.agents).toEqual([
      "main",
      "support-bot",
    ]);
  });

  it("case operator-agent-id-not-normalized: CREDITGATE_AGENTS, --agent and agent budgets match the agent", () => {
    const db = join(mkdtempSync(join(tmpdir(), "cg-tuser4-db-")), "cg.sqlite");
    // CREDITGATE_AGENTS as the agents are named in openclaw.json ("Main", "Support Bot"): before,
    // it matched no folder (agents/main, agents/support-bot): 0 agents, 0 billed, exit 0
    const m = cli({ CREDITGATE_AGENTS: "Main,Support Bot" }, [
      "--db",
      db,
      "--state-dir",
      STATE,
      "--json",
      "meter",
      "--once",
    ]);
    expect(m.status, m.stderr).toBe(0);
    const summary = JSON.parse(m.stdout) as { agents: number; billed: number; chargedMicroCredits: string };
    expect(summary).toMatchObject({ agents: 2, billed: 2, chargedMicroCredits: "13500" });
    const usage = (agent: string) =>
      JSON.parse(
        cli({}, ["--db", db, "--json", "usage", "--by", "user", "--agent", agent]).stdout,
      ) as UsageRow[];
    // 1000 in × $3/M + 100 out × $15/M = $0.0045; 2000 × 3 + 200 × 15 = $0.009
    expect(usage("Main")).toEqual([
      expect.objectContaining({ key: "telegram:7001", requests: 1, costUsd: "0.0045", chargedMicros: 4500 }),
    ]);
    expect(usage("Support Bot")).toEqual([
      expect.objectContaining({ key: "telegram:7002", requests: 1, costUsd: "0.009", chargedMicros: 9000 }),
    ]);
    const report = cli({}, [
      "--db",
      db,
      "--json",
      "report",
      "--from",
      "2026-11-20",
      "--to",
      "2026-11-20",
      "--agent",
      "MAIN",
    ]);
    expect(report.status, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout).totals).toMatchObject({ requests: 1, costUsd: "0.0045" });

    // an agent budget set with the config's spelling counts the agent's spend (before: $0 forever,
    // so a hard budget never blocked)
    const d = openDatabase(db);
    try {
      const repo = createBudgetsRepo(d);
      const now = Date.parse("2026-11-20T12:00:00Z");
      repo.set(
        {
          scope: "agent",
          subject: "Support Bot",
          period: "day",
          limitMicroUsd: 5000,
          mode: "hard",
          thresholdsPct: null,
        },
        now,
      );
      repo.set(
        {
          scope: "agent",
          subject: "Main",
          period: "month",
          limitMicroUsd: 1_000_000,
          mode: "soft",
          thresholdsPct: null,
        },
        now,
      );
      const byName = Object.fromEntries(budgetStatuses(d, "UTC", now).map((s) => [s.name, s.spentUsd]));
      expect(byName).toEqual({ "agent:support-bot": "0.009", "agent:main": "0.0045" });
    } finally {
      d.close();
    }
  }, 60_000);

  it("CREDITGATE_AGENTS naming an agent no state dir has is a warning naming the agents there", () => {
    const db = join(mkdtempSync(join(tmpdir(), "cg-tuser4-db-")), "cg.sqlite");
    const run = (agents: string) =>
      cli({ CREDITGATE_AGENTS: agents, CREDITGATE_LOG_LEVEL: "warn", CREDITGATE_LOG_FORMAT: "pretty" }, [
        "--db",
        db,
        "--state-dir",
        STATE,
        "meter",
        "--once",
      ]);
    const typo = run("mian,Support Bot");
    expect(typo.status, typo.stderr).toBe(0);
    expect(typo.stderr).toContain(
      'CREDITGATE_AGENTS names "mian", which no state dir has (agents there: main, support-bot): nothing billed from it',
    );
    expect(run("Main,support-bot").stderr).not.toContain("CREDITGATE_AGENTS names");
  }, 60_000);
});
