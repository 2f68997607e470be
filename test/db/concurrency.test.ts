import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createTopupRepo } from "../../src/payments/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const run = promisify(execFile);
const DIST = resolve(import.meta.dirname, "../../dist");
const WORKER = resolve(import.meta.dirname, "fixtures/race-worker.mjs");

/** Runs the race worker with `job` in its own process; resolves to its counts. */
async function racer(dbUrl: string, job: Record<string, unknown>): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, [WORKER, DIST, dbUrl, JSON.stringify(job)], {
    timeout: 120_000,
  });
  return JSON.parse(stdout) as Record<string, number>;
}

/** The URL (PostgreSQL, no password in tests) or file path (SQLite) another process opens the same database with. */
const urlOf = (db: { name: string }): string => db.name;

describe.each(ENGINES)("%s: separate processes on one database", (engine) => {
  const test = testOn(engine);

  test("three processes debiting one account: every own key once, every shared key once, balance = sum of entries", async ({
    db,
  }) => {
    const ledger = createLedger(db);
    ledger.post({
      accountId: "telegram:7",
      kind: "topup",
      amountMicroCredits: 1_000_000_000n,
      idempotencyKey: "seed",
      nowMs: 1_790_000_000_000,
    });
    const n = 60;
    const startAtMs = Date.now() + 1500;
    const results = await Promise.all(
      ["a", "b", "c"].map((tag) =>
        racer(urlOf(db), { kind: "debit", tag, n, amount: 1000, accountId: "telegram:7", startAtMs }),
      ),
    );
    const applied = results.reduce((s, r) => s + (r.applied ?? 0), 0);
    const duplicate = results.reduce((s, r) => s + (r.duplicate ?? 0), 0);
    expect(applied).toBe(3 * n + n); // own keys + each shared key once
    expect(duplicate).toBe(2 * n);
    expect(ledger.balance("telegram:7")?.balanceMicroCredits).toBe(1_000_000_000 - 4 * n * 1000);
    expect(ledger.inconsistentAccounts()).toEqual([]);
    expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
    const count = Number(db.prepare("SELECT COUNT(*) FROM ledger_entries").pluck().get());
    expect(count).toBe(1 + 4 * n);
  });

  test("a webhook racing reconciliation over the same paid top-ups: each credited exactly once", async ({
    db,
  }) => {
    const topups = createTopupRepo(db);
    const list = Array.from({ length: 40 }, (_, i) => ({
      id: `tu_race${String(i).padStart(15, "0")}`,
      accountId: `telegram:${100 + (i % 4)}`, // several top-ups per account: account rows contend too
      amountMinor: 500,
      currency: "USD",
    }));
    for (const t of list)
      topups.insert(
        {
          id: t.id,
          accountId: t.accountId,
          packId: "starter",
          provider: "stripe",
          currency: t.currency,
          amountMinor: BigInt(t.amountMinor),
          currencyExponent: 2,
          grantMicroCredits: 5_000_000n,
          expiresAtMs: Date.now() + 3_600_000,
        } as never,
        Date.now(),
      );
    const startAtMs = Date.now() + 1500;
    const [webhook, reconcile] = await Promise.all([
      racer(urlOf(db), { kind: "fulfil", asWebhook: true, topups: list, startAtMs }),
      racer(urlOf(db), { kind: "fulfil", asWebhook: false, topups: list, startAtMs }),
    ]);
    expect((webhook?.applied ?? 0) + (reconcile?.applied ?? 0)).toBe(list.length);
    const ledger = createLedger(db);
    for (let a = 0; a < 4; a++)
      expect(ledger.balance(`telegram:${100 + a}`)?.balanceMicroCredits).toBe(10 * 5_000_000);
    expect(Number(db.prepare("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'topup'").pluck().get())).toBe(
      list.length,
    );
    expect(Number(db.prepare("SELECT COUNT(*) FROM topups WHERE status = 'paid'").pluck().get())).toBe(
      list.length,
    );
    expect(ledger.inconsistentAccounts()).toEqual([]);
  });
});
