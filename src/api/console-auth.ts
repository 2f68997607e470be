import type { FastifyRequest } from "fastify";

/** The console's session cookie (HttpOnly, SameSite=Strict, Path=/, Secure over https). */
export const SESSION_COOKIE = "cg_session";
/** The header a console page sends its session's CSRF token in, on every state change. */
export const CSRF_HEADER = "x-csrf-token";
/** Methods that change nothing: no CSRF token needed. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/**
 * Whether the browser reached us over https (directly, or through a proxy saying so): then the
 * cookie is `Secure`. Trusting a forged `X-Forwarded-Proto` only makes the cookie stricter.
 */
export function isHttps(request: FastifyRequest): boolean {
  return request.protocol === "https" || request.headers["x-forwarded-proto"] === "https";
}

/** `Set-Cookie` value opening a session until `expiresAtMs` (Max-Age in whole seconds). */
export function sessionCookie(token: string, maxAgeMs: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}${secure ? "; Secure" : ""}`;
}

/** `Set-Cookie` value deleting the session cookie (logout). */
export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`;
}
