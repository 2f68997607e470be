import { describe, expect, it } from "vitest";
import { type BudgetBlock, type Decision, decide, type WindowUse } from "../../src/limits/index.js";

const C = 1_000_000; // one credit in micro-credits
const DAY_END = Date.UTC(2026, 2, 11);
const WEEK_END = Date.UTC(2026, 2, 16);
const MONTH_END = Date.UTC(2026, 3, 1);

/** A cap window with its spend (bounds of the week of 2026-03-10, UTC). */
function win(period: WindowUse["period"], kind: WindowUse["kind"], capCredits: number, spentMicro: number) {
  const bounds = {
    day: { startMs: Date.UTC(2026, 2, 10), endMs: DAY_END, key: "day:2026-03-10" },
    week: { startMs: Date.UTC(2026, 2, 9), endMs: WEEK_END, key: "week:2026-03-09" },
    month: { startMs: Date.UTC(2026, 2, 1), endMs: MONTH_END, key: "month:2026-03" },
  }[period];
  return { period, kind, capMicroCredits: capCredits * C, spentMicroCredits: spentMicro, ...bounds };
}

const ALLOWED: Decision = { allowed: true, reason: null, blockKey: null, liftsAtMs: null };

interface Row {
  name: string;
  balance: number;
  floor?: number;
  /** Pre-call headroom, micro-credits (default 0). */
  headroom?: number;
  windows?: WindowUse[];
  operatorBlockedAtMs?: number;
  budgetBlocks?: BudgetBlock[];
  fundEntryId?: number;
  expected: Decision;
}

const rows: Row[] = [
  { name: "a funded user without caps may chat", balance: 5 * C, expected: ALLOWED },
  { name: "one micro-credit of headroom above the floor is enough", balance: 1, expected: ALLOWED },
  {
    name: "a balance exactly at the floor (0) blocks",
    balance: 0,
    fundEntryId: 7,
    expected: { allowed: false, reason: "insufficient_balance", blockKey: "fund:7", liftsAtMs: null },
  },
  {
    name: "a negative balance blocks with the default floor",
    balance: -250,
    fundEntryId: 7,
    expected: { allowed: false, reason: "insufficient_balance", blockKey: "fund:7", liftsAtMs: null },
  },
  {
    name: "a never-funded user is blocked under episode fund:0",
    balance: 0,
    expected: { allowed: false, reason: "insufficient_balance", blockKey: "fund:0", liftsAtMs: null },
  },
  { name: "an overdraft floor lets a negative balance chat", balance: -C / 2, floor: -C, expected: ALLOWED },
  {
    name: "an overdraft floor still blocks at the floor",
    balance: -C,
    floor: -C,
    fundEntryId: 3,
    expected: { allowed: false, reason: "insufficient_balance", blockKey: "fund:3", liftsAtMs: null },
  },
  {
    name: "a positive floor blocks a positive balance at or below it",
    balance: 2 * C,
    floor: 2 * C,
    fundEntryId: 3,
    expected: { allowed: false, reason: "insufficient_balance", blockKey: "fund:3", liftsAtMs: null },
  },
  {
    name: "a hard daily cap one micro-credit short still allows",
    balance: 5 * C,
    windows: [win("day", "hard", 2, 2 * C - 1)],
    expected: ALLOWED,
  },
  {
    name: "a hard daily cap reached exactly blocks until the day ends",
    balance: 5 * C,
    windows: [win("day", "hard", 2, 2 * C)],
    expected: { allowed: false, reason: "daily_cap", blockKey: "day:2026-03-10", liftsAtMs: DAY_END },
  },
  {
    name: "a hard weekly cap overshot by one debit blocks until Monday",
    balance: 5 * C,
    windows: [win("week", "hard", 10, 12 * C)],
    expected: { allowed: false, reason: "weekly_cap", blockKey: "week:2026-03-09", liftsAtMs: WEEK_END },
  },
  {
    name: "a hard monthly cap reached blocks until the 1st",
    balance: 5 * C,
    windows: [win("month", "hard", 20, 20 * C)],
    expected: { allowed: false, reason: "monthly_cap", blockKey: "month:2026-03", liftsAtMs: MONTH_END },
  },
  {
    name: "a soft cap reached never blocks (alerts only)",
    balance: 5 * C,
    windows: [win("day", "soft", 1, 3 * C)],
    expected: ALLOWED,
  },
  {
    name: "soft reached and hard short of the same period allows",
    balance: 5 * C,
    windows: [win("day", "soft", 1, C), win("day", "hard", 2, C)],
    expected: ALLOWED,
  },
  {
    name: "with daily and monthly hard caps reached, the one resetting last decides",
    balance: 5 * C,
    windows: [
      win("day", "hard", 1, 25 * C),
      win("month", "hard", 20, 25 * C),
      win("week", "hard", 30, 25 * C),
    ],
    expected: { allowed: false, reason: "monthly_cap", blockKey: "month:2026-03", liftsAtMs: MONTH_END },
  },
  {
    name: "daily and weekly reached, monthly not: the week decides",
    balance: 5 * C,
    windows: [win("day", "hard", 1, 2 * C), win("week", "hard", 2, 2 * C), win("month", "hard", 20, 2 * C)],
    expected: { allowed: false, reason: "weekly_cap", blockKey: "week:2026-03-09", liftsAtMs: WEEK_END },
  },
  {
    name: "an empty balance comes before a reached cap (it does not lift at the window end)",
    balance: 0,
    fundEntryId: 9,
    windows: [win("day", "hard", 1, 2 * C)],
    expected: { allowed: false, reason: "insufficient_balance", blockKey: "fund:9", liftsAtMs: null },
  },
  {
    name: "an operator block wins over a funded user without caps",
    balance: 5 * C,
    operatorBlockedAtMs: 1_700_000_000_000,
    expected: { allowed: false, reason: "operator", blockKey: "operator:1700000000000", liftsAtMs: null },
  },
  {
    name: "an operator block wins over an empty balance and a reached cap",
    balance: -C,
    fundEntryId: 9,
    windows: [win("day", "hard", 1, 2 * C)],
    operatorBlockedAtMs: 42,
    expected: { allowed: false, reason: "operator", blockKey: "operator:42", liftsAtMs: null },
  },
];

