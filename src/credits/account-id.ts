import { z } from "zod";
import { AppError, ErrorCode } from "../errors.js";

/**
 * An account id: 1-200 characters, none of them whitespace, control or invisible format
 * characters (bidi overrides, zero-width: they would make look-alike accounts) or a lone UTF-16
 * surrogate (`\p{Cs}`: stored as UTF-8 it becomes U+FFFD, so two such ids would be one account),
 * e.g. `telegram:123456` (an end user, as OpenClaw's channel names them) or `agent:<agentId>` (an
 * operator's own agent). The one definition of the rule: every request schema, the ledger and
 * the CLI check ids with it.
 */
export const ACCOUNT_ID_RE = /^[^\s\p{Cc}\p{Cf}\p{Cs}]{1,200}$/u;

/** Message shown when an id breaks {@link ACCOUNT_ID_RE}. */
export const ACCOUNT_ID_RULE =
  "must be 1-200 characters without spaces, control or invisible characters or a lone UTF-16 surrogate, e.g. telegram:123456";

/** zod schema of an account id ({@link ACCOUNT_ID_RE}), for request bodies, params and queries. */
export const accountIdSchema = z.string().regex(ACCOUNT_ID_RE, ACCOUNT_ID_RULE);

/**
 * An OpenClaw agent id (`main`, `support-bot`): the same characters as an account id; its own
 * spend is billed to the account `agent:<agentId>`.
 */
export const agentIdSchema = z
  .string()
  .regex(ACCOUNT_ID_RE, "must be 1-200 characters without spaces, e.g. main");

/**
 * A caller's idempotency key (grants, pushed usage): 1-200 printable ASCII characters. The
 * ledger prefixes it by kind (`grant:<key>`, `usage-batch:<identity>`), so keys never collide across kinds.
 */
export const idempotencyKeySchema = z
  .string()
  .regex(/^[\x21-\x7e]{1,200}$/, "must be 1-200 printable ASCII characters");

/**
 * Throws `AppError(invalid_request)` naming the (first 60 characters of the) id unless it is a
 * valid account id ({@link ACCOUNT_ID_RE}).
 */
export function assertAccountId(accountId: string): void {
  if (!ACCOUNT_ID_RE.test(accountId)) {
    throw new AppError(ErrorCode.InvalidRequest, `invalid account id "${accountId.slice(0, 60)}"`);
  }
}

/** Accounts named `agent:<id>` are an operator's own agents; everything else is an end user. */
export function accountKind(accountId: string): "user" | "agent" {
  return accountId.startsWith("agent:") ? "agent" : "user";
}
