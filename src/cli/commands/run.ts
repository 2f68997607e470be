import type { Command } from "commander";
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
    .action(async (_opts: unknown, cmd: Command) => {
      const { trapSignals, exitSoon, SHUTDOWN_GRACE_MS } = await import("../../server.js");
      const trap = trapSignals();
      const { g, config, services, logger } = await setup(ctx, cmd, { serving: true });
      const { log } = logger;
      trap.onSecond = () => log("warn", "second signal: exiting now");
      const { listenFromConfig } = await import("../listen.js");
      let server: Awaited<ReturnType<typeof listenFromConfig>>;
      try {
        server = await listenFromConfig(config, services.appDeps(), logger);
      } catch (err) {
        await services.close();
        throw err;
      }
      // The one result line on stdout: where it listens (logs are on stderr).
      if (g.json)
        ctx.out(
          `${JSON.stringify({ listening: server.address, publicBaseUrl: config.http.publicBaseUrl })}\n`,
        );
      else
        ctx.out(
          `creditgate: listening on ${server.address} (public base URL ${config.http.publicBaseUrl})\n`,
        );
      const signal = await trap.requested;
      log("info", `${signal}: closing the HTTP server; signal again to stop now`, {
        graceSeconds: SHUTDOWN_GRACE_MS / 1000,
      });
      const { within } = await import("../../services.js");
      await within(server.close(), SHUTDOWN_GRACE_MS);
      await services.close();
      exitSoon();
    });

  program
    .command("start")
    .description("run everything in one process: HTTP server, meter (following) and worker")
    .action(async (_o: unknown, cmd: Command) => {
      const { trapSignals, exitSoon, SHUTDOWN_GRACE_MS } = await import("../../server.js");
      const trap = trapSignals();
      const { g, config, services, logger } = await setup(ctx, cmd, { serving: true, probes: true });
      const { log } = logger;
      trap.onSecond = () => log("warn", "second signal: exiting now");
      const { within } = await import("../../services.js");
      const { meterFromConfig } = await import("../../meter/index.js");
      const { stateDirWarnings, backfillReporter, backlogOnDisk } = await import("./meter.js");
      const { listenFromConfig } = await import("../listen.js");
      const runtime = await startWorker(log, services);
      let server: Awaited<ReturnType<typeof listenFromConfig>>;
      try {
        server = await listenFromConfig(config, services.appDeps(), logger);
      } catch (err) {
        await runtime.close(0);
        await services.close();
        throw err;
      }
      let report: ReturnType<typeof backfillReporter> | null = null;
      // A committed batch wakes the relay at once: enforcement does not wait for the next poll.
      const { meter, stateDirs } = meterFromConfig(config, services.db, {
        ledger: services.repos.ledger,
        log,
        onBilled: () => runtime.relay.kick(),
        onProgress: (s) => report?.onProgress(s),
      });
      for (const w of stateDirWarnings(config.sources, stateDirs)) log("warn", w);
      const backfill = backfillReporter(log, backlogOnDisk(stateDirs, config.sources.agents));
      report = backfill;
      // The one result line on stdout: where it listens (logs are on stderr).
      if (g.json) ctx.out(`${JSON.stringify({ listening: server.address })}\n`);
      else ctx.out(`creditgate: listening on ${server.address}\n`);
      log("info", "metering and relaying", {
        stateDirs: stateDirs.map((d) => d.path),
        redis: redact(config.redisUrl),
      });
      const ac = new AbortController();
      const following = meter.follow(ac.signal, undefined, backfill.done);
      await Promise.race([trap.requested, server.closed]);
      log("info", "stopping (meter, HTTP server, worker); signal again to stop now", {
        graceSeconds: SHUTDOWN_GRACE_MS / 1000,
      });
      // Every step is bounded: what is not finished (a batch not yet committed, a check not yet
      // relayed) stays in OpenClaw's files or the outbox for the next start.
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      const left = () => Math.max(0, deadline - Date.now());
      ac.abort();
      await within(following, left());
      await within(server.close(), left());
      await runtime.close(left());
      meter.close();
      await services.close();
      exitSoon();
    });

  program
    .command("worker")
    .description("run the worker: limit checks, alerts, RPC answers and scheduled jobs (needs Redis)")
    .action(async (_o: unknown, cmd: Command) => {
      const { trapSignals, exitSoon, SHUTDOWN_GRACE_MS } = await import("../../server.js");
      const trap = trapSignals(); // from now on: a signal during startup stops cleanly too
      const { config, services, logger } = await setup(ctx, cmd, { quiet: true });
      const { log } = logger;
      trap.onSecond = () => log("warn", "second signal: exiting now");
      const runtime = await startWorker(log, services);
      log("info", "worker running", { redis: redact(config.redisUrl), prefix: config.worker.queuePrefix });
      await trap.requested;
      log("info", "stopping the worker (finishing in-flight jobs); signal again to stop now", {
        graceSeconds: SHUTDOWN_GRACE_MS / 1000,
      });
      await runtime.close(SHUTDOWN_GRACE_MS);
      await services.close();
      exitSoon();
    });
}

/**
 * Config, logger and services of a long-running command. Serving processes log the startup
 * warnings (packs, providers, operator API without a key); `quiet` (the worker) logs none.
 */
async function setup(
  ctx: CliContext,
  cmd: Command,
  opts: { serving?: boolean; probes?: boolean; quiet?: boolean },
): Promise<{
  g: GlobalOptions;
  config: ReturnType<CliContext["config"]>;
  services: Services;
  logger: ReturnType<CliContext["logger"]>;
}> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const config = ctx.config(g);
  const { createServices } = await import("../../services.js");
  // A server must never block its event loop for seconds on another process's write lock.
  const services = await createServices(config, {
    ...(opts.serving ? { serving: true } : {}),
    ...(opts.probes ? { probes: true } : {}),
    openDb: (c, o) => ctx.openDb(c, o),
  });
  const logger = ctx.logger(config);
  if (!opts.quiet) {
    for (const w of services.warnings) logger.log("info", w);
    const { operatorApiWarning } = await import("../listen.js");
    const apiOff = operatorApiWarning(services.repos.apiKeys);
    if (apiOff) logger.log("warn", apiOff);
  }
  return { g, config, services, logger };
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
  const { config, db, reconcile } = services;
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
