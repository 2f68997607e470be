/**
 * Money and rounding. The ONLY place where amounts are converted or rounded.
 *
 * Units (all integers, never floats):
 * - `PicoUsd` (1 USD = 10^12): the exact provider cost of a model call. A price of
 *   `p` USD per million tokens is stored as `p * 10^6` micro-USD per million tokens
 *   (`MicroUsdPerMTok`), and `tokens × MicroUsdPerMTok` is exactly the cost in pico-USD,
 *   so any price with up to 6 decimals (USD/MTok) is priced without rounding.
 * - `MicroUsd` (1 USD = 10^6): reporting unit for costs (`costMicros`).
 * - `MicroCredits` (1 credit = 10^6): the only unit the ledger stores (see {@link MicroCredits}).
 *
 * Rounding rules (written once, tested in test/money.test.ts):
 * 1. Cost per event: exact (pico-USD), no rounding.
 * 2. Charge per event: `cost × markup × creditsPerUsd`, computed with exact rationals and
 *    rounded UP once per event to a whole micro-credit (the operator never undercharges;
 *    the user overpays by < 1 micro-credit per model call).
 * 3. Reports: sums of pico-USD are given as micro-USD rounded half-up, once per row (`costMicros`),
 *    beside the exact sum; tables print the exact sum (a $0.0000004 row is not `$0.00`).
 * 4. Recorded costs (`usage.cost.total`, a float in USD written by OpenClaw) are converted
 *    to pico-USD by rounding half-up to the nearest pico-USD (`usdFloatToPico`).
 * 5. Report margins: a sum of micro-credits charged is valued in USD at the credit rate, half-up
 *    to a whole pico-USD, once per report row (`microCreditsToPicoUsd`).
 * 6. Exchange rates (provider accounts in CNY, EUR, …): a rate is USD per unit with at most 9
 *    decimals, held as integer nano-USD per unit (`CREDITGATE_FX_RATES`). An amount in micro-units
 *    of the currency converts to micro-USD (and back) rounded half-up, away from zero for
 *    negatives, once per converted figure (`fxToUsdMicro`, `fxFromUsdMicro`); sums and
 *    comparisons happen after the conversion, never on floats.
 */

export const PICO_PER_USD = 1_000_000_000_000n;
export const PICO_PER_MICRO = 1_000_000n;
export const MICRO_PER_UNIT = 1_000_000n;

/** An exact non-negative rational `num / den`, used for markups and credit rates. */
export interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

const DECIMAL_RE = /^(\d+)(?:\.(\d+))?$/;

/** Parses a plain non-negative decimal string ("1.25", "3", "0.075") into an exact ratio. */
export function parseDecimal(text: string): Ratio {
  const m = DECIMAL_RE.exec(text.trim());
  if (!m) throw new RangeError(`not a non-negative decimal number: "${text}"`);
  const frac = m[2] ?? "";
  return { num: BigInt((m[1] ?? "0") + frac), den: 10n ** BigInt(frac.length) };
}

/** Converts a decimal (string or finite number) to an integer scaled by `10^scale`, rounding half-up. */
export function decimalToScaled(value: string | number, scale: number): bigint {
  const text = typeof value === "number" ? numberToPlainString(value) : value;
  const { num, den } = parseDecimal(text);
  const mult = 10n ** BigInt(scale);
  return divRoundHalfUp(num * mult, den);
}

/** USD per million tokens (decimal) → integer micro-USD per million tokens (= pico-USD per token). */
export function usdPerMTokToMicro(value: string | number): bigint {
  return decimalToScaled(value, 6);
}

/**
 * Below this many USD, doubles are closer together than 10^-12 (the spacing of doubles under
 * 2^10 is at most 2^-43 ≈ 1.1e-13), so at most one whole number of pico-USD lies within rounding
 * distance of a given double: what makes `usdFloatToPico`'s fast path exact.
 */
