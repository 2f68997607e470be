import type { Queue } from "bullmq";
import type { Db } from "../db/index.js";
import { idPart } from "./queues.js";

export interface RelayOptions {
  db: Db;
  checks: Queue;
  /** Null when no operator webhook is configured (nothing to deliver). */
  alerts: Queue | null;
  webhook: { attempts: number; backoffMs: number } | null;
  /** Outbox rows handed to BullMQ per pass. @defaultValue 1000 */
  batchSize?: number;
  log?: (level: "warn" | "info", msg: string) => void;
}

/** BullMQ job states in which a job is still going to run (or running): the sweep leaves it be. */
const LIVE_STATES = new Set(["waiting", "active", "delayed", "prioritized", "waiting-children"]);

/** Job options of one outbox row's job; the same for the relay and the sweep. */
function checkJob(accountId: string, seq: number) {
  return {
    name: "check",
    data: { accountId, seq },
    opts: {
      jobId: `chk-${idPart(accountId)}-${seq}`,
      attempts: 5,
      backoff: { type: "exponential", delay: 200 },
      removeOnComplete: true,
      removeOnFail: { count: 1000 },
    },
  };
}

/**
 * Moves the SQLite outbox to BullMQ. A row is marked sent only after Redis accepted its job, so
 * a Redis outage only delays: the next pass (or the one after Redis returns) sends it. Several
 * relays (one per worker process) may run at once: job ids are deterministic, so a second add of
 * the same job is a no-op in BullMQ, and marking is monotonic.
 */
