import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const CLI = resolve(import.meta.dirname, "../dist/cli/main.js");
let child: ChildProcess | undefined;
let dir: string | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
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
    const key = "serve-test-key-0123456789";
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
