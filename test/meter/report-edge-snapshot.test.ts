import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { assertAccountId } from "../../src/credits/account-id.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { queryUsage, queryUsageRaw, type UsageQuery } from "../../src/meter/report.js";
import { reportThreadStats } from "../../src/meter/report-thread.js";
import { createUsageWriter, DAY_MS } from "../../src/meter/usage-repo.js";
import { parseDecimal } from "../../src/money.js";
import { type ReportDim, type ReportFilters, runReport } from "../../src/reports/index.js";
import { runArchive } from "../../src/retention/index.js";
import { rng } from "../support/rng.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { grantEntries, grantEntry, usageRow } from "../support/usage-data.js";

// Edges read as "day minus the rest" in one snapshot, splits by agent/model, archived edge days.
const D0 = Date.UTC(2026, 2, 10); // March: archived below
const NOW = Date.UTC(2026, 4, 10, 12);
const H = DAY_MS / 2;
const Q = 900_000;
const USERS = [
  "",
  "a",
  "a\u0000",
  "é",
  "e\u0301",
  "😀",
  "\uffff",
  "telegram:1",
  "Telegram:1",
  "u:mid",
  "z",
].filter((u) => {
  try {
    assertAccountId(u);
    return true;
  } catch {
    return false;
  }
});
const AGENTS = ["main", "ops", "ü", ""];
const MODELS = [
  ["anthropic", "m1"],
  ["openai", "gpt-5"],
  ["a/b", "c"],
  ["a", "b/c"],
] as const;

function row(i: number, entry: number, account: string, ts: number, r: ReturnType<typeof rng>, big: boolean) {
  const [provider, model] = r.pick(MODELS);
  const input = r.int(5000);
  const src = r.pick(["table", "fallback", "provider-billed"]);
  return usageRow({
    dedupe_key: `k${i}`,
    ledger_entry_id: entry,
    account_id: account,
    agent_id: r.pick(AGENTS),
    session_key: r.pick([null, "agent:main:main", "agent:main:telegram:direct:1"]),
    source_ref: `f@${i}`,
    provider,
    model,
    message_ts_ms: ts,
    input_tokens: input,
    is_error: r.int(7) === 0 ? 1 : 0,
    cost_pico_usd: big ? 2n ** 53n + BigInt(r.int(1000)) : BigInt(r.int(1e9)),
    table_cost_pico_usd: r.int(3) === 0 ? null : r.int(1e9),
    charge_micro_credits: r.int(100000),
    price_source: src,
    created_at_ms: D0,
  });
}

/** Rows on 8 days from D0 (March) and 3 in April, some only near midnights / midday, some huge. */
function write(db: Db, n: number, seed: number): void {
  const r = rng(seed);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    const entry = grantEntries(db, [...USERS, "rest-only", "huge-rest"], D0);
    const days = [0, 1, 2, 3, 4, 5, 6, 7, 22, 23, 24, 25];
    for (let i = 0; i < n; i++) {
      const day = D0 + r.pick(days) * DAY_MS;
      const k = r.int(6);
      const off =
        k === 0
          ? r.pick([0, 1, DAY_MS - 1, H - 1, H, H + 1, Q - 1, Q, Q + 1])
          : k === 1
            ? r.int(DAY_MS / Q) * Q + r.pick([-1, 0, 1])
            : r.int(DAY_MS);
      const account = r.pick(USERS);
      writer.insert(
        row(i, entry.get(account) as number, account, day + Math.max(0, off), r, r.int(60) === 0),
      );
    }
    // accounts whose calls are only in the first/last hour of each day (the subtracted rests)
    for (let d = 0; d < 26; d++)
      for (const [j, off] of [5, 60_000, DAY_MS - 60_000, DAY_MS - 1].entries()) {
        writer.insert(
          row(n + d * 10 + j, entry.get("rest-only") as number, "rest-only", D0 + d * DAY_MS + off, r, false),
        );
        writer.insert(
          row(
            n + 1000 + d * 10 + j,
            entry.get("huge-rest") as number,
            "huge-rest",
            D0 + d * DAY_MS + off,
            r,
            true,
          ),
        );
      }
  })();
}

const BYS = ["user", "agent", "model", "day"] as const;
function points(r: ReturnType<typeof rng>): number {
  const d = D0 + (r.int(30) - 1) * DAY_MS;
  return (
    d +
    r.pick([
      0,
      1,
      -1,
      H,
      H - 1,
      H + 1,
      DAY_MS - 1,
      3_600_000,
      DAY_MS - 3_600_000,
      7 * Q + 450_000,
      r.int(DAY_MS),
      r.int(96) * Q,
      r.int(96) * Q + 1,
    ])
  );
}

