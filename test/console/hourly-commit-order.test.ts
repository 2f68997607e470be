/**
 * The console's hourly rollup (usage_hourly_totals, migration 21) is fed from usage_events by id
 * on read. On PostgreSQL an identity value is taken at INSERT, not at COMMIT: with two center
 * processes writing at once (several `serve` over one database, docs/topology.md), a row with a
 * lower id can commit after a row with a higher one. A catch-up that ran between the two commits
 * moved its cursor past the late row, which then never reached the hourly chart (its hours
 * showed fewer requests and less spend than `GET /v1/usage` for ever).
 */
import { spawn } from "node:child_process";
import { describe, expect, test } from "vitest";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { catchUpHourly } from "../../src/reports/index.js";
import { createEngineDb } from "../support/temp-db.js";
import { grantEntry, usageRow } from "../support/usage-data.js";

const HOUR = 3_600_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("postgres", () => {
  test("a row committed after a higher id reaches the hourly rollup", async ({ onTestFinished }) => {
    const { db, path: url, cleanup } = createEngineDb("postgres");
    onTestFinished(cleanup);
    const now = Date.now();
    const entry = grantEntry(db, "telegram:1", now);
    const writer = createUsageWriter(db);
    const ts = now - HOUR;
    writer.insert(
      usageRow({ dedupe_key: "t0", ledger_entry_id: entry, account_id: "telegram:1", message_ts_ms: ts }),
    );
    catchUpHourly(db);

    // Another process inserts a row (taking the next id) and commits 3 s later.
    const cols = (
      db
        .prepare(
          `SELECT column_name AS c FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'usage_events' AND column_name <> 'id'`,
        )
        .all() as { c: string }[]
    ).map((r) => r.c);
    const select = cols.map((c) => (c === "dedupe_key" ? "'late'" : c)).join(", ");
    const child = spawn(
      "psql",
      [
        url,
        "-v",
        "ON_ERROR_STOP=1",
        "-q",
        "-c",
        `BEGIN; INSERT INTO usage_events (${cols.join(", ")}) SELECT ${select} FROM usage_events WHERE dedupe_key = 't0'; SELECT pg_sleep(3); COMMIT;`,
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    onTestFinished(() => {
      if (child.exitCode === null) child.kill();
    });
    const pending = db.prepare<[], { n: number }>(
      `SELECT COUNT(*)::int AS n FROM pg_locks
        WHERE relation = 'usage_events'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()`,
    );
    for (let i = 0; i < 100 && (pending.get()?.n ?? 0) === 0; i++) await sleep(50);
    expect(pending.get()?.n).toBe(1);

    // This process writes a row with a higher id, commits it, and a console read catches up.
    writer.insert(
      usageRow({ dedupe_key: "t2", ledger_entry_id: entry, account_id: "telegram:1", message_ts_ms: ts }),
    );
    catchUpHourly(db);
    expect(await exited).toBe(0);
    catchUpHourly(db);

    const raw = db.prepare<[], { n: number }>("SELECT COUNT(*)::int AS n FROM usage_events").get()?.n;
    const rolled = db
      .prepare<[], { n: number }>("SELECT SUM(requests)::int AS n FROM usage_hourly_totals")
      .get()?.n;
    expect(raw).toBe(3);
    expect(rolled).toBe(3);
  }, 20_000);
});
