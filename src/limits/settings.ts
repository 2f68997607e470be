import { type Config, DEFAULT_CONFIG } from "../config/index.js";
import type { HeadroomRule, Language } from "./rules.js";

/** Global knobs of the worker (from config), passed in so everything stays testable. */
export interface WorkerSettings {
  timezone: string;
  language: Language;
  /** Cap usage percentages that alert, e.g. [50, 80, 100]. */
  capThresholdsPct: readonly number[];
  lowBalanceMicroCredits: number;
  /** Low balance also when ≤ this percentage of the last top-up (0 = off). */
  lowBalancePct: number;
  /** Default pre-call headroom (CREDITGATE_HEADROOM); rules may override it per user or for `*`. */
  headroom: HeadroomRule;
  spikeFactor: number;
  spikeMinMicroCredits: number;
  topupUrl: string | null;
  /** True when an operator webhook is configured: new alerts are queued for delivery. */
  webhookEnabled: boolean;
  retentionDays: number;
  /** Days ahead of a grant's expiry that `credits_expiring` is raised (0 = never). */
  expiryWarnDays: number;
}

/** The settings every key's documented default gives (one value per default: the config schema's). */
export const DEFAULT_SETTINGS: WorkerSettings = workerSettingsFromConfig(DEFAULT_CONFIG);

/** Worker settings from config (the only place config is read for limits and alerts). */
export function workerSettingsFromConfig(config: Config): WorkerSettings {
  const w = config.worker;
  return {
    timezone: w.timezone,
    language: w.language,
    capThresholdsPct: w.capThresholdsPct,
    lowBalanceMicroCredits: w.lowBalanceMicroCredits,
    lowBalancePct: w.lowBalancePct,
    headroom: w.headroom,
    spikeFactor: w.spikeFactor,
    spikeMinMicroCredits: w.spikeMinMicroCredits,
    topupUrl: w.topupUrl,
    webhookEnabled: w.webhook !== null,
    retentionDays: w.retentionDays,
    expiryWarnDays: w.expiryWarnDays,
  };
}
