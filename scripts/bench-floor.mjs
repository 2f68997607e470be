// The SQLite floor of a meter run, for `npm run bench:meter`: (f) writes the rows a `meter --once`
// just wrote (its database, SRC) into a fresh database with the same schema and pragmas, in
// transactions of BATCH usage rows each, by pure SQL (`INSERT … SELECT` from the attached source:
// no JavaScript per row, no parameter binding, no reading or parsing of transcripts). What is
// left is SQLite's own cost of those rows: B-tree inserts into the table and its indexes, the
// `usage_daily` triggers, the billed calls' response identities (`usage_response_keys`, migration
// 38), the WAL writes and fsyncs of FULL sync, and the checkpoints. A meter
// that writes these rows durably cannot take less than this pass.
//   node scripts/bench-floor.mjs SRC DEST BATCH   → prints {"rows":…,"ledgerEntries":…,"dailyRows":…,"responseKeys":…}
// Simplifications, each of which makes the floor lower than the real cost: one `usage_daily` row
// is inserted once (the meter upserts a day's group once per batch that touches it), ledger
// entries are copied without the balance updates the ledger makes, and the read cursors and
// session facts are not written. One cost goes the other way: each batch reads its rows back
// from SRC (an attached file, default 2 MB cache; the ledger copy scans the range a second
// time), which the meter does not do: ~140 ms of the ~1.85 s loop on bench:meter's 222k rows
// (measured against the same loop reading in-memory copies), i.e. the floor reads ~7% high.
import { existsSync, realpathSync, rmSync } from "node:fs";
import { resolve } from "node:path";

const [src, dest, batchArg] = process.argv.slice(2);
const batch = Number(batchArg);
if (!src || !dest || !/^[0-9]+$/.test(batchArg) || !Number.isSafeInteger(batch) || batch < 1)
  throw new Error("usage: bench-floor.mjs SRC DEST BATCH (BATCH a positive integer)");
// ATTACH would create a missing SRC; DEST is deleted below, so it must not be SRC
if (!existsSync(src)) throw new Error(`bench-floor: ${src} does not exist`);
if (existsSync(dest) ? realpathSync(dest) === realpathSync(src) : resolve(dest) === realpathSync(src))
  throw new Error(`bench-floor: DEST ${dest} is SRC`);
const { openDatabase } = await import(new URL("../dist/db/index.js", import.meta.url).href);

for (const f of [dest, `${dest}-wal`, `${dest}-shm`]) rmSync(f, { force: true });
const db = openDatabase(dest);
db.pragma("temp_store = MEMORY"); // as the biller runs each batch (withJournalsInMemory)
db.prepare("ATTACH ? AS src").run(src);
const columns = (table) =>
  db
    .prepare(`SELECT * FROM src.${table} LIMIT 1`)
    .columns()
    .map((c) => c.name)
    .join(", ");
const usageCols = columns("usage_events");
const ledgerCols = columns("ledger_entries");
const dailyCols = columns("usage_daily");
db.exec("INSERT INTO main.accounts SELECT * FROM src.accounts");
// usage_daily is WITHOUT ROWID: number its rows once so batches can take slices of them.
db.exec(
  `CREATE TEMP TABLE daily_src AS SELECT row_number() OVER () AS rn, ${dailyCols} FROM src.usage_daily`,
);
const maxId = db.prepare("SELECT coalesce(max(id), 0) AS m FROM src.usage_events").get().m;
const dailyRows = db.prepare("SELECT count(*) AS c FROM temp.daily_src").get().c;
const batches = Math.max(1, Math.ceil(maxId / batch));
const dailyPer = Math.ceil(dailyRows / batches);
const copyLedger = db.prepare(
  `INSERT INTO main.ledger_entries (${ledgerCols}) SELECT ${ledgerCols} FROM src.ledger_entries
   WHERE id IN (SELECT DISTINCT ledger_entry_id FROM src.usage_events WHERE id > ? AND id <= ?)
     AND id NOT IN (SELECT id FROM main.ledger_entries)`,
);
const copyUsage = db.prepare(
  `INSERT INTO main.usage_events (${usageCols}) SELECT ${usageCols} FROM src.usage_events WHERE id > ? AND id <= ?`,
);
// (a call's response identity is written in its row's transaction: the same batches). Found
// through the batch's usage rows and the table's primary key: usage_event_id has no index, and a
// `WHERE usage_event_id BETWEEN …` scanned every response key of the source once per batch
// (111 scans of 222k rows on bench:meter's backlog), which read the floor ~25 % high
// (2026-12-03: CPU 4.86 → 3.62 s, wall 6.07 → 4.38 s, the same rows written).
const copyResponses = db.prepare(
  `INSERT INTO main.usage_response_keys (day, response_id, provider, usage_event_id)
   SELECT r.day, r.response_id, r.provider, r.usage_event_id
   FROM src.usage_events AS e
   JOIN src.usage_response_keys AS r
     ON r.day = e.message_ts_ms / 86400000 AND r.response_id = e.response_id AND r.provider = e.provider
   WHERE e.id > ? AND e.id <= ? AND r.usage_event_id = e.id`,
);
const copyDaily = db.prepare(
  `INSERT INTO main.usage_daily (${dailyCols}) SELECT ${dailyCols} FROM temp.daily_src WHERE rn > ? AND rn <= ?`,
);
const oneBatch = db.transaction((i) => {
  copyLedger.run(i * batch, (i + 1) * batch);
  copyUsage.run(i * batch, (i + 1) * batch);
  copyResponses.run(i * batch, (i + 1) * batch);
  copyDaily.run(i * dailyPer, (i + 1) * dailyPer);
});
for (let i = 0; i < batches; i++) oneBatch(i);
const ledgerEntries = db.prepare("SELECT count(*) AS c FROM main.ledger_entries").get().c;
const rows = db.prepare("SELECT count(*) AS c FROM main.usage_events").get().c;
const srcRows = db.prepare("SELECT count(*) AS c FROM src.usage_events").get().c;
const responseKeys = db.prepare("SELECT count(*) AS c FROM main.usage_response_keys").get().c;
const srcResponseKeys = db.prepare("SELECT count(*) AS c FROM src.usage_response_keys").get().c;
db.close();
if (rows === 0 || rows !== srcRows) throw new Error(`bench-floor: copied ${rows} of ${srcRows} usage rows`);
if (responseKeys !== srcResponseKeys)
  throw new Error(`bench-floor: copied ${responseKeys} of ${srcResponseKeys} response keys`);
process.stdout.write(JSON.stringify({ rows, ledgerEntries, dailyRows, responseKeys }));
