import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError, ErrorCode } from "../../errors.js";
import {
  createTopup,
  createTopupRequestSchema,
  describeTopup,
  type PaymentsDeps,
} from "../../payments/index.js";
import { errorResponses, untypedOk } from "./shared.js";

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
      schema: {
        tags: ["topups"],
        summary: "Create a top-up payment link",
        body: createTopupRequestSchema,
        response: { ...untypedOk, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await createTopup(payments, request.body, nowMs())),
  );
  api.get(
    "/v1/topups/:id",
    {
      schema: {
        tags: ["topups"],
        summary: "A top-up's status",
        params: z.object({ id: z.string().min(1).max(100) }),
        response: { ...untypedOk, ...errorResponses },
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
