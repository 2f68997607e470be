/**
 * Real processes for the edge-meter tests: a center (`creditgate serve` on 127.0.0.1, its own
 * SQLite file), edge meters (`creditgate meter --ship-to`, each on its own state dir and file),
 * and the ground truth (`creditgate meter --once` of the same state dirs into one local file).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import Database from "better-sqlite3";

export const CLI = resolve(import.meta.dirname, "../../dist/cli/main.js");

/** A free TCP port on 127.0.0.1 (so a restarted center can listen where the edges point). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => done(port));
    });
  });
}

export function baseEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: "/nonexistent", CREDITGATE_LOG_FORMAT: "json", ...extra };
}

/** Runs `creditgate …` to completion (synchronously). */
export function cli(env: Record<string, string>, args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Creates a key on the center's database and returns it. */
export function createKey(env: Record<string, string>, scope: "push" | "read" | "ingest" | "admin"): string {
  const r = cli(env, ["keys", "create", "--scope", scope, "--json"]);
  if (r.code !== 0) throw new Error(`keys create failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { key: string }).key;
}

export interface Proc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function start(env: Record<string, string>, args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on("exit", (code, signal) => done({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `creditgate serve` on `port` over `dbPath` and waits until it listens. */
export async function startCenter(env: Record<string, string>, port: number): Promise<Proc> {
  const p = start({ ...env, PORT: String(port), HOST: "127.0.0.1" }, ["serve"]);
  await waitFor(
    "the center to listen",
    () => p.stdout().includes("listening on") || p.child.exitCode !== null,
  );
  if (p.child.exitCode !== null) throw new Error(`center exited: ${p.stderr()}`);
  return p;
}

export async function kill(p: Proc, signal: NodeJS.Signals = "SIGKILL") {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
  return p.exited;
}

/** Per-account balances and usage-row counts of a creditgate database (read-only look). */
export function totals(dbPath: string): Map<string, { balance: number; calls: number; charged: number }> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  try {
    const out = new Map<string, { balance: number; calls: number; charged: number }>();
    for (const r of db.prepare("SELECT id, balance_micro_credits AS b FROM accounts").all() as {
      id: string;
      b: number;
    }[])
      out.set(r.id, { balance: r.b, calls: 0, charged: 0 });
    for (const r of db
      .prepare(
        "SELECT account_id AS id, COUNT(*) AS n, SUM(charge_micro_credits) AS c FROM usage_events GROUP BY account_id",
      )
      .all() as { id: string; n: number; c: number }[]) {
      const t = out.get(r.id) ?? { balance: 0, calls: 0, charged: 0 };
      t.calls = r.n;
      t.charged = r.c;
      out.set(r.id, t);
    }
    return out;
  } finally {
    db.close();
  }
}

/** `totals` as a sorted plain object, for toEqual. */
export function totalsObj(dbPath: string) {
  return Object.fromEntries([...totals(dbPath)].sort(([a], [b]) => a.localeCompare(b)));
}

/** One number read from a database (read-only), e.g. outbox rows. */
export function scalar(dbPath: string, sql: string): number {
  if (!existsSync(dbPath)) return 0;
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  try {
    return (db.prepare(sql).pluck().get() as number | undefined) ?? 0;
  } finally {
    db.close();
  }
}
