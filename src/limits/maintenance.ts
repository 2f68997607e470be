import { createLedger, type Ledger } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { ONE_OFF_ALERT_KINDS } from "./alert-kinds.js";
import type { Enforcer } from "./check.js";
import { isSpendSpike } from "./thresholds.js";

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Re-checks every account whose stored window ended (caps lift, spends restart). Idempotent and
 * safe late: a check always computes from the clock and the database, never from what it missed.
 */
export function runRollover(enforcer: Enforcer, nowMs: number, limit = 10_000): number {
  const due = enforcer.dueForRollover(nowMs, limit);
  for (const id of due) enforcer.check(id, nowMs);
  return due.length;
}

/**
 * Whether `subject` was told a spike of `kind` less than an hour before `nowMs` (or later: a scan
 * run late). A spike is measured over the ROLLING hour before a scan but keyed by the CLOCK hour,
 * so one burst at 12:50 is still "the last hour" for every scan up to 13:50 and was told again
 * under hour 13 (case `test/cases/spend-spike-told-twice`). A new alert waits until the previous
 * one's hour no longer overlaps the one measured now: one burst, one alert.
 */
export function spikeToldWithinHour(db: Db, subject: string, kind: string, nowMs: number): boolean {
  const r = db
    .prepare<[string, string], { t: number | bigint | null }>(
      "SELECT MAX(created_at_ms) AS t FROM alerts WHERE account_id = ? AND kind = ?",
    )
    .get(subject, kind);
  return r?.t !== null && r?.t !== undefined && Number(r.t) > nowMs - HOUR_MS;
}

/**
 * Spend spikes: last hour's spend ≥ factor × the hourly average of the 24 h before it, and at
 * least the absolute floor. Users by account, agents as `agent:<id>`. One alert per subject per
 * clock hour, and none while its previous one is less than an hour old (the same burst, still in
 * the rolling hour); running twice raises nothing new.
 */
export function runSpikeScan(db: Db, enforcer: Enforcer, nowMs: number): number {
  const s = enforcer.settings;
  const hourStart = nowMs - HOUR_MS;
  const trailStart = hourStart - DAY_MS;
  const bucket = `hour:${new Date(Math.floor(nowMs / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13)}`;
  let raised = 0;
  for (const [column, prefix] of [
    ["account_id", ""],
    ["agent_id", "agent:"],
  ] as const) {
    const hot = db
      .prepare<[number, number, number], { k: string; s: number }>(
        `SELECT ${column} AS k, SUM(charge_micro_credits) AS s FROM usage_events
          WHERE message_ts_ms >= ? AND message_ts_ms < ? GROUP BY ${column}
         HAVING SUM(charge_micro_credits) >= ?`, // not the alias: PostgreSQL has no output names in HAVING
      )
      .all(hourStart, nowMs + 1, s.spikeMinMicroCredits);
    const trailing = db.prepare<[number, number, string], { s: number | null }>(
      `SELECT SUM(charge_micro_credits) AS s FROM usage_events
        WHERE message_ts_ms >= ? AND message_ts_ms < ? AND ${column} = ?`,
    );
    for (const h of hot) {
      if (spikeToldWithinHour(db, `${prefix}${h.k}`, "spend_spike", nowMs)) continue;
      const trailing24h = trailing.get(trailStart, hourStart, h.k)?.s ?? 0;
      const spike = isSpendSpike({
        lastHourMicroCredits: h.s,
        trailing24hMicroCredits: trailing24h,
        factor: s.spikeFactor,
        minMicroCredits: s.spikeMinMicroCredits,
      });
      if (!spike) continue;
      const avg = trailing24h / 24;
      const subject = `${prefix}${h.k}`;
      const facts = { lastHourMicroCredits: h.s, avgHourMicroCredits: Math.round(avg) };
      if (
        enforcer.raise(subject, "spend_spike", column === "agent_id" ? "agent" : "user", bucket, facts, nowMs)
      )
        raised++;
    }
  }
  return raised;
}

/**
 * The grant expiry pass (docs/grants.md): expires every grant due by `nowMs` (one `expiry` ledger
 * entry for its unused remainder, exactly once, each grant in its own transaction: see
 * `Ledger.expireDue`), then warns once per grant with credit left that expires within
 * `settings.expiryWarnDays` (`credits_expiring`, alert key `grant:<id>`, a user notice). The
 * expiry entries move balances, so the outbox re-checks those accounts and their `credits_expired`
 * receipts and low-balance alerts follow through the normal check. Idempotent; safe late.
 */
export function runGrantExpiry(
  db: Db,
  enforcer: Enforcer,
  nowMs: number,
  /** The process's ledger over `db`; built here when absent. */
  ledger?: Ledger,
): { expired: number; expiredMicroCredits: number; warned: number } {
  const l = ledger ?? createLedger(db);
  const r = l.expireDue(nowMs);
  let warned = 0;
  const days = enforcer.settings.expiryWarnDays;
  if (days > 0) {
    for (const g of l.expiringBetween(nowMs, nowMs + days * DAY_MS)) {
      const expiresAtMs = g.expiresAtMs ?? nowMs;
      const facts = {
        amountMicroCredits: g.remainingMicroCredits,
        expiresAtMs,
        grantKind: g.kind,
        daysLeft: Math.max(1, Math.ceil((expiresAtMs - nowMs) / DAY_MS)),
      };
      if (enforcer.raise(g.accountId, "credits_expiring", "", `grant:${g.id}`, facts, nowMs)) warned++;
    }
  }
  return { expired: r.expired, expiredMicroCredits: r.microCredits, warned };
}

/**
 * Deletes acknowledged notices and finished one-off alerts older than the retention period.
 * Alerts whose key can recur (low balance, depleted, blocked episodes) are kept: deleting them
 * would let an old episode alert again.
 */
export function runRetention(
  db: Db,
  retentionDays: number,
  nowMs: number,
): { notices: number; alerts: number } {
  const cutoff = nowMs - retentionDays * DAY_MS;
  return db
    .transaction(() => {
      const notices = db
        .prepare("DELETE FROM notices WHERE acked_at_ms IS NOT NULL AND acked_at_ms < ?")
        .run(cutoff).changes;
      const alerts = db
        .prepare(
          `DELETE FROM alerts WHERE created_at_ms < ? AND webhook_state IN ('none', 'delivered', 'dead')
           AND kind IN (${ONE_OFF_ALERT_KINDS.map((k) => `'${k}'`).join(", ")})
           AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.alert_id = alerts.id)`,
        )
        .run(cutoff).changes;
      return { notices, alerts };
    })
    .immediate();
}
