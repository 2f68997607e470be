import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect } from "vitest";
import type { Db } from "../../src/db/index.js";
import { queryUsage, queryUsageRaw } from "../../src/meter/index.js";
import { parseDecimal } from "../../src/money.js";
import { type ReportDim, type ReportFilters, resolveRange, runReport } from "../../src/reports/index.js";
import {
  ARCHIVE_COLUMNS,
  archiveCut,
  decodeArchive,
  loadArchiveRows,
  parseArchiveLine,
  runArchive,
} from "../../src/retention/index.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { writeUsage } from "./support.js";

const START = Date.parse("2026-03-01T00:00:00Z");
const END = Date.parse("2026-04-21T00:00:00Z");
// now − 35 days is in April: the cut is 2026-04-01 (March archived, April kept).
const NOW = Date.parse("2026-05-10T12:00:00Z");
const ZONES = ["UTC", "America/New_York", "Asia/Kolkata"];
const RANGES: [string, string][] = [
  ["2026-03-01", "2026-04-10"], // most of it
  ["2026-03-20", "2026-04-05"], // straddles the cut
  ["2026-03-31", "2026-04-01"], // the local days around the cut
];
const BYS: ReportDim[][] = [
  [],
  ["day"],
  ["week"],
  ["month"],
  ["kind"],
  ["day", "kind"],
  ["user", "model"],
  ["week", "kind", "user"],
];
const FILTERS: ReportFilters[] = [{}, { kind: "dm" }, { user: "telegram:1", model: "gpt-5" }];

/**
 * Every zone × range × grouping × filter (`all`), or (`pairwise`) every zone × range × grouping
 * with one filter each, rotating so that every pair of values of any two of the four dimensions
 * still meets: a third of the queries. The PostgreSQL twin runs pairwise (each query is several
 * round trips: 2 min of CI under load for the full product); SQLite runs all of them over the
 * same SQL builder.
 */
function reports(db: Db, by: ReportDim[][], archiveTable?: string, combos: "all" | "pairwise" = "all") {
  const out: Record<string, unknown> = {};
  for (const [zi, tz] of ZONES.entries())
    for (const [ri, [from, to]] of RANGES.entries())
      for (const [bi, b] of by.entries())
        for (const [fi, f] of FILTERS.entries()) {
          if (combos === "pairwise" && fi !== (zi + ri + bi) % FILTERS.length) continue;
          const r = runReport(db, {
            range: resolveRange({ from, to }, tz, NOW),
            timeZone: tz,
            by: b,
            filters: f,
            creditsPerUsd: parseDecimal("100"),
            archiveTable,
          });
          out[`${tz} ${from}..${to} by ${b.join(",")} ${JSON.stringify(f)}`] = {
            rows: r.rows,
            totals: r.totals,
          };
        }
  return out;
}

