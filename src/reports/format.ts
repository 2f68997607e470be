/**
 * Report output: the stable flat columns shared by CSV and the table, and RFC 4180 CSV.
 */
import type { Report, ReportDim, ReportRow } from "./query.js";

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

/** A row's metric cells, as {@link CSV_METRIC_COLUMNS} (empty string for null). */
export function metricCells(r: ReportRow): string[] {
  const n = (v: number | null) => (v === null ? "" : String(v));
  return [
    String(r.requests),
    String(r.errors),
    n(r.successRatePct),
    String(r.inputTokens),
    String(r.outputTokens),
    String(r.cacheReadTokens),
    String(r.cacheWriteTokens),
    String(r.totalTokens),
    r.costUsd,
    credits(r.chargedMicroCredits),
    r.chargedUsd ?? "",
    r.marginUsd ?? "",
    n(r.avgLatencyMs),
    n(r.p95LatencyMs),
  ];
}

/**
 * One RFC 4180 field: quoted when it holds a comma, quote, CR or LF (or starts/ends with a space),
 * quotes doubled. A field starting with `=`, `+`, `-`, `@`, TAB or CR that is not a number is
 * prefixed with `'` so a spreadsheet does not run it as a formula (user ids are user-controlled).
 */
export function csvField(value: string): string {
  let v = value;
  if (/^[=+\-@\t\r]/.test(v) && !/^-?\d+(\.\d+)?$/.test(v)) v = `'${v}`;
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

/** Headers and cells of the readable table: dimensions, then metrics; a `total` line last. */
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
      m[8],
      m[9],
      m[11] || "-",
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
