import { randomBytes } from "node:crypto";
import { z } from "zod";
import { accountIdSchema } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { createAutoTopupRepo } from "./autotopup-repo.js";
import type { MercadoPagoGateway } from "./mercadopago.js";
import { type PackCatalog, PROVIDERS, type ProviderName } from "./packs.js";
import type { StripeGateway } from "./stripe.js";
import { createTopupRepo, type TopupRepo } from "./topup-repo.js";
import type { Topup } from "./types.js";

/** How long a payment link stays valid (Stripe allows 30 min to 24 h). */
export const TOPUP_LINK_TTL_MS = 60 * 60 * 1000;

export const DISABLED_HINT: Record<ProviderName, string> = {
  stripe: "stripe is disabled: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET",
  mercadopago: "mercadopago is disabled: set MP_ACCESS_TOKEN and MP_WEBHOOK_SECRET",
};

/** Everything payments needs at run time; a provider left null is disabled. */
export interface PaymentsDeps {
  db: Db;
  packs: PackCatalog;
  publicBaseUrl: string;
  stripe: StripeGateway | null;
  mercadoPago: MercadoPagoGateway | null;
  /** The top-up repository, built once per process (createServices); absent: built from `db` per call. */
  topups?: TopupRepo;
}

export const createTopupRequestSchema = z.object({
  userId: accountIdSchema,
  packId: z.string().min(1).max(64),
  provider: z.enum(PROVIDERS),
  /**
   * Opt in to auto top-up: save the card for later off-session charges (Stripe only; the link
   * creates the account's Stripe Customer and asks Checkout for `setup_future_usage=off_session`).
   */
  saveCard: z.boolean().optional(),
  /** Needed only when the pack lists several currencies for the provider; defaults to the first. */
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/)
    .optional(),
});
export type CreateTopupRequest = z.infer<typeof createTopupRequestSchema>;

export interface CreatedTopup {
  topupId: string;
  url: string;
  provider: ProviderName;
  expiresAt: string;
}

export function newTopupId(): string {
  return `tu_${randomBytes(10).toString("hex")}`;
}

/**
 * Creates a payment link for one user and one pack: records a pending top-up, then asks the
 * provider for a checkout with idempotency key `topup-<id>`. A provider failure marks the top-up
 * failed and surfaces as a retryable 503 (a retry makes a new top-up; the old link was never shown).
 */
export async function createTopup(
  deps: PaymentsDeps,
  request: CreateTopupRequest,
  nowMs: number,
): Promise<CreatedTopup> {
  const req = createTopupRequestSchema.parse(request);
  const gateway = req.provider === "stripe" ? deps.stripe : deps.mercadoPago;
  if (!gateway) throw new AppError(ErrorCode.ProviderDisabled, DISABLED_HINT[req.provider]);
  const pack = deps.packs.get(req.packId);
  if (!pack) {
    const known = deps.packs
      .list()
      .map((p) => p.id)
      .join(", ");
    throw new AppError(
      ErrorCode.NotFound,
      `unknown pack ${req.packId} (known: ${known || "none configured"})`,
    );
  }
  const price = deps.packs.price(pack, req.provider, req.currency);
  if (!price) {
    throw new AppError(
      ErrorCode.InvalidRequest,
      `pack ${pack.id} has no ${req.provider} price${req.currency ? ` in ${req.currency.toUpperCase()}` : ""}`,
    );
  }
  if (req.saveCard && req.provider !== "stripe") {
    throw new AppError(
      ErrorCode.InvalidRequest,
      "saveCard: only Stripe can save a card for auto top-up (see the README: MercadoPago needs the CVV again)",
    );
  }
  const repo = deps.topups ?? createTopupRepo(deps.db);
  let saveCard: { customerId: string } | undefined;
  if (req.saveCard && deps.stripe) {
    const cards = createAutoTopupRepo(deps.db);
    const known = cards.customer(req.userId)?.customerId;
    saveCard = {
      customerId: known ?? cards.addCustomer(req.userId, await deps.stripe.createCustomer(req.userId), nowMs),
    };
  }
  const id = newTopupId();
  const expiresAtMs = nowMs + TOPUP_LINK_TTL_MS;
  repo.insert(
    {
      id,
      accountId: req.userId,
      packId: pack.id,
      provider: req.provider,
      currency: price.currency,
      amountMinor: price.amountMinor,
      currencyExponent: price.exponent,
      grantMicroCredits: pack.grantMicroCredits,
      expiresAtMs,
    },
    nowMs,
  );
  const topup = repo.get(id) as Topup;
  try {
    const link = await gateway.createCheckout({
      topup,
      title: pack.title,
      publicBaseUrl: deps.publicBaseUrl,
      ...(saveCard ? { saveCard } : {}),
    });
    repo.setCheckout(id, link.providerRef, link.url, nowMs);
    return {
      topupId: id,
      url: link.url,
      provider: req.provider,
      expiresAt: new Date(expiresAtMs).toISOString(),
    };
  } catch (err) {
    repo.markCreationFailed(id, err instanceof Error ? err.message : String(err), nowMs);
    throw err;
  }
}

/** The public view of a top-up (API and CLI): amounts as strings, never floats. */
export function describeTopup(t: Topup) {
  return {
    topupId: t.id,
    userId: t.accountId,
    packId: t.packId,
    provider: t.provider,
    status: t.status,
    amountMinor: t.amountMinor.toString(),
    currency: t.currency,
    currencyExponent: t.currencyExponent,
    grantMicroCredits: t.grantMicroCredits.toString(),
    reversedMicroCredits: t.reversedMicroCredits.toString(),
    refundedMinor: t.refundedMinor.toString(),
    disputedMinor: t.disputedMinor.toString(),
    url: t.checkoutUrl,
    expiresAt: new Date(t.expiresAtMs).toISOString(),
    createdAt: new Date(t.createdAtMs).toISOString(),
    paidAt: t.paidAtMs === null ? null : new Date(t.paidAtMs).toISOString(),
    lastError: t.lastError,
  };
}
