import { InvalidArgumentError } from "commander";
import { AppError, ErrorCode } from "../errors.js";
import { formatMicroCredits, MAX_MICRO_CREDITS, parseCreditsToMicro } from "../money.js";

/**
 * Commander argument parser for a whole number in [min, max] (defaults: 0 and 2^53-1). Used for
 * every numeric option, so `--limit abc` or `--limit 1e3` is refused with one line naming the
 * option, never silently replaced by a default.
 */
export function integerArg(min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

/**
 * A credit amount as typed by the operator (`5`, `2.5`, `-1`) → micro-credits. `what` names the
 * argument in the error (`credits`, `--daily`). Refuses (AppError invalid_request, one line)
 * text that is not a decimal, more than 6 decimals, a non-positive amount unless `allowNegative`,
 * and anything past ±(2^53-1) micro-credits (about 9 billion credits).
 */
export function creditsArg(what: string, text: string, opts: { allowNegative?: boolean } = {}): bigint {
  let v: bigint;
  try {
    v = parseCreditsToMicro(text);
  } catch {
    throw new AppError(
      ErrorCode.InvalidRequest,
      `${what}: "${text}" is not a credit amount like 2 or 0.5 (at most 6 decimals)`,
    );
  }
  if (!opts.allowNegative && v <= 0n)
    throw new AppError(ErrorCode.InvalidRequest, `${what}: must be greater than 0`);
  if (v > MAX_MICRO_CREDITS || v < -MAX_MICRO_CREDITS)
    throw new AppError(
      ErrorCode.InvalidRequest,
      `${what}: "${text}" is too large (at most ${formatMicroCredits(MAX_MICRO_CREDITS)} credits)`,
    );
  return v;
}

/**
 * Refuses a filter or range flag given an empty (or blank) value, `--since ""`: a script's unset
 * variable (`--since "$FROM"`, `--agent "$AGENT"`). Read as absent before 2026-12-04, `usage`
 * answered with every agent's all-time usage (and `report --from ""` with the last 7 days), exit 0,
 * while `report --agent ""` filtered to no agent and `report --last ""` was refused.
 */
export function refuseEmptyFlags(flags: Readonly<Record<string, string | undefined>>): void {
  for (const [name, value] of Object.entries(flags))
    if (value !== undefined && value.trim() === "")
      throw new AppError(ErrorCode.InvalidRequest, `--${name}: empty value (leave the flag out for none)`);
}
