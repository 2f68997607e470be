import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type Config, loadConfig } from "../config/index.js";
import { type Db, isPostgresUrl, type OpenDatabaseOptions, openDatabase } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { createStderrLog, type Log, type LogFormat, pinoDestination } from "./output.js";

/** Global options every command accepts. */
export interface GlobalOptions {
  db?: string;
  stateDir?: string[];
  json?: boolean;
  debug?: boolean;
}

/** How a command opens the database. */
export interface CliOpenDbOptions extends OpenDatabaseOptions {
  /**
   * The command only reads (`usage`, `balance`, `grants`, `report`, `review` list, `providers`): a
   * SQLite file that is not there is an error that creates nothing. Before 2026-12-04 such a command
   * created an empty database (and its directories) at a mistyped `--db`, or at
   * `./data/creditgate.sqlite` under whatever directory it ran in, and printed an empty table with
   * exit 0: an operator following the quick start from another directory saw no usage at all.
   */
  existing?: boolean;
}

/**
 * What a command gets: config (env + global flags), a lazily opened database, and writers.
 * Commands never read `process.env` themselves; the entrypoint passes it in.
 */
export interface CliContext {
  readonly env: Record<string, string | undefined>;
  config(opts: GlobalOptions): Config;
  /** Opens `config.dbPath`; `opts.busyTimeoutMs` is short for processes that serve HTTP. */
  openDb(config: Config, opts?: CliOpenDbOptions): Db;
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (log format `auto` → pretty). */
  readonly errIsTty: boolean;
  /** Whether stdout is a terminal (`report --watch` redraws in place only then). */
  readonly outIsTty: boolean;
  /** The stderr logger of long-running commands, per CREDITGATE_LOG_LEVEL / CREDITGATE_LOG_FORMAT. */
  logger(config: Config): {
    log: Log;
    format: LogFormat;
    pino: { level: string; stream: { write(line: string): void } };
  };
  nowMs(): number;
}

export function createCliContext(
  env: Record<string, string | undefined>,
  io: { out(text: string): void; err(text: string): void; errIsTty?: boolean; outIsTty?: boolean } = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    errIsTty: process.stderr.isTTY === true,
    outIsTty: process.stdout.isTTY === true,
  },
): CliContext {
  const opened: Db[] = [];
  return {
    env,
    config(opts) {
      const merged: Record<string, string | undefined> = { ...env };
      if (opts.db) merged.CREDITGATE_DB = opts.db;
      if (opts.stateDir && opts.stateDir.length > 0) merged.CREDITGATE_STATE_DIRS = opts.stateDir.join(",");
      return loadConfig(merged);
    },
    openDb(config, opts) {
      const path = config.dbPath;
      if (
        opts?.existing === true &&
        path !== ":memory:" &&
        path !== "" &&
        !path.startsWith("file:") &&
        !isPostgresUrl(path) &&
        !existsSync(path)
      ) {
        throw new AppError(
          ErrorCode.InvalidConfig,
          `no database at ${resolve(path)} (CREDITGATE_DB or --db; the default ./data/creditgate.sqlite is under the current directory): nothing was metered into it. Run this where \`creditgate start\` runs, or pass --db <file>`,
        );
      }
      let db: Db;
      try {
        db = openDatabase(config.dbPath, undefined, opts);
      } catch (err) {
        throw new AppError(
          ErrorCode.InvalidConfig,
          `cannot open the database ${config.dbPath} (CREDITGATE_DB or --db): ${(err as Error).message}`,
          { cause: err },
        );
      }
      opened.push(db);
      return db;
    },
    out: io.out,
    err: io.err,
    errIsTty: io.errIsTty === true,
    outIsTty: io.outIsTty === true,
    logger(config) {
      const format: LogFormat =
        config.logFormat === "auto" ? (io.errIsTty ? "pretty" : "json") : config.logFormat;
      return {
        log: createStderrLog(io.err, config.logLevel, format),
        format,
        pino: { level: config.logLevel, stream: pinoDestination(io.err, format) },
      };
    },
    nowMs: () => Date.now(),
  };
}
