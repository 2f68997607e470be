import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { AppError, ErrorCode } from "../../errors.js";
import { decimalToScaled, toSafeNumber } from "../../money.js";
import { COLLECTOR_ERROR_KINDS, PROVIDER_IDS, type ProviderService } from "../../providers/index.js";
import { errorResponses } from "./shared.js";

export interface ProviderRoutesOptions {
  /** The providers service (reads what the worker's polls stored); null: every route answers an empty set. */
  providers: ProviderService | null;
  nowMs: () => number;
}

const burnSchema = z.object({
  lastHourMicro: z.number().int(),
  last24hMicro: z.number().int(),
  last7dMicro: z.number().int(),
  perDayMicro: z.number().int().nullable(),
});
const thresholdsSchema = z.object({
  lowBalanceMicro: z.number().int(),
  lowRunwayHours: z.number().int(),
  spikeFactor: z.number().int(),
  driftPct: z.number().int(),
  driftMinMicro: z.number().int(),
});
const driftSchema = z.object({
  diffMicro: z.number().int(),
  pct: z.number().nullable(),
  exceeds: z.boolean(),
});

/**
 * One provider account. Amounts are integer micro-units (10^-6) of `currency` (metered burn:
 * micro-USD); times ISO 8601. Never contains the API key: `keySource` only says where it comes from.
 */
export const providerViewSchema = z.object({
  provider: z.enum(PROVIDER_IDS),
  keySource: z.string().nullable(),
  currency: z.string().nullable(),
  balanceMicro: z.number().int().nullable(),
  balanceAt: z.string().nullable(),
  burn: z.object({ provider: burnSchema, metered: burnSchema.extend({ currency: z.literal("USD") }) }),
  runway: z.object({
    hours: z.number().nullable(),
    runsOutAt: z.string().nullable(),
    basis: z.enum(["provider", "metered"]).nullable(),
  }),
  /** A non-USD account's exchange rate (USD per unit, decimal string), null when none is configured; null for USD accounts. */
  fx: z.object({ currency: z.string(), usdPerUnit: z.string().nullable() }).nullable(),
  /** USD equivalents (micro-USD) of a non-USD account's balance and burn per day, at `fx`. */
  usd: z
    .object({ balanceMicro: z.number().int().nullable(), burnPerDayMicro: z.number().int().nullable() })
    .nullable(),
  /** Several currencies in one account (DeepSeek CNY + USD): each balance and its USD equivalent (null: no rate, left out of balanceMicro/runway/drift); null for one currency. */
  balances: z
    .array(
      z.object({
        currency: z.string(),
        balanceMicro: z.number().int(),
        usdMicro: z.number().int().nullable(),
      }),
    )
    .nullable(),
  /** `providerMicro` in `currency`; `providerUsdMicro`, `meteredMicro`, `diffMicro` in micro-USD. Null: none, or no exchange rate. */
  drift: driftSchema
    .extend({
      day: z.string(),
      currency: z.string(),
      providerMicro: z.number().int(),
      providerUsdMicro: z.number().int(),
      meteredMicro: z.number().int(),
    })
    .nullable(),
  lastPollAt: z.string().nullable(),
  lastOkAt: z.string().nullable(),
  error: z
    .object({
      kind: z.enum(COLLECTOR_ERROR_KINDS),
      message: z.string(),
      at: z.string().nullable(),
      consecutiveFailures: z.number().int(),
      retryAfterMs: z.number().int().nullable(),
    })
    .nullable(),
  thresholds: thresholdsSchema,
});

