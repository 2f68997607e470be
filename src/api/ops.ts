import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Db } from "../db/index.js";
import { heldSummary, type SourceHealth, sourceHealth } from "../meter/index.js";

/** Optional probes the entrypoint wires when Redis is configured (`creditgate start`/`serve`). */
export interface OpsProbes {
  /** Resolves when Redis answers PING; rejects otherwise. */
  redisPing?: () => Promise<void>;
  /** BullMQ job counts per queue and state, e.g. `{checks: {waiting: 3, active: 1}}`. */
  queueCounts?: () => Promise<Record<string, Record<string, number>>>;
  /**
   * Transcript source problems (meter/health.ts). @defaultValue the process-wide registry, which
   * the meter running in this process (`creditgate start`) writes.
   */
  sourceHealth?: SourceHealth;
}

export interface Metrics {
  registry: Registry;
  pushEvents: Counter<"status">;
  httpDuration: Histogram<"method" | "route" | "status">;
}

/**
 * Prometheus metrics. Database-backed series (events billed per source, webhook outcomes,
 * cursor ages) are read at scrape time, so they are right whichever process billed; the
 * registry is per app (tests build many apps). `registry` is exposed so other parts (e.g. the
 * worker's RPC client) can register their own series, such as RPC latency, into it.
 */
export function createMetrics(db: Db, probes: OpsProbes, nowMs: () => number): Metrics {
  const registry = new Registry();
  const bySource = db.prepare<[], { source: string; n: number }>(
    "SELECT source, COUNT(*) AS n FROM usage_events GROUP BY source",
  );
  new Gauge({
    name: "creditgate_usage_events",
    help: "Usage events billed (rows in usage_events), by source",
    labelNames: ["source"],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of bySource.all()) this.set({ source: r.source }, r.n);
    },
  });
  const lag = db.prepare<[], { source: string; at: number | null }>(
    `SELECT 'jsonl' AS source, MAX(updated_at_ms) AS at FROM meter_file_cursors
     UNION ALL SELECT 'sqlite', MAX(updated_at_ms) FROM meter_sqlite_cursors
     UNION ALL SELECT 'push', MAX(created_at_ms) FROM usage_events WHERE source = 'push'`,
  );
  new Gauge({
    name: "creditgate_meter_last_progress_age_seconds",
    help: "Seconds since the newest cursor move (jsonl, sqlite) or pushed event (push); absent when never",
    labelNames: ["source"],
    registers: [registry],
    collect() {
      this.reset();
      const now = nowMs();
      for (const r of lag.all()) if (r.at !== null) this.set({ source: r.source }, (now - r.at) / 1000);
    },
  });
  const outcomes = db.prepare<[], { provider: string; outcome: string; n: number }>(
    "SELECT provider, outcome, COUNT(*) AS n FROM provider_events GROUP BY provider, outcome",
  );
  new Gauge({
    name: "creditgate_webhook_events",
    help: "Verified payment-provider webhook events stored, by provider and outcome",
    labelNames: ["provider", "outcome"],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of outcomes.all()) this.set({ provider: r.provider, outcome: r.outcome }, r.n);
    },
  });
  const outbox = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM limit_outbox WHERE seq > sent_seq");
  new Gauge({
    name: "creditgate_queue_depth",
    help: "Jobs per queue and state (BullMQ, when Redis is configured), plus the SQLite limit outbox backlog",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      this.set({ queue: "limit_outbox", state: "pending" }, outbox.get()?.n ?? 0);
      if (!probes.queueCounts) return;
      try {
        const counts = await probes.queueCounts();
        for (const [queue, states] of Object.entries(counts)) {
          for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
        }
      } catch {
        // Redis down: /readyz reports it; the scrape still succeeds with the SQLite series.
      }
    },
  });
  const health = probes.sourceHealth ?? sourceHealth;
  new Counter({
    name: "creditgate_meter_source_failures_total",
    help: "Transcript source problems that appeared (unreadable file or dir, locked or corrupt store, billing DB failure), by source kind and code",
    labelNames: ["kind", "code"],
    registers: [registry],
    collect() {
      this.reset();
      for (const a of health.appeared()) this.inc({ kind: a.kind, code: a.code }, a.count);
    },
  });
  new Counter({
    name: "creditgate_meter_rescans_total",
    help: "Transcripts re-read from their start because they changed under the meter's cursor (rewritten, truncated, restored from a backup; already-billed calls are skipped as duplicates), by source kind",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of health.rescans()) this.inc({ kind: r.kind }, r.count);
    },
  });
  new Gauge({
    name: "creditgate_meter_sources_failing",
    help: "Transcript source problems current now (each source's last poll); /readyz is degraded while > 0",
    registers: [registry],
    collect() {
      this.set(health.failing().length);
    },
  });
  const rejectedLines = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM meter_rejects");
  new Gauge({
    name: "creditgate_meter_rejected_lines",
    help: "Malformed transcript lines located in meter_rejects (path@offset and reason, never content), not billed",
    registers: [registry],
    collect() {
      this.set(rejectedLines.get()?.n ?? 0);
    },
  });
  new Gauge({
    name: "creditgate_review_held",
    help: "Model calls held for the operator's review (creditgate review), not billed",
    registers: [registry],
    collect() {
      this.set(heldSummary(db).held);
    },
  });
  new Gauge({
    name: "creditgate_review_held_cost_usd",
    help: "Computed provider cost of the calls held for review, USD (the priced ones: see creditgate_review_held_unpriced)",
    registers: [registry],
    collect() {
      this.set(Number(heldSummary(db).heldCostUsd));
    },
  });
  new Gauge({
    name: "creditgate_review_held_unpriced",
    help: "Calls held for review with no computed cost (release with --cost-usd), not in creditgate_review_held_cost_usd",
    registers: [registry],
    collect() {
      this.set(heldSummary(db).unpriced);
    },
  });
  const pushEvents = new Counter({
    name: "creditgate_push_events_total",
    help: "Events received by POST /v1/usage, by result",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "creditgate_http_request_duration_seconds",
    help: "HTTP request latency by route template",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, pushEvents, httpDuration };
}

/**
 * Observes every routed request's duration into `metrics.httpDuration` (method, route pattern,
 * status). Installed on the root instance so every route plugin is measured; 404s are not (their
 * URLs would be unbounded label values).
 */
export function observeRequests(app: FastifyInstance, metrics: Metrics): void {
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url;
    if (!route) return; // 404s: unbounded label values
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}
