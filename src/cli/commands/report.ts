import { type Command, Option } from "commander";
import { AppError, ErrorCode } from "../../errors.js";
import { purgePreviews, recentCalls } from "../../meter/index.js";
import { formatPicoUsd, parseDecimal } from "../../money.js";
import {
  BUDGET_PERIODS,
  BUDGET_SCOPES,
  type BudgetPeriod,
  type BudgetScope,
  budgetStatuses,
  createBudgetsRepo,
  parseUsdToMicro,
  REPORT_DIMS,
  type ReportDim,
  reportCsv,
  reportTable,
  resolveRange,
  runReport,
  SESSION_KINDS,
  type SessionKind,
  syncBudgetBlocks,
  usedPctText,
} from "../../reports/index.js";
import { loadArchiveRows } from "../../retention/index.js";
import { userArg } from "../account-arg.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { integerArg, refuseEmptyFlags } from "../options.js";
import { renderTable, safeText, toJson } from "../output.js";
import { watchReport } from "./report-watch.js";

/** `--by day --by kind` and `--by day,kind` both give `[day, kind]`. */
const collectDims = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
];

interface ReportOptions {
  today?: boolean;
  last?: string;
  from?: string;
  to?: string;
  agent?: string;
  model?: string;
  provider?: string;
  user?: string;
  kind?: SessionKind;
  by?: string[];
  top?: number;
  csv?: boolean;
  watch?: boolean;
  every?: number;
  /** false with --no-latency. */
  latency?: boolean;
  previews?: boolean;
  limit?: number;
  archive?: string;
}

