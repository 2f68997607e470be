import { createHmac, randomBytes } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isBusyError, retryOnBusy } from "../db/index.js";
import { AppError, ErrorCode } from "../errors.js";

/** Default time an HTTP request keeps retrying a write that meets another process's lock. */
export const DEFAULT_BUSY_RETRY_MS = 2_000;
/** Seconds a client is told to wait (`Retry-After`) after a 503 `busy`. */
export const BUSY_RETRY_AFTER_S = 1;

/**
 * `retryOnBusy` from src/db for a request: when the database stays locked for `budgetMs`, the
 * request fails with AppError `busy` (503 + Retry-After) instead of SQLite's error. Handlers are
 * safe to re-run after a busy failure: every creditgate write is one transaction.
 */
export async function retryRequestOnBusy<T>(
  fn: () => Promise<T> | T,
  budgetMs = DEFAULT_BUSY_RETRY_MS,
): Promise<T> {
  try {
    return await retryOnBusy(fn, budgetMs);
  } catch (err) {
    if (!isBusyError(err)) throw err;
    throw new AppError(
      ErrorCode.Busy,
      "the database is locked by another process (a backup, another creditgate, sqlite3); nothing was changed, retry shortly",
      { cause: err },
    );
  }
}

export interface AuthFailureLimit {
  /** Failed authentications allowed per client address per window. Default 30. */
  max: number;
  /** Window length in ms. Default 60,000. */
  timeWindowMs: number;
}
export const DEFAULT_AUTH_FAILURE_LIMIT: AuthFailureLimit = { max: 30, timeWindowMs: 60_000 };
/** Addresses remembered at most (oldest window forgotten first): memory stays bounded under a flood. */
const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Counts failed authentications per client address in fixed windows. Once an address has
 * `max` failures in the current window, every /v1 request from it is refused with 429 until
 * the window ends, before its key is even looked at (so guessing gains nothing).
 */
export function createAuthFailureLimiter(limit: AuthFailureLimit = DEFAULT_AUTH_FAILURE_LIMIT) {
  const windows = new Map<string, { startMs: number; failures: number }>();
  const current = (address: string, nowMs: number) => {
    const w = windows.get(address);
    return w && nowMs - w.startMs < limit.timeWindowMs ? w : null;
  };
  return {
    /** Seconds until `address` may try again, or 0 when it is not limited. */
    retryAfterS(address: string, nowMs: number): number {
      const w = current(address, nowMs);
      if (!w || w.failures < limit.max) return 0;
      return Math.max(1, Math.ceil((w.startMs + limit.timeWindowMs - nowMs) / 1000));
    },
    /** Records one failed authentication from `address`. */
    fail(address: string, nowMs: number): void {
      const w = current(address, nowMs);
      if (w) {
        w.failures++;
        return;
      }
      windows.delete(address);
      if (windows.size >= MAX_TRACKED_ADDRESSES) {
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
      windows.set(address, { startMs: nowMs, failures: 1 });
    },
  };
}
export type AuthFailureLimiter = ReturnType<typeof createAuthFailureLimiter>;

/** Path segments and query parameters that carry an end-user id. */
const USER_PATH = /^(\/v1\/(?:users|balances)\/)([^/?#]+)/;
const USER_QUERY_KEYS = new Set(["user", "userid", "after"]);

/**
 * Logged URLs never carry end-user ids: the id in `/v1/users/:id/…` and `/v1/balances/:userId`
 * and the values of the `user`, `userId` and `after` (account id) query parameters become
 * `u_<12 hex>`, an HMAC under a key made at start-up: the same user has the same tag in one
 * process's log (so requests can be correlated) and it cannot be reversed by trying ids.
 */
export function createUrlRedactor(key: Buffer = randomBytes(32)) {
  const tag = (v: string) => `u_${createHmac("sha256", key).update(v).digest("hex").slice(0, 12)}`;
  return (url: string): string => {
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const safePath = path.replace(USER_PATH, (_m, prefix: string, id: string) => `${prefix}${tag(id)}`);
    if (q === -1) return safePath;
    const params = url
      .slice(q + 1)
      .split("&")
      .map((pair) => {
        const eq = pair.indexOf("=");
        if (eq === -1) return pair;
        const name = pair.slice(0, eq);
        return USER_QUERY_KEYS.has(name.toLowerCase()) ? `${name}=${tag(pair.slice(eq + 1))}` : pair;
      });
    return `${safePath}?${params.join("&")}`;
  };
}

/** The request log serializer: Fastify's default fields, with the URL redacted. */
export function requestSerializer(redactUrl: (url: string) => string) {
  return (req: FastifyRequest) => ({
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  });
}

const sendError = (reply: FastifyReply, status: number, code: ErrorCode, message: string) =>
  reply.code(status).send({ error: { code, message, requestId: reply.request.id } });

/**
 * Fastify's router errors (a malformed %-escape, a path parameter longer than `maxParamLength`)
 * in the documented `{error:{code,message,requestId}}` shape; the URL is not echoed back.
 */
export function frameworkErrors(maxParamLength: number, headers: Readonly<Record<string, string>> = {}) {
  return (err: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
    // These replies skip the app's onSend hooks: set its headers here.
    for (const [k, v] of Object.entries(headers)) reply.header(k, v);
    if (err.code === "FST_ERR_MAX_PARAM_LENGTH")
      return sendError(
        reply,
        414,
        ErrorCode.InvalidRequest,
        `a path segment is longer than ${maxParamLength} characters`,
      );
    if (err.code === "FST_ERR_BAD_URL")
      return sendError(reply, 400, ErrorCode.InvalidRequest, "malformed URL: invalid %-escape in the path");
    return sendError(reply, 500, ErrorCode.Internal, "internal error");
  };
}

/**
 * What Node's HTTP parser rejects before Fastify sees a request (a header block over the size
 * limit: 431; a request timeout: 408; anything unparsable: 400), in the documented shape with
 * `requestId: null` (there was no request).
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, message] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "request timed out"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "request line or headers too large"]
        : [400, "malformed HTTP request"];
  const body = JSON.stringify({ error: { code: ErrorCode.InvalidRequest, message, requestId: null } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}

/** Hand-set (no helmet needed for a JSON API): no sniffing, framing, referrers or third-party loads. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/**
 * The app-wide request hooks: every handler retries a database locked by another process
 * asynchronously for up to `busyRetryMs` (the event loop stays free: /healthz answers), then 503
 * `busy`; a body-schema route given no body validates `{}` (the answer names the missing fields);
 * every answer carries SECURITY_HEADERS (a route may set its own CSP). Install on the root before any route registers.
 */
export function installRequestHooks(app: FastifyInstance, o: { busyRetryMs: number }): void {
  // Handlers are safe to re-run after a busy failure: each write is one transaction, so a failed
  // attempt left nothing behind.
  app.addHook("onRoute", (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, request, reply) {
      return retryRequestOnBusy(() => handler.call(this, request, reply), o.busyRetryMs);
    };
  });
  app.addHook("preValidation", async (request) => {
    if (request.body == null && request.routeOptions.schema?.body) request.body = {};
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    // A route may set its own (looser) CSP: the console page loads its own script.
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) {
      if (k === "content-security-policy" && reply.hasHeader(k)) continue;
      reply.header(k, v);
    }
    return payload;
  });
}
