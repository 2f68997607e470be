/**
 * The operator's limit rules: their schema (validated on every write, HTTP and CLI alike) and how a
 * user's own rules fall back to the defaults (`*`) and then to built-in values. Pure.
 */
import { z } from "zod";
import { formatMicroCredits } from "../money.js";
import { PERIODS, type Period } from "./windows.js";

/** Hard caps block the user when reached; soft caps only raise alerts. */
export const CAP_KINDS = ["hard", "soft"] as const;
export type CapKind = (typeof CAP_KINDS)[number];
export const LANGUAGES = ["en", "es"] as const;
export type Language = (typeof LANGUAGES)[number];

/**
 * A whole number of micro-credits from `min` up, with ONE message for every way it can be wrong
 * (not a number, a fraction, out of range): before 2026-12-04 a bad value got zod's generic
 * messages, several per field (`floorMicroCredits: Too small: expected int …; floorMicroCredits:
 * Too small: expected number …`), none saying what unit the field is in.
 */
function microCreditsField(min: number, what: string) {
  const error = `must be a whole number of micro-credits (1 credit = 1000000)${what}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(Number.MAX_SAFE_INTEGER, { error });
}

export const capSchema = z.strictObject({
  period: z.enum(PERIODS, { error: 'must be "day", "week" or "month"' }),
  /** Spend allowed in one calendar window, integer micro-credits (1 credit = 1_000_000). */
  capMicroCredits: microCreditsField(1, " above 0, e.g. 2000000 for 2 credits"),
  kind: z.enum(CAP_KINDS, { error: 'must be "hard" (blocks) or "soft" (only alerts)' }).default("hard"),
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
    microCredits: microCreditsField(0, ", 0 or more, e.g. 50000 for 0.05 credits"),
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
  floorMicroCredits: microCreditsField(
    -Number.MAX_SAFE_INTEGER,
    ", e.g. 0, or -500000 for an overdraft of 0.5 credits",
  ).optional(),
  /** Any number of caps; at most one per (period, kind). An empty list removes the defaults' caps. */
  caps: z
    .array(capSchema)
    .max(6)
    .refine(
      (caps) => new Set(caps.map((c) => `${c.period}/${c.kind}`)).size === caps.length,
      "at most one cap per period and kind",
    )
    .optional(),
  /**
   * Windows (`day`, `week`, `month`) this user has NO cap in, the defaults' notwithstanding. Its
   * presence (even `[]`) makes the caps per window and kind: a cap of the user's own replaces the
   * defaults' (`*`) cap of its window and kind, a window listed here has none of the defaults'
   * (only the user's own), and every other cap of the defaults' is followed live (a later change to
   * `*` reaches the user; a user's own soft cap is an alert before the defaults' hard one). Without it, `caps` (when
   * given) replaces ALL of the defaults' caps, as every rule written before 2026-12-04 did: the CLI
   * then wrote a frozen copy of `*`'s caps into the user's (case `limits-user-caps-follow-defaults`).
   * Ignored on `*` itself.
   */
  capsOff: z
    .array(z.enum(PERIODS, { error: 'must be "day", "week" or "month"' }))
    .max(3)
    .refine((ps) => new Set(ps).size === ps.length, "each window at most once")
    .optional(),
  /** Low-balance alert level (micro-credits); default CREDITGATE_LOW_BALANCE. */
  lowBalanceMicroCredits: microCreditsField(0, ", 0 or more, e.g. 1000000 for 1 credit").optional(),
  /** Language of this user's notices; default CREDITGATE_LANGUAGE. */
  language: z
    .enum(LANGUAGES, { error: 'must be "en" or "es" (leave it out for the default, CREDITGATE_LANGUAGE)' })
    .optional(),
  /** Pre-call headroom; default CREDITGATE_HEADROOM (`p95`). */
  headroom: headroomRuleSchema.optional(),
});
export type LimitRules = z.infer<typeof limitRulesSchema>;

const PERIOD_WORD = { day: "daily", week: "weekly", month: "monthly" } as const;

/**
 * Why a set of caps cannot be meant as written, or null: a cap of a longer window below a cap of a
 * shorter one of the same kind (`--daily 2 --monthly 1`: the month holds every day, so the daily
 * cap could never be reached; the operator swapped them or mistyped one). A soft cap under a hard
 * one is fine (an alert before the block). Checked when limits are written (API and CLI alike),
 * never when stored ones are read: before 2026-12-04 such caps were accepted without a word (case
 * `test/cases/limits-month-cap-under-day-cap`).
 */
export function capOrderProblem(caps: readonly Cap[]): string | null {
  for (const kind of CAP_KINDS) {
    const mine = caps.filter((c) => c.kind === kind);
    for (const longer of mine)
      for (const shorter of mine) {
        if (PERIODS.indexOf(longer.period) <= PERIODS.indexOf(shorter.period)) continue;
        if (longer.capMicroCredits >= shorter.capMicroCredits) continue;
        return `the ${PERIOD_WORD[longer.period]} cap (${formatMicroCredits(longer.capMicroCredits)} credits) is below the ${PERIOD_WORD[shorter.period]} cap (${formatMicroCredits(shorter.capMicroCredits)} credits) of the same kind (${kind}): the ${PERIOD_WORD[shorter.period]} cap could never be reached; raise the ${PERIOD_WORD[longer.period]} cap or lower the ${PERIOD_WORD[shorter.period]} one`;
      }
  }
  // a soft (alert-only) cap over a shorter window above a hard cap over a longer one: the user is
  // blocked by the hard cap before the alert could fire (`--monthly 1`, then `--daily 2 --soft`;
  // accepted before 2026-12-04, case limits-soft-cap-above-hard-cap)
  for (const shorter of caps)
    for (const longer of caps) {
      if (shorter.kind !== "soft" || longer.kind !== "hard") continue;
      if (PERIODS.indexOf(longer.period) <= PERIODS.indexOf(shorter.period)) continue;
      if (longer.capMicroCredits >= shorter.capMicroCredits) continue;
      return `the soft ${PERIOD_WORD[shorter.period]} cap (${formatMicroCredits(shorter.capMicroCredits)} credits) is above the hard ${PERIOD_WORD[longer.period]} cap (${formatMicroCredits(longer.capMicroCredits)} credits): the user is blocked at ${formatMicroCredits(longer.capMicroCredits)} before its alert could fire; lower the soft ${PERIOD_WORD[shorter.period]} cap or raise the ${PERIOD_WORD[longer.period]} one`;
    }
  return null;
}

export interface EffectiveLimits {
  floorMicroCredits: number;
  caps: readonly Cap[];
  /**
   * The windows with a cap (in `caps`) that is the defaults' (`*`), followed live; [] for `*`
   * itself. A window can hold the defaults' cap of one kind and the user's own of the other.
   */
  capsInherited: readonly Period[];
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
  const { caps, inherited } = effectiveCaps(defaults, user);
  return {
    floorMicroCredits: user?.floorMicroCredits ?? defaults?.floorMicroCredits ?? 0,
    caps,
    capsInherited: inherited,
    lowBalanceMicroCredits:
      user?.lowBalanceMicroCredits ?? defaults?.lowBalanceMicroCredits ?? fallback.lowBalanceMicroCredits,
    language: user?.language ?? defaults?.language ?? fallback.language,
    headroom: user?.headroom ?? defaults?.headroom ?? fallback.headroom,
  };
}

/**
 * The caps that apply, window by window and kind (see `capsOff`): the user's own, and the defaults'
 * of each window it did not turn off and of each kind it has no cap of its own of in that window
 * (`inheritedCaps`; `inherited`: their windows). A rule without `capsOff` whose `caps` is set
 * keeps its meaning from before 2026-12-04 (its caps replace all of the defaults'), so a stored
 * rule enforces exactly what it did. `user === defaults` (the `*` view) inherits nothing.
 */
export function effectiveCaps(
  defaults: LimitRules | null,
  user: LimitRules | null,
): { caps: readonly Cap[]; inherited: Period[]; inheritedCaps: readonly Cap[] } {
  const theirs = defaults?.caps ?? [];
  if (user === defaults) return { caps: theirs, inherited: [], inheritedCaps: [] };
  if (user?.capsOff === undefined) {
    if (user?.caps !== undefined) return { caps: user.caps, inherited: [], inheritedCaps: [] };
    return {
      caps: theirs,
      inherited: PERIODS.filter((p) => theirs.some((c) => c.period === p)),
      inheritedCaps: theirs,
    };
  }
  const own = user?.caps ?? [];
  const off = user?.capsOff ?? [];
  const caps: Cap[] = [...own];
  const inherited: Period[] = [];
  const inheritedCaps: Cap[] = [];
  for (const period of PERIODS) {
    if (off.includes(period)) continue;
    // per window AND kind: a soft (alert-only) cap of the user's own is an alert before the
    // defaults' hard cap of that window, not instead of it. Before 2026-12-05 a user's own soft
    // daily cap took the defaults' hard daily cap away, and nothing blocked that user's day any
    // more (case limits-soft-cap-keeps-hard-cap)
    const from = theirs.filter(
      (c) => c.period === period && !own.some((o) => o.period === period && o.kind === c.kind),
    );
    if (from.length > 0) {
      caps.push(...from);
      inheritedCaps.push(...from);
      inherited.push(period);
    }
  }
  return { caps, inherited, inheritedCaps };
}

/**
 * Says which of a user's caps are the defaults' it follows, for a refusal where they conflict with
 * its own: `telegram:1's monthly window follows the defaults' ('*': --monthly 1.00); give that
 * window too (or 'off' to drop it for this user)`.
 */
export function inheritedNote(
  user: string,
  merged: { caps: readonly Cap[]; inherited: readonly Period[]; inheritedCaps: readonly Cap[] },
): string {
  const named = merged.inheritedCaps
    .map(
      (c) =>
        `--${PERIOD_WORD[c.period]} ${formatMicroCredits(c.capMicroCredits)}${c.kind === "soft" ? " --soft" : ""}`,
    )
    .join(", ");
  // a window the user has a cap of its own in follows the defaults' cap of the other kind only
  const own = merged.caps.filter((c) => !merged.inheritedCaps.includes(c));
  const windows = merged.inherited
    .map((p) =>
      own.some((c) => c.period === p)
        ? merged.inheritedCaps
            .filter((c) => c.period === p)
            .map((c) => `${c.kind} ${PERIOD_WORD[p]}`)
            .join(" and ")
        : PERIOD_WORD[p],
    )
    .join(" and ");
  const one = merged.inherited.length === 1;
  return `${user} has no ${windows} cap of its own: ${one ? "that window follows" : "those windows follow"} the defaults' ('*': ${named}); give ${one ? "that window" : "those windows"} too (or 'off' to drop ${one ? "it" : "them"} for this user)`;
}

/** {@link EffectiveLimits} as the API answers it. */
export const effectiveLimitsSchema = z.object({
  floorMicroCredits: z.number().int(),
  caps: z.array(capSchema).readonly(),
  /** Windows whose caps are the defaults' (`*`), followed live. */
  capsInherited: z.array(z.enum(PERIODS)).readonly(),
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
