import type { Db } from "../db/index.js";
import { type CallModel, HEADROOM_SAMPLE_CALLS } from "./headroom.js";

/** Usage rows sampled per {@link SamplesRepo.ingest} call at most (the rest on the next call). */
export const HEADROOM_INGEST_BATCH = 2000;

/**
 * `headroom_samples` + `headroom_cursor` (migration 15): the newest charged calls per (agent,
 * provider, model), fed from `usage_events` by id, and the reads the headroom estimate needs.
 * Every read is an index range: the user's latest call through `usage_events_account_ts`, the
 * samples through their primary key.
 */
export function createSamplesRepo(db: Db) {
  const cursor = db.prepare<[], { c: number }>(
    "SELECT last_usage_event_id AS c FROM headroom_cursor WHERE id = 1",
  );
  const setCursor = db.prepare<[number]>(
    `INSERT INTO headroom_cursor (id, last_usage_event_id) VALUES (1, ?)
     ON CONFLICT (id) DO UPDATE SET last_usage_event_id = excluded.last_usage_event_id`,
  );
  const newRows = db.prepare<
    [number, number],
    { id: number; agent_id: string; provider: string; model: string; ts: number; charge: number }
  >(
    `SELECT id, agent_id, provider, model, message_ts_ms AS ts, charge_micro_credits AS charge
       FROM usage_events WHERE id > ? ORDER BY id LIMIT ?`,
  );
  const insert = db.prepare<[string, string, string, number, number, number]>(
    `INSERT OR IGNORE INTO headroom_samples
       (agent_id, provider, model, message_ts_ms, usage_event_id, charge_micro_credits) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  // Keep the newest HEADROOM_SAMPLE_CALLS of one model: delete below the Nth newest (none when fewer).
  const trim = db.prepare<[string, string, string, string, string, string]>(
    `DELETE FROM headroom_samples WHERE agent_id = ? AND provider = ? AND model = ?
       AND (message_ts_ms, usage_event_id) < (
         SELECT message_ts_ms, usage_event_id FROM headroom_samples
          WHERE agent_id = ? AND provider = ? AND model = ?
          ORDER BY message_ts_ms DESC, usage_event_id DESC LIMIT 1 OFFSET ${HEADROOM_SAMPLE_CALLS - 1})`,
  );
  const latest = db.prepare<[string], { agent_id: string; provider: string; model: string }>(
    `SELECT agent_id, provider, model FROM usage_events WHERE account_id = ?
      ORDER BY message_ts_ms DESC LIMIT 1`,
  );
  // pluck: plain numbers, no row objects (this read is on /consumo's path).
  const charges = db
    .prepare<[string, string, string, number], number>(
      `SELECT charge_micro_credits FROM headroom_samples
        WHERE agent_id = ? AND provider = ? AND model = ? AND message_ts_ms >= ?
        ORDER BY message_ts_ms DESC, usage_event_id DESC LIMIT ${HEADROOM_SAMPLE_CALLS}`,
    )
    .pluck();

  return {
    /**
     * Samples usage rows newer than the cursor (at most `limit` rows read): those charged > 0 and
     * made at or after `sinceMs` (older ones could never count again). Only each model's newest
     * {@link HEADROOM_SAMPLE_CALLS} of the batch are written, then each touched model is trimmed
     * to its newest {@link HEADROOM_SAMPLE_CALLS}, and the cursor advances past every row read.
     * Run it inside the caller's write transaction (the limit check's): cursor and samples move
     * together, and a replay inserts nothing twice. Returns the rows read (0 when up to date).
     */
    ingest(sinceMs: number, limit = HEADROOM_INGEST_BATCH): number {
      const from = cursor.get()?.c ?? 0;
      const rows = newRows.all(from, limit);
      if (rows.length === 0) return 0;
      const byModel = new Map<string, typeof rows>();
      for (const r of rows) {
        if (r.charge <= 0 || r.ts < sinceMs) continue;
        const key = JSON.stringify([r.agent_id, r.provider, r.model]);
        const list = byModel.get(key);
        if (list) list.push(r);
        else byModel.set(key, [r]);
      }
      for (const list of byModel.values()) {
        list.sort((a, b) => b.ts - a.ts || b.id - a.id);
        for (const r of list.slice(0, HEADROOM_SAMPLE_CALLS))
          insert.run(r.agent_id, r.provider, r.model, r.ts, r.id, r.charge);
        const m = list[0];
        if (m) trim.run(m.agent_id, m.provider, m.model, m.agent_id, m.provider, m.model);
      }
      setCursor.run(rows[rows.length - 1]?.id ?? from);
      return rows.length;
    },
    /** The agent, provider and model of the account's most recent call (by call time), or null. */
    latestModel(accountId: string): CallModel | null {
      const r = latest.get(accountId);
      return r ? { agentId: r.agent_id, provider: r.provider, model: r.model } : null;
    },
    /** Charges (micro-credits) of the model's newest sampled calls made at or after `sinceMs`, newest first. */
    recentCharges(m: CallModel, sinceMs: number): number[] {
      return charges.all(m.agentId, m.provider, m.model, sinceMs);
    },
    /** The newest usage_events id sampled so far (0 before the first). */
    cursor(): number {
      return cursor.get()?.c ?? 0;
    },
  };
}
export type SamplesRepo = ReturnType<typeof createSamplesRepo>;
