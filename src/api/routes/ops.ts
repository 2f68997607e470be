import type { FastifyPluginAsync } from "fastify";
import { type Db, isBusyError, isPostgres } from "../../db/index.js";
import { sourceHealth } from "../../meter/index.js";
import type { Metrics, OpsProbes } from "../ops.js";

export interface OpsRoutesOptions {
  db: Db;
  probes: OpsProbes;
  metrics: Metrics;
  nowMs: () => number;
}

/**
 * GET /readyz (database, write lock, Redis, meter sources: 200 ok/degraded, 503 unavailable) and
 * GET /metrics (Prometheus). Not in the OpenAPI document (operations, not the operator API).
 */
export const opsRoutes: FastifyPluginAsync<OpsRoutesOptions> = async (app, o) => {
  const cursorAt = o.db.prepare<[], { at: number | null }>(
    `SELECT MAX(at) AS at FROM (SELECT MAX(updated_at_ms) AS at FROM meter_file_cursors
       UNION ALL SELECT MAX(updated_at_ms) FROM meter_sqlite_cursors)`,
  );

  app.get("/readyz", { schema: { hide: true } }, async (_request, reply) => {
    const now = o.nowMs();
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    // Never writes and never waits: the request path must not queue behind another writer.
    checks.db = probeDatabase(o.db);
    const degraded: string[] = [];
    if (checks.db.ok) {
      const { busy, ...lock } = probeWriteLock(o.db);
      checks.dbWriteLock = lock;
      if (busy) degraded.push("dbWriteLock");
    }
    if (o.probes.redisPing) {
      try {
        await withTimeout(o.probes.redisPing(), 1000);
        checks.redis = { ok: true };
      } catch (err) {
        checks.redis = { ok: false, detail: (err as Error).message };
      }
    }
    let at: number | null = null;
    try {
      at = cursorAt.get()?.at ?? null;
    } catch {
      // reported by checks.db
    }
    // A write lock held elsewhere degrades (writes wait, then 503 busy) but reads still serve.
    const ok = Object.entries(checks).every(([name, c]) => c.ok || degraded.includes(name));
    // Source problems make the service DEGRADED, not unready: the API still serves and the
    // meter keeps billing every other source, so the status code stays 200.
    const failing = (o.probes.sourceHealth ?? sourceHealth).failing();
    // Meter lag is informational: an idle bot writes nothing, so an old cursor is not a failure.
    return reply.code(ok ? 200 : 503).send({
      ok,
      status: !ok ? "unavailable" : degraded.length > 0 || failing.length > 0 ? "degraded" : "ok",
      degraded: degraded.length > 0 || failing.length > 0,
      checks,
      meter: { lastCursorMoveMs: at, lagMs: at === null ? null : now - at },
      sources: { ok: failing.length === 0, failing },
    });
  });

  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) =>
    reply.type(o.metrics.registry.contentType).send(await o.metrics.registry.metrics()),
  );
};

/**
 * A read with no busy wait: fails when the file is unreadable, corrupt or locked in EXCLUSIVE mode.
 * On PostgreSQL: one catalog read (fails when the server or the schema is gone).
 */
function probeDatabase(db: Db): { ok: boolean; detail?: string } {
  if (isPostgres(db)) {
    try {
      db.prepare(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()",
      ).get();
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }
  const timeout = db.pragma("busy_timeout", { simple: true }) as number;
  try {
    db.pragma("busy_timeout = 0");
    db.prepare("SELECT COUNT(*) FROM sqlite_schema").get();
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}

/**
 * Whether a write could start now: BEGIN IMMEDIATE then ROLLBACK with no busy wait (nothing is
 * written). Not ok when another connection holds the write lock (a backup, sqlite3, another
 * creditgate mid-batch: usually milliseconds) or the file is read-only.
 */
function probeWriteLock(db: Db): { ok: boolean; busy: boolean; detail?: string } {
  if (db.inTransaction) return { ok: true, busy: false };
  if (isPostgres(db)) {
    // PostgreSQL has no database-wide write lock: check that this connection can open a read-write transaction
    try {
      db.exec("BEGIN READ WRITE; ROLLBACK");
      return { ok: true, busy: false };
    } catch (err) {
      return { ok: false, busy: false, detail: (err as Error).message };
    }
  }
  const timeout = db.pragma("busy_timeout", { simple: true }) as number;
  try {
    db.pragma("busy_timeout = 0");
    db.exec("BEGIN IMMEDIATE");
    db.exec("ROLLBACK");
    return { ok: true, busy: false };
  } catch (err) {
    const busy = isBusyError(err);
    return {
      ok: false,
      busy,
      detail: busy
        ? "another process holds the write lock: writes are retried, then answered 503 busy"
        : (err as Error).message,
    };
  } finally {
    db.pragma(`busy_timeout = ${timeout}`);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
