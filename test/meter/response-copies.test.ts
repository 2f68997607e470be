import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { openDatabase } from "../../src/db/index.js";
import { createBiller } from "../../src/meter/biller.js";
import { responseDaysOf } from "../../src/meter/identity.js";
import type { SourceBatch } from "../../src/meter/source.js";
import type { ParsedUsage, PriceQuote, Pricer, UsageEvent } from "../../src/meter/types.js";

// One provider response is one call (src/meter/identity.ts responseKeyOf): how the biller
// chooses among a batch's copies, and what it never merges.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** $3/M input, $15/M output. */
const pricer: Pricer = {
  price(u: ParsedUsage): PriceQuote {
    return {
      costPicoUsd: BigInt(u.input) * 3_000_000n + BigInt(u.output) * 15_000_000n,
      source: "override",
      version: "test",
      unknownModel: false,
    };
  },
};

const T0 = Date.UTC(2026, 10, 20, 12);
let seq = 0;
function call(over: Partial<UsageEvent>): UsageEvent {
  seq++;
  return {
    provider: "anthropic",
    model: "claude-sonnet-4-5",
    api: null,
    messageTsMs: T0 + seq,
    responseId: null,
    input: 1000,
    output: 100,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 1100,
    reasoningTokens: null,
    stopReason: "stop",
    isError: false,
    errorMessage: null,
    recordedCostUsd: null,
    agentId: "main",
    sessionId: "s1",
    sessionKey: null,
    accountId: "telegram:1",
    source: "jsonl",
    sourceRef: `t@${seq}`,
    ...over,
  };
}
const batch = (events: UsageEvent[]): SourceBatch => ({ events, rejects: [], sessions: [], stats: {} });

function world() {
  const d = mkdtempSync(join(tmpdir(), "creditgate-response-copies-"));
  dirs.push(d);
  const db = openDatabase(join(d, "c.sqlite"));
  const biller = createBiller(db, createLedger(db), {
    pricer,
    markup: { num: 1n, den: 1n },
    creditsPerUsd: { num: 1n, den: 1n },
    // $1 per call at most: a bigger call is held for review
    maxCallPicoUsd: 10n ** 12n,
    nowMs: () => T0 + 100_000,
  });
  const rows = () =>
    db.prepare("SELECT account_id AS a, output_tokens AS o FROM usage_events ORDER BY id").all() as {
      a: string;
      o: number;
    }[];
  return { db, biller, rows };
}

const R = "msg_01ResponseCopiesTestAAAA";

describe("copies of one response in one batch", () => {
  it("a best copy held for review leaves the response to the next copy (never none billed)", () => {
    const w = world();
    const r = w.biller.bill(
      batch([call({ responseId: R, output: 100 }), call({ responseId: R, output: 20_000_000 })]),
    );
    expect(r).toMatchObject({ billed: 1, held: 1, duplicates: 0 });
    expect(w.rows()).toEqual([{ a: "telegram:1", o: 100 }]);
  });

  it("equal copies, one of no known session: the earliest message time's session pays, whatever the read order", () => {
    const w = world();
    const later = call({ responseId: R, accountId: "telegram:2", sessionId: null, messageTsMs: T0 + 90_000 });
    const first = call({ responseId: R, accountId: "telegram:1", messageTsMs: T0 + 1_000 });
    expect(w.biller.bill(batch([later, first]))).toMatchObject({ billed: 1, duplicates: 1 });
    expect(w.rows()).toEqual([{ a: "telegram:1", o: 100 }]);
  });

  it("equal calls in two sessions at two times under one id are two calls (2026-12-04: a relay's reused id)", () => {
    // copies of one response are written in its own session or verbatim (the same message time):
    // identity.ts mayBeCopies; case response-id-reused-same-prompt-other-sessions
    const w = world();
    const later = call({ responseId: R, accountId: "telegram:2", sessionId: "s2", messageTsMs: T0 + 90_000 });
    const first = call({ responseId: R, accountId: "telegram:1", messageTsMs: T0 + 1_000 });
    expect(w.biller.bill(batch([later, first]))).toMatchObject({ billed: 2, duplicates: 0 });
    expect(w.rows()).toEqual([
      { a: "telegram:2", o: 100 },
      { a: "telegram:1", o: 100 },
    ]);
  });

  it("a partial copy then the final one: the final is billed", () => {
    const w = world();
    w.biller.bill(batch([call({ responseId: R, output: 40 }), call({ responseId: R, output: 120 })]));
    expect(w.rows()).toEqual([{ a: "telegram:1", o: 120 }]);
  });
});

