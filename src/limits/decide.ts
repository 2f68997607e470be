/**
 * Who may keep chatting: the block decision from a balance, a floor, the pre-call headroom, the cap
 * windows' spend and an operator block. Pure: no I/O, no clock (window bounds come in with the spend).
 */
import type { CapKind } from "./rules.js";
import type { Period, Window } from "./windows.js";

export const BLOCK_REASONS = [
  "operator",
  "operator_budget",
  "insufficient_balance",
  "insufficient_headroom",
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

/**
 * A hard operator budget (docs/reports.md "Budgets") reached for the agent the user is talking
 * to: which budget (`all`, `agent:<id>`, `provider:<name>`), its period and window.
 */
export interface BudgetBlock {
  budget: string;
  period: "day" | "month";
  /** The budget window's key (`day:2026-03-10`, `month:2026-03`). */
  windowKey: string;
  /** When the window ends (epoch ms): the block lifts then unless the budget is reached again. */
  liftsAtMs: number;
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
 * Who may keep chatting. Priority: an operator block; then a hard operator budget reached for the
 * agent (`operator_budget`: every end user of that agent is blocked, whatever their balance, so a
 * top-up cannot help and the message must not suggest one; with several reached, the one that
 * lifts last decides); then the balance floor (`insufficient_balance`
 * when balance ≤ floor); then the headroom (`insufficient_headroom` when balance − headroom < floor,
 * i.e. the balance is above the floor but does not cover one typical call); then hard caps
 * (spent ≥ cap; with several reached, the one that resets last decides). Money comes before caps:
 * a block a top-up lifts says so even when a cap is also reached. Headroom 0 gives exactly the
 * floor rule. Both money reasons share the funding episode's block key (`fund:<entry>`).
 */
export function decide(input: {
  balanceMicroCredits: number;
  floorMicroCredits: number;
  /** Micro-credits (≥ 0) the balance must exceed the floor by to start a call; 0 = none. */
  headroomMicroCredits: number;
  windows: readonly WindowUse[];
  operatorBlock: { blockedAtMs: number } | null;
  /** Hard operator budgets reached for the agent of this call (none when not asked per agent). */
  budgetBlocks?: readonly BudgetBlock[];
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
  let budget: BudgetBlock | null = null;
  for (const b of input.budgetBlocks ?? []) if (!budget || b.liftsAtMs > budget.liftsAtMs) budget = b;
  if (budget) {
    return {
      allowed: false,
      reason: "operator_budget",
      blockKey: `budget:${budget.budget}:${budget.period}:${budget.windowKey}`,
      liftsAtMs: budget.liftsAtMs,
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
  if (input.balanceMicroCredits - input.headroomMicroCredits < input.floorMicroCredits) {
    return {
      allowed: false,
      reason: "insufficient_headroom",
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
