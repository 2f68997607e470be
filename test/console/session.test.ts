/**
 * Console login (issue #12): an API key becomes an HttpOnly, SameSite=Strict session cookie; the
 * /v1 API accepts it in place of the bearer key with the same scope checks, and every change also
 * needs the session's CSRF token; logout and key revocation end the session.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { CONSOLE_CSP } from "../../src/api/index.js";
import { admin, balanceOf, testApp } from "../api/support.js";
import { API_KEY } from "../support/payments-harness.js";
import { ENGINES, testOn } from "../support/temp-db.js";

type App = ReturnType<typeof testApp>;

async function login(app: App, apiKey: string, headers: Record<string, string> = {}) {
  const res = await app.inject({ method: "POST", url: "/console/session", payload: { apiKey }, headers });
  return res;
}
const cookieOf = (setCookie: string | string[] | undefined) => String(setCookie).split(";")[0] as string;

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("console session", () => {
    test("login sets an HttpOnly SameSite=Strict cookie with an expiry; the key is not echoed", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const wrong = await login(app, "cg_000000000000_nope");
      expect(wrong.statusCode).toBe(401);
      expect(wrong.headers["set-cookie"]).toBeUndefined();

      const res = await login(app, API_KEY);
      expect(res.statusCode).toBe(201);
      const set = String(res.headers["set-cookie"]);
      expect(set).toMatch(
        /^cg_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/,
      );
      expect(res.body).not.toContain(API_KEY);
      expect(res.json()).toMatchObject({ keyId: "env", scope: "admin" });
      expect(res.json().csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // Behind a TLS proxy the cookie is Secure.
      const https = await login(app, API_KEY, { "x-forwarded-proto": "https" });
      expect(String(https.headers["set-cookie"])).toMatch(/; Secure$/);
      // The database keeps only the token's hash.
      const token = cookieOf(set).split("=")[1] as string;
      const rows = db.prepare("SELECT token_sha256 FROM console_sessions").all() as {
        token_sha256: string;
      }[];
      expect(rows.length).toBe(2);
      expect(JSON.stringify(rows)).not.toContain(token);
    });

    test("the cookie reads the API; a change needs the CSRF header; a read key cannot act", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const res = await login(app, API_KEY);
      const cookie = cookieOf(res.headers["set-cookie"]);
      const csrf = res.json().csrfToken as string;
      expect((await app.inject({ url: "/v1/balances", headers: { cookie } })).statusCode).toBe(200);
      // Reloaded page: the token again from the cookie.
      const again = await app.inject({ url: "/console/session", headers: { cookie } });
      expect(again.json().csrfToken).toBe(csrf);

      const grant = (headers: Record<string, string>, key: string) =>
        app.inject({
          method: "POST",
          url: "/v1/users/telegram:7/grants",
          headers,
          payload: { credits: "5", reason: "welcome", idempotencyKey: key },
        });
      const noCsrf = await grant({ cookie }, "g1");
      expect(noCsrf.statusCode).toBe(403);
      expect(noCsrf.json().error.message).toMatch(/X-CSRF-Token/);
      const wrongCsrf = await grant({ cookie, "x-csrf-token": `${csrf.slice(0, -1)}x` }, "g1");
      expect(wrongCsrf.statusCode).toBe(403);
      expect(balanceOf(db, "telegram:7")).toBe(0);
      const ok = await grant({ cookie, "x-csrf-token": csrf }, "g1");
      expect(ok.statusCode).toBe(201);
      expect(balanceOf(db, "telegram:7")).toBe(5_000_000);

      // A read key's session looks but cannot act, CSRF token or not.
      const readKey = (
        await app.inject({ method: "POST", url: "/v1/keys", headers: admin, payload: { scope: "read" } })
      ).json() as { id: string; key: string };
      const r = await login(app, readKey.key);
      expect(r.json().scope).toBe("read");
      const rc = cookieOf(r.headers["set-cookie"]);
      expect((await app.inject({ url: "/v1/balances", headers: { cookie: rc } })).statusCode).toBe(200);
      const denied = await grant({ cookie: rc, "x-csrf-token": r.json().csrfToken }, "g2");
      expect(denied.statusCode).toBe(403);
      expect(denied.json().error.message).toMatch(/scope read/);
      // Revoking the key ends its sessions.
      await app.inject({ method: "DELETE", url: `/v1/keys/${readKey.id}`, headers: admin });
      expect((await app.inject({ url: "/v1/balances", headers: { cookie: rc } })).statusCode).toBe(401);
    });

    test("logout needs the CSRF token, then the cookie is dead", async ({ db, onTestFinished }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const res = await login(app, API_KEY);
      const cookie = cookieOf(res.headers["set-cookie"]);
      const csrf = res.json().csrfToken as string;
      expect(
        (await app.inject({ method: "DELETE", url: "/console/session", headers: { cookie } })).statusCode,
      ).toBe(403);
      const out = await app.inject({
        method: "DELETE",
        url: "/console/session",
        headers: { cookie, "x-csrf-token": csrf },
      });
      expect(out.statusCode).toBe(204);
      expect(String(out.headers["set-cookie"])).toMatch(/^cg_session=; .*Max-Age=0/);
      const after = await app.inject({ url: "/v1/balances", headers: { cookie } });
      expect(after.statusCode).toBe(401);
      expect((await app.inject({ url: "/console/session", headers: { cookie } })).statusCode).toBe(401);
    });

    test("expired sessions are refused", async ({ db, onTestFinished }) => {
      let now = Date.UTC(2026, 2, 10);
      const app = testApp(db, { nowMs: () => now });
      onTestFinished(() => app.close());
      const res = await login(app, API_KEY);
      const cookie = cookieOf(res.headers["set-cookie"]);
      now += 12 * 3_600_000;
      expect((await app.inject({ url: "/v1/balances", headers: { cookie } })).statusCode).toBe(401);
    });

    test("/console/ serves the built page with its own CSP; 503 when not built", async ({
      db,
      onTestFinished,
    }) => {
      const dir = mkdtempSync(join(tmpdir(), "cg-console-"));
      mkdirSync(join(dir, "assets"));
      writeFileSync(join(dir, "index.html"), "<!doctype html><title>x</title>");
      writeFileSync(join(dir, "assets", "index-abc.js"), "console.log(1)");
      const app = testApp(db, { consoleDir: dir });
      const bare = testApp(db, { consoleDir: null });
      onTestFinished(async () => {
        await app.close();
        await bare.close();
        rmSync(dir, { recursive: true, force: true });
      });
      const page = await app.inject({ url: "/console/" });
      expect(page.statusCode).toBe(200);
      expect(page.headers["content-security-policy"]).toBe(CONSOLE_CSP);
      const js = await app.inject({ url: "/console/assets/index-abc.js" });
      expect(js.headers["content-type"]).toMatch(/javascript/);
      expect(js.headers["cache-control"]).toMatch(/immutable/);
      expect((await app.inject({ url: "/console/assets/..%2Findex.html" })).statusCode).toBe(404);
      // The API keeps its strict CSP.
      expect((await app.inject({ url: "/healthz" })).headers["content-security-policy"]).toMatch(
        /default-src 'none'; style-src 'unsafe-inline'/,
      );
      const missing = await bare.inject({ url: "/console/" });
      expect(missing.statusCode).toBe(503);
      expect(missing.json().error.message).toMatch(/npm run build/);
    });
  });
});
