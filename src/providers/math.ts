/**
 * Pure arithmetic of provider accounts (no I/O; integers in micro-units of a currency; times in
 * epoch ms). Table-tested in test/providers/math.test.ts.
 */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** How long a balance lasts at a burn rate, and when it runs out. */
export interface Runway {
  /** Hours left, floored to 0.1 h; 0 when the balance is already ≤ 0; null when unknown (no balance, no burn). */
  hours: number | null;
  /** When it runs out (epoch ms); `nowMs` when already ≤ 0; null when unknown. */
  runsOutAtMs: number | null;
}

/**
 * runway = balance / burn. `balanceMicro` null (the provider has no balance) or a burn that is
 * null or ≤ 0 (nothing spent) gives an unknown runway; a balance ≤ 0 has run out now. Exact
 * integer division (ms floored), so a runway is never overstated.
 */
export function runway(balanceMicro: number | null, burnPerDayMicro: number | null, nowMs: number): Runway {
  if (balanceMicro === null) return { hours: null, runsOutAtMs: null };
  if (balanceMicro <= 0) return { hours: 0, runsOutAtMs: nowMs };
  if (burnPerDayMicro === null || burnPerDayMicro <= 0) return { hours: null, runsOutAtMs: null };
  const ms = Number((BigInt(balanceMicro) * BigInt(DAY_MS)) / BigInt(burnPerDayMicro));
  return { hours: Math.floor(ms / (HOUR_MS / 10)) / 10, runsOutAtMs: nowMs + ms };
}

/**
 * Spend per day from `spentMicro` spent over `observedMs` of observation (floored). Null when
 * fewer than `minObservedMs` (default 1 h) were observed: too little to extrapolate from.
 */
export function perDay(spentMicro: number, observedMs: number, minObservedMs = HOUR_MS): number | null {
  if (observedMs < minObservedMs || observedMs <= 0) return null;
  return Number((BigInt(spentMicro) * BigInt(DAY_MS)) / BigInt(Math.round(observedMs)));
}

/** Provider-reported vs metered spend for one day. */
export interface Drift {
  /** provider − metered (micro). Positive: the provider billed more than creditgate metered. */
  diffMicro: number;
  /** diff as a % of metered, floored toward zero to 0.1; null when nothing was metered. */
  pct: number | null;
  /** |diff| > tolerancePct % of metered AND |diff| ≥ minMicro (a day with nothing metered: |diff| ≥ minMicro). */
  exceeds: boolean;
}

/** Compares a day's provider-reported spend with creditgate's metered cost for that provider. */
export function drift(
  providerMicro: number,
  meteredMicro: number,
  tolerancePct: number,
  minMicro: number,
): Drift {
  const diff = providerMicro - meteredMicro;
  const abs = Math.abs(diff);
  const pct = meteredMicro > 0 ? Math.trunc((diff * 1000) / meteredMicro) / 10 : null;
  const beyondPct = meteredMicro > 0 ? abs * 100 > tolerancePct * meteredMicro : true;
  return { diffMicro: diff, pct, exceeds: beyondPct && abs >= minMicro };
}

/** Last hour ≥ factor × the trailing 24 h hourly average, and at least `minMicro`. */
export function isProviderSpike(
  lastHourMicro: number,
  trailing24hMicro: number,
  factor: number,
  minMicro: number,
): boolean {
  if (lastHourMicro < minMicro) return false;
  return lastHourMicro * 24 >= factor * trailing24hMicro;
}

/**
 * Likely causes of a drift, most likely first, for the alert text and the API. `unknownModelCalls`:
 * calls that day priced without a known model (usage_daily.unknown_model_requests).
 */
export function driftCauses(diffMicro: number, unknownModelCalls: number): string[] {
  if (diffMicro > 0) {
    const c = [
      "model calls OpenClaw makes without transcript usage (compaction summaries, embeddings, media understanding, TTS)",
      "another app, person or bot using the same provider account or key",
    ];
    if (unknownModelCalls > 0)
      c.unshift(
        `${unknownModelCalls} call(s) of models creditgate has no price for (priced at the fallback or recorded estimate)`,
      );
    c.push("provider fees creditgate does not price (web search, tools, storage, priority tier)");
    return c;
  }
  const c = [
    "the provider's report for that day is not final yet (reports lag by hours)",
    "creditgate's list prices above what the provider charged (discounts, batch or cache pricing)",
    "calls metered under this provider that went through another account (a proxy, a subscription login)",
  ];
  if (unknownModelCalls > 0)
    c.push(`${unknownModelCalls} call(s) of unknown models priced at the fallback price`);
  return c;
}
