import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test as base, type TestAPI } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";

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

/** `test` with a `db` fixture: a fresh temp-file database, closed and deleted after each test. */
export const test: TestAPI<{ db: Db }> = base.extend<{ db: Db }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixture signature
  db: async ({}, use) => {
    const t = createTempDb();
    await use(t.db);
    t.cleanup();
  },
});
