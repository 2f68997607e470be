import { type Db, isPostgres, PgError } from "../db/index.js";
import { divRoundHalfUp, PICO_PER_MICRO, type Ratio } from "../money.js";
import { ARCHIVED_BUCKET_MS } from "./query.js";

/** One UTC day in ms (usage_daily's `day` is `message_ts_ms / DAY_MS`). */
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Rows at or after this (year 10000) are not aggregated in usage_daily (see the usage writer). */
const AGGREGATED_UNTIL_MS = 253_402_300_800_000;
/** Hourly buckets are read from raw rows: at most this range. */
export const MAX_HOURLY_RANGE_MS = 8 * DAY_MS;
/** Stacks of the spend chart: the biggest keys by cost, the rest summed as "other". */
export const MAX_STACKS = 8;

export const BUCKETS = ["day", "hour"] as const;
export type Bucket = (typeof BUCKETS)[number];
export const STACKS = ["agent", "model", "provider"] as const;
export type Stack = (typeof STACKS)[number];

/** Whole UTC days [firstDay, endDay) of a range (read from usage_daily) and its raw edges. */
interface Split {
  firstDay: number;
  endDay: number;
  /** Raw ranges [lo, hi) read from usage_events (either end open when undefined). */
  edges: [number | undefined, number | undefined][];
}

/** The same split `queryUsage` makes: whole days from the aggregate, partial days raw. */
function split(sinceMs: number | undefined, untilMs: number | undefined): Split {
  const since = Math.max(sinceMs ?? 0, 0);
  const until = Math.min(untilMs ?? AGGREGATED_UNTIL_MS, AGGREGATED_UNTIL_MS);
  const firstDay = Math.ceil(since / DAY_MS);
  const endDay = Math.floor(until / DAY_MS);
  if (!(firstDay < endDay)) return { firstDay: 0, endDay: 0, edges: [[sinceMs, untilMs]] };
  const edges: [number | undefined, number | undefined][] = [];
  for (const [lo, hi] of [
    [sinceMs, firstDay * DAY_MS],
    [endDay * DAY_MS, untilMs],
  ] as const) {
    if (lo !== undefined && hi !== undefined && lo >= hi) continue;
    edges.push([lo, hi]);
  }
  return { firstDay, endDay, edges };
}

/** Columns of usage_events that usage_archived (the retention rollup, migration 27) does not keep. */
const RAW_ONLY_COLUMN =
  /\b(is_error|message_ts_ms|session_key|session_id|dedupe_key|latency_ms|preview_\w+)\b/;

/**
 * The USD value (pico) of the rows' charges at the rate each was charged at, and the charge it
 * values (migration 42; a row billed before has none), over raw rows. usage_daily and
 * usage_archived keep them as `charge_pico_usd` and `rated_charge_micro_credits`.
 */
export const RAW_CHARGE_PICO_SUM = "SUM(COALESCE(charge_pico_usd, 0))";
export const RAW_RATED_SUM = "SUM(CASE WHEN charge_pico_usd IS NULL THEN 0 ELSE charge_micro_credits END)";

/**
 * A raw-row select list or condition of usage_events rewritten for usage_archived, whose rows are
 * archived calls summed per quarter hour: `COUNT(*)` → `SUM(requests)`, `SUM(is_error)` →
 * `SUM(errors)`, `message_ts_ms` → the bucket's start (ms). Other columns have the same names.
 * @throws Error when the text still names a column usage_archived does not keep (a new caller's
 *   raw select must be mapped here, not silently miss archived calls).
 */
export function archivedSql(raw: string): string {
  const out = raw
    .replaceAll(RAW_CHARGE_PICO_SUM, "SUM(charge_pico_usd)")
    .replaceAll(RAW_RATED_SUM, "SUM(rated_charge_micro_credits)")
    .replaceAll("COUNT(*)", "SUM(requests)")
    .replaceAll("SUM(is_error)", "SUM(errors)")
    .replaceAll("message_ts_ms", `(bucket * ${ARCHIVED_BUCKET_MS})`);
  const left = RAW_ONLY_COLUMN.exec(out);
  if (left) throw new Error(`archivedSql: usage_archived has no ${left[1]} (in "${raw}")`);
  return out;
}

/**
 * `SELECT cols FROM usage_daily … UNION ALL SELECT rawCols FROM usage_events … UNION ALL SELECT
 * … FROM usage_archived …` over a split: whole days from the rollup; each partial edge from the
 * live rows plus the archived calls (retention) whose quarter hour starts in it — the same
 * bucket rule as `queryUsage`, so an edge's archived calls count where `creditgate usage` counts
 * them. Whole days need no archived part: archiving leaves usage_daily as it was.
 */
