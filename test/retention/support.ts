import type { Db } from "../../src/db/index.js";
import { createUsageWriter, type NewUsageEventRow } from "../../src/meter/usage-repo.js";
import { rng } from "../support/rng.js";
import { grantEntries, usageRow } from "../support/usage-data.js";

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

/**
 * Rows per transaction of `writeUsage`. On PostgreSQL, SSI state is server-wide (every schema,
 * every test file): while one serializable transaction stays open, the transactions committed
 * after it start are kept, and past 10 per server process slot (1,220 on a default server)
 * PostgreSQL summarizes them and judges conflicts conservatively, so other files' transactions
 * fail with 40001 on every retry until the long one ends (seen: an archive run in another
 * schema failing while this wrote 21,000 rows in one ~30 s transaction). A chunk of this many
 * rows commits in well under a second.
 */
const CHUNK_ROWS = 500;

/**
 * Deterministic random usage rows in [fromMs, toMs), written through the one usage writer, in
 * transactions of at most `CHUNK_ROWS` rows (the grants in the first).
 */
export function writeUsage(db: Db, n: number, fromMs: number, toMs: number, seed = 1): void {
  const { int, pick } = rng(seed);
  const writer = createUsageWriter(db);
  const entry = db.transaction(() => grantEntries(db, USERS, fromMs, (u) => `g:${u}:${seed}`))();
  for (let from = 0; from < n; from += CHUNK_ROWS) {
    const rows: NewUsageEventRow[] = [];
    for (let i = from; i < Math.min(n, from + CHUNK_ROWS); i++) {
      const [provider, model] = pick(MODELS);
      const input = int(5000);
      const output = int(2000);
      const account = pick(USERS);
      rows.push(
        usageRow({
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
          cache_write_tokens: int(4) === 0 ? int(3000) : 0,
          cost_pico_usd: BigInt(int(1e9)) * 1000n,
          charge_micro_credits: int(100_000),
          // the charge's USD value at its own rate (migration 42); every third row billed before
          // (rate unknown). Not drawn from the generator: the other columns stay as they were.
          charge_pico_usd: i % 3 === 0 ? null : BigInt(i) * 7_919_000n + 1n,
          dedupe_key: `k${seed}-${i}`,
          ledger_entry_id: entry.get(account) as number,
          source_ref: `f@${i}`,
          error_message: i % 97 === 0 ? 'quote " and \\n newline' : null,
          recorded_cost_pico_usd: i % 50 === 0 ? 9_007_199_254_740_993n : null,
          price_source: int(5) === 0 ? "provider-billed" : "table",
          created_at_ms: fromMs,
        }),
      );
    }
    writer.insertMany(rows); // its own transaction
  }
}
