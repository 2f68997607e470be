import { z } from "zod";
import { normalizeAgentId } from "../agent-id.js";
import { assertAccountId, createLedger } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import {
  chargeMicroCredits,
  formatPicoUsd,
  type MicroCredits,
  microCreditsToPicoUsd,
  type Ratio,
  toMicroCredits,
} from "../money.js";
import { hasResponseIdentity, promptsOf } from "./identity.js";
import {
  compareBinary,
  type GroupBy,
  queryUsage,
  type UsageQuery,
  type UsageRow,
  usageRowSchema,
} from "./report.js";
import type { Pricer, UsageEvent } from "./types.js";
import { createUsageWriter } from "./usage-repo.js";
import { accountProblem, inputProblem, MAX_FUTURE_MS, MAX_SAFE, MIN_TIMESTAMP_MS } from "./validate.js";

/**
 * The review queue: model calls the biller would not bill automatically (see validate.ts for
 * the ranges). A held call is kept whole (every usage field, where it was read, why it was
 * held), claims its dedupe key (re-reading the line is a duplicate), is counted (metrics,
 * `meter --once`, `usage` reports) and waits for the operator:
 * - `release`: bills it exactly once, at the computed cost or a cost the operator gives; the
 *   ledger entry (`usage:<dedupeKey>`, kind `usage`) says `review #<id> released: <reason>`.
 * - `void`: never billed; kept with the operator's reason.
 * Both are idempotent: a second call changes nothing and says so.
 */

export type ReviewStatus = "held" | "released" | "voided";

export interface HeldEvent {
  id: number;
  dedupeKey: string;
  status: ReviewStatus;
  reason: string;
  accountId: string;
  agentId: string;
  source: string;
  sourceRef: string;
  provider: string;
  model: string;
  messageTsMs: number;
  totalTokens: number;
  /** Computed cost (pico-USD, decimal string; may exceed 2^53) or null when it could not be priced. */
  costPicoUsd: string | null;
  /** Same cost in USD (exact decimal string) or null. */
  costUsd: string | null;
  chargeMicroCredits: string | null;
  priceSource: string | null;
  createdAtMs: number;
  resolvedAtMs: number | null;
  resolution: string | null;
  usageEventId: number | null;
  /**
   * What a release billed (from its usage row): cost in USD (exact decimal string) and the
   * account debited; null unless released (or when that row is gone). Since 2026-12-04: before,
   * a call released with `--cost-usd` still listed as `not priced` (its computed cost), so the
   * operator could not see what it was billed (a tester, test/found-t-user3-review.test.ts).
   */
  billedCostUsd: string | null;
  billedAccountId: string | null;
  /** The parsed call as read (token counts, ids, recorded cost). */
  event: UsageEvent;
}

/** What holding needs to know beyond the event. */
export interface HoldInput {
  event: UsageEvent;
  dedupeKey: string;
  reason: string;
  costPicoUsd: bigint | null;
  chargeMicroCredits: bigint | null;
  priceSource: string | null;
  priceVersion: string | null;
  nowMs: number;
}

/** The largest cost a usage row holds (a signed 64-bit integer of pico-USD). */
const MAX_COST_PICO_USD = 9_223_372_036_854_775_807n;

const CLAMP = 8_640_000_000_000_000;
const clampTs = (ts: number) => (Number.isFinite(ts) ? Math.trunc(Math.max(-CLAMP, Math.min(CLAMP, ts))) : 0);

/** Statements for the biller's hot path (inside its transaction). */
export function createReviewWriter(db: Db) {
  const insert = db.prepare(
    `INSERT INTO usage_review (dedupe_key, status, reason, event_json, account_id, agent_id, source,
       source_ref, provider, model, message_ts_ms, total_tokens, cost_pico_usd, charge_micro_credits,
       price_source, price_version, created_at_ms)
     VALUES (?, 'held', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(dedupe_key) DO NOTHING`,
  );
  const exists = db.prepare<[string], Pick<UsageReviewRow, "id">>(
    "SELECT id FROM usage_review WHERE dedupe_key = ?",
  );
  return {
    /** True when a review row already claims `key` (held, released or voided). */
    claimed(key: string): boolean {
      return exists.get(key) !== undefined;
    },
    /** Holds one call; false when its key was already held. */
    hold(h: HoldInput): boolean {
      const e = h.event;
      const info = insert.run(
        h.dedupeKey,
        h.reason.slice(0, 500),
        JSON.stringify({ ...e, dedupeKey: undefined }),
        e.accountId,
        e.agentId,
        e.source,
        e.sourceRef,
        e.provider,
        e.model,
        clampTs(e.messageTsMs),
        Number.isSafeInteger(e.totalTokens) ? e.totalTokens : 0,
        h.costPicoUsd === null ? null : h.costPicoUsd.toString(),
        h.chargeMicroCredits === null ? null : h.chargeMicroCredits.toString(),
        h.priceSource,
        h.priceVersion,
        h.nowMs,
      );
      return info.changes === 1;
    },
  };
}

