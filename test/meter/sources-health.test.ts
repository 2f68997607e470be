import { execFileSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { sourceHealth } from "../../src/meter/health.js";
import { createMeter } from "../../src/meter/meter.js";
import { classifyImportArchiveFile } from "../../src/meter/sources/jsonl.js";
import { createSqliteSource } from "../../src/meter/sources/sqlite.js";
import { testApp } from "../api/support.js";
import { runCli } from "../support/cli.js";
import { CASES, CB_FIXTURE, fixturePricer, OC_FIXTURE } from "../support/meter-env.js";

const IMPORT_CASE = join(CASES, "import-archive");
const env = { CREDITGATE_LOG_LEVEL: "silent" };

const dirs: string[] = [];
beforeEach(() => sourceHealth.reset());
afterEach(() => {
  sourceHealth.reset();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), "creditgate-health-"));
  dirs.push(d);
  return d;
}

describe("every place OpenClaw keeps transcripts is read", () => {
  it("case import-archive: the doctor's session-sqlite-import-archive/ bills 1 call to agent:main, $0.006", async () => {
    const dir = temp();
    cpSync(IMPORT_CASE, join(dir, "case"), { recursive: true });
    const e = { ...env, CREDITGATE_PRICES: join(dir, "case", "prices.json") };
    const g = ["--db", join(dir, "c.sqlite"), "--state-dir", join(dir, "case", "state")];
    const r = await runCli(e, [...g, "--json", "meter", "--once"]);
    expect(r.error).toBeNull();
    expect(JSON.parse(r.out)).toMatchObject({ billed: 1, failures: [] });
    const usage = JSON.parse((await runCli(e, [...g, "--json", "usage", "--by", "user"])).out);
    expect(usage).toHaveLength(1);
    expect(usage[0]).toMatchObject({
      key: "agent:main",
      requests: 1,
      costUsd: "0.006",
      input: 1000,
      output: 200,
    });
    expect(JSON.parse((await runCli(e, [...g, "--json", "meter", "--once"])).out)).toMatchObject({
      billed: 0,
    });
  });

  it("names the doctor writes: <key slug>.<transcript>.imported-<ms>[.<n>]", () => {
    expect(
      classifyImportArchiveFile("agent_main_telegram_direct_42.abc-123.jsonl.imported-1795400000000"),
    ).toEqual({
      sessionId: "abc-123",
      archived: true,
    });
    expect(classifyImportArchiveFile("k.with.dots.sid9-topic-7.jsonl.imported-1.2")).toEqual({
      sessionId: "sid9",
      archived: true,
    });
    expect(classifyImportArchiveFile("sid.jsonl.imported-12")).toEqual({ sessionId: "sid", archived: true });
    // a branch copy: the session is the id after `<ISO>_`, as in sessions/
    expect(
      classifyImportArchiveFile("archive-tier.2026-11-20T10-11-12-345Z_sid7-topic-2.jsonl.imported-12"),
    ).toEqual({ sessionId: "sid7", archived: true });
    expect(classifyImportArchiveFile("sessions.json.imported-12")).toBeNull();
    expect(classifyImportArchiveFile("x.jsonl")).toBeNull();
  });

  it("a transcript read in sessions/ and then moved to the import archive is not billed again", async () => {
    const dir = temp();
    const state = join(dir, "state");
    cpSync(join(CB_FIXTURE, "agents"), join(state, "agents"), { recursive: true });
    const db = openDatabase(join(dir, "c.sqlite"));
    const meter = () =>
      createMeter({
        db,
        stateDirs: [{ path: state, via: "test" }],
        agents: ["main"],
        pricer: fixturePricer(),
        markup: { num: 1n, den: 1n },
        creditsPerUsd: { num: 1n, den: 1n },
        batchSize: 100,
        pollMs: 10,
      });
    const m1 = meter();
    const first = await m1.runOnce();
    m1.close();
    expect(first.billed).toBeGreaterThan(0);
    const sessions = join(state, "agents", "main", "sessions");
    const index = JSON.parse(readFileSync(join(sessions, "sessions.json"), "utf8")) as Record<
      string,
      { sessionId: string }
    >;
    const [key, entry] = Object.entries(index)[0] ?? [];
    const archive = join(state, "agents", "main", "session-sqlite-import-archive");
    mkdirSync(archive);
    const slug = String(key).replace(/[^A-Za-z0-9_.-]+/g, "_");
    renameSync(
      join(sessions, `${entry?.sessionId}.jsonl`),
      join(archive, `${slug}.${entry?.sessionId}.jsonl.imported-1795400000000`),
    );
    const m2 = meter();
    const again = await m2.runOnce();
    m2.close();
    expect(again).toMatchObject({ billed: 0, failures: [] });
    db.close();
  });
});

