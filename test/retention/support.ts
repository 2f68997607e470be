import type { Db } from "../../src/db/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
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

/** Deterministic random usage rows in [fromMs, toMs), written through the one usage writer. */
export function writeUsage(db: Db, n: number, fromMs: number, toMs: number, seed = 1): void {
  const { int, pick } = rng(seed);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    const entry = grantEntries(db, USERS, fromMs, (u) => `g:${u}:${seed}`);
    for (let i = 0; i < n; i++) {
      const [provider, model] = pick(MODELS);
      const input = int(5000);
      const output = int(2000);
      const account = pick(USERS);
      writer.insert(
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
  })();
}
