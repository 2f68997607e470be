/**
 * Characters a terminal would act on or that change how text reads: C0 controls (ESC of ANSI
 * sequences, CR, LF, TAB, BEL…), DEL, C1 controls, bidirectional overrides and isolates
 * (U+202A–202E, U+2066–2069, LRM/RLM/ALM), zero-width and invisible format characters, the BOM
 * and the line/paragraph separators.
 */
function isUnsafeChar(code: number): boolean {
  return (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x061c ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2069) ||
    code === 0xfeff
  );
}

/** Any character `isUnsafeChar` names (UTF-16 code units; it never names a surrogate). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching C0 controls is the point
const ANY_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/**
 * THE sanitizer for user-controlled text the CLI prints (account ids, key names, labels, model
 * names, paths, error messages that quote them): removes every character `isUnsafeChar` names,
 * so `telegram:1\u202e…`, `\x1b[31m` or a `\r` cannot recolour, reorder or overwrite what the
 * operator reads. `keepNewlines` keeps `\n` (multi-line messages); everything else is one line.
 */
export function safeText(value: unknown, opts: { keepNewlines?: boolean } = {}): string {
  const s = value === null || value === undefined ? "" : String(value);
  // Nearly every cell has none: returned as it is (a table of 83k rows has ~900k cells).
  if (!ANY_UNSAFE.test(s)) return s;
  let out = "";
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (!isUnsafeChar(code) || (opts.keepNewlines && code === 0x0a)) out += ch;
  }
  return out;
}

/** A cell that is a number as the CLI prints them (digits, `.`, `,`, a leading `-`). */
const NUMBER_CELL = /^-?[\d.,]+$/;

/**
 * Renders rows as an aligned plain-text table (a column whose every cell is a number is
 * right-aligned); every cell through `safeText`. Column widths and kinds are found in one loop:
 * spreading a column into `Math.max` threw `RangeError` (call stack) past ~125k rows.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return [...tableChunks(headers, rows, Number.POSITIVE_INFINITY)].join("");
}

/**
 * {@link renderTable}'s text in pieces of `chunkRows` lines (default 1,000), for a command that
 * writes a big table as it goes: the table's lines are never all held at once, nor the whole text
 * and its UTF-8 copy (at 83k rows ~25 MB less memory). Joined, the pieces are renderTable's text.
 */
export function* tableChunks(
  headers: readonly string[],
  rows: readonly (readonly unknown[])[],
  chunkRows = OUTPUT_CHUNK_ROWS,
): Generator<string> {
  const cells = rows.map((r) => r.map((c) => safeText(c)));
  const widths = headers.map((h) => h.length);
  const numeric = headers.map(() => cells.length > 0);
  for (const r of cells)
    for (let i = 0; i < headers.length; i++) {
      const c = r[i] ?? "";
      if (c.length > (widths[i] as number)) widths[i] = c.length;
      if (numeric[i] && !NUMBER_CELL.test(c)) numeric[i] = false;
    }
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  let out = [line(headers), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of cells) {
    out.push(line(r));
    if (out.length >= chunkRows) {
      yield `${out.join("\n")}\n`;
      out = [];
    }
  }
  if (out.length > 0) yield `${out.join("\n")}\n`;
}

/** Rows (table lines, or elements of a JSON array) per piece a command writes at a time. */
export const OUTPUT_CHUNK_ROWS = 1000;

/**
 * JSON with bigints as strings (never lose precision). Characters a terminal would act on are
 * written as `\uXXXX` escapes (JSON.stringify escapes only C0): the value is unchanged, the
 * output is inert.
 */
export function toJson(value: unknown): string {
  return [...jsonChunks(value, Number.POSITIVE_INFINITY)].join("");
}

/**
 * {@link toJson}'s text in pieces: an array of more than `chunkRows` elements (default 1,000)
 * as `[`, its elements stringified `chunkRows` at a time, `]`; anything else whole. Joined,
 * the pieces are exactly toJson's text: `JSON.stringify(a, null, 2)` of an array is `[\n`, each
 * element's own 2-space-indented text at depth 1 joined by `,\n`, then `\n]`, and a slice's text
 * holds the same element texts. For a command that writes a big answer as it goes (83k report
 * rows: a 50 MB text, and its escaped and UTF-8 copies, never held at once).
 */
export function* jsonChunks(value: unknown, chunkRows = OUTPUT_CHUNK_ROWS): Generator<string> {
  if (!Array.isArray(value) || value.length <= chunkRows) {
    yield `${escapeUnsafeJson(stringify2(value))}\n`;
    return;
  }
  yield "[\n";
  for (let i = 0; i < value.length; i += chunkRows) {
    const part = stringify2(value.slice(i, i + chunkRows));
    // "[\n" + elements + "\n]" of the slice: its elements, joined to the last piece's by ",\n"
    yield `${i === 0 ? "" : ",\n"}${escapeUnsafeJson(part.slice(2, -2))}`;
  }
  yield "\n]\n";
}

/** `JSON.stringify(value, null, 2)`, bigints as strings. */
function stringify2(value: unknown): string {
  try {
    // Without a replacer first: calling one for every key costs ~40 % more on big answers (83k
    // report rows: ~0.35 vs ~0.55 s); JSON.stringify throws on a bigint, and then it runs again
    // with the replacer (and throws again on what it cannot serialize at all, e.g. a cycle).
    return JSON.stringify(value, null, 2);
  } catch {
    return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
  }
}

/** Unsafe characters above C0 (JSON.stringify escapes C0 in strings, and uses \n as layout). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const escapeUnsafeJson = (json: string) =>
  json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

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
    return `${escapeUnsafeJson(JSON.stringify(rec, (_k, x) => (typeof x === "bigint" ? x.toString() : x)))}\n`;
  const { level, time, msg, pid: _pid, hostname: _host, ...rest } = rec;
  const d = new Date(typeof time === "number" ? time : Date.now());
  const hms = `${[d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":")}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  const name = PINO_NAME[Number(level)] ?? String(level).toUpperCase();
  const kv = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${safeText(k)}=${safeText(prettyValue(v))}`)
    .join("");
  return `${hms} ${name.padEnd(5)} ${safeText(msg)}${kv}\n`;
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
      if (format === "json") return err(escapeUnsafeJson(line.endsWith("\n") ? line : `${line}\n`));
      try {
        err(formatLogLine("pretty", JSON.parse(line) as Record<string, unknown>));
      } catch {
        err(line);
      }
    },
  };
}
