import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { ARCHIVE_FILE_RE, decodeArchive, parseArchiveLine, runArchive } from "../../src/retention/index.js";
import { runCli } from "../support/cli.js";
import { CB_FIXTURE } from "../support/meter-env.js";
import { createEngineDb, ENGINES } from "../support/temp-db.js";
import { writeUsage } from "./support.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};
const CLI = resolve(import.meta.dirname, "../../dist/cli/main.js");

describe("retention keeps billing exactly once", () => {
  it("after retention archived every row, the same transcripts metered again from scratch (copied files) bill nothing", async () => {
    const dir = tmp("cg-retention-meter-");
    cpSync(CB_FIXTURE, join(dir, "state"), { recursive: true });
    const dbPath = join(dir, "cg.sqlite");
    const env = { CREDITGATE_LOG_LEVEL: "silent" };
    const first = await runCli(env, [
      "--db",
      dbPath,
      "--state-dir",
      join(dir, "state"),
      "--json",
      "meter",
      "--once",
    ]);
    expect(first.error).toBeNull();
    const billed = JSON.parse(first.out).billed as number;
    expect(billed).toBeGreaterThan(0);

    let db = openDatabase(dbPath);
    const snapshot = () => ({
      balances: db.prepare("SELECT id, balance_micro_credits FROM accounts ORDER BY id").all(),
      ledger: db.prepare("SELECT COUNT(*) AS n, SUM(amount_micro_credits) AS s FROM ledger_entries").get(),
    });
    const before = snapshot();
    // A clock far ahead: every row is older than the retention period.
    const run = await runArchive(db, {
      dir: join(dir, "archive"),
      retentionDays: 35,
      nowMs: Date.parse("2030-01-01T00:00:00Z"),
    });
    expect(run.months.reduce((n, m) => n + m.rows, 0)).toBe(billed);
    expect(db.prepare("SELECT COUNT(*) AS n FROM usage_events").get()).toEqual({ n: 0 });
    db.close();

    // From scratch: the transcripts copied to a new state dir (new files, new cursors).
    cpSync(join(dir, "state"), join(dir, "copy"), { recursive: true });
    const again = await runCli(env, [
      "--db",
      dbPath,
      "--state-dir",
      join(dir, "copy"),
      "--json",
      "meter",
      "--once",
    ]);
    expect(again.error).toBeNull();
    const summary = JSON.parse(again.out);
    expect(summary.billed).toBe(0);
    expect(summary.duplicates).toBeGreaterThanOrEqual(billed);
    db = openDatabase(dbPath);
    expect(snapshot()).toEqual(before);
    expect(db.prepare("SELECT COUNT(*) AS n FROM usage_events").get()).toEqual({ n: 0 });
    db.close();
  }, 120_000);

  // PostgreSQL: ~2 min under load (24k rows written through the triggers one round trip at a time)
  it.each(ENGINES)(
    "SIGKILL at random moments of archive --run (%s): rows and a complete or absent file; every row ends in exactly one file",
    async (engine) => {
      if (!existsSync(CLI)) throw new Error("dist/ missing: npm run build first");
      const dir = tmp("cg-retention-kill-");
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const dbPath = t.path;
      const archive = join(dir, "archive");
      let db = t.db;
      // Six months of 2025 (older than any retention the real clock allows): 24k rows, January's
      // 21k split into two files (at most FILE_MAX_ROWS each).
      writeUsage(db, 21_000, Date.parse("2025-01-01T00:00:00Z"), Date.parse("2025-02-01T00:00:00Z"), 11);
      writeUsage(db, 3_000, Date.parse("2025-02-01T00:00:00Z"), Date.parse("2025-07-01T00:00:00Z"), 12);
      const ids = (db.prepare("SELECT id FROM usage_events ORDER BY id").pluck().all() as number[]).map(
        Number,
      );
      const totals = db.prepare("SELECT SUM(cost_pico_usd) AS c, COUNT(*) AS n FROM usage_events").get();
      db.close();

      const runOnce = (killAfterMs: number | null) =>
        new Promise<number | null>((done) => {
          const child = spawn(
            process.execPath,
            [CLI, "--db", dbPath, "archive", "--run", "--dir", archive, "--json"],
            {
              env: {
                PATH: process.env.PATH ?? "",
                CREDITGATE_LOG_LEVEL: "silent",
                CREDITGATE_RETENTION_DAYS: "35",
              },
              stdio: "ignore",
            },
          );
          const t = killAfterMs === null ? null : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
          child.on("exit", (code) => {
            if (t) clearTimeout(t);
            done(code);
          });
        });
      let kills = 0;
      for (let i = 0; i < 12; i++) {
        const code = await runOnce(150 + Math.floor(Math.random() * 900));
        if (code === null) kills++;
        else break;
      }
      expect(await runOnce(null)).toBe(0);
      expect(kills).toBeGreaterThan(0);

      db = openDatabase(dbPath);
      const listed = db.prepare("SELECT file, rows FROM usage_archive_files ORDER BY file").all() as {
        file: string;
        rows: number;
      }[];
      expect(listed.filter((f) => f.file.startsWith("usage-2025-01-")).map((f) => f.rows)).toEqual([
        20_000, 1_000,
      ]);
      // No leftovers: the directory holds exactly the listed files.
      expect(readdirSync(archive).sort()).toEqual(listed.map((f) => f.file).sort());
      const seen: number[] = [];
      for (const f of listed) {
        expect(f.file).toMatch(ARCHIVE_FILE_RE);
        const lines = decodeArchive(readFileSync(join(archive, f.file)))
          .trimEnd()
          .split("\n");
        expect(lines).toHaveLength(f.rows);
        for (const l of lines) seen.push(Number(parseArchiveLine(l).id));
      }
      seen.sort((a, b) => a - b);
      expect(seen).toEqual(ids); // each row in exactly one file
      expect(db.prepare("SELECT COUNT(*) AS n FROM usage_events").get()).toEqual({ n: 0 });
      expect(db.prepare("SELECT COUNT(*) AS n FROM usage_archived_keys").get()).toEqual({ n: ids.length });
      expect(
        db.prepare("SELECT SUM(cost_pico_usd) AS c, SUM(requests) AS n FROM usage_archived").get(),
      ).toEqual(totals);
      db.close();
    },
    420_000,
  );
});
