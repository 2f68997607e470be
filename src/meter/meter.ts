import { type FSWatcher, watch } from "node:fs";
import { dirname, join } from "node:path";
import { createLedger, type Ledger } from "../credits/index.js";
import type { Db } from "../db/index.js";
import type { Ratio } from "../money.js";
import { type BilledEvent, type BillerOptions, createBiller, emptyBillResult } from "./biller.js";
import { agentFilterOf, listAgents, type StateDir } from "./discover.js";
import {
  problemOf,
  type SourceHealth,
  type SourceProblem,
  sourceHealth,
  WAITING_FOR_STORE,
} from "./health.js";
import { addStats, emptyStats, type MeterSource, type SourceBatch, type SourceStats } from "./source.js";
import { createJsonlSource } from "./sources/jsonl.js";
import { createReaderThread } from "./sources/jsonl-thread.js";
import { createSqliteSource } from "./sources/sqlite.js";
import { storeFile } from "./sources/sqlite-reader.js";
import {
  legacySessionLeftovers,
  planRelocated,
  type SessionsLocation,
  type StoreLocation,
} from "./sources/store-location.js";
import type { Pricer } from "./types.js";

export interface MeterOptions {
  db: Db;
  /** The process's ledger over `db` (createServices' `repos.ledger`); absent: one is built (standalone use: tests, `meter --once`). */
  ledger?: Ledger;
  stateDirs: readonly StateDir[];
  agents: readonly string[] | null;
  pricer: Pricer;
  markup: Ratio;
  creditsPerUsd: Ratio;
  batchSize: number;
  pollMs: number;
  /** See JsonlSourceOptions.unknownSessionGraceMs, in ms; used only while following (0 for `--once`). @defaultValue 10_000 */
  unknownSessionGraceMs?: number;
  nowMs?: () => number;
  onBilled?: (events: BilledEvent[]) => void;
  /** See BillerOptions.inTransaction. */
  inTransaction?: BillerOptions["inTransaction"];
  /** See BillerOptions.maxCallPicoUsd (`CREDITGATE_REVIEW_MAX_CALL_USD`). */
  maxCallPicoUsd?: bigint;
  /** Where source problems are recorded. @defaultValue the process-wide `sourceHealth` */
  health?: SourceHealth;
  onProgress?: (summary: MeterSummary) => void;
  /**
   * Read transcripts (session files and OpenClaw stores) on a `worker_threads` reader
   * (CREDITGATE_READER_THREAD), overlapping reading and parsing with billing; false reads on the main thread (deterministic, and what a
   * crashed reader thread falls back to). Ignored with a custom `nowMs`. @defaultValue true
   */
  readerThread?: boolean;
  /**
   * What `~` in OpenClaw's `session.store` expands to: `OPENCLAW_HOME`, else `HOME` (as OpenClaw's
   * `resolveRequiredHomeDir`). @defaultValue the user's home directory
   */
  openclawHome?: string | null;
  log?: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
  /**
   * Keep redacted previews of this many characters of each call's user message and reply
   * (`CREDITGATE_PREVIEWS=on`, `CREDITGATE_PREVIEW_CHARS`); 0: off. @defaultValue 0
   */
  previewChars?: number;
  /**
   * Replaces billing (edge meters, `meter --ship-to`): each batch is handed to `record`, which
   * must write it AND its `cursorMoves` (and sessions, rejects) in one transaction, exactly like
   * the biller does, and return how many events it queued and how many it already had. Throwing
   * `SinkPaused` stops the current poll without a failure (the batch is not kept; its cursor does
   * not move, so it is read again later); the follow loop then waits at least a second.
   * @defaultValue absent: bill into the local ledger
   */
  record?: (batch: SourceBatch) => { recorded: number; duplicates: number; cursorsKept?: number };
}

/**
 * Thrown by a `record` sink that cannot take more now (the edge outbox is full): the poll stops
 * cleanly, nothing of the batch is kept, and reading resumes on a later poll. Not a failure.
 */
export class SinkPaused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SinkPaused";
  }
}

