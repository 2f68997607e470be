import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test as base, type TestAPI } from "vitest";
import { type Db, openDatabase, PgDatabase } from "../../src/db/index.js";

/** The engines creditgate's repositories run on; parametrized suites run once per engine. */
export type Engine = "sqlite" | "postgres";
export const ENGINES: readonly Engine[] = ["sqlite", "postgres"];

/** The test PostgreSQL (trust auth, database `test`): CREDITGATE_TEST_PG_URL, else the local one. */
export const PG_TEST_URL = process.env.CREDITGATE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** `base` (a libpq URI) with `search_path` set to `schema`. */
export function pgUrlWithSchema(base: string, schema: string): string {
  const sep = base.includes("?") ? "&" : "?";
  return `${base}${sep}options=${encodeURIComponent(`-csearch_path=${schema}`)}`;
}

/**
 * A fresh, empty PostgreSQL schema `t_<random>` (not migrated) and the URL whose search_path is it;
 * `drop()` removes it with everything in it.
 */
export function createPgSchema(): { schema: string; url: string; drop(): void } {
  const schema = `t_${randomBytes(6).toString("hex")}`;
  const admin = new PgDatabase(PG_TEST_URL);
  admin.exec(`CREATE SCHEMA ${schema}`);
  admin.close();
  return {
    schema,
    url: pgUrlWithSchema(PG_TEST_URL, schema),
    drop() {
      const a = new PgDatabase(PG_TEST_URL);
      a.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      a.close();
    },
  };
}

/** A real, migrated SQLite file per test (production pragmas), removed afterwards. */
export function createTempDb(): { db: Db; dir: string; path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "cg-test-"));
  const path = join(dir, "creditgate.sqlite");
  const db = openDatabase(path);
  return {
    db,
    dir,
    path,
    cleanup() {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh, migrated database of `engine` that a child process can open too: `path` is what
 * CREDITGATE_DB takes (the SQLite file, or the PostgreSQL URL of a fresh schema). `cleanup()`
 * closes `db` and removes the file or drops the schema.
 */
export function createEngineDb(engine: Engine): { db: Db; path: string; cleanup(): void } {
  if (engine === "sqlite") return createTempDb();
  const s = createPgSchema();
  const db = openDatabase(s.url);
  return {
    db,
    path: s.url,
    cleanup() {
      if (db.open) db.close();
      s.drop();
    },
  };
}

/** Empties every creditgate table of the connection's schema (ids restart at 1); migration-seeded rows are put back. */
export function truncateAll(db: Db): void {
  const tables = db
    .prepare(
      `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema()
         AND table_type = 'BASE TABLE' AND table_name <> 'creditgate_schema_migrations'`,
    )
    .pluck()
    .all() as string[];
  if (tables.length) db.exec(`TRUNCATE ${tables.join(", ")} RESTART IDENTITY CASCADE`);
  // the row migration 21 writes (the hourly rollup's cursor), as on a fresh database
  if (tables.includes("usage_hourly_cursor"))
    db.exec(`INSERT INTO usage_hourly_cursor (id, last_usage_event_id, from_hour)
      VALUES (1, 0, (floor(extract(epoch FROM now()))::bigint / 86400 - 9) * 24)`);
}

/** `test` with a `db` fixture: a fresh temp-file database, closed and deleted after each test. */
const sqliteTest: TestAPI<{ db: Db }> = base.extend<{ db: Db }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixture signature
  db: async ({}, use) => {
    const t = createTempDb();
    await use(t.db);
    t.cleanup();
  },
});

/**
 * `test` with a `db` fixture on PostgreSQL: one fresh schema per test file (migrated once, dropped
 * after the file), emptied before each test, and a connection per test.
 */
export const pgTest = base.extend<{ pgSchema: { url: string }; db: Db }>({
  pgSchema: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest fixture signature
    async ({}, use) => {
      const s = createPgSchema();
      openDatabase(s.url).close(); // migrate once
      await use({ url: s.url });
      s.drop();
    },
    { scope: "file" },
  ],
  db: async ({ pgSchema }, use) => {
    const db = openDatabase(pgSchema.url);
    truncateAll(db);
    await use(db);
    if (db.open) db.close();
  },
}) as unknown as TestAPI<{ db: Db; pgSchema: { url: string } }>;

/** The `db` fixture test of `engine`. */
export function testOn(engine: Engine): TestAPI<{ db: Db }> {
  return engine === "sqlite" ? sqliteTest : (pgTest as unknown as TestAPI<{ db: Db }>);
}

/**
 * The `db` fixture of suites not yet parametrized by engine: SQLite, or PostgreSQL when
 * CREDITGATE_TEST_ENGINE=postgres (to see how far a suite gets on PostgreSQL: docs/postgres.md).
 */
export const test: TestAPI<{ db: Db }> = testOn(
  process.env.CREDITGATE_TEST_ENGINE === "postgres" ? "postgres" : "sqlite",
);
