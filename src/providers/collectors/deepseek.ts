import { z } from "zod";
import { providerAmountToMicro } from "../../money.js";
import { getJson } from "../http.js";
import type { Collector } from "../types.js";

const decimalString = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string like "110.00"');

/**
 * `GET /user/balance` → `{ is_available, balance_infos: [{ currency: "CNY"|"USD",
 * total_balance, granted_balance, topped_up_balance }] }`, amounts as decimal strings
 * ("110.00") (DeepSeek API docs, "Get User Balance").
 */
const balanceSchema = z.object({
  is_available: z.boolean(),
  balance_infos: z.array(
    z.object({
      currency: z.string().min(1),
      total_balance: decimalString,
      granted_balance: decimalString,
      topped_up_balance: decimalString,
    }),
  ),
});

/**
 * DeepSeek: the total balance of every currency the account holds (`balances`; an account can
 * hold CNY and USD at once), with USD as the account's currency when it has a USD entry, else the
 * first one listed; every currency's total / granted / topped-up split is in `detail`. No spend
 * counter: spend is derived from balance decreases between polls, per currency.
 */
export const deepseekCollector: Collector = {
  id: "deepseek",
  defaultBaseUrl: "https://api.deepseek.com",
  meteredProviders: ["deepseek"],
  keyHint: "a DeepSeek API key",
  async collect(ctx) {
    const b = await getJson(ctx, "/user/balance", { authorization: `Bearer ${ctx.key}` }, balanceSchema);
    const infos = b.balance_infos.map((i) => ({
      currency: i.currency.toUpperCase(),
      totalMicro: providerAmountToMicro(i.total_balance),
      grantedMicro: providerAmountToMicro(i.granted_balance),
      toppedUpMicro: providerAmountToMicro(i.topped_up_balance),
    }));
    const main = infos.find((i) => i.currency === "USD") ?? infos[0] ?? null;
    return {
      currency: main?.currency ?? "USD",
      balances: infos.map((i) => ({ currency: i.currency, micro: i.totalMicro })),
      // no balance entry at all: unknown, not a made-up 0 (that would alert "ran out")
      balance: main?.totalMicro ?? null,
      spentTotal: null,
      days: [],
      detail: {
        isAvailable: b.is_available,
        balances: infos.map((i) => ({
          currency: i.currency,
          totalMicro: i.totalMicro.toString(),
          grantedMicro: i.grantedMicro.toString(),
          toppedUpMicro: i.toppedUpMicro.toString(),
        })),
      },
    };
  },
};
