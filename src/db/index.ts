/** The shared database (a SQLite file, or PostgreSQL): openers and append-only migrations. Owns no business rules. */

export { type CopyReport, copySqliteToPostgres } from "./copy.js";
export { MIGRATIONS, type Migration } from "./migrations.js";
export {
  asPostgres,
  type Db,
  DEFAULT_BUSY_TIMEOUT_MS,
  isBusyError,
  isPostgres,
  migrate,
  migratePostgres,
  type OpenDatabaseOptions,
  openDatabase,
  openPostgres,
  retryOnBusy,
  SERVER_BUSY_TIMEOUT_MS,
} from "./open.js";
export { isPostgresUrl, isRetryablePgError, PgDatabase, PgError } from "./pg.js";
export { PG_MIGRATIONS } from "./pg-migrations.js";
