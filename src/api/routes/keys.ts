import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { type ApiKeys, SCOPES } from "../../auth/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import { errorResponses } from "./shared.js";

export interface KeyRoutesOptions {
  apiKeys: ApiKeys;
  nowMs: () => number;
}

export const createKeyBodySchema = z.strictObject({
  scope: z.enum(SCOPES),
  name: z.string().trim().min(1).max(100).optional(),
});
export const keyParam = z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, "must be a key id (12 hex)") });

/** An API key's public facts (ApiKeyInfo; never the secret). */
const keyInfoSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  scope: z.enum(SCOPES),
  createdAtMs: z.number().int(),
  lastUsedAtMs: z.number().int().nullable(),
  revokedAtMs: z.number().int().nullable(),
});

/** GET/POST /v1/keys and DELETE /v1/keys/:id: the operator API's keys (secrets shown once). */
export const keyRoutes: FastifyPluginAsyncZod<KeyRoutesOptions> = async (api, o) => {
  const { apiKeys, nowMs } = o;
  api.get(
    "/v1/keys",
    {
      config: { scope: "admin" },
      schema: {
        tags: ["keys"],
        summary: "List API keys (never the secrets)",
        response: { 200: z.object({ keys: z.array(keyInfoSchema) }), ...errorResponses },
      },
    },
    async () => ({ keys: apiKeys.list() }),
  );
  api.post(
    "/v1/keys",
    {
      config: { scope: "admin" },
      schema: {
        tags: ["keys"],
        summary: "Create an API key; the response shows the key once",
        body: createKeyBodySchema,
        response: {
          /** `key` is `cg_<id>_<secret>`, shown this once. */
          201: keyInfoSchema.extend({ key: z.string() }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(apiKeys.create({ scope: request.body.scope, name: request.body.name ?? null }, nowMs())),
  );
  api.delete(
    "/v1/keys/:id",
    {
      config: { scope: "admin" },
      schema: {
        tags: ["keys"],
        summary: "Revoke an API key",
        params: keyParam,
        response: { 200: keyInfoSchema.nullable(), ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!apiKeys.revoke(id, nowMs())) throw new AppError(ErrorCode.NotFound, `no active api key ${id}`);
      return apiKeys.get(id);
    },
  );
};
