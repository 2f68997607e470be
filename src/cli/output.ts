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

/**
 * A stderr logger at `level` for long-running commands: `warn: message {"field":…}`. Fields are
 * ids and names chosen by the caller (never chat text or secrets).
 */
export function createStderrLog(err: (text: string) => void, level: LogLevel) {
  const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };
  return (at: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>): void => {
    if (rank[at] < rank[level]) return;
    err(`${at}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ""}\n`);
  };
}
