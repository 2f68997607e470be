import type { Command } from "commander";
import { ZodError, z } from "zod";
import type { Config } from "../../config/index.js";
import { type Db, SERVER_BUSY_TIMEOUT_MS } from "../../db/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import { formatMicroCredits } from "../../money.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { creditsArg, integerArg } from "../options.js";
import { type Log, renderTable, safeText, toJson } from "../output.js";

interface LimitFlags {
  daily?: string;
  weekly?: string;
  monthly?: string;
  soft?: boolean;
  floor?: string;
  low?: string;
  language?: string;
}

const PERIOD_FLAG = { day: "daily", week: "weekly", month: "monthly" } as const;

function credits(flag: string, text: string, allowNegative = false): number {
  return Number(creditsArg(`--${flag}`, text, { allowNegative }));
}

/** ZodError → a CLI error naming each field. */
function asAppError(err: unknown): unknown {
  return err instanceof ZodError
    ? new AppError(ErrorCode.InvalidRequest, `invalid limits:\n${z.prettifyError(err)}`)
    : err;
}

/** `limits`, `block`, `unblock`, `status`, `alerts`, `worker` and `start`: the worker's surfaces. */
export function registerWorkerCommands(program: Command, ctx: CliContext): void {
  // Worker modules (and BullMQ for `worker`/`start`) load only when these commands run.
  const setup = async (cmd: Command, opts: { serving?: boolean } = {}) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const config = ctx.config(g);
    // `start` serves HTTP from this connection: never block the event loop for seconds on
    // another process's write lock (meter batches that meet one are retried on the next poll).
    const db = ctx.openDb(config, opts.serving ? { busyTimeoutMs: SERVER_BUSY_TIMEOUT_MS } : {});
    const w = await import("../../worker/index.js");
    const enforcer = w.createEnforcer(db, w.workerSettingsFromConfig(config));
    return { g, config, db, w, enforcer, queries: w.createQueries(db, enforcer) };
  };

  const limits = program
    .command("limits")
    .description("per-user (or default '*') balance floor and spend caps");
  limits
    .command("set")
    .description(
      "set caps (credits per calendar window) and floor; merges with the user's current limits. " +
        "Use 'off' to remove a cap, and '*' as user for everyone's defaults",
    )
    .argument("<user>", "end-user account id, e.g. telegram:123456, or '*' for defaults")
    .option("--daily <credits>", "daily cap, e.g. 2 (or off)")
    .option("--weekly <credits>", "weekly cap (Monday 00:00) (or off)")
    .option("--monthly <credits>", "monthly cap, e.g. 20 (or off)")
    .option("--soft", "the caps given here only alert, never block")
    .option("--floor <credits>", "blocked at a balance <= this (default 0; -1 allows 1 credit of overdraft)")
    .option("--low <credits>", "low-balance alert level for this user")
    .option("--language <lang>", "language of this user's notices: en | es")
    .action(async (user: string, f: LimitFlags, cmd: Command) => {
      const { g, enforcer, queries } = await setup(cmd);
      const current = enforcer.limits(user);
      const base = user === "*" ? current.defaults : current.user;
      let caps = [...(base?.caps ?? (user === "*" ? [] : current.effective.caps))];
      for (const period of ["day", "week", "month"] as const) {
        const flag = PERIOD_FLAG[period];
        const value = f[flag];
        if (value === undefined) continue;
        caps = caps.filter((c) => c.period !== period);
        if (value !== "off")
          caps.push({ period, capMicroCredits: credits(flag, value), kind: f.soft ? "soft" : "hard" });
      }
      const rules = {
        ...(base ?? {}),
        caps,
        ...(f.floor !== undefined ? { floorMicroCredits: credits("floor", f.floor, true) } : {}),
        ...(f.low !== undefined ? { lowBalanceMicroCredits: credits("low", f.low, true) } : {}),
        ...(f.language !== undefined ? { language: f.language } : {}),
      };
      try {
        enforcer.setLimits(user, rules as never, ctx.nowMs());
      } catch (err) {
        throw asAppError(err);
      }
      printLimits(
        ctx,
        g,
        user,
        enforcer.limits(user),
        user === "*" ? null : queries.answer("status", { userId: user }, ctx.nowMs()),
      );
    });
  limits
    .command("get")
    .description("show a user's limits (own, defaults, effective) and current status")
    .argument("<user>", "account id, or '*' for defaults")
    .action(async (user: string, _o: unknown, cmd: Command) => {
      const { g, enforcer, queries } = await setup(cmd);
      printLimits(
        ctx,
        g,
        user,
        enforcer.limits(user),
        user === "*" ? null : queries.answer("status", { userId: user }, ctx.nowMs()),
      );
    });
  limits
    .command("clear")
    .description("remove a user's own limits (the defaults apply again)")
    .argument("<user>", "account id, or '*' for defaults")
    .action(async (user: string, _o: unknown, cmd: Command) => {
      const { g, enforcer } = await setup(cmd);
      enforcer.setLimits(user, null, ctx.nowMs());
      if (g.json) return ctx.out(toJson({ userId: user, ...enforcer.limits(user) }));
      ctx.out(`limits of ${safeText(user)} cleared\n`);
    });

  for (const verb of ["block", "unblock"] as const) {
    program
      .command(verb)
      .description(verb === "block" ? "stop a user by hand, with a reason" : "lift an operator block")
      .argument("<user>", "end-user account id")
      .option("--reason <text>", verb === "block" ? "why (required; shown to the operator)" : "why (logged)")
      .action(async (user: string, o: { reason?: string }, cmd: Command) => {
        if (verb === "block" && !o.reason?.trim())
          throw new AppError(ErrorCode.InvalidRequest, "--reason: required to block a user");
        const { g, enforcer, queries } = await setup(cmd);
        const r =
          verb === "block"
            ? enforcer.block(user, o.reason ?? "", ctx.nowMs())
            : enforcer.unblock(user, ctx.nowMs());
        const view = queries.statusView(r.status);
        if (g.json) return ctx.out(toJson(view));
        ctx.out(`${safeText(user)}: ${view.allowed ? "allowed" : `blocked (${view.reason})`}\n`);
      });
  }

  program
    .command("status")
    .description("a user's enforcement status: allowed or blocked, why, and each cap window")
    .argument("<user>", "end-user account id")
    .action(async (user: string, _o: unknown, cmd: Command) => {
      const { g, queries } = await setup(cmd);
      const s = queries.answer("status", { userId: user }, ctx.nowMs());
      if (g.json) return ctx.out(toJson(s));
      printStatus(ctx, s);
    });

  program
    .command("alerts")
    .description("recent alerts and their operator-webhook delivery state")
    .option("--dead", "only dead-lettered deliveries (failed after the last try)")
    .option("--limit <n>", "how many, newest first (1-10000)", integerArg(1, 10_000), 50)
    .action(async (o: { dead?: boolean; limit: number }, cmd: Command) => {
      const { g, enforcer } = await setup(cmd);
      const rows = enforcer.alerts({
        ...(o.dead ? { state: "dead" as const } : {}),
        limit: o.limit,
      });
      if (g.json) return ctx.out(toJson(rows));
      ctx.out(
        renderTable(
          ["id", "created", "account", "kind", "threshold", "window", "webhook", "tries", "error"],
          rows.map((a) => [
            a.id,
            new Date(a.createdAtMs).toISOString(),
            a.accountId,
            a.kind,
            a.threshold,
            a.windowKey,
            a.webhookState,
            a.webhookAttempts,
            a.webhookError,
          ]),
        ),
      );
    });

  program
    .command("worker")
    .description("run the worker: limit checks, alerts, RPC answers and scheduled jobs (needs Redis)")
    .action(async (_o: unknown, cmd: Command) => {
      const stop = untilSignal(); // from now on: a signal during startup stops cleanly too
      const { config, db } = await setup(cmd);
      const { log } = ctx.logger(config);
      const runtime = await startRuntime(log, config, db);
      log("info", "worker running", { redis: redact(config.redisUrl), prefix: config.worker.queuePrefix });
      await stop;
      log("info", "stopping the worker (finishing in-flight jobs); signal again to stop now", {
        graceSeconds: SHUTDOWN_GRACE_MS / 1000,
      });
      exitOnSecondSignal(log);
      await runtime.close(SHUTDOWN_GRACE_MS);
      db.close();
      exitSoon();
    });

  program
    .command("start")
    .description("run everything in one process: HTTP server, meter (following) and worker")
    .action(async (_o: unknown, cmd: Command) => {
      const stop = untilSignal();
      const { g, config, db } = await setup(cmd, { serving: true });
      const logger = ctx.logger(config);
      const { log } = logger;
      const { paymentsFromConfig } = await import("../../server.js");
      const { meterFromConfig } = await import("../../meter/index.js");
      const { stateDirWarnings, backfillReporter, backlogOnDisk } = await import("./meter.js");
      const { listenFromConfig, operatorApiWarning } = await import("../listen.js");
      const { deps, warnings } = paymentsFromConfig(config, db);
      for (const w of warnings) log("info", w);
      const apiOff = await operatorApiWarning(config, db);
      if (apiOff) log("warn", apiOff);
      const runtime = await startRuntime(log, config, db);
      const { createRedisProbes } = await import("../../api/probes.js");
      const probes = createRedisProbes(config.redisUrl, config.worker.queuePrefix);
      let server: Awaited<ReturnType<typeof listenFromConfig>>;
      try {
        server = await listenFromConfig(config, { ...deps, probes }, logger);
      } catch (err) {
        await runtime.close(0);
        await within(probes.close(), 500);
        throw err;
      }
      let report: ReturnType<typeof backfillReporter> | null = null;
      // A committed batch wakes the relay at once: enforcement does not wait for the next poll.
      const { meter, stateDirs } = meterFromConfig(config, db, {
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
      await Promise.race([stop, server.closed]);
      log("info", "stopping (meter, HTTP server, worker); signal again to stop now", {
        graceSeconds: SHUTDOWN_GRACE_MS / 1000,
      });
      exitOnSecondSignal(log);
      // Every step is bounded: what is not finished (a batch not yet committed, a check not yet
      // relayed) stays in OpenClaw's files or the outbox for the next start.
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      const left = () => Math.max(0, deadline - Date.now());
      ac.abort();
      await within(following, left());
      await within(server.close(), left());
      await runtime.close(left());
      await within(probes.close(), 500);
      meter.close();
      db.close();
      exitSoon();
    });
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}

/** How long `worker` and `start` let in-flight work finish after SIGINT/SIGTERM. */
const SHUTDOWN_GRACE_MS = 5000;

/** Resolves when `p` settles or after `ms`, whichever comes first (never rejects). */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => (t = setTimeout(r, ms)))]);
  clearTimeout(t);
}

