import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import {
  type ConditionalPrice,
  calcPrice,
  findProvider,
  type ModelInfo,
  type ModelPrice,
} from "@pydantic/genai-prices";
import { z } from "zod";
import { AppError, ErrorCode } from "../errors.js";
import {
  decimalToScaled,
  divCeil,
  divRoundHalfUp,
  formatScaled,
  usdFloatToPico,
  usdPerMTokToMicro,
} from "../money.js";
import {
  FINE_TUNED_VERSION_TAG,
  fineTunedEntry,
  isFineTunedId,
  isFineTunedRates,
  tableLacksFineTunedCachePrice,
} from "./fine-tuned.js";
import {
  applyPriceCorrection,
  CORRECTIONS_VERSION,
  type EarlierPrice,
  findEarlierPrice,
  findPriceCorrection,
  type PriceCorrection,
  platformPriceWindow,
  premiumEndMs,
  withoutTiers,
} from "./price-corrections.js";
import {
  isSupplementRates,
  markSupplement,
  SUPPLEMENT_VERSION,
  supplementPrice,
  tableNameOf,
} from "./price-supplement.js";
import { WEB_SEARCH_FEE_PICO_USD, webSearchFeeProvider } from "./server-tools.js";
import type { CostMode, ParsedUsage, PriceQuote, Pricer } from "./types.js";
import { BYOK_FEE_VERSION, unitSlipSide } from "./validate.js";

/**
 * Prices one model call in exact pico-USD.
 *
 * Units: every rate here is an integer **micro-USD per 1M tokens**, which is numerically
 * pico-USD per token, so `tokens × rate` is the exact cost in pico-USD. Float USD values (the
 * genai-prices table, `usage.cost.total`) are converted once, at the boundary, by `money.ts`.
 *
 * Token classes follow OpenClaw: `input` EXCLUDES cache reads/writes, which are counted
 * separately. (genai-prices' `input_tokens` includes them; see `tableRates`.)
 */

/** Four prices in USD per 1M tokens, as decimal strings ("15", "1.5"): the configured fallback. */
export interface RatesUsdPerMTok {
  input: string;
  output: string;
  cacheRead: string;
  cacheWrite: string;
}

/**
 * One rate in micro-USD per 1M tokens (= pico-USD per token), flat or long-context tiered.
 * Invariant: `tiers` is sorted by `above`, ascending, without duplicates.
 */
export interface TieredRate {
  readonly base: bigint;
  /** The tier rate applies when the call's total input tokens (incl. cache) are `> above`. */
  readonly tiers: readonly { readonly above: number; readonly rate: bigint }[];
}

/** Everything needed to price one call of one model. */
export interface ModelRates {
  readonly input: TieredRate;
  readonly output: TieredRate;
  readonly cacheRead: TieredRate;
  /** 5-minute cache writes (and every write of a provider without TTL classes). */
  readonly cacheWrite: TieredRate;
  /**
   * 1-hour cache writes (`usage.cacheWrite1h`): the table's or override's own 1-hour price, else
   * `CACHE_WRITE_1H_INPUT_MULTIPLIER` × the input rate, tier by tier.
   */
  readonly cacheWrite1h: TieredRate;
  /** Flat fee per call in pico-USD (genai-prices `requests_kcount`), 0 for most models. */
  readonly perCallPico: bigint;
}

/** Validated operator price overrides (`CREDITGATE_PRICES`). */
export interface PriceOverrides {
  /** Lower-cased `provider/model` or `provider/*` → rates. */
  readonly byKey: ReadonlyMap<string, ModelRates>;
  /** `overrides:<first 12 hex of sha256 of the canonical JSON>`, stored on each row it priced. */
  readonly version: string;
}

export interface PricerOptions {
  mode: CostMode;
  overrides: PriceOverrides;
  /** Used (and the quote flagged `unknownModel`) when neither an override nor the table knows a model. */
  fallback: RatesUsdPerMTok;
}

// ---------------------------------------------------------------------------------------------
// genai-prices table
// ---------------------------------------------------------------------------------------------

/** The bundled table's version, read once: it is stored on every row the table priced. */
export const TABLE_VERSION = `@pydantic/genai-prices@${readTableVersion()}`;

/**
 * The `price_version` of a row priced from a table entry that `price-corrections.ts` corrected
 * (a long-context tier the table lacks): the table's version plus the corrections' version.
 */
export const CORRECTED_TABLE_VERSION = `${TABLE_VERSION}+${CORRECTIONS_VERSION}`;

/**
 * The `price_version` of a row priced from a router's table entry whose missing cache prices were
 * taken from the maker's entry (`withMakerCachePrices`).
 */
export const MAKER_CACHE_VERSION = `${TABLE_VERSION}+maker-cache`;

/** The `price_version` of a router's rates that took the maker's long-context tiers (`withMakerTiers`). */
export const MAKER_TIERS_VERSION = `${TABLE_VERSION}+maker-tiers`;

/**
 * The `price_version` of a row priced from a table entry without a cache-read price whose provider
 * documents one for every model (`mistralCacheRates`).
 */
export const PROVIDER_CACHE_VERSION = `${TABLE_VERSION}+provider-cache`;

/**
 * The `price_version` of a row priced from the fine-tuned price list (`fine-tuned.ts`): an OpenAI
 * fine-tuned model the table lacks, or lists without its cached-input price.
 */
export const FINE_TUNED_TABLE_VERSION = `${TABLE_VERSION}+${FINE_TUNED_VERSION_TAG}`;

/**
 * The `price_version` of a row priced from the price supplement (`price-supplement.ts`): a model
 * the table lacks, priced from its provider's own list, or another name of a table entry.
 */
export const SUPPLEMENT_TABLE_VERSION = `${TABLE_VERSION}+${SUPPLEMENT_VERSION}`;

/** Table rates that carry a price correction (see `tableVersionOf`). */
const correctedRates = new WeakSet<ModelRates>();

/** The `price_version` for rates returned by `findTablePrice`. */
export function tableVersionOf(rates: ModelRates): string {
  if (rates === OPENROUTER_FREE_RATES) return OPENROUTER_FREE_VERSION;
  if (rates === OPENCODE_FREE_RATES) return OPENCODE_FREE_VERSION;
  if (rates === GEMINI_API_FREE_RATES) return GEMINI_API_FREE_VERSION;
  if (rates === LOCAL_SERVER_RATES) return LOCAL_SERVER_VERSION;
  if (rates === QWEN_PORTAL_FREE_RATES) return QWEN_PORTAL_FREE_VERSION;
  if (isFineTunedRates(rates)) return FINE_TUNED_TABLE_VERSION;
  if (isSupplementRates(rates)) return SUPPLEMENT_TABLE_VERSION;
  if (datedPriceRates.has(rates)) return DATED_PRICE_VERSION;
  const viaAlias = datedAliasOriginals.get(rates);
  if (viaAlias !== undefined) return `${tableVersionOf(viaAlias)}+${DATED_ALIAS_VERSION_TAG}`;
  if (makerTierRates.has(rates))
    return makerCacheRates.has(rates) ? `${MAKER_CACHE_VERSION}+maker-tiers` : MAKER_TIERS_VERSION;
  if (makerCacheRates.has(rates)) return MAKER_CACHE_VERSION;
  if (providerCacheRates.has(rates)) return PROVIDER_CACHE_VERSION;
  if (govCloudRates.has(rates)) return GOVCLOUD_VERSION;
  return correctedRates.has(rates) ? CORRECTED_TABLE_VERSION : TABLE_VERSION;
}

/**
 * OpenRouter's free variants: a model id ending in `:free` ("The `:free` variant allows you to
 * access free versions of models … without cost", https://openrouter.ai/docs/guides/routing/model-variants/free)
 * and the Free Models Router `openrouter/free` ("zero-cost inference",
 * https://openrouter.ai/docs/guides/routing/routers/free-router). The provider charges nothing per
 * token, so neither does creditgate: before, such a call was an unknown model (the table lists
 * most `:free` ids without a price, and new ones not at all) and was billed at the fallback rates,
 * by default Claude Opus's $15/$75 per 1M (the kind of ironclaw#463, "report zero cost for
 * OpenRouter free-tier models"). A paid fallback OpenRouter made (a `models` array that falls
 * through to a paid model) shows up as a provider-billed `cost.total`, which `auto` and `recorded`
 * bill first; an override (`openrouter/<model>:free` or `openrouter/*`) still wins.
 */
const OPENROUTER_FREE_RATES: ModelRates = {
  input: { base: 0n, tiers: [] },
  output: { base: 0n, tiers: [] },
  cacheRead: { base: 0n, tiers: [] },
  cacheWrite: { base: 0n, tiers: [] },
  cacheWrite1h: { base: 0n, tiers: [] },
  perCallPico: 0n,
};
export const OPENROUTER_FREE_VERSION = `${TABLE_VERSION}+openrouter-free`;

/** Whether `provider/model` is an OpenRouter free variant (see `OPENROUTER_FREE_RATES`). */
function isOpenRouterFree(providerId: string | null, model: string): boolean {
  if (providerId !== "openrouter") return false;
  const m = model.trim().toLowerCase();
  return m.endsWith(":free") || m === "openrouter/free";
}

/**
 * OpenCode Zen's free models (OpenClaw's `opencode` provider, `opencode-zen` in Clawdbot's
 * onboarding): the ids ending in `-free` (`kimi-k2.5-free`, `minimax-m2.5-free`, `glm-5-free`,
 * …) and Big Pickle (`big-pickle`), listed "Free" on Zen's price table (https://opencode.ai/docs/zen#pricing)
 * and served with no account at all (OpenCode's client sends the key `public` for models whose
 * input costs are all zero: openclaw/openclaw#110998). Zen charges nothing for them, so neither does
 * creditgate (rates all 0, `price_version` `…+opencode-free`). Before 2026-12-03 the table's
 * model-name match priced `kimi-k2.5-free` as Moonshot's paid Kimi K2.5 and the others were unknown
 * models at the fallback rates (OpenClaw's catalog prices them at 0, so `auto` had no estimate).
 * A provider-billed `cost.total` is still billed first in `auto` / `recorded`; an override
 * (`opencode/<model>` or `opencode/*`) still wins.
 */
const OPENCODE_FREE_RATES: ModelRates = { ...OPENROUTER_FREE_RATES };
export const OPENCODE_FREE_VERSION = `${TABLE_VERSION}+opencode-free`;
const OPENCODE_ZEN_PROVIDERS: ReadonlySet<string> = new Set(["opencode", "opencode-zen"]);

