import type { FastifyInstance } from "fastify";
import { type AppDeps, buildApp } from "../../src/app.js";
import { type AppServicesOptions, createAppServices } from "../../src/app-services.js";
import { DEFAULT_SETTINGS, type WorkerSettings } from "../../src/limits/index.js";
import { createRepositories } from "../../src/repositories.js";

/** What a test says about its app: the app's own options plus what createServices reads from config. */
export type TestAppDeps = Omit<AppDeps, "repos" | "ingester" | "metrics" | "authFailures"> & {
  /** Bootstrap admin key (CREDITGATE_API_KEY); null: only stored keys. */
  apiKey: string | null;
  /** Limits, alerts and windows. Default DEFAULT_SETTINGS. */
  worker?: WorkerSettings;
  /** Pricing for `POST /v1/usage`; absent or null: the endpoint answers 503. */
  ingest?: AppServicesOptions["ingest"];
  authFailureLimit?: AppServicesOptions["authFailureLimit"];
};

/**
 * buildApp over repositories and app services built by the same functions production uses
 * (createRepositories, createAppServices). Closing the app closes its app services (last-use
 * flush), as the entry closes the services after the server.
 */
export function buildTestApp(d: TestAppDeps): FastifyInstance {
  const { apiKey, worker, ingest, authFailureLimit, ...rest } = d;
  const repos = createRepositories(d.db, { apiKey, worker: worker ?? DEFAULT_SETTINGS });
  const services = createAppServices(d.db, repos, {
    ingest: ingest ?? null,
    ...(d.probes ? { probes: d.probes } : {}),
    ...(d.nowMs ? { nowMs: d.nowMs } : {}),
    ...(authFailureLimit ? { authFailureLimit } : {}),
  });
  const app = buildApp({
    ...(ingest ? { pricing: ingest } : {}),
    ...rest,
    repos,
    ingester: services.ingester,
    metrics: services.metrics,
    authFailures: services.authFailures,
  });
  app.addHook("onClose", async () => services.close());
  return app;
}
