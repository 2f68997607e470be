import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Db, MIGRATIONS, openDatabase, PG_MIGRATIONS } from "../../src/db/index.js";
import { createPgSchema, createTempDb } from "../support/temp-db.js";

/** One table's shape, engine-neutral: columns (name, not null, primary key), unique keys, foreign keys, checks count. */
interface Shape {
  columns: string[];
  pk: string[];
  unique: string[];
  fks: string[];
  indexes: string[];
}

function sqliteShape(db: Db): Map<string, Shape> {
  const out = new Map<string, Shape>();
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  for (const t of tables) {
    const cols = db.prepare(`SELECT * FROM pragma_table_info('${t}')`).all() as {
      name: string;
      notnull: number;
      pk: number;
    }[];
    const pk = cols
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name);
    const idx = db.prepare(`SELECT * FROM pragma_index_list('${t}')`).all() as {
      name: string;
      unique: number;
      origin: string;
      partial: number;
    }[];
    const colsOf = (i: string) =>
      (
        db.prepare(`SELECT name FROM pragma_index_info('${i}') ORDER BY seqno`).pluck().all() as string[]
      ).join(",");
    const unique = idx
      .filter((i) => i.unique && i.origin !== "pk")
      .map((i) => `${colsOf(i.name)}${i.partial ? " (partial)" : ""}`)
      .sort();
    const indexes = idx
      .filter((i) => i.origin === "c" && !i.unique)
      .map((i) => `${i.name}(${colsOf(i.name)})${i.partial ? " partial" : ""}`)
      .sort();
    const fks = (
      db.prepare(`SELECT * FROM pragma_foreign_key_list('${t}')`).all() as {
        from: string;
        table: string;
        to: string;
      }[]
    )
      .map((f) => `${f.from}->${f.table}.${f.to}`)
      .sort();
    out.set(t, {
      // a rowid alias (INTEGER PRIMARY KEY) is NOT NULL in effect
      columns: cols
        .map((c) => `${c.name}${c.notnull || (c.pk && pk.length === 1) ? " not null" : ""}`)
        .sort(),
      pk,
      unique,
      fks,
      indexes,
    });
  }
  return out;
}

