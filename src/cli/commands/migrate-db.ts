import type { Command } from "commander";
import { AppError, ErrorCode } from "../../errors.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { renderTable, toJson } from "../output.js";

/**
 * `migrate-db --to postgres://…`: moves the SQLite install named by `--db` / CREDITGATE_DB into an
 * empty PostgreSQL database (docs/postgres.md). Stop `serve`, `worker` and `meter` first; afterwards
 * set CREDITGATE_DB to the PostgreSQL URL. The SQLite file is left untouched (keep it as a backup).
 */
export function registerMigrateDbCommands(program: Command, ctx: CliContext): void {
  program
    .command("migrate-db")
    .description("copy this SQLite install into an empty PostgreSQL database, verified, in one transaction")
    .requiredOption("--to <url>", "PostgreSQL URL, e.g. postgres://creditgate@db:5432/creditgate")
    .action(async (o: { to: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = ctx.config(g);
      const { copySqliteToPostgres, isPostgres, isPostgresUrl, PgDatabase } = await import(
        "../../db/index.js"
      );
      if (!isPostgresUrl(o.to))
        throw new AppError(ErrorCode.InvalidRequest, "--to: expected a postgres:// or postgresql:// URL");
      if (isPostgresUrl(config.dbPath))
        throw new AppError(
          ErrorCode.InvalidRequest,
          "the source database (--db / CREDITGATE_DB) is already PostgreSQL; migrate-db copies from SQLite",
        );
      const src = ctx.openDb(config);
      let dst: InstanceType<typeof PgDatabase> | null = null;
      try {
        if (isPostgres(src)) throw new AppError(ErrorCode.InvalidRequest, "the source must be SQLite");
        try {
          dst = new PgDatabase(o.to);
        } catch (err) {
          throw new AppError(ErrorCode.InvalidConfig, (err as Error).message, { cause: err });
        }
        if (typeof dst.query("SELECT current_schema()", []).rows[0]?.[0] !== "string")
          throw new AppError(
            ErrorCode.InvalidConfig,
            "--to: the URL's search_path names no existing schema: create it first (CREATE SCHEMA …; docs/postgres.md)",
          );
        const report = copySqliteToPostgres(src, dst);
        if (g.json) return ctx.out(toJson(report));
        ctx.out(
          renderTable(
            ["table", "rows"],
            report.tables.map((t) => [t.table, String(t.rows)]),
          ),
        );
        ctx.out(
          `\ncopied and verified (schema version ${report.schemaVersion}; balances total ${report.totalBalanceMicroCredits} micro-credits, ledger sum ${report.ledgerSumMicroCredits}).\nNow set CREDITGATE_DB to the PostgreSQL URL and start creditgate again; the SQLite file was not changed.\n`,
        );
      } finally {
        dst?.close();
        src.close();
      }
    });
}
