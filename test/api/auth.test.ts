import Fastify from "fastify";
import { describe, expect } from "vitest";
import { installAuth } from "../../src/api/index.js";
import { createApiKeys } from "../../src/auth/index.js";
import { runCli } from "../support/cli.js";
import { createTempDb, test } from "../support/temp-db.js";
import { admin, bearer, pushEvent, testApp } from "./support.js";

type App = ReturnType<typeof testApp>;
async function createKey(app: App, scope: string, name?: string) {
  const res = await app.inject({ method: "POST", url: "/v1/keys", headers: admin, payload: { scope, name } });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; key: string; scope: string };
}

describe("operator API keys", () => {
  test("missing, wrong and revoked keys get 401 with a JSON error", async ({ db, onTestFinished }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const none = await app.inject({ url: "/v1/balances/telegram:1" });
    expect(none.statusCode).toBe(401);
    expect(none.json().error).toMatchObject({
      code: "unauthorized",
      message: "missing or wrong bearer token",
    });
    const wrong = await app.inject({
      url: "/v1/balances/telegram:1",
      headers: bearer("cg_000000000000_nope"),
    });
    expect(wrong.statusCode).toBe(401);

    const k = await createKey(app, "read", "grafana");
    expect(k.key).toMatch(/^cg_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect((await app.inject({ url: "/v1/balances/telegram:1", headers: bearer(k.key) })).statusCode).toBe(
      200,
    );
    // Same id, wrong secret.
    const forged = `${k.key.slice(0, 16)}${"A".repeat(43)}`;
    expect((await app.inject({ url: "/v1/balances/telegram:1", headers: bearer(forged) })).statusCode).toBe(
      401,
    );

    const del = await app.inject({ method: "DELETE", url: `/v1/keys/${k.id}`, headers: admin });
    expect(del.statusCode).toBe(200);
    expect(del.json()).toMatchObject({ id: k.id, revokedAtMs: expect.any(Number) });
    expect((await app.inject({ url: "/v1/balances/telegram:1", headers: bearer(k.key) })).statusCode).toBe(
      401,
    );
    const again = await app.inject({ method: "DELETE", url: `/v1/keys/${k.id}`, headers: admin });
    expect(again.statusCode).toBe(404);
  });

  test("scopes: read can GET only, ingest can push and ack, admin can do everything", async ({
    db,
    onTestFinished,
  }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const read = await createKey(app, "read");
    const ingest = await createKey(app, "ingest");
    const adminKey = await createKey(app, "admin");
    const grant = (key: string) =>
      app.inject({
        method: "POST",
        url: "/v1/users/telegram:1/grants",
        headers: bearer(key),
        payload: { credits: "2", reason: "welcome", idempotencyKey: `g-${key.slice(3, 15)}` },
      });
    const push = (key: string) =>
      app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: bearer(key),
        payload: { events: [pushEvent({ idempotencyKey: `p-${key.slice(3, 15)}` })] },
      });

    const forbidden = await grant(read.key);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error).toMatchObject({ code: "forbidden" });
    expect(forbidden.json().error.message).toContain("needs admin");
    expect((await push(read.key)).statusCode).toBe(403);
    expect((await app.inject({ url: "/v1/keys", headers: bearer(read.key) })).statusCode).toBe(403);
    expect((await app.inject({ url: "/v1/usage", headers: bearer(read.key) })).statusCode).toBe(200);

    expect((await grant(ingest.key)).statusCode).toBe(403);
    expect((await push(ingest.key)).statusCode).toBe(200);
    expect(
      (
        await app.inject({
          method: "PUT",
          url: "/v1/limits/defaults",
          headers: bearer(ingest.key),
          payload: {},
        })
      ).statusCode,
    ).toBe(403);
    // Ack needs ingest: read is refused before the route runs (404 would mean it ran).
    expect(
      (await app.inject({ method: "POST", url: "/v1/notices/999/ack", headers: bearer(read.key) }))
        .statusCode,
    ).toBe(403);
    expect(
      (await app.inject({ method: "POST", url: "/v1/notices/999/ack", headers: bearer(ingest.key) }))
        .statusCode,
    ).toBe(404);

    expect((await grant(adminKey.key)).statusCode).toBe(201);
    expect((await push(adminKey.key)).statusCode).toBe(200);

    const list = await app.inject({ url: "/v1/keys", headers: bearer(adminKey.key) });
    expect(list.json().keys).toHaveLength(3);
    expect(JSON.stringify(list.json())).not.toContain(read.key.slice(16));
    expect(list.json().keys[0]).not.toHaveProperty("key");
    const stored = db.prepare("SELECT secret_sha256 FROM api_keys").pluck().all() as string[];
    expect(stored.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
  });

  test("key routes validate their input", async ({ db, onTestFinished }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const bad = await app.inject({
      method: "POST",
      url: "/v1/keys",
      headers: admin,
      payload: { scope: "root" },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("invalid_request");
    const badId = await app.inject({ method: "DELETE", url: "/v1/keys/nope", headers: admin });
    expect(badId.statusCode).toBe(400);
  });

  test("rate limit per key: 429 with a JSON error and Retry-After; other keys unaffected", async ({
    db,
    onTestFinished,
  }) => {
    const app = testApp(db, { rateLimit: { max: 2, timeWindowMs: 60_000 } });
    onTestFinished(() => app.close());
    const other = await createKey(app, "read"); // 1st request of the admin key
    expect((await app.inject({ url: "/v1/packs", headers: admin })).statusCode).toBe(200);
    const limited = await app.inject({ url: "/v1/packs", headers: admin });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toMatchObject({ code: "rate_limited" });
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect((await app.inject({ url: "/v1/packs", headers: bearer(other.key) })).statusCode).toBe(200);
  });

  test("creditgate keys create/list/revoke; the printed key works until revoked", async ({
    onTestFinished,
  }) => {
    const t = createTempDb();
    onTestFinished(t.cleanup);
    const env = { CREDITGATE_DB: t.path };
    const created = await runCli(env, ["keys", "create", "--scope", "read", "--name", "grafana"]);
    expect(created.error).toBeNull();
    const key = created.out.trim();
    expect(key).toMatch(/^cg_[0-9a-f]{12}_/);
    expect(created.err).toContain("cannot be shown again");
    const list = await runCli(env, ["--json", "keys", "list"]);
    const keys = JSON.parse(list.out) as { id: string; name: string; scope: string }[];
    expect(keys).toEqual([expect.objectContaining({ name: "grafana", scope: "read", revokedAtMs: null })]);
    expect(list.out).not.toContain(key.slice(16));

    const app = testApp(t.db, { apiKey: null });
    onTestFinished(() => app.close());
    expect((await app.inject({ url: "/v1/packs", headers: bearer(key) })).statusCode).toBe(200);
    const id = keys[0]?.id ?? "";
    expect((await runCli(env, ["keys", "revoke", id])).out).toContain(`revoked key ${id}`);
    expect((await app.inject({ url: "/v1/packs", headers: bearer(key) })).statusCode).toBe(401);
    expect((await runCli(env, ["keys", "revoke", id])).error?.message).toContain("no active api key");
    expect((await runCli(env, ["keys", "create", "--scope", "root"])).error).not.toBeNull();
  });

  test("a /v1 route without config.scope cannot be registered (no silent default scope)", async ({ db }) => {
    const app = Fastify();
    void app.register(async (api) => {
      installAuth(api, createApiKeys(db), () => 0);
      api.get("/v1/declared", { config: { scope: "read" } }, async () => ({}));
      api.post("/v1/undeclared", async () => ({}));
    });
    await expect(app.ready()).rejects.toThrow("POST /v1/undeclared: declare config.scope");
    await app.close().catch(() => {});
  });
});
