import type { ModelInfo } from "@pydantic/genai-prices";
import { usdPerMTokToMicro } from "../money.js";
import type { ModelRates, TieredRate } from "./pricing.js";

/**
 * OpenAI fine-tuned models. A fine-tuned model is called by its own id,
 * `ft:<base snapshot>:<organization>:<suffix>:<id>` (the suffix may be empty: `…:acme::B7xQ9zLm`;
 * a checkpoint adds `:ckpt-step-<n>`), and OpenAI bills its inference at the fine-tuned rates of
 * its base snapshot, not at the base model's (https://openai.com/api/pricing, "Fine-tuning").
 *
 * @pydantic/genai-prices 0.1.8 lists only the GPT-4o, GPT-4o mini and GPT-3.5 Turbo fine-tunes,
 * without a cached-input price, so:
 * - a fine-tuned GPT-4.1, GPT-4.1 mini, GPT-4.1 nano or o4-mini was an unknown model, billed at
 *   the fallback rates (by default Claude Opus's $15 / $75 per 1M: 5× a fine-tuned GPT-4.1, 75×
 *   a fine-tuned nano) or OpenClaw's own estimate, which is $0 for a model its catalog lacks;
 * - a cached read of a fine-tuned GPT-4o or GPT-4o mini was billed at the full input rate (2×).
 * The kind of BerriAI/litellm#20411 ("Cost difference in GPT 4o fine tuned model"), #3697, #1840,
 * langchain-ai/langchain#11715 (fine-tuned ids not matched, cost 0); the rates are OpenAI's
 * fine-tuning inference prices as LiteLLM's table carries them (`ft:gpt-4.1-2025-04-14` $3 /
 * $0.75 cached / $12, …).
 *
 * Rates in USD per 1M tokens: input, cached input, output. Not here: o4-mini's lower price for
 * organisations that share their data with OpenAI ($2 / $8: nothing in a transcript says so),
 * legacy completions bases (`davinci-002`, `babbage-002`: no chat API).
 */
const FINE_TUNED: ReadonlyMap<string, readonly [input: string, cachedInput: string, output: string]> =
  new Map([
    ["gpt-4.1-2025-04-14", ["3", "0.75", "12"]],
    ["gpt-4.1-mini-2025-04-14", ["0.8", "0.2", "3.2"]],
    ["gpt-4.1-nano-2025-04-14", ["0.2", "0.05", "0.8"]],
    ["o4-mini-2025-04-16", ["4", "1", "16"]],
    ["gpt-4o-2024-08-06", ["3.75", "1.875", "15"]],
    ["gpt-4o-mini-2024-07-18", ["0.3", "0.15", "1.2"]],
  ]);

/** `ft:<base>:…`, optionally behind a proxy's `openai/` vendor prefix: group 1 is the base snapshot. */
const FINE_TUNED_ID = /^(?:openai\/)?ft:([^:]+)(?::|$)/i;

/** One fine-tuned price list entry as rates, and a table-shaped entry naming it. */
interface FineTunedEntry {
  readonly rates: ModelRates;
  readonly info: ModelInfo;
}

const entries = new Map<string, FineTunedEntry>();

/** The rates of every fine-tuned entry, so a row priced from one carries `FINE_TUNED_VERSION_TAG`. */
const fineTunedRates = new WeakSet<ModelRates>();

/** The `price_version` suffix of a row priced from this list (`…@0.1.8+fine-tuned`). */
export const FINE_TUNED_VERSION_TAG = "fine-tuned";

/**
 * The fine-tuned price list entry of an OpenAI fine-tuned model id (`ft:gpt-4.1-2025-04-14:acme::x`,
 * case- and space-insensitive, also as `openai/ft:…`), or null when `model` is no fine-tuned id or
 * its base snapshot is not on the list. `info` is one stable object per base (so two fine-tunes of
 * one base are one table entry to `tableEntryOf`).
 */
export function fineTunedEntry(model: string): FineTunedEntry | null {
  const m = FINE_TUNED_ID.exec(model.trim());
  const base = m?.[1]?.toLowerCase();
  if (base === undefined) return null;
  const hit = entries.get(base);
  if (hit !== undefined) return hit;
  const prices = FINE_TUNED.get(base);
  if (prices === undefined) return null;
  const [input, cachedInput, output] = prices;
  const flat = (usd: string): TieredRate => ({ base: usdPerMTokToMicro(usd), tiers: [] });
  const inputRate = flat(input);
  const rates: ModelRates = {
    input: inputRate,
    output: flat(output),
    cacheRead: flat(cachedInput),
    // OpenAI fine-tunes report no cache writes; were one reported, it is prompt input.
    cacheWrite: inputRate,
    cacheWrite1h: inputRate,
    perCallPico: 0n,
  };
  fineTunedRates.add(rates);
  const entry: FineTunedEntry = {
    rates,
    info: {
      id: `ft:${base}`,
      match: { starts_with: `ft:${base}` },
      prices: {
        input_mtok: Number(input),
        cache_read_mtok: Number(cachedInput),
        output_mtok: Number(output),
      },
    },
  };
  entries.set(base, entry);
  return entry;
}

/**
 * Whether `model` is an OpenAI fine-tuned model id (`ft:<base>:…`, also `openai/ft:…`), of any
 * base. OpenAI serves no fine-tuned model at a service tier: Flex processing is offered on listed
 * models only (platform.openai.com/docs/guides/flex-processing: o3, o4-mini, later GPT-5 models),
 * and Priority processing likewise (openai.com/api-priority-processing lists GPT-5.x, GPT-4.1,
 * GPT-4o, o3, o4-mini… at their own prices, no fine-tuned model), so a fine-tune's call is billed
 * at its fine-tuned rates whatever its recorded estimate (see `tierListPico` in `pricing.ts`).
 */
export function isFineTunedId(model: string): boolean {
  return FINE_TUNED_ID.test(model.trim());
}

/** Whether `rates` came from the fine-tuned price list (see `fineTunedEntry`). */
export function isFineTunedRates(rates: ModelRates): boolean {
  return fineTunedRates.has(rates);
}

/**
 * Whether the table's own rates for a fine-tuned id are the list's without a cached-input price:
 * the same input and output rates, and cache reads at the input rate (the table's way of saying it
 * has none). Then the list's rates, which add it, stand in; a table entry that prices the model
 * otherwise (a later genai-prices release with its own cached price, or other rates) wins.
 */
export function tableLacksFineTunedCachePrice(table: ModelRates, list: ModelRates): boolean {
  const flat = (r: TieredRate) => r.tiers.length === 0;
  return (
    flat(table.input) &&
    flat(table.output) &&
    flat(table.cacheRead) &&
    table.input.base === list.input.base &&
    table.output.base === list.output.base &&
    table.cacheRead.base === table.input.base &&
    list.cacheRead.base !== list.input.base
  );
}
