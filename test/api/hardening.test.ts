import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Writable } from "node:stream";
import type { InjectOptions } from "fastify";
import { describe, expect, it } from "vitest";
import { createApiKeys } from "../../src/auth/index.js";
import { createCliContext } from "../../src/cli/context.js";
import { buildProgram } from "../../src/cli/program.js";
import { loadConfig } from "../../src/config/index.js";
import { openDatabase } from "../../src/db/index.js";
import { runCli } from "../support/cli.js";
import { createTempDb, test } from "../support/temp-db.js";
import { admin, bearer, testApp } from "./support.js";

const ROOT = resolve(import.meta.dirname, "../..");

describe("failed authentication is rate limited per client address", () => {
  test("past the limit an address gets 429 with Retry-After, even with a valid key; other addresses are unaffected", async ({
    db,
    onTestFinished,
  }) => {
    const app = testApp(db, { authFailureLimit: { max: 3, timeWindowMs: 60_000 } });
    onTestFinished(() => app.close());
    const from = (remoteAddress: string, headers: Record<string, string>) =>
      app.inject({ url: "/v1/balances/telegram:1", headers, remoteAddress });
    for (let i = 0; i < 3; i++) {
      expect((await from("203.0.113.7", bearer(`cg_000000000000_guess${i}`))).statusCode).toBe(401);
    }
    const limited = await from("203.0.113.7", bearer("cg_000000000000_guess4"));
    expect(limited.statusCode).toBe(429);
    expect(limited.headers["retry-after"]).toMatch(/^\d+$/);
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect(limited.json()).toMatchObject({ error: { code: "rate_limited", requestId: expect.any(String) } });
    // Refused before the key is looked at: guessing from a limited address learns nothing.
    expect((await from("203.0.113.7", admin)).statusCode).toBe(429);
    // Another address, and successful requests, are not counted against it.
    expect((await from("198.51.100.2", admin)).statusCode).toBe(200);
    expect((await from("198.51.100.2", bearer("cg_000000000000_nope"))).statusCode).toBe(401);
    // Routes outside /v1 (health, webhooks) are not behind it.
    expect((await app.inject({ url: "/healthz", remoteAddress: "203.0.113.7" })).statusCode).toBe(200);
  });
});

describe("request logs never carry end-user ids", () => {
  test("user ids in paths and query strings are logged as a keyed hash, the same for the same user", async ({
    db,
  }) => {
    let log = "";
    const stream = new Writable({
      write(chunk, _enc, done) {
        log += chunk.toString();
        done();
      },
    });
    const app = testApp(db, { logger: { level: "info", stream } });
    for (const url of [
      "/v1/users/telegram:5550123/status",
      "/v1/users/telegram:5550123/limits",
      "/v1/balances/telegram:5550123",
      "/v1/balances?after=whatsapp:+15551234567&limit=5",
      "/v1/usage?user=telegram:5550123&by=day",
      "/v1/users/telegram:5550123/no-such-route",
    ]) {
      await app.inject({ url, headers: admin });
    }
    await app.close();
    const lines = log
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { msg: string; req?: { url: string } });
    const urls = lines.flatMap((l) => (l.req ? [l.req.url] : []));
    expect(urls.length).toBeGreaterThanOrEqual(6);
    expect(log).not.toContain("5550123");
    expect(log).not.toContain("15551234567");
    const tags = new Set(urls.flatMap((u) => [...u.matchAll(/u_[0-9a-f]{12}/g)].map((m) => m[0])));
    expect(tags.size).toBe(2); // telegram:5550123 everywhere, and the whatsapp id
    expect(urls).toContain(`/v1/usage?user=${[...tags][0]}&by=day`);
    // Credentials stay redacted as before.
    expect(log).not.toContain("cg_test_operator_key");
  });
});

