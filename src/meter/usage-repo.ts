import type Database from "better-sqlite3";
import type { Db } from "../db/index.js";
import {
  type CallPlace,
  hasResponseIdentity,
  isResponseIdentity,
  mayBeCopies,
  type PromptCounts,
  promptTotal,
  responseDaysOf,
  responsePlaceSlotOf,
  responseSlotOf,
  samePrompt,
} from "./identity.js";

/**
 * A row of `usage_events` as SQLite returns it (default integer mode: numbers). One row per
 * billed model call; `dedupe_key` is UNIQUE (see identity.ts) and `ledger_entry_id` is its debit.
 */
export interface UsageEventRow {
  id: number;
  dedupe_key: string;
  ledger_entry_id: number;
  account_id: string;
  agent_id: string;
  session_id: string | null;
  session_key: string | null;
  source: string;
  source_ref: string;
  provider: string;
  model: string;
  api: string | null;
  response_id: string | null;
  message_ts_ms: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  /** The part of `cache_write_tokens` written with the 1-hour TTL. */
  cache_write_1h_tokens: number;
  total_tokens: number;
  reasoning_tokens: number | null;
  stop_reason: string | null;
  /** 0 or 1. */
  is_error: number;
  error_message: string | null;
  /** The transcript's own usage.cost.total in pico-USD, for reconciliation. */
  recorded_cost_pico_usd: number | null;
  /** Exact cost used for the charge, pico-USD. */
  cost_pico_usd: number;
  /** What the override or table price would have charged, pico-USD; null when neither knows the model. */
  table_cost_pico_usd: number | null;
  charge_micro_credits: number;
  /**
   * The charge's value in USD at the credit rate it was made at (`charge × 10^6 / creditsPerUsd`
   * then, half-up to a pico-USD; migration 42): reports value it so, not at today's rate. Null
   * for rows billed before migration 42 (rate unknown: valued at today's rate).
   */
  charge_pico_usd: bigint | number | null;
  price_source: string;
  price_version: string;
  /** 0 or 1. */
  unknown_model: number;
  /** A note on the row, e.g. an implausible recorded cost that was not used. */
  anomaly: string | null;
  created_at_ms: number;
  /** User message to this reply, ms (migration 25); null when not derivable. */
  latency_ms: number | null;
  /** Redacted previews (migration 26); null when off, empty or purged. */
  preview_user: string | null;
  preview_reply: string | null;
  /**
   * Requests the row counts as (migration 39): 1 for a call's own row, 0 for the difference billed
   * for a later, greater copy of a call already billed (batch-builder.ts `entryIncrement`): the
   * call is one request however many rows bill it.
   */
  requests: number;
}

/**
 * What `insert` writes: every column but `id`. Pico-USD costs may be bigints (up to int64): a
 * cost past 2^53 is stored exactly.
 */
export type NewUsageEventRow = Omit<
  UsageEventRow,
  | "id"
  | "recorded_cost_pico_usd"
  | "cost_pico_usd"
  | "latency_ms"
  | "preview_user"
  | "preview_reply"
  | "requests"
  | "charge_pico_usd"
> & {
  recorded_cost_pico_usd: bigint | number | null;
  cost_pico_usd: bigint | number;
} & Partial<
    Pick<UsageEventRow, "latency_ms" | "preview_user" | "preview_reply" | "requests" | "charge_pico_usd">
  > & {
    /**
     * Not a column: the text the row's response identity is recorded under in
     * `usage_response_keys` when it is not `response_id` itself (identity.ts `responseSlotOf`:
     * another call under an id a call of another prompt holds already).
     */
    response_slot?: string;
  };

