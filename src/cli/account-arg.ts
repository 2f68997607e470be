import {
  ACCOUNT_ID_RE,
  ACCOUNT_ID_RULE,
  DEFAULTS_ID,
  DEFAULTS_ID_REFUSED,
  type ResolvedAccountId,
  resolveAccountId,
} from "../credits/index.js";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import type { CliContext } from "./context.js";
import { safeText } from "./output.js";

/**
 * Whether `accountId` is an account creditgate knows (SQLite and PostgreSQL alike): one in
 * `accounts`, or one the meter read calls for that are all held for review (no account row until
 * one is billed), so `review release --account` naming the held call's own account is not told
 * "no account yet: check the id".
 */
export function accountExists(db: Db): (accountId: string) => boolean {
  const stmt = db.prepare(
    `SELECT 1 AS x FROM accounts WHERE id = ?
     UNION ALL SELECT 1 FROM usage_review WHERE account_id = ? LIMIT 1`,
  );
  return (accountId) => stmt.get(accountId, accountId) !== undefined;
}

/**
 * An operator's `<user>` argument (or `--user`) as the account the meter bills
 * ({@link resolveAccountId}): `slack:U07ABC` is `slack:u07abc` unless an account of the exact
 * spelling exists. Refuses an id that breaks {@link ACCOUNT_ID_RE} with the rule (`AppError`
 * `invalid_request`, exit 1); tells the operator on stderr when the id
 * was changed, and when no account of it exists yet (`quietNew`: not for a new account, e.g.
 * `balance` already says "no activity yet"). `*` (everyone's defaults) stays as it is where the
 * command takes defaults (`defaults`: `limits`); elsewhere it is refused unless an account `*`
 * exists: `grant '*' 5` credited an account `*` no call is billed to (before 2026-12-04).
 */
export function userArg(
  ctx: Pick<CliContext, "err">,
  db: Db,
  user: string,
  opts: { quietNew?: boolean; defaults?: boolean } = {},
): ResolvedAccountId {
  if (user === DEFAULTS_ID) {
    if (opts.defaults === true || accountExists(db)(user))
      return { accountId: user, given: user, how: "exact", note: null };
    throw new AppError(ErrorCode.InvalidRequest, DEFAULTS_ID_REFUSED);
  }
  if (!ACCOUNT_ID_RE.test(user))
    throw new AppError(
      ErrorCode.InvalidRequest,
      `invalid account id "${safeText(user.slice(0, 60))}": ${ACCOUNT_ID_RULE}`,
    );
  const r = resolveAccountId(user, accountExists(db));
  if (r.note !== null && (r.how === "canonical" || opts.quietNew !== true || r.accountId !== r.given))
    ctx.err(`${r.how === "canonical" ? "note" : "warn"}: ${safeText(r.note)}\n`);
  return r;
}
