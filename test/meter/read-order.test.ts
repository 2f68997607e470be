import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
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

describe("a backlog is read grouped by account", () => {
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
      const meter = createMeter({
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
        batchSize: 5, // many batches: the biller groups by account only within one
        pollMs: 20,
      });
      await meter.runOnce();
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

describe("a session's copies are billed to its account whatever the read order", () => {
  it("a branch copy the doctor moved to the import archive is the session's, not the operator's", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-read-order-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 1,
      turns: 3,
      users: 1,
      toolBytes: 50,
      seed: 3,
    });
    const live = world.sessions[0]?.file as string;
    const sessionId = basename(live, ".jsonl");
    // pi's branch copy `<ISO with - for : and .>_<sessionId>.jsonl`, one call more than the live
    // file, moved by `openclaw doctor` (no sessions.json entry names it) to the import archive
    const extra = readFileSync(live, "utf8")
      .trimEnd()
      .split("\n")
      .filter((l) => l.includes('"usage"'))
      .at(-1)
      ?.replace(/"timestamp":(\d+)/g, (_m, t: string) => `"timestamp":${Number(t) + 60_000}`);
    const archive = join(stateDir, "agents", "main", "session-sqlite-import-archive");
    mkdirSync(archive);
    writeFileSync(
      join(archive, `archive-tier.2026-11-20T10-11-12-345Z_${sessionId}.jsonl.imported-1795400000000`),
      `${readFileSync(live, "utf8")}${extra}\n`,
    );
    const prices = join(dir, "prices.json");
    writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
    const db = openDatabase(join(dir, "db.sqlite"));
    try {
      const meter = createMeter({
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
        batchSize: 5,
        pollMs: 20,
      });
      await meter.runOnce();
      meter.close();
      const rows = db
        .prepare("SELECT account_id AS a, session_id AS s, COUNT(*) AS n FROM usage_events GROUP BY 1, 2")
        .all();
      expect(rows).toEqual([{ a: world.sessions[0]?.account, s: sessionId, n: world.events + 1 }]);
    } finally {
      db.close();
    }
  });
});
