import { describe, expect } from "vitest";
import { assertAccountId } from "../../src/credits/account-id.js";
import type { Db } from "../../src/db/index.js";
import { queryUsage, queryUsageRaw } from "../../src/meter/report.js";
import { reportThreadStats } from "../../src/meter/report-thread.js";
import { createUsageWriter, DAY_MS } from "../../src/meter/usage-repo.js";
import { rng } from "../support/rng.js";
import { testOn } from "../support/temp-db.js";
import { grantEntries, usageRow } from "../support/usage-data.js";

// The by-user split with adversarial account ids (empty, case, prefixes, NUL, combining
// marks, surrogates, long), many accounts, sums past 2^53, and every split share.
const D0 = Date.UTC(2026, 10, 10);
const BASE = [
  "",
  " ",
  "A",
  "a",
  "a\u0000",
  "a\u0000b",
  "ab",
  "é",
  "e\u0301",
  "😀",
  "\uffff",
  "z".repeat(3000),
  "telegram:1",
  "Telegram:1",
  "telegram:10",
  "telegram:1 ",
];
function accounts(n: number): string[] {
  const out = [...BASE];
  for (let i = 0; out.length < n; i++) out.push(`acct:${(i * 7919) % 100000}:${i % 3 ? "x" : "ÿ"}`);
  const ok = (u: string) => {
    try {
      assertAccountId(u);
      return true;
    } catch {
      return false;
    }
  };
  return [...new Set(out)].filter(ok);
}
function write(db: Db, users: string[], n: number, seed: number): void {
  const r = rng(seed);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    const entry = grantEntries(db, users, D0);
    for (let i = 0; i < n; i++) {
      const account = i < users.length ? (users[i] as string) : r.pick(users);
      const cost = r.int(40) === 0 ? 2n ** 53n + BigInt(r.int(1000)) : BigInt(r.int(1e9));
      const input = r.int(5000);
      writer.insert(
        usageRow({
          dedupe_key: `k${i}`,
          ledger_entry_id: entry.get(account) as number,
          account_id: account,
          agent_id: r.pick(["main", "ops"]),
          source_ref: `f@${i}`,
          provider: "anthropic",
          model: r.pick(["m1", "m2"]),
          message_ts_ms: D0 + (r.int(9) - 4) * DAY_MS + r.int(DAY_MS),
          input_tokens: input,
          cost_pico_usd: cost,
          charge_micro_credits: r.int(100000),
          created_at_ms: D0,
        }),
      );
    }
  })();
}
describe("sqlite", () => {
  const test = testOn("sqlite");
  test("split by-user report equals the raw rows, adversarial accounts", ({ db }) => {
    const users = accounts(2500);
    write(db, users, 12000, 5);
    const before = reportThreadStats();
    const qs = [
      { by: "user" as const },
      { by: "user" as const, sinceMs: D0 - 3 * DAY_MS + 17, untilMs: D0 + 3 * DAY_MS - 17 },
      { by: "user" as const, sinceMs: D0 - 4 * DAY_MS, untilMs: D0 + 5 * DAY_MS },
      { by: "user" as const, sinceMs: D0 - 4 * DAY_MS, untilMs: D0 + 5 * DAY_MS, agent: "ops" },
    ];
    for (const q of qs) {
      const raw = JSON.stringify(queryUsageRaw(db, q));
      for (const share of [0, 0.001, 0.35, 0.5, 0.999, 1])
        expect(
          JSON.stringify(queryUsage(db, q, { splitMinRows: 0, splitShare: share })),
          `${JSON.stringify(q)} ${share}`,
        ).toBe(raw);
    }
    expect(reportThreadStats().answered).toBeGreaterThan(before.answered);
    expect(reportThreadStats().failed).toBe(before.failed);
  });
});
