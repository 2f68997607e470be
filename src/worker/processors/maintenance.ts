import { type Job, UnrecoverableError } from "bullmq";
import type { Db } from "../../db/index.js";
import {
  type Enforcer,
  runGrantExpiry,
  runRetention,
  runRollover,
  runSpikeScan,
} from "../../limits/index.js";

import { runBudgetScan } from "../../reports/index.js";

/**
 * The `maintenance` queue (job schedulers): `rollover`, `spike-scan`, `grant-expiry`, `reconcile`,
 * `retention`, `autotopup-resume`, `budget-scan` (operator budget alerts), `usage-archive` (usage
 * retention, daily, when the entry injects it).
 * Calls `onAlerts` when a pass raised alerts (the relay sends their webhook deliveries).
 */
export function createMaintenanceProcessor(o: {
  db: Db;
  enforcer: Enforcer;
  retentionDays: number;
  nowMs: () => number;
  onAlerts: () => void;
  /** Payment reconciliation (through the fulfilment path), injected by the entry. */
  reconcile?: () => Promise<unknown>;
  /** Usage retention (archive files, rollup, removal; docs/retention.md), injected by the entry. */
  archive?: () => Promise<unknown>;
  /** Auto top-up claims whose Stripe call never answered, resumed with the same key (injected). */
  resumeAutoTopups?: () => Promise<unknown[]>;
}) {
  return async (job: Job): Promise<unknown> => {
    const now = o.nowMs();
    switch (job.name) {
      case "rollover": {
        const n = runRollover(o.enforcer, now);
        if (n > 0) o.onAlerts();
        return { rechecked: n };
      }
      case "spike-scan": {
        const n = runSpikeScan(o.db, o.enforcer, now);
        if (n > 0) o.onAlerts();
        return { raised: n };
      }
      case "budget-scan": {
        const n = runBudgetScan(o.db, o.enforcer, now);
        if (n > 0) o.onAlerts();
        return { raised: n };
      }
      case "reconcile":
        return o.reconcile
          ? { results: ((await o.reconcile()) as unknown[] | undefined)?.length ?? 0 }
          : null;
      case "autotopup-resume":
        return o.resumeAutoTopups ? { resumed: (await o.resumeAutoTopups()).length } : null;
      case "grant-expiry": {
        const r = runGrantExpiry(o.db, o.enforcer, now);
        if (r.warned > 0) o.onAlerts();
        return r;
      }
      case "retention":
        return runRetention(o.db, o.retentionDays, now);
      case "usage-archive":
        return o.archive ? await o.archive() : null;
      default:
        throw new UnrecoverableError(`unknown maintenance job ${job.name}`);
    }
  };
}
