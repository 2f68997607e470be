import { z } from "zod";
import { PERIODS, type Period, type Window } from "./windows.js";

/** Hard caps block the user when reached; soft caps only raise alerts. */
export const CAP_KINDS = ["hard", "soft"] as const;
export type CapKind = (typeof CAP_KINDS)[number];
export const LANGUAGES = ["en", "es"] as const;
export type Language = (typeof LANGUAGES)[number];

export const capSchema = z.strictObject({
  period: z.enum(PERIODS),
  /** Spend allowed in one calendar window, integer micro-credits (1 credit = 1_000_000). */
  capMicroCredits: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  kind: z.enum(CAP_KINDS).default("hard"),
});
export type Cap = z.infer<typeof capSchema>;

/**
 * One subject's limits (a user, or `*` for everyone's defaults). Absent fields fall back to the
 * defaults, then to built-in values: floor 0 (blocked at a balance ≤ 0), no caps.
 */
export const limitRulesSchema = z.strictObject({
  /** Blocked when the balance is ≤ this (micro-credits). Negative = an overdraft allowance. */
  floorMicroCredits: z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Any number of caps; at most one per (period, kind). An empty list removes the defaults' caps. */
  caps: z
    .array(capSchema)
    .max(6)
    .refine(
      (caps) => new Set(caps.map((c) => `${c.period}/${c.kind}`)).size === caps.length,
      "caps: at most one cap per period and kind",
    )
    .optional(),
  /** Low-balance alert level (micro-credits); default CREDITGATE_LOW_BALANCE. */
  lowBalanceMicroCredits: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /** Language of this user's notices; default CREDITGATE_LANGUAGE. */
  language: z.enum(LANGUAGES).optional(),
});
export type LimitRules = z.infer<typeof limitRulesSchema>;

export interface EffectiveLimits {
  floorMicroCredits: number;
  caps: readonly Cap[];
  lowBalanceMicroCredits: number;
  language: Language;
}

/** Global knobs of the worker (from config), passed in so everything stays testable. */
export interface WorkerSettings {
  timezone: string;
  language: Language;
  /** Cap usage percentages that alert, e.g. [50, 80, 100]. */
  capThresholdsPct: readonly number[];
  lowBalanceMicroCredits: number;
  /** Low balance also when ≤ this percentage of the last top-up (0 = off). */
  lowBalancePct: number;
  spikeFactor: number;
  spikeMinMicroCredits: number;
  topupUrl: string | null;
  /** True when an operator webhook is configured: new alerts are queued for delivery. */
  webhookEnabled: boolean;
  retentionDays: number;
}

export const DEFAULT_SETTINGS: WorkerSettings = {
  timezone: "UTC",
  language: "en",
  capThresholdsPct: [50, 80, 100],
  lowBalanceMicroCredits: 1_000_000,
  lowBalancePct: 20,
  spikeFactor: 5,
  spikeMinMicroCredits: 1_000_000,
  topupUrl: null,
  webhookEnabled: false,
  retentionDays: 90,
};

export function effectiveLimits(
  defaults: LimitRules | null,
  user: LimitRules | null,
  settings: WorkerSettings,
): EffectiveLimits {
  return {
    floorMicroCredits: user?.floorMicroCredits ?? defaults?.floorMicroCredits ?? 0,
    caps: user?.caps ?? defaults?.caps ?? [],
    lowBalanceMicroCredits:
      user?.lowBalanceMicroCredits ?? defaults?.lowBalanceMicroCredits ?? settings.lowBalanceMicroCredits,
    language: user?.language ?? defaults?.language ?? settings.language,
  };
}

export const BLOCK_REASONS = [
  "operator",
  "insufficient_balance",
  "daily_cap",
  "weekly_cap",
  "monthly_cap",
] as const;
export type BlockReason = (typeof BLOCK_REASONS)[number];

const CAP_REASON: Record<Period, BlockReason> = {
  day: "daily_cap",
  week: "weekly_cap",
  month: "monthly_cap",
};

export interface WindowUse extends Window {
  kind: CapKind;
  capMicroCredits: number;
  spentMicroCredits: number;
}

export interface Decision {
  allowed: boolean;
  reason: BlockReason | null;
  /** Identifies this block episode (alert dedupe): same block, same key. */
  blockKey: string | null;
  /** When a cap block lifts by itself (window reset); null otherwise. */
  liftsAtMs: number | null;
}

/**
 * Who may keep chatting. Priority: an operator block, then the balance floor, then hard caps
 * (spent ≥ cap). With several hard caps reached, the one that resets last decides.
 */
export function decide(input: {
  balanceMicroCredits: number;
  floorMicroCredits: number;
  windows: readonly WindowUse[];
  operatorBlock: { blockedAtMs: number } | null;
  fundEntryId: number;
}): Decision {
  if (input.operatorBlock) {
    return {
      allowed: false,
      reason: "operator",
      blockKey: `operator:${input.operatorBlock.blockedAtMs}`,
      liftsAtMs: null,
    };
  }
  if (input.balanceMicroCredits <= input.floorMicroCredits) {
    return {
      allowed: false,
      reason: "insufficient_balance",
      blockKey: `fund:${input.fundEntryId}`,
      liftsAtMs: null,
    };
  }
  let worst: WindowUse | null = null;
  for (const w of input.windows) {
    if (w.kind !== "hard" || w.spentMicroCredits < w.capMicroCredits) continue;
    if (!worst || w.endMs > worst.endMs) worst = w;
  }
  if (worst) {
    return { allowed: false, reason: CAP_REASON[worst.period], blockKey: worst.key, liftsAtMs: worst.endMs };
  }
  return { allowed: true, reason: null, blockKey: null, liftsAtMs: null };
}
