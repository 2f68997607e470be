import { createLedger } from "../../src/credits/index.js";
import { type Db, isPostgres } from "../../src/db/index.js";
import { createEnforcer, DEFAULT_SETTINGS } from "../../src/limits/index.js";
import { createUsageWriter } from "../../src/meter/usage-repo.js";
import {
  createProviderService,
  PROVIDER_IDS,
  type ProviderId,
  type ProvidersSettings,
} from "../../src/providers/index.js";
import type { FakeProviders } from "../support/fake-providers.js";

/** Distinct, recognisable keys: a test greps logs, the database and answers for them. */
export const KEYS: Record<ProviderId, string> = {
  openrouter: "sk-or-v1-SECRETopenrouter0123456789abcdef",
  openai: "sk-admin-SECRETopenai0123456789abcdef",
  anthropic: "sk-ant-admin01-SECRETanthropic0123456789",
  moonshot: "sk-SECRETmoonshot0123456789abcdef",
  deepseek: "sk-SECRETdeepseek0123456789abcdef",
};

/** Settings with every provider's key and base URL pointing at the fake. */
export function settingsFor(fake: FakeProviders, over: Partial<ProvidersSettings> = {}): ProvidersSettings {
  const urls = fake.baseUrls();
  const keys = Object.fromEntries(
    PROVIDER_IDS.map((id) => [id, { value: KEYS[id], file: null, baseUrl: urls[id] }]),
  ) as ProvidersSettings["keys"];
  return {
    keys,
    openclaw: { enabled: false, stateDirs: [] },
    pollMs: 900_000,
    timeoutMs: 2_000,
    alerts: {
      lowBalanceMicro: 5_000_000,
      lowRunwayHours: 72,
      spikeFactor: 4,
      driftPct: 10,
      driftMinMicro: 1_000_000,
    },
    ...over,
  };
}

export function serviceFor(
  db: Db,
  fake: FakeProviders,
  over: Partial<ProvidersSettings> = {},
  withAlerts = true,
) {
  const lines: string[] = [];
  const enforcer = withAlerts ? createEnforcer(db, DEFAULT_SETTINGS) : null;
  const service = createProviderService({
    db,
    settings: settingsFor(fake, over),
    enforcer,
    log: (level, msg) => lines.push(`${level} ${msg}`),
  });
  return { service, lines, enforcer };
}

let seq = 0;
/** One metered model call of `provider` costing `costMicroUsd` at `tsMs`, written like the biller writes it. */
export function meterCall(
  db: Db,
  provider: string,
  costMicroUsd: number,
  tsMs: number,
  unknownModel = false,
): void {
  const ledger = createLedger(db);
  const writer = createUsageWriter(db);
  db.transaction(() => {
    const n = seq++;
    const posted = ledger.post({
      accountId: "telegram:1",
      kind: "usage",
      amountMicroCredits: BigInt(-costMicroUsd),
      idempotencyKey: `usage:pt-${n}-${tsMs}`,
      nowMs: tsMs,
    });
    writer.insert({
      dedupe_key: `pt-${n}-${tsMs}`,
      ledger_entry_id: posted.entryId,
      account_id: "telegram:1",
      agent_id: "main",
      session_id: null,
      session_key: null,
      source: "jsonl",
      source_ref: `f@${n}`,
      provider,
      model: unknownModel ? "mystery-1" : "m-1",
      api: null,
      response_id: null,
      message_ts_ms: tsMs,
      input_tokens: 100,
      output_tokens: 10,
      cache_read_tokens: 0,
      cache_write_tokens: 0,
      cache_write_1h_tokens: 0,
      total_tokens: 110,
      reasoning_tokens: null,
      stop_reason: null,
      is_error: 0,
      error_message: null,
      recorded_cost_pico_usd: null,
      cost_pico_usd: BigInt(costMicroUsd) * 1_000_000n,
      table_cost_pico_usd: null,
      charge_micro_credits: costMicroUsd,
      price_source: unknownModel ? "fallback" : "table",
      price_version: "test",
      unknown_model: unknownModel ? 1 : 0,
      anomaly: null,
      created_at_ms: tsMs,
    });
  })();
}

/** Every text column of every table, concatenated: a key must not be anywhere in it. */
export function dumpDb(db: Db): string {
  const tables = db
    .prepare(
      isPostgres(db)
        ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
        : "SELECT name FROM sqlite_master WHERE type = 'table'",
    )
    .all() as {
    name: string;
  }[];
  return tables
    .map((t) =>
      JSON.stringify(db.prepare(`SELECT * FROM "${t.name}"`).all(), (_k, v) =>
        typeof v === "bigint" ? String(v) : v,
      ),
    )
    .join("\n");
}