/** A second SIGINT/SIGTERM while stopping: exit now (everything committed is safe in SQLite). */
function exitOnSecondSignal(log: Log): void {
  const now = () => {
    log("warn", "second signal: exiting now");
    process.exit(process.exitCode ?? 0);
  };
  process.once("SIGINT", now);
  process.once("SIGTERM", now);
}

/**
 * After a clean stop: exit even if a library still holds a handle (a reconnect timer of a Redis
 * client that never connected), instead of hanging. Unref'd, so a process that can exit, does.
 */
function exitSoon(): void {
  setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGTERM", done);
      process.off("SIGINT", done);
      resolve();
    };
    process.once("SIGTERM", done);
    process.once("SIGINT", done);
  });
}

async function startRuntime(log: Log, config: Config, db: Db) {
  const { startWorkerRuntime } = await import("../../worker/runtime.js");
  const { workerSettingsFromConfig } = await import("../../worker/index.js");
  const { paymentsFromConfig } = await import("../../server.js");
  const { deps } = paymentsFromConfig(config, db);
  const reconcile =
    deps.stripe || deps.mercadoPago
      ? async () => {
          const { createFulfiller } = await import("../../webhooks/index.js");
          const { reconcileTopups } = await import("../../payments/index.js");
          const fulfiller = createFulfiller(db);
          const nowMs = Date.now();
          return reconcileTopups({
            db,
            stripe: deps.stripe,
            mercadoPago: deps.mercadoPago,
            apply: (topupId, observation) => fulfiller.apply({ event: null, topupId, observation, nowMs }),
            nowMs,
            olderThanMs: config.worker.reconcileAfterMs,
          });
        }
      : undefined;
  const runtime = startWorkerRuntime({
    db,
    redisUrl: config.redisUrl,
    prefix: config.worker.queuePrefix,
    settings: workerSettingsFromConfig(config),
    webhook: config.worker.webhook,
    concurrency: config.worker.concurrency,
    log: (level, msg) => log(level, msg),
    ...(reconcile ? { reconcile } : {}),
  });
  // Don't hold the meter and the HTTP server hostage to Redis: checks wait in the SQLite outbox
  // and are relayed as soon as Redis answers.
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

type StatusViewLike = {
  userId: string;
  allowed: boolean;
  reason: string | null;
  balanceMicroCredits: number;
  liftsAt: string | null;
  windows: {
    period: string;
    kind: string;
    capMicroCredits: number;
    spentMicroCredits: number;
    resetsAt: string;
  }[];
};

function printStatus(ctx: CliContext, s: StatusViewLike): void {
  ctx.out(
    `${safeText(s.userId)}: ${s.allowed ? "allowed" : `BLOCKED (${s.reason}${s.liftsAt ? `, lifts at ${s.liftsAt}` : ""})`}; ` +
      `balance ${formatMicroCredits(s.balanceMicroCredits)} credits\n`,
  );
  if (s.windows.length > 0) {
    ctx.out(
      renderTable(
        ["window", "kind", "cap", "spent", "resets at"],
        s.windows.map((w) => [
          w.period,
          w.kind,
          formatMicroCredits(w.capMicroCredits),
          formatMicroCredits(w.spentMicroCredits),
          w.resetsAt,
        ]),
      ),
    );
  }
}

function printLimits(
  ctx: CliContext,
  g: GlobalOptions,
  user: string,
  l: {
    user: unknown;
    defaults: unknown;
    effective: {
      floorMicroCredits: number;
      caps: readonly { period: string; kind: string; capMicroCredits: number }[];
      lowBalanceMicroCredits: number;
      language: string;
    };
  },
  status: StatusViewLike | null,
): void {
  if (g.json) {
    ctx.out(toJson({ userId: user, ...l, ...(status ? { status } : {}) }));
    return;
  }
  const e = l.effective;
  ctx.out(
    `${user === "*" ? "defaults" : safeText(user)}: floor ${formatMicroCredits(e.floorMicroCredits)}, low-balance alert at ` +
      `${formatMicroCredits(e.lowBalanceMicroCredits)}, language ${e.language}${l.user ? "" : user === "*" ? "" : " (defaults)"}\n`,
  );
  if (e.caps.length > 0)
    ctx.out(
      renderTable(
        ["window", "kind", "cap (credits)"],
        e.caps.map((c) => [c.period, c.kind, formatMicroCredits(c.capMicroCredits)]),
      ),
    );
  else ctx.out("no caps\n");
  if (status) printStatus(ctx, status);
}