/** A row of `usage_review` as SQLite returns it (amounts are decimal TEXT: they may exceed 64 bits). */
interface UsageReviewRow {
  id: number;
  dedupe_key: string;
  status: ReviewStatus;
  reason: string;
  event_json: string;
  account_id: string;
  agent_id: string;
  source: string;
  source_ref: string;
  provider: string;
  model: string;
  message_ts_ms: number;
  total_tokens: number;
  cost_pico_usd: string | null;
  charge_micro_credits: string | null;
  price_source: string | null;
  price_version: string | null;
  created_at_ms: number;
  resolved_at_ms: number | null;
  resolution: string | null;
  usage_event_id: number | null;
}

const USAGE_REVIEW_COLUMNS = `id, dedupe_key, status, reason, event_json, account_id, agent_id, source, source_ref,
  provider, model, message_ts_ms, total_tokens, cost_pico_usd, charge_micro_credits, price_source,
  price_version, created_at_ms, resolved_at_ms, resolution, usage_event_id`;

function fromRow(r: UsageReviewRow): HeldEvent {
  return {
    id: r.id,
    dedupeKey: r.dedupe_key,
    status: r.status,
    reason: r.reason,
    accountId: r.account_id,
    agentId: r.agent_id,
    source: r.source,
    sourceRef: r.source_ref,
    provider: r.provider,
    model: r.model,
    messageTsMs: r.message_ts_ms,
    totalTokens: r.total_tokens,
    costPicoUsd: r.cost_pico_usd,
    costUsd: r.cost_pico_usd === null ? null : formatPicoUsd(BigInt(r.cost_pico_usd)),
    chargeMicroCredits: r.charge_micro_credits,
    priceSource: r.price_source,
    createdAtMs: r.created_at_ms,
    resolvedAtMs: r.resolved_at_ms,
    resolution: r.resolution,
    usageEventId: r.usage_event_id,
    billedCostUsd: null,
    billedAccountId: null,
    event: JSON.parse(r.event_json) as UsageEvent,
  };
}

/** Count and computed cost of held calls (unpriceable ones count, with no cost). */
export interface HeldSummary {
  held: number;
  /** Sum of the computed costs of held calls, pico-USD decimal string. */
  heldCostPicoUsd: string;
  heldCostUsd: string;
  /** Held calls with no computed cost (e.g. an unreadable token count): not in `heldCostUsd`. */
  unpriced: number;
}

/**
 * When a held call counts in a report: when a release would date it. Its own time when that is
 * sane; a call held for its timestamp (none, stored as 0, or absurd: before 2020 or more than
 * a year past when it was held) is dated when it was held, as `release` bills it. Before
 * 2026-12-03 reports used its own time, so such a call was under 1970-01-01 or 2031 and missing
 * from every range around the day it would be billed on.
 */
const HELD_AT_SQL = `CASE WHEN message_ts_ms >= ${MIN_TIMESTAMP_MS} AND message_ts_ms <= created_at_ms + ${MAX_FUTURE_MS}
  THEN message_ts_ms ELSE created_at_ms END`;

