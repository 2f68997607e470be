/**
 * The process entry's HTTP and signal side: the only place that listens (with explicit
 * timeouts) and the only signal trap. The app itself (app.ts) never listens; services
 * (services.ts) are built by the entry and closed after the server.
 */
import type { FastifyInstance } from "fastify";
import { type AppDeps, buildApp } from "./app.js";
import { isPostgres } from "./db/index.js";
import { warmReportThread } from "./meter/index.js";

/**
 * Socket timeouts of the listener (Node's http server), in ms. A client that trickles headers or a
 * body cannot hold a connection open: headers must arrive within `headersTimeoutMs`, the whole
 * request within `requestTimeoutMs`, an idle socket closes after `connectionTimeoutMs`, and an
 * idle keep-alive connection after `keepAliveTimeoutMs` (above common load balancers' 60 s idle, so
 * the proxy closes first).
 */
export const SERVER_TIMEOUTS = {
  /** @defaultValue 10,000 */
  headersTimeoutMs: 10_000,
  /** @defaultValue 30,000 (a 2 MiB push batch on a slow link fits) */
  requestTimeoutMs: 30_000,
  /** @defaultValue 72,000 (Fastify's default) */
  keepAliveTimeoutMs: 72_000,
  /** @defaultValue 120,000 */
  connectionTimeoutMs: 120_000,
} as const;

export { SHUTDOWN_GRACE_MS } from "./config/index.js";

export interface RunningServer {
  app: FastifyInstance;
  address: string;
  /** Resolves once the server has closed (after `close()`). */
  closed: Promise<void>;
  /** Stops accepting connections and lets in-flight requests (a webhook's transaction) finish. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the app and listens on `host:port` with SERVER_TIMEOUTS. Traps no signal: the entry
 * awaits `trapSignals().requested` and then calls `close()` (bounded by its grace period).
 * Errors: listen errors as Node reports them (EADDRINUSE, EACCES…; the CLI words them).
 */
export async function startServer(
  deps: AppDeps,
  listen: { host: string; port: number },
): Promise<RunningServer> {
  const app = buildApp(deps);
  const server = app.server;
  server.headersTimeout = SERVER_TIMEOUTS.headersTimeoutMs;
  server.requestTimeout = SERVER_TIMEOUTS.requestTimeoutMs;
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeoutMs;
  server.setTimeout(SERVER_TIMEOUTS.connectionTimeoutMs);
  let address: string;
  try {
    address = await app.listen({ host: listen.host, port: listen.port });
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
  // the first by-user/agent/model report of a month need not wait for the report thread to start
  const db = deps.db;
  if (db.name && !db.memory && !isPostgres(db)) warmReportThread(db.name);
  let resolveClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let closing: Promise<void> | null = null;
  const close = () => {
    closing ??= app.close().then(resolveClosed);
    return closing;
  };
  return { app, address, closed, close };
}

export interface SignalTrap {
  /** Resolves with the first SIGINT/SIGTERM. */
  requested: Promise<NodeJS.Signals>;
  /** Told about a second signal just before the process exits at once. */
  onSecond: (signal: NodeJS.Signals) => void;
}

/**
 * The process's one signal trap. The first SIGINT/SIGTERM resolves `requested` (the entry then
 * closes with grace); a second one exits at once with the current exit code (everything
 * committed is safe in SQLite; the rest stays in OpenClaw's files or the outbox). Set it up
 * before anything slow, so a signal during startup stops cleanly too.
 */
export function trapSignals(): SignalTrap {
  let first: ((s: NodeJS.Signals) => void) | null = null;
  const trap: SignalTrap = {
    requested: new Promise((resolve) => {
      first = resolve;
    }),
    onSecond: () => {},
  };
  const handler = (signal: NodeJS.Signals) => {
    if (first) {
      const f = first;
      first = null;
      f(signal);
      return;
    }
    trap.onSecond(signal);
    process.exit(process.exitCode ?? 0);
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  return trap;
}

/**
 * After a clean stop: exit even if a library still holds a handle (a reconnect timer of a Redis
 * client that never connected), instead of hanging. Unref'd, so a process that can exit, does.
 */
export function exitSoon(): void {
  setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
}
