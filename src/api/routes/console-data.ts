import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { accountIdSchema } from "../../credits/index.js";
import type { Db } from "../../db/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import { createReviewQueue, type Pricer, parseTimeArg, sinceIsNowProblem } from "../../meter/index.js";
import { decimalToScaled, divRoundHalfUp, formatScaled, type Ratio } from "../../money.js";
import {
  type PaymentObservation,
  type PaymentsDeps,
  reconcileTopups,
  type TopupRepo,
  type TopupStatus,
} from "../../payments/index.js";
import {
  accountsSummary,
  agentsReport,
  BUCKETS,
  balanceTotals,
  listUsers,
  MAX_HOURLY_RANGE_MS,
  newUsers,
  paymentsReport,
  rangeTotals,
  retryDeadAlert,
  runwayDays,
  STACKS,
  soonestRunouts,
  spendSeries,
  TOPUP_STATUSES,
  topModels,
  topupTotals,
  USER_SORTS,
  userActivity,
  usersCharged,
} from "../../reports/index.js";
import { errorResponses, idParam } from "./shared.js";

export interface ConsoleDataRoutesOptions {
  db: Db;
  nowMs: () => number;
  /**
   * The meter's pricing: the credit rate margins are computed at, and what a released review item
   * is billed with (no pricer: a held call without a computed cost needs `costUsd`).
   */
  pricing: { markup: Ratio; creditsPerUsd: Ratio; pricer?: Pricer | undefined };
  payments: PaymentsDeps & { topups: TopupRepo };
  /** The fulfilment path reconciliation applies provider answers through. */
  apply(
    topupId: string,
    observation: PaymentObservation,
    nowMs: number,
  ): { status: string; topupStatus: TopupStatus | null };
  /** Pending top-ups younger than this are left to their webhook. */
  reconcileAfterMs: number;
}

const DAY_MS = 86_400_000;
/** The burn rate is the end users' charge over this many days. */
const BURN_DAYS = 7;
const timeArg = z.string().min(1).max(40);
const rangeQuery = {
  /** Like `creditgate usage --since`: ISO date/time, `today`, `7d`, `12h`, `30m`. Default `30d`. */
  from: timeArg.optional(),
  /** Exclusive; same formats. Default now. */
  to: timeArg.optional(),
};
const pico = z.string().describe("exact pico-USD (10^-12 USD), decimal string");
const micro = z.number().int().describe("micro-credits (10^-6 credits)");

const totalsSchema = z.object({
  requests: z.number().int(),
  errors: z.number().int(),
  costPicoUsd: pico,
  chargedMicroCredits: micro,
  marginMicroCredits: micro,
});
const overviewSchema = z.object({
  fromMs: z.number().int(),
  /** Exclusive end; null: open (no `to` given). */
  toMs: z.number().int().nullable(),
  /** Credits per USD (decimal string): the rate cost is converted at for the margin. */
  creditsPerUsd: z.string(),
  totals: totalsSchema,
  activeUsers: z.number().int(),
  activeAgentAccounts: z.number().int(),
  newUsers: z.number().int(),
  topups: z.array(
    z.object({
      currency: z.string(),
      exponent: z.number().int(),
      paidCount: z.number().int(),
      paidMinor: z.number().int(),
      refundedCount: z.number().int(),
      refundedMinor: z.number().int(),
    }),
  ),
  series: z.object({
    bucket: z.enum(BUCKETS),
    stack: z.enum(STACKS),
    points: z.array(
      z.object({
        bucketStartMs: z.number().int(),
        key: z.string(),
        requests: z.number().int(),
        costPicoUsd: pico,
        chargedMicroCredits: micro,
      }),
    ),
  }),
  topUsers: z.array(
    z.object({
      accountId: z.string(),
      requests: z.number().int(),
      costPicoUsd: pico,
      chargedMicroCredits: micro,
    }),
  ),
  topModels: z.array(
    z.object({
      model: z.string(),
      requests: z.number().int(),
      costPicoUsd: pico,
      chargedMicroCredits: micro,
    }),
  ),
  balances: z.object({
    prepaidMicroCredits: micro,
    owedMicroCredits: micro,
    fundedUsers: z.number().int(),
    overdrawnUsers: z.number().int(),
    users: z.number().int(),
    /** End users' charge per day over the last 7 complete UTC days. */
    burnMicroCreditsPerDay: micro,
    /** Days the prepaid total lasts at that rate; null when nothing is burning. */
    runwayDays: z.number().nullable(),
  }),
  runouts: z.array(
    z.object({
      accountId: z.string(),
      balanceMicroCredits: micro,
      burnMicroCreditsPerDay: micro,
      runwayDays: z.number(),
    }),
  ),
});

