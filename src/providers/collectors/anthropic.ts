import { z } from "zod";
import { providerAmountToMicro } from "../../money.js";
import { getJson } from "../http.js";
import { type CollectContext, type Collector, CollectorError } from "../types.js";
import { paginate, REPORT_DAYS, reportStartMs } from "./window.js";

const HEADERS = (key: string) => ({ "x-api-key": key, "anthropic-version": "2023-06-01" });

/**
 * `GET /v1/organizations/cost_report?starting_at=<RFC 3339>&bucket_width=1d&limit=<n>&group_by[]=description`
 * → `{ data: [{ starting_at, ending_at, results: [{ currency: "USD", amount: "123.45",
 * description, model, cost_type, token_type, service_tier, context_window, workspace_id }] }],
 * has_more, next_page }`, where `amount` is a **decimal string in cents** ("123.45" = $1.2345)
 * (Anthropic Admin API reference, "Get Cost Report"; admin key `sk-ant-admin…`).
 */
const costSchema = z.object({
  data: z.array(
    z.object({
      starting_at: z.string(),
      ending_at: z.string(),
      results: z.array(
        z.object({
          currency: z.string().default("USD"),
          amount: z.string().regex(/^-?\d+(\.\d+)?$/, "expected a decimal string of cents"),
          description: z.string().nullish(),
          model: z.string().nullish(),
        }),
      ),
    }),
  ),
  has_more: z.boolean(),
  next_page: z.string().nullish(),
});

/**
 * `GET /v1/organizations/usage_report/messages?starting_at=…&bucket_width=1d&limit=<n>` →
 * `{ data: [{ starting_at, ending_at, results: [{ uncached_input_tokens, cache_creation: {
 * ephemeral_1h_input_tokens, ephemeral_5m_input_tokens }, cache_read_input_tokens,
 * output_tokens, server_tool_use, model, … }] }], has_more, next_page }` (Anthropic Admin API,
 * "Get Messages Usage Report").
 */
const usageSchema = z.object({
  data: z.array(
    z.object({
      starting_at: z.string(),
      results: z.array(
        z.object({
          uncached_input_tokens: z.number().int().nullish(),
          cache_read_input_tokens: z.number().int().nullish(),
          output_tokens: z.number().int().nullish(),
          cache_creation: z
            .object({
              ephemeral_1h_input_tokens: z.number().int().nullish(),
              ephemeral_5m_input_tokens: z.number().int().nullish(),
            })
            .nullish(),
        }),
      ),
    }),
  ),
  has_more: z.boolean(),
  next_page: z.string().nullish(),
});

async function pages<S extends typeof costSchema | typeof usageSchema>(
  ctx: CollectContext,
  path: string,
  schema: S,
  query: Record<string, string | string[]>,
): Promise<z.infer<S>["data"]> {
  return (await paginate(`GET ${path}`, async (page) => {
    return (await getJson(ctx, path, HEADERS(ctx.key), schema, page ? { ...query, page } : query)) as {
      data: unknown[];
      has_more?: boolean | null;
      next_page?: string | null;
    };
  })) as z.infer<S>["data"];
}

const dayOf = (iso: string, what: string) => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms))
    throw new CollectorError(
      "shape",
      `${what}: bucket time ${JSON.stringify(iso.slice(0, 40))} is not RFC 3339`,
    );
  return new Date(ms).toISOString().slice(0, 10);
};

/**
 * Anthropic: spend per UTC day for the last 7 days from the Admin API cost report (grouped by
 * description, so model line items are in `detail`), and token counts per day from the messages
 * usage report. No balance: the Admin API has no prepaid-credit endpoint. The cost report
 * excludes Priority Tier costs (Anthropic's docs), so those show up as drift. Buckets that start
 * after `ctx.nowMs` are ignored (counted in `detail.futureBucketsIgnored`).
 */
export const anthropicCollector: Collector = {
  id: "anthropic",
  defaultBaseUrl: "https://api.anthropic.com/v1",
  meteredProviders: ["anthropic"],
  keyHint: "an Anthropic Admin API key (sk-ant-admin…), not an inference key",
  async collect(ctx) {
    const startingAt = new Date(reportStartMs(ctx.nowMs)).toISOString().replace(".000Z", "Z");
    const base = { starting_at: startingAt, bucket_width: "1d", limit: String(REPORT_DAYS) };
    const buckets = await pages(ctx, "/organizations/cost_report", costSchema, {
      ...base,
      "group_by[]": "description",
    });
    const byDay = new Map<string, bigint>();
    const lines = new Map<string, bigint>();
    let currency: string | null = null;
    let future = 0;
    for (const b of buckets) {
      const day = dayOf(b.starting_at, "GET /organizations/cost_report");
      // a bucket that starts after now (a clock ahead at Anthropic, a pre-billed line) is not
      // spend yet: storing it would count it twice once that day comes
      if (Date.parse(b.starting_at) > ctx.nowMs) {
        future++;
        continue;
      }
      let sum = byDay.get(day) ?? 0n;
      for (const r of b.results) {
        const cur = r.currency.toUpperCase();
        if (currency !== null && cur !== currency)
          throw new CollectorError(
            "shape",
            `GET /organizations/cost_report: mixed currencies ${currency} and ${cur}`,
          );
        currency = cur;
        const micro = providerAmountToMicro(r.amount, 2); // cents → micro-USD, exact
        sum += micro;
        const item = r.description ?? r.model;
        if (item) lines.set(item, (lines.get(item) ?? 0n) + micro);
      }
      byDay.set(day, sum);
    }
    let tokens: Record<string, unknown> | { error: string };
    try {
      const usage = await pages(ctx, "/organizations/usage_report/messages", usageSchema, base);
      const t: Record<
        string,
        { uncachedInput: number; cacheRead: number; cacheWrite: number; output: number }
      > = {};
      for (const b of usage) {
        const d = dayOf(b.starting_at, "GET /organizations/usage_report/messages");
        if (Date.parse(b.starting_at) > ctx.nowMs) continue;
        const row = t[d] ?? { uncachedInput: 0, cacheRead: 0, cacheWrite: 0, output: 0 };
        t[d] = row;
        for (const r of b.results) {
          row.uncachedInput += r.uncached_input_tokens ?? 0;
          row.cacheRead += r.cache_read_input_tokens ?? 0;
          row.cacheWrite +=
            (r.cache_creation?.ephemeral_1h_input_tokens ?? 0) +
            (r.cache_creation?.ephemeral_5m_input_tokens ?? 0);
          row.output += r.output_tokens ?? 0;
        }
      }
      tokens = t;
    } catch (err) {
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
      detail: {
        lineItems7d: topLines,
        tokensByDay: tokens,
        ...(future ? { futureBucketsIgnored: future } : {}),
      },
    };
  },
};
