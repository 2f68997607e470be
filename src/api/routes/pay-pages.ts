import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { TopupRepo } from "../../payments/index.js";

export interface PayPagesOptions {
  topups: Pick<TopupRepo, "get">;
}

/**
 * The payment landing pages (HTML): display only. Credits come from verified webhooks, never
 * from a redirect.
 */
export const payPages: FastifyPluginAsyncZod<PayPagesOptions> = async (app, o) => {
  app.get(
    "/pay/success",
    // Loose: providers append their own parameters to the return URL.
    { schema: { hide: true, querystring: z.looseObject({ topup: z.unknown().optional() }) } },
    async (request, reply) => {
      const id = request.query.topup;
      const status = typeof id === "string" ? (o.topups.get(id)?.status ?? null) : null;
      const line =
        status === "paid"
          ? "Your payment is confirmed and the credits are on your balance."
          : "Thanks! As soon as the payment provider confirms your payment (usually within seconds; some " +
            "methods such as bank transfer or cash take longer), the credits are added to your balance.";
      return reply.type("text/html; charset=utf-8").send(page("Payment received", line));
    },
  );
  app.get("/pay/cancel", { schema: { hide: true } }, async (_request, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .send(
        page(
          "Payment cancelled",
          "No payment was taken and nothing changed. Ask the bot for a new link any time.",
        ),
      ),
  );
};

function page(title: string, text: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem">
<h1>${title}</h1><p>${text}</p><p>You can close this page and return to the chat.</p>
</body></html>
`;
}