/** Held calls per group key (`user`, `agent`, `model` or `day`), with the report's filters. */
export function heldByGroup(
  db: Db,
  by: GroupBy,
  filter: Omit<UsageQuery, "by"> = {},
): Map<string, { held: number; heldCostPicoUsd: bigint; unpriced: number }> {
  const keySql = {
    user: "account_id",
    agent: "agent_id",
    model: "provider || '/' || model",
    day: `strftime('%Y-%m-%d', (${HELD_AT_SQL}) / 1000, 'unixepoch')`,
  }[by];
  const where = ["status = 'held'"];
  const params: (string | number)[] = [];
  if (filter.user) where.push("account_id = ?") && params.push(filter.user);
  if (filter.agent) where.push("agent_id = ?") && params.push(normalizeAgentId(filter.agent));
  if (filter.model)
    where.push("(lower(provider || '/' || model) = ? OR lower(model) = ?)") &&
      params.push(filter.model.toLowerCase(), filter.model.toLowerCase());
  if (filter.sinceMs !== undefined) where.push(`${HELD_AT_SQL} >= ?`) && params.push(filter.sinceMs);
  if (filter.untilMs !== undefined) where.push(`${HELD_AT_SQL} < ?`) && params.push(filter.untilMs);
  const rows = db
    .prepare<(string | number)[], { key: string | null; cost: string | null }>(
      `SELECT ${keySql} AS key, cost_pico_usd AS cost FROM usage_review WHERE ${where.join(" AND ")}`,
    )
    .all(...params);
  const out = new Map<string, { held: number; heldCostPicoUsd: bigint; unpriced: number }>();
  for (const r of rows) {
    const k = String(r.key);
    const g = out.get(k) ?? { held: 0, heldCostPicoUsd: 0n, unpriced: 0 };
    g.held++;
    if (r.cost !== null) g.heldCostPicoUsd += BigInt(r.cost);
    else g.unpriced++;
    out.set(k, g);
  }
  return out;
}

/** A usage report row plus the calls of its group held for review (not in the billed totals). */
export interface UsageRowWithHeld extends UsageRow {
  heldRequests: number;
  /** Computed cost of the held calls, USD exact decimal string (the priced ones: see below). */
  heldCostUsd: string;
  /**
   * Of `heldRequests`, the calls with no computed cost (an unreadable token count, audio tokens,
   * no provider or model: `review release --cost-usd` prices them), so not in `heldCostUsd`.
   * Before 2026-12-04 not reported: such a call read as "$0" held.
   */
  heldUnpricedRequests: number;
}

/** {@link UsageRowWithHeld} as the API answers it (`GET /v1/usage` rows). */
export const usageRowWithHeldSchema = usageRowSchema.extend({
  heldRequests: z.number().int(),
  heldCostUsd: z.string(),
  heldUnpricedRequests: z.number().int(),
});

/**
 * `queryUsage` plus, per group, the calls held for review: a group with only held calls appears
 * with zero billed requests, in the report's order (by day: by key; else by cost, descending,
 * then key: after the groups that cost something, among those that cost $0). Before 2026-12-04
 * such groups came last, so `usage --by day` listed a day with only a held call after the later
 * days. Held calls are never hidden from a report.
 */
export function queryUsageWithHeld(db: Db, q: UsageQuery): UsageRowWithHeld[] {
  const rows = queryUsage(db, q);
  const held = heldByGroup(db, q.by, q);
  // The rows are fresh objects: extended in place (a spread of ~100k report rows is measurable).
  const out = rows as UsageRowWithHeld[];
  const seen = new Set<string>();
  for (const r of out) {
    const h = held.get(r.key);
    r.heldRequests = h?.held ?? 0;
    r.heldCostUsd = h ? formatPicoUsd(h.heldCostPicoUsd) : "0";
    r.heldUnpricedRequests = h?.unpriced ?? 0;
    if (h) seen.add(r.key);
  }
  const added: UsageRowWithHeld[] = [];
  for (const [key, h] of held) {
    if (seen.has(key)) continue;
    added.push({
      key,
      requests: 0,
      errors: 0,
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite: 0,
      totalTokens: 0,
      costPicoUsd: "0",
      costMicros: 0,
      costUsd: "0",
      chargedMicros: 0,
      unknownModelRequests: 0,
      fallbackPricedRequests: 0,
      cacheWrite1h: 0,
      providerBilledRequests: 0,
      providerBilledCostUsd: "0",
      providerBilledTableCostUsd: "0",
      providerBilledDiffUsd: "0",
      heldRequests: h.held,
      heldCostUsd: formatPicoUsd(h.heldCostPicoUsd),
      heldUnpricedRequests: h.unpriced,
    });
  }
  if (added.length === 0) return out;
  // Merged into queryUsage's order (`ORDER BY key` by day, else `costPico DESC, key`): both
  // lists are in it, the added ones once sorted (all cost $0).
  added.sort((a, b) => compareBinary(a.key, b.key));
  const before = (a: UsageRowWithHeld, b: UsageRowWithHeld): boolean => {
    if (q.by !== "day") {
      const ca = BigInt(a.costPicoUsd);
      const cb = BigInt(b.costPicoUsd);
      if (ca !== cb) return ca > cb;
    }
    return compareBinary(a.key, b.key) < 0;
  };
  const merged: UsageRowWithHeld[] = new Array(out.length + added.length);
  let i = 0;
  let j = 0;
  for (let k = 0; k < merged.length; k++)
    merged[k] =
      j >= added.length ||
      (i < out.length && !before(added[j] as UsageRowWithHeld, out[i] as UsageRowWithHeld))
        ? (out[i++] as UsageRowWithHeld)
        : (added[j++] as UsageRowWithHeld);
  return merged;
}

