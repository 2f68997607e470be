import { Redis } from "ioredis";

/**
 * The BullMQ contract: queue names and connections. Every queue lives under one key prefix
 * (CREDITGATE_QUEUE_PREFIX; tests use a unique one each). Job ids never contain ':'.
 */
export const QUEUE_NAMES = {
  /** `check` {accountId}: recompute one account's status and alerts (from the outbox). */
  checks: "checks",
  /** `deliver` {alertId}: POST one signed alert to the operator webhook, with retries. */
  alerts: "alerts",
  /** `consumo` | `balance` | `status` | `user_usage` | `agent_usage`: RPC questions. */
  rpc: "rpc",
  /** Job schedulers: `rollover`, `spike-scan`, `grant-expiry`, `reconcile`, `retention`. */
  maintenance: "maintenance",
  /** `poll-all` (job scheduler `providers-poll`), then `poll` {provider} per provider account (issue #13). */
  providers: "providers",
} as const;

export interface RedisTarget {
  redisUrl: string;
  prefix: string;
}

/** For Queue (producers): fail fast while Redis is down instead of buffering commands in memory. */
export function producerConnection(url: string): Redis {
  const r = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  r.on("error", () => {}); // reconnects by itself; callers see failed commands
  return r;
}

/** For Worker (blocking commands): BullMQ requires maxRetriesPerRequest null. */
export function blockingConnection(url: string): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  r.on("error", () => {});
  return r;
}

/** For the RPC client's reply subscription: gives up (rejects) instead of waiting forever for Redis. */
export function subscriberConnection(url: string): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  r.on("error", () => {});
  return r;
}

/**
 * RPC replies: the worker publishes each answer on the asking client's channel, named from the
 * job id `rpc-<clientId>-<n>` (clientId: 32 hex). Null for a job id not in that form (a caller
 * that reads BullMQ's `completed` event instead).
 */
export const RPC_JOB_ID = /^rpc-([0-9a-f]{32})-[0-9]+$/;
/** What the worker publishes on a client's reply channel. */
export type RpcReply =
  | { id: string; ok: true; result: unknown }
  | { id: string; ok: false; code: string; message: string };
export function rpcReplyChannel(prefix: string, clientId: string): string {
  return `${prefix}:${QUEUE_NAMES.rpc}:reply:${clientId}`;
}
export function rpcReplyChannelOf(prefix: string, jobId: string | undefined): string | null {
  const m = jobId === undefined ? null : RPC_JOB_ID.exec(jobId);
  return m?.[1] ? rpcReplyChannel(prefix, m[1]) : null;
}

/** A job-id-safe form of an account id (`telegram:1` has a ':'): base64url, no ':' ever. */
export function idPart(accountId: string): string {
  return Buffer.from(accountId, "utf8").toString("base64url");
}
