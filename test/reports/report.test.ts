import { describe, expect } from "vitest";
import type { Db } from "../../src/db/index.js";
import { queryUsage } from "../../src/meter/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import { formatPicoUsd, parseDecimal } from "../../src/money.js";
import {
  csvField,
  fixedDecimals,
  REPORT_DIMS,
  type ReportDim,
  type ReportFilters,
  reportCsv,
  reportTable,
  runReport,
  SESSION_KINDS,
  sessionKind,
} from "../../src/reports/index.js";
import { rng } from "../support/rng.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { grantEntries, grantEntry, usageRow } from "../support/usage-data.js";

const H = 3_600_000;
// Around the 2026 New York / Berlin spring-forward days (2026-03-08 / 2026-03-29).
const START = Date.parse("2026-03-01T00:00:00Z");
const SPAN_DAYS = 35;

const USERS = ["telegram:1", "telegram:2", "agent:main", "discord:x"];
const AGENTS = ["main", "ops"];
const MODELS = [
  ["anthropic", "claude-sonnet-4-5"],
  ["openai", "gpt-5"],
  ["openrouter", "openai/gpt-5"],
] as const;
const KEYS = [
  "agent:main:main",
  "agent:main:telegram:direct:1",
  "agent:main:telegram:group:-100:topic:3",
  "agent:main:subagent:abc",
  "agent:main:cron:nightly:run:1",
  "agent:main:hook:gmail",
  "agent:main:heartbeat",
  null,
];

interface Stored {
  account_id: string;
  agent_id: string;
  session_key: string | null;
  session_id: string | null;
  provider: string;
  model: string;
  message_ts_ms: number;
  is_error: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  total_tokens: number;
  cost_pico_usd: bigint;
  charge_micro_credits: number;
  /** The charge's USD value at its own rate (migration 42); null: billed before, rate unknown. */
  charge_pico_usd: bigint | null;
  /** 0: the difference billed for a later copy of a call (migration 39), no request of its own. */
  requests: number;
}

function writeRows(db: Db, n: number, seed: number): Stored[] {
  const r = rng(seed);
  const writer = createUsageWriter(db);
  const out: Stored[] = [];
  db.transaction(() => {
    const entry = grantEntries(db, USERS, START);
    for (let i = 0; i < n; i++) {
      const [provider, model] = r.pick(MODELS);
      const input = r.int(5000);
      const output = r.int(2000);
      const stored: Stored = {
        account_id: r.pick(USERS),
        agent_id: r.pick(AGENTS),
        session_key: r.pick(KEYS),
        session_id: r.int(3) === 0 ? null : `s${r.int(4)}`,
        provider,
        model,
        // near midnights (UTC and local) and at random
        message_ts_ms:
          r.int(3) === 0
            ? START + r.int(SPAN_DAYS) * 24 * H + r.pick([-1, 0, 1, 4 * H, 5 * H - 1, 23 * H])
            : START + r.int(SPAN_DAYS * 24 * H),
        is_error: r.int(8) === 0 ? 1 : 0,
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: r.int(3) === 0 ? r.int(9000) : 0,
        cache_write_tokens: r.int(4) === 0 ? r.int(3000) : 0,
        total_tokens: 0,
        cost_pico_usd: BigInt(r.int(1e9)) * 1000n,
        charge_micro_credits: r.int(100_000),
        // a third billed before migration 42 (no rate recorded), the rest at rates of their own
        charge_pico_usd: null,
        // every 7th row a later copy's difference (never all zero: a billed row has a token)
        requests: i % 7 === 3 ? 0 : 1,
      };
      if (r.int(3) !== 0) stored.charge_pico_usd = BigInt(r.int(1e9)) * 1000n + BigInt(r.int(1000));
      if (stored.requests === 0) {
        stored.output_tokens += 1;
        stored.is_error = 0;
      }
      stored.total_tokens = input + output + stored.cache_read_tokens + stored.cache_write_tokens;
      out.push(stored);
      writer.insert(
        usageRow({
          ...stored,
          dedupe_key: `k${i}`,
          ledger_entry_id: entry.get(stored.account_id) as number,
          source_ref: `f@${i}`,
          created_at_ms: START,
        }),
      );
    }
  })();
  return out;
}