export function heldSummary(db: Db): HeldSummary {
  let held = 0;
  let cost = 0n;
  for (const g of heldByGroup(db, "user").values()) {
    held += g.held;
    cost += g.heldCostPicoUsd;
  }
  const unpriced = db
    .prepare<[], { n: number }>(
      "SELECT count(*) AS n FROM usage_review WHERE status = 'held' AND cost_pico_usd IS NULL",
    )
    .get()?.n;
  return {
    held,
    heldCostPicoUsd: cost.toString(),
    heldCostUsd: formatPicoUsd(cost),
    unpriced: unpriced ?? 0,
  };
}

export interface ReleaseOptions {
  /** Why the operator releases it (kept in the ledger entry and on the review row). */
  reason: string;
  /** Bill this cost (pico-USD) instead of the computed one; required when none can be computed. */
  costPicoUsd?: bigint;
  /**
   * Prices a held call that has no computed cost (it was held for its timestamp, before pricing):
   * the CLI passes the configured pricer. The call is priced as of the time it is billed under
   * (its own timestamp when that is sane, else the time it was held). Absent: `costPicoUsd` is needed.
   */
  pricer?: Pricer;
  /**
   * Bill this account instead of the one the call was read for. Required when that id cannot be
   * billed as read: one with a lone UTF-16 surrogate is stored as U+FFFD, merged with other ids
   * (`accountProblem`), so the operator says who pays (or voids the call).
   */
  accountId?: string;
  markup: Ratio;
  creditsPerUsd: Ratio;
  nowMs: number;
}

export type ReleaseOutcome =
  | {
      status: "released";
      id: number;
      /** The account billed. */
      accountId: string;
      usageEventId: number;
      chargeMicroCredits: MicroCredits;
      balanceMicroCredits: MicroCredits;
    }
  | { status: "already-released"; id: number; usageEventId: number | null };

