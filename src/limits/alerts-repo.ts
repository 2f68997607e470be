import { z } from "zod";
import type { Db } from "../db/index.js";
import type { AlertFacts, AlertKind } from "./templates.js";

/** Webhook delivery state of an alert: `none` when no operator webhook was configured at raise time. */
export type WebhookState = (typeof WEBHOOK_STATES)[number];

export interface AlertRow {
  id: number;
  accountId: string;
  kind: AlertKind;
  threshold: string;
  windowKey: string;
  payload: AlertFacts;
  createdAtMs: number;
  webhookState: WebhookState;
  webhookAttempts: number;
  webhookError: string | null;
}

export const WEBHOOK_STATES = ["none", "pending", "queued", "delivered", "dead"] as const;

const optInt = z.number().int().optional();
/** {@link AlertFacts}: amounts in micro-credits, times epoch ms; each fact only where the kind has it. */
const alertFactsSchema = z.object({
  balanceMicroCredits: optInt,
  headroomMicroCredits: optInt,
  amountMicroCredits: optInt,
  period: z.string().optional(),
  capKind: z.string().optional(),
  pct: z.number().optional(),
  capMicroCredits: optInt,
  spentMicroCredits: optInt,
  reason: z.string().nullable().optional(),
  liftsAtMs: z.number().int().nullable().optional(),
  lastHourMicroCredits: z.number().optional(),
  avgHourMicroCredits: z.number().optional(),
  topupUrl: z.string().nullable().optional(),
  operatorReason: z.string().nullable().optional(),
  provider: z.string().optional(),
  currency: z.string().optional(),
  providerBalanceMicro: optInt,
  thresholdMicro: optInt,
  runwayHours: z.number().nullable().optional(),
  runsOutAtMs: z.number().int().nullable().optional(),
  thresholdHours: z.number().optional(),
  lastHourMicro: optInt,
  avgHourMicro: optInt,
  day: z.string().optional(),
  providerMicro: optInt,
  meteredMicro: optInt,
  driftPct: z.number().nullable().optional(),
  causes: z.array(z.string()).optional(),
  budget: z.string().optional(),
  budgetUsd: z.string().optional(),
  spentUsd: z.string().optional(),
});

/**
 * {@link AlertRow} as the API answers it (`GET /v1/alerts`): `payload` is the alert's facts
 * (amounts in micro-credits, times in epoch ms), kept as stored.
 */
export const alertRowSchema = z.object({
  id: z.number().int(),
  accountId: z.string(),
  kind: z.string(),
  threshold: z.string(),
  windowKey: z.string(),
  payload: alertFactsSchema,
  createdAtMs: z.number().int(),
  webhookState: z.enum(WEBHOOK_STATES),
  webhookAttempts: z.number().int(),
  webhookError: z.string().nullable(),
});

interface AlertDbRow {
  id: number;
  account_id: string;
  kind: string;
  threshold: string;
  window_key: string;
  payload: string;
  created_at_ms: number;
  webhook_state: string;
  webhook_attempts: number;
  webhook_error: string | null;
}

function fromRow(r: AlertDbRow): AlertRow {
  return {
    id: r.id,
    accountId: r.account_id,
    kind: r.kind as AlertKind,
    threshold: r.threshold,
    windowKey: r.window_key,
    payload: JSON.parse(r.payload) as AlertFacts,
    createdAtMs: r.created_at_ms,
    webhookState: r.webhook_state as WebhookState,
    webhookAttempts: r.webhook_attempts,
    webhookError: r.webhook_error ?? null,
  };
}

/**
 * `alerts`: unique on (account, kind, threshold, window), so a repeat insert is a no-op and
 * replays never re-alert.
 */
export function createAlertsRepo(db: Db) {
  const insert = db.prepare<[string, string, string, string, string, number, string]>(
    `INSERT INTO alerts (account_id, kind, threshold, window_key, payload, created_at_ms, webhook_state)
     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const list = db.prepare<[string, string, number], AlertDbRow>(
    `SELECT id, account_id, kind, threshold, window_key, payload, created_at_ms, webhook_state, webhook_attempts, webhook_error
       FROM alerts WHERE (? = '' OR webhook_state = ?) ORDER BY id DESC LIMIT ?`,
  );
  const one = db.prepare<[number], AlertDbRow>(
    `SELECT id, account_id, kind, threshold, window_key, payload, created_at_ms, webhook_state, webhook_attempts, webhook_error FROM alerts WHERE id = ?`,
  );
  const told = db.prepare<[string, string, string, string], { payload: string }>(
    "SELECT payload FROM alerts WHERE account_id = ? AND kind = ? AND threshold = ? AND window_key = ?",
  );
  const windowKeys = db.prepare<[string, string], { w: string }>(
    "SELECT window_key AS w FROM alerts WHERE account_id = ? AND kind = ?",
  );
  const mark = db.prepare<[string, number, string | null, number, number]>(
    `UPDATE alerts SET webhook_state = ?, webhook_attempts = ?, webhook_error = ?, webhook_updated_at_ms = ?
      WHERE id = ? AND webhook_state <> 'delivered'`,
  );
  return {
    /**
     * Records one alert; its id, or null when that (account, kind, threshold, window) already
     * fired. `webhook` true: queued for the operator webhook (state `pending`), else `none`.
     */
    insert(a: {
      accountId: string;
      kind: AlertKind;
      threshold: string;
      windowKey: string;
      facts: AlertFacts;
      nowMs: number;
      webhook: boolean;
    }): number | null {
      const info = insert.run(
        a.accountId,
        a.kind,
        a.threshold,
        a.windowKey,
        JSON.stringify(a.facts),
        a.nowMs,
        a.webhook ? "pending" : "none",
      );
      return info.changes === 0 ? null : Number(info.lastInsertRowid);
    },
    /** The facts of the alert raised for (account, kind, threshold, window); null when none was. */
    facts(accountId: string, kind: AlertKind, threshold: string, windowKey: string): AlertFacts | null {
      const r = told.get(accountId, kind, threshold, windowKey);
      return r ? (JSON.parse(r.payload) as AlertFacts) : null;
    },
    /** The window keys of every alert of `kind` raised for `accountId` (any threshold). */
    windowKeys(accountId: string, kind: AlertKind): string[] {
      return windowKeys.all(accountId, kind).map((r) => r.w);
    },
    /** Newest first; `state` filters by webhook state; `limit` @defaultValue 100 */
    list(opts: { state?: WebhookState; limit?: number } = {}): AlertRow[] {
      return list.all(opts.state ?? "", opts.state ?? "", opts.limit ?? 100).map(fromRow);
    },
    get(id: number): AlertRow | null {
      const r = one.get(id);
      return r ? fromRow(r) : null;
    },
    /** Records a delivery attempt's outcome; never moves an alert out of `delivered`. */
    markDelivery(
      id: number,
      state: WebhookState,
      attempts: number,
      error: string | null,
      nowMs: number,
    ): void {
      mark.run(state, attempts, error, nowMs, id);
    },
  };
}
export type AlertsRepo = ReturnType<typeof createAlertsRepo>;
