import { describe, expect } from "vitest";
import { ENGINES, testOn } from "../support/temp-db.js";
import { admin, pushEvent, testApp } from "./support.js";

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("health, readiness and metrics", () => {
    test("/healthz is up; /readyz checks the DB and Redis and reports meter lag", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db, {
        probes: {
          redisPing: async () => {},
          queueCounts: async () => ({ checks: { waiting: 4, active: 1 } }),
        },
      });
      onTestFinished(() => app.close());
      expect((await app.inject({ url: "/healthz" })).json()).toMatchObject({ ok: true });
      const ready = await app.inject({ url: "/readyz" });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toMatchObject({ ok: true, checks: { db: { ok: true }, redis: { ok: true } } });
      expect(ready.json().meter).toEqual({ lastCursorMoveMs: null, lagMs: null });

      const down = testApp(db, {
        probes: {
          redisPing: async () => {
            throw new Error("connect ECONNREFUSED");
          },
        },
      });
      onTestFinished(() => down.close());
      const notReady = await down.inject({ url: "/readyz" });
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json().checks.redis).toEqual({ ok: false, detail: "connect ECONNREFUSED" });
    });

    test("/metrics exposes events billed, lag, webhook outcomes, queue depths and push results", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db, { probes: { queueCounts: async () => ({ checks: { waiting: 4 } }) } });
      onTestFinished(() => app.close());
      await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [pushEvent(), pushEvent(), { bad: true }] },
      });
      const res = await app.inject({ url: "/metrics" });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toContain("text/plain");
      const text = res.body;
      expect(text).toContain('creditgate_usage_events{source="push"} 1');
      expect(text).toContain('creditgate_push_events_total{status="billed"} 1');
      expect(text).toContain('creditgate_push_events_total{status="duplicate"} 1');
      expect(text).toContain('creditgate_push_events_total{status="rejected"} 1');
      expect(text).toContain('creditgate_queue_depth{queue="checks",state="waiting"} 4');
      expect(text).toContain('creditgate_queue_depth{queue="limit_outbox",state="pending"} 1');
      expect(text).toMatch(/creditgate_meter_last_progress_age_seconds\{source="push"\} \d/);
      expect(text).toContain("# TYPE creditgate_webhook_events gauge");
      expect(text).toContain(
        'creditgate_http_request_duration_seconds_count{method="POST",route="/v1/usage",status="200"} 1',
      );
    });
  });

  describe("structured logs", () => {
    test("request logs carry no API key, Authorization header or pushed event content", async ({
      db,
      onTestFinished,
    }) => {
      const lines: string[] = [];
      const stream = { write: (l: string) => lines.push(l) };
      const app = testApp(db, { logger: { level: "debug", stream } });
      onTestFinished(() => app.close());
      await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [pushEvent({ errorMessage: "secret-provider-text" })] },
      });
      await app.inject({ url: "/v1/packs", headers: { authorization: "Bearer wrong-key-abcdef-123456" } });
      const text = lines.join("");
      expect(lines.length).toBeGreaterThan(0);
      expect(text).not.toContain(admin.authorization.slice(7));
      expect(text).not.toContain("wrong-key-abcdef");
      expect(text).not.toContain("secret-provider-text");
      expect(JSON.parse(lines[0] ?? "{}")).toHaveProperty("reqId");
    });
  });
});
