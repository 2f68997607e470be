import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { MIGRATIONS, type Migration, migrate } from "../../src/db/index.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("migrate", () => {
  it("a migration another connection applied after this one read user_version is skipped, not run twice", () => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-migrate-"));
    const path = join(dir, "db.sqlite");
    const a = new Database(path);
    const b = new Database(path);
    a.pragma("journal_mode = WAL");
    try {
      // `b` reads user_version (0) first; then, as `b` walks its list, `a` migrates the whole
      // database: the interleaving of two meters started together on a new file.
      const racing = {
        *[Symbol.iterator]() {
          migrate(a, MIGRATIONS);
          yield* MIGRATIONS;
        },
      } as unknown as readonly Migration[];
      const last = Math.max(...MIGRATIONS.map((m) => m.version));
      expect(migrate(b, racing)).toBe(last);
      expect(a.pragma("user_version", { simple: true })).toBe(last);
    } finally {
      a.close();
      b.close();
    }
  });
});
