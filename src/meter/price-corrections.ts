import { createHash } from "node:crypto";
import { usdPerMTokToMicro } from "../money.js";
import type { ModelRates, TieredRate } from "./pricing.js";

/**
 * Price corrections: long-context tiers that a model's published price has and the bundled
 * @pydantic/genai-prices table lacks, so creditgate adds them on top of the table.
 *
 * Matching: an entry names the table's OWN provider and model ids (`findTablePrice` lookups end
 * on one table entry; its `provider.id` / `model.id` are what is matched). So every spelling the
 * package already maps to that entry (`claude-sonnet-4-20250514`, `claude-sonnet-4-0`,
 * `claude-sonnet-4`, `anthropic/…` on a custom proxy) is corrected, and nothing else: there is
 * no second model matcher here.
 *
 * Rules (see `applyPriceCorrections`):
 * - a tier is added to a price (input, output, cache read, 5-minute and 1-hour cache write) only
 *   where the table's price for it is flat; a price the table already tiers is left as the
 *   table has it, so a genai-prices release that adds the tier wins;
 * - the tier applies, like the table's own tiers, when the call's total input tokens
 *   (uncached + cache read + cache write) are `> above`, and prices the WHOLE call;
 * - operator overrides (CREDITGATE_PRICES) are looked up before the table and so always win;
 * - a row priced from a corrected entry carries `TABLE_VERSION + "+corrections:<hash>"` as its
 *   `price_version` (`CORRECTIONS_VERSION`, a hash of this table), so reports can tell.
 *
 * Only rates verified against the provider's own published price list are entered; each entry
 * names its source.
 */
export interface PriceCorrection {
  /** genai-prices provider id (`anthropic`, `aws`, `google`, `openrouter`, …). */
  readonly provider: string;
  /** genai-prices model id of the table entry (not the caller's spelling). */
  readonly model: string;
  /** The public price list the rates come from. */
  readonly source: string;
  /** The long-context tier: total input tokens `> above`. USD per 1M tokens, decimal strings. */
  readonly tier: {
    readonly above: number;
    readonly input: string;
    readonly output: string;
    readonly cacheRead: string;
    /** 5-minute cache writes. */
    readonly cacheWrite: string;
    /** 1-hour cache writes. */
    readonly cacheWrite1h: string;
  };
}

