/**
 * Issue #15's multi-host simulation, with real processes on one PostgreSQL:
 *
 * - three edge meters (`creditgate meter --ship-to A,B`), each on its own synthetic state dir and
 *   its own SQLite outbox, SIGKILLed at seeded random moments and restarted, while the bots keep
 *   appending calls to their transcripts;
 * - two centers (`creditgate serve` from dist/) on ONE PostgreSQL schema; the edges list them in
 *   different orders (edges 1 and 3 prefer A, edge 2 prefers B) and fail over to the other;
 * - center A SIGKILLed mid-run (the edges fail over to B) and restarted; then BOTH centers killed
 *   (the edges keep reading into their outboxes) and restarted.
 *
 * The ground truth comes from the generator (scripts/synth-state.mjs prices every call it
 * writes): per account, the calls, their cost and charge, and the balance must equal it exactly
 * (nothing lost, nothing billed twice), every edge's outbox ends empty, nothing is dead-lettered
 * or held. Every random choice comes from one seed, printed at the start (and in every failure):
 * rerun with CREDITGATE_SIM_SEED=<seed>. Process timing stays the OS's, so a seed reproduces the
 * schedule (which edge is killed when, which session grows, the calls' contents), not the exact
 * byte at which a kill lands. Every wait is on a condition, with a timeout.
 */
import { randomInt } from "node:crypto";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SYNTH_PRICES, synthCallLine, synthRng, synthState } from "../../scripts/synth-state.mjs";
import { PgDatabase } from "../../src/db/index.js";
import { createPgSchema } from "../support/temp-db.js";
import {
  baseEnv,
  cli,
  createKey,
  freePort,
  kill,
  type Proc,
  scalar,
  start,
  startCenter,
  waitFor,
} from "./support.js";

const SEED = process.env.CREDITGATE_SIM_SEED
  ? Number(process.env.CREDITGATE_SIM_SEED)
  : randomInt(1, 2 ** 31);
const rand = synthRng(SEED);
/** Uniform integer in [lo, hi]. */
const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const tag = `(seed ${SEED}; rerun with CREDITGATE_SIM_SEED=${SEED})`;

type Totals = Record<string, { calls: number; chargedMicro: number; costPico: string; balanceMicro: number }>;

