import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { type Enforcer, limitRulesSchema, limitsViewSchema } from "../../limits/index.js";
import { errorResponses, idParam } from "./shared.js";

export interface LimitRoutesOptions {
  enforcer: Enforcer;
  nowMs: () => number;
}

/** A user's limits (own, defaults, effective) and the default limits ('*'). */
export const limitRoutes: FastifyPluginAsyncZod<LimitRoutesOptions> = async (api, o) => {
  const { enforcer, nowMs } = o;
  const limitsView = (id: string) => ({ userId: id, ...enforcer.limits(id) });
  const tags = ["limits"];

  api.get(
    "/v1/users/:id/limits",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "A user's limits (own, defaults, effective)",
        params: idParam,
        response: { 200: limitsViewSchema, ...errorResponses },
      },
    },
    async (request) => limitsView(request.params.id),
  );
  api.put(
    "/v1/users/:id/limits",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Set a user's limits",
        params: idParam,
        body: limitRulesSchema,
        response: { 200: limitsViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      enforcer.setLimits(id, request.body, nowMs());
      return limitsView(id);
    },
  );
  api.delete(
    "/v1/users/:id/limits",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Remove a user's own limits (defaults apply)",
        params: idParam,
        response: { 200: limitsViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      enforcer.setLimits(id, null, nowMs());
      return limitsView(id);
    },
  );
  api.get(
    "/v1/limits/defaults",
    {
      config: { scope: "read" },
      schema: { tags, summary: "Default limits", response: { 200: limitsViewSchema, ...errorResponses } },
    },
    async () => limitsView("*"),
  );
  api.put(
    "/v1/limits/defaults",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Set the default limits",
        body: limitRulesSchema,
        response: { 200: limitsViewSchema, ...errorResponses },
      },
    },
    async (request) => {
      enforcer.setLimits("*", request.body, nowMs());
      return limitsView("*");
    },
  );
};
