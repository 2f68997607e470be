import { z } from "zod";
import { providerAmountToMicro } from "../../money.js";
import { getJson } from "../http.js";
import type { Collector } from "../types.js";

/**
 * `GET /v1/users/me/balance` → `{ code: 0, data: { available_balance, voucher_balance,
 * cash_balance }, scode: "0x0", status: true }` (Moonshot / Kimi platform docs, "Check
 * balance" / 查询余额). JSON numbers; `available_balance` = cash + voucher and is what inference
 * may spend (≤ 0: calls are refused); `cash_balance` may be negative (owed). Units: CNY on
 * api.moonshot.cn, USD on api.moonshot.ai.
 */
const balanceSchema = z.object({
  code: z.number().optional(),
  status: z.boolean().optional(),
  data: z.object({
    available_balance: z.number(),
    voucher_balance: z.number(),
    cash_balance: z.number(),
  }),
});

/**
 * Moonshot (Kimi): the available balance, split into voucher and cash in `detail`. No spend
 * counter: spend is derived from balance decreases between polls. The currency is CNY when the
 * base URL's host ends in `.cn` (the China platform), else USD.
 */
export const moonshotCollector: Collector = {
  id: "moonshot",
  defaultBaseUrl: "https://api.moonshot.ai/v1",
  meteredProviders: ["moonshot", "kimi"],
  keyHint: "a Moonshot / Kimi platform API key",
  async collect(ctx) {
    const b = (await getJson(ctx, "/users/me/balance", { authorization: `Bearer ${ctx.key}` }, balanceSchema))
      .data;
    const currency = new URL(ctx.baseUrl).hostname.endsWith(".cn") ? "CNY" : "USD";
    return {
      currency,
      balance: providerAmountToMicro(b.available_balance),
      spentTotal: null,
      days: [],
      detail: {
        voucherMicro: providerAmountToMicro(b.voucher_balance).toString(),
        cashMicro: providerAmountToMicro(b.cash_balance).toString(),
      },
    };
  },
};
