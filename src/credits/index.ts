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
  idempotencyKeySchema,
} from "./account-id.js";
export {
  type AccountBalance,
  createLedger,
  LEDGER_KINDS,
  type Ledger,
  type LedgerEntry,
  type LedgerKind,
  ledgerEntrySchema,
  type PostEntry,
  type PostOutcome,
} from "./ledger.js";
