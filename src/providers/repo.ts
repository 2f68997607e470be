import type { Db } from "../db/index.js";
import { toSafeNumber } from "../money.js";
import type { CollectorErrorKind, ProviderId } from "./types.js";

/** One stored poll (migration 18, `provider_snapshots`). Amounts: micro-units of `currency`. */
export interface Snapshot {
  id: number;
  provider: string;
  takenAtMs: number;
  currency: string;
  balanceMicro: number | null;
  spentTotalMicro: number | null;
  spendSinceLastMicro: number | null;
  detail: Record<string, unknown>;
}

/** One provider-day of spend (`provider_spend_daily`). */
export interface DailySpend {
  day: string;
  currency: string;
  amountMicro: number;
  source: "reported" | "derived";
  updatedAtMs: number;
}

/** The last poll of a provider (`provider_status`). */
export interface PollStatus {
  provider: string;
  lastPollAtMs: number;
  lastOkAtMs: number | null;
  errorKind: CollectorErrorKind | null;
  errorMessage: string | null;
  errorAtMs: number | null;
  consecutiveFailures: number;
  retryAfterMs: number | null;
  keySource: string | null;
}

/** Alert thresholds stored for a provider or `*`; null fields inherit. */
export interface StoredAlertSettings {
  lowBalanceMicro: number | null;
  lowRunwayHours: number | null;
  spikeFactor: number | null;
  driftPct: number | null;
}

interface SnapshotRow {
  id: number;
  provider: string;
  taken_at_ms: number;
  currency: string;
  balance_micro: number | null;
  spent_total_micro: number | null;
  spend_since_last_micro: number | null;
  detail: string;
}

const snap = (r: SnapshotRow): Snapshot => ({
  id: r.id,
  provider: r.provider,
  takenAtMs: r.taken_at_ms,
  currency: r.currency,
  balanceMicro: r.balance_micro,
  spentTotalMicro: r.spent_total_micro,
  spendSinceLastMicro: r.spend_since_last_micro,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
});

const num = (v: bigint | null, what: string) => (v === null ? null : toSafeNumber(v, what));

