#!/usr/bin/env node
import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { CommanderError } from "commander";
import { AppError } from "../errors.js";
import { createCliContext } from "./context.js";
import { safeText } from "./output.js";
import { buildProgram } from "./program.js";

/** Reads `./.env` (if present) under the real environment: real variables win. */
function environment(): Record<string, string | undefined> {
  const fromFile = existsSync(".env") ? parseEnv(readFileSync(".env", "utf8")) : {};
  return { ...fromFile, ...process.env };
}

async function main(): Promise<void> {
  const ctx = createCliContext(environment());
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof AppError) {
      ctx.err(`creditgate: ${safeText(err.message, { keepNewlines: true })}\n`);
      process.exitCode = err.code === "invalid_config" ? 78 : 1;
      return;
    }
    throw err;
  }
}

await main();
