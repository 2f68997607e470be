import type { FastifySchema, FastifySerializerCompiler } from "fastify";
import { serializerCompiler } from "fastify-type-provider-zod";
import { z } from "zod";
import { accountIdSchema } from "../../credits/index.js";

/**
 * The error body of every route: `{error:{code,message,requestId}}`, the message one line naming
 * the field (see app.ts's error handler).
 */
export const errorResponseSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), requestId: z.string() }),
});

/** Response schemas every /v1 route declares for its errors (4xx and 5xx share the shape). */
export const errorResponses = { "4xx": errorResponseSchema, "5xx": errorResponseSchema } as const;

/**
 * Route option `serializerCompiler` for a route whose 200 body can be large and is built by
 * creditgate's own typed code with exactly its schema's keys, in its schema's order (a test
 * checks that the body equals what the schema's parse returns): the 200 body through plain
 * `JSON.stringify` when `plain(data)` says the zod serializer would accept it; otherwise, and for
 * other statuses, through the zod serializer like every other route. The zod serializer parses
 * (validates and copies) the whole body before stringifying it: for
 * `GET /v1/usage?by=user&from=30d` at 10M calls / 100k users (83k rows, 40 MB) that was ~1.3 s
 * of a ~3 s answer, plus the garbage of the copy. The schema still documents the route (OpenAPI).
 *
 * `plain` must reject whatever the key-for-key construction does not rule out, in particular a
 * number the schema refuses: `JSON.stringify` writes 2^53 or 1.7e16 where the zod serializer
 * threw (`z.number().int()` is a safe integer), so a plain stringify would answer a rounded
 * number where the route answered an error.
 */
export function trustedBodySerializer(plain: (data: unknown) => boolean): FastifySerializerCompiler<unknown> {
  return (route) => {
    const zod = (serializerCompiler as unknown as FastifySerializerCompiler<unknown>)(route);
    return route.httpStatus === "200"
      ? (data: unknown) => (plain(data) ? JSON.stringify(data) : zod(data))
      : zod;
  };
}

/** An end-user account id in a path: 1-200 characters without spaces. */
export const idParam = z.object({
  id: accountIdSchema,
});

/** `tags`, `summary` and `description` of a route, for the generated OpenAPI document. */
export type RouteDoc = Pick<FastifySchema, "tags" | "summary" | "description">;

/**
 * Zod issues back from Fastify's validation errors (the type provider keeps the issue's path
 * only as a JSON pointer: numeric segments are array indexes).
 */
export function issuesOf(
  errors: readonly { instancePath: string; message?: string | undefined }[],
): { path: (string | number)[]; message: string }[] {
  return errors.map((e) => ({
    path: e.instancePath
      .split("/")
      .slice(1)
      .filter((p) => p !== "")
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p)),
    message: e.message ?? "invalid",
  }));
}
