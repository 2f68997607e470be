/**
 * creditgate/client: a tiny fire-and-forget client for `POST /v1/usage` (push metering from
 * any bot). `track()` only appends to an in-memory buffer; sending happens in the background
 * in batches, with retries. Never throws into the caller, never blocks it, never logs events.
 * Imports nothing from the server: safe to bundle into a bot.
 */

/** One model call, as `POST /v1/usage` takes it. `idempotencyKey` defaults to a random UUID. */
export interface TrackEvent {
  idempotencyKey?: string;
  agentId: string;
  userId: string;
  provider: string;
  model: string;
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  costUsd?: number;
  timestampMs?: number;
  success?: boolean;
  errorMessage?: string;
  sessionKey?: string;
}

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:8787` */
  baseUrl: string;
  /** An API key with scope `ingest` (or `admin`). */
  apiKey: string;
  /** Send as soon as this many events wait (max 1000, the server's batch limit). @defaultValue 100 */
  flushAt?: number;
  /** Send waiting events at least this often, in ms. @defaultValue 2000 */
  flushIntervalMs?: number;
  /** Buffer bound, in events; past it the OLDEST events are dropped and counted. @defaultValue 10_000 */
  maxBuffer?: number;
  /** Retries per batch on network errors, 429 and 5xx (backoff doubles from backoffMs, max 30 s). @defaultValue 5 */
  maxRetries?: number;
  /** First retry delay in ms; doubles per retry, capped at 30 s. @defaultValue 500 */
  backoffMs?: number;
  /** Per-request timeout, in ms. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Told about failures (never thrown). */
  onError?: (err: Error) => void;
  /** Flush when the process is about to exit (`beforeExit`). @defaultValue true */
  flushOnExit?: boolean;
  fetch?: typeof fetch;
}

export interface ClientStats {
  /** Events the server billed or already had (duplicates count: they are safely recorded). */
  accepted: number;
  /** Events the server rejected as invalid (see onError for reasons). */
  rejected: number;
  /** Events dropped because the buffer was full. */
  dropped: number;
  /** Events given up on after retries or a non-retryable answer (401, 403, 400). */
  failed: number;
  /** Events waiting in the buffer. */
  buffered: number;
}

type Pending = Required<Pick<TrackEvent, "idempotencyKey" | "timestampMs" | "success">> & TrackEvent;

const MAX_BATCH = 1000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

export function createClient(opts: ClientOptions) {
  const url = `${opts.baseUrl.replace(/\/+$/, "")}/v1/usage`;
  const flushAt = Math.min(Math.max(1, opts.flushAt ?? 100), MAX_BATCH);
  const maxBuffer = Math.max(1, opts.maxBuffer ?? 10_000);
  const maxRetries = opts.maxRetries ?? 5;
  const backoffMs = opts.backoffMs ?? 500;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const doFetch = opts.fetch ?? fetch;
  const buffer: Pending[] = [];
  const stats = { accepted: 0, rejected: 0, dropped: 0, failed: 0 };
  let sending: Promise<void> | null = null;
  let closed = false;

  const report = (err: Error) => {
    try {
      opts.onError?.(err);
    } catch {
      // the caller's handler must not break the client either
    }
  };

  const timer = setInterval(() => void flush(), opts.flushIntervalMs ?? 2000);
  timer.unref?.();
  const onExit = () => void flush();
  if (opts.flushOnExit !== false && typeof process !== "undefined") process.once("beforeExit", onExit);

  async function sendBatch(batch: Pending[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let retryable = true;
      let error: Error;
      try {
        const res = await doFetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${opts.apiKey}` },
          body: JSON.stringify({ events: batch }),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.ok) {
          const body = (await res.json()) as {
            results?: { status: string; reason?: string; idempotencyKey?: string }[];
          };
          for (const r of body.results ?? []) {
            if (r.status === "rejected") {
              stats.rejected++;
              report(new Error(`creditgate rejected event ${r.idempotencyKey ?? "?"}: ${r.reason ?? ""}`));
            } else stats.accepted++;
          }
          return;
        }
        retryable = res.status === 429 || res.status >= 500;
        error = new Error(`creditgate answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      } catch (err) {
        error = err instanceof Error ? err : new Error(String(err));
      }
      if (!retryable || attempt >= maxRetries) {
        stats.failed += batch.length;
        report(error);
        return;
      }
      await sleep(Math.min(backoffMs * 2 ** attempt, 30_000));
    }
  }

  /** Sends everything buffered now; resolves when done. Concurrent calls share one run. */
  function flush(): Promise<void> {
    if (sending) return sending;
    if (buffer.length === 0) return Promise.resolve();
    sending = (async () => {
      try {
        while (buffer.length > 0) await sendBatch(buffer.splice(0, MAX_BATCH));
      } finally {
        sending = null;
      }
    })();
    return sending;
  }

  return {
    /** Queues one event. Returns at once; never throws. */
    track(event: TrackEvent): void {
      try {
        if (closed) {
          stats.dropped++;
          return;
        }
        buffer.push({
          ...event,
          idempotencyKey: event.idempotencyKey ?? globalThis.crypto.randomUUID(),
          timestampMs: event.timestampMs ?? Date.now(),
          success: event.success ?? true,
        });
        while (buffer.length > maxBuffer) {
          buffer.shift();
          stats.dropped++;
        }
        if (buffer.length >= flushAt) void flush();
      } catch (err) {
        report(err instanceof Error ? err : new Error(String(err)));
      }
    },
    flush,
    /** Stops the timer and sends what is left (with retries). Never rejects. */
    async close(): Promise<void> {
      closed = true;
      clearInterval(timer);
      if (typeof process !== "undefined") process.off("beforeExit", onExit);
      // A flush may be running while more events were tracked: loop until the buffer is empty.
      while (sending || buffer.length > 0) await flush().catch(() => {});
    },
    stats(): ClientStats {
      return { ...stats, buffered: buffer.length };
    },
  };
}

export type CreditgateClient = ReturnType<typeof createClient>;
