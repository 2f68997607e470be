import type { Command } from "commander";
import { isPostgresUrl } from "../../db/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import type { RunningServer } from "../../server.js";
import type { Services } from "../../services.js";
import type { CliContext, GlobalOptions } from "../context.js";
import type { Log } from "../output.js";

/**
 * `serve`, `start` and `worker`: the long-running processes. Each builds its services once
 * (services.ts), listens through server.ts, and stops on the one signal trap with a bounded grace.
 * Heavy modules (HTTP, SDKs, BullMQ) load only when one of these runs.
 */
export function registerRunCommands(program: Command, ctx: CliContext): void {
  program
    .command("serve")
    .description("run the HTTP server: operator API (/v1), payment landing pages and provider webhooks")
    .action((_o: unknown, cmd: Command) => runProcess(ctx, cmd, { http: true }));
  program
    .command("start")
    .description("run everything in one process: HTTP server, meter (following) and worker")
    .action((_o: unknown, cmd: Command) => {
      // Checked before anything starts (no signal trap, no connection): `start` runs the local
      // meter, whose cursors live in a SQLite file next to the transcripts.
      if (isPostgresUrl(ctx.config(cmd.optsWithGlobals<GlobalOptions>()).dbPath))
        throw new AppError(ErrorCode.InvalidConfig, START_ON_POSTGRES);
      return runProcess(ctx, cmd, { http: true, meter: true, worker: true });
    });
  program
    .command("worker")
    .description("run the worker: limit checks, alerts, RPC answers and scheduled jobs (needs Redis)")
    .action((_o: unknown, cmd: Command) => runProcess(ctx, cmd, { worker: true }));
}

/** Why `start` refuses a PostgreSQL CREDITGATE_DB (one line; the CLI exits as for config errors). */
export const START_ON_POSTGRES =
  "CREDITGATE_DB: `start` runs the local meter, which needs a SQLite file, not a PostgreSQL URL (on PostgreSQL run `creditgate serve` and `creditgate worker`, and ship usage from edge meters: `creditgate meter --ship-to <center>` on each bot host; docs/topology.md)";

/** What a long-running process runs over its services. */
export interface ProcessParts {
  /** Listen on HOST:PORT (`serve`, `start`); also opens the Redis probes when `worker` is set. */
  http?: boolean;
  /** Follow OpenClaw's transcripts with the meter (`start`); a committed batch wakes the relay. */
  meter?: boolean;
  /** Run the BullMQ worker runtime (`worker`, `start`). */
  worker?: boolean;
}

/**
 * The one lifecycle of `serve`, `start` and `worker`: trap signals first (a signal during startup
 * stops cleanly too), build the services once, start the parts (worker, then HTTP, then meter),
 * print the one stdout result line, wait for SIGINT/SIGTERM, then stop every part within one
 * SHUTDOWN_GRACE_MS in total (meter, HTTP server, worker), close the services and exit. A second
 * signal exits at once. A listen error closes what started and is rethrown (the CLI prints one line).
 */
