import { type Command, Option } from "commander";
import { AppError, ErrorCode } from "../../errors.js";
import { parseDecimal } from "../../money.js";
import {
  REPORT_DIMS,
  type ReportDim,
  reportCsv,
  reportTable,
  resolveRange,
  runReport,
  SESSION_KINDS,
  type SessionKind,
} from "../../reports/index.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { integerArg } from "../options.js";
import { renderTable, toJson } from "../output.js";

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
    .action((o: ReportOptions, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      if (g.json && o.csv) throw new AppError(ErrorCode.InvalidRequest, "use --json or --csv, not both");
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
      const db = ctx.openDb(config);
      try {
        try {
          const range = resolveRange(o, timeZone, ctx.nowMs());
          report = runReport(db, {
            range,
            timeZone,
            by: by as ReportDim[],
            filters: { agent: o.agent, model: o.model, provider: o.provider, user: o.user, kind: o.kind },
            top: o.top,
            creditsPerUsd: parseDecimal(config.pricing.creditsPerUsd),
          });
        } catch (err) {
          if (err instanceof RangeError) throw new AppError(ErrorCode.InvalidRequest, err.message);
          throw err;
        }
      } finally {
        db.close();
      }
      if (g.json) return ctx.out(toJson(report));
      if (o.csv) return ctx.out(reportCsv(report));
      const from = new Date(report.fromMs).toISOString();
      const to = new Date(report.toMs).toISOString();
      ctx.out(`${from} → ${to} (${timeZone})\n`);
      const t = reportTable(report);
      ctx.out(renderTable(t.headers, t.rows));
    });
}