function unionSql(
  s: Split,
  daily: { table: string; cols: string; where?: string; group?: string; unit?: "day" | "hour" },
  raw: { cols: string; where?: string; group?: string },
  params: (string | number)[] = [],
): { sql: string; params: (string | number)[] } {
  const parts: string[] = [];
  const out: (string | number)[] = [];
  if (s.firstDay < s.endDay) {
    parts.push(
      `SELECT ${daily.cols} FROM ${daily.table} WHERE ${daily.unit ?? "day"} >= ? AND ${daily.unit ?? "day"} < ?${daily.where ? ` AND ${daily.where}` : ""}${daily.group ? ` GROUP BY ${daily.group}` : ""}`,
    );
    out.push(s.firstDay, s.endDay, ...params);
  }
  for (const [lo, hi] of s.edges) {
    const where: string[] = [];
    if (lo !== undefined) {
      where.push("message_ts_ms >= ?");
      out.push(lo);
    }
    if (hi !== undefined) {
      where.push("message_ts_ms < ?");
      out.push(hi);
    }
    if (raw.where) where.push(raw.where);
    out.push(...params);
    parts.push(
      `SELECT ${raw.cols} FROM usage_events${where.length ? ` WHERE ${where.join(" AND ")}` : ""}${raw.group ? ` GROUP BY ${raw.group}` : ""}`,
    );
    const archived: string[] = [];
    if (lo !== undefined) {
      archived.push("bucket >= ?");
      out.push(Math.ceil(lo / ARCHIVED_BUCKET_MS));
    }
    if (hi !== undefined) {
      archived.push("bucket < ?");
      out.push(Math.ceil(hi / ARCHIVED_BUCKET_MS));
    }
    if (raw.where) archived.push(archivedSql(raw.where));
    out.push(...params);
    parts.push(
      `SELECT ${archivedSql(raw.cols)} FROM usage_archived${archived.length ? ` WHERE ${archived.join(" AND ")}` : ""}${raw.group ? ` GROUP BY ${archivedSql(raw.group)}` : ""}`,
    );
  }
  return { sql: parts.join(" UNION ALL "), params: out };
}

/** Usage sums of a range: the same numbers `creditgate usage` / `GET /v1/usage` report (summed over days). */
export interface UsageTotals {
  requests: number;
  errors: number;
  /** Provider cost, exact pico-USD (decimal string). */
  costPicoUsd: string;
  /** What users were charged, micro-credits. */
  chargedMicroCredits: number;
  /**
   * Charged minus cost, in credits at the configured rate (micro-credits, may be negative); a
   * charge is counted at its USD value at the rate it was made at (migration 42), converted at
   * today's rate, so a change of rate does not rewrite past margins.
   */
  marginMicroCredits: number;
}

/** Provider cost (pico-USD) in micro-credits at `creditsPerUsd`, rounded half-up once. */
export function costInMicroCredits(costPico: bigint, creditsPerUsd: Ratio): bigint {
  return divRoundHalfUp(costPico * creditsPerUsd.num, creditsPerUsd.den * PICO_PER_MICRO);
}

/**
 * Usage totals of `[sinceMs, untilMs)` (either end open when undefined): whole days from the
 * usage_daily_totals rollup, partial days from the raw rows. Equal to the sums of `queryUsage`'s
 * rows (`creditgate usage`, `GET /v1/usage`) for the same range; tested so.
 */
