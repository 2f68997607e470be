import type { FastifySerializerCompiler } from "fastify";
import { serializerCompiler } from "fastify-type-provider-zod";
import { describe, expect } from "vitest";
import { usageReportSchema } from "../../src/api/routes/usage.js";
import { createLedger } from "../../src/credits/index.js";
import { GROUP_BY, queryUsageWithHeld } from "../../src/meter/index.js";
import { parseDecimal } from "../../src/money.js";
import { runCli } from "../support/cli.js";
import { fixturePricer } from "../support/meter-env.js";
import { createEngineDb, ENGINES, testOn } from "../support/temp-db.js";
import { admin, balanceOf, NOW, pushEvent, testApp } from "./support.js";

const DAY = 86_400_000;

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("operator routes", () => {
    test("GET /v1/usage gives the same numbers as `creditgate usage`, with filters and grouping", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      const events = [
        pushEvent({
          idempotencyKey: "a",
          userId: "telegram:1",
          agentId: "bot-a",
          timestampMs: NOW - 2 * DAY,
        }),
        pushEvent({ idempotencyKey: "b", userId: "telegram:2", agentId: "bot-a", output: 1000 }),
        pushEvent({ idempotencyKey: "c", userId: "telegram:2", agentId: "bot-b", model: "mock-mini" }),
      ];
      await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });

      const byModel = await app.inject({ url: "/v1/usage?by=model", headers: admin });
      expect(byModel.statusCode).toBe(200);
      const cli = await runCli({ CREDITGATE_DB: t.path }, ["--json", "usage", "--by", "model"]);
      expect(byModel.json().rows).toEqual(JSON.parse(cli.out));

      const filtered = await app.inject({
        url: "/v1/usage?by=day&agent=bot-a&from=2026-03-09&to=2026-03-11",
        headers: admin,
      });
      expect(filtered.json()).toMatchObject({
        by: "day",
        fromMs: Date.UTC(2026, 2, 9),
        toMs: Date.UTC(2026, 2, 11),
      });
      expect(filtered.json().rows).toEqual(
        queryUsageWithHeld(t.db, {
          agent: "bot-a",
          sinceMs: Date.UTC(2026, 2, 9),
          untilMs: Date.UTC(2026, 2, 11),
          by: "day",
        }),
      );
      expect(filtered.json().rows).toHaveLength(1);
      const user = await app.inject({
        url: "/v1/usage?user=telegram:2&model=mock/mock-mini",
        headers: admin,
      });
      expect(user.json().rows).toEqual([expect.objectContaining({ key: "telegram:2", requests: 1 })]);

      for (const q of [
        "by=week",
        "from=yesterday",
        "nope=1",
        "from=200000000d",
        "to=99999999999999999999d",
      ]) {
        const bad = await app.inject({ url: `/v1/usage?${q}`, headers: admin });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().error.code).toBe("invalid_request");
      }
    });

    test("GET /v1/usage (serialized without a zod parse) answers exactly what its schema's parse gives, byte for byte", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      const app = testApp(t.db);
      onTestFinished(() => app.close());
      const events = [
        pushEvent({
          idempotencyKey: "a",
          userId: "telegram:1",
          agentId: "bot-a",
          timestampMs: NOW - 2 * DAY,
        }),
        pushEvent({ idempotencyKey: "b", userId: "telegram:2", agentId: "bot-a", output: 1000 }),
        pushEvent({ idempotencyKey: "c", userId: "telegram:2", agentId: "bot-b", model: "mock-mini" }),
        // held for review: its group appears with heldRequests (and a held-only group with zeros)
        pushEvent({ idempotencyKey: "d", userId: "telegram:3", input: 2_000_000_000 }),
        pushEvent({ idempotencyKey: "e", userId: "telegram:2", input: 2_000_000_000 }),
      ];
      const pushed = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events },
      });
      expect(pushed.json()).toMatchObject({ billed: 3, held: 2 });
      for (const by of GROUP_BY) {
        const res = await app.inject({ url: `/v1/usage?by=${by}`, headers: admin });
        expect(res.statusCode).toBe(200);
        // what the zod serializer answered before: parse (no extra keys, every type), then stringify
        const parsed = usageReportSchema.parse(JSON.parse(res.body));
        expect(res.body).toBe(JSON.stringify(parsed));
        expect(parsed.rows.length).toBeGreaterThan(0);
        if (by === "user")
          expect(parsed.rows.find((r) => r.key === "telegram:3")).toMatchObject({
            requests: 0,
            heldRequests: 1,
          });
      }
      // errors still go through the zod serializer: the error body's shape
      const bad = await app.inject({ url: "/v1/usage?by=week", headers: admin });
      expect(bad.statusCode).toBe(400);
      expect(Object.keys(bad.json().error).sort()).toEqual(["code", "message", "requestId"]);
    });

    test("GET /v1/usage answers what the zod serializer answered for the same data: a number past 2^53 - 1 is its error, not a rounded number", async ({
      onTestFinished,
    }) => {
      const t = createEngineDb(engine);
      onTestFinished(t.cleanup);
      // 10^9 credits per USD: each $3 call charges 3 * 10^15 micro-credits, so 4 calls sum past 2^53 - 1
      const app = testApp(t.db, {
        ingest: {
          pricer: fixturePricer(),
          markup: parseDecimal("1"),
          creditsPerUsd: parseDecimal("1000000000"),
        },
      });
      onTestFinished(() => app.close());
      const events = [1, 2, 3, 4].map((i) => pushEvent({ idempotencyKey: `k${i}`, userId: `telegram:${i}` }));
      const pushed = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events },
      });
      expect(pushed.json()).toMatchObject({ billed: 4 });
      // the route's previous serializer (zod: encode, then stringify) on the handler's answer
      const zodSerialize = (serializerCompiler as unknown as FastifySerializerCompiler<unknown>)({
        schema: usageReportSchema,
        method: "GET",
        url: "/v1/usage",
        httpStatus: "200",
      });
      const seen = { body: 0, error: 0 };
      // (from/to=200000000d, ~1.7e16 ms before now, used to reach the serializer too: now a 400)
      for (const [q, sinceMs, untilMs] of [
        ["", undefined, undefined],
        ["&from=2026-01-01", Date.UTC(2026, 0, 1), undefined],
      ] as const) {
        for (const by of GROUP_BY) {
          const data = {
            by,
            fromMs: sinceMs ?? null,
            toMs: untilMs ?? null,
            rows: queryUsageWithHeld(t.db, { by, sinceMs, untilMs }),
          };
          let before: string | null;
          try {
            before = zodSerialize(data) as string;
          } catch {
            before = null; // the zod serializer threw: a 500
          }
          const res = await app.inject({ url: `/v1/usage?by=${by}${q}`, headers: admin });
          if (before === null) expect({ by, q, status: res.statusCode }).toEqual({ by, q, status: 500 });
          else expect({ by, q, body: res.body }).toEqual({ by, q, body: before });
          seen[before === null ? "error" : "body"]++;
        }
      }
      // by user each sum is safe (3 * 10^15): both answers occur
      expect(seen.body).toBeGreaterThan(0);
      expect(seen.error).toBeGreaterThan(0);
    });

    test("grants carry a kind, an expiry and a priority; GET grants lists them with their totals", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const grant = (payload: Record<string, unknown>) =>
        app.inject({ method: "POST", url: "/v1/users/telegram:9/grants", headers: admin, payload });
      const body = { credits: "2.5", reason: "welcome", idempotencyKey: "welcome-9" };
      expect((await grant(body)).json()).toMatchObject({
        kind: "promotional",
        expiresAtMs: null,
        grantId: 1,
      });
      const promo = await grant({
        credits: "1",
        reason: "bonus",
        idempotencyKey: "bonus-9",
        kind: "promotional",
        expiresAt: "30d",
        priority: 5,
      });
      expect(promo.statusCode).toBe(201);
      expect(promo.json()).toMatchObject({
        kind: "promotional",
        expiresAtMs: NOW + 30 * 86_400_000,
        debtPaidMicroCredits: 0,
        balanceMicroCredits: 3_500_000,
      });
      const paid = await grant({ credits: "1", reason: "goodwill", idempotencyKey: "paid-9", kind: "paid" });
      expect(paid.json()).toMatchObject({ kind: "paid", expiresAtMs: null });
      for (const bad of [
        { ...body, idempotencyKey: "x1", kind: "free" },
        { ...body, idempotencyKey: "x2", expiresAt: "tomorrow" },
        { ...body, idempotencyKey: "x3", expiresAt: "2020-01-01" },
        { ...body, idempotencyKey: "x4", priority: 1001 },
      ]) {
        const res = await grant(bad);
        expect(res.statusCode, JSON.stringify(bad)).toBe(400);
        expect(res.json().error.code).toBe("invalid_request");
      }
      const list = await app.inject({ url: "/v1/users/telegram:9/grants", headers: admin });
      expect(list.statusCode).toBe(200);
      expect(list.json().summary).toEqual({
        paidMicroCredits: 1_000_000,
        promotionalMicroCredits: 3_500_000,
        refundCreditMicroCredits: 0,
        debtMicroCredits: 0,
        nextExpiry: {
          atMs: NOW + 30 * 86_400_000,
          microCredits: 1_000_000,
          kind: "promotional",
          grantId: promo.json().grantId,
        },
      });
      expect(list.json().grants.map((g: { kind: string; priority: number }) => [g.kind, g.priority])).toEqual(
        [
          ["paid", 30],
          ["promotional", 5],
          ["promotional", 10],
        ],
      );
      // An overdrawn user: a grant pays the debt first, and says so.
      createLedger(db).post({
        accountId: "telegram:8",
        kind: "usage",
        amountMicroCredits: -400_000n,
        idempotencyKey: "usage:x",
        nowMs: NOW,
      });
      const owed = await app.inject({
        method: "POST",
        url: "/v1/users/telegram:8/grants",
        headers: admin,
        payload: { ...body, idempotencyKey: "welcome-8" },
      });
      expect(owed.json()).toMatchObject({ debtPaidMicroCredits: 400_000, balanceMicroCredits: 2_100_000 });
      expect(
        (await app.inject({ url: "/v1/users/telegram:8/grants?limit=0", headers: admin })).statusCode,
      ).toBe(400);
    });

    test("a replayed grant key names the grant it made; another kind, priority or expiry is a 409", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const grant = (payload: Record<string, unknown>) =>
        app.inject({ method: "POST", url: "/v1/users/telegram:7/grants", headers: admin, payload });
      const promo = {
        credits: "2.5",
        reason: "welcome",
        idempotencyKey: "promo-7",
        expiresAt: "30d",
        priority: 5,
      };
      const made = (await grant(promo)).json();
      const replay = await grant({ ...promo, expiresAt: "31d" });
      expect(replay.statusCode).toBe(200);
      expect(replay.json()).toMatchObject({
        status: "duplicate",
        grantId: made.grantId,
        kind: "promotional",
        expiresAtMs: made.expiresAtMs,
      });
      for (const other of [
        { ...promo, kind: "paid" },
        { ...promo, priority: 6 },
        { ...promo, expiresAt: undefined },
      ]) {
        const res = await grant(other);
        expect(res.statusCode, JSON.stringify(other)).toBe(409);
        expect(res.json().error.message).toMatch(/different grant/);
      }
      expect(balanceOf(db, "telegram:7")).toBe(2_500_000);
    });

    test("grants are idempotent per key and show up in the ledger and balances", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const grant = (payload: Record<string, unknown>) =>
        app.inject({ method: "POST", url: "/v1/users/telegram:9/grants", headers: admin, payload });
      const body = { credits: "2.5", reason: "welcome", idempotencyKey: "welcome-9" };
      const first = await grant(body);
      expect(first.statusCode).toBe(201);
      expect(first.json()).toMatchObject({
        status: "applied",
        balanceMicroCredits: 2_500_000,
        balanceCredits: "2.50",
      });
      const second = await grant(body);
      expect(second.statusCode).toBe(200);
      expect(second.json().status).toBe("duplicate");
      expect(balanceOf(db, "telegram:9")).toBe(2_500_000);
      expect((await grant({ ...body, credits: "3" })).statusCode).toBe(409);
      for (const bad of [
        { ...body, credits: "-1" },
        { ...body, credits: "abc" },
        { credits: "1" },
        { ...body, reason: " " },
      ]) {
        const res = await grant(bad);
        expect(res.statusCode).toBe(400);
        expect(res.json().error.code).toBe("invalid_request");
      }

      const ledger = await app.inject({ url: "/v1/users/telegram:9/ledger?limit=10", headers: admin });
      expect(ledger.json().entries).toEqual([
        expect.objectContaining({
          kind: "grant",
          amountMicroCredits: 2_500_000,
          idempotencyKey: "grant:welcome-9",
        }),
      ]);
      expect(
        (await app.inject({ url: "/v1/users/telegram:9/ledger?limit=0", headers: admin })).statusCode,
      ).toBe(400);

      await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [pushEvent({ userId: "telegram:8" })] },
      });
      const all = await app.inject({ url: "/v1/balances", headers: admin });
      expect(all.json().balances.map((b: { userId: string }) => b.userId)).toEqual([
        "telegram:8",
        "telegram:9",
      ]);
      const over = await app.inject({ url: "/v1/balances?overdrawn=true", headers: admin });
      expect(over.json().balances).toEqual([
        expect.objectContaining({ userId: "telegram:8", overdrawn: true }),
      ]);
      const page = await app.inject({ url: "/v1/balances?limit=1", headers: admin });
      expect(page.json().next).toBe("telegram:8");
      const page2 = await app.inject({ url: "/v1/balances?limit=1&after=telegram:8", headers: admin });
      expect(page2.json().balances[0].userId).toBe("telegram:9");
      const one = await app.inject({ url: "/v1/balances/telegram:9", headers: admin });
      expect(one.json()).toMatchObject({ balanceMicroCredits: 2_500_000 });
    });

    test("status, limits, notices, alerts, packs and top-ups answer through the same auth", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const gets = [
        "/v1/users/telegram:1/status",
        "/v1/users/telegram:1/consumo",
        "/v1/users/telegram:1/limits",
        "/v1/users/telegram:1/usage",
        "/v1/agents/main/usage",
        "/v1/agents/main/burn",
        "/v1/reports",
        "/v1/budgets",
        "/v1/limits/defaults",
        "/v1/notices",
        "/v1/alerts",
        "/v1/packs",
      ];
      for (const url of gets) {
        expect((await app.inject({ url })).statusCode, url).toBe(401);
        expect((await app.inject({ url, headers: admin })).statusCode, url).toBe(200);
      }
      expect((await app.inject({ url: "/v1/topups/nope", headers: admin })).statusCode).toBe(404);
      const put = await app.inject({
        method: "PUT",
        url: "/v1/users/telegram:1/limits",
        headers: admin,
        payload: { caps: [{ period: "nope" }] },
      });
      expect(put.statusCode).toBe(400);
      expect(put.json().error.code).toBe("invalid_request");
    });

    test("errors are JSON everywhere: 404, malformed JSON, body too large", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const nf = await app.inject({ url: "/nope" });
      expect(nf.statusCode).toBe(404);
      expect(nf.json().error).toMatchObject({ code: "not_found", message: "no route GET /nope" });
      const malformed = await app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: { ...admin, "content-type": "application/json" },
        payload: "{nope",
      });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().error.code).toBe("invalid_request");
      const big = await app.inject({
        method: "POST",
        url: "/v1/keys",
        headers: { ...admin, "content-type": "application/json" },
        payload: JSON.stringify({ scope: "read", name: "x".repeat(70_000) }),
      });
      expect(big.statusCode).toBe(413);
      expect(big.json().error.message).toBe("request body is too large");
      expect(nf.headers["x-content-type-options"]).toBe("nosniff");
      expect(nf.headers["content-security-policy"]).toContain("default-src 'none'");
    });

    test("/docs serves OpenAPI 3.1 documenting every /v1 route with its scope", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const res = await app.inject({ url: "/docs/openapi.json" });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc.openapi).toBe("3.1.0");
      const ops = Object.entries(
        doc.paths as Record<string, Record<string, { tags: string[]; description: string }>>,
      ).flatMap(([path, byMethod]) =>
        Object.entries(byMethod).map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, op })),
      );
      expect(ops.map((o) => o.key.replace(/\{(\w+)\}/g, ":$1")).sort()).toEqual([...V1_ROUTES].sort());
      expect(
        ops.filter((o) => !o.op.description.includes("Requires an API key with scope")).map((o) => o.key),
      ).toEqual([]);
      expect(ops.filter((o) => o.op.tags[0] === "other").map((o) => o.key)).toEqual([]);
      const usage = doc.paths["/v1/usage"];
      expect(usage.get.parameters.map((p: { name: string }) => p.name)).toEqual([
        "user",
        "agent",
        "model",
        "from",
        "to",
        "by",
      ]);
      expect(usage.post.description).toContain("scope `push`, `ingest` or `admin`");
      expect(
        doc.paths["/v1/users/{id}/grants"].post.requestBody.content["application/json"].schema.required,
      ).toEqual(["credits", "reason", "idempotencyKey"]);
      const html = await app.inject({ url: "/docs" });
      expect(html.headers["content-type"]).toContain("text/html");
      expect(html.body).toContain("/v1/users/{id}/grants");
    });

    test("every /v1 operation documents its success answer with a non-empty schema", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const doc = (await app.inject({ url: "/docs/openapi.json" })).json();
      type Response = { content?: Record<string, { schema?: Record<string, unknown> }> };
      const missing: string[] = [];
      for (const [path, byMethod] of Object.entries(
        doc.paths as Record<string, Record<string, { responses: Record<string, Response> }>>,
      )) {
        for (const [method, op] of Object.entries(byMethod)) {
          const key = `${method.toUpperCase()} ${path}`;
          const ok = Object.entries(op.responses).filter(([code]) => /^2/.test(code));
          if (ok.length === 0) missing.push(`${key}: no 2xx response`);
          for (const [code, r] of ok) {
            // 204 No Content has no body to describe.
            if (code === "204") continue;
            const schema = r.content?.["application/json"]?.schema;
            if (!schema || Object.keys(schema).length === 0) missing.push(`${key} ${code}: empty schema`);
            else if (schema.type !== "object" && schema.type !== "array" && !("anyOf" in schema)) {
              missing.push(`${key} ${code}: schema is ${JSON.stringify(schema)}`);
            }
          }
        }
      }
      expect(missing).toEqual([]);
    });
  });

  /** Every operator route: the generated document must list each one (and nothing else). */
  const V1_ROUTES = [
    "DELETE /v1/keys/:id",
    "DELETE /v1/users/:id/autotopup",
    "DELETE /v1/users/:id/limits",
    "GET /v1/agents/:agentId/burn",
    "GET /v1/agents/:agentId/usage",
    "GET /v1/alerts",
    "GET /v1/balances",
    "GET /v1/balances/:userId",
    "GET /v1/keys",
    "GET /v1/limits/defaults",
    "GET /v1/notices",
    "GET /v1/packs",
    "GET /v1/reports",
    "GET /v1/budgets",
    "PUT /v1/budgets",
    "DELETE /v1/budgets",
    "GET /v1/topups/:id",
    "GET /v1/usage",
    "GET /v1/users/:id/autotopup",
    "GET /v1/users/:id/consumo",
    "GET /v1/users/:id/grants",
    "GET /v1/users/:id/ledger",
    "GET /v1/users/:id/limits",
    "GET /v1/users/:id/status",
    "GET /v1/users/:id/usage",
    "GET /v1/users/:id/calls",
    "DELETE /v1/users/:id/previews",
    "POST /v1/keys",
    "POST /v1/notices/:id/ack",
    "POST /v1/topups",
    "POST /v1/usage",
    "POST /v1/users/:id/block",
    "POST /v1/users/:id/grants",
    "POST /v1/users/:id/unblock",
    "PUT /v1/limits/defaults",
    "PUT /v1/users/:id/autotopup",
    "PUT /v1/users/:id/limits",
    "GET /v1/providers",
    "GET /v1/providers/alerts",
    "GET /v1/providers/:provider",
    "GET /v1/providers/:provider/history",
    "PUT /v1/providers/:provider/alerts",
    // The operator console's aggregates and actions (src/api/routes/console-data.ts).
    "GET /v1/overview",
    "GET /v1/users",
    "GET /v1/users/:id/activity",
    "GET /v1/agents",
    "GET /v1/payments",
    "POST /v1/payments/reconcile",
    "POST /v1/alerts/:alertId/retry",
    "GET /v1/review",
    "POST /v1/review/:reviewId/release",
    "POST /v1/review/:reviewId/void",
  ] as const;
});
