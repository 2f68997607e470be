import type { Db } from "../db/index.js";
import type { PushEvent } from "../ingest/index.js";
import {
  createCursorRepo,
  dedupeKey,
  EPOCH_SECONDS_BELOW,
  recordedCostPico,
  SinkPaused,
  type SourceBatch,
  type SupersededCopy,
  sessionFactParams,
  UPSERT_SESSION_SQL,
  type UsageEvent,
} from "../meter/index.js";

/** A row of `edge_outbox` as SQLite returns it: one call waiting to be pushed to the center. */
export interface EdgeOutboxRow {
  id: number;
  dedupe_key: string;
  /** The push event as JSON (tokens, provider, model, who; never chat text). */
  event_json: string;
  created_at_ms: number;
  attempts: number;
  last_error: string | null;
}

/** A row of `edge_dead_letters` as SQLite returns it: an outbox row the center refused as invalid. */
export interface EdgeDeadLetterRow {
  id: number;
  dedupe_key: string;
  event_json: string;
  /** `rejected`, `conflict` (the center's verdict) or `unshippable` (the edge could not build the event). */
  status: string;
  reason: string;
  created_at_ms: number;
  dead_at_ms: number;
}

export interface OutboxOptions {
  /** This edge meter's id (`CREDITGATE_EDGE_ID`), sent with every event. */
  edgeId: string;
  /**
   * Rows the outbox may hold (`CREDITGATE_OUTBOX_MAX`). A batch that would pass it is refused with
   * `SinkPaused` (reading pauses; nothing is dropped), unless the outbox is empty (a batch larger
   * than the bound still goes in, or reading could never go on).
   */
  maxRows: number;
  nowMs?: () => number;
  /** Told when the outbox turns full (once per episode) and when it has room again. */
  onFullChange?: (full: boolean, rows: number) => void;
}

/** What the outbox holds now, for `creditgate outbox` and the edge meter's logs. */
export interface OutboxStatus {
  rows: number;
  maxRows: number;
  full: boolean;
  /** When the oldest waiting row was read (epoch ms), or null when empty. */
  oldestCreatedAtMs: number | null;
  /** The newest row's last push error, if any (one line, no secrets). */
  lastError: string | null;
  deadLetters: number;
}

/** The push API's `supersedes` of event `e` (`UsageEvent.supersedes`), or nothing. */
function supersedesOf(e: UsageEvent): Pick<PushEvent, "supersedes"> {
  if (e.supersedes === undefined) return {};
  let c: SupersededCopy;
  try {
    c = JSON.parse(e.supersedes) as SupersededCopy;
  } catch {
    return {};
  }
  if (typeof c?.key !== "string" || c.usage === undefined) return {};
  const u = c.usage;
  const pico = recordedCostPico({ recordedCostUsd: u.recordedCostUsd ?? null } as UsageEvent);
  return {
    supersedes: {
      idempotencyKey: c.key,
      input: u.input,
      output: u.output,
      cacheRead: u.cacheRead,
      cacheWrite: u.cacheWrite,
      ...(u.cacheWrite1h ? { cacheWrite1h: u.cacheWrite1h } : {}),
      ...(u.webSearchRequests ? { webSearchRequests: u.webSearchRequests } : {}),
      ...(pico !== null ? { recordedCostPicoUsd: pico.toString() } : {}),
      success: !u.isError,
    },
  };
}

/**
 * The push event an edge meter ships for one read call: tokens, provider, model, timestamps and
 * who (account, agent, session), the call's identity as idempotency key, and the edge's id. No
 * money: the center prices it (`recordedCostPicoUsd` is the transcript's own recorded cost, exact
 * integer pico-USD as the local biller converts it, used only per the center's
 * CREDITGATE_COST_MODE, exactly as a locally metered call's; never the float `costUsd`). Throws
 * when the call has no computable identity.
 */
