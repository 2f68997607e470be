/**
 * Source health: what went wrong while reading transcripts, so no failure is silent.
 *
 * Each meter source reports problems (an unreadable file or directory, a path of the wrong
 * type, a locked or corrupt OpenClaw store, a poll that threw: e.g. creditgate's own database
 * full or locked) with the path and a reason (an error code and message; never file content).
 * A source's problems are those of its LAST poll: one that recovers clears itself.
 *
 * Consumers: the meter logs each problem when it first appears; `meter --once` prints them and
 * exits 1; `/readyz` reports `degraded` while any is current; `/metrics` exports
 * `creditgate_meter_source_failures_total` (problems that appeared, by source kind and code) and
 * `creditgate_meter_sources_failing` (sources failing now). Transcripts re-read from their start
 * because they changed under the cursor (rewritten, truncated, restored from a backup) are not
 * problems but are counted too: `creditgate_meter_rescans_total`, by source kind.
 */
export interface SourceProblem {
  /** `jsonl:<agent>` or `sqlite:<agent>`. */
  source: string;
  /** The file or directory concerned. */
  path: string;
  /** `EACCES`, `ENOTDIR`, `not-a-file`, `SQLITE_BUSY`, `SQLITE_FULL`, `error`… */
  code: string;
  /** One line, at most 300 characters; built from error messages, never from file content. */
  reason: string;
}

export interface SourceHealth {
  /** Starts a poll of `sourceId` (unique per source: name + agent dir). */
  begin(sourceId: string): void;
  /** Records a problem of the current poll; true when it is new (not current before). */
  report(sourceId: string, p: SourceProblem): boolean;
  /** Ends the poll: its problems replace the source's previous ones. */
  end(sourceId: string): void;
  /** Problems current now (each source's last finished poll). */
  failing(): SourceProblem[];
  /** How many problems appeared (were new), by source kind (`jsonl`/`sqlite`) and code. */
  appeared(): { kind: string; code: string; count: number }[];
  /**
   * Counts `n` transcripts of source kind `kind` (`jsonl`/`sqlite`) re-read from their start
   * because they changed under the meter's cursor (`SourceStats.rescans`).
   */
  rescanned(kind: string, n: number): void;
  /** Transcripts re-read from their start so far, by source kind (see `rescanned`). */
  rescans(): { kind: string; count: number }[];
  /** Forgets everything (tests). */
  reset(): void;
}

export function createSourceHealth(): SourceHealth {
  const current = new Map<string, SourceProblem[]>();
  const pending = new Map<string, SourceProblem[]>();
  const counts = new Map<string, number>();
  const rescans = new Map<string, number>();
  /**
   * What a source's last read poll found, kept while it waits (only `WAITING_FOR_STORE` reported:
   * not read, so not gone either): the same problems found when it is read again did not appear.
   */
  const waited = new Map<string, SourceProblem[]>();
  const sig = (p: SourceProblem) => `${p.path}\u0000${p.code}`;
  return {
    begin(id) {
      pending.set(id, []);
    },
    report(id, p) {
      const list = pending.get(id) ?? [];
      pending.set(id, list);
      if (list.some((q) => sig(q) === sig(p))) return false;
      list.push(p);
      const isNew = ![...(current.get(id) ?? []), ...(waited.get(id) ?? [])].some((q) => sig(q) === sig(p));
      if (isNew) {
        const k = `${p.source.split(":")[0]}\u0000${p.code}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return isNew;
    },
    end(id) {
      const list = pending.get(id) ?? [];
      if (list.length > 0 && list.every((q) => q.code === WAITING_FOR_STORE)) {
        if (!waited.has(id)) waited.set(id, current.get(id) ?? []);
      } else waited.delete(id);
      current.set(id, list);
      pending.delete(id);
    },
    failing() {
      return [...current.values()].flat();
    },
    appeared() {
      return [...counts].map(([k, count]) => {
        const [kind = "", code = ""] = k.split("\u0000");
        return { kind, code, count };
      });
    },
    rescanned(kind, n) {
      if (n > 0) rescans.set(kind, (rescans.get(kind) ?? 0) + n);
    },
    rescans() {
      return [...rescans].map(([kind, count]) => ({ kind, count }));
    },
    reset() {
      current.clear();
      pending.clear();
      counts.clear();
      rescans.clear();
      waited.clear();
    },
  };
}

/**
 * The code of an agent's JSONL source on a poll in which it was not read because the agent's
 * OpenClaw store could not be (see meter.ts): its files wait, and `/readyz` shows that rather
 * than what the source's last poll found.
 */
export const WAITING_FOR_STORE = "waiting-for-store";

/** The process-wide registry: the meter writes it, `/readyz` and `/metrics` read it. */
export const sourceHealth: SourceHealth = createSourceHealth();

/** A problem from a caught error: its code (`EACCES`, `SQLITE_BUSY`) and first line of message. */
export function problemOf(source: string, path: string, err: unknown): SourceProblem {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : err instanceof SyntaxError ? "EBADJSON" : "error";
  // JSON syntax errors may quote the input: never log them verbatim.
  const msg =
    err instanceof SyntaxError ? "invalid JSON" : typeof e?.message === "string" ? e.message : String(err);
  return { source, path, code, reason: (msg.split("\n")[0] ?? "").slice(0, 300) };
}
