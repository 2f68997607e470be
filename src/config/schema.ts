import { z } from "zod";
import { parseShipTo } from "./ship-to.js";

/** A comma-separated setting → its items (each trimmed, empties dropped). */
function splitList(value: string): string[] {
  return value
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
const list = z.string().transform(splitList);
const decimal = z.string().regex(/^\d+(\.\d+)?$/, "must be a plain non-negative decimal like 1 or 1.25");
/**
 * A multiplier on every charge (`CREDITGATE_MARKUP`, `CREDITGATE_CREDITS_PER_USD`): a plain decimal
 * greater than 0. Zero (`0`, `0.0`) was accepted and made every model call cost its user nothing,
 * silently (an operator reading "markup" as a percentage sets `0` for "no margin"): refused.
 */
const multiplier = (what: string) =>
  decimal.refine(
    (v) => !/^[0.]+$/.test(v),
    `must be greater than 0 (${what}); 0 would charge every model call nothing`,
  );
const ratesText = z
  .string()
  .regex(
    /^\d+(\.\d+)?(,\d+(\.\d+)?){3}$/,
    "must be four USD-per-1M-token prices: input,output,cacheRead,cacheWrite (e.g. 15,75,1.5,18.75)",
  );

/** A provider API base URL: http(s), no query, fragment or credentials (a path prefix is kept). */
const providerUrl = z
  .url({ protocol: /^https?$/, error: "must be an http(s) URL like https://api.example.com/v1" })
  .refine((u) => {
    // zod runs this even when the URL check above failed: an unparsable value is already reported
    // there, and throwing here would hide every other config problem behind "Invalid URL".
    if (!URL.canParse(u)) return true;
    const x = new URL(u);
    return !x.search && !x.hash && !x.username && !x.password;
  }, "must be scheme://host[:port][/path] without query, fragment or credentials");

/**
 * `CREDITGATE_FX_RATES`: `CODE=usdPerUnit[,CODE=usdPerUnit…]` (e.g. `CNY=0.1389,EUR=1.08`), USD per
 * one unit of each currency, at most 9 decimals, > 0. Every bad entry is its own issue (all
 * reported at once). Output: currency (upper case) → the rate as a decimal string.
 */
export const fxRatesText = z.string().transform((text, ctx) => {
  const out: Record<string, string> = {};
  // every code seen, valid rate or not: "CNY=abc,CNY=0.1" names both problems in one run
  const seen = new Set<string>();
  const entries = text.split(",").map((x) => x.trim());
  entries.forEach((entry, i) => {
    const m = /^([A-Za-z]{3})\s*=\s*(\S*)$/.exec(entry);
    if (!m) {
      ctx.addIssue({
        code: "custom",
        message: `entry ${i + 1} "${entry}": must be CODE=rate, e.g. CNY=0.1389 (USD per unit)`,
      });
      return;
    }
    const code = (m[1] as string).toUpperCase();
    const rate = m[2] as string;
    if (code === "USD")
      ctx.addIssue({ code: "custom", message: `entry ${i + 1}: USD needs no rate (it is always 1)` });
    else if (seen.has(code))
      ctx.addIssue({ code: "custom", message: `entry ${i + 1}: ${code} is given twice` });
    const first = !seen.has(code);
    seen.add(code);
    if (!/^\d{1,9}(\.\d{1,9})?$/.test(rate))
      ctx.addIssue({
        code: "custom",
        message: `entry ${i + 1} ${code}: "${rate}" must be a plain decimal like 0.1389 (at most 9 decimals)`,
      });
    else if (/^[0.]+$/.test(rate))
      ctx.addIssue({ code: "custom", message: `entry ${i + 1} ${code}: the rate must be greater than 0` });
    else if (code !== "USD" && first) out[code] = rate;
  });
  return out;
});

/** Shortest accepted bootstrap key (CREDITGATE_API_KEY), in characters. */
export const MIN_BOOTSTRAP_KEY_LENGTH = 32;
/** Least estimated entropy of a bootstrap key, in bits (`openssl rand -hex 16` has ~89-128). */
export const MIN_BOOTSTRAP_KEY_BITS = 80;

/**
 * Why `key` is not acceptable as the bootstrap admin key, or null when it is. Refused: fewer
 * than 32 characters; a repeated pattern (`abab…`, `pass1234pass1234…`); or an estimated entropy
 * (per-character Shannon entropy of the key's own characters × its length) under 80 bits, e.g. a
 * key of one or two distinct characters. A heuristic against obvious mistakes, not a proof of
 * randomness: generate the key (`openssl rand -hex 32`). The key itself is never echoed.
 */
export function bootstrapKeyProblem(key: string): string | null {
  const hint = "use a random secret such as the output of `openssl rand -hex 32`";
  const chars = [...key];
  if (chars.length < MIN_BOOTSTRAP_KEY_LENGTH)
    return `must be at least ${MIN_BOOTSTRAP_KEY_LENGTH} characters (got ${chars.length}): ${hint}`;
  for (let period = 1; period <= chars.length / 2; period++) {
    if (chars.every((c, i) => i + period >= chars.length || c === chars[i + period]))
      return `is a repeated pattern, not a random secret: ${hint}`;
  }
  const counts = new Map<string, number>();
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= n * Math.log2(n / chars.length);
  if (bits < MIN_BOOTSTRAP_KEY_BITS)
    return `is too predictable (estimated ${Math.floor(bits)} bits of entropy, at least ${MIN_BOOTSTRAP_KEY_BITS} needed): ${hint}`;
  return null;
}

/**
 * Every environment variable creditgate reads. Each one is documented in `.env.example`
 * (a test keeps the two in sync). Empty strings count as unset.
 */
export const envSchema = z.object({
  // storage
  CREDITGATE_DB: z.string().min(1).default("./data/creditgate.sqlite"),
  // sources
  CREDITGATE_STATE_DIRS: list.optional(),
  OPENCLAW_STATE_DIR: z.string().min(1).optional(),
  CLAWDBOT_STATE_DIR: z.string().min(1).optional(),
  MOLTBOT_STATE_DIR: z.string().min(1).optional(),
  OPENCLAW_HOME: z.string().min(1).optional(),
  OPENCLAW_PROFILE: z.string().min(1).optional(),
  CREDITGATE_AGENTS: list.optional(),
  HOME: z.string().optional(),
  // pricing
  CREDITGATE_COST_MODE: z.enum(["calculate", "recorded", "auto"]).default("auto"),
  CREDITGATE_PRICES: z.string().min(1).optional(),
  CREDITGATE_FALLBACK_PRICE: ratesText.default("15,75,1.5,18.75"),
  CREDITGATE_MARKUP: multiplier("a multiplier on cost: 1 = at cost, 1.25 = a 25% margin").default("1"),
  CREDITGATE_CREDITS_PER_USD: multiplier("credits per USD of marked-up cost, e.g. 1 or 100").default("1"),
  // metering loop
  CREDITGATE_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  CREDITGATE_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(2000),
  /** Read JSONL transcripts on a worker thread (overlaps reading with billing); false: main thread only. */
  CREDITGATE_READER_THREAD: z.stringbool().default(true),
  /** A model call costing more than this (USD) is held for the operator's review, not billed. */
  CREDITGATE_REVIEW_MAX_CALL_USD: decimal.default("200"),
  /** Redacted previews of each call's user message and reply (docs/previews.md): off by default. */
  CREDITGATE_PREVIEWS: z.enum(["off", "on"]).default("off"),
  /** Preview length in characters (code points), when previews are on. */
  CREDITGATE_PREVIEW_CHARS: z.coerce.number().int().min(16).max(2000).default(160),
  // edge meter (meter --ship-to): ship read calls to a central creditgate instead of billing here
  /**
   * The center's base URL (its `POST /v1/usage`), or several separated by commas (centers on one
   * database: the edge fails over to the next one); set: `creditgate meter` is an edge meter.
   */
  CREDITGATE_SHIP_TO: z
    .string()
    .superRefine((s, ctx) => {
      try {
        parseShipTo(s);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
      }
    })
    .optional(),
  /** The center's API key for pushing (scope `push`; `ingest`/`admin` work too). */
  CREDITGATE_SHIP_KEY: z.string().min(1).optional(),
  /** This edge meter's id (stored on the center's usage rows); default: the host name. */
  CREDITGATE_EDGE_ID: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, "letters, digits and . _ : - only, at most 100")
    .optional(),
  /** Outbox rows kept while the center is unreachable; reading pauses when full (never drops). */
  CREDITGATE_OUTBOX_MAX: z.coerce.number().int().min(1).max(100_000_000).default(200_000),
  /** Outbox rows per push request (the center takes at most 1000). */
  CREDITGATE_SHIP_BATCH: z.coerce.number().int().min(1).max(1000).default(500),
  /** First retry delay after a failed push, doubled each failure (full jitter), up to the max. */
  CREDITGATE_SHIP_BACKOFF_MS: z.coerce.number().int().min(1).max(3_600_000).default(1000),
  CREDITGATE_SHIP_BACKOFF_MAX_MS: z.coerce.number().int().min(1).max(86_400_000).default(60_000),
  CREDITGATE_LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  /** stderr log lines: `pretty` (time LEVEL message key=value), `json` (pino lines), `auto` (pretty on a TTY). */
  CREDITGATE_LOG_FORMAT: z.enum(["auto", "pretty", "json"]).default("auto"),
  // HTTP server
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8787),
  /**
   * Unset: `http://<HOST>:<PORT>` (`127.0.0.1` for a wildcard HOST), see `defaultPublicBaseUrl`.
   * Before 2026-12-04 it defaulted to `http://127.0.0.1:8787` whatever PORT said.
   */
  PUBLIC_BASE_URL: z.url().optional(),
  /** Bootstrap admin key: long and random, see `bootstrapKeyProblem`. */
  CREDITGATE_API_KEY: z
    .string()
    .superRefine((key, ctx) => {
      const problem = bootstrapKeyProblem(key);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .optional(),
  /** Requests per API key per window on /v1 (429 past it). */
  CREDITGATE_RATE_LIMIT_MAX: z.coerce.number().int().min(1).max(1_000_000).default(600),
  CREDITGATE_RATE_LIMIT_WINDOW_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  // payments
  CREDITGATE_PACKS: z.string().min(1).optional(),
  STRIPE_SECRET_KEY: z.string().min(1).optional(),
  /**
   * One endpoint signing secret, or several separated by commas: a secret being rolled, or two
   * endpoints delivering to this server (each has its own secret). An event signed by any is accepted.
   */
  STRIPE_WEBHOOK_SECRET: z
    .string()
    .refine((v) => {
      const secrets = splitList(v);
      return secrets.length > 0 && secrets.every((x) => x.startsWith("whsec_") && x.length > "whsec_".length);
    }, "must be whsec_… (several: comma-separated, each whsec_…)")
    .optional(),
  MP_ACCESS_TOKEN: z.string().min(1).optional(),
  /** The webhook secret signature, or several comma-separated (the old one while MercadoPago's reset settles). */
  MP_WEBHOOK_SECRET: z
    .string()
    .refine((v) => splitList(v).length > 0, "must be a secret (several: comma-separated)")
    .optional(),
  /**
   * Point the official SDKs at another host (stripe-mock, an egress/reverse proxy). Stripe's SDK
   * takes a scheme, host and port only (no path); MercadoPago's may carry a path prefix.
   */
  STRIPE_API_BASE_URL: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL like http://127.0.0.1:12111" })
    .refine((u) => {
      const x = new URL(u);
      return (x.pathname === "/" || x.pathname === "") && !x.search && !x.hash && !x.username;
    }, "must be scheme://host[:port] only: the Stripe SDK takes no path, query or credentials")
    .optional(),
  MP_API_BASE_URL: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL like https://mp-proxy.internal" })
    .refine((u) => {
      const x = new URL(u);
      return !x.search && !x.hash && !x.username;
    }, "must be scheme://host[:port][/path] without query or credentials")
    .optional(),
  /** true with MercadoPago test credentials: links use `sandbox_init_point`, payments must have live_mode=false. */
  MP_SANDBOX: z.stringbool().default(false),
  /** `creditgate reconcile` asks providers about pending top-ups older than this. */
  CREDITGATE_RECONCILE_AFTER_MS: z.coerce.number().int().min(0).default(300_000),
  /** Auto top-up: at most MAX_CHARGES off-session charges per account per WINDOW_MS. */
  CREDITGATE_AUTOTOPUP_MAX_CHARGES: z.coerce.number().int().min(1).max(100).default(3),
  CREDITGATE_AUTOTOPUP_WINDOW_MS: z.coerce.number().int().min(1000).max(86_400_000).default(600_000),
  /** Auto top-up: no charge for this long after a declined one. */
  CREDITGATE_AUTOTOPUP_BACKOFF_MS: z.coerce.number().int().min(0).max(604_800_000).default(3_600_000),
  // queue (worker issue)
  REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
  /** BullMQ key prefix: several creditgate installs can share one Redis. */
  CREDITGATE_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, "must be 1-40 letters, digits, - or _")
    .default("creditgate"),
  CREDITGATE_WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  // limits and alerts (worker)
  /** IANA time zone of the calendar windows (day/week/month caps reset at local midnight). */
  CREDITGATE_TIMEZONE: z
    .string()
    .refine(isTimeZone, "must be an IANA time zone such as UTC or America/Argentina/Buenos_Aires")
    .default("UTC"),
  CREDITGATE_LANGUAGE: z.enum(["en", "es"]).default("en"),
  CREDITGATE_CAP_THRESHOLDS: z
    .string()
    .regex(/^\d{1,3}(,\d{1,3})*$/, "must be comma-separated percentages like 50,80,100")
    .transform((s) => [...new Set(s.split(",").map(Number))].sort((a, b) => a - b))
    .refine((a) => a.every((n) => n >= 1 && n <= 100), "each percentage must be 1-100")
    .default([50, 80, 100]),
  CREDITGATE_LOW_BALANCE: decimal.default("1"),
  CREDITGATE_LOW_BALANCE_PCT: z.coerce.number().int().min(0).max(100).default(20),
  /**
   * Pre-call headroom: `p95` (the 95th percentile charge of the agent's model's recent calls),
   * `off` (or `0`), or a fixed amount of credits such as `0.05`.
   */
  CREDITGATE_HEADROOM: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^(p95|off|\d+(\.\d{1,6})?)$/, "must be p95, off, or credits like 0.05 (at most 6 decimals)")
    .default("p95"),
  CREDITGATE_SPIKE_FACTOR: z.coerce.number().int().min(2).max(1000).default(5),
  CREDITGATE_SPIKE_MIN: decimal.default("1"),
  CREDITGATE_TOPUP_URL: z.url().optional(),
  CREDITGATE_ALERT_WEBHOOK_URL: z.url().optional(),
  CREDITGATE_ALERT_WEBHOOK_SECRET: z.string().min(16, "must be at least 16 characters").optional(),
  CREDITGATE_ALERT_ATTEMPTS: z.coerce.number().int().min(1).max(30).default(8),
  CREDITGATE_ALERT_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(5000),
  CREDITGATE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  /** Usage archive files (docs/retention.md); default: `<CREDITGATE_DB>.archive` (may be shared between databases: each deletes only its own leftovers). */
  CREDITGATE_ARCHIVE_DIR: z.string().min(1).optional(),
  /** Days before a grant's expiry that the user is told "N credits expire in D days" (0 = never). */
  CREDITGATE_EXPIRY_WARN_DAYS: z.coerce.number().int().min(0).max(365).default(3),
  // provider accounts (issue #13, docs/providers.md): a key (or a file holding it) per provider
  // enables its collector; base URLs point a collector at a proxy or a local fake.
  CREDITGATE_OPENROUTER_KEY: z.string().min(1).optional(),
  CREDITGATE_OPENROUTER_KEY_FILE: z.string().min(1).optional(),
  CREDITGATE_OPENROUTER_BASE_URL: providerUrl.optional(),
  CREDITGATE_OPENAI_ADMIN_KEY: z.string().min(1).optional(),
  CREDITGATE_OPENAI_ADMIN_KEY_FILE: z.string().min(1).optional(),
  CREDITGATE_OPENAI_BASE_URL: providerUrl.optional(),
  CREDITGATE_ANTHROPIC_ADMIN_KEY: z.string().min(1).optional(),
  CREDITGATE_ANTHROPIC_ADMIN_KEY_FILE: z.string().min(1).optional(),
  CREDITGATE_ANTHROPIC_BASE_URL: providerUrl.optional(),
  CREDITGATE_MOONSHOT_KEY: z.string().min(1).optional(),
  CREDITGATE_MOONSHOT_KEY_FILE: z.string().min(1).optional(),
  CREDITGATE_MOONSHOT_BASE_URL: providerUrl.optional(),
  CREDITGATE_DEEPSEEK_KEY: z.string().min(1).optional(),
  CREDITGATE_DEEPSEEK_KEY_FILE: z.string().min(1).optional(),
  CREDITGATE_DEEPSEEK_BASE_URL: providerUrl.optional(),
  /** Also read API keys, read-only, from the OpenClaw install's auth profiles (opt-in). */
  CREDITGATE_PROVIDERS_FROM_OPENCLAW: z.stringbool().default(false),
  /** How often each configured provider is polled (ms); each poll is jittered by up to 10 %. */
  CREDITGATE_PROVIDERS_POLL_MS: z.coerce.number().int().min(60_000).max(86_400_000).default(900_000),
  /** Per-request timeout of a provider billing API call (ms). */
  CREDITGATE_PROVIDERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  /** Provider balance alert, in the provider's own currency (USD, CNY). */
  CREDITGATE_PROVIDER_LOW_BALANCE: decimal.default("5"),
  /** Provider runway alert: balance lasts fewer than this many days at the current burn. */
  CREDITGATE_PROVIDER_LOW_RUNWAY_DAYS: decimal.default("3"),
  /** Provider spend spike: last hour >= factor x the trailing 24 h hourly average. */
  CREDITGATE_PROVIDER_SPIKE_FACTOR: z.coerce.number().int().min(2).max(1000).default(4),
  /** Drift alert: provider-reported vs metered spend per day differ by more than this %... */
  CREDITGATE_PROVIDER_DRIFT_PCT: z.coerce.number().int().min(1).max(1000).default(10),
  /** ...and by at least this many USD (also the spend-spike floor). */
  CREDITGATE_PROVIDER_DRIFT_MIN_USD: decimal.default("1"),
  /** USD per unit of non-USD provider currencies, `CNY=0.1389,EUR=1.08` (drift, USD equivalents). */
  CREDITGATE_FX_RATES: fxRatesText.optional(),
});

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export type Env = z.infer<typeof envSchema>;
