// npm run bench:meter — a large synthetic state dir (real JSONL line format), then in the same
// run: (a) a naive pass that reads every file and JSON.parses every line, (b) `creditgate meter
// --once` end to end into a fresh database. Prints MB/s, events/s, peak RSS and the ratio b/a.
// Session files also get (a′): the naive pass reading through a reused 64 KiB buffer, and the
// ratio b/a′ against it. (a) allocates a ~370 kB string per file, so on a machine with slow page
// faults (a VM) (a) slows down and b/a flatters the meter; b/a′ moves much less with that (the
// meter takes ~45k faults per run here, (a′) ~18k, (a) ~310k), and the
// page-fault cost measured in the run is printed beside both. (f), the SQLite floor
// (scripts/bench-floor.mjs), writes the rows (b) wrote into a fresh database by pure SQL in
// (b)'s batch size: what durable writes of those rows cost with no reading, parsing or
// JavaScript per row. f/a′ (f/a for the store) says how much of the target SQLite alone takes.
//   BENCH_MB=1100 (size to generate)   BENCH_DIR=./bench-out (kept between runs; delete to regenerate)
//   BENCH_ROUNDS=3 (interleaved (a),(b) rounds; medians are printed)
//   BENCH_SOURCE=jsonl (default: session files) | sqlite (the same transcripts in OpenClaw SQLite
//   stores, the layout of OpenClaw >= 2026.7.2; (a) then reads and parses every transcript row)
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ocStoreFromState } from "./synth-oc-store.mjs";
import { SYNTH_PRICES, synthState } from "./synth-state.mjs";

const root = resolve(import.meta.dirname, "..");
const targetMb = Number(process.env.BENCH_MB ?? 1100);
const out = resolve(process.env.BENCH_DIR ?? join(root, "bench-out"));
const stateDir = join(out, "state");
const marker = join(out, `generated-${targetMb}mb.json`);

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

// ~9.8 kB per turn (user line, tool call, 8 kB tool result, reply), 2 billable calls per turn
const AGENTS = 4;
const SESSIONS = 750;
const turns = Math.max(1, Math.round((targetMb * 1e6) / (AGENTS * SESSIONS * 9800)));

if (!existsSync(marker)) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  log(`generating ~${targetMb} MB: ${AGENTS} agents × ${SESSIONS} sessions × ${turns} turns …`);
  const t0 = performance.now();
  const world = synthState({
    stateDir,
    agents: AGENTS,
    sessions: SESSIONS,
    turns,
    users: 500,
    toolBytes: 8000,
    seed: 1,
  });
  writeFileSync(
    marker,
    JSON.stringify({ bytes: world.bytes, events: world.events, files: world.files.length }),
  );
  log(
    `generated ${(world.bytes / 1e6).toFixed(0)} MB, ${world.files.length} files, ${world.events} billable calls in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
const gen = JSON.parse(readFileSync(marker, "utf8"));
const source = process.env.BENCH_SOURCE ?? "jsonl";
if (source !== "jsonl" && source !== "sqlite")
  throw new Error(`BENCH_SOURCE must be jsonl or sqlite, got ${source}`);
// The state dir both passes read: the JSONL one, or OpenClaw SQLite stores built from it once.
const readDir = source === "sqlite" ? join(out, "oc-state") : stateDir;
const ocMarker = join(out, "oc-state.json");
if (source === "sqlite" && !existsSync(ocMarker)) {
  log("building OpenClaw SQLite stores from the session files …");
  const t0 = performance.now();
  const built = ocStoreFromState(stateDir, readDir);
  writeFileSync(ocMarker, JSON.stringify(built));
  log(
    `built ${built.sessions} sessions, ${built.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
writeFileSync(join(out, "prices.json"), JSON.stringify(SYNTH_PRICES));

/** CPU seconds (user + system) in a /proc/<pid>[/task/<tid>]/stat line, or 0. */
function cpuSeconds(statPath) {
  try {
    const stat = readFileSync(statPath, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ = 100
  } catch {
    return 0;
  }
}

/**
 * Runs a child, sampling its peak RSS (VmHWM) and its CPU time (whole process, and its main
 * thread alone: the writer) from /proc until it exits. CPU time is what contention on a shared
 * machine changes least; the last sample is up to 20 ms before the exit.
 */
function measure(args, env = {}) {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    let hwmKb = 0;
    let cpuS = 0;
    let mainCpuS = 0;
    /** CPU seconds of each other thread by id (the reader thread, V8's GC and compiler helpers, libuv). */
    const others = new Map();
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const sample = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) hwmKb = Math.max(hwmKb, Number(m[1]));
      } catch {}
      cpuS = Math.max(cpuS, cpuSeconds(`/proc/${child.pid}/stat`));
      mainCpuS = Math.max(mainCpuS, cpuSeconds(`/proc/${child.pid}/task/${child.pid}/stat`));
      try {
        for (const tid of readdirSync(`/proc/${child.pid}/task`)) {
          if (tid === String(child.pid)) continue;
          others.set(tid, Math.max(others.get(tid) ?? 0, cpuSeconds(`/proc/${child.pid}/task/${tid}/stat`)));
        }
      } catch {}
    }, 20);
    child.on("exit", (code) => {
      clearInterval(sample);
      if (code !== 0) return fail(new Error(`${args.join(" ")} exited ${code}`));
      // The busiest other thread is the meter's reader thread (worker_threads: the only other
      // thread running JavaScript); the rest is V8's helpers (GC, compiler) and libuv.
      const busiest = Math.max(0, ...others.values());
      done({
        ms: performance.now() - t0,
        peakRssMb: hwmKb / 1024,
        cpuS,
        mainCpuS,
        busiestCpuS: busiest,
        stdout,
      });
    });
  });
}

