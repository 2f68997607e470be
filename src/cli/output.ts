/** Renders rows as an aligned plain-text table (numbers right-aligned). */
export function renderTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? "" : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const numeric = headers.map(
    (_, i) => cells.length > 0 && cells.every((r) => /^-?[\d.,]+$/.test(r[i] ?? "")),
  );
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  const out = [line(headers), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of cells) out.push(line(r));
  return `${out.join("\n")}\n`;
}

/** JSON with bigints as strings (never lose precision). */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";
export type LogFormat = "pretty" | "json";
/** `(level, message, fields?)`: fields are ids, names, counts and paths, never chat text or secrets. */
export type Log = (at: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => void;

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };
/** pino's numeric levels, so our lines and Fastify's (pino) lines have one shape. */
const PINO_LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
const PINO_NAME: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

function prettyValue(v: unknown): string {
  if (typeof v !== "string")
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)) ?? "null";
  return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
}

/**
 * One log record as a line: `pretty` is pino-pretty's shape on one line (`HH:MM:SS.mmm LEVEL
 * message key=value …`, local time), `json` is a pino JSON line (`{"level":40,"time":…,"msg":…}`).
 */
export function formatLogLine(format: LogFormat, rec: Record<string, unknown>): string {
  if (format === "json")
    return `${JSON.stringify(rec, (_k, x) => (typeof x === "bigint" ? x.toString() : x))}\n`;
  const { level, time, msg, pid: _pid, hostname: _host, ...rest } = rec;
  const d = new Date(typeof time === "number" ? time : Date.now());
  const hms = `${[d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":")}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  const name = PINO_NAME[Number(level)] ?? String(level).toUpperCase();
  const kv = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}=${prettyValue(v)}`)
    .join("");
  return `${hms} ${name.padEnd(5)} ${String(msg ?? "")}${kv}\n`;
}

/** A stderr logger at `level` for long-running commands, in `format` (see formatLogLine). */
export function createStderrLog(
  err: (text: string) => void,
  level: LogLevel,
  format: LogFormat = "pretty",
): Log {
  return (at, msg, fields) => {
    if (RANK[at] < RANK[level]) return;
    err(formatLogLine(format, { level: PINO_LEVEL[at], time: Date.now(), msg, ...fields }));
  };
}

/**
 * A destination for Fastify's pino logger that writes through the same formatter: its request
 * logs land on stderr in the command's format (pino writes one JSON line per call).
 */
export function pinoDestination(
  err: (text: string) => void,
  format: LogFormat,
): { write(line: string): void } {
  return {
    write(line: string) {
      if (format === "json") return err(line.endsWith("\n") ? line : `${line}\n`);
      try {
        err(formatLogLine("pretty", JSON.parse(line) as Record<string, unknown>));
      } catch {
        err(line);
      }
    },
  };
}