/** Operator actions on the queue. Every error is an AppError with a one-line message. */
export function createReviewQueue(db: Db) {
  const ledger = createLedger(db);
  const get = db.prepare<[number], UsageReviewRow>(
    `SELECT ${USAGE_REVIEW_COLUMNS} FROM usage_review WHERE id = ?`,
  );
  const resolve = db.prepare<[string, number, string, number | null, number]>(
    "UPDATE usage_review SET status = ?, resolved_at_ms = ?, resolution = ?, usage_event_id = ? WHERE id = ?",
  );
  const usage = createUsageWriter(db);

  const billedRow = db.prepare<[number], { cost: string; account_id: string }>(
    "SELECT CAST(cost_pico_usd AS TEXT) AS cost, account_id FROM usage_events WHERE id = ?",
  );
  /** A listed item, with what its release billed (see `HeldEvent.billedCostUsd`). */
  function withBilled(r: UsageReviewRow): HeldEvent {
    const h = fromRow(r);
    if (r.status !== "released" || r.usage_event_id === null) return h;
    const b = billedRow.get(r.usage_event_id);
    if (!b) return h;
    return { ...h, billedCostUsd: formatPicoUsd(BigInt(b.cost)), billedAccountId: b.account_id };
  }

  function row(id: number): UsageReviewRow {
    const r = get.get(id);
    if (!r) throw new AppError(ErrorCode.NotFound, `no review item #${id}`);
    return r;
  }

  const releaseTx = db.transaction((id: number, o: ReleaseOptions): ReleaseOutcome => {
    const r = row(id);
    if (r.status === "released") return { status: "already-released", id, usageEventId: r.usage_event_id };
    if (r.status === "voided")
      throw new AppError(ErrorCode.Conflict, `review item #${id} was voided; it cannot be released`);
    const e = JSON.parse(r.event_json) as UsageEvent;
    // Billed by another path meanwhile (cannot happen through the meter, which sees the claim),
    // or another copy of the same provider response was (held or billed under another identity:
    // see responseKeyOf).
    // A call of another prompt under the same id (a relay that reuses one) is another call: its
    // response identity is recorded under its own slot (identity.ts promptsOf).
    const copy =
      typeof e.provider === "string" && hasResponseIdentity(r.dedupe_key, e.responseId)
        ? usage.responseCopy(
            e.provider,
            e.responseId,
            e.messageTsMs,
            promptsOf(e),
            false,
            typeof e.sessionId === "string" ? e.sessionId : null,
            typeof e.sessionKey === "string" ? e.sessionKey : null,
          )
        : null;
    const existingId = usage.idByDedupeKey(r.dedupe_key) ?? (copy !== null && "id" in copy ? copy.id : null);
    if (existingId !== null) {
      resolve.run("released", o.nowMs, `${o.reason} (already billed)`, existingId, id);
      return { status: "already-released", id, usageEventId: existingId };
    }
    // The id as read: event_json keeps a lone surrogate (JSON escapes it); account_id does not.
    const readFor = typeof e.accountId === "string" ? e.accountId : r.account_id;
    const accountId = o.accountId ?? readFor;
    if (o.accountId !== undefined) assertAccountId(o.accountId);
    else if (accountProblem(readFor))
      throw new AppError(
        ErrorCode.InvalidRequest,
        `review item #${id} cannot be billed to the account it was read for (${accountProblem(readFor)}); give the account to bill with --account <id>, or void it`,
      );
    const tsOk = Number.isSafeInteger(e.messageTsMs) && e.messageTsMs >= MIN_TIMESTAMP_MS;
    const ts = tsOk && e.messageTsMs <= o.nowMs + MAX_FUTURE_MS ? e.messageTsMs : r.created_at_ms;
    const computed = r.cost_pico_usd === null ? repriced(e, ts, o.pricer) : BigInt(r.cost_pico_usd);
    const cost = o.costPicoUsd ?? computed;
    if (cost === null)
      throw new AppError(
        ErrorCode.InvalidRequest,
        `review item #${id} has no computed cost: give one with --cost-usd`,
      );
    // in USD, with the bound (before 2026-12-04: `cost 99999999999000000000000 pico-USD is out of
    // range`, internal units and no limit named)
    if (cost < 0n || cost > MAX_COST_PICO_USD)
      throw new AppError(
        ErrorCode.InvalidRequest,
        `cost $${formatPicoUsd(cost)} is out of range: at most $${formatPicoUsd(MAX_COST_PICO_USD)}`,
      );
    const charge = chargeMicroCredits(cost, o.markup, o.creditsPerUsd);
    if (charge > MAX_SAFE)
      throw new AppError(
        ErrorCode.InvalidRequest,
        `charge ${charge} micro-credits exceeds 2^53; give a lower --cost-usd`,
      );
    const posted = ledger.post({
      accountId,
      kind: "usage",
      amountMicroCredits: -charge,
      idempotencyKey: `usage:${r.dedupe_key}`,
      reason: `review #${id} released: ${o.reason}`.slice(0, 500),
      ref: e.sessionKey ?? e.sessionId ?? null,
      nowMs: o.nowMs,
    });
    const safe = (n: number) => (Number.isSafeInteger(n) && n >= 0 ? n : 0);
    const usageEventId = usage.insert({
      dedupe_key: r.dedupe_key,
      ledger_entry_id: posted.entryId,
      account_id: accountId,
      agent_id: r.agent_id,
      session_id: e.sessionId ?? null,
      session_key: e.sessionKey ?? null,
      source: r.source,
      source_ref: r.source_ref,
      provider: r.provider,
      model: r.model,
      api: e.api ?? null,
      response_id: e.responseId ?? null,
      ...(copy !== null && "slot" in copy && copy.slot !== e.responseId ? { response_slot: copy.slot } : {}),
      message_ts_ms: ts,
      input_tokens: safe(e.input),
      output_tokens: safe(e.output),
      cache_read_tokens: safe(e.cacheRead),
      cache_write_tokens: safe(e.cacheWrite),
      cache_write_1h_tokens: Math.min(safe(e.cacheWrite1h ?? 0), safe(e.cacheWrite)),
      total_tokens: safe(e.totalTokens),
      reasoning_tokens: e.reasoningTokens ?? null,
      stop_reason: e.stopReason ?? null,
      is_error: e.isError ? 1 : 0,
      error_message: e.errorMessage ?? null,
      recorded_cost_pico_usd: null,
      cost_pico_usd: cost,
      table_cost_pico_usd: null,
      charge_micro_credits: Number(charge),
      charge_pico_usd: microCreditsToPicoUsd(charge, o.creditsPerUsd),
      price_source: o.costPicoUsd === undefined ? (r.price_source ?? "review") : "review",
      price_version: o.costPicoUsd === undefined ? (r.price_version ?? "review") : `review:${id}`,
      unknown_model: 0,
      anomaly:
        `released from review #${id} (${r.reason})${accountId === readFor ? "" : ` to ${accountId}`}: ${o.reason}`.slice(
          0,
          1000,
        ),
      created_at_ms: o.nowMs,
      latency_ms: e.latencyMs ?? null,
      preview_user: e.userPreview ?? null,
      preview_reply: e.replyPreview ?? null,
      // a later copy's difference held, then released: no request of its own (see the biller)
      ...(e.tierInputTotal !== undefined ? { requests: 0 } : {}),
    });
    resolve.run("released", o.nowMs, o.reason, usageEventId, id);
    return {
      status: "released",
      id,
      accountId,
      usageEventId,
      chargeMicroCredits: toMicroCredits(charge, "charge"),
      balanceMicroCredits: posted.balanceMicroCredits,
    };
  });

  const voidTx = db.transaction((id: number, reason: string, nowMs: number) => {
    const r = row(id);
    if (r.status === "voided") return { status: "already-voided" as const, id };
    if (r.status === "released")
      throw new AppError(
        ErrorCode.Conflict,
        `review item #${id} was already released (billed); refund it with a grant instead`,
      );
    resolve.run("voided", nowMs, reason, null, id);
    return { status: "voided" as const, id };
  });

  const needReason = (reason: string) => {
    if (!reason.trim())
      throw new AppError(ErrorCode.InvalidRequest, "a reason is required (why the call stays unbilled)");
  };

  return {
    /** Items, newest first; `status` "all" lists every state. */
    list(status: ReviewStatus | "all" = "held", limit = 100): HeldEvent[] {
      const rows =
        status === "all"
          ? db
              .prepare<[number], UsageReviewRow>(
                `SELECT ${USAGE_REVIEW_COLUMNS} FROM usage_review ORDER BY id DESC LIMIT ?`,
              )
              .all(limit)
          : db
              .prepare<[string, number], UsageReviewRow>(
                `SELECT ${USAGE_REVIEW_COLUMNS} FROM usage_review WHERE status = ? ORDER BY id DESC LIMIT ?`,
              )
              .all(status, limit);
      return rows.map(withBilled);
    },
    get(id: number): HeldEvent {
      return withBilled(row(id));
    },
    /** Bills a held item exactly once (IMMEDIATE transaction; idempotent). */
    release(id: number, o: ReleaseOptions): ReleaseOutcome {
      needReason(o.reason);
      return releaseTx.immediate(id, o);
    },
    /** Marks a held item as never to be billed (idempotent). */
    void(id: number, reason: string, nowMs: number): { status: "voided" | "already-voided"; id: number } {
      needReason(reason);
      return voidTx.immediate(id, reason, nowMs);
    },
    summary(): HeldSummary {
      return heldSummary(db);
    },
  };
}

export type ReviewQueue = ReturnType<typeof createReviewQueue>;

/**
 * The cost of a held call priced now (null when there is no pricer or its token counts cannot be
 * priced): the timestamp it is billed under replaces an absurd one, so the table price in effect
 * then applies.
 */
function repriced(e: UsageEvent, tsMs: number, pricer: Pricer | undefined): bigint | null {
  if (!pricer) return null;
  const dated = { ...e, messageTsMs: tsMs };
  // The biller's own ranges: with a sane timestamp, only an unpriceable token count remains.
  return inputProblem(dated, tsMs) === null ? pricer.price(dated).costPicoUsd : null;
}
