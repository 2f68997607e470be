import { z } from "zod";
import { providerAmountToMicro } from "../../money.js";
import { getJson, utcDay } from "../http.js";
import { type CollectContext, type Collector, CollectorError } from "../types.js";
import { paginate, REPORT_DAYS, reportStartMs } from "./window.js";

/**
 * `GET /v1/organization/costs?start_time=<unix s>&bucket_width=1d&limit=<n>&group_by=line_item`
 * → `{ object: "page", data: [{ object: "bucket", start_time, end_time, results: [{ object:
 * "organization.costs.result", amount: { value, currency: "usd" }, line_item, project_id }] }],
 * has_more, next_page }` (OpenAI API reference, "Costs"; admin key). `amount.value` is a JSON
 * number in the currency's units.
 */
const costsSchema = z.object({
  data: z.array(
    z.object({
      start_time: z.number().int(),
      end_time: z.number().int(),
      results: z.array(
        z.object({
          amount: z.object({ value: z.union([z.number(), z.string()]), currency: z.string() }).nullish(),
          line_item: z.string().nullish(),
          project_id: z.string().nullish(),
        }),
      ),
    }),
  ),
  has_more: z.boolean().nullish(),
  next_page: z.string().nullish(),
});

/**
 * `GET /v1/organization/usage/completions?start_time=…&bucket_width=1d&limit=<n>` → the same page
 * shape with results `{ object: "organization.usage.completions.result", input_tokens,
 * output_tokens, input_cached_tokens, num_model_requests, model, … }` (OpenAI API reference,
 * "Usage: completions"; admin key).
 */
const usageSchema = z.object({
  data: z.array(
    z.object({
      start_time: z.number().int(),
      results: z.array(
        z.object({
          input_tokens: z.number().int().nullish(),
          output_tokens: z.number().int().nullish(),
          input_cached_tokens: z.number().int().nullish(),
          num_model_requests: z.number().int().nullish(),
        }),
      ),
    }),
  ),
  has_more: z.boolean().nullish(),
  next_page: z.string().nullish(),
});

async function pages<S extends typeof costsSchema | typeof usageSchema>(
  ctx: CollectContext,
  path: string,
  schema: S,
  query: Record<string, string | string[]>,
): Promise<z.infer<S>["data"]> {
  return (await paginate(`GET ${path}`, async (page) => {
    return (await getJson(
      ctx,
      path,
      { authorization: `Bearer ${ctx.key}` },
      schema,
      page ? { ...query, page } : query,
    )) as {
      data: unknown[];
      has_more?: boolean | null;
      next_page?: string | null;
    };
  })) as z.infer<S>["data"];
}

/**
 * OpenAI: spend per UTC day for the last 7 days from the organization Costs API (all projects,
 * every line item), and token counts per day from the Usage API (completions) in `detail`. No
 * balance: OpenAI has no API for prepaid credit left. Needs an **admin key** (`sk-admin-…`); a
 * project key gets 401/403.
 */
export const openaiCollector: Collector = {
  id: "openai",
  defaultBaseUrl: "https://api.openai.com/v1",
  meteredProviders: ["openai"],
  keyHint: "an OpenAI organization admin key (sk-admin-…), not a project key",
  async collect(ctx) {
    const start = String(Math.floor(reportStartMs(ctx.nowMs) / 1000));
    const base = { start_time: start, bucket_width: "1d", limit: String(REPORT_DAYS) };
    const buckets = await pages(ctx, "/organization/costs", costsSchema, { ...base, group_by: "line_item" });
    const byDay = new Map<string, bigint>();
    const lines = new Map<string, bigint>();
    let currency: string | null = null;
    for (const b of buckets) {
      // a bucket starting after now is not spend yet (as for Anthropic)
      if (b.start_time * 1000 > ctx.nowMs) continue;
      const day = utcDay(b.start_time * 1000);
      let sum = byDay.get(day) ?? 0n;
      for (const r of b.results) {
        if (!r.amount) continue;
        const cur = r.amount.currency.toUpperCase();
        if (currency !== null && cur !== currency)
          throw new CollectorError(
            "shape",
            `GET /organization/costs: mixed currencies ${currency} and ${cur}`,
          );
        currency = cur;
        const micro = providerAmountToMicro(r.amount.value);
        sum += micro;
        if (r.line_item) lines.set(r.line_item, (lines.get(r.line_item) ?? 0n) + micro);
      }
      byDay.set(day, sum);
    }
    let tokens: Record<string, unknown> | { error: string };
    try {
      const usage = await pages(ctx, "/organization/usage/completions", usageSchema, base);
      const t: Record<string, { input: number; output: number; cachedInput: number; requests: number }> = {};
      for (const b of usage) {
        if (b.start_time * 1000 > ctx.nowMs) continue;
        const d = utcDay(b.start_time * 1000);
        const row = t[d] ?? { input: 0, output: 0, cachedInput: 0, requests: 0 };
        t[d] = row;
        for (const r of b.results) {
          row.input += r.input_tokens ?? 0;
          row.output += r.output_tokens ?? 0;
          row.cachedInput += r.input_cached_tokens ?? 0;
          row.requests += r.num_model_requests ?? 0;
        }
      }
      tokens = t;
    } catch (err) {
      // Token counts are context only: the cost report is what the poll needs.
      tokens = { error: err instanceof Error ? err.message : String(err) };
    }
    const topLines = [...lines.entries()]
      .sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0))
      .slice(0, 10)
      .map(([item, micro]) => ({ item, micro: micro.toString() }));
    return {
      currency: currency ?? "USD",
      balance: null,
      spentTotal: null,
      days: [...byDay.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([day, micro]) => ({ day, micro })),
      detail: { lineItems7d: topLines, tokensByDay: tokens },
    };
  },
};
