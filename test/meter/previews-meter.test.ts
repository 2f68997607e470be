import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { exitCodeOf } from "../../src/cli/errors.js";
import { createLedger } from "../../src/credits/index.js";
import { AppError } from "../../src/errors.js";
import { purgePreviews, recentCalls } from "../../src/meter/calls.js";
import { createUsageWriter, type NewUsageEventRow } from "../../src/meter/usage-repo.js";
import { runCli } from "../support/cli.js";
import { meterFor, type TempWorld, tempWorld } from "../support/meter-env.js";
import { createTempDb } from "../support/temp-db.js";

/**
 * Redacted previews through the meter (docs/previews.md): taken from the transcript's user line
 * and reply text in both sources, redacted before they are written (the secrets are nowhere in the
 * database file), off by default, never part of billing or dedupe, purged per user.
 */

const T0 = Date.UTC(2026, 10, 22, 18, 0, 0);
const SECRETS = [
  "sk-proj-Zq9Xw8Cv7Bn6Mm5Ll4Kk3",
  "alice@example.org",
  "4111 1111 1111 1111",
  "+44 20 7946 0958",
];
const USER_TEXT = `my key is ${SECRETS[0]} and mail ${SECRETS[1]}, card ${SECRETS[2]}`;
const REPLY_TEXT = `I will call you at ${SECRETS[3]} about $1,234.56`;

function lines(session: string): string[] {
  return [
    JSON.stringify({
      type: "session",
      version: 3,
      id: session,
      timestamp: new Date(T0).toISOString(),
      cwd: "/home/alice",
    }),
    JSON.stringify({
      type: "message",
      id: "u1",
      timestamp: new Date(T0 + 1).toISOString(),
      message: { role: "user", content: [{ type: "text", text: USER_TEXT }], timestamp: T0 },
    }),
    JSON.stringify({
      type: "message",
      id: "a1",
      timestamp: new Date(T0 + 700).toISOString(),
      message: {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "never shown" },
          { type: "text", text: REPLY_TEXT },
        ],
        provider: "mock",
        model: "mock-gpt",
        usage: { input: 100, output: 20, cacheRead: 0, cacheWrite: 0, totalTokens: 120 },
        stopReason: "stop",
        timestamp: T0 + 2,
      },
    }),
  ];
}

/** A usage row of `account` (the columns a purge does not read). */
function usageRow(key: string, entryId: number, account: string): NewUsageEventRow {
  return {
    dedupe_key: key,
    ledger_entry_id: entryId,
    account_id: account,
    agent_id: "main",
    session_id: null,
    session_key: null,
    source: "push",
    source_ref: "t",
    provider: "mock",
    model: "mock-gpt",
    api: null,
    response_id: null,
    message_ts_ms: T0,
    input_tokens: 1,
    output_tokens: 1,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    cache_write_1h_tokens: 0,
    total_tokens: 2,
    reasoning_tokens: null,
    stop_reason: null,
    is_error: 0,
    error_message: null,
    recorded_cost_pico_usd: null,
    cost_pico_usd: 1n,
    table_cost_pico_usd: null,
    charge_micro_credits: 1,
    price_source: "table",
    price_version: "t",
    unknown_model: 0,
    anomaly: null,
    created_at_ms: T0,
  };
}

function world(): TempWorld {
  const w = tempWorld();
  const dir = join(w.stateDir, "agents", "main", "sessions");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "s1.jsonl"), `${lines("s1").join("\n")}\n`);
  writeFileSync(
    join(dir, "sessions.json"),
    JSON.stringify({ "agent:main:telegram:direct:5550101": { sessionId: "s1", updatedAt: T0 } }),
  );
  return w;
}

/** The database file and its WAL, as bytes (after a checkpoint): where a leak would show. */
function dbBytes(w: TempWorld): string {
  w.db.pragma("wal_checkpoint(TRUNCATE)");
  let s = readFileSync(w.dbPath).toString("latin1");
  if (existsSync(`${w.dbPath}-wal`)) s += readFileSync(`${w.dbPath}-wal`).toString("latin1");
  return s;
}

let worlds: TempWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.cleanup();
  worlds = [];
});

