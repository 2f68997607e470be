/**
 * credits: the prepaid ledger. Owns accounts, balances and ledger entries; every balance
 * change is an entry with a unique idempotency key. Imports no other business module and
 * never talks to the network.
 */
export {
  ACCOUNT_ID_RE,
  ACCOUNT_ID_RULE,
  accountIdSchema,
  accountKind,
  agentIdSchema,
  assertAccountId,
  canonicalAccountId,
  DEFAULTS_ID,
  DEFAULTS_ID_REFUSED,
  emptyIdPart,
  foldLookAlikes,
  idempotencyKeySchema,
  type ResolvedAccountId,
  resolveAccountId,
} from "./account-id.js";
export {
  burnOrder,
  DEFAULT_GRANT_PRIORITY,
  drawGrants,
  GRANT_KINDS,
  type Grant,
  type GrantKind,
  type GrantOptions,
  type GrantSlot,
  grantSchema,
  MAX_GRANT_PRIORITY,
  parseExpiry,
} from "./grants.js";
export {
  type AccountBalance,
  createLedger,
  defaultGrantKind,
  type GrantSplit,
  type GrantSummary,
  LEDGER_KINDS,
  type Ledger,
  type LedgerEntry,
  type LedgerKind,
  ledgerEntrySchema,
  type PostEntry,
  type PosterMark,
  type PostOutcome,
} from "./ledger.js";
