import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { Redis } from "ioredis";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { DEFAULT_SETTINGS, type WorkerSettings } from "../../src/limits/index.js";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const CREDIT = 1_000_000;

/** A BullMQ prefix no other test uses. */
export function uniquePrefix(): string {
  return `cgtest-${randomUUID().slice(0, 12)}`;
}

/** Deletes every key under `prefix` (what obliterating each queue does, for all queues at once). */
export async function obliteratePrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== "0");
  } finally {
    r.disconnect();
  }
}

export function settings(over: Partial<WorkerSettings> = {}): WorkerSettings {
  return { ...DEFAULT_SETTINGS, ...over };
}

let seq = 0;

/**
 * Records one model call for `accountId` the way the meter does: a usage ledger debit and its
 * usage_events row, in one IMMEDIATE transaction (the accounts trigger writes the outbox).
 * The call is `provider`/`model` (default mock/mock-gpt) of `agentId` (default main).
 */
export function debit(
  db: Db,
  accountId: string,
  chargeMicroCredits: number,
  tsMs: number,
  agentId = "main",
  model = "mock-gpt",
  provider = "mock",
): void {
  const ledger = createLedger(db);
  db.transaction(() => {
    const key = `t-${process.pid}-${Date.now()}-${seq++}-${randomUUID().slice(0, 8)}`;
    const posted = ledger.post({
      accountId,
      kind: "usage",
      amountMicroCredits: BigInt(-chargeMicroCredits),
      idempotencyKey: `usage:${key}`,
      nowMs: tsMs,
    });
    db.prepare(
      `INSERT INTO usage_events (dedupe_key, ledger_entry_id, account_id, agent_id, source, source_ref, provider,
         model, message_ts_ms, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, total_tokens,
         cost_pico_usd, charge_micro_credits, price_source, price_version, created_at_ms)
       VALUES (?, ?, ?, ?, 'push', 'test', ?, ?, ?, 100, 50, 0, 0, 150, 0, ?, 'table', 'test', ?)`,
    ).run(key, posted.entryId, accountId, agentId, provider, model, tsMs, chargeMicroCredits, tsMs);
  }).immediate();
}

/** A paid top-up as fulfilment writes it (ledger kind `topup`). */
export function topUp(
  db: Db,
  accountId: string,
  microCredits: number,
  nowMs: number,
  key = randomUUID(),
): void {
  createLedger(db).post({
    accountId,
    kind: "topup",
    amountMicroCredits: BigInt(microCredits),
    idempotencyKey: `topup:${key}:grant`,
    nowMs,
  });
}

export function alertKeys(db: Db, accountId: string): string[] {
  return (
    db
      .prepare("SELECT kind, threshold, window_key FROM alerts WHERE account_id = ? ORDER BY id")
      .all(accountId) as { kind: string; threshold: string; window_key: string }[]
  ).map((a) => `${a.kind}|${a.threshold}|${a.window_key}`);
}

export async function waitFor<T>(
  fn: () => T | Promise<T>,
  pred: (v: T) => boolean,
  timeoutMs = 10_000,
  label = "condition",
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (pred(v)) return v;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${label}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** A throwaway redis-server (no persistence: a restart comes back empty). */
export function startRedis(port: number): ChildProcess {
  return spawn(
    "redis-server",
    ["--port", String(port), "--save", "", "--appendonly", "no", "--bind", "127.0.0.1"],
    {
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
}

export function waitRedis(p: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("redis-server did not start")), 10_000);
    p.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("Ready to accept connections")) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}
