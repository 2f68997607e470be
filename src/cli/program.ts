import { readFileSync } from "node:fs";
import { Command } from "commander";
import { AppError, ErrorCode } from "../errors.js";
import { registerArchiveCommands } from "./commands/archive.js";
import { registerEdgeCommands } from "./commands/edge.js";
import { registerKeyCommands } from "./commands/keys.js";
import { registerMeterCommands } from "./commands/meter.js";
import { registerMigrateDbCommands } from "./commands/migrate-db.js";
import { registerPaymentCommands } from "./commands/payments.js";
import { registerProviderCommands } from "./commands/providers.js";
import { registerBudgetCommands, registerReportCommands } from "./commands/report.js";
import { registerReviewCommands } from "./commands/review.js";
import { registerRunCommands } from "./commands/run.js";
import { registerWorkerCommands } from "./commands/worker.js";
import type { CliContext } from "./context.js";

/** creditgate's version, from its package.json (src/cli and dist/cli are both two levels down). */
export const VERSION: string = (() => {
  try {
    return String(JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version);
  } catch {
    return "unknown";
  }
})();

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Builds the whole command tree; exported so tests can run commands in-process. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("creditgate")
    .description("Prepaid-credit metering and billing for OpenClaw bots")
    .option("--db <file>", "SQLite database file, or a postgres:// URL (env CREDITGATE_DB)")
    .option(
      "--state-dir <dir>",
      "OpenClaw/Clawdbot state dir; repeatable (env CREDITGATE_STATE_DIRS)",
      collect,
    )
    .option("--json", "machine-readable JSON output")
    .option("--debug", "on an unexpected error, print its stack")
    .version(VERSION, "-V, --version", "print the version and exit")
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  // Command groups register themselves here, one module each.
  registerRunCommands(program, ctx);
  registerMeterCommands(program, ctx);
  registerEdgeCommands(program, ctx);
  registerPaymentCommands(program, ctx);
  registerWorkerCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerReviewCommands(program, ctx);
  registerProviderCommands(program, ctx);
  registerReportCommands(program, ctx);
  registerArchiveCommands(program, ctx);
  registerBudgetCommands(program, ctx);
  registerMigrateDbCommands(program, ctx);
  refuseRepeatedOptions(program);
  return program;
}

/**
 * A single-valued option given twice (`usage --by user --by day`, `report --from A --from B`) is
 * refused, naming both values: commander keeps the last one silently, so `usage --by user --by
 * day` answered by day alone, while `report --by user --by day` pivots on both (since 2026-12-04,
 * a tester: test/found-t-user3-review.test.ts). Options meant to repeat say so in their help
 * ("repeatable", "repeat or comma-separate"); flags without a value are not counted.
 */
function refuseRepeatedOptions(program: Command): void {
  const given = new Map<Command, Map<string, string[]>>();
  const visit = (cmd: Command) => {
    for (const opt of cmd.options) {
      if (!(opt.required || opt.optional) || opt.variadic || /\brepeat/.test(opt.description)) continue;
      const flag = opt.long ?? opt.flags;
      cmd.on(`option:${opt.name()}`, (value: unknown) => {
        const m = given.get(cmd) ?? new Map<string, string[]>();
        given.set(cmd, m);
        m.set(flag, [...(m.get(flag) ?? []), String(value)]);
      });
    }
    for (const sub of cmd.commands) visit(sub);
  };
  visit(program);
  program.hook("preAction", (_hooked, action) => {
    for (let c: Command | null = action; c; c = c.parent) {
      for (const [flag, values] of given.get(c) ?? [])
        if (values.length > 1)
          throw new AppError(
            ErrorCode.InvalidRequest,
            `${flag}: given ${values.length} times (${values.map((v) => JSON.stringify(v)).join(", ")}); give it once`,
          );
    }
  });
}
