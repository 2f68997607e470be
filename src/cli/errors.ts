import { CommanderError } from "commander";
import { ZodError } from "zod";
import { AppError, formatZodIssues } from "../errors.js";
import { safeText } from "./output.js";

/** 1: a bad argument or a refused operation; 70 (EX_SOFTWARE): a bug; 78 (EX_CONFIG): a bad setting. */
export const EXIT = { failure: 1, software: 70, config: 78 } as const;

/**
 * The CLI's one error handler: prints one line (never a stack unless `debug`) and returns the
 * exit code. Commander already printed its own usage errors (exit code 1 as commander sets it);
 * an AppError prints its message (`invalid_config` → 78, others → 1);
 * anything else is unexpected: its message, and how to see the stack (70).
 */
export function exitCodeOf(err: unknown, write: (text: string) => void, debug: boolean): number {
  if (err instanceof CommanderError) return err.exitCode;
  if (err instanceof AppError) {
    write(`creditgate: ${safeText(err.message, { keepNewlines: true })}\n`);
    if (debug && err.cause instanceof Error && err.cause.stack) write(`${err.cause.stack}\n`);
    return err.code === "invalid_config" ? EXIT.config : EXIT.failure;
  }
  if (err instanceof ZodError) {
    // A value a command validated with a schema (e.g. a user id): the rule, never a stack.
    write(`creditgate: invalid input: ${safeText(formatZodIssues(err.issues, "value"))}\n`);
    return EXIT.failure;
  }
  const e = err instanceof Error ? err : new Error(String(err));
  const firstLine = (e.message.split("\n")[0] ?? "").trim() || e.name;
  write(`creditgate: unexpected error: ${safeText(firstLine)}\n`);
  if (debug) write(`${e.stack ?? e.message}\n`);
  else write("creditgate: run again with --debug (or CREDITGATE_LOG_LEVEL=debug) to see the stack\n");
  return EXIT.software;
}
