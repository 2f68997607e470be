import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, openDatabase } from "../../src/db/index.js";
import {
  createEnforcer,
  createSamplesRepo,
  HEADROOM_SAMPLE_CALLS,
  type HeadroomRule,
  p95MicroCredits,
  resolveHeadroom,
} from "../../src/limits/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { alertKeys, CREDIT, debit, settings, topUp } from "../worker/support.js";

const T0 = Date.UTC(2026, 2, 10, 12, 0, 0);
const DAY = 24 * 3600_000;
const U = "telegram:4242";

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("p95 of call charges (nearest rank)", () => {
    const rows: { name: string; charges: number[]; p95: number }[] = [
      { name: "no calls: 0", charges: [], p95: 0 },
      { name: "one call: that call", charges: [70_000], p95: 70_000 },
      { name: "two calls: the larger", charges: [10, 20], p95: 20 },
      { name: "order does not matter", charges: [30, 10, 20], p95: 30 },
      { name: "20 calls: the 19th smallest", charges: range(1, 20).map((i) => i * 1000), p95: 19_000 },
      { name: "21 calls: rank ⌈19.95⌉ = 20", charges: range(1, 21), p95: 20 },
      { name: "100 calls: the 95th", charges: range(1, 100), p95: 95 },
      { name: "200 calls: the 190th", charges: range(1, 200).reverse(), p95: 190 },
      { name: "one huge outlier in 100 does not move it", charges: [...range(1, 99), 10 ** 12], p95: 95 },
      { name: "equal charges: that charge", charges: Array(7).fill(5), p95: 5 },
    ];
    it.each(rows)("$name", ({ charges, p95 }) => {
      const before = [...charges];
      expect(p95MicroCredits(charges)).toBe(p95);
      expect(charges).toEqual(before);
    });
  });

  describe("resolveHeadroom: the rule, the user's model, its recent charges", () => {
    const model = { agentId: "main", provider: "openai", model: "gpt-5" };
    const rows: {
      name: string;
      rule: HeadroomRule;
      m: typeof model | null;
      charges: number[];
      out: object;
    }[] = [
      { name: "off", rule: { mode: "off" }, m: model, charges: [5], out: { microCredits: 0, basis: "off" } },
      {
        name: "fixed",
        rule: { mode: "fixed", microCredits: 50_000 },
        m: null,
        charges: [],
        out: { microCredits: 50_000, basis: "fixed" },
      },
      {
        name: "fixed 0 is off",
        rule: { mode: "fixed", microCredits: 0 },
        m: model,
        charges: [5],
        out: { microCredits: 0, basis: "off" },
      },
      {
        name: "p95, user never called: 0 (no_data)",
        rule: { mode: "p95" },
        m: null,
        charges: [],
        out: { microCredits: 0, basis: "no_data" },
      },
      {
        name: "p95, model without recent calls: 0 (no_data), model named",
        rule: { mode: "p95" },
        m: model,
        charges: [],
        out: { microCredits: 0, basis: "no_data", ...model },
      },
      {
        name: "p95 over the charges, with the sample count",
        rule: { mode: "p95" },
        m: model,
        charges: [3, 1, 2],
        out: { microCredits: 3, basis: "p95", ...model, samples: 3 },
      },
    ];
    it.each(rows)("$name", ({ rule, m, charges, out }) => {
      expect(resolveHeadroom(rule, m, charges)).toEqual(out);
    });
  });

  describe("estimating the headroom from usage rows", () => {
    test("p95 of the agent+model's recent calls, across users; the user's latest model decides", ({ db }) => {
      const e = createEnforcer(db, settings());
      topUp(db, U, 10 * CREDIT, T0 - DAY);
      // Another user of the same agent and model: 19 calls of 0.01..0.19 credits.
      for (let i = 1; i <= 19; i++) debit(db, "telegram:1", i * 10_000, T0 - DAY + i);
      // Our user: one call of 0.2 credits on the same model → 20 samples, p95 = 19th = 0.19.
      debit(db, U, 200_000, T0 - 1000);
      expect(e.check(U, T0).status.headroom).toEqual({
        microCredits: 190_000,
        basis: "p95",
        agentId: "main",
        provider: "mock",
        model: "mock-gpt",
        samples: 20,
      });
      // The user moves to another agent's model: its calls alone count now.
      debit(db, U, 30_000, T0 - 500, "research", "big-model", "acme");
      expect(e.check(U, T0).status.headroom).toMatchObject({
        microCredits: 30_000,
        agentId: "research",
        provider: "acme",
        model: "big-model",
        samples: 1,
      });
    });

    test("a user who never called, or whose model had no call in 7 days, gets 0 (no_data)", ({ db }) => {
      const e = createEnforcer(db, settings());
      topUp(db, U, CREDIT, T0);
      expect(e.check(U, T0).status).toMatchObject({
        allowed: true,
        headroom: { microCredits: 0, basis: "no_data" },
      });
      debit(db, U, 300_000, T0 - 8 * DAY);
      expect(e.check(U, T0).status).toMatchObject({
        allowed: true,
        headroom: { microCredits: 0, basis: "no_data", model: "mock-gpt" },
      });
      // Exactly 7 days old still counts; one millisecond older does not.
      debit(db, U, 100_000, T0 - 7 * DAY);
      expect(e.check(U, T0).status.headroom).toMatchObject({ microCredits: 100_000, samples: 1 });
      expect(e.check(U, T0 + 1).status.headroom).toMatchObject({ microCredits: 0, basis: "no_data" });
    });

    test("only the newest 200 calls count, and no more than 200 are kept per model", ({ db }) => {
      const e = createEnforcer(db, settings());
      topUp(db, U, 100 * CREDIT, T0 - DAY);
      for (let i = 0; i < 50; i++) debit(db, "telegram:2", 5 * CREDIT, T0 - DAY + i); // old, expensive
      for (let i = 0; i < HEADROOM_SAMPLE_CALLS; i++) debit(db, U, 20_000, T0 - DAY / 2 + i); // newer, cheap
      expect(e.check(U, T0).status.headroom).toMatchObject({ microCredits: 20_000, samples: 200 });
      const kept = db
        .prepare("SELECT COUNT(*) AS n, MAX(charge_micro_credits) AS m FROM headroom_samples")
        .get();
      expect(kept).toEqual({ n: 200, m: 20_000 });
    });

    test("calls charged 0 are not sampled", ({ db }) => {
      const e = createEnforcer(db, settings());
      topUp(db, U, CREDIT, T0 - DAY);
      debit(db, U, 40_000, T0 - 2000);
      // A zero-charge row (a failed call, a free model) as the meter records it.
      const entry = db.prepare("SELECT MAX(id) AS id FROM ledger_entries").get() as { id: number };
      db.prepare(
        `INSERT INTO usage_events (dedupe_key, ledger_entry_id, account_id, agent_id, source, source_ref, provider,
         model, message_ts_ms, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_tokens,
         cost_pico_usd, charge_micro_credits, price_source, price_version, created_at_ms)
       VALUES ('zero', ?, ?, 'main', 'push', 'test', 'mock', 'mock-gpt', ?, 0, 0, 0, 0, 0, 0, 0, 'table', 't', ?)`,
      ).run(entry.id, U, T0 - 1000, T0);
      expect(e.check(U, T0).status.headroom).toMatchObject({ microCredits: 40_000, samples: 1 });
    });

    test("sampling follows usage rows by id in batches, exactly once", ({ db }) => {
      const samples = createSamplesRepo(db);
      for (let i = 0; i < 7; i++) debit(db, U, 1000 + i, T0 + i);
      const ingest = db.transaction((n: number) => samples.ingest(0, n));
      expect([ingest(3), ingest(3), ingest(3), ingest(3)]).toEqual([3, 3, 1, 0]);
      const maxId = (db.prepare("SELECT MAX(id) AS m FROM usage_events").get() as { m: number }).m;
      expect(samples.cursor()).toBe(maxId);
      const m = { agentId: "main", provider: "mock", model: "mock-gpt" };
      expect(samples.recentCharges(m, 0)).toEqual([1006, 1005, 1004, 1003, 1002, 1001, 1000]);
      // Rows older than the window are read past (cursor moves) but never sampled.
      debit(db, U, 9999, T0 - 8 * DAY);
      expect(db.transaction(() => samples.ingest(T0 - 7 * DAY))()).toBe(1);
      expect(samples.recentCharges(m, 0)).toHaveLength(7);
      expect(samples.cursor()).toBe(maxId + 1);
    });
  });

  describe("the headroom in the enforcement check", () => {
    test("balance above the floor but below one typical call blocks with insufficient_headroom", ({ db }) => {
      const e = createEnforcer(db, settings({ topupUrl: "https://bot.example/topup" }));
      e.setLimits(U, { language: "es" }, T0 - DAY);
      topUp(db, U, CREDIT, T0 - DAY);
      for (let i = 0; i < 4; i++) debit(db, U, 200_000, T0 - 1000 + i); // 4 × 0.2: p95 = 0.2, balance 0.2
      expect(e.check(U, T0).status).toMatchObject({ allowed: true, balanceMicroCredits: 200_000 });
      debit(db, U, 50_000, T0); // balance 0.15 < 0.2
      const s = e.check(U, T0).status;
      expect(s).toMatchObject({
        allowed: false,
        reason: "insufficient_headroom",
        balanceMicroCredits: 150_000,
        headroom: { microCredits: 200_000, basis: "p95", samples: 5 },
      });
      expect(alertKeys(db, U)).toContain("blocked|insufficient_headroom|fund:1");
      const notice = db
        .prepare("SELECT kind, text FROM notices WHERE account_id = ? ORDER BY id DESC")
        .get(U);
      expect(notice).toEqual({
        kind: "blocked",
        text:
          "Pausamos tus mensajes: tu saldo no alcanza para el costo de una respuesta típica " +
          "(saldo 0.15, una respuesta cuesta hasta unos 0.20 créditos). Recarga aquí: https://bot.example/topup",
      });
      // A call already in flight lands: now at the floor, the balance reason takes over.
      debit(db, U, 150_000, T0 + 1);
      expect(e.check(U, T0 + 1).status.reason).toBe("insufficient_balance");
      topUp(db, U, CREDIT, T0 + 2);
      expect(e.check(U, T0 + 2).status).toMatchObject({ allowed: true, reason: null });
    });

    test("per-user and default rules override CREDITGATE_HEADROOM", ({ db }) => {
      const e = createEnforcer(db, settings({ headroom: { mode: "off" } }));
      topUp(db, U, 100_000, T0);
      debit(db, U, 60_000, T0); // balance 0.04; p95 would be 0.06
      expect(e.check(U, T0).status).toMatchObject({ allowed: true, headroom: { basis: "off" } });
      e.setLimits("*", { headroom: { mode: "p95" } }, T0);
      expect(e.check(U, T0).status).toMatchObject({
        allowed: false,
        reason: "insufficient_headroom",
        headroom: { microCredits: 60_000, basis: "p95" },
      });
      const r = e.setLimits(U, { headroom: { mode: "fixed", microCredits: 40_000 } }, T0);
      expect(r?.status).toMatchObject({ allowed: true, headroom: { microCredits: 40_000, basis: "fixed" } });
      expect(e.limits(U).effective.headroom).toEqual({ mode: "fixed", microCredits: 40_000 });
      expect(() => e.setLimits(U, { headroom: { mode: "fixed", microCredits: -1 } } as never, T0)).toThrow();
      expect(() => e.setLimits(U, { headroom: { mode: "p50" } } as never, T0)).toThrow();
    });

    test("migration 15 backfills recent samples and queues a re-check; old rows are re-evaluated", () => {
      const dir = mkdtempSync(join(tmpdir(), "cg-headroom-"));
      const path = join(dir, "creditgate.sqlite");
      try {
        const now = Date.now();
        // A database as the previous release leaves it: a user with calls and a stored status.
        const old = openDatabase(
          path,
          MIGRATIONS.filter((m) => m.version < 15),
        );
        topUp(old, U, CREDIT, now - DAY);
        debit(old, U, 500_000, now - 9 * DAY); // too old for the backfill
        debit(old, U, 100_000, now - DAY);
        debit(old, U, 300_000, now - 1000);
        old
          .prepare(
            `INSERT INTO user_status (account_id, allowed, reason, balance_micro_credits, windows, updated_at_ms)
           VALUES (?, 1, NULL, 100000, '[]', ?)`,
          )
          .run(U, now - 1000);
        old.prepare("UPDATE limit_outbox SET sent_seq = seq, checked_seq = seq").run();
        old.close();

        const db = openDatabase(path);
        try {
          expect(db.pragma("user_version", { simple: true })).toBe(
            MIGRATIONS[MIGRATIONS.length - 1]?.version,
          );
          const rows = db.prepare("SELECT charge_micro_credits AS c FROM headroom_samples ORDER BY c").all();
          expect(rows).toEqual([{ c: 100_000 }, { c: 300_000 }]);
          const maxId = (db.prepare("SELECT MAX(id) AS m FROM usage_events").get() as { m: number }).m;
          expect(createSamplesRepo(db).cursor()).toBe(maxId);
          const pending = db.prepare("SELECT COUNT(*) AS n FROM limit_outbox WHERE seq > sent_seq").get();
          expect(pending).toEqual({ n: 1 });
          // The stored row has no headroom yet: status() evaluates instead of answering without it.
          const e = createEnforcer(db, settings());
          expect(e.status(U, now)).toMatchObject({
            allowed: false,
            reason: "insufficient_headroom",
            headroom: { microCredits: 300_000, samples: 2 },
          });
          e.check(U, now);
          expect(e.storedStatus(U)?.headroom).toMatchObject({ microCredits: 300_000 });
        } finally {
          db.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  function range(from: number, to: number): number[] {
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  }
});
