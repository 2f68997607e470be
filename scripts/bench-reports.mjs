// npm run bench:reports — usage reports and /consumo on a big database. Generates (direct SQL, big
// transactions) BENCH rows of usage_events over the last 90 days for 100k users, builds usage_daily
// with the migration's own backfill SQL, then times, in the same run, each report through the
// daily aggregates (what `creditgate usage` and GET /v1/usage call) and through the raw-row query
// (the baseline), checks both answers are identical, and measures `consumo` p50/p99 (the function
// the API and the worker RPC answer with) and the usage writer's per-row cost with its aggregate.
//   node scripts/bench-reports.mjs [--rows N] [--users N] [--days N] [--keep] [--db FILE]
// (--keep leaves the generated database; --db FILE times an earlier --keep database again, its
// rows, users and days as generated, without generating.)
// Defaults: 10,000,000 rows, 100,000 users, 90 days. The database goes to a temp dir, removed
// at the end unless --keep.
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { openDatabase, MIGRATIONS } = await import(dist("db/index.js"));
const { createLedger } = await import(dist("credits/index.js"));
const { createEnforcer, createQueries, DEFAULT_SETTINGS } = await import(dist("limits/index.js"));
const { queryUsageRaw, queryUsageWithHeld, parseTimeArg } = await import(dist("meter/index.js"));
const { createUsageWriter } = await import(dist("meter/usage-repo.js"));

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "10000000" },
    users: { type: "string", default: "100000" },
    days: { type: "string", default: "90" },
    keep: { type: "boolean", default: false },
    db: { type: "string" },
  },
});
const ROWS = Number(args.rows);
const USERS = Number(args.users);
const DAYS = Number(args.days);
const DAY_MS = 86_400_000;
const log = (m) => process.stderr.write(`${m}\n`);
const dir = args.db ? null : mkdtempSync(join(tmpdir(), "cg-bench-reports-"));
const dbPath = args.db ?? join(dir, "creditgate.sqlite");
const now = Date.now();
const startMs = now - DAYS * DAY_MS;

// Deterministic PRNG (mulberry32), so runs are comparable.
let seed = 12345;
const rnd = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rnd() * n);

// pico-USD per token: input, output, cache read.
const MODELS = [
  ["anthropic", "claude-sonnet-4-5", 3_000_000, 15_000_000, 300_000, 40],
  ["anthropic", "claude-haiku-4-5", 1_000_000, 5_000_000, 100_000, 20],
  ["openai", "gpt-5", 1_250_000, 10_000_000, 125_000, 20],
  ["openai", "gpt-5-mini", 250_000, 2_000_000, 25_000, 10],
  ["google", "gemini-2.5-pro", 1_250_000, 10_000_000, 310_000, 7],
  ["openrouter", "some/unknown-model", 0, 0, 0, 3],
];
const modelWeights = MODELS.reduce((s, m) => s + m[5], 0);
const pickModel = () => {
  let x = int(modelWeights);
  for (const m of MODELS) {
    x -= m[5];
    if (x < 0) return m;
  }
  return MODELS[0];
};
const AGENTS = ["main", "support", "sales", "ops"];
const userId = (u) => `telegram:${100000000 + u}`;
// Skewed activity: low user numbers chat far more (user 0 ~0.3% of sessions), every user some.
const pickUser = () => Math.floor(USERS * rnd() ** 2);

