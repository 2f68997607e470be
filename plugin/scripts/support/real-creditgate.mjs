// The REAL creditgate for the e2e harness: builds the repository's `dist/` when it is missing or
// older than `src/`, gives it a Redis (a private `redis-server` on a free loopback port, or the
// shared one on 127.0.0.1:6379 when the harness runs without a network namespace and it answers),
// runs `node dist/cli/main.js start` (HTTP API + meter + worker in one process) on 127.0.0.1, and
// runs creditgate's own CLI against the same database. Everything it writes lives in `dir`; the
// BullMQ keys live under a unique prefix that `stop()` deletes.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect, createServer } from "node:net";
import { join } from "node:path";

/**
 * Stops a child started with `detached: true` and everything it spawned: SIGTERM to its process
 * group, SIGKILL after `graceMs`; resolves when the child has exited.
 */
export function stopProcessGroup(child, graceMs) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", () => resolve());
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, graceMs).unref();
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Newest mtime (ms) of the files under `p` (recursively). */
function newestMtime(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = 0;
  for (const e of readdirSync(p)) max = Math.max(max, newestMtime(join(p, e)));
  return max;
}

/**
 * `npm run build` at the repository root when `dist/cli/main.js` is missing or older than
 * anything in `src/`, `package.json` or `tsconfig*.json`. Resolves {built, seconds, reason}.
 */
export async function ensureCreditgateBuilt(repoDir, { log = console.log } = {}) {
  const main = join(repoDir, "dist", "cli", "main.js");
  const inputs = ["src", "package.json", "tsconfig.json", "tsconfig.build.json"]
    .map((f) => join(repoDir, f))
    .filter((f) => existsSync(f));
  let reason = null;
  if (!existsSync(join(repoDir, "node_modules"))) {
    throw new Error(`${repoDir}/node_modules is missing: run \`npm ci\` at the repository root first`);
  }
  if (!existsSync(main)) reason = "dist/ is missing";
  else if (Math.max(...inputs.map(newestMtime)) > statSync(main).mtimeMs) reason = "dist/ is older than src/";
  if (!reason) return { built: false, seconds: 0, reason: "dist/ is up to date" };
  log(`creditgate: ${reason}: npm run build in ${repoDir}`);
  const t = Date.now();
  await new Promise((resolve, reject) => {
    const c = spawn("npm", ["run", "build", "--silent"], { cwd: repoDir, stdio: "inherit" });
    c.on("error", reject);
    c.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`npm run build → ${code}`))));
  });
  return { built: true, seconds: (Date.now() - t) / 1000, reason };
}

/** Sends PING over RESP; true when the server answers +PONG within `timeoutMs`. */
export function redisPing(port, timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    let buf = "";
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on("error", () => done(false));
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      buf += d;
      if (buf.includes("\r\n")) done(buf.startsWith("+PONG"));
    });
  });
}

async function startPrivateRedis(dir) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const spawnError = new Promise((resolve) => child.once("error", resolve));
  const t = Date.now();
  while (Date.now() - t < 10_000) {
    const err = await Promise.race([spawnError, new Promise((r) => setTimeout(() => r(null), 50))]);
    if (err) throw new Error(`redis-server could not start: ${err.message} (is it installed?)`);
    if (child.exitCode !== null) throw new Error(`redis-server exited ${child.exitCode}: ${out.slice(-800)}`);
    if (await redisPing(port, 200)) break;
  }
  if (!(await redisPing(port, 500)))
    throw new Error(`redis-server did not answer on ${port}: ${out.slice(-800)}`);
  return {
    port,
    private: true,
    stop: () => stopProcessGroup(child, 5_000),
  };
}

/**
 * Runs the real creditgate. `opts`: repoDir, dir (temp root), stateDir (OpenClaw state dir to
 * meter), prices (price overrides, written to the CREDITGATE_PRICES file), packs (packs file
 * content), useSharedRedis (try
 * 127.0.0.1:6379 first), log, verbose.
 */