export function rangeTotals(
  db: Db,
  sinceMs: number | undefined,
  untilMs: number | undefined,
  creditsPerUsd: Ratio,
): UsageTotals {
  const u = unionSql(
    split(sinceMs, untilMs),
    {
      table: "usage_daily_totals",
      cols: "SUM(requests) AS n, SUM(errors) AS e, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m",
    },
    {
      cols: "SUM(requests) AS n, SUM(is_error) AS e, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m",
    },
  );
  const r = db
    .prepare<(string | number)[], { n: bigint | null; e: bigint | null; c: bigint | null; m: bigint | null }>(
      `SELECT SUM(n) AS n, SUM(e) AS e, SUM(c) AS c, SUM(m) AS m FROM (${u.sql})`,
    )
    .safeIntegers(true)
    .get(...u.params);
  // The charges' USD value at the rate each was charged at (not in usage_daily_totals: read from
  // usage_daily over the same split).
  const v = unionSql(
    split(sinceMs, untilMs),
    { table: "usage_daily", cols: "SUM(charge_pico_usd) AS p, SUM(rated_charge_micro_credits) AS r" },
    { cols: `${RAW_CHARGE_PICO_SUM} AS p, ${RAW_RATED_SUM} AS r` },
  );
  const rv = db
    .prepare<(string | number)[], { p: bigint | null; r: bigint | null }>(
      `SELECT SUM(p) AS p, SUM(r) AS r FROM (${v.sql})`,
    )
    .safeIntegers(true)
    .get(...v.params);
  const cost = r?.c ?? 0n;
  const charged = Number(r?.m ?? 0n);
  // Margin in today's credits: the charges billed before migration 42 (no rate recorded) as
  // charged, the others as their USD value at their own rate converted at today's rate. Before
  // 2026-12-04 every charge counted as charged against the cost at today's rate: a change of rate
  // turned the margin of calls billed at the old rate into a large loss (or gain).
  const rated = Number(rv?.r ?? 0n);
  const ratedValue = Number(costInMicroCredits(rv?.p ?? 0n, creditsPerUsd));
  return {
    requests: Number(r?.n ?? 0n),
    errors: Number(r?.e ?? 0n),
    costPicoUsd: cost.toString(),
    chargedMicroCredits: charged,
    marginMicroCredits: charged - rated + ratedValue - Number(costInMicroCredits(cost, creditsPerUsd)),
  };
}

/** Models by provider cost over a range (the `limit` biggest), from the rollup plus raw edges. */
export function topModels(
  db: Db,
  q: { sinceMs: number; untilMs: number | undefined; limit: number },
): { model: string; requests: number; costPicoUsd: string; chargedMicroCredits: number }[] {
  const cols = "provider || '/' || model AS k";
  const u = unionSql(
    split(q.sinceMs, q.untilMs),
    {
      table: "usage_daily_totals",
      cols: `${cols}, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m`,
      group: "k",
    },
    {
      cols: `${cols}, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m`,
      group: "k",
    },
  );
  return db
    .prepare<(string | number)[], { k: string; n: bigint; c: bigint; m: bigint }>(
      `SELECT k, SUM(n) AS n, SUM(c) AS c, SUM(m) AS m FROM (${u.sql}) GROUP BY k ORDER BY c DESC, k LIMIT ?`,
    )
    .safeIntegers(true)
    .all(...u.params, q.limit)
    .map((r) => ({
      model: r.k,
      requests: Number(r.n),
      costPicoUsd: r.c.toString(),
      chargedMicroCredits: Number(r.m),
    }));
}

/** One point of the spend chart: a bucket (start, epoch ms) and a stack key. */
export interface SeriesPoint {
  bucketStartMs: number;
  key: string;
  requests: number;
  costPicoUsd: string;
  chargedMicroCredits: number;
}

/**
 * Adds the usage rows written since the last call to usage_hourly_totals (migration 21): the rows
 * with ids past the cursor, read by id (rows of usage_events are never updated; an archive run that
 * removes the newest ids pulls the cursor back so their reused ids are read), grouped
 * per hour, added in one IMMEDIATE transaction with the cursor's move. Rows of hours before the
 * cursor's `from_hour` are left out (those hours are read raw). Portable SQL (SQLite and
 * PostgreSQL: the agent flag as CASE, an explicit conflict target). Writes nothing when there is
 * nothing new. Returns `from_hour`: the first UTC hour (hours since 1970) the rollup covers.
 *
 * `lockWaitMs` (PostgreSQL): how long to wait for the writers of usage_events in flight (see the
 * lock below); when they take longer, nothing is caught up and null is returned (the caller reads
 * raw rows). Without it the wait has no limit (the archive, which must roll up what it removes).
 * A read that waited without limit held every other biller behind its lock request until the
 * slowest writer in flight committed (a console chart read during a big meter batch stalled all
 * billing, and its own process's event loop, for the batch's duration; 2026-12-03, a reviewer).
 */
export function catchUpHourly(db: Db): number;
export function catchUpHourly(db: Db, o: { lockWaitMs?: number }): number | null;
export function catchUpHourly(db: Db, o: { lockWaitMs?: number } = {}): number | null {
  const cursor = db.prepare<[], { last: number; fromHour: number }>(
    `SELECT last_usage_event_id AS last, from_hour AS "fromHour" FROM usage_hourly_cursor WHERE id = 1`,
  );
  const newest = db.prepare<[], { m: number | null }>("SELECT MAX(id) AS m FROM usage_events");
  const behind = () => {
    const c = cursor.get();
    if (!c) throw new Error("usage_hourly_cursor has no row (migration 21 not applied?)");
    return { c, max: newest.get()?.m ?? 0 };
  };
  const first = behind();
  if (first.max <= first.c.last) return first.c.fromHour;
  const pg = isPostgres(db);
  const waitMs = o.lockWaitMs === undefined ? null : Math.max(1, Math.floor(o.lockWaitMs));
  try {
    return catchUpLocked(db, pg, waitMs, behind);
  } catch (err) {
    // lock_not_available: a writer in flight took longer than `lockWaitMs`
    if (waitMs !== null && err instanceof PgError && err.sqlState === "55P03") return null;
    throw err;
  }
}

