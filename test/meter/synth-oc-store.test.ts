import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { ocStoreFromState } from "../../scripts/synth-oc-store.mjs";
import { SYNTH_PRICES, synthState } from "../../scripts/synth-state.mjs";
import { openDatabase } from "../../src/db/index.js";
import { createMeter } from "../../src/meter/meter.js";
import { createPricer, loadPriceOverrides } from "../../src/meter/pricing.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Meters `stateDir` into a fresh database; per account: calls, cost (pico-USD), charge. */
async function bill(root: string, name: string, stateDir: string, prices: string, batchSize = 50) {
  const db = openDatabase(join(root, `${name}.sqlite`));
  try {
    await createMeter({
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
    }).runOnce();
    if (name.startsWith("order"))
      return db.prepare("SELECT agent_id AS g, account_id AS a FROM usage_events ORDER BY id").all();
    return db
      .prepare(
        `SELECT account_id AS account, agent_id AS agent, COUNT(*) AS calls, SUM(cost_pico_usd) AS cost,
           SUM(charge_micro_credits) AS charge FROM usage_events GROUP BY 1, 2 ORDER BY 1, 2`,
      )
      .all();
  } finally {
    db.close();
  }
}

describe("bench:meter's OpenClaw SQLite stores (BENCH_SOURCE=sqlite)", () => {
  it("hold the same transcripts as the session files: the same calls billed to the same accounts", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-synth-oc-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 2,
      sessions: 12,
      turns: 4,
      users: 5,
      toolBytes: 300,
      seed: 9,
    });
    const built = ocStoreFromState(stateDir, join(dir, "oc"));
    expect(built.sessions).toBe(24);
    const prices = join(dir, "prices.json");
    writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
    const fromFiles = await bill(dir, "files", stateDir, prices);
    const fromStores = await bill(dir, "stores", join(dir, "oc"), prices);
    expect(fromStores).toEqual(fromFiles);
    const calls = (fromStores as { calls: number; account: string }[]).reduce((n, r) => n + r.calls, 0);
    expect(calls).toBe(world.events);
    expect((fromStores as { account: string }[]).every((r) => r.account.startsWith("telegram:"))).toBe(true);
  });

  it("reads a store's sessions grouped by account (several sessions per user, small batches)", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-synth-oc-"));
    const stateDir = join(dir, "state");
    // 30 sessions of 4 users: the store's session order (random ids) interleaves the users
    synthState({ stateDir, agents: 1, sessions: 30, turns: 2, users: 4, toolBytes: 50, seed: 4 });
    ocStoreFromState(stateDir, join(dir, "oc"));
    const prices = join(dir, "prices.json");
    writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
    // batches of 3 rows: the biller's own grouping (within a batch) plays no part
    const rows = (await bill(dir, "order", join(dir, "oc"), prices, 3)) as { g: string; a: string }[];
    const runs = rows.filter((r, i) => i === 0 || rows[i - 1]?.a !== r.a).map((r) => r.a);
    const accounts = [...new Set(rows.map((r) => r.a))];
    expect(accounts.length).toBe(4);
    expect(runs).toEqual([...accounts].sort());
  });

  it("reads sessions without a key (billed to the operator) last: a call also in a keyed session goes to its user", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-synth-oc-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 1,
      turns: 3,
      users: 1,
      toolBytes: 50,
      seed: 6,
    });
    ocStoreFromState(stateDir, join(dir, "oc"));
    // the same rows again under a session id no window names, which sorts before the original
    const store = new Database(join(dir, "oc", "agents", "main", "agent", "openclaw-agent.sqlite"));
    store.pragma("foreign_keys = OFF");
    store.exec(`INSERT INTO transcript_events (session_id, seq, event_json, created_at)
      SELECT '00000000-0000-4000-8000-000000000000', seq, event_json, created_at FROM transcript_events`);
    store.close();
    const prices = join(dir, "prices.json");
    writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
    const rows = (await bill(dir, "order", join(dir, "oc"), prices, 2000)) as { g: string; a: string }[];
    expect(rows.length).toBe(world.events);
    expect(new Set(rows.map((r) => r.a))).toEqual(new Set(["telegram:100000"]));
  });
});
