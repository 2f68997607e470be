import { type Job, UnrecoverableError } from "bullmq";
import { type Db, retryOnBusy } from "../../db/index.js";
import type { Enforcer } from "../../limits/index.js";

/** How long a limit check waits (asynchronously) for another process's database lock. */
const CHECK_BUSY_RETRY_MS = 60_000;

/**
 * The `checks` queue: `check` {accountId, seq?} recomputes one account's status and alerts, then
 * marks outbox row `seq` checked. Calls `onAlerts` when the check raised alerts (the relay sends
 * their webhook deliveries). Returns `{allowed, alerts}` (count).
 */
export function createChecksProcessor(o: {
  db: Db;
  enforcer: Enforcer;
  nowMs: () => number;
  onAlerts: () => void;
  /**
   * Runs after every check (auto top-up, injected by the entry: the worker itself never charges
   * or credits). Its failure is logged, never fails the check (the status is already stored).
   */
  afterCheck?: (accountId: string) => Promise<{ status: string; reason?: string }>;
  log?: (level: "info" | "warn" | "error", msg: string) => void;
}) {
  const markChecked = o.db.prepare<[number, string]>(
    "UPDATE limit_outbox SET checked_seq = max(checked_seq, ?) WHERE account_id = ?",
  );
  return async (job: Job): Promise<{ allowed: boolean; alerts: number; autoTopup?: string }> => {
    const accountId = (job.data as { accountId?: unknown }).accountId;
    if (typeof accountId !== "string") throw new UnrecoverableError("check: accountId missing");
    // Under `start` the connection's busy timeout is short (the HTTP server shares the event
    // loop): a lock held elsewhere is waited for here, asynchronously, not in BullMQ's attempts.
    const seq = (job.data as { seq?: unknown }).seq;
    const r = await retryOnBusy(() => {
      const checked = o.enforcer.check(accountId, o.nowMs());
      if (typeof seq === "number") markChecked.run(seq, accountId);
      return checked;
    }, CHECK_BUSY_RETRY_MS);
    if (r.alerts.length > 0) o.onAlerts();
    let autoTopup: string | undefined;
    if (o.afterCheck) {
      try {
        const a = await o.afterCheck(accountId);
        autoTopup = a.reason ? `${a.status}:${a.reason}` : a.status;
      } catch (err) {
        autoTopup = "error";
        o.log?.(
          "error",
          `auto top-up for ${accountId} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    return { allowed: r.status.allowed, alerts: r.alerts.length, ...(autoTopup ? { autoTopup } : {}) };
  };
}
