/**
 * Pre-call headroom: how much balance above the floor a user needs to START a model call, so one
 * call started on a nearly empty balance cannot overdraw far. Pure: no I/O, no clock.
 *
 * With the `p95` rule the headroom is the 95th percentile (nearest rank) of the charges of the
 * newest {@link HEADROOM_SAMPLE_CALLS} calls, within {@link HEADROOM_SAMPLE_WINDOW_MS}, of the agent,
 * provider and model of the user's most recent call (all users of that agent count). Calls that
 * charged 0 are not sampled. No such calls (a user who never called, a model idle for 7 days):
 * headroom 0, `basis: "no_data"`, i.e. only the floor applies, as with `off`.
 */
import type { HeadroomRule } from "./rules.js";

/** How many of the newest calls of one agent and model the p95 is taken over. */
export const HEADROOM_SAMPLE_CALLS = 200;
/** Only calls made (message time) within this long before now count: 7 days, in ms. */
export const HEADROOM_SAMPLE_WINDOW_MS = 7 * 24 * 3600_000;

/** Where a headroom came from: an estimate, a missing estimate (0), a fixed rule, or none. */
export const HEADROOM_BASES = ["p95", "no_data", "fixed", "off"] as const;
export type HeadroomBasis = (typeof HEADROOM_BASES)[number];

/** The headroom one status was decided with. */
export interface Headroom {
  /** Integer micro-credits (≥ 0) the balance must exceed the floor by to start a call. */
  microCredits: number;
  basis: HeadroomBasis;
  /** `p95` and `no_data` with a known model: the calls the estimate is (or would be) taken from. */
  agentId?: string;
  provider?: string;
  model?: string;
  /** `p95` only: how many calls the percentile is over (1..{@link HEADROOM_SAMPLE_CALLS}). */
  samples?: number;
}

/** The agent, provider and model of a user's most recent call. */
export interface CallModel {
  agentId: string;
  provider: string;
  model: string;
}

/**
 * The 95th percentile of `charges` (integer micro-credits) by nearest rank: the value at rank
 * ⌈0.95·n⌉ of the ascending order, always one of the charges (1 call → that call; 20 → the 19th
 * smallest; 200 → the 190th). 0 for an empty list. Integer math only; `charges` is not modified.
 */
export function p95MicroCredits(charges: readonly number[]): number {
  if (charges.length === 0) return 0;
  const sorted = [...charges].sort((a, b) => a - b);
  const rank = Math.floor((95 * sorted.length + 99) / 100); // ⌈95n/100⌉, 1-based
  return sorted[rank - 1] ?? 0;
}

/**
 * The headroom a rule gives. `p95` needs the user's latest call model (null: never called) and
 * the recent charges of that model (`charges`, newest first, at most {@link HEADROOM_SAMPLE_CALLS}).
 */
export function resolveHeadroom(
  rule: HeadroomRule,
  model: CallModel | null,
  charges: readonly number[],
): Headroom {
  if (rule.mode === "off") return { microCredits: 0, basis: "off" };
  if (rule.mode === "fixed") {
    return rule.microCredits > 0
      ? { microCredits: rule.microCredits, basis: "fixed" }
      : { microCredits: 0, basis: "off" };
  }
  if (!model) return { microCredits: 0, basis: "no_data" };
  if (charges.length === 0) return { microCredits: 0, basis: "no_data", ...model };
  return { microCredits: p95MicroCredits(charges), basis: "p95", ...model, samples: charges.length };
}

/** No headroom (rows stored before headroom existed are re-evaluated instead of shown with this). */
export const NO_HEADROOM: Headroom = { microCredits: 0, basis: "off" };
