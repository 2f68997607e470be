import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { accountIdSchema, agentIdSchema } from "../../credits/index.js";
import type { Db } from "../../db/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import type { Ratio } from "../../money.js";
import {
  apiMessage,
  BUDGET_PERIODS,
  BUDGET_SCOPES,
  budgetStatuses,
  createBudgetsRepo,
  parseUsdToMicro,
  REPORT_DIMS,
  resolveRange,
  runReport,
  SESSION_KINDS,
  syncBudgetBlocks,
} from "../../reports/index.js";
import { errorResponses } from "./shared.js";

export interface ReportRoutesOptions {
  db: Db;
  /** IANA zone of `today`, dates and day/week/month buckets (`CREDITGATE_TIMEZONE`). */
  timeZone: string;
  /** `CREDITGATE_CREDITS_PER_USD`, to value charges for the margin. */
  creditsPerUsd: Ratio;
  nowMs: () => number;
}

const flag = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const timeArg = z.string().min(1).max(40);

/** `GET /v1/reports` query: the same options as `creditgate report` (README "Reports"). */
export const reportQuerySchema = z.strictObject({
  /** Today in the zone. */
  today: flag.optional(),
  /** Rolling window ending now: `12h`, `7d`, `30d`, `90m`, `2w`. Default `7d`. */
  last: z.string().min(1).max(10).optional(),
  /** `YYYY-MM-DD` (local midnight) or an ISO date-time with Z/offset. */
  from: timeArg.optional(),
  /** `YYYY-MM-DD` inclusive, or an ISO date-time with Z/offset (exclusive). Default now. */
  to: timeArg.optional(),
  agent: agentIdSchema.optional(),
  model: z.string().min(1).max(200).optional(),
  provider: z.string().min(1).max(100).optional(),
  user: accountIdSchema.optional(),
  kind: z.enum(SESSION_KINDS).optional(),
  /** Comma-separated dimensions, e.g. `day,kind` (one row per combination). */
  by: z
    .string()
    .max(200)
    .transform((s) => s.split(",").filter(Boolean))
    .pipe(z.array(z.enum(REPORT_DIMS)).max(REPORT_DIMS.length))
    .optional(),
  top: z.coerce.number().int().min(1).max(10_000).optional(),
  /** `false`: skip the latency columns (null), which are read from raw rows. Default true. */
  latency: flag.optional(),
});

const reportRowSchema = z.object({
  group: z.partialRecord(z.enum(REPORT_DIMS), z.string()),
  requests: z.number().int(),
  errors: z.number().int(),
  successRatePct: z.number().nullable(),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  totalTokens: z.number().int(),
  costPicoUsd: z.string(),
  costUsd: z.string(),
  chargedMicroCredits: z.number().int(),
  chargedUsd: z.string().nullable(),
  marginUsd: z.string().nullable(),
  avgLatencyMs: z.number().nullable(),
  p95LatencyMs: z.number().nullable(),
  latencySamples: z.number().int(),
});

