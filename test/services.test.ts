import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { loadConfig } from "../src/config/index.js";
import { SERVER_TIMEOUTS, startServer } from "../src/server.js";
import { createServices } from "../src/services.js";
import { admin, bearer, testApp } from "./api/support.js";
import { TEST_PACKS } from "./support/payments-harness.js";
import { createTempDb, test } from "./support/temp-db.js";

const KEY = "3f9c1a7e5b2d8046c1e9a3f7b5d2086e4c1a9f3e7b5d20";

describe("composition root and server", () => {
  test("createServices builds each repository once: the app and the payment commands share them", async ({
    onTestFinished,
  }) => {
    const tmp = createTempDb();
    tmp.db.close();
    const packs = join(tmp.dir, "packs.json");
    writeFileSync(packs, JSON.stringify(TEST_PACKS));
    onTestFinished(() => rmSync(tmp.dir, { recursive: true, force: true }));
    const config = loadConfig({ CREDITGATE_DB: tmp.path, CREDITGATE_PACKS: packs, CREDITGATE_API_KEY: KEY });
    const services = await createServices(config, { serving: true });
    onTestFinished(() => services.close());
    const deps = services.appDeps();
    expect(deps.repos).toBe(services.repos);
    // The top-up repository is the services' one, not one per request.
    expect(services.payments.topups).toBe(services.repos.topups);
    expect(deps.ingester).toBe(services.app?.ingester);
    expect(services.repos.enforcer).toBe(deps.repos.enforcer);
    expect(services.reconcile).toBeNull(); // no provider keys
    expect(services.warnings.some((w) => w.includes("stripe"))).toBe(true);
    const app = await startServer(deps, { host: "127.0.0.1", port: 0 });
    onTestFinished(() => app.close());
    const s = app.app.server;
    expect([s.headersTimeout, s.requestTimeout, s.keepAliveTimeout, s.timeout]).toEqual([
      SERVER_TIMEOUTS.headersTimeoutMs,
      SERVER_TIMEOUTS.requestTimeoutMs,
      SERVER_TIMEOUTS.keepAliveTimeoutMs,
      SERVER_TIMEOUTS.connectionTimeoutMs,
    ]);
    const res = await fetch(`${app.address}/v1/packs`, { headers: bearer(KEY) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { packs: unknown[] }).packs.length).toBeGreaterThan(0);
    await app.close();
    await services.close();
    await services.close(); // idempotent
    expect(services.db.open).toBe(false);
  });

  test("unknown URLs are rate limited per client (URL probing): 404 until the limit, then 429", async ({
    db,
    onTestFinished,
  }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const codes: number[] = [];
    for (let i = 0; i < 121; i++) codes.push((await app.inject({ url: `/wp-admin/${i}.php` })).statusCode);
    expect(codes.slice(0, 120).every((c) => c === 404)).toBe(true);
    const last = await app.inject({ url: "/.env" });
    expect(last.statusCode).toBe(429);
    expect(last.json().error.code).toBe("rate_limited");
  });

  test("a request failing its route's schema: 400 naming the field, one line", async ({
    db,
    onTestFinished,
  }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const block = await app.inject({ method: "POST", url: "/v1/users/telegram:1/block", headers: admin });
    expect(block.statusCode).toBe(400);
    expect(block.json().error).toMatchObject({ code: "invalid_request" });
    expect(block.json().error.message).toMatch(/^reason: /);
    const q = await app.inject({ url: "/v1/users/telegram:1/ledger?limit=0", headers: admin });
    expect(q.statusCode).toBe(400);
    expect(q.json().error.message).toMatch(/^limit: /);
  });
});
