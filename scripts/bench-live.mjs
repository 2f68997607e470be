// npm run bench:live — live latency while following: `creditgate meter` follows a small state
// dir; new usage lines are appended at a steady rate and the time from each append to its debit
// being visible in the database (a usage row, committed with its ledger entry) is measured.
// Same-run baselines: (1) fs.watch notification delay of the same appends (the floor for any
// file-event driven reader), (2) the resolution of this script's own DB poll (a row that is
// already there, looked up the same way).
//   LIVE_LINES=300 (appends)   LIVE_RATE=20 (appends/s)   LIVE_POLL_MS=250 (CREDITGATE_POLL_MS)
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { SYNTH_PRICES, synthState } from "./synth-state.mjs";

const root = resolve(import.meta.dirname, "..");
const LINES = Number(process.env.LIVE_LINES ?? 300);
const RATE = Number(process.env.LIVE_RATE ?? 20);
const POLL_MS = process.env.LIVE_POLL_MS ?? "250";
const log = (m) => process.stderr.write(`${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), "creditgate-bench-live-"));
const stateDir = join(dir, "state");
const world = synthState({ stateDir, agents: 1, sessions: 20, turns: 5, users: 10, seed: 3 });
writeFileSync(join(dir, "prices.json"), JSON.stringify(SYNTH_PRICES));
const dbPath = join(dir, "db.sqlite");

const child = spawn(process.execPath, [join(root, "dist/cli/main.js"), "meter"], {
  env: {
    ...process.env,
    CREDITGATE_DB: dbPath,
    CREDITGATE_STATE_DIRS: stateDir,
    CREDITGATE_PRICES: join(dir, "prices.json"),
    CREDITGATE_COST_MODE: "calculate",
    CREDITGATE_POLL_MS: POLL_MS,
    CREDITGATE_LOG_LEVEL: "warn",
  },
  stdio: ["ignore", "ignore", "inherit"],
});
let exited = false;
child.on("exit", () => {
  exited = true;
});

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

try {
  // wait for the backlog to be billed
  let db = null;
  for (;;) {
    if (exited) throw new Error("creditgate meter exited early");
    try {
      db ??= new Database(dbPath, { readonly: true, fileMustExist: true });
      const n = db.prepare("SELECT COUNT(*) AS n FROM usage_events").get().n;
      if (n >= world.events) break;
    } catch {}
    await sleep(50);
  }
  log(`backlog of ${world.events} calls billed; appending ${LINES} lines at ${RATE}/s …`);
  const byTs = db.prepare("SELECT 1 FROM usage_events WHERE message_ts_ms = ?");

  // baseline 1: fs.watch on the sessions dir sees each append after this long
  const sessionsDir = dirname(world.files[0]);
  let watchT0 = 0;
  const watchDelays = [];
  const watcher = watch(sessionsDir, () => {
    if (watchT0) {
      watchDelays.push(performance.now() - watchT0);
      watchT0 = 0;
    }
  });

  const latencies = [];
  const pollRes = [];
  const gap = 1000 / RATE;
  const base = Date.now() - 3_600_000; // recent, unique per line
  for (let i = 0; i < LINES; i++) {
    const ts = base + i;
    const line = `${JSON.stringify({
      type: "message",
      id: `live${i}`,
      parentId: null,
      timestamp: new Date(ts).toISOString(),
      message: {
        role: "assistant",
        content: [],
        api: "openai-completions",
        provider: "mock",
        model: "mock-gpt",
        usage: { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 1100 },
        stopReason: "stop",
        timestamp: ts,
        responseId: `live-${i}`,
      },
    })}\n`;
    const file = world.files[i % world.files.length];
    const t0 = performance.now();
    watchT0 = t0;
    appendFileSync(file, line);
    for (;;) {
      if (byTs.get(ts)) break;
      if (performance.now() - t0 > 5000) throw new Error(`line ${i} not billed within 5 s`);
      await sleep(1);
    }
    latencies.push(performance.now() - t0);
    // baseline 2: the same lookup of a row that is already there, after the same 1 ms sleep
    const p0 = performance.now();
    await sleep(1);
    byTs.get(ts);
    pollRes.push(performance.now() - p0);
    const wait = gap - (performance.now() - t0);
    if (wait > 0) await sleep(wait);
  }
  watcher.close();
  const row = (name, xs) =>
    `${name.padEnd(44)} ${quantile(xs, 0.5).toFixed(1).padStart(7)} ${quantile(xs, 0.99).toFixed(1).padStart(7)} ${Math.max(
      ...xs,
    )
      .toFixed(1)
      .padStart(7)}`;
  process.stdout.write(
    `\n${LINES} appends at ${RATE}/s, CREDITGATE_POLL_MS=${POLL_MS} (node ${process.version})\n\n` +
      `${"ms".padEnd(44)} ${"p50".padStart(7)} ${"p99".padStart(7)} ${"max".padStart(7)}\n` +
      `${row("append → debit visible in the DB", latencies)}\n` +
      `${row("baseline: append → fs.watch event", watchDelays)}\n` +
      `${row("baseline: this script's DB poll resolution", pollRes)}\n` +
      `\np99 target < 100 ms: ${quantile(latencies, 0.99) < 100 ? "met" : "MISSED"}\n`,
  );
  db.close();
} finally {
  child.kill("SIGTERM");
  await new Promise((r) => (exited ? r() : child.on("exit", r)));
  rmSync(dir, { recursive: true, force: true });
}
