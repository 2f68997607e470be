import type { SwaggerOptions } from "@fastify/swagger";
import { jsonSchemaTransform } from "fastify-type-provider-zod";
import { z } from "zod";
import { pushEventSchema } from "../ingest/index.js";
import { requiredScope } from "./auth.js";
import { errorResponseSchema } from "./routes/shared.js";

const jsonSchema = (s: z.ZodType) => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
};

/**
 * @fastify/swagger options: the OpenAPI 3.1 document is generated from the routes' own zod
 * schemas (fastify-type-provider-zod), so documentation and validation cannot drift apart. Only
 * the operator API (/v1) is documented; each operation says the API-key scope it needs.
 */
export function swaggerOptions(info: { version: string }): SwaggerOptions {
  return {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "creditgate operator API",
        version: info.version,
        description:
          "Every /v1 route needs `Authorization: Bearer <api key>` (scopes read < ingest < admin). " +
          "Errors are `{error:{code,message,requestId}}` with a one-line message; 429 and 503 `busy` (the database is locked by another process; nothing was changed) carry Retry-After.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
        schemas: { Error: jsonSchema(errorResponseSchema), PushEvent: jsonSchema(pushEventSchema) } as never,
      },
    },
    transform: (doc) => {
      if (!doc.url.startsWith("/v1/")) return { schema: { hide: true }, url: doc.url };
      const out = jsonSchemaTransform(doc);
      const scope = requiredScope(doc.route.config?.scope);
      const schema = out.schema as Record<string, unknown>;
      const description = typeof schema.description === "string" ? `${schema.description}\n\n` : "";
      return {
        url: out.url,
        schema: {
          ...schema,
          description:
            scope === "push"
              ? `${description}Requires an API key with scope \`push\`, \`ingest\` or \`admin\` (not \`read\`).`
              : `${description}Requires an API key with scope \`${scope}\` or stronger.`,
          security: [{ bearer: [] }],
        },
      };
    },
  };
}