function usageQueries(r: ReturnType<typeof rng>, n: number): UsageQuery[] {
  const out: UsageQuery[] = [];
  for (let i = 0; i < n; i++) {
    let a = points(r);
    let b = points(r);
    if (b < a) [a, b] = [b, a];
    const q: UsageQuery = { by: r.pick(BYS), sinceMs: a, untilMs: b };
    if (r.int(5) === 0) q.agent = r.pick(AGENTS.filter(Boolean));
    if (r.int(5) === 0) q.model = r.pick(["gpt-5", "a/b/c", "openai/gpt-5", "b/c"]);
    if (r.int(8) === 0) q.user = r.pick(USERS.filter(Boolean));
    out.push(q);
  }
  return out;
}

/** runReport grouped by dims, summed from a (raw-only) grouping that also has session. */
function rawReport(db: Db, fromMs: number, toMs: number, by: ReportDim[], filters: ReportFilters) {
  const rep = runReport(db, {
    range: { fromMs, toMs },
    timeZone: "UTC",
    by: [...by, "session"],
    filters,
    creditsPerUsd: parseDecimal("1"),
    latency: false,
  });
  const m = new Map<string, [number, number, number, bigint, number]>();
  for (const x of rep.rows) {
    const k = JSON.stringify(by.map((d) => x.group[d]));
    const g = m.get(k) ?? [0, 0, 0, 0n, 0];
    g[0] += x.requests;
    g[1] += x.errors;
    g[2] += x.inputTokens;
    g[3] += BigInt(x.costPicoUsd);
    g[4] += x.chargedMicroCredits;
    m.set(k, g);
  }
  return [...m.entries()].map(([k, g]) => [k, g[0], g[1], g[2], g[3].toString(), g[4]]).sort();
}
function fastReport(db: Db, fromMs: number, toMs: number, by: ReportDim[], filters: ReportFilters) {
  const rep = runReport(db, {
    range: { fromMs, toMs },
    timeZone: "UTC",
    by,
    filters,
    creditsPerUsd: parseDecimal("1"),
    latency: false,
  });
  return rep.rows
    .map((x) => [
      JSON.stringify(by.map((d) => x.group[d])),
      x.requests,
      x.errors,
      x.inputTokens,
      x.costPicoUsd,
      x.chargedMicroCredits,
    ])
    .sort();
}

function checkAll(db: Db, engine: string, seed: number) {
  const r = rng(seed);
  let nonEmpty = 0;
  for (const q of usageQueries(r, 250)) {
    const raw = JSON.stringify(queryUsageRaw(db, q));
    if (raw !== "[]") nonEmpty++;
    const opts =
      engine === "sqlite" && q.by !== "day"
        ? [{}, { splitMinRows: 0 }, { splitMinRows: 0, splitShare: r.pick([0, 0.1, 0.5, 0.9, 1]) }]
        : [{}];
    for (const o of opts)
      expect(JSON.stringify(queryUsage(db, q, o)), `${JSON.stringify(q)} ${JSON.stringify(o)}`).toBe(raw);
  }
  expect(nonEmpty).toBeGreaterThan(100);
  const dimsList: ReportDim[][] = [
    [],
    ["user"],
    ["agent"],
    ["model"],
    ["provider"],
    ["user", "model"],
    ["day"],
    ["day", "agent"],
  ];
  for (let i = 0; i < 60; i++) {
    let a = points(r);
    let b = points(r);
    if (b < a) [a, b] = [b, a];
    if (a === b) continue;
    const by = r.pick(dimsList);
    const f: ReportFilters = {};
    if (r.int(5) === 0) f.agent = r.pick(AGENTS);
    if (r.int(5) === 0) f.model = r.pick(["gpt-5", "a/b/c"]);
    if (r.int(6) === 0) f.user = r.pick(USERS);
    expect(fastReport(db, a, b, by, f), `${a} ${b} ${by} ${JSON.stringify(f)}`).toEqual(
      rawReport(db, a, b, by, f),
    );
  }
}

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);
  test("edges as their day minus the rest, split by agent/model, before and after archiving", async ({
    db,
  }) => {
    write(db, 4000, 3);
    const before = reportThreadStats();
    checkAll(db, engine, 11);
    const dir = mkdtempSync(join(tmpdir(), "cg-bt10b-"));
    try {
      const run = await runArchive(db, { dir, retentionDays: 35, nowMs: NOW });
      expect(run.months.map((m) => m.month)).toEqual(["2026-03"]);
      checkAll(db, engine, 12);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(reportThreadStats().failed).toBe(before.failed);
    // the split cases are not vacuous: the thread answered some
    if (engine === "sqlite") expect(reportThreadStats().answered).toBeGreaterThan(before.answered + 50);
  }, 300_000);
});

