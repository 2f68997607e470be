/**
 * The composition root: every repository and service a process needs, built once from the config
 * and closed with one `close()`. Entries (`serve`, `start`, `worker`, the CLI's payment commands)
 * call `createServices`; the HTTP app (`buildApp`) receives what it needs from here and builds
 * nothing itself in production. Never listens and never traps signals (see server.ts).
 */
import type { AppDeps } from "./app.js";
import type { AppServices } from "./app-services.js";
import type { Config } from "./config/index.js";
import { type Db, type OpenDatabaseOptions, openDatabase, SERVER_BUSY_TIMEOUT_MS } from "./db/index.js";
import type { PushIngesterOptions } from "./ingest/index.js";
import { type WorkerSettings, workerSettingsFromConfig } from "./limits/index.js";
import { pricerFromConfig } from "./meter/index.js";
import { decimalToScaled, parseDecimal } from "./money.js";
import {
  type AutoTopup,
  type AutoTopupDeps,
  createAutoTopup,
  createMercadoPagoGateway,
  createStripeGateway,
  DISABLED_HINT,
  EMPTY_CATALOG,
  loadPacksFile,
  type PaymentsDeps,
  type ReconcileResult,
  reconcileTopups,
  type TopupRepo,
} from "./payments/index.js";
import {
  createProviderService,
  type ProviderService,
  providersSettingsFromConfig,
} from "./providers/index.js";
import { createRepositories, type Repositories } from "./repositories.js";

export { createRepositories, type Repositories } from "./repositories.js";

/**
 * Payment wiring from config: packs file, the process's top-up repository, and one gateway per provider
 * whose keys are set. A provider without keys is null (disabled) and `warnings` says which
 * variables enable it. Errors: a packs file that cannot be read or is invalid (AppError invalid_config).
 */
export function paymentsFromConfig(
  config: Config,
  db: Db,
  topups: TopupRepo,
): { deps: PaymentsDeps; warnings: string[] } {
  const p = config.payments;
  const warnings: string[] = [];
  if (!p.packsPath) warnings.push("no packs configured: set CREDITGATE_PACKS to a packs JSON file");
  // half of a provider's pair is the config's own warning (config.warnings), said once
  if (!p.stripe && !p.halfSet.stripe) warnings.push(DISABLED_HINT.stripe);
  if (!p.mercadoPago && !p.halfSet.mercadoPago) warnings.push(DISABLED_HINT.mercadopago);
  return {
    deps: {
      db,
      topups,
      packs: p.packsPath ? loadPacksFile(p.packsPath) : EMPTY_CATALOG,
      publicBaseUrl: config.http.publicBaseUrl,
      stripe: p.stripe ? createStripeGateway(p.stripe) : null,
      mercadoPago: p.mercadoPago ? createMercadoPagoGateway(p.mercadoPago) : null,
    },
    warnings,
  };
}

/** Pricing for `POST /v1/usage`: exactly the meter's pricer, markup, credit rate and review bound. */
export function ingestFromConfig(config: Config): Omit<PushIngesterOptions, "nowMs" | "ledger"> {
  return {
    pricer: pricerFromConfig(config),
    markup: parseDecimal(config.pricing.markup),
    creditsPerUsd: parseDecimal(config.pricing.creditsPerUsd),
    maxCallPicoUsd: decimalToScaled(config.meter.reviewMaxCallUsd, 12),
  };
}

export interface ServicesOptions {
  /**
   * The process serves HTTP: the database waits at most SERVER_BUSY_TIMEOUT_MS for another
   * process's write lock (the event loop must never block for seconds; requests retry
   * asynchronously instead), and the app's services (push ingester, metrics, auth-failure limiter,
   * API keys' last-use flush) are built (`app`, `appDeps`). Default false (the normal busy timeout, no app services).
   */
  serving?: boolean;
  /** Open Redis/BullMQ probes for /readyz and /metrics (one extra Redis connection). Default false. */
  probes?: boolean;
  /** How to open the database (the CLI passes its opener, which words errors); default openDatabase. */
  openDb?: (config: Config, opts: OpenDatabaseOptions) => Db;
}

