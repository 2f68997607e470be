import { createHash } from "node:crypto";
import type { ModelInfo } from "@pydantic/genai-prices";
import { usdPerMTokToMicro } from "../money.js";
import type { ModelRates, TieredRate } from "./pricing.js";

/**
 * Price supplement: models OpenClaw users run that the bundled @pydantic/genai-prices table does
 * not know, priced from their provider's own published price list. Without it such a call is an
 * unknown model: billed at the fallback rates (by default Claude Opus's $15 / $75 per 1M) in
 * `calculate` mode, and in `auto` / `recorded` whenever OpenClaw's own estimate is $0 — which it
 * is for a model its catalog lacks or prices at 0 (openclaw/openclaw#90674, "Gateway writes
 * usage.cost: 0 for model strings absent from its internal price table"; ccusage/ccusage#1234,
 * "pi and glm == $0"; ccusage/ccusage#1348, glm-5.2 $0.00).
 *
 * Two lists, both consulted ONLY when the table has no entry for the name (`findTablePrice`), so
 * a genai-prices release that adds the model wins, and operator overrides (`CREDITGATE_PRICES`)
 * win over both:
 * - `SAME_MODEL_NAMES`: names the provider documents as another name of a model the table
 *   already prices (xAI's dated `grok-4.20-0309-reasoning` is its `grok-4.20`): priced by that
 *   table entry, at the table's rates (tiers included);
 * - `SUPPLEMENT_PRICES`: models the table lacks entirely (Z.AI's GLM-4.x / GLM-5.x on `zai`),
 *   with flat rates from the provider's price page.
 *
 * A name is matched trimmed and lower-cased, exactly (no prefix guessing), on the table provider
 * the call resolves to: its own (`zai`, OpenClaw's `xai` → `x-ai`) or, for a `vendor/model` id
 * behind a provider the table lacks or a router whose list lacks the name (a LiteLLM proxy's
 * `zai/glm-4.7`, OpenRouter's `x-ai/grok-4.20-0309-reasoning`), the vendor's. Rows priced from
 * either list carry `price_version` `<table version>+<SUPPLEMENT_VERSION>`.
 */
export interface SupplementPrice {
  /** genai-prices provider id. */
  readonly provider: string;
  /** Every name the provider's API accepts for the model, lower-case. */
  readonly names: readonly string[];
  /** USD per 1M tokens, decimal strings: input, cached input (cache read), output. */
  readonly usd: readonly [input: string, cachedInput: string, output: string];
  /**
   * USD per 1M tokens of 5-minute and 1-hour cache writes, for a provider that prices writes
   * (Anthropic); absent: a write is prompt input (no write price listed, none reported).
   */
  readonly writes?: readonly [cacheWrite: string, cacheWrite1h: string];
  /**
   * Prompt-length tiers: a call whose total prompt (input + cache reads + cache writes) is above
   * `above` tokens is priced wholly at the tier's `usd` (and `writes`), as a table tier.
   */
  readonly tiers?: readonly {
    readonly above: number;
    readonly usd: readonly [input: string, cachedInput: string, output: string];
    readonly writes?: readonly [cacheWrite: string, cacheWrite1h: string];
  }[];
  /** The provider's own published price list. */
  readonly source: string;
  /**
   * The first day (UTC, `YYYY-MM-DD`) the price applies, when the provider began billing the
   * model per token on a date (GitHub Copilot: 2026-06-01): a call before it stays an unknown
   * model, as it was. Absent: the price applies at every time.
   */
  readonly from?: string;
  /**
   * A launch price the provider charged before its standard price (`usd` and `tiers`): calls
   * before `until` (the first day, UTC, `YYYY-MM-DD`, of the standard price) are priced at
   * `launch.usd` (flat; a cache write at the entry's `writes`, else at the launch input price),
   * later ones at `usd`. Not combined with `from`. Absent: one price at every time.
   */
  readonly launch?: {
    readonly until: string;
    readonly usd: readonly [input: string, cachedInput: string, output: string];
  };
}

/**
 * Z.AI's pay-as-you-go API (`https://api.z.ai/api/paas/v4`, OpenClaw provider `zai`; the GLM
 * Coding Plan uses the same provider id and model names), USD per 1M tokens, from Z.AI's pricing
 * page https://docs.z.ai/guides/overview/pricing ("Text Models" and "Vision Models": Input, Cached
 * Input, Output; "Cached Input Storage: Limited-time Free", so a cache write costs nothing beyond
 * its input, and Z.AI reports none). The table's `zai` provider lists only GLM-5.2 and GLM-5.3
 * (which it keeps pricing); its `zhipuai` provider is bigmodel.cn's CNY price list converted to
 * USD, another platform. `glm-4.7-flash`, `glm-4.5-flash` and `glm-4.6v-flash` are free ("Free"
 * in every column). GLM-5-Code ($1.20 / $0.30 / $5) is from the same page as of 2026-01/02; it was
 * later dropped from the list.
 */
