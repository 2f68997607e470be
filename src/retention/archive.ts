/**
 * Usage retention (docs/retention.md): usage rows of months wholly older than the retention
 * period are exported to monthly zstd JSONL archive files, then rolled up into `usage_archived`
 * (per UTC quarter hour, account, agent, provider, model and kind), their dedupe keys kept in
 * `usage_archived_keys` (the biller's duplicate check reads it), and removed — the last three in
 * ONE transaction that also records the file. Ledger entries, balances and `usage_daily` are
 * never touched.
 *
 * Crash safety: each file's name is first committed to `usage_archive_pending` (migration 32),
 * then the file is written under a temporary name, fsynced, linked to its final name (never over
 * an existing file) and its directory fsynced before the removal transaction, which also drops the
 * pending row; a crash before that commit leaves every row in `usage_events` and at most a
 * complete file that is still pending, which the next run deletes before writing (so a row is
 * never in two files). A run deletes only the files its own database has pending: a shared
 * archive directory keeps other databases' archives and the operator's files. Names carry a
 * random tag, so two databases never pick the same name. One run at a time: a lease
 * row (`usage_archive_lease`), taken over when expired or when its process is gone.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Db } from "../db/index.js";
import { ARCHIVED_BUCKET_MS, catchUpHourly, SESSION_KIND_SQL } from "../reports/index.js";
import { ARCHIVE_COLUMNS, archiveLine, createFrameWriter, decodeArchiveBytes } from "./format.js";

const DAY_MS = 86_400_000;
/** Width of a `usage_archived` bucket: a UTC quarter hour (defined with the reports that read it). */
export const ARCHIVE_BUCKET_MS = ARCHIVED_BUCKET_MS;
/**
 * Usage rows are kept at least this many days whatever `CREDITGATE_RETENTION_DAYS` says: spend
 * caps, the headroom estimate and the spike scan read the raw rows of the current month.
 */
export const MIN_USAGE_RETENTION_DAYS = 35;
/** Lease of an archive run, renewed per month. */
const LEASE_MS = 15 * 60_000;
/** Rows per compressed chunk pushed to the frame writer. */
const CHUNK_ROWS = 2_000;
/**
 * Rows per archive file, at most: a month of more is split into several files (by id), so the
 * removal transaction holding the database's write lock stays short (about 1 s per 20k rows on a
 * loaded 2-core machine; the meter's busy timeout is 10 s).
 */
export const FILE_MAX_ROWS = 20_000;

/**
 * `usage-YYYY-MM-<firstId>-<lastId>-<tag>.jsonl.zst` (`<tag>`: 8 random hex digits, so databases
 * sharing a directory never write the same name); files of earlier versions have no tag.
 */
export const ARCHIVE_FILE_RE = /^usage-(\d{4}-\d{2})-(\d+)-(\d+)(?:-[0-9a-f]{8})?\.jsonl\.zst$/;
/** The temporary name a file is written under before it is linked to `name`. */
const tmpName = (name: string) => `.${name}.tmp`;

/** One month's share of an archive run. */
export interface ArchiveMonth {
  /** `YYYY-MM` (UTC, by the call's own timestamp). */
  month: string;
  rows: number;
  /** Compressed size; null in a dry run. */
  bytes: number | null;
  file: string;
  /** `planned` (dry run), `archived` (file written and rows removed). */
  status: "planned" | "archived";
}

export interface ArchiveResult {
  /** Rows with `message_ts_ms` before this (a UTC month start) are archived. */
  cutMs: number;
  /** Effective retention in days: max(CREDITGATE_RETENTION_DAYS, MIN_USAGE_RETENTION_DAYS). */
  keepDays: number;
  dir: string;
  months: ArchiveMonth[];
  /** Leftovers of this database's interrupted runs deleted before writing (file names). */
  removedLeftovers: string[];
  dryRun: boolean;
}

export interface ArchiveOptions {
  /**
   * Archive directory (created when missing). May be shared: a run deletes only the leftovers
   * its own database recorded as pending.
   */
  dir: string;
  /** `CREDITGATE_RETENTION_DAYS`. */
  retentionDays: number;
  nowMs: number;
  dryRun?: boolean;
  /** Called after each file is written and before its rows are removed (tests use it to crash there). */
  afterWrite?: (file: string) => void;
}

/**
 * The archive cut: the UTC start of the month that holds `now − keepDays`. Everything before it
 * is a whole month older than the retention period.
 */