function pgShape(db: Db): Map<string, Shape> {
  const out = new Map<string, Shape>();
  const q = <T>(sql: string, ...p: unknown[]) => db.prepare(sql).all(...p) as T[];
  const tables = q<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema()
       AND table_type = 'BASE TABLE' AND table_name <> 'creditgate_schema_migrations' ORDER BY 1`,
  ).map((r) => r.t);
  for (const t of tables) {
    const cols = q<{ c: string; nullable: string }>(
      `SELECT column_name AS c, is_nullable AS nullable FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
      t,
    );
    const keyCols = (conname: string) =>
      q<{ a: string }>(
        `SELECT a.attname AS a FROM pg_constraint c
           JOIN LATERAL unnest(c.conkey) WITH ORDINALITY k(n, o) ON true
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n
          WHERE c.conname = ? AND c.connamespace = current_schema()::regnamespace ORDER BY k.o`,
        conname,
      ).map((r) => r.a);
    const cons = q<{ name: string; type: string }>(
      `SELECT conname AS name, contype AS type FROM pg_constraint
        WHERE conrelid = (current_schema() || '.' || ?)::regclass`,
      t,
    );
    const pkName = cons.find((c) => c.type === "p")?.name;
    const uniqueCons = cons.filter((c) => c.type === "u").map((c) => keyCols(c.name).join(","));
    const idx = q<{ name: string; uniq: number; partial: number; cols: string }>(
      `SELECT i.relname AS name, x.indisunique AS uniq, (x.indpred IS NOT NULL) AS partial,
              (SELECT string_agg(a.attname, ',' ORDER BY k.o) FROM unnest(x.indkey) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n) AS cols
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = (current_schema() || '.' || ?)::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
      t,
    );
    const fks = q<{ f: string; rt: string; rc: string }>(
      `SELECT a.attname AS f, rt.relname AS rt, ra.attname AS rc FROM pg_constraint c
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         JOIN pg_class rt ON rt.oid = c.confrelid
         JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.conrelid = (current_schema() || '.' || ?)::regclass`,
      t,
    ).map((r) => `${r.f}->${r.rt}.${r.rc}`);
    out.set(t, {
      columns: cols.map((c) => `${c.c}${c.nullable === "NO" ? " not null" : ""}`).sort(),
      pk: pkName ? keyCols(pkName) : [],
      unique: [
        ...uniqueCons,
        ...idx.filter((i) => i.uniq).map((i) => `${i.cols}${i.partial ? " (partial)" : ""}`),
      ].sort(),
      fks: fks.sort(),
      indexes: idx
        .filter((i) => !i.uniq)
        .map((i) => `${i.name}(${i.cols})${i.partial ? " partial" : ""}`)
        .sort(),
    });
  }
  return out;
}

describe("PostgreSQL schema = SQLite schema", () => {
  const sqlite = createTempDb();
  const pg = createPgSchema();
  let pgDb: Db;
  beforeAll(() => {
    pgDb = openDatabase(pg.url);
  });
  afterAll(() => {
    pgDb.close();
    pg.drop();
    sqlite.cleanup();
  });

  it("both lists end at the same version (every SQLite migration has its PostgreSQL twin)", () => {
    const last = (l: readonly { version: number }[]) => Math.max(...l.map((m) => m.version));
    expect(last(PG_MIGRATIONS)).toBe(last(MIGRATIONS));
  });

  it("has the same tables, columns, nullability, keys, foreign keys and indexes", () => {
    const a = sqliteShape(sqlite.db);
    const b = pgShape(pgDb);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [t, shape] of a) expect(b.get(t), t).toEqual(shape);
    // the comparison is not vacuous
    expect(a.get("ledger_entries")?.unique).toEqual(["idempotency_key"]);
    expect(a.get("topups")?.unique).toEqual(["provider,provider_ref (partial)"]);
    expect(a.get("usage_events")?.fks.length).toBeGreaterThan(1);
    expect(a.get("topups")?.indexes.length).toBe(3);
  });

  it("migrating again changes nothing", () => {
    const again = openDatabase(pg.url);
    expect(Number(again.prepare("SELECT COUNT(*) FROM creditgate_schema_migrations").pluck().get())).toBe(
      PG_MIGRATIONS.length,
    );
    again.close();
  });

  it("the triggers behave the same: balance updates enqueue limit checks; usage_daily keeps its rollups", () => {
    for (const db of [sqlite.db, pgDb]) {
      db.prepare(
        "INSERT INTO accounts (id, kind, balance_micro_credits, created_at_ms, updated_at_ms) VALUES ('agent:a', 'agent', 0, 1, 1)",
      ).run();
      db.prepare(
        "UPDATE accounts SET balance_micro_credits = 5, updated_at_ms = 7 WHERE id = 'agent:a'",
      ).run();
      db.prepare(
        "UPDATE accounts SET balance_micro_credits = 6, updated_at_ms = 8 WHERE id = 'agent:a'",
      ).run();
      const ins = db.prepare(
        `INSERT INTO usage_daily VALUES (?, 'agent:a', 'main', 'openai', 'gpt', ?, 0, 1, 1, 0, 0, 0, 2, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0)
         ON CONFLICT (day, account_id, agent_id, provider, model) DO UPDATE SET requests = requests + excluded.requests,
           cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd, charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits`,
      );
      ins.run(100, 1, 10, 3);
      ins.run(100, 2, 20, 6);
      ins.run(101, 1, 5, 1);
      db.prepare("DELETE FROM usage_daily WHERE day = 101").run();
    }
    for (const sql of [
      "SELECT account_id, seq, sent_seq, updated_at_ms FROM limit_outbox ORDER BY 1",
      "SELECT * FROM usage_daily_totals ORDER BY day",
      "SELECT * FROM usage_daily_accounts ORDER BY day",
    ])
      expect(pgDb.prepare(sql).all(), sql).toEqual(sqlite.db.prepare(sql).all());
  });

  it("the later triggers behave the same: delta and re-key updates (20), account/agent days and charge bounds (22)", () => {
    for (const db of [sqlite.db, pgDb]) {
      const ins = db.prepare(
        `INSERT INTO usage_daily VALUES (?, ?, ?, 'openai', 'gpt', 1, 0, 1, 1, 0, 0, 0, 2, 10, ?, 0, 0, 0, 0, 0, 0, 0, 0)
         ON CONFLICT (day, account_id, agent_id, provider, model) DO UPDATE SET requests = requests + excluded.requests,
           cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd, charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits`,
      );
      // days out of order (a late day fills a gap: the next day's prev_day moves), a refund day (negative charge)
      for (const [day, acct, agent, charge] of [
        [200, "telegram:1", "main", 5],
        [205, "telegram:1", "main", 7],
        [203, "telegram:1", "main", 4],
        [203, "telegram:1", "other", -9],
        [203, "telegram:1", "main", -2],
        [204, "agent:b", "b", 3],
        [203, "telegram:1", "other", 12],
      ] as const)
        ins.run(day, acct, agent, charge);
      // a re-key (the subtract-and-add path), then deletes: the last row of a day/account/agent leaves its days
      db.prepare("UPDATE usage_daily SET day = 206 WHERE day = 204 AND account_id = 'agent:b'").run();
      db.prepare("DELETE FROM usage_daily WHERE day = 203 AND agent_id = 'main'").run();
      db.prepare("DELETE FROM usage_daily_accounts WHERE day = 205").run();
    }
    for (const sql of [
      "SELECT * FROM usage_daily_totals WHERE day >= 200 ORDER BY day, agent_id",
      "SELECT * FROM usage_daily_accounts WHERE day >= 200 ORDER BY day, account_id",
      "SELECT * FROM usage_account_days ORDER BY account_id, day",
      "SELECT * FROM usage_agent_account_days ORDER BY agent_id, account_id, day",
      "SELECT * FROM usage_account_charge_bounds ORDER BY account_id",
    ])
      expect(pgDb.prepare(sql).all(), sql).toEqual(sqlite.db.prepare(sql).all());
    expect(pgDb.prepare("SELECT COUNT(*) AS n FROM usage_agent_account_days WHERE day >= 200").get()).toEqual(
      { n: 4 },
    );
  });

  it("the later CHECKs are the same: api key scopes with 'push' (29), latency_ms >= 0 (25)", () => {
    for (const db of [sqlite.db, pgDb]) {
      const key = db.prepare(
        "INSERT INTO api_keys (id, scope, secret_sha256, created_at_ms) VALUES (?, ?, 'x', 1)",
      );
      key.run("k_push", "push");
      expect(() => key.run("k_bad", "write")).toThrow();
      expect(db.prepare("SELECT scope FROM api_keys WHERE id = 'k_push'").pluck().get()).toBe("push");
    }
    expect(
      pgDb
        .prepare(
          `SELECT pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = (current_schema() || '.usage_events')::regclass AND contype = 'c'`,
        )
        .pluck()
        .all(),
    ).toContain("CHECK (((latency_ms IS NULL) OR (latency_ms >= 0)))");
  });
});
