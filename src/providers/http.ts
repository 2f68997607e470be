import type { z } from "zod";
import { type CollectContext, CollectorError } from "./types.js";

/** Longest provider error text kept inside a message (characters). */
const MAX_MESSAGE = 200;

/**
 * Longest whole error message stored and shown (characters): the method and path, the status,
 * the provider's text (at most {@link MAX_MESSAGE}), or every OpenClaw profile and agent database
 * that could not be used, with why.
 */
export const MAX_STORED_MESSAGE = 800;

/**
 * Removes secrets from text a provider sent back (some echo a masked or partial key): the key
 * itself, anything shaped like a provider key (`sk-…`, `sk-or-v1-…`, `sk-ant-admin01-…`), bearer
 * tokens, and control characters; then cut to `max` characters (default 200) at a word boundary
 * ({@link cutAtWord}). Used on every message before it is stored or logged.
 */
export function redactSecrets(text: string, key?: string, max: number = MAX_MESSAGE): string {
  let t = text;
  if (key && key.length >= 4) t = t.split(key).join("[redacted]");
  t = t
    .replace(/\bsk-[A-Za-z0-9_\-*.]{3,}/g, "sk-[redacted]")
    .replace(/\bBearer\s+\S+/gi, "Bearer [redacted]");
  if (key) t = redactKeyFragments(t, key);
  return cutAtWord(t.replace(/\p{Cc}+/gu, " ").trim(), max);
}

/**
 * `text` cut to at most `max` characters at a word boundary, with "…" when anything was cut
 * (the ellipsis counts toward `max`). A single word longer than half of `max` is cut inside
 * it rather than dropping most of the message. Never splits a surrogate pair.
 */
export function cutAtWord(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  const head = chars.slice(0, max - 1).join("");
  // the last whitespace that still leaves at least half the room used
  const space = head.search(/\s\S*$/);
  const cut = space >= Math.floor(max / 2) ? head.slice(0, space) : head;
  return `${cut.replace(/[\s,;:.\-–—(]+$/u, "")}…`;
}

/** Characters of an HTML page's `<title>` kept in an error message. */
const MAX_TITLE = 80;

/**
 * An HTML error page (a proxy's or CDN's "502 Bad Gateway", a login wall) summarised: its
 * `<title>` (tags stripped, basic entities decoded, whitespace collapsed) as
 * `HTML error page "…"`, or just `HTML error page`; null when `body` is not HTML.
 */
export function summariseHtml(body: string): string | null {
  const head = body.trimStart().slice(0, 512).toLowerCase();
  if (!head.startsWith("<!doctype html") && !head.startsWith("<html") && !/^<(head|body|title)\b/.test(head))
    return null;
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body);
  const title = (m?.[1] ?? "")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(amp|lt|gt|quot|#39|apos|nbsp);/g, (_, e: string) =>
      e === "amp" ? "&" : e === "lt" ? "<" : e === "gt" ? ">" : e === "quot" ? '"' : e === "nbsp" ? " " : "'",
    )
    .replace(/\s+/g, " ")
    .trim();
  return title ? `HTML error page "${cutAtWord(title, MAX_TITLE)}"` : "HTML error page";
}

/** Shortest run of the key's characters treated as a fragment of it (a provider echoing part of a key). */
const KEY_FRAGMENT = 8;

/**
 * Replaces every run of text made of {@link KEY_FRAGMENT}-character pieces of `key` with
 * "[redacted]": a key cut short, or echoed without its public prefix, is not shown either.
 */
function redactKeyFragments(text: string, key: string): string {
  if (key.length < KEY_FRAGMENT || text.length < KEY_FRAGMENT) return text;
  const pieces = new Set<string>();
  for (let i = 0; i + KEY_FRAGMENT <= key.length; i++) pieces.add(key.slice(i, i + KEY_FRAGMENT));
  const hit = new Uint8Array(text.length);
  let any = false;
  for (let i = 0; i + KEY_FRAGMENT <= text.length; i++) {
    if (!pieces.has(text.slice(i, i + KEY_FRAGMENT))) continue;
    hit.fill(1, i, i + KEY_FRAGMENT);
    any = true;
  }
  if (!any) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (!hit[i]) out += text[i];
    else if (i === 0 || !hit[i - 1]) out += "[redacted]";
  }
  return out;
}

/** Most of an error body looked at (characters): redaction runs on it before anything is cut. */
const MAX_ERROR_BODY = 65_536;

