/**
 * Per-user status cache so the gate costs a Map lookup on the chat hot path.
 *
 * - An entry lives `ttlMs`; concurrent misses for one user share one request (single flight).
 * - The notice service invalidates a user as soon as creditgate queues a notice for them
 *   (top-up received, blocked, unblocked...), so a top-up lifts the gate on the next message
 *   rather than after the TTL.
 * - An unreachable creditgate is remembered for a short time (`failureTtlMs`) so that an outage
 *   does not add a request timeout to every message; what happens then is the caller's
 *   `failOpen` decision.
 */
import type { UserStatus } from "./api-types.js";
import { type CreditgateClient, CreditgateError } from "./client.js";

export type StatusLookup =
  | { ok: true; status: UserStatus; cached: boolean }
  | { ok: false; error: CreditgateError; cached: boolean };

interface Entry {
  value: StatusLookup;
  expiresAt: number;
}

export interface StatusCacheOptions {
  ttlMs: number;
  /**
   * How long a blocked status is kept (capped at `ttlMs`). A user is blocked until something
   * changes at creditgate (a top-up, a grant, a limit change), and only a notice told the cache
   * so: before 2026-12-04 a block was kept the full `ttlMs` (15 s by default), so a user who had
   * just paid was refused again, with a top-up link, until the notice poll or the TTL dropped it
   * (no notice at all with `deliverNotices: false` or the worker behind). @defaultValue 0 (asked
   * again at each message of a blocked user)
   */
  blockedTtlMs?: number;
  failureTtlMs?: number;
  timeoutMs: number;
  maxEntries?: number;
  now?: () => number;
}

export class StatusCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<StatusLookup>>();
  /** Bumped per user on invalidation so a response that raced an invalidation is not cached. */
  private readonly generation = new Map<string, number>();
  private readonly now: () => number;

  private readonly client: CreditgateClient;
  private readonly opts: StatusCacheOptions;

  constructor(client: CreditgateClient, opts: StatusCacheOptions) {
    this.client = client;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The status of `userId` talking to `agentId` (the agent matters for hard operator budgets:
   * cached per user and agent). Without an agent: the user's own status.
   */
  async get(userId: string, agentId?: string): Promise<StatusLookup> {
    const key = agentId ? `${userId}\u0000${agentId}` : userId;
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > this.now()) return { ...hit.value, cached: true };
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const gen = this.generation.get(userId) ?? 0;
    const p: Promise<StatusLookup> = this.fetch(userId, agentId).then((value) => {
      if (this.inflight.get(key) === p) this.inflight.delete(key);
      if ((this.generation.get(userId) ?? 0) === gen) this.store(key, value);
      return value;
    });
    this.inflight.set(key, p);
    return p;
  }

  /** Forgets `userId`'s entries (with every agent). */
  invalidate(userId: string): void {
    const prefix = `${userId}\u0000`;
    for (const m of [this.entries, this.inflight] as Map<string, unknown>[]) {
      m.delete(userId);
      for (const k of m.keys()) if (k.startsWith(prefix)) m.delete(k);
    }
    this.generation.set(userId, (this.generation.get(userId) ?? 0) + 1);
  }

  clear(): void {
    this.entries.clear();
    this.inflight.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private async fetch(userId: string, agentId?: string): Promise<StatusLookup> {
    try {
      const status = await this.client.status(userId, this.opts.timeoutMs, agentId);
      if (typeof status?.allowed !== "boolean") {
        throw new CreditgateError("unreachable", "creditgate status: malformed answer");
      }
      return { ok: true, status, cached: false };
    } catch (err) {
      const e = err instanceof CreditgateError ? err : new CreditgateError("unreachable", String(err));
      return { ok: false, error: e, cached: false };
    }
  }

  private store(key: string, value: StatusLookup): void {
    const ttl = !value.ok
      ? (this.opts.failureTtlMs ?? Math.min(this.opts.ttlMs, 5_000))
      : value.status.allowed
        ? this.opts.ttlMs
        : Math.min(this.opts.ttlMs, this.opts.blockedTtlMs ?? 0);
    if (ttl <= 0) return;
    const max = this.opts.maxEntries ?? 10_000;
    if (this.entries.size >= max && !this.entries.has(key)) {
      // Drop the oldest insertion (Map keeps insertion order): bounded memory, no LRU bookkeeping.
      const first = this.entries.keys().next();
      if (!first.done) this.entries.delete(first.value);
    }
    this.entries.delete(key);
    this.entries.set(key, { value: { ...value, cached: false }, expiresAt: this.now() + ttl });
  }
}
