import { randomUUID } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Command, Option } from "commander";
import { normalizeAgentId } from "../../agent-id.js";
import { markupWarnings } from "../../config/index.js";
import {
  assertAccountId,
  createLedger,
  GRANT_KINDS,
  type GrantKind,
  MAX_GRANT_PRIORITY,
  parseExpiry,
} from "../../credits/index.js";
import { isPostgresUrl } from "../../db/index.js";
import { parseShipTo } from "../../edge/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import {
  agentFilterOf,
  GROUP_BY,
  type GroupBy,
  HOME_STATE_DIRS,
  heldSummary,
  listAgents,
  loadPriceOverrides,
  type MeterSummary,
  meterFromConfig,
  parseTimeArg,
  parseUntilArg,
  queryUsageWithHeld,
  readRegularFile,
  type StateDir,
  sinceIsNowProblem,
  type UsageRowWithHeld,
} from "../../meter/index.js";
import { formatMicroCredits, formatPicoUsd, formatScaled, toMicroCredits } from "../../money.js";
import { userArg } from "../account-arg.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { creditsArg, integerArg, refuseEmptyFlags } from "../options.js";
import { jsonChunks, type Log, renderTable, safeText, tableChunks, toJson } from "../output.js";

/**
 * The usage table's cost cell: the exact amount (at least 2 decimals), as `report`'s table shows
 * it. Before 2026-12-03 it was `costMicros` (rounded to a micro-USD), so a group that cost
 * $0.0000004 read `$0.00` beside its charge and $0.0000015 read `$0.000002`.
 */
const fmtPicoUsdCell = (pico: string) => `$${formatScaled(BigInt(pico), 12, 2)}`;

/**
 * A "held" cell: the count and the computed cost of the priced held calls, and how many have no
 * price (`review release --cost-usd` prices them): `0`, `2 ($0.05)`, `1 (not priced)`,
 * `3 ($0.05 + 1 not priced)`. Used by `usage`'s held column and `meter`'s held row; before
 * 2026-12-04 an unpriced held call read as "$0" in both.
 */
export function heldText(held: number, costUsd: string, unpriced: number): string | number {
  if (!held) return 0;
  if (unpriced === 0) return `${held} ($${costUsd})`;
  if (unpriced === held) return `${held} (not priced)`;
  return `${held} ($${costUsd} + ${unpriced} not priced)`;
}

/** A usage row's "held" cell ({@link heldText}). */
export const heldCell = (r: UsageRowWithHeld): string | number =>
  heldText(r.heldRequests, r.heldCostUsd, r.heldUnpricedRequests);

function summaryRows(s: MeterSummary): [string, string | number][] {
  return [
    ["state dirs", s.stateDirs],
    ["agents", s.agents],
    ["files read", s.files],
    ["bytes read", s.bytes],
    ["lines", s.lines],
    ["usage lines", s.usageLines],
    ["events billed", s.billed],
    ["duplicates skipped", s.duplicates],
    ["malformed lines", s.malformed],
    ["synthetic lines skipped", s.synthetic],
    ["zero-usage lines skipped", s.zeroUsage],
    ["transcripts re-read (changed under the cursor)", s.rescans],
    ["calls with a negative token count, billed as 0", s.clamped],
    ["unknown models", s.unknownModels.length ? s.unknownModels.join(", ") : 0],
    ["calls without a session (billed to the agent)", s.unattributedCalls],
    ["held for review", heldText(s.held, formatPicoUsd(BigInt(s.heldCostPicoUsd)), s.heldUnpriced)],
    ["source failures", s.failures.length],
    ["charged (credits)", formatMicroCredits(s.chargedMicroCredits)],
    ["elapsed (ms)", s.elapsedMs],
  ];
}

/**
 * Per-user billing needs OpenClaw's `session.dmScope` set to a per-peer mode; under the
 * default `main` every DM shares the operator's session and is billed to the agent.
 */
