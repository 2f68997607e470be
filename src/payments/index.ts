/**
 * payments: credit packs, top-up records and the provider adapters (Stripe Checkout, MercadoPago
 * Checkout Pro) plus reconciliation queries. Owns the `topups` table and provider API calls.
 * Never writes ledger entries or grants credits itself: every payment fact goes through the one
 * fulfilment path in `webhooks/` (injected into reconciliation), and it never trusts a redirect.
 */
export {
  type AutoTopup,
  type AutoTopupDeps,
  type AutoTopupLimits,
  type AutoTopupOutcome,
  type AutoTopupRequest,
  type AutoTopupView,
  autoTopupRequestSchema,
  createAutoTopup,
  DEFAULT_AUTOTOPUP_LIMITS,
  DEFAULT_AUTOTOPUP_THRESHOLD_MICRO,
  type DeclineNotice,
  describeAutoTopup,
  disableAutoTopup,
  type SkipReason,
  setAutoTopup,
} from "./autotopup.js";
export {
  type AutoTopupRepo,
  type AutoTopupSettings,
  type AutoTopupTrigger,
  createAutoTopupRepo,
  type StripeCustomerRow,
  TRIGGER_STATES,
  type TriggerState,
} from "./autotopup-repo.js";
export {
  createMercadoPagoGateway,
  decisivePayment,
  type MercadoPagoGateway,
  type MercadoPagoGatewayOptions,
  type MercadoPagoPayment,
  observeMercadoPagoPayment,
  observeSplitPayment,
  type PaymentGroupTopic,
  paymentGroupTopic,
  splitPaymentIds,
} from "./mercadopago.js";
export {
  currencyExponent,
  decimalToMinor,
  EMPTY_CATALOG,
  loadPacksFile,
  minorToDecimal,
  type Pack,
  type PackCatalog,
  type PackPrice,
  type PacksFile,
  PROVIDERS,
  type ProviderName,
  packsFileSchema,
  parsePacks,
} from "./packs.js";
export { type ReconcileDeps, type ReconcileResult, reconcileTopups } from "./reconcile.js";
export { applyProviderRead, POST_COMMIT_REREADS, type SettledRead } from "./settle.js";
export {
  AUTOTOPUP_METADATA_KEY,
  createStripeGateway,
  foreignStripeEventProblem,
  type OffSessionCharge,
  type OffSessionResult,
  observeCharge,
  observeCheckoutSession,
  observeDispute,
  observePaymentIntent,
  observeStripeEvent,
  type SavedCard,
  STRIPE_SIGNATURE_TOLERANCE_S,
  type StripeEventFact,
  type StripeGateway,
  type StripeGatewayOptions,
  type StripeVerifyResult,
  stripeKeyLiveMode,
} from "./stripe.js";
export { createTopupRepo, type NewTopup, type TopupPatch, type TopupRepo } from "./topup-repo.js";
export {
  type CreatedTopup,
  type CreateTopupRequest,
  createTopup,
  createTopupRequestSchema,
  DISABLED_HINT,
  describeTopup,
  newTopupId,
  type PaymentsDeps,
  TOPUP_LINK_TTL_MS,
} from "./topups.js";
export {
  type CheckoutInput,
  type CheckoutLink,
  type PaymentObservation,
  TOPUP_STATUSES,
  type Topup,
  type TopupStatus,
} from "./types.js";
