import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const CLI = resolve(import.meta.dirname, "../dist/cli/main.js");
let child: ChildProcess | undefined;
let holder: ChildProcess | undefined;
let dir: string | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  holder?.kill("SIGKILL");
  holder = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  child = undefined;
  dir = undefined;
});

/** Starts the built `creditgate serve` on a free port and resolves with its base URL. */
function serve(
  env: Record<string, string>,
): Promise<{ url: string; proc: ChildProcess; output: () => string }> {
  return new Promise((done, fail) => {
    const proc = spawn(process.execPath, [CLI, "serve"], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) done({ url: m[1], proc, output: () => out });
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.on("exit", (code) => fail(new Error(`serve exited ${code} before listening:\n${out}`)));
  });
}

describe("creditgate serve (the built binary)", () => {
  it("answers health, guards /v1 with the API key, says which provider is off, and stops on SIGTERM", async () => {
    dir = mkdtempSync(join(tmpdir(), "creditgate-serve-"));
    const key = randomBytes(32).toString("hex");
    const { url, proc, output } = await serve({
      CREDITGATE_DB: join(dir, "db.sqlite"),
      CREDITGATE_API_KEY: key,
      HOST: "127.0.0.1",
      PORT: "0",
      CREDITGATE_LOG_LEVEL: "warn",
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${url}/v1/balances/telegram:1`)).status).toBe(401);
    const bal = await fetch(`${url}/v1/balances/telegram:1`, { headers: { authorization: `Bearer ${key}` } });
    expect(bal.status).toBe(200);
    const topup = await fetch(`${url}/v1/topups`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ userId: "telegram:1", packId: "starter", provider: "stripe" }),
    });
    expect(topup.status).toBeGreaterThanOrEqual(400);
    const body = (await topup.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBeTruthy();
    expect(output()).toMatch(/stripe is disabled: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET/);
    const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
    proc.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});

const HAS_SQLITE3 = spawnSync("sqlite3", ["-version"]).status === 0;

describe("creditgate serve with another process holding the database", () => {
  it.skipIf(!HAS_SQLITE3)(
    "the sqlite3 shell holds BEGIN EXCLUSIVE: health and reads answer while it holds it, a write is 503 busy, then works",
    async () => {
      dir = mkdtempSync(join(tmpdir(), "creditgate-serve-"));
      const dbPath = join(dir, "data", "db.sqlite");
      const key = randomBytes(32).toString("hex");
      const { url } = await serve({
        CREDITGATE_DB: dbPath,
        CREDITGATE_API_KEY: key,
        HOST: "127.0.0.1",
        PORT: "0",
        CREDITGATE_LOG_LEVEL: "warn",
      });
      // The data dir and the file serve created are private.
      expect(statSync(join(dir, "data")).mode & 0o777).toBe(0o700);
      expect(statSync(dbPath).mode & 0o777).toBe(0o600);
      const auth = { authorization: `Bearer ${key}` };
      const grant = (idem: string) =>
        fetch(`${url}/v1/users/telegram:3/grants`, {
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: JSON.stringify({ credits: "1", reason: "lock test", idempotencyKey: idem }),
        });
      expect((await grant("before")).status).toBe(201);

      // What an operator does by hand: the sqlite3 shell in a write transaction, left open.
      const sh = spawn("sqlite3", [dbPath], { stdio: ["pipe", "pipe", "inherit"] });
      holder = sh;
      const locked = new Promise<void>((resolve) => {
        sh.stdout?.on("data", (d: Buffer) => {
          if (d.toString().includes("locked")) resolve();
        });
      });
      sh.stdin?.write(
        "BEGIN EXCLUSIVE;\nINSERT INTO health_probe (id, at_ms) VALUES (1, 9) ON CONFLICT(id) DO UPDATE SET at_ms = 9;\n.print locked\n",
      );
      await locked;
      const order: string[] = [];
      const during = grant("during").then(async (r) => {
        order.push("write");
        return { status: r.status, retryAfter: r.headers.get("retry-after"), body: await r.json() };
      });
      await new Promise((r) => setTimeout(r, 50));
      const health = await fetch(`${url}/healthz`);
      order.push("health");
      expect(health.status).toBe(200);
      const bal = await fetch(`${url}/v1/balances/telegram:3`, { headers: auth });
      order.push("read");
      expect(bal.status).toBe(200);
      expect(((await bal.json()) as { balanceMicroCredits: number }).balanceMicroCredits).toBe(1_000_000);
      const w = await during;
      expect(w.status).toBe(503);
      expect(w.retryAfter).toBe("1");
      expect(w.body).toMatchObject({ error: { code: "busy" } });
      expect(order).toEqual(["health", "read", "write"]);
      expect(sh.exitCode).toBeNull(); // still holding the lock when all three answered

      const exited = new Promise((r) => sh.once("exit", r));
      sh.stdin?.end("ROLLBACK;\n.quit\n");
      await exited;
      expect((await grant("during")).status).toBe(201);
      const after = await fetch(`${url}/v1/balances/telegram:3`, { headers: auth });
      expect(((await after.json()) as { balanceMicroCredits: number }).balanceMicroCredits).toBe(2_000_000);
    },
  );

  it("refuses a short bootstrap key with one line naming it (exit 78)", () => {
    const r = spawnSync(process.execPath, [CLI, "serve"], {
      env: { PATH: process.env.PATH ?? "", CREDITGATE_API_KEY: "short-key-123", CREDITGATE_DB: ":memory:" },
      encoding: "utf8",
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain("CREDITGATE_API_KEY");
    expect(r.stderr).toMatch(/must be at least 32 characters \(got 13\)/);
    expect(r.stderr).not.toContain("short-key-123");
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
  });
});