// warm the page cache so both passes read from memory
log("warming the page cache …");
for (const agent of readdirSync(join(readDir, "agents"))) {
  const dir = join(readDir, "agents", agent, source === "sqlite" ? "agent" : "sessions");
  for (const f of readdirSync(dir)) readFileSync(join(dir, f));
}

// Rounds of (a) then (b), interleaved: this machine's speed drifts by tens of percent within
// minutes (shared host), so each round's ratio compares passes run seconds apart, and the
// figures printed are medians over the rounds.
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const db = join(out, "bench.sqlite");
const floorDb = join(out, "floor.sqlite");
/** (b)'s batch size (CREDITGATE_BATCH_SIZE, default 2000), which (f) copies in. */
const batchSize = Number(process.env.CREDITGATE_BATCH_SIZE || 2000); // "" is unset, as in src/config
const runsA = [];
const runsA2 = [];
const runsB = [];
const runsF = [];
let aStats;
let bStats;
for (let r = 1; r <= rounds; r++) {
  log(`round ${r}/${rounds}: (a) naive: read + JSON.parse every line …`);
  const a = await measure([join(root, "scripts/bench-naive.mjs"), readDir, source]);
  aStats = JSON.parse(a.stdout);
  let a2;
  if (source === "jsonl") {
    log(`round ${r}/${rounds}: (a′) naive, read through a reused 64 KiB buffer …`);
    a2 = await measure([join(root, "scripts/bench-naive.mjs"), readDir, "chunked"]);
    // (a′)'s row is printed with (a)'s bytes and calls: it must have read and parsed the same
    const got = JSON.parse(a2.stdout);
    for (const k of ["files", "lines", "bytes", "assistants"])
      if (got[k] !== aStats[k]) throw new Error(`(a′) read ${k} ${got[k]}, (a) ${aStats[k]}`);
    runsA2.push(a2);
  }
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
  log(`round ${r}/${rounds}: (b) creditgate meter --once into a fresh database …`);
  const b = await measure([join(root, "dist/cli/main.js"), "meter", "--once", "--json"], {
    CREDITGATE_DB: db,
    CREDITGATE_STATE_DIRS: readDir,
    CREDITGATE_PRICES: join(out, "prices.json"),
    CREDITGATE_COST_MODE: "calculate",
    CREDITGATE_LOG_LEVEL: "warn",
    // explicit, so that a ./.env the CLI reads cannot give (b) another batch size than (f)'s
    CREDITGATE_BATCH_SIZE: String(batchSize),
  });
  bStats = JSON.parse(b.stdout);
  if (bStats.billed !== gen.events) throw new Error(`meter billed ${bStats.billed}, expected ${gen.events}`);
  log(
    `  (a) ${(a.ms / 1000).toFixed(2)} s${a2 ? `  (a′) ${(a2.ms / 1000).toFixed(2)} s` : ""}  (b) ${(b.ms / 1000).toFixed(2)} s  b/a ${(b.ms / a.ms).toFixed(2)}${a2 ? `  b/a′ ${(b.ms / a2.ms).toFixed(2)}` : ""}`,
  );
  runsA.push(a);
  runsB.push(b);
  log(`round ${r}/${rounds}: (f) SQLite floor: the same rows into a fresh database by pure SQL …`);
  const f = await measure([join(root, "scripts/bench-floor.mjs"), db, floorDb, String(batchSize)]);
  const fStats = JSON.parse(f.stdout);
  if (fStats.rows !== bStats.billed) throw new Error(`(f) wrote ${fStats.rows} rows, (b) ${bStats.billed}`);
  log(`  (f) ${(f.ms / 1000).toFixed(2)} s  f/a${a2 ? "′" : ""} ${(f.ms / (a2 ?? a).ms).toFixed(2)}`);
  runsF.push(f);
}
for (const f of [floorDb, `${floorDb}-wal`, `${floorDb}-shm`]) rmSync(f, { force: true });
/** The median of `xs` (the mean of the middle two for an even count). */
const median = (xs) => {
  const v = [...xs].sort((x, y) => x - y);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const med = (runs) => ({
  ms: median(runs.map((r) => r.ms)),
  peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)),
  cpuS: median(runs.map((r) => r.cpuS)),
  mainCpuS: median(runs.map((r) => r.mainCpuS)),
  busiestCpuS: median(runs.map((r) => r.busiestCpuS)),
});
const a = med(runsA);
const a2 = runsA2.length ? med(runsA2) : null;
const b = med(runsB);
const fl = med(runsF);
const floorRatios = runsF.map((rf, i) => rf.ms / (runsA2[i] ?? runsA[i]).ms);
const ratios = runsB.map((rb, i) => rb.ms / runsA[i].ms);
const ratios2 = runsA2.map((ra, i) => runsB[i].ms / ra.ms);