/** Whether `provider/model` is one of OpenCode Zen's free models (see `OPENCODE_FREE_RATES`). */
function isOpenCodeZenFree(provider: string, model: string): boolean {
  if (!OPENCODE_ZEN_PROVIDERS.has(provider.trim().toLowerCase())) return false;
  const m = model
    .trim()
    .toLowerCase()
    .replace(/^opencode\//, "");
  return m.endsWith("-free") || m === "big-pickle";
}

/**
 * Models the Gemini API serves only free of charge (OpenClaw's `google` provider, the Gemini API
 * with an API key): the open **Gemma** models (`gemma-3-27b-it`, `gemma-3n-e4b-it`,
 * `gemma-4-31b-it`, …: "Free of charge" on the free tier and "Not available" on the paid tier of
 * https://ai.google.dev/gemini-api/docs/pricing, so no call is ever billed; pydantic/genai-prices#335
 * "adds it as a free model on Google's Gemini API") and the **experimental** Gemini models
 * (`gemini-2.0-flash-exp`, `gemini-2.5-pro-exp-03-25`, `gemini-2.0-flash-thinking-exp-01-21`,
 * `gemini-exp-1206`, `learnlm-2.0-flash-experimental`: "provided by google at no price",
 * Aider-AI/aider#3407; "These models are currently free to use", BerriAI/litellm#5693, which set
 * `gemini-1.5-pro-exp-0827` to 0). Google bills nothing for them, so neither does creditgate (rates
 * all 0, `price_version` `…+gemini-api-free`). Before 2026-12-04 the table priced the experimental
 * ids it matches at the paid model's rates (`gemini-2.5-pro-exp-03-25` at 2.5 Pro's $1.25 / $10,
 * `gemini-2.0-flash-exp` at 2.0 Flash's), and Gemma or any other experimental id was an unknown
 * model at the fallback rates (by default Claude Opus's $15 / $75). Only on the Gemini API's own
 * provider: Vertex AI (`google-vertex`) runs Gemma on the operator's own endpoints and prices
 * its experimental models separately, and a host that serves Gemma (OpenRouter, Together, Groq,
 * Cloudflare, …) has its own price. A provider-billed `cost.total` is still billed first in
 * `auto` / `recorded`; an override (`google/<model>`, `google/*`) still wins.
 */
const GEMINI_API_FREE_RATES: ModelRates = { ...OPENROUTER_FREE_RATES };
export const GEMINI_API_FREE_VERSION = `${TABLE_VERSION}+gemini-api-free`;

/** Whether `provider/model` is a model the Gemini API serves only for free (`GEMINI_API_FREE_RATES`). */
export function isGeminiApiFree(provider: string, model: string): boolean {
  if (provider.trim().toLowerCase() !== "google") return false;
  const m = model
    .trim()
    .toLowerCase()
    .replace(/^models\//, "");
  return (
    /^gemma-\d/.test(m) ||
    /^gemini-exp-\d{4}$/.test(m) ||
    /^gemini-[a-z0-9.-]*-exp(?:-[a-z0-9-]+)?$/.test(m) ||
    /^learnlm-[a-z0-9.-]*-experimental$/.test(m)
  );
}

/**
 * Local model servers (OpenClaw's bundled `ollama`, `lmstudio`, `vllm`, `sglang` providers and
 * llama.cpp's server, `llamacpp` / `llama-cpp` / `llama.cpp`): the model runs on the operator's
 * own hardware, so no one bills a token and a call costs **$0** (rates all 0, `price_version`
 * `…+local`), as OpenClaw's own catalog of these providers estimates it (cost 0) and as
 * OpenRouter's and OpenCode Zen's free models are priced (`OPENROUTER_FREE_RATES`). Before
 * 2026-12-03 the table's model-name match priced an Ollama tag such as `deepseek-r1:14b` (a 14B
 * distill run locally) at DeepSeek R1's API rates ($0.55 / $2.19 per 1M), and any other local
 * model (`llama3.1:8b`, `qwen2.5-7b-instruct`) was an unknown model at the fallback rates (by
 * default Claude Opus's $15 / $75) whenever the estimate was $0, i.e. always. A provider-billed
 * `cost.total` is still billed first in `auto` / `recorded`, and an override
 * (`ollama/<model>`, `ollama/*`) still wins: an operator who wants to charge for local compute
 * sets one. Ollama's cloud models (`…:cloud`, `…-cloud`: run and billed by Ollama's service, not
 * locally) are not local calls and keep the table's lookup.
 */
const LOCAL_SERVER_RATES: ModelRates = { ...OPENROUTER_FREE_RATES };
export const LOCAL_SERVER_VERSION = `${TABLE_VERSION}+local`;
export const LOCAL_SERVER_PROVIDERS: ReadonlySet<string> = new Set([
  "ollama",
  "lmstudio",
  "lm-studio",
  "vllm",
  "sglang",
  "llamacpp",
  "llama-cpp",
  "llama.cpp",
  // the same kind of server under the names operators give it: llama.cpp's binary, LocalAI,
  // llamafile, KoboldCpp
  "llama-server",
  "localai",
  "llamafile",
  "koboldcpp",
]);

/** Whether `provider/model` is a call to a local model server (see `LOCAL_SERVER_RATES`). */
export function isLocalServerCall(provider: string, model: string): boolean {
  if (!LOCAL_SERVER_PROVIDERS.has(provider.trim().toLowerCase())) return false;
  return !/[:-]cloud$/i.test(model.trim());
}

/**
 * The Qwen OAuth portal (OpenClaw's `qwen-portal` provider from its `qwen-portal-auth` plugin,
 * `qwen-oauth` its OAuth placeholder id, `qwen-cli` / `qwen-code` as operators name Qwen Code's
 * login): Qwen Code's free tier, signed in with a qwen.ai account and served at
 * `portal.qwen.ai` ("2,000 requests/day", later 1,000 and 100: QwenLM/qwen-code#1730; discontinued
 * on 2026-04-15, mseptiaan/opencode-qwencode-oauth#25), never billed per token: OpenClaw's catalog
 * prices every portal model at 0 (`QWEN_PORTAL_DEFAULT_COST`). So every call there costs $0
 * (rates all 0, `price_version` `…+qwen-portal-free`), whatever model id it names. Before
 * 2026-12-04 the portal's own ids (`coder-model`, `vision-model`) were unknown models at the
 * fallback rates (by default $15 / $75 per 1M) and a `qwen/qwen3-coder-plus` there was priced at
 * Alibaba's Model Studio list. A provider-billed `cost.total` is still billed first in `auto` /
 * `recorded`; an override (`qwen-portal/<model>`, `qwen-portal/*`) still wins.
 */
const QWEN_PORTAL_FREE_RATES: ModelRates = { ...OPENROUTER_FREE_RATES };
export const QWEN_PORTAL_FREE_VERSION = `${TABLE_VERSION}+qwen-portal-free`;
export const QWEN_PORTAL_PROVIDERS: ReadonlySet<string> = new Set([
  "qwen-portal",
  "qwen-oauth",
  "qwen-cli",
  "qwen-code",
]);

/** Whether `provider` is the Qwen OAuth portal's free tier (see `QWEN_PORTAL_FREE_RATES`). */
export function isQwenPortalCall(provider: string): boolean {
  return QWEN_PORTAL_PROVIDERS.has(provider.trim().toLowerCase());
}

function readTableVersion(): string {
  // The package's `exports` map hides `./package.json`, so resolve its entry and walk up one level.
  const entry = createRequire(import.meta.url).resolve("@pydantic/genai-prices");
  const pkg = JSON.parse(readFileSync(join(dirname(entry), "..", "package.json"), "utf8")) as {
    name?: unknown;
    version?: unknown;
  };
  if (pkg.name !== "@pydantic/genai-prices" || typeof pkg.version !== "string") {
    throw new Error(`cannot read the @pydantic/genai-prices version next to ${entry}`);
  }
  return pkg.version;
}

/**
 * OpenClaw provider ids → genai-prices provider ids, where they differ. Most of these the package
 * would also find by its own fuzzy `provider_match`, but spelling them out keeps the mapping
 * deterministic across table updates (e.g. `azure-openai-responses` would otherwise land on
 * `openai` because it contains "openai"; Azure has its own table that falls back to OpenAI's).
 */
export const PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  "openai-codex": "openai",
  "azure-openai-responses": "azure",
  // OpenClaw's Microsoft Foundry provider (`microsoft-foundry`, and `microsoft-foundry-<name>` as
  // its `isMicrosoftFoundryProviderId` reads them) is Azure's; so is a provider an operator named
  // `azure-openai`. Before 2026-12-03 both contained "openai" and took OpenAI's own prices (and dates:
  // GPT-5.6 Sol's cut from 2026-08-21, not Azure's 2026-09-01), and Claude there was unknown.
  "azure-openai": "azure",
  "microsoft-foundry": "azure",
  "google-gemini-cli": "google",
  "google-antigravity": "google",
  "google-vertex": "google",
  "amazon-bedrock": "aws",
  xai: "x-ai",
  moonshot: "moonshotai",
  // OpenClaw's Z.AI provider declares these as aliases of `zai`; as a vendor prefix (`z-ai/glm-4.7`)
  // they name Z.AI's models too.
  "z-ai": "zai",
  "z.ai": "zai",
  // LiteLLM's provider prefixes the package does not match (`vertex_ai`, `bedrock`, `gemini`,
  // `together_ai` it does): a LiteLLM proxy's `azure_ai/gpt-5.6` is a Microsoft Foundry deployment
  // at Azure's price (BerriAI/litellm#37282, #19019), `fireworks_ai/accounts/fireworks/models/…`
  // Fireworks'. Before 2026-12-04 such ids were unknown models at the fallback price.
  azure_ai: "azure",
  fireworks_ai: "fireworks",
  // Cloudflare AI Gateway's provider slugs (its unified `{provider}/{model}` ids and endpoint
  // paths, https://developers.cloudflare.com/ai-gateway/usage/chat-completion/): `workers-ai`
  // (Workers AI, `workers-ai/@cf/…`, the default model pi gives OpenClaw's `cloudflare-ai-gateway`),
  // `grok` (xAI) and `perplexity-ai`. The package matches `google-ai-studio`, `aws-bedrock`,
  // `anthropic`, `openai`, … itself; these three it does not, so such ids were unknown models at
  // the fallback price before 2026-12-04.
  "workers-ai": "cloudflare",
  grok: "x-ai",
  "perplexity-ai": "perplexity",
};

/**
 * OpenClaw provider ids that are gateways in front of other makers' models and that the
 * package's fuzzy `provider_match` would take for a different product: priced as an unknown
 * provider (a `vendor/model` id by its vendor, a bare id by the package's model-name match), like
 * `opencode` or `vercel-ai-gateway`. OpenClaw's `cloudflare-ai-gateway` is an Anthropic Messages
 * passthrough (`…/<gateway>/anthropic`) whose model ids are bare `claude-…` or `anthropic/claude-…`
 * (openclaw/openclaw#94554, #4696); its id contains "cloudflare", so it landed on Cloudflare
 * Workers AI's table, which has no Claude, and every call was an unknown model billed at the
 * fallback rates (by default Claude Opus's $15 / $75 per 1M).
 */
export const GATEWAY_PROVIDERS: ReadonlySet<string> = new Set(["cloudflare-ai-gateway"]);

/**
 * Provider ids the bundled table does not know whose models only the price supplement prices, by
 * the supplement provider id they bill as: Alibaba Cloud Model Studio (DashScope), OpenClaw's
 * `qwen` provider and its legacy ids `modelstudio`, `qwencloud`, `dashscope` (its plugin's
 * `providerRequest` family `modelstudio`), and `alibaba` / `dashscope` as a proxy's vendor prefix
 * (LiteLLM's `dashscope/qwen3-max`, a proxy's `qwen/qwen3.6-plus` or `alibaba/qwen3-max`). Not the
 * Qwen OAuth portal (`qwen-oauth`, `qwen-portal`, `qwen-cli`: a free tier) nor the Token Plan
 * (`qwen-token-plan`, `bailian-token-plan`: a subscription of its own). Before 2026-12-04 every
 * call there was an unknown model at the fallback price (case `test/cases/qwen-model-studio-priced`).
 */
export const SUPPLEMENT_ONLY_PROVIDERS: Readonly<Record<string, string>> = {
  qwen: "alibaba",
  qwencloud: "alibaba",
  modelstudio: "alibaba",
  dashscope: "alibaba",
  alibaba: "alibaba",
};

/** The supplement-only provider id (`SUPPLEMENT_ONLY_PROVIDERS`) of an OpenClaw provider id, or null. */
function supplementOnlyId(provider: string): string | null {
  return SUPPLEMENT_ONLY_PROVIDERS[provider.trim().toLowerCase()] ?? null;
}

/** The genai-prices provider id for an OpenClaw provider id (alias, exact id or the package's match), or null. */
function tableProviderId(provider: string): string | null {
  const id = provider.trim().toLowerCase();
  if (GATEWAY_PROVIDERS.has(id)) return null;
  const alias = PROVIDER_ALIASES[id] ?? (id.startsWith("microsoft-foundry-") ? "azure" : id);
  return findProvider({ providerId: alias })?.id ?? null;
}

/**
 * Table lookups cost 30–120 µs, and a backlog prices the same few models over and over, so
 * lookups are cached, exactly:
 * - per (provider, model) when the model found has one unconditional price (most models);
 * - for a model whose `prices` is a list of conditional prices (genai-prices `ConditionalPrice`:
 *   `start_date` and/or `time_of_date` constraints, e.g. DeepSeek's off-peak tariffs), per
 *   (provider, model, which of its constraints hold at `atMs`): the package picks the price from
 *   those truth values alone, so two times with the same truth values get the same price, and the
 *   package itself still does the picking on every miss.
 * A model whose first lookup fails inside the package, or whose constraint this code cannot read,
 * is looked up uncached every time (exact, only slower).
 */
type TableCacheEntry =
  /** One price for all times (or a model the table does not know: `rates` null). */
  | { readonly kind: "fixed"; readonly rates: ModelRates | null }
  /** Conditional prices: `classify(atMs)` → the set of constraints that hold, as a bit mask. */
  | {
      readonly kind: "conditional";
      readonly classify: (atMs: number) => number | null;
      readonly byClass: Map<number, ModelRates | null>;
    }
  /** Not cacheable: every lookup goes to the package. */
  | { readonly kind: "uncached" };

const tableCache = new Map<string, TableCacheEntry>();
const TABLE_CACHE_MAX = 20_000;
const tableCacheStats = { hits: 0, misses: 0 };

/**
 * Lookup counts of the table price cache since start (or `clearTablePriceCache`): `misses` are
 * lookups that went to the package (first lookups, new constraint classes, uncacheable models).
 */
export function tablePriceCacheStats(): { hits: number; misses: number } {
  return { ...tableCacheStats };
}

/** Empties the table price cache and zeroes its counts (tests). */
export function clearTablePriceCache(): void {
  tableCache.clear();
  tableCacheStats.hits = 0;
  tableCacheStats.misses = 0;
}

/**
 * What the price table takes `provider/model` for, to tell two names of one model apart from two
 * models: its entry (the package's own object, so two names the table matches to one entry give
 * the same value), `"openrouter-free"` / `"opencode-free"` / `"gemini-api-free"` for an OpenRouter /
 * OpenCode Zen / Gemini API free route,
 * `"local"` for a local model server's call (`isLocalServerCall`), or null when the table does
 * not know the name (or cannot evaluate its entry). Uncached: callers cache (`pricedModelOf`).
 */
export function tableEntryOf(
  provider: string,
  model: string,
  atMs: number,
): object | "openrouter-free" | "opencode-free" | "gemini-api-free" | "local" | "qwen-portal-free" | null {
  const found = findTablePriceUncached(provider, model, atMs);
  if (found.rates === OPENROUTER_FREE_RATES) return "openrouter-free";
  if (found.rates === OPENCODE_FREE_RATES) return "opencode-free";
  if (found.rates === GEMINI_API_FREE_RATES) return "gemini-api-free";
  if (found.rates === LOCAL_SERVER_RATES) return "local";
  if (found.rates === QWEN_PORTAL_FREE_RATES) return "qwen-portal-free";
  return found.info ?? null;
}

/**
 * Model aliases the provider moved to another model on a date, which the bundled table maps to
 * one model at every time: `[alias, its table provider and eras]`, each era `[from ms, what the
 * alias named from then]` newest first, what it named being a table model id or a `DatedPrice`
 * (a price creditgate owns, for an era no table entry has). Before the first date the table's own
 * mapping stands; an era naming the alias itself is the table's own entry for that time.
 *
 * Mistral pointed its `-latest` aliases at the Mistral 3 family on 2025-12-02 (mistral.ai/pricing;
 * simonw/llm-prices#63, BerriAI/litellm#22601): `mistral-large-latest` went from Large 2.1
 * ($2 / $6 per 1M) to Large 3 (`mistral-large-2512`, $0.50 / $1.50), which the table still
 * prices at Large 2.1's rates (4× over); `ministral-8b-latest` from Ministral 8B 24.10 ($0.10)
 * to Ministral 3 8B ($0.15), and `ministral-3b-latest` (unknown to the table) to Ministral 3 3B.
 *
 * DeepSeek's API model names `deepseek-chat` and `deepseek-reasoner` (OpenClaw's bundled DeepSeek
 * models): see `DEEPSEEK_CHAT` / `DEEPSEEK_REASONER`. The table prices both names at V3 / R1's
 * 2025 rates, night discount included, at every time: after V3.2 a `deepseek-chat` output token
 * was billed at $1.10 (2.6×, or $0.55 at night), a `deepseek-reasoner` one at $2.19 (5.2×).
 * `ownApiOnly`: the alias is dated on the maker's provider and behind a provider the table does
 * not know (a LiteLLM proxy's `deepseek/deepseek-chat` or bare `deepseek-chat`), not on a router
 * that lists the name as its own model (OpenRouter's `deepseek/deepseek-chat` is its DeepSeek V3
 * slug, at its own price).
 */
interface DatedAlias {
  readonly provider: string;
  readonly eras: readonly (readonly [number, string | DatedPrice])[];
  readonly ownApiOnly?: true;
}

/**
 * A price an alias had in an era no table entry prices (see `DATED_ALIASES`): rates in USD per
 * 1M tokens (input, cache read, output; cache writes at the input rate: DeepSeek reports none).
 * Reached only through an alias's era, never by a model id (a transcript cannot name one).
 */
interface DatedPrice {
  /** What the alias named then, for reading (`info.id` of its table-shaped entry). */
  readonly name: string;
  readonly usd: readonly [input: string, cacheRead: string, output: string];
}

/**
 * DeepSeek's prices of its API names by era (api-docs.deepseek.com/quick_start/pricing and its
 * news pages, as quoted by the sources named):
 * - V2.5 / V3 at the launch promotion, $0.14 / $0.014 / $0.28, "until 2025-02-08 16:00 (UTC)"
 *   (BerriAI/litellm#8363 quoting the pricing page), then V3's full price $0.27 / $0.07 / $1.10
 *   all day: the night discount (the table's entries) began with the first window of 2025-02-27
 *   Beijing, 2025-02-26 16:30 UTC (announced Wednesday 2025-02-26, "take effect on Thursday after
 *   midnight", 00:30 Beijing). `deepseek-reasoner` (R1, from 2025-01-20) had no promotion: $0.55 /
 *   $0.14 / $2.19 all day until then.
 * - V3.1 from 2025-09-05 16:00 UTC, one price for both names, night discount cancelled: $0.56 /
 *   $0.07 / $1.68; V3.2(-Exp) from 2025-09-29 ("API prices drop 50%+, effective immediately"):
 *   $0.28 / $0.028 / $0.42 (BerriAI/litellm#18884, charmbracelet/catwalk#87).
 * - V4-Flash (non-thinking / thinking mode) from 2026-04-24: $0.14 / $0.028 / $0.28, one flat
 *   price all day; cache hits cut to 1/10 ($0.0028) "effective 2026-04-26 12:15 UTC" (lobehub#14209,
 *   litellm#29345: "cache-read price cut to 1/10 of launch price since 2026-04-26"; tokenmix.ai
 *   2026-04-30). The names were retired on 2026-07-24 15:59 UTC (calls 404 since: mozilla-ai/any-llm#1172),
 *   before V4's peak / off-peak prices (2026-08-17; ccusage#1643 "Before Aug 16 — flat, 24/7"),
 *   so they never had a peak rate: the table's `deepseek-v4-flash` entry prices its pre-2026-08-17
 *   calls inside 01:00–04:00 / 06:00–10:00 UTC at the later peak price (its own `price_comments`).
 *   A call still carrying the names after the retirement (a proxy that kept them) is priced as
 *   V4-Flash: flat until 2026-08-17, the table's V4-Flash entry from then.
 */
/**
 * DeepSeek's own price of V3.2 (V3.2-Exp from 2025-09-29, V3.2 and V3.2-Speciale from 2025-12-01):
 * $0.28 cache miss / $0.028 cache hit / $0.42 output per 1M (api-docs.deepseek.com/quick_start/pricing;
 * BerriAI/litellm#28853 `deepseek/deepseek-v3.2` cache read 2.8e-08, openclaw/openclaw#53230). One
 * object for the API names' V3.2 era and the model's own names (`DEEPSEEK_V3_2`).
 */
const V3_2_PRICE: DatedPrice = { name: "deepseek-v3.2", usd: ["0.28", "0.028", "0.42"] };
/** V4-Flash's flat price after the cache-hit cut (one object: see `DEEPSEEK_V4_FLASH`). */
const V4_FLASH_FLAT: DatedPrice = { name: "deepseek-v4-flash (flat)", usd: ["0.14", "0.0028", "0.28"] };
/** V4-Flash's flat launch price. */
const V4_FLASH_LAUNCH: DatedPrice = { name: "deepseek-v4-flash (launch)", usd: ["0.14", "0.028", "0.28"] };
const DEEPSEEK_V4_FLASH_ERAS: readonly (readonly [number, string | DatedPrice])[] = [
  [Date.parse("2026-08-17T00:00:00Z"), "deepseek-v4-flash"],
  [Date.parse("2026-04-26T12:15:00Z"), V4_FLASH_FLAT],
  [Date.parse("2026-04-24T00:00:00Z"), V4_FLASH_LAUNCH],
  [Date.parse("2025-09-29T00:00:00Z"), V3_2_PRICE],
  [Date.parse("2025-09-05T16:00:00Z"), { name: "deepseek-v3.1", usd: ["0.56", "0.07", "1.68"] }],
];
/** Since the night discount began (2025-02-26 16:30 UTC): the table's own entries. */
const DEEPSEEK_NIGHT_DISCOUNT_FROM = Date.parse("2025-02-26T16:30:00Z");
/** `deepseek-chat`'s eras (see `DEEPSEEK_V4_FLASH_ERAS`). */
const DEEPSEEK_CHAT: DatedAlias = {
  provider: "deepseek",
  ownApiOnly: true,
  eras: [
    ...DEEPSEEK_V4_FLASH_ERAS,
    [DEEPSEEK_NIGHT_DISCOUNT_FROM, "deepseek-chat"],
    [Date.parse("2025-02-08T16:00:00Z"), { name: "deepseek-v3 (full price)", usd: ["0.27", "0.07", "1.1"] }],
    [Number.NEGATIVE_INFINITY, { name: "deepseek-v3 (promotion)", usd: ["0.14", "0.014", "0.28"] }],
  ],
};
/**
 * `deepseek-v4-flash` itself, called by its own name before 2026-08-17: the same flat prices as the
 * API names' V4 era (the table's entry holds the later peak / off-peak prices at every time). One
 * price object with the API names' era, so a `deepseek-chat` call DeepSeek answers as
 * `deepseek-v4-flash` is priced alike, not as the served model (a tester, 2026-12-02: $4.428 for
 * $0.9856 in the peak hours).
 */
const DEEPSEEK_V4_FLASH: DatedAlias = {
  provider: "deepseek",
  ownApiOnly: true,
  eras: [
    [Date.parse("2026-08-17T00:00:00Z"), "deepseek-v4-flash"],
    [Date.parse("2026-04-26T12:15:00Z"), V4_FLASH_FLAT],
    [Number.NEGATIVE_INFINITY, V4_FLASH_LAUNCH],
  ],
};
/**
 * V3.2 called by its model name (`deepseek-v3.2`, `-exp`, `-speciale`: a LiteLLM proxy's
 * `deepseek/deepseek-v3.2`, an OpenClaw custom provider's or DeepSeek's own provider with that id):
 * DeepSeek's price at every time. The bundled table's `deepseek` entries for these names hold
 * OpenRouter's listings (`deepseek-v3.2` $0.2288 / $0.3432, `-exp` $0.27 / $0.41) and no cache-read
 * price, so a cache hit was billed at the full input rate, ~8× DeepSeek's $0.028 (case
 * `test/cases/deepseek-v3-2-cache-hit-price`). `ownApiOnly`: OpenRouter's `deepseek/deepseek-v3.2`
 * keeps its own listing.
 */
const DEEPSEEK_V3_2: DatedAlias = {
  provider: "deepseek",
  ownApiOnly: true,
  eras: [[Number.NEGATIVE_INFINITY, V3_2_PRICE]],
};
/** `deepseek-reasoner`'s eras (see `DEEPSEEK_V4_FLASH_ERAS`). */
const DEEPSEEK_REASONER: DatedAlias = {
  provider: "deepseek",
  ownApiOnly: true,
  eras: [
    ...DEEPSEEK_V4_FLASH_ERAS,
    [DEEPSEEK_NIGHT_DISCOUNT_FROM, "deepseek-reasoner"],
    [Number.NEGATIVE_INFINITY, { name: "deepseek-r1 (launch)", usd: ["0.55", "0.14", "2.19"] }],
  ],
};
/**
 * Google's Gemini API `-latest` aliases ("Latest: Points to the latest release for a specific
 * model variation … hot-swapped with every new release", ai.google.dev/gemini-api/docs/models),
 * by the moves its changelog (ai.google.dev/gemini-api/docs/changelog) states:
 * - 2025-09-25: `gemini-flash-latest` / `gemini-flash-lite-latest` introduced as the
 *   `gemini-2.5-flash-preview-09-2025` / `gemini-2.5-flash-lite-preview-09-2025` checkpoints
 *   (suurt8ll/open_webui_functions#200, anomalyco/models.dev#237);
 * - 2026-01-21: "`gemini-flash-latest` switched to `gemini-3-flash-preview`", `gemini-pro-latest`
 *   to `gemini-3-pro-preview` (langgenius/dify-official-plugins#3737);
 * - 2026-05-19: "Released `gemini-3.5-flash` … This is now the model behind `gemini-flash-latest`".
 * Later Flash releases (3.6, 3.7, 3.8) state no move, so `gemini-flash-latest` stays 3.5 Flash.
 * `gemini-pro-latest` before 2026-01-21 is taken for Gemini 2.5 Pro, and after
 * `gemini-3-pro-preview`'s shutdown (2026-03-09) for 3.1 Pro Preview, which has its prices.
 * `gemini-flash-lite-latest` has no documented move: 2.5 Flash-Lite's price at every time.
 */
const GEMINI_LATEST_TO_GEMINI_3 = Date.parse("2026-01-21T00:00:00Z");
const DATED_ALIASES: ReadonlyMap<string, DatedAlias> = new Map<string, DatedAlias>([
  [
    "mistral-large-latest",
    { provider: "mistral", eras: [[Date.parse("2025-12-02T00:00:00Z"), "mistral-large-2512"]] },
  ],
  [
    "ministral-8b-latest",
    {
      provider: "mistral",
      eras: [
        [Date.parse("2025-12-02T00:00:00Z"), "ministral-8b-2512"],
        [Number.NEGATIVE_INFINITY, "ministral-8b-2410"],
      ],
    },
  ],
  [
    "ministral-3b-latest",
    { provider: "mistral", eras: [[Date.parse("2025-12-02T00:00:00Z"), "ministral-3b-2512"]] },
  ],
  // Google's Gemini API `-latest` aliases (see `GEMINI_LATEST_TO_GEMINI_3`): unknown to the table, so
  // every call was billed at the fallback price (by default Claude Opus's $15 / $75 per 1M).
  [
    "gemini-flash-latest",
    {
      provider: "google",
      eras: [
        [Date.parse("2026-05-19T00:00:00Z"), "gemini-3.5-flash"],
        [GEMINI_LATEST_TO_GEMINI_3, "gemini-3-flash-preview"],
        [Number.NEGATIVE_INFINITY, "gemini-2.5-flash-preview-09-2025"],
      ],
    },
  ],
  [
    "gemini-flash-lite-latest",
    { provider: "google", eras: [[Number.NEGATIVE_INFINITY, "gemini-2.5-flash-lite-preview-09-2025"]] },
  ],
  [
    "gemini-pro-latest",
    {
      provider: "google",
      eras: [
        [GEMINI_LATEST_TO_GEMINI_3, "gemini-3-pro-preview"],
        [Number.NEGATIVE_INFINITY, "gemini-2.5-pro"],
      ],
    },
  ],
  ["deepseek-chat", DEEPSEEK_CHAT],
  ["deepseek-reasoner", DEEPSEEK_REASONER],
  ["deepseek-v4-flash", DEEPSEEK_V4_FLASH],
  ["deepseek-v3.2", DEEPSEEK_V3_2],
  ["deepseek-v3.2-exp", DEEPSEEK_V3_2],
  ["deepseek-v3.2-speciale", DEEPSEEK_V3_2],
]);

/** Rates and a table-shaped entry per `DatedPrice`, built once each. */
const datedPriceEntries = new WeakMap<DatedPrice, TableLookup>();
/** Rates from a `DatedPrice` (see `tableVersionOf`). */
const datedPriceRates = new WeakSet<ModelRates>();

/**
 * The `price_version` suffix of a row priced as what a dated alias named at the call's time
 * (`DATED_ALIASES`): a creditgate-owned era price (`DATED_PRICE_VERSION`), or another table
 * entry than the alias's own (`…@0.1.8+dated-alias`, after any other tag of that entry).
 */
export const DATED_ALIAS_VERSION_TAG = "dated-alias";

/** The `price_version` of a row priced from a `DatedPrice`. */
export const DATED_PRICE_VERSION = `${TABLE_VERSION}+${DATED_ALIAS_VERSION_TAG}`;

/** The lookup of a `DatedPrice`: its rates and a table-shaped entry, one stable object each. */
function datedPriceLookup(price: DatedPrice): TableLookup {
  let entry = datedPriceEntries.get(price);
  if (entry === undefined) {
    const [input, cacheRead, output] = price.usd;
    const flat = (usd: string): TieredRate => ({ base: usdPerMTokToMicro(usd), tiers: [] });
    const inputRate = flat(input);
    const rates: ModelRates = {
      input: inputRate,
      output: flat(output),
      cacheRead: flat(cacheRead),
      cacheWrite: inputRate,
      cacheWrite1h: derived1h(inputRate),
      perCallPico: 0n,
    };
    datedPriceRates.add(rates);
    entry = {
      rates,
      info: {
        id: price.name,
        match: { equals: price.name },
        prices: {
          input_mtok: Number(input),
          cache_read_mtok: Number(cacheRead),
          output_mtok: Number(output),
        },
      },
    };
    datedPriceEntries.set(price, entry);
  }
  return entry;
}

/**
 * Table rates reached through a dated alias's era that names another entry (`mistral-large-2512`
 * for `mistral-large-latest`), as a copy per rates object that `tableVersionOf` tags
 * `+dated-alias`: such a row says what priced it. Maps the copy to the entry's own rates.
 */
const datedAliasCopies = new WeakMap<ModelRates, ModelRates>();
const datedAliasOriginals = new WeakMap<ModelRates, ModelRates>();

/** `rates` (a table entry's, reached through a dated alias) as its tagged copy (see `datedAliasCopies`). */
function viaDatedAlias(rates: ModelRates): ModelRates {
  let copy = datedAliasCopies.get(rates);
  if (copy === undefined) {
    copy = { ...rates };
    datedAliasCopies.set(rates, copy);
    datedAliasOriginals.set(copy, rates);
  }
  return copy;
}

/** What a dated alias named at a call's time (see `datedAlias`). */
interface DatedName {
  /** The model id to look the table up by (the alias's own when `redated` is false). */
  readonly model: string;
  /** Whether that is another entry than the table's for the alias (its rows say `+dated-alias`). */
  readonly redated: boolean;
  /** A creditgate-owned price for the era instead of a table entry. */
  readonly price?: DatedPrice;
}

/**
 * What a dated alias (`DATED_ALIASES`) named at `atMs` on `provider`, or null when `model` is no
 * such alias there (then the table's own lookup of `model` stands). The alias is matched as the
 * table matches names, case- and space-insensitively: `Mistral-Large-Latest` was still priced at
 * Large 2.1's rates after the switch, since the table took it for the alias. Dated:
 * - a bare alias on the maker's provider, or on a provider the table does not know (a LiteLLM
 *   proxy's or an OpenClaw custom provider's `deepseek-chat`: the table's name match takes it for
 *   the maker's model, so the maker's dates hold; looked up as `maker/<dated model>`);
 * - a `vendor/alias` id (a proxy or gateway route such as LiteLLM's `mistral/mistral-large-latest`,
 *   or the maker's own provider with its prefix, `deepseek` + `deepseek/deepseek-chat`), as
 *   `vendor/<dated model>`: before, a route billed Large 3 at Large 2.1's 4× rates. An
 *   `ownApiOnly` alias only on the maker's provider or one the table does not know: a router the
 *   table knows (OpenRouter) lists the name as its own model.
 * A bare alias on another provider the table knows (Azure, Together) is left to the table.
 */
function datedAlias(provider: string, model: string, atMs: number): DatedName | null {
  // a local model server's `deepseek-chat` is no DeepSeek API call (`isLocalServerCall`)
  if (isLocalServerCall(provider, model) || isQwenPortalCall(provider)) return null;
  // The map first: provider lookups cost more, and most names are no alias.
  const bare = DATED_ALIASES.get(model.trim().toLowerCase());
  if (bare !== undefined) {
    const p = tableProviderId(provider);
    if (p === bare.provider) return datedEra(bare, atMs, "");
    return p === null ? datedEra(bare, atMs, `${bare.provider}/`) : null;
  }
  const slash = model.indexOf("/");
  if (slash <= 0) return null;
  // A Google / Vertex AI resource name (`models/gemini-flash-latest`,
  // `publishers/google/models/gemini-pro-latest`: `modelResourceBase`) names the alias itself, dated
  // as it is: before 2026-12-05 the lookup chain stripped the resource name only after the alias
  // was looked for, so such a call was an unknown model at the fallback price (case
  // `dated-alias-resource-name`).
  const resource = modelResourceBase(model);
  if (resource !== null) return datedAlias(provider, resource, atMs);
  const vendor = model.slice(0, slash);
  const a = DATED_ALIASES.get(
    model
      .slice(slash + 1)
      .trim()
      .toLowerCase(),
  );
  if (a === undefined || tableProviderId(vendor) !== a.provider) return null;
  const p = a.ownApiOnly ? tableProviderId(provider) : null;
  if (p !== null && p !== a.provider) return null;
  return datedEra(a, atMs, `${vendor}/`);
}

/** The era of `a` at `atMs` as a `DatedName` (its table id behind `prefix`), or null before its first. */
function datedEra(a: DatedAlias, atMs: number, prefix: string): DatedName | null {
  for (const [from, named] of a.eras) {
    if (atMs < from) continue;
    if (typeof named !== "string") return { model: "", redated: true, price: named };
    return { model: `${prefix}${named}`, redated: DATED_ALIASES.get(named) !== a };
  }
  return null;
}

/**
 * Which era of a dated alias `provider/model` falls in at `atMs`, as a short text ("" for a name
 * that is no dated alias there): two calls of one name with the same text are looked up alike.
 */
function datedEraKey(provider: string, model: string, atMs: number): string {
  const d = datedAlias(provider, model, atMs);
  return d === null ? "" : (d.price?.name ?? d.model);
}

/**
 * The table rates of `provider/model` in effect at `atMs` (ms since epoch), through the cache;
 * null when the table does not know the model or has no token price for it (see `tableRates`).
 */
export function findTablePrice(provider: string, aliasOrModel: string, atMs: number): ModelRates | null {
  const dated = datedAlias(provider, aliasOrModel, atMs);
  if (dated?.price !== undefined) {
    // creditgate's own price for the era: no package lookup to save
    tableCacheStats.hits++;
    return datedPriceLookup(dated.price).rates;
  }
  const model = dated?.model ?? aliasOrModel;
  const redated = dated?.redated === true;
  // a redated name's entry is tagged (`viaDatedAlias`): not the same answer as the name itself
  const key = `${provider}\u0000${model}${redated ? "\u0000dated" : ""}`;
  const entry = tableCache.get(key);
  if (entry === undefined) {
    tableCacheStats.misses++;
    const found = namedLookup(provider, model, atMs, redated);
    if (tableCache.size >= TABLE_CACHE_MAX) tableCache.clear();
    tableCache.set(key, cacheEntryFor(found, atMs));
    return found.rates;
  }
  if (entry.kind === "fixed") {
    tableCacheStats.hits++;
    return entry.rates;
  }
  const cls = entry.kind === "conditional" ? entry.classify(atMs) : null;
  if (entry.kind === "conditional" && cls !== null) {
    const hit = entry.byClass.get(cls);
    if (hit !== undefined) {
      tableCacheStats.hits++;
      return hit;
    }
  }
  tableCacheStats.misses++;
  const rates = namedLookup(provider, model, atMs, redated).rates;
  if (entry.kind === "conditional" && cls !== null) entry.byClass.set(cls, rates);
  return rates;
}

/** The cache entry for a first lookup's result (see `findTablePrice`). */
function cacheEntryFor(found: TableLookup, atMs: number): TableCacheEntry {
  // No table entry (an unknown model, or an OpenRouter free variant): time-independent.
  if (found.info === undefined) return { kind: "fixed", rates: found.rates };
  if (found.info === null || found.timeDependent) return { kind: "uncached" }; // may depend on the time
  const sw = found.switchAtMs;
  if (!Array.isArray(found.info.prices) && sw === undefined) return { kind: "fixed", rates: found.rates };
  const own = Array.isArray(found.info.prices) ? constraintClassifier(found.info.prices) : () => 0;
  if (own === null) return { kind: "uncached" };
  // A dated premium end is one more constraint, bit 30 (an entry has at most 30 of its own).
  const classify =
    sw === undefined
      ? own
      : (t: number) => {
          const m = own(t);
          return m === null ? null : t >= sw ? m | (1 << 30) : m;
        };
  const cls = classify(atMs);
  const byClass = new Map<number, ModelRates | null>();
  if (cls !== null) byClass.set(cls, found.rates);
  return { kind: "conditional", classify, byClass };
}

/**
 * For a list of conditional prices, a function giving the bit mask of the constraints that hold
 * at a time (bit i = `prices[i].constraint` holds; unconstrained entries always 0), evaluated
 * exactly as @pydantic/genai-prices does (`t >= new Date(start_date)`; time of day in UTC
 * seconds, `[start, end)`, wrapping past midnight when end < start). `null` when a constraint is
 * of an unknown kind or unreadable, or there are too many for a mask; the function itself returns
 * `null` for an invalid time.
 */
export function constraintClassifier(
  prices: readonly ConditionalPrice[],
): ((atMs: number) => number | null) | null {
  if (prices.length > 30) return null;
  const tests: ((t: Date, secondsOfDay: number) => boolean)[] = [];
  for (const p of prices) {
    const c = p.constraint as Record<string, unknown> | undefined;
    if (c === undefined) tests.push(() => false);
    else if (c.type === "start_date" && typeof c.start_date === "string") {
      const start = new Date(c.start_date);
      tests.push((t) => t >= start);
    } else if (c.type === "time_of_date") {
      const s = secondsOfDayUtc(c.start_time);
      const e = secondsOfDayUtc(c.end_time);
      if (s === null || e === null) return null;
      tests.push(e < s ? (_t, n) => n >= s || n < e : (_t, n) => n >= s && n < e);
    } else return null;
  }
  return (atMs) => {
    const t = new Date(atMs);
    if (Number.isNaN(t.getTime())) return null;
    const n =
      t.getUTCHours() * 3600 + t.getUTCMinutes() * 60 + t.getUTCSeconds() + t.getUTCMilliseconds() / 1e3;
    let mask = 0;
    for (let i = 0; i < tests.length; i++) if (tests[i]?.(t, n)) mask |= 1 << i;
    return mask;
  };
}

/**
 * A genai-prices time-of-day bound (`"HH:MM:SS[.fff](Z|±HH:MM)"`) as UTC seconds of the day,
 * computed with the same arithmetic as the package; `null` when it does not parse.
 */
function secondsOfDayUtc(v: unknown): number | null {
  if (typeof v !== "string") return null;
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|([+-])(\d{2}):(\d{2}))$/.exec(v);
  if (!m) return null;
  const [, hh, mm, ss, frac = "", zone, sign, oh = "00", om = "00"] = m;
  const h = Number(hh);
  const min = Number(mm);
  const sec = Number(ss);
  if (h > 23 || min > 59 || sec > 59 || oh > "23" || om > "59") return null;
  const offset = (Number(oh) * 60 + Number(om)) * 60;
  const local = h * 3600 + min * 60 + sec + +`0.${frac}`;
  const shift = zone === "Z" ? 0 : sign === "+" ? offset : -offset;
  return (local - shift + 86400) % 86400;
}