/** The catch-up's transaction (catchUpHourly): under the lock on PostgreSQL, waiting at most `waitMs`. */
function catchUpLocked(
  db: Db,
  pg: boolean,
  waitMs: number | null,
  behind: () => { c: { last: number; fromHour: number }; max: number },
): number {
  return db
    .transaction(() => {
      // PostgreSQL hands out ids at INSERT, not in commit order: a row with a lower id may still be
      // uncommitted while a higher one is visible, and a cursor moved past it would skip it for
      // good. SHARE mode waits for every writer of usage_events in flight (and holds new ones off
      // until this commits); taken first, before the transaction's snapshot, so their rows are
      // read. SQLite has one writer: ids are in commit order there.
      if (pg) {
        // a bounded wait: a waiting SHARE request holds every new writer behind it
        if (waitMs !== null) db.exec(`SET LOCAL lock_timeout = ${waitMs}`);
        db.exec("LOCK TABLE usage_events IN SHARE MODE");
        if (waitMs !== null) db.exec("SET LOCAL lock_timeout = 0");
      }
      const { c, max } = behind(); // again, under the write lock: another process may have caught up
      if (max > c.last) {
        db.prepare<[number, number, number]>(
          `INSERT INTO usage_hourly_totals
           SELECT message_ts_ms / ${HOUR_MS}, agent_id, provider, model,
                  CASE WHEN substr(account_id, 1, 6) = 'agent:' THEN 1 ELSE 0 END,
                  SUM(requests), SUM(is_error), SUM(cost_pico_usd), SUM(charge_micro_credits)
             FROM usage_events WHERE id > ? AND id <= ? AND message_ts_ms >= ?
            GROUP BY 1, 2, 3, 4, 5
           ON CONFLICT (hour, agent_id, provider, model, agent_account) DO UPDATE SET requests = requests + excluded.requests, errors = errors + excluded.errors,
             cost_pico_usd = cost_pico_usd + excluded.cost_pico_usd,
             charge_micro_credits = charge_micro_credits + excluded.charge_micro_credits`,
        ).run(c.last, max, c.fromHour * HOUR_MS);
        db.prepare<[number]>("UPDATE usage_hourly_cursor SET last_usage_event_id = ? WHERE id = 1").run(max);
      }
      return c.fromHour;
    })
    .immediate();
}

/** Whole UTC hours of a range from `fromHour` on (read from usage_hourly_totals) and its raw edges. */
function splitHours(sinceMs: number, untilMs: number, fromHour: number): Split {
  const first = Math.max(Math.ceil(sinceMs / HOUR_MS), fromHour);
  const end = Math.floor(untilMs / HOUR_MS);
  if (!(first < end)) return { firstDay: 0, endDay: 0, edges: [[sinceMs, untilMs]] };
  const edges: [number, number][] = [];
  if (sinceMs < first * HOUR_MS) edges.push([sinceMs, first * HOUR_MS]);
  if (end * HOUR_MS < untilMs) edges.push([end * HOUR_MS, untilMs]);
  return { firstDay: first, endDay: end, edges };
}

const STACK_SQL: Record<Stack, { daily: string; raw: string }> = {
  agent: { daily: "agent_id", raw: "agent_id" },
  model: { daily: "provider || '/' || model", raw: "provider || '/' || model" },
  provider: { daily: "provider", raw: "provider" },
};

/**
 * How long a console read waits for the writers of usage_events in flight before it reads the
 * hours raw instead of catching the rollup up (PostgreSQL; `catchUpHourly`'s `lockWaitMs`).
 */
export const HOURLY_LOCK_WAIT_MS = 500;

/**
 * Spend over time by day or hour, stacked by agent, model or provider: the `MAX_STACKS` keys with
 * the highest cost keep their name, the rest are summed as "other". Day buckets come from
 * usage_daily_totals, hour buckets from usage_hourly_totals (caught up first; range at most
 * `MAX_HOURLY_RANGE_MS`); partial edges, and hours before the hourly rollup, from raw rows.
 * Summed over all points the numbers equal `queryUsage`'s for the same range.
 */
