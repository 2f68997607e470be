import { z } from "zod";
import { providerAmountToMicro } from "../../money.js";
import { getJson, redactSecrets, utcDay } from "../http.js";
import { type Collector, CollectorError, type DaySpend } from "../types.js";

/**
 * `GET /api/v1/credits` → `{ data: { total_credits, total_usage } }`, USD as JSON numbers
 * (OpenRouter API reference, "Get remaining credits"; the docs say it needs a management key).
 */
const creditsSchema = z.object({
  data: z.object({ total_credits: z.number(), total_usage: z.number() }),
});

/**
 * `GET /api/v1/key` → `{ data: { label, limit, limit_remaining, limit_reset, usage, usage_daily,
 * usage_weekly, usage_monthly, byok_usage…, is_free_tier, … } }`, USD as JSON numbers; `limit`
 * and `limit_remaining` are null for a key without a credit limit; `usage_daily` is the current
 * UTC day (OpenRouter API reference, "Get current API key").
 */
const keySchema = z.object({
  data: z.object({
    label: z.string().nullish(),
    limit: z.number().nullable(),
    limit_remaining: z.number().nullish(),
    limit_reset: z.string().nullish(),
    usage: z.number(),
    usage_daily: z.number().nullish(),
    usage_weekly: z.number().nullish(),
    usage_monthly: z.number().nullish(),
    is_free_tier: z.boolean().nullish(),
  }),
});

/**
 * OpenRouter: the account's balance (`total_credits − total_usage` from `/credits`), its
 * cumulative usage counter, and the key's spend today (`usage_daily` from `/key`). When
 * `/credits` answers 403 or 401 (an inference key, not a management key), the balance is the key's
 * `limit_remaining` if the key has a limit (noted in `detail.balanceSource`), and the counter is
 * the key's own `usage`.
 */
export const openrouterCollector: Collector = {
  id: "openrouter",
  defaultBaseUrl: "https://openrouter.ai/api/v1",
  meteredProviders: ["openrouter"],
  keyHint: "an OpenRouter API key (a management key also reads the account's credits)",
  async collect(ctx) {
    const auth = { authorization: `Bearer ${ctx.key}` };
    const key = (await getJson(ctx, "/key", auth, keySchema)).data;
    let credits: z.infer<typeof creditsSchema>["data"] | null = null;
    try {
      credits = (await getJson(ctx, "/credits", auth, creditsSchema)).data;
    } catch (err) {
      // `/key` just accepted this key, so a 401 here (OpenRouter lists 401 and 403 for this
      // route) also means "not a management key", not a bad key: keep the key's own figures
      if (!(err instanceof CollectorError && (err.kind === "forbidden" || err.kind === "unauthorized")))
        throw err;
    }
    const usd = (n: number) => providerAmountToMicro(n);
    const days: DaySpend[] =
      key.usage_daily === null || key.usage_daily === undefined
        ? []
        : [{ day: utcDay(ctx.nowMs), micro: usd(key.usage_daily) }];
    const keyLimitRemaining =
      key.limit_remaining === null || key.limit_remaining === undefined ? null : usd(key.limit_remaining);
    return {
      currency: "USD",
      balance: credits ? usd(credits.total_credits) - usd(credits.total_usage) : keyLimitRemaining,
      spentTotal: credits ? usd(credits.total_usage) : usd(key.usage),
      days,
      detail: {
        balanceSource: credits ? "credits" : keyLimitRemaining === null ? "none" : "key_limit_remaining",
        // what the spend counter counts: the account's usage (/credits) or this key's; when it
        // changes (a management key swapped for an inference key or back) the series restarts
        counterScope: credits ? "account" : "key",
        totalCreditsMicro: credits ? usd(credits.total_credits).toString() : null,
        // the label of an unnamed key is the key itself, masked ("sk-or-v1-au7...890") or, in
        // some of OpenRouter's examples, whole: never stored as is
        keyLabel: key.label == null ? null : redactSecrets(key.label, ctx.key),
        keyLimitMicro: key.limit === null ? null : usd(key.limit).toString(),
        keyLimitRemainingMicro: keyLimitRemaining === null ? null : keyLimitRemaining.toString(),
        keyLimitReset: key.limit_reset ?? null,
        keyUsageWeeklyMicro: key.usage_weekly == null ? null : usd(key.usage_weekly).toString(),
        keyUsageMonthlyMicro: key.usage_monthly == null ? null : usd(key.usage_monthly).toString(),
        freeTier: key.is_free_tier ?? null,
      },
    };
  },
};
