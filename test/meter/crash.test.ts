import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SYNTH_PRICES, synthState } from "../../scripts/synth-state.mjs";
import { openDatabase } from "../../src/db/index.js";
import { expectExactlyOnce } from "../support/meter-env.js";

const CLI = resolve(import.meta.dirname, "../../dist/cli/main.js");

function runMeter(
  env: Record<string, string>,
  killAfterMs: number | null,
): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, "meter", "--once", "--json"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.resume();
    const t = killAfterMs === null ? null : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("exit", (code, signal) => {
      if (t) clearTimeout(t);
      done({ code, signal, stdout });
    });
  });
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("exactly-once under SIGKILL", () => {
  it("bills a large backlog exactly once although the meter is killed at random moments", async () => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-crash-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 2,
      sessions: 120,
      turns: 12,
      users: 40,
      toolBytes: 3000,
      seed: 7,
    });
    const prices = join(dir, "prices.json");
    writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
    const env = {
      CREDITGATE_DB: join(dir, "db.sqlite"),
      CREDITGATE_STATE_DIRS: stateDir,
      CREDITGATE_PRICES: prices,
      CREDITGATE_COST_MODE: "calculate",
      CREDITGATE_BATCH_SIZE: "37",
      CREDITGATE_LOG_LEVEL: "silent",
    };

    // Kill it over and over, at random moments; meanwhile the bots keep writing (whole
    // lines and half-written ones completed later).
    let kills = 0;
    let completed = false;
    const extra = world.files.slice(0, 5);
    const half =
      '{"type":"message","id":"ffffffff","parentId":null,"timestamp":"2026-01-01T00:00:00.000Z","message":{"role":"assistant","content":[],"api":"openai-completions","provider":"mock","model":"mock-gpt",';
    for (let round = 0; round < 40 && !completed; round++) {
      const r = await runMeter(env, round < 25 ? 60 + Math.floor(Math.random() * 500) : null);
      if (r.signal === "SIGKILL") kills++;
      else {
        expect(r.code).toBe(0);
        completed = round >= 25;
      }
      if (round === 3) for (const f of extra) appendFileSync(f, half);
      if (round === 9) {
        for (const [i, f] of extra.entries()) {
          const ts = 1_800_000_000_000 + i;
          appendFileSync(
            f,
            `"usage":{"input":1000,"output":100,"cacheRead":0,"cacheWrite":0,"totalTokens":1100},"stopReason":"stop","timestamp":${ts}}}\n`,
          );
        }
        // Poison lines (an output count past the documented range): held for review, once each.
        for (const [i, f] of world.files.slice(5, 8).entries())
          appendFileSync(
            f,
            `${JSON.stringify({ type: "message", id: `p${i}`, parentId: null, timestamp: "2026-01-01T00:00:00.000Z", message: { role: "assistant", content: [], api: "openai-completions", provider: "mock", model: "mock-gpt", usage: { input: 10, output: 2_000_000_000, cacheRead: 0, cacheWrite: 0 }, stopReason: "stop", timestamp: 1_800_000_100_000 + i } })}\n`,
          );
      }
    }
    expect(completed).toBe(true);
    expect(kills).toBeGreaterThan(5);

    // The extra lines belong to the sessions' users; each costs 1000×3 + 100×15 µUSD/MTok.
    const extraCost = 1000n * 3_000_000n + 100n * 15_000_000n;
    const expected = new Map([...world.perAccount].map(([k, v]) => [k, { ...v }]));
    const db = openDatabase(env.CREDITGATE_DB);
    try {
      const owner = db
        .prepare("SELECT DISTINCT account_id FROM usage_events WHERE message_ts_ms >= 1800000000000")
        .all() as {
        account_id: string;
      }[];
      expect(owner.length).toBeGreaterThan(0);
      const extraRows = db
        .prepare(
          "SELECT account_id, COUNT(*) n FROM usage_events WHERE message_ts_ms >= 1800000000000 GROUP BY account_id",
        )
        .all() as { account_id: string; n: number }[];
      for (const row of extraRows) {
        const e = expected.get(row.account_id);
        if (!e) throw new Error(`unexpected account ${row.account_id}`);
        e.events += row.n;
        e.costPico += BigInt(row.n) * extraCost;
        e.chargeMicro += BigInt(row.n) * ((extraCost + 999_999n) / 1_000_000n);
      }
      expect(extraRows.reduce((n, r) => n + r.n, 0)).toBe(extra.length);
      // The poison lines are held, each exactly once, and never billed.
      expect(db.prepare("SELECT COUNT(*) AS n FROM usage_review WHERE status = 'held'").get()).toEqual({
        n: 3,
      });
      expect(
        db.prepare("SELECT COUNT(*) AS n FROM usage_events WHERE message_ts_ms >= 1800000100000").get(),
      ).toEqual({ n: 0 });

      expectExactlyOnce(db, expected);
    } finally {
      db.close();
    }
    const lastRun = await runMeter(env, null);
    expect(JSON.parse(lastRun.stdout)).toMatchObject({ billed: 0, held: 0 });
  }, 240_000);
});
