import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { loadArchiveRows, runArchive } from "../../src/retention/index.js";
import { runCli } from "../support/cli.js";
import { writeUsage } from "./support.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("creditgate archive and report --archive", () => {
  it("dry run changes nothing; --run archives; report --archive gives the pre-archive report, sessions included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-archive-cli-"));
    dirs.push(dir);
    const dbPath = join(dir, "cg.sqlite");
    const db = openDatabase(dbPath);
    writeUsage(db, 500, Date.parse("2025-01-01T00:00:00Z"), Date.parse("2025-03-01T00:00:00Z"), 5);
    db.close();
    const env = { CREDITGATE_LOG_LEVEL: "silent", CREDITGATE_TIMEZONE: "America/New_York" };
    const g = ["--db", dbPath];
    const report = ["report", "--from", "2025-01-01", "--to", "2025-02-28", "--by", "session,kind", "--json"];
    const before = await runCli(env, [...g, ...report]);
    expect(before.error).toBeNull();

    const dry = await runCli(env, [...g, "archive", "--dry-run"]);
    expect(dry.error).toBeNull();
    expect(dry.out).toMatch(/dry run/);
    expect(dry.out).toMatch(/2025-01\s+\d+\s+-\s+usage-2025-01-\d+-\d+-\*\.jsonl\.zst/);
    expect(dry.out).toMatch(/2025-02/);
    expect((await runCli(env, [...g, ...report])).out).toBe(before.out);

    const run = await runCli(env, [...g, "--json", "archive", "--run"]);
    expect(run.error).toBeNull();
    const r = JSON.parse(run.out);
    expect(r.months.map((m: { month: string }) => m.month)).toEqual(["2025-01", "2025-02"]);
    expect(r.months.reduce((n: number, m: { rows: number }) => n + m.rows, 0)).toBe(500);
    expect(r.dir).toBe(`${dbPath}.archive`);

    // Another database in the same directory archives into its own default directory: the first
    // database's files are untouched (a shared directory would have its unlisted files removed).
    const other = join(dir, "other.sqlite");
    const odb = openDatabase(other);
    writeUsage(odb, 50, Date.parse("2025-01-01T00:00:00Z"), Date.parse("2025-02-01T00:00:00Z"), 2);
    odb.close();
    const otherRun = JSON.parse((await runCli(env, ["--db", other, "--json", "archive", "--run"])).out);
    expect(otherRun.dir).toBe(`${other}.archive`);

    const withArchive = await runCli(env, [...g, ...report, "--archive", `${dbPath}.archive`]);
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
  }, 120_000);

  it("two databases sharing one CREDITGATE_ARCHIVE_DIR: a run deletes only its own leftovers, never the other's archives or the operator's files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cg-archive-shared-"));
    dirs.push(dir);
    const shared = join(dir, "archives");
    mkdirSync(shared);
    const jan = Date.parse("2025-01-01T00:00:00Z");
    const feb = Date.parse("2025-02-01T00:00:00Z");
    const nowMs = Date.parse("2025-06-15T00:00:00Z");
    const a = openDatabase(join(dir, "a.sqlite"));
    const b = openDatabase(join(dir, "b.sqlite"));
    onTestFinished(() => {
      a.close();
      b.close();
    });
    // The same ids in both databases: without a tag in the name both would write the same file.
    writeUsage(a, 200, jan, feb, 1);
    writeUsage(b, 200, jan, feb, 2);
    // The operator's own files, one looking exactly like an archive of an earlier version.
    const operatorFiles = [
      "notes.txt",
      "usage-2024-12-1-9.jsonl.zst",
      ".usage-2024-11-1-2.jsonl.zst.tmp-123",
    ];
    for (const f of operatorFiles) writeFileSync(join(shared, f), "the operator's");

    const ra = await runArchive(a, { dir: shared, retentionDays: 90, nowMs });
    expect(ra.months.map((m) => m.rows)).toEqual([200]);
    // b crashes after writing its file, before its removal commits: its leftover is its own.
    await expect(
      runArchive(b, {
        dir: shared,
        retentionDays: 90,
        nowMs,
        afterWrite: () => {
          throw new Error("crash");
        },
      }),
    ).rejects.toThrow("crash");
    const bLeftover = readdirSync(shared).filter(
      (f) => f.startsWith("usage-") && !ra.months.some((m) => m.file === f),
    );
    expect(bLeftover.filter((f) => !operatorFiles.includes(f))).toHaveLength(1);
    // a runs again (nothing to archive): b's pending leftover is not a's to delete.
    expect((await runArchive(a, { dir: shared, retentionDays: 90, nowMs })).removedLeftovers).toEqual([]);
    for (const f of [...operatorFiles, ...bLeftover]) expect(existsSync(join(shared, f)), f).toBe(true);
    // b's next run deletes exactly its own leftover, then archives its rows into a new file.
    const rb = await runArchive(b, { dir: shared, retentionDays: 90, nowMs });
    expect(rb.removedLeftovers).toEqual(bLeftover.filter((f) => !operatorFiles.includes(f)));
    expect(rb.months.map((m) => m.rows)).toEqual([200]);
    expect(rb.months[0]?.file).not.toBe(ra.months[0]?.file);
    for (const f of operatorFiles) expect(readFileSync(join(shared, f), "utf8")).toBe("the operator's");
    expect(readdirSync(shared).sort()).toEqual(
      [...operatorFiles, ra.months[0]?.file as string, rb.months[0]?.file as string].sort(),
    );
    // Each database reads back exactly its own rows from the shared directory.
    expect(loadArchiveRows(a, shared, jan, feb).rows).toBe(200);
    expect(loadArchiveRows(b, shared, jan, feb).rows).toBe(200);
    expect(a.prepare("SELECT COUNT(*) AS n FROM usage_archive_pending").get()).toEqual({ n: 0 });
    expect(b.prepare("SELECT COUNT(*) AS n FROM usage_archive_pending").get()).toEqual({ n: 0 });
  }, 120_000);
});
