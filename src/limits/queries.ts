import { z } from "zod";
import {
  accountIdSchema,
  agentIdSchema,
  createLedger,
  GRANT_KINDS,
  type GrantKind,
  type Ledger,
} from "../credits/index.js";
import type { Db } from "../db/index.js";
import { formatMicroCredits } from "../money.js";
import type { Enforcer } from "./check.js";
import { BLOCK_REASONS, type BlockReason } from "./decide.js";
import { HEADROOM_BASES, type Headroom } from "./headroom.js";
import { CAP_KINDS, type CapKind, LANGUAGES, type Language } from "./rules.js";
import type { UserStatus } from "./status-repo.js";
import { topupHint } from "./templates.js";
import { PERIODS, type Period, windowAt } from "./windows.js";

const userId = accountIdSchema;
const agentId = agentIdSchema;
const range = {
  /** Epoch ms, inclusive; default the start of this month in CREDITGATE_TIMEZONE. */
  fromMs: z.number().int().min(0).optional(),
  /** Epoch ms, exclusive; default now. */
  toMs: z.number().int().min(0).optional(),
};

/** Parameters of each question; validated on both sides of the queue and over HTTP. */
export const querySchemas = {
  consumo: z.strictObject({ userId }),
  balance: z.strictObject({ userId }),
  /** `agentId`: the agent the user talks to; its reached hard operator budgets block (`operator_budget`). */
  status: z.strictObject({ userId, agentId: agentId.optional() }),
  user_usage: z.strictObject({ userId, ...range }),
  agent_usage: z.strictObject({ agentId, ...range }),
} as const;
export type QueryName = keyof typeof querySchemas;
export type QueryParams<N extends QueryName> = z.input<(typeof querySchemas)[N]>;
export const QUERY_NAMES = Object.keys(querySchemas) as QueryName[];

export interface UsageTotals {
  requests: number;
  tokens: number;
  chargedMicroCredits: number;
}

/** The headroom in a status answer: {@link Headroom} plus the amount as credits text. */
export interface HeadroomView extends Headroom {
  /** `microCredits` as exact credits text with at least 2 decimals ("0.05"). */
  credits: string;
}

export interface StatusView {
  userId: string;
  allowed: boolean;
  reason: BlockReason | null;
  balanceMicroCredits: number;
  headroom: HeadroomView;
  liftsAt: string | null;
  windows: {
    period: Period;
    kind: CapKind;
    capMicroCredits: number;
    spentMicroCredits: number;
    resetsAt: string;
  }[];
  topupUrl?: string;
  /** The user's language when the operator chose one (their rules, else `*`). */
  language?: Language;
  /** `CREDITGATE_TIMEZONE`: the zone the windows are in, and the chat side writes times in. */
  timeZone: string;
}

export interface Consumo {
  userId: string;
  balanceMicroCredits: number;
  today: UsageTotals;
  month: UsageTotals;
  limits: {
    period: Period;
    capMicroCredits: number;
    spentMicroCredits: number;
    kind: CapKind;
    resetsAt: string;
  }[];
  lowBalance: boolean;
  topupHint?: string;
  /** What the balance is made of (docs/grants.md): live grants by kind, debt, the next expiry. */
  credits: ConsumoCredits;
  /** The user's language when the operator chose one (their rules, else `*`). */
  language?: Language;
  /** `CREDITGATE_TIMEZONE`: the zone the windows are in, and the chat side writes times in. */
  timeZone: string;
}

/** The grant breakdown of `/consumo`: "3.20 paid + 1.00 bonus, 1.00 expires on 2026-12-30". */
export interface ConsumoCredits {
  paidMicroCredits: number;
  /** Promotional ("bonus") credit. */
  promotionalMicroCredits: number;
  refundCreditMicroCredits: number;
  /** What the user owes (0 unless the balance is below zero). */
  debtMicroCredits: number;
  /** The soonest expiry of live credit: ISO 8601 UTC, its micro-credits (all grants expiring then) and kind. */
  nextExpiry: { at: string; microCredits: number; kind: GrantKind } | null;
}

