import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyPluginAsync } from "fastify";
import { AppError, ErrorCode } from "../../errors.js";

/**
 * The console's Content-Security-Policy: its own scripts, styles and API only (no CDN, no
 * third-party loads, no inline script); inline `style` attributes are allowed (the chart library
 * sizes its canvas with them).
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/**
 * Where `npm run build` puts the console: dist/console, seen from dist/api/routes (the built
 * server) or from src/api/routes (tests running the TypeScript source).
 */
export function defaultConsoleDir(): string | null {
  for (const rel of ["../../console/", "../../../dist/console/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, "index.html"))) return dir;
  }
  return null;
}

export interface ConsoleStaticOptions {
  /** The built console (index.html + assets/); null: /console answers 503 saying how to build it. */
  dir: string | null;
}

/**
 * GET /console/ (the single page; hash routes inside it) and GET /console/assets/<file> (hashed
 * names, cached for a year). Files are read once at start-up into memory (a few hundred kB), so
 * no request touches the file system and no path from a request is ever joined to a directory.
 */
export const consoleStatic: FastifyPluginAsync<ConsoleStaticOptions> = async (app, o) => {
  const files = new Map<string, Buffer>();
  const index = o.dir ? readFileSync(join(o.dir, "index.html")) : null;
  if (o.dir && existsSync(join(o.dir, "assets"))) {
    for (const name of readdirSync(join(o.dir, "assets"))) {
      if (TYPES[extname(name)]) files.set(name, readFileSync(join(o.dir, "assets", name)));
    }
  }
  app.get("/console", { schema: { hide: true } }, async (_request, reply) => reply.redirect("/console/"));
  app.get("/console/", { schema: { hide: true } }, async (_request, reply) => {
    if (!index) {
      throw new AppError(
        ErrorCode.ProviderDisabled,
        "the console is not built: run `npm run build` (npm ci does it) and restart",
      );
    }
    return reply
      .header("content-security-policy", CONSOLE_CSP)
      .header("cache-control", "no-cache")
      .type(TYPES[".html"] as string)
      .send(index);
  });
  app.get<{ Params: { file: string } }>(
    "/console/assets/:file",
    { schema: { hide: true } },
    async (request, reply) => {
      const body = files.get(request.params.file);
      if (!body) throw new AppError(ErrorCode.NotFound, "no such console asset");
      return reply
        .header("content-security-policy", CONSOLE_CSP)
        .header("cache-control", "public, max-age=31536000, immutable")
        .type(TYPES[extname(request.params.file)] as string)
        .send(body);
    },
  );
};
