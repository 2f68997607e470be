import { afterEach, describe, expect, it } from "vitest";
import { createApiKeys } from "../../src/auth/index.js";
import { createLedger } from "../../src/credits/index.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createTopupRepo } from "../../src/payments/index.js";
import { createFulfiller } from "../../src/webhooks/index.js";
import { runCli } from "../support/cli.js";
import { createPgSchema, createTempDb, PG_TEST_URL, pgUrlWithSchema } from "../support/temp-db.js";

const NOW = 1_790_000_000_000;

/** A SQLite install with rows in the ledger, grants, top-ups, provider events, keys and usage rollups. */
function populate(db: Db): void {
  const ledger = createLedger(db);
  const topups = createTopupRepo(db);
  const fulfiller = createFulfiller(db, { ledger, topups });
  for (let u = 0; u < 5; u++) {
    const acct = `telegram:${u}`;
    ledger.post({
      accountId: acct,
      kind: "grant",
      amountMicroCredits: 2_000_000n,
      idempotencyKey: `g-${u}`,
      nowMs: NOW,
      grant: { kind: "promotional", expiresAtMs: NOW + 1000 },
    });
    const id = `tu_mig${String(u).padStart(17, "0")}`;
    topups.insert(
      {
        id,
        accountId: acct,
        packId: "starter",
        provider: "stripe",
        currency: "USD",
        amountMinor: 500n,
        currencyExponent: 2,
        grantMicroCredits: 5_000_000n,
        expiresAtMs: NOW + 3_600_000,
      },
      NOW,
    );
    fulfiller.apply({
      event: { provider: "stripe", eventId: `evt_${u}`, type: "checkout.session.completed", payload: "{}" },
      topupId: id,
      observation: {
        state: "paid",
        paid: { amountMinor: 500n, currency: "USD" },
        echoedTopupId: id,
        source: "test",
      },
      nowMs: NOW + 1,
    });
    for (let i = 0; i < 30; i++)
      ledger.post({
        accountId: acct,
        kind: "usage",
        amountMicroCredits: -BigInt(100_000 + i * 7),
        idempotencyKey: `u-${u}-${i}`,
        nowMs: NOW + 2000 + i, // after the promotional grant expired: expiry entries too
      });
    db.prepare(
      `INSERT INTO usage_daily VALUES (?, ?, 'main', 'openai', 'gpt', 3, 0, 1, 1, 0, 0, 0, 2, 30, 9, 0, 0, 0, 0, 0, 0, 0, 0)`,
    ).run(20_000 + u, acct);
  }
  createApiKeys(db).create({ scope: "admin", name: "ops" }, NOW);
}

const count = (db: Db, t: string) => Number(db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get());