/** `creditgate report`: the operator's usage report (README "Reports"). */
export function registerReportCommands(program: Command, ctx: CliContext): void {
  program
    .command("report")
    .description("usage report over a time range: grouped, filtered, as a table, --json or --csv")
    .option("--today", "today in CREDITGATE_TIMEZONE (local midnight to now)")
    .option("--last <span>", "a rolling window ending now: 12h, 7d, 30d (default 7d)")
    .option("--from <date>", "start: YYYY-MM-DD (local midnight in CREDITGATE_TIMEZONE) or ISO time with Z")
    .option("--to <date>", "end: YYYY-MM-DD inclusive, or ISO time with Z (exclusive); default now")
    .option("--agent <agent>", "only this agent")
    .option("--model <model>", "only this model (provider/model or model)")
    .option("--provider <provider>", "only this provider")
    .option("--user <user>", "only this account")
    .addOption(new Option("--kind <kind>", "only this kind of session").choices([...SESSION_KINDS]))
    .option(
      `--by <dims>`,
      `group by ${REPORT_DIMS.join("|")}; repeat or comma-separate for a pivot (one row per combination)`,
      collectDims,
    )
    .option("--top <n>", "keep the N costliest groups", integerArg(1, 10_000))
    .option("--csv", "RFC 4180 CSV on stdout")
    .option(
      "--archive <dir>",
      "also read the usage archive files in DIR (exact sessions for archived months)",
    )
    .option("--no-latency", "skip the latency columns (they read raw rows)")
    .option(
      "--previews",
      "with --user: also list the user's calls in the range with latency and redacted previews",
    )
    .option("--limit <n>", "calls listed by --previews, newest first (default 50)", integerArg(1, 500))
    .option("--watch", "a live view (today, last hour, top users, blocked, budgets, alerts) until Ctrl-C")
    .option("--every <seconds>", "--watch redraw interval (default 5)", integerArg(1, 3600))
    .action(async (o: ReportOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (o.watch) {
        if (g.json || o.csv)
          throw new AppError(ErrorCode.InvalidRequest, "--watch draws a live view: not with --json or --csv");
        return watchReport(ctx, ctx.config(g), o.every ?? 5);
      }
      refuseEmptyFlags({
        last: o.last,
        from: o.from,
        to: o.to,
        agent: o.agent,
        model: o.model,
        provider: o.provider,
        user: o.user,
      });
      if (o.every !== undefined) throw new AppError(ErrorCode.InvalidRequest, "--every goes with --watch");
      if (g.json && o.csv) throw new AppError(ErrorCode.InvalidRequest, "use --json or --csv, not both");
      if (o.previews && o.user === undefined)
        throw new AppError(ErrorCode.InvalidRequest, "--previews needs --user <user>");
      if (o.previews && o.csv)
        throw new AppError(ErrorCode.InvalidRequest, "--previews: use the table or --json");
      const by = o.by ?? [];
      const unknown = by.filter((d) => !(REPORT_DIMS as readonly string[]).includes(d));
      if (unknown.length)
        throw new AppError(
          ErrorCode.InvalidRequest,
          `--by: unknown "${unknown.join(", ")}": use ${REPORT_DIMS.join(", ")}`,
        );
      const config = ctx.config(g);
      const timeZone = config.worker.timezone;
      let report: ReturnType<typeof runReport>;
      let budgets: ReturnType<typeof budgetStatuses>;
      let calls: ReturnType<typeof recentCalls> | null = null;
      const db = ctx.openDb(config, { existing: true });
      try {
        // the account the meter bills (`slack:U07ABC` → `slack:u07abc`)
        const user = o.user === undefined ? undefined : userArg(ctx, db, o.user).accountId;
        const now = ctx.nowMs();
        const range = asInvalid(() => resolveRange(o, timeZone, now));
        const archiveTable = o.archive
          ? loadArchiveRows(db, o.archive, range.fromMs, range.toMs).table
          : undefined;
        report = asInvalid(() =>
          runReport(db, {
            archiveTable,
            range,
            timeZone,
            by: by as ReportDim[],
            filters: { agent: o.agent, model: o.model, provider: o.provider, user, kind: o.kind },
            top: o.top,
            creditsPerUsd: parseDecimal(config.pricing.creditsPerUsd),
            latency: o.latency !== false,
          }),
        );
        budgets = budgetStatuses(db, timeZone, now);
        if (o.previews && user !== undefined)
          calls = recentCalls(db, user, {
            sinceMs: report.fromMs,
            untilMs: report.toMs,
            limit: o.limit ?? 50,
          });
      } finally {
        db.close();
      }
      if (g.json) return ctx.out(toJson({ ...report, budgets, ...(calls ? { calls } : {}) }));
      if (o.csv) return ctx.out(reportCsv(report));
      const from = new Date(report.fromMs).toISOString();
      const to = new Date(report.toMs).toISOString();
      ctx.out(`${from} → ${to} (${timeZone})\n`);
      const t = reportTable(report);
      ctx.out(renderTable(t.headers, t.rows));
      for (const b of budgets)
        ctx.out(
          `budget ${safeText(b.name)} ${b.period} (${b.windowKey.slice(b.windowKey.indexOf(":") + 1)}): $${b.spentUsd} of $${b.limitUsd} (${usedPctText(b)}%), ${b.mode}${b.mode === "hard" && b.usedPct >= 100 ? ": BLOCKING the agent's users" : ""}\n`,
        );
      if (calls) {
        ctx.out(
          `\ncalls of ${safeText(o.user ?? "")}, newest first (previews ${config.meter.previewChars > 0 ? "on" : "off"}):\n`,
        );
        ctx.out(
          renderTable(
            ["when", "model", "cost (USD)", "latency ms", "user said", "reply"],
            calls.map((c) => [
              new Date(c.messageTsMs).toISOString(),
              `${c.provider}/${c.model}`,
              formatPicoUsd(BigInt(c.costPicoUsd)),
              c.latencyMs === null ? "n/a" : String(c.latencyMs),
              c.previewUser ?? "-",
              c.previewReply ?? "-",
            ]),
          ),
        );
      }
    });

  program
    .command("purge-previews <user>")
    .description("erase every stored redacted preview of one user (billing is not touched)")
    .action((user: string, _o: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      let r: ReturnType<typeof purgePreviews>;
      try {
        // the account the meter bills, as `DELETE /v1/users/:id/previews` resolves it: before
        // 2026-12-04 `Slack:U07ABC` or a look-alike id was refused as unknown and nothing was
        // erased (case test/cases/review-release-account-as-billed)
        user = userArg(ctx, db, user, { quietNew: true }).accountId;
        r = purgePreviews(db, user);
      } finally {
        db.close();
      }
      if (g.json) return ctx.out(toJson({ userId: user, ...r }));
      ctx.out(`previews erased for ${safeText(user)}: ${r.rows} usage row(s), ${r.held} held call(s)\n`);
    });
}

/** RangeErrors from the reports module are the operator's bad input: exit 1 with the message. */
function asInvalid<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof RangeError) throw new AppError(ErrorCode.InvalidRequest, err.message);
    throw err;
  }
}

