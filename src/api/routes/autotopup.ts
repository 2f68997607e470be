import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Enforcer } from "../../limits/index.js";
import {
  autoTopupRequestSchema,
  createAutoTopupRepo,
  describeAutoTopup,
  disableAutoTopup,
  type PaymentsDeps,
  setAutoTopup,
} from "../../payments/index.js";
import { errorResponses, idParam } from "./shared.js";

/** describeAutoTopup: the card only as brand + last 4; amounts as decimal strings and integer micro-credits. */
const autoTopupViewSchema = z.object({
  userId: z.string(),
  enabled: z.boolean(),
  packId: z.string().nullable(),
  currency: z.string().nullable(),
  threshold: z.string().nullable(),
  thresholdMicroCredits: z.number().int().nullable(),
  card: z.object({ brand: z.string().nullable(), last4: z.string().nullable() }).nullable(),
  needsCard: z.boolean(),
  lastCharge: z
    .object({
      topupId: z.string(),
      state: z.string(),
      declineCode: z.string().nullable(),
      at: z.string(),
    })
    .nullable(),
});

export interface AutoTopupRoutesOptions {
  payments: Pick<PaymentsDeps, "db" | "packs">;
  enforcer: Enforcer;
  nowMs: () => number;
}

/**
 * `/v1/users/:id/autotopup`: read, turn on (pack + threshold), turn off. Turning it on asks the
 * worker for a check, so a balance already under the threshold is topped up without waiting
 * for the next debit. The plugin's `/recargar auto` uses the ingest key, like top-up links.
 */
export const autoTopupRoutes: FastifyPluginAsyncZod<AutoTopupRoutesOptions> = async (api, o) => {
  const { payments, enforcer, nowMs } = o;
  const repo = createAutoTopupRepo(payments.db);
  const tags = ["topups"];
  const response = { 200: autoTopupViewSchema, ...errorResponses };
  api.get(
    "/v1/users/:id/autotopup",
    {
      config: { scope: "read" },
      schema: { tags, summary: "A user's auto top-up settings and saved card", params: idParam, response },
    },
    async (request) => describeAutoTopup(repo, request.params.id),
  );
  api.put(
    "/v1/users/:id/autotopup",
    {
      config: { scope: "ingest" },
      schema: {
        tags,
        summary: "Turn a user's auto top-up on (pack, threshold)",
        params: idParam,
        body: autoTopupRequestSchema,
        response,
      },
    },
    async (request) => {
      const now = nowMs();
      const view = setAutoTopup(payments, repo, request.params.id, request.body, now);
      payments.db.transaction(() => enforcer.enqueueCheck(view.userId, now)).immediate();
      return view;
    },
  );
  api.delete(
    "/v1/users/:id/autotopup",
    {
      config: { scope: "ingest" },
      schema: { tags, summary: "Turn a user's auto top-up off", params: idParam, response },
    },
    async (request) => disableAutoTopup(repo, request.params.id, nowMs()),
  );
};
