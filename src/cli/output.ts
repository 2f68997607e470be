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

/**
 * THE sanitizer for user-controlled text the CLI prints (account ids, key names, labels, model
 * names, paths, error messages that quote them): removes every character `isUnsafeChar` names,
 * so `telegram:1\u202e…`, `\x1b[31m` or a `\r` cannot recolour, reorder or overwrite what the
 * operator reads. `keepNewlines` keeps `\n` (multi-line messages); everything else is one line.
 */
export function safeText(value: unknown, opts: { keepNewlines?: boolean } = {}): string {
  const s = value === null || value === undefined ? "" : String(value);
  let out = "";
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    if (!isUnsafeChar(code) || (opts.keepNewlines && code === 0x0a)) out += ch;
  }
  return out;
}

/** Renders rows as an aligned plain-text table (numbers right-aligned); every cell through `safeText`. */
export function renderTable(headers: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = rows.map((r) => r.map((c) => safeText(c)));
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

/**
 * JSON with bigints as strings (never lose precision). Characters a terminal would act on are
 * written as `\uXXXX` escapes (JSON.stringify escapes only C0): the value is unchanged, the
 * output is inert.
 */
export function toJson(value: unknown): string {
  return `${escapeUnsafeJson(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2))}\n`;
}

/** Unsafe characters above C0 (JSON.stringify escapes C0 in strings, and uses \n as layout). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
const escapeUnsafeJson = (json: string) =>
  json.replace(UNSAFE_IN_JSON, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/**
 * A stderr logger at `level` for long-running commands: `warn: message {"field":…}`. Fields are
 * ids and names chosen by the caller (never chat text or secrets).
 */
export function createStderrLog(err: (text: string) => void, level: LogLevel) {
  const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };
  return (at: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>): void => {
    if (rank[at] < rank[level]) return;
    err(`${at}: ${safeText(msg)}${fields ? ` ${escapeUnsafeJson(JSON.stringify(fields))}` : ""}\n`);
  };
}
