import { assertAccountId } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import {
  type BlockReason,
  type Decision,
  decide,
  type EffectiveLimits,
  effectiveLimits,
  type LimitRules,
  limitRulesSchema,
  type WindowUse,
  type WorkerSettings,
} from "./limits.js";
import { type AlertFacts, type AlertKind, renderAlert, USER_NOTICE_KINDS } from "./templates.js";
import { windowAt } from "./windows.js";

/** What `GET /v1/users/:id/status` and the plugin read. */
export interface UserStatus {
  accountId: string;
  allowed: boolean;
  reason: BlockReason | null;
  liftsAtMs: number | null;
  balanceMicroCredits: number;
  windows: WindowUse[];
  updatedAtMs: number;
}

export interface Evaluation extends Decision {
  balanceMicroCredits: number;
  limits: EffectiveLimits;
  windows: WindowUse[];
}

export interface CheckResult {
  status: UserStatus;
  /** Alerts created by this check (already-fired ones are not repeated). */
  alerts: { id: number; kind: AlertKind; threshold: string }[];
}

export interface Notice {
  id: number;
  userId: string;
  channel: string;
  to: string;
  accountId: string;
  kind: AlertKind;
  text: string;
  createdAt: string;
}

export interface AlertRow {
  id: number;
  accountId: string;
  kind: AlertKind;
  threshold: string;
  windowKey: string;
  payload: AlertFacts;
  createdAtMs: number;
  webhookState: "none" | "pending" | "queued" | "delivered" | "dead";
  webhookAttempts: number;
  webhookError: string | null;
}

/** Receipts are only announced for entries this recent (a first run never replays old history). */
const RECEIPT_MAX_AGE_MS = 24 * 3600_000;
const DEFAULTS_SUBJECT = "*";

interface StatusRow {
  account_id: string;
  allowed: number;
  reason: string | null;
  block_key: string | null;
  lifts_at_ms: number | null;
  balance_micro_credits: number;
  windows: string;
  next_reset_at_ms: number | null;
  last_entry_id: number;
  fund_entry_id: number;
  fund_micro_credits: number;
  updated_at_ms: number;
}

/** `telegram:123` → channel `telegram`, recipient `123` (the id the plugin delivers to). */
export function splitAccountId(accountId: string): { channel: string; to: string } {
  const i = accountId.indexOf(":");
  return i > 0
    ? { channel: accountId.slice(0, i), to: accountId.slice(i + 1) }
    : { channel: "unknown", to: accountId };
}

/**
 * Limits, status and alerts in SQLite. Every method is synchronous; `check` runs in one
 * IMMEDIATE transaction, so concurrent checks (several workers) serialize and each sees the
 * previous one's status: transitions and alert keys stay exact. Alerts are unique on
 * (account, kind, threshold, window): a repeat insert is a no-op, so replays never re-alert.
 */
