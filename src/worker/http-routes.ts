import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { AppError, ErrorCode } from "../errors.js";
import { formatMicroCredits } from "../money.js";
import type { PackCatalog } from "../payments/index.js";
import { minorToDecimal } from "../payments/index.js";
import type { Enforcer } from "./enforcer.js";
import { limitRulesSchema } from "./limits.js";
import type { Queries } from "./queries.js";

export interface WorkerRoutesOptions {
  enforcer: Enforcer;
  queries: Queries;
  packs: PackCatalog;
  nowMs: () => number;
}

const idParam = z.object({
  id: z.string().regex(/^[^\s]{1,200}$/, "must be 1-200 characters without spaces"),
});
const agentParam = z.object({ agentId: z.string().regex(/^[^\s]{1,200}$/) });
const optionalInt = z.coerce.number().int().min(0).optional();

/**
 * Operator API for limits, status, notices and usage (registered inside the Bearer-authed /v1
 * scope by buildApp). Same answers as the BullMQ RPC queue: both call `queries.answer`.
 */
export const workerRoutes: FastifyPluginAsync<WorkerRoutesOptions> = async (api, o) => {
  const { enforcer, queries, nowMs } = o;
  const limitsView = (id: string) => ({ userId: id, ...enforcer.limits(id) });

  api.get("/v1/users/:id/limits", async (request) => limitsView(idParam.parse(request.params).id));
  api.put("/v1/users/:id/limits", async (request) => {
    const { id } = idParam.parse(request.params);
    enforcer.setLimits(id, limitRulesSchema.parse(request.body ?? {}), nowMs());
    return limitsView(id);
  });
  api.delete("/v1/users/:id/limits", async (request) => {
    const { id } = idParam.parse(request.params);
    enforcer.setLimits(id, null, nowMs());
    return limitsView(id);
  });
  api.get("/v1/limits/defaults", async () => limitsView("*"));
  api.put("/v1/limits/defaults", async (request) => {
    enforcer.setLimits("*", limitRulesSchema.parse(request.body ?? {}), nowMs());
    return limitsView("*");
  });

  const reasonBody = z.object({ reason: z.string().trim().min(1, "reason: must not be empty").max(500) });
  api.post("/v1/users/:id/block", async (request) => {
    const { id } = idParam.parse(request.params);
    const r = enforcer.block(id, reasonBody.parse(request.body ?? {}).reason, nowMs());
    return queries.statusView(r.status);
  });
  api.post("/v1/users/:id/unblock", async (request) => {
    const { id } = idParam.parse(request.params);
    return queries.statusView(enforcer.unblock(id, nowMs()).status);
  });

  api.get("/v1/users/:id/status", async (request) =>
    queries.answer("status", { userId: idParam.parse(request.params).id }, nowMs()),
  );
  api.get("/v1/users/:id/consumo", async (request) =>
    queries.answer("consumo", { userId: idParam.parse(request.params).id }, nowMs()),
  );
  api.get("/v1/users/:id/usage", async (request) => {
    const q = z.object({ fromMs: optionalInt, toMs: optionalInt }).parse(request.query);
    return queries.answer("user_usage", { userId: idParam.parse(request.params).id, ...q }, nowMs());
  });
  api.get("/v1/agents/:agentId/usage", async (request) => {
    const q = z.object({ fromMs: optionalInt, toMs: optionalInt }).parse(request.query);
    return queries.answer(
      "agent_usage",
      { agentId: agentParam.parse(request.params).agentId, ...q },
      nowMs(),
    );
  });
  api.get("/v1/agents/:agentId/burn", async (request) =>
    queries.burn(agentParam.parse(request.params).agentId, nowMs()),
  );

  api.get("/v1/notices", async (request) => {
    const { limit } = z
      .object({ limit: z.coerce.number().int().min(1).max(500).default(50) })
      .parse(request.query);
    return enforcer.notices(limit);
  });
  api.post("/v1/notices/:id/ack", async (request, reply) => {
    const { id } = z.object({ id: z.coerce.number().int().positive() }).parse(request.params);
    if (!enforcer.ack(id, nowMs())) throw new AppError(ErrorCode.NotFound, `no notice ${id}`);
    return reply.code(204).send();
  });

  api.get("/v1/alerts", async (request) => {
    const q = z
      .object({
        state: z.enum(["none", "pending", "queued", "delivered", "dead"]).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      })
      .parse(request.query);
    return enforcer.alerts({ ...(q.state ? { state: q.state } : {}), limit: q.limit });
  });

  api.get("/v1/packs", async () => ({
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
  }));
};
