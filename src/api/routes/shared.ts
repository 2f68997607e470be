import { Readable } from "node:stream";
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
 * With `arrayKey` (the body's last key, an array), a plain body is streamed: the text before the
 * array, then its elements `STREAM_CHUNK_ROWS` at a time, each chunk stringified when the socket
 * wants more (chunked transfer encoding, no Content-Length; HEAD still gets the whole string, for its
 * Content-Length). The text is byte for byte
 * `JSON.stringify(data)`, but no 40 MB string exists at once: it is not built, then scanned for
 * its UTF-8 length, then copied out as a whole (see `jsonChunks`).
 *
 * `plain` must reject whatever the key-for-key construction does not rule out, in particular a
 * number the schema refuses: `JSON.stringify` writes 2^53 or 1.7e16 where the zod serializer
 * threw (`z.number().int()` is a safe integer), so a plain stringify would answer a rounded
 * number where the route answered an error.
 */
export function trustedBodySerializer(
  plain: (data: unknown) => boolean,
  arrayKey?: string,
): FastifySerializerCompiler<unknown> {
  return (route) => {
    const zod = (serializerCompiler as unknown as FastifySerializerCompiler<unknown>)(route);
    if (route.httpStatus !== "200") return zod;
    // GET only: HEAD (fastify's route for each GET) answers the body's Content-Length, which needs
    // the whole text (fastify drains a stream for HEAD, then sends no length at all).
    const stream = arrayKey !== undefined && route.method === "GET";
    return (data: unknown) => {
      if (!plain(data)) return zod(data);
      const chunks = stream ? jsonChunks(data, arrayKey) : null;
      // (fastify sends a stream returned by a serializer as it sends one returned by a handler)
      return (chunks
        ? Readable.from(chunks, { objectMode: false })
        : JSON.stringify(data)) as unknown as string;
    };
  };
}

/** Elements of the streamed array stringified per chunk (~480 kB of `GET /v1/usage` by user). */
export const STREAM_CHUNK_ROWS = 1000;

/**
 * `JSON.stringify(data)` as a sequence of strings, for an object whose last own key `arrayKey`
 * holds an array: the text up to the array's `[`, then the elements in chunks of `chunkRows`
 * (the array's stringify without its brackets: the same text as the whole array's, since
 * `JSON.stringify([a, b])` is `"[" + JSON.stringify(a) + "," + JSON.stringify(b) + "]"` for
 * elements that stringify to a value), joined by `,`, then `]}`. Null when the body is not such
 * an object (the caller stringifies it whole). Lazy: a chunk is stringified when it is read.
 */
export function jsonChunks(
  data: unknown,
  arrayKey: string,
  chunkRows = STREAM_CHUNK_ROWS,
): Iterable<string> | null {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  const keys = Object.keys(data);
  const rows = (data as Record<string, unknown>)[arrayKey];
  if (keys[keys.length - 1] !== arrayKey || !Array.isArray(rows)) return null;
  const empty = JSON.stringify({ ...data, [arrayKey]: [] });
  if (!empty.endsWith("[]}")) return null; // (a toJSON or the like: not the plain shape)
  const head = empty.slice(0, -2);
  return (function* () {
    yield head;
    for (let i = 0; i < rows.length; i += chunkRows) {
      const part = JSON.stringify(rows.slice(i, i + chunkRows));
      yield i === 0 ? part.slice(1, -1) : `,${part.slice(1, -1)}`;
    }
    yield "]}";
  })();
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
