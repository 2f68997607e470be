import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { ocStoreFromState } from "../../scripts/synth-oc-store.mjs";
import { synthRng, synthState } from "../../scripts/synth-state.mjs";
import { type Db, openDatabase } from "../../src/db/index.js";
import { synthMeter } from "../support/meter-env.js";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Meters `stateDir` once into a fresh database `<root>/<name>.sqlite`; `read` gives the answer. */
async function meterOnce<T>(
  root: string,
  name: string,
  stateDir: string,
  batchSize: number,
  read: (db: Db) => T,
) {
  const db = openDatabase(join(root, `${name}.sqlite`));
  try {
    await synthMeter(db, stateDir, batchSize).runOnce();
    return read(db);
  } finally {
    db.close();
  }
}

/** Per account and agent: calls, cost (pico-USD), charge. */
const perAccount = (db: Db) =>
  db
    .prepare(
      `SELECT account_id AS account, agent_id AS agent, COUNT(*) AS calls, SUM(cost_pico_usd) AS cost,
         SUM(charge_micro_credits) AS charge FROM usage_events GROUP BY 1, 2 ORDER BY 1, 2`,
    )
    .all();

/** Every billed call's agent and account, in billing order. */
const inOrder = (db: Db) =>
  db.prepare("SELECT agent_id AS g, account_id AS a FROM usage_events ORDER BY id").all() as {
    g: string;
    a: string;
  }[];

