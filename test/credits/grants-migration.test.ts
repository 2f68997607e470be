import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { openDatabase } from "../../src/db/index.js";

/**
 * A database made by the released creditgate (schema 11) with real rows: usage billed by its
 * `meter`, top-ups paid and refunded through its fulfilment path, operator grants, users in debt.
 * Regenerate with `node scripts/make-release-db.mjs <release dist> test/credits/fixtures/release-v11.sqlite`.
 */
const FIXTURE = resolve(import.meta.dirname, "fixtures/release-v11.sqlite");

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function copyOfRelease(): string {
  dir = mkdtempSync(join(tmpdir(), "cg-grants-mig-"));
  const path = join(dir, "creditgate.sqlite");
  copyFileSync(FIXTURE, path);
  return path;
}

describe("migration 13 on a copy of a database made by the current release", () => {
  it("turns positive balances into paid/promotional grants, keeps debt and every entry", () => {
    const path = copyOfRelease();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma("user_version", { simple: true })).toBe(11);
    const before = {
      entries: raw.prepare("SELECT * FROM ledger_entries ORDER BY id").all(),
      balances: raw.prepare("SELECT id, balance_micro_credits AS b FROM accounts ORDER BY id").all(),
      usageLinks: raw.prepare("SELECT id, ledger_entry_id FROM usage_events ORDER BY id").all(),
    };
    raw.close();
    expect(before.usageLinks.length).toBeGreaterThan(0);

    const db = openDatabase(path);
    try {
      expect(db.pragma("user_version", { simple: true })).toBeGreaterThanOrEqual(13);
      // Nothing lost or renumbered: entries, balances, usage rows still point at their entries.
      expect(db.prepare("SELECT * FROM ledger_entries ORDER BY id").all()).toEqual(before.entries);
      expect(db.prepare("SELECT id, balance_micro_credits AS b FROM accounts ORDER BY id").all()).toEqual(
        before.balances,
      );
      expect(db.prepare("SELECT id, ledger_entry_id FROM usage_events ORDER BY id").all()).toEqual(
        before.usageLinks,
      );
      expect(db.pragma("foreign_key_check")).toEqual([]);
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(db.pragma("foreign_keys", { simple: true })).toBe(1);

      const grants = db
        .prepare(
          "SELECT account_id, kind, granted_micro_credits AS g, remaining_micro_credits AS r, priority, expires_at_ms, state FROM credit_grants ORDER BY account_id, kind",
        )
        .all();
      expect(grants).toEqual([
        // Top-up of 20 plus an operator grant of 5, some spent: promotional taken as spent first.
        {
          account_id: "telegram:100000",
          kind: "paid",
          g: 20_000_000,
          r: 20_000_000,
          priority: 30,
          expires_at_ms: null,
          state: "live",
        },
        {
          account_id: "telegram:100000",
          kind: "promotional",
          g: 4_787_634,
          r: 4_787_634,
          priority: 10,
          expires_at_ms: null,
          state: "live",
        },
        // Operator grant only.
        {
          account_id: "telegram:100002",
          kind: "promotional",
          g: 49_091_669,
          r: 49_091_669,
          priority: 10,
          expires_at_ms: null,
          state: "live",
        },
        // telegram:100003 (refunded in full) and :100004 (never funded) are in debt: no grant.
        // Top-up of 100, half refunded (net 50 paid), partly spent: all paid.
        {
          account_id: "telegram:100005",
          kind: "paid",
          g: 49_514_753,
          r: 49_514_753,
          priority: 30,
          expires_at_ms: null,
          state: "live",
        },
        {
          account_id: "telegram:999999",
          kind: "promotional",
          g: 3_000_000,
          r: 3_000_000,
          priority: 10,
          expires_at_ms: null,
          state: "live",
        },
      ]);

      const ledger = createLedger(db);
      expect(ledger.inconsistentAccounts()).toEqual([]);
      expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
      expect(ledger.summary("telegram:100003", 0)).toMatchObject({
        debtMicroCredits: 465_229,
        paidMicroCredits: 0,
      });

      // The migrated ledger works on: usage burns promotional first, a top-up pays debt first,
      // the new 'expiry' kind is accepted.
      const NOW = 1_790_200_000_000;
      ledger.post({
        accountId: "telegram:100000",
        kind: "usage",
        amountMicroCredits: -5_000_000n,
        idempotencyKey: "m1",
        nowMs: NOW,
      });
      expect(ledger.summary("telegram:100000", NOW)).toMatchObject({
        promotionalMicroCredits: 0,
        paidMicroCredits: 19_787_634,
      });
      ledger.post({
        accountId: "telegram:100003",
        kind: "topup",
        amountMicroCredits: 1_000_000n,
        idempotencyKey: "m2",
        nowMs: NOW,
      });
      expect(ledger.summary("telegram:100003", NOW)).toMatchObject({
        debtMicroCredits: 0,
        paidMicroCredits: 534_771,
      });
      ledger.post({
        accountId: "telegram:999999",
        kind: "grant",
        amountMicroCredits: 1_000_000n,
        idempotencyKey: "m3",
        nowMs: NOW,
        grant: { expiresAtMs: NOW + 1 },
      });
      expect(ledger.expireDue(NOW + 1)).toMatchObject({ expired: 1, microCredits: 1_000_000 });
      expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
      expect(ledger.inconsistentAccounts()).toEqual([]);
    } finally {
      db.close();
    }
  });

  it("a rebuild that would break a foreign key rolls back whole, leaving version 11", () => {
    const path = copyOfRelease();
    // Corrupt the copy: a usage row pointing at a ledger entry that does not exist.
    const raw = new Database(path);
    raw.pragma("foreign_keys = OFF");
    raw
      .prepare(
        "UPDATE usage_events SET ledger_entry_id = 999999 WHERE id = (SELECT MIN(id) FROM usage_events)",
      )
      .run();
    raw.close();
    expect(() => openDatabase(path)).toThrow(/migration 13 .* broken foreign key/);
    const after = new Database(path, { readonly: true });
    expect(after.pragma("user_version", { simple: true })).toBe(11);
    expect(after.prepare("SELECT name FROM sqlite_schema WHERE name = 'credit_grants'").all()).toEqual([]);
    after.close();
  });
});