/**
 * One uncached table lookup: the rates (null: unknown or unpriceable), and the table's entry for
 * the model that ended the search (`undefined`: no entry found; `null`: the package threw).
 */
interface TableLookup {
  readonly rates: ModelRates | null;
  readonly info: ModelInfo | null | undefined;
  /** The rates also depend on a second entry's start-date prices (`withMakerCachePrices`): not cacheable. */
  readonly timeDependent?: boolean;
  /** The rates change at this time (ms), on top of the entry's own constraints (`PREMIUM_ENDS`). */
  readonly switchAtMs?: number;
}

/**
 * Finds the table price of `provider/model` in effect at `atMs`. Tries, in order:
 * 1. the call's own provider (aliased), when the table knows that provider;
 * 2. for `vendor/model` ids (openrouter, vercel-ai-gateway, …) the vendor's own table with the
 *    bare model, so a model missing from a router's list is still priced at its maker's rate;
 * 3. only when the table knows neither the provider nor a vendor prefix (a custom proxy such as
 *    `opencode` or `kimi-coding`): the package's model-name match. That match requires both a
 *    provider's family rule (`gpt-`, `claude`, `gemini`, `grok`, …) and one of its model rules,
 *    which is specific enough; a name that matches nothing (`mock-gpt`, `llama3.1:8b`) stays
 *    unknown. A known provider never borrows another provider's price for a model it lacks.
 * The first entry found ends the search, even one without a token price (see `tableRates`): an
 * OpenRouter `…:free` model must not be billed at its maker's rate either (it is free: see
 * `OPENROUTER_FREE_RATES`).
 * An OpenAI fine-tuned id (`ft:gpt-4.1-2025-04-14:org::id`) the table lacks, or lists without a
 * cached-input price, is priced from `fine-tuned.ts` (`fineTunedLookup`).
 */
/** `findTablePrice` without the cache (one package lookup per call); for tests and comparison. */
export function findTablePriceUncachedRates(
  provider: string,
  model: string,
  atMs: number,
): ModelRates | null {
  return findTablePriceUncached(provider, model, atMs).rates;
}

function findTablePriceUncached(provider: string, aliasOrModel: string, atMs: number): TableLookup {
  const dated = datedAlias(provider, aliasOrModel, atMs);
  if (dated?.price !== undefined) return datedPriceLookup(dated.price);
  return namedLookup(provider, dated?.model ?? aliasOrModel, atMs, dated?.redated === true);
}

/**
 * The lookup of `model` as named (a dated alias already resolved: `datedAlias`), its rates tagged
 * when a dated alias named this other entry (`redated`: see `viaDatedAlias`).
 */
function namedLookup(provider: string, model: string, atMs: number, redated: boolean): TableLookup {
  const found = modelLookup(provider, model, atMs);
  return redated && found.rates !== null ? { ...found, rates: viaDatedAlias(found.rates) } : found;
}

/** `findTablePriceUncached` of a model id that is no dated alias (see there for the order). */
function modelLookup(provider: string, model: string, atMs: number): TableLookup {
  // A local model server (Ollama, LM Studio, vLLM, SGLang, llama.cpp): $0 (`LOCAL_SERVER_RATES`).
  if (isLocalServerCall(provider, model)) return { rates: LOCAL_SERVER_RATES, info: undefined };
  // The Qwen OAuth portal's free tier: $0 (`QWEN_PORTAL_FREE_RATES`).
  if (isQwenPortalCall(provider)) return { rates: QWEN_PORTAL_FREE_RATES, info: undefined };
  // A Hugging Face router id naming its backend (`deepseek-ai/DeepSeek-R1:novita`): that backend's
  // Hugging Face price list (see `huggingFaceBackend`).
  const hf = huggingFaceBackend(provider, model);
  if (hf !== null) {
    const found = findTableEntry(hf.providerId, hf.model, atMs, false);
    if (found.info !== undefined) return found;
  }
  const providerId = tableProviderId(provider);
  if (isOpenRouterFree(providerId, model)) return { rates: OPENROUTER_FREE_RATES, info: undefined };
  if (isOpenCodeZenFree(provider, model)) return { rates: OPENCODE_FREE_RATES, info: undefined };
  if (isGeminiApiFree(provider, model)) return { rates: GEMINI_API_FREE_RATES, info: undefined };
  const base = providerId === "openrouter" ? openRouterVariantBase(model) : null;
  if (base === null) {
    // Claude on Amazon Bedrock in AWS GovCloud (`us-gov.anthropic.…`): see `govCloudLookup`.
    const gov = govCloudLookup(providerId, model, atMs);
    if (gov !== null) return gov;
    // Azure's own price of a model its table list lacks and would take from another provider's
    // entry (Microsoft Foundry's DeepSeek V3.2: the supplement's `AZURE_PRICES`).
    if (providerId === "azure" && !model.includes("/")) {
      const own = supplementLookup("azure", model, atMs);
      if (own !== null && own.info !== undefined) return own;
    }
    const direct = findTableEntry(providerId, model, atMs);
    const fineTuned = fineTunedLookup(providerId, model, direct);
    if (fineTuned !== null) return fineTuned;
    if (direct.info !== undefined) return direct;
    // A client-side context directive after the id (Claude Code's `[1m]`): the model it names
    // (see `CONTEXT_DIRECTIVE`), with every other rule of this chain.
    const directive = CONTEXT_DIRECTIVE.exec(model);
    if (directive !== null) {
      const named = modelLookup(provider, model.slice(0, directive.index), atMs);
      if (named.info !== undefined) return named;
    }
    // A Vertex AI version after the id (`claude-opus-4@20250514`, `@default`): the model it names
    // (see `VERTEX_VERSION`), with every other rule of this chain.
    const version = VERTEX_VERSION.exec(model);
    if (version !== null && version.index > 0) {
      const named = modelLookup(provider, model.slice(0, version.index), atMs);
      if (named.info !== undefined) return named;
    }
    // An Amazon Bedrock model id (`us.anthropic.claude-…-v1:0`, an inference-profile ARN) on a
    // provider whose list lacks it: Bedrock's own price (see `bedrockModelLookup`).
    const bedrock = providerId === "aws" ? null : bedrockModelLookup(model, atMs);
    if (bedrock !== null) return bedrock;
    // A Google / Vertex AI resource name (`models/gemini-2.5-flash`,
    // `publishers/google/models/gemini-2.5-pro`, `projects/…/locations/…/publishers/…/models/…`):
    // the same model as its last segment (see `modelResourceBase`).
    const bare = modelResourceBase(model);
    const found = bare === null ? direct : findTableEntry(providerId, bare, atMs);
    if (found.info !== undefined) return found;
    // A Claude CLI model alias with a version (`opus-4.6`, `sonnet-4.5`): the Claude model it names.
    const claude = claudeShortNameModel(bare ?? model);
    if (claude !== null) {
      const own = findTableEntry(providerId, claude, atMs);
      if (own.info !== undefined) return own;
      const anthropic = findTableEntry("anthropic", claude, atMs, false);
      if (anthropic.info !== undefined) return anthropic;
      // a Claude model newer than the table (`haiku-5.5`): the price supplement's Anthropic entry
      const supplement = supplementLookup("anthropic", claude, atMs);
      if (supplement !== null) return supplement;
    }
    // A Claude 4+ id with the version before the family (`claude-4.5-sonnet`, `claude-4-1-opus`):
    // the model id Anthropic names it by (see `claudeVersionFirstModel`).
    const familyFirst = claudeVersionFirstModel(bare ?? model);
    if (familyFirst !== null) {
      for (const name of [familyFirst, versionRespelled(familyFirst)]) {
        if (name === null) continue;
        const own = findTableEntry(providerId, name, atMs);
        if (own.info !== undefined) return own;
      }
      const supplement = supplementLookup(providerId, familyFirst, atMs);
      if (supplement !== null) return supplement;
    }
    // The same version spelled the other way (`grok-4.1-fast` / `grok-4-1-fast`): see `versionRespelled`.
    const respelled = versionRespelled(bare ?? model);
    if (respelled !== null) {
      const other = findTableEntry(providerId, respelled, atMs);
      if (other.info !== undefined) return other;
    }
    // Kimi Code's `k2p5` (Kimi K2.5, `p` for the dot): the Kimi model it names (`kimiDottedName`).
    const kimi = providerId === null || providerId === "moonshotai" ? kimiDottedName(bare ?? model) : null;
    if (kimi !== null) {
      const named = findTableEntry(providerId, kimi, atMs);
      if (named.info !== undefined) return named;
    }
    // A Gemini id with Antigravity's thinking level or without `-preview` (`gemini-3.1-pro-high`,
    // `gemini-3-flash`): the Gemini API model it names (see `geminiApiNames`).
    if (providerId === "google" || providerId === null) {
      for (const name of geminiApiNames(bare ?? model)) {
        const gemini = findTableEntry(providerId, name, atMs);
        if (gemini.info !== undefined) return gemini;
      }
    }
    // An OpenAI reasoning model named with its reasoning effort (`gpt-5-codex-high`,
    // `gpt-5.1-codex-max-xhigh`, `gpt-5-codex(high)`): the model itself (see `openAiEffortBase`).
    const effortless = openAiEffortBase(bare ?? model);
    if (effortless !== null) {
      const own = findTableEntry(providerId, effortless, atMs);
      if (own.info !== undefined) return own;
    }
    // A model id with a proxy's thinking-mode suffix (`gemini-2.5-flash-thinking`, `glm-4.7:thinking`,
    // `gemini-3-pro-preview-thinking-512`, `gpt-5.1-thinking`): the model itself, named the way the
    // rest of this chain reads it (see `thinkingModeBase`). Not on OpenRouter, whose `:thinking`
    // slugs are models of their own.
    const thinkless = providerId === "openrouter" ? null : thinkingModeBase(bare ?? model);
    if (thinkless !== null) {
      const own = modelLookup(provider, thinkless, atMs);
      if (own.info !== undefined) return own;
    }
    // A model the table does not know: the price supplement, if it has one (`price-supplement.ts`).
    // On a provider only the supplement knows (`SUPPLEMENT_ONLY_PROVIDERS`: Model Studio), its list,
    // else what held there before: a provider the table does not know (a `zai/glm-4.6` on `qwen`
    // kept Z.ai's price; looked up on `alibaba` only, its vendor prefix no longer priced it).
    const only = providerId === null ? supplementOnlyId(provider) : null;
    const supplemented =
      (only !== null ? supplementLookup(only, bare ?? model, atMs) : null) ??
      supplementLookup(providerId, bare ?? model, atMs) ??
      mistralUndatedLookup(providerId, bare ?? model, atMs) ??
      (providerId === null && only === null ? supplementMakerLookup(bare ?? model, atMs) : null);
    if (supplemented !== null) return supplemented;
    // A router's own routing alias before the id, behind a provider the table does not know
    // (OmniRoute's `cx/gpt-5.5`, `cc/claude-sonnet-4-5`): the model it routes to (`routingAliasRest`).
    const routed =
      providerId === null && only === null && provider.trim().toLowerCase() !== "huggingface"
        ? routingAliasRest(model)
        : null;
    if (routed !== null) {
      const named = modelLookup(provider, routed, atMs);
      if (named.info !== undefined && named.rates !== null) return named;
    }
    return found;
  }
  // An OpenRouter routing variant (see below): OpenRouter's own entry for the variant, else its
  // entry for the base model, before any maker's price for either.
  const variant = findTableEntry(providerId, model, atMs, false);
  if (variant.info !== undefined) return variant;
  const own = findTableEntry(providerId, base, atMs, false);
  if (own.info !== undefined) return own;
  const maker = findTableEntry(providerId, model, atMs);
  if (maker.info !== undefined) return maker;
  const makerBase = findTableEntry(providerId, base, atMs);
  // the base model as the price supplement names it (`x-ai/grok-4.20-0309-reasoning:nitro`)
  return makerBase.info !== undefined ? makerBase : (supplementLookup(providerId, base, atMs) ?? makerBase);
}

/**
 * The rest of a model id after a first path segment that names no provider, vendor or price list
 * (`cx` of `cx/gpt-5.5`), or null. A router behind an OpenClaw custom provider names the account
 * or upstream it sends a model to with a short alias of its own before the model's id: OmniRoute
 * writes `cx/gpt-5.5` (Codex), `cc/claude-sonnet-4-5` (Claude Code), `gh/gpt-5` (GitHub Copilot);
 * the model is the rest, and a call through it costs what that model costs (junhoyeo/tokscale#831:
 * `cx/gpt-5.5` reported at $0 for $531.61 of `gpt-5.5`, "the `cx/` provider prefix is not stripped
 * before the pricing lookup"). Before 2026-12-04 such an id was an unknown model at the fallback
 * price. Read only behind a provider the table does not know (not Hugging Face's router, whose
 * ids are `<org>/<model>`), only when the rest is a model the lookup prices (tried with every rule
 * of it), only for an alias of one to four letters or digits (an organisation such as
 * `deepseek-ai/…` or `meta-llama/…` names an open-weight model run by some host, not the maker's
 * API), and never for one that is a provider or vendor id (`xai/…`, `qwen/…`: their own rules).
 */
export function routingAliasRest(model: string): string | null {
  const m = /^\s*([^/\s]+)\/(\S.*)$/.exec(model);
  if (m === null || m[1] === undefined || m[2] === undefined) return null;
  const alias = m[1];
  // a router's alias is a short code; a longer first segment is an organisation (Hugging Face's
  // `deepseek-ai/DeepSeek-R1`: the open-weight model on some host, not the maker's API) or a path
  if (!/^[a-z][a-z0-9]{0,3}$/i.test(alias) || /^(?:auto|free)$/i.test(alias)) return null;
  if (tableProviderId(alias) !== null || supplementOnlyId(alias) !== null) return null;
  return m[2].trim();
}

/** A Mistral API id with its version date (`pixtral-12b-2409`, `mistral-saba-2502`): name, YYMM. */
const MISTRAL_DATED_ID = /^((?:mistral|mistralai)\/)?([a-z][a-z0-9.-]*?)-(2[3-9])(0[1-9]|1[0-2])$/i;

/**
 * A Mistral model id with its version date (`<name>-YYMM`, Mistral's dated API ids:
 * `pixtral-12b-2409`, `ministral-3b-2410`, `open-mistral-nemo-2407`, `mistral-saba-2502`) that
 * neither the table nor the supplement lists, priced as the table's Mistral entry for the name
 * without the date (`pixtral-12b`, `ministral-3b`, `open-mistral-nemo`, `mistral-saba`): the model
 * that version is. Before 2026-12-04 such an id was an unknown model at the fallback rates (by
 * default $15 / $75 per 1M: 100× Pixtral 12B's $0.15; the kind of BerriAI/litellm#5837 "Missing
 * pricing for mistral/pixtral-12b-2409"; case `test/cases/mistral-dated-model-id`). Only on the
 * `mistral` provider and, behind a provider the table does not know, bare or as `mistral/…`; a
 * dated id the table lists itself (`ministral-8b-2512`, `mistral-large-2512`: another generation at
 * another price) is never reached here, and a name without its own undated entry
 * (`mistral-small-2409`: the table has only `mistral-small-latest`) stays unknown.
 */
function mistralUndatedLookup(providerId: string | null, model: string, atMs: number): TableLookup | null {
  if (providerId !== "mistral" && providerId !== null) return null;
  const m = MISTRAL_DATED_ID.exec(model.trim());
  if (m === null || m[2] === undefined) return null;
  if (
    providerId === null &&
    m[1] === undefined &&
    !/^(?:mistral|ministral|pixtral|codestral|devstral|magistral|open-mistral|open-mixtral|mixtral|voxtral)/i.test(
      m[2],
    )
  )
    return null;
  const found = findTableEntry("mistral", m[2].toLowerCase(), atMs, false);
  return found.info !== undefined && found.rates !== null ? found : null;
}

/**
 * AWS GovCloud's price of Claude on Amazon Bedrock, as a multiple of Anthropic's global price:
 * 1.2× ("AWS GovCloud Bedrock pricing carries a +20% premium over the global Anthropic rates, not
 * the +10% premium that applies to commercial US regions", BerriAI/litellm#28573, fixing #27120,
 * which quotes https://aws.amazon.com/bedrock/pricing/ for Claude Sonnet 4.5 in us-gov-west-1:
 * $3.60 input, $18 output, $4.50 5-minute cache write, $7.20 1-hour write, $0.36 cache read per 1M).
 */
export const GOVCLOUD_MULTIPLE = { num: 6n, den: 5n } as const;
export const GOVCLOUD_VERSION = `${TABLE_VERSION}+govcloud`;
const govCloudRates = new WeakSet<ModelRates>();
const govCloudCopies = new WeakMap<ModelRates, ModelRates>();

/** `rates` × `GOVCLOUD_MULTIPLE`, every class and tier (rounded half up), once per rates object. */
function govCloudOf(rates: ModelRates): ModelRates {
  let copy = govCloudCopies.get(rates);
  if (copy === undefined) {
    const { num, den } = GOVCLOUD_MULTIPLE;
    const scale = (t: TieredRate): TieredRate => ({
      base: divRoundHalfUp(t.base * num, den),
      tiers: t.tiers.map((x) => ({ above: x.above, rate: divRoundHalfUp(x.rate * num, den) })),
    });
    copy = {
      input: scale(rates.input),
      output: scale(rates.output),
      cacheRead: scale(rates.cacheRead),
      cacheWrite: scale(rates.cacheWrite),
      cacheWrite1h: scale(rates.cacheWrite1h),
      perCallPico: rates.perCallPico,
    };
    govCloudRates.add(copy);
    govCloudCopies.set(rates, copy);
  }
  return copy;
}

/** The same rates, class by class and tier by tier. */
function sameRates(a: ModelRates, b: ModelRates): boolean {
  return (
    a.perCallPico === b.perCallPico &&
    [
      [a.input, b.input],
      [a.output, b.output],
      [a.cacheRead, b.cacheRead],
      [a.cacheWrite, b.cacheWrite],
      [a.cacheWrite1h, b.cacheWrite1h],
    ].every(([x, y]) => x !== undefined && y !== undefined && sameRate(x, y))
  );
}

const GOVCLOUD_CLAUDE = /(?:^|[/.:])us-gov\.anthropic\./i;

/**
 * A Claude call on Amazon Bedrock through the AWS GovCloud (US) inference profile
 * (`us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0`, on OpenClaw's `amazon-bedrock` provider or
 * as `bedrock/us-gov.…` behind a proxy): `GOVCLOUD_MULTIPLE` × the model's global price
 * (`global.anthropic.…`), for a model whose Bedrock regional price carries a premium over the
 * global one (Claude Sonnet 4.5, Haiku 4.5 and later). The bundled table lists `us-gov.` among
 * the commercial regional prefixes, so such a call was billed at the commercial regional 1.1×
 * ($3.30 / $16.50 for Sonnet 4.5), ~9% under AWS's bill. null for any other call (an older Claude,
 * whose regional and global prices are one, keeps the table's price).
 */
function govCloudLookup(providerId: string | null, model: string, atMs: number): TableLookup | null {
  const m = model.trim();
  const gov = GOVCLOUD_CLAUDE.exec(m);
  if (gov === null) return null;
  let id = m;
  if (providerId !== "aws") {
    // a proxy's `bedrock/us-gov.…` (a vendor prefix naming Amazon Bedrock)
    const slash = m.indexOf("/");
    if (providerId !== null || slash <= 0 || tableProviderId(m.slice(0, slash)) !== "aws") return null;
    id = m.slice(slash + 1);
  }
  const at = id.search(/us-gov\.anthropic\./i);
  const regional = findTableEntry("aws", id, atMs, false);
  const global = findTableEntry(
    "aws",
    `${id.slice(0, at)}global.${id.slice(at + "us-gov.".length)}`,
    atMs,
    false,
  );
  if (!regional.rates || !global.rates || !global.info || sameRates(regional.rates, global.rates))
    return null;
  return { ...global, rates: govCloudOf(global.rates) };
}

