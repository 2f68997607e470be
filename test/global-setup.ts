import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { resolve } from "node:path";

/** Answers whether a Redis server is answering PING at host:port. */
function redisAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.on("error", () => finish(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d) => finish(d.toString().startsWith("+PONG")));
  });
}

/** Answers whether something accepts TCP connections at host:port. */
function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.on("error", () => finish(false));
    socket.on("connect", () => finish(true));
  });
}

/**
 * Builds dist/ once (the crash, CLI and process tests run the real `creditgate` binary in child
 * processes) and fails loudly when the Redis the worker tests need is not there.
 */
export default async function setup(): Promise<void> {
  if (!(await redisAnswers("127.0.0.1", 6379))) {
    throw new Error(
      'Redis is not answering on 127.0.0.1:6379; the worker tests need it. Start one with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    );
  }
  if (!process.env.CREDITGATE_TEST_PG_URL && !(await portOpen("127.0.0.1", 5432))) {
    throw new Error(
      "PostgreSQL is not answering on 127.0.0.1:5432; the tests run on both engines. Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    );
  }
  const root = resolve(import.meta.dirname, "..");
  // CI builds dist/ before the suite and runs the plugin's end-to-end test (which starts the
  // real `node dist/cli/main.js`) beside it: rewriting dist/ here then would race that process.
  if (process.env.CREDITGATE_TEST_SKIP_BUILD === "1") {
    if (!existsSync(resolve(root, "dist/cli/main.js")))
      throw new Error("CREDITGATE_TEST_SKIP_BUILD=1 but dist/ is not built: run `npm run build` first");
    return;
  }
  execFileSync(
    process.execPath,
    [resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: root,
      stdio: "inherit",
    },
  );
}
