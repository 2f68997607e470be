import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase, SQLITE_CACHE_KIB, WAL_AUTOCHECKPOINT_PAGES } from "../../src/db/open.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("openDatabase: connection settings of every SQLite connection", () => {
  it("WAL, synchronous FULL, secure_delete FAST, an 8 MiB page cache, and a WAL checkpointed every 10,000 pages", () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-pragmas-"));
    dirs.push(dir);
    const path = join(dir, "c.sqlite");
    const db = openDatabase(path);
    try {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.pragma("synchronous", { simple: true })).toBe(2); // FULL
      expect(db.pragma("secure_delete", { simple: true })).toBe(2); // FAST
      expect(WAL_AUTOCHECKPOINT_PAGES).toBe(10_000);
      expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(WAL_AUTOCHECKPOINT_PAGES);
      // an 8 MiB page cache (negative: KiB), part of the meter's peak RSS (README, Issue #10)
      expect(SQLITE_CACHE_KIB).toBe(8192);
      expect(db.pragma("cache_size", { simple: true })).toBe(-SQLITE_CACHE_KIB);
      // ~3,000 pages over 30 commits: with SQLite's default (1,000) the WAL would have been
      // checkpointed and restarted; here it still holds them all.
      db.exec("CREATE TABLE t (x BLOB)");
      const ins = db.prepare("INSERT INTO t (x) VALUES (randomblob(3900))");
      const batch = db.transaction(() => {
        for (let i = 0; i < 100; i++) ins.run();
      });
      for (let c = 0; c < 30; c++) batch();
      const pageSize = db.pragma("page_size", { simple: true }) as number;
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(2_500 * pageSize);
    } finally {
      db.close();
    }
  });
});
