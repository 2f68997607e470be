import { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { DEFAULT_CONFIG, SHUTDOWN_GRACE_MS } from "../config/index.js";
import type { Db } from "../db/index.js";
import {
  createEnforcer,
  createQueries,
  type Enforcer,
  type Queries,
  type WorkerSettings,
} from "../limits/index.js";
import { createAlertsProcessor, type WebhookTarget } from "./processors/alerts.js";
import { createChecksProcessor } from "./processors/checks.js";
import { createMaintenanceProcessor } from "./processors/maintenance.js";
import { createProvidersProcessor, type ProviderPolling } from "./processors/providers.js";
import { createRpcProcessor } from "./processors/rpc.js";
import { blockingConnection, producerConnection, QUEUE_NAMES, type RpcReply } from "./queues.js";
import { createRelay, type Relay, unavailable } from "./relay.js";

export type { ProviderPolling, WebhookTarget };

export interface ScheduleEvery {
  rolloverMs: number;
  spikeScanMs: number;
  reconcileMs: number;
  retentionMs: number;
  /** Grant expiry and expiry warnings (docs/grants.md). @defaultValue 60_000 */
  grantExpiryMs?: number;
  /** Operator budget alerts (`budget-scan`); default 60 s. */
  budgetScanMs?: number;
  /** Usage retention (`usage-archive`, docs/retention.md), when an archive job is given; default daily. */
  archiveMs?: number;
}

export const DEFAULT_SCHEDULE: ScheduleEvery = {
  rolloverMs: 15_000,
  spikeScanMs: 5 * 60_000,
  reconcileMs: 5 * 60_000,
  retentionMs: 6 * 3600_000,
  grantExpiryMs: 60_000,
  budgetScanMs: 60_000,
};

export interface WorkerRuntimeOptions {
  db: Db;
  redisUrl: string;
  /** BullMQ key prefix (CREDITGATE_QUEUE_PREFIX). */
  prefix: string;
  settings: WorkerSettings;
  /**
   * The process's enforcer and queries over `db` (createServices' `repos.enforcer` / `repos.queries`,
   * built with the same `settings`); each absent is built here (standalone use: tests).
   */
  enforcer?: Enforcer;
  queries?: Queries;
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
  /**
   * Usage retention (`runArchive` of src/retention: monthly archive files, rollup, removal),
   * injected by the entry; scheduled as the daily `usage-archive` job when given.
   */
  archive?: () => Promise<unknown>;
  /**
   * Auto top-up (payments' `createAutoTopup`), injected by the entry: `onBalanceChange` runs after
   * every limit check; `resumeStale` on the `autotopup-resume` schedule (every `resumeEveryMs`,
   * default 60 s). Absent: no auto top-up.
   */
  autoTopup?: {
    onBalanceChange(accountId: string): Promise<{ status: string; reason?: string }>;
    resumeStale(): Promise<unknown[]>;
    resumeEveryMs?: number;
  };
  /**
   * Provider-account polling (src/providers), injected by the entry: a job scheduler
   * `providers-poll` every `everyMs` fans out one jittered `poll` job per configured provider.
   * Absent, or `schedule: false`: no polling.
   */
  providers?: ProviderPolling;
  fetch?: typeof fetch;
}

export interface WorkerRuntime {
  enforcer: Enforcer;
  relay: Relay;
  /** Resolves when every worker is connected and the schedulers are registered. */
  ready: Promise<void>;
  /**
   * Stops taking jobs and lets in-flight ones finish for up to `graceMs` (default `SHUTDOWN_GRACE_MS`, 5000); then
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
  const enforcer = o.enforcer ?? createEnforcer(o.db, o.settings);
  const queries = o.queries ?? createQueries(o.db, enforcer);
  const connections: Redis[] = [];
  const autoTopup = o.autoTopup;
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
  const providersQueue = o.providers
    ? new Queue(QUEUE_NAMES.providers, { connection: producer(), prefix })
    : null;
  for (const q of [checksQueue, alertsQueue, maintenanceQueue, ...(providersQueue ? [providersQueue] : [])])
    q.on("error", () => {});

  const relay = createRelay({
    db: o.db,
    checks: checksQueue,
    alerts: o.webhook ? alertsQueue : null,
    webhook: o.webhook ? { attempts: o.webhook.attempts, backoffMs: o.webhook.backoffMs } : null,
    log,
  });

  const kick = () => {
    if (o.webhook) relay.kick();
  };

  // RPC answers go straight to the asking client's reply channel, before BullMQ's own bookkeeping
  // (moveToFinished, the event stream): see rpc-client.ts.
  const replies = producer();
  const reply = (channel: string | null, message: RpcReply) => {
    if (channel) replies.publish(channel, JSON.stringify(message)).catch(() => {}); // lost ⇒ client times out
  };

  const concurrency = o.concurrency ?? DEFAULT_CONFIG.worker.concurrency;
  const workers: Worker[] = [
    new Worker(
      QUEUE_NAMES.checks,
      createChecksProcessor({
        db: o.db,
        enforcer,
        nowMs,
        onAlerts: kick,
        log,
        ...(autoTopup ? { afterCheck: (id: string) => autoTopup.onBalanceChange(id) } : {}),
      }),
      { connection: blocking(), prefix, concurrency },
    ),
    new Worker(QUEUE_NAMES.rpc, createRpcProcessor({ queries, prefix, nowMs, reply }), {
      connection: blocking(),
      prefix,
      concurrency: Math.max(concurrency, 16),
    }),
    new Worker(
      QUEUE_NAMES.maintenance,
      createMaintenanceProcessor({
        db: o.db,
        enforcer,
        retentionDays: o.settings.retentionDays,
        nowMs,
        onAlerts: kick,
        ...(o.reconcile ? { reconcile: o.reconcile } : {}),
        ...(o.archive ? { archive: o.archive } : {}),
        ...(autoTopup ? { resumeAutoTopups: () => autoTopup.resumeStale() } : {}),
      }),
      { connection: blocking(), prefix, concurrency: 1 },
    ),
  ];
  if (o.providers && providersQueue) {
    const providers = o.providers;
    workers.push(
      new Worker(
        QUEUE_NAMES.providers,
        createProvidersProcessor({
          providers: {
            everyMs: providers.everyMs,
            configured: () => providers.configured(),
            poll: async (id, now) => {
              const r = await providers.poll(id, now);
              if ((r as { alertsRaised?: number })?.alertsRaised) kick();
              return r;
            },
          },
          queue: () => providersQueue,
          nowMs,
        }),
        // One poll at a time per worker; a provider is never polled twice in one interval (job ids).
        { connection: blocking(), prefix, concurrency: 1 },
      ),
    );
  }
  const deliver = createAlertsProcessor({ enforcer, webhook: o.webhook, nowMs, fetch: fetchImpl, log });
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
      ["grant-expiry", every.grantExpiryMs ?? 60_000],
      ["budget-scan", every.budgetScanMs ?? 60_000],
    );
    if (o.reconcile) schedules.push(["reconcile", every.reconcileMs]);
    if (o.archive) schedules.push(["usage-archive", every.archiveMs ?? 24 * 3600_000]);
    if (autoTopup) schedules.push(["autotopup-resume", autoTopup.resumeEveryMs ?? 60_000]);
  }
  const scheduleOpts = { removeOnComplete: true, removeOnFail: { count: 100 } };
  const providerSchedule = o.schedule !== false && o.providers && providersQueue ? providersQueue : null;
  const upsertProviderSchedule = (q: Queue) =>
    q.upsertJobScheduler(
      "providers-poll",
      { every: o.providers?.everyMs ?? DEFAULT_CONFIG.providers.pollMs },
      { name: "poll-all", opts: scheduleOpts },
    );
  const ready = (async () => {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    for (const [name, ms] of schedules) {
      await maintenanceQueue.upsertJobScheduler(name, { every: ms }, { name, opts: scheduleOpts });
    }
    if (providerSchedule) await upsertProviderSchedule(providerSchedule);
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
    if (providerSchedule && !stopped && !(await providerSchedule.getJobScheduler("providers-poll"))) {
      await upsertProviderSchedule(providerSchedule);
      log("warn", "worker: job scheduler providers-poll was missing from Redis; restored");
    }
  };
  const scheduleSweep = () => {
    if (!sweep || stopped) return;
    sweepTimer = setTimeout(() => {
      sweeping = sweepPass()
        .catch((err: unknown) =>
          log("warn", `sweep: ${unavailable(err)}, will retry: ${(err as Error).message}`),
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
    close(graceMs = SHUTDOWN_GRACE_MS) {
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
          await Promise.allSettled([
            checksQueue.close(),
            alertsQueue.close(),
            maintenanceQueue.close(),
            ...(providersQueue ? [providersQueue.close()] : []),
          ]);
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
