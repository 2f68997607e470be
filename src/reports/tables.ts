import type { Db } from "../db/index.js";

const DAY_MS = 86_400_000;

export const USER_SORTS = ["id", "balance", "activity", "created"] as const;
export type UserSort = (typeof USER_SORTS)[number];

const SORT_SQL: Record<UserSort, string> = {
  id: "a.id",
  balance: "a.balance_micro_credits",
  activity: "a.updated_at_ms",
  created: "a.created_at_ms",
};

/** One row of the console's user table. */
export interface UserListRow {
  userId: string;
  balanceMicroCredits: number;
  /** allowed | blocked (no status yet: allowed unless the balance is at the floor; see status). */
  allowed: boolean | null;
  /** Why blocked: the enforcer's reason (`operator`, `floor`, `daily_cap`, …) or null. */
  reason: string | null;
  /** The operator's block reason text, when blocked by hand. */
  blockReason: string | null;
  /** The user's own limit rules (JSON as set), or null for the defaults. */
  limits: Record<string, unknown> | null;
  language: string | null;
  todayChargedMicroCredits: number;
  monthChargedMicroCredits: number;
  /** Last balance change (a billed call, top-up, grant), epoch ms. */
  lastActivityMs: number;
  createdAtMs: number;
}

/**
 * End users (accounts of kind `user`), searched by a substring of the id, sorted by id, balance,
 * last activity or creation, paged by offset; today's and this month's charges (UTC) come from
 * usage_daily for the rows of the page only (one indexed lookup per row).
 */
export function listUsers(
  db: Db,
  q: {
    search?: string | undefined;
    sort: UserSort;
    desc: boolean;
    limit: number;
    offset: number;
    nowMs: number;
  },
): { total: number; users: UserListRow[] } {
  const search = q.search?.trim() ?? "";
  const where = `a.kind = 'user'${search ? " AND instr(lower(a.id), lower(@search)) > 0" : ""}`;
  const params = search ? { search } : {};
  const total =
    db.prepare<[object], { n: number }>(`SELECT COUNT(*) AS n FROM accounts a WHERE ${where}`).get(params)
      ?.n ?? 0;
  const rows = db
    .prepare<
      [object],
      {
        id: string;
        balance: number;
        allowed: number | null;
        reason: string | null;
        block_reason: string | null;
        rules: string | null;
        updated: number;
        created: number;
      }
    >(
      `SELECT a.id, a.balance_micro_credits AS balance, s.allowed, s.reason, b.reason AS block_reason,
              l.rules, a.updated_at_ms AS updated, a.created_at_ms AS created
         FROM accounts a
         LEFT JOIN user_status s ON s.account_id = a.id
         LEFT JOIN operator_blocks b ON b.account_id = a.id
         LEFT JOIN account_limits l ON l.subject = a.id
        WHERE ${where}
        ORDER BY ${SORT_SQL[q.sort]} ${q.desc ? "DESC" : "ASC"}, a.id LIMIT @limit OFFSET @offset`,
    )
    .all({ ...params, limit: q.limit, offset: q.offset });
  const today = Math.floor(q.nowMs / DAY_MS);
  const d = new Date(q.nowMs);
  const monthStart = Math.floor(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / DAY_MS);
  const spend = db.prepare<
    [{ id: string; from: number; today: number }],
    { today: number | null; month: number | null }
  >(
    `SELECT SUM(CASE WHEN day = @today THEN charge_micro_credits ELSE 0 END) AS today,
            SUM(charge_micro_credits) AS month
       FROM usage_daily WHERE account_id = @id AND day >= @from`,
  );
  return {
    total,
    users: rows.map((r) => {
      const s = spend.get({ id: r.id, from: Math.min(monthStart, today), today });
      let limits: Record<string, unknown> | null = null;
      try {
        limits = r.rules ? (JSON.parse(r.rules) as Record<string, unknown>) : null;
      } catch {
        limits = null;
      }
      return {
        userId: r.id,
        balanceMicroCredits: r.balance,
        allowed: r.allowed === null ? null : r.allowed === 1,
        reason: r.reason,
        blockReason: r.block_reason,
        limits,
        language: typeof limits?.language === "string" ? limits.language : null,
        todayChargedMicroCredits: s?.today ?? 0,
        monthChargedMicroCredits: s?.month ?? 0,
        lastActivityMs: r.updated,
        createdAtMs: r.created,
      };
    }),
  };
}

/**
 * One user's history for the console: the balance after each ledger entry in the range (the
 * balance-over-time chart; the newest `maxPoints`), charges per UTC day and per model (usage_daily),
 * top-ups, and alerts.
 */