const ZAI_PRICING = "https://docs.z.ai/guides/overview/pricing";
const zai = (names: readonly string[], usd: SupplementPrice["usd"]): SupplementPrice => ({
  provider: "zai",
  names,
  usd,
  source: ZAI_PRICING,
});
/**
 * Google's Gemini 4 models on the Gemini API (OpenClaw provider `google`; also `google-vertex`,
 * `google-gemini-cli` and `google-antigravity`, which the table prices as `google`, and
 * `google/gemini-4-…` behind a router or proxy), USD per 1M tokens, input / cached input /
 * output, flat across the 1M-token context (no long-context tier), thinking billed as output,
 * implicit caching only (no write or storage price: a write is input):
 * - Gemini 4 Argon (`gemini-4-argon`, released 2026-09-30, GA 2026-10-13): "an introductory price
 *   of $2 per 1M input tokens and $10 per 1M output tokens through November 30, 2026 (afterward
 *   $4 / $20)" (https://ai.google.dev/gemini-api/docs/generate-content/latest-model, "New model";
 *   cached input $0.10, then $0.20: BerriAI/litellm discussion #46238, iyulab/TokenMeter v0.13.1).
 *   The launch price is taken to end with 2026-11-30 UTC. Argon was in Known limits as unknown:
 *   every call at the fallback rates (by default $15 / $75) wherever OpenClaw's estimate was $0.
 * - Gemini 4 Neon (`gemini-4-neon`, released 2026-11-18): $3 / $0.15 / $15
 *   (https://apidog.com/blog/gemini-4-neon-api/ quoting Google's docs; iyulab/TokenMeter v0.17.0).
 * - Gemini 4 Hydrogen (`gemini-4-hydrogen`): $1.50 / $0.075 / $7.50, "flat across the 1M-token
 *   context window" (BerriAI/litellm discussion #51436; iyulab/TokenMeter v0.17.0).
 * Not here: Batch / Flex (0.5×) and Priority (1.8×) tiers, which a transcript line does not show
 * (Known limits), nor Google Search grounding fees.
 */
const GEMINI_4_ARGON = "https://ai.google.dev/gemini-api/docs/generate-content/latest-model";
const GEMINI_4_PRICES: readonly SupplementPrice[] = [
  {
    provider: "google",
    names: ["gemini-4-argon"],
    usd: ["4", "0.2", "20"],
    launch: { until: "2026-12-01", usd: ["2", "0.1", "10"] },
    source: GEMINI_4_ARGON,
  },
  {
    provider: "google",
    names: ["gemini-4-neon"],
    usd: ["3", "0.15", "15"],
    source: "https://apidog.com/blog/gemini-4-neon-api/",
  },
  {
    provider: "google",
    names: ["gemini-4-hydrogen"],
    usd: ["1.5", "0.075", "7.5"],
    source: "https://github.com/BerriAI/litellm/discussions/51436",
  },
];
/**
 * OpenAI's GPT-6.1 and GPT-6.2 models (provider `openai`; also OpenClaw's `openai-codex`, which
 * the table prices as `openai`, and `openai/…` behind a router or proxy whose list lacks them),
 * USD per 1M tokens, input / cached input / output, cache writes (30-minute retention; the
 * 12-hour write is not told apart on a line) at 1.25× input. "For requests with more than 272K
 * input tokens, input and cache rates double and output costs 1.5 times the short-context rate
 * for the full request" (the GPT-6 rule the table's `gpt-6-sol` / `-luna` / `-astra` entries
 * hold): a tier above 272,000 prompt tokens (input + cache reads + writes), as those entries.
 * - GPT-6.2 Sol (`gpt-6.2-sol`, 2026-11-17): $2 / $0.10 / $10, write $2.50
 *   (https://developers.openai.com/api/docs/models/gpt-6.2-sol, "Pricing")
 * - GPT-6.2 Astra (`gpt-6.2-astra`, 2026-11-17): $8 / $0.40 / $40, write $10; above 272K $16 /
 *   $0.80 / $60, write $20 (https://apidog.com/blog/gpt-6-2-astra-api/ from OpenAI's model page;
 *   iyulab/TokenMeter v0.17.0; docs.laozhang.ai "GPT-6.2 API", "20% less than GPT-6 Astra")
 * - GPT-6.1 Sol (`gpt-6.1-sol`, 2026-09-29): $2 / $0.10 / $10, write $2.50; above 272K $4 / $0.20
 *   / $15 (https://developers.openai.com/api/docs/models/gpt-6.1-sol as quoted by
 *   amine123max/Codex-Manager 0.4.7 and KZCFG/AILSA-SubSwitch 1.0.0(g); write: trick77/toolkit v0.5.0)
 * - GPT-6.1 Terra (`gpt-6.1-terra`, 2026-10-26): $1 / $0.05 / $5, write $1.25 (TheKrush/PromptFuel
 *   v1.0.24); its long-context rates were not found quoted and are taken by the GPT-6 rule.
 * OpenAI publishes no dated snapshot ids for them ("there are no dated snapshot IDs", laozhang);
 * a `-YYYY-MM-DD` one, as the table's GPT-6 entries accept, is read as the model.
 */
