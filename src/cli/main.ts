#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { setFlagsFromString } from "node:v8";
import { createCliContext } from "./context.js";
import { exitCodeOf } from "./errors.js";
import { buildProgram } from "./program.js";

// V8's allocation-site pretenuring off, before any hot code is compiled. The meter's writer (this
// thread) builds each batch's events and statement parameters, all garbage once the batch commits.
// When a young-generation collection happens to land mid-batch, the batch's objects are all still
// alive, and V8 can decide from that one sample that the site allocating them makes long-lived
// objects: from then on it allocates them straight in the old generation, which only a full
// collection empties (`--trace-pretenuring-statistics`: a site with 2,000 mementos, a batch, "maybe
// tenure => tenure"). In 6 of 46 `meter --once` runs on bench:meter's 1.1 GB backlog the heap then
// grew to ~119 MB before the next full collection and the process peaked at 229-243 MB instead of
// ~177 MB (target < 200 MB). Without pretenuring: 0 of 41 runs over 182 MB, wall time within the
// noise (README, Benchmarks). Objects that do live long are copied once more by the scavenger.
setFlagsFromString("--no-allocation-site-pretenuring");

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
  // A reader that stops early (`creditgate usage | head`) closes the pipe: what is left of the
  // output has nowhere to go, and that is the reader's choice, not an error of ours. Exit 0 at
  // once and quietly, as `git log | head` does, instead of "unexpected error: write EPIPE" (70).
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    fatal(err);
  });
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    process.exitCode = exitCodeOf(err, ctx.err, debug());
    // A command that failed half-way may leave a client reconnecting (Redis): exit anyway.
    setTimeout(() => process.exit(), 1000).unref();
  }
}

await main();
