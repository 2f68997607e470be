/** The shared SQLite file: opener and append-only migrations. Owns no business rules. */

export { MIGRATIONS, type Migration } from "./migrations.js";
export { type Db, migrate, openDatabase } from "./open.js";