const gpt6 = (
  name: string,
  usd: SupplementPrice["usd"],
  write: string,
  long: SupplementPrice["usd"],
  longWrite: string,
  source: string,
): SupplementPrice => ({
  provider: "openai",
  names: [name],
  usd,
  writes: [write, write],
  tiers: [{ above: 272_000, usd: long, writes: [longWrite, longWrite] }],
  source,
});
const OPENAI_GPT_6_POINT_PRICES: readonly SupplementPrice[] = [
  gpt6(
    "gpt-6.2-sol",
    ["2", "0.1", "10"],
    "2.5",
    ["4", "0.2", "15"],
    "5",
    "https://developers.openai.com/api/docs/models/gpt-6.2-sol",
  ),
  gpt6(
    "gpt-6.2-astra",
    ["8", "0.4", "40"],
    "10",
    ["16", "0.8", "60"],
    "20",
    "https://apidog.com/blog/gpt-6-2-astra-api/",
  ),
  gpt6(
    "gpt-6.1-sol",
    ["2", "0.1", "10"],
    "2.5",
    ["4", "0.2", "15"],
    "5",
    "https://developers.openai.com/api/docs/models/gpt-6.1-sol",
  ),
  gpt6(
    "gpt-6.1-terra",
    ["1", "0.05", "5"],
    "1.25",
    ["2", "0.1", "7.5"],
    "2.5",
    "https://github.com/TheKrush/PromptFuel/releases/tag/v1.0.24",
  ),
];
/**
 * Claude models newer than the bundled table (provider `anthropic`; also OpenClaw's Claude CLI ids
 * such as `haiku-5.5`, and `anthropic/…` behind a proxy or a router whose list lacks them), per 1M
 * tokens, input / cache hit / output, 5-minute / 1-hour cache write:
 * - Claude Haiku 5.5 (`claude-haiku-5-5`, released 2026-10-07), priced by prompt length: $0.10 /
 *   $0.01 / $0.50, writes $0.125 / $0.20, "for prompts up to 100,000 tokens"; $0.50 / $0.05 /
 *   $2.50, writes $0.625 / $1.00, "for prompts over 100,000 tokens"
 *   (https://platform.claude.com/docs/en/models/haiku-5-5/overview, "Pricing"; the prompt counts
 *   cache reads and writes: kurofune/claudit v1.9.2). Before, an unknown model at the fallback
 *   rates (by default $15 / $75: 150× its price) wherever OpenClaw's estimate was $0.
 * - Claude Mythos 5 and Mythos 5.1 (limited availability): $10 / $1 / $50 and $10 / $0.25 / $50,
 *   writes $12.50 / $20 (https://platform.claude.com/docs/en/about-claude/pricing, "Model pricing";
 *   Mythos 5 "shares Claude Fable 5's specifications and pricing",
 *   https://platform.claude.com/docs/en/models/fable-5/overview). The table lists Fable 5 / 5.1
 *   but no Mythos id.
 * Not here: Fable 5.2 / Mythos 5.2 (prices quoted only second-hand so far) and Sonnet 5.5 (the
 * table's `claude-sonnet-5` entry matches its id by prefix, at the same list prices).
 */
/**
 * GitHub Copilot (OpenClaw / pi-ai provider `github-copilot`, `https://api.individual.githubcopilot.com`;
 * pi-ai's catalog names the models as Copilot's API does, with dots: `claude-sonnet-4.6`,
 * `claude-opus-4.6`, `gemini-3.1-pro-preview`, and prices every one at 0, so OpenClaw's
 * `usage.cost` is $0). "As of June 1, 2026, GitHub replaced request-based billing with
 * usage-based billing": every token is billed in AI credits, 1 credit = $0.01, at GitHub's
 * per-model rates, beyond the plan's included allowance
 * (https://docs.github.com/en/copilot/reference/copilot-billing/models-and-pricing, its table
 * `data/tables/copilot/models-and-pricing.yml` in github/docs; before that date, premium
 * requests: a multiplier per prompt, no token price). The bundled table's `github-copilot`
 * provider lists only the models reachable on the plan its authors checked ("not the union of
 * every plan's models"): these are GitHub's listed models it lacks, per 1M tokens, input /
 * cached input / output, Anthropic's with their one listed cache-write price (used for 5-minute
 * and 1-hour writes alike), Gemini 3.1 Pro's long-context tier above 200K prompt tokens (the
 * whole request), and none before 2026-06-01. Before, an unknown model at the fallback rates
 * (by default $15 / $75: 5× Sonnet 4.6's rates) wherever OpenClaw's estimate was $0, i.e. always.
 * Not here: GPT-4.1 / GPT-4o (the table's `{}` entries: GitHub lists no token price), Raptor mini
 * and MAI-Code-1-Flash (their API ids are not confirmed here), Gemini 2.5 Pro / 3 Flash (no
 * listed price).
 */
