/**
 * Rewrites the SQLite dialect the repositories are written in into PostgreSQL's, once per
 * prepared statement (src/db/pg.ts). Only mechanical, meaning-preserving rewrites live here;
 * anything else is written per dialect at its call site (`isPostgres(db) ? ... : ...`).
 *
 * Rewrites:
 * - parameters: `?` → `$1, $2, …`; named `@name` / `:name` / `$name` → `$n` (each name once);
 * - `INSERT OR IGNORE INTO t …` → `INSERT INTO t … ON CONFLICT DO NOTHING`;
 * - two-argument scalar `MAX(a, b)` / `MIN(a, b)` → `GREATEST` / `LEAST`; `IFNULL(` → `COALESCE(`;
 * - `CAST(x AS INTEGER)` → `CAST(x AS BIGINT)` (SQLite integers are 64-bit), `AS REAL` → `AS DOUBLE PRECISION`;
 * - `instr(x, y)` → `strpos(x, y)`; `strftime('<fmt>', secs, 'unixepoch')` with a literal format of
 *   `%Y %m %d %H %M %S` → `to_char(to_timestamp(secs) AT TIME ZONE 'UTC', '<fmt>')`;
 * - `x GLOB '<literal>'` (only `*` and `?` wildcards) → `x LIKE '<pattern>'` (both case-sensitive);
 * - `SUM(<comparison>)` (a condition counted as 0/1) → `SUM((<comparison>)::int)` (NULL stays NULL);
 * - unary `+x` (SQLite's index hint; a no-op) → `x` (PostgreSQL has no unary `+` on text);
 * - a subquery in `FROM` / `JOIN` without an alias gets one (`AS _q1`, …);
 * - mixed-case output aliases (`AS cacheRead`) and every unquoted use of them are double-quoted, so
 *   rows come back with the same keys as from SQLite (PostgreSQL lower-cases unquoted names);
 * - in `ON CONFLICT … DO UPDATE SET …`, unqualified columns of the target table on the right-hand
 *   side and in its WHERE are qualified with the table name (PostgreSQL calls them ambiguous);
 * - an `INSERT` into a table with an identity `id` column and no `RETURNING` gets `RETURNING id`,
 *   so `run()` can answer `lastInsertRowid` as better-sqlite3 does.
 * Refused (throws at prepare): `INSERT OR REPLACE` / `REPLACE INTO` (no faithful equivalent).
 */

/** What the translator knows of the PostgreSQL schema: columns per table, tables with an identity `id`. */
export interface PgSchemaInfo {
  columns: ReadonlyMap<string, ReadonlySet<string>>;
  identityTables: ReadonlySet<string>;
}

export interface TranslatedSql {
  /** PostgreSQL text with `$n` parameters. */
  text: string;
  /** Number of `$n` parameters. */
  paramCount: number;
  /** For named parameters: the name of `$1`, `$2`, … (null: positional `?`). */
  names: string[] | null;
  /** True when `RETURNING id` was appended (the first column of the last row is `lastInsertRowid`). */
  returnsId: boolean;
}

/** Splits `sql` into code and quoted/comment segments so rewrites never touch string literals. */
function segments(sql: string): { code: boolean; text: string }[] {
  const out: { code: boolean; text: string }[] = [];
  let i = 0;
  let start = 0;
  const push = (code: boolean, end: number) => {
    if (end > start) out.push({ code, text: sql.slice(start, end) });
    start = end;
  };
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      push(true, i);
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) break;
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      i = j + 1;
      push(false, Math.min(i, sql.length));
      continue;
    }
    if (c === "-" && sql[i + 1] === "-") {
      push(true, i);
      const nl = sql.indexOf("\n", i);
      i = nl === -1 ? sql.length : nl;
      push(false, i);
      continue;
    }
    if (c === "/" && sql[i + 1] === "*") {
      push(true, i);
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
      push(false, i);
      continue;
    }
    i++;
  }
  push(true, sql.length);
  return out;
}

/** Applies `f` to the code parts of `sql` only (not strings, quoted names or comments). */
function mapCode(sql: string, f: (code: string) => string): string {
  return segments(sql)
    .map((s) => (s.code ? f(s.text) : s.text))
    .join("");
}

