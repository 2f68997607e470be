/**
 * Report output: the stable flat columns shared by CSV and the table, and RFC 4180 CSV.
 */
import { type Report, type ReportDim, type ReportRow, successTenths } from "./query.js";

/**
 * The metric columns of CSV output, in order (stable names: scripts read them). Preceded by one
 * column per `by` dimension, named as the dimension (`day`, `agent`, ...).
 */
export const CSV_METRIC_COLUMNS = [
  "requests",
  "errors",
  "success_rate_pct",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "total_tokens",
  "cost_usd",
  "charged_credits",
  "charged_usd",
  "margin_usd",
  "avg_latency_ms",
  "p95_latency_ms",
] as const;

const credits = (micro: number) => {
  const neg = micro < 0;
  const s = String(Math.abs(micro)).padStart(7, "0");
  return `${neg ? "-" : ""}${s.slice(0, -6)}.${s.slice(-6)}`;
};

/** Decimals of each decimal CSV column: fixed, so a column never mixes `3` and `0.25`. */
export const CSV_DECIMALS = { success_rate_pct: 1, usd: 12, charged_credits: 6 } as const;

/**
 * An exact decimal string (`"3"`, `"-0.25"`) with exactly `decimals` decimals, padded with zeros.
 * Never rounds: the input must not have more decimals (report USD strings have at most 12).
 */
export function fixedDecimals(text: string, decimals: number): string {
  const [whole, frac = ""] = text.split(".");
  if (frac.length > decimals) throw new RangeError(`${text} has more than ${decimals} decimals`);
  return decimals === 0 ? (whole as string) : `${whole}.${frac.padEnd(decimals, "0")}`;
}

/** The success rate in percent with one decimal, from the integer counts (no float text). */
function successRateText(r: ReportRow): string {
  if (r.requests === 0) return "";
  const tenths = successTenths(r.requests, r.errors); // integer ≤ 1000, half-up, never 100.0 with an error
  return `${Math.trunc(tenths / 10)}.${tenths % 10}`;
}

/**
 * A row's metric cells, as {@link CSV_METRIC_COLUMNS} (empty string for null): integers as
 * integers, and each decimal column with its fixed {@link CSV_DECIMALS} (exact, from integers).
 */
export function metricCells(r: ReportRow): string[] {
  const n = (v: number | null) => (v === null ? "" : String(v));
  const usd = (v: string | null) => (v === null ? "" : fixedDecimals(v, CSV_DECIMALS.usd));
  return [
    String(r.requests),
    String(r.errors),
    successRateText(r),
    String(r.inputTokens),
    String(r.outputTokens),
    String(r.cacheReadTokens),
    String(r.cacheWriteTokens),
    String(r.totalTokens),
    usd(r.costUsd),
    credits(r.chargedMicroCredits),
    usd(r.chargedUsd),
    usd(r.marginUsd),
    n(r.avgLatencyMs),
    n(r.p95LatencyMs),
  ];
}

/** A spreadsheet formula start: TAB/CR, or `= + - @` (ASCII or full-width) after any spaces. */
const FORMULA_START = /^(?:[\t\r]|[\s\u3000]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/u;

/**
 * One RFC 4180 field: quoted when it holds a comma, quote, CR or LF (or starts/ends with a space),
 * quotes doubled. A field that is not a number and starts with `=`, `+`, `-`, `@`, TAB or CR —
 * also after leading spaces, and in their full-width forms (`＝＋－＠`, which some spreadsheets
 * read as the ASCII ones) — is prefixed with `'` so a spreadsheet does not run it as a formula
 * (user ids and agent names are user-controlled; OWASP "CSV Injection").
 */
export function csvField(value: string): string {
  let v = value;
  if (FORMULA_START.test(v) && !/^-?\d+(\.\d+)?$/.test(v)) v = `'${v}`;
  return /[",\r\n]|^ | $/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** The whole report as CSV: a header, one line per row, CRLF line ends (RFC 4180). No totals line. */
export function reportCsv(report: Report): string {
  const lines = [[...report.by, ...CSV_METRIC_COLUMNS].map(csvField).join(",")];
  for (const r of report.rows) {
    lines.push([...report.by.map((d) => r.group[d] ?? ""), ...metricCells(r)].map(csvField).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/**
 * Headers and cells of the readable table: dimensions, then metrics; a `total` line last unless
 * the report is a single row equal to its totals (it would print the same line twice).
 */
export function reportTable(report: Report): { headers: string[]; rows: string[][] } {
  const headers = [
    ...report.by,
    "requests",
    "errors",
    "ok %",
    "input",
    "output",
    "cacheRead",
    "cacheWrite",
    "cost (USD)",
    "charged",
    "margin (USD)",
    "avg ms",
    "p95 ms",
  ];
  const line = (group: string[], r: ReportRow) => {
    const m = metricCells(r);
    return [
      ...group,
      m[0],
      m[1],
      m[2] || "-",
      m[3],
      m[4],
      m[5],
      m[6],
      r.costUsd, // the table keeps exact USD without trailing zeros (CSV pads them)
      m[9],
      r.marginUsd ?? "-",
      m[12] || "n/a",
      m[13] || "n/a",
    ] as string[];
  };
  const rows = report.rows.map((r) =>
    line(
      report.by.map((d: ReportDim) => r.group[d] ?? ""),
      r,
    ),
  );
  // One row that is the whole report (no --by, or one group and nothing cut by --top): the total
  // line would repeat it.
  const only = report.rows.length === 1 ? report.rows[0] : undefined;
  if (only && metricCells(only).join("\0") === metricCells(report.totals).join("\0"))
    return { headers, rows };
  if (report.by.length > 0)
    rows.push(
      line(
        report.by.map((_, i) => (i === 0 ? "total" : "")),
        report.totals,
      ),
    );
  else rows.push(line([], report.totals));
  return { headers, rows };
}
