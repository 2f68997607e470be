import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { ZodError } from "zod";
import { type Db, retryOnBusy } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";
import { createEnforcer, type Enforcer } from "./enforcer.js";
import type { WorkerSettings } from "./limits.js";
import { runRetention, runRollover, runSpikeScan } from "./maintenance.js";
import { createQueries, QUERY_NAMES, type QueryName } from "./queries.js";
import {
  blockingConnection,
  producerConnection,
  QUEUE_NAMES,
  type RpcReply,
  rpcReplyChannelOf,
} from "./queues.js";
import { createRelay, type Relay } from "./relay.js";
import { renderAlert } from "./templates.js";
import { signWebhook, WEBHOOK_SIGNATURE_HEADER } from "./webhook.js";

/** How long a limit check waits (asynchronously) for another process's database lock. */
const CHECK_BUSY_RETRY_MS = 60_000;

/** An RPC question that will never be answered (bad params, unknown name): not retried. */
class RpcRefusal extends UnrecoverableError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export interface WebhookTarget {
  url: string;
  secret: string;
  attempts: number;
  backoffMs: number;
}

export interface ScheduleEvery {
  rolloverMs: number;
  spikeScanMs: number;
  reconcileMs: number;
  retentionMs: number;
}

export const DEFAULT_SCHEDULE: ScheduleEvery = {
  rolloverMs: 15_000,
  spikeScanMs: 5 * 60_000,
  reconcileMs: 5 * 60_000,
  retentionMs: 6 * 3600_000,
};

export interface WorkerRuntimeOptions {
  db: Db;
  redisUrl: string;
  /** BullMQ key prefix (CREDITGATE_QUEUE_PREFIX). */
  prefix: string;
  settings: WorkerSettings;
  webhook: WebhookTarget | null;
  concurrency?: number;
  nowMs?: () => number;
  log?: (level: "info" | "warn" | "error", msg: string) => void;
  /** How often the relay looks at the outbox (ms); default 100. */
  relayEveryMs?: number;
  /** Job schedulers (false: none, e.g. in tests that call the runners directly). */
  schedule?: ScheduleEvery | false;
  /**
   * The outbox sweep (re-enqueues checks and alert deliveries Redis may have lost, and restores
   * missing job schedulers): every `everyMs` (default 30 s), rows older than `staleAfterMs`
   * (default 60 s). False: none.
   */
  sweep?: { everyMs: number; staleAfterMs: number } | false;
  /** Payment reconciliation (reconcileTopups through the fulfilment path), injected by the entry. */
  reconcile?: () => Promise<unknown>;
  fetch?: typeof fetch;
}

export interface WorkerRuntime {
  enforcer: Enforcer;
  relay: Relay;
  /** Resolves when every worker is connected and the schedulers are registered. */
  ready: Promise<void>;
  /**
   * Stops taking jobs and lets in-flight ones finish for up to `graceMs` (default 5000); then
   * (or at once with `graceMs` 0) gives up on them and drops the Redis connections. Never hangs
   * on an unreachable Redis. An abandoned job is re-run later (its lock expires), so a webhook
   * may be delivered twice: receivers dedupe on `x-creditgate-delivery`. Logs a warning when it
   * had to give up on something.
   */
  close(graceMs?: number): Promise<void>;
}

export const DEFAULT_SWEEP = { everyMs: 30_000, staleAfterMs: 60_000 };

/**
 * One worker process's share of the work: the outbox relay, and BullMQ workers for limit checks,
 * alert deliveries, RPC and maintenance. Several of these may run against the same Redis and
 * database: BullMQ hands each job to one worker, checks are idempotent transactions, alerts are
 * unique rows, and job schedulers are upserted under fixed ids.
 */