export interface MeterSummary extends SourceStats {
  stateDirs: number;
  agents: number;
  billed: number;
  duplicates: number;
  chargedMicroCredits: bigint;
  unknownModels: string[];
  /** Calls held for review by this run (never billed automatically; see `creditgate review`). */
  held: number;
  /** Their computed cost, pico-USD as a decimal string (may exceed 2^53). */
  heldCostPicoUsd: string;
  /**
   * Of `held`, the calls with no computed cost (not in `heldCostPicoUsd`). Since 2026-12-04:
   * before, the summary's held row read `1 ($0)` for such a call, as if it were free.
   */
  heldUnpriced: number;
  /**
   * Calls read with no session key, so billed to the agent's own account (`agent:<id>`): sessions
   * reset or deleted before creditgate first saw them (Clawdbot era), or keyless runs. Counted as
   * read (a re-read duplicate counts too); a cold backfill that shows many means per-user history
   * was lost (README, Known limits).
   */
  unattributedCalls: number;
  /**
   * Times the reader thread died in this process so far (each logged; reading went on on
   * the main thread from the committed cursors, nothing lost or doubled).
   */
  readerThreadCrashes: number;
  /** Batches of this process read on the reader thread (0: read on the main thread). */
  readerThreadBatches: number;
  /** Source problems of this run (path, code, reason); non-empty makes `meter --once` exit 1. */
  failures: SourceProblem[];
  elapsedMs: number;
  /** True when the last poll stopped early because the `record` sink paused (edge outbox full). */
  paused: boolean;
}

/**
 * The metering loop: every agent of every state dir gets a JSONL source and a SQLite source
 * (each a no-op where its era's files are absent); each batch they produce is billed and its
 * cursor committed in one transaction. `runOnce` drains what is there; `follow` keeps going,
 * picking up new lines, files, agents and renames without a restart.
 */
/** Malformed lines logged one by one per poll; the rest are logged as a count. */
const MAX_REJECT_LOGS_PER_POLL = 20;

