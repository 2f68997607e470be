import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "vitest";
import { SYNTH_PRICES } from "../../scripts/synth-state.mjs";
import { createLedger } from "../../src/credits/index.js";
import { type Db, openDatabase } from "../../src/db/index.js";
import { createBiller } from "../../src/meter/biller.js";
import { createMeter, type MeterOptions } from "../../src/meter/meter.js";
import { createPricer, parsePriceOverrides } from "../../src/meter/pricing.js";
import type { ParsedUsage } from "../../src/meter/types.js";

export const FIXTURES = resolve(import.meta.dirname, "../../../shared/fixtures");
/** `../shared/cases/` beside the checkout: small real inputs with their right values (read-only). */
export const CASES = resolve(import.meta.dirname, "../../../shared/cases");
export const CB_FIXTURE = join(FIXTURES, "clawdbot-2026.1.24-3");
export const OC_FIXTURE = join(FIXTURES, "openclaw-2026.9.6");

/** The prices both fixture runs were configured with (USD per 1M tokens). */
export const FIXTURE_PRICES = {
  "mock/mock-gpt": { input: "3", output: "15", cacheRead: "0.3", cacheWrite: "3.75" },
  "mock/mock-mini": { input: "0.15", output: "0.6", cacheRead: "0.075", cacheWrite: "0" },
  "mockanthropic/mock-claude": { input: "1", output: "5", cacheRead: "0.1", cacheWrite: "1.25" },
};