export interface Services {
  config: Config;
  db: Db;
  repos: Repositories;
  /** Packs, gateways and the top-up repository (`repos.topups`), for createTopup and the app. */
  payments: PaymentsDeps;
  /** Limits, alerts and windows: the same for the HTTP answers and the worker. */
  workerSettings: WorkerSettings;
  ingest: Omit<PushIngesterOptions, "nowMs" | "ledger">;
  /** The HTTP app's services (createAppServices), when `serving: true` was asked for; else null. */
  app: AppServices | null;
  /** Redis probes, when `probes: true` was asked for; else null. */
  probes: (NonNullable<AppDeps["probes"]> & { close(): Promise<void> }) | null;
  /**
   * Provider accounts (issue #13): reads for the API and CLI; `poll` (the worker's scheduler, or
   * `creditgate providers poll`) raises alerts through `repos.enforcer`.
   */
  providers: ProviderService;
  /** Startup notes: packs missing, providers disabled (one line each, with the variable to set). */
  warnings: string[];
  /**
   * Everything `buildApp` needs, built from these services (nothing is built twice). Errors: the
   * services were created without `serving: true` (no app services).
   */
  appDeps(logger?: AppDeps["logger"]): AppDeps;
  /**
   * Asks the providers about pending top-ups older than `olderThanMs` and applies their answer
   * through the fulfilment path; null when no provider is enabled.
   */
  reconcile: ((olderThanMs: number, nowMs: number) => Promise<ReconcileResult[]>) | null;
  /**
   * Auto top-up over these services (Stripe saved cards; credits through the fulfilment path,
   * declines told to the user as `autotopup_declined` notices), with `log` for its warnings;
   * null when Stripe is disabled. The worker entry runs it after each limit check.
   */
  autoTopup: ((log?: AutoTopupDeps["log"]) => AutoTopup) | null;
  /**
   * Closes the probes (bounded: 500 ms), stops the app's last-use timer, writes API keys' last-use
   * times and closes the database. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Builds every repository and service of a process once from `config`. Errors: the database
 * cannot be opened, or the packs file is invalid (AppError invalid_config, one line).
 */
export async function createServices(config: Config, opts: ServicesOptions = {}): Promise<Services> {
  const dbOpts: OpenDatabaseOptions = opts.serving ? { busyTimeoutMs: SERVER_BUSY_TIMEOUT_MS } : {};
  const db = opts.openDb ? opts.openDb(config, dbOpts) : openDatabase(config.dbPath, undefined, dbOpts);
  const workerSettings = workerSettingsFromConfig(config);
  const repos = createRepositories(db, { apiKey: config.http.apiKey, worker: workerSettings });
  let payments: ReturnType<typeof paymentsFromConfig>;
  try {
    payments = paymentsFromConfig(config, db, repos.topups);
  } catch (err) {
    db.close();
    throw err;
  }
  const ingest = ingestFromConfig(config);
  const providers = createProviderService({
    db,
    settings: providersSettingsFromConfig(config),
    enforcer: repos.enforcer,
  });
  const probes = opts.probes
    ? (await import("./worker/probes.js")).createRedisProbes(config.redisUrl, config.worker.queuePrefix)
    : null;
  const app = opts.serving
    ? (await import("./app-services.js")).createAppServices(db, repos, {
        ingest,
        ...(probes ? { probes } : {}),
      })
    : null;
  const { stripe, mercadoPago } = payments.deps;
  let closing: Promise<void> | null = null;
  return {
    config,
    db,
    repos,
    payments: payments.deps,
    workerSettings,
    ingest,
    providers,
    probes,
    warnings: payments.warnings,
    app,
    appDeps: (logger) => {
      if (!app) throw new Error("createServices: appDeps needs { serving: true }");
      return {
        ...payments.deps,
        ...(logger !== undefined ? { logger } : {}),
        rateLimit: config.http.rateLimit,
        pricing: { markup: ingest.markup, creditsPerUsd: ingest.creditsPerUsd, pricer: ingest.pricer },
        reconcileAfterMs: config.worker.reconcileAfterMs,
        creditsPerUsd: config.pricing.creditsPerUsd,
        ...(probes ? { probes } : {}),
        repos,
        ingester: app.ingester,
        metrics: app.metrics,
        authFailures: app.authFailures,
        providers,
      };
    },
    reconcile:
      stripe || mercadoPago
        ? (olderThanMs, nowMs) =>
            reconcileTopups({
              db,
              topups: repos.topups,
              stripe,
              mercadoPago,
              apply: (topupId, observation) =>
                repos.fulfiller.apply({ event: null, topupId, observation, nowMs }),
              nowMs,
              olderThanMs,
            })
        : null,
    autoTopup: stripe
      ? (log) =>
          createAutoTopup({
            payments: payments.deps,
            apply: (topupId, observation) =>
              repos.fulfiller.apply({ event: null, topupId, observation, nowMs: Date.now() }),
            notifyDeclined: (accountId, episode, n, nowMs) => {
              repos.enforcer.notify(
                accountId,
                "autotopup_declined",
                "",
                episode,
                {
                  amountMicroCredits: n.amountMicroCredits,
                  declineCode: n.code,
                  topupUrl: n.topupUrl ?? workerSettings.topupUrl,
                },
                nowMs,
              );
            },
            limits: config.payments.autoTopup,
            ...(log ? { log } : {}),
          })
      : null,
    close() {
      closing ??= (async () => {
        if (probes) await within(probes.close(), 500);
        app?.close();
        if (db.open) {
          repos.apiKeys.flushLastUsed();
          db.close();
        }
      })();
      return closing;
    },
  };
}

/** Resolves when `p` settles or after `ms`, whichever comes first (never rejects). */
export async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}