/** Index of the parenthesis closing the one opened at `open`, or -1. */
function closing(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Whether the argument list between `open` and `close` has a comma at depth 1. */
function hasTopLevelComma(s: string, open: number, close: number): boolean {
  let depth = 0;
  for (let i = open; i < close; i++) {
    if (s[i] === "(") depth++;
    else if (s[i] === ")") depth--;
    else if (s[i] === "," && depth === 1) return true;
  }
  return false;
}

/** `MAX(a, b)` → `GREATEST(a, b)` (and MIN → LEAST); aggregates `MAX(x)` stay. Works on masked code. */
function scalarMinMax(sql: string): string {
  const masked = mask(sql);
  let out = "";
  let last = 0;
  const re = /\b(MAX|MIN)\s*\(/gi;
  for (let m = re.exec(masked); m; m = re.exec(masked)) {
    const open = m.index + m[0].length - 1;
    const close = closing(masked, open);
    if (close === -1 || !hasTopLevelComma(masked, open, close)) continue;
    out += sql.slice(last, m.index) + ((m[1] ?? "").toUpperCase() === "MAX" ? "GREATEST" : "LEAST");
    last = m.index + (m[1] ?? "").length;
  }
  return out + sql.slice(last);
}

/** `sql` with every string/comment/quoted-name character replaced by a space (same length). */
function mask(sql: string): string {
  return segments(sql)
    .map((s) => (s.code ? s.text : " ".repeat(s.text.length)))
    .join("");
}

/** Qualifies unqualified `cols` in `expr` with `table.` (not after `.`, not function names, not in strings). */
function qualify(expr: string, table: string, cols: ReadonlySet<string>): string {
  return mapCode(expr, (code) =>
    code.replace(/(?<![.\w$])([A-Za-z_]\w*)\b(?!\s*\()/g, (w: string) =>
      cols.has(w.toLowerCase()) ? `${table}.${w}` : w,
    ),
  );
}

/** Qualifies the right-hand sides of `DO UPDATE SET a = expr, …` and its `WHERE`. */
function qualifyUpsert(sql: string, schema: PgSchemaInfo): string {
  const masked = mask(sql);
  const target = /^\s*INSERT\s+INTO\s+([A-Za-z_]\w*)/i.exec(masked)?.[1];
  const set = /\bDO\s+UPDATE\s+SET\b/i.exec(masked);
  if (!target || !set) return sql;
  const cols = schema.columns.get(target.toLowerCase());
  if (!cols) return sql;
  const from = set.index + set[0].length;
  const tail = /\bRETURNING\b/i.exec(masked.slice(from));
  const end = tail ? from + tail.index : sql.length;
  const body = sql.slice(from, end);
  const mBody = masked.slice(from, end);
  const where = /\bWHERE\b/i.exec(mBody);
  const setPart = where ? body.slice(0, where.index) : body;
  const mSet = where ? mBody.slice(0, where.index) : mBody;
  // split the assignments at depth-0 commas
  const items: string[] = [];
  let depth = 0;
  let s = 0;
  for (let i = 0; i < mSet.length; i++) {
    const c = mSet[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      items.push(setPart.slice(s, i));
      s = i + 1;
    }
  }
  items.push(setPart.slice(s));
  const rewritten = items
    .map((item) => {
      const eq = mask(item).indexOf("=");
      if (eq === -1) return item;
      return item.slice(0, eq + 1) + qualify(item.slice(eq + 1), target, cols);
    })
    .join(",");
  const whereText = where ? qualify(body.slice(where.index), target, cols) : "";
  return sql.slice(0, from) + rewritten + whereText + sql.slice(end);
}

/** Splits the argument list `s[open+1 .. close)` at depth-1 commas (positions from the masked text). */
function splitArgs(sql: string, masked: string, open: number, close: number): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open + 1; i < close; i++) {
    const c = masked[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(sql.slice(start, i));
      start = i + 1;
    }
  }
  out.push(sql.slice(start, close));
  return out;
}

/**
 * Replaces each call `name(args…)` for which `f` returns a text (innermost calls are not revisited:
 * the replacement of an outer call receives its arguments as written).
 */
function rewriteCalls(sql: string, name: string, f: (args: string[]) => string | null): string {
  const masked = mask(sql);
  const re = new RegExp(`(?<![\\w.$])${name}\\s*\\(`, "gi");
  let out = "";
  let last = 0;
  for (let m = re.exec(masked); m; m = re.exec(masked)) {
    if (m.index < last) continue;
    const open = m.index + m[0].length - 1;
    const close = closing(masked, open);
    if (close === -1) continue;
    const r = f(splitArgs(sql, masked, open, close));
    if (r === null) continue;
    out += sql.slice(last, m.index) + r;
    last = close + 1;
  }
  return out + sql.slice(last);
}

const STRFTIME: Record<string, string> = {
  Y: "YYYY",
  m: "MM",
  d: "DD",
  H: "HH24",
  M: "MI",
  S: "SS",
  "%": "%",
};

/** `strftime('<fmt>', secs, 'unixepoch')` → `to_char(…)`; other forms throw (no faithful rewrite). */
function strftimeCall(args: string[]): string {
  const fmt = /^\s*'([^']*)'\s*$/.exec(args[0] ?? "")?.[1];
  if (args.length !== 3 || fmt === undefined || !/^\s*'unixepoch'\s*$/i.test(args[2] ?? ""))
    throw new Error(`PostgreSQL: only strftime('<literal>', seconds, 'unixepoch') is rewritten`);
  const pg = fmt.replace(/%(.)|([A-Za-z]+)/g, (m: string, spec: string | undefined) => {
    if (spec === undefined) return `"${m}"`; // letters outside a % spec are literal in SQLite
    const t = STRFTIME[spec];
    if (t === undefined) throw new Error(`PostgreSQL: strftime %${spec} is not rewritten`);
    return t;
  });
  return `to_char(to_timestamp(${(args[1] ?? "").trim()}) AT TIME ZONE 'UTC', '${pg}')`;
}

