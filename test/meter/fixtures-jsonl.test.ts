import { readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  balances,
  CB_FIXTURE,
  expectedAccount,
  meterFor,
  type TempWorld,
  tempWorld,
  totalsBy,
  usdToPico,
  writeJson,
} from "../support/meter-env.js";

interface SummarySession {
  sessionKey: string;
  agentId: string;
  channel: string | null;
  peer: string | null;
  expected: { input: number; output: number; cacheRead: number; cacheWrite: number; costUsd: number } | null;
  program: { sessionIds: string[] } | null;
}
const summary = JSON.parse(readFileSync(join(CB_FIXTURE, "summary.json"), "utf8")) as {
  totals: { expected: Record<string, number>; expectedCostUsd: number };
  perAgent: Record<string, { expected: Record<string, number>; expectedCostUsd: number }>;
  sessions: SummarySession[];
};

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

describe("clawdbot 2026.1.24 JSONL fixture", () => {
  it("bills exactly the provider-reported tokens and cost per agent and in total", async () => {
    w = tempWorld(CB_FIXTURE);
    const meter = meterFor(w);
    const s = await meter.runOnce();
    meter.close();
    expect(s.billed).toBe(31); // 39 assistant lines, 8 of them zero-usage errors
    expect(s.zeroUsage).toBe(8);
    expect(s.malformed).toBe(0);
    const byAgent = totalsBy(w.db, "agent_id");
    for (const [agent, exp] of Object.entries(summary.perAgent)) {
      const got = byAgent.get(agent);
      expect(got, agent).toBeDefined();
      expect(got?.input).toBe(exp.expected.input);
      expect(got?.output).toBe(exp.expected.output);
      expect(got?.cacheRead).toBe(exp.expected.cacheRead);
      expect(got?.cacheWrite).toBe(exp.expected.cacheWrite);
      expect(got?.costPico).toBe(usdToPico(exp.expectedCostUsd));
    }
    const all = [...byAgent.values()].reduce((a, t) => a + t.costPico, 0n);
    expect(all).toBe(usdToPico(summary.totals.expectedCostUsd)); // $0.4851608
  });

  it("bills every user of a session still in sessions.json exactly their expected usage", async () => {
    w = tempWorld(CB_FIXTURE);
    const meter = meterFor(w);
    await meter.runOnce();
    meter.close();
    const byAccount = totalsBy(w.db, "account_id");
    const indexed = summary.sessions.filter(
      (s) =>
        s.expected &&
        s.program &&
        !["agent:main:telegram:dm:123456", "agent:main:telegram:dm:555000"].includes(s.sessionKey),
    );
    expect(indexed.length).toBeGreaterThanOrEqual(7);
    for (const s of indexed) {
      const got = byAccount.get(expectedAccount(s));
      if (expectedAccount(s).startsWith("agent:")) continue; // shared with unattributable archives, checked below
      expect(got?.input, s.sessionKey).toBe(s.expected?.input);
      expect(got?.output, s.sessionKey).toBe(s.expected?.output);
      expect(got?.cacheRead, s.sessionKey).toBe(s.expected?.cacheRead);
      expect(got?.cacheWrite, s.sessionKey).toBe(s.expected?.cacheWrite);
      expect(got?.costPico, s.sessionKey).toBe(usdToPico(s.expected?.costUsd ?? 0));
    }
  });

  it("attributes reset and deleted sessions to their users when the meter saw them while live", async () => {
    w = tempWorld(CB_FIXTURE);
    const sessionsJson = join(w.stateDir, "agents", "main", "sessions", "sessions.json");
    const final = JSON.parse(readFileSync(sessionsJson, "utf8")) as Record<string, unknown>;
    // Replay history: earlier, sessions.json pointed at Alice's pre-reset session and at
    // Grace's session before it was deleted. The meter remembers what it saw.
    const grace = "a814ff8c-3d0d-4f54-ab2d-f4003202f7cf";
    const alicePreReset = "f4256f5a-80d0-4749-9ba7-36d1b8890b49";
    const dir = join(w.stateDir, "agents", "main", "sessions");
    const deletedName = "a814ff8c-3d0d-4f54-ab2d-f4003202f7cf.jsonl.deleted.2026-11-22T18-13-38.435Z";
    renameSync(join(dir, deletedName), join(dir, `${grace}.jsonl`));
    writeJson(sessionsJson, {
      ...final,
      "agent:main:telegram:dm:123456": { sessionId: alicePreReset, lastChannel: "telegram" },
      "agent:main:telegram:dm:555000": { sessionId: grace, lastChannel: "telegram" },
    });
    // Alice's post-reset session did not exist yet.
    const aliceNow = "2730e488-b1c2-4dd1-90a5-27135ee06195.jsonl";
    renameSync(join(dir, aliceNow), join(w.dir, aliceNow));
    const m1 = meterFor(w);
    await m1.runOnce();
    m1.close();
    renameSync(join(w.dir, aliceNow), join(dir, aliceNow));
    // Then Alice reset and Grace's session was deleted (renamed, same inode).
    renameSync(join(dir, `${grace}.jsonl`), join(dir, deletedName));
    writeJson(sessionsJson, final);
    const m2 = meterFor(w);
    const s2 = await m2.runOnce();
    m2.close();
    expect(s2.duplicates).toBe(0); // the rename was followed by inode, not re-read

    const byAccount = totalsBy(w.db, "account_id");
    for (const s of summary.sessions) {
      if (!s.expected) continue;
      const got = byAccount.get(expectedAccount(s));
      expect(got?.input, s.sessionKey).toBe(s.expected.input);
      expect(got?.output, s.sessionKey).toBe(s.expected.output);
      expect(got?.cacheRead, s.sessionKey).toBe(s.expected.cacheRead);
      expect(got?.cacheWrite, s.sessionKey).toBe(s.expected.cacheWrite);
      expect(got?.costPico, s.sessionKey).toBe(usdToPico(s.expected.costUsd));
    }
    // charge = cost rounded up to a whole micro-credit per event; balances mirror the ledger
    const bal = balances(w.db);
    expect(bal.get("telegram:555000")).toBeLessThan(0);
    const mismatch = w.db
      .prepare(
        "SELECT a.id FROM accounts a JOIN (SELECT account_id, SUM(amount_micro_credits) s FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id WHERE e.s <> a.balance_micro_credits",
      )
      .all();
    expect(mismatch).toEqual([]);
  });

  it("bills nothing new when run again", async () => {
    w = tempWorld(CB_FIXTURE);
    const m1 = meterFor(w);
    await m1.runOnce();
    m1.close();
    const m2 = meterFor(w);
    const s = await m2.runOnce();
    m2.close();
    expect(s.billed).toBe(0);
    expect(s.files).toBe(0);
  });
});