export function createEnforcer(db: Db, settings: WorkerSettings) {
  const q = {
    balance: db.prepare<[string], { b: number }>(
      "SELECT balance_micro_credits AS b FROM accounts WHERE id = ?",
    ),
    rules: db.prepare<[string], { rules: string }>("SELECT rules FROM account_limits WHERE subject = ?"),
    putRules: db.prepare<[string, string, number]>(
      `INSERT INTO account_limits (subject, rules, updated_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (subject) DO UPDATE SET rules = excluded.rules, updated_at_ms = excluded.updated_at_ms`,
    ),
    deleteRules: db.prepare<[string]>("DELETE FROM account_limits WHERE subject = ?"),
    spend: db.prepare<[string, number, number], { s: number | null }>(
      `SELECT SUM(charge_micro_credits) AS s FROM usage_events
        WHERE account_id = ? AND message_ts_ms >= ? AND message_ts_ms < ?`,
    ),
    block: db.prepare<[string], { reason: string; blocked_at_ms: number }>(
      "SELECT reason, blocked_at_ms FROM operator_blocks WHERE account_id = ?",
    ),
    putBlock: db.prepare<[string, string, number]>(
      `INSERT INTO operator_blocks (account_id, reason, blocked_at_ms) VALUES (?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET reason = excluded.reason`,
    ),
    deleteBlock: db.prepare<[string]>("DELETE FROM operator_blocks WHERE account_id = ?"),
    status: db.prepare<[string], StatusRow>("SELECT * FROM user_status WHERE account_id = ?"),
    putStatus: db.prepare(
      `INSERT INTO user_status (account_id, allowed, reason, block_key, lifts_at_ms, balance_micro_credits,
         windows, next_reset_at_ms, last_entry_id, fund_entry_id, fund_micro_credits, updated_at_ms)
       VALUES (@accountId, @allowed, @reason, @blockKey, @liftsAtMs, @balance, @windows, @nextResetAtMs,
         @lastEntryId, @fundEntryId, @fundMicro, @nowMs)
       ON CONFLICT (account_id) DO UPDATE SET allowed = excluded.allowed, reason = excluded.reason,
         block_key = excluded.block_key, lifts_at_ms = excluded.lifts_at_ms,
         balance_micro_credits = excluded.balance_micro_credits, windows = excluded.windows,
         next_reset_at_ms = excluded.next_reset_at_ms, last_entry_id = excluded.last_entry_id,
         fund_entry_id = excluded.fund_entry_id, fund_micro_credits = excluded.fund_micro_credits,
         updated_at_ms = excluded.updated_at_ms`,
    ),
    newEntries: db.prepare<
      [string, number],
      { id: number; kind: string; amount: number; created_at_ms: number }
    >(
      `SELECT id, kind, amount_micro_credits AS amount, created_at_ms FROM ledger_entries
        WHERE account_id = ? AND id > ? AND (amount_micro_credits > 0 OR kind = 'reversal') ORDER BY id`,
    ),
    maxEntry: db.prepare<[string], { m: number | null }>(
      "SELECT MAX(id) AS m FROM ledger_entries WHERE account_id = ?",
    ),
    insertAlert: db.prepare<[string, string, string, string, string, number, string]>(
      `INSERT INTO alerts (account_id, kind, threshold, window_key, payload, created_at_ms, webhook_state)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ),
    insertNotice: db.prepare<[number, string, string, string, string, string, number]>(
      `INSERT INTO notices (alert_id, account_id, channel, recipient, kind, text, created_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING`,
    ),
    notices: db.prepare<[number], Record<string, unknown>>(
      "SELECT * FROM notices WHERE acked_at_ms IS NULL ORDER BY id LIMIT ?",
    ),
    ack: db.prepare<[number, number]>(
      "UPDATE notices SET acked_at_ms = ? WHERE id = ? AND acked_at_ms IS NULL",
    ),
    noticeExists: db.prepare<[number], { id: number }>("SELECT id FROM notices WHERE id = ?"),
    alerts: db.prepare<[string, string, number], Record<string, unknown>>(
      `SELECT * FROM alerts WHERE (? = '' OR webhook_state = ?) ORDER BY id DESC LIMIT ?`,
    ),
    alert: db.prepare<[number], Record<string, unknown>>("SELECT * FROM alerts WHERE id = ?"),
    due: db.prepare<[number, number], { account_id: string }>(
      "SELECT account_id FROM user_status WHERE next_reset_at_ms <= ? ORDER BY next_reset_at_ms LIMIT ?",
    ),
    enqueue: db.prepare<[string, number]>(
      `INSERT INTO limit_outbox (account_id, seq, updated_at_ms) VALUES (?, 1, ?)
       ON CONFLICT (account_id) DO UPDATE SET seq = seq + 1, updated_at_ms = excluded.updated_at_ms`,
    ),
  };

  function readRules(subject: string): LimitRules | null {
    const r = q.rules.get(subject);
    return r ? limitRulesSchema.parse(JSON.parse(r.rules)) : null;
  }

  function limitsOf(accountId: string): EffectiveLimits {
    return effectiveLimits(readRules(DEFAULTS_SUBJECT), readRules(accountId), settings);
  }

  function evaluateWith(accountId: string, nowMs: number, fundEntryId: number): Evaluation {
    const balanceMicroCredits = q.balance.get(accountId)?.b ?? 0;
    const limits = limitsOf(accountId);
    const windows: WindowUse[] = limits.caps.map((cap) => {
      const w = windowAt(cap.period, nowMs, settings.timezone);
      return {
        ...w,
        kind: cap.kind,
        capMicroCredits: cap.capMicroCredits,
        spentMicroCredits: q.spend.get(accountId, w.startMs, w.endMs)?.s ?? 0,
      };
    });
    const b = q.block.get(accountId);
    const decision = decide({
      balanceMicroCredits,
      floorMicroCredits: limits.floorMicroCredits,
      windows,
      operatorBlock: b ? { blockedAtMs: b.blocked_at_ms } : null,
      fundEntryId,
    });
    return { ...decision, balanceMicroCredits, limits, windows };
  }

  function toStatus(accountId: string, e: Evaluation, nowMs: number): UserStatus {
    return {
      accountId,
      allowed: e.allowed,
      reason: e.reason,
      liftsAtMs: e.liftsAtMs,
      balanceMicroCredits: e.balanceMicroCredits,
      windows: e.windows,
      updatedAtMs: nowMs,
    };
  }

  function checkInTx(accountId: string, nowMs: number): CheckResult {
    const prev = q.status.get(accountId);
    const created: CheckResult["alerts"] = [];

    // Ledger entries since the last check: the funding episode and the receipts to announce.
    let fundEntryId = prev?.fund_entry_id ?? 0;
    let fundMicro = prev?.fund_micro_credits ?? 0;
    const receipts: { id: number; kind: string; amount: number }[] = [];
    for (const e of q.newEntries.all(accountId, prev?.last_entry_id ?? 0)) {
      if (e.amount > 0 && e.kind !== "usage") {
        fundEntryId = e.id;
        fundMicro = e.amount;
      }
      if (e.created_at_ms >= nowMs - RECEIPT_MAX_AGE_MS) receipts.push(e);
    }
    const lastEntryId = q.maxEntry.get(accountId)?.m ?? 0;

    const ev = evaluateWith(accountId, nowMs, fundEntryId);
    const lang = ev.limits.language;
    const bal = ev.balanceMicroCredits;
    const { channel, to } = splitAccountId(accountId);
    const notify = !accountId.startsWith("agent:");

    const raise = (kind: AlertKind, threshold: string, windowKey: string, facts: AlertFacts) => {
      const payload = JSON.stringify(facts);
      const info = q.insertAlert.run(
        accountId,
        kind,
        threshold,
        windowKey,
        payload,
        nowMs,
        settings.webhookEnabled ? "pending" : "none",
      );
      if (info.changes === 0) return;
      const id = Number(info.lastInsertRowid);
      created.push({ id, kind, threshold });
      if (notify && USER_NOTICE_KINDS.has(kind)) {
        q.insertNotice.run(id, accountId, channel, to, kind, renderAlert(kind, facts, lang), nowMs);
      }
    };

    for (const r of receipts) {
      if (r.kind === "topup") {
        raise("topup_received", "", `entry:${r.id}`, {
          amountMicroCredits: r.amount,
          balanceMicroCredits: bal,
        });
      } else if (r.kind === "reversal" && r.amount < 0) {
        raise("payment_reversed", "", `entry:${r.id}`, {
          amountMicroCredits: -r.amount,
          balanceMicroCredits: bal,
        });
      }
    }

    // Low balance and depleted: once per funding episode (a new credit starts a new one). A user
    // who was never funded hears "blocked" instead.
    if (fundEntryId > 0) {
      const pctLevel = Math.floor((fundMicro * settings.lowBalancePct) / 100);
      const lowLevel = Math.max(ev.limits.lowBalanceMicroCredits, pctLevel);
      const facts = { balanceMicroCredits: bal, topupUrl: settings.topupUrl };
      if (bal <= lowLevel) raise("low_balance", "", `fund:${fundEntryId}`, facts);
      if (bal <= 0) raise("depleted", "", `fund:${fundEntryId}`, facts);
    }

    // Every threshold reached in the window, even when one debit jumps over several.
    for (const w of ev.windows) {
      for (const pct of settings.capThresholdsPct) {
        if (w.spentMicroCredits * 100 < w.capMicroCredits * pct) continue;
        raise("cap_threshold", `${w.period}/${w.kind}/${pct}`, w.key, {
          period: w.period,
          capKind: w.kind,
          pct,
          capMicroCredits: w.capMicroCredits,
          spentMicroCredits: w.spentMicroCredits,
        });
      }
    }

    if (!ev.allowed && ev.reason && ev.blockKey) {
      raise("blocked", ev.reason, ev.blockKey, {
        reason: ev.reason,
        liftsAtMs: ev.liftsAtMs,
        balanceMicroCredits: bal,
        topupUrl: settings.topupUrl,
        operatorReason: ev.reason === "operator" ? (q.block.get(accountId)?.reason ?? null) : null,
      });
    }
    if (ev.allowed && prev && prev.allowed === 0) {
      raise("unblocked", prev.reason ?? "", prev.block_key ?? "", {
        reason: prev.reason,
        balanceMicroCredits: bal,
      });
    }

    const ends = ev.windows.map((w) => w.endMs);
    q.putStatus.run({
      accountId,
      allowed: ev.allowed ? 1 : 0,
      reason: ev.reason,
      blockKey: ev.blockKey,
      liftsAtMs: ev.liftsAtMs,
      balance: bal,
      windows: JSON.stringify(ev.windows),
      nextResetAtMs: ends.length > 0 ? Math.min(...ends) : null,
      lastEntryId,
      fundEntryId,
      fundMicro,
      nowMs,
    });
    return { status: toStatus(accountId, ev, nowMs), alerts: created };
  }

  const checkTx = db.transaction(checkInTx);

  function check(accountId: string, nowMs: number): CheckResult {
    return db.inTransaction ? checkInTx(accountId, nowMs) : checkTx.immediate(accountId, nowMs);
  }

  function rowToStatus(r: StatusRow): UserStatus {
    return {
      accountId: r.account_id,
      allowed: r.allowed === 1,
      reason: r.reason as BlockReason | null,
      liftsAtMs: r.lifts_at_ms,
      balanceMicroCredits: r.balance_micro_credits,
      windows: JSON.parse(r.windows) as WindowUse[],
      updatedAtMs: r.updated_at_ms,
    };
  }

  function rowToAlert(r: Record<string, unknown>): AlertRow {
    return {
      id: r.id as number,
      accountId: r.account_id as string,
      kind: r.kind as AlertKind,
      threshold: r.threshold as string,
      windowKey: r.window_key as string,
      payload: JSON.parse(r.payload as string) as AlertFacts,
      createdAtMs: r.created_at_ms as number,
      webhookState: r.webhook_state as AlertRow["webhookState"],
      webhookAttempts: r.webhook_attempts as number,
      webhookError: (r.webhook_error as string | null) ?? null,
    };
  }

  const setRulesTx = db.transaction((subject: string, rules: LimitRules | null, nowMs: number) => {
    if (rules) q.putRules.run(subject, JSON.stringify(rules), nowMs);
    else q.deleteRules.run(subject);
    if (subject !== DEFAULTS_SUBJECT) return check(subject, nowMs);
    // New defaults: every known user is re-checked by the worker (through the outbox).
    db.prepare(
      `INSERT INTO limit_outbox (account_id, seq, updated_at_ms) SELECT account_id, 1, ? FROM user_status WHERE true
       ON CONFLICT (account_id) DO UPDATE SET seq = seq + 1, updated_at_ms = excluded.updated_at_ms`,
    ).run(nowMs);
    return null;
  });

  const blockTx = db.transaction((accountId: string, reason: string | null, nowMs: number) => {
    if (reason === null) q.deleteBlock.run(accountId);
    else q.putBlock.run(accountId, reason, nowMs);
    return check(accountId, nowMs);
  });

  function subjectOf(id: string): string {
    if (id !== DEFAULTS_SUBJECT) assertAccountId(id);
    return id;
  }

  return {
    settings,
    /** Recomputes one account's status and raises what it newly crossed. Idempotent. */
    check,
    /** Read-only evaluation (nothing stored): for accounts never checked yet or stale windows. */
    evaluate(accountId: string, nowMs: number): UserStatus {
      const prev = q.status.get(accountId);
      return toStatus(accountId, evaluateWith(accountId, nowMs, prev?.fund_entry_id ?? 0), nowMs);
    },
    /**
     * The stored status: one primary-key read. Falls back to a read-only evaluation when the
     * account was never checked or a window has rolled over since (the rollover scan will store it).
     */
    status(accountId: string, nowMs: number): UserStatus {
      const r = q.status.get(accountId);
      if (!r || (r.next_reset_at_ms !== null && r.next_reset_at_ms <= nowMs)) {
        return toStatus(accountId, evaluateWith(accountId, nowMs, r?.fund_entry_id ?? 0), nowMs);
      }
      return rowToStatus(r);
    },
    /** The stored row only (no fallback), or null. */
    storedStatus(accountId: string): UserStatus | null {
      const r = q.status.get(accountId);
      return r ? rowToStatus(r) : null;
    },
    limits(accountId: string): {
      user: LimitRules | null;
      defaults: LimitRules | null;
      effective: EffectiveLimits;
    } {
      return {
        user: accountId === DEFAULTS_SUBJECT ? null : readRules(subjectOf(accountId)),
        defaults: readRules(DEFAULTS_SUBJECT),
        effective: limitsOf(accountId),
      };
    },
    /** Replaces a subject's rules (`*` = defaults; null removes them) and re-checks at once. */
    setLimits(subject: string, rules: LimitRules | null, nowMs: number): CheckResult | null {
      const parsed = rules === null ? null : limitRulesSchema.parse(rules);
      return setRulesTx.immediate(subjectOf(subject), parsed, nowMs);
    },
    block(accountId: string, reason: string, nowMs: number): CheckResult {
      if (reason.trim() === "") throw new AppError(ErrorCode.InvalidRequest, "reason: must not be empty");
      return blockTx.immediate(subjectOf(accountId), reason.trim(), nowMs);
    },
    unblock(accountId: string, nowMs: number): CheckResult {
      return blockTx.immediate(subjectOf(accountId), null, nowMs);
    },
    operatorBlock(accountId: string): { reason: string; blockedAtMs: number } | null {
      const b = q.block.get(accountId);
      return b ? { reason: b.reason, blockedAtMs: b.blocked_at_ms } : null;
    },
    /** Asks the worker to re-check an account (through the outbox, in the caller's transaction). */
    enqueueCheck(accountId: string, nowMs: number): void {
      q.enqueue.run(accountId, nowMs);
    },
    /** Records an alert outside a status check (spend spikes); false when it already fired. */
    raise(
      accountId: string,
      kind: AlertKind,
      threshold: string,
      windowKey: string,
      facts: AlertFacts,
      nowMs: number,
    ) {
      const info = q.insertAlert.run(
        accountId,
        kind,
        threshold,
        windowKey,
        JSON.stringify(facts),
        nowMs,
        settings.webhookEnabled ? "pending" : "none",
      );
      return info.changes > 0;
    },
    /** Accounts whose stored status has a window that ended by `nowMs` (caps lift, spends reset). */
    dueForRollover(nowMs: number, limit: number): string[] {
      return q.due.all(nowMs, limit).map((r) => r.account_id);
    },
    notices(limit: number): Notice[] {
      return q.notices.all(limit).map((r) => ({
        id: r.id as number,
        userId: r.account_id as string,
        channel: r.channel as string,
        to: r.recipient as string,
        accountId: r.account_id as string,
        kind: r.kind as AlertKind,
        text: r.text as string,
        createdAt: new Date(r.created_at_ms as number).toISOString(),
      }));
    },
    /** Marks a notice delivered; acking twice is fine. False when the id does not exist. */
    ack(id: number, nowMs: number): boolean {
      q.ack.run(nowMs, id);
      return q.noticeExists.get(id) !== undefined;
    },
    alerts(opts: { state?: AlertRow["webhookState"]; limit?: number } = {}): AlertRow[] {
      return q.alerts.all(opts.state ?? "", opts.state ?? "", opts.limit ?? 100).map(rowToAlert);
    },
    alert(id: number): AlertRow | null {
      const r = q.alert.get(id);
      return r ? rowToAlert(r) : null;
    },
  };
}

export type Enforcer = ReturnType<typeof createEnforcer>;