export function fixturePricer(mode: "calculate" | "auto" | "recorded" = "calculate") {
  return createPricer({
    mode,
    overrides: parsePriceOverrides(FIXTURE_PRICES, "fixture prices"),
    fallback: { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" },
  });
}

/**
 * A calculate-mode pricer with the prices of `scripts/synth-state.mjs` worlds (the ones
 * bench:meter uses), and the fixtures' fallback price.
 */
export function synthPricer() {
  return createPricer({
    mode: "calculate",
    overrides: parsePriceOverrides(SYNTH_PRICES, "synth prices"),
    fallback: { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" },
  });
}

/** A biller of `db` priced by `synthPricer`, no markup, 1 credit per USD. */
export function synthBiller(db: Db) {
  return createBiller(db, createLedger(db), {
    pricer: synthPricer(),
    markup: { num: 1n, den: 1n },
    creditsPerUsd: { num: 1n, den: 1n },
  });
}

/**
 * A pricer for a case dir (`test/cases/<name>`): its `prices.json` if it has one (a case whose
 * models the bundled table prices has none), the fixtures' fallback price otherwise.
 */
export function casePricer(caseDir: string, mode: "calculate" | "auto" | "recorded" = "calculate") {
  const pricesFile = join(caseDir, "prices.json");
  const prices = existsSync(pricesFile) ? JSON.parse(readFileSync(pricesFile, "utf8")) : {};
  return createPricer({
    mode,
    overrides: parsePriceOverrides(prices, "prices.json"),
    fallback: { input: "15", output: "75", cacheRead: "1.5", cacheWrite: "18.75" },
  });
}

/**
 * Meters a case dir's `state/` once into a fresh world (a copy: the case is never written), its
 * OpenClaw config and `credentials/` beside `agents/` copied too, priced by {@link casePricer}. The caller cleans the
 * world up.
 */
export async function meterCaseDir(
  caseDir: string,
  mode: "calculate" | "auto" | "recorded" = "calculate",
  extra: Partial<MeterOptions> = {},
) {
  const world = tempWorld(join(caseDir, "state"));
  // tempWorld copies agents/ only: a case's OpenClaw config sits beside it
  for (const f of ["openclaw.json", "clawdbot.json", "moltbot.json"]) {
    const from = join(caseDir, "state", f);
    if (existsSync(from)) copyFileSync(from, join(world.stateDir, f));
  }
  // and the channels' credentials (WhatsApp's LID mappings)
  const credentials = join(caseDir, "state", "credentials");
  if (existsSync(credentials)) cpSync(credentials, join(world.stateDir, "credentials"), { recursive: true });
  const meter = meterFor(world, { pricer: casePricer(caseDir, mode), ...extra });
  const s = await meter.runOnce();
  meter.close();
  return { s, world };
}

/** A meter of `db` over one state dir (every agent), priced by `synthPricer`, in batches of `batchSize` calls. */
export function synthMeter(db: Db, stateDir: string, batchSize: number) {
  return createMeter({
    db,
    stateDirs: [{ path: stateDir, via: "test" }],
    agents: null,
    pricer: synthPricer(),
    markup: { num: 1n, den: 1n },
    creditsPerUsd: { num: 1n, den: 1n },
    batchSize,
    pollMs: 20,
  });
}

export interface TempWorld {
  dir: string;
  stateDir: string;
  dbPath: string;
  db: Db;
  cleanup(): void;
}

/** A temp dir holding a state dir (optionally a copy of a fixture's `agents/`) and a DB. */
export function tempWorld(fixture?: string): TempWorld {
  const dir = mkdtempSync(join(tmpdir(), "creditgate-"));
  const stateDir = join(dir, "state");
  if (fixture) cpSync(join(fixture, "agents"), join(stateDir, "agents"), { recursive: true });
  else
    cpSync(join(CB_FIXTURE, "agents", "main", "agent"), join(stateDir, "agents", "main", "agent"), {
      recursive: true,
    });
  // fixture copies are read-only files: make them writable so tests can append and clean up
  chmodTree(stateDir);
  const dbPath = join(dir, "db", "creditgate.sqlite");
  const db = openDatabase(dbPath);
  return {
    dir,
    stateDir,
    dbPath,
    db,
    cleanup() {
      try {
        db.close();
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function chmodTree(p: string): void {
  const st = statSync(p);
  chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
  if (st.isDirectory()) for (const n of readdirSync(p)) chmodTree(join(p, n));
}

export function meterFor(w: TempWorld, extra: Partial<MeterOptions> = {}) {
  return createMeter({
    db: w.db,
    stateDirs: [{ path: w.stateDir, via: "test" }],
    agents: null,
    pricer: fixturePricer(),
    markup: { num: 1n, den: 1n },
    creditsPerUsd: { num: 1n, den: 1n },
    batchSize: 500,
    pollMs: 20,
    ...extra,
  });
}

export interface Totals {
  requests: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  costPico: bigint;
}

/** Sums of billed usage grouped by a column. */
export function totalsBy(db: Db, column: "account_id" | "agent_id" | "session_key"): Map<string, Totals> {
  const rows = db
    .prepare(
      `SELECT ${column} AS k, COUNT(*) AS requests, SUM(input_tokens) AS input, SUM(output_tokens) AS output,
              SUM(cache_read_tokens) AS cacheRead, SUM(cache_write_tokens) AS cacheWrite, SUM(cost_pico_usd) AS costPico
         FROM usage_events GROUP BY ${column}`,
    )
    .safeIntegers(true)
    .all() as Record<string, bigint | string>[];
  return new Map(
    rows.map((r) => [
      String(r.k),
      {
        requests: Number(r.requests),
        input: Number(r.input),
        output: Number(r.output),
        cacheRead: Number(r.cacheRead),
        cacheWrite: Number(r.cacheWrite),
        costPico: BigInt(r.costPico ?? 0n),
      },
    ]),
  );
}

/** USD decimal (as in summary.json) → pico-USD, exactly. */
export function usdToPico(usd: number): bigint {
  const [i = "0", f = ""] = String(usd).split(".");
  return BigInt(i + f.padEnd(12, "0").slice(0, 12));
}

export function balances(db: Db): Map<string, number> {
  const rows = db.prepare("SELECT id, balance_micro_credits AS b FROM accounts").all() as {
    id: string;
    b: number;
  }[];
  return new Map(rows.map((r) => [r.id, r.b]));
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value));
}

/**
 * One assistant transcript line (OpenClaw's JSONL format): a mock/mock-gpt call at `ts` (epoch
 * ms, also its id `a<ts>`) with `input` input and 10 output tokens, and `content` blocks (by
 * default a reply of its own, `ok <ts>`: the same reply and counts again within 30 s, with no user
 * line between, is a copy OpenClaw wrote again, not a call; see `isRewrittenCopy`).
 */
export function assistantLine(
  ts: number,
  input = 100,
  content: unknown[] = [{ type: "text", text: `ok ${ts}` }],
): string {
  return JSON.stringify({
    type: "message",
    id: `a${ts}`,
    parentId: null,
    timestamp: new Date(ts + 5).toISOString(),
    message: {
      role: "assistant",
      content,
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: { input, output: 10, cacheRead: 0, cacheWrite: 0, totalTokens: input + 10 },
      stopReason: "stop",
      timestamp: ts,
    },
  });
}

/**
 * A parsed call with every field: zero tokens, no response id, stop reason `stop`, then `over`;
 * `totalTokens` is always the sum of the four counts.
 */
export function parsedUsage(
  over: Partial<ParsedUsage> & Pick<ParsedUsage, "provider" | "model">,
): ParsedUsage {
  const u: ParsedUsage = {
    api: null,
    messageTsMs: 0,
    responseId: null,
    input: 0,
    output: 0,
    cacheRead: 0,
    cacheWrite: 0,
    totalTokens: 0,
    reasoningTokens: null,
    stopReason: "stop",
    isError: false,
    errorMessage: null,
    recordedCostUsd: null,
    ...over,
  };
  return { ...u, totalTokens: u.input + u.output + u.cacheRead + u.cacheWrite };
}

/** The account a fixture session (summary.json / sessions-plan.json) must be billed to. */
export function expectedAccount(s: {
  sessionKey: string;
  agentId: string;
  channel: string | null;
  peer: string | null;
}): string {
  if (s.sessionKey.endsWith(":main")) return `agent:${s.agentId}`;
  if (s.sessionKey.includes(":openai-user:")) return `openai-user:${s.sessionKey.split(":openai-user:")[1]}`;
  return `${s.channel}:${s.peer}`;
}

export { createLedger };

/** What a synthetic world bills one account (`synthState(...).perAccount`'s values). */
export interface AccountTotals {
  events: number;
  costPico: bigint;
  chargeMicro: bigint;
}

/**
 * Asserts every account's billed events, cost (pico-USD), balance and ledger sum (micro-credits)
 * are exactly `perAccount`'s, and that no other account exists: each call billed once, to its
 * account, and the ledger agrees with the balances.
 */
export function expectExactlyOnce(db: Db, perAccount: ReadonlyMap<string, AccountTotals>): void {
  const rows = db
    .prepare(
      `SELECT a.id, a.balance_micro_credits AS balance,
              (SELECT COUNT(*) FROM usage_events u WHERE u.account_id = a.id) AS events,
              (SELECT SUM(cost_pico_usd) FROM usage_events u WHERE u.account_id = a.id) AS cost,
              (SELECT SUM(amount_micro_credits) FROM ledger_entries l WHERE l.account_id = a.id) AS ledger
         FROM accounts a`,
    )
    .safeIntegers(true)
    .all() as { id: string; balance: bigint; events: bigint; cost: bigint; ledger: bigint }[];
  expect(rows.length).toBe(perAccount.size);
  for (const r of rows) {
    const e = perAccount.get(r.id);
    expect(e, r.id).toBeDefined();
    expect(Number(r.events), r.id).toBe(e?.events);
    expect(r.cost, r.id).toBe(e?.costPico);
    expect(r.balance, r.id).toBe(-(e?.chargeMicro ?? 0n));
    expect(r.ledger, r.id).toBe(r.balance);
  }
}

/** Accounts whose stored balance is not the sum of their ledger entries (0 when consistent). */
export function unbalancedAccounts(db: Db): number {
  return (
    db
      .prepare(
        "SELECT COUNT(*) AS n FROM accounts a WHERE balance_micro_credits != (SELECT SUM(amount_micro_credits) FROM ledger_entries l WHERE l.account_id = a.id)",
      )
      .get() as { n: number }
  ).n;
}

/** Makes every write to `db` fail with a real SQLITE_FULL (the file may not grow) until `unfill`. */
export function fill(db: Db): void {
  db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`);
}

/** Undoes `fill`: the file may grow again (SQLite's largest page count). */
export function unfill(db: Db): void {
  db.pragma("max_page_count = 1073741823");
}

/**
 * One complete assistant line of mock/mock-gpt (1000 input + 100 output tokens: 4500 µcredits
 * with `synthPricer`), with message timestamp `ts` (epoch ms) and provider response id
 * `responseId`: distinct values make a distinct call.
 */
export function mockCallLine(ts: number, responseId: string): string {
  return JSON.stringify({
    type: "message",
    id: `x${ts}`,
    timestamp: new Date(ts).toISOString(),
    message: {
      role: "assistant",
      provider: "mock",
      model: "mock-gpt",
      usage: { input: 1000, output: 100, cacheRead: 0, cacheWrite: 0, totalTokens: 1100 },
      timestamp: ts,
      responseId,
    },
  });
}