export interface BalanceView {
  userId: string;
  balanceMicroCredits: number;
  overdrawn: boolean;
}

export interface UserUsage extends UsageTotals {
  userId: string;
  fromMs: number;
  toMs: number;
  byModel: ({ provider: string; model: string } & UsageTotals)[];
}

export interface AgentUsage extends UsageTotals {
  agentId: string;
  fromMs: number;
  toMs: number;
  users: number;
  lastHourMicroCredits: number;
  last24hMicroCredits: number;
  /** Hours the agent's own account (`agent:<id>`) lasts at the last 24 h rate; absent when not meaningful. */
  runwayHours?: number;
}

export interface QueryResults {
  consumo: Consumo;
  balance: BalanceView;
  status: StatusView;
  user_usage: UserUsage;
  agent_usage: AgentUsage;
}

const int = z.number().int();
const usageTotalsShape = {
  requests: int,
  tokens: int,
  /** Integer micro-credits charged. */
  chargedMicroCredits: int,
};
/** One cap window of a status or /consumo answer; `resetsAt` ISO 8601 UTC. */
const windowUseSchema = z.object({
  period: z.enum(PERIODS),
  kind: z.enum(CAP_KINDS),
  capMicroCredits: int,
  spentMicroCredits: int,
  resetsAt: z.string(),
});

/**
 * The pre-call headroom of a status answer: a call may start only while balance − headroom ≥
 * floor (README "Pre-call headroom"). `basis`: `p95` (estimated from `samples` recent calls of
 * the agent/provider/model of the user's latest call), `no_data` (p95 rule, no such calls: 0),
 * `fixed` (an operator amount), `off`.
 */
export const headroomViewSchema = z.object({
  /** Integer micro-credits ≥ 0. */
  microCredits: int.min(0),
  /** The same as exact credits text, at least 2 decimals ("0.05"). */
  credits: z.string(),
  basis: z.enum(HEADROOM_BASES),
  agentId: z.string().optional(),
  provider: z.string().optional(),
  model: z.string().optional(),
  samples: int.optional(),
});

/** {@link StatusView} as the API answers it (status, block, unblock). */
export const statusViewSchema = z.object({
  userId: z.string(),
  allowed: z.boolean(),
  reason: z.enum(BLOCK_REASONS).nullable(),
  balanceMicroCredits: int,
  headroom: headroomViewSchema,
  /** ISO 8601 UTC; null when no time lifts the block. */
  liftsAt: z.string().nullable(),
  windows: z.array(windowUseSchema),
  /** Only while blocked (not for `operator_budget`) and CREDITGATE_TOPUP_URL is set. */
  topupUrl: z.string().optional(),
  /**
   * The user's language when the operator chose one (the user's limit rules, else the defaults'
   * `*`): chat replies about this user (the plugin's gate, /saldo) use it, as the notices do.
   * Absent when neither sets one (the chat side keeps its own setting).
   */
  language: z.enum(LANGUAGES).optional(),
  /**
   * `CREDITGATE_TIMEZONE` (IANA): the zone the cap windows are in. `liftsAt` and `resetsAt` are
   * UTC instants; the chat side writes them on this zone's clock (a daily cap resets at its
   * `00:00`), as the notices are written.
   */
  timeZone: z.string(),
});

