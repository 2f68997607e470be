/**
 * Schema migrations. APPEND ONLY: never edit, renumber or reorder a shipped entry;
 * fix mistakes with a new migration. Each new entry needs its PostgreSQL twin, same version, in
 * src/db/pg-migrations.ts (test/db/pg-schema.test.ts compares the two schemas).
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  /**
   * True for a migration that rebuilds a table other tables reference (SQLite's documented
   * "12-step" table rebuild): `migrate` turns foreign keys OFF around its transaction (the pragma
   * is a no-op inside one), runs `PRAGMA foreign_key_check` before committing and rolls back on
   * any violation, then restores the connection's previous setting.
   */
  readonly rebuildsTables?: boolean;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "ledger-usage-and-meter-cursors",
    sql: `
    CREATE TABLE accounts (
      id TEXT PRIMARY KEY,                       -- 'telegram:123', 'agent:main', 'openai-user:frank'
      kind TEXT NOT NULL CHECK (kind IN ('user', 'agent')),
      balance_micro_credits INTEGER NOT NULL DEFAULT 0, -- may go below 0: usage that happened is always recorded
      created_at_ms INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE ledger_entries (
      id INTEGER PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts(id),
      kind TEXT NOT NULL CHECK (kind IN ('usage', 'grant', 'topup', 'refund', 'reversal', 'adjustment')),
      amount_micro_credits INTEGER NOT NULL,     -- signed: debits are negative
      balance_after_micro_credits INTEGER NOT NULL,
      idempotency_key TEXT NOT NULL UNIQUE,
      reason TEXT,
      ref TEXT,                                  -- usage event id, top-up id, ...
      created_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX ledger_entries_account ON ledger_entries(account_id, id);

    CREATE TABLE usage_events (
      id INTEGER PRIMARY KEY,
      dedupe_key TEXT NOT NULL UNIQUE,           -- sha256 of what the call IS (see src/meter/identity.ts)
      ledger_entry_id INTEGER NOT NULL REFERENCES ledger_entries(id),
      account_id TEXT NOT NULL REFERENCES accounts(id),
      agent_id TEXT NOT NULL,
      session_id TEXT,
      session_key TEXT,
      source TEXT NOT NULL,                      -- 'jsonl' | 'sqlite' | 'push'
      source_ref TEXT NOT NULL,                  -- where it was first seen (path@offset, db#session:seq)
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      api TEXT,
      response_id TEXT,
      message_ts_ms INTEGER NOT NULL,
      input_tokens INTEGER NOT NULL,
      output_tokens INTEGER NOT NULL,
      cache_read_tokens INTEGER NOT NULL,
      cache_write_tokens INTEGER NOT NULL,
      total_tokens INTEGER NOT NULL,
      reasoning_tokens INTEGER,
      stop_reason TEXT,
      is_error INTEGER NOT NULL DEFAULT 0,
      error_message TEXT,
      recorded_cost_pico_usd INTEGER,            -- the transcript's own usage.cost.total, for reconciliation
      cost_pico_usd INTEGER NOT NULL,            -- exact cost used for the charge
      charge_micro_credits INTEGER NOT NULL,
      price_source TEXT NOT NULL,                -- 'table' | 'override' | 'recorded' | 'fallback'
      price_version TEXT NOT NULL,               -- e.g. '@pydantic/genai-prices@0.1.8', 'overrides:<sha>'
      unknown_model INTEGER NOT NULL DEFAULT 0,
      created_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX usage_events_account_ts ON usage_events(account_id, message_ts_ms);
    CREATE INDEX usage_events_agent_ts ON usage_events(agent_id, message_ts_ms);
    CREATE INDEX usage_events_ts ON usage_events(message_ts_ms);

    -- Every sessionId ever seen, so archived/reset sessions still bill the right user.
    CREATE TABLE meter_sessions (
      agent_id TEXT NOT NULL,
      session_id TEXT NOT NULL,
      session_key TEXT,
      account_id TEXT,
      channel TEXT,
      first_seen_ms INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL,
      PRIMARY KEY (agent_id, session_id)
    ) STRICT;

    -- JSONL read cursors, by file identity (device + inode), not by path.
    CREATE TABLE meter_file_cursors (
      dev TEXT NOT NULL,
      ino TEXT NOT NULL,
      path TEXT NOT NULL,                        -- last path seen (follows renames)
      head_sha256 TEXT NOT NULL,                 -- hash of the first bytes: detects a recycled inode or rewrite
      offset_bytes INTEGER NOT NULL,
      size_bytes INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL,
      PRIMARY KEY (dev, ino)
    ) STRICT;

    -- Whole-file sources (.zst archives, SQLite archive rows) read once by content hash.
    CREATE TABLE meter_blobs_done (
      content_sha256 TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      events INTEGER NOT NULL,
      done_at_ms INTEGER NOT NULL
    ) STRICT;

    -- OpenClaw SQLite transcript cursors: last seq read per (database, session).
    CREATE TABLE meter_sqlite_cursors (
      db_path TEXT NOT NULL,
      session_id TEXT NOT NULL,
      last_seq INTEGER NOT NULL,
      rewrite_generation INTEGER,
      updated_at_ms INTEGER NOT NULL,
      PRIMARY KEY (db_path, session_id)
    ) STRICT;

    -- Lines that could not be parsed: counted and located, never silently dropped.
    CREATE TABLE meter_rejects (
      id INTEGER PRIMARY KEY,
      source_ref TEXT NOT NULL UNIQUE,
      reason TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL
    ) STRICT;
    `,
  },
  {
    version: 2,
    name: "topups-and-provider-events",
    sql: `
    -- One row per payment link we hand out. Money is stored as the provider's own facts:
    -- amount in the currency's minor units plus that currency's exponent for this provider.
    CREATE TABLE topups (
      id TEXT PRIMARY KEY,                       -- 'tu_<20 hex>': our id, sent to the provider
      account_id TEXT NOT NULL,                  -- end user, e.g. 'telegram:123456'
      pack_id TEXT NOT NULL,
      provider TEXT NOT NULL CHECK (provider IN ('stripe', 'mercadopago')),
      currency TEXT NOT NULL,                    -- upper-case ISO 4217
      amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
      currency_exponent INTEGER NOT NULL CHECK (currency_exponent BETWEEN 0 AND 3),
      grant_micro_credits INTEGER NOT NULL CHECK (grant_micro_credits > 0),
      status TEXT NOT NULL
        CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'failed', 'expired')),
      provider_ref TEXT,                         -- Stripe Checkout Session id / MercadoPago preference id
      payment_ref TEXT,                          -- Stripe PaymentIntent id / MercadoPago payment id
      checkout_url TEXT,
      expires_at_ms INTEGER NOT NULL,
      refunded_minor INTEGER NOT NULL DEFAULT 0, -- cumulative refunded amount (high-water mark)
      disputed_minor INTEGER NOT NULL DEFAULT 0, -- amount under an open or lost dispute / chargeback
      reversed_micro_credits INTEGER NOT NULL DEFAULT 0, -- what reversal entries for this top-up total
      reversal_count INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      created_at_ms INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL,
      paid_at_ms INTEGER
    ) STRICT;
    CREATE UNIQUE INDEX topups_provider_ref ON topups(provider, provider_ref) WHERE provider_ref IS NOT NULL;
    CREATE INDEX topups_payment_ref ON topups(provider, payment_ref) WHERE payment_ref IS NOT NULL;
    CREATE INDEX topups_status_created ON topups(status, created_at_ms);
    CREATE INDEX topups_account ON topups(account_id, created_at_ms);

    -- Every verified provider notification; a redelivery hits the UNIQUE key and does nothing.
    CREATE TABLE provider_events (
      id INTEGER PRIMARY KEY,
      provider TEXT NOT NULL CHECK (provider IN ('stripe', 'mercadopago')),
      event_id TEXT NOT NULL,
      type TEXT NOT NULL,
      topup_id TEXT,
      payload TEXT NOT NULL,
      outcome TEXT NOT NULL,                     -- applied | no_change | ignored | rejected | unknown_topup
      detail TEXT,
      received_at_ms INTEGER NOT NULL,
      UNIQUE (provider, event_id)
    ) STRICT;
    CREATE INDEX provider_events_topup ON provider_events(topup_id);
    `,
  },
  {
    version: 3,
    name: "meter-file-cursor-tail-hash",
    sql: `
    -- Hash of the bytes just before the cursor: a file rewritten to the same or a larger size
    -- with the same first line is noticed (the bytes before the cursor changed) and re-read.
    ALTER TABLE meter_file_cursors ADD COLUMN tail_sha256 TEXT;
    `,
  },
  {
    version: 4,
    name: "usage-events-lean-indexes",
    sql: `
    -- Every index costs each billed call a B-tree insert. Per-user windows (the worker's limits)
    -- use (account_id, message_ts_ms); time-range scans use (message_ts_ms). Per-agent reports
    -- filter that range, so their own index is dropped.
    DROP INDEX usage_events_agent_ts;
    `,
  },
  {
    version: 5,
    name: "worker-limits-status-alerts-outbox",
    sql: `
    -- Transactional outbox: one row per account whose limits must be re-checked. A trigger on
    -- the balance column means EVERY balance change (usage debit, top-up, reversal, grant) enqueues
    -- a check in the same transaction, without touching those code paths. The meter writes each
    -- account's balance once per batch, so this costs one tiny upsert per account per batch, not
    -- per call. seq only ever grows; the row is pending while seq > sent_seq. The relay hands
    -- (account, seq) to Redis as job id chk-<account>-<seq> (unique forever, so never swallowed
    -- by an older job) and then raises sent_seq to that seq: a change landing meanwhile bumps seq
    -- again and is relayed again, never lost. Many debits between relays coalesce into one job.
    CREATE TABLE limit_outbox (
      account_id TEXT PRIMARY KEY,
      seq INTEGER NOT NULL,
      sent_seq INTEGER NOT NULL DEFAULT 0,
      updated_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX limit_outbox_pending ON limit_outbox(updated_at_ms) WHERE seq > sent_seq;
    CREATE TRIGGER accounts_balance_to_outbox AFTER UPDATE OF balance_micro_credits ON accounts
    BEGIN
      INSERT INTO limit_outbox (account_id, seq, updated_at_ms) VALUES (NEW.id, 1, NEW.updated_at_ms)
      ON CONFLICT (account_id) DO UPDATE SET seq = seq + 1, updated_at_ms = excluded.updated_at_ms;
    END;

    -- Operator limits: subject '*' holds the defaults, otherwise an account id. rules is JSON
    -- validated by src/worker/limits.ts (floor, caps per window, low-balance level, language).
    CREATE TABLE account_limits (
      subject TEXT PRIMARY KEY,
      rules TEXT NOT NULL,
      updated_at_ms INTEGER NOT NULL
    ) STRICT;

    -- Manual operator blocks (one per account; unblock deletes the row).
    CREATE TABLE operator_blocks (
      account_id TEXT PRIMARY KEY,
      reason TEXT NOT NULL,
      blocked_at_ms INTEGER NOT NULL
    ) STRICT;

    -- The enforcement answer, recomputed after every balance or limit change and window rollover.
    -- Readers do one primary-key lookup.
    CREATE TABLE user_status (
      account_id TEXT PRIMARY KEY,
      allowed INTEGER NOT NULL CHECK (allowed IN (0, 1)),
      reason TEXT,                                -- null when allowed
      block_key TEXT,                             -- episode of the current block (alert dedupe)
      lifts_at_ms INTEGER,                        -- caps only: when the block ends by itself
      balance_micro_credits INTEGER NOT NULL,
      windows TEXT NOT NULL,                      -- JSON [{period, kind, capMicroCredits, spentMicroCredits, startMs, resetsAtMs}]
      next_reset_at_ms INTEGER,                   -- earliest window end: the rollover scan re-checks after it
      last_entry_id INTEGER NOT NULL DEFAULT 0,   -- ledger cursor for receipts (top-up, reversal)
      fund_entry_id INTEGER NOT NULL DEFAULT 0,   -- latest credit entry: the low-balance episode
      fund_micro_credits INTEGER NOT NULL DEFAULT 0, -- its amount (low balance as % of last top-up)
      updated_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX user_status_next_reset ON user_status(next_reset_at_ms) WHERE next_reset_at_ms IS NOT NULL;

    -- Every alert once: the UNIQUE key is (account, kind, threshold, window or episode).
    CREATE TABLE alerts (
      id INTEGER PRIMARY KEY,
      account_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      threshold TEXT NOT NULL,
      window_key TEXT NOT NULL,
      payload TEXT NOT NULL,                      -- JSON facts for the webhook body
      created_at_ms INTEGER NOT NULL,
      webhook_state TEXT NOT NULL CHECK (webhook_state IN ('none', 'pending', 'queued', 'delivered', 'dead')),
      webhook_attempts INTEGER NOT NULL DEFAULT 0,
      webhook_error TEXT,
      webhook_updated_at_ms INTEGER,
      UNIQUE (account_id, kind, threshold, window_key)
    ) STRICT;
    CREATE INDEX alerts_webhook_open ON alerts(webhook_state, id) WHERE webhook_state IN ('pending', 'dead');
    CREATE INDEX alerts_created ON alerts(created_at_ms);

    -- Messages for the end user, delivered in their chat by the OpenClaw plugin (GET /v1/notices).
    CREATE TABLE notices (
      id INTEGER PRIMARY KEY,
      alert_id INTEGER NOT NULL UNIQUE REFERENCES alerts(id),
      account_id TEXT NOT NULL,
      channel TEXT NOT NULL,
      recipient TEXT NOT NULL,
      kind TEXT NOT NULL,
      text TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL,
      acked_at_ms INTEGER
    ) STRICT;
    CREATE INDEX notices_unacked ON notices(id) WHERE acked_at_ms IS NULL;
    `,
  },
  {
    version: 6,
    name: "operator-api-keys",
    sql: `
    -- Operator API keys (creditgate keys create). Only sha256 of the full key is stored: the key
    -- carries 256 random bits, so a fast hash is safe (nothing to brute-force) and cheap per request.
    -- id is public (it is the key's prefix, used for lookup, logs and rate limiting).
    CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      name TEXT,
      scope TEXT NOT NULL CHECK (scope IN ('read', 'ingest', 'admin')),
      secret_sha256 TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL,
      last_used_at_ms INTEGER,
      revoked_at_ms INTEGER
    ) STRICT;

    -- /readyz proves the database is writable by upserting this single row.
    CREATE TABLE health_probe (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      at_ms INTEGER NOT NULL
    ) STRICT;
    `,
  },
  {
    version: 7,
    name: "usage-review-queue-and-push-identities",
    sql: `
    -- Model calls that could not be billed automatically (absurd timestamp, token count or cost;
    -- a charge past 2^53; an event whose billing threw). Each HOLDS its dedupe key, so a re-read
    -- of the line is a duplicate, until the operator releases it (billed once, usage_event_id set)
    -- or voids it (never billed, kept). Amounts are decimal TEXT: they may exceed 64 bits.
    CREATE TABLE usage_review (
      id INTEGER PRIMARY KEY,
      dedupe_key TEXT NOT NULL UNIQUE,
      status TEXT NOT NULL CHECK (status IN ('held', 'released', 'voided')),
      reason TEXT NOT NULL,                      -- why it was held
      event_json TEXT NOT NULL,                  -- the parsed call (counts, ids, recorded cost): never chat text
      account_id TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      source TEXT NOT NULL,
      source_ref TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      message_ts_ms INTEGER NOT NULL,            -- clamped to +-8.64e15 (the exact value is in event_json)
      total_tokens INTEGER NOT NULL,
      cost_pico_usd TEXT,                        -- computed cost, decimal; NULL when it could not be priced
      charge_micro_credits TEXT,
      price_source TEXT,
      price_version TEXT,
      created_at_ms INTEGER NOT NULL,
      resolved_at_ms INTEGER,
      resolution TEXT,                           -- the operator's reason
      usage_event_id INTEGER REFERENCES usage_events(id)
    ) STRICT;
    CREATE INDEX usage_review_status ON usage_review(status, id);

    -- A note on a billed row, e.g. an implausible recorded usage.cost.total that was not used.
    ALTER TABLE usage_events ADD COLUMN anomaly TEXT;

    -- Content hash of each pushed event, by the identity it billed under: the same idempotency
    -- key with different content is a conflict, not a duplicate.
    CREATE TABLE push_identities (
      dedupe_key TEXT PRIMARY KEY,
      content_sha256 TEXT NOT NULL,
      api_key_id TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL
    ) STRICT;
    `,
  },
  {
    version: 8,
    name: "usage-1h-cache-writes-and-table-cost",
    sql: `
    -- The part of cache_write_tokens written with the 1-hour TTL (priced at the 1-hour rate).
    ALTER TABLE usage_events ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
    -- What the override or table price would have charged (NULL: neither knows the model), so
    -- provider-billed and recorded amounts can be compared with the list price.
    ALTER TABLE usage_events ADD COLUMN table_cost_pico_usd INTEGER;
    `,
  },
  {
    version: 9,
    name: "worker-outbox-sweep",
    sql: `
    -- A check handed to Redis can be lost with Redis's data (restart without persistence, flush).
    -- checked_seq is the highest seq a finished check job covered; a row with sent_seq > checked_seq
    -- long after its change is re-sent by the worker's sweep (same job id: a live job is not doubled).
    ALTER TABLE limit_outbox ADD COLUMN checked_seq INTEGER NOT NULL DEFAULT 0;
    -- Rows handed over before this version are taken as checked (no burst of re-checks on upgrade).
    UPDATE limit_outbox SET checked_seq = sent_seq;
    CREATE INDEX limit_outbox_unchecked ON limit_outbox(updated_at_ms) WHERE sent_seq > checked_seq;
    -- Alerts handed to Redis ('queued') whose job may be gone: the sweep looks at the oldest first.
    CREATE INDEX alerts_webhook_queued ON alerts(webhook_updated_at_ms) WHERE webhook_state = 'queued';
    `,
  },
  {
    version: 11,
    name: "usage-daily-aggregates",
    sql: `
    -- Usage totals per UTC day (day = message_ts_ms / 86400000, the day that usage --by day shows),
    -- account, agent, provider and model: written by the usage-row writer in the same transaction as
    -- each usage_events row, so reports read whole days here and only the partial edge days of a
    -- range from usage_events. Rows with message_ts_ms outside [0, 253402300800000) (before 1970,
    -- from year 10000) are not aggregated: reports read them raw.
    CREATE TABLE usage_daily (
      day INTEGER NOT NULL,                      -- UTC days since 1970-01-01
      account_id TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      requests INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      input_tokens INTEGER NOT NULL,
      output_tokens INTEGER NOT NULL,
      cache_read_tokens INTEGER NOT NULL,
      cache_write_tokens INTEGER NOT NULL,
      cache_write_1h_tokens INTEGER NOT NULL,
      total_tokens INTEGER NOT NULL,
      cost_pico_usd INTEGER NOT NULL,
      charge_micro_credits INTEGER NOT NULL,
      unknown_model_requests INTEGER NOT NULL,
      fallback_priced_requests INTEGER NOT NULL,
      provider_billed_requests INTEGER NOT NULL,
      provider_billed_cost_pico_usd INTEGER NOT NULL,
      -- of the provider-billed cost, the part whose model the table/override knows
      provider_billed_known_cost_pico_usd INTEGER NOT NULL,
      provider_billed_table_cost_pico_usd INTEGER NOT NULL,
      PRIMARY KEY (day, account_id, agent_id, provider, model)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX usage_daily_account ON usage_daily(account_id, day);

    INSERT INTO usage_daily
    SELECT message_ts_ms / 86400000, account_id, agent_id, provider, model,
      COUNT(*), SUM(is_error), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens),
      SUM(cache_write_tokens), SUM(cache_write_1h_tokens), SUM(total_tokens), SUM(cost_pico_usd),
      SUM(charge_micro_credits), SUM(unknown_model), SUM(price_source = 'fallback'),
      SUM(price_source = 'provider-billed'),
      SUM(CASE WHEN price_source = 'provider-billed' THEN cost_pico_usd ELSE 0 END),
      SUM(CASE WHEN price_source = 'provider-billed' AND table_cost_pico_usd IS NOT NULL
          THEN cost_pico_usd ELSE 0 END),
      SUM(CASE WHEN price_source = 'provider-billed' THEN COALESCE(table_cost_pico_usd, 0) ELSE 0 END)
    FROM usage_events
    WHERE message_ts_ms >= 0 AND message_ts_ms < 253402300800000
    GROUP BY 1, 2, 3, 4, 5;
    `,
  },
  {
    version: 13,
    name: "credit-grants-and-allocations",
    rebuildsTables: true,
    sql: `
    -- Ledger kind 'expiry' (an expiring grant's remainder leaves the balance): the kind CHECK is
    -- widened by rebuilding ledger_entries (SQLite cannot alter a CHECK). Ids are copied, so
    -- usage_events.ledger_entry_id and usage_review keep pointing at the same rows.
    CREATE TABLE ledger_entries_v13 (
      id INTEGER PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts(id),
      kind TEXT NOT NULL CHECK (kind IN ('usage', 'grant', 'topup', 'refund', 'reversal', 'adjustment', 'expiry')),
      amount_micro_credits INTEGER NOT NULL,     -- signed: debits are negative
      balance_after_micro_credits INTEGER NOT NULL,
      idempotency_key TEXT NOT NULL UNIQUE,
      reason TEXT,
      ref TEXT,                                  -- usage event id, top-up id, 'grant:<id>' (expiry), ...
      created_at_ms INTEGER NOT NULL
    ) STRICT;
    INSERT INTO ledger_entries_v13 (id, account_id, kind, amount_micro_credits, balance_after_micro_credits,
      idempotency_key, reason, ref, created_at_ms)
    SELECT id, account_id, kind, amount_micro_credits, balance_after_micro_credits,
      idempotency_key, reason, ref, created_at_ms FROM ledger_entries;
    DROP TABLE ledger_entries;
    ALTER TABLE ledger_entries_v13 RENAME TO ledger_entries;
    CREATE INDEX ledger_entries_account ON ledger_entries(account_id, id);

    -- Every credit that enters an account is a grant (docs/grants.md). Debits draw from live
    -- grants in burn order: expiring soonest first (no expiry last), then lower priority number,
    -- then oldest. remaining = granted - SUM(ledger_allocations.amount) for the grant, always.
    CREATE TABLE credit_grants (
      id INTEGER PRIMARY KEY,
      account_id TEXT NOT NULL REFERENCES accounts(id),
      kind TEXT NOT NULL CHECK (kind IN ('paid', 'promotional', 'refund-credit')),
      granted_micro_credits INTEGER NOT NULL CHECK (granted_micro_credits > 0),
      remaining_micro_credits INTEGER NOT NULL CHECK (remaining_micro_credits >= 0),
      priority INTEGER NOT NULL,                 -- lower burns first among grants expiring at the same time
      expires_at_ms INTEGER,                     -- NULL: never expires
      source_entry_id INTEGER REFERENCES ledger_entries(id), -- the credit entry; NULL for grants made by this migration
      ref TEXT,                                  -- the source entry's ref (a top-up id): reversals find their grant by it
      state TEXT NOT NULL CHECK (state IN ('live', 'expired')),
      created_at_ms INTEGER NOT NULL,
      closed_at_ms INTEGER                       -- when it expired
    ) STRICT;
    CREATE INDEX credit_grants_account_live ON credit_grants(account_id) WHERE state = 'live' AND remaining_micro_credits > 0;
    CREATE INDEX credit_grants_due ON credit_grants(expires_at_ms) WHERE state = 'live' AND expires_at_ms IS NOT NULL;
    CREATE INDEX credit_grants_ref ON credit_grants(account_id, ref) WHERE ref IS NOT NULL;
    CREATE UNIQUE INDEX credit_grants_source ON credit_grants(source_entry_id) WHERE source_entry_id IS NOT NULL;

    -- Which grant each entry drew from: usage, reversals and expiry draw (amount > 0, split across
    -- grants when one runs out); a credit that paid earlier debt draws that part from its own new
    -- grant; a restored reversal puts credit back (amount < 0). The part of a debit no grant
    -- covered is debt (the balance below zero) and has no row.
    CREATE TABLE ledger_allocations (
      ledger_entry_id INTEGER NOT NULL REFERENCES ledger_entries(id),
      grant_id INTEGER NOT NULL REFERENCES credit_grants(id),
      amount_micro_credits INTEGER NOT NULL,
      PRIMARY KEY (ledger_entry_id, grant_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX ledger_allocations_grant ON ledger_allocations(grant_id);

    -- Existing positive balances become grants, never expiring. How the credit came in decides the
    -- kind: top-ups (net of reversals) are paid, the rest (operator grants, adjustments, refunds)
    -- promotional. What was spent is taken to have come out of the promotional part first (the
    -- same order as from now on), so paid = MIN(balance, net top-ups) and promotional = the rest:
    -- one grant per account, two when both parts are positive. Zero and negative balances get no
    -- grant (a negative balance stays as debt).
    INSERT INTO credit_grants (account_id, kind, granted_micro_credits, remaining_micro_credits, priority,
      expires_at_ms, source_entry_id, ref, state, created_at_ms)
    SELECT id, 'paid', paid, paid, 30, NULL, NULL, NULL, 'live', updated_at_ms FROM (
      SELECT a.id, a.updated_at_ms, MIN(a.balance_micro_credits, MAX(0, COALESCE((
        SELECT SUM(e.amount_micro_credits) FROM ledger_entries e
         WHERE e.account_id = a.id AND e.kind IN ('topup', 'reversal')), 0))) AS paid
      FROM accounts a WHERE a.balance_micro_credits > 0
    ) WHERE paid > 0;
    INSERT INTO credit_grants (account_id, kind, granted_micro_credits, remaining_micro_credits, priority,
      expires_at_ms, source_entry_id, ref, state, created_at_ms)
    SELECT a.id, 'promotional', a.balance_micro_credits - COALESCE(g.remaining_micro_credits, 0),
      a.balance_micro_credits - COALESCE(g.remaining_micro_credits, 0), 10, NULL, NULL, NULL, 'live', a.updated_at_ms
      FROM accounts a LEFT JOIN credit_grants g ON g.account_id = a.id AND g.kind = 'paid'
     WHERE a.balance_micro_credits - COALESCE(g.remaining_micro_credits, 0) > 0;
    `,
  },
  {
    version: 14,
    name: "stripe-auto-topup",
    sql: `
    -- Auto top-up (Stripe only, see README "Auto top-up"). One Stripe Customer per account and
    -- the card saved off-session at a checkout the user opted in to. Only the ids Stripe gives
    -- back and the card's brand and last 4 digits are kept: never card numbers or expiry.
    CREATE TABLE stripe_customers (
      account_id TEXT PRIMARY KEY,
      customer_id TEXT NOT NULL UNIQUE,          -- cus_...
      payment_method_id TEXT,                    -- pm_... saved with setup_future_usage=off_session; NULL: none yet
      card_brand TEXT,
      card_last4 TEXT,
      card_saved_at_ms INTEGER,
      created_at_ms INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL
    ) STRICT;

    -- The user's choice: charge pack_id when the balance drops below threshold_micro_credits.
    CREATE TABLE autotopup_settings (
      account_id TEXT PRIMARY KEY,
      enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
      pack_id TEXT NOT NULL,
      currency TEXT,                             -- NULL: the pack's first Stripe price
      threshold_micro_credits INTEGER NOT NULL CHECK (threshold_micro_credits > 0),
      updated_at_ms INTEGER NOT NULL
    ) STRICT;

    -- One row per off-session charge decided. trigger_key = account + low-balance episode (the
    -- ledger entry that funded the balance now running low) + attempt (a retry after a decline):
    -- UNIQUE, claimed in an IMMEDIATE transaction BEFORE Stripe is called, so two workers that
    -- see the same low balance charge once. Its top-up row carries the Stripe Idempotency-Key
    -- (autotopup-<topup id>) and is credited by the one fulfilment path (webhook or the
    -- synchronous answer, whichever lands first; the other is a no-op).
    CREATE TABLE autotopup_triggers (
      id INTEGER PRIMARY KEY,
      trigger_key TEXT NOT NULL UNIQUE,
      account_id TEXT NOT NULL,
      episode TEXT NOT NULL,                     -- 'fund:<ledger entry id>'
      attempt INTEGER NOT NULL,                  -- 0, then 1, 2, ... after declines in the same episode
      topup_id TEXT NOT NULL UNIQUE REFERENCES topups(id),
      state TEXT NOT NULL CHECK (state IN ('claimed', 'processing', 'succeeded', 'declined')),
      payment_intent_id TEXT,
      decline_code TEXT,                         -- card_declined / authentication_required / ... (Stripe's code)
      last_error TEXT,                           -- a transient failure (network, 5xx): resumed with the same key
      created_at_ms INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX autotopup_triggers_account ON autotopup_triggers(account_id, created_at_ms);
    CREATE INDEX autotopup_triggers_claimed ON autotopup_triggers(updated_at_ms) WHERE state = 'claimed';
    `,
  },
  {
    version: 15,
    name: "headroom-samples",
    sql: `
    -- Pre-call headroom (src/limits/headroom.ts): the charges of the newest calls per agent, provider
    -- and model, so "p95 of the last 200 calls in 7 days" is a primary-key range read, not a scan of
    -- usage_events (which has no agent index, for meter speed). Fed from usage_events by id (rows
    -- are never updated or deleted there) by the limit check, off the meter's hot path; at most
    -- 200 rows are kept per (agent, provider, model). Calls charged 0 are not sampled.
    CREATE TABLE headroom_samples (
      agent_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      message_ts_ms INTEGER NOT NULL,
      usage_event_id INTEGER NOT NULL,
      charge_micro_credits INTEGER NOT NULL,
      PRIMARY KEY (agent_id, provider, model, message_ts_ms, usage_event_id)
    ) STRICT, WITHOUT ROWID;
    -- The newest usage_events.id already sampled (one row).
    CREATE TABLE headroom_cursor (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      last_usage_event_id INTEGER NOT NULL
    ) STRICT;
    -- Backfill: the newest 200 charged calls per (agent, provider, model) of the last 7 days (by the
    -- wall clock at upgrade), read once through usage_events_ts; the cursor starts after them.
    INSERT INTO headroom_samples
    SELECT agent_id, provider, model, message_ts_ms, id, charge_micro_credits FROM (
      SELECT agent_id, provider, model, message_ts_ms, id, charge_micro_credits,
        ROW_NUMBER() OVER (PARTITION BY agent_id, provider, model ORDER BY message_ts_ms DESC, id DESC) AS rn
      FROM usage_events
      WHERE message_ts_ms >= CAST(strftime('%s', 'now') AS INTEGER) * 1000 - 604800000
        AND charge_micro_credits > 0
    ) WHERE rn <= 200;
    INSERT INTO headroom_cursor (id, last_usage_event_id)
    VALUES (1, COALESCE((SELECT MAX(id) FROM usage_events), 0));

    -- The headroom each stored status was decided with (JSON {microCredits, basis, ...}); NULL on
    -- rows written before this version: readers re-evaluate those, and every known account is
    -- re-checked by the worker (below) so the stored answers include it.
    ALTER TABLE user_status ADD COLUMN headroom TEXT;
    INSERT INTO limit_outbox (account_id, seq, updated_at_ms)
    SELECT account_id, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM user_status WHERE true
    ON CONFLICT (account_id) DO UPDATE SET seq = seq + 1, updated_at_ms = excluded.updated_at_ms;
    `,
  },
  {
    version: 16,
    name: "console-sessions-and-usage-rollups",
    sql: `
    -- Operator console logins (issue #12): the browser holds only a random session token in an
    -- HttpOnly cookie; the server keeps its sha256, the API key it was opened with (re-checked on
    -- every request: a revoked key ends its sessions), the CSRF token the page must echo on every
    -- state change, and the expiry. Logout deletes the row; expired rows are deleted at each login.
    CREATE TABLE console_sessions (
      token_sha256 TEXT PRIMARY KEY,
      key_id TEXT NOT NULL,
      csrf_token TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL,
      expires_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX console_sessions_expires ON console_sessions(expires_at_ms);

    -- Rollups of usage_daily for the console's overview (issue #12): per day, agent, provider, model
    -- and whether the agent's own account paid (totals, spend chart, top models, burn rate: a few
    -- thousand rows for 90 days), and per day and account (active users, top users, runway). Kept by
    -- triggers on usage_daily, so they change in the same transaction as the usage rows, whatever
    -- writes them; usage_daily rows only ever grow (the writer adds to them), deletes are undone too.
    CREATE TABLE usage_daily_totals (
      day INTEGER NOT NULL,
      agent_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      agent_account INTEGER NOT NULL,            -- 1: billed to an agent's own account ('agent:<id>')
      requests INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      cost_pico_usd INTEGER NOT NULL,
      charge_micro_credits INTEGER NOT NULL,
      PRIMARY KEY (day, agent_id, provider, model, agent_account)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE usage_daily_accounts (
      day INTEGER NOT NULL,
      account_id TEXT NOT NULL,
      requests INTEGER NOT NULL,
      cost_pico_usd INTEGER NOT NULL,
      charge_micro_credits INTEGER NOT NULL,
      PRIMARY KEY (day, account_id)
    ) STRICT, WITHOUT ROWID;
    CREATE TRIGGER usage_daily_rollup_insert AFTER INSERT ON usage_daily BEGIN
      INSERT INTO usage_daily_totals VALUES (NEW.day, NEW.agent_id, NEW.provider, NEW.model,
          substr(NEW.account_id, 1, 6) = 'agent:', NEW.requests, NEW.errors, NEW.cost_pico_usd, NEW.charge_micro_credits)
        ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors,
          cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
          charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits;
      INSERT INTO usage_daily_accounts VALUES (NEW.day, NEW.account_id, NEW.requests, NEW.cost_pico_usd,
          NEW.charge_micro_credits)
        ON CONFLICT DO UPDATE SET requests = requests + excluded.requests,
          cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
          charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits;
    END;
    CREATE TRIGGER usage_daily_rollup_update AFTER UPDATE ON usage_daily BEGIN
      UPDATE usage_daily_totals SET requests = requests - OLD.requests, errors = errors - OLD.errors,
          cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd, charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits
        WHERE day = OLD.day AND agent_id = OLD.agent_id AND provider = OLD.provider AND model = OLD.model
          AND agent_account = (substr(OLD.account_id, 1, 6) = 'agent:');
      UPDATE usage_daily_accounts SET requests = requests - OLD.requests, cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd,
          charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits
        WHERE day = OLD.day AND account_id = OLD.account_id;
      INSERT INTO usage_daily_totals VALUES (NEW.day, NEW.agent_id, NEW.provider, NEW.model,
          substr(NEW.account_id, 1, 6) = 'agent:', NEW.requests, NEW.errors, NEW.cost_pico_usd, NEW.charge_micro_credits)
        ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors,
          cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
          charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits;
      INSERT INTO usage_daily_accounts VALUES (NEW.day, NEW.account_id, NEW.requests, NEW.cost_pico_usd,
          NEW.charge_micro_credits)
        ON CONFLICT DO UPDATE SET requests = requests + excluded.requests,
          cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
          charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits;
    END;
    CREATE TRIGGER usage_daily_rollup_delete AFTER DELETE ON usage_daily BEGIN
      UPDATE usage_daily_totals SET requests = requests - OLD.requests, errors = errors - OLD.errors,
          cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd, charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits
        WHERE day = OLD.day AND agent_id = OLD.agent_id AND provider = OLD.provider AND model = OLD.model
          AND agent_account = (substr(OLD.account_id, 1, 6) = 'agent:');
      UPDATE usage_daily_accounts SET requests = requests - OLD.requests, cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd,
          charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits
        WHERE day = OLD.day AND account_id = OLD.account_id;
    END;
    INSERT INTO usage_daily_totals
    SELECT day, agent_id, provider, model, substr(account_id, 1, 6) = 'agent:', SUM(requests), SUM(errors),
      SUM(cost_pico_usd), SUM(charge_micro_credits)
    FROM usage_daily GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO usage_daily_accounts
    SELECT day, account_id, SUM(requests), SUM(cost_pico_usd), SUM(charge_micro_credits)
    FROM usage_daily GROUP BY 1, 2;
    `,
  },
  {
    version: 18,
    name: "provider-accounts",
    sql: `
    -- Issue #13: what the operator's own model-provider accounts (OpenRouter, OpenAI, Anthropic,
    -- Moonshot, DeepSeek) report. Amounts are integer micro-units (10^-6) of the row's currency
    -- (micro-USD, micro-CNY). API keys are never stored here.
    CREATE TABLE provider_snapshots (
      id INTEGER PRIMARY KEY,
      provider TEXT NOT NULL,
      taken_at_ms INTEGER NOT NULL,
      currency TEXT NOT NULL,
      balance_micro INTEGER,                    -- NULL: the provider has no balance API
      spent_total_micro INTEGER,                -- the provider's cumulative counter, when it has one
      spend_since_last_micro INTEGER,           -- NULL: unknown (first poll, a top-up, a counter reset)
      detail TEXT NOT NULL                      -- JSON facts for the history view (never a key)
    ) STRICT;
    CREATE INDEX provider_snapshots_time ON provider_snapshots(provider, taken_at_ms);

    -- Spend per provider per UTC day: the provider's own daily figure where it reports one
    -- (source 'reported': OpenAI, Anthropic, OpenRouter today), else the sum of balance decreases
    -- observed that day (source 'derived': Moonshot, DeepSeek).
    CREATE TABLE provider_spend_daily (
      provider TEXT NOT NULL,
      day TEXT NOT NULL,                        -- YYYY-MM-DD (UTC)
      currency TEXT NOT NULL,
      amount_micro INTEGER NOT NULL,
      source TEXT NOT NULL CHECK (source IN ('reported', 'derived')),
      updated_at_ms INTEGER NOT NULL,
      PRIMARY KEY (provider, day)
    ) STRICT, WITHOUT ROWID;

    -- The last poll of each provider and its error, if it failed (retried at the next poll).
    CREATE TABLE provider_status (
      provider TEXT PRIMARY KEY,
      last_poll_at_ms INTEGER NOT NULL,
      last_ok_at_ms INTEGER,
      error_kind TEXT,
      error_message TEXT,                       -- one line, redacted: never a key
      error_at_ms INTEGER,
      consecutive_failures INTEGER NOT NULL DEFAULT 0,
      retry_after_ms INTEGER,
      key_source TEXT                           -- 'env', 'file', 'openclaw:<agent>/<profile>' (never the key)
    ) STRICT;

    -- Alert thresholds per provider ('*' = defaults over the configured ones); NULL = inherit.
    CREATE TABLE provider_alert_settings (
      provider TEXT PRIMARY KEY,
      low_balance_micro INTEGER,
      low_runway_hours INTEGER,
      spike_factor INTEGER,
      drift_pct INTEGER,
      updated_at_ms INTEGER NOT NULL
    ) STRICT;
    `,
  },
  {
    version: 19,
    name: "operator-budgets",
    sql: `
    -- The operator's own budgets on provider cost (README "Reports" → docs/reports.md "Budgets"):
    -- a daily and/or monthly USD limit overall (scope 'all', subject ''), per agent or per provider.
    -- Windows are calendar days/months in CREDITGATE_TIMEZONE. Soft budgets raise an
    -- 'operator_budget' alert at each threshold once per window (alerts' UNIQUE key).
    CREATE TABLE operator_budgets (
      scope TEXT NOT NULL CHECK (scope IN ('all', 'agent', 'provider')),
      subject TEXT NOT NULL,                     -- '' for 'all', else the agent id or provider
      period TEXT NOT NULL CHECK (period IN ('day', 'month')),
      limit_micro_usd INTEGER NOT NULL CHECK (limit_micro_usd > 0),
      mode TEXT NOT NULL CHECK (mode IN ('soft', 'hard')),
      thresholds TEXT,                           -- '50,80,100'; NULL: CREDITGATE_CAP_THRESHOLDS
      updated_at_ms INTEGER NOT NULL,
      PRIMARY KEY (scope, subject, period),
      CHECK ((scope = 'all') = (subject = ''))
    ) STRICT;
    `,
  },
  {
    version: 20,
    name: "usage-daily-rollup-delta-trigger",
    sql: `
    -- Migration 16's UPDATE trigger subtracted the OLD row from usage_daily_totals and
    -- usage_daily_accounts and added the NEW one back (four statements per update). An update
    -- that keeps the group's key (every write the meter makes) now adds the difference: two
    -- statements on rows the INSERT trigger already created. A key change (nothing does this
    -- today) keeps the subtract-and-add form. Same sums either way.
    DROP TRIGGER usage_daily_rollup_update;
    CREATE TRIGGER usage_daily_rollup_update_delta AFTER UPDATE ON usage_daily
    WHEN OLD.day = NEW.day AND OLD.account_id = NEW.account_id AND OLD.agent_id = NEW.agent_id
      AND OLD.provider = NEW.provider AND OLD.model = NEW.model
    BEGIN
      UPDATE usage_daily_totals SET requests = requests + (NEW.requests - OLD.requests),
          errors = errors + (NEW.errors - OLD.errors),
          cost_pico_usd = cost_pico_usd + (NEW.cost_pico_usd - OLD.cost_pico_usd),
          charge_micro_credits = charge_micro_credits + (NEW.charge_micro_credits - OLD.charge_micro_credits)
        WHERE day = NEW.day AND agent_id = NEW.agent_id AND provider = NEW.provider AND model = NEW.model
          AND agent_account = (substr(NEW.account_id, 1, 6) = 'agent:');
      UPDATE usage_daily_accounts SET requests = requests + (NEW.requests - OLD.requests),
          cost_pico_usd = cost_pico_usd + (NEW.cost_pico_usd - OLD.cost_pico_usd),
          charge_micro_credits = charge_micro_credits + (NEW.charge_micro_credits - OLD.charge_micro_credits)
        WHERE day = NEW.day AND account_id = NEW.account_id;
    END;
    CREATE TRIGGER usage_daily_rollup_update_rekey AFTER UPDATE ON usage_daily
    WHEN NOT (OLD.day = NEW.day AND OLD.account_id = NEW.account_id AND OLD.agent_id = NEW.agent_id
      AND OLD.provider = NEW.provider AND OLD.model = NEW.model)
    BEGIN
      UPDATE usage_daily_totals SET requests = requests - OLD.requests, errors = errors - OLD.errors,
          cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd, charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits
        WHERE day = OLD.day AND agent_id = OLD.agent_id AND provider = OLD.provider AND model = OLD.model
          AND agent_account = (substr(OLD.account_id, 1, 6) = 'agent:');
      UPDATE usage_daily_accounts SET requests = requests - OLD.requests, cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd,
          charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits
        WHERE day = OLD.day AND account_id = OLD.account_id;
      INSERT INTO usage_daily_totals VALUES (NEW.day, NEW.agent_id, NEW.provider, NEW.model,
          substr(NEW.account_id, 1, 6) = 'agent:', NEW.requests, NEW.errors, NEW.cost_pico_usd, NEW.charge_micro_credits)
        ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors,
          cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
          charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits;
      INSERT INTO usage_daily_accounts VALUES (NEW.day, NEW.account_id, NEW.requests, NEW.cost_pico_usd,
          NEW.charge_micro_credits)
        ON CONFLICT DO UPDATE SET requests = requests + excluded.requests,
          cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
          charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits;
    END;
    `,
  },
  {
    version: 21,
    name: "usage-hourly-rollup",
    sql: `
    -- The console's spend chart by hour (issue #12) without reading raw rows: usage totals per UTC
    -- hour (hour = message_ts_ms / 3600000), agent, provider, model and whether the agent's own
    -- account paid, like usage_daily_totals per day. No trigger on usage_events (the meter's per-row
    -- cost stays as it is): fed from usage_events by id (rows are never updated or deleted there)
    -- when a report reads it (src/reports/queries.ts catchUpHourly), like headroom_samples. Hours
    -- before from_hour are read raw; rows of those hours that arrive late are left to the raw read.
    CREATE TABLE usage_hourly_totals (
      hour INTEGER NOT NULL,                     -- UTC hours since 1970-01-01
      agent_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      agent_account INTEGER NOT NULL,            -- 1: billed to an agent's own account ('agent:<id>')
      requests INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      cost_pico_usd INTEGER NOT NULL,
      charge_micro_credits INTEGER NOT NULL,
      PRIMARY KEY (hour, agent_id, provider, model, agent_account)
    ) STRICT, WITHOUT ROWID;
    -- One row: the newest usage_events.id already added, and the first hour the table covers.
    CREATE TABLE usage_hourly_cursor (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      last_usage_event_id INTEGER NOT NULL,
      from_hour INTEGER NOT NULL
    ) STRICT;
    -- Backfill: the last 9 UTC days (hourly charts cover at most 8) by the wall clock at upgrade,
    -- read once through usage_events_ts; older hours stay raw.
    INSERT INTO usage_hourly_cursor (id, last_usage_event_id, from_hour)
    VALUES (1, COALESCE((SELECT MAX(id) FROM usage_events), 0),
            (CAST(strftime('%s', 'now') AS INTEGER) / 86400 - 9) * 24);
    INSERT INTO usage_hourly_totals
    SELECT message_ts_ms / 3600000, agent_id, provider, model, substr(account_id, 1, 6) = 'agent:',
      COUNT(*), SUM(is_error), SUM(cost_pico_usd), SUM(charge_micro_credits)
    FROM usage_events
    WHERE message_ts_ms >= (SELECT from_hour FROM usage_hourly_cursor) * 3600000
      AND id <= (SELECT last_usage_event_id FROM usage_hourly_cursor)
    GROUP BY 1, 2, 3, 4, 5;
    `,
  },
  {
    version: 22,
    name: "console-distinct-and-top-rollups",
    sql: `
    -- The console's active-user counts, users per agent and top users (issue #12) without grouping
    -- every account of a range. Distinct counts: each (account, day) row carries the account's
    -- previous day with usage (prev_day, -1 for none), so the accounts active in days [a, b) are the
    -- rows with a <= day < b AND prev_day < a (one per account: its first day in the range), counted
    -- by an index-only range scan. The same per agent. Top users: an upper bound of each account's
    -- charge over any range (the sum over its days of max(day's charge, 0)), walked from the
    -- biggest down until no account left can beat the 10th exact range charge (src/reports).
    -- Kept by triggers on the rollups (usage_daily_accounts, and usage_daily inserts: a new
    -- day/account/agent/provider/model group), never on usage_events.
    CREATE TABLE usage_account_days (
      account_id TEXT NOT NULL,
      day INTEGER NOT NULL,
      prev_day INTEGER NOT NULL,                 -- the account's previous day with usage; -1: none
      agent_account INTEGER NOT NULL,            -- 1: an agent's own account ('agent:<id>')
      PRIMARY KEY (account_id, day)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX usage_account_days_range ON usage_account_days(day, prev_day, agent_account);
    CREATE TABLE usage_agent_account_days (
      agent_id TEXT NOT NULL,
      account_id TEXT NOT NULL,
      day INTEGER NOT NULL,
      prev_day INTEGER NOT NULL,                 -- the previous day this account used this agent; -1: none
      agent_account INTEGER NOT NULL,
      PRIMARY KEY (agent_id, account_id, day)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX usage_agent_account_days_range
      ON usage_agent_account_days(agent_id, day, prev_day, agent_account);
    CREATE TABLE usage_account_charge_bounds (
      account_id TEXT PRIMARY KEY,
      agent_account INTEGER NOT NULL,
      bound_micro_credits INTEGER NOT NULL       -- sum over days of max(day's charge, 0)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX usage_account_charge_bounds_order
      ON usage_account_charge_bounds(agent_account, bound_micro_credits);

    CREATE TRIGGER usage_account_days_insert AFTER INSERT ON usage_daily_accounts BEGIN
      INSERT INTO usage_account_days
      SELECT NEW.account_id, NEW.day,
        COALESCE((SELECT MAX(day) FROM usage_account_days WHERE account_id = NEW.account_id AND day < NEW.day), -1),
        substr(NEW.account_id, 1, 6) = 'agent:'
      WHERE NOT EXISTS (SELECT 1 FROM usage_account_days WHERE account_id = NEW.account_id AND day = NEW.day);
      UPDATE usage_account_days SET prev_day = NEW.day
       WHERE account_id = NEW.account_id AND prev_day < NEW.day
         AND day = (SELECT MIN(day) FROM usage_account_days WHERE account_id = NEW.account_id AND day > NEW.day);
      INSERT INTO usage_account_charge_bounds
      VALUES (NEW.account_id, substr(NEW.account_id, 1, 6) = 'agent:', MAX(NEW.charge_micro_credits, 0))
        ON CONFLICT DO UPDATE SET bound_micro_credits = bound_micro_credits + excluded.bound_micro_credits;
    END;
    CREATE TRIGGER usage_account_bounds_update AFTER UPDATE OF charge_micro_credits ON usage_daily_accounts
    WHEN MAX(NEW.charge_micro_credits, 0) <> MAX(OLD.charge_micro_credits, 0) BEGIN
      UPDATE usage_account_charge_bounds
         SET bound_micro_credits = bound_micro_credits + MAX(NEW.charge_micro_credits, 0) - MAX(OLD.charge_micro_credits, 0)
       WHERE account_id = NEW.account_id;
    END;
    CREATE TRIGGER usage_account_days_delete AFTER DELETE ON usage_daily_accounts BEGIN
      UPDATE usage_account_charge_bounds SET bound_micro_credits = bound_micro_credits - MAX(OLD.charge_micro_credits, 0)
       WHERE account_id = OLD.account_id;
      UPDATE usage_account_days
         SET prev_day = (SELECT prev_day FROM usage_account_days WHERE account_id = OLD.account_id AND day = OLD.day)
       WHERE account_id = OLD.account_id
         AND day = (SELECT MIN(day) FROM usage_account_days WHERE account_id = OLD.account_id AND day > OLD.day);
      DELETE FROM usage_account_days WHERE account_id = OLD.account_id AND day = OLD.day;
    END;
    CREATE TRIGGER usage_agent_account_days_insert AFTER INSERT ON usage_daily BEGIN
      INSERT INTO usage_agent_account_days
      SELECT NEW.agent_id, NEW.account_id, NEW.day,
        COALESCE((SELECT MAX(day) FROM usage_agent_account_days
                   WHERE agent_id = NEW.agent_id AND account_id = NEW.account_id AND day < NEW.day), -1),
        substr(NEW.account_id, 1, 6) = 'agent:'
      WHERE NOT EXISTS (SELECT 1 FROM usage_agent_account_days
                         WHERE agent_id = NEW.agent_id AND account_id = NEW.account_id AND day = NEW.day);
      UPDATE usage_agent_account_days SET prev_day = NEW.day
       WHERE agent_id = NEW.agent_id AND account_id = NEW.account_id AND prev_day < NEW.day
         AND day = (SELECT MIN(day) FROM usage_agent_account_days
                     WHERE agent_id = NEW.agent_id AND account_id = NEW.account_id AND day > NEW.day);
    END;
    -- The last usage_daily row of a day/account/agent deleted: the day leaves the agent's days.
    CREATE TRIGGER usage_agent_account_days_delete AFTER DELETE ON usage_daily
    WHEN NOT EXISTS (SELECT 1 FROM usage_daily
                      WHERE day = OLD.day AND account_id = OLD.account_id AND agent_id = OLD.agent_id) BEGIN
      UPDATE usage_agent_account_days
         SET prev_day = (SELECT prev_day FROM usage_agent_account_days
                          WHERE agent_id = OLD.agent_id AND account_id = OLD.account_id AND day = OLD.day)
       WHERE agent_id = OLD.agent_id AND account_id = OLD.account_id
         AND day = (SELECT MIN(day) FROM usage_agent_account_days
                     WHERE agent_id = OLD.agent_id AND account_id = OLD.account_id AND day > OLD.day);
      DELETE FROM usage_agent_account_days
       WHERE agent_id = OLD.agent_id AND account_id = OLD.account_id AND day = OLD.day;
    END;

    INSERT INTO usage_account_days
    SELECT account_id, day, COALESCE(LAG(day) OVER (PARTITION BY account_id ORDER BY day), -1),
      substr(account_id, 1, 6) = 'agent:'
    FROM usage_daily_accounts;
    INSERT INTO usage_agent_account_days
    SELECT agent_id, account_id, day, COALESCE(LAG(day) OVER (PARTITION BY agent_id, account_id ORDER BY day), -1),
      substr(account_id, 1, 6) = 'agent:'
    FROM (SELECT DISTINCT agent_id, account_id, day FROM usage_daily);
    INSERT INTO usage_account_charge_bounds
    SELECT account_id, substr(account_id, 1, 6) = 'agent:', SUM(MAX(charge_micro_credits, 0))
    FROM usage_daily_accounts GROUP BY account_id;
    `,
  },
  {
    version: 24,
    name: "operator-budget-blocks",
    sql: `
    -- Hard operator budgets reached (docs/reports.md "Budgets"): which agents' end users are
    -- blocked with reason 'operator_budget', by which budget, until when. Rewritten by the budget
    -- scan (and at once by budgets set/clear); a row whose lifts_at_ms has passed blocks nobody.
    -- agent_id '*' = every agent (scope 'all').
    CREATE TABLE operator_budget_blocks (
      agent_id TEXT NOT NULL,
      budget TEXT NOT NULL,                      -- 'all', 'agent:<id>', 'provider:<name>'
      period TEXT NOT NULL CHECK (period IN ('day', 'month')),
      window_key TEXT NOT NULL,
      lifts_at_ms INTEGER NOT NULL,              -- the window's end
      limit_usd TEXT NOT NULL,
      spent_usd TEXT NOT NULL,
      blocked_at_ms INTEGER NOT NULL,
      PRIMARY KEY (agent_id, budget, period)
    ) STRICT;
    `,
  },
  {
    version: 25,
    name: "usage-latency",
    sql: `
    -- Model latency of a call (docs/reports.md "Latency"): ms from the user message to this reply
    -- as the transcript shows it (the first billed reply after a user line); NULL when not
    -- derivable (tool-use continuations, no user line, missing or out-of-order times) and for rows
    -- billed before this migration. Reports read it from raw rows (avg and p95 per group).
    ALTER TABLE usage_events ADD COLUMN latency_ms INTEGER CHECK (latency_ms IS NULL OR latency_ms >= 0);
    `,
  },
  {
    version: 26,
    name: "usage-previews",
    sql: `
    -- Redacted previews (docs/previews.md; CREDITGATE_PREVIEWS=on): the first N characters of the
    -- user message and of the reply, redacted before they are written. NULL when previews are off,
    -- there was no text, or they were purged (creditgate purge-previews). Removed with their row.
    ALTER TABLE usage_events ADD COLUMN preview_user TEXT;
    ALTER TABLE usage_events ADD COLUMN preview_reply TEXT;
    `,
  },
  {
    version: 27,
    name: "usage-retention",
    sql: `
    -- Usage rows older than the retention period (docs/retention.md) are exported to monthly
    -- archive files, then rolled up here and removed from usage_events in ONE transaction.
    -- usage_daily keeps every day (archived ones too); this table adds what it cannot answer once
    -- the rows are gone: the kind of session and quarter-hour time (UTC quarter hours, so local
    -- days of every time zone in use, whose offsets are multiples of 15 minutes, are whole buckets).
    CREATE TABLE usage_archived (
      bucket INTEGER NOT NULL,                  -- message_ts_ms / 900000
      account_id TEXT NOT NULL,
      agent_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      kind TEXT NOT NULL,                       -- src/reports/kind.ts of the row's session key
      requests INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      input_tokens INTEGER NOT NULL,
      output_tokens INTEGER NOT NULL,
      cache_read_tokens INTEGER NOT NULL,
      cache_write_tokens INTEGER NOT NULL,
      cache_write_1h_tokens INTEGER NOT NULL,
      total_tokens INTEGER NOT NULL,
      cost_pico_usd INTEGER NOT NULL,
      charge_micro_credits INTEGER NOT NULL,
      unknown_model_requests INTEGER NOT NULL,
      fallback_priced_requests INTEGER NOT NULL,
      provider_billed_requests INTEGER NOT NULL,
      provider_billed_cost_pico_usd INTEGER NOT NULL,
      provider_billed_known_cost_pico_usd INTEGER NOT NULL,
      provider_billed_table_cost_pico_usd INTEGER NOT NULL,
      PRIMARY KEY (bucket, account_id, agent_id, provider, model, kind)
    ) STRICT, WITHOUT ROWID;

    -- The dedupe key of every archived (removed) usage row: the biller's duplicate check reads it,
    -- so a transcript re-read after its rows were archived is never billed twice.
    CREATE TABLE usage_archived_keys (
      dedupe_key TEXT PRIMARY KEY
    ) STRICT, WITHOUT ROWID;

    -- Each archive file whose rows were removed (recorded in the same transaction as the removal):
    -- a file in the archive directory that is not listed here is left over from an interrupted run
    -- (its rows are still in usage_events) and is deleted by the next run.
    CREATE TABLE usage_archive_files (
      file TEXT PRIMARY KEY,                    -- usage-YYYY-MM-<firstId>-<lastId>.jsonl.zst
      month TEXT NOT NULL,                      -- YYYY-MM (UTC, by message_ts_ms)
      rows INTEGER NOT NULL,
      bytes INTEGER NOT NULL,                   -- compressed size
      sha256 TEXT NOT NULL,                     -- of the compressed file
      first_id INTEGER NOT NULL,
      last_id INTEGER NOT NULL,
      created_at_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX usage_archive_files_month ON usage_archive_files(month);

    -- One archive run at a time (CLI and workers): a lease, taken over when expired or when its
    -- owner process (same host) is gone.
    CREATE TABLE usage_archive_lease (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      owner TEXT NOT NULL,                      -- host:pid:random
      expires_at_ms INTEGER NOT NULL
    ) STRICT;
    `,
  },
  {
    version: 29,
    name: "api-keys-push-scope",
    sql: `
    -- A 'push' scope (issue #15, edge meters): a key that may only push usage (POST /v1/usage),
    -- nothing else, not even read. api_keys is referenced by no foreign key, so a plain copy.
    CREATE TABLE api_keys_new (
      id TEXT PRIMARY KEY,
      name TEXT,
      scope TEXT NOT NULL CHECK (scope IN ('push', 'read', 'ingest', 'admin')),
      secret_sha256 TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL,
      last_used_at_ms INTEGER,
      revoked_at_ms INTEGER
    ) STRICT;
    INSERT INTO api_keys_new (id, name, scope, secret_sha256, created_at_ms, last_used_at_ms, revoked_at_ms)
      SELECT id, name, scope, secret_sha256, created_at_ms, last_used_at_ms, revoked_at_ms FROM api_keys;
    DROP TABLE api_keys;
    ALTER TABLE api_keys_new RENAME TO api_keys;
    `,
  },
  {
    version: 30,
    name: "edge-outbox",
    sql: `
    -- Edge meter (creditgate meter --ship-to): model calls read on this host, waiting to be pushed
    -- to the center. Written in the SAME transaction as the read cursors that cover them; a row is
    -- deleted only once the center acknowledged it (billed, duplicate or held). One row per call
    -- identity: a re-read call is not queued twice.
    CREATE TABLE edge_outbox (
      id INTEGER PRIMARY KEY,
      dedupe_key TEXT NOT NULL UNIQUE,           -- the call's identity (src/meter/identity.ts)
      event_json TEXT NOT NULL,                  -- the push event (tokens, provider, model, who; no chat text)
      created_at_ms INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT
    ) STRICT;

    -- Outbox rows the center refused as invalid (rejected, conflict), with its reason: kept for
    -- the operator (creditgate outbox), never dropped silently, never retried automatically.
    CREATE TABLE edge_dead_letters (
      id INTEGER PRIMARY KEY,
      dedupe_key TEXT NOT NULL UNIQUE,
      event_json TEXT NOT NULL,
      status TEXT NOT NULL,                      -- the center's verdict: 'rejected', 'conflict', or 'unshippable'
      reason TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL,            -- when it entered the outbox
      dead_at_ms INTEGER NOT NULL
    ) STRICT;
    `,
  },
  {
    version: 32,
    name: "usage-archive-pending",
    sql: `
    -- Archive files a run is about to write (docs/retention.md): a row is committed BEFORE its
    -- file is created and removed in the transaction that lists the file in usage_archive_files.
    -- After a crash the next run deletes exactly these files (and their temporary files), never
    -- one this database did not write: CREDITGATE_ARCHIVE_DIR may be shared with another
    -- database or hold the operator's own files.
    CREATE TABLE usage_archive_pending (
      file TEXT PRIMARY KEY,                    -- usage-YYYY-MM-<firstId>-<lastId>-<tag>.jsonl.zst
      created_at_ms INTEGER NOT NULL
    ) STRICT;
`,
  },
  {
    version: 34,
    name: "pg-agent-days-delete-fix",
    sql: `
    -- Nothing on SQLite: its row triggers fire per row, so usage_agent_account_days_delete
    -- (migration 22) already sees each deleted usage_daily row alone. The PostgreSQL twin fixes
    -- its PL/pgSQL function for a DELETE of several rows of one (agent, account, day).
    `,
  },
  {
    version: 35,
    name: "sqlite-cursor-row-sha",
    sql: `
    -- The fingerprint of the OpenClaw row at a store cursor's last_seq (sha256 hex of its stored
    -- event_json, else event_zstd bytes). A store restored from an older backup and written past
    -- the old cursor has different rows at seqs the cursor already covers: last_seq alone cannot
    -- tell, and those rows were skipped (calls never billed). The reader compares the row at
    -- last_seq with this and rescans the session on a mismatch (dedupe absorbs repeats).
    -- NULL: unknown (cursors written before this migration); set by the next cursor move.
    ALTER TABLE meter_sqlite_cursors ADD COLUMN last_row_sha256 TEXT;
    `,
  },
  {
    version: 36,
    name: "usage-monthly-accounts",
    sql: `
    -- Usage totals per UTC calendar month and account, with every sum of usage_daily, for usage
    -- reports by user over long ranges (docs/reports.md "Speed"): a month a range covers wholly
    -- is one row per account here instead of one per account and day in usage_daily, and a month
    -- it covers mostly is that month minus the usage_daily rows of its days outside the range.
    -- month = the day number (UTC days since 1970-01-01) of the month's first day. Kept by
    -- triggers on usage_daily like usage_daily_accounts (migrations 16 and 20), so it changes in
    -- the same transaction as the usage rows, whatever writes them: added on insert, the
    -- difference on an update that keeps the day and account, moved on one that changes them,
    -- taken away on delete (a month left with no calls keeps a row of zeros; reports skip it).
    CREATE TABLE usage_monthly_accounts (
      month INTEGER NOT NULL,                    -- UTC day number of the month's first day
      account_id TEXT NOT NULL,
      requests INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      input_tokens INTEGER NOT NULL,
      output_tokens INTEGER NOT NULL,
      cache_read_tokens INTEGER NOT NULL,
      cache_write_tokens INTEGER NOT NULL,
      cache_write_1h_tokens INTEGER NOT NULL,
      total_tokens INTEGER NOT NULL,
      cost_pico_usd INTEGER NOT NULL,
      charge_micro_credits INTEGER NOT NULL,
      unknown_model_requests INTEGER NOT NULL,
      fallback_priced_requests INTEGER NOT NULL,
      provider_billed_requests INTEGER NOT NULL,
      provider_billed_cost_pico_usd INTEGER NOT NULL,
      provider_billed_known_cost_pico_usd INTEGER NOT NULL,
      provider_billed_table_cost_pico_usd INTEGER NOT NULL,
      PRIMARY KEY (month, account_id)
    ) STRICT, WITHOUT ROWID;
    CREATE TRIGGER usage_monthly_accounts_insert AFTER INSERT ON usage_daily BEGIN
      INSERT INTO usage_monthly_accounts VALUES (CAST(strftime('%s', NEW.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400, NEW.account_id,
        NEW.requests, NEW.errors, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
        NEW.cache_write_tokens, NEW.cache_write_1h_tokens, NEW.total_tokens, NEW.cost_pico_usd,
        NEW.charge_micro_credits, NEW.unknown_model_requests, NEW.fallback_priced_requests,
        NEW.provider_billed_requests, NEW.provider_billed_cost_pico_usd,
        NEW.provider_billed_known_cost_pico_usd, NEW.provider_billed_table_cost_pico_usd)
        ON CONFLICT DO UPDATE SET
        requests = requests + excluded.requests, errors = errors + excluded.errors,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
        cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
        total_tokens = total_tokens + excluded.total_tokens,
        cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
        charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits,
        unknown_model_requests = unknown_model_requests + excluded.unknown_model_requests,
        fallback_priced_requests = fallback_priced_requests + excluded.fallback_priced_requests,
        provider_billed_requests = provider_billed_requests + excluded.provider_billed_requests,
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd + excluded.provider_billed_cost_pico_usd,
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd + excluded.provider_billed_known_cost_pico_usd,
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd + excluded.provider_billed_table_cost_pico_usd;
    END;
    CREATE TRIGGER usage_monthly_accounts_update_delta AFTER UPDATE ON usage_daily
    WHEN OLD.day = NEW.day AND OLD.account_id = NEW.account_id
    BEGIN
      UPDATE usage_monthly_accounts SET
        requests = requests + (NEW.requests - OLD.requests),
        errors = errors + (NEW.errors - OLD.errors),
        input_tokens = input_tokens + (NEW.input_tokens - OLD.input_tokens),
        output_tokens = output_tokens + (NEW.output_tokens - OLD.output_tokens),
        cache_read_tokens = cache_read_tokens + (NEW.cache_read_tokens - OLD.cache_read_tokens),
        cache_write_tokens = cache_write_tokens + (NEW.cache_write_tokens - OLD.cache_write_tokens),
        cache_write_1h_tokens = cache_write_1h_tokens + (NEW.cache_write_1h_tokens - OLD.cache_write_1h_tokens),
        total_tokens = total_tokens + (NEW.total_tokens - OLD.total_tokens),
        cost_pico_usd = cost_pico_usd + (NEW.cost_pico_usd - OLD.cost_pico_usd),
        charge_micro_credits = charge_micro_credits + (NEW.charge_micro_credits - OLD.charge_micro_credits),
        unknown_model_requests = unknown_model_requests + (NEW.unknown_model_requests - OLD.unknown_model_requests),
        fallback_priced_requests = fallback_priced_requests + (NEW.fallback_priced_requests - OLD.fallback_priced_requests),
        provider_billed_requests = provider_billed_requests + (NEW.provider_billed_requests - OLD.provider_billed_requests),
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd + (NEW.provider_billed_cost_pico_usd - OLD.provider_billed_cost_pico_usd),
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd + (NEW.provider_billed_known_cost_pico_usd - OLD.provider_billed_known_cost_pico_usd),
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd + (NEW.provider_billed_table_cost_pico_usd - OLD.provider_billed_table_cost_pico_usd)
        WHERE month = CAST(strftime('%s', NEW.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400 AND account_id = NEW.account_id;
    END;
    CREATE TRIGGER usage_monthly_accounts_update_rekey AFTER UPDATE ON usage_daily
    WHEN NOT (OLD.day = NEW.day AND OLD.account_id = NEW.account_id)
    BEGIN
      UPDATE usage_monthly_accounts SET
        requests = requests - OLD.requests, errors = errors - OLD.errors,
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cache_read_tokens = cache_read_tokens - OLD.cache_read_tokens,
        cache_write_tokens = cache_write_tokens - OLD.cache_write_tokens,
        cache_write_1h_tokens = cache_write_1h_tokens - OLD.cache_write_1h_tokens,
        total_tokens = total_tokens - OLD.total_tokens,
        cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd,
        charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits,
        unknown_model_requests = unknown_model_requests - OLD.unknown_model_requests,
        fallback_priced_requests = fallback_priced_requests - OLD.fallback_priced_requests,
        provider_billed_requests = provider_billed_requests - OLD.provider_billed_requests,
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd - OLD.provider_billed_cost_pico_usd,
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd - OLD.provider_billed_known_cost_pico_usd,
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd - OLD.provider_billed_table_cost_pico_usd
        WHERE month = CAST(strftime('%s', OLD.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400 AND account_id = OLD.account_id;
      INSERT INTO usage_monthly_accounts VALUES (CAST(strftime('%s', NEW.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400, NEW.account_id,
        NEW.requests, NEW.errors, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
        NEW.cache_write_tokens, NEW.cache_write_1h_tokens, NEW.total_tokens, NEW.cost_pico_usd,
        NEW.charge_micro_credits, NEW.unknown_model_requests, NEW.fallback_priced_requests,
        NEW.provider_billed_requests, NEW.provider_billed_cost_pico_usd,
        NEW.provider_billed_known_cost_pico_usd, NEW.provider_billed_table_cost_pico_usd)
        ON CONFLICT DO UPDATE SET
        requests = requests + excluded.requests, errors = errors + excluded.errors,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
        cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
        total_tokens = total_tokens + excluded.total_tokens,
        cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
        charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits,
        unknown_model_requests = unknown_model_requests + excluded.unknown_model_requests,
        fallback_priced_requests = fallback_priced_requests + excluded.fallback_priced_requests,
        provider_billed_requests = provider_billed_requests + excluded.provider_billed_requests,
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd + excluded.provider_billed_cost_pico_usd,
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd + excluded.provider_billed_known_cost_pico_usd,
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd + excluded.provider_billed_table_cost_pico_usd;
    END;
    CREATE TRIGGER usage_monthly_accounts_delete AFTER DELETE ON usage_daily BEGIN
      UPDATE usage_monthly_accounts SET
        requests = requests - OLD.requests, errors = errors - OLD.errors,
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cache_read_tokens = cache_read_tokens - OLD.cache_read_tokens,
        cache_write_tokens = cache_write_tokens - OLD.cache_write_tokens,
        cache_write_1h_tokens = cache_write_1h_tokens - OLD.cache_write_1h_tokens,
        total_tokens = total_tokens - OLD.total_tokens,
        cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd,
        charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits,
        unknown_model_requests = unknown_model_requests - OLD.unknown_model_requests,
        fallback_priced_requests = fallback_priced_requests - OLD.fallback_priced_requests,
        provider_billed_requests = provider_billed_requests - OLD.provider_billed_requests,
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd - OLD.provider_billed_cost_pico_usd,
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd - OLD.provider_billed_known_cost_pico_usd,
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd - OLD.provider_billed_table_cost_pico_usd
        WHERE month = CAST(strftime('%s', OLD.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400 AND account_id = OLD.account_id;
    END;
    INSERT INTO usage_monthly_accounts
    SELECT CAST(strftime('%s', day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400, account_id,
      SUM(requests), SUM(errors), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens),
      SUM(cache_write_tokens), SUM(cache_write_1h_tokens), SUM(total_tokens), SUM(cost_pico_usd),
      SUM(charge_micro_credits), SUM(unknown_model_requests), SUM(fallback_priced_requests),
      SUM(provider_billed_requests), SUM(provider_billed_cost_pico_usd),
      SUM(provider_billed_known_cost_pico_usd), SUM(provider_billed_table_cost_pico_usd)
    FROM usage_daily GROUP BY 1, 2;
    `,
  },
  {
    version: 37,
    name: "meter-file-cursors-path",
    sql: `
    -- The last cursor read under a name (a transcript replaced under its name by a rewritten copy
    -- is a rescan, not a first read: the JSONL reader): one indexed lookup per new inode instead
    -- of a scan and sort of every cursor ever written (the table is never pruned: ~1.5 s a poll
    -- at 200k cursors).
    CREATE INDEX meter_file_cursors_path ON meter_file_cursors (path, updated_at_ms);
    `,
  },
  {
    version: 38,
    name: "usage-response-keys",
    sql: `
    -- One provider response is one call (src/meter/identity.ts responseKeyOf): the response id of
    -- every billed call that has one of 16+ characters, under the UTC day of its message time,
    -- written with its usage row. The biller refuses a call whose (provider, response id) is here
    -- on its day (or, within an hour of midnight, the day next to it), so a copy of a response
    -- that OpenClaw wrote again with a new message.timestamp or partial counts is not billed
    -- twice. Keyed by day first so that a backlog's inserts land on the pages of the days it
    -- reads, not all over the table (a response id is random). Never pruned (retention keeps it,
    -- like usage_archived_keys); usage_event_id may name an archived row. Backfilled from the
    -- rows billed so far (the first row of each response and day).
    CREATE TABLE usage_response_keys (
      day INTEGER NOT NULL,                      -- message_ts_ms / 86400000 (truncated)
      response_id TEXT NOT NULL,
      provider TEXT NOT NULL,
      usage_event_id INTEGER NOT NULL,
      PRIMARY KEY (day, response_id, provider)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO usage_response_keys (day, response_id, provider, usage_event_id)
    SELECT message_ts_ms / 86400000, response_id, provider, MIN(id) FROM usage_events
    WHERE response_id IS NOT NULL AND length(response_id) >= 16
    GROUP BY 1, 2, 3;
    `,
  },
  {
    version: 39,
    name: "usage-events-requests",
    sql: `
    -- How many requests a usage row is: 1 for a call's own row, 0 for the difference billed for a
    -- later, greater copy of a call already billed (a streamed reply's final line read a poll after
    -- its partial, or from a copy of the transcript: src/meter/sources/batch-builder.ts
    -- entryIncrement). Reports count requests as SUM(requests) over raw rows and usage_daily adds
    -- the same, so such a call is one request, not two. Rows billed before are 1 each.
    ALTER TABLE usage_events ADD COLUMN requests INTEGER NOT NULL DEFAULT 1 CHECK (requests IN (0, 1));
    `,
  },
  {
    version: 40,
    name: "usage-superseded-keys",
    sql: `
    -- The identity of every lesser copy of an entry (a streamed reply's partial line) whose greater
    -- copy was billed in its place (src/meter/sources/batch-builder.ts supersedingCall): the
    -- biller's duplicate check reads it, so the partial read later from another copy of the
    -- transcript (a backup taken mid-stream, an edge's push arriving after the final's) is not
    -- billed on top of its final. Never pruned (like usage_archived_keys).
    CREATE TABLE usage_superseded_keys (
      dedupe_key TEXT PRIMARY KEY
    ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 41,
    name: "topup-refund-moves",
    sql: `
    -- Every move of a top-up's refunded amount (refunded_minor is a cumulative level: a second
    -- partial refund raises it, a failed refund may lower it), at the time it was recorded. The
    -- console's "refunded" of a range summed the whole level of top-ups last UPDATED in it: a refund
    -- of March counted in April once a second partial refund (or a dispute update) touched the row
    -- in April. Written by a trigger, so every writer of topups records its moves. Backfilled with
    -- one move per refunded top-up at its updated_at_ms (what the console showed until now).
    CREATE TABLE topup_refund_moves (
      id INTEGER PRIMARY KEY,
      topup_id TEXT NOT NULL,
      at_ms INTEGER NOT NULL,
      delta_minor INTEGER NOT NULL              -- the level's change, in the top-up's minor units
    ) STRICT;
    CREATE INDEX topup_refund_moves_at ON topup_refund_moves (at_ms);
    INSERT INTO topup_refund_moves (topup_id, at_ms, delta_minor)
    SELECT id, updated_at_ms, refunded_minor FROM topups WHERE refunded_minor <> 0 ORDER BY updated_at_ms, id;
    CREATE TRIGGER topups_refund_moves AFTER UPDATE OF refunded_minor ON topups
    WHEN NEW.refunded_minor <> OLD.refunded_minor
    BEGIN
      INSERT INTO topup_refund_moves (topup_id, at_ms, delta_minor)
      VALUES (NEW.id, NEW.updated_at_ms, NEW.refunded_minor - OLD.refunded_minor);
    END;
    `,
  },
  {
    version: 42,
    name: "charge-usd-at-its-rate",
    sql: `
    -- What each charge was worth in USD at the credit rate it was charged at
    -- (CREDITGATE_CREDITS_PER_USD then): reports valued every charge at today's rate, so a change
    -- of rate rewrote the charged USD and margin of every past call. usage_events.charge_pico_usd
    -- is the row's value (NULL: billed before this migration, rate unknown). The aggregates the
    -- reports read (usage_daily, usage_archived, usage_monthly_accounts) sum it, with rated_charge_micro_credits: the part
    -- of charge_micro_credits that charge_pico_usd values (the rest, rows of unknown rate, is still
    -- valued at today's rate). No backfill: the rate is configuration, not stored anywhere, so
    -- existing rows stay unrated (0 / 0 in the aggregates).
    -- usage_monthly_accounts keeps every sum of usage_daily (migration 36): its triggers are made
    -- again with the two new sums (the old ones inserted positional rows of 18 sums).
    ALTER TABLE usage_events ADD COLUMN charge_pico_usd INTEGER;
    DROP TRIGGER usage_monthly_accounts_insert;
    DROP TRIGGER usage_monthly_accounts_update_delta;
    DROP TRIGGER usage_monthly_accounts_update_rekey;
    DROP TRIGGER usage_monthly_accounts_delete;
    ALTER TABLE usage_daily ADD COLUMN charge_pico_usd INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_daily ADD COLUMN rated_charge_micro_credits INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_monthly_accounts ADD COLUMN charge_pico_usd INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_monthly_accounts ADD COLUMN rated_charge_micro_credits INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_archived ADD COLUMN charge_pico_usd INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE usage_archived ADD COLUMN rated_charge_micro_credits INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER usage_monthly_accounts_insert AFTER INSERT ON usage_daily BEGIN
      INSERT INTO usage_monthly_accounts (month, account_id, requests, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, total_tokens, cost_pico_usd, charge_micro_credits, unknown_model_requests, fallback_priced_requests, provider_billed_requests, provider_billed_cost_pico_usd, provider_billed_known_cost_pico_usd, provider_billed_table_cost_pico_usd, charge_pico_usd, rated_charge_micro_credits)
        VALUES (CAST(strftime('%s', NEW.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400, NEW.account_id,
        NEW.requests, NEW.errors, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
        NEW.cache_write_tokens, NEW.cache_write_1h_tokens, NEW.total_tokens, NEW.cost_pico_usd,
        NEW.charge_micro_credits, NEW.unknown_model_requests, NEW.fallback_priced_requests,
        NEW.provider_billed_requests, NEW.provider_billed_cost_pico_usd,
        NEW.provider_billed_known_cost_pico_usd, NEW.provider_billed_table_cost_pico_usd,
        NEW.charge_pico_usd, NEW.rated_charge_micro_credits)
        ON CONFLICT DO UPDATE SET
        requests = requests + excluded.requests, errors = errors + excluded.errors,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
        cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
        total_tokens = total_tokens + excluded.total_tokens,
        cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
        charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits,
        unknown_model_requests = unknown_model_requests + excluded.unknown_model_requests,
        fallback_priced_requests = fallback_priced_requests + excluded.fallback_priced_requests,
        provider_billed_requests = provider_billed_requests + excluded.provider_billed_requests,
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd + excluded.provider_billed_cost_pico_usd,
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd + excluded.provider_billed_known_cost_pico_usd,
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd + excluded.provider_billed_table_cost_pico_usd,
        charge_pico_usd = charge_pico_usd + excluded.charge_pico_usd,
        rated_charge_micro_credits = rated_charge_micro_credits + excluded.rated_charge_micro_credits;
    END;
    CREATE TRIGGER usage_monthly_accounts_update_delta AFTER UPDATE ON usage_daily
    WHEN OLD.day = NEW.day AND OLD.account_id = NEW.account_id
    BEGIN
      UPDATE usage_monthly_accounts SET
        requests = requests + (NEW.requests - OLD.requests),
        errors = errors + (NEW.errors - OLD.errors),
        input_tokens = input_tokens + (NEW.input_tokens - OLD.input_tokens),
        output_tokens = output_tokens + (NEW.output_tokens - OLD.output_tokens),
        cache_read_tokens = cache_read_tokens + (NEW.cache_read_tokens - OLD.cache_read_tokens),
        cache_write_tokens = cache_write_tokens + (NEW.cache_write_tokens - OLD.cache_write_tokens),
        cache_write_1h_tokens = cache_write_1h_tokens + (NEW.cache_write_1h_tokens - OLD.cache_write_1h_tokens),
        total_tokens = total_tokens + (NEW.total_tokens - OLD.total_tokens),
        cost_pico_usd = cost_pico_usd + (NEW.cost_pico_usd - OLD.cost_pico_usd),
        charge_micro_credits = charge_micro_credits + (NEW.charge_micro_credits - OLD.charge_micro_credits),
        unknown_model_requests = unknown_model_requests + (NEW.unknown_model_requests - OLD.unknown_model_requests),
        fallback_priced_requests = fallback_priced_requests + (NEW.fallback_priced_requests - OLD.fallback_priced_requests),
        provider_billed_requests = provider_billed_requests + (NEW.provider_billed_requests - OLD.provider_billed_requests),
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd + (NEW.provider_billed_cost_pico_usd - OLD.provider_billed_cost_pico_usd),
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd + (NEW.provider_billed_known_cost_pico_usd - OLD.provider_billed_known_cost_pico_usd),
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd + (NEW.provider_billed_table_cost_pico_usd - OLD.provider_billed_table_cost_pico_usd),
        charge_pico_usd = charge_pico_usd + (NEW.charge_pico_usd - OLD.charge_pico_usd),
        rated_charge_micro_credits = rated_charge_micro_credits + (NEW.rated_charge_micro_credits - OLD.rated_charge_micro_credits)
        WHERE month = CAST(strftime('%s', NEW.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400 AND account_id = NEW.account_id;
    END;
    CREATE TRIGGER usage_monthly_accounts_update_rekey AFTER UPDATE ON usage_daily
    WHEN NOT (OLD.day = NEW.day AND OLD.account_id = NEW.account_id)
    BEGIN
      UPDATE usage_monthly_accounts SET
        requests = requests - OLD.requests, errors = errors - OLD.errors,
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cache_read_tokens = cache_read_tokens - OLD.cache_read_tokens,
        cache_write_tokens = cache_write_tokens - OLD.cache_write_tokens,
        cache_write_1h_tokens = cache_write_1h_tokens - OLD.cache_write_1h_tokens,
        total_tokens = total_tokens - OLD.total_tokens,
        cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd,
        charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits,
        unknown_model_requests = unknown_model_requests - OLD.unknown_model_requests,
        fallback_priced_requests = fallback_priced_requests - OLD.fallback_priced_requests,
        provider_billed_requests = provider_billed_requests - OLD.provider_billed_requests,
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd - OLD.provider_billed_cost_pico_usd,
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd - OLD.provider_billed_known_cost_pico_usd,
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd - OLD.provider_billed_table_cost_pico_usd,
        charge_pico_usd = charge_pico_usd - OLD.charge_pico_usd,
        rated_charge_micro_credits = rated_charge_micro_credits - OLD.rated_charge_micro_credits
        WHERE month = CAST(strftime('%s', OLD.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400 AND account_id = OLD.account_id;
      INSERT INTO usage_monthly_accounts (month, account_id, requests, errors, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, total_tokens, cost_pico_usd, charge_micro_credits, unknown_model_requests, fallback_priced_requests, provider_billed_requests, provider_billed_cost_pico_usd, provider_billed_known_cost_pico_usd, provider_billed_table_cost_pico_usd, charge_pico_usd, rated_charge_micro_credits)
        VALUES (CAST(strftime('%s', NEW.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400, NEW.account_id,
        NEW.requests, NEW.errors, NEW.input_tokens, NEW.output_tokens, NEW.cache_read_tokens,
        NEW.cache_write_tokens, NEW.cache_write_1h_tokens, NEW.total_tokens, NEW.cost_pico_usd,
        NEW.charge_micro_credits, NEW.unknown_model_requests, NEW.fallback_priced_requests,
        NEW.provider_billed_requests, NEW.provider_billed_cost_pico_usd,
        NEW.provider_billed_known_cost_pico_usd, NEW.provider_billed_table_cost_pico_usd,
        NEW.charge_pico_usd, NEW.rated_charge_micro_credits)
        ON CONFLICT DO UPDATE SET
        requests = requests + excluded.requests, errors = errors + excluded.errors,
        input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
        cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
        cache_write_1h_tokens = cache_write_1h_tokens + excluded.cache_write_1h_tokens,
        total_tokens = total_tokens + excluded.total_tokens,
        cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
        charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits,
        unknown_model_requests = unknown_model_requests + excluded.unknown_model_requests,
        fallback_priced_requests = fallback_priced_requests + excluded.fallback_priced_requests,
        provider_billed_requests = provider_billed_requests + excluded.provider_billed_requests,
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd + excluded.provider_billed_cost_pico_usd,
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd + excluded.provider_billed_known_cost_pico_usd,
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd + excluded.provider_billed_table_cost_pico_usd,
        charge_pico_usd = charge_pico_usd + excluded.charge_pico_usd,
        rated_charge_micro_credits = rated_charge_micro_credits + excluded.rated_charge_micro_credits;
    END;
    CREATE TRIGGER usage_monthly_accounts_delete AFTER DELETE ON usage_daily BEGIN
      UPDATE usage_monthly_accounts SET
        requests = requests - OLD.requests, errors = errors - OLD.errors,
        input_tokens = input_tokens - OLD.input_tokens,
        output_tokens = output_tokens - OLD.output_tokens,
        cache_read_tokens = cache_read_tokens - OLD.cache_read_tokens,
        cache_write_tokens = cache_write_tokens - OLD.cache_write_tokens,
        cache_write_1h_tokens = cache_write_1h_tokens - OLD.cache_write_1h_tokens,
        total_tokens = total_tokens - OLD.total_tokens,
        cost_pico_usd = cost_pico_usd - OLD.cost_pico_usd,
        charge_micro_credits = charge_micro_credits - OLD.charge_micro_credits,
        unknown_model_requests = unknown_model_requests - OLD.unknown_model_requests,
        fallback_priced_requests = fallback_priced_requests - OLD.fallback_priced_requests,
        provider_billed_requests = provider_billed_requests - OLD.provider_billed_requests,
        provider_billed_cost_pico_usd = provider_billed_cost_pico_usd - OLD.provider_billed_cost_pico_usd,
        provider_billed_known_cost_pico_usd = provider_billed_known_cost_pico_usd - OLD.provider_billed_known_cost_pico_usd,
        provider_billed_table_cost_pico_usd = provider_billed_table_cost_pico_usd - OLD.provider_billed_table_cost_pico_usd,
        charge_pico_usd = charge_pico_usd - OLD.charge_pico_usd,
        rated_charge_micro_credits = rated_charge_micro_credits - OLD.rated_charge_micro_credits
        WHERE month = CAST(strftime('%s', OLD.day * 86400, 'unixepoch', 'start of month') AS INTEGER) / 86400 AND account_id = OLD.account_id;
    END;
    `,
  },
  {
    version: 43,
    name: "topup-collected-amount",
    sql: `
    -- What the provider actually collected for a paid top-up, in its currency's minor units and
    -- without a tax added on top: less than amount_minor (the pack price) when a coupon or
    -- promotion code paid part of it, 0 for a 100% one. The payments report and the console's
    -- revenue showed the pack price for such a payment (USD 5.00 where 4.00 was collected).
    -- NULL: amount_minor was collected (every top-up paid before this version). When set,
    -- refunded_minor and disputed_minor are counted in it (money given back of what was
    -- collected); NULL keeps them in amount_minor's units as before.
    ALTER TABLE topups ADD COLUMN collected_minor INTEGER CHECK (collected_minor IS NULL OR collected_minor >= 0);
    `,
  },
];
