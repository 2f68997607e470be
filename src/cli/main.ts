#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { createCliContext } from "./context.js";
import { exitCodeOf } from "./errors.js";
import { buildProgram } from "./program.js";

/** Reads `./.env` (if present) under the real environment: real variables win. */
function environment(): Record<string, string | undefined> {
  const fromFile = existsSync(".env") ? parseEnv(readFileSync(".env", "utf8")) : {};
  return { ...fromFile, ...process.env };
}

async function main(): Promise<void> {
  const env = environment();
  const ctx = createCliContext(env);
  const program = buildProgram(ctx);
  const debug = () => program.opts().debug === true || env.CREDITGATE_LOG_LEVEL === "debug";
  // Still fatal, but said in one line like every other error (the stack with --debug).
  const fatal = (err: unknown) => {
    process.exit(exitCodeOf(err, ctx.err, debug()));
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    process.exitCode = exitCodeOf(err, ctx.err, debug());
    // A command that failed half-way may leave a client reconnecting (Redis): exit anyway.
    setTimeout(() => process.exit(), 1000).unref();
  }
}

await main();
