import { hostname } from "node:os";
import type { Command } from "commander";
import type { Config } from "../../config/index.js";
import {
  createOutbox,
  createShipper,
  type OutboxStatus,
  outboxStallLog,
  type ShipStats,
} from "../../edge/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import { type MeterSummary, meterFromConfig } from "../../meter/index.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { integerArg } from "../options.js";
import { renderTable, safeText, toJson } from "../output.js";
import { backfillReporter, backlogOnDisk, stateDirWarnings } from "./meter.js";

const EDGE_ID_RE = /^[A-Za-z0-9._:-]{1,100}$/;

/** The edge meter's id: `--edge-id`, else CREDITGATE_EDGE_ID, else the host name (sanitised). */
export function edgeIdOf(config: Config, flag?: string): string {
  const id =
    flag ??
    config.ship.edgeId ??
    hostname()
      .replace(/[^A-Za-z0-9._:-]/g, "-")
      .slice(0, 100);
  if (!EDGE_ID_RE.test(id))
    throw new AppError(
      ErrorCode.InvalidRequest,
      "--edge-id / CREDITGATE_EDGE_ID: letters, digits and . _ : - only, at most 100",
    );
  return id;
}

function edgeRows(s: MeterSummary, o: OutboxStatus, st: ShipStats): [string, string | number][] {
  return [
    ["state dirs", s.stateDirs],
    ["agents", s.agents],
    ["files read", s.files],
    ["usage lines", s.usageLines],
    ["calls queued", s.billed],
    ["already queued", s.duplicates],
    ["malformed lines", s.malformed],
    ["source failures", s.failures.length],
    ["reading paused (outbox full)", s.paused ? "yes" : "no"],
    ["shipped: billed at the center", st.billed],
    ["shipped: duplicates", st.duplicates],
    ["shipped: held for review at the center", st.held],
    ["dead letters (this run)", st.deadLettered],
    ["push failures", st.failures],
    ["outbox rows waiting", o.rows],
    ["dead letters (all)", o.deadLetters],
    ["last error", st.lastError ? safeText(st.lastError) : "-"],
  ];
}

/**
 * `creditgate meter` as an edge meter (`--ship-to URL[,URL…] --key K`, or CREDITGATE_SHIP_TO /
 * CREDITGATE_SHIP_KEY): read with the meter's sources into the outbox and ship it to the center
 * (several URLs: centers on one database, failed over in order; see createShipper).
 * `--once`: read what is new, ship until the outbox is empty, exit (1 when rows are left because
 * the center could not be reached after a few tries, or a source failed).
 */
