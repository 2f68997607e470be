import { QueueEvents } from "bullmq";
import { afterEach, describe, expect, test } from "vitest";
import { openDatabase } from "../../src/db/index.js";
import { QUEUE_NAMES } from "../../src/worker/queues.js";
import { type ScheduleEvery, startWorkerRuntime, type WorkerRuntime } from "../../src/worker/runtime.js";
import { createTempDb } from "../support/temp-db.js";
import { obliteratePrefix, REDIS_URL, settings, uniquePrefix } from "./support.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Short periods, all different, so that every scheduled job runs many times in a few seconds. */
const EVERY: Required<ScheduleEvery> = {
  rolloverMs: 400,
  spikeScanMs: 600,
  reconcileMs: 500,
  retentionMs: 700,
  grantExpiryMs: 450,
  budgetScanMs: 650,
  archiveMs: 550,
};
const AUTOTOPUP_EVERY = 480;
const PROVIDERS_EVERY = 520;
const PERIODS: Record<string, number> = {
  rollover: EVERY.rolloverMs,
  "spike-scan": EVERY.spikeScanMs,
  reconcile: EVERY.reconcileMs,
  retention: EVERY.retentionMs,
  "grant-expiry": EVERY.grantExpiryMs,
  "budget-scan": EVERY.budgetScanMs,
  "usage-archive": EVERY.archiveMs,
  "autotopup-resume": AUTOTOPUP_EVERY,
  "providers-poll": PROVIDERS_EVERY,
};

describe("scheduled jobs across several worker processes", () => {
  test("two worker runtimes on one Redis prefix run every scheduled job once per period", async () => {
    const t = createTempDb();
    cleanups.push(() => t.cleanup());
    const prefix = uniquePrefix();
    cleanups.push(() => obliteratePrefix(prefix));

    // What the schedulers produced, seen from outside: every maintenance job that finished
    // (BullMQ's event stream), by scheduler id → the slot (ms) of each run.
    const runs = new Map<string, number[]>();
    const seen = new Set<string>();
    const record = ({ jobId }: { jobId: string }) => {
      const m = /^repeat:([a-z-]+):(\d+)$/.exec(jobId);
      if (!m?.[1] || !m[2] || seen.has(jobId)) return;
      seen.add(jobId);
      const list = runs.get(m[1]) ?? [];
      list.push(Number(m[2]));
      runs.set(m[1], list);
    };
    for (const queue of [QUEUE_NAMES.maintenance, QUEUE_NAMES.providers]) {
      const events = new QueueEvents(queue, { connection: { url: REDIS_URL }, prefix });
      cleanups.push(() => events.close());
      events.on("completed", record);
      events.on("failed", record);
      await events.waitUntilReady();
    }

    // The entry-injected jobs count their calls per runtime (two processes' worth of work).
    const calls = { reconcile: [0, 0, 0], archive: [0, 0, 0], resume: [0, 0, 0] };
    const bump = (xs: number[], i: number) => {
      xs[i] = (xs[i] ?? 0) + 1;
    };
    const polls = new Map<string, number>(); // provider → polls
    const start = (i: number): WorkerRuntime => {
      const db = openDatabase(t.path);
      const rt = startWorkerRuntime({
        db,
        redisUrl: REDIS_URL,
        prefix,
        settings: settings(),
        webhook: null,
        schedule: EVERY,
        sweep: false,
        reconcile: async () => {
          bump(calls.reconcile, i);
          return [];
        },
        archive: async () => {
          bump(calls.archive, i);
          return null;
        },
        autoTopup: {
          onBalanceChange: async () => ({ status: "none" }),
          resumeStale: async () => {
            bump(calls.resume, i);
            return [];
          },
          resumeEveryMs: AUTOTOPUP_EVERY,
        },
        providers: {
          everyMs: PROVIDERS_EVERY,
          configured: () => ["openai", "anthropic"],
          poll: async (provider) => {
            polls.set(provider, (polls.get(provider) ?? 0) + 1);
            return {};
          },
        },
      });
      cleanups.push(async () => {
        await rt.close(2000);
        db.close();
      });
      return rt;
    };

    const t0 = Date.now();
    const a = start(0);
    await a.ready;
    await sleep(1500);
    // A second process joins (upserting the same schedulers again), then the first restarts.
    const b = start(1);
    await b.ready;
    await sleep(2500);
    await a.close(2000);
    const a2 = start(2);
    await a2.ready;
    await sleep(2500);
    await Promise.all([b.close(2000), a2.close(2000)]);
    const windowMs = Date.now() - t0; // the whole time any worker was up
    await sleep(300); // the last events reach the stream

    for (const [name, every] of Object.entries(PERIODS)) {
      const slots = (runs.get(name) ?? []).sort((x, y) => x - y);
      // It ran, more than once…
      expect(slots.length, name).toBeGreaterThanOrEqual(3);
      // …never twice in a period: no slot repeats, consecutive slots are at least a period apart
      // (a late worker may skip a slot, never add one)…
      expect(new Set(slots).size, name).toBe(slots.length);
      for (let i = 1; i < slots.length; i++)
        expect((slots[i] as number) - (slots[i - 1] as number), name).toBeGreaterThanOrEqual(every);
      // …and at most once per period over the whole window, whatever the restarts.
      expect(slots.length, name).toBeLessThanOrEqual(Math.ceil(windowMs / every) + 1);
    }
    const sum = (xs: number[] | undefined) => (xs ?? []).reduce((s, x) => s + x, 0);
    // The injected jobs ran exactly once per run of their scheduler, on whichever process took it.
    expect(sum(calls.reconcile)).toBe(runs.get("reconcile")?.length);
    expect(sum(calls.archive)).toBe(runs.get("usage-archive")?.length);
    expect(sum(calls.resume)).toBe(runs.get("autotopup-resume")?.length);
    // Both processes took scheduled jobs (the work is shared, not duplicated).
    expect(
      (calls.reconcile?.[1] ?? 0) + (calls.archive?.[1] ?? 0) + (calls.resume?.[1] ?? 0),
    ).toBeGreaterThan(0);
    // Provider polling: each provider polled at most once per `poll-all` run across the processes
    // (job ids `poll-<provider>-<interval>`), and polled.
    const pollAlls = runs.get("providers-poll")?.length ?? 0;
    for (const provider of ["openai", "anthropic"]) {
      expect(polls.get(provider), provider).toBeGreaterThanOrEqual(3);
      expect(polls.get(provider), provider).toBeLessThanOrEqual(pollAlls);
    }
  }, 60_000);
});
