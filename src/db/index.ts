/** The shared SQLite file: opener and append-only migrations. Owns no business rules. */

export { MIGRATIONS, type Migration } from "./migrations.js";
export {
  type Db,
  DEFAULT_BUSY_TIMEOUT_MS,
  isBusyError,
  migrate,
  type OpenDatabaseOptions,
  openDatabase,
  retryOnBusy,
  SERVER_BUSY_TIMEOUT_MS,
} from "./open.js";
