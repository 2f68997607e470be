import { assertAccountId } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { createAlertsRepo, type WebhookState } from "./alerts-repo.js";
import { createBlocksRepo, type OperatorBlock } from "./blocks-repo.js";
import { type BudgetBlockRow, createBudgetBlocksRepo } from "./budget-blocks-repo.js";
import { type Decision, decide, type WindowUse } from "./decide.js";
import { HEADROOM_SAMPLE_WINDOW_MS, type Headroom, resolveHeadroom } from "./headroom.js";
import { createNoticesRepo, type Notice } from "./notices-repo.js";
import {
  capOrderProblem,
  type EffectiveLimits,
  effectiveCaps,
  effectiveLimits,
  inheritedNote,
  type LimitRules,
  limitRulesSchema,
} from "./rules.js";
import { createRulesRepo, DEFAULTS_SUBJECT } from "./rules-repo.js";
import { createSamplesRepo } from "./samples-repo.js";
import type { WorkerSettings } from "./settings.js";
import { createSpendRepo } from "./spend-repo.js";
import { createStatusRepo, type StoredStatus, type UserStatus } from "./status-repo.js";
import { type AlertFacts, type AlertKind, renderAlert, USER_NOTICE_KINDS } from "./templates.js";
import { capThresholdsReached, followFunding, lowBalanceLevelMicroCredits } from "./thresholds.js";
import { type Period, windowAt } from "./windows.js";

/** The CLI's flag word of each window (`--daily`), as the refusals name them. */
const PERIOD_NAME: Record<Period, string> = { day: "daily", week: "weekly", month: "monthly" };

export interface Evaluation extends Decision {
  balanceMicroCredits: number;
  headroom: Headroom;
  limits: EffectiveLimits;
  windows: WindowUse[];
}

export interface CheckResult {
  status: UserStatus;
  /** Alerts created by this check (already-fired ones are not repeated). */
  alerts: { id: number; kind: AlertKind; threshold: string }[];
}

/**
 * Limits, status and alerts in SQLite: the repositories composed with `decide` and the thresholds.
 * Every method is synchronous; `check` runs in one IMMEDIATE transaction, so concurrent checks
 * (several workers) serialize and each sees the previous one's status: transitions and alert keys
 * stay exact. Alerts are unique on (account, kind, threshold, window): a repeat insert is a no-op,
 * so replays never re-alert. Each check first samples the call charges billed since the last one
 * (the headroom estimate's input, see `headroom.ts`), in the same transaction.
 */
/** The block reasons a top-up lifts (the funding episode's). */
const isMoneyReason = (r: string | null | undefined) =>
  r === "insufficient_balance" || r === "insufficient_headroom";

