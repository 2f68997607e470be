import { createCliContext } from "../../src/cli/context.js";
import { buildProgram } from "../../src/cli/program.js";

/** Runs `creditgate <args>` in-process against `env`, capturing stdout, stderr and a thrown error. */
export async function runCli(env: Record<string, string>, args: string[]) {
  let out = "";
  let err = "";
  const ctx = createCliContext(env, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  let error: Error | null = null;
  try {
    await buildProgram(ctx).parseAsync(["node", "creditgate", ...args]);
  } catch (e) {
    error = e as Error;
  }
  return { out, err, error };
}
