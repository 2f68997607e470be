import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exitCodeOf } from "../src/cli/errors.js";
import { formatLogLine } from "../src/cli/output.js";
import { openDatabase } from "../src/db/index.js";
import { createMeter } from "../src/meter/meter.js";
import { runCli } from "./support/cli.js";
import { CB_FIXTURE, fixturePricer, OC_FIXTURE, tempWorld } from "./support/meter-env.js";

/** The built binary (test/global-setup.ts builds dist/ before any test runs). */
const MAIN = resolve(import.meta.dirname, "../dist/cli/main.js");
const VERSION = JSON.parse(readFileSync(resolve(import.meta.dirname, "../package.json"), "utf8")).version;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "cg-first-hour-"));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** `creditgate <args>` as a new user runs it: the built binary, a clean environment. */
function cg(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", CREDITGATE_LOG_LEVEL: "info", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A database `creditgate start` would have made: read-only commands refuse a missing one (since 2026-12-04). */
function createdDb(): string {
  const db = join(tempDir(), "cg.sqlite");
  cg(["--db", db, "meter", "--once", "--state-dir", tempDir()]);
  expect(existsSync(db)).toBe(true);
  return db;
}

/** No stack trace, no ZodError dump: what an operator reads is a sentence. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/^\s+at /m);
  expect(text).not.toContain("ZodError");
  expect(text).not.toMatch(/node:internal|file:\/\//);
}

describe("the operator's first hour: one-line errors naming the setting or argument", () => {
  it("--version prints the package version", () => {
    const r = cg(["--version"]);
    expect(r).toMatchObject({ code: 0, out: `${VERSION}\n` });
  });

  it("alerts --limit abc is refused (not silently 50), naming the option", () => {
    const db = createdDb();
    const r = cg(["--db", db, "alerts", "--limit", "abc"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /option '--limit <n>' argument 'abc' is invalid\. must be a whole number from 1 to 10000/,
    );
    expectNoStack(r.err);
    expect(cg(["--db", db, "alerts", "--limit", "0"]).code).toBe(1);
    expect(cg(["--db", db, "--json", "alerts", "--limit", "3"])).toMatchObject({ code: 0, out: "[]\n" });
  });

  it("reconcile --older-than-ms shares the numeric parser", () => {
    const r = cg(["--db", join(tempDir(), "cg.sqlite"), "reconcile", "--older-than-ms", "-5"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--older-than-ms <ms>' argument '-5' is invalid/);
  });

  it("topup-link --provider paypal: one line listing the providers", () => {
    const r = cg([
      "--db",
      join(tempDir(), "cg.sqlite"),
      "topup-link",
      "telegram:1",
      "--pack",
      "x",
      "--provider",
      "paypal",
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("argument 'paypal' is invalid. Allowed choices are stripe, mercadopago.");
    expectNoStack(r.err);
  });

  it("grant past 2^53 micro-credits: one line naming the argument, nothing granted", () => {
    const db = join(tempDir(), "cg.sqlite");
    const r = cg(["--db", db, "grant", "telegram:1", "99999999999999999", "--reason", "typo"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      'creditgate: credits: "99999999999999999" is too large (at most 9007199254.740991 credits)\n',
    );
    // Two grants that each fit but whose sum does not: the second is refused, the first kept.
    expect(cg(["--db", db, "grant", "telegram:1", "9000000000", "--reason", "a"]).code).toBe(0);
    const second = cg(["--db", db, "grant", "telegram:1", "9000000000", "--reason", "b"]);
    expect(second.code).toBe(1);
    expect(second.err).toMatch(
      /^creditgate: the balance after it \(18000000000\.00 credits\) is past the largest amount/,
    );
    expectNoStack(second.err);
    const bal = JSON.parse(cg(["--db", db, "--json", "balance", "telegram:1"]).out);
    expect(bal.balanceMicroCredits).toBe(9_000_000_000_000_000);
    // limits flags go through the same parser
    const lim = cg(["--db", db, "limits", "set", "telegram:1", "--daily", "99999999999999"]);
    expect(lim.err).toMatch(/^creditgate: --daily: "99999999999999" is too large/);
  });

  it("status with an invalid user id: one line with the rule, exit 1 (not an unexpected error)", () => {
    const db = createdDb();
    const r = cg(["--db", db, "status", "a b"]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(/^creditgate: invalid account id "a b": .*without spaces/);
    expectNoStack(r.err);
  });

  it("a database path under /proc fails with one line instead of spinning in mkdir", () => {
    const r = cg(["meter", "--once", "--db", "/proc/creditgate-nope/x.sqlite", "--state-dir", tempDir()]);
    expect(r.code).toBe(78);
    expect(r.err).toMatch(/^creditgate: cannot open the database \/proc\/creditgate-nope\/x\.sqlite/);
  });

  it("a database path that cannot be opened: one line naming CREDITGATE_DB, exit 78", () => {
    const file = join(tempDir(), "a-file");
    writeFileSync(file, "not a directory");
    // A command that writes (a read-only one refuses a missing file before opening it: cli.test.ts).
    const r = cg(["grant", "telegram:1", "1", "--reason", "r", "--key", "k"], {
      CREDITGATE_DB: join(file, "creditgate.sqlite"),
    });
    expect(r.code).toBe(78);
    expect(r.err).toMatch(
      /^creditgate: cannot open the database .*a-file\/creditgate\.sqlite \(CREDITGATE_DB or --db\): /,
    );
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });

  it("a port already taken: one line naming PORT, exit 78", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    const r = cg(["--db", join(tempDir(), "cg.sqlite"), "serve"], { PORT: String(port) });
    expect(r.code).toBe(78);
    expect(r.err).toContain(
      `creditgate: cannot listen on 127.0.0.1:${port}: the port is already in use (set PORT, e.g. PORT=8788, or stop the other program)`,
    );
    expectNoStack(r.err);
  });

  it("an unexpected error is one line plus how to see the stack; --debug shows it", () => {
    let text = "";
    expect(exitCodeOf(new TypeError("x is not a function\nmore"), (t) => (text += t), false)).toBe(70);
    expect(text).toBe(
      "creditgate: unexpected error: x is not a function\ncreditgate: run again with --debug (or CREDITGATE_LOG_LEVEL=debug) to see the stack\n",
    );
    text = "";
    exitCodeOf(new TypeError("boom"), (t) => (text += t), true);
    expect(text).toMatch(/^creditgate: unexpected error: boom\nTypeError: boom\n\s+at /);
  });
});

describe("the operator's first hour: what long-running commands say", () => {
  it("log lines: pretty is `time LEVEL message key=value`, json is a pino line", () => {
    const rec = {
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      msg: "disk slow",
      path: "/a b",
      n: 2,
      ok: true,
    };
    expect(formatLogLine("pretty", rec)).toMatch(
      /^\d\d:\d\d:\d\d\.006 WARN {2}disk slow path="\/a b" n=2 ok=true\n$/,
    );
    expect(JSON.parse(formatLogLine("json", rec))).toEqual(rec);
  });

  it("serve: stdout holds only its result line, stderr only JSON log lines; /v1 counts stored keys", async () => {
    const dir = tempDir();
    const db = join(dir, "cg.sqlite");
    const env = { CREDITGATE_LOG_FORMAT: "json", PORT: "0" };
    const before = await runUntil(["--db", db, "serve"], env, /listening on/);
    expect(before.err).toContain("the operator API (/v1) is disabled");
    expect(cg(["--db", db, "keys", "create", "--scope", "admin"]).code).toBe(0);
    const r = await runUntil(["--db", db, "serve"], env, /listening on/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^creditgate: listening on http:\/\/127\.0\.0\.1:\d+ \(public base URL [^)]+\)\n$/);
    const lines = r.err.trim().split("\n");
    for (const l of lines) expect(() => JSON.parse(l), l).not.toThrow();
    expect(lines.map((l) => JSON.parse(l).msg)).toContain(
      "stripe is disabled: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET",
    );
    expect(r.err).not.toContain("/v1) is disabled");
  });

  it("start: warns about dmScope main and state dirs missing or without agents/, shows the backfill summary", async () => {
    const dir = tempDir();
    const good = join(dir, "openclaw");
    cpSync(join(OC_FIXTURE, "agents"), join(good, "agents"), { recursive: true });
    writeFileSync(
      join(good, "openclaw.json"),
      '{ // JSON5 like OpenClaw\n  session: { dmScope: "main" } }\n',
    );
    const missing = join(dir, "nowhere");
    const empty = join(dir, "empty");
    mkdirSync(empty);
    const db = join(dir, "cg.sqlite");
    const redisPort = await freePort();
    const r = await runUntil(
      ["--db", db, "--state-dir", good, "--state-dir", missing, "--state-dir", empty, "start"],
      { CREDITGATE_LOG_FORMAT: "json", PORT: "0", REDIS_URL: `redis://127.0.0.1:${redisPort}` },
      /backfill done/,
    );
    expect(r.code).toBe(0);
    const logs = r.err
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { level: number; msg: string } & Record<string, unknown>);
    const warns = logs.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warns).toContain(
      `${join(good, "openclaw.json")}: session.dmScope is "main": every DM shares the operator's session and is billed to the agent, not the user. Set session.dmScope to "per-channel-peer".`,
    );
    expect(warns).toContain(
      `state dir ${missing} (from --state-dir or CREDITGATE_STATE_DIRS) does not exist: nothing to bill there until it appears (it is watched)`,
    );
    expect(
      warns.some((w) =>
        w.startsWith(
          `state dir ${empty} (from --state-dir or CREDITGATE_STATE_DIRS) has no agents/ directory`,
        ),
      ),
    ).toBe(true);
    const ahead = logs.find((l) => l.msg === "backfill: reading what the transcripts hold");
    expect(ahead).toMatchObject({ agents: 2, files: expect.any(Number), mbOnDisk: expect.any(Number) });
    expect(ahead?.files).toBeGreaterThan(0);
    const done = logs.find((l) => l.msg === "backfill done: following new lines");
    const d = openDatabase(db);
    const billed = (d.prepare("SELECT COUNT(*) AS n FROM usage_events").get() as { n: number }).n;
    d.close();
    expect(billed).toBeGreaterThan(0);
    expect(done).toMatchObject({ agents: 2, billed, malformed: 0 });
    // stdout: only the result line
    expect(r.out).toMatch(/^creditgate: listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  });

  it("meter says where it looked when no state dir exists", async () => {
    const home = tempDir();
    const r = await runCli({ HOME: home, CREDITGATE_LOG_FORMAT: "pretty", CREDITGATE_LOG_LEVEL: "warn" }, [
      "--db",
      join(home, "cg.sqlite"),
      "meter",
      "--once",
    ]);
    expect(r.error).toBeNull();
    expect(r.err).toContain(
      `WARN  no OpenClaw state dir found (looked at ${join(home, ".openclaw")}, ${join(home, ".clawdbot")}, ${join(home, ".moldbot")}, ${join(home, ".moltbot")}, ${join(home, ".openclaw-<profile>")}); set CREDITGATE_STATE_DIRS or OPENCLAW_STATE_DIR, or pass --state-dir`,
    );
  });
});

describe("meter --once on a state dir that does not exist", () => {
  it("says nothing was billed from it, not that it is watched (a --once run watches nothing)", async () => {
    const home = tempDir();
    const missing = join(home, "no-such-state");
    const r = await runCli({ HOME: home, CREDITGATE_LOG_FORMAT: "pretty", CREDITGATE_LOG_LEVEL: "warn" }, [
      "--db",
      join(home, "cg.sqlite"),
      "meter",
      "--once",
      "--state-dir",
      missing,
    ]);
    expect(r.error).toBeNull();
    expect(r.err).toContain(
      `state dir ${missing} (from --state-dir or CREDITGATE_STATE_DIRS) does not exist: nothing billed from it (check the path)`,
    );
    expect(r.err).not.toContain("it is watched");
  });
});

describe("meter --once elapsedMs", () => {
  it("is the time the run took, not that plus the last progress report", async () => {
    const w = tempWorld(CB_FIXTURE);
    cleanups.push(() => w.cleanup());
    // A clock that moves 400 ms per reading: progress (every >= 1000 ms) fires during the run.
    let t = 1_000_000;
    const readings: number[] = [];
    const clock = () => {
      t += 400;
      readings.push(t);
      return t;
    };
    let progressed = 0;
    const meter = createMeter({
      db: w.db,
      stateDirs: [{ path: w.stateDir, via: "test" }],
      agents: null,
      pricer: fixturePricer(),
      markup: { num: 1n, den: 1n },
      creditsPerUsd: { num: 1n, den: 1n },
      batchSize: 5,
      pollMs: 100,
      nowMs: clock,
      onProgress: () => progressed++,
    });
    const first = readings.length;
    const s = await meter.runOnce();
    meter.close();
    expect(progressed).toBeGreaterThan(0);
    const span = (readings.at(-1) ?? 0) - (readings[first] ?? 0);
    expect(s.elapsedMs).toBeGreaterThan(0);
    expect(s.elapsedMs).toBeLessThanOrEqual(span);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
    s.on("error", reject);
  });
}

/** Runs the binary until `until` shows on stdout or stderr, then SIGTERM; returns what it printed. */
async function runUntil(args: string[], env: Record<string, string>, until: RegExp) {
  const child: ChildProcess = spawn(process.execPath, [MAIN, ...args], {
    env: { PATH: process.env.PATH ?? "", CREDITGATE_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString("utf8");
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const killer = setTimeout(() => child.kill("SIGKILL"), 25_000);
  cleanups.push(() => {
    clearTimeout(killer);
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  for (let i = 0; i < 500 && !until.test(out + err) && child.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 40));
  child.kill("SIGTERM");
  const code = await exited;
  clearTimeout(killer);
  return { code, out, err };
}

describe("npm ci on Node 20", () => {
  it("no locked package (dev or not) asks for a Node newer than 20 (EBADENGINE)", () => {
    const lock = JSON.parse(readFileSync(resolve(import.meta.dirname, "../package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string; engines?: { node?: string }; optional?: boolean }>;
    };
    /** Whether one `||` clause admits some Node 20.x release (the forms that occur in the lock). */
    const admits20 = (clause: string) => {
      const c = clause.trim();
      if (c === "*" || c === "") return true;
      const ge = /^>=\s*v?(\d+)/.exec(c);
      if (ge) return Number(ge[1]) <= 20;
      const caret = /^[\^~]\s*v?(\d+)/.exec(c);
      if (caret) return Number(caret[1]) === 20;
      const gt = /^>\s*v?(\d+)/.exec(c);
      if (gt) return Number(gt[1]) < 20 || Number(gt[1]) === 20;
      return true; // other forms: not judged here
    };
    const refused = Object.entries(lock.packages)
      .filter(([, p]) => p.engines?.node && !p.engines.node.split("||").some(admits20))
      .map(([k, p]) => `${k}@${p.version} wants node ${p.engines?.node}`);
    expect(refused).toEqual([]);
  });
});