export function createRelay(o: RelayOptions) {
  const batch = o.batchSize ?? 1000;
  const pendingChecks = o.db.prepare<[number], { account_id: string; seq: number }>(
    "SELECT account_id, seq FROM limit_outbox WHERE seq > sent_seq ORDER BY updated_at_ms LIMIT ?",
  );
  const markCheck = o.db.prepare<[number, string, number]>(
    "UPDATE limit_outbox SET sent_seq = ? WHERE account_id = ? AND sent_seq < ?",
  );
  const pendingAlerts = o.db.prepare<[number], { id: number }>(
    "SELECT id FROM alerts WHERE webhook_state = 'pending' ORDER BY id LIMIT ?",
  );
  const markAlert = o.db.prepare<[number, number]>(
    "UPDATE alerts SET webhook_state = 'queued', webhook_updated_at_ms = ? WHERE id = ? AND webhook_state = 'pending'",
  );
  const markChecks = o.db.transaction((rows: { account_id: string; seq: number }[]) => {
    for (const r of rows) markCheck.run(r.seq, r.account_id, r.seq);
  });
  const markAlerts = o.db.transaction((ids: number[], nowMs: number) => {
    for (const id of ids) markAlert.run(nowMs, id);
  });

  const alertJob = (id: number) => ({
    name: "deliver",
    data: { alertId: id },
    opts: {
      jobId: `alert-${id}`,
      attempts: o.webhook?.attempts ?? 1,
      backoff: { type: "exponential", delay: o.webhook?.backoffMs ?? 1000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    },
  });

  const staleAlerts = o.db.prepare<[number, number], { id: number }>(
    `SELECT id FROM alerts WHERE webhook_state = 'queued' AND webhook_updated_at_ms < ?
      ORDER BY webhook_updated_at_ms LIMIT ?`,
  );
  const touchAlert = o.db.prepare<[number, number]>(
    "UPDATE alerts SET webhook_updated_at_ms = ? WHERE id = ? AND webhook_state = 'queued'",
  );
  const staleChecks = o.db.prepare<[number, number], { account_id: string; sent_seq: number }>(
    `SELECT account_id, sent_seq FROM limit_outbox WHERE sent_seq > checked_seq AND updated_at_ms < ?
      ORDER BY updated_at_ms LIMIT ?`,
  );
  const touchCheck = o.db.prepare<[number, string, number]>(
    "UPDATE limit_outbox SET updated_at_ms = ? WHERE account_id = ? AND sent_seq = ? AND sent_seq > checked_seq",
  );

  /**
   * Re-enqueues what Redis may have lost: checks sent but never finished, and alert deliveries
   * `queued` (handed to Redis, maybe in retry) whose last news is older than `staleAfterMs`. Each
   * row's job is looked up by its deterministic id: a live one (waiting, delayed for a retry,
   * active) is left alone; a missing one is added again; a finished one whose row was never
   * settled (a crash between the two) is removed and added again. Safe to run anywhere, any time.
   * Returns how many jobs it re-added. Throws if Redis refused.
   */
  async function sweepOnce(nowMs: number, staleAfterMs: number): Promise<{ checks: number; alerts: number }> {
    const before = nowMs - staleAfterMs;
    let checks = 0;
    let alerts = 0;
    const revive = async (queue: Queue, job: { name: string; data: unknown; opts: { jobId: string } }) => {
      const state = await queue.getJobState(job.opts.jobId);
      if (LIVE_STATES.has(state)) return false;
      if (state !== "unknown") await queue.remove(job.opts.jobId);
      await queue.add(job.name, job.data, job.opts);
      return true;
    };
    for (const r of staleChecks.all(before, batch)) {
      if (await revive(o.checks, checkJob(r.account_id, r.sent_seq))) checks++;
      if (!o.db.open) return { checks, alerts };
      touchCheck.run(nowMs, r.account_id, r.sent_seq);
    }
    if (o.alerts && o.webhook) {
      for (const r of staleAlerts.all(before, batch)) {
        if (await revive(o.alerts, alertJob(r.id))) alerts++;
        if (!o.db.open) return { checks, alerts };
        touchAlert.run(nowMs, r.id);
      }
    }
    if (checks + alerts > 0)
      o.log?.(
        "warn",
        `sweep: re-enqueued ${checks} check(s) and ${alerts} alert delivery(ies) missing from Redis`,
      );
    return { checks, alerts };
  }

  /** One pass; returns how many checks and alert deliveries were handed to Redis. Throws if Redis refused. */
  async function runOnce(): Promise<{ checks: number; alerts: number }> {
    let checks = 0;
    let alerts = 0;
    for (;;) {
      const rows = pendingChecks.all(batch);
      if (rows.length === 0) break;
      await o.checks.addBulk(rows.map((r) => checkJob(r.account_id, r.seq)));
      if (!o.db.open) break; // stopped while Redis answered: the rows stay pending, resent next start
      markChecks.immediate(rows);
      checks += rows.length;
      if (rows.length < batch) break;
    }
    if (o.alerts && o.webhook) {
      for (;;) {
        const rows = pendingAlerts.all(batch);
        if (rows.length === 0) break;
        await o.alerts.addBulk(rows.map((r) => alertJob(r.id)));
        if (!o.db.open) break;
        markAlerts.immediate(
          rows.map((r) => r.id),
          Date.now(),
        );
        alerts += rows.length;
        if (rows.length < batch) break;
      }
    }
    return { checks, alerts };
  }

  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let again = false;
  let stopped = true;
  let intervalMs = 100;
  let lastError = "";

  function pass(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    if (timer) clearTimeout(timer);
    timer = null;
    running = runOnce()
      .then(() => {
        if (lastError) o.log?.("info", "relay: jobs are sent again");
        lastError = "";
      })
      .catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (msg !== lastError) o.log?.("warn", `relay: ${unavailable(err)}, will retry: ${msg}`);
        lastError = msg;
      })
      .finally(() => {
        running = null;
        if (stopped) return;
        if (again) {
          again = false;
          setImmediate(pass);
        } else timer = setTimeout(pass, intervalMs);
      });
  }

  return {
    runOnce,
    sweepOnce,
    /** Polls every `everyMs` (an outbox written by another process is seen within that). */
    start(everyMs = 100): void {
      intervalMs = everyMs;
      stopped = false;
      pass();
    },
    /** Runs a pass now (after a local commit), coalescing with one in flight. */
    kick(): void {
      pass();
    },
    /**
     * Stops polling and waits up to `waitMs` (default: as long as it takes) for a pass in flight.
     * A pass stuck on an unreachable Redis is abandoned: its rows were not marked, so they stay in
     * the outbox for the next start.
     */
    async stop(waitMs?: number): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (waitMs === undefined) {
        await running;
        return;
      }
      let t: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise<void>((r) => (t = setTimeout(r, waitMs)))]);
      clearTimeout(t);
    },
  };
}

export type Relay = ReturnType<typeof createRelay>;

/**
 * What a failed relay or sweep pass could not reach, for its log line: creditgate's database (a
 * SQLite error: `SQLITE_BUSY` while another process writes, full, read-only…; on PostgreSQL the
 * same codes or `PG_<sqlstate>`, see db/pg.ts) or Redis (anything else: the pass only talks to
 * these two).
 */
export function unavailable(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_") || code.startsWith("PG_"))
    ? `the database is busy or failing (${code})`
    : "Redis unavailable";
}