export function pushEventOf(e: UsageEvent, edgeId: string): PushEvent {
  const key = e.dedupeKey ?? dedupeKey(e);
  const pico = recordedCostPico(e);
  return {
    idempotencyKey: key,
    agentId: e.agentId,
    userId: e.accountId,
    provider: e.provider,
    model: e.model,
    input: e.input,
    output: e.output,
    cacheRead: e.cacheRead,
    cacheWrite: e.cacheWrite,
    ...(e.cacheWrite1h ? { cacheWrite1h: e.cacheWrite1h } : {}),
    // The input as written when the meter corrected it: part of the call's identity.
    ...(e.writtenInput !== undefined ? { writtenInput: e.writtenInput } : {}),
    // The input of the call's identity, when it is neither (OpenAI-style cache writes).
    ...(e.identityInput !== undefined ? { identityInput: e.identityInput } : {}),
    // The cache counts of the call's identity, when they are not its counts (Bedrock's names).
    ...(e.identityCacheRead !== undefined ? { identityCacheRead: e.identityCacheRead } : {}),
    ...(e.identityCacheWrite !== undefined ? { identityCacheWrite: e.identityCacheWrite } : {}),
    // A line with no time of its own: its identity holds none (timestampMs is the meter's dating);
    // or a time written in epoch seconds: its identity holds the number as written (timestampMs is
    // that time in ms). Absent otherwise, so an older center refuses only a seconds one.
    ...(e.identityTsMs !== undefined ? { identityTsMs: e.identityTsMs } : {}),
    // and its entry id, when it has one: part of such a call's identity, also of a seconds one since
    // 2026-12-04 evening (absent otherwise, so an older center refuses only the events that carry one)
    // (and, since 2026-12-05, of a whole-second entry time: no identityTsMs)
    ...((e.identityTsMs === undefined || e.identityTsMs < EPOCH_SECONDS_BELOW) &&
    e.identityEntryId !== undefined
      ? { identityEntryId: e.identityEntryId }
      : {}),
    // an entry time without a zone, read as UTC since 2026-12-04: the center looks the call up
    // under the host-zone identities an older edge pushed it under (absent otherwise, so an older
    // center refuses only the events that carry one)
    ...(e.zonelessTime === true ? { zonelessTime: true as const } : {}),
    // a token count that was no count: the center holds the call (absent otherwise)
    ...(e.countProblem !== undefined ? { countProblem: e.countProblem } : {}),
    // The output of the call's identity, when it is not its output (reasoning outside completion, a cumulative Codex-harness line).
    ...(e.identityOutput !== undefined ? { identityOutput: e.identityOutput } : {}),
    // The served model, when the line names another: the center prices by it (absent otherwise,
    // so an older center refuses only the events that carry one).
    ...(e.responseModel !== undefined ? { responseModel: e.responseModel } : {}),
    // the api, so the center reads a fast-mode or service-tier estimate as a local meter does
    ...(e.api ? { api: e.api } : {}),
    // The served speed, when the line says it: "fast" is priced at the model's fast multiple
    // (absent otherwise, so an older center refuses only the events that carry one).
    ...(e.speed !== undefined ? { speed: e.speed } : {}),
    // Where Anthropic ran the call, when the line says US-only: priced at the US-only multiple
    // (absent otherwise, so an older center refuses only the events that carry one).
    ...(e.inferenceGeo !== undefined ? { inferenceGeo: e.inferenceGeo } : {}),
    // The service tier the line says served the call: flex / priority / batch are priced at the
    // tier (absent otherwise, so an older center refuses only the events that carry one).
    ...(e.serviceTier !== undefined && e.serviceTier !== "standard" ? { serviceTier: e.serviceTier } : {}),
    // Anthropic web searches, billed per search on top of the tokens (absent otherwise, so an
    // older center refuses only the events that carry one).
    ...(e.webSearchRequests !== undefined ? { webSearchRequests: e.webSearchRequests } : {}),
    // Perplexity's search context size, which its request fee depends on (absent otherwise, so an
    // older center refuses only the events that carry one).
    ...(e.searchContextSize !== undefined ? { searchContextSize: e.searchContextSize } : {}),
    // The difference billed for a later copy of a call: the whole call's prompt total, so the
    // center prices it at the call's long-context tier with no second per-call fee (absent
    // otherwise, so an older center refuses only the events that carry one).
    ...(e.tierInputTotal !== undefined ? { tierInputTotal: e.tierInputTotal } : {}),
    // A copy that took the place of its lesser copy in its batch: that copy's identity and counts,
    // so the center bills only what this one adds when the lesser copy is billed there (absent
    // otherwise, so an older center refuses only the events that carry one).
    ...supersedesOf(e),
    // Absent when there is none, so an older center refuses only the events that carry one.
    ...(pico !== null ? { recordedCostPicoUsd: pico.toString() } : {}),
    costOrigin: pico !== null && e.recordedCostOrigin === "provider-billed" ? "provider-billed" : null,
    timestampMs: e.messageTsMs,
    success: !e.isError,
    errorMessage: e.errorMessage,
    sessionKey: e.sessionKey,
    responseId: e.responseId,
    sessionId: e.sessionId,
    edgeId,
  };
}