/** `creditgate budgets set|get|clear`: the operator's budgets on provider cost (docs/reports.md). */
export function registerBudgetCommands(program: Command, ctx: CliContext): void {
  const budgets = program.command("budgets").description("the operator's own budgets on provider cost (USD)");
  const target = (scope: string, subject: string | undefined): [BudgetScope, string] => {
    if (!(BUDGET_SCOPES as readonly string[]).includes(scope))
      throw new AppError(ErrorCode.InvalidRequest, `scope must be one of ${BUDGET_SCOPES.join(", ")}`);
    return [scope as BudgetScope, subject ?? ""];
  };
  const show = (g: GlobalOptions) => {
    const config = ctx.config(g);
    const db = ctx.openDb(config);
    try {
      const list = budgetStatuses(db, config.worker.timezone, ctx.nowMs());
      if (g.json) return ctx.out(toJson({ timeZone: config.worker.timezone, budgets: list }));
      if (list.length === 0) return ctx.out("no budgets (creditgate budgets set all --daily 25)\n");
      ctx.out(
        renderTable(
          ["budget", "period", "mode", "limit (USD)", "spent (USD)", "used %", "window", "alerts at %"],
          list.map((b) => [
            b.name,
            b.period,
            b.mode === "hard" && b.usedPct >= 100 ? "hard (BLOCKING)" : b.mode,
            b.limitUsd,
            b.spentUsd,
            usedPctText(b),
            b.windowKey.slice(b.windowKey.indexOf(":") + 1),
            (b.thresholdsPct ?? config.worker.capThresholdsPct).join(","),
          ]),
        ),
      );
    } finally {
      db.close();
    }
  };
  budgets
    .command("set <scope> [subject]")
    .description("set a daily and/or monthly budget: scope all, agent <id> or provider <name>")
    .option("--daily <usd>", "daily budget in USD (provider cost)")
    .option("--monthly <usd>", "monthly budget in USD (provider cost)")
    .addOption(
      new Option(
        "--mode <mode>",
        "soft: alert at the thresholds (default); hard: also block the agent's end users when reached",
      ).choices(["soft", "hard"]),
    )
    .option("--soft", "the same as --mode soft")
    .option("--hard", "the same as --mode hard")
    .option("--thresholds <pcts>", "alert percentages, e.g. 50,80,100 (default CREDITGATE_CAP_THRESHOLDS)")
    .action(
      (
        scope: string,
        subject: string | undefined,
        o: {
          daily?: string;
          monthly?: string;
          mode?: "soft" | "hard";
          soft?: boolean;
          hard?: boolean;
          thresholds?: string;
        },
        cmd: Command,
      ) => {
        const g = cmd.optsWithGlobals<GlobalOptions>();
        const [s, subj] = target(scope, subject);
        if (!o.daily && !o.monthly)
          throw new AppError(ErrorCode.InvalidRequest, "give --daily and/or --monthly");
        const modes = new Set([o.mode, o.soft ? "soft" : undefined, o.hard ? "hard" : undefined]);
        modes.delete(undefined);
        if (modes.size > 1) throw new AppError(ErrorCode.InvalidRequest, "give one mode: soft or hard");
        const mode = modes.has("hard") ? "hard" : "soft";
        let thresholdsPct: number[] | null = null;
        if (o.thresholds !== undefined) {
          if (!/^\d{1,4}(,\d{1,4})*$/.test(o.thresholds))
            throw new AppError(
              ErrorCode.InvalidRequest,
              "--thresholds: comma-separated percentages like 50,80,100",
            );
          thresholdsPct = o.thresholds.split(",").map(Number);
        }
        // Every amount is read before anything is written: a bad --monthly leaves --daily unset too.
        const wanted = asInvalid(() =>
          (
            [
              ["day", o.daily],
              ["month", o.monthly],
            ] as [BudgetPeriod, string | undefined][]
          )
            .filter((x): x is [BudgetPeriod, string] => x[1] !== undefined)
            .map(([period, usd]) => ({ period, limitMicroUsd: parseUsdToMicro(usd) })),
        );
        const config = ctx.config(g);
        const db = ctx.openDb(config);
        try {
          const repo = createBudgetsRepo(db);
          asInvalid(() =>
            db.transaction(() => {
              for (const w of wanted)
                repo.set({ scope: s, subject: subj, ...w, mode, thresholdsPct }, ctx.nowMs());
            })(),
          );
          // A raised (or softened) hard budget unblocks now, not at the next budget scan.
          syncBudgetBlocks(db, config.worker.timezone, ctx.nowMs());
        } finally {
          db.close();
        }
        show(g);
      },
    );
  budgets
    .command("get")
    .description("every budget with its current window's spend")
    .action((_o: unknown, cmd: Command) => show(cmd.optsWithGlobals<GlobalOptions>()));
  budgets
    .command("clear <scope> [subject]")
    .description("remove a budget (both periods unless --period)")
    .addOption(new Option("--period <period>", "only this period").choices([...BUDGET_PERIODS]))
    .action((scope: string, subject: string | undefined, o: { period?: BudgetPeriod }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const [s, subj] = target(scope, subject);
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      let n = 0;
      try {
        n = asInvalid(() => createBudgetsRepo(db).clear(s, subj, o.period));
        if (n > 0) syncBudgetBlocks(db, config.worker.timezone, ctx.nowMs());
      } finally {
        db.close();
      }
      if (n === 0) throw new AppError(ErrorCode.NotFound, `no such budget: ${s}${subj ? ` ${subj}` : ""}`);
      show(g);
    });
}