const COLUMNS = [
  "dedupe_key",
  "ledger_entry_id",
  "account_id",
  "agent_id",
  "session_id",
  "session_key",
  "source",
  "source_ref",
  "provider",
  "model",
  "api",
  "response_id",
  "message_ts_ms",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "cache_write_1h_tokens",
  "total_tokens",
  "reasoning_tokens",
  "stop_reason",
  "is_error",
  "error_message",
  "recorded_cost_pico_usd",
  "cost_pico_usd",
  "table_cost_pico_usd",
  "charge_micro_credits",
  "price_source",
  "price_version",
  "unknown_model",
  "anomaly",
  "created_at_ms",
  "latency_ms",
  "preview_user",
  "preview_reply",
] as const satisfies readonly (keyof NewUsageEventRow)[];

/** Milliseconds in a UTC day: `usage_daily.day` is `message_ts_ms / DAY_MS` (integer division). */
export const DAY_MS = 86_400_000;
/**
 * `usage_daily` holds the rows with `0 <= message_ts_ms < AGGREGATED_UNTIL_MS` (1970-01-01 to
 * 9999-12-31 UTC, where the day key is a plain `YYYY-MM-DD`); reports read any other row raw.
 */
export const AGGREGATED_UNTIL_MS = 253_402_300_800_000;

/** `usage_daily`'s key columns then its summed columns, in the order `UPSERT_DAILY_SQL` binds them. */
const DAILY_SUMS = [
  "requests",
  "errors",
  "input_tokens",
  "output_tokens",
  "cache_read_tokens",
  "cache_write_tokens",
  "cache_write_1h_tokens",
  "total_tokens",
  "cost_pico_usd",
  "charge_micro_credits",
  "unknown_model_requests",
  "fallback_priced_requests",
  "provider_billed_requests",
  "provider_billed_cost_pico_usd",
  // of the provider-billed cost, the part whose model the table/override knows
  "provider_billed_known_cost_pico_usd",
  "provider_billed_table_cost_pico_usd",
] as const;
/** How a time range is read: whole UTC days from `usage_daily`, and the raw edges around them. */
export interface UtcDaySplit {
  /** Whole UTC days `[firstDay, endDay)` (days since 1970-01-01) read from `usage_daily`. */
  firstDay: number;
  endDay: number;
  /**
   * The non-empty raw parts `[lo, hi)` of the range outside those days, read from `usage_events`
   * (an undefined bound is open, as the range's).
   */
  edges: [number | undefined, number | undefined][];
}

/**
 * The one rule every usage report follows (`creditgate usage`, `creditgate report`, budgets):
 * the whole UTC days inside `[sinceMs, untilMs)` and inside the aggregated span come from
 * `usage_daily`, the rest (at most two edges) from raw rows. Null when no whole day is inside:
 * read the range raw. Bounds are epoch ms; undefined = open.
 */
export function splitUtcDays(sinceMs: number | undefined, untilMs: number | undefined): UtcDaySplit | null {
  const since = Math.max(sinceMs ?? 0, 0);
  const until = Math.min(untilMs ?? AGGREGATED_UNTIL_MS, AGGREGATED_UNTIL_MS);
  const firstDay = Math.ceil(since / DAY_MS);
  const endDay = Math.floor(until / DAY_MS);
  if (!(firstDay < endDay)) return null;
  const edges = (
    [
      [sinceMs, firstDay * DAY_MS],
      [endDay * DAY_MS, untilMs],
    ] as [number | undefined, number | undefined][]
  ).filter(([lo, hi]) => lo === undefined || hi === undefined || lo < hi);
  return { firstDay, endDay, edges };
}

/**
 * One raw part of a {@link UtcDaySplitNearest}: rows in `[lo, hi)`, added (`sign` 1), or
 * subtracted (`sign` -1) from the whole UTC `day` (days since 1970-01-01) they lie in.
 */
export type SignedEdge =
  | { lo: number | undefined; hi: number | undefined; sign: 1 }
  | { lo: number; hi: number; sign: -1; day: number };

/** A {@link UtcDaySplit} whose partial-day edges may be read as their whole day minus the rest. */
export interface UtcDaySplitNearest {
  /** Days `[firstDay, endDay)` read from `usage_daily` (may include the two edge days). */
  firstDay: number;
  endDay: number;
  /** Raw parts: added ones are in the range; subtracted ones lie in a whole day read above. */
  edges: SignedEdge[];
}