export function spendSeries(
  db: Db,
  q: { sinceMs: number; untilMs: number; bucket: Bucket; stack: Stack },
): SeriesPoint[] {
  const key = STACK_SQL[q.stack];
  const hourly = q.bucket === "hour";
  // writers in flight past HOURLY_LOCK_WAIT_MS: the whole range is read raw (at most 8 days)
  const fromHour = hourly ? catchUpHourly(db, { lockWaitMs: HOURLY_LOCK_WAIT_MS }) : null;
  const s: Split = !hourly
    ? split(q.sinceMs, q.untilMs)
    : fromHour === null
      ? { firstDay: 0, endDay: 0, edges: [[q.sinceMs, q.untilMs]] }
      : splitHours(q.sinceMs, q.untilMs, fromHour);
  const rawBucket = hourly ? `message_ts_ms / ${HOUR_MS}` : `message_ts_ms / ${DAY_MS}`;
  const u = unionSql(
    s,
    {
      table: hourly ? "usage_hourly_totals" : "usage_daily_totals",
      unit: hourly ? "hour" : "day",
      cols: `${hourly ? "hour" : "day"} AS b, ${key.daily} AS k, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m`,
      group: "b, k",
    },
    {
      cols: `${rawBucket} AS b, ${key.raw} AS k, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m`,
      group: "b, k",
    },
  );
  const rows = db
    .prepare<(string | number)[], { b: bigint; k: string; n: bigint; c: bigint; m: bigint }>(
      `SELECT b, k, SUM(n) AS n, SUM(c) AS c, SUM(m) AS m FROM (${u.sql}) GROUP BY b, k ORDER BY b, k`,
    )
    .safeIntegers(true)
    .all(...u.params);
  const byKey = new Map<string, bigint>();
  for (const r of rows) byKey.set(r.k, (byKey.get(r.k) ?? 0n) + r.c);
  const keep = new Set(
    [...byKey.entries()]
      .sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0] < b[0] ? -1 : 1))
      .slice(0, MAX_STACKS)
      .map(([k]) => k),
  );
  const unit = q.bucket === "hour" ? HOUR_MS : DAY_MS;
  const out = new Map<string, { bucketStartMs: number; key: string; n: number; c: bigint; m: number }>();
  for (const r of rows) {
    const k = keep.has(r.k) ? r.k : "other";
    const b = Number(r.b) * unit;
    const id = `${b}\u0000${k}`;
    const p = out.get(id) ?? { bucketStartMs: b, key: k, n: 0, c: 0n, m: 0 };
    p.n += Number(r.n);
    p.c += r.c;
    p.m += Number(r.m);
    out.set(id, p);
  }
  return [...out.values()].map((p) => ({
    bucketStartMs: p.bucketStartMs,
    key: p.key,
    requests: p.n,
    costPicoUsd: p.c.toString(),
    chargedMicroCredits: p.m,
  }));
}

/**
 * Active accounts (end users and agents' own accounts apart) and the `limit` end users charged the
 * most over a range, in one pass over the per-day-and-account rollup (plus raw edges).
 */
