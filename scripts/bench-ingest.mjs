// `npm run bench:ingest`: the center's push ingest (POST /v1/usage, what edge meters ship to) on
// PostgreSQL vs SQLite, measured in ONE run on the same events (issue #15):
//   1. central ingest: BENCH_EVENTS edge events (meter identities, BENCH_USERS accounts) POSTed
//      by one sender in batches of BENCH_BATCH to `creditgate serve`: events/s, and ms per batch
//      p50/p99/max. Then the same batches again (a retried backlog: every event `duplicate`).
//   2. edge-to-center lag under load: an edge meter (`creditgate meter --ship-to`) follows a state
//      dir while a writer appends BENCH_RATE calls/s for BENCH_SECONDS; lag = the call's usage row
//      at the center (created_at_ms) − the time its line was written.
// PostgreSQL: CREDITGATE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test), in a
// schema of its own (`bench_<random>`, dropped at the end). BENCH_ENGINES=sqlite,postgres picks the
// engines; BENCH_BASE_CLI=<path to another build's dist/cli/main.js> adds that build's ingest on
// the same events (a before/after baseline). Prints a table; `--json` prints JSON.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { PgDatabase } from "../dist/db/index.js";
import { meterIdentityOf } from "../dist/ingest/index.js";
import { writeUnderLoad } from "./bench-writer.mjs";
import { SYNTH_PRICES, synthState } from "./synth-state.mjs";

const CLI = resolve(import.meta.dirname, "../dist/cli/main.js");
const BASE_CLI = process.env.BENCH_BASE_CLI ? resolve(process.env.BENCH_BASE_CLI) : null;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const USERS = Number(process.env.BENCH_USERS ?? 200);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ENGINES = (process.env.BENCH_ENGINES ?? "sqlite,postgres").split(",").map((s) => s.trim());
const PG_URL = process.env.CREDITGATE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const json = process.argv.includes("--json");

const dir = mkdtempSync(join(tmpdir(), "creditgate-bench-ingest-"));
const prices = join(dir, "prices.json");
writeFileSync(prices, JSON.stringify(SYNTH_PRICES));
const runId = randomBytes(4).toString("hex");
const common = {
  PATH: process.env.PATH ?? "",
  HOME: "/nonexistent",
  CREDITGATE_COST_MODE: "calculate",
  CREDITGATE_LOG_LEVEL: "warn",
  CREDITGATE_LOG_FORMAT: "json",
  CREDITGATE_PRICES: prices,
  CREDITGATE_QUEUE_PREFIX: `bench-ingest-${runId}`,
};
const log = (m) => process.stderr.write(`bench:ingest: ${m}\n`);
const cli = (bin, env, args) => {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...common, ...env }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
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
const withSchema = (base, schema) =>
  `${base}${base.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-csearch_path=${schema}`)}`;

/** A fresh database of `engine`: its CREDITGATE_DB, a reader of its usage rows, and cleanup. */
function freshDb(engine, name) {
  if (engine === "sqlite") {
    const path = join(dir, `${name}.sqlite`);
    return {
      url: path,
      rows(sinceTs) {
        const db = new Database(path, { readonly: true });
        db.pragma("busy_timeout = 5000");
        const r = db
          .prepare(
            "SELECT message_ts_ms AS ts, created_at_ms AS at FROM usage_events WHERE message_ts_ms >= ?",
          )
          .all(sinceTs);
        db.close();
        return r;
      },
      drop() {},
    };
  }
  const schema = `bench_${runId}_${name}`;
  const admin = new PgDatabase(PG_URL);
  admin.exec(`CREATE SCHEMA ${schema}`);
  admin.close();
  const url = withSchema(PG_URL, schema);
  return {
    url,
    rows(sinceTs) {
      const db = new PgDatabase(url);
      const r = db
        .prepare("SELECT message_ts_ms AS ts, created_at_ms AS at FROM usage_events WHERE message_ts_ms >= ?")
        .all(sinceTs);
      db.close();
      return r;
    },
    drop() {
      const a = new PgDatabase(PG_URL);
      a.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      a.close();
    },
  };
}

async function startCenter(bin, dbUrl, port) {
  const child = spawn(process.execPath, [bin, "serve"], {
    env: { ...common, CREDITGATE_DB: dbUrl, PORT: String(port), CREDITGATE_RATE_LIMIT_MAX: "1000000" },
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

/** The bench's edge events: meter identities, USERS accounts, 2 agents, one call per ms. */
function makeEvents() {
  const t0 = Date.now() - 86_400_000;
  const events = [];
  for (let i = 0; i < EVENTS; i++) {
    const e = {
      agentId: i % 2 ? "main" : "helper",
      userId: `telegram:${1000 + ((i * 7919) % USERS)}`,
      provider: "mock",
      model: "mock-gpt",
      input: 1000 + (i % 500),
      output: 50 + (i % 200),
      cacheRead: 0,
      cacheWrite: 0,
      timestampMs: t0 + i,
      success: true,
      sessionId: `s-${i % 300}`,
      edgeId: "bench-edge",
    };
    events.push({ idempotencyKey: meterIdentityOf(e), ...e });
  }
  return events.map((e) => JSON.stringify(e));
}

/** POSTs `payloads` in batches of BATCH, one at a time; ms per batch and events/s. */
async function push(port, key, payloads, expect) {
  const batchMs = [];
  const t = performance.now();
  for (let i = 0; i < payloads.length; i += BATCH) {
    const n = Math.min(BATCH, payloads.length - i);
    const b0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/v1/usage`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: `{"events":[${payloads.slice(i, i + n).join(",")}]}`,
    });
    const body = await res.json();
    if (res.status !== 200 || body[expect] !== n)
      throw new Error(`push failed: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    batchMs.push(performance.now() - b0);
  }
  const ms = performance.now() - t;
  return {
    eventsPerSec: Math.round((payloads.length / ms) * 1000),
    batchMsP50: Math.round(pct(batchMs, 50)),
    batchMsP99: Math.round(pct(batchMs, 99)),
    batchMsMax: Math.round(Math.max(...batchMs)),
  };
}

async function ingestRun(bin, engine, name, payloads) {
  const db = freshDb(engine, name);
  try {
    const key = JSON.parse(
      cli(bin, { CREDITGATE_DB: db.url }, ["keys", "create", "--scope", "push", "--json"]).stdout,
    ).key;
    const port = await freePort();
    const center = await startCenter(bin, db.url, port);
    try {
      const first = await push(port, key, payloads, "billed");
      const retry = await push(port, key, payloads, "duplicate");
      return { first, retry };
    } finally {
      await stop(center);
    }
  } finally {
    db.drop();
  }
}

async function lagRun(engine) {
  const lagDir = join(dir, `lag-${engine}`);
  const lw = synthState({
    stateDir: lagDir,
    agents: 1,
    sessions: 50,
    turns: 4,
    users: 50,
    toolBytes: 500,
    seed: 9,
  });
  const db = freshDb(engine, "lag");
  try {
    const key = JSON.parse(
      cli(CLI, { CREDITGATE_DB: db.url }, ["keys", "create", "--scope", "push", "--json"]).stdout,
    ).key;
    const port = await freePort();
    const center = await startCenter(CLI, db.url, port);
    const edge = spawn(process.execPath, [CLI, "meter"], {
      env: {
        ...common,
        CREDITGATE_DB: join(dir, `edge-${engine}.sqlite`),
        CREDITGATE_STATE_DIRS: lagDir,
        CREDITGATE_SHIP_TO: `http://127.0.0.1:${port}`,
        CREDITGATE_SHIP_KEY: key,
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    try {
      const until = Date.now() + 300_000;
      while (db.rows(0).length < lw.events) {
        if (Date.now() > until) throw new Error("edge backlog did not reach the center");
        await sleep(200);
      }
      const base = 1_795_000_000_000;
      const written = await writeUnderLoad(lw.files, base, { rate: RATE, seconds: SECONDS });
      const deadline = Date.now() + 120_000;
      let rows = db.rows(base);
      while (rows.length < written.size && Date.now() < deadline) {
        await sleep(200);
        rows = db.rows(base);
      }
      const lags = rows.map((r) => r.at - (written.get(r.ts) ?? r.at));
      return {
        calls: lags.length,
        written: written.size,
        p50: pct(lags, 50),
        p99: pct(lags, 99),
        max: Math.max(...lags),
      };
    } finally {
      await stop(edge);
      await stop(center);
    }
  } finally {
    db.drop();
  }
}