describe("calls pushed live (a session key, no session id) under a relay's one response id (h-diff2, 2026-12-04)", () => {
  const pushed = (over: Partial<UsageEvent>) =>
    call({ responseId: R, sessionId: null, source: "push", ...over });
  it("the same prompt in two sessions' keys at two times: two calls, in one batch or two", () => {
    // every new user's `/start` (case response-id-reused-same-prompt-other-sessions pushed then metered)
    const w = world();
    const a = pushed({
      accountId: "telegram:5551401",
      sessionKey: "agent:main:telegram:direct:5551401",
      messageTsMs: T0 + 1_000,
    });
    const b = pushed({
      accountId: "telegram:5551402",
      sessionKey: "agent:main:telegram:direct:5551402",
      messageTsMs: T0 + 3_600_000,
    });
    expect(w.biller.bill(batch([a]))).toMatchObject({ billed: 1 });
    expect(w.biller.bill(batch([b]))).toMatchObject({ billed: 1, duplicates: 0 });
    // two isolated cron runs sent one prompt, in one batch
    const c = pushed({
      accountId: "agent:main",
      sessionKey: "agent:main:cron:digest:run:1",
      messageTsMs: T0 + 7_200_000,
    });
    const d = pushed({
      accountId: "agent:main",
      sessionKey: "agent:main:cron:digest:run:2",
      messageTsMs: T0 + 10_800_000,
    });
    expect(w.biller.bill(batch([c, d]))).toMatchObject({ billed: 2, duplicates: 0 });
    expect(w.rows().map((r) => r.a)).toEqual([
      "telegram:5551401",
      "telegram:5551402",
      "agent:main",
      "agent:main",
    ]);
    // the transcript's copies of each (the session id known, the same message time) bill nothing
    const again = [a, b, c, d].map((e, i) => ({ ...e, sessionId: `s${i}`, source: "jsonl" as const }));
    expect(w.biller.bill(batch(again))).toMatchObject({ billed: 0, duplicates: 4 });
  });

  it("the same session key, or a key unknown on either side, at another time: still a copy", () => {
    const w = world();
    const k = "agent:main:telegram:direct:5551401";
    w.biller.bill(batch([pushed({ sessionKey: k, messageTsMs: T0 + 1_000 })]));
    expect(w.biller.bill(batch([pushed({ sessionKey: k, messageTsMs: T0 + 3_100 })]))).toMatchObject({
      billed: 0,
      duplicates: 1,
    });
    expect(w.biller.bill(batch([pushed({ sessionKey: null, messageTsMs: T0 + 5_000 })]))).toMatchObject({
      billed: 0,
      duplicates: 1,
    });
    // the transcript's line of the same session at another time (its key known, the session id too)
    expect(
      w.biller.bill(
        batch([call({ responseId: R, sessionId: "s9", sessionKey: k, messageTsMs: T0 + 7_000 })]),
      ),
    ).toMatchObject({ billed: 0, duplicates: 1 });
  });
});

describe("what is never merged", () => {
  it("a pushed event under an ordinary idempotency key keeps its own identity (a reused response id settles nothing)", () => {
    const w = world();
    const pushed = (n: number) =>
      call({
        responseId: "resp-fixed-0000000001",
        source: "push",
        dedupeKey: `push:${"ab".repeat(31)}${n}0`,
      });
    expect(w.biller.bill(batch([pushed(1), pushed(2)]))).toMatchObject({ billed: 2, duplicates: 0 });
    expect(w.biller.bill(batch([pushed(3)]))).toMatchObject({ billed: 1, duplicates: 0 });
    // nor does it claim the id for a transcript call
    expect(w.biller.bill(batch([call({ responseId: "resp-fixed-0000000001" })]))).toMatchObject({
      billed: 1,
    });
    expect(w.db.prepare("SELECT COUNT(*) AS n FROM usage_response_keys").get()).toEqual({ n: 1 });
  });

  it("ids under 16 characters (Ollama's chatcmpl-<n>) are not a response identity", () => {
    const w = world();
    expect(
      w.biller.bill(batch([call({ responseId: "chatcmpl-123" }), call({ responseId: "chatcmpl-123" })])),
    ).toMatchObject({ billed: 2 });
  });
});

describe("copies in later batches", () => {
  it("a copy an hour apart across midnight is a duplicate; on another day far apart it is not looked for", () => {
    const w = world();
    const midnight = Date.UTC(2026, 10, 21);
    expect(w.biller.bill(batch([call({ responseId: R, messageTsMs: midnight - 1_000 })]))).toMatchObject({
      billed: 1,
    });
    expect(w.biller.bill(batch([call({ responseId: R, messageTsMs: midnight + 5_000 })]))).toMatchObject({
      billed: 0,
      duplicates: 1,
    });
    expect(responseDaysOf(midnight + 5_000).near).toBe(responseDaysOf(midnight - 1_000).day);
    expect(responseDaysOf(midnight + 5 * 3_600_000).near).toBeNull();
  });
});
