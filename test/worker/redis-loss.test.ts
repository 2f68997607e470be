import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createEnforcer } from "../../src/limits/index.js";
import { verifyWebhookSignature } from "../../src/worker/index.js";
import { producerConnection } from "../../src/worker/queues.js";
import { createRelay } from "../../src/worker/relay.js";
import { startWorkerRuntime } from "../../src/worker/runtime.js";
import { createPgSchema, ENGINES, type Engine } from "../support/temp-db.js";
import {
  CREDIT,
  freePort,
  settings,
  startRedis,
  topUp,
  uniquePrefix,
  waitFor,
  waitRedis,
} from "./support.js";

const SECRET = "0123456789abcdef0123456789abcdef";
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A redis-server of the test's own on a spare port, which the test can kill and restart empty. */
async function ownRedis() {
  const port = await freePort();
  let proc: ChildProcess = startRedis(port);
  cleanups.push(() => {
    proc.kill("SIGKILL");
  });
  await waitRedis(proc);
  return {
    url: `redis://127.0.0.1:${port}`,
    /** SIGKILL, then a new empty server on the same port: everything Redis held is gone. */
    async loseEverything() {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await exited;
      proc = startRedis(port);
      await waitRedis(proc);
    },
  };
}

/** A fresh database of `engine` (a SQLite file, or a PostgreSQL schema), removed after the test. */
function openDb(engine: Engine): Db {
  const dir = mkdtempSync(join(tmpdir(), "cg-redis-loss-"));
  const pg = engine === "postgres" ? createPgSchema() : null;
  const db = openDatabase(pg ? pg.url : join(dir, "creditgate.sqlite"));
  cleanups.push(() => {
    if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
    pg?.drop();
  });
  return db;
}

/**
 * The operator's webhook receiver: answers 500 until `succeed()`, verifies each signature, and
 * counts accepted deliveries per delivery id (`x-creditgate-delivery`) the way a receiver dedupes.
 */