export const PRICE_CORRECTIONS: readonly PriceCorrection[] = [
  {
    // Claude Sonnet 4 (`claude-sonnet-4-20250514`; table entry `claude-sonnet-4-0`). With the 1M
    // context window (beta header `context-1m-2025-08-07`), a request whose input exceeds 200K
    // tokens is billed entirely at the long-context rates: input $6, output $22.50 per MTok
    // (Anthropic pricing page, "Long context pricing": "≤ 200K input tokens: Input $3 / Output
    // $15; > 200K input tokens: Input $6 / Output $22.50"). Cache prices are Anthropic's
    // prompt-caching multipliers (same page: 5m write 1.25×, 1h write 2×, read 0.1× the input
    // price), which apply on top of long-context pricing, on the $6 input rate: $7.50, $12,
    // $0.60. These equal the long-context cache rates the bundled table already carries for
    // Sonnet 4.5, whose long-context tier Anthropic lists together with Sonnet 4's.
    // Sources: https://docs.anthropic.com/en/docs/about-claude/pricing#long-context-pricing
    //          https://www.anthropic.com/news/1m-context
    provider: "anthropic",
    model: "claude-sonnet-4-0",
    source: "https://docs.anthropic.com/en/docs/about-claude/pricing#long-context-pricing",
    tier: {
      above: 200_000,
      input: "6",
      output: "22.5",
      cacheRead: "0.6",
      cacheWrite: "7.5",
      cacheWrite1h: "12",
    },
  },
  // The same long-context premium on the cloud platforms' own entries for Claude Sonnet 4 and
  // Sonnet 4.5, which the bundled table lists flat (its Anthropic, Azure and OpenRouter entries
  // for Sonnet 4.5, and its Vertex entry for Sonnet 4.5, do carry the tier). A request above 200K
  // input tokens needs the 1M-context beta (`context-1m-2025-08-07`: OpenClaw's `context1m`, its
  // Bedrock `[1m]` suffix, openclaw/openclaw#38537, #39734), and every platform bills it at the
  // long-context rates, 2× input and 1.5× output, cache multipliers on the long-context input:
  // - Amazon Bedrock: "Claude Sonnet 4.5 - Long Context" / "Claude Sonnet 4 - Long Context" on
  //   https://aws.amazon.com/bedrock/pricing/ ("unlike Sonnet 4.5 and Sonnet 4 which do have a 2×
  //   input price for long context", anomalyco/models.dev#1220). Sonnet 4.5's regional (`us.`,
  //   `eu.`, `apac.`, `jp.`, `au.`, in-region) endpoints carry Bedrock's 10% premium over global
  //   on the long-context rates too: $6.60 / $24.75, cache write $8.25, read $0.66
  //   (BerriAI/litellm#15764 quoting LiteLLM's `us.anthropic.claude-sonnet-4-5-20250929-v1:0`
  //   entry; #14639 for Sonnet 4). Sonnet 4 has no regional premium.
  // - Google Vertex AI (the table's `google` entry `claude-4-sonnet`: `claude-sonnet-4@20250514`
  //   on `google-vertex`): "Claude Sonnet 4 … > 200K input tokens" at $6 / $22.50,
  //   https://cloud.google.com/vertex-ai/generative-ai/pricing#partner-models (Google supports
  //   the 1M window for Sonnet 4 and 4.5: RooCodeInc/Roo-Code#8671; promptfoo/promptfoo#9995
  //   keeps Vertex's >200K tier).
  // - OpenRouter `anthropic/claude-sonnet-4`: OpenRouter passes Anthropic's price through, with the
  //   >200K tier it lists (and the table carries) for `anthropic/claude-sonnet-4.5`.
  // Anthropic retired the 1M beta of Sonnet 4 and 4.5 on 2026-04-30 on its API and Bedrock
  // (NousResearch/hermes-agent#67977): later calls cannot exceed 200K there, so the tier needs no
  // end date.
  ...(
    [
      ["aws", "global.anthropic.claude-sonnet-4-20250514-v1:0", "3"],
      ["aws", "regional.anthropic.claude-sonnet-4-20250514-v1:0", "3"],
      ["aws", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "3"],
      ["aws", "regional.anthropic.claude-sonnet-4-5-20250929-v1:0", "3.3"],
      ["google", "claude-4-sonnet", "3"],
      ["openrouter", "anthropic/claude-sonnet-4", "3"],
    ] as const
  ).map(([provider, model, baseInput]) => sonnetLongContext(provider, model, baseInput)),
  // xAI's Grok 4 (`grok-4-0709`, also `grok-4`, `grok-4-latest`) and the Grok 4 Fast / 4.1 Fast
  // families double their input and output prices above 128K prompt tokens ("pricing doubles after
  // 128_000", anomalyco/models.dev#43; Grok 4 $3 → $6 / $15 → $30, theopenco/llmgateway#2037 from
  // the data of https://docs.x.ai/developers/models; Grok 4 Fast $0.20 → $0.40 / $0.50 → $1.00,
  // Helicone/helicone#4894, and the bundled table's own OpenRouter entry `x-ai/grok-4-fast`). The
  // table's xAI entries list them flat. The cached-input price has no long-context rate there
  // (Grok 4: $0.75 at every size; Fast: $0.05, or no caching above 128K): kept at its base; cache
  // writes (xAI reports none) follow the input. Grok 4's context is 256K, Fast's 2M.
  ...(
    [
      ["grok-4-0709", "3", "15", "0.75"],
      ["grok-4-fast-reasoning", "0.2", "0.5", "0.05"],
      ["grok-4-fast-non-reasoning", "0.2", "0.5", "0.05"],
      ["grok-4-1-fast-reasoning", "0.2", "0.5", "0.05"],
      ["grok-4-1-fast-non-reasoning", "0.2", "0.5", "0.05"],
    ] as const
  ).map(
    ([model, input, output, cacheRead]): PriceCorrection => ({
      provider: "x-ai",
      model,
      source: "https://docs.x.ai/developers/models",
      tier: {
        above: 128_000,
        input: input === "3" ? "6" : "0.4",
        output: output === "15" ? "30" : "1",
        cacheRead,
        cacheWrite: input === "3" ? "6" : "0.4",
        cacheWrite1h: input === "3" ? "12" : "0.8",
      },
    }),
  ),
  // OpenRouter's entries for xAI's Grok 4.20, Grok 4.3 and Grok Build 0.1 (`x-ai/grok-4.20`,
  // `x-ai/grok-4.3`, `x-ai/grok-build-0.1`, what OpenClaw's `openrouter` provider writes) are flat
  // in the table, though xAI bills every token of a request whose prompt REACHES 200K tokens at
  // twice the rate, cached input included ("Models listed with two rows use long context pricing
  // … requests whose prompt reaches the listed token threshold are billed at the higher rate for
  // all tokens in the request", https://docs.x.ai/developers/models: Grok 4.20 / 4.3 $1.25 →
  // $2.50 input, $0.20 → $0.40 cached, $2.50 → $5 output; Grok Build 0.1 $1 → $2, $0.20 → $0.40,
  // $2 → $4; the table's own xAI entries carry these tiers from `start` 199,999, i.e. ≥ 200,000).
  // OpenRouter passes xAI's price through with the same tier: its models API lists the Grok
  // long-context rates as an override from `min_prompt_tokens: 200000` (quoted for `x-ai/grok-4.6`
  // in pydantic/genai-prices#584), its Grok 4.5 / 4.6 calls already take the table's tiered xAI
  // entries, and its `x-ai/grok-4-fast` entry carries the ≥128K tier. Cache writes (xAI reports
  // none) follow the input.
  ...(
    [
      ["x-ai/grok-4.20", "2.5", "5"],
      ["x-ai/grok-4.3", "2.5", "5"],
      ["x-ai/grok-build-0.1", "2", "4"],
    ] as const
  ).map(
    ([model, input, output]): PriceCorrection => ({
      provider: "openrouter",
      model,
      source: "https://docs.x.ai/developers/models",
      tier: {
        above: 199_999,
        input,
        output,
        cacheRead: "0.4",
        cacheWrite: input,
        cacheWrite1h: input === "2.5" ? "5" : "4",
      },
    }),
  ),
];

