import { homedir, userInfo } from "node:os";
import { z } from "zod";
import { normalizeAgentId } from "../agent-id.js";
import { AppError, ErrorCode } from "../errors.js";
import { parseCreditsToMicro, toMicroCredits } from "../money.js";
import { type Env, envSchema } from "./schema.js";
import { parseShipTo } from "./ship-to.js";

export { envSchema } from "./schema.js";
export { parseShipTo } from "./ship-to.js";

/**
 * Parses the environment once per entrypoint. Empty strings count as unset; every problem is
 * reported at once, each with its variable's name. Only entrypoints pass `process.env` in.
 */
export function loadConfig(env: Record<string, string | undefined>) {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => v !== undefined && v !== "" && k in envSchema.shape),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new AppError(ErrorCode.InvalidConfig, `invalid environment:\n${z.prettifyError(parsed.error)}`);
  }
  return toConfig(parsed.data);
}

/** A set, non-blank value, trimmed (OpenClaw trims its path variables); else null. */
function trimmed(v: string | undefined): string | null {
  const t = v?.trim();
  return t ? t : null;
}

/**
 * `p` with a leading `~` (alone, or before `/` or `\\`) replaced by `home`, as OpenClaw's
 * `expandHomePrefix` does; `p` unchanged when it has none or `home` is null.
 */
function expandTilde(p: string, home: string | null): string {
  return home === null ? p : p.replace(/^~(?=$|[\\/])/, home);
}

/**
 * What a leading `~` expands to: `HOME` trimmed, else the OS user's home (`os.homedir()`, else the
 * password database's entry: `os.userInfo()`), as OpenClaw falls back; null when neither is known.
 */
function tildeHome(e: Env): string | null {
  const h = trimmed(e.HOME);
  if (h !== null) return h;
  try {
    // os.homedir() returns a set but blank HOME as it is: then the password database's entry
    return trimmed(homedir()) ?? trimmed(userInfo().homedir);
  } catch {
    return null;
  }
}

/**
 * OpenClaw's effective home (`resolveRawHomeDir`, src/infra/home-dir.ts): `OPENCLAW_HOME` trimmed,
 * a leading `~` in it expanded to `HOME` (else `os.homedir()`); else null (creditgate then uses `HOME`).
 */
function openclawHomeOf(e: Env): string | null {
  const explicit = trimmed(e.OPENCLAW_HOME);
  return explicit === null ? null : expandTilde(explicit, tildeHome(e));
}

/**
 * A state dir variable as OpenClaw reads it (`resolveStateDir` → `resolveUserPath`): trimmed, a
 * leading `~` expanded to its effective home (`OPENCLAW_HOME`, else `HOME`).
 */
function stateDirOf(v: string | undefined, e: Env): string | null {
  const t = trimmed(v);
  return t === null ? null : expandTilde(t, openclawHomeOf(e) ?? tildeHome(e));
}

/**
 * Settings that only work in pairs, and what is off when one is set without the other. Half a pair
 * is not refused (a process that needs neither half still runs), but it is a mistake the operator
 * must hear about: before 2026-12-04 it turned the feature off with an info line that read as if
 * neither were set (`stripe is disabled: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET`), and the
 * worker, which logs no startup notes, said nothing at all of a webhook URL without its secret.
 */
const PAIRS: ReadonlyArray<readonly [keyof Env, keyof Env, string]> = [
  ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "Stripe top-ups are disabled"],
  ["MP_ACCESS_TOKEN", "MP_WEBHOOK_SECRET", "MercadoPago top-ups are disabled"],
  [
    "CREDITGATE_ALERT_WEBHOOK_URL",
    "CREDITGATE_ALERT_WEBHOOK_SECRET",
    "operator alerts are not sent to a webhook",
  ],
];

/** One warning per pair of settings of which only one is set (see PAIRS). */
function halfPairWarnings(e: Env): string[] {
  const out: string[] = [];
  for (const [a, b, off] of PAIRS) {
    const hasA = e[a] !== undefined;
    const hasB = e[b] !== undefined;
    if (hasA !== hasB) out.push(`${hasA ? a : b} is set but ${hasA ? b : a} is not: ${off}`);
  }
  return out;
}

