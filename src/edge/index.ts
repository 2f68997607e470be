/**
 * edge: the edge meter (`creditgate meter --ship-to`). On a bot host it reads transcripts with the
 * meter's own sources, cursors and user attribution, but instead of billing a local ledger it
 * queues each call (tokens, not money) in an outbox in the same transaction as the cursor move,
 * and ships the outbox to the center's push API, which prices and bills each call exactly once.
 */

export { parseShipTo } from "../config/index.js";
export {
  createOutbox,
  type EdgeDeadLetterRow,
  type EdgeOutboxRow,
  type Outbox,
  type OutboxOptions,
  type OutboxStatus,
  outboxStallLog,
  pushEventOf,
} from "./outbox.js";
export { createShipper, type Shipper, type ShipperOptions, type ShipStats } from "./shipper.js";