/**
 * Claude Sonnet 4 / 4.5's long-context tier on a platform whose base input price is `baseInput`
 * USD per 1M (Anthropic's $3, Bedrock's regional $3.30): above 200K input tokens, input 2× and
 * output 1.5× the base rates, cache read 0.1×, 5-minute write 1.25×, 1-hour write 2× the doubled
 * input (Anthropic's cache multipliers). Written out as decimal strings, never computed in floats.
 */
function sonnetLongContext(provider: string, model: string, baseInput: "3" | "3.3"): PriceCorrection {
  const tier =
    baseInput === "3"
      ? { input: "6", output: "22.5", cacheRead: "0.6", cacheWrite: "7.5", cacheWrite1h: "12" }
      : { input: "6.6", output: "24.75", cacheRead: "0.66", cacheWrite: "8.25", cacheWrite1h: "13.2" };
  return {
    provider,
    model,
    source:
      provider === "aws"
        ? "https://aws.amazon.com/bedrock/pricing/"
        : provider === "google"
          ? "https://cloud.google.com/vertex-ai/generative-ai/pricing#partner-models"
          : "https://openrouter.ai/anthropic/claude-sonnet-4",
    tier: { above: 200_000, ...tier },
  };
}

/**
 * A long-context premium the provider ended on a date, on a table entry that still tiers the
 * model's price at every time: from `from` on, the entry's tiers are dropped and every call is
 * priced at its base rates. Matched like `PriceCorrection` (the table's own provider and model ids).
 */
export interface PremiumEnd {
  /** genai-prices provider id. */
  readonly provider: string;
  /** genai-prices model id of the table entry. */
  readonly model: string;
  /** The first day (UTC, `YYYY-MM-DD`, read as the table reads its own `start_date`) without the premium. */
  readonly from: string;
  /** The public statement of the change. */
  readonly source: string;
}

