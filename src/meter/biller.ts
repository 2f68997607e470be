import { foldLookAlikes, type Ledger } from "../credits/index.js";
import { type Db, isPostgres } from "../db/index.js";
import {
  chargeMicroCredits,
  decimalToScaled,
  type MicroCredits,
  microCreditsToPicoUsd,
  type Ratio,
  toMicroCredits,
} from "../money.js";
import { createCursorRepo } from "./cursor-repo.js";
import {
  type CallPlace,
  codexTwinProviders,
  dedupeKey,
  hasResponseIdentity,
  LEGACY_CODEX_PROVIDERS,
  mayBeCopies,
  type PromptCounts,
  PUSH_IDENTITY_PREFIX,
  promptsOf,
  promptTotal,
  responseKeyOf,
  responsePlaceSlotOf,
  responseSlotOf,
  samePrompt,
  secondsTwinKeyOf,
  zonelessTwinTimes,
} from "./identity.js";
import { recordedCostPico } from "./pricing.js";
import { createReviewWriter } from "./review.js";
import { sessionFactParams, UPSERT_SESSION_SQL } from "./session-memory.js";
import type { SourceBatch } from "./source.js";
import { supersedingCall } from "./sources/batch-builder.js";
import type { Pricer, UsageEvent } from "./types.js";
import { createUsageWriter, type NewUsageEventRow } from "./usage-repo.js";
import {
  accountProblem,
  belowListAnomaly,
  billedZeroAnomaly,
  byokFeeAnomaly,
  costProblem,
  DEFAULT_MAX_CALL_USD,
  estimateSlipAnomaly,
  inputProblem,
  MAX_INT64,
  MAX_SAFE,
  recordedCostAnomaly,
} from "./validate.js";

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
  /** Calls held for the operator's review this batch (see review.ts), and their computed cost. */
  held: number;
  heldCostPicoUsd: bigint;
  /**
   * Of `held`, the calls with no computed cost (an unreadable count, audio tokens, a nameless
   * call: `review release --cost-usd` prices them), so not in `heldCostPicoUsd`.
   */
  heldUnpriced: number;
  /** Why each held call was held, in order (no content: reasons are built from numbers). */
  heldReasons: { sourceRef: string; reason: string }[];
  /** Calls billed with a note on their row (`usage_events.anomaly`), e.g. a cost far under the list price. */
  anomalies: { sourceRef: string; reason: string }[];
  /**
   * Store session cursor moves of the batch not applied because another meter on this database
   * moved the cursor since the batch was read (see cursor-repo.ts `write`).
   */
  cursorsKept: number;
}

export interface BillerOptions {
  pricer: Pricer;
  markup: Ratio;
  creditsPerUsd: Ratio;
  /**
   * Per-call cost ceiling in pico-USD (`CREDITGATE_REVIEW_MAX_CALL_USD`); a call above it is held
   * for review. @defaultValue $200
   */
  maxCallPicoUsd?: bigint;
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
  /** The call's identity (its usage row's `dedupe_key`). */
  dedupeKey: string;
  accountId: string;
  agentId: string;
  chargeMicroCredits: MicroCredits;
  balanceMicroCredits: MicroCredits;
}

/** What one event came to: billed, a duplicate of a known identity, or held for review. */
export type EventOutcome = "billed" | "duplicate" | "held";

/**
 * Bills usage events exactly once. One IMMEDIATE transaction per batch holds: the usage rows
 * (UNIQUE dedupe key: what makes a call billed once), ONE `usage` ledger debit per account for
 * the batch's newly billed calls (UNIQUE idempotency key `usage-batch:<dedupe key of the
 * account's first call in the batch>`, reason `N calls (provider/model)`; each usage row's
 * `ledger_entry_id` points at it and keeps its own `charge_micro_credits`), the balance
 * changes, the session map and the source's cursor move. Duplicates and held calls add nothing
 * to the entry; an account with no newly billed call gets no entry. Usage that happened is
 * always recorded, even past a zero balance: stopping the user is the worker's job.
 *
 * No event can stop the others: each is validated first (validate.ts), and one that cannot be
 * priced sanely is HELD in the review queue (usage_review, claiming its dedupe key) in the same
 * transaction. If anything else throws while billing a batch, the batch is retried once with
 * each event in its own savepoint: the event that throws is held with the error as its reason,
 * the others are billed (in that retry each billed call is its own group, so its own entry). Only database-level failures (full, locked, I/O) fail the batch; its
 * cursor then does not move and the batch is retried next poll.
 */
