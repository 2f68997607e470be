// `npm run bench:ship`: edge meters → center (issue #15), on SQLite, measured in ONE run with a
// baseline on the same data:
//   1. baseline: local `creditgate meter --once` of a synthetic backlog (calls/s).
//   2. central ingest: the edge's own outbox payloads POSTed to `creditgate serve` (POST /v1/usage)
//      in batches of BENCH_SHIP_BATCH: events/s, and p50/p99/max per batch.
//   3. edge-to-center lag under load: an edge meter follows a state dir while a writer appends
//      calls at BENCH_RATE/s for BENCH_SECONDS; lag = center usage row created_at − line written.
//      Baseline: the same writer against a local `creditgate meter` (write → local usage row).
// Env: BENCH_SESSIONS (default 300), BENCH_TURNS (10), BENCH_SHIP_BATCH (500), BENCH_RATE (200),
// BENCH_SECONDS (8). Prints a table; `--json` prints JSON.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { writeUnderLoad } from "./bench-writer.mjs";
import { SYNTH_PRICES, synthState } from "./synth-state.mjs";

const CLI = resolve(import.meta.dirname, "../dist/cli/main.js");
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 300);
const TURNS = Number(process.env.BENCH_TURNS ?? 10);
const SHIP_BATCH = Number(process.env.BENCH_SHIP_BATCH ?? 500);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const json = process.argv.includes("--json");

