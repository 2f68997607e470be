import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./api-types.js";

/** The session the server opened for this page (GET/POST /console/session); never the API key. */
export interface Session {
  keyId: string;
  scope: "read" | "ingest" | "admin";
  csrfToken: string;
  expiresAtMs: number;
}

/** JSON body of a 200 answer of `GET path`. */
export type Get<P extends keyof paths> = paths[P] extends {
  get: { responses: { 200: { content: { "application/json": infer T } } } };
}
  ? T
  : never;

let csrfToken = "";
let onUnauthorized: () => void = () => {};

/** Sends the session's CSRF token on every state change; a 401 ends the session in the page. */
const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== "GET" && request.method !== "HEAD") request.headers.set("x-csrf-token", csrfToken);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) onUnauthorized();
    return response;
  },
};

/** The typed API client (types generated from /docs/openapi.json); cookie auth, same origin only. */
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: "same-origin" });
api.use(session);

/** Remembers the CSRF token of the session (in memory only) and what to do when it ends. */
export function useSession(s: Session | null, unauthorized: () => void): void {
  csrfToken = s?.csrfToken ?? "";
  onUnauthorized = unauthorized;
}

/** A failed API answer: its one-line message and HTTP status (404: the thing does not exist). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The error message of a failed API answer (`{error:{message}}`), or a generic line. */
export function errorText(error: unknown): string {
  const e = error as { error?: { message?: string } } | undefined;
  return e?.error?.message ?? "request failed";
}

async function sessionCall(method: "GET" | "POST" | "DELETE", body?: unknown): Promise<Response> {
  return fetch("/console/session", {
    method,
    credentials: "same-origin",
    headers: {
      ...(body ? { "content-type": "application/json" } : {}),
      ...(method === "DELETE" ? { "x-csrf-token": csrfToken } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

/** Trades an API key for a session cookie; the key is not kept anywhere. */
export async function login(apiKey: string): Promise<Session | string> {
  const res = await sessionCall("POST", { apiKey });
  const json = await res.json().catch(() => ({}));
  return res.ok ? (json as Session) : errorText(json);
}

/** The session of the cookie, if any (a reloaded page). */
export async function currentSession(): Promise<Session | null> {
  const res = await sessionCall("GET");
  return res.ok ? ((await res.json()) as Session) : null;
}

export async function logout(): Promise<void> {
  await sessionCall("DELETE");
}