/** `GLOB '<literal>'` → `LIKE '<pattern>'`; a pattern with `[` or a non-literal one throws. */
function globToLike(sql: string): string {
  const segs = segments(sql);
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (!seg?.code || !/\bGLOB\s*$/i.test(seg.text)) continue;
    const lit = segs[i + 1];
    if (!lit || lit.code || !lit.text.startsWith("'") || lit.text.includes("["))
      throw new Error(`PostgreSQL: GLOB is rewritten only with a literal pattern of * and ?: ${sql}`);
    seg.text = seg.text.replace(/\bGLOB(\s*)$/i, "LIKE$1");
    const body = lit.text.slice(1, -1).replace(/[\\%_]/g, (c) => `\\${c}`);
    lit.text = `'${body.replace(/\*/g, "%").replace(/\?/g, "_")}'`;
  }
  if (segs.some((s) => s.code && /\bGLOB\b/i.test(s.text)))
    throw new Error(`PostgreSQL: GLOB is rewritten only with a literal pattern: ${sql}`);
  return segs.map((s) => s.text).join("");
}

/** Whether `expr` (masked) has a comparison or boolean operator outside parentheses. */
function isCondition(masked: string): boolean {
  let depth = 0;
  let flat = "";
  for (const c of masked) {
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else flat += depth === 0 ? c : " ";
  }
  if (/^\s*CASE\b/i.test(flat)) return false;
  return /[=<>]|!=|\b(AND|OR|NOT|IS|LIKE|IN|BETWEEN)\b/i.test(flat);
}

const NOT_ALIAS = new Set(
  "where group order limit offset union except intersect join left right inner full cross natural on having window returning using".split(
    " ",
  ),
);

