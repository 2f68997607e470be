import type { FastifyInstance } from "fastify";
import { type AppDeps, buildApp } from "./app.js";
import type { Config } from "./config/index.js";
import type { Db } from "./db/index.js";
import { pricerFromConfig } from "./meter/index.js";
import { decimalToScaled, parseDecimal } from "./money.js";
import {
  createMercadoPagoGateway,
  createStripeGateway,
  DISABLED_HINT,
  EMPTY_CATALOG,
  loadPacksFile,
  type PaymentsDeps,
} from "./payments/index.js";
import { workerSettingsFromConfig } from "./worker/index.js";

/**
 * Payment wiring from config: packs file, and one gateway per provider whose keys are set. A
 * provider without keys is null (disabled) and `warnings` says which variables enable it.
 */
export function paymentsFromConfig(
  config: Config,
  db: Db,
): { deps: PaymentsDeps & Pick<AppDeps, "worker" | "ingest" | "rateLimit">; warnings: string[] } {
  const p = config.payments;
  const warnings: string[] = [];
  if (!p.packsPath) warnings.push("no packs configured: set CREDITGATE_PACKS to a packs JSON file");
  if (!p.stripe) warnings.push(DISABLED_HINT.stripe);
  if (!p.mercadoPago) warnings.push(DISABLED_HINT.mercadopago);
  return {
    deps: {
      db,
      packs: p.packsPath ? loadPacksFile(p.packsPath) : EMPTY_CATALOG,
      publicBaseUrl: config.http.publicBaseUrl,
      stripe: p.stripe ? createStripeGateway(p.stripe) : null,
      mercadoPago: p.mercadoPago ? createMercadoPagoGateway(p.mercadoPago) : null,
      // The HTTP app answers status and /consumo with the same windows and texts as the worker.
      worker: workerSettingsFromConfig(config),
      // POST /v1/usage prices exactly like the meter.
      ingest: {
        pricer: pricerFromConfig(config),
        markup: parseDecimal(config.pricing.markup),
        creditsPerUsd: parseDecimal(config.pricing.creditsPerUsd),
        maxCallPicoUsd: decimalToScaled(config.meter.reviewMaxCallUsd, 12),
      },
      rateLimit: config.http.rateLimit,
    },
    warnings,
  };
}

export interface RunningServer {
  app: FastifyInstance;
  address: string;
  /** Resolves once the server has closed (after SIGTERM/SIGINT or `close()`). */
  closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` and closes gracefully on SIGTERM/SIGINT: in-flight requests (including
 * a webhook's transaction) finish, new connections are refused.
 */
export async function startServer(
  deps: AppDeps,
  listen: { host: string; port: number },
  log: (line: string) => void = () => {},
): Promise<RunningServer> {
  const app = buildApp(deps);
  const address = await app.listen({ host: listen.host, port: listen.port });
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<void> | null = null;
  const close = () => {
    if (!closing) {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      closing = app.close().then(resolveClosed);
    }
    return closing;
  };
  function onSignal(signal: NodeJS.Signals) {
    log(`${signal}: closing the HTTP server\n`);
    void close();
  }
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  return { app, address, closed, close };
}
