/**
 * Edge meters end to end, with real processes: a center (`creditgate serve`, its own SQLite file)
 * and edge meters (`creditgate meter --ship-to`, each its own state dir and SQLite file), killed
 * with SIGKILL at random moments. The ground truth is `creditgate meter --once` of the same state
 * dirs into one local database: per-account balances, calls and charges must equal it exactly.
 */
import {
  appendFileSync,
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { synthState } from "../../scripts/synth-state.mjs";
import { FIXTURE_PRICES, OC_FIXTURE } from "../support/meter-env.js";
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
  totalsObj,
  waitFor,
} from "./support.js";

let dir: string | undefined;
const procs: Proc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await kill(p);
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function track(p: Proc): Proc {
  procs.push(p);
  return p;
}

/** A world: prices file, center env (its own DB), and a helper for edge envs. */
async function world() {
  dir = mkdtempSync(join(tmpdir(), "creditgate-edge-"));
  const d = dir;
  const prices = join(d, "prices.json");
  writeFileSync(prices, JSON.stringify(FIXTURE_PRICES));
  const port = await freePort();
  const common = { CREDITGATE_COST_MODE: "calculate", CREDITGATE_LOG_LEVEL: "warn" };
  const centerEnv = baseEnv({
    ...common,
    CREDITGATE_DB: join(d, "center.sqlite"),
    CREDITGATE_PRICES: prices,
    CREDITGATE_RATE_LIMIT_MAX: "1000000",
  });
  const url = `http://127.0.0.1:${port}`;
  const key = createKey(centerEnv, "push");
  /** An edge: NO price table of its own (it ships tokens; the center prices). */
  const edgeEnv = (name: string, stateDir: string, extra: Record<string, string> = {}) =>
    baseEnv({
      ...common,
      CREDITGATE_DB: join(d, `edge-${name}.sqlite`),
      CREDITGATE_STATE_DIRS: stateDir,
      CREDITGATE_EDGE_ID: `host-${name}`,
      CREDITGATE_SHIP_TO: url,
      CREDITGATE_SHIP_KEY: key,
      CREDITGATE_BATCH_SIZE: "37",
      CREDITGATE_SHIP_BATCH: "25",
      CREDITGATE_SHIP_BACKOFF_MS: "50",
      CREDITGATE_SHIP_BACKOFF_MAX_MS: "400",
      CREDITGATE_POLL_MS: "50",
      CREDITGATE_READER_THREAD: "false",
      ...extra,
    });
  /** Ground truth: every state dir metered locally into ONE database with the center's prices. */
  const groundTruth = (stateDirs: string[]) => {
    const env = baseEnv({
      ...common,
      CREDITGATE_DB: join(d, "local.sqlite"),
      CREDITGATE_STATE_DIRS: stateDirs.join(","),
      CREDITGATE_PRICES: prices,
    });
    const r = cli(env, ["meter", "--once", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    return totalsObj(env.CREDITGATE_DB as string);
  };
  return { d, port, url, key, centerEnv, edgeEnv, groundTruth, centerDb: centerEnv.CREDITGATE_DB as string };
}

function synth(stateDir: string, seed: number, sessions: number, turns: number) {
  return synthState({
    stateDir,
    agents: 2,
    sessions,
    turns,
    users: 25,
    toolBytes: 800,
    seed,
    startMs: 1_790_000_000_000 + seed * 1e9,
  });
}

function chmodTree(p: string): void {
  const st = statSync(p);
  chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const n of readdirSync(p)) chmodTree(join(p, n));
}

/** One complete assistant line with usage (a new model call) for `sessions/<id>.jsonl`. */
function callLine(ts: number, input: number): string {
  return `${JSON.stringify({
    type: "message",
    id: `x${ts.toString(16)}`,
    parentId: null,
    timestamp: new Date(ts).toISOString(),
    message: {
      role: "assistant",
      content: [],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: { input, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: input + 100 },
      stopReason: "stop",
      timestamp: ts,
    },
  })}\n`;
}

const sum = (t: Record<string, { calls: number }>) => Object.values(t).reduce((n, v) => n + v.calls, 0);

describe("edge meters shipping to a center", () => {
  it("bills exactly once end to end, priced at the center; a re-read ships only duplicates; refused events are dead letters", async () => {
    const w = await world();
    const stateDir = join(w.d, "a");
    const s = synth(stateDir, 1, 25, 6);
    const center = track(await startCenter(w.centerEnv, w.port));
    const edge = w.edgeEnv("a", stateDir);

    const r1 = cli(edge, ["meter", "--once", "--json"]);
    expect(r1.code, r1.stderr).toBe(0);
    const o1 = JSON.parse(r1.stdout) as {
      ship: { billed: number };
      outbox: { rows: number };
      edgeId: string;
    };
    expect(o1.ship.billed).toBe(s.events);
    expect(o1.outbox.rows).toBe(0);
    expect(o1.edgeId).toBe("host-a");
    const truth = w.groundTruth([stateDir]);
    expect(sum(truth)).toBe(s.events);
    expect(totalsObj(w.centerDb)).toEqual(truth);
    // The center priced the calls with ITS table (the edge has none): the synthetic expectation.
    for (const [acc, v] of s.perAccount) expect(truth[acc]?.charged).toBe(Number(v.chargeMicro));
    // The edge's id is on the center's rows.
    expect(
      scalar(w.centerDb, "SELECT COUNT(*) FROM usage_events WHERE source_ref LIKE 'edge:host-a:%'"),
    ).toBe(s.events);

    // Nothing new: nothing shipped. Cursors forgotten (a rewrite re-read): only duplicates.
    const r2 = JSON.parse(cli(edge, ["meter", "--once", "--json"]).stdout) as { ship: { requests: number } };
    expect(r2.ship.requests).toBe(0);
    const Database = (await import("better-sqlite3")).default;
    const edb = new Database(edge.CREDITGATE_DB as string);
    edb.exec("DELETE FROM meter_file_cursors");
    edb.close();
    const r3 = JSON.parse(cli(edge, ["meter", "--once", "--json"]).stdout) as {
      ship: { billed: number; duplicates: number };
    };
    expect(r3.ship).toMatchObject({ billed: 0, duplicates: s.events });
    expect(totalsObj(w.centerDb)).toEqual(truth);

    // A call the center refuses (model name past its 200-character limit): dead-lettered with the
    // reason, visible in `creditgate outbox`, the rest unaffected.
    const bad = JSON.parse(callLine(1_795_000_000_000, 10)) as { message: { model: string } };
    bad.message.model = "m".repeat(250);
    appendFileSync(s.files[0] as string, `${JSON.stringify(bad)}\n${callLine(1_795_000_000_001, 1000)}`);
    const r4 = cli(edge, ["meter", "--once", "--json"]);
    expect(r4.code, r4.stderr).toBe(0);
    expect(r4.stderr).toContain("refused by the center");
    const st = JSON.parse(cli(edge, ["outbox", "--dead", "--json"]).stdout) as {
      rows: number;
      deadLetters: number;
      dead: { status: string; reason: string }[];
    };
    expect(st.rows).toBe(0);
    expect(st.deadLetters).toBe(1);
    expect(st.dead[0]?.status).toBe("rejected");
    expect(st.dead[0]?.reason).toContain("model");
    expect(sum(totalsObj(w.centerDb))).toBe(s.events + 1);

    // The push key can push and nothing else; a read key cannot push.
    const readKey = createKey(w.centerEnv, "read");
    const get = await fetch(`${w.url}/v1/usage`, {
      headers: { authorization: `Bearer ${w.key}` },
    });
    expect(get.status).toBe(403);
    const push = await fetch(`${w.url}/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${readKey}`, "content-type": "application/json" },
      body: JSON.stringify({ events: [{}] }),
    });
    expect(push.status).toBe(403);
    await kill(center, "SIGTERM");
  }, 120_000);

  it("calls without a time of their own: two users' replies of the same counts are two calls at the center, as locally; copies add nothing", async () => {
    const w = await world();
    const stateDir = join(w.d, "a");
    const sessions = join(stateDir, "agents", "main", "sessions");
    mkdirSync(sessions, { recursive: true });
    writeFileSync(
      join(sessions, "sessions.json"),
      JSON.stringify({
        "agent:main:telegram:direct:alice": { sessionId: "s1", lastChannel: "telegram" },
        "agent:main:telegram:direct:bob": { sessionId: "s2", lastChannel: "telegram" },
      }),
    );
    const T = 1_795_371_100_000;
    const user = (ts: number) =>
      JSON.stringify({
        type: "message",
        id: `u${ts}`,
        parentId: null,
        timestamp: new Date(ts).toISOString(),
        message: { role: "user", content: [{ type: "text", text: "hi" }], timestamp: ts },
      });
    // no message.timestamp, entry timestamp null; the same counts, two entry ids
    const untimed = (id: string) => {
      const e = JSON.parse(callLine(T, 1000)) as {
        id: string;
        timestamp: unknown;
        message: Record<string, unknown>;
      };
      e.id = id;
      e.timestamp = null;
      delete e.message.timestamp;
      return JSON.stringify(e);
    };
    writeFileSync(join(sessions, "s1.jsonl"), `${user(T)}\n${untimed("3f1a9c02")}\n`);
    writeFileSync(join(sessions, "s2.jsonl"), `${user(T + 1000)}\n${untimed("b7e40d51")}\n`);
    // a compaction checkpoint of alice's transcript: the same call again
    writeFileSync(
      join(sessions, "s1.checkpoint.0b6f7c3e-2d4a-4e8b-9c1d-5a6b7c8d9e0f.jsonl"),
      `${user(T)}\n${untimed("3f1a9c02")}\n`,
    );
    const center = track(await startCenter(w.centerEnv, w.port));
    const r = cli(w.edgeEnv("a", stateDir), ["meter", "--once", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { ship: { billed: number } }).ship.billed).toBe(2);
    const truth = w.groundTruth([stateDir]);
    expect(Object.keys(truth)).toEqual(["telegram:alice", "telegram:bob"]);
    expect(sum(truth)).toBe(2);
    expect(totalsObj(w.centerDb)).toEqual(truth);
    await kill(center, "SIGTERM");
  }, 120_000);

  it("an edge SIGKILLed mid-ship, again and again, and restarted ships the same totals", async () => {
    const w = await world();
    const stateDir = join(w.d, "a");
    const s = synth(stateDir, 2, 60, 8);
    track(await startCenter(w.centerEnv, w.port));
    const env = w.edgeEnv("a", stateDir, { CREDITGATE_SHIP_BATCH: "10" });
    let kills = 0;
    for (let round = 0; round < 12; round++) {
      const e = track(start(env, ["meter"]));
      await new Promise((r) => setTimeout(r, 150 + Math.floor(Math.random() * 700)));
      if ((await kill(e)).signal === "SIGKILL") kills++;
    }
    expect(kills).toBeGreaterThan(5);
    // Some of it got through before the last kill, not all (the kills were mid-work).
    const r = cli(env, ["meter", "--once", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const truth = w.groundTruth([stateDir]);
    expect(sum(truth)).toBe(s.events);
    expect(totalsObj(w.centerDb)).toEqual(truth);
    expect(scalar(env.CREDITGATE_DB as string, "SELECT COUNT(*) FROM edge_outbox")).toBe(0);
  }, 120_000);

  it("while the center is down the outbox fills, reading pauses when full (never drops), and it drains when the center returns", async () => {
    const w = await world();
    const stateDir = join(w.d, "a");
    const s = synth(stateDir, 3, 30, 6);
    const env = w.edgeEnv("a", stateDir, { CREDITGATE_OUTBOX_MAX: "100", CREDITGATE_LOG_LEVEL: "info" });
    const e = track(start(env, ["meter"]));
    await waitFor("the outbox to be full", () => e.stderr().includes("edge outbox FULL"), 30_000);
    const rows = () => scalar(env.CREDITGATE_DB as string, "SELECT COUNT(*) FROM edge_outbox");
    expect(rows()).toBeGreaterThan(0);
    expect(rows()).toBeLessThanOrEqual(100);
    await new Promise((r) => setTimeout(r, 1500));
    expect(rows()).toBeLessThanOrEqual(100); // paused: not reading past the bound
    expect(e.stderr()).toContain("cannot ship to the center");
    expect(s.events).toBeGreaterThan(100);

    track(await startCenter(w.centerEnv, w.port));
    const truth = w.groundTruth([stateDir]);
    await waitFor("the center to bill everything", () => sum(totalsObj(w.centerDb)) === s.events, 60_000);
    expect(totalsObj(w.centerDb)).toEqual(truth);
    await waitFor("the outbox to drain", () => rows() === 0);
    // The catch-up fills the outbox again after every read batch: one stall, logged once each way.
    const times = (text: string) => e.stderr().split(text).length - 1;
    expect(times("edge outbox FULL")).toBe(1);
    expect(times("reading resumed")).toBe(1);
    expect((await kill(e, "SIGTERM")).code).toBe(0);
  }, 120_000);

  it("multi-host simulation: three edges SIGKILLed at random and restarted, the center killed and restarted, bots writing meanwhile: per-user totals equal the ground truth", async () => {
    const w = await world();
    const dirs = ["a", "b", "c"].map((n) => join(w.d, n));
    const worldA = synth(dirs[0] as string, 11, 40, 6);
    const worldB = synth(dirs[1] as string, 12, 40, 6);
    // Host c: the real OpenClaw 2026.9 fixture (SQLite store, a deleted session's .zst archive).
    cpSync(join(OC_FIXTURE, "agents"), join(dirs[2] as string, "agents"), { recursive: true });
    chmodTree(dirs[2] as string);
    const names = ["a", "b", "c"];
    const envs = names.map((n, i) => w.edgeEnv(n, dirs[i] as string));
    let center = track(await startCenter(w.centerEnv, w.port));
    const edges = envs.map((env) => track(start(env, ["meter"])));

    let edgeKills = 0;
    let centerKilled = false;
    let appended = 0;
    const t0 = Date.now();
    while (Date.now() - t0 < 20_000) {
      await new Promise((r) => setTimeout(r, 200 + Math.floor(Math.random() * 600)));
      // The bots keep writing: a new call on a random session of host a or b.
      const files = Math.random() < 0.5 ? worldA.files : worldB.files;
      appendFileSync(
        files[Math.floor(Math.random() * files.length)] as string,
        callLine(1_799_000_000_000 + appended, 500 + appended),
      );
      appended++;
      const i = Math.floor(Math.random() * 3);
      await kill(edges[i] as Proc);
      edgeKills++;
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 300)));
      edges[i] = track(start(envs[i] as Record<string, string>, ["meter"]));
      if (!centerKilled && Date.now() - t0 > 7000) {
        centerKilled = true;
        await kill(center);
        await new Promise((r) => setTimeout(r, 3000)); // the center is unreachable for a while
        center = track(await startCenter(w.centerEnv, w.port));
      }
    }
    expect(edgeKills).toBeGreaterThan(5);
    expect(centerKilled).toBe(true);
    const truth = w.groundTruth(dirs);
    const expected = sum(truth);
    // a and b's calls, the appended ones, and host c's fixture calls on top.
    expect(expected).toBeGreaterThan(worldA.events + worldB.events + appended);
    await waitFor("the center to bill everything", () => sum(totalsObj(w.centerDb)) >= expected, 90_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(totalsObj(w.centerDb)).toEqual(truth);
    for (const [i, e] of edges.entries()) {
      expect((await kill(e, "SIGTERM")).code).toBe(0);
      expect(scalar(envs[i]?.CREDITGATE_DB as string, "SELECT COUNT(*) FROM edge_dead_letters")).toBe(0);
    }
  }, 180_000);
});
