import type { Db } from "../db/index.js";
import type { BudgetBlock } from "./decide.js";

/** One agent blocked by one reached hard operator budget (`operator_budget_blocks`). */
export interface BudgetBlockRow extends BudgetBlock {
  /** The agent id, or `*` for every agent (a budget of scope `all`). */
  agentId: string;
  limitUsd: string;
  spentUsd: string;
  blockedAtMs: number;
}

interface Row {
  agent_id: string;
  budget: string;
  period: "day" | "month";
  window_key: string;
  lifts_at_ms: number;
  limit_usd: string;
  spent_usd: string;
  blocked_at_ms: number;
}

const fromRow = (r: Row): BudgetBlockRow => ({
  agentId: r.agent_id,
  budget: r.budget,
  period: r.period,
  windowKey: r.window_key,
  liftsAtMs: r.lifts_at_ms,
  limitUsd: r.limit_usd,
  spentUsd: r.spent_usd,
  blockedAtMs: r.blocked_at_ms,
});

/**
 * `operator_budget_blocks` (migration 24): the agents whose end users a reached hard budget blocks.
 * `active` is one indexed read per gate check; `replace` rewrites the whole set in one transaction.
 */
export function createBudgetBlocksRepo(db: Db) {
  const active = db.prepare<[string, number], Row>(
    `SELECT * FROM operator_budget_blocks WHERE agent_id IN (?, '*') AND lifts_at_ms > ?
      ORDER BY lifts_at_ms DESC, budget, period`,
  );
  const all = db.prepare<[], Row>("SELECT * FROM operator_budget_blocks ORDER BY agent_id, budget, period");
  const any = db.prepare<[], { one: number }>("SELECT 1 AS one FROM operator_budget_blocks LIMIT 1");
  const upsert = db.prepare<[string, string, string, string, number, string, string, number]>(
    `INSERT INTO operator_budget_blocks
       (agent_id, budget, period, window_key, lifts_at_ms, limit_usd, spent_usd, blocked_at_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (agent_id, budget, period) DO UPDATE SET
       blocked_at_ms = CASE WHEN window_key = excluded.window_key THEN blocked_at_ms ELSE excluded.blocked_at_ms END,
       window_key = excluded.window_key, lifts_at_ms = excluded.lifts_at_ms,
       limit_usd = excluded.limit_usd, spent_usd = excluded.spent_usd`,
  );
  const del = db.prepare<[string, string, string]>(
    "DELETE FROM operator_budget_blocks WHERE agent_id = ? AND budget = ? AND period = ?",
  );
  const replaceTx = db.transaction((rows: readonly Omit<BudgetBlockRow, "blockedAtMs">[], nowMs: number) => {
    const keep = new Set(rows.map((r) => `${r.agentId}\u0000${r.budget}\u0000${r.period}`));
    for (const r of all.all()) {
      if (!keep.has(`${r.agent_id}\u0000${r.budget}\u0000${r.period}`))
        del.run(r.agent_id, r.budget, r.period);
    }
    for (const r of rows) {
      upsert.run(r.agentId, r.budget, r.period, r.windowKey, r.liftsAtMs, r.limitUsd, r.spentUsd, nowMs);
    }
  });
  return {
    /** The blocks in force for `agentId` at `nowMs` (its own and the `*` ones), latest lift first. */
    active(agentId: string, nowMs: number): BudgetBlockRow[] {
      return active.all(agentId, nowMs).map(fromRow);
    },
    /** Every stored row (expired ones included). */
    list(): BudgetBlockRow[] {
      return all.all().map(fromRow);
    },
    /**
     * Makes the stored set exactly `rows` (others deleted), keeping `blockedAtMs` of a row that
     * stays in the same window. One transaction (the caller's, or its own).
     */
    replace(rows: readonly Omit<BudgetBlockRow, "blockedAtMs">[], nowMs: number): void {
      // Nothing blocked and nothing to block (the usual scan): no write lock taken.
      if (rows.length === 0 && !any.get()) return;
      if (db.inTransaction) replaceTx.default(rows, nowMs);
      else replaceTx.immediate(rows, nowMs);
    },
  };
}
export type BudgetBlocksRepo = ReturnType<typeof createBudgetBlocksRepo>;