async function runProcess(ctx: CliContext, cmd: Command, parts: ProcessParts): Promise<void> {
  const { trapSignals, exitSoon, SHUTDOWN_GRACE_MS } = await import("../../server.js");
  const trap = trapSignals();
  const http = parts.http === true;
  const { g, config, services, logger } = await setup(ctx, cmd, {
    ...(parts.meter ? { meter: true } : {}),
    serving: http,
    probes: http && parts.worker === true,
    quiet: !http,
  });
  const { log } = logger;
  trap.onSecond = () => log("warn", "second signal: exiting now");
  const { within } = await import("../../services.js");
  const runtime = parts.worker ? await startWorker(log, services) : null;
  let server: RunningServer | null = null;
  if (http) {
    const { listenFromConfig } = await import("../listen.js");
    try {
      server = await listenFromConfig(config, services.appDeps(), logger);
    } catch (err) {
      await runtime?.close(0);
      await services.close();
      throw err;
    }
  }
  const metering = parts.meter ? await meterOver(log, services, () => runtime?.relay.kick()) : null;
  // The one result line on stdout: where it listens (logs are on stderr). `serve` also names the
  // public base URL (landing pages and webhooks are its whole job).
  if (server) {
    const base = metering ? {} : { publicBaseUrl: config.http.publicBaseUrl };
    if (g.json) ctx.out(`${JSON.stringify({ listening: server.address, ...base })}\n`);
    else
      ctx.out(
        `creditgate: listening on ${server.address}${metering ? "" : ` (public base URL ${config.http.publicBaseUrl})`}\n`,
      );
  }
  if (metering) {
    log("info", "metering and relaying", {
      stateDirs: metering.stateDirs.map((d) => d.path),
      redis: redact(config.redisUrl),
    });
  } else if (runtime) {
    log("info", "worker running", { redis: redact(config.redisUrl), prefix: config.worker.queuePrefix });
  }
  const ac = new AbortController();
  const following = metering?.follow(ac.signal);
  const signal = await Promise.race([trap.requested, ...(server ? [server.closed] : [])]);
  log(
    "info",
    metering
      ? "stopping (meter, HTTP server, worker); signal again to stop now"
      : server
        ? `${signal}: closing the HTTP server; signal again to stop now`
        : "stopping the worker (finishing in-flight jobs); signal again to stop now",
    { graceSeconds: SHUTDOWN_GRACE_MS / 1000 },
  );
  // Every step is bounded: what is not finished (a batch not yet committed, a check not yet
  // relayed) stays in OpenClaw's files or the outbox for the next start.
  const deadline = Date.now() + SHUTDOWN_GRACE_MS;
  const left = () => Math.max(0, deadline - Date.now());
  ac.abort();
  if (following) await within(following, left());
  if (server) await within(server.close(), left());
  await runtime?.close(left());
  metering?.meter.close();
  await services.close();
  exitSoon();
}

/**
 * The meter of `start` over the services' database and ledger: state-dir warnings, and backfill
 * progress logged while it catches up with what is already on disk. `follow(signal)` runs until aborted.
 */
async function meterOver(log: Log, services: Services, onBilled: () => void) {
  const { meterFromConfig } = await import("../../meter/index.js");
  const { stateDirWarnings, backfillReporter, backlogOnDisk } = await import("./meter.js");
  const { config } = services;
  let report: ReturnType<typeof backfillReporter> | null = null;
  const { meter, stateDirs } = meterFromConfig(config, services.db, {
    ledger: services.repos.ledger,
    log,
    onBilled,
    onProgress: (s) => report?.onProgress(s),
  });
  for (const w of stateDirWarnings(config.sources, stateDirs)) log("warn", w);
  if (config.ship.to)
    log(
      "warn",
      "CREDITGATE_SHIP_TO is set but `start` bills locally: run `creditgate meter` for an edge meter (docs/topology.md)",
    );
  const backfill = backfillReporter(log, backlogOnDisk(stateDirs, config.sources.agents));
  report = backfill;
  return {
    meter,
    stateDirs,
    follow: (signal: AbortSignal) => meter.follow(signal, undefined, backfill.done),
  };
}

/**
 * Config, logger and services of a long-running command. Serving processes log the startup
 * warnings (packs, providers, operator API without a key); `quiet` (the worker) logs none.
 */
async function setup(
  ctx: CliContext,
  cmd: Command,
  opts: { serving?: boolean; probes?: boolean; quiet?: boolean; meter?: boolean },
): Promise<{
  g: GlobalOptions;
  config: ReturnType<CliContext["config"]>;
  services: Services;
  logger: ReturnType<CliContext["logger"]>;
}> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const config = ctx.config(g);
  await checkConfigFiles(config, opts.meter === true);
  const { createServices } = await import("../../services.js");
  // A server must never block its event loop for seconds on another process's write lock.
  const services = await createServices(config, {
    ...(opts.serving ? { serving: true } : {}),
    ...(opts.probes ? { probes: true } : {}),
    openDb: (c, o) => ctx.openDb(c, o),
  });
  const logger = ctx.logger(config);
  // half-set pairs (a webhook URL without its secret…): the worker, otherwise quiet, says so too
  for (const w of config.warnings) logger.log("warn", w);
  if (!opts.quiet) {
    for (const w of services.warnings) logger.log("info", w);
    const { operatorApiWarning } = await import("../listen.js");
    const apiOff = operatorApiWarning(services.repos.apiKeys);
    if (apiOff) logger.log("warn", apiOff);
  }
  return { g, config, services, logger };
}