export function userActivity(
  db: Db,
  userId: string,
  q: { sinceMs: number; untilMs: number; maxPoints: number },
) {
  const balance = db
    .prepare<[string, number, number, number], { at: number; b: number }>(
      `SELECT created_at_ms AS at, balance_after_micro_credits AS b FROM (
         SELECT id, created_at_ms, balance_after_micro_credits FROM ledger_entries
          WHERE account_id = ? AND created_at_ms >= ? AND created_at_ms < ? ORDER BY id DESC LIMIT ?)
        ORDER BY id`,
    )
    .all(userId, q.sinceMs, q.untilMs, q.maxPoints)
    .map((r) => ({ atMs: r.at, balanceMicroCredits: r.b }));
  const firstDay = Math.floor(q.sinceMs / DAY_MS);
  const endDay = Math.ceil(q.untilMs / DAY_MS);
  const byDay = db
    .prepare<[string, number, number], { day: number; n: number; c: bigint; m: bigint }>(
      `SELECT day, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m
         FROM usage_daily WHERE account_id = ? AND day >= ? AND day < ? GROUP BY day ORDER BY day`,
    )
    .safeIntegers(true)
    .all(userId, firstDay, endDay)
    .map((r) => ({
      dayStartMs: Number(r.day) * DAY_MS,
      requests: Number(r.n),
      costPicoUsd: r.c.toString(),
      chargedMicroCredits: Number(r.m),
    }));
  const byModel = db
    .prepare<[string, number, number], { k: string; n: bigint; c: bigint; m: bigint }>(
      `SELECT provider || '/' || model AS k, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m
         FROM usage_daily WHERE account_id = ? AND day >= ? AND day < ? GROUP BY k ORDER BY m DESC, k`,
    )
    .safeIntegers(true)
    .all(userId, firstDay, endDay)
    .map((r) => ({
      model: r.k,
      requests: Number(r.n),
      costPicoUsd: r.c.toString(),
      chargedMicroCredits: Number(r.m),
    }));
  const topups = db
    .prepare<
      [string],
      {
        id: string;
        provider: string;
        status: string;
        currency: string;
        amountMinor: number;
        discountMinor: number;
        exponent: number;
        refundedMinor: number;
        grantMicroCredits: number;
        createdAtMs: number;
        paidAtMs: number | null;
      }
    >(
      `SELECT id, provider, status, currency, COALESCE(collected_minor, amount_minor) AS amountMinor,
              amount_minor - COALESCE(collected_minor, amount_minor) AS discountMinor, currency_exponent AS exponent,
              refunded_minor AS refundedMinor, grant_micro_credits AS grantMicroCredits,
              created_at_ms AS createdAtMs, paid_at_ms AS paidAtMs
         FROM topups WHERE account_id = ? ORDER BY created_at_ms DESC LIMIT 50`,
    )
    .all(userId);
  const alerts = db
    .prepare<
      [string],
      { id: number; kind: string; threshold: string; createdAtMs: number; webhookState: string }
    >(
      `SELECT id, kind, threshold, created_at_ms AS createdAtMs, webhook_state AS webhookState
         FROM alerts WHERE account_id = ? ORDER BY id DESC LIMIT 50`,
    )
    .all(userId);
  const notices = db
    .prepare<
      [string],
      { id: number; kind: string; text: string; createdAtMs: number; ackedAtMs: number | null }
    >(
      `SELECT id, kind, text, created_at_ms AS createdAtMs, acked_at_ms AS ackedAtMs
         FROM notices WHERE account_id = ? ORDER BY id DESC LIMIT 50`,
    )
    .all(userId);
  return { userId, balance, byDay, byModel, topups, alerts, notices };
}

export const TOPUP_STATUSES = ["pending", "awaiting_payment", "paid", "failed", "expired"] as const;

/**
 * Top-ups for the console's payments page: counts and amounts by status, provider and currency
 * (created in the range), revenue per UTC day (paid in the range, per currency), a page of top-ups
 * (filtered by status and provider) with what each provider event did.
 */
