import type { EdgeOutboxRow, Outbox } from "./outbox.js";

export interface ShipperOptions {
  outbox: Outbox;
  /**
   * The center's base URLs, e.g. `["https://billing.example.com"]` (their `POST /v1/usage` is
   * used), at least one. Several: centers sharing ONE database (any of them bills an identity
   * once), tried in order; a failed request moves on to the next one at once, and only after every
   * one failed in a row does the shipper back off. It stays on the center that answered.
   */
  urls: readonly string[];
  /** The center's API key (scope `push`, or `ingest`/`admin`). Never logged. */
  key: string;
  /** Rows per request, 1-1000 (`CREDITGATE_SHIP_BATCH`). A 413 halves it for the rest of the run. */
  batchSize: number;
  /** First retry delay after a failure, ms; doubled per consecutive failure, full jitter. */
  backoffMs: number;
  /** Cap of the retry delay, ms. */
  backoffMaxMs: number;
  /** Per-request timeout, ms. @defaultValue 30_000 */
  timeoutMs?: number;
  /** How long to wait for new rows when the outbox is empty (a `wake()` ends it sooner), ms. @defaultValue 1000 */
  idleMs?: number;
  nowMs?: () => number;
  /** Uniform [0, 1) source for the jitter. @defaultValue Math.random */
  random?: () => number;
  log?: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
}

/** Running totals of a shipper, for logs, `meter --once --ship-to` and the bench. */
export interface ShipStats {
  requests: number;
  /** Rows the center acknowledged (billed, duplicate or held) and that were removed. */
  acked: number;
  billed: number;
  duplicates: number;
  held: number;
  /** Rows refused as invalid (rejected, conflict): moved to the dead letters. */
  deadLettered: number;
  failures: number;
  /** Largest time a row spent in the outbox before its acknowledgement, ms. */
  maxLagMs: number;
  lastError: string | null;
}

type PushResultItem = { index: number; status: string; reason?: string };

/** One push attempt's outcome: `ok` (the rows were settled), or a failure to back off from. */
type Attempt = { ok: true; rows: number } | { ok: false; error: string; retryAfterMs?: number };

/**
 * Ships the outbox to the center in batches, oldest first. A row is removed only after the center
 * answered 200 with a result for it: `billed`, `duplicate` or `held` (the center keeps it in its
 * review queue) acknowledge it; `rejected` and `conflict` move it to the dead letters with the
 * reason. Anything else (unreachable, timeout, 5xx, 429, 401/403) keeps every row and retries
 * after an exponential backoff with full jitter (`random() × min(max, base × 2^failures)`; a
 * `Retry-After` is honoured as a floor). A 413 or 400 halves the batch; a single row the center
 * refuses with 400 is dead-lettered with the center's message.
 */
