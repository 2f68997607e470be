/**
 * Credit amounts as text. The plugin cannot import creditgate, so this is a faithful copy of
 * creditgate's `formatScaled` / `formatMicroCredits` (src/money.ts); plugin/test/money.test.ts
 * pins it to creditgate's outputs on a table of values. Change both together.
 */

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
 * Integer micro-credits (1 credit = 10^6; a fractional input is truncated toward zero) → exact
 * credits with at least `minDecimals` decimals: `2_500_000` → "2.5", `-2_500_000` → "-2.5",
 * with `minDecimals` 2 → "2.50" (creditgate's `formatMicroCredits`). `minDecimals` defaults to 0.
 */
export function formatMicroCredits(micro: number, minDecimals = 0): string {
  return formatScaled(BigInt(Math.trunc(micro)), 6, minDecimals);
}