export function accountsSummary(
  db: Db,
  q: {
    sinceMs: number;
    untilMs: number | undefined;
    limit: number;
    /**
     * Whole-day ranges: accounts the top-user walk may read before grouping the range instead
     * (default: 100, or the range's account-days ÷ 5 when more). Tests pin it to cover both paths.
     */
    maxWalk?: number;
  },
): {
  users: number;
  agents: number;
  top: { accountId: string; requests: number; costPicoUsd: string; chargedMicroCredits: number }[];
} {
  const s = split(q.sinceMs, q.untilMs);
  // Whole days only (the console's presets): from the rollups of migration 22, no GROUP BY over the
  // range's accounts. The open tail past the aggregated span (year 10000; validation never lets a
  // call get there) holds no rows to add.
  const wholeDays =
    s.firstDay < s.endDay && s.edges.every(([lo]) => lo !== undefined && lo >= AGGREGATED_UNTIL_MS);
  if (wholeDays) {
    const active = activeAccounts(db, s.firstDay, s.endDay);
    // The walk reads one account's days per step (~5 times a grouped row's cost, measured): worth
    // it while it stays under the range's grouping; short ranges (today) end up grouped.
    const maxWalk = q.maxWalk ?? Math.max(100, Math.floor(active.rows / 5));
    const top = topUsersWholeDays(db, s.firstDay, s.endDay, q.limit, maxWalk);
    if (top) return { users: active.users, agents: active.agents, top };
  }
  const u = wholeDays
    ? {
        sql: `SELECT account_id AS a, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m
                FROM usage_daily_accounts WHERE day >= ? AND day < ? GROUP BY account_id`,
        params: [s.firstDay, s.endDay] as (string | number)[],
      }
    : unionSql(
        s,
        {
          table: "usage_daily_accounts",
          cols: "account_id AS a, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m",
          group: "account_id",
        },
        {
          cols: "account_id AS a, SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m",
          group: "account_id",
        },
      );
  // the agent flag as a 0/1 number on both engines (PostgreSQL: a comparison is a boolean)
  const ag = "CASE WHEN substr(a, 1, 6) = 'agent:' THEN 1 ELSE 0 END AS ag";
  const grouped = wholeDays
    ? `SELECT a, n, c, m, ${ag} FROM (${u.sql})`
    : `SELECT a, SUM(n) AS n, SUM(c) AS c, SUM(m) AS m, ${ag} FROM (${u.sql}) GROUP BY a`;
  const rows = db
    .prepare<
      (string | number)[],
      { a: string | null; n: bigint; c: bigint; m: bigint; users: bigint; agents: bigint }
    >(
      `WITH g AS MATERIALIZED (${grouped}),
            k AS (SELECT COALESCE(SUM(ag = 0), 0) AS users, COALESCE(SUM(ag), 0) AS agents FROM g)
       SELECT t.a, t.n, t.c, t.m, k.users, k.agents
         FROM k LEFT JOIN (SELECT a, n, c, m FROM g WHERE ag = 0 ORDER BY m DESC, a LIMIT ?) t ON 1 = 1`,
    )
    .safeIntegers(true)
    .all(...u.params, q.limit);
  const first = rows[0];
  return {
    users: Number(first?.users ?? 0n),
    agents: Number(first?.agents ?? 0n),
    top: rows
      .filter((r) => r.a !== null)
      .map((r) => ({
        accountId: r.a as string,
        requests: Number(r.n),
        costPicoUsd: r.c.toString(),
        chargedMicroCredits: Number(r.m),
      })),
  };
}

/**
 * Accounts with usage in days [firstDay, endDay) (end users and agents' own accounts apart): the
 * usage_account_days rows of the range whose previous day with usage is before it (one per account;
 * an index-only range scan). `rows`: all (account, day) rows of the range.
 */
export function activeAccounts(
  db: Db,
  firstDay: number,
  endDay: number,
): { users: number; agents: number; rows: number } {
  const r = db
    .prepare<{ first: number; end: number }, { users: number | null; agents: number | null; rows: number }>(
      `SELECT SUM(CASE WHEN prev_day < @first AND agent_account = 0 THEN 1 ELSE 0 END) AS users,
              SUM(CASE WHEN prev_day < @first AND agent_account = 1 THEN 1 ELSE 0 END) AS agents, COUNT(*) AS rows
         FROM usage_account_days WHERE day >= @first AND day < @end`,
    )
    .get({ first: firstDay, end: endDay });
  return { users: r?.users ?? 0, agents: r?.agents ?? 0, rows: r?.rows ?? 0 };
}

/** Longer whole-day ranges are grouped, not walked (the walk reads each day of an account). */
const MAX_WALK_DAYS = 400;

/**
 * The `limit` end users charged the most over days [firstDay, endDay) (charge desc, then id), exact:
 * accounts are walked by an upper bound of their charge over any range (usage_account_charge_bounds)
 * from the biggest down, each one's range sums read exactly (usage_daily by account), until the next
 * bound is below the `limit`-th charge found (no account left can beat or tie it). Undefined when
 * that takes more than `maxWalk` accounts (bounds far from the range's charges, as for a short
 * range, or fewer than `limit` users with usage): the caller groups the range then.
 */
