/**
 * worker: the process that runs the limits domain on BullMQ. Owns the queues (`queues.ts`), the
 * outbox relay and sweep (`relay.ts`), one processor per queue (`processors/`), the runtime that
 * wires them (`runtime.ts`), the RPC client and the operator-webhook signature. The rules,
 * status, alerts and notices themselves live in `src/limits/` (import them from there).
 *
 * Must never: decide limits or write their tables itself (it calls `limits`), or move a balance.
 * This index stays free of BullMQ so the HTTP app loads light: the Redis-side entry points are
 * `./runtime.js` (processes) and `./rpc-client.js` (callers).
 */
export { signWebhook, verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from "./webhook.js";
