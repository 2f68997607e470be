/**
 * The repositories and domain services over one database, built once per process by the
 * composition root (services.ts) and handed to the app, the worker runtime, the meter and the
 * CLI. Tests build them with the same function. Opens nothing and reads no environment.
 */
import { type ApiKeys, type ConsoleSessions, createApiKeys, createConsoleSessions } from "./auth/index.js";
import { createLedger, type Ledger } from "./credits/index.js";
import type { Db } from "./db/index.js";
import {
  createEnforcer,
  createQueries,
  type Enforcer,
  type Queries,
  type WorkerSettings,
} from "./limits/index.js";
import { createTopupRepo, type TopupRepo } from "./payments/index.js";
import { createFulfiller } from "./webhooks/index.js";

/** Repositories and domain services over one database. */
export interface Repositories {
  ledger: Ledger;
  topups: TopupRepo;
  apiKeys: ApiKeys;
  /** Operator console logins (session cookie + CSRF token), checked against `apiKeys`. */
  consoleSessions: ConsoleSessions;
  /** The one fulfilment path: webhooks and reconciliation apply provider observations through it. */
  fulfiller: ReturnType<typeof createFulfiller>;
  enforcer: Enforcer;
  queries: Queries;
}

/**
 * Builds the repositories over `db` once. `apiKey` is the bootstrap admin key (CREDITGATE_API_KEY;
 * null: only stored keys); `worker` the limit/alert settings the status answers use.
 */
export function createRepositories(
  db: Db,
  o: { apiKey: string | null; worker: WorkerSettings },
): Repositories {
  const enforcer = createEnforcer(db, o.worker);
  const ledger = createLedger(db);
  const topups = createTopupRepo(db);
  const apiKeys = createApiKeys(db, { bootstrapKey: o.apiKey });
  return {
    ledger,
    topups,
    apiKeys,
    consoleSessions: createConsoleSessions(db, apiKeys),
    fulfiller: createFulfiller(db, { ledger, topups }),
    enforcer,
    queries: createQueries(db, enforcer, ledger),
  };
}
