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
  /** Job schedulers: `rollover`, `spike-scan`, `reconcile`, `retention`. */
  maintenance: "maintenance",
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

/** For Worker and QueueEvents (blocking commands): BullMQ requires maxRetriesPerRequest null. */
export function blockingConnection(url: string): Redis {
  const r = new Redis(url, {
    maxRetriesPerRequest: null,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  r.on("error", () => {});
  return r;
}

/** A job-id-safe form of an account id (`telegram:1` has a ':'): base64url, no ':' ever. */
export function idPart(accountId: string): string {
  return Buffer.from(accountId, "utf8").toString("base64url");
}
