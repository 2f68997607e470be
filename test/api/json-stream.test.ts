import type { FastifySerializerCompiler } from "fastify";
import { serializerCompiler } from "fastify-type-provider-zod";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { jsonChunks, STREAM_CHUNK_ROWS } from "../../src/api/routes/shared.js";
import { plainUsageRow, usageReportSchema } from "../../src/api/routes/usage.js";
import { queryUsageWithHeld, type UsageRowWithHeld, usageRowWithHeldSchema } from "../../src/meter/index.js";
import { rng } from "../support/rng.js";
import { createEngineDb } from "../support/temp-db.js";
import { admin, pushEvent, testApp } from "./support.js";

// GET /v1/usage streams a plain answer by chunks of rows (shared.ts, jsonChunks): the text must be
// byte for byte JSON.stringify of the body, whatever its rows hold and however they are chunked.

const join = (xs: Iterable<string> | null) => (xs === null ? null : [...xs].join(""));

describe("jsonChunks", () => {
  it("joins to JSON.stringify of the body for random rows and every chunk size", () => {
    const r = rng(20261202);
    const strings = [
      "",
      "plain",
      'quo"te',
      "back\\slash",
      "new\nline",
      "tab\t",
      "\u0000\u001f",
      "ñandú €",
      "😀",
      "\ud800",
    ];
    const value = (depth: number): unknown => {
      switch (r.int(depth > 1 ? 6 : 8)) {
        case 0:
          return r.int(2 ** 31) - 2 ** 30;
        case 1:
          return r.next() * 1e6;
        case 2:
          return r.pick(strings) + String(r.int(100));
        case 3:
          return r.int(2) === 0;
        case 4:
          return null;
        case 5:
          return undefined;
        case 6:
          return Array.from({ length: r.int(4) }, () => value(depth + 1));
        default:
          return Object.fromEntries(Array.from({ length: r.int(4) }, (_, i) => [`k${i}`, value(depth + 1)]));
      }
    };
    for (let t = 0; t < 300; t++) {
      const n = r.pick([0, 1, 2, 3, 7, 50, 1001]);
      const rows = Array.from({ length: n }, () =>
        r.int(10) === 0 ? value(0) : { key: r.pick(strings), requests: r.int(1000), nested: value(1) },
      );
      const body = { by: r.pick(["user", "day"]), fromMs: r.int(2) ? null : r.int(1e12), toMs: null, rows };
      for (const size of [1, 2, 3, 5, 1000, STREAM_CHUNK_ROWS]) {
        expect(join(jsonChunks(body, "rows", size))).toBe(JSON.stringify(body));
      }
    }
  });

  it("is null when the array is not the body's last key, not an array, or the body not an object", () => {
    expect(jsonChunks({ rows: [1], by: "user" }, "rows")).toBeNull();
    expect(jsonChunks({ by: "user", rows: "x" }, "rows")).toBeNull();
    expect(jsonChunks({ by: "user" }, "rows")).toBeNull();
    expect(jsonChunks([1, 2], "rows")).toBeNull();
    expect(jsonChunks(null, "rows")).toBeNull();
    expect(join(jsonChunks({ by: "user", rows: [] }, "rows"))).toBe('{"by":"user","rows":[]}');
  });
});

describe("GET /v1/usage streamed", () => {
  it("an answer of more than one chunk is chunked, without Content-Length, and is what the zod serializer wrote", async ({
    onTestFinished,
  }) => {
    const t = createEngineDb("sqlite");
    onTestFinished(t.cleanup);
    const app = testApp(t.db);
    onTestFinished(() => app.close());
    const users = STREAM_CHUNK_ROWS * 2 + 17;
    for (let from = 0; from < users; from += 1000) {
      const events = Array.from({ length: Math.min(1000, users - from) }, (_, i) =>
        pushEvent({ idempotencyKey: `k${from + i}`, userId: `telegram:${from + i}`, input: 1000 + from + i }),
      );
      const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
      expect(res.json()).toMatchObject({ billed: events.length });
    }
    const res = await app.inject({ url: "/v1/usage?by=user", headers: admin });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(res.headers["content-length"]).toBeUndefined();
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    const zodSerialize = (serializerCompiler as unknown as FastifySerializerCompiler<unknown>)({
      schema: usageReportSchema,
      method: "GET",
      url: "/v1/usage",
      httpStatus: "200",
    });
    const data = { by: "user", fromMs: null, toMs: null, rows: queryUsageWithHeld(t.db, { by: "user" }) };
    expect(data.rows).toHaveLength(users);
    expect(res.body).toBe(zodSerialize(data));
    // a small answer is streamed too (one chunk), and HEAD answers no body
    const one = await app.inject({ url: "/v1/usage?by=user&user=telegram:5", headers: admin });
    expect(one.json().rows).toHaveLength(1);
    // HEAD answers no body, but the length GET's body has (fastify sends none for a stream)
    const head = await app.inject({ method: "HEAD", url: "/v1/usage?by=user", headers: admin });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe("");
    expect(head.headers["content-length"]).toBe(String(res.rawPayload.length));
    expect(head.headers["transfer-encoding"]).toBeUndefined();
  });
});

describe("plainUsageRow", () => {
  it("refuses a bad value in every field of the row schema, and accepts a good row", () => {
    const good: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(usageRowWithHeldSchema.shape))
      good[k] = s instanceof z.ZodNumber ? 7 : "7";
    expect(usageRowWithHeldSchema.parse(good)).toEqual(good);
    expect(plainUsageRow(good as unknown as UsageRowWithHeld)).toBe(true);
    for (const [k, s] of Object.entries(usageRowWithHeldSchema.shape)) {
      const bad = s instanceof z.ZodNumber ? [2 ** 53, 1.5, "7", undefined, null, 7n] : [7, undefined, null];
      for (const v of bad) {
        expect({
          k,
          v: String(v),
          ok: plainUsageRow({ ...good, [k]: v } as unknown as UsageRowWithHeld),
        }).toEqual({
          k,
          v: String(v),
          ok: false,
        });
      }
    }
  });
});