export function archiveCut(retentionDays: number, nowMs: number): { cutMs: number; keepDays: number } {
  const keepDays = Math.max(retentionDays, MIN_USAGE_RETENTION_DAYS);
  const d = new Date(nowMs - keepDays * DAY_MS);
  return { cutMs: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), keepDays };
}

const monthBounds = (month: string): [number, number] => {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return [Date.UTC(y, m - 1, 1), Date.UTC(y, m, 1)];
};

/** Rows a run may archive: before the cut, at most `maxId`, and not linked from a review item. */
const ELIGIBLE = `message_ts_ms >= @lo AND message_ts_ms < @hi AND id >= @firstId AND id <= @lastId
  AND id NOT IN (SELECT usage_event_id FROM usage_review WHERE usage_event_id IS NOT NULL)`;

const SUMS = `SUM(requests), SUM(is_error), SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens),
  SUM(cache_write_tokens), SUM(cache_write_1h_tokens), SUM(total_tokens), SUM(cost_pico_usd),
  SUM(charge_micro_credits), SUM(unknown_model), SUM(price_source = 'fallback'),
  SUM(price_source = 'provider-billed'),
  SUM(CASE WHEN price_source = 'provider-billed' THEN cost_pico_usd ELSE 0 END),
  SUM(CASE WHEN price_source = 'provider-billed' AND table_cost_pico_usd IS NOT NULL THEN cost_pico_usd ELSE 0 END),
  SUM(CASE WHEN price_source = 'provider-billed' THEN COALESCE(table_cost_pico_usd, 0) ELSE 0 END),
  SUM(COALESCE(charge_pico_usd, 0)),
  SUM(CASE WHEN charge_pico_usd IS NULL THEN 0 ELSE charge_micro_credits END)`;
const SUM_COLS = [
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
  "provider_billed_known_cost_pico_usd",
  "provider_billed_table_cost_pico_usd",
  // migration 42: the charges' USD value at their own rate, and the charge it values
  "charge_pico_usd",
  "rated_charge_micro_credits",
];

const ROLLUP_SQL = `INSERT INTO usage_archived (bucket, account_id, agent_id, provider, model, kind, ${SUM_COLS.join(", ")})
  SELECT message_ts_ms / ${ARCHIVE_BUCKET_MS}, account_id, agent_id, provider, model, ${SESSION_KIND_SQL}, ${SUMS}
  FROM usage_events WHERE ${ELIGIBLE} GROUP BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (bucket, account_id, agent_id, provider, model, kind) DO UPDATE SET
  ${SUM_COLS.map((c) => `${c} = ${c} + excluded.${c}`).join(", ")}`;

/** `host:pid:random`: the owner of a lease. */
function newOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