const COPILOT_PRICING = "https://docs.github.com/en/copilot/reference/copilot-billing/models-and-pricing";
const COPILOT_FROM = "2026-06-01";
const copilot = (
  names: readonly string[],
  usd: SupplementPrice["usd"],
  more: Pick<SupplementPrice, "writes" | "tiers"> = {},
): SupplementPrice => ({
  provider: "github-copilot",
  names,
  usd,
  ...more,
  source: COPILOT_PRICING,
  from: COPILOT_FROM,
});
const COPILOT_PRICES: readonly SupplementPrice[] = [
  copilot(["gpt-5.4-nano"], ["0.2", "0.02", "1.25"]),
  copilot(["claude-sonnet-4"], ["3", "0.3", "15"], { writes: ["3.75", "3.75"] }),
  copilot(["claude-sonnet-4.5"], ["3", "0.3", "15"], { writes: ["3.75", "3.75"] }),
  copilot(["claude-sonnet-4.6"], ["3", "0.3", "15"], { writes: ["3.75", "3.75"] }),
  copilot(["claude-opus-4.5"], ["5", "0.5", "25"], { writes: ["6.25", "6.25"] }),
  copilot(["claude-opus-4.6"], ["5", "0.5", "25"], { writes: ["6.25", "6.25"] }),
  copilot(["gemini-3.1-pro-preview", "gemini-3.1-pro"], ["2", "0.2", "12"], {
    tiers: [{ above: 200_000, usd: ["4", "0.4", "18"] }],
  }),
];
const ANTHROPIC_PRICING = "https://platform.claude.com/docs/en/about-claude/pricing";
const HAIKU_5_5 = "https://platform.claude.com/docs/en/models/haiku-5-5/overview";
/**
 * Mistral's API names of models the table lists under another name or not at all (provider
 * `mistral`; also `mistral/…` behind a proxy), USD per 1M input / cached input / output; cached
 * input at Mistral's rule, 10 % of the input price (https://docs.mistral.ai/studio-api/conversations/advanced/prompt-caching):
 * - Devstral Medium 1.0 (`devstral-medium-2507`, 2025-07-10): $0.40 / $2
 *   (https://mistral.ai/news/devstral-2507; BerriAI/litellm#12484, RooCodeInc/Roo-Code#5590).
 * - Mistral Small 3.2 (`mistral-small-2506`): $0.10 / $0.30, the `mistral-small-latest` price of
 *   its time (https://docs.mistral.ai/models/mistral-small-3-2-25-06).
 * Both were unknown models, at the fallback rates (by default $15 / $75) wherever OpenClaw's
 * estimate was $0.
 */
/**
 * Microsoft Foundry's (Azure's) own price of DeepSeek V3.2 / V3.2-Speciale: $0.58 input / $1.68
 * output per 1M, no prompt caching for third-party models (cached input at the input price)
 * (https://azure.microsoft.com/en-us/pricing/details/ai-foundry-models/deepseek/, as quoted in
 * anomalyco/models.dev#625 "Fix Azure DeepSeek V3.2 pricing"). The table's Azure list has no
 * DeepSeek entry and falls back to its `deepseek` entry, OpenRouter's listing ($0.2288 / $0.3432):
 * 2.5× / 4.9× under. Looked up before that fallback (`azureOwnLookup` in pricing.ts).
 */
const AZURE_PRICES: readonly SupplementPrice[] = [
  {
    provider: "azure",
    names: ["deepseek-v3.2", "deepseek-v3.2-speciale"],
    usd: ["0.58", "0.58", "1.68"],
    source: "https://azure.microsoft.com/en-us/pricing/details/ai-foundry-models/deepseek/",
  },
];

const MISTRAL_PRICES: readonly SupplementPrice[] = [
  {
    provider: "mistral",
    names: ["devstral-medium-2507"],
    usd: ["0.4", "0.04", "2"],
    source: "https://mistral.ai/news/devstral-2507",
  },
  {
    provider: "mistral",
    names: ["mistral-small-2506"],
    usd: ["0.1", "0.01", "0.3"],
    source: "https://docs.mistral.ai/models/mistral-small-3-2-25-06",
  },
  {
    // Mistral Small 3 (`mistral-small-2501`) and 3.1 (`mistral-small-2503`), the
    // `mistral-small-latest` of their time at its price (case `test/cases/mistral-dated-model-id`).
    provider: "mistral",
    names: ["mistral-small-2501", "mistral-small-2503"],
    usd: ["0.1", "0.01", "0.3"],
    source: "https://mistral.ai/news/mistral-small-3-1",
  },
];