export async function startRealCreditgate(opts) {
  const { repoDir, dir, stateDir, log = console.log, verbose = false } = opts;
  const requireRoot = createRequire(join(repoDir, "package.json"));
  mkdirSync(dir, { recursive: true });
  const cwd = join(dir, "cwd"); // no ./.env here: only the variables below configure it
  const home = join(dir, "home");
  for (const d of [cwd, home]) mkdirSync(d, { recursive: true });

  const redis =
    opts.useSharedRedis && (await redisPing(6379))
      ? { port: 6379, private: false, stop: async () => {} }
      : await startPrivateRedis(join(dir, "redis"));
  const prefix = `cge2e-${process.pid}-${randomBytes(4).toString("hex")}`;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const apiKey = `cg-e2e-${randomBytes(16).toString("hex")}`;
  const db = join(dir, "creditgate.sqlite");
  const packsPath = join(dir, "packs.json");
  writeFileSync(packsPath, `${JSON.stringify(opts.packs, null, 2)}\n`);
  // CREDITGATE_PRICES names a JSON file of operator price overrides.
  const pricesPath = join(dir, "prices.json");
  writeFileSync(pricesPath, `${JSON.stringify(opts.prices, null, 2)}\n`);
  const topupUrl = `${url}/pay/topup-e2e`;
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    TMPDIR: process.env.TMPDIR ?? "/tmp",
    LANG: "C.UTF-8",
    CREDITGATE_DB: db,
    CREDITGATE_STATE_DIRS: stateDir,
    CREDITGATE_API_KEY: apiKey,
    HOST: "127.0.0.1",
    PORT: String(port),
    PUBLIC_BASE_URL: url,
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    CREDITGATE_QUEUE_PREFIX: prefix,
    CREDITGATE_PACKS: packsPath,
    CREDITGATE_PRICES: pricesPath,
    CREDITGATE_COST_MODE: "calculate",
    CREDITGATE_POLL_MS: "100",
    CREDITGATE_LANGUAGE: "es",
    CREDITGATE_TOPUP_URL: topupUrl,
    CREDITGATE_LOG_LEVEL: "info",
  };
  const mainJs = join(repoDir, "dist", "cli", "main.js");

  const child = spawn(process.execPath, [mainJs, "start"], {
    cwd,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const onData = (d) => {
    out += d;
    if (verbose) process.stdout.write(`[creditgate] ${d}`);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const t = Date.now();
  while (!/creditgate: listening on/.test(out)) {
    if (child.exitCode !== null || Date.now() - t > 30_000) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      await redis.stop();
      throw new Error(`creditgate start did not listen (exit ${child.exitCode}):\n${out.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  /** `node dist/cli/main.js --db <db> ...args` → {code, stdout, stderr, json}. */
  const cli = (args) =>
    new Promise((resolve) => {
      const c = spawn(process.execPath, [mainJs, "--db", db, ...args], {
        cwd,
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      c.stdout.on("data", (d) => (stdout += d));
      c.stderr.on("data", (d) => (stderr += d));
      c.on("close", (code) => {
        let json = null;
        try {
          json = JSON.parse(stdout);
        } catch {}
        if (verbose) process.stdout.write(`[creditgate cli] ${args.join(" ")} → ${code}\n${stdout}${stderr}`);
        resolve({ code, stdout, stderr, json });
      });
    });

  /** An HTTP call to creditgate's API (Bearer key unless `auth: false`) → {status, body}. */
  const api = async (method, path, body, { auth = true } = {}) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(auth ? { authorization: `Bearer ${apiKey}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, body: json ?? text };
  };

  /** Read-only SQL on creditgate's database (better-sqlite3 from the repository's node_modules). */
  const query = (sql, ...params) => {
    const Database = requireRoot("better-sqlite3");
    const h = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return h.prepare(sql).all(...params);
    } finally {
      h.close();
    }
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return { deletedKeys: 0, remainingKeys: 0 };
    stopped = true;
    writeFileSync(join(dir, "creditgate.log"), out);
    await stopProcessGroup(child, 10_000);
    // Delete `<prefix>:*` (the shared Redis must be left as it was found).
    let deletedKeys = 0;
    let remainingKeys = -1;
    try {
      const Redis = requireRoot("ioredis");
      const r = new (Redis.default ?? Redis)({
        host: "127.0.0.1",
        port: redis.port,
        lazyConnect: true,
        maxRetriesPerRequest: 1,
      });
      await r.connect();
      const scan = async () => {
        const keys = [];
        let cursor = "0";
        do {
          const [next, batch] = await r.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== "0");
        return keys;
      };
      const keys = await scan();
      for (let i = 0; i < keys.length; i += 500) deletedKeys += await r.del(...keys.slice(i, i + 500));
      remainingKeys = (await scan()).length;
      await r.quit();
    } catch (err) {
      log(`creditgate: could not clean Redis keys ${prefix}:* (${err?.message ?? err})`);
    }
    await redis.stop();
    return { deletedKeys, remainingKeys };
  };

  return {
    url,
    apiKey,
    db,
    prefix,
    topupUrl,
    redis: { port: redis.port, private: redis.private },
    startupSeconds: (Date.now() - t) / 1000,
    log: () => out,
    cli,
    api,
    query,
    stop,
  };
}
