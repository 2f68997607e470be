import { createLedger } from "../../src/credits/index.js";
import type { Db } from "../../src/db/index.js";
import { createUsageWriter, type NewUsageEventRow } from "../../src/meter/usage-repo.js";

const KEYS = [
  "agent:main:main",
  "agent:main:telegram:direct:1",
  "agent:main:telegram:group:-100:topic:3",
  "agent:main:subagent:abc",
  "agent:main:cron:nightly:run:1",
  "agent:main:hook:gmail",
  "agent:main:heartbeat",
  null,
];
const USERS = ["telegram:1", "telegram:2", "agent:main", "discord:x"];
const MODELS = [
  ["anthropic", "claude-sonnet-4-5"],
  ["openai", "gpt-5"],
] as const;

/** Deterministic random usage rows in [fromMs, toMs), written through the one usage writer. */
export function writeUsage(db: Db, n: number, fromMs: number, toMs: number, seed = 1): void {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (k: number) => Math.floor(next() * k);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const ledger = createLedger(db);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    const entry = new Map<string, number>();
    for (const u of USERS)
      entry.set(
        u,
        ledger.post({
          accountId: u,
          kind: "grant",
          amountMicroCredits: 1n,
          idempotencyKey: `g:${u}:${seed}`,
          nowMs: fromMs,
        }).entryId,
      );
    for (let i = 0; i < n; i++) {
      const [provider, model] = pick(MODELS);
      const input = int(5000);
      const output = int(2000);
      const account = pick(USERS);
      const row: NewUsageEventRow = {
        account_id: account,
        agent_id: pick(["main", "ops"]),
        session_key: pick(KEYS),
        session_id: int(3) === 0 ? null : `s${int(4)}`,
        provider,
        model,
        message_ts_ms: fromMs + int(toMs - fromMs),
        is_error: int(8) === 0 ? 1 : 0,
        input_tokens: input,
        output_tokens: output,
        cache_read_tokens: 0,
        cache_write_tokens: int(4) === 0 ? int(3000) : 0,
        total_tokens: input + output,
        cost_pico_usd: BigInt(int(1e9)) * 1000n,
        charge_micro_credits: int(100_000),
        dedupe_key: `k${seed}-${i}`,
        ledger_entry_id: entry.get(account) as number,
        source: "jsonl",
        source_ref: `f@${i}`,
        api: null,
        response_id: null,
        cache_write_1h_tokens: 0,
        reasoning_tokens: null,
        stop_reason: null,
        error_message: i % 97 === 0 ? 'quote " and \\n newline' : null,
        recorded_cost_pico_usd: i % 50 === 0 ? 9_007_199_254_740_993n : null,
        table_cost_pico_usd: null,
        price_source: int(5) === 0 ? "provider-billed" : "table",
        price_version: "test",
        unknown_model: 0,
        anomaly: null,
        created_at_ms: fromMs,
      };
      row.total_tokens += row.cache_write_tokens;
      writer.insert(row);
    }
  })();
}