/**
 * Claude Opus 4.6 and Sonnet 4.6: Anthropic made their 1M-token context window generally
 * available on 2026-03-13 with "standard pricing across the full 1M window" (no long-context
 * premium above 200K input tokens), on the Claude Platform and through Amazon Bedrock, Google
 * Cloud's Vertex AI and Microsoft Foundry (https://claude.com/blog/1m-context-ga; the bundled
 * table's own Anthropic entries drop their tier from `start_date` 2026-03-13, and its Vertex entry
 * for Sonnet 4.6 is flat, citing https://cloud.google.com/vertex-ai/generative-ai/pricing#partner-models;
 * AWS: anomalyco/models.dev#1220, "Claude Sonnet 4.6 - Long Context … identical to standard
 * pricing"; anomalyco/models.dev#1169). The table's Google (Vertex AI) entry `claude-opus-4-6`
 * still carries the premium tier ($10 / $37.50, cache read $1, write $12.50 per 1M above 200K) at
 * every time, so a long Opus 4.6 call on Vertex after the change was billed up to 2× over. Every
 * table entry of the two models is listed: an entry without a tier is left as it is.
 */
const CLAUDE_46_GA = "https://claude.com/blog/1m-context-ga";
export const PREMIUM_ENDS: readonly PremiumEnd[] = [
  ["anthropic", "claude-opus-4-6"],
  ["anthropic", "claude-sonnet-4-6"],
  ["google", "claude-opus-4-6"],
  ["google", "claude-sonnet-4-6"],
  ["aws", "global.anthropic.claude-opus-4-6-v1:0"],
  ["aws", "regional.anthropic.claude-opus-4-6-v1:0"],
  ["aws", "global.anthropic.claude-sonnet-4-6-v1:0"],
  ["aws", "regional.anthropic.claude-sonnet-4-6-v1:0"],
  ["openrouter", "anthropic/claude-opus-4.6"],
  ["openrouter", "anthropic/claude-sonnet-4.6"],
].map(([provider, model]) => ({ provider, model, from: "2026-03-13", source: CLAUDE_46_GA }) as PremiumEnd);

/**
 * A price change a platform made on a later date than the maker, where the table prices the
 * platform from the maker's entry (the package's `fallback_model_providers`: Azure falls back to
 * OpenAI's models), so the platform's calls took the maker's new price from the maker's date.
 * From `makerFrom` (the entry's own `start_date` of the change, `YYYY-MM-DD`) until `from` (the
 * platform's date), a call on `provider` is priced at the entry's price before the change. Applied
 * only while the entry still carries a `start_date` of `makerFrom` (a genai-prices release that
 * gives the platform its own entry or dates wins). Matched on the call's table provider and the
 * entry's model id.
 */
export interface PlatformPriceDate {
  /** genai-prices provider id of the call (the platform: `azure`). */
  readonly provider: string;
  /** genai-prices model id of the (maker's) table entry. */
  readonly model: string;
  /** The entry's own `start_date` of the change. */
  readonly makerFrom: string;
  /** The first day (UTC) of the platform's new price. */
  readonly from: string;
  /** The platform's own statement of its date. */
  readonly source: string;
}

/**
 * GPT-5.6 Sol on Azure OpenAI: OpenAI cut Sol to $4 / $0.40 cached / $20 per 1M (long context $8 /
 * $0.80 / $30) on its own API from the table's 2026-08-21; Azure's cut to the same rates ran "from
 * September 1, 2026" ("Azure OpenAI metered API pricing for the GPT-5.6 Sol model will be reduced
 * to $4.00 per 1M input tokens and $20.00 per 1M output tokens … This promotional pricing will run
 * from September 1, 2026", https://azure.microsoft.com/en-us/blog/gpt-5-6-now-available-in-microsoft-foundry/,
 * as quoted in anomalyco/models.dev#5992, which moved Azure's Sol to the cut prices only then).
 * The table has no Azure entry for Sol, so Azure calls of 2026-08-21…31 were billed at the cut
 * price: $5 / $0.50 / $30 (long context $10 / $1 / $45) is what Azure charged.
 */
export const PLATFORM_PRICE_DATES: readonly PlatformPriceDate[] = [
  {
    provider: "azure",
    model: "gpt-5.6-sol",
    makerFrom: "2026-08-21",
    from: "2026-09-01",
    source: "https://azure.microsoft.com/en-us/blog/gpt-5-6-now-available-in-microsoft-foundry/",
  },
];