/**
 * The public base URL when `PUBLIC_BASE_URL` is unset: this server as `HOST` and `PORT` name it,
 * `http://<HOST>:<PORT>` (a wildcard HOST, `0.0.0.0` / `::`, is `127.0.0.1`; an IPv6 host in
 * brackets). Before 2026-12-04 it was `http://127.0.0.1:8787` whatever `PORT` said: an operator who
 * moved the server to `PORT=9000` got payment return pages and MercadoPago's `notification_url`
 * on a port nothing listens on (case `test/cases/public-base-url-follows-port`).
 */
export function defaultPublicBaseUrl(host: string, port: number): string {
  const h = host.trim();
  const name = h === "" || h === "0.0.0.0" || h === "::" || h === "[::]" ? "127.0.0.1" : h;
  const shown = name.includes(":") && !name.startsWith("[") ? `[${name}]` : name;
  return `http://${shown}:${port}`;
}

/**
 * `CREDITGATE_MARKUP` values that are allowed but most likely a mistake, as warnings (not refused:
 * a deliberate discount or a large resale multiplier stays possible). Under 1 sells every call
 * under its cost; above {@link MARKUP_WARN_ABOVE} reads as a percentage typed as a multiplier
 * (`20` for a 20 % margin charges 20× the cost). Before 2026-12-04 both were accepted silently.
 */
export const MARKUP_WARN_ABOVE = 2;
export function markupWarnings(markup: string): string[] {
  const m = Number(markup);
  if (!Number.isFinite(m) || m <= 0) return [];
  if (m < 1) {
    const pct = Math.round((1 - m) * 10_000) / 100;
    return [
      `CREDITGATE_MARKUP=${markup} is under 1: every call is charged ${pct}% less than it costs (1 = at cost, 1.25 = a 25% margin)`,
    ];
  }
  if (m > MARKUP_WARN_ABOVE) {
    const asPct = Math.round((1 + m / 100) * 10_000) / 10_000;
    return [
      `CREDITGATE_MARKUP=${markup} charges ${markup}× each call's cost; it is a multiplier, not a percentage: for a ${markup}% margin set CREDITGATE_MARKUP=${asPct}`,
    ];
  }
  return [];
}

/**
 * A payment provider enabled while the public base URL names this machine's loopback (unset, so
 * `http://127.0.0.1:<PORT>` from HOST and PORT, or set to `localhost` / `127.x` / `[::1]`): the
 * payer's browser is sent back to a page on their own device, MercadoPago's `notification_url`
 * points where MercadoPago cannot reach (payments then wait for reconcile), and
 * MercadoPago refuses a preference with `auto_return` whose return page is an IP address
 * ("auto_return invalid. back_url.success must be defined": mercadopago/sdk-php#189,
 * odoo/odoo#213287). Before 2026-12-04 nothing said so: a new operator's first top-up link failed
 * or its payment was never credited (case test/cases/public-base-url-loopback-with-payments).
 */
export function publicBaseUrlWarnings(e: Env): string[] {
  const stripe = e.STRIPE_SECRET_KEY !== undefined && e.STRIPE_WEBHOOK_SECRET !== undefined;
  const mp = e.MP_ACCESS_TOKEN !== undefined && e.MP_WEBHOOK_SECRET !== undefined;
  if (!stripe && !mp) return [];
  const url = (e.PUBLIC_BASE_URL ?? defaultPublicBaseUrl(e.HOST, e.PORT)).replace(/\/+$/, "");
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return [];
  }
  const loopback =
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host === "[::1]" ||
    host === "0.0.0.0" ||
    /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!loopback) return [];
  const which = [stripe ? "Stripe" : null, mp ? "MercadoPago" : null].filter((x) => x !== null).join(" and ");
  const where =
    e.PUBLIC_BASE_URL === undefined
      ? `PUBLIC_BASE_URL is not set, so it is ${url} (HOST and PORT)`
      : `PUBLIC_BASE_URL=${url} is this machine`;
  return [
    `${where}: ${which} top-up links send payers back to a page on their own device${mp ? ", MercadoPago's notifications go nowhere (a payment is credited only when reconcile asks MercadoPago, after CREDITGATE_RECONCILE_AFTER_MS) and MercadoPago may refuse the link (auto_return with an IP return page)" : ""}; set PUBLIC_BASE_URL to this server's public https URL`,
  ];
}