// ---- generate ------------------------------------------------------------------------------
const t0 = performance.now();
if (!args.db) {
  const db = openDatabase(dbPath);
  db.pragma("synchronous = OFF");
  db.pragma("foreign_keys = OFF");
  db.pragma("cache_size = -262144");
  // One grant per user (the ledger entry every usage row of the user points at).
  const entryOf = new Int32Array(USERS);
  const ledger = createLedger(db);
  db.transaction(() => {
    for (let u = 0; u < USERS; u++) {
      entryOf[u] = ledger.post({
        accountId: userId(u),
        kind: "grant",
        amountMicroCredits: 1_000_000_000n,
        idempotencyKey: `g:${u}`,
        nowMs: startMs,
      }).entryId;
    }
  })();
  // The time indexes are rebuilt after the load (a sort beats 10M random index inserts).
  const indexes = db
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_events' AND sql IS NOT NULL",
    )
    .all();
  for (const i of indexes) db.exec(`DROP INDEX ${i.name}`);
  const insert = db.prepare(
    `INSERT INTO usage_events (dedupe_key, ledger_entry_id, account_id, agent_id, source, source_ref, provider,
       model, message_ts_ms, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
       cache_write_1h_tokens, total_tokens, is_error, cost_pico_usd, table_cost_pico_usd, charge_micro_credits,
       price_source, price_version, unknown_model, created_at_ms)
     VALUES (?, ?, ?, ?, 'jsonl', ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, 'bench', ?, ?)`,
  );
  const perDay = ROWS / DAYS;
  let n = 0;
  const chunk = db.transaction((dayIndex, upTo) => {
    const dayStart = startMs + dayIndex * DAY_MS;
    while (n < upTo) {
      // One chat session: one user, agent and model, 1-40 calls ~20 s apart.
      const u = pickUser();
      const m = pickModel();
      const agent = AGENTS[u % 4];
      const calls = Math.min(1 + Math.floor(rnd() ** 2 * 40), upTo - n);
      let ts = dayStart + int(DAY_MS);
      for (let c = 0; c < calls; c++, n++) {
        ts += 5000 + int(30000);
        const input = 200 + int(4000);
        const output = 20 + int(1500);
        const cacheRead = c === 0 ? 0 : input * 4;
        const r = rnd();
        const unknown = m[2] === 0;
        const source = unknown ? "fallback" : r < 0.05 ? "provider-billed" : "table";
        let cost = input * m[2] + output * m[3] + cacheRead * m[4];
        const table = unknown ? null : cost;
        if (unknown) cost = (input + output) * 2_000_000;
        else if (source === "provider-billed") cost += int(1_000_000);
        const charge = Math.round((cost / 1_000_000) * 1.2);
        insert.run(
          `b${n.toString(36).padStart(9, "0")}`,
          entryOf[u],
          userId(u),
          agent,
          `s${u}@${n}`,
          m[0],
          m[1],
          ts,
          input,
          output,
          cacheRead,
          0,
          input + output + cacheRead,
          rnd() < 0.01 ? 1 : 0,
          cost,
          table,
          charge,
          source,
          unknown ? 1 : 0,
          ts,
        );
      }
    }
  });
  for (let d = 0; d < DAYS; d++) {
    chunk(d, Math.round((d + 1) * perDay));
    if (d % 10 === 9) log(`  generated ${n} rows (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const tIdx = performance.now();
  for (const i of indexes) db.exec(i.sql);
  log(`  indexes rebuilt in ${((performance.now() - tIdx) / 1000).toFixed(1)} s`);
  db.close();
}
const genSeconds = (performance.now() - t0) / 1000;

// usage_daily from the migration's own backfill SQL (what an upgrade runs over existing rows), its
// positional rows naming migration 11's columns (migration 42 added two after them).
const MIGRATION_11_COLUMNS =
  "day, account_id, agent_id, provider, model, requests, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, total_tokens, cost_pico_usd, charge_micro_credits, unknown_model_requests, fallback_priced_requests, provider_billed_requests, provider_billed_cost_pico_usd, provider_billed_known_cost_pico_usd, provider_billed_table_cost_pico_usd";
const backfillOf11 = (sql) =>
  sql
    .slice(sql.indexOf("INSERT INTO usage_daily"))
    .replace("INSERT INTO usage_daily\n", `INSERT INTO usage_daily (${MIGRATION_11_COLUMNS})\n`);
let backfillSeconds = 0;
if (!args.db) {
  const db = openDatabase(dbPath);
  const sql = MIGRATIONS.find((m) => m.version === 11).sql;
  const t = performance.now();
  db.transaction(() => {
    db.exec("DELETE FROM usage_daily");
    db.exec(backfillOf11(sql));
  })();
  backfillSeconds = (performance.now() - t) / 1000;
  db.exec("ANALYZE");
  db.close();
}

// ---- reports -------------------------------------------------------------------------------
const db = openDatabase(dbPath);
const count = (sql) => db.prepare(sql).pluck().get();
const rows = count("SELECT COUNT(*) FROM usage_events");
const dailyRows = count("SELECT COUNT(*) FROM usage_daily");
const users = count("SELECT COUNT(DISTINCT account_id) FROM usage_daily");
const sizeMb = statSync(dbPath).size / 1e6;
log(
  args.db
    ? `reusing ${args.db}: ${rows} rows (${users} users, ${dailyRows} usage_daily rows, ${sizeMb.toFixed(0)} MB)`
    : `generated ${rows} rows (${users} users, ${dailyRows} usage_daily rows, ${sizeMb.toFixed(0)} MB) in ${genSeconds.toFixed(0)} s; backfill ${backfillSeconds.toFixed(1)} s`,
);

const time = (f) => {
  const t = performance.now();
  const out = f();
  return { ms: performance.now() - t, out };
};
const since = parseTimeArg("30d", now);
const reports = [
  ["usage --by user --since 30d", { by: "user", sinceMs: since }],
  ["usage --by day --since 30d", { by: "day", sinceMs: since }],
  ["usage --by model --since 30d", { by: "model", sinceMs: since }],
  ["usage --by agent --since 30d", { by: "agent", sinceMs: since }],
  [
    "usage --by day --user <heavy> (last calendar month)",
    {
      by: "day",
      user: userId(0),
      sinceMs: Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth() - 1, 1),
      untilMs: Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), 1),
    },
  ],
];
const results = [];
for (const [name, q] of reports) {
  // first run after open (SQLite cache cold, OS cache warm), then a warm second run
  const a1 = time(() => queryUsageWithHeld(db, q));
  const a2 = time(() => queryUsageWithHeld(db, q));
  const b1 = time(() => queryUsageRaw(db, q));
  const b2 = time(() => queryUsageRaw(db, q));
  const strip = (rs) => JSON.stringify(rs.map(({ heldRequests, heldCostUsd, ...r }) => r));
  const same = strip(a2.out) === JSON.stringify(b2.out);
  results.push({ name, groups: a2.out.length, agg: [a1.ms, a2.ms], raw: [b1.ms, b2.ms], same });
  log(`  ${name}: ${a2.ms.toFixed(0)} ms vs raw ${b2.ms.toFixed(0)} ms${same ? "" : "  ANSWERS DIFFER"}`);
}

// ---- consumo -------------------------------------------------------------------------------
const enforcer = createEnforcer(db, DEFAULT_SETTINGS);
const queries = createQueries(db, enforcer);
const CONSUMO = 2000;
const lat = [];
seed = 999;
for (let i = 0; i < 200; i++) queries.answer("consumo", { userId: userId(pickUser()) }, Date.now());
for (let i = 0; i < CONSUMO; i++) {
  const u = userId(pickUser()); // users as often as they chat: heavy users most
  const t = performance.now();
  queries.answer("consumo", { userId: u }, Date.now());
  lat.push(performance.now() - t);
}
lat.sort((x, y) => x - y);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
const heavy = time(() => queries.answer("consumo", { userId: userId(0) }, Date.now())).ms;

// ---- writer cost ---------------------------------------------------------------------------
// 20,000 rows in 2,000-row FULL-sync transactions through the usage writer (row + daily upsert)
// vs the same rows through a plain INSERT of the row alone.
const entry = db.prepare("SELECT id FROM ledger_entries WHERE account_id = ?").pluck();
const baseRow = (k, u) => ({
  dedupe_key: k,
  ledger_entry_id: entry.get(userId(u)),
  account_id: userId(u),
  agent_id: AGENTS[u % 4],
  session_id: null,
  session_key: null,
  source: "jsonl",
  source_ref: "bench",
  provider: "openai",
  model: "gpt-5",
  api: null,
  response_id: null,
  message_ts_ms: now - int(60_000),
  input_tokens: 100,
  output_tokens: 10,
  cache_read_tokens: 0,
  cache_write_tokens: 0,
  cache_write_1h_tokens: 0,
  total_tokens: 110,
  reasoning_tokens: null,
  stop_reason: null,
  is_error: 0,
  error_message: null,
  recorded_cost_pico_usd: null,
  cost_pico_usd: 225_000_000,
  table_cost_pico_usd: 225_000_000,
  charge_micro_credits: 270,
  price_source: "table",
  price_version: "bench",
  unknown_model: 0,
  anomaly: null,
  created_at_ms: now,
});
const writer = createUsageWriter(db);
const cols = Object.keys(baseRow("x", 0));
const plain = db.prepare(
  `INSERT INTO usage_events (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`,
);
const runId = Date.now().toString(36);
const W = Math.min(20_000, Math.max(2000, Math.floor(ROWS / 100)));
const writeRun = (label, f) => {
  const t = performance.now();
  for (let b = 0; b < W; b += 2000) {
    db.transaction(() => {
      for (let i = b; i < b + 2000; i++)
        f(baseRow(`z${label}${runId}${String(i).padStart(8, "0")}`, pickUser()));
    }).immediate();
  }
  return ((performance.now() - t) * 1000) / W;
};
const plainUs = writeRun("p", (r) => plain.run(r));
const writerUs = writeRun("w", (r) => writer.insert(r));
// Take the timed rows out again, so a database kept with --keep times the same data on every
// --db run: the plain rows (not in usage_daily) are deleted; the writer's are deleted and the
// days they were added to are rebuilt with the backfill SQL (usage_daily's triggers keep its
// rollups right). Key ranges, not LIKE: the UNIQUE index finds them without a scan.
db.transaction(() => {
  db.exec("DELETE FROM usage_events WHERE dedupe_key >= 'zp' AND dedupe_key < 'zq'");
  const days = db
    .prepare(
      "SELECT DISTINCT message_ts_ms / 86400000 FROM usage_events WHERE dedupe_key >= 'zw' AND dedupe_key < 'zx'",
    )
    .pluck()
    .all();
  db.exec("DELETE FROM usage_events WHERE dedupe_key >= 'zw' AND dedupe_key < 'zx'");
  const backfill = MIGRATIONS.find((m) => m.version === 11).sql;
  const select = backfillOf11(backfill).replace(
    "WHERE message_ts_ms >= 0 AND message_ts_ms < 253402300800000",
    "WHERE message_ts_ms >= ? AND message_ts_ms < ?",
  );
  if (select.includes("253402300800000"))
    throw new Error("migration 11's backfill SQL changed: update bench-reports.mjs");
  const rebuild = db.prepare(select);
  const clear = db.prepare("DELETE FROM usage_daily WHERE day = ?");
  for (const d of days) {
    clear.run(d);
    rebuild.run(d * 86_400_000, (d + 1) * 86_400_000);
  }
})();

// ---- report --------------------------------------------------------------------------------
const f = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
console.log(
  `\nbench:reports — ${rows.toLocaleString("en")} usage rows, ${users.toLocaleString("en")} users, ${DAYS} days; ` +
    `${dailyRows.toLocaleString("en")} usage_daily rows; db ${sizeMb.toFixed(0)} MB`,
);
console.log(
  `${args.db ? "database reused (--db)" : `generate ${genSeconds.toFixed(0)} s, backfill (migration 11 SQL) ${backfillSeconds.toFixed(1)} s`}, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
);
console.log(`machine: ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}, Node ${process.version}\n`);
console.log(
  "| report | groups | daily aggregates (1st / 2nd run) | raw rows, baseline (1st / 2nd) | same answer |",
);
console.log("|---|---:|---:|---:|---|");
for (const r of results)
  console.log(
    `| \`${r.name}\` | ${r.groups} | ${f(r.agg[0])} / ${f(r.agg[1])} | ${f(r.raw[0])} / ${f(r.raw[1])} | ${r.same ? "yes" : "NO"} |`,
  );
console.log(
  `\nconsumo (queries.answer, direct): p50 ${pct(50).toFixed(2)} ms, p99 ${pct(99).toFixed(2)} ms, max ${lat[lat.length - 1].toFixed(2)} ms (n=${CONSUMO}, users weighted by activity); heaviest user ${heavy.toFixed(2)} ms`,
);
console.log(
  `usage writer per row (2,000-row FULL-sync transactions): ${writerUs.toFixed(1)} µs with the daily upsert vs ${plainUs.toFixed(1)} µs row only`,
);
db.close();
if (dir && !args.keep) rmSync(dir, { recursive: true, force: true });
else log(`kept ${dbPath}`);
if (results.some((r) => !r.same)) process.exitCode = 1;
