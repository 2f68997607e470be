/**
 * webhooks: verified provider notifications and the ONE idempotent fulfilment path that turns a
 * payment fact into credits (used by webhooks and by reconciliation). Owns `provider_events`.
 * Never acts on an unverified request, never parses a Stripe body before checking its signature,
 * and never grants outside `createFulfiller(...).apply` (one transaction: event, top-up, ledger).
 */
export {
  createFulfiller,
  type FulfilInput,
  type Fulfiller,
  type FulfilOutcome,
  type FulfilStatus,
  type ProviderEventRecord,
  reversalTargetMicros,
} from "./fulfil.js";
export { type MercadoPagoWebhookOptions, mercadoPagoWebhookRoutes } from "./mercadopago-route.js";
export { type StripeWebhookOptions, stripeWebhookRoutes } from "./stripe-route.js";
export {
  MP_SIGNATURE_MAX_AGE_MS,
  MP_SIGNATURE_TOLERANCE_MS,
  type SignatureCheck,
  signMercadoPagoNotification,
  verifyMercadoPagoSignature,
} from "./verify-mercadopago.js";