/** {@link Consumo} as the API answers it (`/consumo`). */
export const consumoSchema = z.object({
  userId: z.string(),
  balanceMicroCredits: int,
  today: z.object(usageTotalsShape),
  month: z.object(usageTotalsShape),
  limits: z.array(windowUseSchema),
  lowBalance: z.boolean(),
  /** Only when `lowBalance`: where and how to top up, in the user's language. */
  topupHint: z.string().optional(),
  /** The user's language when the operator chose one (user rules, else `*`); as in the status answer. */
  language: z.enum(LANGUAGES).optional(),
  /** `CREDITGATE_TIMEZONE` (IANA), as in the status answer: the zone `resetsAt` is written in to the user. */
  timeZone: z.string(),
  /** What the balance is made of: live grants by kind, debt, and the next expiry (docs/grants.md). */
  credits: z.object({
    paidMicroCredits: int,
    /** Promotional ("bonus") credit. */
    promotionalMicroCredits: int,
    refundCreditMicroCredits: int,
    debtMicroCredits: int,
    nextExpiry: z.object({ at: z.string(), microCredits: int, kind: z.enum(GRANT_KINDS) }).nullable(),
  }),
});

/** {@link UserUsage} as the API answers it; `fromMs` inclusive, `toMs` exclusive (epoch ms). */
export const userUsageSchema = z.object({
  userId: z.string(),
  fromMs: int,
  toMs: int,
  ...usageTotalsShape,
  byModel: z.array(z.object({ provider: z.string(), model: z.string(), ...usageTotalsShape })),
});

const agentBurnShape = {
  lastHourMicroCredits: int,
  last24hMicroCredits: int,
  /** Hours the agent's own account (`agent:<id>`) lasts at the last 24 h rate; absent when not meaningful. */
  runwayHours: z.number().optional(),
};

/** {@link AgentUsage} as the API answers it. */
export const agentUsageSchema = z.object({
  agentId: z.string(),
  fromMs: int,
  toMs: int,
  ...usageTotalsShape,
  users: int,
  ...agentBurnShape,
});

/** `Queries.burn`'s answer: an agent's spend in the last hour and 24 h, and its runway. */
export const agentBurnSchema = z.object({ agentId: z.string(), ...agentBurnShape });

const iso = (ms: number) => new Date(ms).toISOString();
/** How far ahead of now the meter bills a call's time (src/meter/validate.ts MAX_FUTURE_MS). */
const MAX_AHEAD_MS = 365 * 86_400_000;

/**
 * The answers served over BullMQ RPC and HTTP alike: each a handful of indexed SQLite reads.
 * `status` is the stored row (one primary-key read).
 */