const platformDates = new Map<string, PlatformPriceDate>(
  PLATFORM_PRICE_DATES.map((d) => [`${d.provider}/${d.model}`, d]),
);

/**
 * The window `[makerFromMs, fromMs)` in which a call on the table provider `providerId` of the
 * entry `info` is priced at the entry's price before `makerFrom` (`PLATFORM_PRICE_DATES`), or
 * undefined when none applies (no such entry, or the entry no longer has that start date).
 */
export function platformPriceWindow(
  providerId: string,
  info: { readonly id: string; readonly prices: unknown },
): { readonly makerFromMs: number; readonly fromMs: number } | undefined {
  const d = platformDates.get(`${providerId}/${info.id}`);
  if (d === undefined || !Array.isArray(info.prices)) return undefined;
  const dated = info.prices.some((p: { constraint?: { type?: unknown; start_date?: unknown } }) => {
    return p.constraint?.type === "start_date" && p.constraint.start_date === d.makerFrom;
  });
  return dated
    ? { makerFromMs: new Date(d.makerFrom).getTime(), fromMs: new Date(d.from).getTime() }
    : undefined;
}

/**
 * A price a table entry lacks for the time before a date: the model cost `usd` until `until`, and
 * the table prices those earlier calls at a later price (it lists only the price after a cut, or
 * dates the cut without changing every rate). Before `until`, a call on `provider` priced from
 * the entry `model` is priced at `usd`: only while the table's own price at the call's time is
 * still `table` (a genai-prices release that dates the earlier price itself wins). Matched on the
 * call's table provider and the entry's model id, as `PlatformPriceDate`. USD per 1M tokens,
 * decimal strings; every other price of the entry (cache writes, per-search fees) is kept.
 */
export interface EarlierPrice {
  /** genai-prices provider id of the call. */
  readonly provider: string;
  /** genai-prices model id of the table entry. */
  readonly model: string;
  /** The first day (UTC, `YYYY-MM-DD`, read as the table reads its own `start_date`) of the table's price. */
  readonly until: string;
  /** What the table prices those calls at, the rates corrected (input, cache read, output). */
  readonly table: readonly [input: string, cacheRead: string, output: string];
  /** What the provider charged before `until` (input, cache read, output). */
  readonly usd: readonly [input: string, cacheRead: string, output: string];
  /** The public statements of the earlier price and its change. */
  readonly source: string;
}

/**
 * - Gemini 3.6 Flash (`gemini-3.6-flash`, Gemini API and Vertex AI: the table's `google` entry)
 *   launched in July 2026 at $1.50 input / $0.15 cached / $7.50 output per 1M (Google's pricing
 *   page as quoted on 2026-07-22 by Portkey-AI/models#857 and on 2026-08-08 by
 *   openonion/connectonion#745: "Google's official Gemini API pricing page currently lists the
 *   Gemini 3.6 Flash standard paid tier at: input $1.50, output $7.50, context-cached input $0.15").
 *   With Gemini 3.7 Flash (GA 2026-08-13) Google put it on the introductory $0.75 / $0.075 / $3.75
 *   "through 2026-12-31" (theopenco/llmgateway#3593, 2026-08-13: "Google has since applied
 *   introductory pricing that halves those rates"; anchpop/tysm#56: "Google cut Gemini 3.6 Flash's
 *   standard rate from $1.50/$7.50 to an introductory $0.75/$3.75 per MTok on 2026-08-13/14").
 *   The table lists only the introductory price (and the 2027 one), so its first weeks were
 *   billed at half. The cut is dated at the start of 2026-08-13 (UTC): a call later that day or
 *   on the 14th at the old price would still be billed at the new one.
 * - OpenAI o3 (`o3`, `o3-2025-04-16`): until the 80% cut of 2025-06-10 it cost $10 / $2.50 cached /
 *   $40; the table dates the cut of input and output but prices the cached input at the later
 *   $0.50 from launch (langfuse/langfuse#7223, 2025-06-10: `input_cached_tokens` "from `2.5e-6` to
 *   `0.5e-6`"; https://openai.com/api/pricing/), so cache reads of the first weeks were billed at
 *   a fifth.
 */
