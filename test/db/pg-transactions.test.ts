import { describe, expect } from "vitest";
import { type Db, openDatabase, type PgDatabase } from "../../src/db/index.js";
import { translateSql } from "../../src/db/pg-sql.js";
import { pgTest as test } from "../support/temp-db.js";

const schema = {
  columns: new Map([
    ["limit_outbox", new Set(["account_id", "seq", "sent_seq", "updated_at_ms"])],
    ["alerts", new Set(["id", "account_id", "kind"])],
  ]),
  identityTables: new Set(["alerts"]),
};

describe("SQLite → PostgreSQL statement rewriting", () => {
  test("parameters, INSERT OR IGNORE, scalar MAX/MIN, casts, upsert qualification, RETURNING id", () => {
    expect(translateSql("SELECT * FROM t WHERE a = ? AND b = '?' AND c = ?", schema).text).toBe(
      "SELECT * FROM t WHERE a = $1 AND b = '?' AND c = $2",
    );
    const named = translateSql("INSERT INTO t (a, b) VALUES (@a, @b) -- @c", schema);
    expect(named.names).toEqual(["a", "b"]);
    expect(named.text).toBe("INSERT INTO t (a, b) VALUES ($1, $2) -- @c");
    expect(translateSql("INSERT OR IGNORE INTO alerts (account_id) VALUES (?)", schema)).toMatchObject({
      text: "INSERT INTO alerts (account_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id",
      returnsId: true,
    });
    expect(translateSql("SELECT MAX(a), MAX(b, 0), MIN(MAX(x), ?) FROM t", schema).text).toBe(
      "SELECT MAX(a), GREATEST(b, 0), LEAST(MAX(x), $1) FROM t",
    );
    expect(translateSql("SELECT CAST(x AS INTEGER), IFNULL(y, 0) FROM t", schema).text).toBe(
      "SELECT CAST(x AS BIGINT), COALESCE(y, 0) FROM t",
    );
    expect(
      translateSql(
        "INSERT INTO limit_outbox (account_id, seq, updated_at_ms) VALUES (?, 1, ?) ON CONFLICT (account_id) DO UPDATE SET seq = seq + 1, updated_at_ms = MAX(updated_at_ms, excluded.updated_at_ms) WHERE seq < 9",
        schema,
      ).text,
    ).toBe(
      "INSERT INTO limit_outbox (account_id, seq, updated_at_ms) VALUES ($1, 1, $2) ON CONFLICT (account_id) DO UPDATE SET seq = limit_outbox.seq + 1, updated_at_ms = GREATEST(limit_outbox.updated_at_ms, excluded.updated_at_ms) WHERE limit_outbox.seq < 9",
    );
    expect(() => translateSql("INSERT OR REPLACE INTO t VALUES (1)", schema)).toThrow(/no faithful rewrite/);
  });

  test("report idioms: unary +, mixed-case aliases, SUM of a condition, strftime, GLOB, instr, subquery aliases", () => {
    const tr = (q: string) => translateSql(q, schema).text;
    expect(
      tr(
        "SELECT +agent_id AS d0, a + b AS s, SUM(cache_read_tokens) AS cacheRead FROM t GROUP BY d0 ORDER BY cacheRead",
      ),
    ).toBe(
      'SELECT agent_id AS d0, a + b AS s, SUM(cache_read_tokens) AS "cacheRead" FROM t GROUP BY d0 ORDER BY "cacheRead"',
    );
    expect(
      tr(
        "SELECT SUM(x = 'a') AS n, SUM(a >= @s AND a < @u) AS m, SUM(CASE WHEN a = 1 THEN 1 END), SUM(x) FROM t",
      ),
    ).toBe(
      "SELECT SUM((x = 'a')::int) AS n, SUM((a >= $1 AND a < $2)::int) AS m, SUM(CASE WHEN a = 1 THEN 1 END), SUM(x) FROM t",
    );
    expect(tr("SELECT strftime('%Y-%m-%d', ts / 1000, 'unixepoch') FROM t")).toBe(
      "SELECT to_char(to_timestamp(ts / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM t",
    );
    expect(() => tr("SELECT strftime('%s', ts) FROM t")).toThrow(/strftime/);
    expect(tr("SELECT r GLOB 'sub_agent:*' OR r GLOB '*:dm:?', instr(substr(x, 7), ':') FROM t")).toBe(
      "SELECT r LIKE 'sub\\_agent:%' OR r LIKE '%:dm:_', strpos(substr(x, 7), ':') FROM t",
    );
    expect(() => tr("SELECT r GLOB ? FROM t")).toThrow(/GLOB/);
    expect(
      tr(
        "SELECT a FROM (SELECT 1 AS a) WHERE a = 1 UNION ALL SELECT b FROM (SELECT 2 AS b) x JOIN (SELECT 3) ON 1 = 1",
      ),
    ).toBe(
      "SELECT a FROM (SELECT 1 AS a) AS _q1 WHERE a = 1 UNION ALL SELECT b FROM (SELECT 2 AS b) x JOIN (SELECT 3) AS _q2 ON 1 = 1",
    );
  });
});

