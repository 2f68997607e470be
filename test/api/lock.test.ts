import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { createApiKeys } from "../../src/auth/index.js";
import { openDatabase, SERVER_BUSY_TIMEOUT_MS } from "../../src/db/index.js";
import { createEnforcer } from "../../src/limits/index.js";
import { startWorkerRuntime, type WorkerRuntime } from "../../src/worker/runtime.js";
import { createTempDb } from "../support/temp-db.js";
import {
  CREDIT,
  debit,
  obliteratePrefix,
  REDIS_URL,
  settings,
  topUp,
  uniquePrefix,
  waitFor,
} from "../worker/support.js";
import { admin, balanceOf, bearer, testApp } from "./support.js";

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve("better-sqlite3");

/**
 * Another process holding the database: `BEGIN IMMEDIATE` / `BEGIN EXCLUSIVE` plus a write
 * (what a second creditgate, a backup tool or the sqlite3 shell does), or `locking_mode =
 * EXCLUSIVE` (a connection that keeps the file to itself, which even WAL readers must wait for).
 * Resolves once the lock is held; `release()` commits and waits for the process to exit.
 */
async function holdLock(path: string, mode: "IMMEDIATE" | "EXCLUSIVE" | "EXCLUSIVE_MODE") {
  const script = `
    const Database = require(${JSON.stringify(BETTER_SQLITE3)});
    const db = new Database(${JSON.stringify(path)});
    if (${JSON.stringify(mode)} === "EXCLUSIVE_MODE") db.pragma("locking_mode = EXCLUSIVE");
    db.exec(${JSON.stringify(mode === "IMMEDIATE" ? "BEGIN IMMEDIATE" : "BEGIN EXCLUSIVE")});
    db.prepare("INSERT INTO health_probe (id, at_ms) VALUES (1, 1) ON CONFLICT(id) DO UPDATE SET at_ms = at_ms + 1").run();
    if (${JSON.stringify(mode)} === "EXCLUSIVE_MODE") { db.exec("COMMIT"); db.prepare("SELECT 1 FROM accounts").all(); }
    process.stdout.write("locked\\n");
    process.stdin.once("data", () => {
      if (db.inTransaction) db.exec("COMMIT");
      db.close();
      process.exit(0);
    });`;
  const proc: ChildProcess = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes("locked")) resolve();
    });
    proc.on("exit", (code) => reject(new Error(`lock holder exited ${code} before locking`)));
  });
  let held = true;
  return {
    held: () => held,
    async release() {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.stdin?.write("release\n");
      await exited;
      held = false;
    },
    kill: () => proc.kill("SIGKILL"),
  };
}

/** A real listening app on a server-style connection (short busy timeout), plus cleanup. */
async function serverApp(over: Parameters<typeof testApp>[1] = {}) {
  const t = createTempDb();
  t.db.close();
  const db = openDatabase(t.path, undefined, { busyTimeoutMs: SERVER_BUSY_TIMEOUT_MS });
  const app = testApp(db, { busyRetryMs: 1500, ...over });
  const base = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    db,
    app,
    base,
    path: t.path,
    async cleanup() {
      await app.close();
      db.close();
      t.cleanup();
    },
  };
}

/** Resolves with the response and the order in which it finished. */
function timed(order: string[], label: string, p: Promise<Response>) {
  return p.then(async (res) => {
    order.push(label);
    return { res, body: (await res.json()) as Record<string, unknown> };
  });
}