/**
 * `split` with each partial-day edge read the shorter way: an edge that covers more than half of
 * its UTC day is read as that whole day from `usage_daily` minus the raw rows of the rest of the
 * day (at most half a day of raw rows instead of up to a whole one). Exact, as every aggregate
 * sum is a plain sum of the same rows (usage_daily never loses rows: retention moves raw rows to
 * `usage_archived`, which raw parts read too). A group whose calls all lie in the subtracted part
 * is left with zero requests, and the caller drops it (the raw query has no such group). Only
 * days wholly inside the aggregated span, with a bounded edge, are completed this way.
 */
export function nearestDaySplit(split: UtcDaySplit): UtcDaySplitNearest {
  let { firstDay, endDay } = split;
  const edges: SignedEdge[] = [];
  for (const [lo, hi] of split.edges) {
    const startDay = split.firstDay - 1;
    if (hi === split.firstDay * DAY_MS && lo !== undefined && startDay >= 0 && lo > startDay * DAY_MS) {
      // the start edge [lo, firstDay): lies inside day startDay
      if (lo - startDay * DAY_MS < DAY_MS / 2) {
        firstDay = startDay;
        edges.push({ lo: startDay * DAY_MS, hi: lo, sign: -1, day: startDay });
        continue;
      }
    } else if (
      lo === split.endDay * DAY_MS &&
      hi !== undefined &&
      hi < (split.endDay + 1) * DAY_MS &&
      (split.endDay + 1) * DAY_MS <= AGGREGATED_UNTIL_MS
    ) {
      // the end edge [endDay, hi): lies inside day endDay
      if (hi - lo > DAY_MS / 2) {
        endDay = split.endDay + 1;
        edges.push({ lo: hi, hi: endDay * DAY_MS, sign: -1, day: split.endDay });
        continue;
      }
    }
    edges.push({ lo, hi, sign: 1 });
  }
  return { firstDay, endDay, edges };
}

/**
 * Adds one group's sums (the calls of one write with the same day, account, agent, provider and
 * model) to its `usage_daily` row. Written once per group per write, not once per call: a batch
 * of 2,000 calls from a handful of sessions touches a handful of groups.
 */
const UPSERT_DAILY_SQL = `INSERT INTO usage_daily (day, account_id, agent_id, provider, model, ${DAILY_SUMS.join(", ")})
  VALUES (?, ?, ?, ?, ?, ${DAILY_SUMS.map(() => "?").join(", ")})
  ON CONFLICT (day, account_id, agent_id, provider, model) DO UPDATE SET
    ${DAILY_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(",\n    ")}`;

/** `UPSERT_DAILY_SQL` of a group with rated charges (migration 42's two sums last). */
const RATED_SUMS = ["charge_pico_usd", "rated_charge_micro_credits"] as const;
const UPSERT_DAILY_RATED_SQL = `INSERT INTO usage_daily (day, account_id, agent_id, provider, model, ${[...DAILY_SUMS, ...RATED_SUMS].join(", ")})
  VALUES (?, ?, ?, ?, ?, ${[...DAILY_SUMS, ...RATED_SUMS].map(() => "?").join(", ")})
  ON CONFLICT (day, account_id, agent_id, provider, model) DO UPDATE SET
    ${[...DAILY_SUMS, ...RATED_SUMS].map((c) => `${c} = ${c} + excluded.${c}`).join(",\n    ")}`;

/**
 * One `usage_daily` group being summed in memory: its key and its sums, in `DAILY_SUMS` order.
 * A sum is a plain number while it is a safe integer (every addition of two safe integers whose
 * exact result is safe is exact); a column whose next addition would leave that range (or whose
 * value is a bigint) moves to `big`, summed exactly there. Its total is `big[i] + sums[i]`.
 */