/** The local calendar label of an instant, straight from Intl (independent of src/limits/windows.ts). */
function localLabel(ms: number, tz: string, period: "day" | "week" | "month"): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(ms)
      .map((p) => [p.type, p.value]),
  );
  const day = `${parts.year}-${parts.month}-${parts.day}`;
  if (period === "day") return day;
  if (period === "month") return day.slice(0, 7);
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

function groupValue(s: Stored, d: ReportDim, tz: string): string {
  switch (d) {
    case "day":
    case "week":
    case "month":
      return localLabel(s.message_ts_ms, tz, d);
    case "agent":
      return s.agent_id;
    case "model":
      return `${s.provider}/${s.model}`;
    case "provider":
      return s.provider;
    case "user":
      return s.account_id;
    case "session":
      return s.session_key ?? (s.session_id ? `session:${s.session_id}` : "(none)");
    case "kind":
      return sessionKind(s.session_key);
  }
}

/** The reference: a plain scan of every stored row in JS. */
function reference(
  rows: Stored[],
  fromMs: number,
  toMs: number,
  tz: string,
  by: ReportDim[],
  f: ReportFilters,
) {
  const groups = new Map<
    string,
    { requests: number; errors: number; input: number; cost: bigint; charged: number; chargedPico: bigint }
  >();
  for (const s of rows) {
    if (s.message_ts_ms < fromMs || s.message_ts_ms >= toMs) continue;
    if (f.user && s.account_id !== f.user) continue;
    if (f.agent && s.agent_id !== f.agent) continue;
    if (f.provider && s.provider !== f.provider) continue;
    if (f.model && `${s.provider}/${s.model}` !== f.model && s.model !== f.model) continue;
    if (f.kind && sessionKind(s.session_key) !== f.kind) continue;
    const key = JSON.stringify(by.map((d) => groupValue(s, d, tz)));
    const g = groups.get(key) ?? { requests: 0, errors: 0, input: 0, cost: 0n, charged: 0, chargedPico: 0n };
    g.requests += s.requests;
    g.errors += s.is_error;
    g.input += s.input_tokens;
    g.cost += s.cost_pico_usd;
    g.charged += s.charge_micro_credits;
    // at its own rate; a row of unknown rate at the report's (1 credit per USD)
    g.chargedPico += s.charge_pico_usd ?? BigInt(s.charge_micro_credits) * 1_000_000n;
    groups.set(key, g);
  }
  return [...groups.entries()]
    .map(
      ([k, g]) =>
        [
          k,
          g.requests,
          g.errors,
          g.input,
          g.cost.toString(),
          g.charged,
          formatPicoUsd(g.chargedPico),
        ] as const,
    )
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

const ONE = parseDecimal("1");

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("runReport", () => {
    test("equals a scan of the raw rows for random groupings, filters, zones and ranges (DST included)", ({
      db,
    }) => {
      const rows = writeRows(db, 1500, 7);
      const r = rng(99);
      const zones = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Havana"];
      const keyDims = REPORT_DIMS.filter((d) => !["day", "week", "month"].includes(d));
      for (let i = 0; i < 80; i++) {
        const tz = r.pick(zones);
        const by: ReportDim[] = [];
        if (r.int(2) === 0) by.push(r.pick(["day", "week", "month"] as const));
        for (const d of keyDims) if (r.int(5) === 0) by.push(d);
        const f: ReportFilters = {};
        if (r.int(6) === 0) f.user = r.pick(USERS);
        if (r.int(6) === 0) f.agent = r.pick(AGENTS);
        if (r.int(6) === 0) f.provider = r.pick(MODELS)[0];
        if (r.int(6) === 0) f.model = r.pick(["gpt-5", "openai/gpt-5", "anthropic/claude-sonnet-4-5"]);
        if (r.int(6) === 0) f.kind = r.pick(SESSION_KINDS);
        const fromMs = START + r.int(10) * 24 * H + r.pick([0, 1, -1, 5 * H, r.int(24 * H)]);
        const toMs = fromMs + r.pick([1, H, 24 * H, 23 * H, 3 * 24 * H, 20 * 24 * H + r.int(24 * H)]);
        const report = runReport(db, {
          range: { fromMs, toMs },
          timeZone: tz,
          by,
          filters: f,
          creditsPerUsd: ONE,
        });
        const got = report.rows
          .map(
            (row) =>
              [
                JSON.stringify(by.map((d) => row.group[d])),
                row.requests,
                row.errors,
                row.inputTokens,
                row.costPicoUsd,
                row.chargedMicroCredits,
                row.chargedUsd,
              ] as const,
          )
          .sort((a, b) => (a[0] < b[0] ? -1 : 1));
        expect(got, JSON.stringify({ tz, by, f, fromMs, toMs })).toEqual(
          reference(rows, fromMs, toMs, tz, by, f),
        );
        expect(report.totals.requests).toBe(got.reduce((n, g) => n + g[1], 0));
      }
    });

    test("gives the same numbers as `creditgate usage` (meter queryUsage) over the same range", ({ db }) => {
      writeRows(db, 600, 3);
      const range = { fromMs: START + 5 * H, toMs: START + 12 * 24 * H + 7 * H };
      for (const [by, usageBy] of [
        ["user", "user"],
        ["agent", "agent"],
        ["model", "model"],
        ["day", "day"],
      ] as const) {
        const report = runReport(db, { range, timeZone: "UTC", by: [by], creditsPerUsd: ONE });
        const usage = queryUsage(db, { sinceMs: range.fromMs, untilMs: range.toMs, by: usageBy });
        const norm = (xs: { k: string; n: number; c: string; m: number }[]) =>
          xs.sort((a, b) => (a.k < b.k ? -1 : 1));
        expect(
          norm(
            report.rows.map((x) => ({
              k: x.group[by] ?? "",
              n: x.requests,
              c: x.costPicoUsd,
              m: x.chargedMicroCredits,
            })),
          ),
        ).toEqual(
          norm(usage.map((u) => ({ k: u.key, n: u.requests, c: u.costPicoUsd, m: u.chargedMicros }))),
        );
      }
    });

    test("--top keeps the costliest groups; totals still count everything; margin at the credit rate", ({
      db,
    }) => {
      const range = { fromMs: START, toMs: START + SPAN_DAYS * 24 * H + H };
      // (a row 1 ms before START, drawn near a midnight, is outside the range)
      const rows = writeRows(db, 400, 11).filter((s) => s.message_ts_ms >= range.fromMs);
      const all = runReport(db, { range, timeZone: "UTC", by: ["user"], creditsPerUsd: ONE });
      const top = runReport(db, { range, timeZone: "UTC", by: ["user"], top: 2, creditsPerUsd: ONE });
      expect(top.rows.map((x) => x.group.user)).toEqual(all.rows.slice(0, 2).map((x) => x.group.user));
      expect(BigInt(all.rows[0]?.costPicoUsd ?? 0)).toBeGreaterThanOrEqual(
        BigInt(all.rows[1]?.costPicoUsd ?? 0),
      );
      expect(top.totals).toEqual(all.totals);
      expect(all.totals.requests).toBe(rows.reduce((n, s) => n + s.requests, 0));
      // 2 credits per USD: a charge of 1 credit is worth 0.5 USD.
      const two = runReport(db, { range, timeZone: "UTC", by: [], creditsPerUsd: parseDecimal("2") });
      const cost = rows.reduce((n, s) => n + s.cost_pico_usd, 0n);
      // a row of unknown rate at today's: micro-credits × 10^6 / 2; the others at their own rate
      const chargedPico = rows.reduce(
        (n, s) => n + (s.charge_pico_usd ?? BigInt(s.charge_micro_credits) * 500_000n),
        0n,
      );
      const fmt = (p: bigint) =>
        `${p < 0n ? "-" : ""}${(p < 0n ? -p : p)
          .toString()
          .padStart(13, "0")
          .replace(/(\d{12})$/, ".$1")
          .replace(/\.?0+$/, "")}`;
      expect(two.totals.marginUsd).toBe(fmt(chargedPico - cost));
      expect(two.rows).toHaveLength(1);
      expect(
        runReport(db, { range, timeZone: "UTC", by: [], creditsPerUsd: parseDecimal("0") }).totals.marginUsd,
      ).toBeNull();
    });

    test("top with only a time dimension keeps the costliest buckets, in time order", ({ db }) => {
      writeRows(db, 300, 5);
      const range = { fromMs: START, toMs: START + 10 * 24 * H };
      const all = runReport(db, { range, timeZone: "UTC", by: ["day"], creditsPerUsd: ONE });
      const top = runReport(db, { range, timeZone: "UTC", by: ["day"], top: 3, creditsPerUsd: ONE });
      const costliest = [...all.rows]
        .sort((a, b) => (BigInt(b.costPicoUsd) > BigInt(a.costPicoUsd) ? 1 : -1))
        .slice(0, 3);
      expect(top.rows.map((x) => x.group.day)).toEqual(costliest.map((x) => x.group.day).sort());
    });

    test("bad groupings are refused", ({ db }) => {
      const base = { range: { fromMs: 0, toMs: 1 }, timeZone: "UTC", creditsPerUsd: ONE };
      expect(() => runReport(db, { ...base, by: ["day", "month"] })).toThrow(
        /at most one of day, week, month/,
      );
      expect(() => runReport(db, { ...base, by: ["user", "user"] })).toThrow(/repeated/);
      expect(() => runReport(db, { ...base, by: [], filters: { kind: "bogus" as never } })).toThrow(/--kind/);
    });
  });

  describe("CSV", () => {
    test.each([
      ["plain", "plain"],
      ["", ""],
      ["a,b", '"a,b"'],
      ['say "hi"', '"say ""hi"""'],
      ["line\nbreak", '"line\nbreak"'],
      ["cr\rlf", '"cr\rlf"'],
      [" padded", '" padded"'],
      ['=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"'],
      ["+1 555", "'+1 555"],
      ["-cmd", "'-cmd"],
      ["@sum", "'@sum"],
      [" =1+1", "' =1+1"],
      ["\u3000=1", "'\u3000=1"],
      ["＝HYPERLINK(1)", "'＝HYPERLINK(1)"],
      ["＠x", "'＠x"],
      ["a=b", "a=b"],
      ["-0.25", "-0.25"],
      ["12", "12"],
      ["telegram:5550101", "telegram:5550101"],
      ["whatsapp:+5491112345678", "whatsapp:+5491112345678"],
      ["ñ€😀", "ñ€😀"],
    ])("%j → %s", (value, field) => {
      expect(csvField(value)).toBe(field);
    });

    test("a report as CSV: stable header, CRLF lines, one column per dimension", ({ db }) => {
      writeRows(db, 50, 1);
      const report = runReport(db, {
        range: { fromMs: START, toMs: START + SPAN_DAYS * 24 * H },
        timeZone: "UTC",
        by: ["kind", "user"],
        creditsPerUsd: ONE,
      });
      const csv = reportCsv(report);
      const lines = csv.split("\r\n");
      expect(lines[0]).toBe(
        "kind,user,requests,errors,success_rate_pct,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,total_tokens,cost_usd,charged_credits,charged_usd,margin_usd,avg_latency_ms,p95_latency_ms",
      );
      expect(lines).toHaveLength(report.rows.length + 2); // header + rows + the empty string after the last CRLF
      expect(lines.at(-1)).toBe("");
      const table = reportTable(report);
      expect(table.rows.at(-1)?.[0]).toBe("total");
    });
  });

  describe("report output cosmetics", () => {
    test("CSV decimal columns have fixed decimals, exact, whatever the values (no float text)", ({ db }) => {
      writeRows(db, 80, 7);
      const report = runReport(db, {
        range: { fromMs: START, toMs: START + SPAN_DAYS * 24 * H },
        timeZone: "UTC",
        by: ["user", "model"],
        creditsPerUsd: { num: 3n, den: 7n }, // a rate with no short decimal expansion
      });
      const [header, ...lines] = reportCsv(report).trimEnd().split("\r\n");
      const cols = (header as string).split(",");
      const col = (name: string) => cols.indexOf(name);
      const fixed: [string, RegExp][] = [
        ["success_rate_pct", /^\d{1,3}\.\d$/],
        ["cost_usd", /^\d+\.\d{12}$/],
        ["charged_credits", /^-?\d+\.\d{6}$/],
        ["charged_usd", /^\d+\.\d{12}$/],
        ["margin_usd", /^-?\d+\.\d{12}$/],
      ];
      expect(lines.length).toBeGreaterThan(3);
      for (const line of lines) {
        const cells = line.split(","); // user ids and models here hold no comma
        for (const [name, re] of fixed) expect(cells[col(name)], `${name} in ${line}`).toMatch(re);
        // exact: the padded text is the row's exact USD string
        const row = report.rows[lines.indexOf(line)];
        const a = parseDecimal(cells[col("cost_usd")] as string);
        const b = parseDecimal(row?.costUsd as string);
        expect(a.num * b.den).toBe(b.num * a.den);
      }
      expect(fixedDecimals("3", 2)).toBe("3.00");
      expect(fixedDecimals("-0.25", 4)).toBe("-0.2500");
      expect(() => fixedDecimals("0.125", 2)).toThrow(RangeError);
    });

    test("a single-row report prints its line once (no duplicate total); several rows get a total", ({
      db,
    }) => {
      writeRows(db, 30, 3);
      const range = { fromMs: START, toMs: START + SPAN_DAYS * 24 * H };
      const plain = reportTable(runReport(db, { range, timeZone: "UTC", by: [], creditsPerUsd: ONE }));
      expect(plain.rows).toHaveLength(1);
      const oneAgent = reportTable(
        runReport(db, {
          range,
          timeZone: "UTC",
          by: ["agent"],
          filters: { agent: "main" },
          creditsPerUsd: ONE,
        }),
      );
      expect(oneAgent.rows.map((r) => r[0])).toEqual(["main"]);
      const both = reportTable(runReport(db, { range, timeZone: "UTC", by: ["agent"], creditsPerUsd: ONE }));
      expect(both.rows.map((r) => r[0]).sort()).toEqual(["main", "ops", "total"]);
      expect(both.rows.at(-1)?.[0]).toBe("total");
      // --top 1 of two: the row is not the whole report, so the total stays.
      const top = reportTable(
        runReport(db, { range, timeZone: "UTC", by: ["agent"], top: 1, creditsPerUsd: ONE }),
      );
      expect(top.rows.at(-1)?.[0]).toBe("total");
      expect(top.rows).toHaveLength(2);
    });
  });

  /** One call at `atIso` costing `usd` whole USD (agent main, openai/gpt-5). */
  function callAt(db: Db, atIso: string, usd: number, n: number): void {
    const at = Date.parse(atIso);
    const entry = grantEntry(db, "telegram:1", at, `dst${n}`);
    createUsageWriter(db).insert(
      usageRow({
        dedupe_key: `dst${n}`,
        ledger_entry_id: entry,
        account_id: "telegram:1",
        agent_id: n % 2 ? "main" : "ops",
        source: "push",
        source_ref: "t",
        message_ts_ms: at,
        cost_pico_usd: BigInt(usd) * 1_000_000_000_000n,
        price_version: "t",
      }),
    );
  }

  describe("DST days by day (23 and 25 hours), from UTC-day aggregates ± the raw hours between midnights", () => {
    // Each call costs a distinct power of two, so a day's cost names exactly the calls it holds.
    const cases = [
      {
        name: "Europe/Madrid spring forward (2026-03-29, 23 h)",
        tz: "Europe/Madrid",
        from: "2026-03-28T00:00:00+01:00",
        to: "2026-03-31T00:00:00+02:00",
        calls: [
          "2026-03-28T23:59:59.999+01:00", // 1: the day before
          "2026-03-29T00:00:00+01:00", // 2: local midnight = 2026-03-28 23:00 UTC
          "2026-03-29T01:59:59.999+01:00", // 4: the last instant before the gap
          "2026-03-29T03:00:00+02:00", // 8: the first instant after it
          "2026-03-29T23:59:59.999+02:00", // 16
          "2026-03-30T00:00:00+02:00", // 32: the next day
        ],
        days: { "2026-03-28": 1, "2026-03-29": 30, "2026-03-30": 32 },
        hours: 23,
      },
      {
        name: "Europe/Madrid fall back (2026-10-25, 25 h)",
        tz: "Europe/Madrid",
        from: "2026-10-24T00:00:00+02:00",
        to: "2026-10-27T00:00:00+01:00",
        calls: [
          "2026-10-24T23:59:59.999+02:00", // 1
          "2026-10-25T00:00:00+02:00", // 2
          "2026-10-25T02:30:00+02:00", // 4: the first 02:30
          "2026-10-25T02:30:00+01:00", // 8: the repeated 02:30
          "2026-10-25T23:59:59.999+01:00", // 16
          "2026-10-26T00:00:00+01:00", // 32
        ],
        days: { "2026-10-24": 1, "2026-10-25": 30, "2026-10-26": 32 },
        hours: 25,
      },
      {
        name: "America/New_York spring forward (2026-03-08, 23 h)",
        tz: "America/New_York",
        from: "2026-03-07T00:00:00-05:00",
        to: "2026-03-10T00:00:00-04:00",
        calls: [
          "2026-03-07T23:59:59.999-05:00",
          "2026-03-08T00:00:00-05:00",
          "2026-03-08T01:59:59.999-05:00",
          "2026-03-08T03:00:00-04:00",
          "2026-03-08T23:59:59.999-04:00",
          "2026-03-09T00:00:00-04:00",
        ],
        days: { "2026-03-07": 1, "2026-03-08": 30, "2026-03-09": 32 },
        hours: 23,
      },
      {
        name: "America/New_York fall back (2026-11-01, 25 h)",
        tz: "America/New_York",
        from: "2026-10-31T00:00:00-04:00",
        to: "2026-11-03T00:00:00-05:00",
        calls: [
          "2026-10-31T23:59:59.999-04:00",
          "2026-11-01T00:00:00-04:00",
          "2026-11-01T01:30:00-04:00",
          "2026-11-01T01:30:00-05:00",
          "2026-11-01T23:59:59.999-05:00",
          "2026-11-02T00:00:00-05:00",
        ],
        days: { "2026-10-31": 1, "2026-11-01": 30, "2026-11-02": 32 },
        hours: 25,
      },
    ];
    test.for(cases)("$name", (c, { db }) => {
      for (const [i, iso] of c.calls.entries()) callAt(db, iso, 2 ** i, i);
      const range = { fromMs: Date.parse(c.from), toMs: Date.parse(c.to) };
      const report = runReport(db, { range, timeZone: c.tz, by: ["day"], creditsPerUsd: ONE });
      expect(Object.fromEntries(report.rows.map((r) => [r.group.day, Number(r.costUsd)]))).toEqual(c.days);
      expect(report.totals.requests).toBe(6);
      // Grouped too: the per-agent split of the DST day adds up (calls 1 and 3 are agent main).
      const byAgent = runReport(db, { range, timeZone: c.tz, by: ["day", "agent"], creditsPerUsd: ONE });
      const dst = Object.keys(c.days)[1];
      expect(
        byAgent.rows.filter((r) => r.group.day === dst).map((r) => [r.group.agent, Number(r.costUsd)]),
      ).toEqual([
        ["ops", 4 + 16],
        ["main", 2 + 8],
      ]);
      const dayMs = Date.parse(c.to) - Date.parse(c.from);
      expect(dayMs).toBe((48 + c.hours) * H);
    });
  });
});
