import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
async function bill(root: string, name: string, stateDir: string, prices: string) {
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
      batchSize: 50,
      pollMs: 20,
    }).runOnce();
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
});