const FAST_PICO_BELOW_USD = 1000;

/**
 * A recorded float USD amount (e.g. `usage.cost.total`) → pico-USD: its shortest round-trip
 * decimal (`String(value)`), rounded half-up to a whole pico-USD. @throws RangeError when
 * `value` is not finite or negative.
 */
export function usdFloatToPico(value: number): bigint {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`bad USD amount ${value}`);
  // Fast path (no string, the meter converts one recorded cost per call): `k` whole pico-USD
  // with k / 10^12 rounding to `value` itself. Below FAST_PICO_BELOW_USD that `k` is the only
  // multiple of 10^-12 that rounds to `value`, so the shortest decimal, which has at most 12
  // fraction digits as k·10^-12 does, IS k·10^-12 and the digit path below returns k, unrounded.
  // `value * 1e12` is within 0.12 of k there, so Math.round finds it when it exists. Amounts
  // with more than 12 fraction digits (k / 10^12 !== value) take the digit path.
  if (value < FAST_PICO_BELOW_USD) {
    const k = Math.round(value * 1e12);
    if (k / 1e12 === value) return BigInt(k);
  }
  // The same half-up rounding of the same shortest decimal as `decimalToScaled(value, 12)`, on
  // the digits directly (the meter converts one recorded cost per call): keep 12 fraction
  // digits, and add one pico-USD when the 13th is 5 or more.
  const text = numberToPlainString(value);
  const dot = text.indexOf(".");
  if (dot < 0) return BigInt(text) * PICO_PER_USD;
  const frac = text.slice(dot + 1);
  const kept = BigInt(text.slice(0, dot) + frac.slice(0, 12).padEnd(12, "0"));
  return frac.length > 12 && frac.charCodeAt(12) >= 53 /* "5" */ ? kept + 1n : kept;
}

/** Ceil division for non-negative bigints. */
export function divCeil(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new RangeError("divisor must be positive");
  if (a <= 0n) return -(-a / b);
  return (a + b - 1n) / b;
}

/** Half-up division for non-negative bigints. */
export function divRoundHalfUp(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new RangeError("divisor must be positive");
  if (a < 0n) return -divRoundHalfUp(-a, b);
  return (a * 2n + b) / (2n * b);
}

/**
 * Rule 2: the charge for one event in micro-credits.
 * `chargeMicroCredits = ceil(costPicoUsd × markup × creditsPerUsd / 10^6)`.
 */
export function chargeMicroCredits(costPicoUsd: bigint, markup: Ratio, creditsPerUsd: Ratio): bigint {
  if (costPicoUsd < 0n) throw new RangeError("cost must be >= 0");
  const num = costPicoUsd * markup.num * creditsPerUsd.num;
  const den = markup.den * creditsPerUsd.den * PICO_PER_MICRO;
  return divCeil(num, den);
}

/** Rule 3: a pico-USD sum → micro-USD, half-up. */
export function picoToMicroUsd(pico: bigint): bigint {
  return divRoundHalfUp(pico, PICO_PER_MICRO);
}

/**
 * `picoToMicroUsd` for a non-negative safe-integer number (a report sum read as a JS number),
 * without bigint arithmetic; the same half-up rule. Other values go through the bigint form.
 */
export function picoNumberToMicroUsd(pico: number): number {
  if (!(Number.isSafeInteger(pico) && pico >= 0 && pico <= Number.MAX_SAFE_INTEGER - 500_000))
    return Number(picoToMicroUsd(BigInt(pico)));
  // floor((pico + 5·10^5) / 10^6), made exact: the float quotient is corrected by the remainder.
  const x = pico + 500_000;
  let q = Math.floor(x / 1_000_000);
  const r = x - q * 1_000_000;
  if (r < 0) q -= 1;
  else if (r >= 1_000_000) q += 1;
  return q;
}