const procs = new Set<Proc>();
let dir: string | undefined;
let dropSchema: (() => void) | undefined;
afterAll(async () => {
  for (const p of procs) await kill(p);
  dropSchema?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function track(p: Proc): Proc {
  procs.add(p);
  void p.exited.then(() => procs.delete(p));
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per-account usage and balances at the center (one PostgreSQL connection, read-only use). */
function centerTotals(pg: PgDatabase): Totals {
  const out: Totals = {};
  for (const r of pg
    .prepare(
      `SELECT account_id AS id, COUNT(*) AS n, SUM(charge_micro_credits) AS c, SUM(cost_pico_usd) AS p
         FROM usage_events GROUP BY account_id`,
    )
    .all() as { id: string; n: number; c: number; p: number | string }[])
    out[r.id] = { calls: r.n, chargedMicro: r.c, costPico: String(r.p), balanceMicro: 0 };
  for (const r of pg.prepare("SELECT id, balance_micro_credits AS b FROM accounts").all() as {
    id: string;
    b: number;
  }[]) {
    const t = out[r.id] ?? { calls: 0, chargedMicro: 0, costPico: "0", balanceMicro: 0 };
    t.balanceMicro = r.b;
    out[r.id] = t;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

describe("multi-host simulation on PostgreSQL", () => {
  it("three edges SIGKILLed at random, two centers on one PostgreSQL (one killed, then both down), transcripts growing: per-account totals equal the ground truth", async () => {
    console.log(`multi-host simulation: seed ${SEED} (rerun with CREDITGATE_SIM_SEED=${SEED})`);
    const t0 = Date.now();
    dir = mkdtempSync(join(tmpdir(), "creditgate-sim-"));
    const d = dir;
    const schema = createPgSchema();
    dropSchema = schema.drop;
    const prices = join(d, "prices.json");
    writeFileSync(prices, JSON.stringify(SYNTH_PRICES));

    // Ground truth, per account: what the generator wrote (and priced), plus every appended call.
    const truth = new Map<string, { calls: number; costPico: bigint; chargeMicro: bigint }>();
    const hosts = ["a", "b", "c"].map((name, i) => {
      const stateDir = join(d, `state-${name}`);
      const s = synthState({
        stateDir,
        agents: 2,
        sessions: between(12, 20),
        turns: between(3, 6),
        users: 12, // the same accounts on every host: the centers debit them concurrently
        toolBytes: 400,
        seed: (SEED + i * 7919) >>> 0 || 1,
        startMs: 1_700_000_000_000 + i * 1e9,
      });
      for (const [acc, v] of s.perAccount) {
        const t = truth.get(acc) ?? { calls: 0, costPico: 0n, chargeMicro: 0n };
        t.calls += v.events;
        t.costPico += v.costPico;
        t.chargeMicro += v.chargeMicro;
        truth.set(acc, t);
      }
      return { name, stateDir, sessions: s.sessions };
    });
    let appended = 0;
    /** A bot writes one more call to a random session of host `h` (a unique timestamp each). */
    const append = (h: (typeof hosts)[number]) => {
      const s = h.sessions[between(0, h.sessions.length - 1)];
      if (!s) throw new Error("no session");
      const c = synthCallLine(rand, 1_760_000_000_000 + appended * 1000);
      appendFileSync(s.file, c.line);
      appended++;
      const t = truth.get(s.account) ?? { calls: 0, costPico: 0n, chargeMicro: 0n };
      t.calls++;
      t.costPico += c.costPico;
      t.chargeMicro += c.chargeMicro;
      truth.set(s.account, t);
    };
    const expected = (): Totals =>
      Object.fromEntries(
        [...truth]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([acc, t]) => [
            acc,
            {
              calls: t.calls,
              chargedMicro: Number(t.chargeMicro),
              costPico: String(t.costPico),
              balanceMicro: -Number(t.chargeMicro), // no grants: every call is a debit
            },
          ]),
      );
    const expectedCalls = () => [...truth.values()].reduce((n, t) => n + t.calls, 0);

    // The centers: two `creditgate serve` on ONE PostgreSQL schema, their own Redis prefix.
    const common = { CREDITGATE_COST_MODE: "calculate", CREDITGATE_LOG_LEVEL: "warn" };
    // The centers' connections carry an application_name, so the test can see them go away.
    const appName = `cgsim${SEED}`;
    const centerEnv = baseEnv({
      ...common,
      CREDITGATE_DB: `${schema.url}&application_name=${appName}`,
      CREDITGATE_PRICES: prices,
      CREDITGATE_RATE_LIMIT_MAX: "1000000",
      CREDITGATE_QUEUE_PREFIX: `sim${SEED}`,
    });
    const key = createKey(centerEnv, "push"); // also migrates the schema
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const centers: (Proc | null)[] = [null, null];
    const startCenters = async (which: number[]) => {
      const started = await Promise.all(which.map((i) => startCenter(centerEnv, ports[i] as number)));
      for (const [k, i] of which.entries()) centers[i] = track(started[k] as Proc);
    };
    const killCenter = async (i: number) => {
      const c = centers[i];
      centers[i] = null;
      if (c) await kill(c);
    };
    await startCenters([0, 1]);

    const pg = new PgDatabase(schema.url);
    try {
      const billed = () => Number(pg.prepare("SELECT COUNT(*) FROM usage_events").pluck().get());

      // The edges: own state dir and outbox each; A,B or B,A (failover to the other one).
      const edgeEnvs = hosts.map((h, i) =>
        baseEnv({
          ...common,
          // info: the edge logs "edge meter following" once its signal handler is installed
          // (the final SIGTERM waits for it: a process still starting dies of the signal).
          CREDITGATE_LOG_LEVEL: "info",
          CREDITGATE_DB: join(d, `edge-${h.name}.sqlite`),
          CREDITGATE_STATE_DIRS: h.stateDir,
          CREDITGATE_EDGE_ID: `host-${h.name}`,
          CREDITGATE_SHIP_TO: i % 2 === 0 ? `${urls[0]},${urls[1]}` : `${urls[1]},${urls[0]}`,
          CREDITGATE_SHIP_KEY: key,
          CREDITGATE_BATCH_SIZE: "23",
          CREDITGATE_SHIP_BATCH: "17",
          CREDITGATE_SHIP_BACKOFF_MS: "50",
          CREDITGATE_SHIP_BACKOFF_MAX_MS: "300",
          CREDITGATE_POLL_MS: "50",
          CREDITGATE_READER_THREAD: "false",
        }),
      );
      const outboxRows = (i: number) =>
        scalar(edgeEnvs[i]?.CREDITGATE_DB as string, "SELECT COUNT(*) FROM edge_outbox");
      /** Each edge process, when it started and how long it lives at least (seeded, 0.3–1.5 s). */
      const edges: { p: Proc; startedMs: number; minLifeMs: number }[] = [];
      const startEdge = (i: number) => {
        edges[i] = {
          p: track(start(edgeEnvs[i] as Record<string, string>, ["meter"])),
          startedMs: Date.now(),
          minLifeMs: between(300, 1500),
        };
      };
      for (const i of [0, 1, 2]) startEdge(i);
      let edgeKills = 0;

      /**
       * Chaos until `done()` (checked after at least `minSteps` steps): each step waits a random
       * while, a bot appends a call on a random host, and half the time a random edge is SIGKILLed
       * and restarted after a random pause — unless it has not lived its minimum yet (so a slow,
       * loaded machine still lets the edges work between kills; the random draws are the same).
       */
      const chaos = async (what: string, minSteps: number, done: () => boolean, timeoutMs = 40_000) => {
        const until = Date.now() + timeoutMs;
        for (let step = 0; step < minSteps || !done(); step++) {
          if (Date.now() > until) throw new Error(`timed out in phase "${what}" ${tag}`);
          await sleep(between(60, 260));
          append(hosts[between(0, 2)] as (typeof hosts)[number]);
          const killNow = rand() < 0.5;
          const i = between(0, 2);
          const pause = between(0, 150);
          const e = edges[i];
          if (killNow && e && Date.now() - e.startedMs >= e.minLifeMs) {
            await kill(e.p);
            edgeKills++;
            await sleep(pause);
            startEdge(i);
          }
        }
      };

      // 1. Both centers up: the edges ship while being killed.
      await chaos("both centers up", 8, () => billed() > 0);
      const phases: string[] = [`both up: ${billed()}`];
      /** Calls billed from one edge (its id is on the center's rows). */
      const from = (h: string) =>
        Number(
          pg
            .prepare("SELECT COUNT(*) FROM usage_events WHERE source_ref LIKE ?")
            .pluck()
            .get(`edge:host-${h}:%`),
        );
      const beforeA = [from("a"), from("c")];
      // 2. Center A SIGKILLed mid-run: the edges that prefer it (a and c) fail over to B.
      await killCenter(0);
      await chaos(
        "center A down",
        8,
        () => from("a") > (beforeA[0] as number) && from("c") > (beforeA[1] as number),
      );
      phases.push(`A down: ${billed()}`);
      // 3. A back (same port).
      await startCenters([0]);
      await chaos("center A back", 4, () => true);
      phases.push(`A back: ${billed()}`);
      // 4. Both centers down: the edges keep reading into their outboxes (each host writes).
      await Promise.all([killCenter(0), killCenter(1)]);
      // A COMMIT already sent by a killed center may still complete: wait for PostgreSQL to end
      // the dead centers' sessions before taking the count that must not move.
      const centerSessions = pg
        .prepare("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = ?")
        .pluck();
      const until4 = Date.now() + 20_000;
      while (Number(centerSessions.get(appName)) > 0) {
        if (Date.now() > until4) throw new Error(`the killed centers' sessions stayed open ${tag}`);
        await sleep(50);
      }
      const whileDown = billed();
      for (const h of hosts) append(h);
      await chaos("both centers down", 6, () => [0, 1, 2].every((i) => outboxRows(i) > 0));
      expect(billed(), `nothing can be billed while both centers are down ${tag}`).toBe(whileDown);
      phases.push(`both down: ${billed()}, outboxes ${[0, 1, 2].map(outboxRows).join("/")}`);
      // 5. Both back; the bots write a little more, the kills go on.
      await startCenters([0, 1]);
      // (until the run has seen more than 8 edge kills: a quiet, fast machine finishes the
      // earlier phases in fewer steps, hence fewer kills)
      await chaos("centers back", 6, () => edgeKills > 8);
      phases.push(`both back: ${billed()}`);

      // 6. Quiet: everything must arrive, exactly once, and every outbox drain.
      const want = expectedCalls();
      const until = Date.now() + 60_000;
      while (billed() < want || [0, 1, 2].some((i) => outboxRows(i) > 0)) {
        if (Date.now() > until)
          throw new Error(
            `not drained: ${billed()} of ${want} calls billed, outboxes ${[0, 1, 2].map(outboxRows)} ${tag}`,
          );
        await sleep(100);
      }
      expect(centerTotals(pg), `per-account totals vs the ground truth ${tag}`).toEqual(expected());
      expect(billed(), tag).toBe(want);
      expect(Number(pg.prepare("SELECT COUNT(*) FROM usage_review").pluck().get()), tag).toBe(0);
      // The ledger agrees with the balances (sum of entries per account).
      const drift = pg
        .prepare(
          `SELECT a.id FROM accounts a LEFT JOIN (SELECT account_id, SUM(amount_micro_credits) AS s
             FROM ledger_entries GROUP BY account_id) l ON l.account_id = a.id
            WHERE a.balance_micro_credits <> COALESCE(l.s, 0)`,
        )
        .all();
      expect(drift, tag).toEqual([]);
      for (const [i, e] of edges.entries()) {
        await waitFor(`edge ${i} to be running ${tag}`, () => e.p.stderr().includes("edge meter following"));
        expect((await kill(e.p, "SIGTERM")).code, `edge ${i} exit ${tag}`).toBe(0);
        expect(outboxRows(i), tag).toBe(0);
        expect(
          scalar(edgeEnvs[i]?.CREDITGATE_DB as string, "SELECT COUNT(*) FROM edge_dead_letters"),
          tag,
        ).toBe(0);
      }
      expect(edgeKills, tag).toBeGreaterThan(8);
      console.log(
        `multi-host simulation: seed ${SEED}: ${want} calls (${appended} appended during the run) for ${truth.size} accounts, ${edgeKills} edge kills, ${Math.round((Date.now() - t0) / 1000)} s; billed after each phase: ${phases.join("; ")}`,
      );
      // The centers' own view agrees: GET /v1/users/:id/ledger is not needed; a CLI read of one balance.
      const [acc, t] = [...truth][0] as [string, { chargeMicro: bigint }];
      const bal = cli(centerEnv, ["balance", acc, "--json"]);
      expect(bal.code, bal.stderr).toBe(0);
      expect(bal.stdout, tag).toContain(String(-Number(t.chargeMicro)));
    } finally {
      pg.close();
      for (const i of [0, 1]) await killCenter(i);
    }
  }, 200_000);
});
