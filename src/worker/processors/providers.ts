import { type Job, type Queue, UnrecoverableError } from "bullmq";

/** What the worker needs of the providers module (src/providers), injected by the entry. */
export interface ProviderPolling {
  /** Providers to poll now (configured keys, or found in OpenClaw's auth profiles). */
  configured(): readonly string[];
  /** Polls one provider; never throws (failures are stored on its status). */
  poll(provider: string, nowMs: number): Promise<unknown>;
  /** Poll interval per provider (ms). */
  everyMs: number;
}

/** Share of the interval each provider's poll is delayed by at most (spreads polls and load). */
export const PROVIDER_JITTER = 0.1;

/**
 * The `providers` queue. `poll-all` (from the job scheduler, once per interval for the whole
 * prefix, whichever worker takes it) adds one `poll` job per configured provider with a random
 * delay of up to 10 % of the interval and the job id `poll-<provider>-<slot>` (slot = the
 * interval number), so several workers, a re-run or a sweep never poll a provider twice in one
 * interval. `poll` calls the providers module; its failures are recorded there, not thrown.
 */
export function createProvidersProcessor(o: {
  providers: ProviderPolling;
  queue: () => Queue;
  nowMs: () => number;
  random?: () => number;
}) {
  const random = o.random ?? Math.random;
  return async (job: Job): Promise<unknown> => {
    const now = o.nowMs();
    switch (job.name) {
      case "poll-all": {
        const slot = Math.floor(now / o.providers.everyMs);
        const ids = o.providers.configured();
        for (const provider of ids) {
          await o.queue().add(
            "poll",
            { provider },
            {
              jobId: `poll-${provider}-${slot}`,
              delay: Math.floor(random() * PROVIDER_JITTER * o.providers.everyMs),
              removeOnComplete: { count: 50 },
              removeOnFail: { count: 50 },
            },
          );
        }
        return { queued: ids.length, slot };
      }
      case "poll": {
        const provider = String((job.data as { provider?: unknown }).provider ?? "");
        if (!/^[a-z]{1,40}$/.test(provider))
          throw new UnrecoverableError(`bad provider ${provider.slice(0, 40)}`);
        return o.providers.poll(provider, now);
      }
      default:
        throw new UnrecoverableError(`unknown providers job ${job.name}`);
    }
  };
}