const dir = mkdtempSync(join(tmpdir(), "creditgate-bench-ship-"));
const prices = join(dir, "prices.json");
writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
const common = {
  PATH: process.env.PATH ?? "",
  HOME: "/nonexistent",
  CREDITGATE_COST_MODE: "calculate",
  CREDITGATE_LOG_LEVEL: "warn",
  CREDITGATE_LOG_FORMAT: "json",
  CREDITGATE_PRICES: prices,
};
const log = (m) => process.stderr.write(`bench:ship: ${m}\n`);
const cli = (env, args) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...common, ...env }, encoding: "utf8" });
  if (r.status !== 0 && !args.includes("--ship-to")) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  return r;
};
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : 0;
};
const freePort = () =>
  new Promise((done) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => done(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startCenter(db, port) {
  const child = spawn(process.execPath, [CLI, "serve"], {
    env: { ...common, CREDITGATE_DB: db, PORT: String(port), CREDITGATE_RATE_LIMIT_MAX: "1000000" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  while (!out.includes("listening on")) {
    if (child.exitCode !== null) throw new Error("center exited");
    await sleep(50);
  }
  return child;
}
const stop = (child) =>
  new Promise((done) => {
    if (child.exitCode !== null) return done();
    child.once("exit", done);
    child.kill("SIGTERM");
  });

/** Waits until `dbPath` holds at least `n` usage rows (a backlog caught up). */
async function waitRows(dbPath, n) {
  const until = Date.now() + 300_000;
  for (;;) {
    try {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      db.pragma("busy_timeout = 5000");
      const c = db.prepare("SELECT COUNT(*) FROM usage_events").pluck().get();
      db.close();
      if (c >= n) return;
    } catch {}
    if (Date.now() > until) throw new Error(`timed out waiting for ${n} rows in ${dbPath}`);
    await sleep(200);
  }
}

/** Waits until every written call is a usage row in `dbPath`; returns the lags (ms). */
async function lagsIn(dbPath, written, baseTs) {
  const until = Date.now() + 120_000;
  for (;;) {
    const db = new Database(dbPath, { readonly: true });
    db.pragma("busy_timeout = 5000");
    const rows = db
      .prepare("SELECT message_ts_ms AS ts, created_at_ms AS at FROM usage_events WHERE message_ts_ms >= ?")
      .all(baseTs);
    db.close();
    if (rows.length >= written.size || Date.now() > until) {
      return rows.map((r) => r.at - (written.get(r.ts) ?? r.at));
    }
    await sleep(200);
  }
}

try {
  // ---- data
  const stateDir = join(dir, "state");
  const w = synthState({
    stateDir,
    agents: 2,
    sessions: SESSIONS,
    turns: TURNS,
    users: 200,
    toolBytes: 1500,
    seed: 5,
  });
  log(`${w.events} calls in ${w.files.length} files, ${(w.bytes / 1e6).toFixed(1)} MB`);

  // ---- 1. baseline: local meter --once
  let t = performance.now();
  cli({ CREDITGATE_DB: join(dir, "local.sqlite"), CREDITGATE_STATE_DIRS: stateDir }, [
    "meter",
    "--once",
    "--json",
  ]);
  const localMs = performance.now() - t;

  // ---- 2. central ingest: fill an edge outbox (center unreachable), then POST its payloads
  const deadPort = await freePort();
  const edgeDb = join(dir, "edge.sqlite");
  t = performance.now();
  cli(
    {
      CREDITGATE_DB: edgeDb,
      CREDITGATE_STATE_DIRS: stateDir,
      CREDITGATE_SHIP_BACKOFF_MS: "1",
      CREDITGATE_SHIP_BACKOFF_MAX_MS: "2",
      CREDITGATE_OUTBOX_MAX: "100000000",
    },
    ["meter", "--once", "--ship-to", `http://127.0.0.1:${deadPort}`, "--key", "cg_x"],
  );
  const edgeReadMs = performance.now() - t;
  const edb = new Database(edgeDb, { readonly: true });
  const payloads = edb.prepare("SELECT event_json FROM edge_outbox ORDER BY id").pluck().all();
  edb.close();
  const port = await freePort();
  const centerDb = join(dir, "center.sqlite");
  const key = JSON.parse(
    cli({ CREDITGATE_DB: centerDb }, ["keys", "create", "--scope", "push", "--json"]).stdout,
  ).key;
  let center = await startCenter(centerDb, port);
  const batchMs = [];
  t = performance.now();
  for (let i = 0; i < payloads.length; i += SHIP_BATCH) {
    const b0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: `{"events":[${payloads.slice(i, i + SHIP_BATCH).join(",")}]}`,
    });
    const body = await res.json();
    if (res.status !== 200 || body.billed + body.duplicate !== Math.min(SHIP_BATCH, payloads.length - i))
      throw new Error(`push failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    batchMs.push(performance.now() - b0);
  }
  const ingestMs = performance.now() - t;
  await stop(center);

  // ---- 3. lag under load: edge follow → center, vs local follow
  const lagDir = join(dir, "lag");
  const lw = synthState({
    stateDir: lagDir,
    agents: 1,
    sessions: 50,
    turns: 4,
    users: 50,
    toolBytes: 500,
    seed: 9,
  });
  const centerDb2 = join(dir, "center2.sqlite");
  const key2 = JSON.parse(
    cli({ CREDITGATE_DB: centerDb2 }, ["keys", "create", "--scope", "push", "--json"]).stdout,
  ).key;
  const port2 = await freePort();
  center = await startCenter(centerDb2, port2);
  const edge = spawn(process.execPath, [CLI, "meter"], {
    env: {
      ...common,
      CREDITGATE_DB: join(dir, "edge2.sqlite"),
      CREDITGATE_STATE_DIRS: lagDir,
      CREDITGATE_SHIP_TO: `http://127.0.0.1:${port2}`,
      CREDITGATE_SHIP_KEY: key2,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitRows(centerDb2, lw.events); // backlog caught up
  const baseEdge = 1_795_000_000_000;
  const wEdge = await writeUnderLoad(lw.files, baseEdge, { rate: RATE, seconds: SECONDS });
  const edgeLags = await lagsIn(centerDb2, wEdge, baseEdge);
  await stop(edge);
  await stop(center);

  const localDb2 = join(dir, "local2.sqlite");
  const local = spawn(process.execPath, [CLI, "meter"], {
    env: { ...common, CREDITGATE_DB: localDb2, CREDITGATE_STATE_DIRS: lagDir },
    stdio: ["ignore", "ignore", "inherit"],
  });
  await waitRows(localDb2, lw.events);
  const baseLocal = 1_796_000_000_000;
  const wLocal = await writeUnderLoad(lw.files, baseLocal, { rate: RATE, seconds: SECONDS });
  const localLags = await lagsIn(localDb2, wLocal, baseLocal);
  await stop(local);

  const n = payloads.length;
  const result = {
    calls: n,
    baselineLocalMeterOnce: { ms: Math.round(localMs), callsPerSec: Math.round((w.events / localMs) * 1000) },
    edgeReadIntoOutbox: {
      ms: Math.round(edgeReadMs),
      callsPerSec: Math.round((w.events / edgeReadMs) * 1000),
    },
    centralIngest: {
      batch: SHIP_BATCH,
      batches: batchMs.length,
      eventsPerSec: Math.round((n / ingestMs) * 1000),
      batchMsP50: Math.round(pct(batchMs, 50)),
      batchMsP99: Math.round(pct(batchMs, 99)),
      batchMsMax: Math.round(Math.max(...batchMs)),
    },
    lagUnderLoad: {
      ratePerSec: RATE,
      seconds: SECONDS,
      edgeToCenter: {
        calls: edgeLags.length,
        p50: pct(edgeLags, 50),
        p99: pct(edgeLags, 99),
        max: Math.max(...edgeLags),
      },
      baselineLocalMeter: {
        calls: localLags.length,
        p50: pct(localLags, 50),
        p99: pct(localLags, 99),
        max: Math.max(...localLags),
      },
    },
  };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const rows = [
      ["calls in the backlog", n],
      ["baseline: local meter --once (calls/s)", result.baselineLocalMeterOnce.callsPerSec],
      ["edge: read into outbox, center down (calls/s)", result.edgeReadIntoOutbox.callsPerSec],
      [
        `center: POST /v1/usage ingest, batches of ${SHIP_BATCH} (events/s)`,
        result.centralIngest.eventsPerSec,
      ],
      [
        "center: ms per batch p50 / p99 / max",
        `${result.centralIngest.batchMsP50} / ${result.centralIngest.batchMsP99} / ${result.centralIngest.batchMsMax}`,
      ],
      [
        `lag under load (${RATE} calls/s for ${SECONDS} s): edge → center ms p50 / p99 / max`,
        `${result.lagUnderLoad.edgeToCenter.p50} / ${result.lagUnderLoad.edgeToCenter.p99} / ${result.lagUnderLoad.edgeToCenter.max}`,
      ],
      [
        "baseline: same load, local meter ms p50 / p99 / max",
        `${result.lagUnderLoad.baselineLocalMeter.p50} / ${result.lagUnderLoad.baselineLocalMeter.p99} / ${result.lagUnderLoad.baselineLocalMeter.max}`,
      ],
    ];
    const wd = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(wd)}  ${v}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
