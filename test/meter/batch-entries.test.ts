import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { createLedger } from "../../src/credits/index.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { type BilledEvent, createBiller } from "../../src/meter/biller.js";
import { dedupeKey } from "../../src/meter/identity.js";
import { createReviewQueue } from "../../src/meter/review.js";
import type { SourceBatch } from "../../src/meter/source.js";
import type { ParsedUsage, PriceQuote, Pricer, UsageEvent } from "../../src/meter/types.js";

// One ledger entry per account per batch: the biller writes each account's newly billed calls of
// a batch as ONE `usage` entry (sum of their charges) and each usage row points at it.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** $3/M input, $15/M output; model "boom" throws (a poison event). */
const pricer: Pricer = {
  price(u: ParsedUsage): PriceQuote {
    if (u.model === "boom") throw new TypeError("pricer exploded");
    return {
      costPicoUsd: BigInt(u.input) * 3_000_000n + BigInt(u.output) * 15_000_000n,
      source: "override",
      version: "test",
      unknownModel: false,
    };
  },
};

const T0 = 1_800_000_000_000;
let seq = 0;

/** A call of `account` (input tokens vary, so charges differ: 100 in + 10 out = 450 µcr). */
function call(account: string, over: Partial<UsageEvent> = {}): UsageEvent {
  seq++;
  const input = 100 + seq;
  return {
    provider: "mock",
    model: "mock-gpt",
    api: null,
    messageTsMs: T0 + seq,
    responseId: null,
    input,
    output: 10,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: input + 10,
    reasoningTokens: null,
    stopReason: "stop",
    isError: false,
    errorMessage: null,
    recordedCostUsd: null,
    agentId: "main",
    sessionId: `s-${account}`,
    sessionKey: null,
    accountId: account,
    source: "jsonl",
    sourceRef: `t@${seq}`,
    ...over,
  };
}

const batch = (events: UsageEvent[]): SourceBatch => ({
  events,
  rejects: [],
  sessions: [],
  stats: {},
});

function world(creditsPerUsd = { num: 1n, den: 1n }) {
  const d = mkdtempSync(join(tmpdir(), "creditgate-batch-entries-"));
  dirs.push(d);
  const db = openDatabase(join(d, "c.sqlite"));
  const ledger = createLedger(db);
  const billed: BilledEvent[] = [];
  const biller = createBiller(db, ledger, {
    pricer,
    markup: { num: 1n, den: 1n },
    creditsPerUsd,
    maxCallPicoUsd: 10n ** 30n,
    nowMs: () => T0 + 100_000,
    onBilled: (b) => billed.push(...b),
  });
  return { db, ledger, biller, billed };
}

/** Whether the connection's temp database is open (`PRAGMA database_list` lists it). */
const tempOpen = (db: Db) =>
  (db.pragma("database_list") as { name: string }[]).some((d) => d.name === "temp");

/** A database and a biller that records, per billed batch, the temp_store its transaction saw. */
function tempStoreWorld() {
  const d = mkdtempSync(join(tmpdir(), "creditgate-batch-entries-"));
  dirs.push(d);
  const path = join(d, "c.sqlite");
  const db = openDatabase(path);
  const seen: number[] = [];
  const biller = createBiller(db, createLedger(db), {
    pricer,
    markup: { num: 1n, den: 1n },
    creditsPerUsd: { num: 1n, den: 1n },
    nowMs: () => T0 + 100_000,
    inTransaction: (tx) => {
      seen.push(Number(tx.pragma("temp_store", { simple: true })));
    },
  });
  return { db, biller, seen, path };
}

interface EntryRow {
  id: number;
  account_id: string;
  amount: number;
  key: string;
  reason: string;
  ref: string | null;
}
const usageEntries = (db: Db) =>
  db
    .prepare(
      `SELECT id, account_id, amount_micro_credits AS amount, idempotency_key AS key, reason, ref
         FROM ledger_entries WHERE kind = 'usage' ORDER BY id`,
    )
    .all() as EntryRow[];
const usageRows = (db: Db) =>
  db
    .prepare(
      "SELECT id, dedupe_key, account_id, ledger_entry_id, charge_micro_credits AS charge FROM usage_events ORDER BY id",
    )
    .all() as {
    id: number;
    dedupe_key: string;
    account_id: string;
    ledger_entry_id: number;
    charge: number;
  }[];