export function createMeter(opts: MeterOptions) {
  const now = opts.nowMs ?? Date.now;
  const ledger = opts.ledger ?? createLedger(opts.db);
  const biller = createBiller(opts.db, ledger, {
    pricer: opts.pricer,
    markup: opts.markup,
    creditsPerUsd: opts.creditsPerUsd,
    nowMs: now,
    ...(opts.onBilled ? { onBilled: opts.onBilled } : {}),
    ...(opts.inTransaction ? { inTransaction: opts.inTransaction } : {}),
    ...(opts.maxCallPicoUsd !== undefined ? { maxCallPicoUsd: opts.maxCallPicoUsd } : {}),
  });
  const health = opts.health ?? sourceHealth;
  const thread =
    opts.readerThread !== false && opts.nowMs === undefined
      ? createReaderThread(opts.log ? { log: opts.log } : {})
      : null;
  thread?.prestart();
  /** Each agent dir's sources: its stores first, then its session-file directories. */
  const sources = new Map<string, SourceEntry[]>();
  /** Places (store files, session dirs) some source reads: a shared relocated store is read once. */
  const claimed = new Set<string>();
  const unknownModels = new Set<string>();
  const warnedUnknown = new Set<string>();

  function newSummary(): MeterSummary {
    return {
      ...emptyStats(),
      stateDirs: opts.stateDirs.length,
      agents: 0,
      billed: 0,
      duplicates: 0,
      chargedMicroCredits: 0n,
      unknownModels: [],
      held: 0,
      heldCostPicoUsd: "0",
      heldUnpriced: 0,
      unattributedCalls: 0,
      readerThreadCrashes: 0,
      readerThreadBatches: 0,
      failures: [],
      elapsedMs: 0,
      paused: false,
    };
  }

  function storeEntry(agentId: string, agentDir: string, loc?: StoreLocation): SourceEntry {
    return {
      source: createSqliteSource({
        agentDir,
        agentId,
        db: opts.db,
        batchSize: opts.batchSize,
        previewChars: opts.previewChars ?? 0,
        ...(loc ? { storePath: loc.file, sessionsDir: loc.sessionsDir } : {}),
        ...(opts.openclawHome ? { home: opts.openclawHome } : {}),
        ...(thread ? { thread } : {}),
      }),
      key: loc?.file ?? agentDir,
      store: loc?.file ?? storeFile(agentDir),
      dir: loc ? dirname(loc.file) : join(agentDir, "agent"),
    };
  }

  function filesEntry(
    agentId: string,
    agentDir: string,
    following: boolean,
    loc?: SessionsLocation,
  ): SourceEntry {
    return {
      source: createJsonlSource({
        agentDir,
        agentId,
        db: opts.db,
        batchSize: opts.batchSize,
        unknownSessionGraceMs: following ? (opts.unknownSessionGraceMs ?? 10_000) : 0,
        previewChars: opts.previewChars ?? 0,
        ...(loc ? { sessionsDir: loc.dir, indexPath: loc.index } : {}),
        ...(opts.openclawHome ? { home: opts.openclawHome } : {}),
        ...(opts.nowMs ? { nowMs: opts.nowMs } : {}),
        ...(thread ? { thread } : {}),
      }),
      key: loc?.dir ?? agentDir,
      store: null,
      dir: loc?.dir ?? join(agentDir, "sessions"),
    };
  }

  function syncAgents(following: boolean): void {
    for (const sd of opts.stateDirs) {
      const agents = listAgents(sd.path, agentFilterOf(sd, opts.agents));
      for (const a of agents) {
        if (sources.has(a.agentDir)) continue;
        // SQLite first: its session tables attribute every session (even deleted ones), and the
        // facts it records let the JSONL source attribute copies of the same sessions.
        sources.set(a.agentDir, [
          storeEntry(a.agentId, a.agentDir),
          filesEntry(a.agentId, a.agentDir, following),
        ]);
      }
      // `session.store` may move sessions.json, the transcripts and the store out of the agent
      // dirs: those places are read too (stores still before any session files).
      for (const r of planRelocated(sd.path, agents, claimed, opts.openclawHome ?? null)) {
        const list = sources.get(r.agentDir);
        if (!list) continue;
        const firstFiles = list.findIndex((e) => e.store === null);
        list.splice(firstFiles, 0, ...r.stores.map((loc) => storeEntry(r.agentId, r.agentDir, loc)));
        list.push(...r.sessions.map((loc) => filesEntry(r.agentId, r.agentDir, following, loc)));
      }
      // `<state>/sessions.legacy-<ms>`: pre-`agents/` transcripts OpenClaw's legacy-state migration
      // could not move into the default agent's `sessions/` (before 2026-12-03 never read, case
      // `legacy-sessions-leftover-dir`).
      const left = legacySessionLeftovers(sd.path, agents, claimed);
      if (left)
        sources
          .get(left.agentDir)
          ?.push(...left.sessions.map((loc) => filesEntry(left.agentId, left.agentDir, following, loc)));
    }
  }

  async function pollAll(summary: MeterSummary): Promise<void> {
    const started = now();
    // elapsedMs accumulates over polls (follow): this poll adds its own span, once.
    const elapsedBefore = summary.elapsedMs;
    summary.agents = sources.size;
    let lastProgress = started;
    let rejectsLogged = 0;
    summary.paused = false;
    /** The source being polled (`jsonl:<agent>`, `sqlite:<agent>`): the sink's batches are its. */
    let polling = "";
    const record = opts.record;
    const sink = (batch: SourceBatch) => {
      let r: ReturnType<typeof biller.bill>;
      try {
        if (record) {
          const q = record(batch);
          r = {
            ...emptyBillResult(),
            billed: q.recorded,
            duplicates: q.duplicates,
            cursorsKept: q.cursorsKept ?? 0,
          };
        } else r = biller.bill(batch);
      } catch (err) {
        if (err instanceof SinkPaused) throw err;
        throw new BillingFailure(opts.db.name, err);
      }
      addStats(summary, batch.stats);
      const rescans = batch.stats.rescans ?? 0;
      if (rescans > 0) {
        const kind = polling.split(":")[0] ?? "";
        health.rescanned(kind, rescans);
        opts.log?.(
          "warn",
          "transcripts changed under the meter's cursor (rewritten, truncated or restored from a backup): re-read from their start, calls already billed are skipped as duplicates",
          { source: polling, transcripts: rescans },
        );
      }
      for (const e of batch.events)
        if (e.sessionKey === null && e.accountId.startsWith("agent:")) summary.unattributedCalls++;
      summary.billed += r.billed;
      summary.duplicates += r.duplicates;
      summary.chargedMicroCredits += r.chargedMicroCredits;
      if (r.held > 0) {
        summary.held += r.held;
        summary.heldCostPicoUsd = (BigInt(summary.heldCostPicoUsd) + r.heldCostPicoUsd).toString();
        summary.heldUnpriced += r.heldUnpriced;
        for (const h of r.heldReasons)
          opts.log?.("warn", "model call held for review (creditgate review)", {
            sourceRef: h.sourceRef,
            reason: h.reason,
          });
      }
      if (r.cursorsKept > 0)
        opts.log?.(
          "warn",
          "another meter moved store session cursors while this one read them: its moves were not applied (no row is skipped; the next poll reads on from the other meter's cursor)",
          { source: polling, sessions: r.cursorsKept },
        );
      for (const a of r.anomalies)
        opts.log?.("warn", "model call billed with an anomaly on its row", {
          sourceRef: a.sourceRef,
          reason: a.reason,
        });
      // Malformed lines are kept out of billing and located in meter_rejects: say so as it happens
      // (the first few of each poll by location, then a count, so a corrupt backlog cannot flood).
      for (const rej of batch.rejects) {
        if (++rejectsLogged <= MAX_REJECT_LOGS_PER_POLL)
          opts.log?.("warn", "malformed transcript line, not billed (meter_rejects)", {
            sourceRef: rej.sourceRef,
            reason: rej.reason,
          });
      }
      for (const [m, ways] of r.unknownModelSources) {
        unknownModels.add(m);
        for (const how of ways) {
          // Once per model and way: say what was really used, never "fallback" for a recorded cost.
          if (warnedUnknown.has(`${how}\u0000${m}`)) continue;
          warnedUnknown.add(`${how}\u0000${m}`);
          opts.log?.(
            "warn",
            how === "recorded"
              ? "unknown model priced at its recorded cost"
              : "unknown model priced at the fallback price (CREDITGATE_FALLBACK_PRICE)",
            { model: m },
          );
        }
      }
      summary.unknownModels = [...unknownModels].sort();
      if (opts.onProgress && now() - lastProgress >= 1000) {
        lastProgress = now();
        summary.elapsedMs = elapsedBefore + (lastProgress - started);
        opts.onProgress(summary);
      }
    };
    const failures: SourceProblem[] = [];
    outer: for (const list of sources.values()) {
      // The agent's JSONL files may be copies of its store's sessions (what `openclaw doctor --fix`
      // leaves in session-sqlite-import-archive/, without sessions.json) attributed only by the
      // session facts the store's poll records. While the store itself cannot be read (locked,
      // not a database, not a file, cannot be opened) they wait: billed now they would go to the
      // operator, and the store's copies of the same calls would then be duplicates.
      /** The code of the problem that ended or spoiled a store's poll (null: they read and billed). */
      let storeUnread: string | null = null;
      for (const { source: s, key, store, dir } of list) {
        const id = `${s.name}\u0000${key}`;
        health.begin(id);
        const note = (p: SourceProblem) => {
          if (store !== null && p.path === store) storeUnread ??= p.code;
          failures.push(p);
          if (health.report(id, p))
            opts.log?.("error", "meter source problem", {
              source: p.source,
              path: p.path,
              code: p.code,
              reason: p.reason,
            });
        };
        if (store === null && storeUnread !== null) {
          // Not read this poll: its state is "waiting", not what its last poll found; the reason
          // names what held the store back (creditgate's own database failing is not the store's).
          note({
            source: s.name,
            path: dir,
            code: WAITING_FOR_STORE,
            reason: storeUnread.startsWith("creditgate-db:")
              ? `not read while billing the agent's OpenClaw store fails (${storeUnread}): its copies would be billed to the operator`
              : `not read while the agent's OpenClaw store cannot be read (${storeUnread}): its copies would be billed to the operator`,
          });
          health.end(id);
          continue;
        }
        try {
          polling = s.name;
          await s.poll(sink, (p) => note({ source: s.name, ...p }));
        } catch (err) {
          if (err instanceof SinkPaused) {
            summary.paused = true;
            break outer;
          }
          // One unreadable source must not stop the others; it is retried next poll.
          const p = err instanceof BillingFailure ? err.problem(s.name) : problemOf(s.name, dir, err);
          if (store !== null) storeUnread ??= p.code;
          note(p);
        } finally {
          health.end(id);
        }
      }
    }
    if (rejectsLogged > MAX_REJECT_LOGS_PER_POLL)
      opts.log?.("warn", "more malformed transcript lines, not billed (meter_rejects)", {
        count: rejectsLogged - MAX_REJECT_LOGS_PER_POLL,
      });
    summary.failures = failures;
    summary.readerThreadCrashes = thread?.crashes ?? 0;
    summary.readerThreadBatches = thread?.batches ?? 0;
    summary.elapsedMs = elapsedBefore + (now() - started);
  }

  return {
    /** Ingests everything new and returns what it did. */
    async runOnce(): Promise<MeterSummary> {
      const summary = newSummary();
      syncAgents(false);
      await pollAll(summary);
      return summary;
    },

    /**
     * Backfills, then follows until `signal` aborts. Returns the running totals. `onCycle` runs
     * after each poll that billed something or whose `paused` differs from the poll before (an
     * edge outbox stopped or stopped refusing batches); `onCaughtUp` once, after the first poll
     * (the backlog).
     */
    async follow(
      signal: AbortSignal,
      onCycle?: (s: MeterSummary) => void,
      onCaughtUp?: (s: MeterSummary) => void,
    ): Promise<MeterSummary> {
      const total = newSummary();
      const watchers = new Map<string, FSWatcher>();
      let wake: (() => void) | null = null;
      let dirty = true;
      const poke = () => {
        dirty = true;
        // Paused (edge outbox full): new lines wait for the paused poll interval, not a busy loop.
        if (!total.paused) wake?.();
      };
      const watchDir = (dir: string) => {
        if (watchers.has(dir)) return;
        try {
          const w = watch(dir, { persistent: false }, poke);
          w.on("error", () => {
            watchers.delete(dir);
          });
          watchers.set(dir, w);
        } catch {
          // not there yet: the periodic poll covers it until it appears
        }
      };
      signal.addEventListener("abort", () => wake?.(), { once: true });
      try {
        while (!signal.aborted) {
          syncAgents(true);
          for (const sd of opts.stateDirs) watchDir(join(sd.path, "agents"));
          for (const list of sources.values()) for (const e of list) watchDir(e.dir);
          dirty = false;
          const before = total.billed;
          const wasPaused = total.paused;
          await pollAll(total);
          if (total.billed !== before || total.paused !== wasPaused) onCycle?.(total);
          if (onCaughtUp && !signal.aborted) {
            onCaughtUp(total);
            onCaughtUp = undefined;
          }
          if (signal.aborted || (dirty && !total.paused)) continue;
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, total.paused ? Math.max(opts.pollMs, 1000) : opts.pollMs);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = null;
        }
      } finally {
        for (const w of watchers.values()) w.close();
      }
      return total;
    },

    close(): void {
      for (const list of sources.values()) for (const e of list) e.source.close();
      sources.clear();
      void thread?.terminate();
    },
  };
}

export type Meter = ReturnType<typeof createMeter>;

/** One source of an agent dir, with what the meter needs to know of it. */
interface SourceEntry {
  source: MeterSource;
  /** Names it in health and on the reader thread: the agent dir, or the relocated place. */
  key: string;
  /** The OpenClaw store file it reads, or null for session files (which wait while a store fails). */
  store: string | null;
  /** The directory watched while following; a waiting source's problem path. */
  dir: string;
}

/**
 * creditgate's OWN database failed while billing a batch (full, locked, I/O): wrapped so a
 * source does not mistake it for its input being busy or corrupt. Its code is
 * `creditgate-db:<SQLite code>` and its path the creditgate database file.
 */
export class BillingFailure extends Error {
  readonly code: string;
  readonly dbPath: string;
  constructor(dbPath: string, cause: unknown) {
    const inner = problemOf("", dbPath, cause);
    super(`billing failed: ${inner.reason}`, { cause });
    this.name = "BillingFailure";
    this.dbPath = dbPath;
    this.code = `creditgate-db:${inner.code}`;
  }
  problem(source: string): SourceProblem {
    return { source, path: this.dbPath, code: this.code, reason: this.message.slice(0, 300) };
  }
}
