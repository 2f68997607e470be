/**
 * retention: usage rows older than `CREDITGATE_RETENTION_DAYS` are exported to monthly zstd JSONL
 * archive files, rolled up into `usage_archived` (per UTC quarter hour, account, agent, provider,
 * model, kind) with their dedupe keys kept, and removed (docs/retention.md). Reports read the
 * rollup (`src/reports/query.ts`) or, with `report --archive DIR`, the files.
 */
export {
  ARCHIVE_BUCKET_MS,
  ARCHIVE_FILE_RE,
  type ArchiveMonth,
  type ArchiveOptions,
  type ArchiveResult,
  archiveCut,
  MIN_USAGE_RETENTION_DAYS,
  planArchive,
  runArchive,
} from "./archive.js";
export {
  ARCHIVE_COLUMNS,
  type ArchiveRow,
  archiveLine,
  decodeArchive,
  decodeArchiveBytes,
  forEachArchiveLine,
  parseArchiveLine,
} from "./format.js";
export { ARCHIVE_ROWS_TABLE, loadArchiveRows } from "./read.js";