export function dmScopeWarnings(stateDirs: readonly StateDir[]): string[] {
  const warnings: string[] = [];
  for (const sd of stateDirs) {
    for (const file of ["openclaw.json", "clawdbot.json", "moltbot.json"]) {
      let text: string;
      try {
        text = readRegularFile(join(sd.path, file)).toString("utf8"); // a FIFO is never waited on
      } catch {
        continue;
      }
      const m = /["']?dmScope["']?\s*:\s*["']([^"']+)["']/.exec(text);
      const scope = m?.[1] ?? "main";
      if (scope === "main") {
        warnings.push(
          `${join(sd.path, file)}: session.dmScope is "${scope}": every DM shares the operator's session and is billed to the agent, not the user. Set session.dmScope to "per-channel-peer".`,
        );
      }
    }
  }
  return warnings;
}

/**
 * What an operator must hear before billing starts: no state dir found (and where it looked), a
 * state dir that does not exist (yet) or has no `agents/`, and a `session.dmScope` of `main`.
 * Used by `meter` and `start` alike. `following` (default true): the caller watches for a missing
 * state dir to appear; `meter --once` passes false, and hears that nothing was billed from it.
 */
export function stateDirWarnings(
  sources: {
    explicitStateDirs: readonly string[] | null;
    openclawStateDir: string | null;
    clawdbotStateDir: string | null;
    moltbotStateDir: string | null;
    home: string | null;
    agents?: readonly string[] | null;
  },
  stateDirs: readonly StateDir[],
  following = true,
): string[] {
  if (stateDirs.length === 0) {
    const looked = [
      ...(sources.openclawStateDir ? [sources.openclawStateDir] : []),
      ...(sources.clawdbotStateDir ? [sources.clawdbotStateDir] : []),
      ...(sources.moltbotStateDir ? [sources.moltbotStateDir] : []),
      ...(sources.home
        ? [...HOME_STATE_DIRS, ".openclaw-<profile>"].map((d) => join(sources.home ?? "", d))
        : []),
    ];
    return [
      `no OpenClaw state dir found (looked at ${looked.join(", ") || "nothing: HOME is not set"}); set CREDITGATE_STATE_DIRS or OPENCLAW_STATE_DIR, or pass --state-dir`,
    ];
  }
  const warnings: string[] = [];
  for (const sd of stateDirs) {
    if (!existsSync(sd.path)) {
      warnings.push(
        following
          ? `state dir ${sd.path} (from ${sd.via}) does not exist: nothing to bill there until it appears (it is watched)`
          : `state dir ${sd.path} (from ${sd.via}) does not exist: nothing billed from it (check the path)`,
      );
      continue;
    }
    const agents = join(sd.path, "agents");
    let isDir = false;
    try {
      isDir = statSync(agents).isDirectory();
    } catch {}
    if (!isDir) {
      warnings.push(
        `state dir ${sd.path} (from ${sd.via}) has no agents/ directory: is it an OpenClaw state dir? (transcripts are read from ${join(agents, "<agent>", "sessions")})`,
      );
      continue;
    }
    if (readdirSync(agents).filter((n) => !n.startsWith(".")).length === 0)
      warnings.push(`state dir ${sd.path} (from ${sd.via}): ${agents} has no agents yet`);
  }
  return [
    ...warnings,
    ...agentFilterWarnings(sources.agents ?? null, stateDirs, following),
    ...dmScopeWarnings(stateDirs),
  ];
}

/**
 * `CREDITGATE_AGENTS` naming an agent no state dir has (a typo, `mian`): nothing of it is billed,
 * which before 2026-12-05 went without a word (exit 0, 0 billed). Names the agents there are.
 */
function agentFilterWarnings(
  filter: readonly string[] | null,
  stateDirs: readonly StateDir[],
  following: boolean,
): string[] {
  if (!filter || stateDirs.length === 0) return [];
  const present = new Set(
    stateDirs.flatMap((sd) => listAgents(sd.path, null).map((a) => normalizeAgentId(a.agentId))),
  );
  const missing = filter.filter((a) => !present.has(normalizeAgentId(a)));
  if (missing.length === 0) return [];
  const there = [...present].sort().join(", ") || "none";
  return [
    `CREDITGATE_AGENTS names ${missing.map((a) => `"${a}"`).join(", ")}, which no state dir has (agents there: ${there}): ${following ? "nothing is billed from it until its folder appears" : "nothing billed from it"}`,
  ];
}

/**
 * What a backfill has ahead of it, roughly: agents, and bytes of transcript files on disk (JSONL,
 * archives, OpenClaw's SQLite store) under each agent's `sessions/` and `agent/`. Compressed
 * archives and database pages are not the bytes the meter reports as read: a scale, not a
 * percentage.
 */
export function backlogOnDisk(stateDirs: readonly StateDir[], agents: readonly string[] | null) {
  let files = 0;
  let bytes = 0;
  let agentCount = 0;
  for (const sd of stateDirs) {
    for (const a of listAgents(sd.path, agentFilterOf(sd, agents))) {
      agentCount++;
      for (const sub of ["sessions", "agent"]) {
        const walk = (dir: string, depth: number) => {
          let names: string[];
          try {
            names = readdirSync(dir);
          } catch {
            return;
          }
          for (const n of names) {
            const p = join(dir, n);
            try {
              const st = statSync(p);
              if (st.isDirectory()) {
                if (depth < 2) walk(p, depth + 1);
              } else if (/\.(jsonl|sqlite|zst)|\.jsonl\./.test(n)) {
                files++;
                bytes += st.size;
              }
            } catch {}
          }
        };
        walk(join(a.agentDir, sub), 0);
      }
    }
  }
  return { agents: agentCount, files, mbOnDisk: Number((bytes / 1e6).toFixed(1)) };
}

/**
 * Progress of a backfill for a long-running command: `onProgress` (the meter calls it about once a
 * second while it reads) logs what is done so far; `done` logs the summary once the backlog is read.
 */
export function backfillReporter(
  log: Log,
  ahead: ReturnType<typeof backlogOnDisk> | null = null,
  nowMs: () => number = Date.now,
) {
  const started = nowMs();
  if (ahead) log("info", "backfill: reading what the transcripts hold", ahead);
  const fields = (s: MeterSummary) => ({
    files: s.files,
    mb: Number((s.bytes / 1e6).toFixed(1)),
    calls: s.usageLines,
    billed: s.billed,
    duplicates: s.duplicates,
    credits: formatMicroCredits(s.chargedMicroCredits),
  });
  let finished = false;
  return {
    onProgress(s: MeterSummary): void {
      if (!finished)
        log("info", "backfill: reading", { ...fields(s), seconds: Math.round((nowMs() - started) / 1000) });
    },
    done(s: MeterSummary): void {
      if (finished) return;
      finished = true;
      log("info", "backfill done: following new lines", {
        agents: s.agents,
        ...fields(s),
        malformed: s.malformed,
        unknownModels: s.unknownModels.length,
        seconds: Math.round((nowMs() - started) / 1000),
      });
      if (s.unattributedCalls > 0)
        log("warn", "calls without a session key were billed to the agent's own account", {
          calls: s.unattributedCalls,
          why: "sessions reset or deleted before creditgate first ran (see README Known limits), or keyless runs",
        });
    },
  };
}

export function registerMeterCommands(program: Command, ctx: CliContext): void {
  program
    .command("meter")
    .description("bill new model usage from OpenClaw transcripts; follows new lines until stopped")
    .option("--once", "ingest everything new, print a summary and exit (for cron and tests)")
    .option(
      "--ship-to <url>",
      "edge meter: ship every call read here to this central creditgate (POST /v1/usage) instead of billing locally; several centers on one database: comma-separated, the edge fails over in order (CREDITGATE_SHIP_TO)",
    )
    .option("--key <key>", "the center's API key for --ship-to, scope push (CREDITGATE_SHIP_KEY)")
    .option(
      "--edge-id <id>",
      "this edge meter's id, stored on the center's usage rows (CREDITGATE_EDGE_ID; default: host name)",
    )
    .action(
      async (opts: { once?: boolean; shipTo?: string; key?: string; edgeId?: string }, cmd: Command) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const config = ctx.config(g);
        // The meter (local or edge) keeps cursors, and an edge its outbox, in a SQLite file next
        // to the transcripts; a PostgreSQL center gets usage by push from edge meters.
        if (isPostgresUrl(config.dbPath))
          throw new AppError(
            ErrorCode.InvalidConfig,
            "CREDITGATE_DB: the meter needs a SQLite file, not a PostgreSQL URL (on a bot host run `creditgate meter --ship-to <center>` with a local CREDITGATE_DB; the center on PostgreSQL gets usage by push: docs/topology.md)",
          );
        const shipTo = opts.shipTo ?? config.ship.to;
        if (shipTo || opts.key) {
          const key = opts.key ?? config.ship.key;
          if (!shipTo || !key)
            throw new AppError(
              ErrorCode.InvalidRequest,
              "an edge meter needs both --ship-to (CREDITGATE_SHIP_TO) and --key (CREDITGATE_SHIP_KEY)",
            );
          let urls: string[];
          try {
            urls = parseShipTo(shipTo);
          } catch (err) {
            throw new AppError(ErrorCode.InvalidRequest, `--ship-to: ${(err as Error).message}`);
          }
          const { runEdgeMeter } = await import("./edge.js");
          return runEdgeMeter(ctx, g, config, {
            urls,
            key,
            ...(opts.once ? { once: true } : {}),
            ...(opts.edgeId ? { edgeId: opts.edgeId } : {}),
          });
        }
        // A bad CREDITGATE_PRICES file is refused before the database is opened: before 2026-12-04
        // the refusal (exit 78) came after, leaving an empty database at a new --db path.
        loadPriceOverrides(config.pricing.overridesPath);
        const db = ctx.openDb(config);
        const { log } = ctx.logger(config);
        let report: ReturnType<typeof backfillReporter> | null = null;
        const { meter, stateDirs } = meterFromConfig(config, db, {
          log,
          onProgress: (s) => report?.onProgress(s),
        });
        for (const w of stateDirWarnings(config.sources, stateDirs, !opts.once)) log("warn", w);
        // a markup under 1 or a percentage typed as a multiplier: said by every process that bills
        for (const w of markupWarnings(config.pricing.markup)) log("warn", w);
        const backfill = backfillReporter(log, backlogOnDisk(stateDirs, config.sources.agents));
        report = backfill;
        try {
          if (opts.once) {
            const s = await meter.runOnce();
            const queue = heldSummary(db);
            if (g.json)
              ctx.out(
                toJson({
                  ...s,
                  heldCostUsd: formatPicoUsd(BigInt(s.heldCostPicoUsd)),
                  reviewQueue: queue,
                  stateDirPaths: stateDirs.map((d) => d.path),
                }),
              );
            else {
              ctx.out(
                `state dirs: ${safeText(stateDirs.map((d) => `${d.path} (${d.via})`).join(", ")) || "none"}\n`,
              );
              ctx.out(renderTable(["meter --once", "value"], summaryRows(s)));
            }
            if (queue.held > 0)
              ctx.err(
                `warn: ${queue.held} model call(s) ($${queue.heldCostUsd}${queue.unpriced > 0 ? `; ${queue.unpriced} not priced` : ""}) held for review, not billed: see \`creditgate review\`\n`,
              );
            if (s.failures.length > 0) {
              for (const f of s.failures)
                ctx.err(`error: ${f.source} ${safeText(f.path)}: ${f.code}: ${safeText(f.reason)}\n`);
              throw new AppError(
                ErrorCode.UpstreamUnavailable,
                `${s.failures.length} source problem(s): ${[...new Set(s.failures.map((f) => f.source))].join(", ")} (retried on the next run)`,
              );
            }
            return;
          }
          log("info", "following; Ctrl-C to stop", { stateDirs: stateDirs.map((d) => d.path) });
          const ac = new AbortController();
          const stop = () => ac.abort();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
          let last = 0;
          const total = await meter.follow(
            ac.signal,
            (s) => {
              if (s.billed !== last) {
                if (g.json) ctx.out(`${JSON.stringify({ billed: s.billed, duplicates: s.duplicates })}\n`);
                else log("info", "billed new events", { events: s.billed - last, total: s.billed });
                last = s.billed;
              }
            },
            backfill.done,
          );
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          if (!g.json) ctx.out(renderTable(["meter", "value"], summaryRows(total)));
        } finally {
          meter.close();
          db.close();
        }
      },
    );

  program
    .command("balance")
    .description("show a user's (or agent's) balance")
    .argument("<user>", "account id, e.g. telegram:123456 or agent:main")
    .action((given: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      assertAccountId(given);
      const config = ctx.config(g);
      const db = ctx.openDb(config, { existing: true });
      try {
        const user = userArg(ctx, db, given, { quietNew: true }).accountId;
        const b = createLedger(db).balance(user);
        const micro = b?.balanceMicroCredits ?? 0;
        const result = {
          accountId: user,
          exists: b !== null,
          balanceMicroCredits: micro,
          balanceCredits: formatMicroCredits(micro),
          overdrawn: micro < 0,
        };
        if (g.json) ctx.out(toJson(result));
        else
          ctx.out(
            renderTable(
              ["account", "balance (credits)", "status"],
              [
                [
                  user,
                  result.balanceCredits,
                  b === null ? "no activity yet" : micro < 0 ? "OVERDRAWN" : "ok",
                ],
              ],
            ),
          );
      } finally {
        db.close();
      }
    });

  program
    .command("usage")
    .description("usage and charges, grouped")
    .option("--user <user>", "only this account")
    .option("--agent <agent>", "only this agent")
    .option("--model <model>", "only this model (provider/model or model)")
    .option("--since <time>", "from (ISO date/time, today, 7d, 12h)")
    .option(
      "--until <time>",
      "until: a date (YYYY-MM-DD, today) is included (through its UTC end); a date-time or 7d/12h is exclusive",
    )
    .addOption(new Option("--by <group>", "group by").choices([...GROUP_BY]).default("user"))
    .action(
      (
        o: { user?: string; agent?: string; model?: string; since?: string; until?: string; by: GroupBy },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const nowMs = ctx.nowMs();
        let sinceMs: number | undefined;
        let untilMs: number | undefined;
        refuseEmptyFlags({ user: o.user, agent: o.agent, model: o.model, since: o.since, until: o.until });
        // `--since 0d` is now: an empty table with exit 0, read as "nothing billed", while `report
        // --last 0d` is refused (a tester, 2026-12-04); refused the same way
        const sinceIsNow = o.since === undefined ? null : sinceIsNowProblem(o.since);
        if (sinceIsNow !== null) throw new AppError(ErrorCode.InvalidRequest, `--since: ${sinceIsNow}`);
        try {
          sinceMs = o.since ? parseTimeArg(o.since, nowMs) : undefined;
          untilMs = o.until ? parseUntilArg(o.until, nowMs) : undefined;
        } catch (err) {
          throw new AppError(ErrorCode.InvalidRequest, (err as Error).message);
        }
        // Swapped bounds (`--since 7d --until 30d`: 7 days ago until 30 days ago) printed an empty
        // table with exit 0, read as "nothing billed"; `report --from/--to` refuses them (2026-12-04).
        if (sinceMs !== undefined && untilMs !== undefined && sinceMs >= untilMs)
          throw new AppError(
            ErrorCode.InvalidRequest,
            `the range is empty: --since (${new Date(sinceMs).toISOString()}) is not before --until (${new Date(untilMs).toISOString()})`,
          );
        const config = ctx.config(g);
        const db = ctx.openDb(config, { existing: true });
        try {
          // Calls held for review are not in usage_events: shown per group, never hidden.
          const withHeld = queryUsageWithHeld(db, {
            user: o.user === undefined ? undefined : userArg(ctx, db, o.user).accountId,
            agent: o.agent,
            model: o.model,
            sinceMs,
            untilMs,
            by: o.by,
          });
          const heldTotal = withHeld.reduce((n, r) => n + r.heldRequests, 0);
          // (written in pieces: at 100k users the answer is ~80k rows, a 50 MB JSON text)
          if (g.json) {
            for (const piece of jsonChunks(withHeld)) ctx.out(piece);
            if (heldTotal > 0)
              ctx.err(`warn: ${heldTotal} model call(s) held for review (creditgate review)\n`);
            return;
          }
          // Provider-billed calls: how far the billed amount is from the list (override/table) price.
          const billed = withHeld.some((r) => r.providerBilledRequests > 0);
          for (const piece of tableChunks(
            [
              o.by,
              "requests",
              "errors",
              "input",
              "output",
              "cacheRead",
              "cacheWrite",
              "cost (USD)",
              "charged",
              ...(billed ? ["provider-billed", "billed - list (USD)"] : []),
              "held",
            ],
            withHeld.map((r) => [
              r.key,
              r.requests,
              r.errors,
              r.input,
              r.output,
              r.cacheRead,
              r.cacheWrite,
              fmtPicoUsdCell(r.costPicoUsd),
              formatMicroCredits(r.chargedMicros),
              ...(billed
                ? [r.providerBilledRequests, r.providerBilledRequests ? r.providerBilledDiffUsd : ""]
                : []),
              heldCell(r),
            ]),
          ))
            ctx.out(piece);
          const unknown = withHeld.reduce((n, r) => n + r.unknownModelRequests, 0);
          const atFallback = withHeld.reduce((n, r) => n + r.fallbackPricedRequests, 0);
          if (atFallback > 0)
            ctx.err(`warn: ${atFallback} request(s) of unknown models priced at the fallback price\n`);
          if (unknown - atFallback > 0)
            ctx.err(
              `warn: ${unknown - atFallback} request(s) of unknown models priced at their recorded cost\n`,
            );
          if (heldTotal > 0)
            ctx.err(
              `warn: ${heldTotal} model call(s) held for review, not billed: see \`creditgate review\`\n`,
            );
        } finally {
          db.close();
        }
      },
    );

  program
    .command("grant")
    .description("credit a user's balance (operator grant; see docs/grants.md)")
    .argument("<user>", "account id, e.g. telegram:123456")
    .argument("<credits>", "credits to add, e.g. 5 or 2.5")
    .requiredOption("--reason <text>", "why (kept in the ledger)")
    .option("--key <key>", "idempotency key: the same key grants once")
    .addOption(
      new Option("--kind <kind>", "grant kind (burn order and /consumo)")
        .choices([...GRANT_KINDS])
        .default("promotional"),
    )
    .option("--expires <when>", "the unused rest expires: 30d, 12h, 2026-12-30 (UTC) or an ISO time")
    .option(
      "--priority <n>",
      `burns before grants with a higher number (same expiry); 0-${MAX_GRANT_PRIORITY} (default by kind: promotional 10, refund-credit 20, paid 30)`,
      integerArg(0, MAX_GRANT_PRIORITY),
    )
    .action(
      (
        given: string,
        credits: string,
        o: { reason: string; key?: string; kind: GrantKind; expires?: string; priority?: number },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        assertAccountId(given);
        const micro = creditsArg("credits", credits);
        // As POST /v1/users/:id/grants: before 2026-12-04 `--reason ""` (an unset shell variable)
        // put a grant with no reason in the ledger.
        const reason = o.reason.trim();
        if (reason === "" || reason.length > 500)
          throw new AppError(
            ErrorCode.InvalidRequest,
            `--reason: ${reason === "" ? "must not be empty" : "at most 500 characters"} (kept in the ledger)`,
          );
        const nowMs = ctx.nowMs();
        const expiresAtMs = o.expires === undefined ? null : parseExpiry(o.expires, nowMs);
        const config = ctx.config(g);
        const db = ctx.openDb(config);
        try {
          // the account the meter bills (`slack:U07ABC` → `slack:u07abc`), never a second one
          const user = userArg(ctx, db, given).accountId;
          // Past ±2^53 micro-credits the ledger refuses with one line (invalid_request): nothing granted.
          const ledger = createLedger(db);
          const r = ledger.post({
            accountId: user,
            kind: "grant",
            amountMicroCredits: micro,
            idempotencyKey: `grant:${o.key ?? randomUUID()}`,
            reason,
            nowMs,
            grant: {
              kind: o.kind,
              expiresAtMs,
              ...(o.priority === undefined ? {} : { priority: o.priority }),
            },
          });
          const made = r.status === "applied" ? r.split : null;
          // A duplicate reports the grant the key made first (id, kind, expiry), not this call's options.
          const first = r.status === "duplicate" ? r.grant : null;
          const out = {
            accountId: user,
            status: r.status,
            grantedMicroCredits: toMicroCredits(micro),
            grantId: made?.grantId ?? first?.id ?? null,
            kind: first?.kind ?? o.kind,
            expiresAtMs: first ? first.expiresAtMs : expiresAtMs,
            debtPaidMicroCredits: made ? toMicroCredits(made.debtMicroCredits) : 0,
            balanceMicroCredits: r.balanceMicroCredits,
            balanceCredits: formatMicroCredits(r.balanceMicroCredits),
          };
          if (g.json) ctx.out(toJson(out));
          else {
            const exp =
              out.expiresAtMs === null ? "" : `, expires ${new Date(out.expiresAtMs).toISOString()}`;
            const debt =
              out.debtPaidMicroCredits > 0
                ? `; ${formatMicroCredits(out.debtPaidMicroCredits)} of it paid earlier debt`
                : "";
            const what = out.grantId === null ? "" : ` (${out.kind} grant #${out.grantId}${exp}${debt})`;
            ctx.out(
              `${r.status === "applied" ? "granted" : "already granted (same --key)"} ${formatMicroCredits(micro)} credits to ${safeText(user)}; balance ${out.balanceCredits}${what}\n`,
            );
          }
        } finally {
          db.close();
        }
      },
    );

  program
    .command("grants")
    .description("a user's grants (paid, promotional, refund-credit): remaining, expiry, state")
    .argument("<user>", "account id, e.g. telegram:123456")
    .option("--limit <n>", "newest grants to show", integerArg(1, 10_000), 50)
    .action((given: string, o: { limit: number }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      assertAccountId(given);
      const config = ctx.config(g);
      const db = ctx.openDb(config, { existing: true });
      try {
        const user = userArg(ctx, db, given).accountId;
        const ledger = createLedger(db);
        const grants = ledger.grants(user, o.limit);
        const summary = ledger.summary(user, ctx.nowMs());
        if (g.json) {
          ctx.out(toJson({ accountId: user, summary, grants }));
          return;
        }
        const iso = (ms: number | null) =>
          ms === null ? "never" : new Date(ms).toISOString().slice(0, 16).replace("T", " ");
        ctx.out(
          renderTable(
            ["id", "kind", "granted", "remaining", "priority", "expires (UTC)", "state", "created (UTC)"],
            grants.map((x) => [
              x.id,
              x.kind,
              formatMicroCredits(x.grantedMicroCredits),
              formatMicroCredits(x.remainingMicroCredits),
              x.priority,
              iso(x.expiresAtMs),
              x.state === "live" && x.remainingMicroCredits === 0 ? "used up" : x.state,
              iso(x.createdAtMs),
            ]),
          ),
        );
        ctx.out(
          `paid ${formatMicroCredits(summary.paidMicroCredits)} + promotional ${formatMicroCredits(summary.promotionalMicroCredits)} + refund credit ${formatMicroCredits(summary.refundCreditMicroCredits)}; debt ${formatMicroCredits(summary.debtMicroCredits)}${summary.nextExpiry ? `; ${formatMicroCredits(summary.nextExpiry.microCredits)} expire ${iso(summary.nextExpiry.atMs)}` : ""}\n`,
        );
      } finally {
        db.close();
      }
    });

  program
    .command("expire")
    .description(
      "expire grants whose time has come (one `expiry` ledger entry each, exactly once) and warn users of grants expiring soon; the worker does this every minute",
    )
    .action(async (_o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      try {
        const l = await import("../../limits/index.js");
        const enforcer = l.createEnforcer(db, l.workerSettingsFromConfig(config));
        const r = l.runGrantExpiry(db, enforcer, ctx.nowMs());
        if (g.json) ctx.out(toJson(r));
        else
          ctx.out(
            renderTable(
              ["expiry", "value"],
              [
                ["grants expired", r.expired],
                ["credits expired", formatMicroCredits(r.expiredMicroCredits)],
                ["users warned of an upcoming expiry", r.warned],
              ],
            ),
          );
      } finally {
        db.close();
      }
    });
}
