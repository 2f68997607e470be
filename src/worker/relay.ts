import type { Queue } from "bullmq";
import type { Db } from "../db/index.js";
import { idPart } from "./queues.js";

export interface RelayOptions {
  db: Db;
  checks: Queue;
  /** Null when no operator webhook is configured (nothing to deliver). */
  alerts: Queue | null;
  webhook: { attempts: number; backoffMs: number } | null;
  batchSize?: number;
  log?: (level: "warn" | "info", msg: string) => void;
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

  /** One pass; returns how many checks and alert deliveries were handed to Redis. Throws if Redis refused. */
  async function runOnce(): Promise<{ checks: number; alerts: number }> {
    let checks = 0;
    let alerts = 0;
    for (;;) {
      const rows = pendingChecks.all(batch);
      if (rows.length === 0) break;
      await o.checks.addBulk(
        rows.map((r) => ({
          name: "check",
          data: { accountId: r.account_id },
          opts: {
            jobId: `chk-${idPart(r.account_id)}-${r.seq}`,
            attempts: 5,
            backoff: { type: "exponential", delay: 200 },
            removeOnComplete: true,
            removeOnFail: { count: 1000 },
          },
        })),
      );
      markChecks.immediate(rows);
      checks += rows.length;
      if (rows.length < batch) break;
    }
    if (o.alerts && o.webhook) {
      for (;;) {
        const rows = pendingAlerts.all(batch);
        if (rows.length === 0) break;
        await o.alerts.addBulk(
          rows.map((r) => ({
            name: "deliver",
            data: { alertId: r.id },
            opts: {
              jobId: `alert-${r.id}`,
              attempts: o.webhook?.attempts ?? 1,
              backoff: { type: "exponential", delay: o.webhook?.backoffMs ?? 1000 },
              removeOnComplete: { count: 1000 },
              removeOnFail: { count: 5000 },
            },
          })),
        );
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
        if (lastError) o.log?.("info", "relay: Redis accepts jobs again");
        lastError = "";
      })
      .catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (msg !== lastError) o.log?.("warn", `relay: Redis unavailable, will retry: ${msg}`);
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
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}

export type Relay = ReturnType<typeof createRelay>;
