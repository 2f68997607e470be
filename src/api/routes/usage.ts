import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { accountIdSchema, agentIdSchema } from "../../credits/index.js";
import type { Db } from "../../db/index.js";
import { AppError, ErrorCode, formatZodIssues } from "../../errors.js";
import { MAX_PUSH_BATCH, type PushIngester, type PushStatus, pushBatchSchema } from "../../ingest/index.js";
import { agentBurnSchema, agentUsageSchema, type Queries, userUsageSchema } from "../../limits/index.js";
import {
  GROUP_BY,
  MAX_CALLS,
  parseTimeArg,
  purgePreviews,
  queryUsageWithHeld,
  recentCalls,
  sinceIsNowProblem,
  type UsageRowWithHeld,
  usageRowWithHeldSchema,
} from "../../meter/index.js";
import { errorResponses, idParam, issuesOf, trustedBodySerializer } from "./shared.js";

export interface UsageRoutesOptions {
  db: Db;
  queries: Queries;
  /** Push ingestion (`POST /v1/usage`); null: 503 `provider_disabled`. */
  ingester: PushIngester | null;
  nowMs: () => number;
  /** Told the outcome counts of every accepted push batch (metrics). */
  onPushResults?: (counts: Record<PushStatus, number>) => void;
}

/** Push batches are larger than other bodies: 1,000 events of a few hundred bytes each. */
export const PUSH_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

const timeArg = z.string().min(1).max(40);
export const usageQuerySchema = z.strictObject({
  user: accountIdSchema.optional(),
  agent: agentIdSchema.optional(),
  model: z.string().min(1).max(200).optional(),
  /** Like `creditgate usage --since`: ISO date/time, `today`, `7d`, `12h`, `30m`. */
  from: timeArg.optional(),
  /** Exclusive; same formats as `from`. */
  to: timeArg.optional(),
  by: z.enum(GROUP_BY).default("user"),
});
const agentParam = z.object({ agentId: agentIdSchema });
const optionalInt = z.coerce.number().int().min(0).optional();
const range = z.object({ fromMs: optionalInt, toMs: optionalInt });

