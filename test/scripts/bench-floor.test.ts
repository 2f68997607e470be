import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.js";

// scripts/bench-floor.mjs (bench:meter's (f)) on bad input: it must fail, and touch nothing it was not asked to.
const script = resolve(import.meta.dirname, "../../scripts/bench-floor.mjs");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const floor = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: "utf8" });
function dir() {
  const d = mkdtempSync(join(tmpdir(), "cg-floor-"));
  dirs.push(d);
  return d;
}
/** A migrated creditgate database with one billed usage row. */
function source(d: string): string {
  const p = join(d, "src.sqlite");
  const db = openDatabase(p);
  db.exec(`INSERT INTO accounts VALUES ('u1', 'user', -5, 1, 1);
    INSERT INTO ledger_entries (id, account_id, kind, amount_micro_credits, balance_after_micro_credits, idempotency_key, created_at_ms)
      VALUES (1, 'u1', 'usage', -5, -5, 'k1', 1)`);
  const cols = db.prepare("SELECT * FROM usage_events LIMIT 0").columns();
  const row: Record<string, unknown> = {};
  for (const c of db.pragma("table_info(usage_events)") as { name: string; type: string; notnull: number }[])
    row[c.name] = c.notnull ? (c.type === "TEXT" ? "x" : 1) : null;
  Object.assign(row, {
    id: 1,
    dedupe_key: "d1",
    ledger_entry_id: 1,
    account_id: "u1",
    provider: "x",
    response_id: "chatcmpl-0123456789abcdef",
    message_ts_ms: 1,
  });
  db.prepare(
    `INSERT INTO usage_events (${cols.map((c) => c.name).join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
  ).run(...cols.map((c) => row[c.name]));
  // its response identity (day 0, the row's own), written with the row as the usage writer does (migration 38)
  db.prepare("INSERT INTO usage_response_keys VALUES (?, ?, ?, ?)").run(
    0,
    "chatcmpl-0123456789abcdef",
    "x",
    1,
  );
  db.close();
  return p;
}

describe("bench-floor.mjs on bad input", () => {
  it("copies a good source", () => {
    const d = dir();
    const r = floor(source(d), join(d, "dest.sqlite"), "2000");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: 1, ledgerEntries: 1, responseKeys: 1 });
  });
  it("a missing SRC fails and does not create it", () => {
    const d = dir();
    const r = floor(join(d, "nope.sqlite"), join(d, "dest.sqlite"), "2000");
    expect(r.status).not.toBe(0);
    expect(existsSync(join(d, "nope.sqlite"))).toBe(false); // ATTACH would create an empty file
  });
  it("DEST = SRC fails and keeps the source", () => {
    const d = dir();
    const src = source(d);
    const size = statSync(src).size;
    const r = floor(src, src, "2000");
    expect(r.status).not.toBe(0); // it would delete the source and copy 0 rows
    expect(statSync(src).size).toBe(size);
  });
  it("an empty source database fails", () => {
    const d = dir();
    const p = join(d, "empty.sqlite");
    openDatabase(p).close();
    const r = floor(p, join(d, "dest.sqlite"), "2000");
    expect(r.status).not.toBe(0); // not a floor of anything
  });
  it.each(["0", "-1", "2.5", "Infinity", "1e400", "abc", ""])("BATCH %j fails", (b) => {
    const d = dir();
    const r = floor(source(d), join(d, "dest.sqlite"), b);
    expect(r.status).not.toBe(0); // Infinity and 1e400 would pass `>= 1` and copy 0 rows
  });
});