/** The longest `Retry-After` honoured (ms): 24 h. A longer one would stop the polls (even `providers poll`) for good. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * `Retry-After` (delta seconds or an HTTP date) → ms from `nowMs`, at most
 * {@link MAX_RETRY_AFTER_MS}, or null when absent or neither form ("1.5", "soon").
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null || value.trim() === "") return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP date names a weekday and month ("Wed, 21 Oct 2015 07:28:00 GMT"); Date.parse alone
  // also takes "1.5" (as 2001-01-05).
  if (!/[A-Za-z]{3}/.test(v)) return null;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/**
 * The message of a provider error body: `{error:{message}}` (OpenAI, OpenRouter, DeepSeek,
 * Moonshot, Anthropic), else an HTML page's summary ({@link summariseHtml}), else the text.
 */
function errorMessageOf(body: string): string {
  try {
    const j = JSON.parse(body) as {
      error?: { message?: unknown; type?: unknown } | string;
      message?: unknown;
    };
    if (typeof j.error === "string") return j.error;
    if (j.error && typeof j.error.message === "string") return j.error.message;
    if (typeof j.message === "string") return j.message;
  } catch {
    // not JSON: an HTML page (a proxy's 502, a login wall) as its title; other text itself, cut
    // to length only after redaction, so a key straddling the cut is never left half-shown
  }
  return summariseHtml(body) ?? body;
}

const HINT: Partial<Record<number, string>> = {
  401: "the key was refused (wrong, revoked or expired)",
  403: "the key may not read billing data",
  429: "rate limited",
};

/**
 * GETs `ctx.baseUrl + path` with `headers`, parses the JSON answer with `schema`, and classifies
 * every failure as a {@link CollectorError}: 401 `unauthorized`, 403 `forbidden`, 429
 * `rate_limited` (with `Retry-After`), 5xx `server`, other statuses `http`, no answer within
 * `ctx.timeoutMs` `timeout`, connection problems `network`, a body that is not JSON or not the
 * schema's shape `shape`. Messages name the method and path and the provider's own message
 * (redacted); never the key or the query string.
 */
export async function getJson<S extends z.ZodType>(
  ctx: CollectContext,
  path: string,
  headers: Record<string, string>,
  schema: S,
  query: Record<string, string | string[]> = {},
): Promise<z.infer<S>> {
  const url = new URL(ctx.baseUrl + path);
  for (const [k, v] of Object.entries(query)) {
    for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, one);
  }
  const what = `GET ${new URL(ctx.baseUrl).pathname.replace(/\/$/, "")}${path}`;
  let res: Response;
  try {
    res = await ctx.fetch(url, {
      method: "GET",
      headers: { accept: "application/json", ...headers },
      signal: AbortSignal.timeout(ctx.timeoutMs),
      redirect: "error",
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.name === "TimeoutError" || e.name === "AbortError")
      throw new CollectorError("timeout", `${what}: no answer within ${ctx.timeoutMs} ms`);
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    throw new CollectorError("network", `${what}: ${redactSecrets(String(why), ctx.key)}`);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    const e = err as Error;
    if (e.name === "TimeoutError" || e.name === "AbortError")
      throw new CollectorError("timeout", `${what}: body not received within ${ctx.timeoutMs} ms`);
    throw new CollectorError("network", `${what}: ${redactSecrets(e.message, ctx.key)}`);
  }
  if (!res.ok) {
    const provider = redactSecrets(errorMessageOf(text.slice(0, MAX_ERROR_BODY)), ctx.key);
    const hint = HINT[res.status] ?? (res.status >= 500 ? "provider error" : "unexpected status");
    const msg = `${what}: HTTP ${res.status} (${hint})${provider ? `: ${provider}` : ""}`;
    if (res.status === 401) throw new CollectorError("unauthorized", msg, 401);
    if (res.status === 403) throw new CollectorError("forbidden", msg, 403);
    if (res.status === 429) {
      const after = parseRetryAfter(res.headers.get("retry-after"), ctx.nowMs);
      throw new CollectorError(
        "rate_limited",
        after === null ? msg : `${msg} (retry after ${Math.ceil(after / 1000)} s)`,
        429,
        after,
      );
    }
    throw new CollectorError(res.status >= 500 ? "server" : "http", msg, res.status);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CollectorError("shape", `${what}: the answer is not JSON (HTTP ${res.status})`, res.status);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new CollectorError(
      "shape",
      `${what}: unexpected response shape (the provider may have changed its API): ${redactSecrets(issues, ctx.key)}`,
      res.status,
    );
  }
  return parsed.data;
}

/** `YYYY-MM-DD` of a UTC instant (ms). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
