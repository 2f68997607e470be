/**
 * When an alert level is crossed: funding episodes and receipts, low balance, cap thresholds and
 * spend spikes. Pure: no I/O; the clock comes in as `nowMs`. Amounts in integer micro-credits.
 */

/** Receipts are only announced for entries this recent (a first run never replays old history). */
export const RECEIPT_MAX_AGE_MS = 24 * 3600_000;

/** A ledger entry as the check sees it: credits (amount > 0) and reversals. */
export interface LedgerEntryFact {
  id: number;
  /** Ledger entry kind: `topup`, `reversal`, `grant`, `usage`, … */
  kind: string;
  amountMicroCredits: number;
  createdAtMs: number;
}

/** The current funding episode: the last credit that was not usage (0/0 before the first one). */
export interface FundingEpisode {
  fundEntryId: number;
  fundMicroCredits: number;
}

/**
 * Follows the funding episode over the entries since the last check (in id order): every credit
 * other than usage starts a new one. Also returns the entries recent enough (created at or after
 * `nowMs - RECEIPT_MAX_AGE_MS`) to announce as receipts.
 */
export function followFunding(
  prev: FundingEpisode,
  entries: readonly LedgerEntryFact[],
  nowMs: number,
): FundingEpisode & { receipts: LedgerEntryFact[] } {
  let { fundEntryId, fundMicroCredits } = prev;
  const receipts: LedgerEntryFact[] = [];
  for (const e of entries) {
    if (e.amountMicroCredits > 0 && e.kind !== "usage") {
      fundEntryId = e.id;
      fundMicroCredits = e.amountMicroCredits;
    }
    if (e.createdAtMs >= nowMs - RECEIPT_MAX_AGE_MS) receipts.push(e);
  }
  return { fundEntryId, fundMicroCredits, receipts };
}

/**
 * The low-balance alert level: the higher of the absolute level and `lowBalancePct` percent of the
 * funding episode's credit (rounded down; `lowBalancePct` 0 = the absolute level only).
 */
export function lowBalanceLevelMicroCredits(
  lowBalanceMicroCredits: number,
  fundMicroCredits: number,
  lowBalancePct: number,
): number {
  const pctLevel = Math.floor((fundMicroCredits * lowBalancePct) / 100);
  return Math.max(lowBalanceMicroCredits, pctLevel);
}

/**
 * Every threshold (percent of the cap) the window's spend has reached, in the order given: all
 * of them, even when one debit jumps over several. Exact integer comparison (spent·100 ≥ cap·pct).
 */
export function capThresholdsReached(
  w: { spentMicroCredits: number; capMicroCredits: number },
  thresholdsPct: readonly number[],
): number[] {
  return thresholdsPct.filter((pct) => w.spentMicroCredits * 100 >= w.capMicroCredits * pct);
}

/**
 * A spend spike: the last hour's spend is at least `minMicroCredits` and at least `factor` times
 * the hourly average of the 24 h before it (`trailing24hMicroCredits / 24`).
 */
export function isSpendSpike(input: {
  lastHourMicroCredits: number;
  trailing24hMicroCredits: number;
  factor: number;
  minMicroCredits: number;
}): boolean {
  if (input.lastHourMicroCredits < input.minMicroCredits) return false;
  return input.lastHourMicroCredits >= input.factor * (input.trailing24hMicroCredits / 24);
}