export function createShipper(opts: ShipperOptions) {
  const now = opts.nowMs ?? Date.now;
  const random = opts.random ?? Math.random;
  if (opts.urls.length === 0) throw new Error("createShipper: urls must name at least one center");
  const bases = opts.urls.map((u) => u.replace(/\/+$/, ""));
  const endpoints = bases.map((u) => `${u}/v1/usage`);
  /** The center used now (index into `endpoints`): kept while it answers, next one on a failure. */
  let current = 0;
  let batchSize = Math.max(1, Math.min(1000, opts.batchSize));
  let failures = 0;
  let wakeUp: (() => void) | null = null;
  let down = false;
  const stats: ShipStats = {
    requests: 0,
    acked: 0,
    billed: 0,
    duplicates: 0,
    held: 0,
    deadLettered: 0,
    failures: 0,
    maxLagMs: 0,
    lastError: null,
  };

  async function post(rows: EdgeOutboxRow[]): Promise<Attempt> {
    const body = `{"events":[${rows.map((r) => r.event_json).join(",")}]}`;
    let res: Response;
    try {
      stats.requests++;
      res = await fetch(endpoints[current] as string, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${opts.key}` },
        body,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return { ok: false, error: `center unreachable: ${cause ?? (err as Error).message}` };
    }
    const text = await res.text().catch(() => "");
    if (res.status === 200) {
      let results: PushResultItem[];
      try {
        results = (JSON.parse(text) as { results: PushResultItem[] }).results;
      } catch {
        return { ok: false, error: "center answered 200 without a results list" };
      }
      const acked: number[] = [];
      const dead: { row: EdgeOutboxRow; status: string; reason: string }[] = [];
      const t = now();
      for (const r of results) {
        const row = rows[r.index];
        if (!row) continue;
        if (r.status === "billed" || r.status === "duplicate" || r.status === "held") {
          acked.push(row.id);
          stats[r.status === "billed" ? "billed" : r.status === "duplicate" ? "duplicates" : "held"]++;
          stats.maxLagMs = Math.max(stats.maxLagMs, t - row.created_at_ms);
        } else dead.push({ row, status: r.status, reason: r.reason ?? r.status });
      }
      opts.outbox.settle(acked, dead);
      stats.acked += acked.length;
      stats.deadLettered += dead.length;
      for (const d of dead)
        opts.log?.("warn", "the center refused an event: kept in the dead letters (creditgate outbox)", {
          status: d.status,
          reason: d.reason,
        });
      return { ok: true, rows: rows.length };
    }
    const msg = errorMessage(text) ?? `HTTP ${res.status}`;
    if (res.status === 413 || res.status === 400) {
      if (rows.length > 1) {
        batchSize = Math.max(1, Math.floor(rows.length / 2));
        opts.log?.("warn", "the center refused the batch; smaller batches from now on", {
          status: res.status,
          batch: batchSize,
          reason: msg,
        });
        return { ok: true, rows: 0 };
      }
      const only = rows[0];
      if (only && res.status === 400) {
        opts.outbox.settle([], [{ row: only, status: "rejected", reason: `HTTP 400: ${msg}` }]);
        stats.deadLettered++;
        return { ok: true, rows: 1 };
      }
    }
    const retryAfter = Number(res.headers.get("retry-after"));
    return {
      ok: false,
      error:
        res.status === 401 || res.status === 403
          ? `the center refused the key (HTTP ${res.status}: ${msg}); check CREDITGATE_SHIP_KEY (scope push)`
          : `HTTP ${res.status}: ${msg}`,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    };
  }

  /** Full rounds of consecutive failures (every center failed once per round). */
  const rounds = () => Math.ceil(failures / endpoints.length);

  /** The next retry delay: full jitter over the doubled base (per failed round), capped. */
  function backoff(retryAfterMs = 0): number {
    const cap = Math.min(opts.backoffMaxMs, opts.backoffMs * 2 ** Math.min(rounds(), 30));
    return Math.max(retryAfterMs, Math.floor(random() * cap), 1);
  }

  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wakeUp = null;
        signal?.removeEventListener("abort", done);
        resolve();
      }
      wakeUp = done;
      signal?.addEventListener("abort", done, { once: true });
    });

  /** Pushes one batch; returns rows settled, or throws nothing: a failure is counted and returned. */
  async function shipOnce(): Promise<Attempt> {
    const rows = opts.outbox.pending(batchSize);
    if (rows.length === 0) return { ok: true, rows: 0 };
    const a = await post(rows);
    if (a.ok) {
      if (down)
        opts.log?.("info", "center reachable again: draining the outbox", {
          center: bases[current],
          waiting: opts.outbox.count(),
        });
      down = false;
      failures = 0;
      return a;
    }
    failures++;
    stats.failures++;
    stats.lastError = a.error;
    opts.outbox.noteError(
      rows.map((r) => r.id),
      a.error,
    );
    if (!down || failures % 10 === 0)
      opts.log?.("warn", "cannot ship to the center; the outbox keeps every event and retries", {
        center: bases[current],
        error: a.error,
        waiting: opts.outbox.count(),
        failures,
        ...(bases.length > 1 ? { next: bases[(current + 1) % bases.length] } : {}),
      });
    down = true;
    // Fail over: the next center (they share one database, so any of them bills each identity once).
    current = (current + 1) % endpoints.length;
    return a;
  }

  return {
    stats,
    shipOnce,
    /** Ends the current idle wait (new rows were recorded). */
    wake(): void {
      wakeUp?.();
    },
    /** The base URL of the center the next request goes to. */
    center(): string {
      return bases[current] as string;
    },
    /**
     * Ships until `signal` aborts. With `untilEmpty`, returns as soon as the outbox is empty, or
     * false after `maxFailures` consecutive failed rounds (every center failed once per round;
     * default: never gives up). After a failure the next center is tried at once; the backoff
     * sleep comes only once every center failed in a row.
     */
    async run(signal: AbortSignal, o: { untilEmpty?: boolean; maxFailures?: number } = {}): Promise<boolean> {
      while (!signal.aborted) {
        const a = await shipOnce();
        if (a.ok && a.rows > 0) continue;
        if (a.ok) {
          if (o.untilEmpty && opts.outbox.count() === 0) return true;
          await sleep(opts.idleMs ?? 1000, signal);
          continue;
        }
        if (failures % endpoints.length !== 0 && a.retryAfterMs === undefined) continue; // next center now
        if (o.maxFailures !== undefined && rounds() >= o.maxFailures) return false;
        await sleep(backoff(a.retryAfterMs), signal);
      }
      return opts.outbox.count() === 0;
    },
  };
}

export type Shipper = ReturnType<typeof createShipper>;

function errorMessage(text: string): string | null {
  try {
    const j = JSON.parse(text) as { error?: { message?: string }; message?: string };
    const m = j.error?.message ?? j.message;
    return typeof m === "string" ? m.slice(0, 300) : null;
  } catch {
    return text ? text.slice(0, 200) : null;
  }
}