/**
 * The files the environment names, checked before the database is opened (and created), every
 * problem at once: CREDITGATE_PRICES (when the process meters) and CREDITGATE_PACKS (the services
 * load it). Before 2026-12-04 a bad price file hid a bad packs file until the next start, and a
 * bad packs file was refused only after the database was created.
 */
export async function checkConfigFiles(
  config: ReturnType<CliContext["config"]>,
  meter: boolean,
): Promise<void> {
  const errors: unknown[] = [];
  if (meter) {
    const { loadPriceOverrides } = await import("../../meter/index.js");
    try {
      loadPriceOverrides(config.pricing.overridesPath);
    } catch (err) {
      errors.push(err);
    }
  }
  if (config.payments.packsPath) {
    const { loadPacksFile } = await import("../../payments/index.js");
    try {
      loadPacksFile(config.payments.packsPath);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new AppError(
      ErrorCode.InvalidConfig,
      `${errors.length} configuration problems:\n${errors.map((e) => `- ${(e as Error).message}`).join("\n")}`,
    );
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

/**
 * Starts the BullMQ worker runtime over the services. Does not wait for Redis longer than 3 s:
 * checks wait in the SQLite outbox and are relayed as soon as Redis answers.
 */
async function startWorker(log: Log, services: Services) {
  const { startWorkerRuntime } = await import("../../worker/runtime.js");
  const { config, db, reconcile, autoTopup } = services;
  const runtime = startWorkerRuntime({
    db,
    redisUrl: config.redisUrl,
    prefix: config.worker.queuePrefix,
    settings: services.workerSettings,
    enforcer: services.repos.enforcer,
    queries: services.repos.queries,
    webhook: config.worker.webhook,
    concurrency: config.worker.concurrency,
    log: (level, msg) => log(level, msg),
    ...(reconcile ? { reconcile: () => reconcile(config.worker.reconcileAfterMs, Date.now()) } : {}),
    archive: async () => {
      const { runArchive } = await import("../../retention/index.js");
      const dir = config.worker.archiveDir;
      if (dir === null) {
        const why =
          "usage archive skipped: CREDITGATE_DB is PostgreSQL and CREDITGATE_ARCHIVE_DIR is not set";
        log("warn", why);
        return { skipped: why };
      }
      try {
        const r = await runArchive(db, {
          dir,
          retentionDays: config.worker.retentionDays,
          nowMs: Date.now(),
        });
        const rows = r.months.reduce((n, m) => n + m.rows, 0);
        if (rows > 0) log("info", `usage archive: ${rows} rows in ${r.months.length} file(s) to ${r.dir}`);
        return { files: r.months.length, rows };
      } catch (err) {
        // Another run (the CLI or another worker) holds the lease: tomorrow's job does the rest.
        if (err instanceof Error && /holds the lease/.test(err.message)) return { skipped: err.message };
        throw err;
      }
    },
    ...(autoTopup ? { autoTopup: autoTopup((level, msg) => log(level, msg)) } : {}),
    providers: {
      everyMs: config.providers.pollMs,
      configured: () => services.providers.configured(),
      poll: async (id, nowMs) => {
        const r = await services.providers.poll(id as Parameters<Services["providers"]["poll"]>[0], nowMs);
        // redacted by the providers module; the key is never in it
        if (!r.ok)
          log("warn", `provider ${r.provider} poll failed, retried at the next poll`, {
            error: r.error?.message,
          });
        return r;
      },
    },
  });
  // Don't hold the meter and the HTTP server hostage to Redis.
  let timer: NodeJS.Timeout | undefined;
  const connected = await Promise.race([
    runtime.ready.then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 3000);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  if (!connected) {
    log("warn", "Redis is not reachable: limit checks and alerts wait in the outbox until it is", {
      redis: redact(config.redisUrl),
    });
  }
  return runtime;
}
