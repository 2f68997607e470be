/** Moved to src/limits/queries.ts. Kept only for http-routes.ts until it moves to src/api/routes/. */
export { createQueries, type Queries } from "../limits/index.js";
