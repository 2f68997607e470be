/**
 * The HTTP app's own services, built once per serving process next to the repositories
 * (createServices; tests call the same function): the push ingester, the Prometheus metrics, the
 * auth-failure limiter, and the periodic write of API keys' last-use times. `buildApp` only
 * registers them. Kept apart from services.ts so one-shot CLI commands don't load the API module.
 */
import {
  type AuthFailureLimit,
  type AuthFailureLimiter,
  createAuthFailureLimiter,
  createMetrics,
  DEFAULT_AUTH_FAILURE_LIMIT,
  type Metrics,
  type OpsProbes,
} from "./api/index.js";
import type { Db } from "./db/index.js";
import { createPushIngester, type PushIngester, type PushIngesterOptions } from "./ingest/index.js";
import type { Repositories } from "./repositories.js";

/** API keys' last-use times are written this often (and at close), never on the request path. */
const LAST_USED_FLUSH_MS = 60_000;

export interface AppServices {
  /** Bills `POST /v1/usage` through the repositories' ledger; null: the endpoint answers 503. */
  ingester: PushIngester | null;
  /** The Prometheus registry and series of `/metrics`. */
  metrics: Metrics;
  /** Failed authentications per client address (429 past the limit). */
  authFailures: AuthFailureLimiter;
  /** Stops the last-use timer and writes API keys' last-use times (if the database is open). Idempotent. */
  close(): void;
}

export interface AppServicesOptions {
  /** Pricing for `POST /v1/usage` (the meter's pricer, markup, credit rate); null: no ingester. */
  ingest: Omit<PushIngesterOptions, "nowMs" | "ledger"> | null;
  /** Redis and queue probes the metrics read at scrape time. Default none. */
  probes?: OpsProbes;
  /** Clock in ms. Default Date.now. */
  nowMs?: () => number;
  /** Failed authentications per client address per window before 429. Default 30 per 60 s. */
  authFailureLimit?: AuthFailureLimit;
}

/** Builds the app's services over `db` and `repos` (see the module comment); starts the last-use timer (unref'd). */
export function createAppServices(db: Db, repos: Repositories, o: AppServicesOptions): AppServices {
  const nowMs = o.nowMs ?? Date.now;
  const flushTimer = setInterval(() => repos.apiKeys.flushLastUsed(), LAST_USED_FLUSH_MS);
  flushTimer.unref();
  return {
    ingester: o.ingest ? createPushIngester(db, { ...o.ingest, ledger: repos.ledger, nowMs }) : null,
    metrics: createMetrics(db, o.probes ?? {}, nowMs),
    authFailures: createAuthFailureLimiter(o.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT),
    close() {
      clearInterval(flushTimer);
      if (db.open) repos.apiKeys.flushLastUsed();
    },
  };
}