export function createBiller(db: Db, ledger: Ledger, opts: BillerOptions) {
  const now = opts.nowMs ?? Date.now;
  const maxCallPico = opts.maxCallPicoUsd ?? decimalToScaled(DEFAULT_MAX_CALL_USD, 12);
  const review = createReviewWriter(db);
  const accountRow = db.prepare<[string], { one: number }>("SELECT 1 AS one FROM accounts WHERE id = ?");
  /**
   * The account a call named `id` is billed to: `id` itself when it is ASCII or an account of that
   * exact spelling exists, else its look-alike characters folded (`foldLookAlikes`: NFKC, other
   * scripts' digits) as the operator's entry points fold a new id (`resolveAccountId`). Decided
   * here, against the ledger, not when a session key is read: a person billed before 2026-12-04
   * under an id NFKC changes (an `identityLinks` name in halfwidth kana `ﾀﾛｳ`, a ligature, a
   * decomposed accent) keeps the account holding their prepaid balance, the one the plugin's gate
   * and `/consumo` find by the exact id, instead of new calls going to a second account
   * (`タロウ`, balance 0) while the gate kept reading the first (case account-id-fold-keeps-billed).
   */
  const billedAccountId = (id: string): string => {
    const folded = foldLookAlikes(id);
    return folded === id || accountRow.get(id) !== undefined ? id : folded;
  };
  /** `batch` with every call's and session's account as {@link billedAccountId} names it. */
  const withBilledAccounts = (batch: SourceBatch): SourceBatch => {
    const moved = (id: string | null) => id !== null && billedAccountId(id) !== id;
    const events = batch.events.some((e) => moved(e.accountId))
      ? batch.events.map((e) => (moved(e.accountId) ? { ...e, accountId: billedAccountId(e.accountId) } : e))
      : batch.events;
    const sessions = batch.sessions.some((s) => moved(s.accountId))
      ? batch.sessions.map((s) =>
          s.accountId !== null && moved(s.accountId) ? { ...s, accountId: billedAccountId(s.accountId) } : s,
        )
      : batch.sessions;
    return events === batch.events && sessions === batch.sessions ? batch : { ...batch, events, sessions };
  };
  const usage = createUsageWriter(db);
  const cursors = createCursorRepo(db);
  const upsertSession = db.prepare(UPSERT_SESSION_SQL);
  const insertReject = db.prepare(
    "INSERT INTO meter_rejects (source_ref, reason, created_at_ms) VALUES (?, ?, ?) ON CONFLICT(source_ref) DO NOTHING",
  );

  /**
   * False while usage_review is empty, which skips a lookup per event on the hot path. Read at
   * the start of each batch inside its IMMEDIATE transaction (no other writer can add a row
   * meanwhile) and set by every hold.
   */
  let reviewNonEmpty = true;
  const anyReview = db.prepare<[], { one: number }>("SELECT 1 AS one FROM usage_review LIMIT 1");
  /**
   * Dedupe keys of usage rows removed by retention (docs/retention.md): a call billed before and
   * archived since is still a duplicate. Like the review check, skipped while the table is empty.
   */
  let archivedNonEmpty = true;
  const anyArchived = db.prepare<[], { one: number }>("SELECT 1 AS one FROM usage_archived_keys LIMIT 1");
  const archivedKey = db.prepare<[string], { one: number }>(
    "SELECT 1 AS one FROM usage_archived_keys WHERE dedupe_key = ?",
  );
  /**
   * Identities of lesser copies of an entry whose greater copy was billed in their place
   * (`supersedes`): such a copy read later (another file, an edge's late push) is a duplicate, not
   * a call on top of its final. Like the archived check, skipped while the table is empty.
   */
  let supersededNonEmpty = true;
  /** The session and account of a row billed, or the event of one held, under a zone-less call's twin key. */
  const zonelessTwinRow = db.prepare<[string], { s: string | null; a: string }>(
    "SELECT session_id AS s, account_id AS a FROM usage_events WHERE dedupe_key = ?",
  );
  const zonelessHeldEvent = db.prepare<[string], { j: string }>(
    "SELECT event_json AS j FROM usage_review WHERE dedupe_key = ?",
  );
  const anySuperseded = db.prepare<[], { one: number }>("SELECT 1 AS one FROM usage_superseded_keys LIMIT 1");
  const supersededKey = db.prepare<[string], { one: number }>(
    "SELECT 1 AS one FROM usage_superseded_keys WHERE dedupe_key = ?",
  );
  const rememberSuperseded = db.prepare<[string]>(
    "INSERT INTO usage_superseded_keys (dedupe_key) VALUES (?) ON CONFLICT(dedupe_key) DO NOTHING",
  );
  /** The identity of the lesser copy `e.supersedes` names, or undefined. */
  function supersededKeyOf(e: UsageEvent): string | undefined {
    if (e.supersedes === undefined) return undefined;
    try {
      const c = JSON.parse(e.supersedes) as { key?: unknown };
      return typeof c?.key === "string" ? c.key : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * How a batch learns which of its dedupe keys are already billed. Null: one SELECT per key
   * (isolated retry). A set: the keys found by one lookup of the whole batch. NONE_BILLED
   * (optimistic mode): no lookup at all; the UNIQUE constraints on `usage_events.dedupe_key`
   * and on the entry's idempotency key answer instead, by throwing, and the whole batch is then
   * rolled back and billed again with the lookup. Keys billed earlier in the same batch are
   * caught by `groups.has`.
   */
  let billedKeys: ReadonlySet<string> | null = null;
  /** Optimistic mode while the last batch had no duplicate: a backlog pays no lookup per call. */
  let optimistic = true;

  /**
   * Whether a call under a legacy Codex spelling (`openai-codex`, `codex`) was ever billed or held,
   * or is in the batch being billed: read at each batch's start (two small tables). Until then an
   * `openai` line has no twin to find.
   */
  const legacyCodexIn = LEGACY_CODEX_PROVIDERS.map((p) => `'${p}'`).join(", ");
  const anyLegacyCodex = db.prepare<[], { one: number }>(
    `SELECT 1 AS one FROM usage_daily_totals WHERE provider IN (${legacyCodexIn})
     UNION ALL SELECT 1 AS one FROM usage_review WHERE provider IN (${legacyCodexIn}) LIMIT 1`,
  );
  let legacyCodexSeen = true;

  /**
   * Whether a Codex line's twin (the same call under another provider spelling, identity.ts
   * `codexTwinProviders`: `openclaw doctor --fix` renames legacy lines in place) is billed, held,
   * archived or in this batch's groups (null: not looked at), by identity or by response
   * identity. Looked up also in optimistic mode (no UNIQUE constraint catches a twin): two
   * identities and up to four SELECTs per Codex line, for an `openai` line only once
   * `legacyCodexSeen`. False at once for every other line and for a push under an ordinary key.
   */
  function twinBilled(e: UsageEvent, groups: BatchGroups | null): boolean {
    // a push under an ordinary idempotency key settles only itself (identity.ts)
    if (e.dedupeKey?.startsWith(PUSH_IDENTITY_PREFIX)) return false;
    // a call whose entry time has no zone: billed before, in the host's zone of that run
    // (2026-12-04, case zoneless-twin-distinct-sessions): only a row billed or held before, of the
    // same session or the same account. The identity holds neither, so another user's call of the
    // same counts a whole quarter hour apart (two users' identical first turn) has a twin's key; it
    // was taken for billed and lost. A `.reset`/`.deleted` copy keeps its session id, a fork or
    // checkpoint its account. A key of this batch is a twin on the same terms when its call was not
    // itself read as UTC by this build (no `zonelessTime`): a center's push request can hold an old
    // edge's event (host-zone identity, left in its outbox across the upgrade) beside the upgraded
    // edge's copy of it; a local batch's zone-less keys are all UTC, so none of them is a twin.
    if (e.zonelessTime === true && e.identityTsMs === undefined) {
      // read as UTC by this build: not a host-zone identity
      // a whole-second time's identity holds its entry id since 2026-12-05: the host-zone
      // identities billed before held none
      const { identityEntryId: _, ...noId } = e;
      for (const t of zonelessTwinTimes(e.messageTsMs))
        if (
          callerTwinBilled(dedupeKey({ ...noId, messageTsMs: t }), e, groups, (c) => c.zonelessTime !== true)
        )
          return true;
    }
    // a call whose time was written in epoch seconds: billed or held before 2026-12-04 evening
    // under the identity without its entry id (identity.ts `secondsTwinKeyOf`), which another
    // user's call of the same second and counts shares: a twin only of the same session or account,
    // as above. A key of this batch is one only when its call has no entry id in its identity (an
    // older edge's push).
    // The same for a copy of such a call under another entry id in its own session (secondsCopyBilled).
    const secondsTwin = secondsTwinKeyOf(e);
    if (secondsTwin !== null) {
      if (callerTwinBilled(secondsTwin, e, groups, (c) => c.identityEntryId === undefined)) return true;
      if (secondsCopyBilled(e, groups)) return true;
    }
    // a call with no time of its own whose identity holds its entry id: a copy under a new entry id
    // in its own session (untimedCopyBilled)
    if (e.identityTsMs === 0 && e.identityEntryId !== undefined && untimedCopyBilled(e, groups)) return true;
    return codexTwinBilled(e, groups);
  }

  /**
   * Whether `twinKey`, another identity call `e` may have been billed or held under, is billed or
   * held for the same caller (`sameCaller`: its session or account), archived, or in this batch's
   * groups for a call `inBatchTwin` accepts and of the same caller.
   */
  function callerTwinBilled(
    twinKey: string,
    e: UsageEvent,
    groups: BatchGroups | null,
    inBatchTwin: (c: UsageEvent) => boolean,
  ): boolean {
    const inBatch = groups?.callOf(twinKey);
    if (
      inBatch !== undefined &&
      inBatchTwin(inBatch) &&
      sameCaller({ s: inBatch.sessionId, a: inBatch.accountId }, e)
    )
      return true;
    const billed = zonelessTwinRow.get(twinKey);
    if (billed !== undefined && sameCaller(billed, e)) return true;
    if (reviewNonEmpty) {
      const held = zonelessHeldEvent.get(twinKey);
      if (held !== undefined && sameCaller(heldCallerOf(held.j), e)) return true;
    }
    // an archived row keeps only its key (retention archives rows long past: a call of today
    // is no twin of one)
    return archivedNonEmpty && archivedKey.get(twinKey) !== undefined;
  }

  /**
   * The calls with a seconds time this biller looked at, by the joined {@link secondsCopyFields}: the
   * identity of the first (a copy of it is one while it is in the batch being billed:
   * `groups.callOf`; once written, `secondsCopyRow` finds it).
   */
  const secondsCalls = new Map<string, string>();
  /** A call billed in the same session at the same time (ms) with the same provider, model and counts. */
  const secondsCopyRow = db.prepare<
    [number, string, string, string, number, number, number, number],
    { one: number }
  >(
    `SELECT 1 AS one FROM usage_events WHERE message_ts_ms = ? AND session_id = ? AND provider = ? AND model = ?
       AND input_tokens = ? AND output_tokens = ? AND cache_read_tokens = ? AND cache_write_tokens = ? LIMIT 1`,
  );

  /**
   * What a copy of a seconds call (another entry id, the same message) has in common with it, in
   * `secondsCopyRow`'s parameter order (joined: its signature in `secondsCalls`).
   */
  function secondsCopyFields(
    e: UsageEvent,
    sessionId: string,
  ): [number, string, string, string, number, number, number, number] {
    return [e.messageTsMs, sessionId, e.provider, e.model, e.input, e.output, e.cacheRead, e.cacheWrite];
  }

  /**
   * Whether call `e`, with a seconds time and its entry id in its identity (identity.ts
   * `secondsTwinKeyOf`), is a copy of a call of the **same session** at the same time (ms) with the
   * same counts, billed before or in this batch: OpenClaw's transcript rewrite appends a message
   * again under a new entry id (shared/reference/openclaw.md §2.4), which the entry id in the
   * identity would otherwise take for another call. Two users' calls are in two sessions.
   */
  function secondsCopyBilled(e: UsageEvent, groups: BatchGroups | null): boolean {
    if (e.sessionId == null) return false;
    const key = e.dedupeKey ?? dedupeKey(e);
    const fields = secondsCopyFields(e, e.sessionId);
    const sig = fields.join("\u001f");
    const first = secondsCalls.get(sig);
    if (first !== undefined && first !== key && groups?.callOf(first) !== undefined) return true;
    const row = secondsCopyRow.get(...fields);
    if (row !== undefined) return true;
    if (secondsCalls.size >= 10_000) secondsCalls.clear();
    secondsCalls.set(sig, key);
    return false;
  }

  /**
   * A call with no time of its own (identity time 0: its key starts `000000000000-`) billed in the
   * same session, dated alike (by the same entry before it: no timed line, a user's message, between
   * them), with the same provider, model and counts.
   */
  const untimedCopyRow = db.prepare<
    [number, string, string, string, number, number, number, number],
    { one: number }
  >(
    `SELECT 1 AS one FROM usage_events WHERE dedupe_key >= '000000000000-' AND dedupe_key < '000000000001'
       AND message_ts_ms = ? AND session_id = ? AND provider = ? AND model = ?
       AND input_tokens = ? AND output_tokens = ? AND cache_read_tokens = ? AND cache_write_tokens = ? LIMIT 1`,
  );

  /**
   * Whether call `e`, with no time of its own and its entry id in its identity (parse.ts: a line
   * with no readable time), is a copy of such a call of the **same session** and turn (dated by the
   * same entry: BatchBuilder dates such a call from the entry before it) with the same provider,
   * model and counts, billed before or in this batch: OpenClaw's transcript rewrite
   * appends a message again under a new entry id (shared/reference/openclaw.md §2.4), the same
   * `message`, so still without a time, and the entry id in the identity took the copy for another
   * call (2026-12-05, case `test/cases/untimed-copy-new-entry-id`). A later call of one
   * conversation sends more than the one before it, so its counts differ; an error reply (a retry
   * of a failing request, each charged) is never taken for a copy.
   */
  function untimedCopyBilled(e: UsageEvent, groups: BatchGroups | null): boolean {
    if (e.sessionId == null || e.isError) return false;
    const key = e.dedupeKey ?? dedupeKey(e);
    const fields: [number, string, string, string, number, number, number, number] = [
      e.messageTsMs,
      e.sessionId,
      e.provider,
      e.model,
      e.input,
      e.output,
      e.cacheRead,
      e.cacheWrite,
    ];
    const sig = `u\u001f${fields.join("\u001f")}`;
    const first = secondsCalls.get(sig);
    if (first !== undefined && first !== key && groups?.callOf(first) !== undefined) return true;
    if (untimedCopyRow.get(...fields) !== undefined) return true;
    if (secondsCalls.size >= 10_000) secondsCalls.clear();
    secondsCalls.set(sig, key);
    return false;
  }

  /** {@link twinBilled} for a Codex line's other provider spellings. */
  function codexTwinBilled(e: UsageEvent, groups: BatchGroups | null): boolean {
    // the common direction (current OpenClaw writes every ChatGPT-subscription call as `openai`)
    // only once a legacy spelling was ever billed or held (a reviewer: ~20 µs a call otherwise)
    if (e.provider === "openai" && !legacyCodexSeen) return false;
    for (const twin of codexTwinProviders(e.provider, e.api)) {
      const twinKey = dedupeKey({ ...e, provider: twin });
      if (
        groups?.has(twinKey) ||
        usage.idByDedupeKey(twinKey) !== null ||
        (reviewNonEmpty && review.claimed(twinKey)) ||
        (archivedNonEmpty && archivedKey.get(twinKey) !== undefined)
      )
        return true;
      if (!hasResponseIdentity(e.dedupeKey, e.responseId)) continue;
      const twinResponse = responseKeyOf(twin, e.responseId);
      const prompts = promptsOf(e);
      if (
        (twinResponse !== null && groups?.hasResponse(twinResponse, prompts, e) === true) ||
        "id" in
          usage.responseCopy(twin, e.responseId, e.messageTsMs, prompts, false, e.sessionId, e.sessionKey)
      )
        return true;
    }
    return false;
  }

  /**
   * Whether a copy of `e`'s provider response (`rkey`, of a prompt in `prompts`: identity.ts
   * `promptsOf`) is billed or in this batch's groups (true); else the text to record its
   * response identity under when it is not the response id itself (a call of another prompt holds
   * that: `responseSlotOf`), else undefined. Optimistic mode: the same day's copy is refused by the
   * table's primary key (the batch is then billed again with lookups); the day next to it is
   * looked up near midnight.
   */
  function responseState(
    e: UsageEvent,
    rkey: string,
    prompts: readonly PromptCounts[],
    groups: BatchGroups,
  ): true | string | undefined {
    if (groups.hasResponse(rkey, prompts, e)) return true;
    const responseId = e.responseId as string;
    const copy = usage.responseCopy(
      e.provider,
      responseId,
      e.messageTsMs,
      prompts,
      billedKeys === NONE_BILLED,
      e.sessionId,
      e.sessionKey,
    );
    if ("id" in copy) return true;
    if (copy.slot === responseId && !groups.responseTaken(rkey)) return undefined;
    const total = prompts[0] ? promptTotal(prompts[0]) : 0;
    // a call of the same prompt in another session and time holds the prompt's slot (identity.ts
    // mayBeCopies): this call's slot is its place's
    return copy.slot !== responseId && copy.slot !== responseSlotOf(responseId, total)
      ? copy.slot
      : groups.samePromptTaken(rkey, prompts)
        ? responsePlaceSlotOf(responseId, total, e)
        : responseSlotOf(responseId, total);
  }

  function hold(
    e: UsageEvent,
    key: string,
    reason: string,
    nowMs: number,
    result: BillResult,
    quote: { cost: bigint | null; charge: bigint | null; source: string | null; version: string | null },
  ): EventOutcome {
    // Optimistic mode looked nothing up: a call billed before must stay a duplicate, not be held.
    if (
      billedKeys === NONE_BILLED &&
      (usage.idByDedupeKey(key) !== null ||
        (hasResponseIdentity(e.dedupeKey, e.responseId) &&
          "id" in
            usage.responseCopy(
              e.provider,
              e.responseId,
              e.messageTsMs,
              promptsOf(e),
              false,
              e.sessionId,
              e.sessionKey,
            )) ||
        twinBilled(e, null))
    ) {
      result.duplicates++;
      return "duplicate";
    }
    reviewNonEmpty = true;
    if (
      !review.hold({
        event: e,
        dedupeKey: key,
        reason,
        costPicoUsd: quote.cost,
        chargeMicroCredits: quote.charge,
        priceSource: quote.source,
        priceVersion: quote.version,
        nowMs,
      })
    ) {
      result.duplicates++;
      return "duplicate";
    }
    result.held++;
    if (quote.cost === null) result.heldUnpriced++;
    else result.heldCostPicoUsd += quote.cost;
    result.heldReasons.push({ sourceRef: e.sourceRef, reason });
    return "held";
  }

  const NO_QUOTE = { cost: null, charge: null, source: null, version: null };

  /**
   * Checks, prices and records one event. A billable call is added to its account's open group
   * (`groups.add`); the group is written (one ledger entry, then its usage rows) by
   * `groups.flush`: at the end of the batch, or at once in isolated mode, so that a call whose
   * writes throw rolls back inside its own savepoint.
   */
  function billOne(
    e: UsageEvent,
    key: string,
    nowMs: number,
    poster: ReturnType<Ledger["batchPoster"]>,
    groups: BatchGroups,
    result: BillResult,
  ): EventOutcome {
    const rkey = hasResponseIdentity(e.dedupeKey, e.responseId)
      ? responseKeyOf(e.provider, e.responseId)
      : null;
    // A call of another prompt under an id already billed is another call (a relay that reuses
    // one id: identity.ts samePrompt); its response identity is then recorded under its slot.
    const prompts = rkey !== null ? promptsOf(e) : NO_PROMPTS;
    const seen =
      groups.has(key) ||
      (billedKeys ? billedKeys.has(key) : usage.idByDedupeKey(key) !== null) ||
      (reviewNonEmpty && review.claimed(key)) ||
      (archivedNonEmpty && archivedKey.get(key) !== undefined) ||
      (supersededNonEmpty && supersededKey.get(key) !== undefined);
    const response = seen || rkey === null ? undefined : responseState(e, rkey, prompts, groups);
    if (seen || response === true || twinBilled(e, groups)) {
      result.duplicates++;
      return "duplicate";
    }
    const responseSlot = typeof response === "string" ? response : undefined;
    const lesserKey = supersededKeyOf(e);
    if (e.supersedes !== undefined) {
      // a copy of an entry that replaced its lesser copy in the batch: when that copy was billed
      // already (read before from another file), only what this one adds to it is billed
      const call = supersedingCall(
        e,
        (k) =>
          groups.has(k) ||
          usage.idByDedupeKey(k) !== null ||
          (reviewNonEmpty && review.claimed(k)) ||
          (archivedNonEmpty && archivedKey.get(k) !== undefined),
      );
      if (call === null) {
        result.duplicates++;
        return "duplicate";
      }
      e = call;
    }
    const timeOrCounts = inputProblem(e, nowMs);
    const bad = timeOrCounts ?? accountProblem(e.accountId);
    if (bad) {
      // Priced as releasing it would price it (review.ts `repriced`): as of its own time, else
      // (no time, or an absurd one) as of the time it is held; unpriceable counts have no cost.
      const dated = timeOrCounts === null ? e : { ...e, messageTsMs: nowMs };
      if (inputProblem(dated, nowMs) !== null) return hold(e, key, bad, nowMs, result, NO_QUOTE);
      const held = opts.pricer.price(dated);
      return hold(e, key, bad, nowMs, result, {
        cost: held.costPicoUsd,
        charge: chargeMicroCredits(held.costPicoUsd, opts.markup, opts.creditsPerUsd),
        source: held.source,
        version: held.version,
      });
    }
    const quote = opts.pricer.price(e);
    const charge = chargeMicroCredits(quote.costPicoUsd, opts.markup, opts.creditsPerUsd);
    const q = { cost: quote.costPicoUsd, charge, source: quote.source, version: quote.version };
    const costBad = costProblem(e, quote.costPicoUsd, maxCallPico);
    if (costBad) return hold(e, key, costBad, nowMs, result, q);
    if (charge > MAX_SAFE)
      return hold(e, key, `charge ${charge} micro-credits exceeds 2^53`, nowMs, result, q);
    // The balance as it will be once this batch's calls so far are posted.
    const before = poster.balanceOf(e.accountId) - groups.pendingOf(e.accountId);
    if (before - charge < -MAX_SAFE)
      return hold(e, key, `balance after a charge of ${charge} would pass -2^53`, nowMs, result, q);
    // The exact pushed value when an edge sent one (recordedCostPicoUsd), else the float read from the transcript.
    const recordedPico = recordedCostPico(e);
    const anomaly =
      recordedCostAnomaly(e, recordedPico) ??
      billedZeroAnomaly(e, recordedPico, quote) ??
      byokFeeAnomaly(recordedPico, quote) ??
      estimateSlipAnomaly(e, recordedPico, quote) ??
      belowListAnomaly(quote.costPicoUsd, quote.source, quote.tableCostPicoUsd);
    if (anomaly) result.anomalies.push({ sourceRef: e.sourceRef, reason: anomaly });
    if (quote.unknownModel) {
      const model = `${e.provider}/${e.model}`;
      result.unknownModels.add(model);
      const how = quote.source === "fallback" ? "fallback" : "recorded";
      const seen = result.unknownModelSources.get(model);
      if (seen) seen.add(how);
      else result.unknownModelSources.set(model, new Set([how]));
    }
    if (lesserKey !== undefined) {
      // its lesser copy, when read later (not billed yet), is this call: a duplicate
      rememberSuperseded.run(lesserKey);
      supersededNonEmpty = true;
    }
    groups.add(
      e,
      charge,
      {
        dedupe_key: key,
        ledger_entry_id: 0, // set by flush, to the group's entry
        account_id: e.accountId,
        agent_id: e.agentId,
        session_id: e.sessionId,
        session_key: e.sessionKey,
        source: e.source,
        source_ref: e.sourceRef,
        provider: e.provider,
        model: e.model,
        api: e.api,
        response_id: e.responseId,
        // undefined when the call's response id is its own slot (as `requests` below): a plain
        // literal, not spreads of optional parts (2026-12-05: two spreads per billed call sent
        // every row's object through V8's generic object copy)
        response_slot: responseSlot,
        message_ts_ms: e.messageTsMs,
        input_tokens: e.input,
        output_tokens: e.output,
        cache_read_tokens: e.cacheRead,
        cache_write_tokens: e.cacheWrite,
        cache_write_1h_tokens: e.cacheWrite1h ?? 0,
        total_tokens: e.totalTokens,
        reasoning_tokens: e.reasoningTokens,
        stop_reason: e.stopReason,
        is_error: e.isError ? 1 : 0,
        error_message: e.errorMessage,
        // bigint: an absurd recorded cost (10^4 USD = 10^16 pico) is kept exactly, up to int64.
        recorded_cost_pico_usd:
          recordedPico === null ? null : recordedPico > MAX_INT64 ? MAX_INT64 : recordedPico,
        // A number while safe (the usage_daily sums then stay in plain numbers); the same INTEGER.
        cost_pico_usd: quote.costPicoUsd <= MAX_SAFE ? Number(quote.costPicoUsd) : quote.costPicoUsd,
        // Informational only: a list price past the safe range is not stored rather than failing the batch.
        table_cost_pico_usd:
          quote.tableCostPicoUsd !== undefined && quote.tableCostPicoUsd <= MAX_SAFE
            ? Number(quote.tableCostPicoUsd)
            : null,
        charge_micro_credits: Number(charge),
        // its USD value at the rate it is charged at (reports value it so: migration 42); a number
        // while safe, as the cost (2026-12-05: a bigint here sent every row's usage_daily sums
        // through bigints)
        charge_pico_usd: numberWhileSafe(microCreditsToPicoUsd(charge, opts.creditsPerUsd)),
        price_source: quote.source,
        price_version: quote.version,
        unknown_model: quote.unknownModel ? 1 : 0,
        anomaly,
        created_at_ms: nowMs,
        latency_ms: e.latencyMs ?? null,
        preview_user: e.userPreview ?? null,
        preview_reply: e.replyPreview ?? null,
        // the difference billed for a later copy of a call already billed (only it carries
        // tierInputTotal) is no request of its own: the call counted one with its first row
        requests: e.tierInputTotal !== undefined ? 0 : undefined,
      },
      rkey,
    );
    result.billed++;
    result.chargedMicroCredits += charge;
    return "billed";
  }

  /**
   * This batch's billable calls, grouped per account in order of first appearance, each group
   * to be written as ONE `usage` ledger entry (the sum of its charges; idempotency key
   * `usage-batch:<dedupe key of its first call>`, unique because a dedupe key is billed once)
   * followed by its usage rows, each pointing at that entry. A group is closed and a new one
   * opened for the account when its sum would pass 2^53 micro-credits, so an entry's amount is
   * always exact.
   */
  function createGroups(poster: ReturnType<Ledger["batchPoster"]>, billed: BilledEvent[]): BatchGroups {
    const list: UsageGroup[] = [];
    const open = new Map<string, UsageGroup>();
    const pending = new Map<string, bigint>();
    /** Each key in a group of this batch → its call (for a zone-less twin's session and account). */
    const keys = new Map<string, UsageEvent>();
    /** Response identity → the prompt counts (`promptsOf`) and place of each call billed under it. */
    const responses = new Map<string, { prompts: PromptCounts[]; place: CallPlace }[]>();
    const discard = (): void => {
      list.length = 0;
      open.clear();
      pending.clear();
      keys.clear();
      responses.clear();
    };
    return {
      /** True when `key` is already in a group of this batch (a repeat within the batch). */
      has: (key: string) => keys.has(key),
      /** The call under `key` in a group of this batch, if any. */
      callOf: (key: string) => keys.get(key),
      /**
       * True when a copy of the response (`responseKeyOf`), a call of the same prompt
       * (`samePrompt`), is already in a group of this batch.
       */
      hasResponse: (rkey: string, prompts: readonly PromptCounts[], place: CallPlace) =>
        responses.get(rkey)?.some((p) => samePrompt(p.prompts, prompts) && mayBeCopies(p.place, place)) ===
        true,
      /** True when a call of the same prompt (a copy or not) is under the response identity in this batch. */
      samePromptTaken: (rkey: string, prompts: readonly PromptCounts[]) =>
        responses.get(rkey)?.some((p) => samePrompt(p.prompts, prompts)) === true,
      /** True when a call of any prompt under the response identity is in a group of this batch. */
      responseTaken: (rkey: string) => responses.has(rkey),
      /** The charges of the account's calls added but not yet flushed (micro-credits). */
      pendingOf: (accountId: string) => pending.get(accountId) ?? 0n,
      add(e: UsageEvent, charge: bigint, row: NewUsageEventRow, rkey: string | null): void {
        let g = open.get(e.accountId);
        if (!g || g.total + charge > MAX_SAFE) {
          g = {
            accountId: e.accountId,
            total: 0n,
            calls: [],
            ref: e.sessionKey ?? e.sessionId,
            sameRef: true,
            provider: e.provider,
            model: e.model,
            models: null,
          };
          open.set(e.accountId, g);
          list.push(g);
        }
        g.total += charge;
        g.calls.push({ row, charge });
        if (g.sameRef && g.ref !== (e.sessionKey ?? e.sessionId)) g.sameRef = false;
        if (g.models || e.provider !== g.provider || e.model !== g.model) {
          if (!g.models) g.models = new Set([`${g.provider}/${g.model}`]);
          g.models.add(`${e.provider}/${e.model}`);
        }
        pending.set(e.accountId, (pending.get(e.accountId) ?? 0n) + charge);
        keys.set(row.dedupe_key, e);
        if (rkey !== null) {
          const seen = responses.get(rkey);
          const entry = {
            prompts: promptsOf(e),
            place: { sessionId: e.sessionId, messageTsMs: e.messageTsMs, sessionKey: e.sessionKey },
          };
          if (seen) seen.push(entry);
          else responses.set(rkey, [entry]);
        }
      },
      /** Writes every group (entry, then rows) and empties the batch's state. */
      flush(nowMs: number): void {
        const rows: NewUsageEventRow[] = [];
        const firstBilled = billed.length;
        for (const g of list) {
          const n = g.calls.length;
          const first = g.calls[0];
          if (!first) continue;
          const posted = poster.post({
            accountId: g.accountId,
            kind: "usage",
            amountMicroCredits: -g.total,
            idempotencyKey: `usage-batch:${first.row.dedupe_key}`,
            reason: `${n} ${n === 1 ? "call" : "calls"}${modelsNote(g)}`,
            ref: g.sameRef ? g.ref : null,
            nowMs,
          });
          // Each call's BilledEvent carries the balance right after it, as if posted one by one.
          let running = BigInt(posted.balanceMicroCredits) + g.total;
          for (const c of g.calls) {
            c.row.ledger_entry_id = posted.entryId;
            rows.push(c.row);
            running -= c.charge;
            billed.push({
              usageId: 0, // set below, once the rows are written
              dedupeKey: c.row.dedupe_key,
              accountId: g.accountId,
              agentId: c.row.agent_id,
              chargeMicroCredits: toMicroCredits(c.charge, "charge"),
              balanceMicroCredits: toMicroCredits(running, "balance"),
            });
          }
        }
        // All groups' rows in one write: one usage_daily upsert per (day, account, agent,
        // provider, model) of the batch rather than one per call.
        const ids = usage.insertMany(rows);
        for (let i = 0; i < ids.length; i++)
          (billed[firstBilled + i] as BilledEvent).usageId = ids[i] as number;
        discard();
      },
      /** Forgets every group without writing it (after its savepoint rolled back). */
      discard,
    };
  }

  /** A fresh savepoint per event (isolated mode): one that throws rolls back alone and is held. */
  const oneIsolated = db.transaction(
    (
      e: UsageEvent,
      key: string,
      nowMs: number,
      poster: ReturnType<Ledger["batchPoster"]>,
      groups: BatchGroups,
      result: BillResult,
    ) => {
      const outcome = billOne(e, key, nowMs, poster, groups, result);
      groups.flush(nowMs);
      return outcome;
    },
  );

  const billTx = db.transaction(
    (
      batch: SourceBatch,
      result: BillResult,
      billed: BilledEvent[],
      mode: "optimistic" | "lookup" | "isolate",
    ): EventOutcome[] => {
      const isolate = mode === "isolate";
      const nowMs = now();
      batch = withBilledAccounts(batch);
      reviewNonEmpty = anyReview.get() !== undefined;
      archivedNonEmpty = anyArchived.get() !== undefined;
      supersededNonEmpty = anySuperseded.get() !== undefined;
      legacyCodexSeen =
        batch.events.some((e) => LEGACY_CODEX_PROVIDERS.includes(e.provider)) ||
        anyLegacyCodex.get() !== undefined;
      for (const s of batch.sessions) upsertSession.run(sessionFactParams(s, nowMs));
      for (const r of batch.rejects) insertReject.run(r.sourceRef, r.reason, nowMs);
      const poster = ledger.batchPoster();
      const groups = createGroups(poster, billed);
      const outcomes: EventOutcome[] = [];
      // Lesser copies of a response read in this batch wait for their best copy (below); an
      // isolated retry bills copies as read (the first billed one wins).
      const copies = isolate ? null : lesserCopies(batch.events);
      if (!isolate) {
        // A key that cannot be computed throws here: the batch is retried isolated, as before.
        const keys = batch.events.map((e) => e.dedupeKey ?? dedupeKey(e));
        billedKeys = mode === "optimistic" ? NONE_BILLED : usage.billedAmong(keys);
        try {
          for (let i = 0; i < batch.events.length; i++) {
            if (copies?.lesser.has(i)) {
              result.duplicates++;
              outcomes.push("duplicate");
              continue;
            }
            outcomes.push(
              billOne(batch.events[i] as UsageEvent, keys[i] as string, nowMs, poster, groups, result),
            );
          }
          // A best copy that was not billed (held for review: e.g. an absurd count) leaves its
          // response to its next best copy, which is billed if it can be (never none of them).
          for (const [best, rest] of copies?.byBest ?? []) {
            if (outcomes[best] !== "held") continue;
            for (const j of rest) {
              result.duplicates--;
              const o = billOne(
                batch.events[j] as UsageEvent,
                keys[j] as string,
                nowMs,
                poster,
                groups,
                result,
              );
              outcomes[j] = o;
              if (o === "billed") break;
            }
          }
        } finally {
          billedKeys = null;
        }
      }
      for (const e of isolate ? batch.events : []) {
        let key: string;
        try {
          key = e.dedupeKey ?? dedupeKey(e);
        } catch (err) {
          key = `unkeyed:${e.sourceRef}`;
          outcomes.push(hold(e, key, `cannot compute identity: ${errText(err)}`, nowMs, result, NO_QUOTE));
          continue;
        }
        const mark = poster.mark();
        const snapshot = { ...result, unknownModels: result.unknownModels, heldReasons: result.heldReasons };
        const billedLen = billed.length;
        const reasonsLen = result.heldReasons.length;
        const anomaliesLen = result.anomalies.length;
        try {
          outcomes.push(oneIsolated(e, key, nowMs, poster, groups, result));
        } catch (err) {
          if (isDatabaseFailure(err)) throw err;
          // Undo the in-memory effects of the rolled-back savepoint, then hold the event.
          poster.restore(mark);
          groups.discard();
          billed.length = billedLen;
          result.heldReasons.length = reasonsLen;
          result.anomalies.length = anomaliesLen;
          result.billed = snapshot.billed;
          result.duplicates = snapshot.duplicates;
          result.chargedMicroCredits = snapshot.chargedMicroCredits;
          result.held = snapshot.held;
          result.heldCostPicoUsd = snapshot.heldCostPicoUsd;
          result.heldUnpriced = snapshot.heldUnpriced;
          outcomes.push(hold(e, key, `billing failed: ${errText(err)}`, nowMs, result, NO_QUOTE));
        }
      }
      groups.flush(nowMs);
      poster.finish(nowMs);
      if (billed.length > 0) opts.inTransaction?.(db, billed, nowMs);
      result.cursorsKept = cursors.write(batch.cursorMoves, nowMs);
      return outcomes;
    },
  );

  const emptyResult = emptyBillResult;
  const pg = isPostgres(db);

  /**
   * True when the connection's temp database holds an object. Prepared on first use, which is
   * only ever while that database is open (preparing or running it would open it).
   */
  let tempObject: { get(): unknown } | null = null;
  const tempHoldsObjects = (): boolean => {
    tempObject ??= db.prepare("SELECT 1 AS one FROM temp.sqlite_schema LIMIT 1");
    return tempObject.get() !== undefined;
  };
  /**
   * Runs `fn` (one batch's billing transactions) with `temp_store = MEMORY`, so that SQLite keeps
   * its statement journals in memory. Each `usage_daily` upsert (its triggers make it a
   * multi-row statement) and each balance update keeps a statement journal: the pages it changes,
   * to undo the statement alone if it fails. Past 64 KiB SQLite spills that journal to a fresh
   * temp file (/var/tmp/etilqs_*), and from then on writes every journaled page of the
   * transaction there: `strace` of `meter --once` on bench:meter's backlog counted ~57,000
   * `pwrite`s to ~100 temp files, on the writer thread, a third of its write syscalls (199k →
   * 142k with this). A batch's journals are a few hundred pages (~2 MB) at most. Only around the
   * batch: a report's temp b-trees or a VACUUM on this connection stay on disk. The setting
   * read before the batch (0 default, 1 file, 2 memory) is put back after it, also when it throws.
   *
   * The setting stays as it is (the batch journals as configured):
   * - inside an outer transaction (push ingestion's; SQLite refuses the change there);
   * - when the connection's temp database holds anything (a TEMP table, index, trigger or view,
   *   e.g. `loadArchiveRows`' `temp.usage_archive_rows`): changing `temp_store` closes the temp
   *   database, which DELETES all of them. An open but empty temp database is closed by the
   *   change at no loss (its schema is reset, so statements prepare again once). SQLite opens it
   *   for a temp object, a read of `temp.sqlite_schema`, and `ALTER TABLE … RENAME` (migrations
   *   13 and others rebuild tables that way), so a freshly created or migrated database has one,
   *   empty: skipping on "open" alone kept a new database's backlog journaling to temp files;
   * - on PostgreSQL (no statement journals to move).
   */
  function withJournalsInMemory<T>(fn: () => T): T {
    if (pg || db.inTransaction) return fn();
    const before = Number(db.pragma("temp_store", { simple: true }));
    if (before === 2) return fn();
    const dbs = db.pragma("database_list") as { name: string }[];
    if (dbs.some((d) => d.name === "temp") && tempHoldsObjects()) return fn();
    db.pragma("temp_store = MEMORY");
    try {
      return fn();
    } finally {
      db.pragma(`temp_store = ${before}`);
    }
  }

  function billWithOutcomes(batch: SourceBatch): { result: BillResult; outcomes: EventOutcome[] } {
    return withJournalsInMemory(() => billBatch(batch));
  }

  function billBatch(batch: SourceBatch): { result: BillResult; outcomes: EventOutcome[] } {
    let result = emptyResult();
    let billed: BilledEvent[] = [];
    let outcomes: EventOutcome[];
    try {
      try {
        outcomes = billTx.immediate(batch, result, billed, optimistic ? "optimistic" : "lookup");
      } catch (err) {
        if (!optimistic || !isUniqueViolation(err)) throw err;
        // Optimistic mode met a call billed before: nothing of the attempt was kept (the
        // transaction rolled back); bill the batch again, looking its keys up first.
        optimistic = false;
        result = emptyResult();
        billed = [];
        outcomes = billTx.immediate(batch, result, billed, "lookup");
      }
    } catch (err) {
      if (isDatabaseFailure(err) || batch.events.length === 0) throw err;
      // A poison event threw: retry with one savepoint per event, holding the one(s) that throw.
      result = emptyResult();
      billed = [];
      outcomes = billTx.immediate(batch, result, billed, "isolate");
    }
    optimistic = result.duplicates === 0;
    if (billed.length > 0) opts.onBilled?.(billed);
    return { result, outcomes };
  }

  return {
    /**
     * Bills one batch and commits its cursor atomically. Throws only when the database itself
     * fails (or writing the batch's cursor moves does); then nothing of the batch is kept.
     */
    bill(batch: SourceBatch): BillResult {
      return billWithOutcomes(batch).result;
    },
    /** Like `bill`, also returning each event's outcome, in order (push ingestion uses it). */
    billWithOutcomes,
    /**
     * Runs `fn` with SQLite's statement journals in memory, as `bill` runs each batch (see
     * `withJournalsInMemory`): for a caller that bills inside its own transaction (push
     * ingestion), around that transaction. Returns what `fn` returns; rethrows what it throws.
     */
    withJournalsInMemory,
  };
}

/** `v` as a number when it is a safe integer (the same SQLite INTEGER either way), else as it is. */
function numberWhileSafe(v: bigint | null): bigint | number | null {
  return v !== null && v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}

/** A BillResult of nothing (every count zero). */
export function emptyBillResult(): BillResult {
  return {
    billed: 0,
    duplicates: 0,
    chargedMicroCredits: 0n,
    unknownModels: new Set(),
    unknownModelSources: new Map(),
    held: 0,
    heldCostPicoUsd: 0n,
    heldUnpriced: 0,
    heldReasons: [],
    anomalies: [],
    cursorsKept: 0,
  };
}

/** One account's billable calls in a batch: written as one ledger entry and its usage rows. */
interface UsageGroup {
  accountId: string;
  /** Sum of the calls' charges, micro-credits (at most 2^53 − 1). */
  total: bigint;
  calls: { row: NewUsageEventRow; charge: bigint }[];
  /** The session of the first call; the entry's `ref` when every call shares it. */
  ref: string | null;
  sameRef: boolean;
  /** The first call's provider and model. */
  provider: string;
  model: string;
  /** Every `provider/model` of the group once a call differs from the first's; null until then. */
  models: Set<string> | null;
}

/** A batch's groups (see `createGroups` in createBiller). */
interface BatchGroups {
  has(key: string): boolean;
  /** The call billed under `key` in this batch, if any. */
  callOf(key: string): UsageEvent | undefined;
  hasResponse(rkey: string, prompts: readonly PromptCounts[], place: CallPlace): boolean;
  samePromptTaken(rkey: string, prompts: readonly PromptCounts[]): boolean;
  responseTaken(rkey: string): boolean;
  pendingOf(accountId: string): bigint;
  /** `rkey`: the call's response identity (`responseKeyOf`), null when it has none. */
  add(e: UsageEvent, charge: bigint, row: NewUsageEventRow, rkey: string | null): void;
  flush(nowMs: number): void;
  discard(): void;
}

/**
 * The entry reason's model note: ` (provider/model)` when all the group's calls share one
 * `provider/model` text, else ` (N models)` (N distinct texts).
 */
function modelsNote(g: UsageGroup): string {
  const models = g.models;
  if (!models) return ` (${g.provider}/${g.model})`;
  if (models.size === 1) return ` (${models.values().next().value})`;
  return ` (${models.size} models)`;
}

/** The prompt totals of a call without a response identity (none are compared). */
const NO_PROMPTS: readonly PromptCounts[] = [];

/** No key of the batch is billed yet (optimistic mode: see `billedKeys` in createBiller). */
const NONE_BILLED: ReadonlySet<string> = new Set();

/**
 * A UNIQUE constraint refused a row (a dedupe key or an entry's idempotency key already used), or
 * a primary key did (a response identity already billed: `usage_response_keys`).
 */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * The batch's calls that are a lesser copy of another call of the batch with the same response
 * identity (`responseKeyOf`): of a response's copies the one with the most tokens (input + output
 * + cache read + cache write; of equals the earliest `message.timestamp`, then the first read) is
 * billed, so a streamed response written partial and then final is billed as final when both are
 * read in one batch, and a copy of a response in another session does not take it from the
 * session that made it. `lesser`: their indexes; `byBest`: the best copy's index → the others,
 * best first (billed in turn when the best one is held). Null when no response repeats (the
 * common case: one Map pass, nothing else).
 */
function lesserCopies(
  events: readonly UsageEvent[],
): { lesser: Set<number>; byBest: Map<number, number[]> } | null {
  // Grouped by response id first (no key built per call); a repeated id is split by provider.
  let byId: Map<string, number[]> | null = null;
  let repeated = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as UsageEvent;
    if (!hasResponseIdentity(e.dedupeKey, e.responseId)) continue;
    byId ??= new Map();
    const g = byId.get(e.responseId);
    if (g) {
      g.push(i);
      repeated = true;
    } else byId.set(e.responseId, [i]);
  }
  if (!byId || !repeated) return null;
  const groups: number[][] = [];
  for (const g of byId.values()) {
    if (g.length < 2) continue;
    const byProvider = new Map<string, number[]>();
    for (const i of g) {
      const p = (events[i] as UsageEvent).provider;
      const same = byProvider.get(p);
      if (same) same.push(i);
      else byProvider.set(p, [i]);
    }
    // calls of another prompt under one id are other calls (a relay that reuses one id:
    // identity.ts samePrompt); a call without a prompt is a copy of any
    for (const same of byProvider.values()) groups.push(...byPrompt(events, same));
  }
  const lesser = new Set<number>();
  const byBest = new Map<number, number[]>();
  for (const g of groups) {
    if (g.length < 2) continue;
    const order = [...g].sort((a, b) => {
      const ea = events[a] as UsageEvent;
      const eb = events[b] as UsageEvent;
      // the final copy of a streamed response has its whole output; its partial copy, written
      // with the usage known at the start, can count more prompt (identity.ts samePrompt)
      return (
        eb.output - ea.output || copyTokens(eb) - copyTokens(ea) || ea.messageTsMs - eb.messageTsMs || a - b
      );
    });
    const [best, ...rest] = order as [number, ...number[]];
    for (const j of rest) lesser.add(j);
    byBest.set(best, rest);
  }
  return { lesser, byBest };
}

