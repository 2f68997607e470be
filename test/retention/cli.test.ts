import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";
import { writeUsage } from "./support.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.each(ENGINES)("creditgate archive and report --archive (%s)", (engine) => {
  it("dry run changes nothing; --run archives; report --archive gives the pre-archive report, sessions included", async ({
    onTestFinished,
  }) => {
    const dir = mkdtempSync(join(tmpdir(), "cg-archive-cli-"));
    dirs.push(dir);
    const t = createEngineDb(engine);
    onTestFinished(t.cleanup);
    const dbPath = t.path;
    writeUsage(t.db, 500, Date.parse("2025-01-01T00:00:00Z"), Date.parse("2025-03-01T00:00:00Z"), 5);
    t.db.close();
    // SQLite: the default directory is `<file>.archive`; a PostgreSQL URL names none: set one
    const archiveOf = (db: string, name: string) => (engine === "sqlite" ? `${db}.archive` : join(dir, name));
    const env = {
      CREDITGATE_LOG_LEVEL: "silent",
      CREDITGATE_TIMEZONE: "America/New_York",
      ...(engine === "postgres" ? { CREDITGATE_ARCHIVE_DIR: archiveOf(dbPath, "a") } : {}),
    };
    const g = ["--db", dbPath];
    const report = ["report", "--from", "2025-01-01", "--to", "2025-02-28", "--by", "session,kind", "--json"];
    const before = await runCli(env, [...g, ...report]);
    expect(before.error).toBeNull();

    const dry = await runCli(env, [...g, "archive", "--dry-run"]);
    expect(dry.error).toBeNull();
    expect(dry.out).toMatch(/dry run/);
    expect(dry.out).toMatch(/2025-01\s+\d+\s+-\s+usage-2025-01-\d+-\d+\.jsonl\.zst/);
    expect(dry.out).toMatch(/2025-02/);
    expect((await runCli(env, [...g, ...report])).out).toBe(before.out);

    const run = await runCli(env, [...g, "--json", "archive", "--run"]);
    expect(run.error).toBeNull();
    const r = JSON.parse(run.out);
    expect(r.months.map((m: { month: string }) => m.month)).toEqual(["2025-01", "2025-02"]);
    expect(r.months.reduce((n: number, m: { rows: number }) => n + m.rows, 0)).toBe(500);
    expect(r.dir).toBe(archiveOf(dbPath, "a"));

    // Another database in the same directory archives into its own default directory: the first
    // database's files are untouched (a shared directory would have its unlisted files removed).
    const o = createEngineDb(engine);
    onTestFinished(o.cleanup);
    const other = o.path;
    writeUsage(o.db, 50, Date.parse("2025-01-01T00:00:00Z"), Date.parse("2025-02-01T00:00:00Z"), 2);
    o.db.close();
    const otherEnv = {
      ...env,
      ...(engine === "postgres" ? { CREDITGATE_ARCHIVE_DIR: archiveOf(other, "b") } : {}),
    };
    const otherRun = JSON.parse((await runCli(otherEnv, ["--db", other, "--json", "archive", "--run"])).out);
    expect(otherRun.dir).toBe(archiveOf(other, "b"));

    const withArchive = await runCli(env, [...g, ...report, "--archive", archiveOf(dbPath, "a")]);
    expect(withArchive.error).toBeNull();
    expect(JSON.parse(withArchive.out)).toEqual(JSON.parse(before.out));
    const without = JSON.parse((await runCli(env, [...g, ...report])).out);
    expect(without.totals).toEqual(JSON.parse(before.out).totals);
    expect(without.rows.every((x: { group: { session: string } }) => x.group.session === "(archived)")).toBe(
      true,
    );

    const missing = await runCli(env, [...g, ...report, "--archive", join(dir, "nowhere")]);
    expect(missing.error?.message).toMatch(/missing/);
    expect((await runCli(env, [...g, "archive"])).error?.message).toMatch(/--dry-run or --run/);
    if (engine === "postgres") {
      const { CREDITGATE_ARCHIVE_DIR: _, ...noDir } = env;
      const refused = await runCli(noDir, [...g, "archive", "--run"]);
      expect(refused.error?.message).toMatch(/set CREDITGATE_ARCHIVE_DIR/);
    }
  }, 120_000);
});
