import { spawn } from "node:child_process";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { openDatabase, PgDatabase } from "../../src/db/index.js";
import { createEngineDb, ENGINES, type Engine } from "../support/temp-db.js";

const CLI = resolve(import.meta.dirname, "../../dist/cli/main.js");

/**
 * Runs `creditgate expire --json`. With `killWhen`, polls it every 20 ms while the child runs and
 * SIGKILLs the child the first time it answers true (plus a random 0-100 ms): mid-run, whatever
 * the machine's start-up time.
 */
function runExpire(
  env: Record<string, string>,
  killWhen: (() => boolean) | null,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, "expire", "--json"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const poll = killWhen
      ? setInterval(() => {
          if (!killWhen()) return;
          if (poll) clearInterval(poll);
          setTimeout(() => child.kill("SIGKILL"), Math.floor(Math.random() * 100));
        }, 20)
      : null;
    child.on("exit", (code, signal) => {
      if (poll) clearInterval(poll);
      done({ code, signal, stdout, stderr });
    });
  });
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/**
 * Counts expired grants from outside the child: a read-only SQLite handle per call, or one extra
 * PostgreSQL connection (sees what the child committed).
 */
function expiredCounter(engine: Engine, dbPath: string): () => number {
  const sql = "SELECT COUNT(*) AS n FROM credit_grants WHERE state = 'expired'";
  if (engine === "postgres") {
    const pg = new PgDatabase(dbPath);
    cleanups.push(() => pg.close());
    const stmt = pg.prepare(sql);
    return () => (stmt.get() as { n: number }).n;
  }
  return () => {
    const ro = new Database(dbPath, { readonly: true });
    try {
      return (ro.prepare(sql).get() as { n: number }).n;
    } finally {
      ro.close();
    }
  };
}