/**
 * Alibaba Cloud Model Studio (DashScope), the Qwen models' own API: OpenClaw's `qwen` provider
 * (legacy ids `modelstudio`, `qwencloud`, `dashscope`: `SUPPLEMENT_ONLY_PROVIDERS` in pricing.ts,
 * which the bundled table does not know), whose catalog prices every model at 0
 * (openclaw/openclaw `extensions/qwen/models.ts`, `QWEN_DEFAULT_COST`), so `usage.cost` is $0 and
 * every call was an unknown model at the fallback rates (by default $15 / $75 per 1M: 10–300× the
 * list). USD per 1M tokens, input / cached input / output, from the international (Singapore)
 * list OpenClaw's Standard Global endpoint `dashscope-intl.aliyuncs.com` bills
 * (https://www.alibabacloud.com/help/en/model-studio/models, as transcribed by LiteLLM's
 * `dashscope/…` entries, BerriAI/litellm#22596 / #22848; qwen-max / qwen-plus / qwen-turbo also on
 * https://www.alibabacloud.com/help/en/model-studio/billing-for-model-studio; qwen3.6-plus from
 * shortapi.ai's listing and OpenRouter's, which is 0.65× it in every tier). Prompt-length tiers
 * as Alibaba states them ("0<Token≤32K", "32K<Token≤128K", "128K<Token≤252K", "256K<Token≤1M"),
 * the whole request at the tier its input (cache included) falls in; K taken as 1,024 (qwen3-max's
 * "252K" maximum input is 258,048 tokens). Cached input at the implicit cache's 20 % of the input
 * price (automatic, cannot be disabled), a write at the explicit cache's 125 %
 * (https://www.alibabacloud.com/help/en/model-studio/context-cache). Output at the non-thinking
 * price: qwen-plus's and qwen-turbo's thinking-mode output costs more, which a line does not tell
 * (Known limits). Snapshot ids (`qwen3-max-2026-01-23`) are their model's (see `undated`).
 * Not here: the Beijing (CNY) region, the Coding Plan / Token Plan subscriptions (same provider id
 * and model names: billed at this list), qwen3-coder-next and the Coding Plan's GLM / Kimi /
 * MiniMax models (no Model Studio price found).
 */
const MODEL_STUDIO_MODELS = "https://www.alibabacloud.com/help/en/model-studio/models";
type Usd = SupplementPrice["usd"];
/** One Model Studio model: `[usd, write]` below the first tier, then `[above, usd, write]` tiers. */
const alibaba = (
  names: readonly string[],
  usd: Usd,
  write: string,
  tiers: readonly (readonly [above: number, usd: Usd, write: string])[] = [],
  source = MODEL_STUDIO_MODELS,
): SupplementPrice => ({
  provider: "alibaba",
  names,
  usd,
  writes: [write, write],
  ...(tiers.length > 0
    ? { tiers: tiers.map(([above, u, w]) => ({ above, usd: u, writes: [w, w] as const })) }
    : {}),
  source,
});
const K32 = 32_768;
const K128 = 131_072;
const K256 = 262_144;
const MODEL_STUDIO_PRICES: readonly SupplementPrice[] = [
  alibaba(["qwen3.6-plus", "qwen3.6-plus-latest"], ["0.5", "0.1", "3"], "0.625", [
    [K256, ["2", "0.4", "6"], "2.5"],
  ]),
  alibaba(["qwen3.5-plus", "qwen3.5-plus-latest"], ["0.4", "0.08", "2.4"], "0.5", [
    [K256, ["0.5", "0.1", "3"], "0.625"],
  ]),
  alibaba(["qwen3.5-flash"], ["0.1", "0.02", "0.4"], "0.125"),
  alibaba(["qwen3-max", "qwen3-max-preview", "qwen3-max-latest"], ["1.2", "0.24", "6"], "1.5", [
    [K32, ["2.4", "0.48", "12"], "3"],
    [K128, ["3", "0.6", "15"], "3.75"],
  ]),
  alibaba(["qwen3-coder-plus", "qwen3-coder-plus-latest"], ["1", "0.2", "5"], "1.25", [
    [K32, ["1.8", "0.36", "9"], "2.25"],
    [K128, ["3", "0.6", "15"], "3.75"],
    [K256, ["6", "1.2", "60"], "7.5"],
  ]),
  alibaba(["qwen3-coder-flash", "qwen3-coder-flash-latest"], ["0.3", "0.06", "1.5"], "0.375", [
    [K32, ["0.5", "0.1", "2.5"], "0.625"],
    [K128, ["0.8", "0.16", "4"], "1"],
    [K256, ["1.6", "0.32", "9.6"], "2"],
  ]),
  alibaba(["qwen-plus", "qwen-plus-latest"], ["0.4", "0.08", "1.2"], "0.5", [
    [K256, ["1.2", "0.24", "3.6"], "1.5"],
  ]),
  alibaba(["qwen-flash", "qwen-flash-latest"], ["0.05", "0.01", "0.4"], "0.0625", [
    [K256, ["0.25", "0.05", "2"], "0.3125"],
  ]),
  alibaba(["qwen-turbo", "qwen-turbo-latest"], ["0.05", "0.01", "0.2"], "0.0625"),
  alibaba(["qwen-max", "qwen-max-latest"], ["1.6", "0.32", "6.4"], "2"),
];