/** `creditgate usage` over whole days, quarter-hour edges and short (raw-only) ranges, also across the cut. */
const usageDays = (db: Db, query = queryUsage) =>
  (
    [
      ["2026-03-10T00:00:00Z", "2026-04-10T00:00:00Z"],
      ["2026-03-10T05:15:00Z", "2026-04-10T13:45:00Z"],
      // edges read directly (under half a day) and as their archived day minus the rest (over it)
      ["2026-03-10T18:30:00Z", "2026-03-25T04:15:00Z"],
      ["2026-03-11T03:45:00Z", "2026-03-25T19:45:00Z"],
      ["2026-03-15T02:00:00Z", "2026-03-15T20:00:00Z"],
      ["2026-03-31T20:00:00Z", "2026-04-01T06:00:00Z"],
    ] as const
  ).flatMap(([since, until]) =>
    (["day", "user", "model", "agent"] as const).map((by) =>
      query(db, { by, sinceMs: Date.parse(since), untilMs: Date.parse(until) }),
    ),
  );

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);
  const combos = engine === "postgres" ? "pairwise" : "all";

  describe("retention: reports give the same numbers before and after", () => {
    test("every grouping, filter, zone and range (also straddling the cut) is identical; sessions of archived rows read (archived) unless --archive", async ({
      db,
    }) => {
      writeUsage(db, 3000, START, END, 7);
      const cut = archiveCut(90, NOW);
      expect(new Date(cut.cutMs).toISOString()).toBe("2026-02-01T00:00:00.000Z"); // 90 days: nothing of this data
      expect(archiveCut(35, NOW).cutMs).toBe(Date.parse("2026-04-01T00:00:00Z"));
      const before = reports(db, BYS, undefined, combos);
      const beforeSessions = reports(db, [["session"], ["day", "session"]], undefined, combos);
      const beforeUsage = usageDays(db);
      const balances = db.prepare("SELECT id, balance_micro_credits FROM accounts ORDER BY id").all();
      const ledger = db
        .prepare("SELECT COUNT(*) AS n, SUM(amount_micro_credits) AS s FROM ledger_entries")
        .get();
      const marchRows = db
        .prepare<[number], { n: number }>("SELECT COUNT(*) AS n FROM usage_events WHERE message_ts_ms < ?")
        .get(Date.parse("2026-04-01T00:00:00Z"))?.n;

      const dir = mkdtempSync(join(tmpdir(), "cg-archive-"));
      try {
        const dry = await runArchive(db, { dir, retentionDays: 35, nowMs: NOW, dryRun: true });
        expect(dry.months.map((m) => [m.month, m.rows, m.status])).toEqual([
          ["2026-03", marchRows, "planned"],
        ]);
        expect(readdirSync(dir)).toEqual([]);
        const run = await runArchive(db, { dir, retentionDays: 35, nowMs: NOW });
        expect(run.months).toHaveLength(1);
        expect(run.months[0]?.rows).toBe(marchRows);
        expect(
          db
            .prepare("SELECT COUNT(*) AS n FROM usage_events WHERE message_ts_ms < ?")
            .get(Date.parse("2026-04-01T00:00:00Z")),
        ).toEqual({ n: 0 });
        // a second run finds nothing and changes nothing
        expect((await runArchive(db, { dir, retentionDays: 35, nowMs: NOW })).months).toEqual([]);

        expect(reports(db, BYS, undefined, combos)).toEqual(before);
        expect(usageDays(db)).toEqual(beforeUsage);
        // and equal to the raw rows plus the archived quarter hours
        expect(usageDays(db, queryUsageRaw)).toEqual(beforeUsage);
        // ledger and balances untouched
        expect(db.prepare("SELECT id, balance_micro_credits FROM accounts ORDER BY id").all()).toEqual(
          balances,
        );
        expect(
          db.prepare("SELECT COUNT(*) AS n, SUM(amount_micro_credits) AS s FROM ledger_entries").get(),
        ).toEqual(ledger);

        // Sessions degrade to "(archived)" for archived rows, totals unchanged...
        const afterSessions = reports(db, [["session"], ["day", "session"]], undefined, combos);
        for (const [k, v] of Object.entries(afterSessions)) {
          expect((v as { totals: unknown }).totals, k).toEqual(
            (beforeSessions[k] as { totals: unknown }).totals,
          );
        }
        const all = afterSessions[`UTC 2026-03-01..2026-04-10 by session {}`] as {
          rows: { group: { session: string } }[];
        };
        expect(all.rows.map((r) => r.group.session)).toContain("(archived)");
        // ...and are exact again with the archive files (report --archive DIR).
        const loaded = loadArchiveRows(db, dir, START, END);
        expect(loaded.rows).toBe(marchRows);
        expect(reports(db, [["session"], ["day", "session"]], loaded.table, combos)).toEqual(beforeSessions);
        expect(reports(db, BYS, loaded.table, combos)).toEqual(before);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 300_000);

    test("the archive file is zstd JSONL of the documented columns, exact past 2^53, readable by zstd -d", async ({
      db,
    }) => {
      writeUsage(db, 300, START, Date.parse("2026-03-31T00:00:00Z"), 3);
      const rows = db.prepare("SELECT * FROM usage_events ORDER BY id").safeIntegers(true).all() as Record<
        string,
        unknown
      >[];
      const dir = mkdtempSync(join(tmpdir(), "cg-archive-"));
      try {
        const run = await runArchive(db, { dir, retentionDays: 35, nowMs: NOW });
        const file = join(dir, run.months[0]?.file ?? "");
        const lines = decodeArchive(readFileSync(file)).trimEnd().split("\n");
        expect(lines).toHaveLength(300);
        const first = JSON.parse(lines[0] ?? "{}");
        expect(Object.keys(first)).toEqual([...ARCHIVE_COLUMNS]);
        const back = lines.map(parseArchiveLine);
        for (const [i, r] of back.entries()) {
          const orig = rows[i] as Record<string, unknown>;
          for (const c of ARCHIVE_COLUMNS) if (c !== "kind") expect(r[c], c).toEqual(orig[c] ?? null);
        }
        expect(back.some((r) => r.recorded_cost_pico_usd === 9_007_199_254_740_993n)).toBe(true);
        let zstdOut: string | null = null;
        try {
          zstdOut = execFileSync("zstd", ["-dc", file], { encoding: "utf8" });
        } catch {
          // zstd not installed: the in-process decoder above already read it
        }
        if (zstdOut !== null) expect(zstdOut.trimEnd().split("\n")).toEqual(lines);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