export function paymentsReport(
  db: Db,
  q: {
    sinceMs: number;
    untilMs: number;
    status?: string | undefined;
    provider?: string | undefined;
    limit: number;
    offset: number;
  },
) {
  const groups = db
    .prepare<
      [number, number],
      {
        status: string;
        provider: string;
        currency: string;
        exponent: number;
        count: number;
        amountMinor: number;
        discountMinor: number;
        refundedMinor: number;
      }
    >(
      `SELECT status, provider, currency, MAX(currency_exponent) AS exponent, COUNT(*) AS count,
              SUM(COALESCE(collected_minor, amount_minor)) AS amountMinor, SUM(amount_minor - COALESCE(collected_minor, amount_minor)) AS discountMinor,
              SUM(refunded_minor) AS refundedMinor
         FROM topups WHERE created_at_ms >= ? AND created_at_ms < ?
        GROUP BY status, provider, currency ORDER BY status, provider, currency`,
    )
    .all(q.sinceMs, q.untilMs);
  const revenue = db
    .prepare<[number, number], { day: number; currency: string; exponent: number; amountMinor: number }>(
      `SELECT paid_at_ms / ${DAY_MS} AS day, currency, MAX(currency_exponent) AS exponent, SUM(COALESCE(collected_minor, amount_minor)) AS amountMinor
         FROM topups WHERE paid_at_ms >= ? AND paid_at_ms < ? GROUP BY day, currency ORDER BY day, currency`,
    )
    .all(q.sinceMs, q.untilMs)
    .map((r) => ({
      dayStartMs: r.day * DAY_MS,
      currency: r.currency,
      exponent: r.exponent,
      amountMinor: r.amountMinor,
    }));
  const where = ["created_at_ms >= @since", "created_at_ms < @until"];
  if (q.status) where.push("status = @status");
  if (q.provider) where.push("provider = @provider");
  const params = {
    since: q.sinceMs,
    until: q.untilMs,
    ...(q.status ? { status: q.status } : {}),
    ...(q.provider ? { provider: q.provider } : {}),
  };
  const total =
    db
      .prepare<[object], { n: number }>(`SELECT COUNT(*) AS n FROM topups WHERE ${where.join(" AND ")}`)
      .get(params)?.n ?? 0;
  const events = db.prepare<
    [string],
    { type: string; outcome: string; detail: string | null; receivedAtMs: number }
  >(
    `SELECT type, outcome, detail, received_at_ms AS receivedAtMs FROM provider_events
      WHERE topup_id = ? ORDER BY id`,
  );
  const topups = db
    .prepare<
      [object],
      {
        id: string;
        userId: string;
        packId: string;
        provider: string;
        status: string;
        currency: string;
        exponent: number;
        amountMinor: number;
        discountMinor: number;
        refundedMinor: number;
        grantMicroCredits: number;
        lastError: string | null;
        createdAtMs: number;
        paidAtMs: number | null;
      }
    >(
      `SELECT id, account_id AS userId, pack_id AS packId, provider, status, currency, currency_exponent AS exponent,
              COALESCE(collected_minor, amount_minor) AS amountMinor, amount_minor - COALESCE(collected_minor, amount_minor) AS discountMinor,
              refunded_minor AS refundedMinor, grant_micro_credits AS grantMicroCredits,
              last_error AS lastError, created_at_ms AS createdAtMs, paid_at_ms AS paidAtMs
         FROM topups WHERE ${where.join(" AND ")} ORDER BY created_at_ms DESC, id LIMIT @limit OFFSET @offset`,
    )
    .all({ ...params, limit: q.limit, offset: q.offset })
    .map((t) => ({ ...t, events: events.all(t.id) }));
  return { groups, revenue, total, topups };
}

/**
 * Agents: charges, requests, distinct users and models per agent over the whole UTC days a range
 * touches. Sums and models from usage_daily_totals; users (end users, not the agent's own account)
 * from usage_agent_account_days: the rows of the range whose previous day with this agent is
 * before it, one per user (an index-only range scan per agent, no DISTINCT over the range).
 */
export function agentsReport(db: Db, q: { sinceMs: number; untilMs: number }) {
  const firstDay = Math.floor(q.sinceMs / DAY_MS);
  const endDay = Math.ceil(q.untilMs / DAY_MS);
  const users = db.prepare<[string, number, number, number], { n: number }>(
    `SELECT COUNT(*) AS n FROM usage_agent_account_days
      WHERE agent_id = ? AND day >= ? AND day < ? AND prev_day < ? AND agent_account = 0`,
  );
  return db
    .prepare<
      [number, number],
      {
        agentId: string;
        requests: bigint;
        cost: bigint;
        charged: bigint;
        models: bigint;
        ownCost: bigint;
        ownRequests: bigint;
      }
    >(
      `SELECT agent_id AS agentId, SUM(requests) AS requests, SUM(cost_pico_usd) AS cost,
              SUM(charge_micro_credits) AS charged,
              COUNT(DISTINCT provider || '/' || model) AS models,
              SUM(CASE WHEN agent_account = 1 THEN cost_pico_usd ELSE 0 END) AS ownCost,
              SUM(CASE WHEN agent_account = 1 THEN requests ELSE 0 END) AS ownRequests
         FROM usage_daily_totals WHERE day >= ? AND day < ? GROUP BY agent_id ORDER BY cost DESC, agent_id`,
    )
    .safeIntegers(true)
    .all(firstDay, endDay)
    .map((r) => ({
      agentId: r.agentId,
      requests: Number(r.requests),
      costPicoUsd: r.cost.toString(),
      chargedMicroCredits: Number(r.charged),
      users: users.get(r.agentId, firstDay, endDay, firstDay)?.n ?? 0,
      models: Number(r.models),
      ownCostPicoUsd: r.ownCost.toString(),
      ownRequests: Number(r.ownRequests),
    }));
}

/**
 * Retries a dead-lettered alert webhook: marks it `queued` as of the epoch, so the worker's next
 * sweep finds it stale, removes the failed BullMQ job (same deterministic id) and adds it again with
 * fresh attempts. False when the alert is not dead (already retried, delivered, or unknown).
 */
export function retryDeadAlert(db: Db, id: number): boolean {
  return (
    db
      .prepare<[number]>(
        `UPDATE alerts SET webhook_state = 'queued', webhook_attempts = 0, webhook_error = NULL,
                webhook_updated_at_ms = 0 WHERE id = ? AND webhook_state = 'dead'`,
      )
      .run(id).changes > 0
  );
}