export function startWorkerRuntime(o: WorkerRuntimeOptions): WorkerRuntime {
  const nowMs = o.nowMs ?? Date.now;
  const log = o.log ?? (() => {});
  const fetchImpl = o.fetch ?? fetch;
  const enforcer = createEnforcer(o.db, o.settings);
  const queries = createQueries(o.db, enforcer);
  const connections: Redis[] = [];
  const producer = () => {
    const c = producerConnection(o.redisUrl);
    connections.push(c);
    return c;
  };
  const blocking = () => {
    const c = blockingConnection(o.redisUrl);
    connections.push(c);
    return c;
  };
  const prefix = o.prefix;
  const checksQueue = new Queue(QUEUE_NAMES.checks, { connection: producer(), prefix });
  const alertsQueue = new Queue(QUEUE_NAMES.alerts, { connection: producer(), prefix });
  const maintenanceQueue = new Queue(QUEUE_NAMES.maintenance, { connection: blocking(), prefix });
  for (const q of [checksQueue, alertsQueue, maintenanceQueue]) q.on("error", () => {});

  const relay = createRelay({
    db: o.db,
    checks: checksQueue,
    alerts: o.webhook ? alertsQueue : null,
    webhook: o.webhook ? { attempts: o.webhook.attempts, backoffMs: o.webhook.backoffMs } : null,
    log,
  });

  const markDelivery = o.db.prepare<[string, number, string | null, number, number]>(
    `UPDATE alerts SET webhook_state = ?, webhook_attempts = ?, webhook_error = ?, webhook_updated_at_ms = ?
      WHERE id = ? AND webhook_state <> 'delivered'`,
  );

  const markChecked = o.db.prepare<[number, string]>(
    "UPDATE limit_outbox SET checked_seq = max(checked_seq, ?) WHERE account_id = ?",
  );

  async function deliver(job: Job): Promise<string> {
    const target = o.webhook;
    const alertId = Number((job.data as { alertId?: unknown }).alertId);
    const a = Number.isSafeInteger(alertId) ? enforcer.alert(alertId) : null;
    if (!target || !a) throw new UnrecoverableError(`no alert ${String(alertId)} or no webhook configured`);
    if (a.webhookState === "delivered") return "already delivered";
    if (a.webhookState === "dead") return "already dead-lettered";
    const lang = enforcer.limits(a.accountId.startsWith("agent:") ? "*" : a.accountId).effective.language;
    const body = JSON.stringify({
      id: `alert_${a.id}`,
      type: a.kind,
      accountId: a.accountId,
      threshold: a.threshold,
      window: a.windowKey,
      createdAt: new Date(a.createdAtMs).toISOString(),
      text: renderAlert(a.kind, a.payload, lang),
      data: a.payload,
    });
    // Tries are counted on the row, not the job: a job re-enqueued by the sweep (Redis lost the
    // first) continues the count, so an alert reaches `dead` after `attempts` tries in total.
    const attempt = a.webhookAttempts + 1;
    const last = attempt >= target.attempts;
    let error: string;
    try {
      const res = await fetchImpl(target.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-creditgate-delivery": `alert_${a.id}`,
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(body, target.secret, Math.floor(nowMs() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      if (res.ok) {
        markDelivery.run("delivered", attempt, null, nowMs(), a.id);
        return `delivered (${res.status})`;
      }
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    // Dead-lettered after the last try: kept in SQLite (`creditgate alerts --dead`, GET /v1/alerts?state=dead).
    markDelivery.run(last ? "dead" : "queued", attempt, error, nowMs(), a.id);
    if (last)
      log("warn", `alert ${a.id} (${a.kind} ${a.accountId}) dead-lettered after ${attempt} tries: ${error}`);
    if (last) throw new UnrecoverableError(`webhook delivery failed: ${error}`);
    throw new Error(`webhook delivery failed: ${error}`);
  }

  // RPC answers go straight to the asking client's reply channel, before BullMQ's own bookkeeping
  // (moveToFinished, the event stream): see rpc-client.ts.
  const replies = producer();
  const reply = (channel: string | null, message: RpcReply) => {
    if (channel) replies.publish(channel, JSON.stringify(message)).catch(() => {}); // lost ⇒ client times out
  };
  async function answerRpc(job: Job): Promise<unknown> {
    const channel = rpcReplyChannelOf(prefix, job.id);
    const id = job.id ?? "";
    let result: unknown;
    try {
      result = answerOrThrow(job);
    } catch (err) {
      const final = err instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        const code = err instanceof RpcRefusal ? err.code : ErrorCode.Internal;
        reply(channel, { id, ok: false, code, message: err instanceof Error ? err.message : String(err) });
      }
      throw err;
    }
    reply(channel, { id, ok: true, result });
    // Answered on the channel: no need to store the result again as the job's return value.
    return channel ? null : result;
  }
  function answerOrThrow(job: Job): unknown {
    if (!(QUERY_NAMES as string[]).includes(job.name))
      throw new RpcRefusal(ErrorCode.InvalidRequest, `unknown rpc ${job.name}`);
    try {
      return queries.answer(job.name as QueryName, job.data, nowMs());
    } catch (err) {
      if (err instanceof ZodError)
        throw new RpcRefusal(ErrorCode.InvalidRequest, `invalid params for ${job.name}: ${err.message}`);
      if (err instanceof AppError && !err.retryable)
        throw new RpcRefusal(err.code, `${err.code}: ${err.message}`);
      throw err;
    }
  }

  const concurrency = o.concurrency ?? 8;
  const workers: Worker[] = [
    new Worker(
      QUEUE_NAMES.checks,
      async (job) => {
        const accountId = (job.data as { accountId?: unknown }).accountId;
        if (typeof accountId !== "string") throw new UnrecoverableError("check: accountId missing");
        // Under `start` the connection's busy timeout is short (the HTTP server shares the event
        // loop): a lock held elsewhere is waited for here, asynchronously, not in BullMQ's attempts.
        const seq = (job.data as { seq?: unknown }).seq;
        const r = await retryOnBusy(() => {
          const checked = enforcer.check(accountId, nowMs());
          if (typeof seq === "number") markChecked.run(seq, accountId);
          return checked;
        }, CHECK_BUSY_RETRY_MS);
        if (o.webhook && r.alerts.length > 0) relay.kick();
        return { allowed: r.status.allowed, alerts: r.alerts.length };
      },
      { connection: blocking(), prefix, concurrency },
    ),
    new Worker(QUEUE_NAMES.rpc, answerRpc, {
      connection: blocking(),
      prefix,
      concurrency: Math.max(concurrency, 16),
    }),
    new Worker(
      QUEUE_NAMES.maintenance,
      async (job) => {
        const now = nowMs();
        switch (job.name) {
          case "rollover": {
            const n = runRollover(enforcer, now);
            if (n > 0 && o.webhook) relay.kick();
            return { rechecked: n };
          }
          case "spike-scan": {
            const n = runSpikeScan(o.db, enforcer, now);
            if (n > 0 && o.webhook) relay.kick();
            return { raised: n };
          }
          case "reconcile":
            return o.reconcile
              ? { results: ((await o.reconcile()) as unknown[] | undefined)?.length ?? 0 }
              : null;
          case "retention":
            return runRetention(o.db, o.settings.retentionDays, now);
          default:
            throw new UnrecoverableError(`unknown maintenance job ${job.name}`);
        }
      },
      { connection: blocking(), prefix, concurrency: 1 },
    ),
  ];
  if (o.webhook)
    workers.push(new Worker(QUEUE_NAMES.alerts, deliver, { connection: blocking(), prefix, concurrency }));
  for (const w of workers) {
    w.on("error", () => {}); // connection errors: BullMQ reconnects; jobs wait in Redis meanwhile
    w.on("failed", (job, err) => {
      if (job?.queueName !== QUEUE_NAMES.alerts)
        log("warn", `job ${job?.queueName}/${job?.name} ${job?.id} failed: ${err.message}`);
    });
  }

  relay.start(o.relayEveryMs ?? 100);

  let connected = false;
  void Promise.all(workers.map((w) => w.waitUntilReady())).then(
    () => {
      connected = true;
    },
    () => {},
  );

  const schedules: [string, number][] = [];
  if (o.schedule !== false) {
    const every = o.schedule ?? DEFAULT_SCHEDULE;
    schedules.push(
      ["rollover", every.rolloverMs],
      ["spike-scan", every.spikeScanMs],
      ["retention", every.retentionMs],
    );
    if (o.reconcile) schedules.push(["reconcile", every.reconcileMs]);
  }
  const scheduleOpts = { removeOnComplete: true, removeOnFail: { count: 100 } };
  const ready = (async () => {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    for (const [name, ms] of schedules) {
      await maintenanceQueue.upsertJobScheduler(name, { every: ms }, { name, opts: scheduleOpts });
    }
  })();
  ready.catch((err: unknown) => log("warn", `worker: Redis not ready yet: ${(err as Error).message}`));

  // The sweep: what Redis lost (a restart without persistence, a flush) is sent again from SQLite.
  const sweep = o.sweep === false ? null : (o.sweep ?? DEFAULT_SWEEP);
  let sweepTimer: NodeJS.Timeout | null = null;
  let sweeping: Promise<void> | null = null;
  let stopped = false;
  const sweepPass = async () => {
    if (!sweep) return;
    await relay.sweepOnce(nowMs(), sweep.staleAfterMs);
    for (const [name, ms] of schedules) {
      if (stopped) return;
      // Only when missing: re-upserting a live scheduler could move its next run.
      if (!(await maintenanceQueue.getJobScheduler(name))) {
        await maintenanceQueue.upsertJobScheduler(name, { every: ms }, { name, opts: scheduleOpts });
        log("warn", `worker: job scheduler ${name} was missing from Redis; restored`);
      }
    }
  };
  const scheduleSweep = () => {
    if (!sweep || stopped) return;
    sweepTimer = setTimeout(() => {
      sweeping = sweepPass()
        .catch((err: unknown) =>
          log("warn", `sweep: Redis unavailable, will retry: ${(err as Error).message}`),
        )
        .finally(() => {
          sweeping = null;
          scheduleSweep();
        });
    }, sweep.everyMs);
  };
  scheduleSweep();

  let closing: Promise<void> | null = null;
  return {
    enforcer,
    relay,
    ready,
    close(graceMs = 5000) {
      closing ??= (async () => {
        stopped = true;
        if (sweepTimer) clearTimeout(sweepTimer);
        if (!connected) {
          // Redis never answered: nothing is in flight. Closing BullMQ objects whose connection is
          // still initializing makes BullMQ emit an 'error' nobody listens to any more (a crash),
          // so only drop the connections, while the queues and workers still listen (and ignore).
          await relay.stop(0);
          for (const c of connections) c.disconnect();
          for (const w of workers)
            (
              w as unknown as { blockingConnection?: { _client?: Redis } }
            ).blockingConnection?._client?.disconnect();
          return;
        }
        const deadline = Date.now() + graceMs;
        const left = () => Math.max(0, deadline - Date.now());
        let t: NodeJS.Timeout | undefined;
        const within = (p: Promise<unknown>) =>
          Promise.race([
            p.then(() => true),
            new Promise<boolean>((r) => {
              t = setTimeout(() => r(false), left());
            }),
          ]).finally(() => clearTimeout(t));
        // Worker.close() waits for in-flight jobs; past the grace they are abandoned (they stay
        // active in Redis until their lock expires, then run again).
        const graceful = (async () => {
          await relay.stop(Math.min(left(), 1000)); // a pass in flight only waits for Redis
          await Promise.allSettled([...workers.map((w) => w.close()), ...(sweeping ? [sweeping] : [])]);
          await Promise.allSettled([checksQueue.close(), alertsQueue.close(), maintenanceQueue.close()]);
        })();
        const clean = await within(graceful);
        if (!clean) {
          log(
            "warn",
            `worker: not finished after ${graceMs} ms (Redis unreachable or a job still running); stopping anyway`,
          );
          for (const w of workers) w.close(true).catch(() => {});
        }
        for (const c of connections) c.disconnect();
      })();
      return closing;
    },
  };
}
