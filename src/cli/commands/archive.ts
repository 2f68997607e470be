import type { Command } from "commander";
import { AppError, ErrorCode } from "../../errors.js";
import { type ArchiveResult, runArchive } from "../../retention/index.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { renderTable, safeText, toJson } from "../output.js";

interface ArchiveCliOptions {
  dryRun?: boolean;
  run?: boolean;
  dir?: string;
}

/** The table of an archive run: month, rows, bytes, file. */
export function archiveTable(r: ArchiveResult): string {
  const head = r.dryRun
    ? `dry run: would archive usage rows before ${new Date(r.cutMs).toISOString().slice(0, 10)} (kept ${r.keepDays} days) to ${safeText(r.dir)}\n`
    : `archived usage rows before ${new Date(r.cutMs).toISOString().slice(0, 10)} (kept ${r.keepDays} days) to ${safeText(r.dir)}\n`;
  if (r.months.length === 0) return `${head}nothing to archive\n`;
  const rows = r.months.map((m) => [
    m.month,
    String(m.rows),
    m.bytes === null ? "-" : String(m.bytes),
    safeText(m.file),
  ]);
  const total = r.months.reduce((n, m) => n + m.rows, 0);
  rows.push(["total", String(total), "", ""]);
  return head + renderTable(["month", "rows", "bytes", "file"], rows);
}

/** `creditgate archive --dry-run | --run`: usage retention (docs/retention.md). */
export function registerArchiveCommands(program: Command, ctx: CliContext): void {
  program
    .command("archive")
    .description(
      "export usage rows older than CREDITGATE_RETENTION_DAYS to monthly zstd JSONL files, roll them up, remove them",
    )
    .option("--dry-run", "show what would be archived; change nothing")
    .option("--run", "archive now")
    .option("--dir <dir>", "archive directory (default CREDITGATE_ARCHIVE_DIR)")
    .action(async (o: ArchiveCliOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (!!o.dryRun === !!o.run) throw new AppError(ErrorCode.InvalidRequest, "use --dry-run or --run");
      const config = ctx.config(g);
      const dir = o.dir ?? config.worker.archiveDir;
      if (dir === null)
        throw new AppError(
          ErrorCode.InvalidRequest,
          "CREDITGATE_DB is PostgreSQL: set CREDITGATE_ARCHIVE_DIR (or --dir) to the archive directory",
        );
      const db = ctx.openDb(config);
      let r: ArchiveResult;
      try {
        r = await runArchive(db, {
          dir,
          retentionDays: config.worker.retentionDays,
          nowMs: ctx.nowMs(),
          dryRun: !!o.dryRun,
        });
      } catch (err) {
        if (err instanceof Error && /holds the lease/.test(err.message))
          throw new AppError(ErrorCode.Conflict, err.message);
        throw err;
      } finally {
        db.close();
      }
      if (g.json) return ctx.out(toJson(r));
      ctx.out(archiveTable(r));
    });
}