/** The provider tables of migration 18 (never a key in any of them). */
export function createProviderRepo(db: Db) {
  const insertSnap = db.prepare(
    `INSERT INTO provider_snapshots (provider, taken_at_ms, currency, balance_micro, spent_total_micro, spend_since_last_micro, detail)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const lastSnap = db.prepare<[string], SnapshotRow>(
    `SELECT * FROM provider_snapshots WHERE provider = ? ORDER BY taken_at_ms DESC, id DESC LIMIT 1`,
  );
  const history = db.prepare<[string, number, number, number], SnapshotRow>(
    `SELECT * FROM provider_snapshots WHERE provider = ? AND taken_at_ms >= ? AND taken_at_ms < ?
      ORDER BY taken_at_ms DESC, id DESC LIMIT ?`,
  );
  // Each snapshot's spend happened somewhere between the snapshot before it and itself.
  const spans = db.prepare<[string, number], { s: number; t: number; c: string; p: number | null }>(
    `SELECT spend_since_last_micro AS s, taken_at_ms AS t, currency AS c,
        (SELECT MAX(b.taken_at_ms) FROM provider_snapshots b WHERE b.provider = a.provider AND b.taken_at_ms < a.taken_at_ms) AS p
       FROM provider_snapshots a
      WHERE provider = ? AND taken_at_ms > ? AND spend_since_last_micro IS NOT NULL`,
  );
  const currencyAt = db.prepare<[string, number], { c: string }>(
    `SELECT currency AS c FROM provider_snapshots WHERE provider = ? AND taken_at_ms <= ?
      ORDER BY taken_at_ms DESC LIMIT 1`,
  );
  const lastOther = db.prepare<[string, number, string], { t: number | null }>(
    `SELECT MAX(taken_at_ms) AS t FROM provider_snapshots WHERE provider = ? AND taken_at_ms <= ? AND currency <> ?`,
  );
  const firstAfter = db.prepare<[string, number], { t: number | null }>(
    `SELECT MIN(taken_at_ms) AS t FROM provider_snapshots WHERE provider = ? AND taken_at_ms > ?`,
  );
  /**
   * The run of snapshots a window ending at `nowMs` sums: the snapshots in the currency of the
   * latest one at or before `nowMs`, after the last snapshot in another currency (a currency change
   * restarts the spend series: spend in CNY is not spend in USD). `after`: the run starts after it
   * (−1: no other currency before); `first`: the run's first snapshot; `currency`: null when there
   * is no snapshot at or before `nowMs` (every snapshot counts then, as one run).
   */
  const runAt = (provider: string, nowMs: number) => {
    const currency = currencyAt.get(provider, nowMs)?.c ?? null;
    const after = currency === null ? -1 : (lastOther.get(provider, nowMs, currency)?.t ?? -1);
    return { currency, after, first: firstAfter.get(provider, after)?.t ?? null };
  };
  const dayGet = db.prepare<[string, string], { amount_micro: number; currency: string; source: string }>(
    `SELECT amount_micro, currency, source FROM provider_spend_daily WHERE provider = ? AND day = ?`,
  );
  const dayUpsert = db.prepare(
    `INSERT INTO provider_spend_daily (provider, day, currency, amount_micro, source, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (provider, day) DO UPDATE SET currency = excluded.currency, amount_micro = excluded.amount_micro,
       source = excluded.source, updated_at_ms = excluded.updated_at_ms`,
  );
  const dayAdd = db.prepare(
    `INSERT INTO provider_spend_daily (provider, day, currency, amount_micro, source, updated_at_ms) VALUES (?, ?, ?, ?, 'derived', ?)
     ON CONFLICT (provider, day) DO UPDATE SET amount_micro = amount_micro + excluded.amount_micro, updated_at_ms = excluded.updated_at_ms`,
  );
  const days = db.prepare<
    [string, string, string],
    { day: string; currency: string; amount_micro: number; source: string; updated_at_ms: number }
  >(
    `SELECT day, currency, amount_micro, source, updated_at_ms FROM provider_spend_daily
      WHERE provider = ? AND day >= ? AND day <= ? ORDER BY day`,
  );
  const statusGet = db.prepare<[string], Record<string, unknown>>(
    `SELECT * FROM provider_status WHERE provider = ?`,
  );
  const statusOk = db.prepare(
    `INSERT INTO provider_status (provider, last_poll_at_ms, last_ok_at_ms, consecutive_failures, key_source) VALUES (?, ?, ?, 0, ?)
     ON CONFLICT (provider) DO UPDATE SET last_poll_at_ms = excluded.last_poll_at_ms, last_ok_at_ms = excluded.last_ok_at_ms,
       error_kind = NULL, error_message = NULL, error_at_ms = NULL, consecutive_failures = 0, retry_after_ms = NULL,
       key_source = excluded.key_source`,
  );
  const statusErr = db.prepare(
    `INSERT INTO provider_status (provider, last_poll_at_ms, error_kind, error_message, error_at_ms, consecutive_failures, retry_after_ms, key_source)
     VALUES (?, ?, ?, ?, ?, 1, ?, ?)
     ON CONFLICT (provider) DO UPDATE SET last_poll_at_ms = excluded.last_poll_at_ms, error_kind = excluded.error_kind,
       error_message = excluded.error_message, error_at_ms = excluded.error_at_ms,
       consecutive_failures = consecutive_failures + 1, retry_after_ms = excluded.retry_after_ms,
       key_source = COALESCE(excluded.key_source, key_source)`,
  );
  const settingsGet = db.prepare<
    [string],
    {
      low_balance_micro: number | null;
      low_runway_hours: number | null;
      spike_factor: number | null;
      drift_pct: number | null;
    }
  >(
    `SELECT low_balance_micro, low_runway_hours, spike_factor, drift_pct FROM provider_alert_settings WHERE provider = ?`,
  );
  const settingsPut = db.prepare(
    `INSERT INTO provider_alert_settings (provider, low_balance_micro, low_runway_hours, spike_factor, drift_pct, updated_at_ms)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (provider) DO UPDATE SET low_balance_micro = excluded.low_balance_micro, low_runway_hours = excluded.low_runway_hours,
       spike_factor = excluded.spike_factor, drift_pct = excluded.drift_pct, updated_at_ms = excluded.updated_at_ms`,
  );
  const meteredSum = (providers: readonly string[]) =>
    db.prepare<unknown[], { s: number | null }>(
      `SELECT SUM(cost_pico_usd) AS s FROM usage_events
        WHERE message_ts_ms >= ? AND message_ts_ms < ? AND provider IN (${providers.map(() => "?").join(",")})`,
    );
  const meteredDay = (providers: readonly string[]) =>
    db.prepare<unknown[], { c: number | null; u: number | null }>(
      `SELECT SUM(cost_pico_usd) AS c, SUM(unknown_model_requests) AS u FROM usage_daily
        WHERE day = ? AND provider IN (${providers.map(() => "?").join(",")})`,
    );

  return {
    /** The newest snapshot of a provider, or null. */
    last(provider: string): Snapshot | null {
      const r = lastSnap.get(provider);
      return r ? snap(r) : null;
    },
    /**
     * Stores one poll: the snapshot, and each provider-reported day (replacing that day's
     * figure) or, for a derived spend, adds it to the poll's UTC day. One transaction.
     */
    record(s: {
      provider: ProviderId;
      takenAtMs: number;
      currency: string;
      balanceMicro: bigint | null;
      spentTotalMicro: bigint | null;
      spendSinceLastMicro: bigint | null;
      detail: Record<string, unknown>;
      reportedDays: { day: string; micro: bigint }[];
      derivedDay: { day: string; micro: bigint } | null;
    }): void {
      db.transaction(() => {
        insertSnap.run(
          s.provider,
          s.takenAtMs,
          s.currency,
          num(s.balanceMicro, "balance"),
          num(s.spentTotalMicro, "spent total"),
          num(s.spendSinceLastMicro, "spend since last"),
          JSON.stringify(s.detail),
        );
        for (const d of s.reportedDays)
          dayUpsert.run(
            s.provider,
            d.day,
            s.currency,
            toSafeNumber(d.micro, "daily spend"),
            "reported",
            s.takenAtMs,
          );
        if (s.derivedDay && s.derivedDay.micro > 0n)
          dayAdd.run(
            s.provider,
            s.derivedDay.day,
            s.currency,
            toSafeNumber(s.derivedDay.micro, "daily spend"),
            s.takenAtMs,
          );
      }).immediate();
    },
    /** The stored figure of one provider-day, or null. */
    day(provider: string, day: string): { amountMicro: number; currency: string } | null {
      const r = dayGet.get(provider, day);
      return r ? { amountMicro: r.amount_micro, currency: r.currency } : null;
    },
    /** Days `from`…`to` (inclusive, `YYYY-MM-DD`), oldest first. */
    days(provider: string, from: string, to: string): DailySpend[] {
      return days.all(provider, from, to).map((r) => ({
        day: r.day,
        currency: r.currency,
        amountMicro: r.amount_micro,
        source: r.source as DailySpend["source"],
        updatedAtMs: r.updated_at_ms,
      }));
    },
    /** Snapshots in [fromMs, toMs), newest first, at most `limit`. */
    history(provider: string, fromMs: number, toMs: number, limit: number): Snapshot[] {
      return history.all(provider, fromMs, toMs, limit).map(snap);
    },
    /**
     * Spend in (sinceMs, nowMs]: each snapshot's spend-since-last is spread evenly over the time
     * since the snapshot before it (the provider only says how much, not when), and the part of
     * that span inside the window counts (floored to a micro-unit per snapshot). Only the
     * snapshots in the currency of the latest one at or before `nowMs`, after the last one in
     * another currency, count (a currency change restarts the series: CNY spend is not USD
     * spend). `observedMs`: the part of the window creditgate was polling that run;
     * `firstAtMs`: the run's first snapshot.
     */
    spentSince(
      provider: string,
      sinceMs: number,
      nowMs: number,
    ): { micro: number; observedMs: number; firstAtMs: number | null } {
      const run = runAt(provider, nowMs);
      const rows = spans
        .all(provider, Math.max(sinceMs, run.after))
        .filter((r) => run.currency === null || r.c === run.currency);
      return spentIn(rows, sinceMs, nowMs, run.first);
    },
    /**
     * {@link spentSince} for many windows at once (one query, in memory): the runway at each
     * snapshot of a history without a query per snapshot.
     */
    spentWindows(
      provider: string,
      windows: readonly { sinceMs: number; nowMs: number }[],
    ): { micro: number; observedMs: number; firstAtMs: number | null }[] {
      if (windows.length === 0) return [];
      const rows = spans.all(provider, Math.min(...windows.map((w) => w.sinceMs)));
      return windows.map((w) => {
        const run = runAt(provider, w.nowMs);
        const from = Math.max(w.sinceMs, run.after);
        return spentIn(
          rows.filter((r) => r.t > from && (run.currency === null || r.c === run.currency)),
          w.sinceMs,
          w.nowMs,
          run.first,
        );
      });
    },
    /** Metered cost (pico-USD) of usage_events of these providers in [fromMs, toMs). */
    meteredPico(providers: readonly string[], fromMs: number, toMs: number): number {
      return meteredSum(providers).get(fromMs, toMs, ...providers)?.s ?? 0;
    },
    /** Metered cost (pico-USD) of UTC days [fromDay, toDay] (usage_daily, day numbers), for these providers. */
    meteredDaysPico(providers: readonly string[], fromDay: number, toDay: number): number {
      return (
        db
          .prepare<unknown[], { c: number | null }>(
            `SELECT SUM(cost_pico_usd) AS c FROM usage_daily
              WHERE day >= ? AND day <= ? AND provider IN (${providers.map(() => "?").join(",")})`,
          )
          .get(fromDay, toDay, ...providers)?.c ?? 0
      );
    },
    /** Metered cost (pico-USD) and unknown-model calls of one UTC day (usage_daily), for these providers. */
    meteredDay(providers: readonly string[], dayNumber: number): { pico: number; unknownModelCalls: number } {
      const r = meteredDay(providers).get(dayNumber, ...providers);
      return { pico: r?.c ?? 0, unknownModelCalls: r?.u ?? 0 };
    },
    status(provider: string): PollStatus | null {
      const r = statusGet.get(provider);
      if (!r) return null;
      return {
        provider: String(r.provider),
        lastPollAtMs: Number(r.last_poll_at_ms),
        lastOkAtMs: (r.last_ok_at_ms as number | null) ?? null,
        errorKind: (r.error_kind as CollectorErrorKind | null) ?? null,
        errorMessage: (r.error_message as string | null) ?? null,
        errorAtMs: (r.error_at_ms as number | null) ?? null,
        consecutiveFailures: Number(r.consecutive_failures),
        retryAfterMs: (r.retry_after_ms as number | null) ?? null,
        keySource: (r.key_source as string | null) ?? null,
      };
    },
    markOk(provider: string, nowMs: number, keySource: string): void {
      statusOk.run(provider, nowMs, nowMs, keySource);
    },
    markError(
      provider: string,
      nowMs: number,
      e: { kind: CollectorErrorKind; message: string; retryAfterMs: number | null },
      keySource: string | null,
    ): void {
      statusErr.run(provider, nowMs, e.kind, e.message, nowMs, e.retryAfterMs, keySource);
    },
    settings(provider: string): StoredAlertSettings | null {
      const r = settingsGet.get(provider);
      return r
        ? {
            lowBalanceMicro: r.low_balance_micro,
            lowRunwayHours: r.low_runway_hours,
            spikeFactor: r.spike_factor,
            driftPct: r.drift_pct,
          }
        : null;
    },
    putSettings(provider: string, s: StoredAlertSettings, nowMs: number): void {
      settingsPut.run(provider, s.lowBalanceMicro, s.lowRunwayHours, s.spikeFactor, s.driftPct, nowMs);
    },
  };
}
export type ProviderRepo = ReturnType<typeof createProviderRepo>;

/**
 * Spend in (sinceMs, nowMs] from snapshot spans (`s` spent between the snapshot before, at `p`,
 * and the snapshot at `t`), each spread evenly over its span and the part inside the window
 * counted (floored to a micro-unit per snapshot). The sum saturates at ±(2^53 − 1).
 */
function spentIn(
  rows: readonly { s: number; t: number; p: number | null }[],
  sinceMs: number,
  nowMs: number,
  first: number | null,
): { micro: number; observedMs: number; firstAtMs: number | null } {
  let total = 0n;
  for (const r of rows) {
    if ((r.p ?? r.t) >= nowMs && r.t > nowMs) continue; // entirely after the window
    const start = r.p ?? r.t;
    const span = r.t - start;
    if (span <= 0) {
      total += BigInt(r.s);
      continue;
    }
    const overlap = Math.min(r.t, nowMs) - Math.max(start, sinceMs);
    if (overlap <= 0) continue;
    total += (BigInt(r.s) * BigInt(overlap)) / BigInt(span);
  }
  const observedMs = first === null ? 0 : Math.max(0, nowMs - Math.max(sinceMs, first));
  // saturated, not thrown: a sum past 2^53 (only from absurd stored figures) must not take down
  // every view of every provider
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  const micro = Number(total > max ? max : total < -max ? -max : total);
  return { micro, observedMs, firstAtMs: first };
}
