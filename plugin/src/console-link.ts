/**
 * A page in the OpenClaw gateway's own HTTP server that opens creditgate's operator console:
 * `GET <gateway>/creditgate` answers `302 Location: <apiUrl>/console/` (with a plain link as the
 * body for clients that do not follow redirects). Registered behind the gateway's own auth
 * (`auth: "gateway"`), so only someone who may use the gateway's dashboard gets the address; the
 * console itself still asks for an operator API key. Hosts without `registerHttpRoute` (Clawdbot)
 * get nothing: `false`.
 */
import type { PluginApi } from "./openclaw-types.js";

/** The gateway path of the link. */
export const CONSOLE_LINK_PATH = "/creditgate";

/** `apiUrl` (no trailing slash) → the console's address. */
export function consoleUrl(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/console/`;
}

/** Registers `GET /creditgate` → the console. Returns whether the host could register it. */
export function registerConsoleLink(api: Pick<PluginApi, "registerHttpRoute">, apiUrl: string): boolean {
  if (typeof api.registerHttpRoute !== "function") return false;
  const target = consoleUrl(apiUrl);
  api.registerHttpRoute({
    path: CONSOLE_LINK_PATH,
    auth: "gateway",
    match: "exact",
    handler: (req, res) => {
      if (req.method && req.method !== "GET" && req.method !== "HEAD") {
        res.statusCode = 405;
        res.setHeader("Allow", "GET, HEAD");
        res.end();
        return true;
      }
      res.statusCode = 302;
      res.setHeader("Location", target);
      res.setHeader("Content-Type", "text/html; charset=utf-8");
      res.setHeader("Cache-Control", "no-store");
      const href = target.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
      res.end(`<!doctype html><title>creditgate</title><a href="${href}">creditgate console</a>`);
      return true;
    },
  });
  return true;
}