/**
 * Rule 5 (reports): micro-credits charged → their USD value in pico-USD at `creditsPerUsd`
 * (`micro × 10^6 / creditsPerUsd`), half-up to a whole pico-USD; null when the rate is 0.
 * Used for the operator's margin (charged − provider cost), never for a charge.
 */
export function microCreditsToPicoUsd(micro: bigint, creditsPerUsd: Ratio): bigint | null {
  if (creditsPerUsd.num === 0n) return null;
  return divRoundHalfUp(micro * PICO_PER_MICRO * creditsPerUsd.den, creditsPerUsd.num);
}

/** Formats an integer amount with `scale` implied decimals, trimming trailing zeros ("0.4851608"). */
export function formatScaled(value: bigint, scale: number, minDecimals = 0): string {
  const neg = value < 0n;
  const abs = neg ? -value : value;
  const s = abs.toString().padStart(scale + 1, "0");
  const int = s.slice(0, s.length - scale);
  let frac = s.slice(s.length - scale).replace(/0+$/, "");
  if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, "0");
  return `${neg ? "-" : ""}${int}${frac ? `.${frac}` : ""}`;
}

/**
 * Micro-credits (1 credit = 10^6 micro-credits), the ledger's one unit: an integer amount, balance,
 * cap or threshold. Stored (SQLite INTEGER), returned and sent (JSON) as a `number`, always a safe
 * integer (|v| ≤ 2^53 − 1, about 9 billion credits): every value written to the ledger or a
 * top-up passes {@link toMicroCredits}, which throws instead of rounding. Exact arithmetic that
 * can overflow 2^53 (a charge is cost × markup × rate; a balance plus an amount before the check;
 * an operator's typed amount) runs in `bigint` and comes back through {@link toMicroCredits} once.
 */
export type MicroCredits = number;

/** The largest {@link MicroCredits} magnitude the ledger holds: 2^53 − 1 (about 9 billion credits). */
export const MAX_MICRO_CREDITS = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The one bridge from exact `bigint` micro-credits to {@link MicroCredits}: the same integer as a
 * number, or a `RangeError` ("`what` <v> exceeds the safe integer range") past ±(2^53 − 1).
 */
export function toMicroCredits(v: bigint, what = "amount"): MicroCredits {
  return toSafeNumber(v, what);
}

export const formatPicoUsd = (pico: bigint): string => formatScaled(pico, 12);

/**
 * `formatPicoUsd` for a report sum that may be a JS number (a safe integer) or a bigint: the
 * same text ("0" for zero, trailing zeros trimmed, "-" before a negative), without converting a
 * safe number to bigint. A report formats ~4 of these per row for ~100k rows: the number path
 * works on integers (`%` and the division of an exact multiple are exact for safe integers) and
 * builds one string.
 */
export function formatPicoUsdSum(pico: number | bigint): string {
  if (typeof pico === "bigint" || !Number.isSafeInteger(pico)) return formatPicoUsd(BigInt(pico));
  if (pico === 0) return "0";
  const sign = pico < 0 ? "-" : "";
  const abs = pico < 0 ? -pico : pico;
  let frac = abs % 1e12;
  const whole = (abs - frac) / 1e12;
  if (frac === 0) return `${sign}${whole}`;
  let digits = 12;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  const f = String(frac);
  return `${sign}${whole}.${TWELVE_ZEROS.slice(0, digits - f.length)}${f}`;
}
const TWELVE_ZEROS = "000000000000";

/**
 * The one credit formatter: micro-credits → exact credits with at least 2 decimals
 * (`2_500_000` → "2.50", `-1` → "-0.000001"). Takes {@link MicroCredits} or exact `bigint`.
 * The OpenClaw plugin keeps a pinned copy (plugin/src/money.ts).
 */
export const formatMicroCredits = (micro: MicroCredits | bigint): string => formatScaled(BigInt(micro), 6, 2);

