// The relay and the sweep say which of their two dependencies failed: a database that is busy
// (another process writing) or failing was logged as "Redis unavailable" (bench:enforce showed
// "relay: Redis unavailable, will retry: database is locked").
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { PgError } from "../../src/db/pg.js";
import { unavailable } from "../../src/worker/relay.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("relay and sweep failure wording", () => {
  it("a locked SQLite database is the database, not Redis", () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-relay-log-"));
    dirs.push(dir);
    const a = new Database(join(dir, "db.sqlite"));
    a.exec("CREATE TABLE t (x INTEGER)");
    a.exec("BEGIN EXCLUSIVE");
    const b = new Database(join(dir, "db.sqlite"), { timeout: 0 });
    let err: unknown;
    try {
      b.exec("INSERT INTO t VALUES (1)");
    } catch (e) {
      err = e;
    }
    a.exec("ROLLBACK");
    a.close();
    b.close();
    expect(err).toBeDefined();
    expect(unavailable(err)).toBe("the database is busy or failing (SQLITE_BUSY)");
  });

  it("PostgreSQL errors are the database too; anything else is Redis", () => {
    expect(unavailable(new PgError("could not serialize access", "40001"))).toMatch(/database.*SQLITE_BUSY/);
    expect(unavailable(new PgError("terminating connection", "57P01"))).toMatch(/database.*PG_57P01/);
    expect(unavailable(new Error("Connection is closed."))).toBe("Redis unavailable");
    expect(unavailable(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(
      "Redis unavailable",
    );
    expect(unavailable("weird")).toBe("Redis unavailable");
  });
});
