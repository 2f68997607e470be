/**
 * The operator's limit rules: their schema (validated on every write, HTTP and CLI alike) and how a
 * user's own rules fall back to the defaults (`*`) and then to built-in values. Pure.
 */
import { z } from "zod";
import { PERIODS } from "./windows.js";

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
 * How much balance above the floor a user needs to START a model call (see `headroom.ts`):
 * - `p95`: the 95th percentile charge of the newest 200 calls (last 7 days) of the agent and model
 *   of the user's most recent call; 0 when there are none (documented fallback).
 * - `fixed`: `microCredits`, the same for every call (0 behaves like `off`).
 * - `off`: no headroom; only the floor blocks.
 */
export const headroomRuleSchema = z.discriminatedUnion("mode", [
  z.strictObject({ mode: z.literal("p95") }),
  z.strictObject({
    mode: z.literal("fixed"),
    /** Integer micro-credits (1 credit = 1_000_000). */
    microCredits: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
  z.strictObject({ mode: z.literal("off") }),
]);
export type HeadroomRule = z.infer<typeof headroomRuleSchema>;

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
  /** Pre-call headroom; default CREDITGATE_HEADROOM (`p95`). */
  headroom: headroomRuleSchema.optional(),
});
export type LimitRules = z.infer<typeof limitRulesSchema>;

export interface EffectiveLimits {
  floorMicroCredits: number;
  caps: readonly Cap[];
  lowBalanceMicroCredits: number;
  language: Language;
  headroom: HeadroomRule;
}

/**
 * One user's limits: each field from the user's rules, else the defaults' (`*`), else `fallback`
 * (the settings' low-balance level, language and headroom; floor 0 and no caps are built in).
 */
export function effectiveLimits(
  defaults: LimitRules | null,
  user: LimitRules | null,
  fallback: { lowBalanceMicroCredits: number; language: Language; headroom: HeadroomRule },
): EffectiveLimits {
  return {
    floorMicroCredits: user?.floorMicroCredits ?? defaults?.floorMicroCredits ?? 0,
    caps: user?.caps ?? defaults?.caps ?? [],
    lowBalanceMicroCredits:
      user?.lowBalanceMicroCredits ?? defaults?.lowBalanceMicroCredits ?? fallback.lowBalanceMicroCredits,
    language: user?.language ?? defaults?.language ?? fallback.language,
    headroom: user?.headroom ?? defaults?.headroom ?? fallback.headroom,
  };
}

/** {@link EffectiveLimits} as the API answers it. */
export const effectiveLimitsSchema = z.object({
  floorMicroCredits: z.number().int(),
  caps: z.array(capSchema).readonly(),
  lowBalanceMicroCredits: z.number().int(),
  language: z.enum(LANGUAGES),
  headroom: headroomRuleSchema,
});

/**
 * A subject's limits as the API answers them (`/v1/users/:id/limits`, `/v1/limits/defaults`):
 * its own rules (null for `*` or when it has none), the defaults, and what applies.
 */
export const limitsViewSchema = z.object({
  userId: z.string(),
  user: limitRulesSchema.nullable(),
  defaults: limitRulesSchema.nullable(),
  effective: effectiveLimitsSchema,
});
