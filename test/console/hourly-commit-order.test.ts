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
import { catchUpHourly, spendSeries } from "../../src/reports/index.js";
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
  test("a console read does not stall billing behind a slow writer: it waits a moment, then reads raw rows", async ({
    onTestFinished,
  }) => {
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
    const cols = (
      db
        .prepare(
          `SELECT column_name AS c FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = 'usage_events' AND column_name <> 'id'`,
        )
        .all() as { c: string }[]
    ).map((r) => r.c);
    const copy = (key: string) =>
      `INSERT INTO usage_events (${cols.join(", ")}) SELECT ${cols
        .map((c) => (c === "dedupe_key" ? `'${key}'` : c))
        .join(", ")} FROM usage_events WHERE dedupe_key = 't0';`;
    const psql = (sql: string) => {
      const child = spawn("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], {
        stdio: ["ignore", "ignore", "inherit"],
      });
      onTestFinished(() => {
        if (child.exitCode === null) child.kill();
      });
      return new Promise<{ code: number | null; at: number }>((resolve) =>
        child.on("exit", (code) => resolve({ code, at: Date.now() })),
      );
    };
    // A slow writer (a big batch of another process) holds its insert open for 5 s.
    const slow = psql(`BEGIN; ${copy("slow")} SELECT pg_sleep(5); COMMIT;`);
    const pending = db.prepare<[], { n: number }>(
      `SELECT COUNT(*)::int AS n FROM pg_locks
        WHERE relation = 'usage_events'::regclass AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid()`,
    );
    for (let i = 0; i < 100 && (pending.get()?.n ?? 0) === 0; i++) await sleep(50);
    expect(pending.get()?.n).toBe(1);
    // Another biller commits a call (a higher id: the console has something to catch up), and
    // writes another a moment later.
    expect((await psql(copy("first"))).code).toBe(0);
    const started = Date.now();
    const quick = psql(`SELECT pg_sleep(0.5); ${copy("quick")}`);
    await sleep(100);
    const q = { sinceMs: now - 3 * HOUR, untilMs: now, bucket: "hour" as const, stack: "agent" as const };
    const t = Date.now();
    const points = spendSeries(db, q);
    expect(Date.now() - t).toBeLessThan(3_000);
    // the quick biller was not held behind the console's read until the slow writer committed
    const q1 = await quick;
    expect(q1.code).toBe(0);
    expect(q1.at - started).toBeLessThan(3_500);
    const committed = db.prepare<[], { n: number }>("SELECT COUNT(*)::int AS n FROM usage_events").get()?.n;
    // read raw: t0 and the first call, committed before the read (not the slow writer's)
    const read = points.reduce((a, p) => a + p.requests, 0);
    expect(read).toBeGreaterThanOrEqual(2);
    expect(read).toBeLessThanOrEqual(committed ?? 0);
    expect((await slow).code).toBe(0);
    // once the slow writer committed, every row reaches the rollup and the chart
    const all = spendSeries(db, q).reduce((a, p) => a + p.requests, 0);
    const rolled = db
      .prepare<[], { n: number }>("SELECT SUM(requests)::int AS n FROM usage_hourly_totals")
      .get()?.n;
    expect(all).toBe(4);
    expect(rolled).toBe(4);
  }, 30_000);
});
