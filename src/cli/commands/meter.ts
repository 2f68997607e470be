import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Command, Option } from "commander";
import { assertAccountId, createLedger } from "../../credits/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import {
  GROUP_BY,
  type GroupBy,
  heldSummary,
  type MeterSummary,
  meterFromConfig,
  parseTimeArg,
  queryUsageWithHeld,
  type StateDir,
} from "../../meter/index.js";
import { formatMicroCredits, formatPicoUsd, formatScaled, parseCreditsToMicro } from "../../money.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { createStderrLog, renderTable, safeText, toJson } from "../output.js";

const fmtMicroUsd = (m: number) => `$${formatScaled(BigInt(m), 6, 2)}`;

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
    ["unknown models", s.unknownModels.length ? s.unknownModels.join(", ") : 0],
    ["held for review", s.held ? `${s.held} ($${formatPicoUsd(BigInt(s.heldCostPicoUsd))})` : 0],
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
        text = readFileSync(join(sd.path, file), "utf8");
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

export function registerMeterCommands(program: Command, ctx: CliContext): void {
  program
    .command("meter")
    .description("bill new model usage from OpenClaw transcripts; follows new lines until stopped")
    .option("--once", "ingest everything new, print a summary and exit (for cron and tests)")
    .action(async (opts: { once?: boolean }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      const log = createStderrLog(ctx.err, config.logLevel);
      const progress = (s: MeterSummary) => {
        if (!g.json)
          ctx.err(`… ${(s.bytes / 1e6).toFixed(1)} MB read, ${s.billed} events billed, ${s.files} files\n`);
      };
      const { meter, stateDirs } = meterFromConfig(config, db, { log, onProgress: progress });
      if (stateDirs.length === 0) {
        ctx.err(
          "warn: no OpenClaw state dir found (set CREDITGATE_STATE_DIRS or OPENCLAW_STATE_DIR, or --state-dir)\n",
        );
      }
      for (const w of dmScopeWarnings(stateDirs)) ctx.err(`warn: ${w}\n`);
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
              `warn: ${queue.held} model call(s) ($${queue.heldCostUsd}) held for review, not billed: see \`creditgate review\`\n`,
            );
          if (s.failures.length > 0) {
            for (const f of s.failures) ctx.err(`error: ${f.source} ${f.path}: ${f.code}: ${f.reason}\n`);
            throw new AppError(
              ErrorCode.UpstreamUnavailable,
              `${s.failures.length} source problem(s): ${[...new Set(s.failures.map((f) => f.source))].join(", ")} (retried on the next run)`,
            );
          }
          return;
        }
        ctx.err(
          `following ${safeText(stateDirs.map((d) => d.path).join(", ")) || "(nothing yet)"}; Ctrl-C to stop\n`,
        );
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        let last = 0;
        const total = await meter.follow(ac.signal, (s) => {
          if (s.billed !== last) {
            if (g.json) ctx.out(`${JSON.stringify({ billed: s.billed, duplicates: s.duplicates })}\n`);
            else ctx.err(`billed ${s.billed - last} new event(s) (total ${s.billed})\n`);
            last = s.billed;
          }
        });
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        if (!g.json) ctx.out(renderTable(["meter", "value"], summaryRows(total)));
      } finally {
        meter.close();
        db.close();
      }
    });

  program
    .command("balance")
    .description("show a user's (or agent's) balance")
    .argument("<user>", "account id, e.g. telegram:123456 or agent:main")
    .action((user: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      assertAccountId(user);
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      try {
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
    .option("--until <time>", "until, exclusive")
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
        try {
          sinceMs = o.since ? parseTimeArg(o.since, nowMs) : undefined;
          untilMs = o.until ? parseTimeArg(o.until, nowMs) : undefined;
        } catch (err) {
          throw new AppError(ErrorCode.InvalidRequest, (err as Error).message);
        }
        const config = ctx.config(g);
        const db = ctx.openDb(config);
        try {
          // Calls held for review are not in usage_events: shown per group, never hidden.
          const withHeld = queryUsageWithHeld(db, {
            user: o.user,
            agent: o.agent,
            model: o.model,
            sinceMs,
            untilMs,
            by: o.by,
          });
          const heldTotal = withHeld.reduce((n, r) => n + r.heldRequests, 0);
          if (g.json) {
            ctx.out(toJson(withHeld));
            if (heldTotal > 0)
              ctx.err(`warn: ${heldTotal} model call(s) held for review (creditgate review)\n`);
            return;
          }
          // Provider-billed calls: how far the billed amount is from the list (override/table) price.
          const billed = withHeld.some((r) => r.providerBilledRequests > 0);
          ctx.out(
            renderTable(
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
                fmtMicroUsd(r.costMicros),
                formatMicroCredits(r.chargedMicros),
                ...(billed
                  ? [r.providerBilledRequests, r.providerBilledRequests ? r.providerBilledDiffUsd : ""]
                  : []),
                r.heldRequests ? `${r.heldRequests} ($${r.heldCostUsd})` : 0,
              ]),
            ),
          );
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
    .description("credit a user's balance (operator grant)")
    .argument("<user>", "account id, e.g. telegram:123456")
    .argument("<credits>", "credits to add, e.g. 5 or 2.5")
    .requiredOption("--reason <text>", "why (kept in the ledger)")
    .option("--key <key>", "idempotency key: the same key grants once")
    .action((user: string, credits: string, o: { reason: string; key?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      assertAccountId(user);
      let micro: bigint;
      try {
        micro = parseCreditsToMicro(credits);
      } catch (err) {
        throw new AppError(ErrorCode.InvalidRequest, `credits: ${(err as Error).message}`);
      }
      if (micro <= 0n) throw new AppError(ErrorCode.InvalidRequest, "credits: must be greater than 0");
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      try {
        const r = createLedger(db).post({
          accountId: user,
          kind: "grant",
          amountMicroCredits: micro,
          idempotencyKey: `grant:${o.key ?? randomUUID()}`,
          reason: o.reason,
          nowMs: ctx.nowMs(),
        });
        const out = {
          accountId: user,
          status: r.status,
          grantedMicroCredits: Number(micro),
          balanceMicroCredits: r.balanceMicroCredits,
          balanceCredits: formatMicroCredits(r.balanceMicroCredits),
        };
        if (g.json) ctx.out(toJson(out));
        else
          ctx.out(
            `${r.status === "applied" ? "granted" : "already granted (same --key)"} ${formatMicroCredits(micro)} credits to ${safeText(user)}; balance ${out.balanceCredits}\n`,
          );
      } finally {
        db.close();
      }
    });
}