/** Parses a credit amount typed by an operator ("5", "2.5", "-1.25") into micro-credits, exactly. */
export function parseCreditsToMicro(text: string): bigint {
  const t = text.trim();
  const neg = t.startsWith("-");
  const { num, den } = parseDecimal(neg ? t.slice(1) : t);
  if ((num * MICRO_PER_UNIT) % den !== 0n) throw new RangeError(`more than 6 decimals in "${text}"`);
  const v = (num * MICRO_PER_UNIT) / den;
  return neg ? -v : v;
}

/** Shortest plain (non-exponent) decimal for a finite number: 2.8608e-3 → "0.0028608". */
function numberToPlainString(n: number): string {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`bad number ${n}`);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const [mant = "0", expText = "0"] = s.toLowerCase().split("e");
  const exp = Number(expText);
  const [ip = "0", fp = ""] = mant.split(".");
  const digits = ip + fp;
  const point = ip.length + exp;
  if (point <= 0) return `0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + "0".repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** Converts a bigint known to be small enough into a JS number for SQLite/JSON, or throws. */
export function toSafeNumber(v: bigint, what = "amount"): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} ${v} exceeds the safe integer range`);
  return n;
}

/**
 * Rule 5: an amount a model provider reports (a balance, a spend) → integer **micro-units of its
 * own currency** (10^-6 USD, 10^-6 CNY, ...), rounded half-up, away from zero for negatives (a
 * Moonshot cash balance can be negative). Decimal strings (DeepSeek's "110.00", Anthropic's
 * cents "123.4567") are parsed exactly; JSON numbers (OpenRouter, OpenAI, Moonshot) are read
 * through their shortest round-trip decimal (`String(n)`: 25.75 stays 25.75, never
 * 25.7499999…), then rounded once. `minorDigits`: the amount is in 10^-minorDigits units of the
 * currency (2 for cents; 0-6). Errors: not a finite plain decimal (RangeError).
 */
export function providerAmountToMicro(value: string | number, minorDigits = 0): bigint {
  if (!Number.isInteger(minorDigits) || minorDigits < 0 || minorDigits > 6)
    throw new RangeError(`minorDigits must be 0-6, got ${minorDigits}`);
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new RangeError(`bad amount ${value}`);
    text = value < 0 ? `-${numberToPlainString(-value)}` : numberToPlainString(value);
  } else text = value.trim();
  const neg = text.startsWith("-");
  const { num, den } = parseDecimal(neg ? text.slice(1) : text);
  const micro = divRoundHalfUp(num * 10n ** BigInt(6 - minorDigits), den);
  return neg ? -micro : micro;
}

/** Nano-USD (10^-9 USD) per unit of a currency: how `CREDITGATE_FX_RATES` holds a rate (rule 6). */
export const NANO_PER_UNIT = 1_000_000_000n;

/**
 * Rule 6: micro-units of a currency → micro-USD at `usdPerUnitNano` (USD per 1 unit × 10^9, > 0),
 * half-up (away from zero for negatives). `fxToUsdMicro(1_000_000n, 138_900_000n)` (1 CNY at
 * 0.1389) = 138_900n. Errors: a rate ≤ 0 (RangeError).
 */
export function fxToUsdMicro(micro: bigint, usdPerUnitNano: bigint): bigint {
  if (usdPerUnitNano <= 0n) throw new RangeError("exchange rate must be > 0");
  return divRoundHalfUp(micro * usdPerUnitNano, NANO_PER_UNIT);
}

/** Rule 6, the inverse: micro-USD → micro-units of the currency at `usdPerUnitNano`, half-up. */
export function fxFromUsdMicro(usdMicro: bigint, usdPerUnitNano: bigint): bigint {
  if (usdPerUnitNano <= 0n) throw new RangeError("exchange rate must be > 0");
  return divRoundHalfUp(usdMicro * NANO_PER_UNIT, usdPerUnitNano);
}