describe("bench:meter's OpenClaw SQLite stores (BENCH_SOURCE=sqlite)", () => {
  it("hold the same transcripts as the session files: the same calls billed to the same accounts", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-synth-oc-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 2,
      sessions: 12,
      turns: 4,
      users: 5,
      toolBytes: 300,
      seed: 9,
    });
    const built = ocStoreFromState(stateDir, join(dir, "oc"));
    expect(built.sessions).toBe(24);
    const fromFiles = await meterOnce(dir, "files", stateDir, 50, perAccount);
    const fromStores = await meterOnce(dir, "stores", join(dir, "oc"), 50, perAccount);
    expect(fromStores).toEqual(fromFiles);
    const calls = (fromStores as { calls: number; account: string }[]).reduce((n, r) => n + r.calls, 0);
    expect(calls).toBe(world.events);
    expect((fromStores as { account: string }[]).every((r) => r.account.startsWith("telegram:"))).toBe(true);
  });

  it("reads a store's sessions grouped by account (several sessions per user, small batches)", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-synth-oc-"));
    const stateDir = join(dir, "state");
    // 30 sessions of 4 users: the store's session order (random ids) interleaves the users
    synthState({ stateDir, agents: 1, sessions: 30, turns: 2, users: 4, toolBytes: 50, seed: 4 });
    ocStoreFromState(stateDir, join(dir, "oc"));
    // batches of 3 rows: the biller's own grouping (within a batch) plays no part
    const rows = await meterOnce(dir, "order", join(dir, "oc"), 3, inOrder);
    const runs = rows.filter((r, i) => i === 0 || rows[i - 1]?.a !== r.a).map((r) => r.a);
    const accounts = [...new Set(rows.map((r) => r.a))];
    expect(accounts.length).toBe(4);
    expect(runs).toEqual([...accounts].sort());
  });

  it("reads sessions without a key (billed to the operator) last: a call also in a keyed session goes to its user", async () => {
    dir = mkdtempSync(join(tmpdir(), "cg-synth-oc-"));
    const stateDir = join(dir, "state");
    const world = synthState({
      stateDir,
      agents: 1,
      sessions: 1,
      turns: 3,
      users: 1,
      toolBytes: 50,
      seed: 6,
    });
    ocStoreFromState(stateDir, join(dir, "oc"));
    // the same rows again under a session id no window names, which sorts before the original
    const store = new Database(join(dir, "oc", "agents", "main", "agent", "openclaw-agent.sqlite"));
    store.pragma("foreign_keys = OFF");
    store.exec(`INSERT INTO transcript_events (session_id, seq, event_json, created_at)
      SELECT '00000000-0000-4000-8000-000000000000', seq, event_json, created_at FROM transcript_events`);
    store.close();
    const rows = await meterOnce(dir, "order", join(dir, "oc"), 2000, inOrder);
    expect(rows.length).toBe(world.events);
    expect(new Set(rows.map((r) => r.a))).toEqual(new Set(["telegram:100000"]));
  });

  it("random stores, several polls of one meter: every call billed once, to its user, unkeyed copies included", async () => {
    // Break test of the account-grouped read order (plan() attributes every session up front):
    // unkeyed copies of keyed sessions, rows held back to a later poll, rewrite watermarks bumped
    // between polls, a window dropped (memory fallback), JSONL copies, batches of 1..8 rows, 31 polls.
    for (let seed = 1; seed <= 8; seed++) {
      const r = synthRng(seed * 7919);
      const root = mkdtempSync(join(tmpdir(), "cg-synth-oc-"));
      try {
        const stateDir = join(root, "state");
        const world = synthState({
          stateDir,
          agents: 1,
          sessions: 3 + Math.floor(r() * 12),
          turns: 1 + Math.floor(r() * 3),
          users: 1 + Math.floor(r() * 5),
          toolBytes: 30,
          seed,
        });
        const oc = join(root, "oc");
        ocStoreFromState(stateDir, oc);
        if (seed % 2 === 0)
          cpSync(join(stateDir, "agents", "main", "sessions"), join(oc, "agents", "main", "sessions"), {
            recursive: true,
          });
        const storePath = join(oc, "agents", "main", "agent", "openclaw-agent.sqlite");
        const store = new Database(storePath);
        store.pragma("foreign_keys = OFF");
        store.exec(
          "CREATE TABLE transcript_rewrite_watermarks (session_id TEXT PRIMARY KEY, generation TEXT)",
        );
        const sids = (
          store.prepare("SELECT session_id AS s FROM session_windows").all() as { s: string }[]
        ).map((x) => x.s);
        const pick = () => sids[Math.floor(r() * sids.length)] as string;
        // a tail of some sessions held back to the next poll (OpenClaw appends: seq only grows)
        const cut = new Map(
          sids.map((sid) => [sid, r() < 0.5 ? Math.floor(r() * 12) : Number.MAX_SAFE_INTEGER]),
        );
        const held = (
          store.prepare("SELECT * FROM transcript_events").all() as Record<string, unknown>[]
        ).filter((row) => (row.seq as number) > (cut.get(row.session_id as string) as number));
        // an unkeyed copy, sorting first, of a whole session read in the same (first) poll
        const whole = sids.find((sid) => cut.get(sid) === Number.MAX_SAFE_INTEGER);
        if (whole)
          store
            .prepare(`INSERT INTO transcript_events (session_id, seq, event_json, created_at)
            SELECT '00000000-early', seq, event_json, created_at FROM transcript_events WHERE session_id = ?`)
            .run(whole);
        const del = store.prepare("DELETE FROM transcript_events WHERE session_id = ? AND seq = ?");
        for (const h of held) del.run(h.session_id, h.seq);
        store.close();
        const db = openDatabase(join(root, "cg.sqlite"));
        try {
          const meter = synthMeter(db, oc, 1 + Math.floor(r() * 8));
          await meter.runOnce();
          const w = new Database(storePath);
          w.pragma("foreign_keys = OFF");
          const ins = w.prepare(
            "INSERT INTO transcript_events (session_id, seq, event_json, created_at) VALUES (?, ?, ?, ?)",
          );
          for (const h of held) ins.run(h.session_id, h.seq, h.event_json, h.created_at);
          // unkeyed copies (session ids no window names, one sorting before every real one) of
          // whole keyed sessions, some of whose rows this poll reads first
          for (const nsid of ["00000000-copy", "zzzzzzzz-copy"])
            w.prepare(`INSERT INTO transcript_events (session_id, seq, event_json, created_at)
              SELECT ?, seq, event_json, created_at FROM transcript_events WHERE session_id = ?`).run(
              nsid,
              pick(),
            );
          for (let i = 0; i < 3; i++)
            w.prepare("INSERT OR REPLACE INTO transcript_rewrite_watermarks VALUES (?, ?)").run(
              pick(),
              `g${i}`,
            );
          // a window gone (its rows kept): the session is attributed from the meter's memory
          w.prepare("DELETE FROM session_windows WHERE session_id = ?").run(pick());
          w.close();
          // windowless sessions are only listed by the full reconcile (every 30th poll)
          for (let i = 0; i < 30; i++) await meter.runOnce();
          const got = db
            .prepare(
              `SELECT account_id AS account, COUNT(*) AS calls, SUM(cost_pico_usd) AS cost,
                 SUM(charge_micro_credits) AS charge FROM usage_events GROUP BY 1 ORDER BY 1`,
            )
            .all();
          const want = [...world.perAccount]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([account, v]) => ({
              account,
              calls: v.events,
              cost: Number(v.costPico),
              charge: Number(v.chargeMicro),
            }));
          expect(got, `seed ${seed}`).toEqual(want);
        } finally {
          db.close();
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }
  });
});