export const SUPPLEMENT_PRICES: readonly SupplementPrice[] = [
  {
    provider: "anthropic",
    names: ["claude-haiku-5-5", "claude-haiku-5.5", "claude-haiku-5-5[1m]"],
    usd: ["0.1", "0.01", "0.5"],
    writes: ["0.125", "0.2"],
    tiers: [{ above: 100_000, usd: ["0.5", "0.05", "2.5"], writes: ["0.625", "1"] }],
    source: HAIKU_5_5,
  },
  {
    provider: "anthropic",
    names: ["claude-mythos-5", "claude-mythos-5.0", "claude-mythos-5-0"],
    usd: ["10", "1", "50"],
    writes: ["12.5", "20"],
    source: ANTHROPIC_PRICING,
  },
  {
    provider: "anthropic",
    names: ["claude-mythos-5-1", "claude-mythos-5.1"],
    usd: ["10", "0.25", "50"],
    writes: ["12.5", "20"],
    source: ANTHROPIC_PRICING,
  },
  ...COPILOT_PRICES,
  ...GEMINI_4_PRICES,
  ...OPENAI_GPT_6_POINT_PRICES,
  zai(["glm-5.1"], ["1.4", "0.26", "4.4"]),
  zai(["glm-5"], ["1", "0.2", "3.2"]),
  zai(["glm-5-turbo"], ["1.2", "0.24", "4"]),
  zai(["glm-5-code"], ["1.2", "0.3", "5"]),
  zai(["glm-5v-turbo"], ["1.2", "0.24", "4"]),
  zai(["glm-4.7"], ["0.6", "0.11", "2.2"]),
  zai(["glm-4.7-flashx"], ["0.07", "0.01", "0.4"]),
  zai(["glm-4.7-flash"], ["0", "0", "0"]),
  zai(["glm-4.6"], ["0.6", "0.11", "2.2"]),
  zai(["glm-4.6v"], ["0.3", "0.05", "0.9"]),
  zai(["glm-4.6v-flashx"], ["0.04", "0.004", "0.4"]),
  zai(["glm-4.6v-flash"], ["0", "0", "0"]),
  zai(["glm-4.5"], ["0.6", "0.11", "2.2"]),
  zai(["glm-4.5v"], ["0.6", "0.11", "1.8"]),
  zai(["glm-4.5-x"], ["2.2", "0.45", "8.9"]),
  zai(["glm-4.5-air"], ["0.2", "0.03", "1.1"]),
  zai(["glm-4.5-airx"], ["1.1", "0.22", "4.5"]),
  zai(["glm-4.5-flash"], ["0", "0", "0"]),
  // no cached-input price listed: a cache read is input
  zai(["glm-4-32b-0414-128k"], ["0.1", "0.1", "0.1"]),
  ...MISTRAL_PRICES,
  ...AZURE_PRICES,
  ...MODEL_STUDIO_PRICES,
];

/** Another name of a model the table prices: `names` on `provider` are priced as its entry `model`. */
export interface SameModelNames {
  /** genai-prices provider id. */
  readonly provider: string;
  /** The table's own model id (its entry's `id`) the names are priced as. */
  readonly model: string;
  /** Lower-case names. */
  readonly names: readonly string[];
  /** Where the provider says the names are one model. */
  readonly source: string;
}

/**
 * xAI's Grok 4.20 ("Model name: `grok-4.20-0309-reasoning`. Aliases: `grok-4.20-reasoning-latest`,
 * `grok-4.20`, `grok-4.20-reasoning`, `grok-4.20-0309`, `grok-4.20-beta-0309-reasoning`, …",
 * https://docs.x.ai/developers/models/grok-4.20-0309; its non-reasoning variant
 * `grok-4.20-0309-non-reasoning` is priced the same, $1.25 / $0.20 cached / $2.50 per 1M below
 * 200K prompt tokens, $2.50 / $0.40 / $5 at or above, per https://docs.x.ai/developers/models and
 * braintrustdata/braintrust-proxy#565). OpenClaw's bundled xAI catalog names the dated ids
 * (`grok-4.20-0309-reasoning`, `grok-4.20-0309-non-reasoning`); the table's `grok-4.20` entry
 * matches only `grok-4.20`, so they were unknown models. The multi-agent model is left out: the
 * table prices its own `grok-4.20-multi-agent` differently from xAI's page today.
 */