const pg = (db: Db) => db as unknown as PgDatabase;

describe("PostgreSQL connection semantics", () => {
  test("values come back as SQLite gives them: integers as numbers (BigInt with safeIntegers), booleans 1/0", ({
    db,
  }) => {
    const row = db
      .prepare("SELECT COUNT(*) AS n, SUM(x) AS s, 1 = 1 AS b, 'x' AS t FROM (VALUES (2), (3)) v(x)")
      .get();
    expect(row).toEqual({ n: 2, s: 5, b: 1, t: "x" });
    const big = db.prepare("SELECT CAST(? AS BIGINT) AS v").safeIntegers(true).get(9_007_199_254_740_993n);
    expect(big).toEqual({ v: 9_007_199_254_740_993n });
    expect(db.prepare("SELECT 1 AS a, 2 AS b").raw().get()).toEqual([1, 2]);
  });

  test("a transaction that loses a serialization race runs again and commits once", ({ db, pgSchema }) => {
    const other = openDatabase(pgSchema.url);
    db.prepare(
      "INSERT INTO accounts (id, kind, balance_micro_credits, created_at_ms, updated_at_ms) VALUES ('telegram:1', 'user', 100, 0, 0)",
    ).run();
    const read = db.prepare("SELECT balance_micro_credits AS b FROM accounts WHERE id = 'telegram:1'");
    const write = db.prepare("UPDATE accounts SET balance_micro_credits = ? WHERE id = 'telegram:1'");
    let attempts = 0;
    const debit = db.transaction((amount: number) => {
      attempts++;
      const { b } = read.get() as { b: number };
      // the first time, another process debits in between our read and our write
      if (attempts === 1)
        other
          .prepare(
            "UPDATE accounts SET balance_micro_credits = balance_micro_credits - 30 WHERE id = 'telegram:1'",
          )
          .run();
      write.run(b - amount);
    });
    debit.immediate(10);
    expect(attempts).toBe(2);
    expect(pg(db).txRetries).toBe(1);
    expect(read.get()).toEqual({ b: 60 }); // 100 - 30 - 10: no lost update
    other.close();
  });

  test("a serialization failure swallowed inside a savepoint still reruns the whole transaction", ({
    db,
    pgSchema,
  }) => {
    const other = openDatabase(pgSchema.url);
    db.prepare(
      "INSERT INTO accounts (id, kind, balance_micro_credits, created_at_ms, updated_at_ms) VALUES ('telegram:2', 'user', 0, 0, 0)",
    ).run();
    let attempts = 0;
    const inner = db.transaction(() => {
      db.prepare(
        "UPDATE accounts SET balance_micro_credits = balance_micro_credits + 1 WHERE id = 'telegram:2'",
      ).run();
    });
    db.transaction(() => {
      attempts++;
      db.prepare("SELECT balance_micro_credits FROM accounts WHERE id = 'telegram:2'").get();
      if (attempts === 1)
        other.prepare("UPDATE accounts SET balance_micro_credits = 100 WHERE id = 'telegram:2'").run();
      try {
        inner();
      } catch {
        // e.g. the biller's per-event savepoint: it must not turn a conflict into "bad event"
      }
    })();
    expect(attempts).toBe(2);
    expect(
      db.prepare("SELECT balance_micro_credits AS b FROM accounts WHERE id = 'telegram:2'").get(),
    ).toEqual({
      b: 101,
    });
    other.close();
  });

  test("constraint errors carry SQLite's code and wording; an error rolls the transaction back; no retry", ({
    db,
  }) => {
    const ins = db.prepare(
      "INSERT INTO api_keys (id, scope, secret_sha256, created_at_ms) VALUES (?, 'read', 'x', 0)",
    );
    ins.run("k1");
    let attempts = 0;
    let caught: unknown;
    try {
      db.transaction(() => {
        attempts++;
        ins.run("k2");
        ins.run("k1");
      })();
    } catch (err) {
      caught = err;
    }
    expect(attempts).toBe(1);
    expect(caught).toMatchObject({ code: "SQLITE_CONSTRAINT_UNIQUE", sqlState: "23505" });
    expect((caught as Error).message).toMatch(/^UNIQUE constraint failed/);
    expect(db.prepare("SELECT id FROM api_keys ORDER BY id").pluck().all()).toEqual(["k1"]);
    expect(db.inTransaction).toBe(false);
  });
});
