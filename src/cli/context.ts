import { type Config, loadConfig } from "../config/index.js";
import { type Db, type OpenDatabaseOptions, openDatabase } from "../db/index.js";

/** Global options every command accepts. */
export interface GlobalOptions {
  db?: string;
  stateDir?: string[];
  json?: boolean;
}

/**
 * What a command gets: config (env + global flags), a lazily opened database, and writers.
 * Commands never read `process.env` themselves; the entrypoint passes it in.
 */
export interface CliContext {
  readonly env: Record<string, string | undefined>;
  config(opts: GlobalOptions): Config;
  /** Opens `config.dbPath`; `opts.busyTimeoutMs` is short for processes that serve HTTP. */
  openDb(config: Config, opts?: OpenDatabaseOptions): Db;
  out(text: string): void;
  err(text: string): void;
  nowMs(): number;
}

export function createCliContext(
  env: Record<string, string | undefined>,
  io: { out(text: string): void; err(text: string): void } = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
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
      const db = openDatabase(config.dbPath, undefined, opts);
      opened.push(db);
      return db;
    },
    out: io.out,
    err: io.err,
    nowMs: () => Date.now(),
  };
}
