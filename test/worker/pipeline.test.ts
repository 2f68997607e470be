import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createEnforcer, type WorkerSettings } from "../../src/limits/index.js";
import { verifyWebhookSignature } from "../../src/worker/index.js";
import { rpcReplyChannel } from "../../src/worker/queues.js";
import { createRpcClient, type RpcReply } from "../../src/worker/rpc-client.js";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/worker/runtime.js";
import { createPgSchema, ENGINES, type Engine } from "../support/temp-db.js";
import {
  alertKeys,
  CREDIT,
  debit,
  freePort,
  obliteratePrefix,
  REDIS_URL,
  settings,
  startRedis,
  topUp,
  uniquePrefix,
  waitFor,
  waitRedis,
} from "./support.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A database of `engine` (a SQLite file, or a fresh PostgreSQL schema) that `open()` connects to again. */
function world(engine: Engine = "sqlite") {
  const dir = mkdtempSync(join(tmpdir(), "cg-worker-"));
  const pg = engine === "postgres" ? createPgSchema() : null;
  const path = pg ? pg.url : join(dir, "creditgate.sqlite");
  const dbs: Db[] = [];
  const open = () => {
    const db = openDatabase(path);
    dbs.push(db);
    return db;
  };
  const prefix = uniquePrefix();
  cleanups.push(async () => {
    for (const db of dbs) if (db.open) db.close();
    rmSync(dir, { recursive: true, force: true });
    pg?.drop();
    await obliteratePrefix(prefix);
  });
  return { open, prefix };
}

function runtime(
  db: Db,
  prefix: string,
  o: {
    redisUrl?: string;
    settings?: WorkerSettings;
    webhook?: { url: string; secret: string; attempts: number; backoffMs: number };
  } = {},
): WorkerRuntime {
  const r = startWorkerRuntime({
    db,
    redisUrl: o.redisUrl ?? REDIS_URL,
    prefix,
    settings: o.settings ?? settings({ webhookEnabled: o.webhook !== undefined }),
    webhook: o.webhook ?? null,
    schedule: false,
    relayEveryMs: 20,
  });
  cleanups.push(() => r.close());
  return r;
}

const pendingOutbox = (db: Db) =>
  (db.prepare("SELECT COUNT(*) AS n FROM limit_outbox WHERE seq > sent_seq").get() as { n: number }).n;