/**
 * A bracketed directive at the end of a model id: Claude Code's `[1m]`, which selects the 1M-token
 * context window and is stripped before the request goes out (the API is called with the model id
 * alone; https://code.claude.com/docs/en/model-config). Claude Code, OpenClaw's Claude CLI backend
 * and the tools that copy its model setting write it into the id they record
 * (`claude-opus-5[1m]`). The table matches some Claude entries by prefix (`claude-opus-4-6[1m]`
 * was priced), but entries matched exactly (`claude-opus-5`, `claude-fable-5`: `equals` and a
 * dated `regex`) did not match with the suffix, so such calls were unknown models at the fallback
 * price (planetf1/otelite#112: `claude-opus-5[1m]` billed at $15 / $75 for $5 / $25;
 * Wangnov/claude-code-statusline-pro#76 for `deepseek-v4-pro[1m]`). The context window is priced
 * by the call's own input (its long-context tiers), never by the label.
 */
const CONTEXT_DIRECTIVE = /\s*\[[a-z0-9._-]{1,16}\]$/i;

/**
 * A Vertex AI model version after the id: `claude-opus-4@20250514`, `claude-opus-5@default`
 * (Vertex names Claude models `<id>@<version>`,
 * https://cloud.google.com/vertex-ai/generative-ai/docs/partner-models/claude). The table's Vertex
 * list (`google-vertex`) spells many such ids, but OpenClaw's `anthropic-vertex` provider, which the
 * table takes for Anthropic, and a proxy or custom provider whose ids are Vertex's reached only
 * entries that match by prefix: Claude Opus 4, Opus 5 and Fable 5, matched exactly, were unknown
 * models at the fallback price there (Known limits before 2026-12-04). Such an id is priced as the
 * id without its version (Vertex bills Claude at Anthropic's list price on the global endpoint;
 * its regional-endpoint premium is not in the id: Known limits).
 */
const VERTEX_VERSION = /@[a-z0-9._-]{1,32}$/i;

/**
 * Amazon Bedrock's own model ids: `<vendor>.<model>` (`anthropic.claude-sonnet-4-5-20250929-v1:0`,
 * `amazon.nova-pro-v1:0`, `meta.llama3-3-70b-instruct-v1:0`, `deepseek.r1-v1:0`,
 * `openai.gpt-oss-120b-1:0`), optionally behind a cross-region inference profile's geography
 * (`us.`, `eu.`, `apac.`, `jp.`, `au.`, `ca.`, `global.`, `us-gov.`) and an ARN
 * (`arn:aws:bedrock:<region>:<account>:inference-profile/…`, `…:foundation-model/…`).
 * https://docs.aws.amazon.com/bedrock/latest/userguide/models-supported.html,
 * https://docs.aws.amazon.com/bedrock/latest/userguide/inference-profiles-support.html
 */
const BEDROCK_MODEL_ID =
  /^(arn:aws[a-z-]*:bedrock:[^/\s]*\/)?((?:us|eu|apac|jp|au|ca|global|us-gov)\.)?(?:anthropic|amazon|meta|mistral|cohere|ai21|deepseek|qwen|openai|writer|moonshot|moonshotai|zai|minimax|google|nvidia)\.[a-z0-9][^/\s]*$/i;
/** A Bedrock model version (`-v1:0`, `-v2`, `-1:0`) or throughput suffix (`:0`, `:200k`). */
const BEDROCK_VERSION_SUFFIX = /(?:-v\d+(?::\d+[a-z]*)?|:\d+[a-z]*)$/i;

/**
 * The price of an Amazon Bedrock model id (`BEDROCK_MODEL_ID`) on a provider whose own list lacks
 * it: Bedrock's (the table's `aws` list, GovCloud's premium included: `govCloudLookup`), or null
 * when the id is not Bedrock's or Bedrock's list lacks it too. The id names the platform that
 * served the call, whatever the provider id in front of it: a LiteLLM proxy whose model names are
 * Bedrock ids, AWS's Bedrock Access Gateway (an OpenAI-compatible proxy that takes Bedrock ids),
 * an OpenClaw custom provider, Claude Code run on Bedrock (`CLAUDE_CODE_USE_BEDROCK`). Before
 * 2026-12-04 such calls were unknown models at the fallback price (by default $15 / $75 per 1M):
 * only `amazon-bedrock` and a `bedrock/` prefix reached Bedrock's list (omnigent-ai/omnigent#5663,
 * NousResearch/hermes-agent#50295: "Cross-region inference-profile prefix not normalized"). Only
 * ids with Bedrock's shape beyond the vendor's dot (an ARN, a cross-region geography or a version
 * suffix such as `-v1:0`), so another platform's `meta.llama-3.1-70b-instruct` (Oracle's) is not
 * taken for Bedrock's.
 */
function bedrockModelLookup(model: string, atMs: number): TableLookup | null {
  const m = model.trim();
  const shape = BEDROCK_MODEL_ID.exec(m);
  if (shape === null) return null;
  if (shape[1] === undefined && shape[2] === undefined && !BEDROCK_VERSION_SUFFIX.test(m)) return null;
  const gov = govCloudLookup("aws", m, atMs);
  if (gov !== null) return gov;
  const found = findTableEntry("aws", m, atMs, false);
  return found.info !== undefined ? found : null;
}

/**
 * Table providers whose own list may fall back to the model author's price for a `vendor/model`
 * id it lacks: routers that bill a first-party model at its maker's price (OpenRouter: "the same
 * price as the underlying provider", and creditgate's other OpenRouter rules, `makerOf`).
 */
const VENDOR_PRICED_ROUTERS: ReadonlySet<string> = new Set(["openrouter"]);

/**
 * The table provider whose price a `vendor/model` id's vendor prefix (`moonshotai` of
 * `moonshotai/Kimi-K2.6`) names for a call on `providerId`, or null when that prefix must not
 * price it. The author's own price holds behind a provider the table does not know (a LiteLLM
 * proxy, Vercel AI Gateway, an OpenClaw custom provider: `providerId` null), on the author's own
 * provider (`moonshot` + `moonshotai/kimi-k2.5`) and on a router (`VENDOR_PRICED_ROUTERS`). Not on
 * an inference host the table knows (Together, Groq, Fireworks, Cerebras, Baseten, Novita, …, or
 * a platform such as Vertex AI's model garden): it runs the open-weight model itself at its own
 * price, which its list lacks, so the call is an unknown model there (`auto` bills OpenClaw's
 * estimate, from OpenClaw's catalog of that host). Before 2026-12-03 such a call was priced at the
 * author's API price: Together's `moonshotai/Kimi-K2.6` (OpenClaw's default Together model,
 * $1.20 / $4.50, cache read $0.20 per 1M in OpenClaw's Together catalog) at Moonshot's $0.95 /
 * $4 / $0.16, and `openai/gpt-oss-120b` at the table's `openai` entry, $0.039 / $0.18 (Together:
 * $0.15 / $0.60): case `test/cases/host-provider-vendor-price`.
 */
function vendorPriceId(providerId: string | null, vendor: string): string | null {
  const vendorId = tableProviderId(vendor);
  if (vendorId === null || providerId === null || vendorId === providerId) return vendorId;
  return VENDOR_PRICED_ROUTERS.has(providerId) ? vendorId : null;
}

/**
 * The price supplement's lookup of a model the table does not know (see `price-supplement.ts`),
 * on the call's own table provider and, for a `vendor/model` id, on the vendor's (where its
 * prefix may price the call: `vendorPriceId`): another name of
 * a table entry (priced as that entry, a marked copy of its rates), else a supplement price. null
 * when neither list has the name.
 */
function supplementLookup(providerId: string | null, model: string, atMs: number): TableLookup | null {
  const m = model.trim();
  const slash = m.indexOf("/");
  const tries: [string, string][] = [];
  if (providerId) tries.push([providerId, m]);
  let vendorId = slash > 0 ? vendorPriceId(providerId, m.slice(0, slash)) : null;
  // A vendor prefix only the supplement knows (`qwen/`, `dashscope/`: Model Studio), where a
  // vendor's price holds (`vendorPriceId`): behind a provider the table does not know, on the
  // vendor's own provider, or on a router.
  const only = slash > 0 && vendorId === null ? supplementOnlyId(m.slice(0, slash)) : null;
  if (only !== null && (providerId === null || providerId === only || VENDOR_PRICED_ROUTERS.has(providerId)))
    vendorId = only;
  if (vendorId) tries.push([vendorId, m.slice(slash + 1)]);
  for (const [id, name] of tries) {
    const same = tableNameOf(id, name);
    if (same !== undefined) {
      const found = findTableEntry(id, same, atMs, false);
      if (found.info !== undefined)
        return found.rates ? { ...found, rates: markSupplement(found.rates) } : found;
    }
    const price = supplementPrice(id, name);
    // A model free on its maker's own API is not free through someone else's gateway (Vercel
    // charges for `zai/glm-4.7-flash`): there it stays unknown (OpenClaw's estimate, or fallback).
    if (price !== null && (id === providerId || !isFree(price.rates))) {
      // A price from a date (GitHub Copilot's per-token billing from 2026-06-01): before it the
      // model stays unknown; the rates switch then (so the cache tells the two sides apart).
      // A launch price before a date (Gemini 4 Argon's through 2026-11-30): the rates switch then.
      if (price.launch !== undefined)
        return {
          rates: atMs < price.launch.untilMs ? price.launch.rates : price.rates,
          info: price.info,
          switchAtMs: price.launch.untilMs,
        };
      if (price.fromMs !== undefined)
        return {
          rates: atMs >= price.fromMs ? price.rates : null,
          info: price.info,
          switchAtMs: price.fromMs,
        };
      return { rates: price.rates, info: price.info };
    }
  }
  return null;
}

/**
 * The model makers' own price lists in the supplement (not a platform's: GitHub Copilot's,
 * Azure's), tried for a bare id behind a provider the table does not know.
 */
const SUPPLEMENT_MAKERS: readonly string[] = [
  "anthropic",
  "openai",
  "google",
  "x-ai",
  "zai",
  "mistral",
  "alibaba",
];

/**
 * The supplement's price of a bare model id (no `vendor/` prefix) behind a provider the table does
 * not know (a LiteLLM proxy, an OpenClaw custom provider pointed at the maker's API), by its maker's
 * list, as the bundled table's own model-name match prices a bare `kimi-k2.5` or `glm-5.2` there at
 * its maker's price. Before 2026-12-04 only a `vendor/model` id reached the supplement behind such
 * a provider, so a bare `glm-4.6` or `qwen3-max` (ccusage/ccusage#656: "GLM-4.5 … pricing is not
 * properly supported … When model name is \"glm-4.5\"") was an unknown model at the fallback price
 * while `glm-5.2` was priced. A model free on its maker's API stays unknown here (`supplementLookup`:
 * free only on the maker's own provider). null when no maker's list has the name.
 */
function supplementMakerLookup(model: string, atMs: number): TableLookup | null {
  if (model.includes("/")) return null;
  for (const maker of SUPPLEMENT_MAKERS) {
    const found = supplementLookup(maker, model, atMs);
    if (found === null) continue;
    // free on the maker's own API only (`supplementLookup` priced it as on that provider)
    if (found.rates !== null && isFree(found.rates)) return null;
    return found;
  }
  return null;
}

/** Whether every token rate of `rates` is 0 (a free model). */
function isFree(r: ModelRates): boolean {
  return [r.input, r.output, r.cacheRead, r.cacheWrite, r.cacheWrite1h].every(
    (t) => t.base === 0n && t.tiers.every((x) => x.rate === 0n),
  );
}

/**
 * An OpenAI fine-tuned model (`ft:<base>:…`, see `fine-tuned.ts`) on OpenAI, or behind an unknown
 * provider as `openai/ft:…`: its fine-tuned price list entry where the table has none for the id,
 * or has one at the same rates without a cached-input price; null otherwise (the table's own
 * lookup stands, including an entry a later table release prices differently).
 */
function fineTunedLookup(providerId: string | null, model: string, direct: TableLookup): TableLookup | null {
  const onOpenAI =
    providerId === "openai" || (providerId === null && model.trim().toLowerCase().startsWith("openai/"));
  const entry = onOpenAI ? fineTunedEntry(model) : null;
  if (entry === null) return null;
  if (direct.info === undefined) return { rates: entry.rates, info: entry.info };
  if (direct.rates && tableLacksFineTunedCachePrice(direct.rates, entry.rates)) {
    return { rates: entry.rates, info: direct.info };
  }
  return null;
}

/**
 * The table's price list of the Hugging Face Inference Providers backend a `huggingface` call's
 * model id names with a `:<provider>` suffix, and the id without it; null otherwise. Hugging
 * Face's router takes `<org>/<model>:<provider>` (`deepseek-ai/DeepSeek-R1:novita`,
 * `openai/gpt-oss-120b:groq`) to run the model on that backend, billed at the backend's own rates
 * (https://huggingface.co/docs/inference-providers/pricing), and OpenClaw's `huggingface` provider
 * passes such ids through; the bundled table lists those rates per backend
 * (`huggingface_novita`, `huggingface_groq`, …). Before 2026-12-03 the suffix was not read: the
 * id was an unknown model (OpenClaw's estimate, or the fallback). `:cheapest` / `:fastest` pick a
 * backend per call and name no price list: null.
 */
export function huggingFaceBackend(
  provider: string,
  model: string,
): { readonly providerId: string; readonly model: string } | null {
  if (provider.trim().toLowerCase() !== "huggingface") return null;
  const m = /^([^:/]+\/[^:]+):([a-z0-9-]+)$/i.exec(model.trim());
  if (!m?.[1] || !m[2]) return null;
  const id = findProvider({ providerId: `huggingface_${m[2].toLowerCase()}` })?.id;
  return id?.startsWith("huggingface_") ? { providerId: id, model: m[1] } : null;
}

/**
 * OpenRouter's routing variants, a `:<variant>` suffix on a model slug that picks WHICH upstream
 * serves the call, not what a token costs: `:nitro` ("exactly equivalent to setting
 * `provider.sort` to `throughput`"), `:floor` (`provider.sort: "price"`), `:exacto` (a curated
 * provider set), `:online` (the model plus web search, whose results OpenRouter bills apart from
 * the tokens). https://openrouter.ai/docs/guides/routing/model-variants/. The table lists few such
 * slugs, so a call to `openai/gpt-4o:online` was an unknown model billed at the fallback rates (by
 * default Claude Opus's), and `:nitro`/`:floor` ids are unknown to tools that match exact slugs
 * (simonw/llm#750, simonw/llm-openrouter#20). A variant the table does list keeps the table's own
 * price; `:free` is free (`OPENROUTER_FREE_RATES`); `:extended` and `:thinking` are other models
 * (their own context or price) and are not stripped.
 */
const OPENROUTER_ROUTING_VARIANT = /:(?:nitro|floor|exacto|online)$/i;

/** The model slug without its OpenRouter routing variant, or null when it has none. */
function openRouterVariantBase(model: string): string | null {
  const m = model.trim();
  return OPENROUTER_ROUTING_VARIANT.test(m) ? m.replace(OPENROUTER_ROUTING_VARIANT, "") : null;
}

/**
 * A model id written as a Google / Vertex AI resource name, `models/<id>` (the Gemini API's own
 * `name`, e.g. `models/gemini-2.5-flash`), `publishers/<publisher>/models/<id>` or
 * `projects/<p>/locations/<l>/publishers/<publisher>/models/<id>` (Vertex AI), names the model
 * `<id>` (an `@version` suffix kept: the table reads `claude-sonnet-4-5@20250929`). Such ids
 * reach transcripts from a model configured by the name the API lists; no table entry spells
 * them, so before, the call was an unknown model billed at the fallback rates (by default Claude
 * Opus's $15 / $75 per 1M). null when `model` is not such a name.
 */
const MODEL_RESOURCE_NAME =
  /^(?:projects\/[^/]+\/locations\/[^/]+\/)?(?:publishers\/[^/]+\/)?models\/([^/]+)$/i;

export function modelResourceBase(model: string): string | null {
  const m = MODEL_RESOURCE_NAME.exec(model.trim());
  return m?.[1] ? m[1] : null;
}

/**
 * OpenClaw's Claude CLI backend model ids with a version, `<family>-<major>.<minor>` (or
 * `-<major>-<minor>`, `-<major>`): `claude-cli/opus-4.6` is the model ref OpenClaw's own docs start
 * with (docs/gateway/cli-backends.md: `openclaw agent --message "hi" --model claude-cli/opus-4.6`),
 * and its `CLAUDE_MODEL_ALIASES` accept `opus-4.6`, `opus-4.5`, `opus-4`, `sonnet-4.6`,
 * `sonnet-4.5`, `sonnet-4.0`, `haiku-3.5`, …, each passed to the CLI as `--model opus` /
 * `sonnet` / `haiku`. The transcript line keeps the id as configured (`persistCliTurnTranscript`
 * writes `agentMeta.model`, the run's `modelId`), and no price table spells it, so such a call was
 * an unknown model billed at the fallback rates (by default Claude Opus 4's $15 / $75 per 1M: 3×
 * Opus 4.6's $5 / $25, 5× Sonnet's, 15× Haiku 4.5's; the same fallback in jgravelle/jcodemunch-mcp#77,
 * phuryn/claude-usage#134). Named here as Anthropic's id: `claude-<family>-<major>-<minor>`
 * (`claude-<major>-<minor>-<family>` before Claude 4: `haiku-3.5` is `claude-3-5-haiku`); a
 * `[1m]` suffix is dropped (the context window is priced by the call's own input). The bare
 * aliases (`opus`, `sonnet`, `haiku`) name whichever model the CLI maps them to at the time and
 * stay unknown. null when `model` is no such name.
 */
/**
 * A model id whose version is written with the other separator, or null when it has none: dots
 * between digits as dashes (`x-ai/grok-4.1-fast` → `x-ai/grok-4-1-fast`, OpenRouter's spelling of
 * xAI's `grok-4-1-fast`), else a dash between two one-digit numbers as a dot (`gemini-2-5-flash` →
 * `gemini-2.5-flash`). Makers and routers spell the same version both ways and the table holds one
 * (a tester found `grok-4.1-fast` billed at the fallback rates: $3.075 for a $0.081 call). Tried
 * only for an id the table does not know, so it never changes a known model's price.
 */
export function versionRespelled(model: string): string | null {
  const dashed = model.replace(/(?<=\d)\.(?=\d)/g, "-");
  if (dashed !== model) return dashed;
  const dotted = model.replace(/(?<=(?:^|[^\d])\d)-(?=\d(?:$|[^\d]))/g, ".");
  return dotted !== model ? dotted : null;
}

/**
 * The Gemini API names of a Gemini model id the table does not know, to try in order: without a
 * thinking-level suffix (`-high`, `-low`, `-medium`, `-minimal`), then that with `-preview`.
 * OpenClaw's Google Antigravity provider (`google-antigravity`, pi-ai's catalog) writes Gemini
 * models as Antigravity names them: `gemini-3.1-pro-high` / `gemini-3.1-pro-low` (Gemini 3.1 Pro
 * Preview at a high or low thinking level; `gemini-3-pro-high` / `-low` before it) and
 * `gemini-3-flash` (Gemini 3 Flash Preview); OpenCode Zen writes `gemini-3-pro`, `gemini-3-flash`,
 * `gemini-3.1-pro`. No table entry spells them, so such calls were unknown models: `auto` billed
 * OpenClaw's estimate, whose catalog prices Antigravity's `gemini-3-flash` cache reads at its
 * input rate ($0.50 per 1M, 10× Gemini's $0.05) and Gemini 3.1 Pro flat (no >200K tier), and
 * `calculate` the fallback. A thinking level is billed as output tokens, not a price: the model's
 * own entry prices it. Empty for an id that is no `gemini-…` name (or has nothing to strip/add).
 */
export function geminiApiNames(model: string): string[] {
  const m = model.trim();
  // a vendor prefix (`gemini/gemini-3-flash` through a LiteLLM proxy) is kept
  const slash = m.lastIndexOf("/");
  const prefix = m.slice(0, slash + 1);
  const id = m.slice(slash + 1);
  if (!/^gemini-/i.test(id)) return [];
  const base = id.replace(/-(?:high|low|medium|minimal)$/i, "");
  const names = base === id ? [] : [base];
  if (!/-preview(?:$|-)/i.test(base)) names.push(`${base}-preview`);
  return names.map((n) => prefix + n);
}

/** An OpenAI reasoning model id (GPT-5.x, Codex, o-series) with a reasoning effort after it. */
const OPENAI_EFFORT_SUFFIX =
  /^((?:[a-z0-9_.-]+\/)?(?:gpt-5[a-z0-9.-]*?|o[134](?:-mini|-pro)?|codex-mini-latest))(?:-(?:none|minimal|low|medium|high|xhigh)|\((?:none|minimal|low|medium|high|xhigh)\))$/i;

/**
 * The OpenAI model an id names when it carries a reasoning effort as a suffix, as OpenAI-compatible
 * relays of ChatGPT / Codex subscriptions list their models so a client can pick the effort by
 * model name: `gpt-5-codex-high`, `gpt-5-codex-medium` (router-for-me/CLIProxyAPI#482, later
 * `gpt-5-codex(high)`), `gpt-5.1-codex-high` (letta-ai/letta-code#97), `gpt-5.2-none`
 * (numman-ali/opencode-openai-codex-auth#62), `gpt-5.1-codex-max-xhigh`. Through an OpenClaw custom
 * provider that name is the line's `model`; no table entry spells it, so such calls were unknown
 * models at the fallback price (Opus 4's $15 / $75 per 1M, 12× GPT-5's $1.25 input). The effort
 * is not a price: its reasoning tokens are output tokens, billed at the model's own output rate.
 * Only for GPT-5.x, o1 / o3 / o4 (`-mini`, `-pro`) and `codex-mini-latest`, a vendor prefix kept;
 * tried only when the table does not know the id (ChatGPT's `o4-mini-high`, a table entry of its
 * own, keeps it). Null for any other id.
 */
export function openAiEffortBase(model: string): string | null {
  const m = OPENAI_EFFORT_SUFFIX.exec(model.trim());
  return m?.[1] ? m[1] : null;
}

/**
 * A thinking-mode marker at the end of a model id: `-thinking`, `:thinking`, `-think`,
 * ` (thinking)`, their negations (`-nothinking`, `-non-thinking`, `-no-thinking`), and a thinking
 * budget or level after it (`-thinking-512`, `-thinking-32k`, `-thinking-high`).
 */
const THINKING_MODE_SUFFIX =
  /(?:[-:](?:no-?|non-?)?think(?:ing)?(?:-(?:\d+k?|none|minimal|low|medium|high|xhigh|max))?|\s*\((?:no-?|non-?)?thinking\))$/i;

/**
 * Model families whose thinking (reasoning) is a mode of the one model at the model's own prices,
 * billed as output tokens: Claude, Gemini 2.5 and later, GPT-5.x and o1 / o3 / o4, Grok 3 and
 * later, GLM-4.5 and later, Kimi K2.5 and later (a vendor prefix allowed). Qwen's `-thinking`
 * models and Moonshot's `kimi-k2-thinking` are models of their own at their own prices, and are
 * not listed.
 */
const THINKING_MODE_FAMILY =
  /^(?:[a-z0-9_.-]+\/)*(?:claude-|gemini-(?:2\.5|[3-9])|gpt-5|o[134](?:$|-)|grok-[3-9]|glm-(?:4\.[5-9]|[5-9])|kimi-k2\.[5-9])/i;

