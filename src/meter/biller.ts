import type { Ledger } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { chargeMicroCredits, type Ratio, toSafeNumber, usdFloatToPico } from "../money.js";
import { dedupeKey } from "./identity.js";
import type { SourceBatch } from "./source.js";
import type { Pricer, UsageEvent } from "./types.js";

export interface BillResult {
  billed: number;
  duplicates: number;
  chargedMicroCredits: bigint;
  unknownModels: Set<string>;
  /**
   * How each unknown model's calls were priced: `recorded` (the transcript's own cost estimate)
   * and/or `fallback` (`CREDITGATE_FALLBACK_PRICE`).
   */
  unknownModelSources: Map<string, Set<"recorded" | "fallback">>;
}

export interface BillerOptions {
  pricer: Pricer;
  markup: Ratio;
  creditsPerUsd: Ratio;
  nowMs?: () => number;
  /** Called after each committed batch with what it billed (metrics, wake-ups). */
  onBilled?: (events: BilledEvent[]) => void;
  /**
   * Runs INSIDE the billing transaction after the batch's debits: the place for a transactional
   * outbox (e.g. "re-check this user's limits"), so the hand-off commits or rolls back with them.
   */
  inTransaction?: (db: Db, billed: readonly BilledEvent[], nowMs: number) => void;
}

export interface BilledEvent {
  usageId: number;
  accountId: string;
  agentId: string;
  chargeMicroCredits: number;
  balanceMicroCredits: number;
}

/**
 * Bills usage events exactly once. One IMMEDIATE transaction per batch holds: the usage rows
 * (UNIQUE dedupe key), their ledger debits (UNIQUE idempotency key `usage:<dedupeKey>`), the
 * balance changes, the session map and the source's cursor move. Usage that happened is
 * always recorded, even past a zero balance: stopping the user is the worker's job.
 */
export function createBiller(db: Db, ledger: Ledger, opts: BillerOptions) {
  const now = opts.nowMs ?? Date.now;
  const insertUsage = db.prepare(
    `INSERT INTO usage_events (dedupe_key, ledger_entry_id, account_id, agent_id, session_id, session_key,
       source, source_ref, provider, model, api, response_id, message_ts_ms, input_tokens, output_tokens,
       cache_read_tokens, cache_write_tokens, total_tokens, reasoning_tokens, stop_reason, is_error,
       error_message, recorded_cost_pico_usd, cost_pico_usd, charge_micro_credits, price_source,
       price_version, unknown_model, created_at_ms, cache_write_1h_tokens, table_cost_pico_usd)
     VALUES (${Array.from({ length: 31 }, () => "?").join(", ")})`,
  );
  const usageExists = db.prepare<[string], { id: number }>(
    "SELECT id FROM usage_events WHERE dedupe_key = ?",
  );
  const upsertSession = db.prepare(
    `INSERT INTO meter_sessions (agent_id, session_id, session_key, account_id, channel, first_seen_ms, updated_at_ms)
     VALUES (@agentId, @sessionId, @sessionKey, @accountId, @channel, @nowMs, @nowMs)
     ON CONFLICT(agent_id, session_id) DO UPDATE SET
       session_key = COALESCE(excluded.session_key, session_key),
       account_id = COALESCE(excluded.account_id, account_id),
       channel = COALESCE(excluded.channel, channel),
       updated_at_ms = excluded.updated_at_ms
     WHERE excluded.session_key IS NOT session_key OR excluded.account_id IS NOT account_id
       OR excluded.channel IS NOT channel`,
  );
  const insertReject = db.prepare(
    "INSERT INTO meter_rejects (source_ref, reason, created_at_ms) VALUES (?, ?, ?) ON CONFLICT(source_ref) DO NOTHING",
  );

  function billOne(
    e: UsageEvent,
    nowMs: number,
    poster: ReturnType<Ledger["batchPoster"]>,
    result: BillResult,
    billed: BilledEvent[],
  ): void {
    const key = e.dedupeKey ?? dedupeKey(e);
    if (usageExists.get(key)) {
      result.duplicates++;
      return;
    }
    const quote = opts.pricer.price(e);
    const charge = chargeMicroCredits(quote.costPicoUsd, opts.markup, opts.creditsPerUsd);
    if (quote.unknownModel) {
      const model = `${e.provider}/${e.model}`;
      result.unknownModels.add(model);
      const how = quote.source === "fallback" ? "fallback" : "recorded";
      const seen = result.unknownModelSources.get(model);
      if (seen) seen.add(how);
      else result.unknownModelSources.set(model, new Set([how]));
    }
    const posted = poster.post({
      accountId: e.accountId,
      kind: "usage",
      amountMicroCredits: -charge,
      idempotencyKey: `usage:${key}`,
      reason: `${e.provider}/${e.model}`,
      ref: e.sessionKey ?? e.sessionId ?? null,
      nowMs,
    });
    const info = insertUsage.run(
      key,
      posted.entryId,
      e.accountId,
      e.agentId,
      e.sessionId,
      e.sessionKey,
      e.source,
      e.sourceRef,
      e.provider,
      e.model,
      e.api,
      e.responseId,
      e.messageTsMs,
      e.input,
      e.output,
      e.cacheRead,
      e.cacheWrite,
      e.totalTokens,
      e.reasoningTokens,
      e.stopReason,
      e.isError ? 1 : 0,
      e.errorMessage,
      e.recordedCostUsd === null ? null : toSafeNumber(usdFloatToPico(e.recordedCostUsd)),
      toSafeNumber(quote.costPicoUsd, "cost"),
      toSafeNumber(charge, "charge"),
      quote.source,
      quote.version,
      quote.unknownModel ? 1 : 0,
      nowMs,
      e.cacheWrite1h ?? 0,
      // Informational only: a list price past the safe range is not stored rather than failing the batch.
      quote.tableCostPicoUsd !== undefined && quote.tableCostPicoUsd <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(quote.tableCostPicoUsd)
        : null,
    );
    result.billed++;
    result.chargedMicroCredits += charge;
    billed.push({
      usageId: Number(info.lastInsertRowid),
      accountId: e.accountId,
      agentId: e.agentId,
      chargeMicroCredits: Number(charge),
      balanceMicroCredits: posted.balanceMicroCredits,
    });
  }

  const billTx = db.transaction((batch: SourceBatch, result: BillResult, billed: BilledEvent[]) => {
    const nowMs = now();
    for (const s of batch.sessions) upsertSession.run({ ...s, nowMs });
    for (const r of batch.rejects) insertReject.run(r.sourceRef, r.reason, nowMs);
    const poster = ledger.batchPoster();
    for (const e of batch.events) billOne(e, nowMs, poster, result, billed);
    poster.finish(nowMs);
    if (billed.length > 0) opts.inTransaction?.(db, billed, nowMs);
    batch.commit(db);
  });

  return {
    /** Bills one batch and commits its cursor atomically. */
    bill(batch: SourceBatch): BillResult {
      const result: BillResult = {
        billed: 0,
        duplicates: 0,
        chargedMicroCredits: 0n,
        unknownModels: new Set(),
        unknownModelSources: new Map(),
      };
      const billed: BilledEvent[] = [];
      billTx.immediate(batch, result, billed);
      if (billed.length > 0) opts.onBilled?.(billed);
      return result;
    },
  };
}

export type Biller = ReturnType<typeof createBiller>;