const spendSchema = z.object({
  requests: z.number().int(),
  costPicoUsd: pico,
  chargedMicroCredits: micro,
});
const topupRowSchema = z.object({
  id: z.string(),
  provider: z.string(),
  status: z.string(),
  currency: z.string(),
  exponent: z.number().int(),
  /** What was collected once paid (a coupon or promotion code: less than the pack price); else the price. */
  amountMinor: z.number().int(),
  /** The pack price less `amountMinor`: what a coupon or promotion code took off (0 without one). */
  discountMinor: z.number().int(),
  refundedMinor: z.number().int(),
  grantMicroCredits: micro,
  createdAtMs: z.number().int(),
  paidAtMs: z.number().int().nullable(),
});

/**
 * The operator console's aggregates (also plain API routes, for dashboards and scripts): the
 * overview, the user table, one user's activity, agents, payments; plus the console's actions not
 * covered elsewhere (reconcile, retry a dead alert webhook, review release/void). Totals come from
 * `queryUsage`, the query `creditgate usage` and `GET /v1/usage` run.
 */
export const consoleDataRoutes: FastifyPluginAsyncZod<ConsoleDataRoutesOptions> = async (api, o) => {
  const { db, nowMs } = o;
  const tags = ["console"];
  const range = (q: { from?: string | undefined; to?: string | undefined }, defaultFrom = "30d") => {
    const now = nowMs();
    const time = (label: string, v: string) => {
      try {
        return parseTimeArg(v, now);
      } catch (err) {
        throw new AppError(ErrorCode.InvalidRequest, `${label}: ${(err as Error).message}`);
      }
    };
    // `from=0d` is now: zero totals read as "nothing billed" (case report-span-zero-or-too-long)
    const sinceIsNow = q.from === undefined ? null : sinceIsNowProblem(q.from);
    if (sinceIsNow !== null) throw new AppError(ErrorCode.InvalidRequest, `from: ${sinceIsNow}`);
    const sinceMs = time("from", q.from ?? defaultFrom);
    // No `to`: open-ended like `creditgate usage` without --until (calls stamped a little ahead
    // of this clock count); the day-based queries read up to a day ahead.
    const openEnd = q.to === undefined;
    const untilMs = openEnd ? now + DAY_MS : time("to", q.to as string);
    if (!(sinceMs < untilMs)) throw new AppError(ErrorCode.InvalidRequest, "from must be before to");
    return { sinceMs, untilMs, now, reportUntilMs: openEnd ? undefined : untilMs };
  };

  api.get(
    "/v1/overview",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "Overview of a time range: cost, charged, margin, users, top-ups, spend series, runway",
        description:
          "Totals equal the sums of `GET /v1/usage?by=day` for the same from/to (whole days from a rollup of the same daily aggregates). The series buckets by UTC day " +
          "(usage_daily) or hour (raw rows, range at most 8 days), stacked by agent, model or provider (8 biggest, " +
          "the rest as `other`). Burn rate: end users' charge over the last 7 complete UTC days, per day.",
        querystring: z.strictObject({
          ...rangeQuery,
          bucket: z.enum(BUCKETS).default("day"),
          stack: z.enum(STACKS).default("agent"),
        }),
        response: { 200: overviewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const { sinceMs, untilMs, now, reportUntilMs } = range(q);
      if (q.bucket === "hour" && untilMs - sinceMs > MAX_HOURLY_RANGE_MS + DAY_MS) {
        throw new AppError(ErrorCode.InvalidRequest, "bucket=hour needs a range of at most 8 days");
      }
      const totals = rangeTotals(db, sinceMs, reportUntilMs, o.pricing.creditsPerUsd);
      const accounts = accountsSummary(db, { sinceMs, untilMs: reportUntilMs, limit: 10 });
      const balances = balanceTotals(db);
      // The last BURN_DAYS complete UTC days (whole days: read from the rollup only).
      const todayStart = Math.floor(now / DAY_MS) * DAY_MS;
      const charged = usersCharged(db, todayStart - BURN_DAYS * DAY_MS, todayStart);
      const burn = Number(divRoundHalfUp(BigInt(charged), BigInt(BURN_DAYS)));
      return {
        fromMs: sinceMs,
        toMs: reportUntilMs ?? null,
        creditsPerUsd: formatScaled(
          (o.pricing.creditsPerUsd.num * 10n ** 6n) / o.pricing.creditsPerUsd.den,
          6,
        ),
        totals,
        activeUsers: accounts.users,
        activeAgentAccounts: accounts.agents,
        newUsers: newUsers(db, sinceMs, untilMs),
        topups: topupTotals(db, sinceMs, untilMs),
        series: {
          bucket: q.bucket,
          stack: q.stack,
          points: spendSeries(db, { sinceMs, untilMs, bucket: q.bucket, stack: q.stack }),
        },
        topUsers: accounts.top,
        topModels: topModels(db, { sinceMs, untilMs: reportUntilMs, limit: 10 }),
        balances: {
          ...balances,
          burnMicroCreditsPerDay: burn,
          runwayDays: runwayDays(balances.prepaidMicroCredits, charged, BURN_DAYS),
        },
        runouts: soonestRunouts(db, { untilMs: todayStart, days: BURN_DAYS, limit: 10 }),
      };
    },
  );

  api.get(
    "/v1/users",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "End users: searchable, sortable, paged (balance, status, today/month charges, limits)",
        querystring: z.strictObject({
          /** Substring of the user id (case-insensitive). */
          q: z.string().max(200).optional(),
          sort: z.enum(USER_SORTS).default("id"),
          dir: z.enum(["asc", "desc"]).default("asc"),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
        }),
        response: {
          200: z.object({
            total: z.number().int(),
            users: z.array(
              z.object({
                userId: z.string(),
                balanceMicroCredits: micro,
                allowed: z.boolean().nullable(),
                reason: z.string().nullable(),
                blockReason: z.string().nullable(),
                limits: z.record(z.string(), z.unknown()).nullable(),
                language: z.string().nullable(),
                todayChargedMicroCredits: micro,
                monthChargedMicroCredits: micro,
                lastActivityMs: z.number().int(),
                createdAtMs: z.number().int(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return listUsers(db, {
        search: q.q,
        sort: q.sort,
        desc: q.dir === "desc",
        limit: q.limit,
        offset: q.offset,
        nowMs: nowMs(),
      });
    },
  );

  const knownUser = db.prepare<[string, string, string, string]>(
    `SELECT 1 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = ?)
        OR EXISTS (SELECT 1 FROM account_limits WHERE subject = ?)
        OR EXISTS (SELECT 1 FROM operator_blocks WHERE account_id = ?)
        OR EXISTS (SELECT 1 FROM user_status WHERE account_id = ?)`,
  );
  api.get(
    "/v1/users/:id/activity",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "One user's balance over time, charges per day and model, top-ups, alerts and notices",
        description:
          "Per-day and per-model figures cover the whole UTC days the range touches. 404 for an id " +
          "creditgate has never seen (no account, limits, block or status).",
        params: idParam,
        querystring: z.strictObject(rangeQuery),
        response: {
          200: z.object({
            userId: z.string(),
            balance: z.array(z.object({ atMs: z.number().int(), balanceMicroCredits: micro })),
            byDay: z.array(spendSchema.extend({ dayStartMs: z.number().int() })),
            byModel: z.array(spendSchema.extend({ model: z.string() })),
            topups: z.array(topupRowSchema),
            alerts: z.array(
              z.object({
                id: z.number().int(),
                kind: z.string(),
                threshold: z.string(),
                createdAtMs: z.number().int(),
                webhookState: z.string(),
              }),
            ),
            notices: z.array(
              z.object({
                id: z.number().int(),
                kind: z.string(),
                text: z.string(),
                createdAtMs: z.number().int(),
                ackedAtMs: z.number().int().nullable(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { sinceMs, untilMs } = range(request.query);
      const id = request.params.id;
      // An id creditgate has never seen (no account, no limits, no block, no status): 404, so the
      // console shows "user not found" instead of an empty page of zeros.
      if (!knownUser.get(id, id, id, id)) throw new AppError(ErrorCode.NotFound, `no user ${id}`);
      return userActivity(db, id, { sinceMs, untilMs, maxPoints: 2000 });
    },
  );

  api.get(
    "/v1/agents",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary:
          "Agents: charges, requests, users and models per agent, and the agent's own (unattributed) cost",
        description: "Covers the whole UTC days the range touches.",
        querystring: z.strictObject(rangeQuery),
        response: {
          200: z.object({
            agents: z.array(
              spendSchema.extend({
                agentId: z.string(),
                users: z.number().int(),
                models: z.number().int(),
                ownCostPicoUsd: pico,
                ownRequests: z.number().int(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { sinceMs, untilMs } = range(request.query);
      return { agents: agentsReport(db, { sinceMs, untilMs }) };
    },
  );

  api.get(
    "/v1/payments",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary:
          "Top-ups by status, provider and currency, revenue per day, and a page of top-ups with their provider events",
        querystring: z.strictObject({
          ...rangeQuery,
          status: z.enum(TOPUP_STATUSES).optional(),
          provider: z.enum(["stripe", "mercadopago"]).optional(),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          offset: z.coerce.number().int().min(0).default(0),
        }),
        response: {
          200: z.object({
            groups: z.array(
              z.object({
                status: z.string(),
                provider: z.string(),
                currency: z.string(),
                exponent: z.number().int(),
                count: z.number().int(),
                amountMinor: z.number().int(),
                discountMinor: z.number().int(),
                refundedMinor: z.number().int(),
              }),
            ),
            revenue: z.array(
              z.object({
                dayStartMs: z.number().int(),
                currency: z.string(),
                exponent: z.number().int(),
                amountMinor: z.number().int(),
              }),
            ),
            total: z.number().int(),
            topups: z.array(
              topupRowSchema.extend({
                userId: z.string(),
                packId: z.string(),
                lastError: z.string().nullable(),
                events: z.array(
                  z.object({
                    type: z.string(),
                    outcome: z.string(),
                    detail: z.string().nullable(),
                    receivedAtMs: z.number().int(),
                  }),
                ),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const { sinceMs, untilMs } = range(q);
      return paymentsReport(db, {
        sinceMs,
        untilMs,
        status: q.status,
        provider: q.provider,
        limit: q.limit,
        offset: q.offset,
      });
    },
  );

  api.post(
    "/v1/payments/reconcile",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary:
          "Ask the providers about pending top-ups and apply their answers (as `creditgate reconcile`)",
        response: {
          200: z.object({
            checked: z.number().int(),
            results: z.array(
              z.object({
                topupId: z.string(),
                provider: z.string(),
                before: z.string(),
                after: z.string().nullable(),
                outcome: z.string(),
                detail: z.string().nullable(),
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const p = o.payments;
      if (!p.stripe && !p.mercadoPago) {
        throw new AppError(ErrorCode.ProviderDisabled, "no payment provider is configured");
      }
      const now = nowMs();
      const results = await reconcileTopups({
        db,
        topups: p.topups,
        stripe: p.stripe,
        mercadoPago: p.mercadoPago,
        apply: (topupId, observation) => o.apply(topupId, observation, now),
        nowMs: now,
        olderThanMs: o.reconcileAfterMs,
      });
      return { checked: results.length, results };
    },
  );

  api.post(
    "/v1/alerts/:alertId/retry",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Send a dead-lettered alert webhook again (the worker's next sweep delivers it)",
        params: z.object({ alertId: z.coerce.number().int().min(1) }),
        response: { 200: z.object({ alertId: z.number().int(), retried: z.boolean() }), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.alertId;
      const retried = retryDeadAlert(db, id);
      if (!retried) {
        const exists = db.prepare("SELECT 1 FROM alerts WHERE id = ?").get(id);
        if (!exists) throw new AppError(ErrorCode.NotFound, `no alert #${id}`);
        throw new AppError(ErrorCode.Conflict, `alert #${id} is not dead-lettered`);
      }
      return { alertId: id, retried };
    },
  );

  const review = createReviewQueue(db);
  const heldSchema = z.object({
    id: z.number().int(),
    status: z.string(),
    reason: z.string(),
    accountId: z.string(),
    agentId: z.string(),
    provider: z.string(),
    model: z.string(),
    messageTsMs: z.number().int(),
    totalTokens: z.number().int(),
    costUsd: z.string().nullable(),
    chargeMicroCredits: z.string().nullable(),
    /** What a release billed (USD, exact) and to whom; null unless released (since 2026-12-04). */
    billedCostUsd: z.string().nullable(),
    billedAccountId: z.string().nullable(),
    createdAtMs: z.number().int(),
    resolvedAtMs: z.number().int().nullable(),
    resolution: z.string().nullable(),
  });
  const heldView = (h: ReturnType<typeof review.get>) => ({
    id: h.id,
    status: h.status,
    reason: h.reason,
    accountId: h.accountId,
    agentId: h.agentId,
    provider: h.provider,
    model: h.model,
    messageTsMs: h.messageTsMs,
    totalTokens: h.totalTokens,
    costUsd: h.costUsd,
    chargeMicroCredits: h.chargeMicroCredits,
    billedCostUsd: h.billedCostUsd,
    billedAccountId: h.billedAccountId,
    createdAtMs: h.createdAtMs,
    resolvedAtMs: h.resolvedAtMs,
    resolution: h.resolution,
  });
  api.get(
    "/v1/review",
    {
      config: { scope: "read" },
      schema: {
        tags,
        summary: "Model calls held for review (as `creditgate review`)",
        querystring: z.strictObject({
          status: z.enum(["held", "released", "voided", "all"]).default("held"),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: z.object({ items: z.array(heldSchema) }), ...errorResponses },
      },
    },
    async (request) => ({ items: review.list(request.query.status, request.query.limit).map(heldView) }),
  );
  const reviewParams = z.object({ reviewId: z.coerce.number().int().min(1) });
  api.post(
    "/v1/review/:reviewId/release",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Bill a held call exactly once (at its computed cost or costUsd)",
        params: reviewParams,
        body: z.strictObject({
          reason: z.string().trim().min(1).max(500),
          /** Bill this cost (USD, decimal string) instead of the computed one. */
          costUsd: z
            .string()
            .regex(/^\d+(\.\d+)?$/)
            .optional(),
          /**
           * Bill this account instead of the one the call was read for (the CLI's `--account`),
           * resolved as every operator route's account (`Telegram:555` → `telegram:555` when that
           * is the account billed). Before 2026-12-04 the API had no way to name it, so a held call
           * whose account must change (a lone UTF-16 surrogate in the id read) was released from the
           * CLI only (case review-release-api-account).
           */
          accountId: accountIdSchema.optional(),
        }),
        response: {
          200: z.object({
            status: z.string(),
            id: z.number().int(),
            /** The account billed (when released by this call). */
            accountId: z.string().optional(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const b = request.body;
      const r = review.release(request.params.reviewId, {
        reason: b.reason,
        ...(b.accountId !== undefined ? { accountId: b.accountId } : {}),
        nowMs: nowMs(),
        markup: o.pricing.markup,
        creditsPerUsd: o.pricing.creditsPerUsd,
        ...(o.pricing.pricer ? { pricer: o.pricing.pricer } : {}),
        ...(b.costUsd !== undefined ? { costPicoUsd: decimalToScaled(b.costUsd, 12) } : {}),
      });
      return { status: r.status, id: r.id, ...(r.status === "released" ? { accountId: r.accountId } : {}) };
    },
  );
  api.post(
    "/v1/review/:reviewId/void",
    {
      config: { scope: "admin" },
      schema: {
        tags,
        summary: "Keep a held call unbilled",
        params: reviewParams,
        body: z.strictObject({ reason: z.string().trim().min(1).max(500) }),
        response: { 200: z.object({ status: z.string(), id: z.number().int() }), ...errorResponses },
      },
    },
    async (request) => review.void(request.params.reviewId, request.body.reason, nowMs()),
  );
};