/** True when `owner` names a process on this host that no longer runs. */
function ownerGone(owner: string): boolean {
  const [host, pid] = owner.split(":");
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The months a run would archive now: per month, the eligible rows and the file they go to.
 * Read-only.
 */
export function planArchive(
  db: Db,
  o: { retentionDays: number; nowMs: number },
): {
  cutMs: number;
  keepDays: number;
  months: { month: string; rows: number; firstId: number; lastId: number }[];
} {
  const { cutMs, keepDays } = archiveCut(o.retentionDays, o.nowMs);
  const months = db
    .prepare<[number], { month: string; rows: number; firstId: number; lastId: number }>(
      `SELECT strftime('%Y-%m', message_ts_ms / 1000, 'unixepoch') AS month, COUNT(*) AS rows,
              MIN(id) AS firstId, MAX(id) AS lastId
         FROM usage_events
        WHERE message_ts_ms < ?
          AND id NOT IN (SELECT usage_event_id FROM usage_review WHERE usage_event_id IS NOT NULL)
        GROUP BY month ORDER BY month`,
    )
    .all(cutMs);
  return { cutMs, keepDays, months };
}

const fileName = (m: { month: string; firstId: number; lastId: number }, tag: string) =>
  `usage-${m.month}-${m.firstId}-${m.lastId}-${tag}.jsonl.zst`;

/**
 * Archives (or, with `dryRun`, plans) every month before the cut. Idempotent: run it again, late,
 * or after a crash; a row ends up in exactly one listed file.
 * @throws AppError-free Error "another archive run holds the lease (owner …)" when one runs.
 */
export async function runArchive(db: Db, o: ArchiveOptions): Promise<ArchiveResult> {
  const plan = planArchive(db, o);
  const base = { cutMs: plan.cutMs, keepDays: plan.keepDays, dir: o.dir, removedLeftovers: [] as string[] };
  if (o.dryRun) {
    return {
      ...base,
      dryRun: true,
      months: plan.months.map((m) => ({
        month: m.month,
        rows: m.rows,
        bytes: null,
        file:
          m.rows > FILE_MAX_ROWS
            ? `usage-${m.month}-*.jsonl.zst (${Math.ceil(m.rows / FILE_MAX_ROWS)} files)`
            : fileName(m, "*"),
        status: "planned",
      })),
    };
  }
  mkdirSync(o.dir, { recursive: true });
  const owner = newOwner();
  const lease = db.transaction((nowMs: number): string | null => {
    const cur = db
      .prepare<[], { owner: string; expires_at_ms: number }>(
        "SELECT owner, expires_at_ms FROM usage_archive_lease WHERE id = 1",
      )
      .get();
    if (cur && cur.owner !== owner && cur.expires_at_ms > nowMs && !ownerGone(cur.owner)) return cur.owner;
    db.prepare(
      "INSERT INTO usage_archive_lease (id, owner, expires_at_ms) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, expires_at_ms = excluded.expires_at_ms",
    ).run(owner, nowMs + LEASE_MS);
    return null;
  });
  const holder = lease.immediate(Date.now());
  if (holder !== null) throw new Error(`another archive run holds the lease (owner ${holder})`);
  try {
    // Leftovers of this database's interrupted runs: the files it recorded as pending and never
    // listed (their rows are still here). Nothing else in the directory is touched.
    const listed = db.prepare<[string], { one: number }>(
      "SELECT 1 AS one FROM usage_archive_files WHERE file = ?",
    );
    const unpend = db.prepare("DELETE FROM usage_archive_pending WHERE file = ?");
    const removedLeftovers: string[] = [];
    const pending = db
      .prepare<[], { file: string }>("SELECT file FROM usage_archive_pending ORDER BY file")
      .all();
    const present = new Set(pending.length ? readdirSync(o.dir) : []);
    for (const { file } of pending) {
      if (!listed.get(file)) {
        for (const name of [file, tmpName(file)]) {
          if (!present.has(name)) continue;
          rmSync(join(o.dir, name), { force: true });
          removedLeftovers.push(name);
        }
      }
    }
    if (removedLeftovers.length) fsyncDir(o.dir);
    for (const { file } of pending) unpend.run(file);

    // The console's hourly rollup is fed from usage_events by id on read (migration 21): rows this
    // run removes must be in it first, or hours after the rollup's start would lose them.
    catchUpHourly(db);
    const months: ArchiveMonth[] = [];
    const select = db
      .prepare<Record<string, number>, Record<string, unknown>>(
        `SELECT ${ARCHIVE_COLUMNS.map((c) => (c === "kind" ? `${SESSION_KIND_SQL} AS kind` : c)).join(", ")}
           FROM usage_events WHERE ${ELIGIBLE} ORDER BY id`,
      )
      .safeIntegers(true);
    const rollup = db.prepare(ROLLUP_SQL);
    const keepKeys = db.prepare(
      `INSERT INTO usage_archived_keys (dedupe_key) SELECT dedupe_key FROM usage_events WHERE ${ELIGIBLE}
       ON CONFLICT (dedupe_key) DO NOTHING`,
    );
    const remove = db.prepare(`DELETE FROM usage_events WHERE ${ELIGIBLE}`);
    const pend = db.prepare("INSERT INTO usage_archive_pending (file, created_at_ms) VALUES (?, ?)");
    const record = db.prepare(
      `INSERT INTO usage_archive_files (file, month, rows, bytes, sha256, first_id, last_id, created_at_ms)
       VALUES (@file, @month, @rows, @bytes, @sha256, @firstId, @lastId, @nowMs)`,
    );
    // usage_events.id is a rowid without AUTOINCREMENT: a new row gets MAX(id) + 1, so removing
    // the newest rows hands their ids out again. The cursors that read usage_events by id (the
    // console's hourly rollup, the headroom sampler) have passed them and would skip the new rows
    // for good; they are pulled back to the newest id left (every row above it is gone, every row
    // at or below it was already read).
    const lowerCursors = [
      db.prepare(
        "UPDATE usage_hourly_cursor SET last_usage_event_id = (SELECT COALESCE(MAX(id), 0) FROM usage_events) WHERE last_usage_event_id > (SELECT COALESCE(MAX(id), 0) FROM usage_events)",
      ),
      db.prepare(
        "UPDATE headroom_cursor SET last_usage_event_id = (SELECT COALESCE(MAX(id), 0) FROM usage_events) WHERE last_usage_event_id > (SELECT COALESCE(MAX(id), 0) FROM usage_events)",
      ),
    ];
    const renew = db.prepare("UPDATE usage_archive_lease SET expires_at_ms = ? WHERE id = 1 AND owner = ?");
    const commit = db.transaction(
      (
        p: Record<string, number>,
        file: { file: string; month: string; rows: number; bytes: number; sha256: string },
      ) => {
        rollup.run(p);
        keepKeys.run(p);
        const removed = remove.run(p).changes;
        if (removed !== file.rows)
          throw new Error(
            `${file.file}: ${file.rows} rows written but ${removed} eligible now; nothing removed`,
          );
        for (const lower of lowerCursors) lower.run();
        record.run({ ...file, firstId: p.firstId, lastId: p.lastId, nowMs: Date.now() });
        unpend.run(file.file);
      },
    );

    const chunkEnd = db.prepare<Record<string, number>, { firstId: number | null; lastId: number | null }>(
      `SELECT MIN(id) AS firstId, MAX(id) AS lastId FROM (SELECT id FROM usage_events WHERE ${ELIGIBLE}
           ORDER BY id LIMIT ${FILE_MAX_ROWS})`,
    );
    const files: { month: string; p: Record<string, number> }[] = [];
    for (const m of plan.months) {
      const [lo, monthEnd] = monthBounds(m.month);
      const hi = Math.min(monthEnd, plan.cutMs);
      let after = m.firstId;
      while (after <= m.lastId) {
        const c = chunkEnd.get({ lo, hi, firstId: after, lastId: m.lastId });
        if (!c || c.firstId === null || c.lastId === null) break;
        files.push({ month: m.month, p: { lo, hi, firstId: c.firstId, lastId: c.lastId } });
        after = c.lastId + 1;
      }
    }
    for (const { month, p } of files) {
      if (renew.run(Date.now() + LEASE_MS, owner).changes !== 1) throw new Error("archive lease lost");
      const m = { month, firstId: p.firstId as number, lastId: p.lastId as number };
      const name = fileName(m, randomBytes(4).toString("hex"));
      // Pending before the file exists: a crash from here on leaves a leftover this database
      // knows it wrote (and may delete); nothing else in the directory is ever deleted.
      pend.run(name, Date.now());
      const tmp = join(o.dir, tmpName(name));
      const fd = openSync(tmp, "w", 0o600);
      const fileHash = createHash("sha256");
      let bytes = 0;
      let rows = 0;
      let contentSha: string;
      try {
        const w = await createFrameWriter((chunk) => {
          fileHash.update(chunk);
          let off = 0;
          while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
          bytes += chunk.length;
        });
        let buf: string[] = [];
        for (const r of select.iterate(p)) {
          buf.push(`${archiveLine(r)}\n`);
          rows++;
          if (buf.length >= CHUNK_ROWS) {
            w.push(buf.join(""));
            buf = [];
          }
        }
        if (buf.length) w.push(buf.join(""));
        contentSha = w.end();
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      // Read back before anything is removed: the file must decode to exactly what was written.
      const back = createHash("sha256")
        .update(decodeArchiveBytes(readFileSync(tmp)))
        .digest("hex");
      if (back !== contentSha)
        throw new Error(`${name}: the written file does not read back; nothing removed`);
      const final = join(o.dir, name);
      // Never over an existing file (a rename would replace it): link, then drop the temporary name.
      try {
        linkSync(tmp, final);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST")
          throw new Error(`${name} already exists in ${o.dir} and is not this database's; nothing removed`);
        throw err;
      }
      rmSync(tmp);
      fsyncDir(o.dir);
      o.afterWrite?.(final);
      commit.immediate(p, { file: name, month: m.month, rows, bytes, sha256: fileHash.digest("hex") });
      months.push({ month: m.month, rows, bytes, file: name, status: "archived" });
    }
    return { ...base, removedLeftovers, months, dryRun: false };
  } finally {
    db.prepare("DELETE FROM usage_archive_lease WHERE id = 1 AND owner = ?").run(owner);
  }
}
