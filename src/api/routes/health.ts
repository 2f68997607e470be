import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { DISABLED_HINT, type PaymentsDeps } from "../../payments/index.js";

export type HealthRoutesOptions = Pick<PaymentsDeps, "stripe" | "mercadoPago" | "packs">;

/** GET /healthz: liveness, which providers are enabled (or the variables that enable them), pack count. */
export const healthRoutes: FastifyPluginAsyncZod<HealthRoutesOptions> = async (app, o) => {
  app.get(
    "/healthz",
    {
      schema: {
        hide: true,
        response: {
          200: z.object({
            ok: z.literal(true),
            providers: z.object({ stripe: z.string(), mercadopago: z.string() }),
            packs: z.number().int(),
          }),
        },
      },
    },
    async () => ({
      ok: true as const,
      providers: {
        stripe: o.stripe ? "enabled" : DISABLED_HINT.stripe,
        mercadopago: o.mercadoPago ? "enabled" : DISABLED_HINT.mercadopago,
      },
      packs: o.packs.list().length,
    }),
  );
};