export function createEnforcer(db: Db, settings: WorkerSettings) {
  const rulesRepo = createRulesRepo(db);
  const blocks = createBlocksRepo(db);
  const spend = createSpendRepo(db);
  const statuses = createStatusRepo(db);
  const alertsRepo = createAlertsRepo(db);
  const noticesRepo = createNoticesRepo(db);
  const samples = createSamplesRepo(db);
  const budgetBlocks = createBudgetBlocksRepo(db);

  function limitsOf(accountId: string): EffectiveLimits {
    const defaults = rulesRepo.get(DEFAULTS_SUBJECT);
    // the same object for `*`, which inherits nothing from itself (effectiveCaps)
    return effectiveLimits(
      defaults,
      accountId === DEFAULTS_SUBJECT ? defaults : rulesRepo.get(accountId),
      settings,
    );
  }

  function evaluateWith(
    accountId: string,
    nowMs: number,
    fundEntryId: number,
    budgets: readonly BudgetBlockRow[] = [],
  ): Evaluation {
    const balanceMicroCredits = spend.balanceMicroCredits(accountId);
    const limits = limitsOf(accountId);
    const model = limits.headroom.mode === "p95" ? samples.latestModel(accountId) : null;
    const headroom = resolveHeadroom(
      limits.headroom,
      model,
      model ? samples.recentCharges(model, nowMs - HEADROOM_SAMPLE_WINDOW_MS) : [],
    );
    const windows: WindowUse[] = limits.caps.map((cap) => {
      const w = windowAt(cap.period, nowMs, settings.timezone);
      return {
        ...w,
        kind: cap.kind,
        capMicroCredits: cap.capMicroCredits,
        spentMicroCredits: spend.spentMicroCredits(accountId, w.startMs, w.endMs),
      };
    });
    const b = blocks.get(accountId);
    const decision = decide({
      balanceMicroCredits,
      floorMicroCredits: limits.floorMicroCredits,
      headroomMicroCredits: headroom.microCredits,
      windows,
      operatorBlock: b ? { blockedAtMs: b.blockedAtMs } : null,
      budgetBlocks: budgets,
      fundEntryId,
    });
    return { ...decision, balanceMicroCredits, headroom, limits, windows };
  }

  function toStatus(accountId: string, e: Evaluation, nowMs: number): UserStatus {
    return {
      accountId,
      allowed: e.allowed,
      reason: e.reason,
      liftsAtMs: e.liftsAtMs,
      balanceMicroCredits: e.balanceMicroCredits,
      headroom: e.headroom,
      windows: e.windows,
      updatedAtMs: nowMs,
    };
  }

  function insertAlert(
    accountId: string,
    kind: AlertKind,
    threshold: string,
    windowKey: string,
    facts: AlertFacts,
    nowMs: number,
  ): number | null {
    return alertsRepo.insert({
      accountId,
      kind,
      threshold,
      windowKey,
      facts,
      nowMs,
      webhook: settings.webhookEnabled,
    });
  }

  /**
   * The block episode a `blocked` / `unblocked` alert is raised once for: the block key `decide`
   * gives (`fund:<entry>`, `day:2026-03-10`, ...), or, when that key was already blocked and
   * lifted (a cap or floor changed in the same window or funding episode, then reached again),
   * the key with `#<n>` after it, n one more than any episode of it so far. A block that goes on
   * keeps its stored key. Before, the key alone named the episode: a user unblocked by a raised
   * daily cap (told "you can write again") and blocked again that day by the new cap was never
   * told, nor told the second unblock.
   */
  function blockEpisodeKey(accountId: string, key: string | null, prev: StoredStatus | null): string | null {
    if (key === null) return null;
    const episodeOf = (k: string) => {
      const at = k.lastIndexOf("#");
      return at > 0 && k.slice(0, at) === key && /^\d+$/.test(k.slice(at + 1))
        ? Number(k.slice(at + 1))
        : k === key
          ? 1
          : 0;
    };
    if (prev && !prev.status.allowed && prev.blockKey && episodeOf(prev.blockKey) > 0) return prev.blockKey;
    let last = 0;
    for (const k of alertsRepo.windowKeys(accountId, "blocked")) last = Math.max(last, episodeOf(k));
    return last === 0 ? key : `${key}#${last + 1}`;
  }

  /**
   * The evaluation with the funding episode followed over the ledger entries since the stored
   * check, and the low-balance level that episode gives: what a check decides and alerts on, and
   * what `/consumo` must say (its `lowBalance` used the absolute level alone before 2026-12-04,
   * so a user told "your balance is low" at 20 % of their top-up was shown no warning there: case
   * `test/cases/consumo-low-balance-percent-level`). Read-only.
   */
  function fundedEvaluation(accountId: string, nowMs: number, prev: StoredStatus | null) {
    // Ledger entries since the last check: the funding episode and the receipts to announce.
    let { fundEntryId, fundMicroCredits, receipts } = followFunding(
      { fundEntryId: prev?.fundEntryId ?? 0, fundMicroCredits: prev?.fundMicroCredits ?? 0 },
      spend.entriesSince(accountId, prev?.lastEntryId ?? 0),
      nowMs,
    );
    let ev = evaluateWith(accountId, nowMs, fundEntryId);
    // A credit that leaves a user blocked for money (a partial top-up, an operator's refund of one
    // call or a 1-micro-credit adjustment on a balance in debt) does not end the episode: the user
    // was told "depleted" and "blocked" and still is. Before, every such credit began a new
    // funding episode and the user was told low balance, depleted and blocked all over again
    // (case test/cases/credit-while-blocked-retold). A credit that lifts the block starts one.
    if (
      prev &&
      prev.fundEntryId > 0 &&
      fundEntryId !== prev.fundEntryId &&
      !prev.status.allowed &&
      isMoneyReason(prev.status.reason) &&
      !ev.allowed &&
      isMoneyReason(ev.reason)
    ) {
      fundEntryId = prev.fundEntryId;
      fundMicroCredits = prev.fundMicroCredits;
      ev = evaluateWith(accountId, nowMs, fundEntryId);
    }
    const lowLevelMicroCredits = lowBalanceLevelMicroCredits(
      ev.limits.lowBalanceMicroCredits,
      fundMicroCredits,
      settings.lowBalancePct,
    );
    return { ev, fundEntryId, fundMicroCredits, receipts, lowLevelMicroCredits };
  }

  function checkInTx(accountId: string, nowMs: number): CheckResult {
    samples.ingest(nowMs - HEADROOM_SAMPLE_WINDOW_MS);
    const prev = statuses.get(accountId);
    const created: CheckResult["alerts"] = [];
    const lastEntryId = spend.lastEntryId(accountId);
    const { ev, fundEntryId, fundMicroCredits, receipts, lowLevelMicroCredits } = fundedEvaluation(
      accountId,
      nowMs,
      prev,
    );
    const lang = ev.limits.language;
    const bal = ev.balanceMicroCredits;
    const notify = !accountId.startsWith("agent:");

    const raise = (kind: AlertKind, threshold: string, windowKey: string, facts: AlertFacts) => {
      const id = insertAlert(accountId, kind, threshold, windowKey, facts, nowMs);
      if (id === null) return;
      created.push({ id, kind, threshold });
      if (notify && USER_NOTICE_KINDS.has(kind)) {
        noticesRepo.insert(id, accountId, kind, renderAlert(kind, facts, lang, settings.timezone), nowMs);
      }
    };

    for (const r of receipts) {
      if (r.kind === "topup") {
        raise("topup_received", "", `entry:${r.id}`, {
          amountMicroCredits: r.amountMicroCredits,
          balanceMicroCredits: bal,
        });
      } else if (r.kind === "reversal" && r.amountMicroCredits < 0) {
        raise("payment_reversed", "", `entry:${r.id}`, {
          amountMicroCredits: -r.amountMicroCredits,
          balanceMicroCredits: bal,
        });
      } else if (r.kind === "expiry" && r.amountMicroCredits < 0) {
        raise("credits_expired", "", `entry:${r.id}`, {
          amountMicroCredits: -r.amountMicroCredits,
          balanceMicroCredits: bal,
        });
      }
    }

    // Low balance and depleted: once per funding episode (a new credit starts a new one). A user
    // who was never funded hears "blocked" instead.
    if (fundEntryId > 0) {
      const facts = { balanceMicroCredits: bal, topupUrl: settings.topupUrl };
      if (bal <= lowLevelMicroCredits) raise("low_balance", "", `fund:${fundEntryId}`, facts);
      if (bal <= 0) raise("depleted", "", `fund:${fundEntryId}`, facts);
    }

    // Every threshold reached in the window, even when one debit jumps over several. Once per
    // cap: a threshold told for another cap this window (the operator changed it) is told again
    // for this one as `<period>/<kind>/<pct>@<cap>`; before, 80 % of a raised cap was never told.
    for (const w of ev.windows) {
      for (const pct of capThresholdsReached(w, settings.capThresholdsPct)) {
        const base = `${w.period}/${w.kind}/${pct}`;
        const toldCap = alertsRepo.facts(accountId, "cap_threshold", base, w.key)?.capMicroCredits;
        const threshold =
          toldCap !== undefined && toldCap !== w.capMicroCredits ? `${base}@${w.capMicroCredits}` : base;
        raise("cap_threshold", threshold, w.key, {
          period: w.period,
          capKind: w.kind,
          pct,
          capMicroCredits: w.capMicroCredits,
          spentMicroCredits: w.spentMicroCredits,
        });
      }
    }

    // A call billed after its window ended (made at 23:59:30, read by the meter's poll after
    // midnight) is spent in the window it was made in, which the windows of now above do not
    // include: that window's thresholds were never told (case
    // test/cases/cap-threshold-late-call-after-midnight). The window just before each cap's
    // current one is evaluated when a call made in it was billed since the last check, and its
    // thresholds raised for the operator under that window's key (once, as in the window; a
    // threshold already told is not told again). No user notice (their limit has reset) and no
    // block (it is over). Older windows are not looked at.
    for (const cap of ev.limits.caps) {
      const current = ev.windows.find((w) => w.period === cap.period && w.kind === cap.kind);
      if (!current) continue;
      const past = windowAt(cap.period, current.startMs - 1, settings.timezone);
      if (!spend.usageBilledSince(accountId, prev?.lastEntryId ?? 0, past.startMs, past.endMs)) continue;
      const w = {
        ...past,
        kind: cap.kind,
        capMicroCredits: cap.capMicroCredits,
        spentMicroCredits: spend.spentMicroCredits(accountId, past.startMs, past.endMs),
      };
      for (const pct of capThresholdsReached(w, settings.capThresholdsPct)) {
        const base = `${w.period}/${w.kind}/${pct}`;
        const toldCap = alertsRepo.facts(accountId, "cap_threshold", base, w.key)?.capMicroCredits;
        const threshold =
          toldCap !== undefined && toldCap !== w.capMicroCredits ? `${base}@${w.capMicroCredits}` : base;
        const id = insertAlert(
          accountId,
          "cap_threshold",
          threshold,
          w.key,
          {
            period: w.period,
            capKind: w.kind,
            pct,
            capMicroCredits: w.capMicroCredits,
            spentMicroCredits: w.spentMicroCredits,
          },
          nowMs,
        );
        if (id !== null) created.push({ id, kind: "cap_threshold", threshold });
      }
    }

    const blockKey = blockEpisodeKey(accountId, ev.blockKey, prev);
    if (!ev.allowed && ev.reason && blockKey) {
      raise("blocked", ev.reason, blockKey, {
        reason: ev.reason,
        liftsAtMs: ev.liftsAtMs,
        balanceMicroCredits: bal,
        ...(ev.reason === "insufficient_headroom" ? { headroomMicroCredits: ev.headroom.microCredits } : {}),
        topupUrl: settings.topupUrl,
        operatorReason: ev.reason === "operator" ? (blocks.get(accountId)?.reason ?? null) : null,
      });
    }
    if (ev.allowed && prev && !prev.status.allowed) {
      raise("unblocked", prev.status.reason ?? "", prev.blockKey ?? "", {
        reason: prev.status.reason,
        balanceMicroCredits: bal,
      });
    }

    const ends = ev.windows.map((w) => w.endMs);
    const status = toStatus(accountId, ev, nowMs);
    statuses.put({
      status,
      blockKey,
      nextResetAtMs: ends.length > 0 ? Math.min(...ends) : null,
      lastEntryId,
      fundEntryId,
      fundMicroCredits,
    });
    return { status, alerts: created };
  }

  const checkTx = db.transaction(checkInTx);

  function check(accountId: string, nowMs: number): CheckResult {
    return db.inTransaction ? checkInTx(accountId, nowMs) : checkTx.immediate(accountId, nowMs);
  }

  const setRulesTx = db.transaction((subject: string, rules: LimitRules | null, nowMs: number) => {
    if (rules) rulesRepo.put(subject, rules, nowMs);
    else rulesRepo.remove(subject);
    if (subject !== DEFAULTS_SUBJECT) return check(subject, nowMs);
    // New defaults: every known user is re-checked by the worker (through the outbox).
    statuses.enqueueCheckAll(nowMs);
    return null;
  });

  const blockTx = db.transaction((accountId: string, reason: string | null, nowMs: number) => {
    if (reason === null) blocks.remove(accountId);
    else blocks.put(accountId, reason, nowMs);
    return check(accountId, nowMs);
  });

  function raiseInTx(
    accountId: string,
    kind: AlertKind,
    threshold: string,
    windowKey: string,
    facts: AlertFacts,
    nowMs: number,
  ): boolean {
    const id = insertAlert(accountId, kind, threshold, windowKey, facts, nowMs);
    if (id === null) return false;
    if (!accountId.startsWith("agent:") && USER_NOTICE_KINDS.has(kind))
      noticesRepo.insert(
        id,
        accountId,
        kind,
        renderAlert(kind, facts, limitsOf(accountId).language, settings.timezone),
        nowMs,
      );
    return true;
  }
  const raiseTx = db.transaction(raiseInTx);

  /**
   * The first user whose own caps the defaults `next` would contradict (a cap over a longer window
   * below one over a shorter window, or a soft cap above a hard one of a longer window, one of the
   * two the user's own and the other followed from `'*'`), as a refusal naming the user and how
   * to get past it; null when none, or when that user's caps conflicted under `prev` already.
   */
  function defaultsConflict(prev: LimitRules | null, next: LimitRules): string | null {
    const hit: { subject: string; problem: string; merged: ReturnType<typeof effectiveCaps> }[] = [];
    for (const { subject, rules } of rulesRepo.users()) {
      const merged = effectiveCaps(next, rules);
      if (merged.inherited.length === 0) continue;
      const problem = capOrderProblem(merged.caps);
      if (problem === null) continue;
      const before = effectiveCaps(prev, rules);
      if (before.inherited.length > 0 && capOrderProblem(before.caps) !== null) continue;
      hit.push({ subject, problem, merged });
    }
    const first = hit[0];
    if (!first) return null;
    const { caps, inheritedCaps } = first.merged;
    const followed = [...new Set(inheritedCaps.map((c) => c.period))];
    // the followed window(s) the conflict is in: without the defaults' cap there, none is left
    const culprits = followed.filter(
      (p) => capOrderProblem(caps.filter((c) => !(c.period === p && inheritedCaps.includes(c)))) === null,
    );
    const windows = culprits.length > 0 ? culprits : followed;
    const more =
      hit.length > 1
        ? `; ${hit.length - 1} more user(s) too: ${hit
            .slice(1, 4)
            .map((h) => h.subject)
            .join(", ")}${hit.length > 4 ? ", …" : ""}`
        : "";
    return `for ${first.subject}, which has caps of its own and follows the defaults' ${windows.map((w) => PERIOD_NAME[w]).join(" and ")} cap: ${first.problem}. Set that user's window first (limits set ${first.subject} --${PERIOD_NAME[windows[0] ?? "month"]} <credits> or off), or give other defaults${more}`;
  }

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
      const prev = statuses.get(accountId);
      return toStatus(accountId, evaluateWith(accountId, nowMs, prev?.fundEntryId ?? 0), nowMs);
    },
    /**
     * {@link evaluate} and whether the balance is at or under the low-balance level a check alerts
     * at (max(the absolute level, `lowBalancePct` % of the funding episode's credit), the episode
     * followed over entries the worker has not checked yet): `/consumo`'s `lowBalance`. Read-only.
     */
    evaluateBalance(accountId: string, nowMs: number): { status: UserStatus; lowBalance: boolean } {
      const { ev, lowLevelMicroCredits } = fundedEvaluation(accountId, nowMs, statuses.get(accountId));
      return {
        status: toStatus(accountId, ev, nowMs),
        lowBalance: ev.balanceMicroCredits <= lowLevelMicroCredits,
      };
    },
    /**
     * The stored status: one primary-key read. With `agentId` (the agent the user is talking to),
     * a hard operator budget reached for that agent (or for all) blocks with `operator_budget`
     * (decided live, not stored: the stored row is per account, not per agent). Falls back to a read-only evaluation when the
     * account was never checked, a window has rolled over since (the rollover scan will store it),
     * the row predates the headroom (migration 15 queued its re-check), the account's ledger
     * moved since the check that wrote the row (a top-up, grant, refund or usage debit the worker
     * has not checked yet: it is down, Redis is unreachable, or its queue is behind), or a re-check
     * asked for in the outbox is not finished (new default limits: `limits set '*'` queues every
     * account's re-check instead of checking them all at once). Before 2026-12-04 that row was
     * answered as is: a user who had just paid stayed blocked, and one whose balance had run out
     * kept chatting, until the worker caught up, however long that took (case
     * `test/cases/status-stale-after-balance-change`); a default floor or hard cap the operator
     * raised to stop everyone let every already-checked user through (case
     * `test/cases/status-stale-after-default-limits`). Two more indexed reads (the newest ledger
     * entry id, the outbox row) keep the fresh path cheap.
     */
    status(accountId: string, nowMs: number, agentId?: string): UserStatus {
      const r = statuses.get(accountId);
      // A hard operator budget reached for this agent (one indexed read): decided live, rare.
      const budgets = agentId ? budgetBlocks.active(agentId, nowMs) : [];
      if (budgets.length > 0) {
        return toStatus(accountId, evaluateWith(accountId, nowMs, r?.fundEntryId ?? 0, budgets), nowMs);
      }
      if (
        !r?.hasHeadroom ||
        (r.nextResetAtMs !== null && r.nextResetAtMs <= nowMs) ||
        spend.lastEntryId(accountId) !== r.lastEntryId ||
        statuses.checkPending(accountId)
      ) {
        return toStatus(accountId, evaluateWith(accountId, nowMs, r?.fundEntryId ?? 0), nowMs);
      }
      return r.status;
    },
    /** Hard operator budgets in force for `agentId` (its own and every-agent ones) at `nowMs`. */
    budgetBlocks(agentId: string, nowMs: number): BudgetBlockRow[] {
      return budgetBlocks.active(agentId, nowMs);
    },
    /** Every stored budget block row (expired ones included), for tests and the operator's views. */
    allBudgetBlocks(): BudgetBlockRow[] {
      return budgetBlocks.list();
    },
    /**
     * Replaces the set of agents blocked by reached hard budgets (the budget scan computes it,
     * src/reports/budgets.ts). One transaction; a row staying in its window keeps `blockedAtMs`.
     */
    replaceBudgetBlocks(rows: readonly Omit<BudgetBlockRow, "blockedAtMs">[], nowMs: number): void {
      budgetBlocks.replace(rows, nowMs);
    },
    /** The stored row only (no fallback), or null. */
    storedStatus(accountId: string): UserStatus | null {
      return statuses.get(accountId)?.status ?? null;
    },
    limits(accountId: string): {
      user: LimitRules | null;
      defaults: LimitRules | null;
      effective: EffectiveLimits;
    } {
      return {
        user: accountId === DEFAULTS_SUBJECT ? null : rulesRepo.get(subjectOf(accountId)),
        defaults: rulesRepo.get(DEFAULTS_SUBJECT),
        effective: limitsOf(accountId),
      };
    },
    /** Replaces a subject's rules (`*` = defaults; null removes them) and re-checks at once. */
    setLimits(subject: string, rules: LimitRules | null, nowMs: number): CheckResult | null {
      const parsed = rules === null ? null : limitRulesSchema.parse(rules);
      const inverted = parsed?.caps ? capOrderProblem(parsed.caps) : null;
      if (inverted !== null) throw new AppError(ErrorCode.InvalidRequest, `caps: ${inverted}`);
      // a user's own caps against the defaults' it follows in its other windows (capsOff)
      if (parsed?.capsOff !== undefined && subjectOf(subject) !== DEFAULTS_SUBJECT) {
        const merged = effectiveCaps(rulesRepo.get(DEFAULTS_SUBJECT), parsed);
        const problem = merged.inherited.length > 0 ? capOrderProblem(merged.caps) : null;
        if (problem !== null)
          throw new AppError(ErrorCode.InvalidRequest, `caps: ${problem}. ${inheritedNote(subject, merged)}`);
      }
      // new defaults against the caps users set of their own: a window a user follows `'*'` in
      // must not make that user's own cap unreachable (`telegram:1 --daily 3`, then `'*' --monthly
      // 1`: blocked at 1 a month, its daily 3 never reached). Only conflicts the change brings.
      if (parsed !== null && subject === DEFAULTS_SUBJECT) {
        const problem = defaultsConflict(rulesRepo.get(DEFAULTS_SUBJECT), parsed);
        if (problem !== null) throw new AppError(ErrorCode.InvalidRequest, `caps: ${problem}`);
      }
      return setRulesTx.immediate(subjectOf(subject), parsed, nowMs);
    },
    block(accountId: string, reason: string, nowMs: number): CheckResult {
      if (reason.trim() === "") throw new AppError(ErrorCode.InvalidRequest, "reason: must not be empty");
      return blockTx.immediate(subjectOf(accountId), reason.trim(), nowMs);
    },
    unblock(accountId: string, nowMs: number): CheckResult {
      return blockTx.immediate(subjectOf(accountId), null, nowMs);
    },
    operatorBlock(accountId: string): OperatorBlock | null {
      return blocks.get(accountId);
    },
    /** Asks the worker to re-check an account (through the outbox, in the caller's transaction). */
    enqueueCheck(accountId: string, nowMs: number): void {
      statuses.enqueueCheck(accountId, nowMs);
    },
    /**
     * Records an alert outside a status check (spend spikes, expiry warnings); false when it
     * already fired. A kind in USER_NOTICE_KINDS also gets its user notice (not for `agent:` ids),
     * in the account's language, in the same transaction as the alert.
     */
    raise(
      accountId: string,
      kind: AlertKind,
      threshold: string,
      windowKey: string,
      facts: AlertFacts,
      nowMs: number,
    ): boolean {
      const args = [accountId, kind, threshold, windowKey, facts, nowMs] as const;
      return db.inTransaction ? raiseInTx(...args) : raiseTx.immediate(...args);
    },
    /** The facts of the alert raised for (account, kind, threshold, window); null when none was. */
    toldFacts(accountId: string, kind: AlertKind, threshold: string, windowKey: string): AlertFacts | null {
      return alertsRepo.facts(accountId, kind, threshold, windowKey);
    },
    /**
     * Raises an alert outside a status check AND, for a user-facing kind, its chat notice
     * (auto top-up declines). Once per (account, kind, threshold, windowKey): false when it
     * already fired. Runs in the caller's transaction, or its own IMMEDIATE one.
     */
    notify(
      accountId: string,
      kind: AlertKind,
      threshold: string,
      windowKey: string,
      facts: AlertFacts,
      nowMs: number,
    ): boolean {
      const run = () => {
        const id = insertAlert(accountId, kind, threshold, windowKey, facts, nowMs);
        if (id === null) return false;
        if (USER_NOTICE_KINDS.has(kind) && !accountId.startsWith("agent:")) {
          const lang = limitsOf(accountId).language;
          noticesRepo.insert(id, accountId, kind, renderAlert(kind, facts, lang, settings.timezone), nowMs);
        }
        return true;
      };
      return db.inTransaction ? run() : db.transaction(run).immediate();
    },
    /** Accounts whose stored status has a window that ended by `nowMs` (caps lift, spends reset). */
    dueForRollover(nowMs: number, limit: number): string[] {
      return statuses.dueForRollover(nowMs, limit);
    },
    /** Unacknowledged notices, oldest first. */
    notices(limit: number): Notice[] {
      return noticesRepo.pending(limit);
    },
    /** Marks a notice delivered; acking twice is fine. False when the id does not exist. */
    ack(id: number, nowMs: number): boolean {
      return noticesRepo.ack(id, nowMs);
    },
    alerts(opts: { state?: WebhookState; limit?: number } = {}) {
      return alertsRepo.list(opts);
    },
    alert(id: number) {
      return alertsRepo.get(id);
    },
    /** Records a webhook delivery attempt's outcome (never moves an alert out of `delivered`). */
    markDelivery(
      id: number,
      state: WebhookState,
      attempts: number,
      error: string | null,
      nowMs: number,
    ): void {
      alertsRepo.markDelivery(id, state, attempts, error, nowMs);
    },
  };
}

export type Enforcer = ReturnType<typeof createEnforcer>;
