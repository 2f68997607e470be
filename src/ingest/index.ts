/**
 * ingest: push metering (`POST /v1/usage`) for bots that are not read from transcripts. Bills
 * only through the meter's biller, so pricing and ledger rows are the meter's own; never
 * stores or logs chat text.
 */
export {
  createPushIngester,
  MAX_PUSH_BATCH,
  meterIdentityOf,
  PUSH_MAX_AGE_MS,
  PUSH_MAX_FUTURE_MS,
  type PushEvent,
  type PushIngester,
  type PushIngesterOptions,
  type PushResult,
  type PushStatus,
  pushBatchSchema,
  pushContentHash,
  pushEventSchema,
  pushIdentity,
} from "./push.js";
