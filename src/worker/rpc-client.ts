import { randomBytes } from "node:crypto";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { AppError, ErrorCode } from "../errors.js";
import { type QueryName, type QueryParams, type QueryResults, querySchemas } from "../limits/index.js";
import {
  producerConnection,
  QUEUE_NAMES,
  type RpcReply,
  rpcReplyChannel,
  subscriberConnection,
} from "./queues.js";

export type { RpcReply };

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
    /** `timeoutMs`: how long to wait for the answer. @defaultValue 5000 */
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
 * RPC over BullMQ: one job per call (removed from Redis once answered). The answer comes back on
 * this client's own pub/sub channel (`<prefix>:rpc:reply:<clientId>`), published by the worker
 * as soon as it has it, before BullMQ's own bookkeeping; the job id `rpc-<clientId>-<n>` tells
 * the worker where to reply. The client subscribes before its first add, so a fast answer is
 * never missed, and it never reads the queue's event stream (every job's events, for everyone).
 * A reply lost while the subscriber reconnects surfaces as a timeout, never as a wrong answer.
 */
export async function createRpcClient(o: RpcClientOptions): Promise<RpcClient> {
  const clientId = randomBytes(16).toString("hex");
  const channel = rpcReplyChannel(o.prefix, clientId);
  const producer = producerConnection(o.redisUrl);
  const subscriber = subscriberConnection(o.redisUrl);
  const conns: Redis[] = [producer, subscriber];
  const queue = new Queue(QUEUE_NAMES.rpc, { connection: producer, prefix: o.prefix });
  queue.on("error", () => {});
  const pending = new Map<string, Pending>();
  subscriber.on("message", (ch: string, message: string) => {
    if (ch !== channel) return;
    let reply: RpcReply;
    try {
      reply = JSON.parse(message) as RpcReply;
    } catch {
      return;
    }
    const p = pending.get(reply.id);
    if (!p) return; // timed out already
    pending.delete(reply.id);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.result);
    else {
      const known = (Object.values(ErrorCode) as string[]).includes(reply.code);
      p.reject(
        new AppError(known ? (reply.code as ErrorCode) : ErrorCode.Internal, `rpc failed: ${reply.message}`),
      );
    }
  });
  try {
    await Promise.all([subscriber.subscribe(channel), queue.waitUntilReady()]);
  } catch (cause) {
    await queue.close().catch(() => {});
    for (const c of conns) c.disconnect();
    throw new AppError(ErrorCode.UpstreamUnavailable, "rpc: Redis unavailable", { cause });
  }
  let seq = 0;

  return {
    async call(name, params, opts = {}) {
      const parsed = querySchemas[name].safeParse(params);
      if (!parsed.success)
        throw new AppError(ErrorCode.InvalidRequest, `invalid ${name} params: ${parsed.error.message}`);
      const timeoutMs = opts.timeoutMs ?? 5000;
      const jobId = `rpc-${clientId}-${++seq}`;
      const answer = new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(jobId);
          // Not answered (worker down or busy): don't leave the question behind in Redis.
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
      await queue.close().catch(() => {});
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
