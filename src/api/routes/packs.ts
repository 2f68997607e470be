import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { formatMicroCredits } from "../../money.js";
import { minorToDecimal, type PackCatalog } from "../../payments/index.js";
import { errorResponses } from "./shared.js";

export interface PackRoutesOptions {
  packs: PackCatalog;
}

const packsResponseSchema = z.object({
  packs: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      /** Decimal credits, e.g. "10". */
      credits: z.string(),
      grantMicroCredits: z.number().int(),
      prices: z.array(z.object({ provider: z.string(), currency: z.string(), amount: z.string() })),
    }),
  ),
});

/** GET /v1/packs: the credit packs and their prices. */
export const packRoutes: FastifyPluginAsyncZod<PackRoutesOptions> = async (api, o) => {
  api.get(
    "/v1/packs",
    {
      config: { scope: "read" },
      schema: {
        tags: ["topups"],
        summary: "Credit packs and their prices",
        response: { 200: packsResponseSchema, ...errorResponses },
      },
    },
    async () => ({
      packs: o.packs.list().map((p) => ({
        id: p.id,
        title: p.title,
        credits: formatMicroCredits(p.grantMicroCredits),
        grantMicroCredits: Number(p.grantMicroCredits),
        prices: p.prices.map((pr) => ({
          provider: pr.provider,
          currency: pr.currency,
          amount: minorToDecimal(pr.amountMinor, pr.exponent),
        })),
      })),
    }),
  );
};