describe("Fastify's own errors use the documented error shape, on one line", () => {
  test("414, 400 bad URL, 400 bad JSON, 413, 415, 404 and 400 validation", async ({ db, onTestFinished }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const json = { ...admin, "content-type": "application/json" };
    const cases: { status: number; req: InjectOptions; code: string; message: RegExp }[] = [
      {
        status: 414,
        req: { url: `/v1/users/${"x".repeat(300)}/status`, headers: admin },
        code: "invalid_request",
        message: /longer than 256/,
      },
      {
        status: 400,
        req: { url: "/v1/users/%zz/status", headers: admin },
        code: "invalid_request",
        message: /malformed URL/,
      },
      {
        status: 400,
        req: { method: "POST" as const, url: "/v1/users/a/grants", headers: json, payload: "{" },
        code: "invalid_request",
        message: /^malformed JSON body$/,
      },
      {
        status: 413,
        req: {
          method: "POST" as const,
          url: "/v1/users/a/grants",
          headers: json,
          payload: JSON.stringify({ a: "x".repeat(70_000) }),
        },
        code: "invalid_request",
        message: /too large/,
      },
      {
        status: 415,
        req: {
          method: "POST" as const,
          url: "/v1/users/a/grants",
          headers: { ...admin, "content-type": "application/xml" },
          payload: "<a/>",
        },
        code: "invalid_request",
        message: /unsupported content-type "application\/xml"/,
      },
      { status: 404, req: { url: "/nope" }, code: "not_found", message: /no route GET \/nope/ },
      {
        status: 400,
        req: {
          method: "POST" as const,
          url: "/v1/users/a/grants",
          headers: json,
          payload: { credits: "1", reason: "" },
        },
        code: "invalid_request",
        message: /^reason: must not be empty; idempotencyKey: .*expected string/,
      },
      {
        status: 400,
        req: {
          method: "PUT" as const,
          url: "/v1/users/a/limits",
          headers: json,
          payload: { caps: [{ period: "year" }] },
        },
        code: "invalid_request",
        message: /^caps\[0\]\.period: /,
      },
    ];
    cases.push({
      status: 400,
      req: { method: "POST" as const, url: "/v1/usage", headers: json, payload: { events: "x" } },
      code: "invalid_request",
      message: /^body must be \{events: \[\.\.\.\]\} with 1-1000 events: events: /,
    });
    for (const c of cases) {
      const label = String(c.req.url);
      const res = await app.inject(c.req);
      expect(res.statusCode, label).toBe(c.status);
      const body = res.json();
      expect(Object.keys(body), label).toEqual(["error"]);
      expect(body.error, label).toMatchObject({ code: c.code, requestId: expect.any(String) });
      expect(body.error.message, label).toMatch(c.message);
      expect(body.error.message, label).not.toContain("\n");
      expect(res.headers["x-content-type-options"], label).toBe("nosniff");
    }
    // The 414 does not echo the URL back.
    const long = await app.inject({ url: `/v1/users/${"q".repeat(300)}/status`, headers: admin });
    expect(long.body).not.toContain("qqqq");
  });

  it("what Node's parser rejects (header block too large, garbage) answers in the same shape", async () => {
    const t = createTempDb();
    const app = testApp(t.db);
    try {
      const base = new URL(await app.listen({ host: "127.0.0.1", port: 0 }));
      const raw = (text: string) =>
        new Promise<string>((done) => {
          let got = "";
          const s = connect(Number(base.port), "127.0.0.1", () => s.write(text));
          s.on("data", (d) => {
            got += d.toString();
          });
          s.on("close", () => done(got));
        });
      const big = await raw(`GET /v1/${"y".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      expect(big).toMatch(/^HTTP\/1\.1 431 /);
      expect(JSON.parse(big.slice(big.indexOf("\r\n\r\n") + 4))).toEqual({
        error: { code: "invalid_request", message: "request line or headers too large", requestId: null },
      });
      const garbage = await raw("NOT HTTP AT ALL\r\n\r\n");
      expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(garbage.slice(garbage.indexOf("\r\n\r\n") + 4)).error.code).toBe("invalid_request");
    } finally {
      await app.close();
      t.cleanup();
    }
  });
});

describe("one statement of which scope creates payment links: ingest", () => {
  test("an ingest key may POST /v1/topups (a read key may not), and README, docs/api.md and --help say so", async ({
    db,
    onTestFinished,
  }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const keys = createApiKeys(db);
    const topup = (key: string) =>
      app.inject({
        method: "POST",
        url: "/v1/topups",
        headers: bearer(key),
        payload: { userId: "telegram:1", packId: "starter", provider: "stripe" },
      });
    // Stripe is off in this app: 503 provider_disabled means the route ran, i.e. auth let it through.
    expect((await topup(keys.create({ scope: "ingest" }, 1).key)).json().error.code).toBe(
      "provider_disabled",
    );
    expect((await topup(keys.create({ scope: "read" }, 1).key)).statusCode).toBe(403);

    const apiMd = readFileSync(join(ROOT, "docs/api.md"), "utf8");
    const ingestRow = apiMd.split("\n").find((l) => l.startsWith("| `ingest`"));
    expect(ingestRow).toContain("POST /v1/topups");
    const adminRow = apiMd.split("\n").find((l) => l.startsWith("| `admin`"));
    expect(adminRow).not.toContain("top-ups");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(readme).toMatch(/`ingest` also pushes usage, acknowledges notices and creates payment links/);
    const create = buildProgram(createCliContext({}))
      .commands.find((c) => c.name() === "keys")
      ?.commands.find((c) => c.name() === "create");
    expect(create?.helpInformation().replace(/\s+/g, " ")).toMatch(
      /ingest: read \+ push usage, acknowledge notices and create payment links \(POST \/v1\/topups\)/,
    );
  });
});

describe("the database and its directory are private", () => {
  it("a new database is 0600 (with its -wal and -shm) in a new 0700 directory", () => {
    const root = mkdtempSync(join(tmpdir(), "cg-modes-"));
    try {
      const path = join(root, "data", "nested", "creditgate.sqlite");
      const db = openDatabase(path);
      db.prepare("INSERT INTO health_probe (id, at_ms) VALUES (1, 1)").run();
      const mode = (p: string) => statSync(p).mode & 0o777;
      expect(mode(join(root, "data"))).toBe(0o700);
      expect(mode(join(root, "data", "nested"))).toBe(0o700);
      expect(mode(path)).toBe(0o600);
      expect(mode(`${path}-wal`)).toBe(0o600);
      expect(mode(`${path}-shm`)).toBe(0o600);
      db.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("the bootstrap key must be long and random", () => {
  const problem = (key: string) => {
    try {
      loadConfig({ CREDITGATE_API_KEY: key });
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  };
  it("refuses short, repetitive and low-entropy keys with one line naming the variable, never the key", () => {
    for (const bad of [
      "serve-test-key-0123456789", // 25 characters: accepted before
      "a".repeat(64),
      "abababababababababababababababababab",
      "password1234password1234password1234",
      "0123456789abcdef0123456789abcdef",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
    ]) {
      const msg = problem(bad);
      expect(msg, bad).toMatch(/CREDITGATE_API_KEY/);
      expect(msg, bad).toMatch(/openssl rand -hex 32/);
      expect(msg, bad).not.toContain(bad);
    }
    expect(problem("short")).toMatch(/at least 32 characters \(got 5\)/);
  });
  it("accepts generated keys (openssl rand -hex 16 / -hex 32 / -base64 32)", () => {
    for (let i = 0; i < 200; i++) {
      expect(problem(randomBytes(16).toString("hex"))).toBeNull();
      expect(problem(randomBytes(32).toString("hex"))).toBeNull();
      expect(problem(randomBytes(32).toString("base64"))).toBeNull();
    }
  });
});

describe("the CLI never prints control or bidi characters from ids and labels", () => {
  it("keys list, balance and grant strip \\u202e, ANSI escapes and \\r; --json escapes them", async () => {
    const t = createTempDb();
    t.db.close();
    const env = { CREDITGATE_LOG_LEVEL: "silent" };
    const g = ["--db", t.path];
    const hostile = "telegram:1\u202e\x1b[31mgnp.exe";
    /** True when `text` holds a control (other than \n) or bidi character. */
    const unsafeIn = (text: string) =>
      [...text].some((c) => {
        const n = c.charCodeAt(0);
        return (
          (n < 0x20 && n !== 0x0a) ||
          (n >= 0x7f && n <= 0x9f) ||
          (n >= 0x202a && n <= 0x202e) ||
          (n >= 0x2066 && n <= 0x2069)
        );
      });
    expect(unsafeIn(hostile)).toBe(true);
    try {
      const created = await runCli(env, [
        ...g,
        "keys",
        "create",
        "--scope",
        "read",
        "--name",
        "ops\r\x1b[2Kroot\u2066x",
      ]);
      expect(created.error).toBeNull();
      const list = await runCli(env, [...g, "keys", "list"]);
      expect(list.out).toContain("ops[2Krootx");
      expect(unsafeIn(list.out)).toBe(false);

      // Such an id cannot hold credits at all (no look-alike accounts): the grant is refused.
      const grant = await runCli(env, [...g, "grant", hostile, "1", "--reason", "r"]);
      expect(grant.error?.message).toMatch(/^invalid account id/);
      expect(grant.out).toBe("");
      const bal = await runCli(env, [...g, "balance", hostile]);
      expect(bal.error?.message).toMatch(/^invalid account id/);
      // --json keeps a label's value intact, its unsafe characters written as \uXXXX escapes.
      const json = await runCli(env, [...g, "--json", "keys", "list"]);
      expect(unsafeIn(json.out)).toBe(false);
      expect(JSON.parse(json.out)[0].name).toBe("ops\r\x1b[2Kroot\u2066x");
      const usage = await runCli(env, [...g, "usage", "--by", "user"]);
      expect(unsafeIn(usage.out)).toBe(false);
    } finally {
      t.cleanup();
    }
  });
});
