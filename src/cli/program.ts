import { readFileSync } from "node:fs";
import { Command } from "commander";
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
  return program;
}
