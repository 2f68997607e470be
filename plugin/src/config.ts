/**
 * Plugin config (`plugins.entries.creditgate.config`). The host validates it against the
 * manifest's JSON schema before loading; this module applies defaults and is defensive anyway
 * (Clawdbot validated less strictly, and unit tests pass raw objects).
 */

export type Language = "es" | "en";

/**
 * The language to answer a user in: the one creditgate says the operator chose for them (their
 * limit rules, else `'*'`; the language of their notices), else the plugin's own `language`. Before
 * 2026-12-04 the plugin always answered in its own, so a user set to English read the gate's
 * refusal, /consumo and /saldo in Spanish beside English notices (case chat-reply-user-language).
 */
export function userLanguage(chosen: unknown, fallback: Language): Language {
  const l = typeof chosen === "string" ? chosen.trim().toLowerCase() : "";
  return l === "en" || l === "es" ? l : fallback;
}
export type PaymentProvider = "stripe" | "mercadopago";
export const PAYMENT_PROVIDERS: readonly PaymentProvider[] = ["stripe", "mercadopago"];

export interface CommandToggles {
  consumo: boolean;
  saldo: boolean;
  recargar: boolean;
  burn: boolean;
  /** `/tokens`: provider account balances and runway (operator only). */
  tokens: boolean;
}

export interface PluginConfig {
  /** creditgate base URL, e.g. `http://127.0.0.1:8787`. */
  apiUrl: string;
  /** Operator API key (Bearer). Falls back to env `CREDITGATE_API_KEY`. */
  apiToken: string | null;
  language: Language;
  commands: CommandToggles;
  /** Gate blocked users before the model (before_dispatch + before_agent_reply). */
  gating: boolean;
  /** When creditgate is unreachable: true = let messages through (logged), false = refuse them. */
  failOpen: boolean;
  /** Send assistant usage from `before_message_write` to `POST /v1/usage` (transcripts stay the truth). */
  pushUsage: boolean;
  /** How long a user's status is trusted before asking creditgate again. */
  statusTtlMs: number;
  /**
   * How long a BLOCKED status is trusted (at most `statusTtlMs`): 0 (default) asks creditgate again
   * at each message of a blocked user, so a top-up lifts the gate on the very next message.
   */
  blockedStatusTtlMs: number;
  defaultProvider: PaymentProvider;
  /** Per-request timeout towards creditgate. Gating uses min(this, 2000). */
  requestTimeoutMs: number;
  /** How often the notice service polls `GET /v1/notices`. */
  noticePollMs: number;
  /** Deliver notices (needs a running gateway with the channel configured). */
  deliverNotices: boolean;
  /** Users allowed to run `/burn` where the host cannot tell the owner (Clawdbot), e.g. `telegram:5550101`. */
  operators: string[];
}

export const DEFAULTS: PluginConfig = {
  apiUrl: "http://127.0.0.1:8787",
  apiToken: null,
  language: "es",
  commands: { consumo: true, saldo: true, recargar: true, burn: true, tokens: true },
  gating: true,
  failOpen: true,
  pushUsage: false,
  statusTtlMs: 15_000,
  blockedStatusTtlMs: 0,
  defaultProvider: "stripe",
  requestTimeoutMs: 3_000,
  noticePollMs: 5_000,
  deliverNotices: true,
  operators: [],
};

function bool(v: unknown, d: boolean): boolean {
  return typeof v === "boolean" ? v : d;
}
function int(v: unknown, d: number, min: number, max: number): number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? v : d;
}

export function resolveConfig(raw: Record<string, unknown> | undefined, env = process.env): PluginConfig {
  const r = raw ?? {};
  const cmds = (typeof r.commands === "object" && r.commands !== null ? r.commands : {}) as Record<
    string,
    unknown
  >;
  const apiUrl =
    typeof r.apiUrl === "string" && r.apiUrl.trim() ? r.apiUrl.trim().replace(/\/+$/, "") : DEFAULTS.apiUrl;
  const token =
    typeof r.apiToken === "string" && r.apiToken.trim() ? r.apiToken.trim() : env.CREDITGATE_API_KEY?.trim();
  return {
    apiUrl,
    apiToken: token ? token : null,
    language: r.language === "en" ? "en" : "es",
    commands: {
      consumo: bool(cmds.consumo, true),
      saldo: bool(cmds.saldo, true),
      recargar: bool(cmds.recargar, true),
      burn: bool(cmds.burn, true),
      tokens: bool(cmds.tokens, true),
    },
    gating: bool(r.gating, DEFAULTS.gating),
    failOpen: bool(r.failOpen, DEFAULTS.failOpen),
    pushUsage: bool(r.pushUsage, DEFAULTS.pushUsage),
    statusTtlMs: int(r.statusTtlMs, DEFAULTS.statusTtlMs, 0, 3_600_000),
    blockedStatusTtlMs: int(r.blockedStatusTtlMs, DEFAULTS.blockedStatusTtlMs, 0, 3_600_000),
    defaultProvider: r.defaultProvider === "mercadopago" ? "mercadopago" : "stripe",
    requestTimeoutMs: int(r.requestTimeoutMs, DEFAULTS.requestTimeoutMs, 100, 60_000),
    noticePollMs: int(r.noticePollMs, DEFAULTS.noticePollMs, 200, 3_600_000),
    deliverNotices: bool(r.deliverNotices, DEFAULTS.deliverNotices),
    operators: Array.isArray(r.operators)
      ? r.operators.filter((x): x is string => typeof x === "string").map((x) => x.trim().toLowerCase())
      : [],
  };
}

/** The manifest's `configSchema` (both manifests carry a copy; a test keeps them equal). */
export const CONFIG_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    apiUrl: { type: "string", description: "creditgate base URL, e.g. http://127.0.0.1:8787" },
    apiToken: { type: "string", description: "creditgate operator API key (Bearer)" },
    language: { type: "string", enum: ["es", "en"], default: "es" },
    commands: {
      type: "object",
      additionalProperties: false,
      properties: {
        consumo: { type: "boolean", default: true },
        saldo: { type: "boolean", default: true },
        recargar: { type: "boolean", default: true },
        burn: { type: "boolean", default: true },
        tokens: { type: "boolean", default: true },
      },
    },
    gating: { type: "boolean", default: true },
    failOpen: { type: "boolean", default: true },
    pushUsage: { type: "boolean", default: false },
    statusTtlMs: { type: "integer", minimum: 0, maximum: 3600000, default: 15000 },
    blockedStatusTtlMs: { type: "integer", minimum: 0, maximum: 3600000, default: 0 },
    defaultProvider: { type: "string", enum: ["stripe", "mercadopago"], default: "stripe" },
    requestTimeoutMs: { type: "integer", minimum: 100, maximum: 60000, default: 3000 },
    noticePollMs: { type: "integer", minimum: 200, maximum: 3600000, default: 5000 },
    deliverNotices: { type: "boolean", default: true },
    operators: { type: "array", items: { type: "string" } },
  },
} as const;