describe("another process holds the database lock", () => {
  for (const mode of ["IMMEDIATE", "EXCLUSIVE"] as const) {
    it(`BEGIN ${mode}: health and reads answer while it is held, a write is a clean 503 busy with nothing half-written`, async () => {
      const s = await serverApp();
      const holder = { release: async () => {}, kill: () => {}, held: () => false };
      try {
        // A stored key that has never been used: today its first use is a write.
        const key = createApiKeys(s.db).create({ scope: "admin", name: "ops" }, Date.now()).key;
        const seeded = await fetch(`${s.base}/v1/users/telegram:7/grants`, {
          method: "POST",
          headers: { ...admin, "content-type": "application/json" },
          body: JSON.stringify({ credits: "2", reason: "seed", idempotencyKey: "seed-7" }),
        });
        expect(seeded.status).toBe(201);

        Object.assign(holder, await holdLock(s.path, mode));
        const order: string[] = [];
        const write = timed(
          order,
          "write",
          fetch(`${s.base}/v1/users/telegram:7/grants`, {
            method: "POST",
            headers: { ...bearer(key), "content-type": "application/json" },
            body: JSON.stringify({ credits: "5", reason: "during lock", idempotencyKey: "locked-7" }),
          }),
        );
        // Give the write a head start so it is retrying when the others arrive.
        await new Promise((r) => setTimeout(r, 50));
        const health = timed(order, "health", fetch(`${s.base}/healthz`));
        const read = timed(
          order,
          "read",
          fetch(`${s.base}/v1/balances/telegram:7`, { headers: bearer(key) }),
        );
        const ready = timed(order, "ready", fetch(`${s.base}/readyz`));

        const h = await health;
        expect(h.res.status).toBe(200);
        expect(holder.held()).toBe(true);
        const r = await read;
        expect(r.res.status).toBe(200);
        expect(r.body).toMatchObject({ userId: "telegram:7", balanceMicroCredits: 2_000_000 });
        const rd = await ready;
        expect(rd.res.status).toBe(200);
        expect(rd.body).toMatchObject({ ok: true, degraded: true, checks: { db: { ok: true } } });
        expect((rd.body.checks as Record<string, { ok: boolean }>).dbWriteLock?.ok).toBe(false);

        const w = await write;
        expect(w.res.status).toBe(503);
        expect(w.res.headers.get("retry-after")).toBe("1");
        expect(w.body).toMatchObject({ error: { code: "busy", requestId: expect.any(String) } });
        // The event loop was free while the write waited: health, read and readiness finished first.
        expect(order.indexOf("health")).toBeLessThan(order.indexOf("write"));
        expect(order.indexOf("read")).toBeLessThan(order.indexOf("write"));
        expect(holder.held()).toBe(true);

        await holder.release();
        // Nothing of the refused write is in the ledger or the balance.
        const entries = s.db
          .prepare("SELECT COUNT(*) AS n FROM ledger_entries WHERE idempotency_key = 'grant:locked-7'")
          .get() as { n: number };
        expect(entries.n).toBe(0);
        expect(balanceOf(s.db, "telegram:7")).toBe(2_000_000);
        // The client's retry after the lock is gone applies it, once.
        const retry = await fetch(`${s.base}/v1/users/telegram:7/grants`, {
          method: "POST",
          headers: { ...bearer(key), "content-type": "application/json" },
          body: JSON.stringify({ credits: "5", reason: "during lock", idempotencyKey: "locked-7" }),
        });
        expect(retry.status).toBe(201);
        expect(balanceOf(s.db, "telegram:7")).toBe(7_000_000);
      } finally {
        holder.kill();
        await s.cleanup();
      }
    });
  }

  it("a write that meets a short lock waits for it asynchronously and then succeeds", async () => {
    const s = await serverApp({ busyRetryMs: 10_000 });
    const holder = await holdLock(s.path, "IMMEDIATE");
    try {
      const order: string[] = [];
      const write = timed(
        order,
        "write",
        fetch(`${s.base}/v1/users/telegram:8/grants`, {
          method: "POST",
          headers: { ...admin, "content-type": "application/json" },
          body: JSON.stringify({ credits: "1", reason: "brief lock", idempotencyKey: "brief-8" }),
        }),
      );
      await new Promise((r) => setTimeout(r, 50));
      expect((await timed(order, "health", fetch(`${s.base}/healthz`))).res.status).toBe(200);
      expect(order).toEqual(["health"]);
      await holder.release();
      const w = await write;
      expect(w.res.status).toBe(201);
      expect(balanceOf(s.db, "telegram:8")).toBe(1_000_000);
    } finally {
      holder.kill();
      await s.cleanup();
    }
  });
});

describe("API key last use", () => {
  it("is remembered in memory on the request path and written at close, not per request", async () => {
    const t = createTempDb();
    try {
      const app = testApp(t.db);
      const k = createApiKeys(t.db).create({ scope: "read" }, 1);
      const res = await app.inject({ url: "/v1/balances/telegram:1", headers: bearer(k.key) });
      expect(res.statusCode).toBe(200);
      const stored = () =>
        (
          t.db.prepare("SELECT last_used_at_ms AS at FROM api_keys WHERE id = ?").get(k.id) as {
            at: number | null;
          }
        ).at;
      expect(stored()).toBeNull();
      // The API shows it already.
      const list = await app.inject({ url: "/v1/keys", headers: admin });
      expect(list.json().keys.find((x: { id: string }) => x.id === k.id).lastUsedAtMs).toBeGreaterThan(0);
      await app.close();
      expect(stored()).toBeGreaterThan(0);
    } finally {
      t.cleanup();
    }
  });

  it("a flush that meets a lock keeps the times for the next flush", async () => {
    const s = await serverApp();
    try {
      const keys = createApiKeys(s.db);
      const k = keys.create({ scope: "read" }, 1);
      expect(keys.authenticate(k.key, 1_000_000)).toMatchObject({ keyId: k.id });
      const holder = await holdLock(s.path, "IMMEDIATE");
      expect(keys.flushLastUsed()).toBe(0);
      await holder.release();
      expect(keys.flushLastUsed()).toBe(1);
      expect(keys.get(k.id)?.lastUsedAtMs).toBe(1_000_000);
      expect(keys.flushLastUsed()).toBe(0);
    } finally {
      await s.cleanup();
    }
  });
});

describe("the worker under start's short busy timeout", () => {
  it("a limit check that meets a long lock waits it out asynchronously instead of exhausting BullMQ's attempts", async () => {
    const t = createTempDb();
    t.db.close();
    const db = openDatabase(t.path, undefined, { busyTimeoutMs: SERVER_BUSY_TIMEOUT_MS });
    const prefix = uniquePrefix();
    let runtime: WorkerRuntime | null = null;
    const user = "telegram:31";
    topUp(db, user, CREDIT, Date.now());
    debit(db, user, 2 * CREDIT, Date.now()); // balance -1 credit: must end up blocked
    const holder = await holdLock(t.path, "IMMEDIATE");
    try {
      runtime = startWorkerRuntime({
        db,
        redisUrl: REDIS_URL,
        prefix,
        settings: settings(),
        webhook: null,
        schedule: false,
        relayEveryMs: 20,
      });
      const reader = createEnforcer(db, settings());
      // Longer than BullMQ's 5 attempts with 200 ms exponential backoff (~3 s) take.
      await new Promise((r) => setTimeout(r, 4_500));
      expect(reader.storedStatus(user)?.allowed ?? true).toBe(true); // not checked yet: locked out
      await holder.release();
      const s = await waitFor(
        () => reader.storedStatus(user),
        (v) => v?.allowed === false,
        10_000,
        "the check after the lock",
      );
      expect(s).toMatchObject({
        allowed: false,
        reason: "insufficient_balance",
        balanceMicroCredits: -CREDIT,
      });
    } finally {
      holder.kill();
      await runtime?.close();
      db.close();
      t.cleanup();
      await obliteratePrefix(prefix);
    }
  });
});