export function createQueries(db: Db, enforcer: Enforcer, ledger?: Ledger) {
  const settings = enforcer.settings;
  const grants = ledger ?? createLedger(db);
  const totals = db.prepare<[string, number, number], { n: number; t: number | null; c: number | null }>(
    `SELECT SUM(requests) AS n, SUM(total_tokens) AS t, SUM(charge_micro_credits) AS c FROM usage_events
      WHERE account_id = ? AND message_ts_ms >= ? AND message_ts_ms < ?`,
  );
  const byModel = db.prepare<
    [string, number, number],
    { provider: string; model: string; n: number; t: number; c: number }
  >(
    `SELECT provider, model, SUM(requests) AS n, SUM(total_tokens) AS t, SUM(charge_micro_credits) AS c
       FROM usage_events WHERE account_id = ? AND message_ts_ms >= ? AND message_ts_ms < ?
      GROUP BY provider, model ORDER BY c DESC`,
  );
  // usage_events has no agent index (dropped for meter speed): scan the time range, filter the agent.
  const agentTotals = db.prepare<
    [number, number, string],
    { n: number; t: number | null; c: number | null; u: number }
  >(
    `SELECT SUM(requests) AS n, SUM(total_tokens) AS t, SUM(charge_micro_credits) AS c, COUNT(DISTINCT account_id) AS u
       FROM usage_events WHERE message_ts_ms >= ? AND message_ts_ms < ? AND agent_id = ?`,
  );
  // The latest call stamped at or after now (the bot host's clock runs ahead; the meter bills
  // calls up to MAX_AHEAD_MS ahead), for a range asked without an end.
  const latestAheadOfUser = db.prepare<[string, number, number], { m: number | null }>(
    `SELECT MAX(message_ts_ms) AS m FROM usage_events WHERE account_id = ? AND message_ts_ms >= ? AND message_ts_ms < ?`,
  );
  const latestAheadOfAgent = db.prepare<[number, number, string], { m: number | null }>(
    `SELECT MAX(message_ts_ms) AS m FROM usage_events WHERE message_ts_ms >= ? AND message_ts_ms < ? AND agent_id = ?`,
  );
  /**
   * The end of a range asked without one: just after now, or just after the latest call stamped
   * ahead of now before `untilMs` (the end of this month for the default range, else a year on).
   * Before 2026-12-04 it was now + 1 ms: a call stamped a few minutes ahead was billed (in the
   * balance, in /consumo's today and month) but missing from `GET /v1/users/:id/usage` and
   * `GET /v1/agents/:id/usage` until its time came (the kind of case report-open-end-future-stamped).
   */
  const openEnd = (latest: number | null | undefined, nowMs: number) =>
    latest === null || latest === undefined ? nowMs + 1 : Math.max(nowMs + 1, Number(latest) + 1);
  const balanceOf = db.prepare<[string], { b: number }>(
    "SELECT balance_micro_credits AS b FROM accounts WHERE id = ?",
  );
  const toTotals = (r: { n: number; t: number | null; c: number | null } | undefined): UsageTotals => ({
    requests: r?.n ?? 0,
    tokens: r?.t ?? 0,
    chargedMicroCredits: r?.c ?? 0,
  });

  /**
   * The language the operator set for a user (their rules, else the defaults'), or nothing: the
   * chat side answers in it, as the notices are written in it. Before 2026-12-04 the status and
   * /consumo answers did not say it, so the plugin answered a user whose rules say `en` in its own
   * language (Spanish by default) beside English notices (case chat-reply-user-language).
   */
  function chosenLanguage(userId: string): { language?: Language } {
    const l = enforcer.limits(userId);
    const language = l.user?.language ?? l.defaults?.language;
    return language ? { language } : {};
  }

  function statusView(s: UserStatus): StatusView {
    return {
      userId: s.accountId,
      allowed: s.allowed,
      reason: s.reason,
      balanceMicroCredits: s.balanceMicroCredits,
      headroom: { ...s.headroom, credits: formatMicroCredits(s.headroom.microCredits) },
      liftsAt: s.liftsAtMs === null ? null : iso(s.liftsAtMs),
      windows: s.windows.map((w) => ({
        period: w.period,
        kind: w.kind,
        capMicroCredits: w.capMicroCredits,
        spentMicroCredits: w.spentMicroCredits,
        resetsAt: iso(w.endMs),
      })),
      // A top-up cannot lift an operator budget block: no top-up link then.
      ...(!s.allowed && s.reason !== "operator_budget" && settings.topupUrl
        ? { topupUrl: settings.topupUrl }
        : {}),
      ...chosenLanguage(s.accountId),
      timeZone: settings.timezone,
    };
  }

  function consumoCredits(userId: string, nowMs: number): ConsumoCredits {
    const s = grants.summary(userId, nowMs);
    return {
      paidMicroCredits: s.paidMicroCredits,
      promotionalMicroCredits: s.promotionalMicroCredits,
      refundCreditMicroCredits: s.refundCreditMicroCredits,
      debtMicroCredits: s.debtMicroCredits,
      nextExpiry: s.nextExpiry
        ? { at: iso(s.nextExpiry.atMs), microCredits: s.nextExpiry.microCredits, kind: s.nextExpiry.kind }
        : null,
    };
  }

  function agentBurn(id: string, nowMs: number) {
    const lastHour = agentTotals.get(nowMs - 3600_000, nowMs + 1, id)?.c ?? 0;
    const last24h = agentTotals.get(nowMs - 24 * 3600_000, nowMs + 1, id)?.c ?? 0;
    const bal = balanceOf.get(`agent:${id}`)?.b;
    const perHour = last24h / 24;
    return {
      lastHourMicroCredits: lastHour,
      last24hMicroCredits: last24h,
      ...(bal !== undefined && bal > 0 && perHour > 0
        ? { runwayHours: Math.round((bal / perHour) * 10) / 10 }
        : {}),
    };
  }

  const handlers: {
    [N in QueryName]: (p: z.output<(typeof querySchemas)[N]>, nowMs: number) => QueryResults[N];
  } = {
    status: (p, nowMs) => statusView(enforcer.status(p.userId, nowMs, p.agentId)),
    balance: (p) => {
      const b = balanceOf.get(p.userId)?.b ?? 0;
      return { userId: p.userId, balanceMicroCredits: b, overdrawn: b < 0 };
    },
    consumo: (p, nowMs) => {
      // Live (not the stored status): /consumo must include the call the user just made.
      // `lowBalance` at the level the low_balance alert uses (its percentage of the last credit
      // too): case test/cases/consumo-low-balance-percent-level.
      const { status: s, lowBalance } = enforcer.evaluateBalance(p.userId, nowMs);
      const day = windowAt("day", nowMs, settings.timezone);
      const month = windowAt("month", nowMs, settings.timezone);
      const limits = enforcer.limits(p.userId).effective;
      return {
        userId: p.userId,
        balanceMicroCredits: s.balanceMicroCredits,
        today: toTotals(totals.get(p.userId, day.startMs, day.endMs)),
        month: toTotals(totals.get(p.userId, month.startMs, month.endMs)),
        limits: s.windows.map((w) => ({
          period: w.period,
          capMicroCredits: w.capMicroCredits,
          spentMicroCredits: w.spentMicroCredits,
          kind: w.kind,
          resetsAt: iso(w.endMs),
        })),
        lowBalance,
        ...(lowBalance ? { topupHint: topupHint(limits.language, settings.topupUrl) } : {}),
        credits: consumoCredits(p.userId, nowMs),
        ...chosenLanguage(p.userId),
        timeZone: settings.timezone,
      };
    },
    user_usage: (p, nowMs) => {
      const month = windowAt("month", nowMs, settings.timezone);
      const fromMs = p.fromMs ?? month.startMs;
      const until = p.fromMs === undefined ? month.endMs : nowMs + MAX_AHEAD_MS;
      const toMs = p.toMs ?? openEnd(latestAheadOfUser.get(p.userId, nowMs + 1, until)?.m, nowMs);
      return {
        userId: p.userId,
        fromMs,
        toMs,
        ...toTotals(totals.get(p.userId, fromMs, toMs)),
        byModel: byModel.all(p.userId, fromMs, toMs).map((r) => ({
          provider: r.provider,
          model: r.model,
          requests: r.n,
          tokens: r.t,
          chargedMicroCredits: r.c,
        })),
      };
    },
    agent_usage: (p, nowMs) => {
      const month = windowAt("month", nowMs, settings.timezone);
      const fromMs = p.fromMs ?? month.startMs;
      const until = p.fromMs === undefined ? month.endMs : nowMs + MAX_AHEAD_MS;
      const toMs = p.toMs ?? openEnd(latestAheadOfAgent.get(nowMs + 1, until, p.agentId)?.m, nowMs);
      const r = agentTotals.get(fromMs, toMs, p.agentId);
      return {
        agentId: p.agentId,
        fromMs,
        toMs,
        ...toTotals(r),
        users: r?.u ?? 0,
        ...agentBurn(p.agentId, nowMs),
      };
    },
  };

  return {
    /** Validates `params` and answers `name`. Throws ZodError on bad params. */
    answer<N extends QueryName>(name: N, params: unknown, nowMs: number): QueryResults[N] {
      const parsed = querySchemas[name].parse(params);
      return (handlers[name] as (p: unknown, n: number) => QueryResults[N])(parsed, nowMs);
    },
    statusView,
    burn(agentIdValue: string, nowMs: number) {
      return { agentId: agentIdValue, ...agentBurn(agentIdValue, nowMs) };
    },
  };
}

export type Queries = ReturnType<typeof createQueries>;