/**
 * `indexes` (calls of one provider response id) split into the calls of each prompt
 * (`samePrompt`): one group when any of them has no prompt, as before.
 */
function byPrompt(events: readonly UsageEvent[], indexes: number[]): number[][] {
  const prompts = indexes.map((i) => promptsOf(events[i] as UsageEvent));
  if (prompts.some((p) => p.some((q) => promptTotal(q) === 0))) return [indexes];
  const clusters: { prompts: PromptCounts[][]; members: number[] }[] = [];
  indexes.forEach((i, k) => {
    const p = prompts[k] as PromptCounts[];
    const e = events[i] as UsageEvent;
    // copies of one response share its prompt and its session or its message time (identity.ts
    // mayBeCopies): the same prompt sent in two sessions at two times is two calls
    const c = clusters.find((x) =>
      x.prompts.some(
        (q, j) => samePrompt(q, p) && mayBeCopies(events[x.members[j] as number] as UsageEvent, e),
      ),
    );
    if (c) {
      c.prompts.push(p);
      c.members.push(i);
    } else clusters.push({ prompts: [p], members: [i] });
  });
  return clusters.map((c) => c.members);
}

/** A copy's token count for {@link lesserCopies}. */
function copyTokens(e: UsageEvent): number {
  return e.input + e.output + e.cacheRead + e.cacheWrite;
}

