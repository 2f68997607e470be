import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError, ErrorCode } from "../../errors.js";
import { alertRowSchema, type Enforcer, noticeSchema, WEBHOOK_STATES } from "../../limits/index.js";
import { errorResponses } from "./shared.js";

export interface NoticeRoutesOptions {
  enforcer: Enforcer;
  nowMs: () => number;
}

/** User notices (undelivered, ack) and operator alerts with their webhook delivery state. */
export const noticeRoutes: FastifyPluginAsyncZod<NoticeRoutesOptions> = async (api, o) => {
  const { enforcer, nowMs } = o;
  const tags = ["notices"];
  api.get(
    "/v1/notices",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "Undelivered user notices",
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: { 200: z.array(noticeSchema), ...errorResponses },
      },
    },
    async (request) => enforcer.notices(request.query.limit),
  );
  api.post(
    "/v1/notices/:id/ack",
    {
      config: { scope: "ingest" },
      schema: {
        tags,
        summary: "Acknowledge a delivered notice",
        params: z.object({ id: z.coerce.number().int().positive() }),
        response: { 204: z.null().describe("Acknowledged (no body)"), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!enforcer.ack(id, nowMs())) throw new AppError(ErrorCode.NotFound, `no notice ${id}`);
      return reply.code(204).send(null);
    },
  );
  api.get(
    "/v1/alerts",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "Operator alerts and their webhook delivery state",
        querystring: z.object({
          state: z.enum(WEBHOOK_STATES).optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
        response: { 200: z.array(alertRowSchema), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      return enforcer.alerts({ ...(q.state ? { state: q.state } : {}), limit: q.limit });
    },
  );
};