const HEADROOM: Decision = {
  allowed: false,
  reason: "insufficient_headroom",
  blockKey: "fund:4",
  liftsAtMs: null,
};

/** Balance vs headroom vs floor: a call may start only while balance − headroom ≥ floor (and balance > floor). */
const headroomRows: Row[] = [
  { name: "headroom 0 is exactly the floor rule (1 micro-credit is enough)", balance: 1, expected: ALLOWED },
  {
    name: "a balance covering the headroom exactly may start a call",
    balance: C / 10,
    headroom: C / 10,
    expected: ALLOWED,
  },
  {
    name: "one micro-credit short of the headroom blocks",
    balance: C / 10 - 1,
    headroom: C / 10,
    fundEntryId: 4,
    expected: HEADROOM,
  },
  {
    name: "a balance at the floor is insufficient_balance, not headroom",
    balance: 0,
    headroom: C / 10,
    fundEntryId: 4,
    expected: { ...HEADROOM, reason: "insufficient_balance" },
  },
  {
    name: "a balance below the floor is insufficient_balance whatever the headroom",
    balance: -5 * C,
    headroom: C,
    fundEntryId: 4,
    expected: { ...HEADROOM, reason: "insufficient_balance" },
  },
  {
    name: "a positive floor: balance − headroom must stay ≥ the floor",
    balance: 2 * C + C / 2,
    floor: 2 * C,
    headroom: C / 2,
    expected: ALLOWED,
  },
  {
    name: "a positive floor: half a credit above it does not cover a 0.6 headroom",
    balance: 2 * C + C / 2,
    floor: 2 * C,
    headroom: (C * 6) / 10,
    fundEntryId: 4,
    expected: HEADROOM,
  },
  {
    name: "an overdraft floor lends the headroom too: −0.5 with floor −1 and headroom 0.5 may start",
    balance: -C / 2,
    floor: -C,
    headroom: C / 2,
    expected: ALLOWED,
  },
  {
    name: "an overdraft floor: −0.5 with floor −1 and headroom 0.6 blocks",
    balance: -C / 2,
    floor: -C,
    headroom: (C * 6) / 10,
    fundEntryId: 4,
    expected: HEADROOM,
  },
  {
    name: "headroom comes before a reached hard cap (a top-up is needed either way)",
    balance: C / 2,
    headroom: C,
    fundEntryId: 4,
    windows: [win("day", "hard", 1, 2 * C)],
    expected: HEADROOM,
  },
  {
    name: "a covered headroom lets a reached hard cap decide",
    balance: 5 * C,
    headroom: C,
    windows: [win("day", "hard", 1, 2 * C)],
    expected: { allowed: false, reason: "daily_cap", blockKey: "day:2026-03-10", liftsAtMs: DAY_END },
  },
  {
    name: "an operator block wins over insufficient headroom",
    balance: C / 2,
    headroom: C,
    operatorBlockedAtMs: 42,
    expected: { allowed: false, reason: "operator", blockKey: "operator:42", liftsAtMs: null },
  },
];