export const SAME_MODEL_NAMES: readonly SameModelNames[] = [
  {
    provider: "x-ai",
    model: "grok-4.20",
    names: [
      "grok-4.20-0309-reasoning",
      "grok-4.20-0309",
      "grok-4.20-reasoning",
      "grok-4.20-reasoning-latest",
      "grok-4.20-beta",
      "grok-4.20-beta-0309",
      "grok-4.20-beta-0309-reasoning",
      "grok-4.20-beta-latest",
      "grok-4.20-beta-latest-reasoning",
      "grok-4.20-beta-reasoning",
      "grok-4.20-0309-non-reasoning",
      "grok-4.20-non-reasoning",
      "grok-4.20-non-reasoning-latest",
      "grok-4.20-beta-0309-non-reasoning",
      "grok-4.20-beta-latest-non-reasoning",
      "grok-4.20-beta-non-reasoning",
      // the page's other aliases of grok-4.20-0309-reasoning (a tester, 2026-12-02)
      "grok-4.20-experimental-beta-0304-reasoning",
      "grok-4.20-experimental-beta-0304",
      "grok-4.20-experimental-beta-reasoning-latest",
      "grok-4.20-experimental-beta-latest",
      "grok-4.20-reasoning-gv2",
    ],
    source: "https://docs.x.ai/developers/models/grok-4.20-0309",
  },
  {
    // Mistral's aliases of Devstral 2 ("devstral-2512 … aliases devstral-latest,
    // devstral-medium-latest", $0.40 / $2, https://docs.mistral.ai/models/devstral-2-25-12 as
    // quoted in RooCodeInc/Roo-Code#9951; anomalyco/models.dev#490): the names Mistral's Vibe CLI
    // and coding tools send. Before Devstral 2 (2025-12-09) `devstral-medium-latest` named Devstral
    // Medium 2507, at the same price. The table matches only `devstral-2512`.
    provider: "mistral",
    model: "devstral-2512",
    names: ["devstral-latest", "devstral-medium-latest"],
    source: "https://docs.mistral.ai/models/devstral-2-25-12",
  },
  {
    // Ministral 3 14B's alias (`ministral-14b-2512`, $0.20 / $0.20,
    // https://docs.mistral.ai/models/ministral-3-14b-25-12); its 3B / 8B siblings' `-latest`
    // aliases are dated aliases of the table's, this one the table lacks.
    provider: "mistral",
    model: "ministral-14b-2512",
    names: ["ministral-14b-latest"],
    source: "https://docs.mistral.ai/models/ministral-3-14b-25-12",
  },
  {
    // The Gemini API's ids of Gemini 1.5 Flash-8B (GA 2024-10-03 as `gemini-1.5-flash-8b-001`;
    // shut down 2025-09-24), which the table lists as `gemini-flash-1.5-8b` ($0.0375 / $0.15,
    // cache $0.01, ×2 above 128K). Its fuzzy `gemini-1.5-flash` entry took them (2× over) until
    // `namesOtherProduct` (pricing.ts) made them unknown; they are that entry's model.
    provider: "google",
    model: "gemini-flash-1.5-8b",
    names: ["gemini-1.5-flash-8b", "gemini-1.5-flash-8b-001", "gemini-1.5-flash-8b-latest"],
    source: "https://ai.google.dev/gemini-api/docs/models/gemini#gemini-1.5-flash-8b",
  },
];

/** `supplement:<first 8 hex of sha256 of both lists>`: changes whenever an entry does. */
export const SUPPLEMENT_VERSION = `supplement:${createHash("sha256")
  .update(
    JSON.stringify([
      ...SUPPLEMENT_PRICES.map((s) =>
        s.launch
          ? [s.provider, s.names, s.usd, s.writes ?? null, s.tiers ?? null, s.from ?? null, s.launch]
          : s.from
            ? [s.provider, s.names, s.usd, s.writes ?? null, s.tiers ?? null, s.from]
            : s.writes || s.tiers
              ? [s.provider, s.names, s.usd, s.writes ?? null, s.tiers ?? null]
              : [s.provider, s.names, s.usd],
      ),
      ...SAME_MODEL_NAMES.map((s) => [s.provider, s.model, s.names]),
    ]),
  )
  .digest("hex")
  .slice(0, 8)}`;

const priceByName = new Map<string, SupplementPrice>();
for (const s of SUPPLEMENT_PRICES) for (const n of s.names) priceByName.set(`${s.provider}/${n}`, s);
const sameModelByName = new Map<string, string>();
for (const s of SAME_MODEL_NAMES) for (const n of s.names) sameModelByName.set(`${s.provider}/${n}`, s.model);

/** Rates from either list (see `isSupplementRates`). */
const supplementRates = new WeakSet<ModelRates>();

/** One supplement entry as rates, and a table-shaped entry naming it; built once per entry. */
const built = new Map<SupplementPrice, SupplementEntry>();

