import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createEnforcer } from "../../src/limits/index.js";
import { createPgSchema, ENGINES, type Engine } from "../support/temp-db.js";
import { CREDIT, freePort, obliteratePrefix, REDIS_URL, settings, uniquePrefix, waitFor } from "./support.js";

const OC_FIXTURE = resolve(import.meta.dirname, "../../../shared/fixtures/openclaw-2026.9.6");

/** The built binary (test/global-setup.ts builds dist/ before any test runs). */
const MAIN = resolve(import.meta.dirname, "../../dist/cli/main.js");

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A database of `engine` (a SQLite file, or a fresh PostgreSQL schema: `dbPath` is its URL), a queue prefix. */
function world(engine: Engine = "sqlite") {
  const dir = mkdtempSync(join(tmpdir(), "cg-worker-proc-"));
  const pg = engine === "postgres" ? createPgSchema() : null;
  const dbPath = pg ? pg.url : join(dir, "creditgate.sqlite");
  const db = openDatabase(dbPath);
  const prefix = uniquePrefix();
  const redis = new Redis(REDIS_URL);
  cleanups.push(async () => {
    redis.disconnect();
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
    pg?.drop();
    await obliteratePrefix(prefix);
  });
  return { db, dbPath, prefix, redis };
}

interface Proc {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `creditgate worker` as a real process against the test's database and queue prefix. */
function startWorker(w: { dbPath: string; prefix: string }, env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [MAIN, "worker"], {
    env: {
      PATH: process.env.PATH ?? "",
      CREDITGATE_DB: w.dbPath,
      REDIS_URL,
      CREDITGATE_QUEUE_PREFIX: w.prefix,
      CREDITGATE_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString("utf8");
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { child, stderr: () => err, exited };
}

async function running(p: Proc): Promise<void> {
  await waitFor(
    p.stderr,
    (s) => s.includes("worker running") || p.child.exitCode !== null,
    20_000,
    "worker up",
  );
  expect(p.stderr()).toContain("worker running");
}

function grant(db: Db, accountId: string, microCredits: number): void {
  createLedger(db).post({
    accountId,
    kind: "grant",
    amountMicroCredits: BigInt(microCredits),
    idempotencyKey: `grant:${accountId}:${microCredits}`,
    nowMs: Date.now(),
  });
}

/** An HTTP endpoint that holds its first answer until `release()` (a delivery kept in flight). */
async function holdingServer() {
  let requests = 0;
  let release: () => void = () => {};
  let arrivedResolve: () => void = () => {};
  const arrived = new Promise<void>((r) => {
    arrivedResolve = r;
  });
  const released = new Promise<void>((r) => {
    release = r;
  });
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    arrivedResolve();
    void released.then(() => res.writeHead(200).end("ok"));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        release();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, arrived, release, requests: () => requests };
}

describe("creditgate worker (the built binary, real Redis)", () => {
  it.each(ENGINES)(
    "on SIGTERM finishes the in-flight webhook delivery, then exits 0 with nothing left active (%s)",
    async (engine) => {
      const w = world(engine);
      const hook = await holdingServer();
      const proc = startWorker(w, {
        CREDITGATE_ALERT_WEBHOOK_URL: hook.url,
        CREDITGATE_ALERT_WEBHOOK_SECRET: "0123456789abcdef0123456789abcdef",
        CREDITGATE_ALERT_ATTEMPTS: "3",
        CREDITGATE_ALERT_BACKOFF_MS: "100",
      });
      await running(proc);

      grant(w.db, "telegram:1", 5 * CREDIT);
      createEnforcer(w.db, settings({ webhookEnabled: true })).block("telegram:1", "chargeback", Date.now());
      await hook.arrived; // the worker's relay queued the delivery and the worker is posting it now

      const termAt = Date.now();
      proc.child.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 500));
      expect(proc.child.exitCode).toBeNull(); // still finishing the delivery, not killed mid-flight
      const releasedAt = Date.now();
      hook.release();
      expect(await proc.exited).toBe(0);
      expect(Date.now()).toBeGreaterThanOrEqual(releasedAt);
      expect(releasedAt - termAt).toBeGreaterThanOrEqual(500);
      expect(proc.stderr()).toContain("stopping the worker (finishing in-flight jobs)");

      const alert = w.db
        .prepare(
          "SELECT webhook_state, webhook_attempts FROM alerts WHERE account_id = ? AND kind = 'blocked'",
        )
        .get("telegram:1");
      expect(alert).toEqual({ webhook_state: "delivered", webhook_attempts: 1 });
      expect(hook.requests()).toBe(1);
      expect(await w.redis.llen(`${w.prefix}:alerts:active`)).toBe(0);
      expect(await w.redis.zcard(`${w.prefix}:alerts:failed`)).toBe(0);
    },
  );

  // PostgreSQL: the usage-archive run completes as skipped (no CREDITGATE_ARCHIVE_DIR)
  it.each(ENGINES)(
    "two workers on one Redis prefix and database (%s) share the job schedulers: each scheduled run happens once",
    async (engine) => {
      const w = world(engine);
      // Started together, both upsert the same schedulers (rollover, spike-scan, retention, grant-expiry, budget-scan, usage-archive).
      const [a, b] = [startWorker(w), startWorker(w)];
      await Promise.all([running(a), running(b)]);
      const events = async () =>
        (await w.redis.xrange(`${w.prefix}:maintenance:events`, "-", "+")).map(([, fields]) => {
          const o: Record<string, string> = {};
          for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i] as string] = fields[i + 1] as string;
          return o;
        });
      const completed = async () =>
        (await events()).filter((e) => e.event === "completed").map((e) => e.jobId?.split(":")[1]);
      // `every` schedulers run once right away: one first run per scheduler, not one per worker.
      await waitFor(completed, (c) => c.length >= 6, 15_000, "first scheduled runs");
      await new Promise((r) => setTimeout(r, 1000)); // room for a (wrong) second run to show up
      expect((await completed()).sort()).toEqual([
        "budget-scan",
        "grant-expiry",
        "retention",
        "rollover",
        "spike-scan",
        "usage-archive",
      ]);
      // One scheduler and one next iteration each (deterministic job ids), whichever worker takes it.
      expect(await w.redis.zrange(`${w.prefix}:maintenance:repeat`, 0, -1)).toEqual(
        expect.arrayContaining([
          "rollover",
          "spike-scan",
          "retention",
          "grant-expiry",
          "budget-scan",
          "usage-archive",
        ]),
      );
      expect(await w.redis.zcard(`${w.prefix}:maintenance:repeat`)).toBe(6);
      const delayed = await w.redis.zrange(`${w.prefix}:maintenance:delayed`, 0, -1);
      expect(delayed.map((id) => id.split(":")[1]).sort()).toEqual([
        "budget-scan",
        "grant-expiry",
        "retention",
        "rollover",
        "spike-scan",
        "usage-archive",
      ]);

      for (const p of [a, b]) p.child.kill("SIGTERM");
      expect(await Promise.all([a.exited, b.exited])).toEqual([0, 0]);
    },
  );

  it("the package exports the RPC client as `creditgate/rpc` (and the push client stays `creditgate/client`)", () => {
    const r = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const rpc = await import("creditgate/rpc"); const push = await import("creditgate/client");
         console.log(JSON.stringify([Object.keys(rpc).sort(), Object.keys(push)]));`,
      ],
      { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual([["call", "createRpcClient"], ["createClient"]]);
  });

  describe("with Redis unreachable and work waiting in the outbox, one signal stops it", () => {
    /** Spawns the CLI, sends `signal` once it is up, and says how it ended (killed at 10 s if hung). */
    async function stopOnce(args: string[], env: Record<string, string>, up: RegExp, signal: NodeJS.Signals) {
      const child = spawn(process.execPath, [MAIN, ...args], {
        env: { PATH: process.env.PATH ?? "", CREDITGATE_LOG_LEVEL: "info", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString("utf8");
      });
      child.stderr?.on("data", (d: Buffer) => {
        out += d.toString("utf8");
      });
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGKILL");
          await exited;
        }
      });
      await waitFor(
        () => out,
        (o) => up.test(o) || child.exitCode !== null,
        20_000,
        "started",
      );
      child.kill(signal);
      let hung = false;
      const killer = setTimeout(() => {
        hung = true;
        child.kill("SIGKILL");
      }, 10_000);
      const code = await exited;
      clearTimeout(killer);
      return { code, hung, out };
    }

    const pending = (db: Db) =>
      (db.prepare("SELECT COUNT(*) AS n FROM limit_outbox WHERE seq > sent_seq").get() as { n: number }).n;

    it.each(ENGINES)(
      "`creditgate worker` (%s): SIGTERM exits 0 within seconds, the checks stay in the outbox",
      async (engine) => {
        const w = world(engine);
        grant(w.db, "telegram:1", 5 * CREDIT);
        grant(w.db, "telegram:2", 5 * CREDIT);
        const r = await stopOnce(
          ["worker"],
          {
            CREDITGATE_DB: w.dbPath,
            REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
            CREDITGATE_QUEUE_PREFIX: w.prefix,
          },
          /worker running/,
          "SIGTERM",
        );
        expect(r).toMatchObject({ code: 0, hung: false });
        expect(r.out).toContain("stopping the worker");
        expect(pending(w.db)).toBe(2);
      },
    );

    // SQLite only: `start` runs the local meter, which does not run on PostgreSQL (docs/postgres.md).
    it("`creditgate start` on the OpenClaw fixture: SIGINT exits 0 within seconds, nothing billed is lost", async () => {
      const w = world();
      const state = join(mkdtempSync(join(tmpdir(), "cg-start-state-")), "state");
      cpSync(join(OC_FIXTURE, "agents"), join(state, "agents"), { recursive: true });
      writable(state);
      cleanups.push(() => rmSync(join(state, ".."), { recursive: true, force: true }));
      w.db.close();
      const r = await stopOnce(
        ["start"],
        {
          CREDITGATE_DB: w.dbPath,
          CREDITGATE_STATE_DIRS: state,
          REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
          CREDITGATE_QUEUE_PREFIX: w.prefix,
          PORT: "0",
        },
        /listening on/,
        "SIGINT",
      );
      expect(r).toMatchObject({ code: 0, hung: false });
      expect(r.out).toContain("stopping");
      const db = openDatabase(w.dbPath);
      try {
        // Whatever the meter committed is billed, and its balance checks wait for the next start.
        const billed = (db.prepare("SELECT COUNT(*) AS n FROM usage_events").get() as { n: number }).n;
        const accounts = (db.prepare("SELECT COUNT(*) AS n FROM accounts").get() as { n: number }).n;
        if (billed > 0) expect(pending(db)).toBe(accounts);
      } finally {
        db.close();
      }
    });
  });
});

function writable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) writable(p);
    else chmodSync(p, 0o644);
  }
}
