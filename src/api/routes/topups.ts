import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError, ErrorCode } from "../../errors.js";
import {
  createTopup,
  createTopupRequestSchema,
  describeTopup,
  type PaymentsDeps,
} from "../../payments/index.js";
import { errorResponses } from "./shared.js";

const createdTopupSchema = z.object({
  topupId: z.string(),
  /** The provider's checkout page: send the user here. */
  url: z.string(),
  provider: z.string(),
  /** ISO 8601; the link stops working after this. */
  expiresAt: z.string(),
});

/** describeTopup: amounts are decimal strings of integer minor units / micro-credits, never floats. */
const topupSchema = z.object({
  topupId: z.string(),
  userId: z.string(),
  packId: z.string(),
  provider: z.string(),
  status: z.string(),
  amountMinor: z.string(),
  currency: z.string(),
  currencyExponent: z.number().int(),
  grantMicroCredits: z.string(),
  reversedMicroCredits: z.string(),
  refundedMinor: z.string(),
  disputedMinor: z.string(),
  url: z.string().nullable(),
  expiresAt: z.string(),
  createdAt: z.string(),
  paidAt: z.string().nullable(),
  lastError: z.string().nullable(),
});

export interface TopupRoutesOptions {
  /** Packs, gateways and the top-up repository (`topups` set: built once). */
  payments: PaymentsDeps & { topups: NonNullable<PaymentsDeps["topups"]> };
  nowMs: () => number;
}

/** POST /v1/topups (a payment link) and GET /v1/topups/:id (its status). */
export const topupRoutes: FastifyPluginAsyncZod<TopupRoutesOptions> = async (api, o) => {
  const { payments, nowMs } = o;
  api.post(
    "/v1/topups",
    {
      config: { scope: "ingest" },
      schema: {
        tags: ["topups"],
        summary: "Create a top-up payment link",
        body: createTopupRequestSchema,
        response: { 201: createdTopupSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await createTopup(payments, request.body, nowMs())),
  );
  api.get(
    "/v1/topups/:id",
    {
      config: { scope: "read" },
      schema: {
        tags: ["topups"],
        summary: "A top-up's status",
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { 200: topupSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      const t = payments.topups.get(id);
      if (!t) throw new AppError(ErrorCode.NotFound, `no top-up ${id}`);
      return describeTopup(t);
    },
  );
};