interface DailyGroup {
  key: [day: number, accountId: string, agentId: string, provider: string, model: string];
  /**
   * `DAILY_SUMS` then the two rated sums (`RATED_SUMS`: of the rows with a `charge_pico_usd`,
   * migration 42, the sum of it and of their `charge_micro_credits`), summed as `addSum` says.
   */
  sums: number[];
  big: bigint[] | null;
  /** Whether a row of the group has a `charge_pico_usd` (its upsert then writes the rated sums). */
  rated: boolean;
}

/** Positions of the summed columns in `DAILY_SUMS` (and so in `DailyGroup.sums`). */
const REQUESTS = DAILY_SUMS.indexOf("requests");
const ERRORS = DAILY_SUMS.indexOf("errors");
const INPUT = DAILY_SUMS.indexOf("input_tokens");
const OUTPUT = DAILY_SUMS.indexOf("output_tokens");
const CACHE_READ = DAILY_SUMS.indexOf("cache_read_tokens");
const CACHE_WRITE = DAILY_SUMS.indexOf("cache_write_tokens");
const CACHE_WRITE_1H = DAILY_SUMS.indexOf("cache_write_1h_tokens");
const TOTAL = DAILY_SUMS.indexOf("total_tokens");
const COST = DAILY_SUMS.indexOf("cost_pico_usd");
const CHARGE = DAILY_SUMS.indexOf("charge_micro_credits");
const UNKNOWN = DAILY_SUMS.indexOf("unknown_model_requests");
const FALLBACK = DAILY_SUMS.indexOf("fallback_priced_requests");
const PB_REQUESTS = DAILY_SUMS.indexOf("provider_billed_requests");
const PB_COST = DAILY_SUMS.indexOf("provider_billed_cost_pico_usd");
const PB_KNOWN_COST = DAILY_SUMS.indexOf("provider_billed_known_cost_pico_usd");
const PB_TABLE_COST = DAILY_SUMS.indexOf("provider_billed_table_cost_pico_usd");
/** Positions of the rated sums (`RATED_SUMS`), after `DAILY_SUMS` in `DailyGroup.sums`. */
const RATED_PICO = DAILY_SUMS.length;
const RATED_MICRO = DAILY_SUMS.length + 1;
/** Length of `DailyGroup.sums`. */
const GROUP_SUMS = DAILY_SUMS.length + RATED_SUMS.length;

/**
 * Adds `v` to column `i` of `g`: in the number while the exact sum is a safe integer, else in
 * the exact bigint (where a non-integer throws, as `BigInt(v)` always did).
 */
function addSum(g: DailyGroup, i: number, v: number | bigint): void {
  if (typeof v === "number") {
    const t = (g.sums[i] as number) + v;
    if (Number.isSafeInteger(t)) {
      g.sums[i] = t;
      return;
    }
  }
  if (!g.big) g.big = g.sums.map(() => 0n);
  const big = g.big;
  big[i] = (big[i] as bigint) + BigInt(g.sums[i] as number) + BigInt(v);
  g.sums[i] = 0;
}

/**
 * The group's sums in `DAILY_SUMS` order then the rated sums, to bind: numbers, or bigints where a
 * sum left the safe range.
 */
function dailyValues(g: DailyGroup): (number | bigint)[] {
  const big = g.big;
  return big ? g.sums.map((n, i) => (big[i] as bigint) + BigInt(n)) : g.sums;
}

/** A write's `usage_daily` groups by key (in order of first row), and the last row's group. */
interface DailyGroups {
  byId: Map<string, DailyGroup>;
  last: DailyGroup | null;
}

/**
 * Adds `row` to its group in `groups`, or does nothing when the row is outside the aggregated
 * range (`usage_daily` holds `0 <= message_ts_ms < AGGREGATED_UNTIL_MS`; reports read other rows
 * raw). The sums are exactly the values bound into the row's INSERT, with the same definitions as
 * migration 16's backfill: `day = message_ts_ms / DAY_MS` (integer division, the range is
 * non-negative), a fallback-priced request is `price_source = 'fallback'`, a provider-billed one
 * `'provider-billed'`, whose known cost is its cost when `table_cost_pico_usd` is set.
 */