try {
  const load0 = loadavg()[0];
  const payloads = makeEvents();
  log(`${payloads.length} events, ${USERS} accounts, batches of ${BATCH}; engines ${ENGINES.join(", ")}`);
  const ingest = {};
  for (const engine of ENGINES) {
    log(`ingest on ${engine}`);
    ingest[engine] = await ingestRun(CLI, engine, "ingest", payloads);
    if (BASE_CLI) {
      log(`ingest on ${engine}, baseline build ${BASE_CLI}`);
      ingest[`${engine} (baseline build)`] = await ingestRun(BASE_CLI, engine, "base", payloads);
    }
  }
  const lag = {};
  for (const engine of ENGINES) {
    log(`edge-to-center lag on ${engine}`);
    lag[engine] = await lagRun(engine);
  }
  const result = {
    events: payloads.length,
    accounts: USERS,
    batch: BATCH,
    loadAverage1m: { start: Number(load0.toFixed(2)), end: Number(loadavg()[0].toFixed(2)) },
    cores: (await import("node:os")).cpus().length,
    ingest,
    lag: { ratePerSec: RATE, seconds: SECONDS, ...lag },
  };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    const rows = [["measure", "engine", "figure"]];
    for (const [engine, r] of Object.entries(ingest)) {
      rows.push([
        `ingest ${EVENTS} events, batches of ${BATCH} (events/s)`,
        engine,
        String(r.first.eventsPerSec),
      ]);
      rows.push([
        "  ms per batch p50 / p99 / max",
        engine,
        `${r.first.batchMsP50} / ${r.first.batchMsP99} / ${r.first.batchMsMax}`,
      ]);
      rows.push(["  same batches again, all duplicate (events/s)", engine, String(r.retry.eventsPerSec)]);
      rows.push([
        "  ms per batch p50 / p99 / max",
        engine,
        `${r.retry.batchMsP50} / ${r.retry.batchMsP99} / ${r.retry.batchMsMax}`,
      ]);
    }
    for (const [engine, l] of Object.entries(lag))
      rows.push([
        `lag edge → center at ${RATE} calls/s for ${SECONDS} s, ms p50 / p99 / max`,
        engine,
        `${l.p50} / ${l.p99} / ${l.max} (${l.calls}/${l.written} calls)`,
      ]);
    rows.push([
      "load average (1 min) at start / end",
      `${result.cores} cores`,
      `${result.loadAverage1m.start} / ${result.loadAverage1m.end}`,
    ]);
    const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) process.stdout.write(`${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