/** One supplement entry as rates (see `supplementPrice`). */
export interface SupplementEntry {
  rates: ModelRates;
  info: ModelInfo;
  /** The entry's `from` (its rates apply from then on only). */
  fromMs?: number;
  /** The entry's `launch` price: `rates` before `untilMs`, the entry's own `rates` from then on. */
  launch?: { rates: ModelRates; untilMs: number };
}

/**
 * The supplement price of `model` on the table provider `providerId` (both as the table would
 * match them: trimmed, lower-cased, exact), or null when the list has none. `info` is one stable
 * object per entry, so every name of it is one model to `tableEntryOf`; `fromMs`: the entry's
 * `from` (its rates apply from then on only).
 */
export function supplementPrice(providerId: string, model: string): SupplementEntry | null {
  const name = model.trim().toLowerCase();
  const s = priceByName.get(`${providerId}/${name}`) ?? priceByName.get(`${providerId}/${undated(name)}`);
  if (s === undefined) return null;
  let entry = built.get(s);
  if (entry === undefined) {
    const [input, cachedInput, output] = s.usd;
    const tiers = s.tiers ?? [];
    // one rate with its prompt-length tiers: `pick` reads the price from the base list or a tier
    const rate = (
      pick: (usd: SupplementPrice["usd"], writes: SupplementPrice["writes"]) => string,
    ): TieredRate => ({
      base: usdPerMTokToMicro(pick(s.usd, s.writes)),
      tiers: tiers.map((t) => ({ above: t.above, rate: usdPerMTokToMicro(pick(t.usd, t.writes)) })),
    });
    const inputRate = rate((u) => u[0]);
    const rates: ModelRates = {
      input: inputRate,
      output: rate((u) => u[2]),
      cacheRead: rate((u) => u[1]),
      // without write prices (cache storage free, no writes reported) a write is prompt input
      cacheWrite: s.writes ? rate((u, w) => w?.[0] ?? u[0]) : inputRate,
      cacheWrite1h: s.writes ? rate((u, w) => w?.[1] ?? u[0]) : inputRate,
      perCallPico: 0n,
    };
    supplementRates.add(rates);
    const id = s.names[0] ?? "";
    entry = {
      rates,
      info: {
        id,
        match: { or: s.names.map((n) => ({ equals: n })) },
        prices: {
          input_mtok: Number(input),
          cache_read_mtok: Number(cachedInput),
          output_mtok: Number(output),
          ...(s.writes ? { cache_write_mtok: Number(s.writes[0]) } : {}),
        },
      },
    };
    if (s.from !== undefined) entry.fromMs = new Date(s.from).getTime();
    if (s.launch !== undefined) {
      const [li, lc, lo] = s.launch.usd;
      const flat = (usd: string): TieredRate => ({ base: usdPerMTokToMicro(usd), tiers: [] });
      const launchInput = flat(li);
      const launchRates: ModelRates = {
        input: launchInput,
        output: flat(lo),
        cacheRead: flat(lc),
        cacheWrite: s.writes ? flat(s.writes[0]) : launchInput,
        cacheWrite1h: s.writes ? flat(s.writes[1]) : launchInput,
        perCallPico: 0n,
      };
      supplementRates.add(launchRates);
      entry.launch = { rates: launchRates, untilMs: new Date(s.launch.until).getTime() };
    }
    built.set(s, entry);
  }
  return entry;
}

/**
 * A model id without the decorations a snapshot or a platform adds to the name the list knows:
 * a context suffix (`[1m]`), a Vertex `@date`, a `-YYYYMMDD` or (OpenAI's, since 2026-12-04)
 * `-YYYY-MM-DD` snapshot date, in that order
 * (`claude-haiku-5-5-20261007[1m]` → `claude-haiku-5-5`). The bundled table's own entries match
 * such ids by prefix; before 2026-12-03 the supplement's exact names did not, and a dated id of a
 * supplement model was billed at the fallback price (a tester's `claude-mythos-5-1-20261007`).
 */
function undated(name: string): string {
  return name
    .replace(/\[1m\]$/, "")
    .replace(/@[^@/]*$/, "")
    .replace(/-\d{8}$/, "")
    .replace(/-\d{4}-\d{2}-\d{2}$/, "");
}

/** The table model id `model` is another name of, on `providerId` (`SAME_MODEL_NAMES`), if any. */
export function tableNameOf(providerId: string, model: string): string | undefined {
  return sameModelByName.get(`${providerId}/${model.trim().toLowerCase()}`);
}

/** `rates` marked as priced by the supplement (a copy: the table's own objects stay unmarked). */
export function markSupplement(rates: ModelRates): ModelRates {
  const copy: ModelRates = { ...rates };
  supplementRates.add(copy);
  return copy;
}

/** Whether `rates` came from the supplement (either list), so its row says so in `price_version`. */
export function isSupplementRates(rates: ModelRates): boolean {
  return supplementRates.has(rates);
}