/** Gives an alias to each parenthesized subquery after `FROM` / `JOIN` that has none. */
function aliasSubqueries(sql: string): string {
  const masked = mask(sql);
  const re = /\b(FROM|JOIN)\s*\(\s*(SELECT|WITH|VALUES)\b/gi;
  const inserts: number[] = [];
  for (let m = re.exec(masked); m; m = re.exec(masked)) {
    const open = masked.indexOf("(", m.index + (m[1] ?? "").length);
    const close = closing(masked, open);
    if (close === -1) continue;
    const next = /^\s*(AS\s+)?([A-Za-z_]\w*)?/i.exec(masked.slice(close + 1));
    if (next?.[1] || (next?.[2] && !NOT_ALIAS.has(next[2].toLowerCase()))) continue;
    inserts.push(close + 1);
  }
  let out = sql;
  inserts
    .sort((a, b) => b - a)
    .forEach((at, i) => {
      out = `${out.slice(0, at)} AS _q${inserts.length - i}${out.slice(at)}`;
    });
  return out;
}

/** Double-quotes mixed-case output aliases and their unquoted uses (PostgreSQL folds unquoted names). */
function quoteMixedCaseAliases(sql: string): string {
  const aliases = new Set<string>();
  for (const m of mask(sql).matchAll(/\bAS\s+([A-Za-z_]\w*)/gi)) {
    const a = m[1] ?? "";
    if (/[a-z]/.test(a) && /[A-Z]/.test(a)) aliases.add(a);
  }
  if (!aliases.size) return sql;
  return mapCode(sql, (code) =>
    code.replace(/(?<![\w$])([A-Za-z_]\w*)\b/g, (w: string) => (aliases.has(w) ? `"${w}"` : w)),
  );
}

/**
 * Translates one SQLite statement for PostgreSQL (see the module comment).
 * @throws Error for SQLite-only forms with no faithful rewrite (`INSERT OR REPLACE`).
 */
export function translateSql(sqlite: string, schema: PgSchemaInfo): TranslatedSql {
  let sql = sqlite.trim().replace(/;\s*$/, "");
  const masked0 = mask(sql);
  if (/^\s*(INSERT\s+OR\s+REPLACE|REPLACE\s+INTO)\b/i.test(masked0))
    throw new Error(`PostgreSQL: INSERT OR REPLACE has no faithful rewrite; write an upsert: ${sqlite}`);
  let ignore = false;
  sql = mapCode(sql, (code) =>
    code
      .replace(/\bINSERT\s+OR\s+IGNORE\s+INTO\b/gi, () => {
        ignore = true;
        return "INSERT INTO";
      })
      .replace(/\bIFNULL\s*\(/gi, "COALESCE(")
      .replace(/\bAS\s+INTEGER\s*\)/gi, "AS BIGINT)")
      .replace(/\bAS\s+REAL\s*\)/gi, "AS DOUBLE PRECISION)"),
  );
  sql = scalarMinMax(sql);
  sql = rewriteCalls(sql, "instr", (args) => (args.length === 2 ? `strpos(${args.join(",")})` : null));
  sql = rewriteCalls(sql, "strftime", strftimeCall);
  sql = rewriteCalls(sql, "SUM", (args) =>
    args.length === 1 && isCondition(mask(args[0] ?? "")) ? `SUM((${args[0]})::int)` : null,
  );
  sql = globToLike(sql);
  sql = mapCode(sql, (code) =>
    code.replace(/((?:[(,]|\b(?:SELECT|DISTINCT|BY))\s*)\+(?=\s*[A-Za-z_(])/gi, "$1"),
  );
  sql = aliasSubqueries(sql);
  const masked = mask(sql);
  const returning = /\bRETURNING\b/i.exec(masked);
  if (ignore) {
    sql = returning
      ? `${sql.slice(0, returning.index)} ON CONFLICT DO NOTHING ${sql.slice(returning.index)}`
      : `${sql} ON CONFLICT DO NOTHING`;
  }
  sql = qualifyUpsert(sql, schema);
  // parameters
  let n = 0;
  const names: string[] = [];
  let named = false;
  sql = mapCode(sql, (code) =>
    code.replace(/\?|(?<![:\w])[@:$]([A-Za-z_]\w*)/g, (m: string, name: string | undefined) => {
      if (m === "?") return `$${++n}`;
      named = true;
      const at = names.indexOf(name ?? "");
      if (at !== -1) return `$${at + 1}`;
      names.push(name ?? "");
      return `$${names.length}`;
    }),
  );
  if (named && n > 0) throw new Error(`PostgreSQL: mixed ? and named parameters: ${sqlite}`);
  sql = quoteMixedCaseAliases(sql);
  let returnsId = false;
  const m2 = mask(sql);
  const ins = /^\s*INSERT\s+INTO\s+([A-Za-z_]\w*)/i.exec(m2);
  if (ins && !/\bRETURNING\b/i.test(m2) && schema.identityTables.has((ins[1] ?? "").toLowerCase())) {
    sql = `${sql} RETURNING id`;
    returnsId = true;
  }
  return { text: sql, paramCount: named ? names.length : n, names: named ? names : null, returnsId };
}