describe("previews through the meter", () => {
  it("JSONL: stored redacted, never the original; off by default; billing and dedupe keys unchanged", async () => {
    const on = world();
    const off = world();
    worlds.push(on, off);
    await meterFor(on, { readerThread: false, previewChars: 160 }).runOnce();
    await meterFor(off, { readerThread: false }).runOnce();
    const row = (w: TempWorld) =>
      w.db
        .prepare(
          "SELECT dedupe_key, account_id, cost_pico_usd, charge_micro_credits, latency_ms, preview_user, preview_reply FROM usage_events",
        )
        .get() as Record<string, unknown>;
    const a = row(on);
    const b = row(off);
    expect(a.preview_user).toBe("my key is [secret] and mail [email], card [card]");
    expect(a.preview_reply).toBe("I will call you at [phone] about [amount]");
    expect(b.preview_user).toBeNull();
    expect(b.preview_reply).toBeNull();
    for (const k of ["dedupe_key", "account_id", "cost_pico_usd", "charge_micro_credits", "latency_ms"])
      expect(a[k], k).toEqual(b[k]);
    expect(a.latency_ms).toBe(700);
    const bytes = dbBytes(on);
    for (const s of [...SECRETS, "never shown", "Zq9Xw8Cv7"]) expect(bytes).not.toContain(s);
  });

  it("a short preview length cuts after redaction", async () => {
    const w = world();
    worlds.push(w);
    await meterFor(w, { readerThread: false, previewChars: 20 }).runOnce();
    const r = w.db.prepare("SELECT preview_user AS u FROM usage_events").get() as { u: string };
    expect(r.u).toBe("my key is [secret] …");
    expect(dbBytes(w)).not.toContain("sk-proj");
  });

  it("OpenClaw SQLite: previews from the rows' user line and reply, resumed across polls too", async () => {
    const w = tempWorld();
    worlds.push(w);
    const dir = join(w.stateDir, "agents", "main", "agent");
    mkdirSync(dir, { recursive: true });
    const oc = new Database(join(dir, "openclaw-agent.sqlite"));
    oc.exec(`CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT,
               event_zstd BLOB, created_at INTEGER, PRIMARY KEY (session_id, seq))`);
    const ins = oc.prepare("INSERT INTO transcript_events (session_id, seq, event_json) VALUES ('s9', ?, ?)");
    const l = lines("s9");
    ins.run(1, l[0]);
    ins.run(2, l[1]);
    await meterFor(w, { readerThread: false, previewChars: 160 }).runOnce();
    ins.run(3, l[2]);
    oc.close();
    await meterFor(w, { readerThread: false, previewChars: 160 }).runOnce();
    const r = w.db.prepare("SELECT latency_ms, preview_user, preview_reply FROM usage_events").get();
    expect(r).toEqual({
      latency_ms: 700,
      preview_user: "my key is [secret] and mail [email], card [card]",
      preview_reply: "I will call you at [phone] about [amount]",
    });
    for (const s of SECRETS) expect(dbBytes(w)).not.toContain(s);
  });

  it("recentCalls shows them; purge-previews (function and CLI) nulls one user's only; deleting rows removes them", async () => {
    const w = world();
    worlds.push(w);
    // a second user with a preview of their own
    const dir = join(w.stateDir, "agents", "main", "sessions");
    writeFileSync(join(dir, "s2.jsonl"), `${lines("s2").join("\n").replaceAll("mock-gpt", "mock-mini")}\n`);
    writeFileSync(
      join(dir, "sessions.json"),
      JSON.stringify({
        "agent:main:telegram:direct:5550101": { sessionId: "s1", updatedAt: T0 },
        "agent:main:telegram:direct:777": { sessionId: "s2", updatedAt: T0 },
      }),
    );
    await meterFor(w, { readerThread: false, previewChars: 160 }).runOnce();
    const users = (
      w.db.prepare("SELECT account_id AS a FROM usage_events ORDER BY a").all() as { a: string }[]
    ).map((r) => r.a);
    expect(users).toEqual(["telegram:5550101", "telegram:777"]);
    const calls = recentCalls(w.db, "telegram:5550101");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      latencyMs: 700,
      previewReply: "I will call you at [phone] about [amount]",
    });

    expect(purgePreviews(w.db, "telegram:5550101")).toEqual({ rows: 1, held: 0 });
    expect(recentCalls(w.db, "telegram:5550101")[0]).toMatchObject({ previewUser: null, previewReply: null });
    expect(recentCalls(w.db, "telegram:777")[0]?.previewUser).not.toBeNull();
    // billing untouched
    expect(recentCalls(w.db, "telegram:5550101")[0]?.chargeMicroCredits).toBeGreaterThan(0);

    const env = { CREDITGATE_DB: w.dbPath };
    const r = await runCli(env, ["purge-previews", "telegram:777", "--json"]);
    expect(r.error).toBeNull();
    expect(JSON.parse(r.out)).toEqual({ userId: "telegram:777", rows: 1, held: 0 });
    const again = await runCli(env, ["purge-previews", "telegram:777", "--json"]);
    expect(JSON.parse(again.out)).toMatchObject({ rows: 0 });
    expect(
      w.db.prepare("SELECT COUNT(*) AS n FROM usage_events WHERE preview_user IS NOT NULL").get(),
    ).toEqual({ n: 0 });
    // Purged text does not linger in freed pages of the file or in the WAL (secure_delete + checkpoint).
    expect(dbBytes(w)).not.toContain("I will call you at");

    // An id creditgate never saw: a clear error and a non-zero exit, not "0 rows" (a typo is not a purge).
    const typo = await runCli(env, ["purge-previews", "telegram:7777"]);
    expect(typo.error).toBeInstanceOf(AppError);
    expect(typo.error?.message).toMatch(/no user "telegram:7777".*nothing purged/);
    expect(exitCodeOf(typo.error, () => {}, false)).not.toBe(0);
    expect(() => purgePreviews(w.db, "nobody")).toThrow(/no user "nobody"/);
  });

  it("purged text is not in the database file's bytes after purge + checkpoint; the same purge without secure_delete leaves it", () => {
    // The control shows the check can fail: without secure_delete (as before this was fixed),
    // SQLite frees without zeroing: page splits while the rows are written and the UPDATE … = NULL
    // leave copies of old cells in the pages, and the checkpoint copies those pages to the file.
    const purged = (how: "purgePreviews" | "without secure_delete"): boolean => {
      const t = createTempDb();
      try {
        if (how === "without secure_delete") t.db.pragma("secure_delete = OFF");
        const ledger = createLedger(t.db);
        const writer = createUsageWriter(t.db);
        t.db.transaction(() => {
          for (let i = 0; i < 300; i++) {
            const account = i % 3 === 0 ? "telegram:9" : "telegram:8";
            const entryId = ledger.post({
              accountId: account,
              kind: "grant",
              amountMicroCredits: 1n,
              idempotencyKey: `g${i}`,
              nowMs: T0,
            }).entryId;
            writer.insert({
              ...usageRow(`k${i}`, entryId, account),
              preview_user:
                account === "telegram:9" ? `PURGEME${i} what did the report say about` : `keep ${i}`,
              preview_reply: account === "telegram:9" ? `REPLYGONE${i} it said very little` : null,
            });
          }
        })();
        t.db.pragma("wal_checkpoint(TRUNCATE)");
        if (how === "purgePreviews") expect(purgePreviews(t.db, "telegram:9").rows).toBe(100);
        else {
          t.db
            .prepare("UPDATE usage_events SET preview_user = NULL, preview_reply = NULL WHERE account_id = ?")
            .run("telegram:9");
          t.db.pragma("wal_checkpoint(TRUNCATE)");
        }
        expect(
          t.db.prepare("SELECT COUNT(*) AS n FROM usage_events WHERE preview_user LIKE 'PURGEME%'").get(),
        ).toEqual({ n: 0 });
        let bytes = readFileSync(t.path).toString("latin1");
        if (existsSync(`${t.path}-wal`)) bytes += readFileSync(`${t.path}-wal`).toString("latin1");
        expect(bytes).toContain("keep 1"); // the other user's previews stay
        return bytes.includes("PURGEME") || bytes.includes("REPLYGONE");
      } finally {
        t.cleanup();
      }
    };
    expect(purged("without secure_delete")).toBe(true);
    expect(purged("purgePreviews")).toBe(false);
  });

  it("report --user U --previews lists the calls with latency and previews (table and JSON)", async () => {
    const w = world();
    worlds.push(w);
    await meterFor(w, { readerThread: false, previewChars: 160 }).runOnce();
    const env = { CREDITGATE_DB: w.dbPath, CREDITGATE_PREVIEWS: "on" };
    const args = [
      "report",
      "--from",
      "2026-11-22",
      "--to",
      "2026-11-22",
      "--user",
      "telegram:5550101",
      "--previews",
    ];
    const t = await runCli(env, args);
    expect(t.error).toBeNull();
    expect(t.out).toContain("my key is [secret]");
    expect(t.out).toContain("700");
    const j = await runCli(env, [...args, "--json"]);
    const body = JSON.parse(j.out);
    expect(body.calls[0]).toMatchObject({ latencyMs: 700, previewUser: expect.stringContaining("[email]") });
    expect(body.totals).toMatchObject({ avgLatencyMs: 700, p95LatencyMs: 700, latencySamples: 1 });
    const bad = await runCli(env, ["report", "--previews"]);
    expect(bad.error?.message).toMatch(/--user/);
  });
});
