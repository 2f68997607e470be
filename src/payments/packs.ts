import { readFileSync } from "node:fs";
import { z } from "zod";
import { AppError, ErrorCode } from "../errors.js";
import { formatScaled, parseCreditsToMicro } from "../money.js";

export const PROVIDERS = ["stripe", "mercadopago"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal): amount = whole units. */
const STRIPE_ZERO_DECIMAL = new Set(
  "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split(" "),
);
/** Three-decimal currencies: Stripe requires the last (thousandths) digit to be 0. */
const STRIPE_THREE_DECIMAL = new Set("BHD JOD KWD OMR TND".split(" "));
/**
 * Stripe's special cases: two decimals on the wire, but whole units only. ISK: Stripe refuses
 * fractional amounts (`invalid_charge_amount_no_decimal_compatible`). HUF, TWD: Stripe pays out
 * only whole units; creditgate requires whole-unit prices for them too (stricter than charges).
 */
const STRIPE_WHOLE_UNITS_ONLY = new Set(["ISK", "HUF", "TWD"]);
/**
 * Stripe's minimum charge per presentment currency, in minor units (docs.stripe.com/currencies,
 * "Minimum and maximum charge amounts"); a cheaper pack could never be paid.
 */
const STRIPE_MINIMUM_MINOR: Readonly<Record<string, bigint>> = {
  USD: 50n,
  AED: 200n,
  AUD: 50n,
  BGN: 100n,
  BRL: 50n,
  CAD: 50n,
  CHF: 50n,
  CZK: 1500n,
  DKK: 250n,
  EUR: 50n,
  GBP: 30n,
  HKD: 400n,
  HUF: 17500n,
  INR: 50n,
  JPY: 50n,
  MXN: 1000n,
  MYR: 200n,
  NOK: 300n,
  NZD: 50n,
  PLN: 200n,
  RON: 200n,
  SEK: 300n,
  SGD: 50n,
  THB: 1000n,
};
/** Stripe amounts are at most 8 digits of minor units (99,999,999). */
const STRIPE_MAXIMUM_MINOR = 99_999_999n;
/** The currencies MercadoPago Checkout Pro takes (one per country it operates in). */
export const MERCADOPAGO_CURRENCIES: readonly string[] = ["ARS", "BRL", "CLP", "COP", "MXN", "PEN", "UYU"];
/** MercadoPago takes whole pesos for CLP and COP (COP's ISO exponent is 2, MP's is 0). */
const MP_ZERO_DECIMAL = new Set(["CLP", "COP"]);

/**
 * Checks an amount (integer minor units at `currencyExponent`) against the provider's rules for
 * its currency; returns why it breaks them, or null. Rules: MercadoPago takes only
 * `MERCADOPAGO_CURRENCIES`; Stripe three-decimal amounts end in 0, ISK/HUF/TWD are whole units,
 * and amounts lie between Stripe's minimum charge (where known) and 99,999,999 minor units.
 */
export function providerAmountProblem(
  provider: ProviderName,
  currency: string,
  amountMinor: bigint,
): string | null {
  const c = currency.toUpperCase();
  const exponent = currencyExponent(provider, c);
  if (provider === "mercadopago") {
    if (!MERCADOPAGO_CURRENCIES.includes(c)) {
      return `MercadoPago does not take ${c}: use one of ${MERCADOPAGO_CURRENCIES.join(", ")}`;
    }
    return null;
  }
  if (STRIPE_THREE_DECIMAL.has(c) && amountMinor % 10n !== 0n) {
    return `Stripe requires the last decimal of ${c} amounts to be 0`;
  }
  if (STRIPE_WHOLE_UNITS_ONLY.has(c) && amountMinor % 100n !== 0n) {
    return `Stripe takes ${c} in whole units only (no decimals)`;
  }
  const min = STRIPE_MINIMUM_MINOR[c];
  if (min !== undefined && amountMinor < min) {
    return `below Stripe's minimum charge of ${minorToDecimal(min, exponent)} ${c}`;
  }
  if (amountMinor > STRIPE_MAXIMUM_MINOR) {
    return `above Stripe's maximum amount of ${minorToDecimal(STRIPE_MAXIMUM_MINOR, exponent)} ${c}`;
  }
  return null;
}

/** Decimal places a provider uses on the wire for `currency` (upper-case ISO 4217). */
export function currencyExponent(provider: ProviderName, currency: string): number {
  const c = currency.toUpperCase();
  if (provider === "stripe") {
    if (STRIPE_ZERO_DECIMAL.has(c)) return 0;
    if (STRIPE_THREE_DECIMAL.has(c)) return 3;
    return 2;
  }
  return MP_ZERO_DECIMAL.has(c) ? 0 : 2;
}

/**
 * An exact decimal ("5", "25.50") in major units → integer minor units. Throws on more decimals
 * than the currency has: `0.30000000000000004` is rejected loudly, never rounded away.
 */
export function decimalToMinor(amount: string | number, exponent: number): bigint {
  const text = typeof amount === "number" ? String(amount) : amount.trim();
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw new RangeError(`not a plain non-negative decimal: ${text}`);
  const whole = m[1] ?? "0";
  const digits = (m[2] ?? "").replace(/0+$/, "");
  if (digits.length > exponent) throw new RangeError(`${text} has more than ${exponent} decimals`);
  return BigInt(whole + digits.padEnd(exponent, "0"));
}

