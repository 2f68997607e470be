/**
 * Import boundaries of src/, checked by reading the source (no build needed).
 *
 * - A module is a top-level folder of src/ (`src/credits`, `src/meter`, ...). Another module may
 *   import it only through its `index.ts`; files inside a module import each other freely.
 * - Leaves (`money.ts`, `errors.ts`, `agent-id.ts`) are importable by everyone. The other files directly in src/
 *   compose the process (`app.ts`, `services.ts`, `server.ts`): only src/ root files and the CLI
 *   import them, never a module.
 * - The HTTP app and the limits domain never import the worker (BullMQ): `api/`, `limits/` and
 *   `app.ts` import nothing from `worker/`.
 * - Only entrypoints read `process.env`: `src/cli/main.ts` (the `creditgate` binary; it merges the
 *   env file and the environment and hands the result to `loadConfig`) and `src/server.ts` (the
 *   thin server entry of style.md; today it reads nothing). Everything else gets config passed in.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/** `process.env`, `process["env"]`, and destructuring such as `const { env } = process`. */
const READS_ENV = /\bprocess\s*(\.\s*env\b|\[\s*["'`]env)|\}\s*=\s*process\b|\bglobalThis\.process\b/;

/** Files allowed to read `process.env`. */
const ENTRYPOINTS = new Set(["cli/main.ts", "server.ts"]);

/**
 * Files other modules may import besides an `index.ts`: second entry points that keep BullMQ and
 * ioredis out of the module's index, so the HTTP app and one-shot CLI commands load light.
 */
const SECOND_ENTRIES = new Set<string>([
  "worker/runtime.ts", // the worker process side (BullMQ Worker, relay, sweep)
  "worker/rpc-client.ts", // callers of the RPC queue (creditgate/rpc)
  "worker/queues.ts", // the queue-name and connection contract (ioredis)
  "worker/probes.ts", // Redis / queue readiness probes, for processes that talk to Redis
]);

/** Files in src/ anyone may import; every other root file is composition (see the header). */
const LEAVES = new Set(["money.ts", "errors.ts", "agent-id.ts"]);
/** Importers (module folders or root files) that must never import `worker/`. */
const NO_WORKER = (from: string) =>
  from.startsWith("api/") || from.startsWith("limits/") || from === "app.ts";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return d.name.endsWith(".ts") && !d.name.endsWith(".d.ts") ? [p] : [];
  });
}

const relTo = (root: string, p: string) => relative(root, p).split(sep).join("/");
const rel = (p: string) => relTo(SRC, p);

/** Every relative module specifier in a file: static imports/exports and dynamic `import("…")`. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  for (const m of code.matchAll(/\b(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
    if (m[1]) out.push(m[1]);
  }
  return out;
}

/** The module (top-level folder) of a src-relative path, or null for a leaf file in src/. */
const moduleOf = (p: string): string | null => (p.includes("/") ? (p.split("/")[0] ?? null) : null);

/** `importer -> imported` for every cross-module import that does not go through `index.ts`. */
function boundaryViolations(root: string): string[] {
  const bad: string[] = [];
  for (const file of sourceFiles(root)) {
    const from = relTo(root, file);
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      const target = relTo(root, resolve(dirname(file), spec)).replace(/\.js$/, ".ts");
      if (target.startsWith("..")) {
        bad.push(`${from} -> ${spec} (outside src/)`);
        continue;
      }
      const mod = moduleOf(target);
      if (mod === "worker" && NO_WORKER(from)) {
        bad.push(`${from} -> ${target} (the HTTP app and limits never import the worker)`);
        continue;
      }
      if (mod === null) {
        // A root file: leaves are free; composition files only for root files and the CLI.
        if (!LEAVES.has(target) && moduleOf(from) !== null && moduleOf(from) !== "cli")
          bad.push(`${from} -> ${target} (composition, not a leaf)`);
        continue;
      }
      if (mod === moduleOf(from)) continue;
      if (target !== `${mod}/index.ts` && !SECOND_ENTRIES.has(target)) bad.push(`${from} -> ${target}`);
    }
  }
  return bad.sort();
}

describe("import boundaries of src/", () => {
  const files = sourceFiles(SRC);

  it("finds the source tree", () => {
    expect(files.map(rel)).toContain("cli/main.ts");
    expect(files.map(rel)).toContain("credits/index.ts");
  });

  it("crosses into another module only through its index.ts", () => {
    const violations = boundaryViolations(SRC);
    expect(violations).toEqual([]);
  });

  it("reads process.env only in entrypoints", () => {
    const readers = files
      .filter((f) => READS_ENV.test(readFileSync(f, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")))
      .map(rel)
      .filter((f) => !ENTRYPOINTS.has(f));
    expect(readers).toEqual([]);
  });

  it("catches a deep import and lets leaves, index imports and same-module imports through", () => {
    const root = mkdtempSync(join(tmpdir(), "cg-boundaries-"));
    try {
      const write = (p: string, text: string) => {
        mkdirSync(dirname(join(root, p)), { recursive: true });
        writeFileSync(join(root, p), text);
      };
      write("money.ts", "export const x = 1;\n");
      write("credits/index.ts", 'export * from "./ledger.js";\n');
      write("credits/ledger.ts", 'import { x } from "../money.js";\nexport const y = x;\n');
      write(
        "meter/biller.ts",
        [
          'import { y } from "../credits/index.js";',
          'import { y as z } from "../credits/ledger.js";',
          '// import { w } from "../credits/ledger.js";',
          'const m = await import("../credits/ledger.js");',
          "export { y, z, m };",
        ].join("\n"),
      );
      write("services.ts", "export const s = 1;\n");
      write("worker/index.ts", "export const q = 1;\n");
      write("limits/decide.ts", 'import { s } from "../services.js";\nexport const d = s;\n');
      write("api/ops.ts", 'export * from "../worker/index.js";\n');
      write("cli/run.ts", 'import { s } from "../services.js";\nexport const r = s;\n');
      expect(boundaryViolations(root)).toEqual([
        "api/ops.ts -> worker/index.ts (the HTTP app and limits never import the worker)",
        "limits/decide.ts -> services.ts (composition, not a leaf)",
        "meter/biller.ts -> credits/ledger.ts",
        "meter/biller.ts -> credits/ledger.ts",
      ]);
      for (const text of ["const { env } = process;", 'process["env"].X', "process.env.X"])
        expect(READS_ENV.test(text)).toBe(true);
      expect(READS_ENV.test("process.exitCode = 1; processEnv.x")).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