/**
 * The model an id names when a proxy or client appended a thinking-mode marker to it, as
 * OpenAI-compatible relays list one model per thinking setting: `gemini-2.5-flash-thinking` /
 * `-nothinking` (snailyp/gemini-balance#48), `gemini-3-pro-preview-thinking-512`
 * (akl7777777/shell-api#3), `ollama/gemini-2.5-flash-thinking` and `claude-opus-4-6-thinking`
 * (kittors/CliRelay#972: "未定价", unpriced), `glm-4.7:thinking` and `kimi-k2.6:thinking`
 * (getagentseal/codeburn#629: 599.6M tokens at $0), Cursor's `claude-opus-4-8-thinking-high`
 * (braintrustdata/braintrust-proxy#964). Through an OpenClaw custom provider that name is the
 * transcript line's `model`; the bundled table matches Claude ids by prefix, so Claude's were
 * priced, but a Gemini, GPT-5, Grok, GLM or Kimi id so named was an unknown model (the fallback
 * price in `calculate`: Opus 4's $15 / $75 per 1M, 50× Gemini 2.5 Flash's $0.30 input; in `auto`
 * OpenClaw's estimate, $0 for a custom provider's model without a configured cost). Thinking is
 * no price of its own on these families (Google's list "not split based on thinking mode" since
 * Gemini 2.5 GA: simonw/llm-prices#28; OpenAI, xAI, Anthropic bill reasoning as output): the
 * model's own entry prices it. Gemini 2.5 Flash's 2025 previews, whose thinking output had its own
 * price ($3.50 per 1M), are left out (the table lists their `:thinking` entries by that name).
 * Tried only when the table does not know the id. null for any other id.
 */
export function thinkingModeBase(model: string): string | null {
  const m = model.trim();
  const base = m.replace(THINKING_MODE_SUFFIX, "");
  if (base === m || !THINKING_MODE_FAMILY.test(base)) return null;
  if (/gemini-2\.5-flash-preview(?!-09-2025)/i.test(base)) return null;
  return base;
}

/**
 * The Moonshot name of a Kimi model id spelled with `p` for the version's dot, as Kimi Code's API
 * and OpenClaw's `kimi-coding` provider write it: `k2p5` / `kimi-k2p5` → `kimi-k2.5` (a suffix
 * kept: `k2p5-thinking` → `kimi-k2.5-thinking`). OpenClaw's Kimi Coding provider (a Kimi Code
 * subscription, `KIMI_API_KEY`, `https://api.kimi.com/coding/v1`) defaults to `kimi-coding/k2p5`,
 * which its catalog prices at $0 and no table entry spells, so every call was an unknown model at
 * the fallback rates (Claude Opus's $15 / $75 per 1M). A subscription backend is billed at its
 * model's list price, as `openai-codex` (ChatGPT plan) at OpenAI's, Claude CLI turns at
 * Anthropic's and GitHub Copilot at GitHub's per-token rates: here Moonshot's Kimi K2.5, the
 * table's `kimi-k2.5` ($0.60 / $3, cache $0.10), which `kimi-coding/kimi-k2.5` already got. Tried on
 * a provider the table does not know and on Moonshot's own; null for any other id.
 */
export function kimiDottedName(model: string): string | null {
  const m = /^(?:kimi-)?k(\d+)p(\d+)((?:-[a-z0-9.-]+)?)$/i.exec(model.trim());
  return m?.[1] && m[2] ? `kimi-k${m[1]}.${m[2]}${m[3] ?? ""}`.toLowerCase() : null;
}

const CLAUDE_SHORT_NAME = /^(opus|sonnet|haiku)-(\d+)(?:[.-](\d+))?(?:\[1m\])?$/i;

