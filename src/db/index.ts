/** The shared SQLite file: opener and append-only migrations. Owns no business rules. */
export { type Db, migrate, openDatabase } from "./open.js";
export { type Migration, MIGRATIONS } from "./migrations.js";