describe("failures are visible: logged with path, counted in /metrics, /readyz degraded, meter --once exits 1", () => {
  function world(fixture = CB_FIXTURE) {
    const dir = temp();
    const state = join(dir, "state");
    cpSync(join(fixture, "agents"), join(state, "agents"), { recursive: true });
    return {
      dir,
      state,
      db: join(dir, "c.sqlite"),
      g: ["--db", join(dir, "c.sqlite"), "--state-dir", state],
    };
  }

  it("a session file rewritten under the cursor: re-read, logged, in the summary and /metrics; not a failure", async () => {
    const w = world();
    expect((await runCli(env, [...w.g, "meter", "--once"])).error).toBeNull();
    const sessions = join(w.state, "agents", "main", "sessions");
    const file = readdirSync(sessions).find((n) => n.endsWith(".jsonl")) as string;
    const path = join(sessions, file);
    // rewritten in place without its last line (as an editor or a compaction would): shorter
    const lines = readFileSync(path, "utf8").trimEnd().split("\n");
    writeFileSync(path, `${lines.slice(0, -1).join("\n")}\n`);
    const r = await runCli({ CREDITGATE_LOG_LEVEL: "warn" }, [...w.g, "--json", "meter", "--once"]);
    expect(r.error).toBeNull();
    expect(JSON.parse(r.out)).toMatchObject({ billed: 0, rescans: 1, failures: [] });
    expect(r.err).toContain("re-read from their start");
    expect(r.err).toContain('"source":"jsonl:main"');
    const table = await runCli(env, [...w.g, "meter", "--once"]);
    expect(table.out).toMatch(/transcripts re-read \(changed under the cursor\)\s+0/);
    const db = openDatabase(w.db);
    const app = testApp(db);
    try {
      expect((await app.inject({ url: "/readyz" })).json()).toMatchObject({ status: "ok" });
      const metrics = (await app.inject({ url: "/metrics" })).body;
      expect(metrics).toContain('creditgate_meter_rescans_total{kind="jsonl"} 1');
    } finally {
      await app.close();
      db.close();
    }
  });

  it("a directory where a transcript file is expected", async () => {
    const w = world();
    const bad = join(w.state, "agents", "main", "sessions", "0badd1r0-0000-4000-8000-000000000000.jsonl");
    mkdirSync(bad);
    const r = await runCli(env, [...w.g, "meter", "--once"]);
    expect(r.error?.message).toMatch(/1 source problem\(s\): jsonl:main/);
    expect(r.err).toContain(`error: jsonl:main ${bad}: not-a-file`);
    expect(r.out).toMatch(/events billed\s+\d+/); // the rest was billed
    expect(r.out).toMatch(/source failures\s+1/);

    // /readyz degraded and /metrics count it while the problem is current
    const db = openDatabase(w.db);
    const app = testApp(db);
    try {
      const ready = await app.inject({ url: "/readyz" });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({
        ok: true,
        status: "degraded",
        sources: { ok: false, failing: [{ source: "jsonl:main", path: bad, code: "not-a-file" }] },
      });
      const metrics = (await app.inject({ url: "/metrics" })).body;
      expect(metrics).toContain('creditgate_meter_source_failures_total{kind="jsonl",code="not-a-file"} 1');
      expect(metrics).toContain("creditgate_meter_sources_failing 1");
    } finally {
      await app.close();
      db.close();
    }

    // fixed: the next run is clean and /readyz is ok again
    rmSync(bad, { recursive: true });
    const fixed = await runCli(env, [...w.g, "meter", "--once"]);
    expect(fixed.error).toBeNull();
    const db2 = openDatabase(w.db);
    const app2 = testApp(db2);
    try {
      expect((await app2.inject({ url: "/readyz" })).json()).toMatchObject({
        status: "ok",
        sources: { ok: true },
      });
    } finally {
      await app2.close();
      db2.close();
    }
  });

  it("a FIFO where a transcript file is expected (never opened: it would block)", async () => {
    const w = world();
    const fifo = join(w.state, "agents", "main", "sessions", "f1f0f1f0-0000-4000-8000-000000000000.jsonl");
    execFileSync("mkfifo", [fifo]);
    const r = await runCli(env, [...w.g, "meter", "--once"]);
    expect(r.error?.message).toMatch(/source problem/);
    expect(r.err).toContain(`${fifo}: not-a-file`);
  });

  it("a transcript name that is a symlink to nothing is a problem, not skipped in silence", async () => {
    const w = world();
    const link = join(w.state, "agents", "main", "sessions", "d4d4d4d4-0000-4000-8000-000000000000.jsonl");
    symlinkSync(join(w.state, "nowhere.jsonl"), link);
    const r = await runCli(env, [...w.g, "meter", "--once"]);
    expect(r.error?.message).toMatch(/1 source problem\(s\): jsonl:main/);
    expect(r.err).toContain(`${link}: dangling-link: a transcript name that is a symlink to nothing`);
  });

  it("a damaged sessions.json and an unreadable cold-storage dir", async () => {
    const w = world();
    const sessions = join(w.state, "agents", "main", "sessions");
    writeFileSync(join(sessions, "sessions.json"), '{"agent:main:telegram:dm:1": {"sessionId": ');
    writeFileSync(join(sessions, "cold"), "a file where a directory belongs");
    const r = await runCli(env, [...w.g, "meter", "--once"]);
    expect(r.error?.message).toMatch(/2 source problem\(s\): jsonl:main/);
    expect(r.err).toContain(
      `${join(sessions, "sessions.json")}: EBADJSON: sessions.json cannot be read (not valid JSON)`,
    );
    expect(r.err).toContain(`${join(sessions, "cold")}: ENOTDIR`);
  });

  it("a sessions/ path that is not a directory", async () => {
    const w = world();
    const sessions = join(w.state, "agents", "main", "sessions");
    rmSync(sessions, { recursive: true });
    writeFileSync(sessions, "not a dir");
    const r = await runCli(env, [...w.g, "--json", "meter", "--once"]);
    expect(r.error?.message).toMatch(/source problem/);
    expect(r.err).toContain(`${sessions}: ENOTDIR`);
  });

  it("a corrupt OpenClaw SQLite store", async () => {
    const w = world(OC_FIXTURE);
    const store = join(w.state, "agents", "support", "agent", "openclaw-agent.sqlite");
    writeFileSync(store, Buffer.alloc(8192, 0x41));
    const r = await runCli(env, [...w.g, "--json", "meter", "--once"]);
    expect(r.error?.message).toMatch(/source problem\(s\): sqlite:support/);
    expect(r.err).toMatch(
      /sqlite:support .*openclaw-agent\.sqlite: SQLITE_NOTADB: not a readable SQLite database/,
    );
    // agent main was billed regardless
    expect(r.out).toContain('"billed"');
    expect(JSON.parse(r.out).billed).toBeGreaterThan(0);
  });

  it("an OpenClaw store locked by a writer is reported, then read on the next poll", async () => {
    const w = world(OC_FIXTURE);
    const db = openDatabase(w.db);
    const src = createSqliteSource({
      agentDir: join(w.state, "agents", "main"),
      agentId: "main",
      db,
      batchSize: 100,
      busyTimeoutMs: 50,
    });
    const writer = new Database(join(w.state, "agents", "main", "agent", "openclaw-agent.sqlite"));
    writer.exec("BEGIN EXCLUSIVE");
    const problems: { path: string; code: string; reason: string }[] = [];
    let batches = 0;
    await src.poll(
      () => {
        batches++;
      },
      (p) => problems.push(p),
    );
    expect(batches).toBe(0);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ code: "SQLITE_BUSY" });
    expect(problems[0]?.path).toMatch(/openclaw-agent\.sqlite$/);
    writer.exec("COMMIT");
    writer.close();
    problems.length = 0;
    await src.poll(
      () => {
        batches++;
      },
      (p) => problems.push(p),
    );
    expect(problems).toEqual([]);
    expect(batches).toBeGreaterThan(0);
    src.close();
    db.close();
  });

  it("creditgate's own database full: the batch is not billed, the cursor does not move, reported and retried", async () => {
    const w = world();
    const db = openDatabase(w.db);
    const pages = (db.pragma("page_count", { simple: true }) as number) + 1;
    db.pragma(`max_page_count = ${pages}`);
    const logs: Record<string, unknown>[] = [];
    const meter = createMeter({
      db,
      stateDirs: [{ path: w.state, via: "test" }],
      agents: ["main"],
      pricer: fixturePricer(),
      markup: { num: 1n, den: 1n },
      creditsPerUsd: { num: 1n, den: 1n },
      batchSize: 1000,
      pollMs: 10,
      log: (level, msg, fields) => logs.push({ level, msg, ...fields }),
    });
    const s = await meter.runOnce();
    expect(s.billed).toBe(0);
    expect(s.failures.length).toBeGreaterThan(0);
    expect(s.failures[0]).toMatchObject({ code: "creditgate-db:SQLITE_FULL", path: db.name });
    expect(logs[0]).toMatchObject({
      level: "error",
      msg: "meter source problem",
      code: "creditgate-db:SQLITE_FULL",
    });
    expect(db.prepare("SELECT COUNT(*) AS n FROM usage_events").get()).toEqual({ n: 0 });
    expect(db.prepare("SELECT COUNT(*) AS n FROM usage_review").get()).toEqual({ n: 0 });
    db.pragma("max_page_count = 1073741823");
    const again = await meter.runOnce();
    expect(again.failures).toEqual([]);
    expect(again.billed).toBeGreaterThan(0);
    meter.close();
    db.close();
  });
});
