/**
 * The edge outbox and shipper in-process, against a real center app listening on 127.0.0.1 over
 * its own SQLite file: the outbox and the cursor commit together, a full outbox pauses (nothing
 * written), a refused key keeps every row, and the push API's rules for edge events.
 */
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
  createOutbox,
  createShipper,
  outboxStallLog,
  parseShipTo,
  pushEventOf,
} from "../../src/edge/index.js";
import { dedupeKey, SinkPaused, type SourceBatch, type UsageEvent } from "../../src/meter/index.js";
import { parseDecimal } from "../../src/money.js";
import { admin, balanceOf, NOW, testApp } from "../api/support.js";
import { fixturePricer } from "../support/meter-env.js";
import { createTempDb } from "../support/temp-db.js";
import { freePort } from "./support.js";

function call(i: number, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    provider: "mock",
    model: "mock-gpt",
    api: null,
    messageTsMs: NOW - 3_600_000 + i,
    responseId: null,
    input: 1_000_000,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 1_000_000,
    reasoningTokens: null,
    stopReason: "stop",
    isError: false,
    errorMessage: null,
    recordedCostUsd: null,
    agentId: "main",
    sessionId: "s1",
    sessionKey: "agent:main:telegram:direct:42",
    accountId: "telegram:42",
    source: "jsonl",
    sourceRef: `/x.jsonl@${i}`,
    ...over,
  };
}

const batch = (events: UsageEvent[], offset: number): SourceBatch => ({
  events,
  rejects: [],
  sessions: [],
  stats: {},
  cursorMoves: {
    files: [{ dev: "1", ino: "2", path: "/x.jsonl", head: "h", tail: null, offset, size: offset }],
  },
});