/** SQLite-level failures (disk full, locked, I/O, read-only, corrupt): the batch must fail, not be held. */
export function isDatabaseFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return false;
  return (
    !code.startsWith("SQLITE_CONSTRAINT") &&
    !code.startsWith("SQLITE_MISMATCH") &&
    !code.startsWith("SQLITE_RANGE") &&
    !code.startsWith("SQLITE_TOOBIG")
  );
}

function errText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}

export type Biller = ReturnType<typeof createBiller>;

/**
 * Whether a row billed or held under a zone-less call's twin key is of the call's own session or
 * account (a session not known on either side is no difference).
 */
function sameCaller(row: { s: string | null | undefined; a: string | undefined }, e: UsageEvent): boolean {
  return row.s == null || e.sessionId == null || row.s === e.sessionId || row.a === e.accountId;
}

/** The session and account in a held call's `event_json` (unknown when unreadable). */
function heldCallerOf(json: string): { s: string | null | undefined; a: string | undefined } {
  try {
    const e = JSON.parse(json) as { sessionId?: unknown; accountId?: unknown };
    return {
      s: typeof e?.sessionId === "string" ? e.sessionId : null,
      a: typeof e?.accountId === "string" ? e.accountId : undefined,
    };
  } catch {
    return { s: undefined, a: undefined };
  }
}