function toConfig(e: Env) {
  const [input = "0", output = "0", cacheRead = "0", cacheWrite = "0"] =
    e.CREDITGATE_FALLBACK_PRICE.split(",");
  return Object.freeze({
    /** Configuration mistakes that are not refused (half of a pair of settings): logged as warnings. */
    warnings: Object.freeze([
      ...halfPairWarnings(e),
      ...markupWarnings(e.CREDITGATE_MARKUP),
      ...publicBaseUrlWarnings(e),
    ]),
    dbPath: e.CREDITGATE_DB,
    sources: {
      // a literal `~` (a .env file, a systemd unit: no shell expanded it) is a home, as for OpenClaw
      explicitStateDirs: e.CREDITGATE_STATE_DIRS?.map((d) => expandTilde(d, tildeHome(e))) ?? null,
      openclawStateDir: stateDirOf(e.OPENCLAW_STATE_DIR, e),
      clawdbotStateDir: stateDirOf(e.CLAWDBOT_STATE_DIR, e),
      moltbotStateDir: stateDirOf(e.MOLTBOT_STATE_DIR, e),
      openclawHome: openclawHomeOf(e),
      openclawProfile: e.OPENCLAW_PROFILE ?? null,
      home: e.HOME ?? null,
      // as OpenClaw names the agents' folders (`Main` is `main`)
      agents: e.CREDITGATE_AGENTS ? [...new Set(e.CREDITGATE_AGENTS.map(normalizeAgentId))] : null,
    },
    pricing: {
      mode: e.CREDITGATE_COST_MODE,
      overridesPath: e.CREDITGATE_PRICES ?? null,
      fallbackUsdPerMTok: { input, output, cacheRead, cacheWrite },
      markup: e.CREDITGATE_MARKUP,
      creditsPerUsd: e.CREDITGATE_CREDITS_PER_USD,
    },
    meter: {
      pollMs: e.CREDITGATE_POLL_MS,
      batchSize: e.CREDITGATE_BATCH_SIZE,
      readerThread: e.CREDITGATE_READER_THREAD,
      reviewMaxCallUsd: e.CREDITGATE_REVIEW_MAX_CALL_USD,
      /** Redacted preview length in characters; 0 when CREDITGATE_PREVIEWS is off. */
      previewChars: e.CREDITGATE_PREVIEWS === "on" ? e.CREDITGATE_PREVIEW_CHARS : 0,
    },
    ship: {
      /** The centers, comma-separated, trailing slashes removed (see parseShipTo); null: not an edge. */
      to: e.CREDITGATE_SHIP_TO ? parseShipTo(e.CREDITGATE_SHIP_TO).join(",") : null,
      key: e.CREDITGATE_SHIP_KEY ?? null,
      edgeId: e.CREDITGATE_EDGE_ID ?? null,
      outboxMax: e.CREDITGATE_OUTBOX_MAX,
      batch: e.CREDITGATE_SHIP_BATCH,
      backoffMs: e.CREDITGATE_SHIP_BACKOFF_MS,
      backoffMaxMs: e.CREDITGATE_SHIP_BACKOFF_MAX_MS,
    },
    logLevel: e.CREDITGATE_LOG_LEVEL,
    logFormat: e.CREDITGATE_LOG_FORMAT,
    http: {
      host: e.HOST,
      port: e.PORT,
      publicBaseUrl: (e.PUBLIC_BASE_URL ?? defaultPublicBaseUrl(e.HOST, e.PORT)).replace(/\/+$/, ""),
      apiKey: e.CREDITGATE_API_KEY ?? null,
      rateLimit: { max: e.CREDITGATE_RATE_LIMIT_MAX, timeWindowMs: e.CREDITGATE_RATE_LIMIT_WINDOW_MS },
    },
    payments: {
      packsPath: e.CREDITGATE_PACKS ?? null,
      /** Providers with only one of their two settings set (said in `warnings`, see PAIRS). */
      halfSet: {
        stripe: (e.STRIPE_SECRET_KEY === undefined) !== (e.STRIPE_WEBHOOK_SECRET === undefined),
        mercadoPago: (e.MP_ACCESS_TOKEN === undefined) !== (e.MP_WEBHOOK_SECRET === undefined),
      },
      stripe:
        e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET
          ? {
              secretKey: e.STRIPE_SECRET_KEY,
              webhookSecret: e.STRIPE_WEBHOOK_SECRET,
              ...(e.STRIPE_API_BASE_URL ? { api: stripeApi(e.STRIPE_API_BASE_URL) } : {}),
            }
          : null,
      mercadoPago:
        e.MP_ACCESS_TOKEN && e.MP_WEBHOOK_SECRET
          ? {
              accessToken: e.MP_ACCESS_TOKEN,
              webhookSecret: e.MP_WEBHOOK_SECRET,
              sandbox: e.MP_SANDBOX,
              ...(e.MP_API_BASE_URL ? { apiBaseUrl: e.MP_API_BASE_URL.replace(/\/+$/, "") } : {}),
            }
          : null,
      reconcileAfterMs: e.CREDITGATE_RECONCILE_AFTER_MS,
      autoTopup: {
        maxCharges: e.CREDITGATE_AUTOTOPUP_MAX_CHARGES,
        windowMs: e.CREDITGATE_AUTOTOPUP_WINDOW_MS,
        declineBackoffMs: e.CREDITGATE_AUTOTOPUP_BACKOFF_MS,
      },
    },
    redisUrl: e.REDIS_URL,
    worker: {
      queuePrefix: e.CREDITGATE_QUEUE_PREFIX,
      concurrency: e.CREDITGATE_WORKER_CONCURRENCY,
      timezone: e.CREDITGATE_TIMEZONE,
      language: e.CREDITGATE_LANGUAGE,
      capThresholdsPct: e.CREDITGATE_CAP_THRESHOLDS,
      lowBalanceMicroCredits: toMicroCredits(parseCreditsToMicro(e.CREDITGATE_LOW_BALANCE)),
      lowBalancePct: e.CREDITGATE_LOW_BALANCE_PCT,
      headroom: headroomRule(e.CREDITGATE_HEADROOM),
      spikeFactor: e.CREDITGATE_SPIKE_FACTOR,
      spikeMinMicroCredits: toMicroCredits(parseCreditsToMicro(e.CREDITGATE_SPIKE_MIN)),
      topupUrl: e.CREDITGATE_TOPUP_URL ?? null,
      webhook:
        e.CREDITGATE_ALERT_WEBHOOK_URL && e.CREDITGATE_ALERT_WEBHOOK_SECRET
          ? {
              url: e.CREDITGATE_ALERT_WEBHOOK_URL,
              secret: e.CREDITGATE_ALERT_WEBHOOK_SECRET,
              attempts: e.CREDITGATE_ALERT_ATTEMPTS,
              backoffMs: e.CREDITGATE_ALERT_BACKOFF_MS,
            }
          : null,
      retentionDays: e.CREDITGATE_RETENTION_DAYS,
      /**
       * Usage archive directory (docs/retention.md); default `<CREDITGATE_DB>.archive` (one directory
       * per database). Null on PostgreSQL without CREDITGATE_ARCHIVE_DIR: a URL names no directory.
       */
      // One directory per database by default (`<db file>.archive`): an archive run removes files of
      // its directory that its database does not list, so two databases must never share one.
      archiveDir:
        e.CREDITGATE_ARCHIVE_DIR ??
        (/^postgres(ql)?:\/\//i.test(e.CREDITGATE_DB) ? null : `${e.CREDITGATE_DB}.archive`),
      expiryWarnDays: e.CREDITGATE_EXPIRY_WARN_DAYS,
      reconcileAfterMs: e.CREDITGATE_RECONCILE_AFTER_MS,
    },
    providers: {
      keys: {
        openrouter: providerKey(
          e.CREDITGATE_OPENROUTER_KEY,
          e.CREDITGATE_OPENROUTER_KEY_FILE,
          e.CREDITGATE_OPENROUTER_BASE_URL,
        ),
        openai: providerKey(
          e.CREDITGATE_OPENAI_ADMIN_KEY,
          e.CREDITGATE_OPENAI_ADMIN_KEY_FILE,
          e.CREDITGATE_OPENAI_BASE_URL,
        ),
        anthropic: providerKey(
          e.CREDITGATE_ANTHROPIC_ADMIN_KEY,
          e.CREDITGATE_ANTHROPIC_ADMIN_KEY_FILE,
          e.CREDITGATE_ANTHROPIC_BASE_URL,
        ),
        moonshot: providerKey(
          e.CREDITGATE_MOONSHOT_KEY,
          e.CREDITGATE_MOONSHOT_KEY_FILE,
          e.CREDITGATE_MOONSHOT_BASE_URL,
        ),
        deepseek: providerKey(
          e.CREDITGATE_DEEPSEEK_KEY,
          e.CREDITGATE_DEEPSEEK_KEY_FILE,
          e.CREDITGATE_DEEPSEEK_BASE_URL,
        ),
      },
      fromOpenClaw: e.CREDITGATE_PROVIDERS_FROM_OPENCLAW,
      /** Currency → USD per unit (decimal string), from `CREDITGATE_FX_RATES`; `{}` when unset. */
      fxRates: e.CREDITGATE_FX_RATES ?? ({} as Record<string, string>),
      pollMs: e.CREDITGATE_PROVIDERS_POLL_MS,
      timeoutMs: e.CREDITGATE_PROVIDERS_TIMEOUT_MS,
      alerts: {
        lowBalance: e.CREDITGATE_PROVIDER_LOW_BALANCE,
        lowRunwayDays: e.CREDITGATE_PROVIDER_LOW_RUNWAY_DAYS,
        spikeFactor: e.CREDITGATE_PROVIDER_SPIKE_FACTOR,
        driftPct: e.CREDITGATE_PROVIDER_DRIFT_PCT,
        driftMinUsd: e.CREDITGATE_PROVIDER_DRIFT_MIN_USD,
      },
    },
  });
}

export type Config = ReturnType<typeof loadConfig>;

/**
 * The configuration of an empty environment: every default, exactly as `envSchema` declares it.
 * Code that needs a default of a configurable setting (a fallback when no config is passed in)
 * reads it from here, so each default has one value (the schema's).
 */
export const DEFAULT_CONFIG: Config = toConfig(envSchema.parse({}));

/**
 * How long `serve`, `worker` and `start` let in-flight work finish after SIGINT/SIGTERM (ms); also
 * the worker runtime's default close grace. One value for both.
 */
export const SHUTDOWN_GRACE_MS = 5000;

/**
 * `CREDITGATE_HEADROOM` (already validated) → the limits' headroom rule: `p95`, `off`, or fixed
 * micro-credits (`0` is `off`).
 */
function headroomRule(
  text: string,
): { mode: "p95" } | { mode: "off" } | { mode: "fixed"; microCredits: number } {
  if (text === "p95" || text === "off") return { mode: text };
  const micro = toMicroCredits(parseCreditsToMicro(text), "CREDITGATE_HEADROOM");
  return micro === 0 ? { mode: "off" } : { mode: "fixed", microCredits: micro };
}

/** One provider's key settings (issue #13): the key, a file holding it, and its API base URL. */
function providerKey(value: string | undefined, file: string | undefined, baseUrl: string | undefined) {
  return { value: value ?? null, file: file ?? null, baseUrl: baseUrl ? baseUrl.replace(/\/+$/, "") : null };
}

/** `STRIPE_API_BASE_URL` → the Stripe SDK's `host`, `port`, `protocol` (default ports 443/80). */
function stripeApi(url: string): { host: string; port: number; protocol: "http" | "https" } {
  const u = new URL(url);
  const protocol = u.protocol === "http:" ? "http" : "https";
  return { host: u.hostname, port: u.port ? Number(u.port) : protocol === "https" ? 443 : 80, protocol };
}
