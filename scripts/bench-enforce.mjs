// npm run bench:enforce — `creditgate start` (HTTP + meter following + worker) on a synthetic state
// dir; for each of N users, append one usage line that pushes them over a daily cap, and time from
// the append to their stored status reading `blocked`. Prints p50/p99. Target: p99 < 1 s.
//   BENCH_USERS=40  REDIS_URL=redis://127.0.0.1:6379
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { SYNTH_PRICES, synthState } from "./synth-state.mjs";

const root = resolve(import.meta.dirname, "..");
const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { openDatabase } = await import(dist("db/index.js"));
const { createLedger } = await import(dist("credits/index.js"));
const { createEnforcer, DEFAULT_SETTINGS } = await import(dist("limits/index.js"));

const n = Number(process.env.BENCH_USERS ?? 40);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `cgbench-${randomUUID().slice(0, 8)}`;
const dir = mkdtempSync(join(tmpdir(), "cg-bench-enforce-"));
const stateDir = join(dir, "state");
const dbPath = join(dir, "creditgate.sqlite");
writeFileSync(join(dir, "prices.json"), JSON.stringify(SYNTH_PRICES));
synthState({ stateDir, sessions: n, turns: 1, users: 1_000_000, seed: 7, startMs: Date.now() - 60_000 });
const sessionsDir = join(stateDir, "agents", "main", "sessions");
const index = JSON.parse(readFileSync(join(sessionsDir, "sessions.json"), "utf8"));
const sessions = Object.entries(index).map(([key, v]) => ({
  sessionId: v.sessionId,
  account: `telegram:${key.split(":").pop()}`,
}));

const child = spawn(process.execPath, [join(root, "dist/cli/main.js"), "start"], {
  env: {
    ...process.env,
    CREDITGATE_DB: dbPath,
    CREDITGATE_STATE_DIRS: stateDir,
    CREDITGATE_PRICES: join(dir, "prices.json"),
    CREDITGATE_COST_MODE: "calculate",
    REDIS_URL: redisUrl,
    CREDITGATE_QUEUE_PREFIX: prefix,
    PORT: "0",
    CREDITGATE_LOG_LEVEL: "warn",
  },
  stdio: ["ignore", "ignore", "inherit"],
});

const db = openDatabase(dbPath);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const count = db.prepare("SELECT COUNT(*) AS c FROM usage_events");
for (let i = 0; count.get().c < 2 * n; i++) {
  if (i > 600) throw new Error("the meter did not bill the initial backlog");
  await sleep(50);
}
// Fund every user and set a daily cap just above what they spent today.
const ledger = createLedger(db);
const enforcer = createEnforcer(db, DEFAULT_SETTINGS);
const spent = db.prepare(
  "SELECT COALESCE(SUM(charge_micro_credits), 0) AS s FROM usage_events WHERE account_id = ?",
);
for (const s of sessions) {
  ledger.post({
    accountId: s.account,
    kind: "grant",
    amountMicroCredits: 1_000_000_000n,
    idempotencyKey: `bench:${s.account}`,
    nowMs: Date.now(),
  });
  enforcer.setLimits(
    s.account,
    { caps: [{ period: "day", capMicroCredits: spent.get(s.account).s + 1 }] },
    Date.now(),
  );
}
await sleep(1000);
const status = db.prepare("SELECT allowed FROM user_status WHERE account_id = ?");

const usageLine = (ts) =>
  `${JSON.stringify({
    type: "message",
    id: randomUUID().slice(0, 8),
    parentId: null,
    timestamp: new Date(ts).toISOString(),
    message: {
      role: "assistant",
      content: [{ type: "text", text: "ok" }],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: {
        input: 1000,
        output: 100,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: 1100,
        cost: { total: 0.0045 },
      },
      stopReason: "stop",
      timestamp: ts,
    },
  })}\n`;

const lat = [];
for (const s of sessions) {
  if (status.get(s.account)?.allowed !== 1) throw new Error(`${s.account} should start allowed`);
  const t0 = performance.now();
  appendFileSync(join(sessionsDir, `${s.sessionId}.jsonl`), usageLine(Date.now()));
  while (status.get(s.account)?.allowed !== 0) {
    if (performance.now() - t0 > 10_000) throw new Error(`${s.account} not blocked within 10 s`);
    await sleep(2);
  }
  lat.push(performance.now() - t0);
  await sleep(50);
}
lat.sort((a, b) => a - b);
const p = (q) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
console.log(
  `append → status blocked (creditgate start): p50 ${p(0.5).toFixed(0)} ms  p99 ${p(0.99).toFixed(0)} ms  max ${lat.at(-1).toFixed(0)} ms  (n=${lat.length})`,
);
console.log(`target: p99 < 1000 ms → ${p(0.99) < 1000 ? "met" : "NOT met"}`);

child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
db.close();
const r = new Redis(redisUrl);
let cursor = "0";
do {
  const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
  cursor = next;
  if (keys.length) await r.del(...keys);
} while (cursor !== "0");
r.disconnect();
rmSync(dir, { recursive: true, force: true });
