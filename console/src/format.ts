/**
 * Money arrives as integers (micro-credits) or exact decimal strings (pico-USD): it is turned
 * into an exact decimal string here with BigInt and only then formatted for the locale
 * (Intl.NumberFormat formats decimal strings without going through a float).
 */

/** `value / 10^scale` as an exact decimal string. */
export function scaled(value: bigint | number | string, scale: number): string {
  const v = BigInt(value);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const base = 10n ** BigInt(scale);
  const int = abs / base;
  const frac = (abs % base).toString().padStart(scale, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${int}${frac ? `.${frac}` : ""}`;
}

const nf = (locale: string, o: Intl.NumberFormatOptions) => new Intl.NumberFormat(locale, o);
type Fmt = (v: string) => string;
const asFmt =
  (f: Intl.NumberFormat): Fmt =>
  (v) =>
    f.format(v as unknown as number);

/** Credits from micro-credits, 2 decimals (more when needed, up to 6). */
export function credits(locale: string, micro: number | bigint | string): string {
  return asFmt(nf(locale, { minimumFractionDigits: 2, maximumFractionDigits: 6 }))(scaled(micro, 6));
}

/** Below this many pico-USD ($0.0001), a non-zero amount would round to `$0.00` at 4 decimals. */
const TINY_PICO = 100_000_000n;

/**
 * USD from pico-USD, 2-4 decimals; a non-zero amount under $0.0001 exactly (up to 12), never
 * `$0.00` (before 2026-12-03 a user or model that cost $0.00004 read `$0.00` beside its charge).
 */
export function usd(locale: string, pico: string | bigint): string {
  const v = BigInt(pico);
  const tiny = v !== 0n && (v < 0n ? -v : v) < TINY_PICO;
  return asFmt(
    nf(locale, {
      style: "currency",
      currency: "USD",
      minimumFractionDigits: 2,
      maximumFractionDigits: tiny ? 12 : 4,
    }),
  )(scaled(v, 12));
}

/** An amount in a currency's minor units. */
export function minor(locale: string, amount: number, exponent: number, currency: string): string {
  return asFmt(
    nf(locale, {
      style: "currency",
      currency,
      minimumFractionDigits: exponent,
      maximumFractionDigits: exponent,
    }),
  )(scaled(amount, exponent));
}

/**
 * An amount in micro-units of an account's currency (provider balances and spend: integer
 * micro-units from the API), 2-6 decimals. A missing or non-ISO currency code is shown after the
 * number instead of failing.
 */
export function microMoney(locale: string, micro: number | bigint | string, currency: string | null): string {
  const v = scaled(micro, 6);
  if (currency) {
    try {
      return asFmt(
        nf(locale, { style: "currency", currency, minimumFractionDigits: 2, maximumFractionDigits: 6 }),
      )(v);
    } catch {
      // not an ISO 4217 code: the plain number and the code
    }
  }
  const n = asFmt(nf(locale, { minimumFractionDigits: 2, maximumFractionDigits: 6 }))(v);
  return currency ? `${n} ${currency}` : n;
}

export function int(locale: string, n: number): string {
  return nf(locale, {}).format(n);
}

export function pct(locale: string, part: number, whole: number): string {
  return whole > 0 ? nf(locale, { style: "percent", maximumFractionDigits: 1 }).format(part / whole) : "–";
}

export function dateTime(locale: string, ms: number | null | undefined): string {
  return ms
    ? new Date(ms).toLocaleString(locale, { timeZone: "UTC", dateStyle: "medium", timeStyle: "short" }) +
        " UTC"
    : "–";
}

/** Micro-credits as a plain number of credits, for chart axes only (display, never arithmetic). */
export function chartCredits(micro: number): number {
  return micro / 1e6;
}
