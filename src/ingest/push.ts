import { z } from "zod";
import { assertAccountId, createLedger } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { type BilledEvent, createBiller, type Pricer, type UsageEvent } from "../meter/index.js";
import type { Ratio } from "../money.js";

/** Max events per `POST /v1/usage` request. */
export const MAX_PUSH_BATCH = 1000;

const idText = z.string().regex(/^[^\s]{1,200}$/, "must be 1-200 characters without spaces");
const tokens = z.number().int().min(0).max(1e12);

/** One pushed model call. Unknown fields are rejected so a typo is not silently ignored. */
export const pushEventSchema = z.strictObject({
  idempotencyKey: z.string().regex(/^[\x21-\x7e]{1,200}$/, "must be 1-200 printable ASCII characters"),
  agentId: idText,
  /** Billable account, e.g. `telegram:123` or `agent:<id>` for the operator's own spend. */
  userId: idText,
  provider: z.string().min(1).max(100),
  model: z.string().min(1).max(200),
  input: tokens,
  output: tokens,
  cacheRead: tokens.default(0),
  cacheWrite: tokens.default(0),
  /** Cost the bot computed, USD; used per CREDITGATE_COST_MODE (recorded/auto), like transcript costs. */
  costUsd: z.number().min(0).max(1e6).nullish(),
  /** When the model call happened, epoch ms. */
  timestampMs: z.number().int().min(946_684_800_000).max(8_640_000_000_000),
  success: z.boolean(),
  /** Provider error text only, never chat content; truncated to 300 characters. */
  errorMessage: z.string().max(10_000).nullish(),
  sessionKey: z.string().min(1).max(500).nullish(),
});
export type PushEvent = z.infer<typeof pushEventSchema>;

export const pushBatchSchema = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_PUSH_BATCH),
});

export type PushResult =
  | {
      index: number;
      idempotencyKey: string;
      status: "billed";
      dedupeKey: string;
      chargeMicroCredits: number;
      balanceMicroCredits: number;
    }
  | { index: number; idempotencyKey: string; status: "duplicate"; dedupeKey: string }
  | { index: number; idempotencyKey: string | null; status: "rejected"; reason: string };

/** The meter's dedupe identity format (src/meter/identity.ts): 12 hex ms + '-' + 32 hex. */
const METER_KEY_RE = /^[0-9a-f]{12}-[0-9a-f]{32}$/;

/**
 * The usage identity a push key bills under. A key shaped like the meter's own `dedupeKey`
 * (the OpenClaw plugin sends exactly that) is used as-is, so the transcript meter and push
 * metering bill the same call once between them. Any other key is namespaced per agent:
 * `push:<agentId>:<key>`, so two bots choosing the same key never collide.
 */
export function pushIdentity(agentId: string, idempotencyKey: string): string {
  return METER_KEY_RE.test(idempotencyKey) ? idempotencyKey : `push:${agentId}:${idempotencyKey}`;
}

export interface PushIngesterOptions {
  pricer: Pricer;
  markup: Ratio;
  creditsPerUsd: Ratio;
  nowMs?: () => number;
  onBilled?: (events: BilledEvent[]) => void;
}

/**
 * Bills pushed usage through the meter's biller (same pricing, same ledger rows, same
 * `usage:<identity>` idempotency keys), exactly once per identity.
 *
 * The whole request is one IMMEDIATE transaction; each event is a savepoint of its own, so an
 * event that fails rolls back alone. Each event is billed under its push identity
 * (`UsageEvent.dedupeKey`), so the transcript meter seeing the same call later is a duplicate.
 */
export function createPushIngester(db: Db, opts: PushIngesterOptions) {
  const ledger = createLedger(db);
  const billed: BilledEvent[] = [];
  const biller = createBiller(db, ledger, {
    pricer: opts.pricer,
    markup: opts.markup,
    creditsPerUsd: opts.creditsPerUsd,
    ...(opts.nowMs ? { nowMs: opts.nowMs } : {}),
    onBilled: (events) => billed.push(...events),
  });

  const one = db.transaction((e: PushEvent, identity: string, sourceRef: string) => {
    const event: UsageEvent = {
      provider: e.provider,
      model: e.model,
      api: null,
      messageTsMs: e.timestampMs,
      responseId: null,
      input: e.input,
      output: e.output,
      cacheRead: e.cacheRead,
      cacheWrite: e.cacheWrite,
      totalTokens: e.input + e.output + e.cacheRead + e.cacheWrite,
      reasoningTokens: null,
      stopReason: e.success ? null : "error",
      isError: !e.success,
      errorMessage: e.errorMessage ? e.errorMessage.slice(0, 300) : null,
      recordedCostUsd: e.costUsd ?? null,
      agentId: e.agentId,
      sessionId: null,
      sessionKey: e.sessionKey ?? null,
      accountId: e.userId,
      source: "push",
      sourceRef,
      dedupeKey: identity,
    };
    const before = billed.length;
    const r = biller.bill({ events: [event], rejects: [], sessions: [], commit: () => {}, stats: {} });
    if (r.billed !== 1) return null; // the biller found this identity already billed
    return billed[before] ?? null;
  });

  const batchTx = db.transaction((raw: unknown[], sourceRef: string): PushResult[] =>
    raw.map((item, index): PushResult => {
      const rawKey = (item as { idempotencyKey?: unknown } | null)?.idempotencyKey;
      const keyForResult = typeof rawKey === "string" ? rawKey.slice(0, 200) : null;
      const parsed = pushEventSchema.safeParse(item);
      if (!parsed.success) {
        return {
          index,
          idempotencyKey: keyForResult,
          status: "rejected",
          reason: z.prettifyError(parsed.error),
        };
      }
      const e = parsed.data;
      try {
        assertAccountId(e.userId);
      } catch (err) {
        return {
          index,
          idempotencyKey: e.idempotencyKey,
          status: "rejected",
          reason: (err as Error).message,
        };
      }
      const identity = pushIdentity(e.agentId, e.idempotencyKey);
      const mark = billed.length;
      try {
        const b = one(e, identity, `${sourceRef}#${index}`);
        if (!b) return { index, idempotencyKey: e.idempotencyKey, status: "duplicate", dedupeKey: identity };
        return {
          index,
          idempotencyKey: e.idempotencyKey,
          status: "billed",
          dedupeKey: identity,
          chargeMicroCredits: b.chargeMicroCredits,
          balanceMicroCredits: b.balanceMicroCredits,
        };
      } catch (err) {
        // The event's savepoint rolled back; the other events are unaffected.
        billed.length = mark;
        return {
          index,
          idempotencyKey: e.idempotencyKey,
          status: "rejected",
          reason: (err as Error).message,
        };
      }
    }),
  );

  return {
    /**
     * Bills a batch (already checked to hold 1..MAX_PUSH_BATCH items); one result per item,
     * in order. `sourceRef` says who pushed it (stored on each usage row), e.g. `push:<keyId>`.
     */
    ingest(raw: unknown[], sourceRef: string): PushResult[] {
      billed.length = 0;
      const results = batchTx.immediate(raw, sourceRef);
      const done = billed.splice(0);
      if (done.length > 0) opts.onBilled?.(done);
      return results;
    },
  };
}

export type PushIngester = ReturnType<typeof createPushIngester>;