/** Microseconds per first touch of a fresh 4 KiB page in this process (a minor page fault). */
function pageFaultMicros() {
  const pages = 20000;
  const t0 = performance.now();
  const buf = Buffer.allocUnsafeSlow(4096 * pages);
  for (let i = 0; i < pages; i++) buf[i * 4096] = 1;
  return ((performance.now() - t0) * 1000) / pages;
}
const faultUs = pageFaultMicros();

const mb = aStats.bytes / 1e6;
const row = (name, r, events) => [
  name,
  (r.ms / 1000).toFixed(2),
  (mb / (r.ms / 1000)).toFixed(0),
  Math.round(events / (r.ms / 1000)).toLocaleString("en-US"),
  r.peakRssMb.toFixed(0),
  r.cpuS.toFixed(2),
  r.mainCpuS.toFixed(2),
];
const rows = [
  ["pass (medians)", "seconds", "MB/s", "events/s", "peak RSS MB", "CPU s", "main-thread CPU s"],
  row("(a) naive read+parse", a, aStats.assistants),
  ...(a2 ? [row("(a′) naive, 64 KiB reads", a2, aStats.assistants)] : []),
  row("(b) meter --once", b, bStats.billed),
  row("(f) SQLite floor", fl, bStats.billed),
];
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
process.stdout.write(
  `\ninput (${source}): ${mb.toFixed(0)} MB, ${source === "sqlite" ? `${aStats.files} OpenClaw stores` : `${gen.files} files`}, ${aStats.lines.toLocaleString("en-US")} lines, ${gen.events.toLocaleString("en-US")} billable calls (node ${process.version}, ${statSync(db).size > 0 ? "db written" : ""})\n\n`,
);
for (const r of rows)
  process.stdout.write(
    `${r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ")}\n`,
  );
process.stdout.write(
  `\nratio b/a (time), median of ${rounds} interleaved rounds: ${median(ratios).toFixed(2)}   (rounds: ${ratios.map((x) => x.toFixed(2)).join(", ")})   target ≤ 1.00${a2 ? " (against (a), which pays the page faults below)" : ""}\n` +
    (a2
      ? `ratio b/a′ (against the chunked naive pass), median: ${median(ratios2).toFixed(2)}   (rounds: ${ratios2.map((x) => x.toFixed(2)).join(", ")})   target ≤ 1.00   page fault here: ${faultUs.toFixed(1)} µs per 4 KiB page (where it is high, (a) pays it on every file and b/a reads low)\n`
      : "") +
    `ratio f/${a2 ? "a′" : "a"} (the SQLite floor: (b)'s rows by pure SQL, no reading or parsing), median: ${median(floorRatios).toFixed(2)}   (rounds: ${floorRatios.map((x) => x.toFixed(2)).join(", ")})   b/f ${(b.ms / fl.ms).toFixed(2)}\n` +
    `peak RSS of (b), highest of the rounds: ${b.peakRssMb.toFixed(0)} MB   target < 200 MB\n` +
    `main-thread CPU of (b) / CPU of (a): ${(b.mainCpuS / a.cpuS).toFixed(2)}${a2 ? `, of (a′): ${(b.mainCpuS / a2.cpuS).toFixed(2)}` : ""} (the writer's share; under load it tracks the quiet-machine ratio better than wall time)\n` +
    `CPU of (b) by thread (medians): writer (main) ${b.mainCpuS.toFixed(2)} s, reader thread ${b.busiestCpuS.toFixed(2)} s, V8 helpers and the rest ${Math.max(0, b.cpuS - b.mainCpuS - b.busiestCpuS).toFixed(2)} s\n` +
    `load average: ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}\n`,
);