/** The operator's usage report (same numbers as `creditgate report`). */
export const reportRoutes: FastifyPluginAsyncZod<ReportRoutesOptions> = async (api, o) => {
  api.get(
    "/v1/reports",
    {
      config: { scope: "read" },
      schema: {
        tags: ["usage"],
        summary:
          "Usage report over a range, grouped and filtered (same numbers as `creditgate report --json`)",
        description:
          "One of today, last, or from/to (dates in the server's CREDITGATE_TIMEZONE; a date `to` is inclusive). " +
          "by: comma-separated day|week|month|agent|model|provider|user|session|kind, at most one of day/week/month. " +
          "Latency (user message to reply, ms: mean and nearest-rank p95) is read from the raw rows that have one; " +
          "rows billed before it was recorded have none (latencySamples counts the rows behind it). latency=false skips it.",
        querystring: reportQuerySchema,
        response: { 200: reportSchema, ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      try {
        const now = o.nowMs();
        const range = resolveRange(q, o.timeZone, now);
        const report = runReport(o.db, {
          range,
          timeZone: o.timeZone,
          by: q.by ?? [],
          filters: { agent: q.agent, model: q.model, provider: q.provider, user: q.user, kind: q.kind },
          top: q.top,
          creditsPerUsd: o.creditsPerUsd,
          latency: q.latency,
        });
        return { ...report, budgets: budgetStatuses(o.db, o.timeZone, now) };
      } catch (err) {
        if (err instanceof RangeError) throw new AppError(ErrorCode.InvalidRequest, apiMessage(err));
        throw err;
      }
    },
  );
};

const budgetStatusSchema = z.object({
  scope: z.enum(BUDGET_SCOPES),
  subject: z.string(),
  period: z.enum(BUDGET_PERIODS),
  limitMicroUsd: z.number().int(),
  mode: z.enum(["soft", "hard"]),
  thresholdsPct: z.array(z.number().int()).nullable(),
  updatedAtMs: z.number().int(),
  name: z.string(),
  windowKey: z.string(),
  windowStartMs: z.number().int(),
  windowEndMs: z.number().int(),
  limitUsd: z.string(),
  spentUsd: z.string(),
  spentPicoUsd: z.string(),
  usedPct: z.number(),
});
/** `GET /v1/reports` body: the same JSON as `creditgate report --json`. */
export const reportSchema = z.object({
  fromMs: z.number().int(),
  toMs: z.number().int(),
  timeZone: z.string(),
  by: z.array(z.enum(REPORT_DIMS)),
  rows: z.array(reportRowSchema),
  totals: reportRowSchema,
  /** Every operator budget with its current window's spend (now, not the report's range). */
  budgets: z.array(budgetStatusSchema),
});
const budgetsSchema = z.object({ timeZone: z.string(), budgets: z.array(budgetStatusSchema) });
const budgetTarget = {
  scope: z.enum(BUDGET_SCOPES),
  /** The agent id or provider; omitted for scope `all`. */
  subject: z.string().min(1).max(200).optional(),
};
/** `PUT /v1/budgets` body: one budget (replaces that scope/subject/period's). */
export const budgetBodySchema = z.strictObject({
  ...budgetTarget,
  period: z.enum(BUDGET_PERIODS),
  /** USD, a decimal string with at most 6 decimals (`"25"`, `"2.5"`). */
  limitUsd: z.string().min(1).max(30),
  /** `soft`: alerts at the thresholds (default); `hard`: also blocks the agent's end users when reached. */
  mode: z.enum(["soft", "hard"]).default("soft"),
  /** Alert percentages; omitted: CREDITGATE_CAP_THRESHOLDS. */
  thresholdsPct: z.array(z.number().int().min(1).max(1000)).min(1).max(20).optional(),
});
const budgetDeleteSchema = z.strictObject({ ...budgetTarget, period: z.enum(BUDGET_PERIODS).optional() });

/** The operator's budgets on provider cost (docs/reports.md "Budgets"). */
export const budgetRoutes: FastifyPluginAsyncZod<ReportRoutesOptions> = async (api, o) => {
  const tags = ["usage"];
  const answer = () => ({ timeZone: o.timeZone, budgets: budgetStatuses(o.db, o.timeZone, o.nowMs()) });
  const invalid = (err: unknown) => {
    if (err instanceof RangeError) throw new AppError(ErrorCode.InvalidRequest, apiMessage(err));
    throw err;
  };
  api.get(
    "/v1/budgets",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "The operator's budgets and their current window's provider cost",
        response: { 200: budgetsSchema, ...errorResponses },
      },
    },
    async () => answer(),
  );
  api.put(
    "/v1/budgets",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary:
          "Set one operator budget (daily or monthly USD on provider cost; soft: alerts; hard: also blocks)",
        body: budgetBodySchema,
        response: { 200: budgetsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const b = request.body;
      try {
        createBudgetsRepo(o.db).set(
          {
            scope: b.scope,
            subject: b.subject ?? "",
            period: b.period,
            limitMicroUsd: parseUsdToMicro(b.limitUsd),
            mode: b.mode,
            thresholdsPct: b.thresholdsPct ?? null,
          },
          o.nowMs(),
        );
      } catch (err) {
        invalid(err);
      }
      syncBudgetBlocks(o.db, o.timeZone, o.nowMs());
      return answer();
    },
  );
  api.delete(
    "/v1/budgets",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Remove an operator budget (one period, or both)",
        querystring: budgetDeleteSchema,
        response: { 200: budgetsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      try {
        createBudgetsRepo(o.db).clear(q.scope, q.subject ?? "", q.period);
      } catch (err) {
        invalid(err);
      }
      syncBudgetBlocks(o.db, o.timeZone, o.nowMs());
      return answer();
    },
  );
};
