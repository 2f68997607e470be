import { describe, expect } from "vitest";
import { createClient } from "../../src/client/index.js";
import { test } from "../support/temp-db.js";
import { admin, balanceOf, NOW, testApp } from "./support.js";

const event = (i: number) => ({
  idempotencyKey: `cl-${i}`,
  agentId: "bot-x",
  userId: "telegram:5",
  provider: "mock",
  model: "mock-gpt",
  input: 1000,
  output: 0,
  // the test app's clock is NOW: pushed events must fall in its time window
  timestampMs: NOW - 1000,
});

describe("creditgate/client", () => {
  test("track never blocks; close flushes everything, billed once", async ({ db, onTestFinished }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
    const client = createClient({
      baseUrl,
      apiKey: admin.authorization.slice(7),
      flushIntervalMs: 60_000,
      flushAt: 1000,
    });
    for (let i = 0; i < 250; i++) client.track(event(i));
    client.track(event(0)); // a resend of the same call
    expect(client.stats().buffered).toBe(251);
    await client.close();
    expect(client.stats()).toEqual({ accepted: 251, rejected: 0, dropped: 0, failed: 0, buffered: 0 });
    expect(balanceOf(db, "telegram:5")).toBe(-250 * 3000);
    client.track(event(999)); // after close: dropped, not thrown
    expect(client.stats().dropped).toBe(1);
  });

  test("survives server errors: retries with backoff, reports rejects, never throws", async ({
    db,
    onTestFinished,
  }) => {
    const app = testApp(db);
    let failures = 2;
    app.addHook("onRequest", async (request, reply) => {
      if (request.url === "/v1/usage" && failures-- > 0)
        return reply.code(503).send({ error: { code: "x", message: "down" } });
    });
    onTestFinished(() => app.close());
    const baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
    const errors: string[] = [];
    const client = createClient({
      baseUrl,
      apiKey: admin.authorization.slice(7),
      backoffMs: 10,
      flushAt: 3,
      onError: (e) => errors.push(e.message),
    });
    client.track(event(1));
    client.track({ ...event(2), input: -1 });
    client.track(event(3)); // reaches flushAt: sends in the background
    await client.close();
    expect(client.stats()).toMatchObject({ accepted: 2, rejected: 1, failed: 0 });
    expect(errors).toEqual([expect.stringContaining("rejected event cl-2")]);
    expect(balanceOf(db, "telegram:5")).toBe(-2 * 3000);
  });

  test("unreachable server and a full buffer: oldest dropped and counted, close still resolves", async () => {
    const errors: Error[] = [];
    const client = createClient({
      baseUrl: "http://127.0.0.1:9",
      apiKey: "k",
      maxBuffer: 5,
      flushAt: 1000,
      maxRetries: 1,
      backoffMs: 1,
      onError: (e) => errors.push(e),
    });
    for (let i = 0; i < 8; i++) client.track(event(i));
    expect(client.stats()).toMatchObject({ dropped: 3, buffered: 5 });
    await client.close();
    expect(client.stats()).toMatchObject({ failed: 5, buffered: 0 });
    expect(errors).toHaveLength(1);
  });

  test("a non-retryable answer (401) is not retried", async ({ db, onTestFinished }) => {
    const app = testApp(db);
    onTestFinished(() => app.close());
    const baseUrl = await app.listen({ host: "127.0.0.1", port: 0 });
    let calls = 0;
    const client = createClient({
      baseUrl,
      apiKey: "wrong-key-0123456789",
      backoffMs: 1,
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
    });
    client.track(event(1));
    await client.close();
    expect(calls).toBe(1);
    expect(client.stats().failed).toBe(1);
  });
});