export async function runEdgeMeter(
  ctx: CliContext,
  g: GlobalOptions,
  config: Config,
  o: { once?: boolean; urls: string[]; key: string; edgeId?: string },
): Promise<void> {
  const edgeId = edgeIdOf(config, o.edgeId);
  const db = ctx.openDb(config);
  const { log } = ctx.logger(config);
  let shipper: ReturnType<typeof createShipper> | null = null;
  const stall = outboxStallLog(log, config.ship.outboxMax);
  const outbox = createOutbox(db, {
    edgeId,
    maxRows: config.ship.outboxMax,
    onFullChange: (full, rows) => stall.fullChange(full, rows),
  });
  let report: ReturnType<typeof backfillReporter> | null = null;
  const { meter, stateDirs } = meterFromConfig(config, db, {
    log,
    onProgress: (s) => report?.onProgress(s),
    record: (batch) => {
      const r = outbox.record(batch);
      if (r.recorded > 0) shipper?.wake();
      return r;
    },
  });
  shipper = createShipper({
    outbox,
    urls: o.urls,
    key: o.key,
    batchSize: config.ship.batch,
    backoffMs: config.ship.backoffMs,
    backoffMaxMs: config.ship.backoffMaxMs,
    idleMs: Math.max(config.meter.pollMs, 200),
    log,
  });
  for (const w of stateDirWarnings(config.sources, stateDirs)) log("warn", w);
  const backfill = backfillReporter(log, backlogOnDisk(stateDirs, config.sources.agents));
  report = backfill;
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    if (o.once) {
      // Read and ship in turns until reading is done and the outbox is empty (a full outbox
      // pauses reading; shipping makes room).
      let s = await meter.runOnce();
      let drained = await shipper.run(ac.signal, { untilEmpty: true, maxFailures: 5 });
      while (drained && s.paused && !ac.signal.aborted) {
        const next = await meter.runOnce();
        next.billed += s.billed;
        next.duplicates += s.duplicates;
        s = next;
        drained = await shipper.run(ac.signal, { untilEmpty: true, maxFailures: 5 });
      }
      const status = outbox.status();
      if (g.json) ctx.out(toJson({ edgeId, meter: s, ship: shipper.stats, outbox: status }));
      else ctx.out(renderTable(["meter --once --ship-to", "value"], edgeRows(s, status, shipper.stats)));
      if (status.deadLetters > 0)
        ctx.err(
          `warn: ${status.deadLetters} event(s) refused by the center: see \`creditgate outbox --dead\`\n`,
        );
      if (s.failures.length > 0)
        throw new AppError(ErrorCode.UpstreamUnavailable, `${s.failures.length} source problem(s)`);
      if (!drained)
        throw new AppError(
          ErrorCode.UpstreamUnavailable,
          `${status.rows} event(s) still in the outbox: the center did not take them (${shipper.stats.lastError ?? "unknown"}); they ship on the next run`,
        );
      return;
    }
    log("info", "edge meter following; shipping to the center", {
      edgeId,
      centers: o.urls,
      stateDirs: stateDirs.map((d) => d.path),
      outbox: outbox.count(),
    });
    const shipping = shipper.run(ac.signal);
    const total = await meter.follow(ac.signal, (t) => stall.pollDone(t.paused), backfill.done);
    await shipping;
    if (!g.json)
      ctx.out(renderTable(["meter --ship-to", "value"], edgeRows(total, outbox.status(), shipper.stats)));
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    meter.close();
    db.close();
  }
}

export function registerEdgeCommands(program: Command, ctx: CliContext): void {
  const cmd = program
    .command("outbox")
    .description(
      "an edge meter's outbox: calls waiting for the center, and the ones it refused (dead letters)",
    )
    .option("--dead", "list the dead letters (newest first) with the center's reason")
    .option("--limit <n>", "dead letters to list", integerArg(1, 10_000), 50)
    .action((o: { dead?: boolean; limit: number }, c: Command) => {
      const g = c.optsWithGlobals<GlobalOptions>();
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      try {
        const outbox = createOutbox(db, { edgeId: "status", maxRows: config.ship.outboxMax });
        const status = outbox.status();
        const dead = o.dead ? outbox.deadLetters(o.limit) : [];
        if (g.json) return ctx.out(toJson({ ...status, ...(o.dead ? { dead } : {}) }));
        ctx.out(
          renderTable(
            ["outbox", "value"],
            [
              ["rows waiting", status.rows],
              ["max rows (CREDITGATE_OUTBOX_MAX)", status.maxRows],
              ["full (reading paused)", status.full ? "YES" : "no"],
              [
                "oldest waiting since",
                status.oldestCreatedAtMs === null ? "-" : new Date(status.oldestCreatedAtMs).toISOString(),
              ],
              ["last push error", status.lastError ? safeText(status.lastError) : "-"],
              ["dead letters", status.deadLetters],
            ],
          ),
        );
        if (o.dead && dead.length > 0)
          ctx.out(
            renderTable(
              ["id", "status", "reason", "identity", "dead at"],
              dead.map((d) => [
                d.id,
                d.status,
                safeText(d.reason),
                d.dedupe_key,
                new Date(d.dead_at_ms).toISOString(),
              ]),
            ),
          );
      } finally {
        db.close();
      }
    });
  cmd
    .command("retry")
    .description("put dead letters back into the outbox once the cause is fixed at the center")
    .argument("<ids...>", "dead-letter ids (creditgate outbox --dead)")
    .action((ids: string[], _o: unknown, c: Command) => {
      const g = c.optsWithGlobals<GlobalOptions>();
      const nums = ids.map((s) => integerArg(1)(s));
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      try {
        const n = createOutbox(db, { edgeId: "status", maxRows: config.ship.outboxMax }).retryDead(nums);
        if (g.json) ctx.out(toJson({ retried: n }));
        else ctx.out(`${n} dead letter(s) back in the outbox\n`);
      } finally {
        db.close();
      }
    });
}
