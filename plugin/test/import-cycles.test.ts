import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const pluginDir = fileURLToPath(new URL("..", import.meta.url));

/** Every `.ts`/`.mjs` file under `dir`, recursively. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return /\.(ts|mjs)$/.test(e.name) && !e.name.endsWith(".d.mts") ? [p] : [];
  });
}

/** Relative imports (value and type, static and `import()`) of each file, as plugin-relative paths. */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const specs = [...text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'](\.\.?\/[^"']+)["']/g)].map(
      (m) => m[1] ?? "",
    );
    const targets = specs.map((s) => {
      const abs = resolve(dirname(file), s);
      // NodeNext: `./x.js` in a .ts file names `./x.ts`.
      return relative(pluginDir, file.endsWith(".ts") ? abs.replace(/\.js$/, ".ts") : abs);
    });
    graph.set(relative(pluginDir, file), targets);
  }
  return graph;
}

/** The first import cycle found (as a path a → b → … → a), or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === "done") return null;
    if (state.get(node) === "open") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, "done");
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

describe("plugin imports", () => {
  it("finds a cycle when two files import each other, type-only or not", () => {
    const graph = new Map([
      ["src/client.ts", ["src/rpc.ts"]],
      ["src/rpc.ts", ["src/client.ts"]],
    ]);
    expect(findCycle(graph)).toEqual(["src/client.ts", "src/rpc.ts", "src/client.ts"]);
    expect(
      findCycle(
        new Map([
          ["a", ["b"]],
          ["b", []],
        ]),
      ),
    ).toBeNull();
  });

  it("src/ has no import cycle (type imports included)", () => {
    const graph = importGraph(sourceFiles(join(pluginDir, "src")));
    expect(graph.get("src/client.ts")).toContain("src/api-types.ts");
    expect(findCycle(graph)).toBeNull();
  });

  it("scripts/ (the e2e harness and its scenarios) has no import cycle", () => {
    expect(findCycle(importGraph(sourceFiles(join(pluginDir, "scripts"))))).toBeNull();
  });
});