async function receiver() {
  let ok = false;
  const failures = new Map<string, number>();
  const accepted = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString("utf8");
    });
    req.on("end", () => {
      const id = String(req.headers["x-creditgate-delivery"]);
      const sig = verifyWebhookSignature({
        header: String(req.headers["x-creditgate-signature"]),
        body,
        secret: SECRET,
        nowMs: Date.now(),
      });
      if (!sig.ok || JSON.parse(body).id !== id) {
        res.writeHead(400).end();
        return;
      }
      const into = ok ? accepted : failures;
      into.set(id, (into.get(id) ?? 0) + 1);
      res.writeHead(ok ? 200 : 500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    succeed: () => {
      ok = true;
    },
    failures,
    accepted,
  };
}

const alertRows = (db: Db) =>
  db
    .prepare("SELECT id, webhook_state AS state, webhook_attempts AS tries FROM alerts ORDER BY id")
    .all() as {
    id: number;
    state: string;
    tries: number;
  }[];

/** Three users blocked by the operator: three `blocked` alerts for the webhook. */
function blockThree(db: Db): void {
  const e = createEnforcer(db, settings({ webhookEnabled: true }));
  for (const u of ["telegram:1", "telegram:2", "telegram:3"]) {
    topUp(db, u, 5 * CREDIT, Date.now());
    e.block(u, "chargeback", Date.now());
  }
}

describe("Redis loses its data while work is in flight (own redis-server, killed and restarted empty)", () => {
  it.each(ENGINES)(
    "alerts whose deliveries were in retry are re-enqueued by the sweep and delivered once each (%s)",
    async (engine) => {
      const redis = await ownRedis();
      const hook = await receiver();
      const db = openDb(engine);
      const rt = startWorkerRuntime({
        db,
        redisUrl: redis.url,
        prefix: uniquePrefix(),
        settings: settings({ webhookEnabled: true }),
        webhook: { url: hook.url, secret: SECRET, attempts: 50, backoffMs: 200 },
        schedule: false,
        relayEveryMs: 20,
        sweep: { everyMs: 200, staleAfterMs: 1000 },
      });
      cleanups.push(() => rt.close());
      blockThree(db);
      const rows = alertRows(db).filter((a) => a.state !== "none");
      // Every alert has failed at least twice: its job sits in Redis waiting for the next retry.
      await waitFor(
        () => alertRows(db),
        (a) => a.length === rows.length && a.every((r) => r.state === "queued" && r.tries >= 2),
        20_000,
        "deliveries in retry",
      );
      expect(rows.length).toBeGreaterThanOrEqual(3);

      await redis.loseEverything();
      hook.succeed();

      const final = await waitFor(
        () => alertRows(db),
        (a) => a.every((r) => r.state === "delivered"),
        30_000,
        "every alert delivered after the loss",
      );
      expect(final.map((r) => r.state)).toEqual(rows.map(() => "delivered"));
      // Exactly one accepted delivery per alert id, as the receiver saw them.
      expect([...hook.accepted.keys()].sort()).toEqual(rows.map((r) => `alert_${r.id}`).sort());
      expect([...hook.accepted.values()]).toEqual(rows.map(() => 1));
    },
    60_000,
  );

  it.each(ENGINES)(
    "an alert that keeps failing across the loss is dead after the configured tries in total, never left queued (%s)",
    async (engine) => {
      const redis = await ownRedis();
      const hook = await receiver(); // never succeeds
      const db = openDb(engine);
      const rt = startWorkerRuntime({
        db,
        redisUrl: redis.url,
        prefix: uniquePrefix(),
        settings: settings({ webhookEnabled: true }),
        webhook: { url: hook.url, secret: SECRET, attempts: 4, backoffMs: 1000 },
        schedule: false,
        relayEveryMs: 20,
        sweep: { everyMs: 200, staleAfterMs: 500 },
      });
      cleanups.push(() => rt.close());
      blockThree(db);
      await waitFor(
        () => alertRows(db),
        (a) => a.length >= 3 && a.every((r) => r.state === "queued" && r.tries >= 1),
        20_000,
        "first tries failed",
      );
      await redis.loseEverything();
      const final = await waitFor(
        () => alertRows(db),
        (a) => a.every((r) => r.state === "dead"),
        30_000,
        "every alert dead-lettered",
      );
      expect(final.map((r) => r.tries)).toEqual(final.map(() => 4));
      expect([...hook.failures.values()]).toEqual(final.map(() => 4));
    },
    60_000,
  );

  it.each(ENGINES)(
    "limit checks handed to Redis but lost before a worker ran them are sent again (%s)",
    async (engine) => {
      const redis = await ownRedis();
      const db = openDb(engine);
      const prefix = uniquePrefix();
      // Only a relay runs: the checks reach Redis and are marked sent, but nobody takes them.
      const checks = new Queue("checks", { connection: producerConnection(redis.url), prefix });
      cleanups.push(() => checks.close());
      const relay = createRelay({ db, checks, alerts: null, webhook: null });
      topUp(db, "telegram:9", 2 * CREDIT, Date.now());
      expect(await relay.runOnce()).toEqual({ checks: 1, alerts: 0 });
      expect((await checks.getJobCounts("waiting")).waiting).toBe(1);

      await redis.loseEverything();
      const rt = startWorkerRuntime({
        db,
        redisUrl: redis.url,
        prefix,
        settings: settings(),
        webhook: null,
        schedule: false,
        sweep: { everyMs: 200, staleAfterMs: 0 },
      });
      cleanups.push(() => rt.close());
      const status = await waitFor(
        () => rt.enforcer.storedStatus("telegram:9"),
        (s) => s !== null,
        20_000,
        "the lost check ran",
      );
      expect(status).toMatchObject({ allowed: true, balanceMicroCredits: 2 * CREDIT });
      await waitFor(
        () => db.prepare("SELECT seq, sent_seq, checked_seq FROM limit_outbox").all(),
        (r) => JSON.stringify(r) === JSON.stringify([{ seq: 1, sent_seq: 1, checked_seq: 1 }]),
        10_000,
        "outbox row checked",
      );
    },
    60_000,
  );
});
