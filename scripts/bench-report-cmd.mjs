/**
 * `creditgate report` (src/reports) over a database made by `npm run bench:reports -- --keep`:
 * a month by day in UTC (whole days from usage_daily), the same in a zone that is not UTC (local
 * days read from raw rows), by kind (raw rows), and a week pivot by agent and model.
 *
 *   npm run bench:reports -- --rows 10000000 --keep      # prints "kept <path>"
 *   npm run build && node scripts/bench-report-cmd.mjs --db <path>
 */
import { parseArgs } from "node:util";

const dist = (p) => new URL(`../dist/${p}`, import.meta.url).href;
const { openDatabase } = await import(dist("db/index.js"));
const { runReport, resolveRange } = await import(dist("reports/index.js"));

const { values: args } = parseArgs({ options: { db: { type: "string" } } });
if (!args.db) {
  process.stderr.write("usage: node scripts/bench-report-cmd.mjs --db <file from bench:reports --keep>\n");
  process.exit(2);
}
const db = openDatabase(args.db);
const rows = db.prepare("SELECT COUNT(*) FROM usage_events").pluck().get();
const now = Date.now();
const one = { num: 1n, den: 1n };
const cases = [
  ["--last 30d --by day (UTC)", "UTC", { last: "30d" }, ["day"]],
  ["--last 30d --by day (America/New_York)", "America/New_York", { last: "30d" }, ["day"]],
  ["--last 30d --by kind", "UTC", { last: "30d" }, ["kind"]],
  ["--last 30d --by week,agent,model", "UTC", { last: "30d" }, ["week", "agent", "model"]],
  ["--today --by user --top 10", "UTC", { today: true }, ["user"]],
];
console.log(`\nbench:report-cmd — ${rows.toLocaleString("en")} usage rows (${args.db})\n`);
console.log("| report | rows out | 1st run | 2nd run |");
console.log("|---|---:|---:|---:|");
for (const [name, tz, spec, by] of cases) {
  const q = {
    range: resolveRange(spec, tz, now),
    timeZone: tz,
    by,
    creditsPerUsd: one,
    ...(name.includes("--top") ? { top: 10 } : {}),
  };
  const t1 = performance.now();
  runReport(db, q);
  const ms1 = performance.now() - t1;
  const t2 = performance.now();
  const r = runReport(db, q);
  const ms2 = performance.now() - t2;
  console.log(`| \`${name}\` | ${r.rows.length} | ${ms1.toFixed(0)} ms | ${ms2.toFixed(0)} ms |`);
}
db.close();