function run(row: Row): Decision {
  return decide({
    balanceMicroCredits: row.balance,
    floorMicroCredits: row.floor ?? 0,
    headroomMicroCredits: row.headroom ?? 0,
    windows: row.windows ?? [],
    operatorBlock: row.operatorBlockedAtMs === undefined ? null : { blockedAtMs: row.operatorBlockedAtMs },
    ...(row.budgetBlocks ? { budgetBlocks: row.budgetBlocks } : {}),
    fundEntryId: row.fundEntryId ?? 0,
  });
}

describe("decide: who may keep chatting", () => {
  it.each(rows)("$name", (row) => {
    expect(run(row)).toEqual(row.expected);
  });
});

const dayBudget: BudgetBlock = {
  budget: "agent:support",
  period: "day",
  windowKey: "day:2026-03-10",
  liftsAtMs: DAY_END,
};
const monthBudget: BudgetBlock = {
  budget: "all",
  period: "month",
  windowKey: "month:2026-03",
  liftsAtMs: MONTH_END,
};
const DAY_BUDGET: Decision = {
  allowed: false,
  reason: "operator_budget",
  blockKey: "budget:agent:support:day:day:2026-03-10",
  liftsAtMs: DAY_END,
};

/** Hard operator budgets: the agent's users are blocked whatever their balance; a top-up cannot help. */
const budgetRows: Row[] = [
  { name: "no budget reached: a funded user may chat", balance: 5 * C, budgetBlocks: [], expected: ALLOWED },
  {
    name: "the agent's hard daily budget reached blocks a funded user until the day ends",
    balance: 5 * C,
    budgetBlocks: [dayBudget],
    expected: DAY_BUDGET,
  },
  {
    name: "the operator budget comes before an empty balance (a top-up would not help)",
    balance: 0,
    fundEntryId: 9,
    budgetBlocks: [dayBudget],
    expected: DAY_BUDGET,
  },
  {
    name: "the operator budget comes before insufficient headroom",
    balance: C / 2,
    headroom: C,
    fundEntryId: 9,
    budgetBlocks: [dayBudget],
    expected: DAY_BUDGET,
  },
  {
    name: "the operator budget comes before the user's own hard cap",
    balance: 5 * C,
    windows: [win("month", "hard", 1, 2 * C)],
    budgetBlocks: [dayBudget],
    expected: DAY_BUDGET,
  },
  {
    name: "daily and monthly budgets reached: the one lifting last decides",
    balance: 5 * C,
    budgetBlocks: [dayBudget, monthBudget],
    expected: {
      allowed: false,
      reason: "operator_budget",
      blockKey: "budget:all:month:month:2026-03",
      liftsAtMs: MONTH_END,
    },
  },
  {
    name: "an operator block still wins over a budget",
    balance: 5 * C,
    operatorBlockedAtMs: 42,
    budgetBlocks: [dayBudget],
    expected: { allowed: false, reason: "operator", blockKey: "operator:42", liftsAtMs: null },
  },
];

describe("decide: hard operator budgets", () => {
  it.each(budgetRows)("$name", (row) => {
    expect(run(row)).toEqual(row.expected);
  });
});

describe("decide: balance vs headroom vs floor", () => {
  it.each(headroomRows)("$name", (row) => {
    expect(run(row)).toEqual(row.expected);
  });
});