function topUsersWholeDays(
  db: Db,
  firstDay: number,
  endDay: number,
  limit: number,
  maxWalk: number,
): { accountId: string; requests: number; costPicoUsd: string; chargedMicroCredits: number }[] | undefined {
  const page = db.prepare<[number, number], { a: string; b: number }>(
    `SELECT account_id AS a, bound_micro_credits AS b FROM usage_account_charge_bounds
      WHERE agent_account = 0 ORDER BY bound_micro_credits DESC, account_id DESC LIMIT ? OFFSET ?`,
  );
  // An open range ends at the aggregated span's end (year 10000): walk up to the last day with usage.
  const lastDay = db
    .prepare<[], { d: number | null }>("SELECT MAX(day) AS d FROM usage_account_days")
    .get()?.d;
  if (lastDay === null || lastDay === undefined) return [];
  const end = Math.min(endDay, lastDay + 1);
  if (end <= firstDay) return [];
  if (end - firstDay > MAX_WALK_DAYS) return undefined;
  // One primary-key point read per day of the range (the days are integers computed here).
  const days = Array.from({ length: end - firstDay }, (_, i) => firstDay + i);
  const exact = db
    .prepare<[string], { n: bigint | null; c: bigint | null; m: bigint | null }>(
      `SELECT SUM(requests) AS n, SUM(cost_pico_usd) AS c, SUM(charge_micro_credits) AS m
         FROM usage_daily_accounts WHERE day IN (${days.join(", ")}) AND account_id = ?`,
    )
    .safeIntegers(true);
  const best: { a: string; n: number; c: bigint; m: number }[] = [];
  const before = (x: { a: string; m: number }, y: { a: string; m: number }) =>
    x.m > y.m || (x.m === y.m && x.a < y.a);
  const PAGE = 100;
  let read = 0;
  walk: for (let offset = 0; ; offset += PAGE) {
    const rows = page.all(PAGE, offset);
    for (const row of rows) {
      const last = best.length === limit ? best[limit - 1] : undefined;
      if (last && row.b < last.m) break walk; // neither this account nor any after it can reach the list
      if (++read > maxWalk) return undefined;
      const r = exact.get(row.a);
      if (!r || r.n === null) continue; // no usage in the range
      const cand = { a: row.a, n: Number(r.n), c: r.c ?? 0n, m: Number(r.m ?? 0n) };
      if (last && !before(cand, last)) continue;
      best.push(cand);
      best.sort((x, y) => (before(x, y) ? -1 : 1));
      if (best.length > limit) best.pop();
    }
    if (rows.length < PAGE) break; // every account read
  }
  return best.map((r) => ({
    accountId: r.a,
    requests: r.n,
    costPicoUsd: r.c.toString(),
    chargedMicroCredits: r.m,
  }));
}

/** Prepaid money on end users' balances and what overdrawn users owe (micro-credits). */
export function balanceTotals(db: Db): {
  prepaidMicroCredits: number;
  owedMicroCredits: number;
  fundedUsers: number;
  overdrawnUsers: number;
  users: number;
} {
  const r = db
    .prepare<
      [],
      {
        prepaid: number | null;
        owed: number | null;
        funded: number | null;
        overdrawn: number | null;
        n: number;
      }
    >(
      `SELECT SUM(MAX(balance_micro_credits, 0)) AS prepaid, -SUM(MIN(balance_micro_credits, 0)) AS owed,
              SUM(balance_micro_credits > 0) AS funded, SUM(balance_micro_credits < 0) AS overdrawn, COUNT(*) AS n
         FROM accounts WHERE kind = 'user'`,
    )
    .get();
  return {
    prepaidMicroCredits: r?.prepaid ?? 0,
    owedMicroCredits: r?.owed ?? 0,
    fundedUsers: r?.funded ?? 0,
    overdrawnUsers: r?.overdrawn ?? 0,
    users: r?.n ?? 0,
  };
}

/**
 * Users whose prepaid balance runs out first at their own rate over the `days` days before `untilMs`:
 * balance ÷ (their charge over those days ÷ days). Only users with a positive balance and spend.
 */
export function soonestRunouts(
  db: Db,
  q: { untilMs: number; days: number; limit: number },
): { accountId: string; balanceMicroCredits: number; burnMicroCreditsPerDay: number; runwayDays: number }[] {
  const u = unionSql(
    split(q.untilMs - q.days * DAY_MS, q.untilMs),
    {
      table: "usage_daily_accounts",
      cols: "account_id AS a, SUM(charge_micro_credits) AS m",
      where: "account_id NOT LIKE 'agent:%'",
      group: "account_id",
    },
    {
      cols: "account_id AS a, SUM(charge_micro_credits) AS m",
      where: "account_id NOT LIKE 'agent:%'",
      group: "account_id",
    },
  );
  return db
    .prepare<(string | number)[], { a: string; m: number; b: number }>(
      `SELECT s.a AS a, s.m AS m, acc.balance_micro_credits AS b
         FROM (SELECT a, SUM(m) AS m FROM (${u.sql}) GROUP BY a) s JOIN accounts acc ON acc.id = s.a
        WHERE s.m > 0 AND acc.balance_micro_credits > 0
        ORDER BY CAST(acc.balance_micro_credits AS REAL) / s.m, s.a LIMIT ?`,
    )
    .all(...u.params, q.limit)
    .map((r) => ({
      accountId: r.a,
      balanceMicroCredits: r.b,
      burnMicroCreditsPerDay: Number(divRoundHalfUp(BigInt(r.m), BigInt(q.days))),
      runwayDays: runwayDays(r.b, r.m, q.days) ?? 0,
    }));
}