/** `claude-<major>[.-<minor>]-<family>[-<suffix>]`, a vendor prefix kept (`claudeVersionFirstModel`). */
const CLAUDE_VERSION_FIRST =
  /^((?:[a-z0-9_.-]+\/)?)claude-(\d)(?:[.-](\d))?-(opus|sonnet|haiku)((?:[-@[].*)?)$/i;

/**
 * The Anthropic model id of a Claude 4-or-later id spelled with the version BEFORE the family, as
 * Claude 3.x ids were (`claude-3-5-sonnet`): `claude-4.5-sonnet` → `claude-sonnet-4-5`,
 * `claude-4-1-opus-20250805` → `claude-opus-4-1-20250805`, `claude-4.6-sonnet-thinking` →
 * `claude-sonnet-4-6-thinking`, a vendor prefix kept (`anthropic/claude-4.5-sonnet` →
 * `anthropic/claude-sonnet-4-5`). Cursor's usage events and model list name Claude so
 * (`claude-4.5-sonnet`, `claude-4.5-sonnet-thinking`, `claude-4.6-opus`), and so do relays and
 * proxies that copy those names; the bundled table matches a few such spellings (`claude-4-sonnet`,
 * `claude-4.5-opus`, `claude-4.5-haiku`, `claude-4.6-opus`, `claude-5-sonnet`) but not Sonnet 4.5 /
 * 4.6 nor Opus 4.1, which were unknown models at the fallback price (Opus 4's $15 / $75: 5× Sonnet).
 * Null for any other id, and for Claude 3.x (`claude-3-5-sonnet` is Anthropic's own id).
 */
export function claudeVersionFirstModel(model: string): string | null {
  const m = CLAUDE_VERSION_FIRST.exec(model.trim());
  if (!m?.[2] || !m[4] || Number(m[2]) < 4) return null;
  const version = m[3] === undefined ? m[2] : `${m[2]}-${m[3]}`;
  return `${m[1] ?? ""}claude-${m[4]}-${version}${m[5] ?? ""}`.toLowerCase();
}

export function claudeShortNameModel(model: string): string | null {
  const m = CLAUDE_SHORT_NAME.exec(model.trim());
  if (!m?.[1] || !m[2]) return null;
  const family = m[1].toLowerCase();
  const version = m[3] === undefined ? m[2] : `${m[2]}-${m[3]}`;
  return Number(m[2]) < 4 ? `claude-${version}-${family}` : `claude-${family}-${version}`;
}

/**
 * One table search for `model` (see `findTablePriceUncached` for the order); `vendor: false`
 * searches the call's own provider only.
 */
function findTableEntry(providerId: string | null, model: string, atMs: number, vendor = true): TableLookup {
  const slash = model.indexOf("/");
  const vendorId = vendor && slash > 0 ? vendorPriceId(providerId, model.slice(0, slash)) : null;
  const tries: [string | undefined, string][] = [];
  if (providerId) tries.push([providerId, model]);
  if (vendorId) tries.push([vendorId, model.slice(slash + 1)]);
  if (!providerId && !vendorId) tries.push([undefined, model]);
  for (const [id, name] of tries) {
    const found = tableModelPrice(id, name, atMs);
    if (found === null) return { rates: null, info: null };
    if (found !== undefined) {
      // A price the entry lacks for the time before a date (`EARLIER_PRICES`).
      const era = findEarlierPrice(found.providerId, found.info.id);
      if (era !== undefined) return earlierPriceLookup(found, era, atMs);
      // A platform that changed the maker's price on a later date (`PLATFORM_PRICE_DATES`): in
      // between, its calls are priced at the entry's price before the maker's change.
      const lag = platformPriceWindow(found.providerId, found.info);
      if (lag !== undefined) {
        if (atMs >= lag.makerFromMs && atMs < lag.fromMs) {
          const before = tableModelPrice(id, name, lag.makerFromMs - 1);
          if (before === null) return { rates: null, info: null };
          const earlier = before && correctedTableRates(before.price, before.providerId, before.info.id);
          return { rates: earlier ? platformDated(earlier) : null, info: found.info, switchAtMs: lag.fromMs };
        }
        const rates = correctedTableRates(found.price, found.providerId, found.info.id);
        return { rates, info: found.info, switchAtMs: lag.fromMs };
      }
      let rates = correctedTableRates(found.price, found.providerId, found.info.id);
      // A Mistral entry without a cache-read price: Mistral's rule for every model (`mistralCacheRates`).
      if (rates && found.providerId === "mistral" && found.price.cache_read_mtok === undefined)
        rates = mistralCacheRates(rates);
      // A long-context premium the provider ended on a date (`PREMIUM_ENDS`): the entry's tiers
      // stop applying then. The rates depend on which side of that date the call is.
      const end = rates ? premiumEndMs(found.providerId, found.info.id) : undefined;
      const flat = end !== undefined && rates ? flatOf(rates) : null;
      if (flat && end !== undefined) {
        if (atMs >= end) rates = flat;
        return { rates, info: found.info, switchAtMs: end };
      }
      // A router's own entry for a `vendor/model` id: its missing cache prices are the maker's.
      const maker =
        id !== undefined && id === providerId && CACHE_PASSING_ROUTERS.has(found.providerId)
          ? makerOf(model, found.providerId)
          : null;
      if (rates && maker) {
        const made = tableModelPrice(maker.providerId, maker.model, atMs);
        if (made === null) return { rates: null, info: null };
        if (made) {
          const withCache = lacksCachePrice(found.price)
            ? withMakerCachePrices(found.price, rates, made.price)
            : null;
          // The maker's long-context tiers where the router lists the same base price flat.
          const makerRates = makerRatesAt(made, atMs);
          const withTiers = makerRates && withMakerTiers(withCache ?? rates, makerRates);
          const out = withTiers ?? withCache;
          if (out) {
            // The maker's price may change over time (a start date, a premium's end) where the
            // router's does not.
            const timeDependent =
              Array.isArray(made.info.prices) || premiumEndMs(made.providerId, made.info.id) !== undefined;
            return { rates: out, info: found.info, timeDependent };
          }
        }
      }
      return { rates, info: found.info };
    }
  }
  return { rates: null, info: undefined };
}

/**
 * The lookup of a table entry with an earlier price (`EARLIER_PRICES`): before its date, and while
 * the table's own price then is the one the entry corrects, the earlier price (the entry's other
 * prices kept; a marked copy, so its rows carry the corrections' version); else the table's. The
 * rates switch at the date on either side, so the lookup cache keeps the two eras apart.
 */
function earlierPriceLookup(
  found: { price: ModelPrice; info: ModelInfo; providerId: string },
  era: EarlierPrice,
  atMs: number,
): TableLookup {
  const untilMs = new Date(era.until).getTime();
  const p = found.price;
  const [input, cacheRead, output] = era.table;
  const sameAsTable =
    p.input_mtok === Number(input) &&
    p.cache_read_mtok === Number(cacheRead) &&
    p.output_mtok === Number(output);
  if (atMs < untilMs && sameAsTable) {
    let earlier = earlierPriceObjects.get(p);
    if (earlier === undefined) {
      const [i, r, o] = era.usd;
      earlier = { ...p, input_mtok: Number(i), cache_read_mtok: Number(r), output_mtok: Number(o) };
      earlierPriceObjects.set(p, earlier);
    }
    const rates = correctedTableRates(earlier, found.providerId, found.info.id);
    return { rates: rates ? platformDated(rates) : null, info: found.info, switchAtMs: untilMs };
  }
  return {
    rates: correctedTableRates(p, found.providerId, found.info.id),
    info: found.info,
    switchAtMs: untilMs,
  };
}
/** The earlier price object per table price object (so `tableRates` converts each once). */
const earlierPriceObjects = new WeakMap<ModelPrice, ModelPrice>();

/**
 * A marked copy of a table price priced on a platform's own date (`platformPriceWindow`) or at an
 * earlier price (`earlierPriceLookup`), once per rates object.
 */
const platformDatedCopies = new WeakMap<ModelRates, ModelRates>();
function platformDated(rates: ModelRates): ModelRates {
  let copy = platformDatedCopies.get(rates);
  if (copy === undefined) {
    copy = { ...rates };
    correctedRates.add(copy);
    platformDatedCopies.set(rates, copy);
  }
  return copy;
}

/** `withoutTiers` per rates object, once each; the flat rates carry the corrections' version. */
const flatCache = new WeakMap<ModelRates, ModelRates | null>();
function flatOf(rates: ModelRates): ModelRates | null {
  let flat = flatCache.get(rates);
  if (flat === undefined) {
    flat = withoutTiers(rates);
    if (flat) correctedRates.add(flat);
    flatCache.set(rates, flat);
  }
  return flat;
}

/**
 * Table providers that route to the maker and bill caching at the maker's rates (OpenRouter:
 * openrouter.ai/docs/features/prompt-caching). Hosts that run their own copy of a model
 * (Hugging Face providers, DoubleWord...) set their own cache prices, so theirs are not borrowed.
 */
const CACHE_PASSING_ROUTERS: ReadonlySet<string> = new Set(["openrouter"]);

/**
 * The maker's table provider and bare model of a router's `vendor/model` id (`anthropic/claude-3.7-sonnet`
 * on `openrouter` → `anthropic`, `claude-3.7-sonnet`), or null when the prefix names no table
 * provider, or the router itself.
 */
function makerOf(model: string, routerId: string): { providerId: string; model: string } | null {
  const slash = model.indexOf("/");
  if (slash <= 0) return null;
  const providerId = tableProviderId(model.slice(0, slash));
  return providerId === null || providerId === routerId
    ? null
    : { providerId, model: model.slice(slash + 1) };
}

/** Whether a table price lists no cache read or no cache write price (either is then billed at input). */
function lacksCachePrice(price: ModelPrice): boolean {
  return price.cache_read_mtok === undefined || price.cache_write_mtok === undefined;
}

/** Rates that took their missing cache prices from the maker's entry (see `withMakerCachePrices`). */
const makerCacheRates = new WeakSet<ModelRates>();
/** Rates whose cache-read price is the provider's documented share of input (`mistralCacheRates`). */
const providerCacheRates = new WeakSet<ModelRates>();
const mistralCacheCopies = new WeakMap<ModelRates, ModelRates>();

/**
 * Mistral's rates for an entry of the bundled table that lists no cache-read price: cached prompt
 * tokens at 10 % of the input price, Mistral's rule for every model ("Cached prompt tokens are
 * billed at 10% of the standard input token price",
 * https://docs.mistral.ai/studio-api/conversations/advanced/prompt-caching). The table lists a
 * cache-read price for a few Mistral entries (`mistral-large-2512` $0.50 / $0.05, `mistral-medium-latest`)
 * and none for most (`mistral-small-latest`, `codestral`, `devstral-small`, `magistral-*`,
 * `ministral-*`, `pixtral-*`), whose cached tokens were billed at the full input price, 10× (case
 * `test/cases/mistral-cache-read-price-gap`). A tiered input keeps its tiers at a tenth. Rows say
 * so (`price_version` `…+provider-cache`); an override still wins.
 */
function mistralCacheRates(rates: ModelRates): ModelRates {
  let copy = mistralCacheCopies.get(rates);
  if (copy === undefined) {
    const tenth = (v: bigint): bigint => divRoundHalfUp(v, 10n);
    copy = {
      ...rates,
      cacheRead: {
        base: tenth(rates.input.base),
        tiers: rates.input.tiers.map((t) => ({ above: t.above, rate: tenth(t.rate) })),
      },
    };
    providerCacheRates.add(copy);
    mistralCacheCopies.set(rates, copy);
  }
  return copy;
}

/** `withMakerCachePrices` results per router price, then per maker price (both immutable table data). */
const withMakerCache = new WeakMap<ModelPrice, WeakMap<ModelPrice, ModelRates | null>>();

/**
 * A router's rates (`routerRates`, converted from `router`) with the cache prices its entry lacks
 * taken from the maker's own entry for the same model (`maker`), when the two list the same input
 * and output prices: the router passes the maker's price through, cache prices included. OpenRouter
 * bills prompt caching at the upstream provider's cache rates ("Anthropic: cache writes 1.25x, cache
 * reads 0.1x the original input pricing; OpenAI: cache reads 0.25x or 0.50x",
 * https://openrouter.ai/docs/features/prompt-caching), but the bundled table lists many of its
 * entries with input and output prices only (`anthropic/claude-3.7-sonnet`, `openai/gpt-4o`, …), so
 * their cache reads were billed at the full input price: 10× over for Claude, 2× for GPT-4o (the
 * kind of mozilla-ai/otari#356, BerriAI/litellm#35127, continuedev/continue#13104). A price the
 * router's entry does list is kept; when the maker's input or output differs (another upstream,
 * another price) nothing is borrowed and a missing cache price stays the input price, as before.
 * null when nothing changes.
 */
function withMakerCachePrices(
  router: ModelPrice,
  routerRates: ModelRates,
  maker: ModelPrice,
): ModelRates | null {
  let byMaker = withMakerCache.get(router);
  if (!byMaker) {
    byMaker = new WeakMap();
    withMakerCache.set(router, byMaker);
  }
  const hit = byMaker.get(maker);
  if (hit !== undefined) return hit;
  const made = tableRates(maker);
  let out: ModelRates | null = null;
  if (
    made &&
    maker.input_mtok !== undefined &&
    maker.output_mtok !== undefined &&
    sameRate(made.input, routerRates.input) &&
    sameRate(made.output, routerRates.output)
  ) {
    const read = router.cache_read_mtok === undefined && maker.cache_read_mtok !== undefined;
    const write = router.cache_write_mtok === undefined && maker.cache_write_mtok !== undefined;
    const write1h = router.cache_write_1h_mtok === undefined && maker.cache_write_1h_mtok !== undefined;
    if (read || write || write1h) {
      out = {
        ...routerRates,
        cacheRead: read ? made.cacheRead : routerRates.cacheRead,
        cacheWrite: write ? made.cacheWrite : routerRates.cacheWrite,
        cacheWrite1h: write1h ? made.cacheWrite1h : routerRates.cacheWrite1h,
      };
      makerCacheRates.add(out);
    }
  }
  byMaker.set(maker, out);
  return out;
}

/** The maker entry's rates at `atMs`: its price corrections, its tiers dropped after a premium's end. */
function makerRatesAt(
  made: { price: ModelPrice; info: ModelInfo; providerId: string },
  atMs: number,
): ModelRates | null {
  const rates = correctedTableRates(made.price, made.providerId, made.info.id);
  const end = rates ? premiumEndMs(made.providerId, made.info.id) : undefined;
  if (rates && end !== undefined && atMs >= end) return flatOf(rates) ?? rates;
  return rates;
}

/** `withMakerTiers` results per router rates, then per maker rates (both cached, immutable). */
const withMakerTiersCache = new WeakMap<ModelRates, WeakMap<ModelRates, ModelRates | null>>();
/** Rates that took a long-context tier from the maker's entry (see `withMakerTiers`). */
const makerTierRates = new WeakSet<ModelRates>();

/**
 * A router's rates with the long-context tiers of the maker's own entry added to every price the
 * router lists FLAT at the maker's same base price: the router passes the maker's price through,
 * tier included, but the bundled table lists some of its entries at the base rates only.
 * OpenRouter bills a request above the maker's threshold at the maker's long-context rates (its
 * models API carries them as `pricing.overrides[]` with `min_prompt_tokens`, "raises rates for the
 * whole request once the billed prompt token count crosses the threshold",
 * NousResearch/hermes-agent#109976), yet the table's `google/gemini-2.5-pro` and
 * `google/gemini-3.1-pro-preview` are flat, so a 250K-token prompt was billed at the ≤200K rates
 * (half the input, two thirds of the output). Only when the maker's input is tiered and the two
 * list the same base input and output; a price whose base differs (another figure of the router's
 * own, e.g. OpenRouter's Gemini cache writes) or that the router already tiers is kept as listed.
 * null when nothing changes.
 */
function withMakerTiers(router: ModelRates, maker: ModelRates): ModelRates | null {
  let byMaker = withMakerTiersCache.get(router);
  if (!byMaker) {
    byMaker = new WeakMap();
    withMakerTiersCache.set(router, byMaker);
  }
  const hit = byMaker.get(maker);
  if (hit !== undefined) return hit;
  let out: ModelRates | null = null;
  if (
    maker.input.tiers.length > 0 &&
    router.input.tiers.length === 0 &&
    router.input.base === maker.input.base &&
    router.output.base === maker.output.base
  ) {
    let changed = false;
    const take = (r: TieredRate, m: TieredRate): TieredRate => {
      if (r.tiers.length > 0 || m.tiers.length === 0 || r.base !== m.base) return r;
      changed = true;
      return m;
    };
    const next: ModelRates = {
      ...router,
      input: take(router.input, maker.input),
      output: take(router.output, maker.output),
      cacheRead: take(router.cacheRead, maker.cacheRead),
      cacheWrite: take(router.cacheWrite, maker.cacheWrite),
      cacheWrite1h: take(router.cacheWrite1h, maker.cacheWrite1h),
    };
    if (changed) {
      out = next;
      makerTierRates.add(out);
      if (makerCacheRates.has(router)) makerCacheRates.add(out);
    }
  }
  byMaker.set(maker, out);
  return out;
}

/** Two rates with the same base and tiers. */
function sameRate(a: TieredRate, b: TieredRate): boolean {
  return (
    a.base === b.base &&
    a.tiers.length === b.tiers.length &&
    a.tiers.every((t, i) => t.above === b.tiers[i]?.above && t.rate === b.tiers[i]?.rate)
  );
}

/**
 * The model's price at `atMs` and its table entry; `undefined` when not found, `null` when the
 * package cannot evaluate it.
 */
function tableModelPrice(
  providerId: string | undefined,
  model: string,
  atMs: number,
): { price: ModelPrice; info: ModelInfo; providerId: string } | null | undefined {
  try {
    // Used ONLY to find the model and the price in effect at the call's time (start-date and
    // time-of-day constraints); the float total it computes for the empty usage is ignored.
    const timestamp = new Date(atMs);
    const r = calcPrice({}, model, { providerId, timestamp });
    if (!r) return undefined;
    if (!namesOtherProduct(model, r.model.match)) {
      return { price: r.model_price, info: r.model, providerId: r.provider.id };
    }
    // A fuzzy entry took a longer id that names another product (`otherProductSuffix`): the
    // model's own entry on a provider this one falls back to (Azure → OpenAI), else unknown.
    for (const fallback of r.provider.fallback_model_providers ?? []) {
      const f = calcPrice({}, model, { providerId: fallback, timestamp });
      if (f && f.provider.id === fallback && !namesOtherProduct(model, f.model.match)) {
        return { price: f.model_price, info: f.model, providerId: f.provider.id };
      }
    }
    return undefined;
  } catch {
    // An entry the package itself cannot evaluate counts as unknown (flagged), not as fatal.
    return null;
  }
}

/**
 * A model-id remainder that names another product than the one a fuzzy table entry matched: after
 * the entry's matched stem, a `-` / `:` (or, after others such as a date, `.`) segment naming a
 * different product (`deep-research`, `search`, `audio`, `realtime`, `transcribe`, `tts`, `image`,
 * `embedding`), a smaller tier (`lite`, `mini`, `nano`) or a parameter size (`8b`, `14b`, `1.5b`).
 */
const OTHER_PRODUCT_SUFFIX =
  /^[-:](?:.*[-:.])?(?:deep-research|search|audio|realtime|transcribe|tts|image|embedding|lite|mini|nano|\d+(?:\.\d+)?[bm])(?:[-:.]|$)/i;

/** The part of the package's `MatchLogic` this reads (see `namesOtherProduct`). */
type MatchClause = ModelInfo["match"];

/**
 * Whether a table entry whose `match` took `model` took it only by a fuzzy rule (`starts_with` /
 * `contains`; no `equals` or `regex` of it names the id) and the id goes on, past the longest stem
 * it matched, with a segment naming another product (`OTHER_PRODUCT_SUFFIX`). The bundled table
 * matches some entries by a prefix or substring, and the package takes the first entry that
 * matches, so a longer id of another, differently priced model lands on the shorter one: Azure's
 * `o4-mini` (`contains: "o4-mini"`, $1.10 / $4.40) took `o4-mini-deep-research` (OpenAI's $2 / $8),
 * Google's `gemini-1.5-flash` (`contains`, $0.075 / $0.30) took `gemini-1.5-flash-8b` (Flash-8B,
 * $0.0375 / $0.15), DeepSeek's `deepseek-reasoner` (`starts_with: "deepseek-r1"`) took the R1
 * distills (`deepseek-r1-distill-llama-70b`) and Ollama tags (`deepseek-r1:14b`). A remainder that
 * starts a new word (a family prefix ending in `-`, `gemma-3-` + `27b-it`) or names no product
 * (a date, `-latest`, `-001`, `-preview`) is the entry's own model.
 */
export function namesOtherProduct(model: string, match: MatchClause): boolean {
  const id = model.trim().toLowerCase();
  let exact = false;
  let stem: { at: number; text: string } | null = null;
  const visit = (m: MatchClause): void => {
    const c = m as Record<string, unknown>;
    if (Array.isArray(c.or)) for (const x of c.or) visit(x as MatchClause);
    else if (Array.isArray(c.and)) for (const x of c.and) visit(x as MatchClause);
    else if (typeof c.equals === "string") exact ||= c.equals.toLowerCase() === id;
    else if (typeof c.regex === "string") exact ||= new RegExp(c.regex).test(id);
    else if (typeof c.starts_with === "string" || typeof c.contains === "string") {
      const text = String(c.starts_with ?? c.contains).toLowerCase();
      const at = typeof c.starts_with === "string" ? (id.startsWith(text) ? 0 : -1) : id.indexOf(text);
      if (at >= 0 && (stem === null || text.length > stem.text.length)) stem = { at, text };
    }
  };
  visit(match);
  const found = stem as { at: number; text: string } | null;
  if (exact || found === null) return false;
  return OTHER_PRODUCT_SUFFIX.test(id.slice(found.at + found.text.length));
}

/** Converted rates per table price object (they are immutable data), so each is converted once. */
const converted = new WeakMap<ModelPrice, ModelRates | null>();
/** The same with a price correction applied, per correction (a price could be reached via two entries). */
const convertedCorrected = new Map<PriceCorrection, WeakMap<ModelPrice, ModelRates | null>>();

/**
 * `tableRates`, plus the price correction (`price-corrections.ts`) of the table entry
 * `providerId`/`modelId` the price was found in, if there is one and it changes anything; the
 * corrected rates are remembered in `correctedRates` so their rows get `CORRECTED_TABLE_VERSION`.
 */
function correctedTableRates(price: ModelPrice, providerId: string, modelId: string): ModelRates | null {
  const rates = tableRates(price);
  const correction = findPriceCorrection(providerId, modelId);
  if (!rates || !correction) return rates;
  let cache = convertedCorrected.get(correction);
  if (!cache) {
    cache = new WeakMap();
    convertedCorrected.set(correction, cache);
  }
  const hit = cache.get(price);
  if (hit !== undefined) return hit;
  const corrected = applyPriceCorrection(rates, correction);
  if (corrected) correctedRates.add(corrected);
  const result = corrected ?? rates;
  cache.set(price, result);
  return result;
}

/**
 * Converts a genai-prices `ModelPrice` to integer rates, mirroring how the package prices:
 * - tiers are chosen by the call's total input tokens (uncached + cache read + cache write),
 *   each price key on its own, and the WHOLE call is priced at the chosen rate;
 * - cache tokens of a model without a cache price stay inside `input_tokens` there, i.e. they
 *   are priced at the input rate;
 * - `requests_kcount` is a per-call fee (USD per 1000 calls).
 * Returns null when the entry has no token price at all (`{}` for GitHub Copilot's GPT-4.1 / GPT-4o,
 * "included in the subscription" under its request-based billing and without a token price on
 * GitHub's per-token list, and OpenRouter's `:free` models; audio-only models): billing such a call $0
 * must be the operator's explicit choice (an override of "0"), so it counts as unknown.
 */
function tableRates(price: ModelPrice): ModelRates | null {
  const hit = converted.get(price);
  if (hit !== undefined) return hit;
  const rate = (key: string): TieredRate | undefined => {
    const v = price[key];
    if (v === undefined) return undefined;
    if (typeof v === "number") return { base: usdPerMTokToMicro(v), tiers: [] };
    const tiers = [...v.tiers]
      .sort((a, b) => a.start - b.start)
      .map((t) => ({ above: t.start, rate: usdPerMTokToMicro(t.price) }));
    return { base: usdPerMTokToMicro(v.base), tiers };
  };
  const input = rate("input_mtok");
  const output = rate("output_mtok");
  let rates: ModelRates | null = null;
  if (input || output) {
    const inputRate = input ?? FREE;
    const perK = price.requests_kcount;
    rates = {
      input: inputRate,
      output: output ?? FREE,
      cacheRead: rate("cache_read_mtok") ?? inputRate,
      cacheWrite: rate("cache_write_mtok") ?? inputRate,
      cacheWrite1h: rate("cache_write_1h_mtok") ?? derived1h(inputRate),
      // USD per 1000 calls → pico-USD per call: × 10^12 / 10^3.
      perCallPico: typeof perK === "number" ? decimalToScaled(perK, 9) : 0n,
    };
  }
  converted.set(price, rates);
  return rates;
}

const FREE: TieredRate = { base: 0n, tiers: [] };

/**
 * A 1-hour cache write costs 2× the base input price (Anthropic's published rule, and what
 * OpenClaw's own cost estimate uses): the documented default wherever a price list has no 1-hour
 * price of its own. (For Anthropic's 5-minute price of 1.25× input this equals 1.6× that price.)
 */
export const CACHE_WRITE_1H_INPUT_MULTIPLIER = 2n;

/** The 1-hour write rate derived from an input rate, tier by tier. */
function derived1h(input: TieredRate): TieredRate {
  const m = CACHE_WRITE_1H_INPUT_MULTIPLIER;
  return { base: input.base * m, tiers: input.tiers.map((t) => ({ above: t.above, rate: t.rate * m })) };
}

// ---------------------------------------------------------------------------------------------
// Cost arithmetic (integers only)
// ---------------------------------------------------------------------------------------------

function rateAt(r: TieredRate, inputTotal: number): bigint {
  let rate = r.base;
  for (const t of r.tiers) if (inputTotal > t.above) rate = t.rate;
  return rate;
}

/**
 * Exact pico-USD cost of a call: Σ tokens × (micro-USD per MTok) + the per-call fee, if any tokens.
 * Cache writes are split by TTL: `cacheWrite1h` (clamped to `cacheWrite`) at the 1-hour rate, the
 * rest at the 5-minute rate. Tiers are chosen by total input tokens (uncached + cache read + write).
 */
export function callCostPicoUsd(u: ParsedUsage, rates: ModelRates): bigint {
  const own = u.input + u.cacheRead + u.cacheWrite;
  const tokens = own + u.output;
  // the difference billed for a later copy of a call: the tier of the whole call, no second fee
  const inputTotal = u.tierInputTotal ?? own;
  // Zero-usage lines (failed calls) carry no fee; the package would add `requests_kcount` anyway.
  if (tokens === 0) return 0n;
  const write1h = Math.min(Math.max(u.cacheWrite1h ?? 0, 0), u.cacheWrite);
  return (
    BigInt(u.input) * rateAt(rates.input, inputTotal) +
    BigInt(u.output) * rateAt(rates.output, inputTotal) +
    BigInt(u.cacheRead) * rateAt(rates.cacheRead, inputTotal) +
    BigInt(u.cacheWrite - write1h) * rateAt(rates.cacheWrite, inputTotal) +
    BigInt(write1h) * rateAt(rates.cacheWrite1h, inputTotal) +
    (u.tierInputTotal === undefined ? rates.perCallPico : 0n)
  );
}

// ---------------------------------------------------------------------------------------------
// Pricer
// ---------------------------------------------------------------------------------------------

/**
 * Builds the pricer. Lookup per mode:
 * - `calculate`: override (`provider/model`, then an OpenRouter routing variant's base or a
 *   Google resource name's model id as `provider/model`, then `provider/*`, case-insensitive) → table → fallback
 *   (`unknownModel: true`). List prices only: a provider-billed amount is kept on the row for
 *   reconciliation (`recorded_cost_pico_usd`) but not billed.
 * - `recorded`: OpenClaw's `usage.cost.total` (source `provider-billed` when its
 *   `cost.totalOrigin` says so, else `recorded`). When it is missing, invalid, or 0 while the call
 *   has tokens (OpenClaw writes 0 for models it has no price for; a provider-billed 0 is kept:
 *   the provider charged nothing, unless the list price is above $0: see `byokZero`), the `calculate` path is used instead, so a priced call is never
 *   billed $0 by accident. So is a known model's call whose counts the parser corrected
 *   (`writtenInput`): its estimate was computed from the wrong counts. A recorded quote has `unknownModel: false`: this mode deliberately
 *   trusts OpenClaw's amount.
 * - `auto`: a provider-billed `cost.total` first (authoritative: what the operator was charged,
 *   source `provider-billed`, never flagged unknown); else override → table (at an OpenAI
 *   service tier's multiple when the recorded estimate shows one: `serviceTierQuote`; at 2× for
 *   OpenClaw's native fast mode when the estimate of a line without `speed` shows it:
 *   `fastEstimateQuote`); for a model neither
 *   knows, the recorded estimate if it is > 0 (`unknownModel: true`), else the fallback
 *   (`unknownModel: true`).
 * In every mode a call Anthropic served in fast mode (`speed: "fast"`) is priced from the override
 * or table at its model's fast multiple (`fastModeMultiple`: Opus 5 / 4.8 2×, Opus 4.7 / 4.6 6×
 * while they had it), `+speed:fast` on its price version; `recorded` does not use its estimate.
 * Every quote carries `tableCostPicoUsd` (what override/table would charge) when either knows the
 * model, so reports can show how far list price and billed amount differ.
 * An unknown model is never priced $0 unless it used no tokens (or its provider billed $0).
 */
export function createPricer(opts: PricerOptions): Pricer {
  const fb = opts.fallback;
  const fallbackRates = flatRates(fb.input, fb.output, fb.cacheRead, fb.cacheWrite);
  const fallbackVersion = `fallback:${[
    fallbackRates.input,
    fallbackRates.output,
    fallbackRates.cacheRead,
    fallbackRates.cacheWrite,
  ]
    .map((r) => formatScaled(r.base, 6))
    .join(",")}`;

  /**
   * The override of `provider/model` itself (or of its OpenRouter routing variant's base, or of a
   * Google / Vertex resource name's model id), no `provider/*`.
   */
  const ownOverrideOf = (provider: string, model: string): ModelRates | undefined => {
    const p = provider.toLowerCase();
    // An OpenRouter routing variant (`…:nitro`) without its own entry takes its base model's; so
    // does a Google / Vertex resource name (`models/gemini-2.5-flash`: see `modelResourceBase`).
    const base = p === "openrouter" ? openRouterVariantBase(model) : modelResourceBase(model);
    return (
      opts.overrides.byKey.get(`${p}/${model.toLowerCase()}`) ??
      (base === null ? undefined : opts.overrides.byKey.get(`${p}/${base.toLowerCase()}`))
    );
  };
  // The override of the last (provider, model) looked up: consecutive calls of a session mostly
  // share one, and `byKey` is read-only, so the answer for the same two texts never changes.
  let lastProvider: string | null = null;
  let lastModel: string | null = null;
  let lastOverride: ModelRates | undefined;
  const overrideOf = (provider: string, model: string): ModelRates | undefined => {
    if (provider === lastProvider && model === lastModel) return lastOverride;
    lastOverride = ownOverrideOf(provider, model) ?? opts.overrides.byKey.get(`${provider.toLowerCase()}/*`);
    lastProvider = provider;
    lastModel = model;
    return lastOverride;
  };
  // pricedModelOf's answers by (provider, model, responseModel, and the era of each name that is
  // a dated alias: `datedEraKey`): a bot uses few pairs, and the table matches names, not times,
  // but for a dated alias (`DATED_ALIASES`), which names other entries in other eras. Before the
  // era was in the key, the first answer for a pair stood for every time: `deepseek-reasoner`
  // answered as `deepseek-chat` was priced as R1 or as V3 by which line was metered first.
  const pricedModels = new Map<string, string>();
  /**
   * The model a call is priced as: the model that answered (`responseModel`) when it is another
   * model than the one asked for and the price list or an operator override of that very model
   * knows it: a call is then priced as if its line had named the model that served it. Otherwise
   * (no responseModel, the same model under another name — a dated snapshot such as `gpt-4o` →
   * `gpt-4o-2024-08-06`, which the table matches to the requested model's entry, so an override
   * of the requested model still applies — or a served model nobody prices) the requested model.
   * An operator's override of the requested model also stays when the served model has none and
   * the table cannot tell the two names apart (it does not know the requested name, or lists both
   * at the same prices): a proxy's alias or an Azure deployment answered as `gpt-4o-2024-11-20`.
   * Sources: Anthropic's refusal fallback bills "at the rates of the model that ran it"
   * (earendil-works/pi#8285, posit-dev/chatlas#380); OpenRouter's Auto Router bills the model it
   * picked (https://openrouter.ai/docs/guides/routing/routers/auto-router).
   */
  const pricedModelOf = (u: ParsedUsage): string => {
    const served = u.responseModel;
    if (served === undefined) return u.model;
    const key = JSON.stringify([
      u.provider,
      u.model,
      served,
      datedEraKey(u.provider, u.model, u.messageTsMs),
      datedEraKey(u.provider, served, u.messageTsMs),
    ]);
    const hit = pricedModels.get(key);
    if (hit !== undefined) return hit;
    let as = u.model;
    if (!sameModelName(u.model, served)) {
      const servedEntry = tableEntryOf(u.provider, served, u.messageTsMs);
      if (servedEntry !== null) {
        const requestedEntry = tableEntryOf(u.provider, u.model, u.messageTsMs);
        // The operator's own price for the requested model stays unless the served model has one
        // too or the table prices the two names differently: a name the table does not know (a
        // proxy's alias, an Azure deployment) or lists twice at one price (OpenRouter's dated
        // slugs such as `anthropic/claude-4-sonnet-20250522`) may be the very model it priced.
        const keepOverride =
          ownOverrideOf(u.provider, u.model) !== undefined &&
          ownOverrideOf(u.provider, served) === undefined &&
          (requestedEntry === null || samePrices(servedEntry, requestedEntry));
        if (servedEntry !== requestedEntry && !keepOverride) as = served;
      } else if (ownOverrideOf(u.provider, served)) as = served;
    }
    if (pricedModels.size >= 4096) pricedModels.clear();
    pricedModels.set(key, as);
    return as;
  };
  /** The fast-mode multiple of a call (`fastModeMultiple` of the model it is priced as); 1n for a standard call. */
  const fastOf = (u: ParsedUsage): bigint =>
    u.speed === "fast" ? fastModeMultiple(u.provider, pricedModelOf(u), u.messageTsMs) : 1n;
  /** Whether a call is priced at Anthropic's US-only inference multiple (`usInferencePremium` of the model it is priced as). */
  const usOnly = (u: ParsedUsage): boolean =>
    u.inferenceGeo === "us" && usInferencePremium(u.provider, pricedModelOf(u));
  const known = (u: ParsedUsage): PriceQuote | null => {
    if (!Number.isFinite(u.messageTsMs)) throw new RangeError(`bad message timestamp ${u.messageTsMs}`);
    const model = pricedModelOf(u);
    // A call priced as its served model says so on its row (`price_version`).
    const as = model === u.model ? "" : `+served:${model}`;
    const override = overrideOf(u.provider, model);
    const q = override
      ? cliTurnQuote(u, model, override, "override", opts.overrides.version + as)
      : (() => {
          const table = findTablePrice(u.provider, model, u.messageTsMs);
          if (!table) return null;
          // Perplexity's request fee at the call's search context size (`sonarContextFee`)
          const fee = sonarContextFee(u, model, table);
          return cliTurnQuote(
            u,
            model,
            fee === null ? table : { ...table, perCallPico: fee.pico },
            "table",
            tableVersionOf(table) + as + (fee === null ? "" : `+search-context:${fee.size}`),
          );
        })();
    // Anthropic fast mode: every rate × the model's multiple (an override too, as a service tier's).
    const fast = q === null ? 1n : fastOf(u);
    if (q !== null && fast !== 1n) {
      q.costPicoUsd *= fast;
      q.version += "+speed:fast";
    }
    // The service tier the line says served the call (flex, priority, batch): every rate × the
    // tier's multiple (an override too, as an estimated tier's), rounded up to the pico-USD.
    const tier = q === null ? null : statedTierMultiple(u, model, () => aboveLongContext(u));
    if (q !== null && tier !== null) {
      q.costPicoUsd = divCeil(q.costPicoUsd * tier.num, tier.den);
      q.version += `+service-tier:${tier.name}`;
    }
    // Anthropic US-only inference: every rate × 1.1 (an override too), rounded up to the pico-USD.
    if (q !== null && usOnly(u)) {
      const { num, den } = US_INFERENCE_MULTIPLE;
      q.costPicoUsd = divCeil(q.costPicoUsd * num, den);
      q.version += "+inference-geo:us";
    }
    return q;
  };
  /**
   * Whether the call is above a long-context threshold of its model's table entry (its list at the
   * entry's tiers differs from the list at its base rates): OpenAI publishes no long-context
   * priority rate, so a priority call there stays at the standard long-context list.
   */
  const aboveLongContext = (u: ParsedUsage): boolean => {
    const table = findTablePrice(u.provider, u.model, u.messageTsMs);
    if (!table) return false;
    const flat = withoutTiers(table);
    return flat !== null && callCostPicoUsd(u, flat) !== callCostPicoUsd(u, table);
  };
  /**
   * What OpenClaw's recorded estimate is a service tier's multiple of: the table's list price of
   * the requested model (`list`), and that price at the entry's base rates (`flatList`: pi-ai
   * prices every token at one catalog rate, so a call above a long-context threshold has an
   * estimate of the base-rate list × tier; equal to `list` below it), for an OpenAI / Azure OpenAI call (`SERVICE_TIER_PROVIDERS`) whose
   * estimate was computed from the line's own counts for the model it names. null (no tier) for
   * any other call: another provider has no OpenAI tier, and a time-of-day discount in its table
   * price (DeepSeek's off-peak half price) would look like one; a corrected line
   * (`writtenInput`) or a call priced as its served model carries an estimate from other counts
   * or another model's rates (as in `recorded` mode). Never an operator override: an override at
   * 2× list (a margin) made every standard call look like flex, billed at half the override.
   * Nor an OpenAI fine-tuned model (`isFineTunedId`: no tier serves one): its estimate at its
   * base model's price (half its own, on every rate) was billed as flex.
   */
  const tierListPico = (u: ParsedUsage): { readonly list: bigint; readonly flatList: bigint } | null => {
    if (u.writtenInput !== undefined || u.api === null || !SERVICE_TIER_APIS.has(u.api)) return null;
    // No tier serves a fine-tuned model (`isFineTunedId`); a fine-tune lists at exactly 2× its
    // base on every rate, so an OpenClaw catalog entry copied from the base read as "flex".
    if (isFineTunedId(u.model)) return null;
    const p = tableProviderId(u.provider);
    if (p === null || !SERVICE_TIER_PROVIDERS.has(p) || pricedModelOf(u) !== u.model) return null;
    const table = findTablePrice(u.provider, u.model, u.messageTsMs);
    if (!table) return null;
    const list = callCostPicoUsd(u, table);
    // pi-ai's estimate is flat (`calculateCost`: the catalog's one rate per token kind, no
    // long-context tier), so above a tier's threshold it is a multiple of the BASE-rate list.
    const flat = withoutTiers(table);
    const flatList = flat === null ? list : callCostPicoUsd(u, flat);
    return { list, flatList };
  };
  /**
   * `auto` mode: a call OpenClaw sent in Anthropic's native fast mode whose line keeps no `speed`.
   * OpenClaw's native fast mode (openclaw/openclaw#113633: Opus 5 / 4.8 on the `anthropic`
   * provider's Messages API, direct API key) hands pi-ai the model with its catalog cost × 2
   * (`applyAnthropicFastModePricing`, `ANTHROPIC_FAST_MODE_COST_MULTIPLIER = 2`, in OpenClaw's
   * `extensions/anthropic/stream-wrappers.ts`), so the line's estimate is 2× the list price, while
   * pi-ai's Anthropic stream copies no `speed` into its usage. Such an estimate (not provider-billed,
   * exactly 2× the table's list price of the requested model, to 1 part in 10⁶, as
   * `serviceTierQuote` reads a tier) on a model whose fast multiple is 2× at the call's time is
   * billed `k × 2`, `+speed:fast`. null otherwise (a line with `speed` is priced by it in `known`;
   * a corrected line or a call priced as its served model carries an estimate of other counts or
   * rates; a model OpenClaw does not send fast; never against an operator override).
   */
  const fastEstimateQuote = (u: ParsedUsage, k: PriceQuote, pico: bigint | null): PriceQuote | null => {
    if (
      u.speed !== undefined ||
      pico === null ||
      pico <= 0n ||
      k.costPicoUsd <= 0n ||
      u.recordedCostOrigin === "provider-billed" ||
      u.writtenInput !== undefined ||
      u.api !== "anthropic-messages" ||
      u.provider.trim().toLowerCase() !== "anthropic"
    )
      return null;
    const m = fastModeMultiple(u.provider, u.model, u.messageTsMs);
    if (m !== OPENCLAW_FAST_ESTIMATE_MULTIPLE || pricedModelOf(u) !== u.model) return null;
    const table = findTablePrice(u.provider, u.model, u.messageTsMs);
    if (table === null) return null;
    const want = callCostPicoUsd(u, table) * m;
    if (want <= 0n) return null;
    const diff = want > pico ? want - pico : pico - want;
    if (diff * 1_000_000n > want && diff > 2n) return null;
    return {
      costPicoUsd: k.costPicoUsd * m,
      source: k.source,
      version: `${k.version}+speed:fast`,
      unknownModel: k.unknownModel,
    };
  };
  /**
   * A provider-billed amount on an OpenRouter call that is OpenRouter's BYOK fee alone: 4–6 %
   * (`BYOK_FEE_PCT_MIN` … `MAX`) of the TABLE's list price of the same call (OpenRouter's own
   * price of the model; never an operator override, whose margin or other price says nothing of
   * what OpenRouter charges). OpenRouter reports a BYOK call's `usage.cost` as its fee only (the
   * inference is charged to the operator's own provider key, reported as
   * `cost_details.upstream_inference_cost` with `is_byok: true`), and OpenClaw stores that fee as
   * `cost.total` with `totalOrigin: "provider-billed"`, keeping neither flag nor upstream amount
   * (openclaw/openclaw#9016, #101177): billed as the call's cost it was 1/20 of what the call cost
   * the operator. The $0 fee within the free allowance is `byokZero`'s. No normal OpenRouter call
   * is billed a twentieth of its list price: OpenRouter passes provider prices through unmarked.
   */
  const byokFee = (u: ParsedUsage, k: PriceQuote | null, pico: bigint): boolean => {
    if (k === null || k.costPicoUsd <= 0n || pico <= 0n) return false;
    if (u.provider.trim().toLowerCase() !== "openrouter") return false;
    if (u.input + u.output + u.cacheRead + u.cacheWrite === 0) return false;
    let list = k.costPicoUsd;
    if (k.source !== "table") {
      const table = findTablePrice(u.provider, pricedModelOf(u), u.messageTsMs);
      if (table === null) return false;
      list = callCostPicoUsd(u, table);
      if (list <= 0n) return false;
    }
    return pico * 100n >= list * BYOK_FEE_PCT_MIN && pico * 100n <= list * BYOK_FEE_PCT_MAX;
  };
  // A plain literal, not a spread: this runs once per billed call on the writer's hot path.
  const withTable = (q: PriceQuote): PriceQuote => ({
    costPicoUsd: q.costPicoUsd,
    source: q.source,
    version: q.version,
    unknownModel: q.unknownModel,
    tableCostPicoUsd: q.costPicoUsd,
  });
  const fallback = (u: ParsedUsage) => quote(u, fallbackRates, "fallback", fallbackVersion, true);
  const recorded = (
    u: ParsedUsage,
    pico: bigint,
    k: PriceQuote | null,
    unknownModel: boolean,
  ): PriceQuote => {
    const q: PriceQuote = {
      costPicoUsd: pico,
      source: u.recordedCostOrigin === "provider-billed" ? "provider-billed" : "recorded",
      version: "transcript",
      unknownModel,
    };
    if (k) q.tableCostPicoUsd = k.costPicoUsd;
    return q;
  };

  /**
   * OpenClaw's estimate of a US-only call (`inferenceGeo` "us") of a model with Anthropic's 1.1×
   * US price, × 1.1 rounded up (`US_INFERENCE_MULTIPLE`): pi-ai prices the catalog's standard
   * rates, times OpenClaw's × 2 for its native fast mode, so the estimate × 1.1 is what Anthropic
   * charged, fast or not. Any other quote (a provider-billed cost, which holds the premium; a call
   * without it) is returned as it is.
   */
  const usEstimate = (u: ParsedUsage, q: PriceQuote): PriceQuote => {
    if (q.source !== "recorded" || q.costPicoUsd <= 0n || !usOnly(u)) return q;
    const { num, den } = US_INFERENCE_MULTIPLE;
    q.costPicoUsd = divCeil(q.costPicoUsd * num, den);
    q.version += "+inference-geo:us";
    return q;
  };

  /**
   * The quote with the call's Anthropic web searches on top (`webSearchRequests` × $0.01,
   * server-tools.ts), `+web-search:<n>` on its version, in every mode: neither the table's token
   * rates, an override's, the fallback's nor OpenClaw's recorded estimate (pi-ai prices tokens
   * alone) holds them. Not on a provider-billed amount (the provider's own total holds what it
   * charged) nor on another provider's call (held for review by the parser: no sourced price).
   * `tableCostPicoUsd` gets the same fee, so list and billed amounts still compare.
   */
  const withServerTools = (u: ParsedUsage, q: PriceQuote): PriceQuote => {
    const n = u.webSearchRequests;
    if (n === undefined || n <= 0 || q.source === "provider-billed" || !webSearchFeeProvider(u.provider))
      return q;
    const fee = BigInt(n) * WEB_SEARCH_FEE_PICO_USD;
    q.costPicoUsd += fee;
    q.version += `+web-search:${n}`;
    if (q.tableCostPicoUsd !== undefined) q.tableCostPicoUsd += fee;
    return q;
  };

  /** The call's price before its server-tool fees (`withServerTools`). */
  const tokensOnly: Pricer = {
    price(u: ParsedUsage): PriceQuote {
      switch (opts.mode) {
        case "calculate": {
          const k = known(u);
          return k ? withTable(k) : fallback(u);
        }
        case "recorded": {
          const pico = recordedCostPico(u);
          const tokens = u.input + u.output + u.cacheRead + u.cacheWrite;
          const billed = u.recordedCostOrigin === "provider-billed";
          const k = known(u);
          // A call whose counts the parser corrected (`writtenInput`: a Google or Codex-harness line that billed its
          // cached tokens twice) carries an estimate OpenClaw computed from the wrong counts:
          // priced like a call without one, unless the provider reported what it billed.
          // So does a call another model served (`responseModel`): pi-ai priced its estimate at the
          // requested model's rates (earendil-works/pi#8285).
          // So does a fast-mode call priced above the standard rates (`speed`): its estimate is not
          // known to hold the multiple (pi-ai prices the catalog rates; OpenClaw scales them, × 2,
          // only for the native fast mode it requested itself), while the list price × the
          // multiple is what Anthropic charged, and equals a right estimate.
          // And a call that says Anthropic served it at standard speed, of a model with fast mode:
          // OpenClaw scaled its estimate × 2 when it asked for fast mode, whatever was served.
          // And an estimate more than 1000× off the list price of the same call (`estimateUnitSlip`):
          // OpenClaw's catalog held a price in the wrong unit (openclaw/openclaw#70416: Opus 4.7's
          // estimate ~10^6 under its price, a per-token price in the per-1M field).
          const wrongEstimate =
            (u.writtenInput !== undefined ||
              pricedModelOf(u) !== u.model ||
              fastOf(u) !== 1n ||
              (u.speed === "standard" && fastModeMultiple(u.provider, u.model, u.messageTsMs) !== 1n) ||
              (pico !== null && k !== null && estimateUnitSlip(pico, k.costPicoUsd))) &&
            !billed &&
            k !== null;
          if (billed && pico === 0n && byokZero(u, k)) return withTable(k as PriceQuote);
          if (billed && pico !== null && byokFee(u, k, pico)) return byokFeeQuote(k as PriceQuote, pico);
          if (pico !== null && !wrongEstimate && (pico > 0n || tokens === 0 || billed))
            return usEstimate(u, recorded(u, pico, k, false));
          return k ? withTable(k) : fallback(u);
        }
        case "auto": {
          const k = known(u);
          const pico = recordedCostPico(u);
          if (pico !== null && u.recordedCostOrigin === "provider-billed" && !(pico === 0n && byokZero(u, k)))
            return byokFee(u, k, pico) ? byokFeeQuote(k as PriceQuote, pico) : recorded(u, pico, k, false);
          if (k)
            return withTable(
              // A line that says a flex / priority / batch tier is priced by it (`known`); its estimate is not read as one.
              // (`standard` stated is not enough: Codex answers `default` even for a priority or
              // flex request, earendil-works/pi#3307, and pi-ai then prices the requested tier.)
              (u.serviceTier === undefined || u.serviceTier === "standard"
                ? serviceTierQuote(u, k, pico, () => tierListPico(u))
                : null) ??
                fastEstimateQuote(u, k, pico) ??
                k,
            );
          return pico !== null && pico > 0n ? usEstimate(u, recorded(u, pico, null, true)) : fallback(u);
        }
      }
    },
  };
  /**
   * A `-fast` model id that names a model at its fast tier: OpenCode expands a models.dev model's
   * `experimental.modes.fast` (OpenAI: `service_tier = "priority"`, Anthropic: fast mode) into a
   * model id of its own (`gpt-5.5-fast`, `gpt-5.4-fast`; anomalyco/models.dev#1966,
   * coulsontl/ai-toolbox#177), and Codex auth plugins name GPT-5.4's fast mode `gpt-5.4-fast`
   * (floze-the-genius/opencode-multi-auth-codex#7); tokscale missed it (junhoyeo/tokscale#1211).
   * Such a call is priced as the model without `-fast` at its fast tier: on an OpenAI / Azure
   * provider (`SERVICE_TIER_PROVIDERS`) the priority tier (OpenAI's multiple of the model, a stated
   * flex or batch kept; a stated `default` / `standard` is Codex's echo, earendil-works/pi#3307),
   * for a Claude model with fast mode (`fastModeMultiple`) fast mode. Only when neither an override
   * of the id nor the table knows the id itself (xAI's `grok-4-fast` is a model of its own; the
   * table's name match of `claude-opus-4-6-fast` to Opus 4.6's entry is no such knowledge) and the
   * base is priced. Before 2026-12-05 such a call was an unknown model at the fallback price.
   */
  const fastIdCall = (u: ParsedUsage): ParsedUsage => {
    const m = /^(.+?)-fast$/i.exec(u.model.trim());
    if (m === null || m[1] === undefined) return u;
    const at = u.messageTsMs;
    if (!Number.isFinite(at) || ownOverrideOf(u.provider, u.model) !== undefined) return u;
    const base = m[1];
    const baseRates = findTablePrice(u.provider, base, at);
    // the table's name match may take the id for its base's entry (`claude-opus-4-6-fast`): that is
    // the base at the standard price, not a model of its own
    const own = findTablePrice(u.provider, u.model, at);
    if (own !== null && own !== baseRates) return u;
    if (ownOverrideOf(u.provider, base) === undefined && baseRates === null) return u;
    const p = tableProviderId(u.provider);
    if (p !== null && SERVICE_TIER_PROVIDERS.has(p)) {
      const stated = u.serviceTier === "flex" || u.serviceTier === "batch" ? u.serviceTier : "priority";
      return { ...u, model: base, serviceTier: stated };
    }
    // a stated served speed wins: Anthropic bills the speed a request ran at, and its `usage.speed`
    // says `standard` when a fast-mode request ran at standard speed (before 2026-12-05 such a call
    // was billed the fast multiple: case `fast-id-served-standard`)
    if (fastModeMultiple(u.provider, base, at) !== 1n)
      return { ...u, model: base, speed: u.speed === "standard" ? "standard" : "fast" };
    return u;
  };
  return {
    price: (u: ParsedUsage): PriceQuote => {
      const call = fastIdCall(u);
      return withServerTools(call, tokensOnly.price(call));
    },
  };
}

/**
 * Perplexity's per-request fee of a Sonar model at each search context size, in USD per 1,000
 * requests (https://docs.perplexity.ai/getting-started/pricing, "Request Pricing": the fee "varies
 * by search context size"; Sonar $5 / $8 / $12, Sonar Pro and Sonar Reasoning Pro $6 / $10 / $14,
 * the deprecated Sonar Reasoning as Sonar; BerriAI/litellm#30652 holds the same per-request
 * amounts in its `search_context_cost_per_query`). The price table (genai-prices
 * `requests_kcount`) lists one fee per model, the high one, so before 2026-12-05 a Sonar call at
 * the default low context was billed 2.4× (Sonar) or 2.3× (Sonar Pro) its fee.
 */
const SONAR_REQUEST_FEES: ReadonlyMap<string, Readonly<Record<"low" | "medium" | "high", string>>> = new Map([
  ["sonar", { low: "5", medium: "8", high: "12" }],
  ["sonar-reasoning", { low: "5", medium: "8", high: "12" }],
  ["sonar-pro", { low: "6", medium: "10", high: "14" }],
  ["sonar-reasoning-pro", { low: "6", medium: "10", high: "14" }],
]);

/**
 * The per-call fee (pico-USD) of a call to Perplexity's own API (provider `perplexity`) for a
 * Sonar model whose table price has a request fee (`SONAR_REQUEST_FEES`, the model id trimmed,
 * lower-cased, without a `perplexity/` prefix), at the search context size its line says
 * (`ParsedUsage.searchContextSize`) or, when the line does not say one, at Perplexity's default
 * `low` (https://docs.perplexity.ai/guides/search-context-size-guide: "Default
 * search_context_size is low"; a request without `web_search_options` is billed the low fee:
 * BerriAI/litellm#17887's sonar-pro call $0.006, vercel/ai#13705's sonar call $0.00515). Such a
 * line is pi-ai's (OpenClaw's own Perplexity lines keep the token counts only) or a relay's that
 * drops the field; before 2026-12-05 it kept the table's one fee, the high one (case
 * usage-perplexity-default-search-context-fee). The size is `default-low` in the price version.
 * Null for any other call, which keeps the table's fee (another provider's route to Sonar with a
 * fee of its own, sonar-deep-research, billed per search query instead). Never applied to an
 * operator's override, which is the operator's own price.
 */
function sonarContextFee(
  u: ParsedUsage,
  model: string,
  table: ModelRates,
): { pico: bigint; size: "low" | "medium" | "high" | "default-low" } | null {
  if (table.perCallPico <= 0n || u.provider.trim().toLowerCase() !== "perplexity") return null;
  const fees = SONAR_REQUEST_FEES.get(
    model
      .trim()
      .toLowerCase()
      .replace(/^perplexity\//, ""),
  );
  if (fees === undefined) return null;
  const said = u.searchContextSize;
  // USD per 1000 calls → pico-USD per call, as the table's `requests_kcount`
  return said === undefined
    ? { pico: decimalToScaled(fees.low, 9), size: "default-low" }
    : { pico: decimalToScaled(fees[said], 9), size: said };
}

/**
 * The providers whose calls Anthropic's fast mode prices: the Claude API itself (`anthropic`) and
 * OpenClaw's Claude CLI backend (`claude-cli`, whose lines carry Anthropic's own usage, `speed`
 * included). Compared exactly (trimmed, lower-cased), never through the table's fuzzy provider
 * match, which takes `anthropic-vertex` for `anthropic`: fast mode is a Claude API feature, not
 * offered on Amazon Bedrock, Vertex AI or Microsoft Foundry (griffinwork40/agent-afk#907,
 * NousResearch/hermes-agent#82348). OpenRouter's `…-fast` models (`anthropic/claude-opus-4.8-fast`)
 * are their own table entries, already at the fast price.
 */
const FAST_MODE_PROVIDERS: ReadonlySet<string> = new Set(["anthropic", "claude-cli"]);

/**
 * Anthropic fast mode's price per model family: every rate (input, output, cache reads and both
 * cache writes, long-context tiers included) × `num` for a call served fast (`usage.speed:
 * "fast"`), for calls before `untilMs` when set (after it the model has no fast mode: the
 * multiple is 1). Sources:
 * - Opus 5 and Opus 4.8: $10 / $50 per 1M, 2× the standard $5 / $25, cache multipliers on top
 *   (anomalyco/models.dev#4123 quoting https://platform.claude.com/docs/en/about-claude/pricing;
 *   tontinton/maki#272, griffinwork40/agent-afk#907; BerriAI/litellm#38378 applies it to cache
 *   reads and writes too).
 * - Opus 4.7 and Opus 4.6: $30 / $150, 6× (https://code.claude.com/docs/en/fast-mode: "$10/$50
 *   MTok on Opus 4.8 and $30/$150 MTok on Opus 4.7 and Opus 4.6"). Opus 4.6 lost fast mode on
 *   2026-06-29: requests since run and bill at standard speed (NousResearch/hermes-agent#82348;
 *   zed-industries/zed#61341: "Opus 4.6 has been falling back to standard speed"). Opus 4.7's was
 *   removed on 2026-07-24 (zed-industries/zed#61341 quoting Anthropic's fast-mode page; the API
 *   rejects the request since).
 * Any other model (Opus 5.5, Fable 5.2: no confirmed fast price here) is priced at 1×.
 */
const FAST_MODE_MULTIPLES: readonly {
  readonly model: RegExp;
  readonly num: bigint;
  readonly untilMs?: number;
}[] = [
  // `claude-opus-5-0` too: the table matches `claude-opus-5.0` to Opus 5
  { model: /^claude-opus-5(?:-0)?(?:-\d{8})?$/, num: 2n },
  { model: /^claude-opus-4-8(?:-\d{8})?$/, num: 2n },
  { model: /^claude-opus-4-7(?:-\d{8})?$/, num: 6n, untilMs: Date.UTC(2026, 6, 24) },
  { model: /^claude-opus-4-6(?:-\d{8})?$/, num: 6n, untilMs: Date.UTC(2026, 5, 29) },
];

/**
 * The multiple OpenClaw's native fast mode scales its estimate by (`ANTHROPIC_FAST_MODE_COST_MULTIPLIER`
 * in its `extensions/anthropic/stream-wrappers.ts`): only a model whose fast multiple is this is
 * read from its estimate (`fastEstimateQuote`).
 */
const OPENCLAW_FAST_ESTIMATE_MULTIPLE = 2n;

/**
 * What a call Anthropic served in fast mode costs, as a multiple of its standard price: the
 * model family's multiple (`FAST_MODE_MULTIPLES`, matched on the model id trimmed, lower-cased,
 * without an `anthropic/` prefix, with dots as dashes and a Claude CLI id such as `opus-4.6` read
 * as the model it names: `claudeShortNameModel`) at the call's time, on a fast-mode
 * provider (`FAST_MODE_PROVIDERS`); 1n for any other provider or model.
 */
export function fastModeMultiple(provider: string, model: string, atMs: number): bigint {
  if (!FAST_MODE_PROVIDERS.has(provider.trim().toLowerCase())) return 1n;
  // Claude Code's `[1m]` context label (`CONTEXT_DIRECTIVE`) names the same model
  const id = model
    .trim()
    .toLowerCase()
    .replace(CONTEXT_DIRECTIVE, "")
    .replace(/^anthropic\//, "")
    .replaceAll(".", "-");
  // a Claude CLI id (`opus-4.6`) is the model it names, as the price is
  const name = claudeShortNameModel(id) ?? claudeVersionFirstModel(id) ?? id;
  for (const f of FAST_MODE_MULTIPLES) {
    if (f.model.test(name)) return f.untilMs === undefined || atMs < f.untilMs ? f.num : 1n;
  }
  return 1n;
}

/**
 * Anthropic's price of US-only inference (data residency, `inference_geo: "us"`), as a fraction of
 * the standard price: 1.1× every token rate (input, output, cache reads and writes, long-context
 * tiers) on Claude Opus 4.6, Sonnet 4.6 and later models; Opus 4.5, Sonnet 4.5, Haiku 4.5 and
 * earlier are billed at the standard rate ("your organization's usage is billed at 1.1x standard
 * API rates for Claude Opus 4.6, Claude Sonnet 4.6, and later models",
 * https://support.claude.com/en/articles/15422948-enable-us-only-inference-for-your-organization;
 * https://platform.claude.com/docs/en/about-claude/pricing#data-residency-pricing as quoted in
 * anthropics/claude-code#60641: "a 1.1x multiplier to all token pricing categories";
 * BerriAI/litellm#38369, maximhq/bifrost#5072 bill it by the response's `usage.inference_geo`).
 */
export const US_INFERENCE_MULTIPLE = { num: 11n, den: 10n } as const;

/**
 * Claude model ids by family and version (`claude-opus-4-6`, `claude-sonnet-5`, `claude-haiku-4-5-20251001`,
 * `claude-opus-4-6@…`); the minor version is one or two digits (never a date).
 */
const CLAUDE_VERSIONED = /^claude-(opus|sonnet|haiku)-(\d+)(?:-(\d{1,2}))?(?=$|[-@[])/;
/** Claude families that began after Opus 4.6 (every model of theirs is "later"). */
const CLAUDE_LATER_FAMILY = /^claude-(?:fable|mythos)-\d/;

/**
 * Whether a call Anthropic ran with US-only inference (`inference_geo: "us"`) is priced at
 * `US_INFERENCE_MULTIPLE`: on the Claude API (`anthropic`, and `claude-cli`, whose lines carry
 * Anthropic's own usage; not Bedrock, Vertex AI or Foundry, where the region is the endpoint's and
 * `inference_geo` does not apply: https://platform.claude.com/docs/en/build-with-claude/data-residency),
 * for Claude Opus / Sonnet / Haiku 4.6 or later and the Fable / Mythos families (the model id
 * trimmed, lower-cased, without an `anthropic/` prefix, dots as dashes, a Claude CLI id such as
 * `opus-4.6` read as the model it names). Any other model (Claude 3.x, 4.5 and earlier, a bare
 * alias, an id that names no Claude version) is priced at the standard rate, as before.
 */
export function usInferencePremium(provider: string, model: string): boolean {
  if (!FAST_MODE_PROVIDERS.has(provider.trim().toLowerCase())) return false;
  const id = model
    .trim()
    .toLowerCase()
    .replace(/^anthropic\//, "")
    .replaceAll(".", "-");
  const name = claudeShortNameModel(id) ?? claudeVersionFirstModel(id) ?? id;
  if (CLAUDE_LATER_FAMILY.test(name)) return true;
  const m = CLAUDE_VERSIONED.exec(name);
  if (!m?.[2]) return false;
  const major = Number(m[2]);
  const minor = m[3] === undefined ? 0 : Number(m[3]);
  return major > 4 || (major === 4 && minor >= 6);
}

/**
 * The APIs whose pi-ai stream scales `usage.cost` by the OpenAI service tier the response was
 * served at (`applyServiceTierPricing`: every cost class × 0.5 for `flex`, × 2 for `priority`,
 * × 2.5 for `priority` on gpt-5.5, per https://developers.openai.com/api/docs/pricing): OpenAI
 * Responses, Codex Responses, Azure OpenAI Responses and Chat Completions. The transcript keeps
 * no tier field, only the scaled cost; OpenClaw's own usage reports keep that recorded cost over
 * the catalog price for this reason (openclaw/openclaw#141059).
 */
const SERVICE_TIER_APIS: ReadonlySet<string> = new Set([
  "openai-responses",
  "openai-codex-responses",
  "azure-openai-responses",
  "openai-completions",
]);
/** The table providers (`tableProviderId`) that serve OpenAI's service tiers: OpenAI (with Codex) and Azure OpenAI. */
const SERVICE_TIER_PROVIDERS: ReadonlySet<string> = new Set(["openai", "azure"]);
/**
 * The multiples pi-ai scales its estimate by (what the estimate is compared with): flex × 0.5,
 * priority × 2 for every model, × 2.5 for gpt-5.5 (pi-ai tests `model.id === "gpt-5.5"`; older
 * pi-ai wrote × 2 for it too). What the call is billed at is OpenAI's own multiple of the model:
 * `tierBillingMultiple`.
 */
const SERVICE_TIERS: readonly {
  readonly name: "flex" | "priority";
  readonly num: bigint;
  readonly den: bigint;
  /** The models this multiple is theirs of (absent: any). */
  readonly models?: RegExp;
}[] = [
  { name: "flex", num: 1n, den: 2n },
  { name: "priority", num: 2n, den: 1n },
  { name: "priority", num: 5n, den: 2n, models: /^gpt-5\.5(?:$|[-.@])/i },
];

/**
 * OpenAI's priority price as a multiple of the standard one where it is not 2× (every rate of a
 * model, cached input too, scales by the same multiple), from OpenAI's priority price table
 * (https://developers.openai.com/api/docs/pricing?latest-pricing=priority;
 * https://openai.com/api-priority-processing/): gpt-5.5 $12.50 / $75 (2.5×), gpt-5-mini $0.45 /
 * $3.60 (1.8×), gpt-4.1 $3.50 / $14, gpt-4.1-mini $0.70 / $2.80, o3 $3.50 / $14, gpt-4o-2024-05-13
 * $8.75 / $26.25 (1.75×), gpt-4o $4.25 / $17 (1.7×), gpt-4o-mini $0.25 / $1 (5/3×), o4-mini $2 /
 * $8 (20/11×); every other model with a priority tier (gpt-5, 5.1, 5.2, 5.4, 5.6, 4.1-nano, …) 2×.
 * pi-ai scales its estimate by 2 for all of them, so the estimate tells the tier, not its price.
 * Matched on the model id (trimmed, lower-cased) or, failing that, on it without a snapshot date
 * (`gpt-4.1-2025-04-14`, `gpt-5.5-2026-04-23`).
 */
const PRIORITY_MULTIPLES: readonly { readonly models: RegExp; readonly num: bigint; readonly den: bigint }[] =
  [
    // gpt-5.5 itself and its snapshots (the undated retry), not gpt-5.5-pro / -codex / -chat: OpenAI
    // lists only GPT-5.5 at 2.5× (a reviewer)
    { models: /^gpt-5\.5$/, num: 5n, den: 2n },
    { models: /^gpt-5-mini$/, num: 9n, den: 5n },
    { models: /^(?:gpt-4\.1|gpt-4\.1-mini|o3|gpt-4o-2024-05-13)$/, num: 7n, den: 4n },
    { models: /^gpt-4o$/, num: 17n, den: 10n },
    { models: /^gpt-4o-mini$/, num: 5n, den: 3n },
    { models: /^o4-mini$/, num: 20n, den: 11n },
  ];

/**
 * The multiple of the standard price a call recognised at a service tier is billed at: flex ×
 * 0.5; priority at OpenAI's own multiple of the model (`PRIORITY_MULTIPLES`), else × 2.
 */
function tierBillingMultiple(tier: "flex" | "priority", model: string): { num: bigint; den: bigint } {
  if (tier === "flex") return { num: 1n, den: 2n };
  const id = model.trim().toLowerCase();
  const undated = id.replace(/-\d{4}-\d{2}-\d{2}$/, "");
  const hit =
    PRIORITY_MULTIPLES.find((m) => m.models.test(id)) ??
    PRIORITY_MULTIPLES.find((m) => m.models.test(undated));
  return hit ? { num: hit.num, den: hit.den } : { num: 2n, den: 1n };
}

/**
 * The providers (`tableProviderId`) whose Batch API bills half the standard price, every rate:
 * OpenAI, Azure OpenAI, Anthropic, and Google (the Gemini API's and Vertex AI's batch mode, 50%:
 * https://ai.google.dev/gemini-api/docs/optimization).
 */
const BATCH_TIER_PROVIDERS: ReadonlySet<string> = new Set(["openai", "azure", "anthropic", "google"]);
/**
 * The providers whose Flex tier bills half the standard price, every rate and every model, and
 * whose Priority tier has no multiple creditgate knows: Google (Gemini API and Vertex AI: "Flex |
 * 50% discount", "Priority | 75% to 100% more than standard", by model:
 * https://ai.google.dev/gemini-api/docs/optimization, https://ai.google.dev/gemini-api/docs/flex-inference).
 */
const HALF_FLEX_PROVIDERS: ReadonlySet<string> = new Set(["google"]);

/**
 * The multiple a call is billed at when its line says the service tier that served it
 * (`ParsedUsage.serviceTier`, since 2026-12-04; before, a line's own tier was not read and every
 * such call was billed the standard price: a flex call at twice what OpenAI charged, a priority call
 * at about half). On Google (`HALF_FLEX_PROVIDERS`, since 2026-12-05: before, a Gemini flex call
 * was billed at twice what Google charged) `flex` × 0.5, `priority` the standard price (Google's
 * multiple is by model, 1.75× to 2×, and not listed here). On OpenAI / Azure OpenAI (`SERVICE_TIER_PROVIDERS`, not a fine-tuned model):
 * `flex` × 0.5 (https://developers.openai.com/api/docs/pricing?latest-pricing=flex; above a
 * long-context threshold too: OpenAI prices long context "for standard, batch, and flex"),
 * `priority` × OpenAI's multiple of the model (`tierBillingMultiple`; not above a long-context
 * threshold, where OpenAI publishes no priority rate). `batch` × 0.5 on OpenAI, Azure OpenAI and
 * Anthropic (`BATCH_TIER_PROVIDERS`: https://platform.claude.com/docs/en/about-claude/pricing,
 * Batch API 50%). Anthropic's `priority` (Priority Tier, a committed-spend contract with no
 * published per-token price), `standard`, another provider's tier: null (the standard price).
 */
function statedTierMultiple(
  u: ParsedUsage,
  model: string,
  aboveLongContext: () => boolean,
): { name: "flex" | "priority" | "batch"; num: bigint; den: bigint } | null {
  const tier = u.serviceTier;
  if (tier === undefined || tier === "standard" || isFineTunedId(model)) return null;
  const p = tableProviderId(u.provider);
  if (p === null) return null;
  if (tier === "batch") return BATCH_TIER_PROVIDERS.has(p) ? { name: "batch", num: 1n, den: 2n } : null;
  if (HALF_FLEX_PROVIDERS.has(p)) return tier === "flex" ? { name: "flex", num: 1n, den: 2n } : null;
  if (!SERVICE_TIER_PROVIDERS.has(p)) return null;
  if (tier === "priority" && aboveLongContext()) return null;
  return { name: tier, ...tierBillingMultiple(tier, model) };
}

/**
 * `auto` mode: a call on an OpenAI service tier, priced at that tier. When the recorded estimate
 * (`usage.cost.total`, not provider-billed) of an OpenAI call is exactly a tier's multiple of
 * the table's list price (`listOf`: `tierListPico`; to float rounding: 1 part in 10⁶), the call was
 * served at that tier (OpenClaw computed its estimate from the same counts at the same list
 * price) and is billed `k ×` OpenAI's multiple of the model (`tierBillingMultiple`; `k`: the
 * override or table price that would be billed at the standard tier), exact and rounded up,
 * with `+service-tier:<name>` on its price version. Before, the list price was billed: priority (`/fast`) calls at half what OpenAI
 * charged, flex calls at twice. null when no tier matches (the list price stands): a recorded
 * estimate from another catalog price never matches by accident unless it is exactly such a
 * multiple.
 */
function serviceTierQuote(
  u: ParsedUsage,
  k: PriceQuote,
  pico: bigint | null,
  listOf: () => { readonly list: bigint; readonly flatList: bigint } | null,
): PriceQuote | null {
  if (pico === null || pico <= 0n || k.costPicoUsd <= 0n || u.recordedCostOrigin === "provider-billed")
    return null;
  // Only now: most calls carry no estimate, and the list price is a second table lookup.
  const lists = listOf();
  if (lists === null || lists.list <= 0n) return null;
  const near = (list: bigint, t: (typeof SERVICE_TIERS)[number]) => {
    const want = list * t.num;
    const got = pico * t.den;
    const diff = want > got ? want - got : got - want;
    return diff * 1_000_000n <= want || diff <= 2n * t.den;
  };
  for (const t of SERVICE_TIERS) {
    if (t.models !== undefined && !t.models.test(u.model.trim())) continue;
    // A call above a long-context threshold (the list differs from the base-rate list): pi-ai's
    // flat estimate is the tier's multiple of the base-rate list. Only flex is read there: OpenAI
    // prices long context "for standard, batch, and flex" and publishes no long-context priority
    // rate (https://developers.openai.com/api/docs/pricing).
    // Above it the estimate is compared with the base-rate list only: against the tiered list a
    // standard call whose tier doubles every rate it uses (no output) read as flex (a reviewer).
    const aboveTier = lists.flatList !== lists.list;
    if (aboveTier ? t.name === "flex" && near(lists.flatList, t) : near(lists.list, t)) {
      // Billed at OpenAI's multiple of the model, not pi-ai's (× 2 for every priority model).
      const bill = tierBillingMultiple(t.name, u.model);
      return {
        costPicoUsd: divCeil(k.costPicoUsd * bill.num, bill.den),
        source: k.source,
        version: `${k.version}+service-tier:${t.name}`,
        unknownModel: k.unknownModel,
      };
    }
  }
  return null;
}

/**
 * Two names of one model by their text alone: equal but for case, surrounding space or Google's
 * `models/` prefix.
 */
function sameModelName(a: string, b: string): boolean {
  const norm = (m: string) =>
    m
      .trim()
      .toLowerCase()
      .replace(/^models\//, "");
  return norm(a) === norm(b);
}

/**
 * Whether two table entries (`tableEntryOf`) list the same input and output prices, at every time
 * (conditional prices compared with their constraints). Not the cache prices: an entry may lack
 * them (OpenRouter's `anthropic/claude-3.7-sonnet` lists only input and output; the maker's entry
 * for the same model lists all four).
 */
function samePrices(a: object | string, b: object | string): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  const headline = (m: object) => {
    const prices = (m as ModelInfo).prices;
    const io = (p: ModelPrice) => [p.input_mtok ?? null, p.output_mtok ?? null];
    return JSON.stringify(
      Array.isArray(prices) ? prices.map((c) => [io(c.prices), c.constraint ?? null]) : io(prices),
    );
  };
  return headline(a) === headline(b);
}

/**
 * A provider-billed $0 for a call with tokens on a model whose list price (override or table) is
 * above $0: not a free call. OpenRouter bills a BYOK call's inference to the operator's own
 * provider key and reports `usage.cost` 0 (only its fee, waived within the free allowance);
 * OpenClaw stores that 0 as `cost.total` with `totalOrigin: "provider-billed"` and keeps neither
 * `is_byok` nor the upstream amount (openclaw/openclaw#9016, #101177; the same $0 in
 * Kilo-Org/kilocode#13829, tailcallhq/forgecode#1641). Such a call is billed at the list price
 * (and flagged: `billedZeroAnomaly`). Free routes (`:free` variants, `openrouter/free`) have a
 * list price of $0, so their provider-billed $0 stays $0; so does a model no list price knows.
 */
/**
 * Whether OpenClaw's recorded estimate `estimatePico` of a call is 1000× or more under or over
 * ({@link unitSlipSide}: exactly 1000×, a per-1K price in a per-1M field, counts) what the list price (override or table) gives for the same call, `listPico`: a price typed in
 * the wrong unit in OpenClaw's model catalog (per token, or per 1K, in its per-1M `cost` fields;
 * openclaw/openclaw#70416 recorded Claude Opus 4.7 calls at ~10^-6 of their price, "cost.total
 * effectively zero"), not a price anyone charges. `recorded` mode then prices the call from the
 * list, as it does a missing or $0 estimate. Never applied to a provider-billed amount (what was
 * charged); a $0 estimate or list price is not a slip (`recorded` mode's own rules cover those).
 * The ratio is the override sanity check's (`LIST_PRICE_RATIO`, validate.ts).
 */
export function estimateUnitSlip(estimatePico: bigint, listPico: bigint): boolean {
  return unitSlipSide(estimatePico, listPico) !== null;
}

function byokZero(u: ParsedUsage, k: PriceQuote | null): boolean {
  return k !== null && k.costPicoUsd > 0n && u.input + u.output + u.cacheRead + u.cacheWrite > 0;
}

/**
 * OpenRouter's BYOK fee as a fraction of the call's usual price: "5% of what the same model and
 * provider would normally cost on OpenRouter", charged once the account's free BYOK allowance of
 * the month (1M requests) is used up (https://openrouter.ai/docs/faq: `openRouterBYOKFee`
 * `fraction: '5'`, `BYOK_FEE_MONTHLY_REQUEST_THRESHOLD`; Roo-Code#4543 "OpenRouter charges 5% of
 * what it normally would", polka-codes/polka-codes#118 "total cost for openrouter seems too low").
 * Read with a margin of one percentage point either side: the fee is 5 % of the upstream
 * endpoint's price, which the table's OpenRouter entry may differ from by rounding or caching.
 */
const BYOK_FEE_PCT_MIN = 4n;
const BYOK_FEE_PCT_MAX = 6n;

/**
 * The quote of an OpenRouter BYOK call whose provider-billed amount is the fee alone (`byokFee`):
 * the list price (what the operator's own provider key was charged for the inference, as the
 * upstream amount OpenClaw did not keep) plus the fee OpenRouter charged, as a BYOK line with both
 * amounts is billed (parse.ts `recordedCost`), with `+openrouter-byok-fee` on its price version.
 */
function byokFeeQuote(k: PriceQuote, feePico: bigint): PriceQuote {
  return {
    costPicoUsd: k.costPicoUsd + feePico,
    source: k.source,
    version: `${k.version}${BYOK_FEE_VERSION}`,
    unknownModel: false,
    tableCostPicoUsd: k.costPicoUsd,
  };
}

/**
 * Whether a call's line is an OpenClaw CLI backend's turn (`api: "cli"`, or the `claude-cli`
 * provider, compared trimmed and lower-cased as parse.ts `cacheNotTellable` does) of a Claude
 * model (`model` holds `claude`, or is a Claude CLI id such as `sonnet-4.5`) run WITHOUT Claude's
 * 1M-token context option (no `[1m]` in the id, the suffix Claude Code selects that context
 * with). Such a line's counts are not one request's: OpenClaw writes the CLI's `result` usage
 * (cli-output.ts `parseCliJson` keeps the last record's usage; cli-run-transcript.ts
 * `persistCliAssistantTranscript` writes it), and Claude Code's `result.usage` sums every API call
 * of the turn (one per tool round). Without the 1M option no single request can hold more than
 * 200K tokens (Claude's standard window), so a long-context tier (Anthropic's ">200K input
 * tokens" rates, charged per request) can never have applied to any of them, however far the
 * turn's sum goes past the threshold.
 */
export function cliTurnWithoutLongContext(u: ParsedUsage, model: string): boolean {
  const p = u.provider.trim().toLowerCase();
  if (p !== "claude-cli" && u.api !== "cli") return false;
  const m = model.trim().toLowerCase();
  if (m.includes("[1m]")) return false;
  return m.includes("claude") || claudeShortNameModel(m) !== null;
}

/**
 * `quote` of a call at `rates`, except that a CLI backend's Claude turn without the 1M context
 * option (`cliTurnWithoutLongContext`) is priced without the rates' tiers from 200K on
 * (`CLAUDE_STANDARD_WINDOW`): its counts sum several requests, none of which could reach such a
 * threshold. Before 2026-12-03 such a turn whose summed prompt passed 200K was billed wholly at
 * the long-context rates (Sonnet 4.5: 2× input and cache, 1.5× output; case
 * `test/cases/claude-cli-turn-sum-long-context`). The price version says so (`+cli-turn`) only
 * when that changed the cost.
 */
function cliTurnQuote(
  u: ParsedUsage,
  model: string,
  rates: ModelRates,
  source: PriceQuote["source"],
  version: string,
): PriceQuote {
  const q = quote(u, rates, source, version, false);
  if (!cliTurnWithoutLongContext(u, model)) return q;
  const within = (r: TieredRate): TieredRate =>
    r.tiers.every((t) => t.above < CLAUDE_STANDARD_WINDOW)
      ? r
      : { base: r.base, tiers: r.tiers.filter((t) => t.above < CLAUDE_STANDARD_WINDOW) };
  const capped: ModelRates = {
    input: within(rates.input),
    output: within(rates.output),
    cacheRead: within(rates.cacheRead),
    cacheWrite: within(rates.cacheWrite),
    cacheWrite1h: within(rates.cacheWrite1h),
    perCallPico: rates.perCallPico,
  };
  const cost = callCostPicoUsd(u, capped);
  if (cost === q.costPicoUsd) return q;
  return { ...q, costPicoUsd: cost, version: `${version}+cli-turn` };
}

/**
 * Claude's standard context window in tokens: without the 1M option no request's prompt reaches
 * it, so no tier starting at or above it (`above` ≥ this: Anthropic's ">200K" rates) applies to a
 * request. A tier below it (Haiku 5.5's >100K rates) may have applied to some of a turn's
 * requests, which a summed line cannot show: it is kept, as written (Known limits).
 */
const CLAUDE_STANDARD_WINDOW = 200_000;

function quote(
  u: ParsedUsage,
  rates: ModelRates,
  source: PriceQuote["source"],
  version: string,
  unknownModel: boolean,
): PriceQuote {
  return { costPicoUsd: callCostPicoUsd(u, rates), source, version, unknownModel };
}

/**
 * The recorded cost in pico-USD: `recordedCostPicoUsd` when the event carries it (exact, from a
 * push), else `usage.cost.total` converted (null when absent or not a finite non-negative number).
 */
export function recordedCostPico(u: ParsedUsage): bigint | null {
  if (u.recordedCostPicoUsd != null) return BigInt(u.recordedCostPicoUsd);
  const v = u.recordedCostUsd;
  if (v === null || !Number.isFinite(v) || v < 0) return null;
  return usdFloatToPico(v);
}

function flatRates(input: string, output: string, cacheRead: string, cacheWrite: string): ModelRates {
  const flat = (usd: string): TieredRate => ({ base: usdPerMTokToMicro(usd), tiers: [] });
  return {
    input: flat(input),
    output: flat(output),
    cacheRead: flat(cacheRead),
    cacheWrite: flat(cacheWrite),
    cacheWrite1h: derived1h(flat(input)),
    perCallPico: 0n,
  };
}

// ---------------------------------------------------------------------------------------------
// Operator overrides file
// ---------------------------------------------------------------------------------------------

const MAX_DECIMALS = 6;

/**
 * A price in USD per 1M tokens → micro-USD per 1M tokens. Decimal strings are recommended;
 * numbers are taken via their decimal text. More than 6 decimals is rejected rather than rounded
 * (6 decimals = 1 pico-USD per token, the finest unit we bill).
 */
const usdPerMTokSchema = z
  .union([z.string(), z.number()], {
    error: (iss) =>
      iss.input === undefined ? "required" : 'must be a decimal string like "3.75" (or a number)',
  })
  .transform((v, ctx) => {
    const text = typeof v === "number" ? String(v) : v.trim();
    const m = /^\d+(?:\.(\d+))?$/.exec(text);
    if (!m) {
      ctx.addIssue({ code: "custom", message: `must be a non-negative decimal, got ${JSON.stringify(v)}` });
      return z.NEVER;
    }
    if ((m[1]?.length ?? 0) > MAX_DECIMALS) {
      ctx.addIssue({ code: "custom", message: `more than ${MAX_DECIMALS} decimals: ${text}` });
      return z.NEVER;
    }
    return usdPerMTokToMicro(text);
  });

const ratesShape = {
  input: usdPerMTokSchema,
  output: usdPerMTokSchema,
  cacheRead: usdPerMTokSchema,
  cacheWrite: usdPerMTokSchema,
  /** Optional 1-hour cache write price; default `CACHE_WRITE_1H_INPUT_MULTIPLIER` × `input`. */
  cacheWrite1h: usdPerMTokSchema.optional(),
};

/**
 * Zod skips refinements once a value has other issues; these run anyway (defensively typed), so
 * a file's duplicate keys are reported together with its bad prices, not one fix-and-retry later.
 */
const ALWAYS = { when: () => true };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const tierSchema = z.strictObject({
  /** The tier applies when total input tokens (uncached + cache read + cache write) exceed this. */
  // Not `.int()`: its failure aborts the refinements below, hiding other problems of the file.
  aboveInputTokens: z.number().min(0).refine(Number.isSafeInteger, "must be a whole number of tokens"),
  ...ratesShape,
});

/**
 * The overrides file (`CREDITGATE_PRICES`): USD per 1M tokens per `provider/model` (OpenClaw's
 * ids, case-insensitive) or `provider/*`. All four prices are required, cache ones included: a
 * silent default would misprice cached calls (write `"0"` when a provider really charges nothing).
 * `cacheWrite1h` (1-hour cache writes) is optional, in entries and tiers: default
 * `CACHE_WRITE_1H_INPUT_MULTIPLIER` × that entry's or tier's `input`.
 * Unknown keys are errors, so a typo like `cache_read` cannot be ignored.
 *
 * ```json
 * { "anthropic/claude-sonnet-4-6": { "input": "3", "output": "15", "cacheRead": "0.3", "cacheWrite": "3.75",
 *     "tiers": [{ "aboveInputTokens": 200000, "input": "6", "output": "22.5", "cacheRead": "0.6", "cacheWrite": "7.5" }] },
 *   "ollama/*": { "input": "0", "output": "0", "cacheRead": "0", "cacheWrite": "0" } }
 * ```
 */
export const priceOverridesSchema = z
  .record(
    z.string().regex(/^[^/\s]+\/\S+$/, 'must be "<provider>/<model>" or "<provider>/*"'),
    z.strictObject({
      ...ratesShape,
      tiers: z
        .array(tierSchema)
        .optional()
        .superRefine((tiers, ctx) => {
          const seen = new Set<unknown>();
          (Array.isArray(tiers) ? tiers : []).forEach((t: unknown, i) => {
            const above = isObject(t) ? t.aboveInputTokens : undefined;
            if (typeof above !== "number") return;
            if (seen.has(above)) {
              ctx.addIssue({
                code: "custom",
                path: [i, "aboveInputTokens"],
                message: "duplicate tier threshold",
              });
            }
            seen.add(above);
          });
        }, ALWAYS),
    }),
  )
  .superRefine((record, ctx) => {
    const seen = new Set<string>();
    for (const key of isObject(record) ? Object.keys(record) : []) {
      const lower = key.toLowerCase();
      if (seen.has(lower)) {
        ctx.addIssue({ code: "custom", path: [key], message: "duplicate key (keys are case-insensitive)" });
      }
      seen.add(lower);
    }
  }, ALWAYS);

/** The validated prices of an override entry or tier, in micro-USD per 1M tokens. */
interface FourRates {
  readonly input: bigint;
  readonly output: bigint;
  readonly cacheRead: bigint;
  readonly cacheWrite: bigint;
  readonly cacheWrite1h?: bigint | undefined;
}

/** Validates parsed JSON; `name` (the file path) is used in errors. Every problem is reported at once. */
export function parsePriceOverrides(json: unknown, name: string): PriceOverrides {
  const parsed = priceOverridesSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      // A bad record key arrives as one `invalid_key` issue wrapping the key schema's issues.
      const why =
        i.code === "invalid_key" ? `bad key: ${i.issues.map((k) => k.message).join("; ")}` : i.message;
      return `${jsonPath(i.path)}: ${why}`;
    });
    throw new AppError(
      ErrorCode.InvalidConfig,
      `invalid price overrides in ${name}:\n  ${issues.join("\n  ")}`,
      {
        context: { file: name, issues },
      },
    );
  }
  const byKey = new Map<string, ModelRates>();
  const canonical: Record<string, unknown> = {};
  for (const key of Object.keys(parsed.data).sort()) {
    const e = parsed.data[key];
    if (!e) continue;
    const tiers = [...(e.tiers ?? [])].sort((a, b) => a.aboveInputTokens - b.aboveInputTokens);
    const tiered = (pick: (r: FourRates) => bigint): TieredRate => ({
      base: pick(e),
      tiers: tiers.map((t) => ({ above: t.aboveInputTokens, rate: pick(t) })),
    });
    const lower = key.toLowerCase();
    byKey.set(lower, {
      input: tiered((r) => r.input),
      output: tiered((r) => r.output),
      cacheRead: tiered((r) => r.cacheRead),
      cacheWrite: tiered((r) => r.cacheWrite),
      cacheWrite1h: tiered((r) => r.cacheWrite1h ?? r.input * CACHE_WRITE_1H_INPUT_MULTIPLIER),
      perCallPico: 0n,
    });
    // Canonical form for the version hash: lower-cased sorted keys, normalised decimals, sorted
    // tiers; so "3", 3 and "3.0" or reordered keys give the same version. `cacheWrite1h` only
    // when given, so files written before it existed keep their version.
    const usd = (r: FourRates) => ({
      cacheRead: formatScaled(r.cacheRead, 6),
      cacheWrite: formatScaled(r.cacheWrite, 6),
      ...(r.cacheWrite1h === undefined ? {} : { cacheWrite1h: formatScaled(r.cacheWrite1h, 6) }),
      input: formatScaled(r.input, 6),
      output: formatScaled(r.output, 6),
    });
    canonical[lower] = {
      ...usd(e),
      tiers: tiers.map((t) => ({ aboveInputTokens: t.aboveInputTokens, ...usd(t) })),
    };
  }
  const hash = createHash("sha256").update(JSON.stringify(canonical)).digest("hex").slice(0, 12);
  return { byKey, version: `overrides:${hash}` };
}

/**
 * An override this many times above or below the table's price for the same model is almost
 * certainly in the wrong unit (a per-token price typed into a per-1M-tokens field is 10^6 off).
 */
export const OVERRIDE_SANITY_FACTOR = 1000n;

/**
 * Warnings (one line each, naming the key) for overrides whose base prices are implausible for
 * their model: ≥ `OVERRIDE_SANITY_FACTOR`× or ≤ 1/`OVERRIDE_SANITY_FACTOR` of the table's price
 * at `atMs`, compared price by price (input, output, cacheRead, cacheWrite) where both are
 * non-zero (a 1-hour write price defaults to 2× input, so an input typo covers it). `provider/*` keys and models the table does not know are not checked. The
 * overrides still apply: an operator may mean it; the warning is there for the typo.
 */
export function overrideSanityWarnings(overrides: PriceOverrides, atMs: number): string[] {
  const warnings: string[] = [];
  for (const [key, rates] of overrides.byKey) {
    const slash = key.indexOf("/");
    const model = key.slice(slash + 1);
    if (model === "*") continue;
    const table = findTablePrice(key.slice(0, slash), model, atMs);
    if (!table) continue;
    const odd: string[] = [];
    for (const k of ["input", "output", "cacheRead", "cacheWrite"] as const) {
      const mine = rates[k].base;
      const theirs = table[k].base;
      if (mine <= 0n || theirs <= 0n) continue;
      if (mine >= theirs * OVERRIDE_SANITY_FACTOR || mine * OVERRIDE_SANITY_FACTOR <= theirs) {
        odd.push(`${k} ${formatScaled(mine, 6)} vs the table's ${formatScaled(theirs, 6)}`);
      }
    }
    if (odd.length > 0) {
      warnings.push(
        `price override "${key}" looks like the wrong unit (prices are USD per 1M tokens): ${odd.join(", ")}`,
      );
    }
  }
  return warnings;
}

/** Reads and validates the overrides file; `null` (not configured) gives no overrides. */
export function loadPriceOverrides(path: string | null): PriceOverrides {
  if (path === null) return parsePriceOverrides({}, "(none)");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8").replace(/^\uFEFF/, ""));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new AppError(ErrorCode.InvalidConfig, `cannot read price overrides ${path}: ${why}`, {
      context: { file: path },
      cause: err,
    });
  }
  return parsePriceOverrides(json, path);
}

/** A zod issue path as a JSON path: `$["openai/gpt-4o"].tiers[0].input`. */
function jsonPath(path: readonly PropertyKey[]): string {
  return `$${path
    .map((p) =>
      typeof p === "number"
        ? `[${p}]`
        : /^[A-Za-z_]\w*$/.test(String(p))
          ? `.${String(p)}`
          : `[${JSON.stringify(String(p))}]`,
    )
    .join("")}`;
}
