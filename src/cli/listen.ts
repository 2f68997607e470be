import type { AppDeps } from "../app.js";
import type { ApiKeys } from "../auth/index.js";
import type { Config } from "../config/index.js";
import { AppError, ErrorCode } from "../errors.js";
import type { RunningServer } from "../server.js";
import type { Log } from "./output.js";

/**
 * Starts the HTTP server on HOST:PORT with Fastify's logs going to `pino` (the command's stderr
 * logger). A port in use, a port that needs privileges or a HOST that is not local fail with one
 * line naming the setting (AppError invalid_config), never a stack.
 */
export async function listenFromConfig(
  config: Config,
  deps: Omit<AppDeps, "logger">,
  logger: { log: Log; pino: { level: string; stream: { write(line: string): void } } },
): Promise<RunningServer> {
  const { startServer } = await import("../server.js");
  const { host, port } = config.http;
  try {
    return await startServer({ ...deps, logger: logger.pino as AppDeps["logger"] }, { host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `cannot listen on ${host}:${port}`;
    const why =
      code === "EADDRINUSE"
        ? "the port is already in use (set PORT, e.g. PORT=8788, or stop the other program)"
        : code === "EACCES"
          ? "permission denied (ports below 1024 need privileges: set PORT)"
          : code === "EADDRNOTAVAIL" || code === "ENOTFOUND"
            ? "HOST is not an address of this machine (set HOST, e.g. 127.0.0.1 or 0.0.0.0)"
            : null;
    if (why) throw new AppError(ErrorCode.InvalidConfig, `${where}: ${why}`, { cause: err });
    throw err;
  }
}

/** The operator API answers only with a key: the bootstrap CREDITGATE_API_KEY or an active stored key. */
export function operatorApiWarning(apiKeys: Pick<ApiKeys, "enabled">): string | null {
  if (apiKeys.enabled()) return null;
  return "the operator API (/v1) is disabled: no API key yet (run `creditgate keys create --scope admin`, or set CREDITGATE_API_KEY)";
}
