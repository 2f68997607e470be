import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { meterIdentityOf, type PushEvent } from "../../src/ingest/index.js";
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

  test("three center processes ingesting the same edge events in different batches and orders: each billed once, one entry per account per batch", async ({
    db,
    onTestFinished,
  }) => {
    const n = 600;
    const events = Array.from({ length: n }, (_, i) => {
      const e = {
        agentId: "main",
        userId: `telegram:${i % 20}`,
        provider: "mock",
        model: "mock-gpt",
        input: 100 + i,
        output: 0,
        cacheRead: 0,
        cacheWrite: 0,
        timestampMs: 1_790_000_000_000 + i,
        success: true,
        edgeId: "host-1",
      };
      return { idempotencyKey: meterIdentityOf({ ...e, idempotencyKey: "" } as PushEvent), ...e };
    });
    const chunks = <T>(xs: T[], size: number) =>
      Array.from({ length: Math.ceil(xs.length / size) }, (_, i) => xs.slice(i * size, (i + 1) * size));
    const shuffled = [...events].sort((x, y) => ((x.input * 7919) % 601) - ((y.input * 7919) % 601));
    const dir = mkdtempSync(join(tmpdir(), "cg-push-race-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const plans = { a: chunks(events, 100), b: chunks([...events].reverse(), 150), c: chunks(shuffled, 50) };
    const startAtMs = Date.now() + 1500;
    const results = await Promise.all(
      Object.entries(plans).map(([tag, batches]) => {
        const batchesFile = join(dir, `${tag}.json`);
        writeFileSync(batchesFile, JSON.stringify(batches));
        return racer(urlOf(db), { kind: "push", tag, batchesFile, startAtMs });
      }),
    );
    for (const r of results) expect((r.billed ?? 0) + (r.duplicate ?? 0)).toBe(n);
    expect(results.reduce((s, r) => s + (r.billed ?? 0), 0)).toBe(n);
    const q = (sql: string) => Number(db.prepare(sql).pluck().get());
    expect(q("SELECT COUNT(*) FROM usage_events")).toBe(n);
    // 1 token = 3 micro-credits; every account's balance is minus its events' charges
    const total = events.reduce((s, e) => s + e.input * 3, 0);
    expect(q("SELECT SUM(balance_micro_credits) FROM accounts")).toBe(-total);
    expect(q("SELECT SUM(charge_micro_credits) FROM usage_events")).toBe(total);
    // each usage entry is the sum of the rows that point at it, on the rows' own account
    expect(
      q(`SELECT COUNT(*) FROM ledger_entries l WHERE l.kind = 'usage' AND -l.amount_micro_credits <>
           (SELECT SUM(u.charge_micro_credits) FROM usage_events u WHERE u.ledger_entry_id = l.id AND u.account_id = l.account_id)`),
    ).toBe(0);
    // at most one entry per account per batch: (600/100 + 600/150 + 600/50) batches × 20 accounts
    expect(q("SELECT COUNT(*) FROM ledger_entries WHERE kind = 'usage'")).toBeLessThanOrEqual(
      (6 + 4 + 12) * 20,
    );
    expect(q("SELECT COUNT(*) FROM push_identities")).toBe(n);
    const ledger = createLedger(db);
    expect(ledger.inconsistentAccounts()).toEqual([]);
  });
});