export const EARLIER_PRICES: readonly EarlierPrice[] = [
  {
    provider: "google",
    model: "gemini-3.6-flash",
    until: "2026-08-13",
    table: ["0.75", "0.075", "3.75"],
    usd: ["1.5", "0.15", "7.5"],
    source: "https://ai.google.dev/gemini-api/docs/pricing#gemini-3.6-flash",
  },
  {
    provider: "openai",
    model: "o3",
    until: "2025-06-10",
    table: ["10", "0.5", "40"],
    usd: ["10", "2.5", "40"],
    source: "https://openai.com/api/pricing/",
  },
];

const earlierPrices = new Map<string, EarlierPrice>(
  EARLIER_PRICES.map((e) => [`${e.provider}/${e.model}`, e]),
);

/** The earlier price of a table entry on a call's table provider (`EARLIER_PRICES`), if any. */
export function findEarlierPrice(providerId: string, modelId: string): EarlierPrice | undefined {
  return earlierPrices.get(`${providerId}/${modelId}`);
}

/** `corrections:<first 8 hex of sha256 of the table>`: changes whenever an entry's rates do. */
export const CORRECTIONS_VERSION = `corrections:${createHash("sha256")
  .update(
    JSON.stringify([
      ...PRICE_CORRECTIONS.map((c) => [c.provider, c.model, c.tier]),
      ...PREMIUM_ENDS.map((e) => [e.provider, e.model, e.from]),
      ...PLATFORM_PRICE_DATES.map((d) => [d.provider, d.model, d.makerFrom, d.from]),
      ...EARLIER_PRICES.map((e) => [e.provider, e.model, e.until, e.table, e.usd]),
    ]),
  )
  .digest("hex")
  .slice(0, 8)}`;

const premiumEnds = new Map<string, number>(
  PREMIUM_ENDS.map((e) => [`${e.provider}/${e.model}`, new Date(e.from).getTime()]),
);

/** When the long-context premium of a table entry ended (ms since epoch), if it did (`PREMIUM_ENDS`). */
export function premiumEndMs(providerId: string, modelId: string): number | undefined {
  return premiumEnds.get(`${providerId}/${modelId}`);
}

/** `rates` with every tier dropped (base rates for every call); null when nothing is tiered. */
export function withoutTiers(rates: ModelRates): ModelRates | null {
  const keys = ["input", "output", "cacheRead", "cacheWrite", "cacheWrite1h"] as const;
  if (keys.every((k) => rates[k].tiers.length === 0)) return null;
  const flat = (r: TieredRate): TieredRate => (r.tiers.length === 0 ? r : { base: r.base, tiers: [] });
  return {
    input: flat(rates.input),
    output: flat(rates.output),
    cacheRead: flat(rates.cacheRead),
    cacheWrite: flat(rates.cacheWrite),
    cacheWrite1h: flat(rates.cacheWrite1h),
    perCallPico: rates.perCallPico,
  };
}

const byEntry = new Map<string, PriceCorrection>(
  PRICE_CORRECTIONS.map((c) => [`${c.provider}/${c.model}`, c]),
);

/** The correction for a table entry (genai-prices provider id and model id), if any. */
export function findPriceCorrection(providerId: string, modelId: string): PriceCorrection | undefined {
  return byEntry.get(`${providerId}/${modelId}`);
}

/**
 * `rates` with the correction's tier added to every price the table has flat; `null` when the
 * correction changes nothing (every price already tiered by the table).
 */
export function applyPriceCorrection(rates: ModelRates, c: PriceCorrection): ModelRates | null {
  let changed = false;
  const add = (r: TieredRate, usd: string): TieredRate => {
    if (r.tiers.length > 0) return r; // the table's own tiers win
    changed = true;
    return { base: r.base, tiers: [{ above: c.tier.above, rate: usdPerMTokToMicro(usd) }] };
  };
  const out: ModelRates = {
    input: add(rates.input, c.tier.input),
    output: add(rates.output, c.tier.output),
    cacheRead: add(rates.cacheRead, c.tier.cacheRead),
    cacheWrite: add(rates.cacheWrite, c.tier.cacheWrite),
    cacheWrite1h: add(rates.cacheWrite1h, c.tier.cacheWrite1h),
    perCallPico: rates.perCallPico,
  };
  return changed ? out : null;
}
