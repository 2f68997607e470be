import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { consumoSchema, type Enforcer, type Queries, statusViewSchema } from "../../limits/index.js";
import { errorResponses, idParam } from "./shared.js";

export interface StatusRoutesOptions {
  enforcer: Enforcer;
  queries: Queries;
  nowMs: () => number;
}

const reasonBody = z.object({ reason: z.string().trim().min(1, "reason: must not be empty").max(500) });

/**
 * Enforcement status, /consumo, and manual blocks. Same answers as the BullMQ RPC queue: both
 * call `queries.answer`.
 */
export const statusRoutes: FastifyPluginAsyncZod<StatusRoutesOptions> = async (api, o) => {
  const { enforcer, queries, nowMs } = o;
  const tags = ["status"];
  api.get(
    "/v1/users/:id/status",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "Enforcement status: allowed or blocked, and why",
        description:
          "With `agent`, the agent the user is talking to: a hard operator budget reached for it (or for all agents) blocks with reason `operator_budget` until its window ends.",
        params: idParam,
        querystring: z.object({ agent: z.string().min(1).max(200).optional() }),
        response: { 200: statusViewSchema, ...errorResponses },
      },
    },
    async (request) =>
      queries.answer(
        "status",
        {
          userId: request.params.id,
          ...(request.query.agent !== undefined ? { agentId: request.query.agent } : {}),
        },
        nowMs(),
      ),
  );
  api.get(
    "/v1/users/:id/consumo",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "Balance, today's and this month's usage, limits (the /consumo answer)",
        params: idParam,
        response: { 200: consumoSchema, ...errorResponses },
      },
    },
    async (request) => queries.answer("consumo", { userId: request.params.id }, nowMs()),
  );
  api.post(
    "/v1/users/:id/block",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Block a user manually",
        params: idParam,
        body: reasonBody,
        response: { 200: statusViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const r = enforcer.block(request.params.id, request.body.reason, nowMs());
      return queries.statusView(r.status);
    },
  );
  api.post(
    "/v1/users/:id/unblock",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Lift a manual block",
        params: idParam,
        response: { 200: statusViewSchema, ...errorResponses },
      },
    },
    async (request) => queries.statusView(enforcer.unblock(request.params.id, nowMs()).status),
  );
};