/**
 * The edge meter's outbox in its own SQLite file. `record` is the meter's sink in edge mode: one
 * IMMEDIATE transaction writes the batch's session facts, malformed-line records, one outbox row
 * per new call identity AND the cursor moves that cover them, so a crash keeps all or none (the
 * same guarantee the local biller gives its ledger). The shipper reads rows in id order and
 * removes each only once the center acknowledged it (`ack`) or refused it as invalid
 * (`deadLetter`, kept with the reason).
 */
export function createOutbox(db: Db, opts: OutboxOptions) {
  const now = opts.nowMs ?? Date.now;
  const cursors = createCursorRepo(db);
  const countStmt = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM edge_outbox");
  const insert = db.prepare<[string, string, number]>(
    "INSERT INTO edge_outbox (dedupe_key, event_json, created_at_ms) VALUES (?, ?, ?) ON CONFLICT(dedupe_key) DO NOTHING",
  );
  const insertDead = db.prepare<[string, string, string, string, number, number]>(
    `INSERT INTO edge_dead_letters (dedupe_key, event_json, status, reason, created_at_ms, dead_at_ms)
     VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(dedupe_key) DO UPDATE SET status = excluded.status,
       reason = excluded.reason, event_json = excluded.event_json, dead_at_ms = excluded.dead_at_ms`,
  );
  const upsertSession = db.prepare(UPSERT_SESSION_SQL);
  const insertReject = db.prepare(
    "INSERT INTO meter_rejects (source_ref, reason, created_at_ms) VALUES (?, ?, ?) ON CONFLICT(source_ref) DO NOTHING",
  );
  const pendingStmt = db.prepare<[number], EdgeOutboxRow>(
    "SELECT id, dedupe_key, event_json, created_at_ms, attempts, last_error FROM edge_outbox ORDER BY id LIMIT ?",
  );
  const del = db.prepare<[number]>("DELETE FROM edge_outbox WHERE id = ?");
  const noteErr = db.prepare<[string, number]>(
    "UPDATE edge_outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
  );
  const oldest = db.prepare<[], { created_at_ms: number; last_error: string | null }>(
    "SELECT created_at_ms, last_error FROM edge_outbox ORDER BY id LIMIT 1",
  );
  const deadCount = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM edge_dead_letters");
  const deadList = db.prepare<[number], EdgeDeadLetterRow>(
    "SELECT id, dedupe_key, event_json, status, reason, created_at_ms, dead_at_ms FROM edge_dead_letters ORDER BY id DESC LIMIT ?",
  );
  const deadById = db.prepare<[number], EdgeDeadLetterRow>(
    "SELECT id, dedupe_key, event_json, status, reason, created_at_ms, dead_at_ms FROM edge_dead_letters WHERE id = ?",
  );
  const deadDel = db.prepare<[number]>("DELETE FROM edge_dead_letters WHERE id = ?");
  let full = false;

  const recordTx = db.transaction(
    (batch: SourceBatch): { recorded: number; duplicates: number; cursorsKept: number } => {
      const nowMs = now();
      const rows = countStmt.get()?.n ?? 0;
      if (rows > 0 && rows + batch.events.length > opts.maxRows) {
        if (!full) {
          full = true;
          opts.onFullChange?.(true, rows);
        }
        throw new SinkPaused(`edge outbox full: ${rows} of ${opts.maxRows} rows (CREDITGATE_OUTBOX_MAX)`);
      }
      if (full) {
        full = false;
        opts.onFullChange?.(false, rows);
      }
      for (const s of batch.sessions) upsertSession.run(sessionFactParams(s, nowMs));
      for (const r of batch.rejects) insertReject.run(r.sourceRef, r.reason, nowMs);
      let recorded = 0;
      let duplicates = 0;
      for (const e of batch.events) {
        let ev: PushEvent;
        try {
          ev = pushEventOf(e, opts.edgeId);
        } catch (err) {
          // No identity: it can never be shipped exactly once. Kept, located, never dropped silently.
          insertDead.run(
            `unkeyed:${e.sourceRef}`,
            JSON.stringify({
              sourceRef: e.sourceRef,
              agentId: e.agentId,
              provider: e.provider,
              model: e.model,
            }),
            "unshippable",
            `cannot compute identity: ${(err as Error).message}`.slice(0, 300),
            nowMs,
            nowMs,
          );
          continue;
        }
        if (insert.run(ev.idempotencyKey, JSON.stringify(ev), nowMs).changes > 0) recorded++;
        else duplicates++;
      }
      const cursorsKept = cursors.write(batch.cursorMoves, nowMs);
      return { recorded, duplicates, cursorsKept };
    },
  );

  const settleTx = db.transaction(
    (acked: readonly number[], dead: readonly { row: EdgeOutboxRow; status: string; reason: string }[]) => {
      const nowMs = now();
      for (const id of acked) del.run(id);
      for (const d of dead) {
        insertDead.run(
          d.row.dedupe_key,
          d.row.event_json,
          d.status,
          d.reason.slice(0, 1000),
          d.row.created_at_ms,
          nowMs,
        );
        del.run(d.row.id);
      }
    },
  );
  const noteTx = db.transaction((ids: readonly number[], error: string) => {
    for (const id of ids) noteErr.run(error.slice(0, 300), id);
  });
  const retryTx = db.transaction((ids: readonly number[]): number => {
    let n = 0;
    for (const id of ids) {
      const d = deadById.get(id);
      if (!d || d.status === "unshippable") continue;
      insert.run(d.dedupe_key, d.event_json, now());
      deadDel.run(id);
      n++;
    }
    return n;
  });

  return {
    /** The meter's `record` sink (see MeterOptions.record). Throws `SinkPaused` when full. */
    record(batch: SourceBatch): { recorded: number; duplicates: number; cursorsKept: number } {
      return recordTx.immediate(batch);
    },
    /** Up to `limit` waiting rows, oldest first. */
    pending(limit: number): EdgeOutboxRow[] {
      return pendingStmt.all(limit);
    },
    /** Removes the rows the center acknowledged and moves the refused ones to the dead letters, in one transaction. */
    settle(
      acked: readonly number[],
      dead: readonly { row: EdgeOutboxRow; status: string; reason: string }[] = [],
    ): void {
      if (acked.length + dead.length > 0) settleTx.immediate(acked, dead);
    },
    /** Counts a failed push attempt on these rows, with its one-line error. */
    noteError(ids: readonly number[], error: string): void {
      if (ids.length > 0) noteTx.immediate(ids, error);
    },
    /** Rows waiting now. */
    count(): number {
      return countStmt.get()?.n ?? 0;
    },
    status(): OutboxStatus {
      const rows = countStmt.get()?.n ?? 0;
      const o = oldest.get();
      return {
        rows,
        maxRows: opts.maxRows,
        full: rows >= opts.maxRows,
        oldestCreatedAtMs: o?.created_at_ms ?? null,
        lastError: o?.last_error ?? null,
        deadLetters: deadCount.get()?.n ?? 0,
      };
    },
    /** The newest dead letters first, at most `limit`. */
    deadLetters(limit = 50): EdgeDeadLetterRow[] {
      return deadList.all(limit);
    },
    /**
     * Puts dead letters back into the outbox (after the operator fixed the cause at the center);
     * `unshippable` ones stay. Returns how many were moved.
     */
    retryDead(ids: readonly number[]): number {
      return retryTx.immediate(ids);
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;

/** The log function the edge meter logs with (level, message, fields). */
type StallLog = (level: "debug" | "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;

/**
 * The edge meter's outbox-full log, one warning and one `reading resumed` per stall. While the
 * edge catches up after the center comes back, the outbox turns full and has room again once per
 * read batch (the shipper drains it, the next batch fills it): `createOutbox`'s `onFullChange`
 * reports each of those turns, which logged the pair again on every poll. Here the stall starts at
 * the first refused batch (`warn` FULL), `reading resumed` is logged at the first batch taken
 * again, and the turns that follow are the same catch-up (`debug`) until a poll reads without
 * being paused (`pollDone(false)`), which ends it: the next refusal is a new stall.
 * `maxRows` is only named in the warning.
 */
export function outboxStallLog(log: StallLog, maxRows: number) {
  let state: "reading" | "stalled" | "catching-up" = "reading";
  const resumed = (rows: number) => log("info", "edge outbox has room again: reading resumed", { rows });
  return {
    /** Wire to `OutboxOptions.onFullChange`. */
    fullChange(full: boolean, rows: number): void {
      if (full && state === "reading") {
        state = "stalled";
        log("warn", "edge outbox FULL: reading paused until the center takes some (nothing is dropped)", {
          rows,
          max: maxRows,
          setting: "CREDITGATE_OUTBOX_MAX",
        });
      } else if (!full && state === "stalled") {
        state = "catching-up";
        resumed(rows);
      } else
        log("debug", full ? "edge outbox full again while catching up" : "edge outbox has room", { rows });
    },
    /** After each meter poll: `paused` when the outbox refused one of its batches. */
    pollDone(paused: boolean): void {
      if (paused) return;
      if (state === "stalled") resumed(0);
      state = "reading";
    },
  };
}
