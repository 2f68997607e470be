/**
 * The composition root builds each repository once (issue #9): production code creates the
 * ledger, top-up repository, enforcer, queries, API keys and fulfiller only in
 * src/repositories.ts, and the app's services only in src/app-services.ts. A module that can be
 * used standalone takes them from its caller and falls back (`?? create…`) only when none is
 * given; one-shot CLI commands and the review queue open their own. buildApp builds nothing.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const CREATORS =
  /\b(createLedger|createTopupRepo|createEnforcer|createQueries|createApiKeys|createFulfiller|createPushIngester|createMetrics|createAuthFailureLimiter)\(/g;
/** Where a creator may be called outright: the roots, and one-shot commands (own process, own db). */
const ALLOWED = (file: string) =>
  file === "repositories.ts" || file === "app-services.ts" || file.startsWith("cli/commands/");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return d.name.endsWith(".ts") ? [p] : [];
  });
}

describe("composition root", () => {
  it("repositories and app services are created only by the roots, else as a documented fallback", () => {
    const bad: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = relative(SRC, file).split(sep).join("/");
      const code = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
      for (const m of code.matchAll(CREATORS)) {
        const before = code.slice(Math.max(0, m.index - 30), m.index);
        if (/function\s+$/.test(before) || /\?\?\s*$/.test(before) || ALLOWED(rel)) continue;
        // The review queue is used by `creditgate review` (one-shot) only.
        if (rel === "meter/review.ts" && m[1] === "createLedger") continue;
        bad.push(`${rel}: ${m[1]}(`);
      }
    }
    expect(bad).toEqual([]);
  });

  it("app.ts registers only: it imports neither services.ts nor a creator", () => {
    const app = readFileSync(join(SRC, "app.ts"), "utf8");
    expect(app).not.toMatch(/from "\.\/services\.js"/);
    expect(app).not.toMatch(/setInterval\(/);
    expect([...app.matchAll(CREATORS)].map((m) => m[1])).toEqual([]);
  });
});
