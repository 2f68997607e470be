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

/**
 * An account id as the meter and the plugin name it: lower-cased (OpenClaw lower-cases session
 * keys, so every end user's account, `slack:u07abc`, `matrix:@alice:example.org`, a linked person
 * `alice`, and every `agent:<agentId>` is lower case), except that a percent-escape of an id made
 * storable (`%C2%A0`, {@link ACCOUNT_ID_RE}) keeps its upper-case hex digits as the meter writes them.
 * Ids pushed through the API (`POST /v1/usage`) keep their case: see {@link resolveAccountId}.
 */
export function canonicalAccountId(accountId: string): string {
  return foldLookAlikes(accountId)
    .toLowerCase()
    .replace(/%[0-9a-f]{2}/g, (m) => m.toUpperCase());
}

/**
 * An id with its look-alike characters folded to the ones channels use: Unicode NFKC (fullwidth
 * `ｔｅｌｅｇｒａｍ：１` → `telegram:1`, ligatures, compatibility forms) and every decimal digit of
 * another script as its ASCII digit (Arabic-Indic `١٢٣` → `123`: NFKC keeps those), so an id
 * typed or pasted from a phone keyboard names the account the meter bills (`telegram:123`) instead
 * of a new one nobody is billed under (before 2026-12-04, case `test/cases/account-id-look-alike`).
 * A character NFKC turns into white space or a control character is percent-encoded as the meter
 * stores such ids ({@link ACCOUNT_ID_RE}). An ASCII id is returned as it is: ids already in this
 * form (every id the meter has written from OpenClaw's keys) never change.
 */
export function foldLookAlikes(id: string): string {
  if (/^[\x20-\x7e]*$/.test(id)) return id;
  return id
    .normalize("NFKC")
    .replace(/\p{Nd}/gu, (d) => String(digitValue(d)))
    .replace(/[\s\p{Cc}\p{Cf}]/gu, (c) => encodeURIComponent(c));
}

/** The value (0-9) of one decimal digit (`\p{Nd}`) of any script: its place in its run of ten. */
function digitValue(d: string): number {
  const cp = d.codePointAt(0) ?? 0;
  let start = cp;
  // Nd digits come in runs of ten from zero; adjacent runs (math digits) are whole tens too
  while (start > 0 && cp - start < 200 && /\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/** The id that names everyone's defaults (`limits set '*'`, `/v1/limits/defaults`), never an account. */
export const DEFAULTS_ID = "*";

/**
 * Why an operator's grant, top-up, balance or status naming `*` is refused: it reads as "everyone"
 * but was an account of its own no call is billed to (`grant '*' 5` credited nobody's balance;
 * before 2026-12-04). An account `*` that exists stays reachable.
 */
export const DEFAULTS_ID_REFUSED =
  "'*' is not an account: it names everyone's defaults in limits only (`creditgate limits set '*'`, /v1/limits/defaults); a grant, top-up, balance or status needs one account, e.g. telegram:123456 (no call is ever billed to '*')";

/** How an operator's account id was resolved ({@link resolveAccountId}). */
export interface ResolvedAccountId {
  /** The account to act on. */
  readonly accountId: string;
  /** The id as given. */
  readonly given: string;
  /**
   * `exact`: an account of that id exists; `canonical`: it does not but its canonical form does
   * (used instead); `new`: neither exists (the canonical form is used: the one the meter will bill).
   */
  readonly how: "exact" | "canonical" | "new";
  /** A line for the operator when the id was changed or names no account yet; null otherwise. */
  readonly note: string | null;
}

/**
 * The account an operator's id (CLI `grant`, `balance`, `usage --user`..., the API's grant,
 * balance and usage routes) names, so a grant never silently opens a second account for a person
 * the meter bills under another letter case (`slack:U07ABC` typed from Slack's profile, billed as
 * `slack:u07abc`): the id itself when such an account exists (an API-pushed `api:MyUser` keeps its
 * case), else its canonical form ({@link canonicalAccountId}) when that exists, else the canonical
 * form with a note that no account of either spelling exists yet.
 */
export function resolveAccountId(given: string, exists: (accountId: string) => boolean): ResolvedAccountId {
  if (exists(given)) return { accountId: given, given, how: "exact", note: null };
  if (given === DEFAULTS_ID) throw new AppError(ErrorCode.InvalidRequest, DEFAULTS_ID_REFUSED);
  const canonical = canonicalAccountId(given);
  if (canonical !== given && exists(canonical))
    return {
      accountId: canonical,
      given,
      how: "canonical",
      note: `no account "${given}"; using "${canonical}" (account ids are lower case${foldLookAlikes(given) === given ? "" : ", with plain letters and ASCII digits"}, as the meter bills them)`,
    };
  const empty = emptyIdPart(given);
  if (empty !== null)
    throw new AppError(
      ErrorCode.InvalidRequest,
      `invalid account id "${given.slice(0, 60)}": ${empty}; the meter never bills such an account (e.g. telegram:123456)`,
    );
  return {
    accountId: canonical,
    given,
    how: "new",
    note:
      canonical === given
        ? `no account "${given}" yet (no usage, grant or top-up): check the id`
        : `no account "${given}" nor "${canonical}" yet (no usage, grant or top-up): using "${canonical}", as the meter will bill it; check the id`,
  };
}

/**
 * Why an id the operator typed names nobody the meter could ever bill, or null: a channel with an
 * empty sender (`telegram:`, a copied template or a shell variable that expanded to nothing:
 * `grant telegram:$ID 5`), an empty channel (`:123456`) (not an empty part inside: a Matrix server may be
 * an IPv6 literal, `matrix:@a:[::1]`).
 * The meter names an end user `<channel>:<peer>` from an OpenClaw session key, whose parts are
 * never empty (OpenClaw rejects such keys), and an operator's agent `agent:<agentId>`. Only for an
 * id no account has: an existing account, however it came (`POST /v1/usage` keeps ids), stays reachable.
 */
export function emptyIdPart(accountId: string): string | null {
  if (accountId.endsWith(":")) return "nothing after its last ':' (no sender)";
  if (accountId.startsWith(":")) return "nothing before its first ':' (no channel)";
  return null;
}
