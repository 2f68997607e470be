import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SYNTH_PRICES, synthState } from "../../scripts/synth-state.mjs";
import { openDatabase } from "../../src/db/index.js";
import { createMeter } from "../../src/meter/meter.js";
import { createPricer, loadPriceOverrides } from "../../src/meter/pricing.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A meter over `stateDir` with the synth prices, batches of `batchSize` calls. */
function synthMeter(
  db: ReturnType<typeof openDatabase>,
  stateDir: string,
  prices: string,
  batchSize: number,
) {
  return createMeter({
    db,
    stateDirs: [{ path: stateDir, via: "test" }],
    agents: null,
    pricer: createPricer({
      mode: "calculate",
      overrides: loadPriceOverrides(prices),
      fallback: { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" },
    }),
    markup: { num: 1n, den: 1n },
    creditsPerUsd: { num: 1n, den: 1n },
    batchSize,
    pollMs: 20,
  });
}

describe("a backlog is read grouped by account", () => {
  it("reads unattributed files last: a call also in an attributed copy is billed to its user", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-read-order-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 1,
      turns: 3,
      users: 1,
      toolBytes: 50,
      seed: 5,
    });
    const prices = join(dir, "prices.json");
    writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
    // a copy of the session under an id no sessions.json entry names (an archived name: no grace
    // period), whose name sorts before the attributed original
    const sessions = join(stateDir, "agents", "main", "sessions");
    const original = readdirSync(sessions).find((n) => n.endsWith(".jsonl")) as string;
    const copy = "00000000-0000-4000-8000-000000000000.jsonl.deleted.2026-11-01T00-00-00.000Z";
    expect(copy < original).toBe(true);
    copyFileSync(join(sessions, original), join(sessions, copy));
    const db = openDatabase(join(dir, "db.sqlite"));
    try {
      await synthMeter(db, stateDir, prices, 2000).runOnce();
      const rows = db.prepare("SELECT account_id AS a FROM usage_events").all() as { a: string }[];
      expect(rows.length).toBe(world.events);
      expect(new Set(rows.map((r) => r.a))).toEqual(new Set(["telegram:100000"]));
    } finally {
      db.close();
    }
  });

  it("reads each account's session files one after another, in name order within the account", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-read-order-"));
    const stateDir = join(dir, "state");
    // 24 sessions of 4 users: session file names (random UUIDs) interleave the users
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 24,
      turns: 3,
      users: 4,
      toolBytes: 100,
      seed: 7,
    });
    const prices = join(dir, "prices.json");
    writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
    const db = openDatabase(join(dir, "db.sqlite"));
    try {
      // many batches: the biller groups by account only within one
      await synthMeter(db, stateDir, prices, 5).runOnce();
      const rows = db
        .prepare("SELECT account_id AS a, session_id AS s, source_ref AS r FROM usage_events ORDER BY id")
        .all() as { a: string; s: string; r: string }[];
      expect(rows.length).toBe(world.events);
      // the accounts come in runs: one run per account
      const runs = rows.filter((row, i) => i === 0 || rows[i - 1]?.a !== row.a).map((row) => row.a);
      const accounts = [...new Set(rows.map((row) => row.a))];
      expect(accounts.length).toBeGreaterThan(1);
      expect(runs).toEqual([...accounts].sort());
      // within an account, files in name order (each file's calls together, in file order)
      for (const a of accounts) {
        const files = rows.filter((row) => row.a === a).map((row) => row.r.slice(0, row.r.lastIndexOf("@")));
        const fileRuns = files.filter((f, i) => i === 0 || files[i - 1] !== f);
        expect(fileRuns).toEqual([...new Set(files)].sort());
      }
      // and the name order alone would have interleaved the accounts (the test means something)
      const names = [...new Set(rows.map((row) => row.r.slice(0, row.r.lastIndexOf("@"))))].sort();
      const accountOfFile = new Map(rows.map((row) => [row.r.slice(0, row.r.lastIndexOf("@")), row.a]));
      const nameRuns = names.filter(
        (f, i) => i === 0 || accountOfFile.get(names[i - 1] as string) !== accountOfFile.get(f),
      );
      expect(nameRuns.length).toBeGreaterThan(accounts.length);
    } finally {
      db.close();
    }
  });
});
