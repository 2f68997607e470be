import type { Db } from "../db/index.js";
import type { UsageEvent } from "./types.js";

/**
 * A row of `meter_blobs_done` as SQLite returns it: a whole-file source (a `.zst` archive, an
 * OpenClaw SQLite archive row) read once, by content hash. Written by both sources in their batch commit.
 */
export interface MeterBlobDoneRow {
  content_sha256: string;
  name: string;
  events: number;
  done_at_ms: number;
}

/** Counters every source reports; summed into `meter --once`'s summary. */
export interface SourceStats {
  files: number;
  lines: number;
  usageLines: number;
  malformed: number;
  synthetic: number;
  zeroUsage: number;
  bytes: number;
}

export const emptyStats = (): SourceStats => ({
  files: 0,
  lines: 0,
  usageLines: 0,
  malformed: 0,
  synthetic: 0,
  zeroUsage: 0,
  bytes: 0,
});

export function addStats(into: SourceStats, s: Partial<SourceStats>): void {
  for (const k of Object.keys(s) as (keyof SourceStats)[]) into[k] += s[k] ?? 0;
}

/** A malformed line, recorded (not its content: it may be chat text) so an operator can look. */
export interface Reject {
  sourceRef: string;
  reason: string;
}

/**
 * What a source hands the biller: events plus the cursor move that covers them. The biller
 * runs `commit` INSIDE the same SQLite transaction as the usage rows and ledger entries, so
 * a crash either keeps all of it or none of it.
 */
export interface SourceBatch {
  events: UsageEvent[];
  rejects: Reject[];
  /** Session → key/account facts learnt while reading (kept forever: archives lose them). */
  sessions: SessionFact[];
  commit(db: Db): void;
  stats: Partial<SourceStats>;
}

export interface SessionFact {
  agentId: string;
  sessionId: string;
  sessionKey: string | null;
  accountId: string | null;
  channel: string | null;
}

/** Synchronous sink: bills a batch and commits its cursor in one transaction. */
export type BatchSink = (batch: SourceBatch) => void;

export interface MeterSource {
  readonly name: string;
  /**
   * Reads everything new since the persisted cursors, handing batches to `sink`. Problems that
   * do not stop the poll (an unreadable file or directory, a locked store) go to `report`, with
   * the path and a reason, never file content (see health.ts).
   */
  poll(sink: BatchSink, report?: ProblemReporter): Promise<void>;
  close(): void;
}

/** Where a source reports a problem: the path concerned, an error code and a one-line reason. */
export type ProblemReporter = (p: { path: string; code: string; reason: string }) => void;