describe("worker pipeline (real Redis)", () => {
  it.each(ENGINES)(
    "concurrent debits from two meters and two workers: status and alerts stay exact (%s)",
    async (engine) => {
      const w = world(engine);
      const [meterA, meterB, workerA, workerB] = [w.open(), w.open(), w.open(), w.open()];
      const users = ["telegram:1", "telegram:2", "telegram:3"];
      const setup = createEnforcer(meterA, settings());
      const now = Date.now();
      for (const u of users) {
        topUp(meterA, u, 100 * CREDIT, now);
        setup.setLimits(u, { caps: [{ period: "day", capMicroCredits: 5 * CREDIT, kind: "hard" }] }, now);
      }
      runtime(workerA, w.prefix);
      runtime(workerB, w.prefix);
      // 2 meters × 3 users × 30 calls of 0.1 credit = 6 credits per user, over a 5-credit cap.
      await Promise.all(
        [meterA, meterB].map(async (db) => {
          for (let i = 0; i < 30; i++) {
            for (const u of users) debit(db, u, 100_000, Date.now());
            await new Promise((r) => setTimeout(r, 3));
          }
        }),
      );
      const reader = createEnforcer(meterA, settings());
      for (const u of users) {
        const s = await waitFor(
          () => reader.storedStatus(u),
          (s) => s?.windows[0]?.spentMicroCredits === 6 * CREDIT && pendingOutbox(meterA) === 0,
          15_000,
          `status of ${u}`,
        );
        expect(s).toMatchObject({ allowed: false, reason: "daily_cap", balanceMicroCredits: 94 * CREDIT });
        const keys = alertKeys(meterA, u);
        const day = keys.find((k) => k.startsWith("cap_threshold"))?.split("|")[2];
        expect(keys.filter((k) => !k.startsWith("topup_received")).sort()).toEqual(
          [
            `blocked|daily_cap|${day}`,
            `cap_threshold|day/hard/100|${day}`,
            `cap_threshold|day/hard/50|${day}`,
            `cap_threshold|day/hard/80|${day}`,
          ].sort(),
        );
      }
    },
  );

  it.each(ENGINES)(
    "signs operator webhooks verifiably, retries a 500, and dead-letters after the last try (%s)",
    async (engine) => {
      const w = world(engine);
      const db = w.open();
      const secret = "whsec_operator_test_0123456789";
      const received: { header: string; body: string }[] = [];
      let failFirst = 2;
      const server: Server = createServer((req, res) => {
        let body = "";
        req.on("data", (c) => {
          body += c;
        });
        req.on("end", () => {
          received.push({ header: String(req.headers["x-creditgate-signature"]), body });
          const alwaysFail = body.includes("telegram:dead");
          if (alwaysFail || failFirst-- > 0) {
            res.statusCode = 500;
            res.end("nope");
            return;
          }
          res.end("ok");
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const rt = runtime(db, w.prefix, { webhook: { url, secret, attempts: 3, backoffMs: 20 } });
      await rt.ready;

      rt.enforcer.block("telegram:ok", "chargeback", Date.now());
      rt.relay.kick();
      const delivered = await waitFor(
        () => rt.enforcer.alerts(),
        (a) => a[0]?.webhookState === "delivered",
        10_000,
        "delivery",
      );
      expect(delivered[0]).toMatchObject({ kind: "blocked", webhookAttempts: 3 });
      expect(received).toHaveLength(3);
      const last = received[2] as { header: string; body: string };
      expect(
        verifyWebhookSignature({ header: last.header, body: last.body, secret, nowMs: Date.now() }),
      ).toEqual({ ok: true });
      expect(
        verifyWebhookSignature({ header: last.header, body: `${last.body} `, secret, nowMs: Date.now() }),
      ).toEqual({
        ok: false,
        reason: "mismatch",
      });
      expect(JSON.parse(last.body)).toMatchObject({
        type: "blocked",
        accountId: "telegram:ok",
        data: { reason: "operator" },
      });

      rt.enforcer.block("telegram:dead", "chargeback", Date.now());
      rt.relay.kick();
      const dead = await waitFor(
        () => rt.enforcer.alerts({ state: "dead" }),
        (a) => a.length === 1,
        10_000,
        "dead letter",
      );
      expect(dead[0]).toMatchObject({
        accountId: "telegram:dead",
        webhookAttempts: 3,
        webhookError: "HTTP 500",
      });
      expect(received.filter((r) => r.body.includes("telegram:dead"))).toHaveLength(3);
    },
  );

  it("answers RPC calls over BullMQ and removes each job once answered", async () => {
    const w = world();
    const db = w.open();
    const rt = runtime(db, w.prefix);
    await rt.ready;
    topUp(db, "telegram:9", 3 * CREDIT, Date.now());
    debit(db, "telegram:9", 250_000, Date.now());
    const client = await createRpcClient({ redisUrl: REDIS_URL, prefix: w.prefix });
    cleanups.push(() => client.close());
    const c = await client.call("consumo", { userId: "telegram:9" }, { timeoutMs: 5000 });
    expect(c).toMatchObject({ userId: "telegram:9", balanceMicroCredits: 2_750_000, today: { requests: 1 } });
    const b = await client.call("balance", { userId: "telegram:9" });
    expect(b.balanceMicroCredits).toBe(2_750_000);
    const [s, uu, au] = await Promise.all([
      client.call("status", { userId: "telegram:9" }),
      client.call("user_usage", { userId: "telegram:9" }),
      client.call("agent_usage", { agentId: "main" }),
    ]);
    expect(s.allowed).toBe(true);
    expect(uu.byModel[0]).toMatchObject({ model: "mock-gpt", requests: 1 });
    expect(au).toMatchObject({ agentId: "main", requests: 1, users: 1 });
    await expect(client.call("consumo", { userId: "" })).rejects.toThrow(/invalid consumo params/);
    const q = new Queue("rpc", { connection: { url: REDIS_URL }, prefix: w.prefix });
    cleanups.push(() => q.close());
    const counts = await q.getJobCounts("completed", "failed", "waiting", "active");
    expect(counts).toMatchObject({ completed: 0, failed: 0, waiting: 0, active: 0 });
  });

  it("RPC: refusals come back on the reply channel, other callers still get return values, timeouts clean up", async () => {
    const w = world();
    const db = w.open();
    const rt = runtime(db, w.prefix);
    await rt.ready;
    topUp(db, "telegram:7", 2 * CREDIT, Date.now());
    const q = new Queue("rpc", { connection: { url: REDIS_URL }, prefix: w.prefix });
    const sub = new Redis(REDIS_URL);
    cleanups.push(async () => {
      await q.close();
      sub.disconnect();
    });
    // A job in the client's id form but with params the worker refuses: a failure reply, no retry, no job left.
    const clientId = "0123456789abcdef0123456789abcdef";
    const replies: RpcReply[] = [];
    sub.on("message", (_ch: string, m: string) => replies.push(JSON.parse(m) as RpcReply));
    await sub.subscribe(rpcReplyChannel(w.prefix, clientId));
    await q.add(
      "consumo",
      { userId: "telegram:7", extra: 1 },
      { jobId: `rpc-${clientId}-1`, removeOnFail: true },
    );
    await q.add("nope", {}, { jobId: `rpc-${clientId}-2`, removeOnFail: true });
    await waitFor(
      () => replies.length,
      (n) => n === 2,
      10_000,
      "refusals",
    );
    expect(replies.find((r) => r.id === `rpc-${clientId}-1`)).toMatchObject({
      ok: false,
      code: "invalid_request",
      message: expect.stringMatching(/invalid params for consumo/),
    });
    expect(replies.find((r) => r.id === `rpc-${clientId}-2`)).toMatchObject({
      ok: false,
      code: "invalid_request",
    });
    // Any other BullMQ producer (its own job ids) still reads the answer as the job's return value.
    const events = new QueueEvents("rpc", { connection: { url: REDIS_URL }, prefix: w.prefix });
    cleanups.push(() => events.close());
    await events.waitUntilReady();
    const job = await q.add("balance", { userId: "telegram:7" }, { removeOnComplete: true });
    expect(await job.waitUntilFinished(events, 10_000)).toEqual({
      userId: "telegram:7",
      balanceMicroCredits: 2 * CREDIT,
      overdrawn: false,
    });
    await waitFor(
      () => q.getJobCounts("completed", "failed", "waiting", "active"),
      (c) => Object.values(c).every((n) => n === 0),
      5000,
      "answered jobs removed",
    );
    await rt.close();

    // No worker: the call times out as upstream_unavailable and its question is taken back.
    const client = await createRpcClient({ redisUrl: REDIS_URL, prefix: w.prefix });
    cleanups.push(() => client.close());
    const err = await client.call("status", { userId: "telegram:7" }, { timeoutMs: 300 }).catch((e) => e);
    expect(err).toMatchObject({ code: "upstream_unavailable", message: expect.stringMatching(/timed out/) });
    await waitFor(
      () => q.getJobCounts("waiting"),
      (c) => c.waiting === 0,
      5000,
      "timed-out job removed",
    );
  });

  it("RPC across a Redis restart: calls fail fast as upstream_unavailable, then work again", async () => {
    const port = await freePort();
    let redis = startRedis(port);
    cleanups.push(() => {
      redis.kill("SIGKILL");
    });
    const redisUrl = `redis://127.0.0.1:${port}`;
    await waitRedis(redis);
    const w = world();
    const db = w.open();
    topUp(db, "telegram:31", 2 * CREDIT, Date.now());
    const rt = runtime(db, w.prefix, { redisUrl });
    await rt.ready;
    const client = await createRpcClient({ redisUrl, prefix: w.prefix });
    cleanups.push(() => client.close());
    const balance = () => client.call("balance", { userId: "telegram:31" }, { timeoutMs: 1000 });
    expect((await balance()).balanceMicroCredits).toBe(2 * CREDIT);

    redis.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await expect(balance()).rejects.toMatchObject({ code: "upstream_unavailable" });
    expect(Date.now() - t0).toBeLessThan(1500);

    redis = startRedis(port); // empty again: the client resubscribes, the worker reconnects
    await waitRedis(redis);
    const after = await waitFor(
      () => balance().catch((e: Error) => e),
      (r) => !(r instanceof Error),
      15_000,
      "an answer after the restart",
    );
    expect(after).toMatchObject({ userId: "telegram:31", balanceMicroCredits: 2 * CREDIT });
  });

  it.each(ENGINES)(
    "a Redis outage delays limit checks and alerts, and each still happens exactly once (%s)",
    async (engine) => {
      const port = await freePort();
      let redis = startRedis(port);
      cleanups.push(() => {
        redis.kill("SIGKILL");
      });
      const redisUrl = `redis://127.0.0.1:${port}`;
      await waitRedis(redis);
      const w = world(engine);
      const [meter, workerDb] = [w.open(), w.open()];
      const users = ["telegram:21", "telegram:22"];
      const setup = createEnforcer(meter, settings());
      for (const u of users) {
        topUp(meter, u, 4 * CREDIT, Date.now());
        setup.setLimits(
          u,
          { caps: [{ period: "day", capMicroCredits: 3 * CREDIT, kind: "hard" }] },
          Date.now(),
        );
      }
      runtime(workerDb, w.prefix, { redisUrl });
      await waitFor(
        () => pendingOutbox(meter),
        (n) => n === 0,
        10_000,
        "initial relay",
      );

      redis.kill("SIGKILL"); // Redis goes away while usage keeps being debited
      await new Promise((r) => setTimeout(r, 300));
      for (let i = 0; i < 10; i++) for (const u of users) debit(meter, u, 350_000, Date.now());
      await new Promise((r) => setTimeout(r, 1000));
      expect(pendingOutbox(meter)).toBe(users.length); // coalesced per user, waiting for Redis
      expect(createEnforcer(meter, settings()).storedStatus("telegram:21")?.allowed).toBe(true);

      redis = startRedis(port);
      await waitRedis(redis);
      const reader = createEnforcer(meter, settings());
      for (const u of users) {
        const s = await waitFor(
          () => reader.storedStatus(u),
          (s) => s?.windows[0]?.spentMicroCredits === 3_500_000,
          20_000,
          `status of ${u} after the outage`,
        );
        expect(s).toMatchObject({ allowed: false, reason: "daily_cap", balanceMicroCredits: 500_000 });
        const kinds = alertKeys(meter, u).map((k) => k.split("|").slice(0, 2).join("|"));
        expect(kinds.sort()).toEqual(
          [
            "blocked|daily_cap",
            "cap_threshold|day/hard/100",
            "cap_threshold|day/hard/50",
            "cap_threshold|day/hard/80",
            "low_balance|",
            "topup_received|",
          ].sort(),
        );
      }
      // The relay marks a row sent just after Redis accepted its job, so a fast worker may store the
      // status first: wait for the mark rather than racing it.
      await waitFor(
        () => pendingOutbox(meter),
        (n) => n === 0,
        10_000,
        "outbox marked sent",
      );
    },
    60_000,
  );
});
