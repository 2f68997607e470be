import { randomUUID } from "node:crypto";
import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { AppError, ErrorCode } from "../errors.js";
import { type QueryName, type QueryParams, type QueryResults, querySchemas } from "./queries.js";
import { blockingConnection, producerConnection, QUEUE_NAMES } from "./queues.js";

export interface RpcClientOptions {
  redisUrl: string;
  /** Same prefix as the worker (CREDITGATE_QUEUE_PREFIX). */
  prefix: string;
}

export interface RpcClient {
  /**
   * Asks the worker `name` and waits for the typed answer. Rejects with `upstream_unavailable`
   * on timeout (default 5 s) or when Redis refuses, `invalid_request` on bad params.
   */
  call<N extends QueryName>(
    name: N,
    params: QueryParams<N>,
    opts?: { timeoutMs?: number },
  ): Promise<QueryResults[N]>;
  close(): Promise<void>;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

/**
 * RPC over BullMQ: one job per call (removed from Redis once answered), answers read from the
 * queue's event stream. Listeners are registered BEFORE the job is added under a client-chosen
 * id, so a fast answer is never missed.
 */
export async function createRpcClient(o: RpcClientOptions): Promise<RpcClient> {
  const conns: Redis[] = [producerConnection(o.redisUrl), blockingConnection(o.redisUrl)];
  const [producer, events] = conns as [Redis, Redis];
  const queue = new Queue(QUEUE_NAMES.rpc, { connection: producer, prefix: o.prefix });
  // Start reading events from a few seconds back: the first XREAD may start after our first add.
  const queueEvents = new QueueEvents(QUEUE_NAMES.rpc, {
    connection: events,
    prefix: o.prefix,
    lastEventId: `${Date.now() - 5000}-0`,
  });
  queue.on("error", () => {});
  queueEvents.on("error", () => {});
  const pending = new Map<string, Pending>();
  queueEvents.on("completed", ({ jobId, returnvalue }) => {
    const p = pending.get(jobId);
    if (!p) return;
    pending.delete(jobId);
    clearTimeout(p.timer);
    p.resolve(typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue);
  });
  queueEvents.on("failed", ({ jobId, failedReason }) => {
    const p = pending.get(jobId);
    if (!p) return;
    pending.delete(jobId);
    clearTimeout(p.timer);
    p.reject(new AppError(ErrorCode.InvalidRequest, `rpc failed: ${failedReason}`));
  });
  await Promise.all([queue.waitUntilReady(), queueEvents.waitUntilReady()]);

  return {
    async call(name, params, opts = {}) {
      const parsed = querySchemas[name].safeParse(params);
      if (!parsed.success)
        throw new AppError(ErrorCode.InvalidRequest, `invalid ${name} params: ${parsed.error.message}`);
      const timeoutMs = opts.timeoutMs ?? 5000;
      const jobId = `rpc-${randomUUID()}`;
      const answer = new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(jobId);
          void queue.remove(jobId).catch(() => {});
          reject(new AppError(ErrorCode.UpstreamUnavailable, `rpc ${name} timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(jobId, { resolve, reject, timer });
      });
      try {
        await queue.add(name, parsed.data, {
          jobId,
          removeOnComplete: true,
          removeOnFail: true,
          attempts: 1,
        });
      } catch (cause) {
        const p = pending.get(jobId);
        if (p) clearTimeout(p.timer);
        pending.delete(jobId);
        answer.catch(() => {});
        throw new AppError(ErrorCode.UpstreamUnavailable, `rpc ${name}: Redis unavailable`, { cause });
      }
      return (await answer) as QueryResults[typeof name];
    },
    async close() {
      for (const [, p] of pending) {
        clearTimeout(p.timer);
        p.reject(new AppError(ErrorCode.UpstreamUnavailable, "rpc client closed"));
      }
      pending.clear();
      await Promise.allSettled([queue.close(), queueEvents.close()]);
      for (const c of conns) c.disconnect();
    },
  };
}

/** One-shot convenience: connect, ask, close. Prefer a long-lived client for many calls. */
export async function call<N extends QueryName>(
  target: RpcClientOptions,
  name: N,
  params: QueryParams<N>,
  opts: { timeoutMs?: number } = {},
): Promise<QueryResults[N]> {
  const client = await createRpcClient(target);
  try {
    return await client.call(name, params, opts);
  } finally {
    await client.close();
  }
}