/**
 * Days a balance lasts at the rate of `chargedMicroCredits` over `days` days, to 0.1 day (half
 * up), from the exact charge: balance × days ÷ charged. Null when nothing was charged. Not from
 * the per-day burn rounded to a micro-credit: a user charged 3 micro-credits in 7 days has a burn
 * that rounds to 0 (runway shown as 0 days, "runs out now", for a user who barely spends), and
 * 10 in 7 days rounds to 1 a day (runway 43 % short).
 */
export function runwayDays(
  balanceMicroCredits: number,
  chargedMicroCredits: number,
  days: number,
): number | null {
  if (!(chargedMicroCredits > 0)) return null;
  if (balanceMicroCredits <= 0) return 0;
  const tenths = divRoundHalfUp(
    BigInt(balanceMicroCredits) * BigInt(days) * 10n,
    BigInt(chargedMicroCredits),
  );
  return Number(tenths) / 10;
}

/** End users' total charge over the last `days` days (the aggregate burn, micro-credits). */
export function usersCharged(db: Db, sinceMs: number, untilMs: number): number {
  const u = unionSql(
    split(sinceMs, untilMs),
    { table: "usage_daily_totals", cols: "SUM(charge_micro_credits) AS m", where: "agent_account = 0" },
    { cols: "SUM(charge_micro_credits) AS m", where: "account_id NOT LIKE 'agent:%'" },
  );
  const r = db
    .prepare<(string | number)[], { m: number | null }>(`SELECT SUM(m) AS m FROM (${u.sql})`)
    .get(...u.params);
  return r?.m ?? 0;
}

/** Accounts (end users) first seen in the range. */
export function newUsers(db: Db, sinceMs: number, untilMs: number): number {
  const r = db
    .prepare<[number, number], { n: number }>(
      "SELECT COUNT(*) AS n FROM accounts WHERE kind = 'user' AND created_at_ms >= ? AND created_at_ms < ?",
    )
    .get(sinceMs, untilMs);
  return r?.n ?? 0;
}

/** Top-ups paid in the range and refunds of top-ups updated in it, per currency (minor units). */
export function topupTotals(
  db: Db,
  sinceMs: number,
  untilMs: number,
): {
  currency: string;
  paidCount: number;
  paidMinor: number;
  refundedCount: number;
  refundedMinor: number;
  exponent: number;
}[] {
  return db
    .prepare<
      [{ since: number; until: number }],
      {
        currency: string;
        paidCount: number;
        paidMinor: number;
        refundedCount: number;
        refundedMinor: number;
        exponent: number;
      }
    >(
      // Refunds by when each was recorded (topup_refund_moves, migration 41): the net move of each
      // top-up's refunded level in the range. Before 2026-12-04 the whole level was counted in the
      // range of the row's last update, so a refund moved to the range of a later partial refund
      // or dispute update of the same top-up.
      `SELECT currency, MAX(exponent) AS exponent, SUM(paidCount) AS paidCount, SUM(paidMinor) AS paidMinor,
              SUM(refundedCount) AS refundedCount, SUM(refundedMinor) AS refundedMinor
         FROM (
           SELECT currency, MAX(currency_exponent) AS exponent, COUNT(*) AS paidCount,
                  SUM(COALESCE(collected_minor, amount_minor)) AS paidMinor, 0 AS refundedCount, 0 AS refundedMinor
             FROM topups WHERE paid_at_ms >= @since AND paid_at_ms < @until GROUP BY currency
           UNION ALL
           SELECT currency, MAX(exponent) AS exponent, 0, 0, SUM(CASE WHEN m > 0 THEN 1 ELSE 0 END), SUM(m)
             FROM (SELECT t.currency AS currency, MAX(t.currency_exponent) AS exponent, SUM(r.delta_minor) AS m
                     FROM topup_refund_moves r JOIN topups t ON t.id = r.topup_id
                    WHERE r.at_ms >= @since AND r.at_ms < @until AND t.paid_at_ms IS NOT NULL
                    GROUP BY t.id, t.currency) per_topup
            GROUP BY currency
         ) parts GROUP BY currency ORDER BY currency`,
    )
    .all({ since: sinceMs, until: untilMs })
    .filter((r) => Number(r.paidCount) > 0 || Number(r.refundedCount) > 0 || Number(r.refundedMinor) !== 0);
}