async function center() {
  const c = createTempDb();
  const app = testApp(c.db);
  await app.listen({ host: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    db: c.db,
    url,
    async close() {
      await app.close();
      c.cleanup();
    },
  };
}

describe("edge outbox and shipper", () => {
  it("a catch-up that fills the outbox once per read batch logs FULL once and 'reading resumed' once; a later stall logs both again", () => {
    const edge = createTempDb();
    try {
      const lines: string[] = [];
      const stall = outboxStallLog((level, msg) => {
        if (level !== "debug") lines.push(msg);
      }, 4);
      const outbox = createOutbox(edge.db, {
        edgeId: "host-1",
        maxRows: 4,
        onFullChange: (full, rows) => stall.fullChange(full, rows),
      });
      let n = 0;
      let offset = 0;
      const calls = (k: number) => Array.from({ length: k }, () => call(++n));
      const drain = () => outbox.settle(outbox.pending(100).map((r) => r.id));
      /** One meter poll: batches of `sizes` until one is refused; returns whether it paused. */
      const poll = (...sizes: number[]) => {
        let paused = false;
        for (const k of sizes) {
          try {
            offset += 100;
            outbox.record(batch(calls(k), offset));
          } catch (err) {
            if (!(err instanceof SinkPaused)) throw err;
            n -= k; // not kept: read again next poll
            offset -= 100;
            paused = true;
            break;
          }
        }
        stall.pollDone(paused);
      };
      const FULL = "edge outbox FULL: reading paused until the center takes some (nothing is dropped)";
      const RESUMED = "edge outbox has room again: reading resumed";
      poll(3, 3); // the center is down: the second batch does not fit
      poll(3);
      expect(lines).toEqual([FULL]);
      // The center is back: each poll takes one batch after the drain and is refused the next one.
      for (let i = 0; i < 5; i++) {
        drain();
        poll(3, 3);
      }
      expect(lines).toEqual([FULL, RESUMED]);
      drain();
      poll(3); // caught up: a poll without a pause ends the stall
      expect(lines).toEqual([FULL, RESUMED]);
      poll(3); // a new stall
      drain();
      poll(1);
      expect(lines).toEqual([FULL, RESUMED, FULL, RESUMED]);
    } finally {
      edge.cleanup();
    }
  });

  it("outbox rows and the cursor commit together; a full outbox pauses without writing; a refused key keeps every row; the right key drains it once", async () => {
    const edge = createTempDb();
    const c = await center();
    try {
      const full: boolean[] = [];
      const outbox = createOutbox(edge.db, {
        edgeId: "host-1",
        maxRows: 4,
        onFullChange: (f) => full.push(f),
      });
      const cursor = () =>
        (
          edge.db.prepare("SELECT offset_bytes AS o FROM meter_file_cursors").get() as
            | { o: number }
            | undefined
        )?.o;
      expect(outbox.record(batch([call(1), call(2)], 100))).toEqual({
        recorded: 2,
        duplicates: 0,
        cursorsKept: 0,
      });
      expect(cursor()).toBe(100);
      // A re-read call is not queued twice.
      expect(outbox.record(batch([call(2), call(3)], 200))).toEqual({
        recorded: 1,
        duplicates: 1,
        cursorsKept: 0,
      });
      // Full (3 rows + a batch of 2 > 4): the batch is refused whole, its cursor does not move.
      expect(() => outbox.record(batch([call(4), call(5)], 300))).toThrow(SinkPaused);
      expect(cursor()).toBe(200);
      expect(outbox.count()).toBe(3);
      expect(full).toEqual([true]);

      const refused = createShipper({
        outbox,
        urls: [c.url],
        key: "cg_nope",
        batchSize: 2,
        backoffMs: 1,
        backoffMaxMs: 5,
      });
      expect(await refused.run(new AbortController().signal, { untilEmpty: true, maxFailures: 3 })).toBe(
        false,
      );
      expect(refused.stats.lastError).toContain("refused the key");
      expect(outbox.count()).toBe(3);
      expect(outbox.pending(1)[0]?.attempts).toBe(3);

      const shipper = createShipper({
        outbox,
        urls: [c.url],
        key: admin.authorization.slice("Bearer ".length),
        batchSize: 2,
        backoffMs: 1,
        backoffMaxMs: 5,
      });
      expect(await shipper.run(new AbortController().signal, { untilEmpty: true })).toBe(true);
      expect(shipper.stats).toMatchObject({ billed: 3, duplicates: 0, deadLettered: 0, requests: 2 });
      expect(balanceOf(c.db, "telegram:42")).toBe(-9_000_000); // 3 × 1M input × $3/MTok, priced at the center
      expect(outbox.record(batch([call(4)], 300))).toEqual({ recorded: 1, duplicates: 0, cursorsKept: 0 });
      expect(full).toEqual([true, false]);
    } finally {
      await c.close();
      edge.cleanup();
    }
  });

  it("several centers (--ship-to A,B): a center that fails is skipped at once, without a backoff wait, and the shipper stays on the one that answers", async () => {
    const edge = createTempDb();
    const c = await center();
    try {
      const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens there
      const outbox = createOutbox(edge.db, { edgeId: "host-1", maxRows: 100 });
      outbox.record(batch([call(1), call(2), call(3)], 100));
      const logs: Record<string, unknown>[] = [];
      const shipper = createShipper({
        outbox,
        urls: parseShipTo(`${dead}/, ${c.url}`),
        key: admin.authorization.slice("Bearer ".length),
        batchSize: 1,
        backoffMs: 600_000, // a backoff wait would time the test out: failover must not wait
        backoffMaxMs: 600_000,
        log: (_l, msg, f) => logs.push({ msg, ...f }),
      });
      expect(shipper.center()).toBe(dead);
      expect(await shipper.run(new AbortController().signal, { untilEmpty: true })).toBe(true);
      // One failed request at the dead center, then every batch at the live one (it stays there).
      expect(shipper.stats).toMatchObject({ billed: 3, failures: 1, requests: 4 });
      expect(shipper.center()).toBe(c.url);
      expect(logs[0]).toMatchObject({ center: dead, next: c.url });
      expect(balanceOf(c.db, "telegram:42")).toBe(-9_000_000);
      // Both down: every center tried once per round, then the backoff (here: give up after 2 rounds).
      outbox.record(batch([call(4)], 200));
      const both = createShipper({
        outbox,
        urls: [dead, `http://127.0.0.1:${await freePort()}`],
        key: "k",
        batchSize: 5,
        backoffMs: 1,
        backoffMaxMs: 2,
      });
      expect(await both.run(new AbortController().signal, { untilEmpty: true, maxFailures: 2 })).toBe(false);
      expect(both.stats.failures).toBe(4);
      expect(outbox.count()).toBe(1);
    } finally {
      await c.close();
      edge.cleanup();
    }
  });

  it("--ship-to / CREDITGATE_SHIP_TO: one URL or several, comma-separated; a bad entry is named", () => {
    expect(parseShipTo("https://a.example.com/")).toEqual(["https://a.example.com"]);
    expect(parseShipTo("http://10.0.0.1:8080, http://10.0.0.2:8080/")).toEqual([
      "http://10.0.0.1:8080",
      "http://10.0.0.2:8080",
    ]);
    expect(() => parseShipTo("https://a.example.com,")).toThrow(/entry 2/);
    expect(() => parseShipTo("https://a.example.com,ftp://b")).toThrow(/entry 2 must be an http/);
    expect(() => parseShipTo("https://a.example.com,https://a.example.com/")).toThrow(/repeats/);
    expect(() => parseShipTo(" ")).toThrow(/at least one/);
  });

  it("the push API: an edge event must carry the call's identity, is not bound to the 30-day window, and a re-attributed repeat is a duplicate", async () => {
    const c = await center();
    try {
      const post = async (events: unknown[]) =>
        (await (
          await fetch(`${c.url}/v1/usage`, {
            method: "POST",
            headers: { ...admin, "content-type": "application/json" },
            body: JSON.stringify({ events }),
          })
        ).json()) as { results: { status: string; reason?: string }[] };
      const old = call(0, { messageTsMs: NOW - 90 * 86_400_000 });
      const ev = pushEventOf(old, "host-1");
      expect(ev.idempotencyKey).toBe(dedupeKey(old));
      const { edgeId: _e, sessionId: _s, ...plain } = ev;
      const r = await post([ev, { ...ev, idempotencyKey: "my-key" }, { ...plain, idempotencyKey: "other" }]);
      expect(r.results.map((x) => x.status)).toEqual(["billed", "rejected", "rejected"]);
      expect(r.results[1]?.reason).toContain("identity");
      expect(r.results[2]?.reason).toContain("push window");
      const again = await post([{ ...ev, userId: "telegram:7", sessionKey: null }]);
      expect(again.results[0]?.status).toBe("duplicate");
      expect(balanceOf(c.db, "telegram:7")).toBe(0);
      const row = c.db.prepare("SELECT source_ref AS r, session_id AS s FROM usage_events").get() as {
        r: string;
        s: string;
      };
      expect(row.r.startsWith("edge:host-1:")).toBe(true);
      expect(row.s).toBe("s1");
    } finally {
      await c.close();
    }
  });

  it("an edge sends the transcript's recorded cost as exact integer pico-USD, never a float; the center bills it, and an older edge's float costUsd alike", async () => {
    const c = createTempDb();
    const app = testApp(c.db, {
      ingest: { pricer: fixturePricer("auto"), markup: parseDecimal("1"), creditsPerUsd: parseDecimal("1") },
    });
    try {
      const billed = { recordedCostOrigin: "provider-billed" as const };
      const ev = pushEventOf(call(1, { recordedCostUsd: 0.0290000001, ...billed }), "host-1");
      expect(ev.recordedCostPicoUsd).toBe("29000000100");
      expect(ev.costOrigin).toBe("provider-billed");
      expect(ev).not.toHaveProperty("costUsd");
      expect(JSON.stringify(ev)).toContain('"recordedCostPicoUsd":"29000000100"');
      // No recorded cost: no field for it (an older center takes such an event).
      expect(pushEventOf(call(2), "host-1")).not.toHaveProperty("recordedCostPicoUsd");
      // What an edge before recordedCostPicoUsd sent (and may still hold in its outbox).
      const { recordedCostPicoUsd: _p, ...older } = pushEventOf(
        call(3, { recordedCostUsd: 0.029, ...billed }),
        "old",
      );
      const res = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [ev, { ...older, costUsd: 0.029 }] },
      });
      expect(res.json()).toMatchObject({ billed: 2 });
      expect(
        c.db.prepare("SELECT cost_pico_usd AS cost, price_source AS src FROM usage_events ORDER BY id").all(),
      ).toEqual([
        { cost: 29_000_000_100, src: "provider-billed" },
        { cost: 29_000_000_000, src: "provider-billed" },
      ]);
    } finally {
      await app.close();
      c.cleanup();
    }
  });
});
