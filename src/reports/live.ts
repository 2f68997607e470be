/**
 * The data of `creditgate report --watch` (a compact live terminal view): today's and the last
 * hour's spend, the top users today, blocked users and agents, the budgets and recent alerts.
 * Read-only; each frame is a few indexed reads plus today's report (the same numbers as
 * `creditgate report --today`). Rendering (ANSI or plain) is the CLI's.
 */
import type { Db } from "../db/index.js";
import { createBudgetBlocksRepo, windowAt } from "../limits/index.js";
import type { Ratio } from "../money.js";
import { type BudgetStatus, budgetStatuses } from "./budgets.js";
import { type ReportRow, runReport } from "./query.js";

/** One frame's facts. Money as exact decimal strings (USD) and integer micro-credits. */
export interface LiveView {
  nowMs: number;
  timeZone: string;
  today: ReportRow;
  lastHour: ReportRow;
  /** Today's costliest end users (provider cost), at most `top`. */
  topUsers: { user: string; requests: number; costUsd: string; chargedMicroCredits: number }[];
  /** How many accounts are blocked (stored status), and the most recently updated ones. */
  blockedCount: number;
  blocked: { user: string; reason: string; liftsAtMs: number | null }[];
  /** Agents whose end users a reached hard budget blocks now (`*` = every agent). */
  blockedAgents: { agent: string; budget: string; period: string; liftsAtMs: number }[];
  budgets: BudgetStatus[];
  /** The newest alerts, newest first. */
  alerts: { id: number; kind: string; account: string; threshold: string; atMs: number }[];
}

const HOUR_MS = 3_600_000;

/**
 * Everything one `--watch` frame shows, at `nowMs` in `timeZone`.
 * @param o.top how many users/blocked/alerts rows (default 5)
 */
export function liveView(
  db: Db,
  o: { timeZone: string; nowMs: number; creditsPerUsd: Ratio; top?: number },
): LiveView {
  const top = o.top ?? 5;
  const day = windowAt("day", o.nowMs, o.timeZone);
  const base = { timeZone: o.timeZone, creditsPerUsd: o.creditsPerUsd };
  const today = runReport(db, {
    ...base,
    // calls stamped later today (a bot clock ahead) count, as in `report --today` (TimeRange.openUntilMs)
    range: { fromMs: day.startMs, toMs: o.nowMs + 1, openUntilMs: day.endMs },
    by: ["user"],
    filters: {},
    top,
  });
  const lastHour = runReport(db, {
    ...base,
    range: { fromMs: o.nowMs - HOUR_MS, toMs: o.nowMs + 1 },
    by: [],
  });
  const blockedCount =
    db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM user_status WHERE allowed = 0").get()?.n ?? 0;
  const blocked = db
    .prepare<[number], { account_id: string; reason: string | null; lifts_at_ms: number | null }>(
      `SELECT account_id, reason, lifts_at_ms FROM user_status WHERE allowed = 0
        ORDER BY updated_at_ms DESC, account_id LIMIT ?`,
    )
    .all(top)
    .map((r) => ({ user: r.account_id, reason: r.reason ?? "?", liftsAtMs: r.lifts_at_ms }));
  const blockedAgents = createBudgetBlocksRepo(db)
    .list()
    .filter((b) => b.liftsAtMs > o.nowMs)
    .map((b) => ({ agent: b.agentId, budget: b.budget, period: b.period, liftsAtMs: b.liftsAtMs }));
  const alerts = db
    .prepare<
      [number],
      { id: number; kind: string; account_id: string; threshold: string; created_at_ms: number }
    >("SELECT id, kind, account_id, threshold, created_at_ms FROM alerts ORDER BY id DESC LIMIT ?")
    .all(top)
    .map((a) => ({
      id: a.id,
      kind: a.kind,
      account: a.account_id,
      threshold: a.threshold,
      atMs: a.created_at_ms,
    }));
  return {
    nowMs: o.nowMs,
    timeZone: o.timeZone,
    today: today.totals,
    lastHour: lastHour.totals,
    topUsers: today.rows
      .filter((r) => r.requests > 0)
      .map((r) => ({
        user: r.group.user ?? "",
        requests: r.requests,
        costUsd: r.costUsd,
        chargedMicroCredits: r.chargedMicroCredits,
      })),
    blockedCount,
    blocked,
    blockedAgents,
    budgets: budgetStatuses(db, o.timeZone, o.nowMs),
    alerts,
  };
}