/**
 * Runs `fn` with `db.prepare` hooked: before the first statement whose SQL matches `when` is
 * prepared, `write` runs on a SECOND connection to the same file (another process committing a
 * call between two statements of the report).
 */
function withWriteBefore<T>(db: Db, when: (sql: string) => boolean, write: () => void, fn: () => T): T {
  const orig = db.prepare;
  let done = false;
  (db as unknown as { prepare: (sql: string) => unknown }).prepare = function (this: Db, sql: string) {
    if (!done && when(sql)) {
      done = true;
      write();
    }
    return orig.call(this, sql);
  };
  try {
    return fn();
  } finally {
    db.prepare = orig;
  }
}

/** One call of a new account `late` at `ts`, committed on its own connection. */
function lateCall(path: string, ts: number, key: string): void {
  const other = openDatabase(path);
  try {
    const entry = grantEntry(other, "late", D0, `g:late:${key}`);
    createUsageWriter(other).insert(row(900_000 + (ts % 1000), entry, "late", ts, rng(1), false));
  } finally {
    other.close();
  }
}

describe("sqlite: a call committed while a report runs", () => {
  const test = testOn("sqlite");
  // Range [D0 + 1 h, D0 + 3 d): its first edge (23 h) is read as day D0 minus [D0, D0 + 1 h).
  // A call at D0 + 30 min is OUTSIDE the range whenever it is committed: no report may show it.
  const since = D0 + 3_600_000;
  const until = D0 + 3 * DAY_MS;
  test("runReport: a call in the subtracted rest, committed after the day's aggregate was read, is not a row of -1 request", ({
    db,
  }) => {
    write(db, 300, 5);
    const rep = withWriteBefore(
      db,
      (sql) => /FROM usage_events/.test(sql) && /message_ts_ms >= \?/.test(sql),
      () => lateCall(db.name, D0 + 1_800_000, "r"),
      () =>
        runReport(db, {
          range: { fromMs: since, toMs: until },
          timeZone: "UTC",
          by: ["user"],
          creditsPerUsd: parseDecimal("1"),
          latency: false,
        }),
    );
    expect(rep.rows.find((x) => x.group.user === "late")).toBeUndefined();
    expect(rep.totals.requests).toBe(
      runReport(db, {
        range: { fromMs: since, toMs: until },
        timeZone: "UTC",
        by: [],
        creditsPerUsd: parseDecimal("1"),
      }).totals.requests,
    );
  });
  test("runReport by local day: a call before the range, committed between a UTC day and its subtracted hours, is not a row", ({
    db,
  }) => {
    write(db, 300, 7);
    // New York days (UTC-4 in March 2026): the first, [D0 + 4 h, D0 + 28 h), is UTC day D0 minus
    // [D0, D0 + 4 h): a call at D0 + 1 h is before the range
    const range = { fromMs: D0 + 4 * 3_600_000, toMs: D0 + 3 * DAY_MS + 4 * 3_600_000 };
    const rep = withWriteBefore(
      db,
      (sql) => /FROM usage_events/.test(sql) && /message_ts_ms >= \?/.test(sql),
      () => lateCall(db.name, D0 + 3_600_000, "l"),
      () =>
        runReport(db, {
          range,
          timeZone: "America/New_York",
          by: ["day", "user"],
          creditsPerUsd: parseDecimal("1"),
          latency: false,
        }),
    );
    expect(rep.rows.find((x) => x.group.user === "late")).toBeUndefined();
  });
  for (const [name, opts] of [
    ["", {}],
    [" (split with the report thread)", { splitMinRows: 0 }],
  ] as const)
    test(`queryUsage${name}: a call in the subtracted rest, committed while the report runs, is not counted`, ({
      db,
    }) => {
      write(db, 300, 6);
      const q = { by: "user" as const, sinceMs: since, untilMs: until };
      // before the first read of a day's aggregate, and before the rest of an edge day is read
      for (const [k, when] of [
        (sql: string) => /FROM usage_daily/.test(sql) && /GROUP BY/.test(sql),
        (sql: string) => /FROM usage_events/.test(sql) && /message_ts_ms >= \?/.test(sql),
      ].entries()) {
        const fast = withWriteBefore(
          db,
          when,
          () => lateCall(db.name, D0 + 1_800_000 + k, `q${k}${name}`),
          () => queryUsage(db, q, opts),
        );
        expect(fast.find((x) => x.key === "late")).toBeUndefined();
        expect(fast).toEqual(queryUsageRaw(db, q));
      }
    });
});
