import { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { OpsProbes } from "../api/index.js";
import { QUEUE_NAMES } from "./queues.js";

/**
 * Redis/BullMQ probes for /readyz and /metrics: one extra connection that never queues
 * commands while Redis is down (a probe must fail fast, not wait).
 */
export function createRedisProbes(redisUrl: string, prefix: string): OpsProbes & { close(): Promise<void> } {
  const connection = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
  });
  connection.on("error", () => {}); // reported by /readyz instead
  const queues = Object.values(QUEUE_NAMES).map((name) => new Queue(name, { connection, prefix }));
  for (const q of queues) q.on("error", () => {}); // the probes report failures themselves
  const connecting = () => (connection.status === "wait" ? connection.connect() : Promise.resolve());
  return {
    async redisPing() {
      await connecting();
      await connection.ping();
    },
    async queueCounts() {
      await connecting();
      const out: Record<string, Record<string, number>> = {};
      for (const q of queues) {
        out[q.name] = await q.getJobCounts("waiting", "active", "delayed", "failed", "prioritized");
      }
      return out;
    },
    async close() {
      if (connection.status !== "ready") {
        // Never connected: closing a queue whose connection is still initializing makes BullMQ emit
        // an 'error' after it stopped listening (a crash). Drop the connection; the queues ignore it.
        connection.disconnect();
        return;
      }
      await Promise.allSettled(queues.map((q) => q.close()));
      connection.disconnect();
    },
  };
}
