/** Moved to src/limits/ (check.ts and the repositories). Kept only for http-routes.ts until it moves to src/api/routes/. */
export { type CheckResult, createEnforcer, type Enforcer, type UserStatus } from "../limits/index.js";
