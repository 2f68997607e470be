import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  expectedAccount,
  meterFor,
  OC_FIXTURE,
  type TempWorld,
  tempWorld,
  totalsBy,
  usdToPico,
} from "../support/meter-env.js";

interface Plan {
  sessionKey: string;
  agentId: string;
  channel: string | null;
  peer: string | null;
}
interface SummarySession extends Plan {
  expected: { input: number; output: number; cacheRead: number; cacheWrite: number; costUsd: number } | null;
}
const summary = JSON.parse(readFileSync(join(OC_FIXTURE, "summary.json"), "utf8")) as {
  totals: { expectedCostUsd: number };
  perAgent: Record<string, { expected: Record<string, number>; expectedCostUsd: number }>;
  sessions: SummarySession[];
};

let w: TempWorld | undefined;
afterEach(() => {
  w?.cleanup();
  w = undefined;
});

function expectExact(tw: TempWorld): void {
  const byAccount = totalsBy(tw.db, "account_id");
  const sessions = summary.sessions.filter((s) => s.expected);
  expect(sessions.length).toBe(10);
  for (const s of sessions) {
    const got = byAccount.get(expectedAccount(s));
    expect(got?.input, s.sessionKey).toBe(s.expected?.input);
    expect(got?.output, s.sessionKey).toBe(s.expected?.output);
    expect(got?.cacheRead, s.sessionKey).toBe(s.expected?.cacheRead);
    expect(got?.cacheWrite, s.sessionKey).toBe(s.expected?.cacheWrite);
    expect(got?.costPico, s.sessionKey).toBe(usdToPico(s.expected?.costUsd ?? 0));
  }
  const byAgent = totalsBy(tw.db, "agent_id");
  for (const [agent, exp] of Object.entries(summary.perAgent)) {
    expect(byAgent.get(agent)?.costPico, agent).toBe(usdToPico(exp.expectedCostUsd));
  }
  const total = [...byAgent.values()].reduce((a, t) => a + t.costPico, 0n);
  expect(total).toBe(usdToPico(summary.totals.expectedCostUsd)); // $0.6480506
}

describe("openclaw 2026.9.6 SQLite fixture through the whole meter", () => {
  it("bills every user, agent and the deleted session exactly once, with cold attribution", async () => {
    w = tempWorld(OC_FIXTURE);
    const m = meterFor(w);
    const s = await m.runOnce();
    m.close();
    expect(s.malformed).toBe(0);
    expectExact(w);
    const again = meterFor(w);
    expect((await again.runOnce()).billed).toBe(0);
    again.close();
  });

  it("bills a call once when it is seen both as a JSONL transcript and in the SQLite store (doctor import)", async () => {
    w = tempWorld(OC_FIXTURE);
    // Before the upgrade the same sessions lived as JSONL files next to the new store.
    for (const agent of ["main", "support"]) {
      const exportDir = join(OC_FIXTURE, "sqlite-export", agent);
      mkdirSync(join(w.stateDir, "agents", agent, "sessions"), { recursive: true });
      for (const f of readdirSync(exportDir).filter((n) => /^[0-9a-f-]{36}\.jsonl$/.test(n))) {
        copyFileSync(join(exportDir, f), join(w.stateDir, "agents", agent, "sessions", f));
      }
    }
    const m = meterFor(w);
    const s = await m.runOnce();
    m.close();
    expect(s.duplicates).toBeGreaterThan(30);
    expectExact(w);
  });
});