/** Integer minor units → the provider's decimal string ("500", 2 → "5.00"). Display and MP wire only. */
export function minorToDecimal(amountMinor: bigint, exponent: number): string {
  return formatScaled(amountMinor, exponent, exponent);
}

const decimalText = z.string().regex(/^\d+(\.\d+)?$/, "must be an exact decimal string like 5 or 5.00");

const priceSchema = z.object({
  provider: z.enum(PROVIDERS),
  currency: z
    .string()
    .regex(/^[A-Za-z]{3}$/, "must be a 3-letter ISO 4217 code")
    .transform((c) => c.toUpperCase()),
  /** Exact decimal in major units ("5.00" USD, "5000" CLP); never a float. */
  amount: decimalText,
});

const packSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must be lower-case letters, digits, - or _"),
  title: z.string().min(1).max(120).optional(),
  /** Credits granted, as an exact decimal string ("5", "2.5"). */
  credits: decimalText,
  prices: z.array(priceSchema).min(1),
});

export const packsFileSchema = z.object({ packs: z.array(packSchema).min(1) });
export type PacksFile = z.infer<typeof packsFileSchema>;

export interface PackPrice {
  provider: ProviderName;
  currency: string;
  amountMinor: bigint;
  exponent: number;
}

export interface Pack {
  id: string;
  title: string;
  grantMicroCredits: bigint;
  prices: readonly PackPrice[];
}

export interface PackCatalog {
  list(): readonly Pack[];
  get(id: string): Pack | undefined;
  /** The pack's price for a provider; `currency` picks one when several are listed (default: first). */
  price(pack: Pack, provider: ProviderName, currency?: string): PackPrice | undefined;
}

/** Validates a parsed packs document; every problem is reported at once. */
export function parsePacks(input: unknown): PackCatalog {
  const parsed = packsFileSchema.safeParse(input);
  if (!parsed.success) {
    throw new AppError(ErrorCode.InvalidConfig, `invalid packs file:\n${z.prettifyError(parsed.error)}`);
  }
  const problems: string[] = [];
  const packs: Pack[] = [];
  const seen = new Set<string>();
  for (const p of parsed.data.packs) {
    if (seen.has(p.id)) problems.push(`pack ${p.id}: duplicate id`);
    seen.add(p.id);
    let grant = 0n;
    try {
      grant = parseCreditsToMicro(p.credits);
    } catch (err) {
      problems.push(`pack ${p.id}: credits ${(err as Error).message}`);
    }
    if (grant <= 0n) problems.push(`pack ${p.id}: credits must be greater than 0`);
    const prices: PackPrice[] = [];
    const pairs = new Set<string>();
    for (const pr of p.prices) {
      const pair = `${pr.provider}:${pr.currency}`;
      if (pairs.has(pair)) problems.push(`pack ${p.id}: two ${pr.provider} prices in ${pr.currency}`);
      pairs.add(pair);
      const exponent = currencyExponent(pr.provider, pr.currency);
      try {
        const amountMinor = decimalToMinor(pr.amount, exponent);
        if (amountMinor <= 0n) throw new RangeError("must be greater than 0");
        const problem = providerAmountProblem(pr.provider, pr.currency, amountMinor);
        if (problem) throw new RangeError(problem);
        prices.push({ provider: pr.provider, currency: pr.currency, amountMinor, exponent });
      } catch (err) {
        problems.push(`pack ${p.id}: ${pr.provider} ${pr.currency} ${pr.amount}: ${(err as Error).message}`);
      }
    }
    packs.push({ id: p.id, title: p.title ?? `${p.credits} credits`, grantMicroCredits: grant, prices });
  }
  if (problems.length > 0) {
    throw new AppError(
      ErrorCode.InvalidConfig,
      `invalid packs file:\n${problems.map((x) => `✖ ${x}`).join("\n")}`,
    );
  }
  const byId = new Map(packs.map((p) => [p.id, p]));
  return {
    list: () => packs,
    get: (id) => byId.get(id),
    price: (pack, provider, currency) =>
      pack.prices.find(
        (pr) =>
          pr.provider === provider && (currency === undefined || pr.currency === currency.toUpperCase()),
      ),
  };
}

/** Reads and validates the packs JSON file named by CREDITGATE_PACKS. */
export function loadPacksFile(path: string): PackCatalog {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new AppError(
      ErrorCode.InvalidConfig,
      `cannot read packs file ${path}${code === "ENOENT" ? ": no such file" : code ? `: ${code}` : ""}`,
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new AppError(
      ErrorCode.InvalidConfig,
      `packs file ${path} is not valid JSON: ${(cause as Error).message}`,
      { cause },
    );
  }
  return parsePacks(json);
}

/** A catalog with no packs, used when CREDITGATE_PACKS is unset (top-ups then refuse clearly). */
export const EMPTY_CATALOG: PackCatalog = { list: () => [], get: () => undefined, price: () => undefined };