describe("grant expiry under SIGKILL", () => {
  it.each(ENGINES)(
    "expires every due grant exactly once although the expiry run is killed at random moments (%s)",
    async (engine) => {
      const t = createEngineDb(engine);
      cleanups.push(t.cleanup);
      const dbPath = t.path;
      const now = Date.now();
      const DAY = 86_400_000;

      // 1500 grants over 150 users, most already due; some partly spent, some used up, some
      // given while the user was in debt, some not due yet (must survive).
      const db = t.db;
      const ledger = createLedger(db);
      const expected = new Map<string, bigint>(); // account → credits that must expire
      const dueIds: number[] = [];
      const laterIds: number[] = [];
      db.transaction(() => {
        for (let u = 0; u < 150; u++) {
          const acct = `telegram:${1000 + u}`;
          if (u % 10 === 0)
            ledger.post({
              accountId: acct,
              kind: "usage",
              amountMicroCredits: -1_500_000n,
              idempotencyKey: `debt:${u}`,
              nowMs: now - 3 * DAY,
            });
          ledger.post({
            accountId: acct,
            kind: "topup",
            amountMicroCredits: 2_000_000n,
            idempotencyKey: `paid:${u}`,
            nowMs: now - 3 * DAY,
          });
          for (let i = 0; i < 10; i++) {
            const due = i < 9;
            const r = ledger.post({
              accountId: acct,
              kind: "grant",
              amountMicroCredits: BigInt(1_000_000 + i * 1000),
              idempotencyKey: `g:${u}:${i}`,
              nowMs: now - 3 * DAY + i,
              grant: { expiresAtMs: due ? now - DAY + u * 10 + i : now + 30 * DAY },
            });
            if (r.status !== "applied" || r.split.grantId === null) throw new Error("grant not applied");
            (due ? dueIds : laterIds).push(r.split.grantId);
          }
          // Spend part of it (before any expiry time): burns the soonest-expiring grants first.
          ledger.post({
            accountId: acct,
            kind: "usage",
            amountMicroCredits: -BigInt(500_000 + u * 20_000),
            idempotencyKey: `use:${u}`,
            nowMs: now - 2 * DAY,
          });
        }
      }).immediate();
      for (const id of dueIds) {
        const g = db
          .prepare("SELECT account_id, remaining_micro_credits AS r FROM credit_grants WHERE id = ?")
          .get(id) as { account_id: string; r: number };
        expected.set(g.account_id, (expected.get(g.account_id) ?? 0n) + BigInt(g.r));
      }
      const before = new Map(
        (
          db.prepare("SELECT id, balance_micro_credits AS b FROM accounts").all() as {
            id: string;
            b: number;
          }[]
        ).map((r) => [r.id, BigInt(r.b)]),
      );
      db.close();

      const env = { CREDITGATE_DB: dbPath, CREDITGATE_LOG_LEVEL: "silent" };
      let kills = 0;
      let partial = 0;
      let completed = false;
      const expiredSoFar = expiredCounter(engine, dbPath);
      // Killed runs: 6 on SQLite; 3 on PostgreSQL, where each costs ~2x (process start, connect,
      // one round trip per statement) and one kill already proves the server rolls the open
      // transaction back: the kill rounds exercise the same expiry code on both engines.
      const killRounds = engine === "postgres" ? 3 : 6;
      for (let round = 0; round < 40 && !completed; round++) {
        // Kill once this run has expired a few more grants (it is mid-way), for the first rounds.
        const start = expiredSoFar();
        const step = 20 + Math.floor(Math.random() * 150);
        const r = await runExpire(env, round < killRounds ? () => expiredSoFar() >= start + step : null);
        if (r.signal === "SIGKILL") {
          kills++;
          const n = expiredSoFar();
          if (n > 0 && n < dueIds.length) partial++;
        } else {
          expect(r.code, r.stderr).toBe(0);
          completed = true;
        }
      }
      expect(completed).toBe(true);
      // The run was actually interrupted mid-way (some grants expired, not all) at least once.
      expect(kills).toBeGreaterThan(0);
      expect(partial).toBeGreaterThan(0);

      // Two more runs at the same time after it finished: nothing left to do, nothing doubled.
      const again = await Promise.all([runExpire(env, null), runExpire(env, null)]);
      for (const r of again) {
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toMatchObject({ expired: 0, expiredMicroCredits: 0 });
      }

      const check = openDatabase(dbPath);
      try {
        const l = createLedger(check);
        expect(l.inconsistentAccounts()).toEqual([]);
        expect(l.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
        const states = check
          .prepare(
            `SELECT state, COUNT(*) AS n FROM credit_grants WHERE id IN (${dueIds.join(",")}) GROUP BY state`,
          )
          .all();
        expect(states).toEqual([{ state: "expired", n: dueIds.length }]);
        const live = check
          .prepare(
            `SELECT COUNT(*) AS n FROM credit_grants WHERE state = 'live' AND id IN (${laterIds.join(",")})`,
          )
          .get() as { n: number };
        expect(live.n).toBe(laterIds.length);
        // One expiry entry per grant that had credit left, for exactly that remainder.
        const entries = check
          .prepare(
            "SELECT account_id, ref, amount_micro_credits AS a FROM ledger_entries WHERE kind = 'expiry'",
          )
          .all() as { account_id: string; ref: string; a: number }[];
        expect(new Set(entries.map((e) => e.ref)).size).toBe(entries.length);
        const perAccount = new Map<string, bigint>();
        for (const e of entries)
          perAccount.set(e.account_id, (perAccount.get(e.account_id) ?? 0n) - BigInt(e.a));
        for (const [acct, micro] of expected) {
          expect(perAccount.get(acct) ?? 0n, acct).toBe(micro);
          const bal = BigInt(l.balance(acct)?.balanceMicroCredits ?? 0);
          expect(bal, acct).toBe((before.get(acct) ?? 0n) - micro);
        }
        // Used-up grants expired without an entry: fewer entries than due grants.
        expect(entries.length).toBeLessThan(dueIds.length);
        expect(entries.length).toBeGreaterThan(dueIds.length / 2);
      } finally {
        check.close();
      }
    },
    120_000,
  );
});