/** `GET /v1/users/:id/calls`: one billed call with its latency and redacted previews. */
const callRowSchema = z.object({
  id: z.number().int(),
  messageTsMs: z.number().int(),
  agentId: z.string(),
  sessionKey: z.string().nullable(),
  provider: z.string(),
  model: z.string(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  isError: z.boolean(),
  costPicoUsd: z.string(),
  chargeMicroCredits: z.number().int(),
  latencyMs: z.number().int().nullable(),
  previewUser: z.string().nullable(),
  previewReply: z.string().nullable(),
});

const pushResponseSchema = z.object({
  billed: z.number().int(),
  duplicate: z.number().int(),
  conflict: z.number().int(),
  held: z.number().int(),
  rejected: z.number().int(),
  /** One per event, in order: its status and (when not billed) why. */
  results: z.array(z.looseObject({ status: z.string() })),
});

/** `GET /v1/usage`: the grouping, the time range (epoch ms; null = open) and one row per group. */
export const usageReportSchema = z.object({
  by: z.enum(GROUP_BY),
  fromMs: z.number().int().nullable(),
  toMs: z.number().int().nullable(),
  rows: z.array(usageRowWithHeldSchema),
});

const int = Number.isSafeInteger;
const str = (v: unknown): boolean => typeof v === "string";

/**
 * Whether the zod serializer would accept one `GET /v1/usage` row's values: every integer field a
 * safe integer (a sum past 2^53 - 1 by agent, model or day), every other field a string. Each
 * field is read by name: a loop over the schema's keys (`row[k]`, a megamorphic keyed read) took
 * ~80 ms of a by-user answer at 83k rows. A test checks that it refuses a bad value in every
 * field `usageRowWithHeldSchema` has.
 */
export function plainUsageRow(r: UsageRowWithHeld): boolean {
  return (
    str(r.key) &&
    int(r.requests) &&
    int(r.errors) &&
    int(r.input) &&
    int(r.output) &&
    int(r.cacheRead) &&
    int(r.cacheWrite) &&
    int(r.totalTokens) &&
    str(r.costPicoUsd) &&
    int(r.costMicros) &&
    str(r.costUsd) &&
    int(r.chargedMicros) &&
    int(r.unknownModelRequests) &&
    int(r.fallbackPricedRequests) &&
    int(r.cacheWrite1h) &&
    int(r.providerBilledRequests) &&
    str(r.providerBilledCostUsd) &&
    str(r.providerBilledTableCostUsd) &&
    str(r.providerBilledDiffUsd) &&
    int(r.heldRequests) &&
    str(r.heldCostUsd) &&
    int(r.heldUnpricedRequests)
  );
}

/**
 * Whether the zod serializer would accept a `GET /v1/usage` answer's values (its keys are the
 * schema's by construction): `fromMs`/`toMs` null or safe integers (not a `from=200000000d`) and
 * every row plain (`plainUsageRow`).
 */
function plainUsageReport(data: unknown): boolean {
  const d = data as { fromMs: unknown; toMs: unknown; rows: unknown };
  if (!(d.fromMs === null || Number.isSafeInteger(d.fromMs))) return false;
  if (!(d.toMs === null || Number.isSafeInteger(d.toMs))) return false;
  if (!Array.isArray(d.rows)) return false;
  for (const r of d.rows as UsageRowWithHeld[]) if (!plainUsageRow(r)) return false;
  return true;
}

/**
 * Usage reports (totals, per user, per agent, burn rate) and push ingestion. The per-user and
 * per-agent answers are the RPC queue's (`queries.answer`).
 */
export const usageRoutes: FastifyPluginAsyncZod<UsageRoutesOptions> = async (api, o) => {
  const { db, queries, nowMs } = o;
  const tags = ["usage"];

  api.get(
    "/v1/usage",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "Usage totals grouped by user, agent, model or day (same numbers as `creditgate usage`)",
        querystring: usageQuerySchema,
        response: { 200: usageReportSchema, ...errorResponses },
      },
      // 83k rows by user at 100k users: the body is built from UsageRowWithHeld, key for key
      // (through the zod serializer when a value is one it refuses: plainUsageReport), and
      // streamed by chunks of rows.
      serializerCompiler: trustedBodySerializer(plainUsageReport, "rows"),
    },
    async (request) => {
      const q = request.query;
      const now = nowMs();
      const time = (label: string, v: string | undefined) => {
        if (v === undefined) return undefined;
        try {
          return parseTimeArg(v, now);
        } catch (err) {
          throw new AppError(ErrorCode.InvalidRequest, `${label}: ${(err as Error).message}`);
        }
      };
      // `from=0d` (now) and swapped bounds name no range: answered 200 with no rows they read as
      // "nothing billed", while `creditgate usage` refuses both (case report-span-zero-or-too-long)
      const sinceIsNow = q.from === undefined ? null : sinceIsNowProblem(q.from);
      if (sinceIsNow !== null) throw new AppError(ErrorCode.InvalidRequest, `from: ${sinceIsNow}`);
      const sinceMs = time("from", q.from);
      const untilMs = time("to", q.to);
      if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs)
        throw new AppError(
          ErrorCode.InvalidRequest,
          `the range is empty: from (${new Date(sinceMs).toISOString()}) is not before to (${new Date(untilMs).toISOString()})`,
        );
      const rows = queryUsageWithHeld(db, {
        user: q.user,
        agent: q.agent,
        model: q.model,
        sinceMs,
        untilMs,
        by: q.by,
      });
      return { by: q.by, fromMs: sinceMs ?? null, toMs: untilMs ?? null, rows };
    },
  );

  api.post(
    "/v1/usage",
    {
      bodyLimit: PUSH_BODY_LIMIT_BYTES,
      // `push` keys (edge meters) may use this route and nothing else; ingest and admin keys too.
      config: { scope: "push" },
      // One line saying what the body must be, then the fields at fault.
      schemaErrorFormatter: (errors) =>
        new AppError(
          ErrorCode.InvalidRequest,
          `body must be {events: [...]} with 1-${MAX_PUSH_BATCH} events: ${formatZodIssues(issuesOf(errors))}`,
        ),
      schema: {
        tags,
        summary: "Push a batch of usage events (billed once per idempotency key)",
        description:
          "Each event is billed, duplicate, conflict (same key, different content), held (out of range: review queue) " +
          "or rejected with a reason; events never apply partially. timestampMs must be within 30 days before and " +
          "10 minutes after the server clock. A key shaped like the meter's dedupe key (12 hex digits, '-', 32 hex " +
          "digits) must equal the identity recomputed from the event's content; other keys are namespaced per API key " +
          "and agent. Events of an edge meter (edgeId set; `creditgate meter --ship-to`) must carry the meter's identity, " +
          "skip the 30-day window (the meter's plausibility ranges apply) and are priced here with this server's price " +
          "table. Keys of scope push, ingest or admin. Each event: see components.schemas.PushEvent.",
        body: pushBatchSchema,
        response: { 200: pushResponseSchema, ...errorResponses },
      },
    },
    async (request) => {
      if (!o.ingester) {
        throw new AppError(ErrorCode.ProviderDisabled, "push ingestion is not configured on this server");
      }
      const keyId = request.principal?.keyId ?? "unknown";
      const results = o.ingester.ingest(request.body.events, `push:${keyId}:${request.id}`, keyId);
      const counts: Record<PushStatus, number> = {
        billed: 0,
        duplicate: 0,
        conflict: 0,
        held: 0,
        rejected: 0,
      };
      for (const r of results) {
        counts[r.status]++;
        // As the transcript meter does: a call billed with an anomaly is said in the log too.
        if (r.status === "billed" && r.anomaly)
          request.log.warn(
            { index: r.index, anomaly: r.anomaly },
            "pushed call billed with an anomaly on its row",
          );
      }
      o.onPushResults?.(counts);
      return { ...counts, results };
    },
  );

  api.get(
    "/v1/users/:id/usage",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "One user's usage in a time range",
        params: idParam,
        querystring: range,
        response: { 200: userUsageSchema, ...errorResponses },
      },
    },
    async (request) => queries.answer("user_usage", { userId: request.params.id, ...request.query }, nowMs()),
  );
  api.get(
    "/v1/users/:id/calls",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "One user's recent billed calls, newest first, with latency and redacted previews",
        description:
          "Previews (the user's message and the reply, redacted before storage) are null unless the server runs " +
          "with CREDITGATE_PREVIEWS=on, for text-less calls, and after purge-previews. Page with before=<last id>.",
        params: idParam,
        querystring: z.strictObject({
          fromMs: optionalInt,
          toMs: optionalInt,
          limit: z.coerce.number().int().min(1).max(MAX_CALLS).default(50),
          before: z.coerce.number().int().min(1).optional(),
        }),
        response: { 200: z.object({ userId: z.string(), calls: z.array(callRowSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      return {
        userId: request.params.id,
        calls: recentCalls(db, request.params.id, {
          limit: q.limit,
          ...(q.fromMs !== undefined ? { sinceMs: q.fromMs } : {}),
          ...(q.toMs !== undefined ? { untilMs: q.toMs } : {}),
          ...(q.before !== undefined ? { beforeId: q.before } : {}),
        }),
      };
    },
  );
  api.delete(
    "/v1/users/:id/previews",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Erase every stored preview of one user (same as `creditgate purge-previews`)",
        params: idParam,
        response: {
          200: z.object({ userId: z.string(), rows: z.number().int(), held: z.number().int() }),
          ...errorResponses,
        },
      },
    },
    async (request) => ({ userId: request.params.id, ...purgePreviews(db, request.params.id) }),
  );
  api.get(
    "/v1/agents/:agentId/usage",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "One agent's usage in a time range",
        params: agentParam,
        querystring: range,
        response: { 200: agentUsageSchema, ...errorResponses },
      },
    },
    async (request) =>
      queries.answer("agent_usage", { agentId: request.params.agentId, ...request.query }, nowMs()),
  );
  api.get(
    "/v1/agents/:agentId/burn",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "An agent's spend rate and runway",
        params: agentParam,
        response: { 200: agentBurnSchema, ...errorResponses },
      },
    },
    async (request) => queries.burn(request.params.agentId, nowMs()),
  );
};
