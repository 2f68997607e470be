import { appendFileSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { createBiller } from "../../src/meter/biller.js";
import { createReviewQueue } from "../../src/meter/review.js";
import { createSessionMemory } from "../../src/meter/session-memory.js";
import type { SourceBatch } from "../../src/meter/source.js";
import type { PriceQuote, Pricer, UsageEvent } from "../../src/meter/types.js";
import { assistantLine, meterFor, type TempWorld, tempWorld, writeJson } from "../support/meter-env.js";
import { ENGINES, testOn } from "../support/temp-db.js";

// An account id with a lone UTF-16 surrogate ("x\ud800"; JSON carries it, e.g. a sessions.json
// key) is stored by SQLite and PostgreSQL as U+FFFD, the same text as "x\ud801": wherever such
// an id is stored and read back, two users would become one account.

const REASON =
  "account id holds a lone UTF-16 surrogate (stored as UTF-8 it would merge with other accounts)";
const T0 = 1_800_000_000_000;

/** $3/M input, $15/M output. */
const pricer: Pricer = {
  price: (u): PriceQuote => ({
    costPicoUsd: BigInt(u.input) * 3_000_000n + BigInt(u.output) * 15_000_000n,
    source: "override",
    version: "test",
    unknownModel: false,
  }),
};

function call(accountId: string, n: number): UsageEvent {
  return {
    provider: "mock",
    model: "mock-gpt",
    api: null,
    messageTsMs: T0 + n,
    responseId: null,
    input: 100,
    output: 10,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 110,
    reasoningTokens: null,
    stopReason: "stop",
    isError: false,
    errorMessage: null,
    recordedCostUsd: null,
    agentId: "main",
    sessionId: `s${n}`,
    sessionKey: null,
    accountId,
    source: "jsonl",
    sourceRef: `t@${n}`,
  };
}

const billerOf = (db: Db) =>
  createBiller(db, createLedger(db), {
    pricer,
    markup: { num: 1n, den: 1n },
    creditsPerUsd: { num: 1n, den: 1n },
    nowMs: () => T0 + 100_000,
  });

const batchOf = (events: UsageEvent[], sessions: SourceBatch["sessions"] = []): SourceBatch => ({
  events,
  rejects: [],
  sessions,
  stats: {},
});

const accounts = (db: Db) =>
  db.prepare("SELECT id, balance_micro_credits AS balance FROM accounts ORDER BY id").all() as {
    id: string;
    balance: number;
  }[];

describe.each(ENGINES)("%s", (engine) => {
  const test = testOn(engine);

  // (the local meter runs on SQLite only, but the biller and its session upsert run on both)
  test("the session memory gives back a key and account with a lone surrogate as read", ({ db }) => {
    const facts = [
      { sessionId: "a", sessionKey: "agent:main:telegram:direct:x\ud800", accountId: "telegram:x\ud800" },
      { sessionId: "b", sessionKey: "agent:main:telegram:direct:x\ud801", accountId: "telegram:x\ud801" },
      // an ordinary text that happens to start like the stored form is kept apart too
      { sessionId: "c", sessionKey: '\u0001json:"k"', accountId: "telegram:\ud83d\ude00" },
      { sessionId: "d", sessionKey: "agent:main:main", accountId: "agent:main" },
    ].map((f) => ({ agentId: "main", channel: "tele\udc00gram", ...f }));
    billerOf(db).bill(batchOf([], facts));
    const memory = createSessionMemory(db);
    for (const f of facts)
      expect(memory.get("main", f.sessionId)).toEqual({
        sessionKey: f.sessionKey,
        accountId: f.accountId,
        channel: f.channel,
      });
    // a well-formed id is stored as it is (reports and SQL see the plain text)
    expect(
      db
        .prepare("SELECT account_id FROM meter_sessions WHERE session_id IN ('c', 'd') ORDER BY session_id")
        .pluck()
        .all(),
    ).toEqual(["telegram:\ud83d\ude00", "agent:main"]);
  });

  test("a call held for its account id is a duplicate when read again, and is released only to an account the operator names", ({
    db,
  }) => {
    const biller = billerOf(db);
    const first = biller.bill(batchOf([call("x\ud800", 1), call("x\ud801", 2), call("u1", 3)]));
    expect({ billed: first.billed, held: first.held }).toEqual({ billed: 1, held: 2 });
    expect(first.heldReasons.map((h) => h.reason)).toEqual([REASON, REASON]);
    // read again (a rescan, an archive copy): exactly once, nothing held twice
    const again = biller.bill(batchOf([call("x\ud800", 1), call("x\ud801", 2), call("u1", 3)]));
    expect({ billed: again.billed, held: again.held, duplicates: again.duplicates }).toEqual({
      billed: 0,
      held: 0,
      duplicates: 3,
    });
    const q = createReviewQueue(db);
    const [b, a] = q.list(); // newest first
    if (!a || !b) throw new Error("two held calls expected");
    // the queue keeps the id as read (its stored column is the merged U+FFFD form)
    expect([a.event.accountId, b.event.accountId]).toEqual(["x\ud800", "x\ud801"]);
    const opts = {
      reason: "checked",
      pricer,
      markup: { num: 1n, den: 1n },
      creditsPerUsd: { num: 1n, den: 1n },
    };
    // not to "x\ufffd", the one account both ids would be stored as
    expect(() => q.release(a.id, { ...opts, nowMs: T0 + 200_000 })).toThrow(
      /lone UTF-16 surrogate.*--account/,
    );
    expect(() => q.release(a.id, { ...opts, accountId: "y\udc00", nowMs: T0 + 200_000 })).toThrow(
      /invalid account id/,
    );
    expect(accounts(db).map((r) => r.id)).toEqual(["u1"]);
    const rel = q.release(a.id, { ...opts, accountId: "telegram:7", nowMs: T0 + 200_000 });
    expect(rel).toMatchObject({ status: "released", accountId: "telegram:7", chargeMicroCredits: 450 });
    expect(q.release(a.id, { ...opts, accountId: "telegram:8", nowMs: T0 + 300_000 }).status).toBe(
      "already-released",
    );
    expect(accounts(db)).toEqual([
      { id: "telegram:7", balance: -450 },
      { id: "u1", balance: -450 },
    ]);
    expect(
      db.prepare("SELECT account_id FROM usage_events WHERE dedupe_key = ?").pluck().get(a.dedupeKey),
    ).toBe("telegram:7");
    expect(biller.bill(batchOf([call("x\ud800", 1)])).duplicates).toBe(1);
    expect(createLedger(db).inconsistentAccounts()).toEqual([]);
  });
});

describe("a transcript session whose key names a user with a lone surrogate", () => {
  let w: TempWorld | undefined;
  afterEach(() => {
    w?.cleanup();
    w = undefined;
  });

  const A = "11111111-2222-4333-8444-555555555555";
  const B = "22222222-2222-4333-8444-555555555555";
  const assistant = (ts: number, input: number) => assistantLine(ts, input);
  const header = (id: string) =>
    JSON.stringify({ type: "session", version: 3, id, timestamp: "2026-11-01T00:00:00.000Z", cwd: "/x" });

  it("is held, and so are its calls read from the reset archive through the meter's memory (not billed to one merged account)", async () => {
    const tw = tempWorld();
    w = tw;
    const dir = join(tw.stateDir, "agents", "main", "sessions");
    mkdirSync(dir, { recursive: true });
    // writeJson escapes the lone surrogates: sessions.json holds "x\ud800" and "x\ud801"
    writeJson(join(dir, "sessions.json"), {
      "agent:main:telegram:direct:x\ud800": { sessionId: A, lastChannel: "telegram" },
      "agent:main:telegram:direct:x\ud801": { sessionId: B, lastChannel: "telegram" },
    });
    writeFileSync(join(dir, `${A}.jsonl`), `${header(A)}\n${assistant(1_790_000_000_000, 100)}\n`);
    writeFileSync(join(dir, `${B}.jsonl`), `${header(B)}\n${assistant(1_790_000_000_500, 100)}\n`);
    const once = async () => {
      const m = meterFor(tw);
      try {
        return await m.runOnce();
      } finally {
        m.close();
      }
    };
    const s1 = await once();
    expect({ billed: s1.billed, held: s1.held }).toEqual({ billed: 0, held: 2 });
    // both sessions go on, then are reset: sessions.json forgets their ids, the meter remembers them
    appendFileSync(join(dir, `${A}.jsonl`), `${assistant(1_790_000_001_000, 200)}\n`);
    appendFileSync(join(dir, `${B}.jsonl`), `${assistant(1_790_000_001_500, 300)}\n`);
    for (const id of [A, B])
      renameSync(join(dir, `${id}.jsonl`), join(dir, `${id}.jsonl.reset.2026-11-01T00-10-00.000Z`));
    writeJson(join(dir, "sessions.json"), {
      "agent:main:telegram:direct:x\ud800": { sessionId: "99999999-2222-4333-8444-555555555555" },
      "agent:main:telegram:direct:x\ud801": { sessionId: "88888888-2222-4333-8444-555555555555" },
    });
    const s2 = await once();
    expect({ billed: s2.billed, held: s2.held }).toEqual({ billed: 0, held: 2 });
    expect(accounts(tw.db)).toEqual([]);
    const held = createReviewQueue(tw.db).list();
    expect(held.map((h) => [h.event.accountId, h.reason]).sort()).toEqual([
      ["telegram:x\ud800", REASON],
      ["telegram:x\ud800", REASON],
      ["telegram:x\ud801", REASON],
      ["telegram:x\ud801", REASON],
    ]);
    expect((await once()).held).toBe(0);
  });
});

describe("a transcript session whose key names a peer that is no account id (a space in it)", () => {
  // since 2026-12-04 such a peer bills its storable id (case account-id-with-spaces); before, it was
  // held for review (and before that failed at the ledger with $0 shown)
  it("is billed to the peer's storable account id, not held nor failed at the ledger", async () => {
    const tw = tempWorld();
    try {
      const dir = join(tw.stateDir, "agents", "main", "sessions");
      mkdirSync(dir, { recursive: true });
      const A = "33333333-2222-4333-8444-555555555555";
      writeJson(join(dir, "sessions.json"), {
        "agent:main:telegram:direct:maria fernanda": { sessionId: A, lastChannel: "telegram" },
      });
      writeFileSync(join(dir, `${A}.jsonl`), `${assistantLine(1_790_000_000_000, 100)}\n`);
      const m = meterFor(tw);
      expect(await m.runOnce()).toMatchObject({ billed: 1, held: 0 });
      m.close();
      const row = tw.db
        .prepare<[], { account: string; cost: string }>(
          "SELECT account_id AS account, cost_pico_usd AS cost FROM usage_events",
        )
        .get();
      expect(row?.account).toBe("telegram:maria%20fernanda");
      expect(BigInt(row?.cost ?? 0)).toBeGreaterThan(0n);
    } finally {
      tw.cleanup();
    }
  });
});