function addToDaily(groups: DailyGroups, row: NewUsageEventRow): void {
  const ts = row.message_ts_ms;
  if (!(ts >= 0 && ts < AGGREGATED_UNTIL_MS)) return;
  const day = Math.floor(ts / DAY_MS);
  // Rows come grouped by account and mostly by session: most belong to the previous row's group.
  let g: DailyGroup | undefined = groups.last ?? undefined;
  const k = g?.key;
  if (
    !g ||
    !k ||
    k[0] !== day ||
    k[1] !== row.account_id ||
    k[2] !== row.agent_id ||
    k[3] !== row.provider ||
    k[4] !== row.model
  ) {
    const id = `${day}\u0000${row.account_id}\u0000${row.agent_id}\u0000${row.provider}\u0000${row.model}`;
    g = groups.byId.get(id);
    if (!g) {
      g = {
        key: [day, row.account_id, row.agent_id, row.provider, row.model],
        sums: new Array<number>(GROUP_SUMS).fill(0),
        big: null,
        rated: false,
      };
      groups.byId.set(id, g);
    }
    groups.last = g;
  }
  const cost = row.cost_pico_usd;
  addSum(g, REQUESTS, row.requests ?? 1);
  addSum(g, ERRORS, row.is_error);
  addSum(g, INPUT, row.input_tokens);
  addSum(g, OUTPUT, row.output_tokens);
  addSum(g, CACHE_READ, row.cache_read_tokens);
  addSum(g, CACHE_WRITE, row.cache_write_tokens);
  addSum(g, CACHE_WRITE_1H, row.cache_write_1h_tokens);
  addSum(g, TOTAL, row.total_tokens);
  addSum(g, COST, cost);
  addSum(g, CHARGE, row.charge_micro_credits);
  if (row.charge_pico_usd !== undefined && row.charge_pico_usd !== null) {
    // in numbers while safe, as the other sums (2026-12-05: two BigInt conversions and additions
    // per row were the writer's costliest part of this function)
    g.rated = true;
    addSum(g, RATED_PICO, row.charge_pico_usd);
    addSum(g, RATED_MICRO, row.charge_micro_credits);
  }
  addSum(g, UNKNOWN, row.unknown_model);
  if (row.price_source === "fallback") addSum(g, FALLBACK, 1);
  if (row.price_source === "provider-billed") {
    addSum(g, PB_REQUESTS, 1);
    addSum(g, PB_COST, cost);
    if (row.table_cost_pico_usd !== null) addSum(g, PB_KNOWN_COST, cost);
    addSum(g, PB_TABLE_COST, row.table_cost_pico_usd ?? 0);
  }
}

/**
 * The one writer of `usage_events` rows (the biller's hot path and the review queue's release).
 * Each write also adds its rows to their `usage_daily` aggregates (see `queryUsage`), in the same
 * statement sequence, so the aggregates commit or roll back with the rows.
 * Synchronous; callers own the transaction, which must also hold the row's ledger debit.
 */
