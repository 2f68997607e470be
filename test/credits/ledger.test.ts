import { describe, expect } from "vitest";
import { createLedger, type Ledger, type PostEntry } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { AppError, ErrorCode } from "../../src/errors.js";
import { ENGINES, testOn } from "../support/temp-db.js";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const NOW = 1_790_000_000_000;

const entry = (over: Partial<PostEntry> & Pick<PostEntry, "idempotencyKey">): PostEntry => ({
  accountId: "telegram:1",
  kind: "grant",
  amountMicroCredits: 1_000_000n,
  reason: null,
  ref: null,
  nowMs: NOW,
  ...over,
});

const count = (db: Db, table: "ledger_entries" | "accounts") =>
  (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;

/** Every entry of an account, oldest first (the ledger lists newest first). */
const allEntries = (ledger: Ledger, accountId: string) => ledger.entries(accountId, 1_000_000).reverse();

function expectConflict(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe(ErrorCode.Conflict);
}

/** Small deterministic PRNG (mulberry32): the same seed gives the same sequence on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Balance equals the sum of entries, and each entry's balance_after is the running sum. */
function expectConsistent(ledger: Ledger, accountId: string): void {
  let running = 0n;
  for (const e of allEntries(ledger, accountId)) {
    running += BigInt(e.amountMicroCredits);
    expect(BigInt(e.balanceAfterMicroCredits), `entry ${e.idempotencyKey}`).toBe(running);
  }
  expect(BigInt(ledger.balance(accountId)?.balanceMicroCredits ?? 0)).toBe(running);
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("idempotency", () => {
    test("the same key with the same amount posts one entry and returns the first", ({ db }) => {
      const ledger = createLedger(db);
      const first = ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_000n }));
      expect(first).toMatchObject({ status: "applied", balanceMicroCredits: 5_000 });
      const again = ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_000n, nowMs: NOW + 1 }));
      expect(again).toEqual({ status: "duplicate", entryId: first.entryId, balanceMicroCredits: 5_000 });
      expect(allEntries(ledger, "telegram:1")).toHaveLength(1);
      expect(ledger.balance("telegram:1")?.balanceMicroCredits).toBe(5_000);
    });

    test("a duplicate reports the account's current balance, not the one after the first post", ({ db }) => {
      const ledger = createLedger(db);
      const first = ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_000n }));
      ledger.post(entry({ idempotencyKey: "k2", amountMicroCredits: -2_000n, kind: "usage" }));
      expect(ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_000n }))).toEqual({
        status: "duplicate",
        entryId: first.entryId,
        balanceMicroCredits: 3_000,
      });
    });

    test("the same key with a different amount is a conflict and changes nothing", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_000n }));
      expectConflict(() => ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_001n })));
      expectConflict(() => ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: -5_000n })));
      expect(allEntries(ledger, "telegram:1")).toHaveLength(1);
      expect(ledger.balance("telegram:1")?.balanceMicroCredits).toBe(5_000);
    });

    test("the same key on a different account is a conflict and creates no account", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_000n }));
      expectConflict(() =>
        ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_000n, accountId: "telegram:2" })),
      );
      expect(ledger.balance("telegram:2")).toBeNull();
      expect(count(db, "ledger_entries")).toBe(1);
    });

    test("a conflict inside a caller's transaction rolls back the caller's other writes", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 5_000n }));
      const tx = db.transaction(() => {
        ledger.post(entry({ idempotencyKey: "k2", amountMicroCredits: 7_000n }));
        ledger.post(entry({ idempotencyKey: "k1", amountMicroCredits: 1n }));
      });
      expectConflict(() => tx.immediate());
      expect(allEntries(ledger, "telegram:1").map((e) => e.idempotencyKey)).toEqual(["k1"]);
      expect(ledger.balance("telegram:1")?.balanceMicroCredits).toBe(5_000);
    });
  });

  describe("batch posting", () => {
    test("outside a transaction the batch poster refuses and writes nothing", ({ db }) => {
      const ledger = createLedger(db);
      expect(() => ledger.batchPoster()).toThrow("batchPoster() must run inside a transaction");
      expect(count(db, "accounts")).toBe(0);
      expect(count(db, "ledger_entries")).toBe(0);
    });

    test("a poster kept past its transaction refuses to post or finish", ({ db }) => {
      const ledger = createLedger(db);
      const poster = db
        .transaction(() => {
          const p = ledger.batchPoster();
          p.post(entry({ idempotencyKey: "in-tx", amountMicroCredits: 10n }));
          p.finish(NOW);
          return p;
        })
        .immediate();
      expect(() => poster.post(entry({ idempotencyKey: "late", amountMicroCredits: 1n }))).toThrow(
        "must run inside a transaction",
      );
      expect(() => poster.finish(NOW)).toThrow("must run inside a transaction");
      expect(allEntries(ledger, "telegram:1").map((e) => e.idempotencyKey)).toEqual(["in-tx"]);
      expect(ledger.balance("telegram:1")?.balanceMicroCredits).toBe(10);
      expect(ledger.inconsistentAccounts()).toEqual([]);
    });

    test("inside a transaction it keeps running balances and writes each account once", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "seed", amountMicroCredits: 100n, accountId: "a" }));
      const out = db
        .transaction(() => {
          const p = ledger.batchPoster();
          const r = [
            p.post(entry({ idempotencyKey: "b1", amountMicroCredits: -30n, accountId: "a", kind: "usage" })),
            p.post(entry({ idempotencyKey: "b2", amountMicroCredits: -80n, accountId: "a", kind: "usage" })),
            p.post(entry({ idempotencyKey: "b3", amountMicroCredits: -5n, accountId: "b", kind: "usage" })),
          ];
          expect(p.balanceOf("a")).toBe(-10n);
          p.finish(NOW + 5);
          return r;
        })
        .immediate();
      expect(out.map((r) => r.balanceMicroCredits)).toEqual([70, -10, -5]);
      expect(ledger.balance("a")).toMatchObject({
        balanceMicroCredits: -10,
        overdrawn: true,
        updatedAtMs: NOW + 5,
      });
      expect(ledger.balance("b")).toMatchObject({ balanceMicroCredits: -5, overdrawn: true });
      expectConsistent(ledger, "a");
      expectConsistent(ledger, "b");
    });

    test("a repeated key in a batch throws and rolls the whole batch back", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "seed", amountMicroCredits: 100n }));
      const run = db.transaction(() => {
        const p = ledger.batchPoster();
        p.post(entry({ idempotencyKey: "b1", amountMicroCredits: -30n, kind: "usage" }));
        p.post(entry({ idempotencyKey: "seed", amountMicroCredits: 100n }));
        p.finish(NOW);
      });
      expect(() => run.immediate()).toThrow(/UNIQUE/);
      expect(allEntries(ledger, "telegram:1").map((e) => e.idempotencyKey)).toEqual(["seed"]);
      expect(ledger.balance("telegram:1")?.balanceMicroCredits).toBe(100);
    });

    test("mark and restore undo the running balance of a rolled-back savepoint", ({ db }) => {
      const ledger = createLedger(db);
      db.transaction(() => {
        const p = ledger.batchPoster();
        p.post(entry({ idempotencyKey: "b1", amountMicroCredits: 40n }));
        const mark = p.mark();
        const inner = db.transaction(() => {
          p.post(entry({ idempotencyKey: "b2", amountMicroCredits: 1_000n }));
          throw new Error("poison");
        });
        expect(() => inner()).toThrow("poison");
        p.restore(mark);
        expect(p.balanceOf("telegram:1")).toBe(40n);
        p.finish(NOW);
      }).immediate();
      expect(allEntries(ledger, "telegram:1").map((e) => e.idempotencyKey)).toEqual(["b1"]);
      expectConsistent(ledger, "telegram:1");
    });
  });

  /** The one-line invalid_request a post past ±2^53 micro-credits gets (a 400 on the API). */
  const PAST_RANGE = /past the largest amount creditgate holds exactly/;

  describe("balance consistency", () => {
    test("after random posts and batches every balance is the sum of its entries", ({ db }) => {
      const ledger = createLedger(db);
      const accounts = ["telegram:1", "telegram:2", "agent:main", "discord:x"];
      const next = rng(9);
      const pick = () => accounts[Math.floor(next() * accounts.length)] ?? "telegram:1";
      // Amounts between -5 and +5 credits: balances cross zero in both directions.
      const amount = () => BigInt(Math.floor(next() * 10_000_001) - 5_000_000);
      const expected = new Map<string, bigint>();
      let key = 0;
      const usedKeys: PostEntry[] = [];
      for (let round = 0; round < 60; round++) {
        if (next() < 0.5) {
          const e = entry({ idempotencyKey: `p${key++}`, accountId: pick(), amountMicroCredits: amount() });
          ledger.post(e);
          usedKeys.push(e);
          expected.set(e.accountId, (expected.get(e.accountId) ?? 0n) + e.amountMicroCredits);
        } else {
          const n = 1 + Math.floor(next() * 8);
          const batch = Array.from({ length: n }, () =>
            entry({
              idempotencyKey: `b${key++}`,
              accountId: pick(),
              amountMicroCredits: amount(),
              kind: "usage",
            }),
          );
          db.transaction(() => {
            const p = ledger.batchPoster();
            for (const e of batch) p.post(e);
            p.finish(NOW + round);
          }).immediate();
          for (const e of batch) {
            usedKeys.push(e);
            expected.set(e.accountId, (expected.get(e.accountId) ?? 0n) + e.amountMicroCredits);
          }
        }
        // Replays of earlier keys are duplicates and move nothing.
        const replay = usedKeys[Math.floor(next() * usedKeys.length)];
        if (replay) expect(ledger.post(replay).status).toBe("duplicate");
      }
      expect(ledger.inconsistentAccounts()).toEqual([]);
      // Grants add up too: live remaining = max(balance, 0), granted - allocations = remaining.
      expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
      // The sequence went below zero somewhere and came back above it: both directions are covered.
      const afters = accounts.flatMap((a) => allEntries(ledger, a).map((e) => e.balanceAfterMicroCredits));
      expect(afters.some((b) => b < 0)).toBe(true);
      expect(afters.some((b) => b > 0)).toBe(true);
      for (const [accountId, balance] of expected) {
        expect(BigInt(ledger.balance(accountId)?.balanceMicroCredits ?? 0)).toBe(balance);
        expectConsistent(ledger, accountId);
      }
      expect(count(db, "ledger_entries")).toBe(key);
    });

    test("a negative balance is recorded and flagged overdrawn", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "g", amountMicroCredits: 1_000n }));
      const out = ledger.post(entry({ idempotencyKey: "u", amountMicroCredits: -2_500n, kind: "usage" }));
      expect(out.balanceMicroCredits).toBe(-1_500);
      expect(ledger.balance("telegram:1")).toMatchObject({ balanceMicroCredits: -1_500, overdrawn: true });
      expectConsistent(ledger, "telegram:1");
    });

    test("an amount past 2^53 is refused and creates neither entry nor account", ({ db }) => {
      const ledger = createLedger(db);
      expect(() => ledger.post(entry({ idempotencyKey: "big", amountMicroCredits: MAX_SAFE + 1n }))).toThrow(
        PAST_RANGE,
      );
      expect(() =>
        ledger.post(entry({ idempotencyKey: "neg", amountMicroCredits: -(MAX_SAFE + 1n) })),
      ).toThrow(PAST_RANGE);
      expect(ledger.balance("telegram:1")).toBeNull();
      expect(count(db, "ledger_entries")).toBe(0);
    });

    test("a balance that would pass +-2^53 is refused and the balance stays at the edge", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "max", amountMicroCredits: MAX_SAFE }));
      expect(() => ledger.post(entry({ idempotencyKey: "over", amountMicroCredits: 1n }))).toThrow(
        PAST_RANGE,
      );
      expect(ledger.balance("telegram:1")?.balanceMicroCredits).toBe(Number.MAX_SAFE_INTEGER);

      ledger.post(entry({ idempotencyKey: "min", amountMicroCredits: -MAX_SAFE, accountId: "telegram:2" }));
      expect(() =>
        ledger.post(entry({ idempotencyKey: "under", amountMicroCredits: -1n, accountId: "telegram:2" })),
      ).toThrow(PAST_RANGE);
      expect(ledger.balance("telegram:2")?.balanceMicroCredits).toBe(-Number.MAX_SAFE_INTEGER);
      expect(count(db, "ledger_entries")).toBe(2);
      expect(ledger.inconsistentAccounts()).toEqual([]);
    });

    test("a batch whose running balance passes 2^53 rolls back entirely", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "seed", amountMicroCredits: MAX_SAFE - 10n }));
      const run = db.transaction(() => {
        const p = ledger.batchPoster();
        p.post(entry({ idempotencyKey: "b1", amountMicroCredits: 5n }));
        p.post(entry({ idempotencyKey: "b2", amountMicroCredits: 6n }));
        p.finish(NOW);
      });
      expect(() => run.immediate()).toThrow(RangeError);
      expect(allEntries(ledger, "telegram:1").map((e) => e.idempotencyKey)).toEqual(["seed"]);
      expect(BigInt(ledger.balance("telegram:1")?.balanceMicroCredits ?? 0)).toBe(MAX_SAFE - 10n);
    });

    test("inconsistentAccounts reports a balance edited behind the ledger's back", ({ db }) => {
      const ledger = createLedger(db);
      ledger.post(entry({ idempotencyKey: "g", amountMicroCredits: 1_000n }));
      db.prepare("UPDATE accounts SET balance_micro_credits = 999 WHERE id = 'telegram:1'").run();
      expect(ledger.inconsistentAccounts()).toEqual([{ id: "telegram:1", balance: 999, total: 1_000 }]);
    });
  });
});
