import { describe, expect } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { createPushIngester, pushIdentity } from "../../src/ingest/index.js";
import { createBiller, dedupeKey, type UsageEvent } from "../../src/meter/index.js";
import { parseDecimal } from "../../src/money.js";
import { fixturePricer } from "../support/meter-env.js";
import { ENGINES, testOn } from "../support/temp-db.js";
import { admin, balanceOf, NOW, pushEvent, testApp } from "./support.js";

const U = "telegram:42";
/** The test app with the `auto` cost mode (a recorded provider-billed cost is billed as such), markup 1, 1 credit per USD. */
const autoPricedApp = (db: Parameters<typeof testApp>[0]) =>
  testApp(db, {
    ingest: { pricer: fixturePricer("auto"), markup: parseDecimal("1"), creditsPerUsd: parseDecimal("1") },
  });
const count = (db: Parameters<typeof testApp>[0], sql: string) => (db.prepare(sql).get() as { n: number }).n;

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  describe("POST /v1/usage", () => {
    test("bills a batch once: the same batch again is all duplicates", async ({ db, onTestFinished }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const events = [pushEvent(), pushEvent({ idempotencyKey: "evt-2", output: 100_000 })];
      const first = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events },
      });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ billed: 2, duplicate: 0, rejected: 0 });
      expect(first.json().results[0]).toMatchObject({
        index: 0,
        status: "billed",
        dedupeKey: pushIdentity("env", "bot-a", "evt-1"),
        chargeMicroCredits: 3_000_000,
      });
      const again = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events },
      });
      expect(again.json()).toMatchObject({ billed: 0, duplicate: 2, rejected: 0 });
      expect(balanceOf(db, U)).toBe(-(3_000_000 + 4_500_000));
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_events WHERE source = 'push'")).toBe(2);
      // one usage entry per account per request, keyed by the account's first billed event
      expect(count(db, "SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'usage'")).toBe(1);
      const row = db.prepare("SELECT dedupe_key, response_id, source FROM usage_events ORDER BY id").get();
      expect(row).toEqual({
        dedupe_key: pushIdentity("env", "bot-a", "evt-1"),
        response_id: null,
        source: "push",
      });
      expect(
        db
          .prepare("SELECT idempotency_key AS k FROM ledger_entries WHERE kind = 'usage' ORDER BY id")
          .pluck()
          .all(),
      ).toEqual([`usage-batch:${pushIdentity("env", "bot-a", "evt-1")}`]);
    });

    test("one ledger entry per account per request; per-event charges and running balances", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const users = ["telegram:1", "telegram:2", "telegram:3"];
      // 30 events over 3 accounts, interleaved, with a bad one and an in-batch repeat mixed in
      const events: unknown[] = Array.from({ length: 30 }, (_, i) =>
        pushEvent({ idempotencyKey: `k-${i}`, userId: users[i % 3], input: 1000 * (1 + (i % 5)) }),
      );
      events.splice(7, 0, pushEvent({ idempotencyKey: "bad", input: -1 }));
      events.push(pushEvent({ idempotencyKey: "k-4", userId: users[1], input: 5000 })); // same content as k-4
      events.push(pushEvent({ idempotencyKey: "k-5", userId: users[2], input: 999 })); // k-5, other content
      const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
      const body = res.json();
      expect(body).toMatchObject({ billed: 30, rejected: 1, duplicate: 1, conflict: 1 });
      expect(body.results.map((r: { status: string }) => r.status).slice(-2)).toEqual([
        "duplicate",
        "conflict",
      ]);
      expect(body.results[7]).toMatchObject({ status: "rejected", idempotencyKey: "bad" });
      const entries = db
        .prepare(
          "SELECT account_id AS a, amount_micro_credits AS amount, idempotency_key AS k FROM ledger_entries WHERE kind = 'usage' ORDER BY id",
        )
        .all() as { a: string; amount: number; k: string }[];
      expect(entries.map((e) => e.a)).toEqual(users);
      expect(entries.map((e) => e.k)).toEqual(
        [0, 1, 2].map((i) => `usage-batch:${pushIdentity("env", "bot-a", `k-${i}`)}`),
      );
      for (const u of users) {
        const mine = body.results.filter(
          (r: { status: string; index: number }) =>
            r.status === "billed" && (events[r.index] as { userId: string }).userId === u,
        ) as { chargeMicroCredits: number; balanceMicroCredits: number }[];
        expect(mine).toHaveLength(10);
        // each event's balance is the one right after it, in order
        let running = 0;
        for (const r of mine) {
          running -= r.chargeMicroCredits;
          expect(r.balanceMicroCredits).toBe(running);
        }
        expect(balanceOf(db, u)).toBe(running);
        expect(entries.find((e) => e.a === u)?.amount).toBe(running);
      }
      // every usage row points at its account's one entry
      expect(
        count(
          db,
          "SELECT COUNT(*) AS n FROM usage_events u JOIN ledger_entries l ON l.id = u.ledger_entry_id AND l.account_id = u.account_id",
        ),
      ).toBe(30);
      // the same request retried: every event answers as before or duplicate, nothing is billed
      const again = (
        await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } })
      ).json();
      expect(again).toMatchObject({ billed: 0, duplicate: 31, conflict: 1, rejected: 1 });
      expect(count(db, "SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'usage'")).toBe(3);
      expect(count(db, "SELECT COUNT(*) AS n FROM push_identities")).toBe(30);
    });

    test("an edge meter's batch: repeats are duplicates whatever the attribution; a retry bills nothing", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const edgeEvent = (i: number, userId: string) => {
        const base = {
          provider: "mock",
          model: "mock-gpt",
          timestampMs: NOW - 60_000 + i,
          input: 1000,
          output: 10,
        };
        const key = dedupeKey({
          ...base,
          messageTsMs: base.timestampMs,
          cacheRead: 0,
          cacheWrite: 0,
          responseId: null,
        } as unknown as UsageEvent);
        return pushEvent({ ...base, idempotencyKey: key, userId, edgeId: "host-1" });
      };
      const events = [
        edgeEvent(1, U),
        edgeEvent(2, "telegram:9"),
        edgeEvent(1, "telegram:9"),
        edgeEvent(3, U),
      ];
      const first = (
        await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } })
      ).json();
      expect(first.results.map((r: { status: string }) => r.status)).toEqual([
        "billed",
        "billed",
        "duplicate",
        "billed",
      ]);
      expect(count(db, "SELECT COUNT(*) AS n FROM ledger_entries WHERE kind = 'usage'")).toBe(2);
      const again = (
        await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } })
      ).json();
      expect(again).toMatchObject({ billed: 0, duplicate: 4 });
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(3);
    });

    test("an edge meter's calls without a time of their own: the same counts under two entry ids are two calls", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      // two users' replies with no readable time (identityTsMs 0), dated by the edge's reader
      const untimed = (
        entryId: string | undefined,
        userId: string,
        keyEntryId: string | null = entryId ?? null,
      ) => {
        const base = {
          provider: "mock",
          model: "mock-gpt",
          timestampMs: NOW - 60_000,
          input: 1000,
          output: 100,
        };
        const key = dedupeKey({
          ...base,
          messageTsMs: base.timestampMs,
          cacheRead: 0,
          cacheWrite: 0,
          responseId: null,
          identityTsMs: 0,
          ...(keyEntryId !== null ? { identityEntryId: keyEntryId } : {}),
        } as unknown as UsageEvent);
        return pushEvent({
          ...base,
          identityTsMs: 0,
          ...(entryId !== undefined ? { identityEntryId: entryId } : {}),
          idempotencyKey: key,
          userId,
          edgeId: "host-1",
        });
      };
      const events = [
        untimed("3f1a9c02", "telegram:alice"),
        untimed("b7e40d51", "telegram:bob"),
        untimed("3f1a9c02", "telegram:alice"), // a copy (a checkpoint, the SQLite import)
        untimed(undefined, "telegram:carol"), // no entry id: the identity without one
        untimed("c0ffee42", "telegram:dave", null), // a key not derived from its entry id
      ];
      const first = (
        await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } })
      ).json();
      expect(first.results.map((r: { status: string }) => r.status)).toEqual([
        "billed",
        "billed",
        "duplicate",
        "billed",
        "rejected",
      ]);
      const again = (
        await app.inject({
          method: "POST",
          url: "/v1/usage",
          headers: admin,
          payload: { events: events.slice(0, 4) },
        })
      ).json();
      expect(again).toMatchObject({ billed: 0, duplicate: 4 });
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(3);
      // an entry id without identityTsMs is refused on a time with a fraction of a second (on a
      // whole second it is a whole-second entry time's, since 2026-12-05)
      const { identityTsMs: _ts, ...whole } = events[0] as Record<string, unknown>;
      const timed = { ...whole, timestampMs: (whole.timestampMs as number) + 1 };
      const bad = (
        await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events: [timed] } })
      ).json();
      expect(bad.results[0]).toMatchObject({ status: "rejected" });
      expect(bad.results[0].reason).toMatch(/identityEntryId/);
    });

    test("an edge meter's call whose message.timestamp was epoch seconds: its identity keeps the number as written", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const timestampMs = NOW - 60_000;
      const written = Math.trunc(timestampMs / 1000); // the line's 10-digit message.timestamp
      const base = { provider: "mock", model: "mock-gpt", timestampMs, input: 1000, output: 100 };
      const key = dedupeKey({
        ...base,
        messageTsMs: timestampMs,
        cacheRead: 0,
        cacheWrite: 0,
        responseId: null,
        identityTsMs: written,
      } as unknown as UsageEvent);
      // the key the meter before 2026-12-04 gave the line (its number read as ms)
      expect(key).toBe(
        dedupeKey({
          ...base,
          messageTsMs: written,
          cacheRead: 0,
          cacheWrite: 0,
          responseId: null,
        } as unknown as UsageEvent),
      );
      const ev = pushEvent({ ...base, identityTsMs: written, idempotencyKey: key, edgeId: "host-1" });
      const { identityTsMs: _its, ...without } = ev as Record<string, unknown>;
      const first = (
        await app.inject({
          method: "POST",
          url: "/v1/usage",
          headers: admin,
          payload: { events: [ev, ev, without, { ...ev, identityTsMs: 1e11 }] },
        })
      ).json();
      expect(first.results.map((r: { status: string }) => r.status)).toEqual([
        "billed",
        "duplicate",
        "rejected", // its key is not the one the event's fields give
        "rejected", // 10^11 and above is not epoch seconds
      ]);
      const row = db.prepare("SELECT message_ts_ms AS t, dedupe_key AS k FROM usage_events").get() as {
        t: number;
        k: string;
      };
      expect(row).toEqual({ t: timestampMs, k: key });
    });

    test("the same batch sent concurrently is billed once", async ({ db, onTestFinished }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const events = Array.from({ length: 50 }, (_, i) =>
        pushEvent({ idempotencyKey: `c-${i}`, input: 1000 }),
      );
      const send = () =>
        app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
      const results = await Promise.all([send(), send(), send()]);
      const billed = results.map((r) => r.json().billed as number);
      expect(billed.reduce((a, b) => a + b, 0)).toBe(50);
      expect(results.map((r) => r.json().billed + r.json().duplicate)).toEqual([50, 50, 50]);
      expect(balanceOf(db, U)).toBe(-50 * 3000);
    });

    test("mixed valid and invalid events: valid billed, invalid rejected with reasons", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const events = [
        pushEvent({ idempotencyKey: "ok-1" }),
        pushEvent({ idempotencyKey: "bad-1", input: -5 }),
        { idempotencyKey: "bad-2", agentId: "bot-a" },
        pushEvent({ idempotencyKey: "bad-3", userId: "has space" }),
        pushEvent({ idempotencyKey: "bad-4", extra: "field" }),
        "not an object",
        pushEvent({ idempotencyKey: "ok-2", success: false, errorMessage: "rate limited by provider" }),
        pushEvent({ idempotencyKey: "ok-1" }),
      ];
      const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ billed: 2, duplicate: 1, rejected: 5 });
      expect(body.results.map((r: { status: string }) => r.status)).toEqual([
        "billed",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "billed",
        "duplicate",
      ]);
      expect(body.results[1]).toMatchObject({
        idempotencyKey: "bad-1",
        reason: expect.stringContaining("input"),
      });
      expect(body.results[2].reason).toContain("userId");
      expect(body.results[4].reason).toContain("extra");
      expect(body.results[5]).toMatchObject({ idempotencyKey: null, status: "rejected" });
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_events")).toBe(2);
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_events WHERE is_error = 1")).toBe(1);
      expect(balanceOf(db, U)).toBe(-6_000_000);
    });

    test("a meter dedupe key that matches the pushed content is used as-is, so the transcript meter then skips the same call", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const ev: UsageEvent = {
        provider: "mock",
        model: "mock-gpt",
        api: null,
        messageTsMs: NOW - 5000,
        responseId: "resp_abc",
        input: 2000,
        output: 300,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: 2300,
        reasoningTokens: null,
        stopReason: "stop",
        isError: false,
        errorMessage: null,
        recordedCostUsd: null,
        agentId: "main",
        sessionId: "s1",
        sessionKey: null,
        accountId: U,
        source: "jsonl",
        sourceRef: "x.jsonl@0",
      };
      const key = dedupeKey(ev);
      const payload = {
        events: [
          pushEvent({
            idempotencyKey: key,
            agentId: "main",
            input: 2000,
            output: 300,
            timestampMs: ev.messageTsMs,
            responseId: "resp_abc",
          }),
        ],
      };
      const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload });
      expect(res.json().results[0]).toMatchObject({ status: "billed", dedupeKey: key });
      const meterBiller = createBiller(db, createLedger(db), {
        pricer: fixturePricer(),
        markup: parseDecimal("1"),
        creditsPerUsd: parseDecimal("1"),
      });
      const r = meterBiller.bill({ events: [ev], rejects: [], sessions: [], stats: {} });
      expect(r).toMatchObject({ billed: 0, duplicates: 1 });
      // And the other way round: a key the meter already billed is a duplicate when pushed.
      const ev2 = { ...ev, responseId: "resp_def" };
      meterBiller.bill({ events: [ev2], rejects: [], sessions: [], stats: {} });
      const again = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: {
          events: [
            pushEvent({
              idempotencyKey: dedupeKey(ev2),
              agentId: "main",
              input: 2000,
              output: 300,
              timestampMs: ev.messageTsMs,
              responseId: "resp_def",
            }),
          ],
        },
      });
      expect(again.json().results[0].status).toBe("duplicate");
    });

    test("a meter-format key that is not the event's own identity is rejected: it cannot pre-empt a transcript call", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const transcriptCall: UsageEvent = {
        provider: "mock",
        model: "mock-gpt",
        api: null,
        messageTsMs: NOW - 5000,
        responseId: null,
        input: 10,
        output: 1,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: 11,
        reasoningTokens: null,
        stopReason: "stop",
        isError: false,
        errorMessage: null,
        recordedCostUsd: null,
        agentId: "main",
        sessionId: "s1",
        sessionKey: null,
        accountId: "telegram:7",
        source: "jsonl",
        sourceRef: "x.jsonl@0",
      };
      // An attacker (or a buggy bot) pushes a different, cheap call under the transcript call's identity.
      const res = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: {
          events: [
            pushEvent({ idempotencyKey: dedupeKey(transcriptCall), input: 1, timestampMs: NOW - 5000 }),
          ],
        },
      });
      expect(res.json()).toMatchObject({ billed: 0, rejected: 1 });
      expect(res.json().results[0].reason).toMatch(/not this event's identity/);
      const meterBiller = createBiller(db, createLedger(db), {
        pricer: fixturePricer(),
        markup: parseDecimal("1"),
        creditsPerUsd: parseDecimal("1"),
        nowMs: () => NOW,
      });
      const r = meterBiller.bill({
        events: [transcriptCall],
        rejects: [],
        sessions: [],
        stats: {},
      });
      expect(r).toMatchObject({ billed: 1, duplicates: 0 });
      expect(balanceOf(db, "telegram:7")).toBe(-45); // 10 × $3/M + 1 × $15/M = 45 micro-USD
    });

    test("a pushed batch is billed with SQLite's statement journals in memory, and temp_store is put back", async ({
      db,
    }) => {
      const pricer = fixturePricer();
      const seen: unknown[] = [];
      const ing = createPushIngester(db, {
        // the pricer runs inside the request's transaction: what temp_store is there
        pricer: {
          price(u) {
            seen.push(engine === "sqlite" ? db.pragma("temp_store", { simple: true }) : "pg");
            return pricer.price(u);
          },
        },
        markup: parseDecimal("1"),
        creditsPerUsd: parseDecimal("1"),
        nowMs: () => NOW,
      });
      if (engine === "sqlite") db.pragma("temp_store = FILE");
      const r = ing.ingest(
        [pushEvent({ idempotencyKey: "j1" }), pushEvent({ idempotencyKey: "j2", input: 7 })],
        "push:k1:rj",
        "k1",
      );
      expect(r.map((x) => x.status)).toEqual(["billed", "billed"]);
      if (engine === "sqlite") {
        expect(seen).toEqual([2, 2]);
        expect(db.pragma("temp_store", { simple: true })).toBe(1);
      } else expect(seen).toEqual(["pg", "pg"]);
    });

    test("push keys are namespaced per API key and agent without ambiguity (a + b:c ≠ a:b + c)", async ({
      db,
    }) => {
      const ing = createPushIngester(db, {
        pricer: fixturePricer(),
        markup: parseDecimal("1"),
        creditsPerUsd: parseDecimal("1"),
        nowMs: () => NOW,
      });
      const r1 = ing.ingest([pushEvent({ agentId: "a", idempotencyKey: "b:c" })], "push:k1:r1", "k1");
      const r2 = ing.ingest([pushEvent({ agentId: "a:b", idempotencyKey: "c" })], "push:k1:r2", "k1");
      // another API key (another bot) using the same agent and key
      const r3 = ing.ingest([pushEvent({ agentId: "a", idempotencyKey: "b:c" })], "push:k2:r3", "k2");
      expect([r1[0]?.status, r2[0]?.status, r3[0]?.status]).toEqual(["billed", "billed", "billed"]);
      const keys = new Set([r1, r2, r3].map((r) => (r[0] as { dedupeKey: string }).dedupeKey));
      expect(keys.size).toBe(3);
      for (const k of keys) expect(k).toMatch(/^push:[0-9a-f]{64}$/);
      expect(balanceOf(db, U)).toBe(-9_000_000);
    });

    test("the same key with different content is a conflict; with the same content a duplicate", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const send = (events: unknown[]) =>
        app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
      expect((await send([pushEvent()])).json()).toMatchObject({ billed: 1 });
      const res = await send([pushEvent(), pushEvent({ output: 5 }), pushEvent({ userId: "telegram:99" })]);
      expect(res.json()).toMatchObject({ billed: 0, duplicate: 1, conflict: 2 });
      expect(res.json().results[1].reason).toMatch(/different content/);
      expect(balanceOf(db, U)).toBe(-3_000_000);
      expect(balanceOf(db, "telegram:99")).toBe(0);
      const metrics = (await app.inject({ url: "/metrics" })).body;
      expect(metrics).toContain('creditgate_push_events_total{status="conflict"} 2');
    });

    test("events far in the past or future are rejected per event; the others are billed; absurd ones are held", async ({
      db,
      onTestFinished,
    }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      const day = 86_400_000;
      const events = [
        pushEvent({ idempotencyKey: "old", timestampMs: NOW - 31 * day }),
        pushEvent({ idempotencyKey: "future", timestampMs: NOW + 11 * 60_000 }),
        pushEvent({ idempotencyKey: "edge-old", timestampMs: NOW - 29 * day }),
        pushEvent({ idempotencyKey: "edge-future", timestampMs: NOW + 9 * 60_000 }),
        pushEvent({ idempotencyKey: "huge", input: 2_000_000_000 }),
      ];
      const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
      expect(res.json()).toMatchObject({ billed: 2, rejected: 2, held: 1 });
      expect(res.json().results[0].reason).toMatch(/outside the push window/);
      expect(res.json().results[4]).toMatchObject({
        status: "held",
        reason: expect.stringMatching(/input token count/),
      });
      expect(count(db, "SELECT COUNT(*) AS n FROM usage_review WHERE status = 'held'")).toBe(1);
      // pushing the held one again is a duplicate, not a second hold
      const again = await app.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [events[4]] },
      });
      expect(again.json()).toMatchObject({ duplicate: 1 });
    });

    test("the batch itself is validated: empty, too large, wrong shape", async ({ db, onTestFinished }) => {
      const app = testApp(db);
      onTestFinished(() => app.close());
      for (const payload of [
        { events: [] },
        { events: Array.from({ length: 1001 }, () => ({})) },
        { nope: 1 },
      ]) {
        const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload });
        expect(res.statusCode).toBe(400);
        expect(res.json().error.code).toBe("invalid_request");
      }
      const off = testApp(db, { ingest: null });
      onTestFinished(() => off.close());
      const res = await off.inject({
        method: "POST",
        url: "/v1/usage",
        headers: admin,
        payload: { events: [pushEvent()] },
      });
      expect(res.statusCode).toBe(503);
    });
  });

  describe("POST /v1/usage: what the provider really charged", () => {
    test("cacheWrite1h is priced at the 1-hour rate and a provider-billed cost is billed as such", async ({
      db,
      onTestFinished,
    }) => {
      const app = autoPricedApp(db);
      onTestFinished(() => app.close());
      const events = [
        // Same usage as case anthropic-1h-cache-write call 1: $0.0633.
        pushEvent({
          idempotencyKey: "1h",
          provider: "anthropic",
          model: "claude-sonnet-4-5",
          input: 100,
          output: 200,
          cacheWrite: 10_000,
          cacheWrite1h: 10_000,
        }),
        // The list price would be $3; the provider billed $0.029.
        pushEvent({ idempotencyKey: "pb", costUsd: 0.029, costOrigin: "provider-billed" }),
        pushEvent({ idempotencyKey: "bad-1h", cacheWrite: 10, cacheWrite1h: 11 }),
        // $0.001 against a $3 list price: billed as written, but flagged and said in the answer.
        pushEvent({ idempotencyKey: "cheap", costUsd: 0.001, costOrigin: "provider-billed" }),
      ];
      const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
      expect(res.json()).toMatchObject({ billed: 3, rejected: 1 });
      expect(res.json().results[2].reason).toMatch(/cacheWrite1h/);
      expect(res.json().results[1].anomaly).toBeUndefined();
      expect(res.json().results[3]).toMatchObject({
        status: "billed",
        anomaly: "provider-billed cost $0.001 is under 1/1000 of the list price $3 (billed as recorded)",
      });
      const rows = db
        .prepare(
          "SELECT cost_pico_usd AS cost, price_source AS src, cache_write_1h_tokens AS w1h FROM usage_events ORDER BY id",
        )
        .all();
      expect(rows).toEqual([
        { cost: 63_300_000_000, src: "table", w1h: 10_000 },
        { cost: 29_000_000_000, src: "provider-billed", w1h: 0 },
        { cost: 1_000_000_000, src: "provider-billed", w1h: 0 },
      ]);
      expect(balanceOf(db, U)).toBe(-(63_300 + 29_000 + 1_000));
    });
  });

  describe("POST /v1/usage: the recorded cost as an exact integer", () => {
    test("recordedCostPicoUsd is billed exactly and preferred to costUsd; the older float costUsd is still accepted; a malformed one is rejected alone", async ({
      db,
      onTestFinished,
    }) => {
      const app = autoPricedApp(db);
      onTestFinished(() => app.close());
      const pb = { costOrigin: "provider-billed" };
      const events = [
        // New edges: the exact integer, to the pico-USD.
        pushEvent({ idempotencyKey: "pico", recordedCostPicoUsd: "29000000001", ...pb }),
        // Both sent: the integer wins, the float is ignored.
        pushEvent({ idempotencyKey: "both", recordedCostPicoUsd: "5000000000", costUsd: 0.9, ...pb }),
        // Older edges and pushers: the float, converted as the local meter converts a transcript's.
        pushEvent({ idempotencyKey: "float", costUsd: 0.029, ...pb }),
        pushEvent({ idempotencyKey: "fraction", recordedCostPicoUsd: "0.5", ...pb }),
        pushEvent({ idempotencyKey: "number", recordedCostPicoUsd: 29_000_000_000, ...pb }),
        pushEvent({ idempotencyKey: "negative", recordedCostPicoUsd: "-1", ...pb }),
        pushEvent({ idempotencyKey: "huge", recordedCostPicoUsd: "1000000000000000001", ...pb }),
      ];
      const res = await app.inject({ method: "POST", url: "/v1/usage", headers: admin, payload: { events } });
      expect(res.json()).toMatchObject({ billed: 3, rejected: 4 });
      const reasons = (res.json().results as { reason?: string }[]).slice(3).map((r) => r.reason);
      expect(reasons[0]).toMatch(/recordedCostPicoUsd.*integer number of pico-USD as a decimal string/);
      expect(reasons[1]).toMatch(/recordedCostPicoUsd/);
      expect(reasons[2]).toMatch(/recordedCostPicoUsd.*integer number of pico-USD/);
      expect(reasons[3]).toMatch(/recordedCostPicoUsd.*at most 1000000000000000000/);
      const rows = db
        .prepare("SELECT cost_pico_usd AS cost, price_source AS src FROM usage_events ORDER BY id")
        .all();
      expect(rows).toEqual([
        { cost: 29_000_000_001, src: "provider-billed" },
        { cost: 5_000_000_000, src: "provider-billed" },
        { cost: 29_000_000_000, src: "provider-billed" },
      ]);
    });
  });
});