describe("creditgate migrate-db --to postgres://", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it("copies every table, verifies counts and balances, and PostgreSQL carries on from there", async () => {
    const sqlite = createTempDb();
    const pg = createPgSchema();
    cleanups.push(sqlite.cleanup, pg.drop);
    populate(sqlite.db);
    const tables = sqlite.db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .pluck()
      .all() as string[];
    const before = Object.fromEntries(tables.map((t) => [t, count(sqlite.db, t)]));
    const sqliteLedger = createLedger(sqlite.db);
    const balances = [0, 1, 2, 3, 4].map((u) => sqliteLedger.balance(`telegram:${u}`)?.balanceMicroCredits);
    const rollups = sqlite.db.prepare("SELECT * FROM usage_daily_totals ORDER BY day").all();
    // tables kept by triggers (migration 22) and the migration-seeded hourly cursor (21)
    const derivedSql = [
      "SELECT * FROM usage_account_days ORDER BY account_id, day",
      "SELECT * FROM usage_agent_account_days ORDER BY agent_id, account_id, day",
      "SELECT * FROM usage_account_charge_bounds ORDER BY account_id",
      "SELECT * FROM usage_hourly_cursor",
    ];
    const derived = derivedSql.map((q) => sqlite.db.prepare(q).all());
    expect(derived[0]?.length).toBe(5);
    sqlite.db.close();

    const r = await runCli({ CREDITGATE_DB: sqlite.path }, ["migrate-db", "--to", pg.url, "--json"]);
    expect(r.error).toBeNull();
    const report = JSON.parse(r.out) as { tables: { table: string; rows: number }[] };
    expect(Object.fromEntries(report.tables.map((t) => [t.table, t.rows]))).toEqual(before);
    expect(before.ledger_entries).toBeGreaterThan(150);

    const db = openDatabase(pg.url);
    cleanups.push(() => db.close());
    for (const t of tables) expect(count(db, t), t).toBe(before[t]);
    const ledger = createLedger(db);
    expect([0, 1, 2, 3, 4].map((u) => ledger.balance(`telegram:${u}`)?.balanceMicroCredits)).toEqual(
      balances,
    );
    expect(ledger.inconsistentAccounts()).toEqual([]);
    expect(ledger.inconsistentGrants()).toEqual({ accounts: [], grants: [] });
    // the rollup triggers did not fire a second time for copied rows
    expect(db.prepare("SELECT * FROM usage_daily_totals ORDER BY day").all()).toEqual(rollups);
    expect(derivedSql.map((q) => db.prepare(q).all())).toEqual(derived);
    // ids continue after the copied ones; replays of copied keys are duplicates
    const next = ledger.post({
      accountId: "telegram:0",
      kind: "usage",
      amountMicroCredits: -1n,
      idempotencyKey: "after-move",
      nowMs: NOW + 9000,
    });
    expect(next.status === "applied" && next.entryId).toBe((before.ledger_entries ?? 0) + 1);
    expect(
      ledger.post({
        accountId: "telegram:0",
        kind: "usage",
        amountMicroCredits: -100_000n,
        idempotencyKey: "u-0-0",
        nowMs: NOW,
      }).status,
    ).toBe("duplicate");
  });

  it("refuses a PostgreSQL database that already holds data, changing nothing", async () => {
    const sqlite = createTempDb();
    const pg = createPgSchema();
    cleanups.push(sqlite.cleanup, pg.drop);
    populate(sqlite.db);
    sqlite.db.close();
    const target = openDatabase(pg.url);
    cleanups.push(() => target.close());
    createLedger(target).post({
      accountId: "telegram:9",
      kind: "grant",
      amountMicroCredits: 1n,
      idempotencyKey: "already-here",
      nowMs: NOW,
    });
    const r = await runCli({ CREDITGATE_DB: sqlite.path }, ["migrate-db", "--to", pg.url]);
    expect(r.error?.message).toMatch(/already holds creditgate data/);
    expect(count(target, "ledger_entries")).toBe(1);
    expect(count(target, "accounts")).toBe(1);
  });

  it("a URL whose schema does not exist is a configuration error naming it, not an unexpected one", async () => {
    const sqlite = createTempDb();
    cleanups.push(sqlite.cleanup);
    populate(sqlite.db);
    sqlite.db.close();
    const r = await runCli({ CREDITGATE_DB: sqlite.path }, [
      "migrate-db",
      "--to",
      pgUrlWithSchema(PG_TEST_URL, "no_such_schema_here"),
    ]);
    expect(r.error).toMatchObject({ code: "invalid_config" });
    expect(r.error?.message).toMatch(/names no existing schema: create it first/);
  });

  it("the meter refuses a PostgreSQL CREDITGATE_DB at start with one clear line", async () => {
    const pg = createPgSchema();
    cleanups.push(pg.drop);
    for (const args of [
      ["meter", "--once"],
      ["meter", "--once", "--ship-to", "http://127.0.0.1:9", "--key", "k"],
    ]) {
      const r = await runCli({ CREDITGATE_DB: pg.url }, args);
      expect(r.error).toMatchObject({ code: "invalid_config" });
      expect(r.error?.message).toMatch(/the meter needs a SQLite file, not a PostgreSQL URL/);
    }
  });
});
