/** Moved to src/limits/rules.ts. Kept only for http-routes.ts until it moves to src/api/routes/. */
export { type LimitRules, limitRulesSchema } from "../limits/index.js";
