import type { FastifyPluginAsync } from "fastify";
import type { PaymentsDeps } from "../../payments/index.js";
import { type createFulfiller, mercadoPagoWebhookRoutes, stripeWebhookRoutes } from "../../webhooks/index.js";

export interface WebhookRoutesOptions extends Pick<PaymentsDeps, "stripe" | "mercadoPago"> {
  fulfiller: ReturnType<typeof createFulfiller>;
  nowMs: () => number;
  /** Webhook body limit (bytes); provider events are a few KiB. */
  bodyLimitBytes: number;
}

/**
 * The provider webhooks (POST /webhooks/stripe, /webhooks/mercadopago). Each provider's plugin is
 * encapsulated in webhooks/ (raw body, signature verified first); this only registers them.
 */
export const webhookRoutes: FastifyPluginAsync<WebhookRoutesOptions> = async (app, o) => {
  const { fulfiller, nowMs, bodyLimitBytes } = o;
  await app.register(stripeWebhookRoutes, { stripe: o.stripe, fulfiller, nowMs, bodyLimitBytes });
  await app.register(mercadoPagoWebhookRoutes, {
    mercadoPago: o.mercadoPago,
    fulfiller,
    nowMs,
    bodyLimitBytes,
  });
};