/** Every entry equals minus the sum of its rows, rows and entries agree on the account, balances add up. */
function expectConsistent(db: Db) {
  const rows = usageRows(db);
  for (const e of usageEntries(db)) {
    const mine = rows.filter((r) => r.ledger_entry_id === e.id);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((r) => r.account_id === e.account_id)).toBe(true);
    expect(e.amount).toBe(-mine.reduce((s, r) => s + r.charge, 0));
  }
  const entryIds = new Set(usageEntries(db).map((e) => e.id));
  expect(rows.every((r) => entryIds.has(r.ledger_entry_id))).toBe(true);
  expect(createLedger(db).inconsistentAccounts()).toEqual([]);
}

describe("one ledger entry per account per batch", () => {
  const cases: { name: string; calls: number; accounts: number }[] = [
    { name: "1 call, 1 account", calls: 1, accounts: 1 },
    { name: "12 calls, 1 account", calls: 12, accounts: 1 },
    { name: "12 calls, 3 accounts", calls: 12, accounts: 3 },
    { name: "500 calls, 7 accounts", calls: 500, accounts: 7 },
    { name: "5 calls, 5 accounts", calls: 5, accounts: 5 },
  ];
  for (const c of cases) {
    it(`${c.name}: K entries whose sums equal the usage rows; a replay writes nothing`, () => {
      const { db, ledger, biller, billed } = world();
      const accounts = Array.from({ length: c.accounts }, (_, i) => `telegram:${1000 + i}`);
      const events = Array.from({ length: c.calls }, (_, i) => call(accounts[i % c.accounts] ?? ""));
      const r = biller.bill(batch(events));
      expect(r).toMatchObject({ billed: c.calls, duplicates: 0, held: 0 });
      const entries = usageEntries(db);
      expect(entries).toHaveLength(c.accounts);
      expect(usageRows(db)).toHaveLength(c.calls);
      expectConsistent(db);
      for (const [i, a] of accounts.entries()) {
        const mine = events.filter((e) => e.accountId === a);
        const e = entries.find((x) => x.account_id === a);
        // keyed by the account's first call in the batch; reason counts the calls
        expect(e?.key).toBe(`usage-batch:${dedupeKey(mine[0] as UsageEvent)}`);
        expect(e?.reason).toBe(`${mine.length} ${mine.length === 1 ? "call" : "calls"} (mock/mock-gpt)`);
        expect(e?.ref).toBe(`s-${a}`); // every call of the entry is in one session
        expect(ledger.balance(a)?.balanceMicroCredits).toBe(e?.amount);
        expect(entries[i]?.account_id).toBe(a); // entries in order of first appearance
      }
      // BilledEvents carry each call's own charge and the balance right after it
      expect(billed).toHaveLength(c.calls);
      for (const a of accounts) {
        const mine = billed.filter((b) => b.accountId === a);
        let running = 0;
        for (const b of mine) {
          running -= b.chargeMicroCredits;
          expect(b.balanceMicroCredits).toBe(running);
        }
      }
      expect(r.chargedMicroCredits).toBe(BigInt(-entries.reduce((s, e) => s + e.amount, 0)));

      // the same batch again (a re-read): all duplicates, nothing written
      const again = biller.bill(batch(events));
      expect(again).toMatchObject({ billed: 0, duplicates: c.calls, held: 0, chargedMicroCredits: 0n });
      expect(usageEntries(db)).toHaveLength(c.accounts);
      expect(usageRows(db)).toHaveLength(c.calls);
      expectConsistent(db);
      db.close();
    });
  }

  it("mixed duplicates: already billed, repeated within the batch and new calls; only the new ones are in the entry", () => {
    const { db, biller } = world();
    const [a, b] = ["telegram:1", "telegram:2"];
    const old = [call(a), call(a), call(b)];
    biller.bill(batch(old));
    expect(usageEntries(db)).toHaveLength(2);
    const fresh = [call(a), call(a)];
    const r = biller.bill(
      batch([
        old[0] as UsageEvent,
        fresh[0] as UsageEvent,
        fresh[0] as UsageEvent,
        old[2] as UsageEvent,
        fresh[1] as UsageEvent,
      ]),
    );
    expect(r).toMatchObject({ billed: 2, duplicates: 3 });
    const entries = usageEntries(db);
    // b had only a duplicate: no entry for it in this batch
    expect(entries).toHaveLength(3);
    const last = entries[2] as EntryRow;
    expect(last).toMatchObject({ account_id: a, reason: "2 calls (mock/mock-gpt)" });
    expect(last.key).toBe(`usage-batch:${dedupeKey(fresh[0] as UsageEvent)}`);
    const rows = usageRows(db).filter((x) => x.ledger_entry_id === last.id);
    expect(rows.map((x) => x.dedupe_key)).toEqual(fresh.map((e) => dedupeKey(e)));
    expectConsistent(db);
    // a batch of nothing but duplicates writes no entry
    expect(biller.bill(batch([...old, ...fresh]))).toMatchObject({ billed: 0, duplicates: 5 });
    expect(usageEntries(db)).toHaveLength(3);
    db.close();
  });

  it("optimistic batches (no key lookup) give the same outcomes: a re-read call is a duplicate, even one that would now be held", () => {
    const { db, biller } = world();
    const a = "telegram:1";
    const old = [call(a), call(a)];
    // A fresh biller starts optimistic: the first batch is billed without looking keys up.
    expect(biller.bill(batch(old))).toMatchObject({ billed: 2, duplicates: 0 });
    // A second biller on the same database (a restart) whose cost cap holds every call: the
    // already billed one must still come out a duplicate, not held, and nothing is half-written.
    const strict = createBiller(db, createLedger(db), {
      pricer,
      markup: { num: 1n, den: 1n },
      creditsPerUsd: { num: 1n, den: 1n },
      maxCallPicoUsd: 1n,
      nowMs: () => T0 + 100_000,
    });
    const fresh = call(a);
    expect(strict.billWithOutcomes(batch([old[0] as UsageEvent, fresh])).outcomes).toEqual([
      "duplicate",
      "held",
    ]);
    // A restarted biller meets a batch with a billed call: rolled back and billed again with the
    // lookup, the same result as before; then back to optimistic for a clean batch.
    const again = createBiller(db, createLedger(db), {
      pricer,
      markup: { num: 1n, den: 1n },
      creditsPerUsd: { num: 1n, den: 1n },
      maxCallPicoUsd: 10n ** 30n,
      nowMs: () => T0 + 100_000,
    });
    const next = [call(a), call(a)];
    expect(again.bill(batch([next[0] as UsageEvent, old[1] as UsageEvent]))).toMatchObject({
      billed: 1,
      duplicates: 1,
    });
    expect(again.bill(batch([next[1] as UsageEvent, call(a)]))).toMatchObject({ billed: 2, duplicates: 0 });
    expect(again.bill(batch([old[0] as UsageEvent, call(a)]))).toMatchObject({ billed: 1, duplicates: 1 });
    expect(usageRows(db)).toHaveLength(6);
    expectConsistent(db);
    db.close();
  });

  it("a held call adds nothing to its account's entry; releasing it posts its own entry", () => {
    const { db, biller, ledger } = world();
    const a = "telegram:7";
    const events = [
      call(a),
      call(a, { messageTsMs: 1e20 }),
      call(a),
      call(a, { model: "other", sessionId: "s2" }),
    ];
    const r = biller.bill(batch(events));
    expect(r).toMatchObject({ billed: 3, held: 1 });
    const [e] = usageEntries(db);
    expect(e).toMatchObject({ reason: "3 calls (2 models)", ref: null });
    expectConsistent(db);
    const queue = createReviewQueue(db);
    const [h] = queue.list("held");
    const rel = queue.release(h?.id ?? 0, {
      reason: "clock bug",
      markup: { num: 1n, den: 1n },
      creditsPerUsd: { num: 1n, den: 1n },
      nowMs: T0 + 200_000,
      pricer,
    });
    expect(rel.status).toBe("released");
    const entries = usageEntries(db);
    expect(entries).toHaveLength(2);
    expect(entries[1]?.key).toMatch(/^usage:/);
    expectConsistent(db);
    expect(ledger.balance(a)?.balanceMicroCredits).toBe(entries.reduce((s, e) => s + e.amount, 0));
    // the held call's line read again: still a duplicate
    expect(biller.bill(batch(events))).toMatchObject({ billed: 0, duplicates: 4 });
    db.close();
  });

  it("a poison event: the batch is retried event by event, each billed call its own entry, all consistent", () => {
    const { db, biller } = world();
    const a = "telegram:9";
    const r = biller.bill(batch([call(a), call(a, { model: "boom" }), call(a), call("telegram:10")]));
    expect(r).toMatchObject({ billed: 3, held: 1 });
    const entries = usageEntries(db);
    expect(entries).toHaveLength(3);
    expect(entries.every((e) => e.reason === "1 call (mock/mock-gpt)")).toBe(true);
    expectConsistent(db);
    db.close();
  });

  it("an account's calls whose sum would pass 2^53 micro-credits are split over two entries, each exact", () => {
    // 10^13 credits per USD: a 450,000,000 pico-USD call costs 4.5 × 10^15 micro-credits.
    const { db, biller, ledger } = world({ num: 10_000_000_000_000n, den: 1n });
    const a = "telegram:11";
    ledger.post({
      accountId: a,
      kind: "grant",
      amountMicroCredits: 9_000_000_000_000_000n,
      idempotencyKey: "grant:big",
      nowMs: T0,
    });
    const same = { input: 100, totalTokens: 110 };
    const r = biller.bill(batch([call(a, same), call(a, same), call(a, same)]));
    expect(r).toMatchObject({ billed: 3, held: 0 });
    const entries = usageEntries(db);
    expect(entries.map((e) => e.amount)).toEqual([-9_000_000_000_000_000, -4_500_000_000_000_000]);
    expect(entries.map((e) => e.reason)).toEqual(["2 calls (mock/mock-gpt)", "1 call (mock/mock-gpt)"]);
    expectConsistent(db);
    expect(ledger.balance(a)?.balanceMicroCredits).toBe(-4_500_000_000_000_000);
    db.close();
  });
  it("a batch is billed with its statement journals in memory (temp_store = MEMORY), and the setting is put back", () => {
    const { db, biller, seen } = tempStoreWorld();
    db.pragma("temp_store = FILE");
    // the optimistic attempt, then (a poison event) the isolated retry: both see MEMORY
    expect(biller.bill(batch([call("u1"), call("u2"), call("u1")])).billed).toBe(3);
    expect(biller.bill(batch([call("u1"), call("u1", { model: "boom" })])).billed).toBe(1);
    expect(seen).toEqual([2, 2]);
    expect(db.pragma("temp_store", { simple: true })).toBe(1);
    // inside a caller's transaction SQLite would refuse the change: the setting stays as it is
    const outer = db.transaction(() => biller.bill(batch([call("u3")])));
    expect(outer().billed).toBe(1);
    expect(seen).toEqual([2, 2, 1]);
    expect(db.pragma("temp_store", { simple: true })).toBe(1);
    expectConsistent(db);
    db.close();
  });
  it("temp_store: the value set before each batch is put back, also after a database failure", () => {
    const { db, biller, seen, path } = tempStoreWorld();
    const tempStore = () => db.pragma("temp_store", { simple: true });
    // changed after the biller was made: the batch puts back this value, not the one it first saw
    db.pragma("temp_store = FILE");
    expect(biller.bill(batch([call("u1")])).billed).toBe(1);
    expect(tempStore()).toBe(1);
    db.pragma("temp_store = DEFAULT");
    expect(biller.bill(batch([call("u1")])).billed).toBe(1);
    expect(tempStore()).toBe(0);
    expect(seen).toEqual([2, 2]);
    db.pragma("temp_store = FILE");
    // the file cannot grow (SQLITE_FULL mid-batch): the batch throws, nothing kept, setting back
    const before = usageRows(db).length;
    db.pragma(`max_page_count = ${Number(db.pragma("page_count", { simple: true }))}`);
    const many = Array.from({ length: 2000 }, (_, i) => call(`full-${i}`));
    expect(() => biller.bill(batch(many))).toThrow(expect.objectContaining({ code: "SQLITE_FULL" }));
    expect(db.inTransaction).toBe(false);
    expect(tempStore()).toBe(1);
    db.pragma("max_page_count = 1073741823");
    // another process holds the write lock (SQLITE_BUSY at BEGIN IMMEDIATE): same
    const other = new Database(path);
    other.exec("BEGIN IMMEDIATE");
    db.pragma("busy_timeout = 20");
    expect(() => biller.bill(batch([call("u2")]))).toThrow(expect.objectContaining({ code: "SQLITE_BUSY" }));
    expect(tempStore()).toBe(1);
    other.exec("ROLLBACK");
    other.close();
    expect(usageRows(db)).toHaveLength(before);
    expect(biller.bill(batch(many)).billed).toBe(many.length);
    expect(tempStore()).toBe(1);
    expectConsistent(db);
    db.close();
  });

  it("temp_store: an open but empty temp database (a migrated database has one) does not stop it", () => {
    const { db, biller, seen } = tempStoreWorld();
    // Migrations that rebuild tables (ALTER TABLE … RENAME) open it; a read of its schema does too.
    expect(db.prepare("SELECT count(*) AS n FROM temp.sqlite_schema").get()).toEqual({ n: 0 });
    expect(tempOpen(db)).toBe(true);
    expect(db.pragma("temp_store", { simple: true })).toBe(0);
    const first = call("u1");
    expect(biller.bill(batch([first, call("u2")])).billed).toBe(2);
    expect(biller.bill(batch([call("u3")])).billed).toBe(1);
    expect(seen).toEqual([2, 2]);
    expect(db.pragma("temp_store", { simple: true })).toBe(0);
    // the change closed the empty temp database; the connection's statements work on
    expect(tempOpen(db)).toBe(false);
    expect(biller.bill(batch([first])).duplicates).toBe(1);
    expectConsistent(db);
    db.close();
  });
  it("temp_store: a connection with TEMP tables keeps them (changing temp_store would drop them)", () => {
    const { db, biller, seen } = tempStoreWorld();
    db.pragma("temp_store = FILE");
    // as loadArchiveRows (src/retention) fills temp.usage_archive_rows for a report
    db.exec("CREATE TEMP TABLE kept (x); INSERT INTO kept VALUES (1), (2)");
    expect(biller.bill(batch([call("u1"), call("u2")])).billed).toBe(2);
    expect(db.prepare("SELECT count(*) AS n FROM temp.kept").get()).toEqual({ n: 2 });
    expect(seen).toEqual([1]);
    expect(db.pragma("temp_store", { simple: true })).toBe(1);
    // once the temp database is gone, batches journal in memory again
    db.exec("DROP TABLE temp.kept");
    expectConsistent(db);
    db.close();
  });
  it("temp_store: a TEMP trigger on a main table survives a batch and still fires", () => {
    const { db, biller, seen } = tempStoreWorld();
    db.exec(
      `CREATE TEMP TABLE audit (n); CREATE TEMP TRIGGER t_ins AFTER INSERT ON main.usage_events BEGIN INSERT INTO audit VALUES (NEW.id); END`,
    );
    db.exec("DELETE FROM temp.audit"); // trigger alone would still hold; keep the table too
    expect(biller.bill(batch([call("u1"), call("u2")])).billed).toBe(2);
    expect(seen).toEqual([0]);
    expect(db.prepare("SELECT count(*) AS n FROM temp.audit").get()).toEqual({ n: 2 });
    db.close();
  });
  it("temp_store: a lone TEMP trigger (no temp table) survives", () => {
    const { db, biller, seen } = tempStoreWorld();
    db.exec(
      `CREATE TABLE main.audit2 (n); CREATE TEMP TRIGGER t_ins2 AFTER INSERT ON main.usage_events BEGIN INSERT INTO main.audit2 VALUES (NEW.id); END`,
    );
    expect(biller.bill(batch([call("u1")])).billed).toBe(1);
    expect(seen).toEqual([0]);
    expect(biller.bill(batch([call("u3")])).billed).toBe(1);
    expect(db.prepare("SELECT count(*) AS n FROM main.audit2").get()).toEqual({ n: 2 });
    db.close();
  });
  it("temp_store: a TEMP view survives", () => {
    const { db, biller, seen } = tempStoreWorld();
    db.exec(`CREATE TEMP VIEW v AS SELECT count(*) AS n FROM main.usage_events`);
    const v = db.prepare("SELECT n FROM temp.v");
    expect(biller.bill(batch([call("u1")])).billed).toBe(1);
    expect(seen).toEqual([0]);
    expect(v.get()).toEqual({ n: 1 });
    db.close();
  });
  it("temp_store: statements prepared before (main, attached, temp.sqlite_schema) work after the temp db is closed", () => {
    const { db, biller, seen, path } = tempStoreWorld();
    const aux = `${path}.aux`;
    db.prepare("ATTACH ? AS aux").run(aux);
    db.exec("CREATE TABLE aux.t (x); INSERT INTO aux.t VALUES (1), (2), (3)");
    db.exec("ATTACH '' AS scratch; CREATE TABLE scratch.s (x); INSERT INTO scratch.s VALUES (7)");
    db.exec("CREATE TEMP TABLE gone (x); DROP TABLE temp.gone");
    expect(tempOpen(db)).toBe(true);
    const sAux = db.prepare("SELECT sum(x) AS s FROM aux.t");
    const sScratch = db.prepare("SELECT sum(x) AS s FROM scratch.s");
    const sMain = db.prepare("SELECT count(*) AS n FROM usage_events");
    const sTemp = db.prepare("SELECT count(*) AS n FROM temp.sqlite_schema");
    const sIns = db.prepare("INSERT INTO aux.t VALUES (?)");
    expect(biller.bill(batch([call("u1"), call("u2")])).billed).toBe(2);
    expect(seen).toEqual([2]);
    expect(tempOpen(db)).toBe(false);
    expect(sAux.get()).toEqual({ s: 6 });
    expect(sScratch.get()).toEqual({ s: 7 });
    expect(sMain.get()).toEqual({ n: 2 });
    expect(sTemp.get()).toEqual({ n: 0 });
    sIns.run(4);
    expect(sAux.get()).toEqual({ s: 10 });
    // temp reopened by the statement above, empty: next batch again in memory, then a TEMP table blocks it
    expect(biller.bill(batch([call("u3")])).billed).toBe(1);
    db.exec("CREATE TEMP TABLE k (x); INSERT INTO k VALUES (1)");
    expect(biller.bill(batch([call("u4")])).billed).toBe(1);
    expect(seen).toEqual([2, 2, 0]);
    expect(db.prepare("SELECT count(*) AS n FROM temp.k").get()).toEqual({ n: 1 });
    expectConsistent(db);
    db.close();
  });
  it("temp_store: a batch started while an iterator is open on the connection leaves temp_store as it was", () => {
    const { db, biller } = tempStoreWorld();
    expect(biller.bill(batch([call("u1"), call("u2")])).billed).toBe(2);
    db.pragma("temp_store = FILE");
    const it = db.prepare("SELECT id FROM usage_events").iterate();
    it.next();
    let err: unknown = null;
    try {
      biller.bill(batch([call("u3")]));
    } catch (e) {
      err = e;
    }
    it.return?.();
    expect(String(err)).toMatch(/busy/);
    expect(db.pragma("temp_store", { simple: true })).toBe(1);
    db.close();
  });
  it("calls of account ids with a lone surrogate are held, not debited to the one account UTF-8 would make of them", () => {
    const { db, biller } = world();
    const r = biller.bill(batch([call("x\ud800"), call("x\ud801"), call("x\ud83d\ude00"), call("u9")]));
    expect({ billed: r.billed, held: r.held }).toEqual({ billed: 2, held: 2 });
    expect(r.heldReasons.map((h) => h.reason)).toEqual([
      "account id holds a lone UTF-16 surrogate (stored as UTF-8 it would merge with other accounts)",
      "account id holds a lone UTF-16 surrogate (stored as UTF-8 it would merge with other accounts)",
    ]);
    // the emoji (a surrogate pair) is an ordinary id, kept as written
    expect(usageRows(db).map((u) => u.account_id)).toEqual(["x\ud83d\ude00", "u9"]);
    expectConsistent(db);
    db.close();
  });
});