export function createUsageWriter(db: Db) {
  // Positional parameters, bound straight from the row's fields: ~15% cheaper per row than
  // named ones, and no per-row object spread for the optional columns.
  const insert = db.prepare<(string | number | bigint | null)[]>(
    `INSERT INTO usage_events (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`,
  );
  const upsertDaily = db.prepare<(string | number | bigint)[]>(UPSERT_DAILY_SQL);
  // A row that is no request of its own (`requests` 0: a later copy's difference) names the
  // column; every other row leaves it to its default (1), so a writer over a database not yet at
  // migration 39 (tests that build an older schema) works for them.
  // Rows with a rated charge (`charge_pico_usd`, migration 42) name that column, and their groups
  // use the upsert with the rated sums; others use the statements above (a writer over a database
  // not yet at migration 42, tests that build an older schema, works for them).
  // The variants, prepared on first use, by `(noRequest ? 1 : 0) | (rated ? 2 : 0)` (an array, not
  // a map keyed by a string built per row: 2026-12-05).
  const variants: (Database.Statement<(string | number | bigint | null)[]> | undefined)[] = [insert];
  const insertFor = (noRequest: boolean, rated: boolean) => {
    const k = (noRequest ? 1 : 0) | (rated ? 2 : 0);
    let stmt = variants[k];
    if (!stmt) {
      const cols = [...COLUMNS, ...(noRequest ? ["requests"] : []), ...(rated ? ["charge_pico_usd"] : [])];
      const values = [...COLUMNS.map(() => "?"), ...(noRequest ? ["0"] : []), ...(rated ? ["?"] : [])];
      stmt = db.prepare<(string | number | bigint | null)[]>(
        `INSERT INTO usage_events (${cols.join(", ")}) VALUES (${values.join(", ")})`,
      );
      variants[k] = stmt;
    }
    return stmt;
  };
  let upsertDailyRated: Database.Statement<(string | number | bigint)[]> | null = null;
  // Prepared on first use, so that a writer over a database not yet at migration 38 (tests that
  // build an older schema) works for rows without a response id.
  let insertResponse: Database.Statement<[number, string, string, number]> | null = null;
  let responseOnDay: Database.Statement<[number, string, string], { id: number }> | null = null;
  let promptOfRow: Database.Statement<[number], RowPrompt> | null = null;
  let slotsOfDay: Database.Statement<[number, string, number, string], { id: number } & RowPrompt> | null =
    null;
  const write = (rows: readonly NewUsageEventRow[]): number[] => {
    const ids: number[] = [];
    const groups: DailyGroups = { byId: new Map(), last: null };
    for (const row of rows) {
      // In COLUMNS order; latency and previews are optional (absent: NULL).
      const rated = row.charge_pico_usd !== undefined && row.charge_pico_usd !== null;
      const stmt = insertFor(row.requests === 0, rated);
      const info = stmt.run(
        row.dedupe_key,
        row.ledger_entry_id,
        row.account_id,
        row.agent_id,
        row.session_id,
        row.session_key,
        row.source,
        row.source_ref,
        row.provider,
        row.model,
        row.api,
        row.response_id,
        row.message_ts_ms,
        row.input_tokens,
        row.output_tokens,
        row.cache_read_tokens,
        row.cache_write_tokens,
        row.cache_write_1h_tokens,
        row.total_tokens,
        row.reasoning_tokens,
        row.stop_reason,
        row.is_error,
        row.error_message,
        row.recorded_cost_pico_usd,
        row.cost_pico_usd,
        row.table_cost_pico_usd,
        row.charge_micro_credits,
        row.price_source,
        row.price_version,
        row.unknown_model,
        row.anomaly,
        row.created_at_ms,
        row.latency_ms ?? null,
        row.preview_user ?? null,
        row.preview_reply ?? null,
        ...(rated ? [row.charge_pico_usd as bigint | number] : []),
      );
      const id = Number(info.lastInsertRowid);
      ids.push(id);
      // The call's response identity (throws SQLITE_CONSTRAINT_PRIMARYKEY when a copy of the
      // same response is already billed: see responseKeyOf).
      if (hasResponseIdentity(row.dedupe_key, row.response_id)) {
        insertResponse ??= db.prepare<[number, string, string, number]>(
          "INSERT INTO usage_response_keys (day, response_id, provider, usage_event_id) VALUES (?, ?, ?, ?)",
        );
        insertResponse.run(
          responseDaysOf(row.message_ts_ms).day,
          row.response_slot ?? row.response_id,
          row.provider,
          id,
        );
      }
      addToDaily(groups, row);
    }
    for (const g of groups.byId.values()) {
      const values = dailyValues(g);
      if (g.rated) {
        upsertDailyRated ??= db.prepare<(string | number | bigint)[]>(UPSERT_DAILY_RATED_SQL);
        upsertDailyRated.run(...g.key, ...values);
      } else upsertDaily.run(...g.key, ...values.slice(0, DAILY_SUMS.length));
    }
    return ids;
  };
  const byKey = db.prepare<[string], Pick<UsageEventRow, "id">>(
    "SELECT id FROM usage_events WHERE dedupe_key = ?",
  );
  const byKeys = db.prepare<[string], Pick<UsageEventRow, "dedupe_key">>(
    "SELECT dedupe_key FROM usage_events WHERE dedupe_key IN (SELECT value FROM json_each(?))",
  );
  return {
    /**
     * Inserts one row (and adds it to its `usage_daily` group) and returns its id. Callers should
     * hold a transaction (with the row's debit); outside one, it opens its own.
     * @throws SqliteError SQLITE_CONSTRAINT_UNIQUE when the dedupe key is already billed.
     */
    insert(row: NewUsageEventRow): number {
      return (db.inTransaction ? write([row]) : db.transaction(write)([row]))[0] as number;
    },
    /**
     * Inserts `rows` in order and adds them to their `usage_daily` groups with one upsert per
     * group (day, account, agent, provider, model), and returns their ids in the same order.
     * Callers should hold a transaction (with the rows' debits); outside one, it opens its own.
     * @throws SqliteError SQLITE_CONSTRAINT_UNIQUE when a dedupe key is already billed (nothing
     *   of the call is kept when the caller's transaction rolls back).
     */
    insertMany(rows: readonly NewUsageEventRow[]): number[] {
      return db.inTransaction ? write(rows) : db.transaction(write)(rows);
    },
    /**
     * Which of `dedupeKeys` are already billed (one statement for a whole batch instead of a
     * SELECT per key; each key is still an exact probe of the UNIQUE index).
     */
    billedAmong(dedupeKeys: readonly string[]): Set<string> {
      const found = new Set<string>();
      if (dedupeKeys.length === 0) return found;
      for (const r of byKeys.all(JSON.stringify(dedupeKeys))) found.add(r.dedupe_key);
      return found;
    },
    /**
     * The id of the usage row first billed for this provider response, or null (also for an id
     * too short to name one response: see `responseKeyOf`), looked for under the UTC day of
     * `messageTsMs` and, near midnight, the day next to it (`responseDaysOf`). `adjacentOnly`:
     * only that next day (the batch's insert itself refuses a copy of the same day). The row may
     * since have been archived.
     */
    idByResponse(
      provider: string,
      responseId: string | null,
      messageTsMs: number,
      adjacentOnly = false,
    ): number | null {
      if (!isResponseIdentity(responseId)) return null;
      const { day, near } = responseDaysOf(messageTsMs);
      if (adjacentOnly && near === null) return null;
      responseOnDay ??= db.prepare<[number, string, string], { id: number }>(
        "SELECT usage_event_id AS id FROM usage_response_keys WHERE day = ? AND response_id = ? AND provider = ?",
      );
      const same = adjacentOnly ? undefined : responseOnDay.get(day, responseId, provider);
      if (same) return same.id;
      return near === null ? null : (responseOnDay.get(near, responseId, provider)?.id ?? null);
    },
    /**
     * Whether a copy of this call's provider response is billed (`{ id }`, the copy's row), else
     * the text to record its response identity under (`{ slot }`): like `idByResponse`, but a row
     * billed under the same id whose prompt is none of `prompts` (identity.ts
     * `promptsOf`, `samePrompt`) is another call (a relay that reuses one id), and then the
     * call is looked for, and recorded, under its own slot (`responseSlotOf`). A copy whose row
     * was archived is taken for a copy, as before. `adjacentOnly` as for `idByResponse`.
     */
    responseCopy(
      provider: string,
      responseId: string,
      messageTsMs: number,
      prompts: readonly PromptCounts[],
      adjacentOnly = false,
      sessionId: string | null = null,
      sessionKey: string | null = null,
    ): { id: number } | { slot: string } {
      const { day, near } = responseDaysOf(messageTsMs);
      // optimistic mode, away from midnight: nothing to look up (the loop below would find the same)
      if (adjacentOnly && near === null) return { slot: responseId };
      const place: CallPlace = { sessionId, messageTsMs, sessionKey };
      responseOnDay ??= db.prepare<[number, string, string], { id: number }>(
        "SELECT usage_event_id AS id FROM usage_response_keys WHERE day = ? AND response_id = ? AND provider = ?",
      );
      promptOfRow ??= db.prepare<[number], RowPrompt>(
        "SELECT input_tokens AS i, cache_read_tokens AS r, cache_write_tokens AS w, session_id AS s, message_ts_ms AS t, session_key AS k FROM usage_events WHERE id = ?",
      );
      // a row of the same prompt that is no copy (another session and time: identity.ts
      // mayBeCopies) makes the call's slot its place's, not its prompt's
      let samePromptSeen = false;
      const copyOf = (row: RowPrompt | undefined): boolean => {
        if (row === undefined || row.i === null) return true; // archived: a copy, as before
        if (!samePrompt([promptOfRowCounts(row)], prompts)) return false;
        if (mayBeCopies(placeOfRow(row), place)) return true;
        samePromptSeen = true;
        return false;
      };
      let ownDayTaken = false;
      for (const d of adjacentOnly ? [near] : [day, near]) {
        if (d === null) continue;
        const first = responseOnDay.get(d, responseId, provider);
        if (!first) continue;
        if (copyOf(promptOfRow.get(first.id))) return { id: first.id };
        if (d === day) ownDayTaken = true;
        for (const t of prompts) {
          const other = responseOnDay.get(d, responseSlotOf(responseId, promptTotal(t)), provider);
          if (other && copyOf(promptOfRow.get(other.id))) return { id: other.id };
        }
        // a copy of a call held under its slot whose prompt total differs (a partial copy:
        // identity.ts samePrompt), or under its place's slot, is found among the id's slots
        const prefix = responseSlotOf(responseId, 0).slice(0, -1);
        slotsOfDay ??= db.prepare<[number, string, number, string], { id: number } & RowPrompt>(
          "SELECT k.usage_event_id AS id, e.input_tokens AS i, e.cache_read_tokens AS r, e.cache_write_tokens AS w, " +
            "e.session_id AS s, e.message_ts_ms AS t, e.session_key AS k " +
            "FROM usage_response_keys k LEFT JOIN usage_events e ON e.id = k.usage_event_id " +
            "WHERE k.day = ? AND k.provider = ? AND substr(k.response_id, 1, ?) = ? ORDER BY k.usage_event_id",
        );
        for (const s of slotsOfDay.all(d, provider, prefix.length, prefix)) {
          if (copyOf(s)) return { id: s.id };
        }
      }
      const total = prompts[0] ? promptTotal(prompts[0]) : 0;
      return {
        slot: !ownDayTaken
          ? responseId
          : samePromptSeen
            ? responsePlaceSlotOf(responseId, total, place)
            : responseSlotOf(responseId, total),
      };
    },
    /** The id of the row billed under `dedupeKey`, or null. */
    idByDedupeKey(dedupeKey: string): number | null {
      return byKey.get(dedupeKey)?.id ?? null;
    },
  };
}

export type UsageWriter = ReturnType<typeof createUsageWriter>;

/** A billed row's prompt counts as `responseCopy` reads them (null: an archived row). */
interface RowPrompt {
  i: number | bigint | null;
  r: number | bigint | null;
  w: number | bigint | null;
  s?: string | null;
  t?: number | bigint | null;
  k?: string | null;
}

function placeOfRow(p: RowPrompt): CallPlace {
  return { sessionId: p.s ?? null, messageTsMs: Number(p.t ?? 0), sessionKey: p.k ?? null };
}

function promptOfRowCounts(p: RowPrompt): PromptCounts {
  return { input: Number(p.i ?? 0), cacheRead: Number(p.r ?? 0), cacheWrite: Number(p.w ?? 0) };
}