const historySchema = z.object({
  provider: z.enum(PROVIDER_IDS),
  /** The newest snapshot's currency's exchange rate (non-USD accounts), as in the view. */
  fx: z.object({ currency: z.string(), usdPerUnit: z.string().nullable() }).nullable(),
  /** Newest first. */
  snapshots: z.array(
    z.object({
      at: z.string(),
      currency: z.string(),
      balanceMicro: z.number().int().nullable(),
      spentTotalMicro: z.number().int().nullable(),
      spendSinceLastMicro: z.number().int().nullable(),
      /** Runway at that moment: the balance over the burn known then (hours, floored to 0.1); null: unknown. */
      runwayHours: z.number().nullable(),
      runwayBasis: z.enum(["provider", "metered"]).nullable(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
  /** Oldest first: the provider's spend per UTC day and creditgate's metered cost (USD accounts, or with an exchange rate). */
  days: z.array(
    z.object({
      day: z.string(),
      currency: z.string(),
      providerMicro: z.number().int(),
      /** `providerMicro` in micro-USD (rule 6); null: a non-USD day without a rate. */
      providerUsdMicro: z.number().int().nullable(),
      source: z.enum(["reported", "derived"]),
      meteredMicro: z.number().int().nullable(),
      drift: driftSchema.nullable(),
    }),
  ),
});

const providerParam = z.object({ provider: z.enum(PROVIDER_IDS) });
const historyQuery = z.strictObject({
  /** ISO date/time or epoch ms; default 7 days ago. */
  from: z.string().min(1).max(40).optional(),
  /** Exclusive; default now. Must be after `from` (else 400). */
  to: z.string().min(1).max(40).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
const decimalOrNull = z.union([
  z.string().regex(/^\d+(\.\d+)?$/, "must be a plain decimal like 5 or 2.5"),
  z.null(),
]);
const thresholdsBody = z.strictObject({
  /** Balance alert, in the provider's currency (decimal string); null: inherit. */
  lowBalance: decimalOrNull.optional(),
  /** Runway alert in days (decimal string); null: inherit. */
  lowRunwayDays: decimalOrNull.optional(),
  spikeFactor: z.number().int().min(2).max(1000).nullable().optional(),
  driftPct: z.number().int().min(1).max(1000).nullable().optional(),
});

function timeOf(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new AppError(ErrorCode.InvalidRequest, `${what}: not an ISO time or epoch ms`);
  return ms;
}

/**
 * Provider accounts (issue #13): `GET /v1/providers` (balance, burn, runway, drift, last poll,
 * error per provider), `GET /v1/providers/:provider`, `.../history` (snapshots and daily spend
 * vs metered, for balance-over-time and runway charts), and the alert thresholds
 * (`GET /v1/providers/alerts`, `PUT /v1/providers/:provider/alerts`, `*` via `/v1/providers/all/alerts`).
 */
export const providerRoutes: FastifyPluginAsyncZod<ProviderRoutesOptions> = async (api, o) => {
  const { providers, nowMs } = o;
  const need = () => {
    if (!providers)
      throw new AppError(ErrorCode.ProviderDisabled, "provider accounts are not set up in this process");
    return providers;
  };

  api.get(
    "/v1/providers",
    {
      config: { scope: "read" },
      schema: {
        tags: ["providers"],
        summary: "Provider accounts: balance, burn, runway, drift, last poll and error",
        response: { 200: z.object({ providers: z.array(providerViewSchema) }), ...errorResponses },
      },
    },
    async () => ({ providers: providers ? providers.overview(nowMs()) : [] }),
  );

  api.get(
    "/v1/providers/alerts",
    {
      config: { scope: "read" },
      schema: {
        tags: ["providers"],
        summary: "Alert thresholds per provider (merged) and the stored defaults",
        response: {
          200: z.object({
            providers: z.array(
              z.object({
                provider: z.enum(PROVIDER_IDS),
                /** The account's currency (the low balance is in it); null before the first poll. */
                currency: z.string().nullable(),
                thresholds: thresholdsSchema,
              }),
            ),
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const p = need();
      return {
        providers: PROVIDER_IDS.map((provider) => ({
          provider,
          currency: p.currency(provider),
          thresholds: p.thresholds(provider),
        })),
      };
    },
  );

  api.get(
    "/v1/providers/:provider",
    {
      config: { scope: "read" },
      schema: {
        tags: ["providers"],
        summary: "One provider account",
        params: providerParam,
        response: { 200: providerViewSchema, ...errorResponses },
      },
    },
    async (request) => need().view(request.params.provider, nowMs()),
  );

  api.get(
    "/v1/providers/:provider/history",
    {
      config: { scope: "read" },
      schema: {
        tags: ["providers"],
        summary: "A provider's snapshots and daily spend vs metered cost",
        params: providerParam,
        querystring: historyQuery,
        response: { 200: historySchema, ...errorResponses },
      },
    },
    async (request) => {
      const now = nowMs();
      const q = request.query;
      const fromMs = timeOf(q.from, now - 7 * 86_400_000, "from");
      const toMs = timeOf(q.to, now + 1, "to");
      // an empty or reversed window is a mistake (swapped arguments), not "no history"
      if (fromMs >= toMs)
        throw new AppError(
          ErrorCode.InvalidRequest,
          `from (${new Date(fromMs).toISOString()}) must be before to (${new Date(toMs).toISOString()}${q.to === undefined ? ", now" : ""}); to is exclusive`,
        );
      return need().history(request.params.provider, { fromMs, toMs, limit: q.limit });
    },
  );

  api.put(
    "/v1/providers/:provider/alerts",
    {
      config: { scope: "admin" },
      schema: {
        tags: ["providers"],
        summary: "Set a provider's alert thresholds (null: inherit the defaults; at least one field)",
        params: z.object({ provider: z.enum([...PROVIDER_IDS, "all"]) }),
        body: thresholdsBody,
        response: { 200: z.object({ provider: z.string(), stored: z.unknown() }), ...errorResponses },
      },
    },
    async (request) => {
      const p = need();
      const b = request.body;
      if (Object.values(b).every((v) => v === undefined))
        throw new AppError(
          ErrorCode.InvalidRequest,
          "the body sets no threshold: give at least one of lowBalance, lowRunwayDays, spikeFactor, driftPct (null returns one to the default)",
        );
      const id = request.params.provider === "all" ? "*" : request.params.provider;
      const patch: Parameters<ProviderService["setThresholds"]>[1] = {};
      if (b.lowBalance !== undefined)
        patch.lowBalanceMicro =
          b.lowBalance === null ? (null as never) : toSafeNumber(decimalToScaled(b.lowBalance, 6));
      if (b.lowRunwayDays !== undefined) {
        const hours =
          b.lowRunwayDays === null
            ? null
            : Math.round(Number(decimalToScaled(b.lowRunwayDays, 3) * 24n) / 1000);
        if (hours === 0 && Number(b.lowRunwayDays) !== 0)
          throw new AppError(
            ErrorCode.InvalidRequest,
            "lowRunwayDays is under half an hour: runway alerts are kept in whole hours (0 turns the alert off)",
          );
        patch.lowRunwayHours = hours as never;
      }
      if (b.spikeFactor !== undefined) patch.spikeFactor = b.spikeFactor as never;
      if (b.driftPct !== undefined) patch.driftPct = b.driftPct as never;
      p.setThresholds(id, patch, nowMs());
      return { provider: id, stored: p.storedThresholds(id) };
    },
  );
};
