/**
 * Typed HTTP client for the creditgate operator API (`/v1/*`, Bearer key). Every call has a
 * timeout; failures surface as `CreditgateError` with `unreachable` (network, timeout, 5xx)
 * or `http` (a 4xx answer: a real "no").
 */
import type { PaymentProvider } from "./config.js";
import type { LimitRules } from "./rpc.js";

export interface StatusWindow {
  period: string;
  capMicroCredits: number;
  spentMicroCredits: number;
  resetsAt: string | null;
}
export interface UserStatus {
  allowed: boolean;
  /** `insufficient_balance`, `daily_cap`, `monthly_cap`, `operator`, ... (null when allowed). */
  reason: string | null;
  balanceMicroCredits: number;
  windows: StatusWindow[];
  topupUrl?: string;
}
export interface UsageTotals {
  requests: number;
  tokens: number;
  chargedMicroCredits: number;
}
export interface ConsumoLimit {
  period: string;
  capMicroCredits: number;
  spentMicroCredits: number;
  kind: "hard" | "soft";
  resetsAt: string | null;
}
export interface Consumo {
  userId: string;
  balanceMicroCredits: number;
  today: UsageTotals;
  month: UsageTotals;
  limits: ConsumoLimit[];
  lowBalance: boolean;
  topupHint?: string;
}
export interface PackPrice {
  provider: PaymentProvider;
  currency: string;
  amount: string;
}
export interface Pack {
  id: string;
  title?: string;
  credits: string;
  prices: PackPrice[];
}
export interface CreatedTopup {
  topupId: string;
  url: string;
  provider: PaymentProvider;
  expiresAt: string;
}
export interface Notice {
  /** creditgate sends a number (the `notices` row id); a string is accepted too. */
  id: string | number;
  userId: string;
  channel: string;
  to: string;
  /**
   * creditgate fills this with the billing account (= `userId`); only a value that differs from
   * `userId` is taken as the channel account (e.g. a second Telegram bot) to send from.
   */
  accountId?: string | null;
  kind: string;
  text: string;
  createdAt: string;
}
export interface Burn {
  agentId: string;
  lastHourMicroCredits: number;
  last24hMicroCredits: number;
  runwayHours?: number | null;
}
export interface GrantBody {
  /** Exact decimal credits, e.g. "2.5". */
  credits: string;
  reason: string;
  /** The same key grants once (creditgate's ledger key `grant:<key>`). */
  idempotencyKey: string;
}
export interface PushEvent {
  idempotencyKey: string;
  agentId: string;
  userId: string;
  provider: string;
  model: string;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  timestampMs: number;
  success: boolean;
  /** The provider response id: creditgate recomputes the meter identity from it (must match the key). */
  responseId?: string;
  /** Part of cacheWrite with a 1-hour TTL, priced at the 1-hour rate. */
  cacheWrite1h?: number;
  /** What the provider charged, USD, sent only with `costOrigin: "provider-billed"`. */
  costUsd?: number;
  costOrigin?: "provider-billed";
}
export interface PushResult {
  idempotencyKey: string;
  status: "billed" | "duplicate" | "conflict" | "held" | "rejected";
  reason?: string;
}

export class CreditgateError extends Error {
  readonly kind: "unreachable" | "http";
  readonly status?: number;
  readonly code?: string;
  constructor(kind: "unreachable" | "http", message: string, status?: number, code?: string) {
    super(message);
    this.name = "CreditgateError";
    this.kind = kind;
    this.status = status;
    this.code = code;
  }
}

export interface ClientOptions {
  baseUrl: string;
  token: string | null;
  timeoutMs: number;
  fetch?: typeof fetch;
}

const seg = (s: string) => encodeURIComponent(s);

export class CreditgateClient {
  private readonly fetchImpl: typeof fetch;
  private readonly opts: ClientOptions;
  constructor(opts: ClientOptions) {
    this.opts = opts;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  status(userId: string, timeoutMs?: number): Promise<UserStatus> {
    return this.request("GET", `/v1/users/${seg(userId)}/status`, undefined, timeoutMs);
  }
  consumo(userId: string): Promise<Consumo> {
    return this.request("GET", `/v1/users/${seg(userId)}/consumo`);
  }
  /** `GET /v1/packs` answers `{packs: [...]}` (a bare array is accepted too). */
  async packs(): Promise<Pack[]> {
    const r = await this.request<Pack[] | { packs?: Pack[] }>("GET", "/v1/packs");
    return Array.isArray(r) ? r : Array.isArray(r?.packs) ? r.packs : [];
  }
  createTopup(body: { userId: string; packId: string; provider: PaymentProvider }): Promise<CreatedTopup> {
    return this.request("POST", "/v1/topups", body);
  }
  notices(limit = 50): Promise<Notice[]> {
    return this.request("GET", `/v1/notices?limit=${limit}`);
  }
  async ackNotice(id: string | number): Promise<void> {
    await this.request("POST", `/v1/notices/${seg(String(id))}/ack`, {});
  }
  burn(agentId: string): Promise<Burn> {
    return this.request("GET", `/v1/agents/${seg(agentId)}/burn`);
  }
  pushUsage(events: PushEvent[]): Promise<{ results: PushResult[] }> {
    return this.request("POST", "/v1/usage", { events });
  }
  /** `GET /v1/users/:id/limits` → the user's own rules (null when none), defaults and effective. */
  getLimits(userId: string): Promise<{ user: LimitRules | null }> {
    return this.request("GET", `/v1/users/${seg(userId)}/limits`);
  }
  /** `PUT /v1/users/:id/limits`: replaces the user's whole rule set. */
  setLimits(userId: string, body: LimitRules): Promise<unknown> {
    return this.request("PUT", `/v1/users/${seg(userId)}/limits`, body);
  }
  /** `POST /v1/users/:id/grants` `{credits: "2.5", reason, idempotencyKey}` (all required). */
  grant(userId: string, body: GrantBody): Promise<unknown> {
    return this.request("POST", `/v1/users/${seg(userId)}/grants`, body);
  }

  async request<T>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.opts.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs ?? this.opts.timeoutMs),
      });
    } catch (err) {
      const why = err instanceof Error && err.name === "TimeoutError" ? "timed out" : describe(err);
      throw new CreditgateError("unreachable", `creditgate ${method} ${pathOnly(path)}: ${why}`);
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) {
      let code: string | undefined;
      let message = `HTTP ${res.status}`;
      try {
        const j = JSON.parse(text) as { error?: { code?: string; message?: string } };
        code = j.error?.code;
        if (j.error?.message) message = `${message}: ${j.error.message}`;
      } catch {
        /* not JSON */
      }
      throw new CreditgateError(
        res.status >= 500 ? "unreachable" : "http",
        `creditgate ${method} ${pathOnly(path)}: ${message}`,
        res.status,
        code,
      );
    }
    if (res.status === 204 || text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CreditgateError("unreachable", `creditgate ${method} ${pathOnly(path)}: invalid JSON`);
    }
  }
}

function pathOnly(p: string) {
  return p.split("?")[0];
}
function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? err.message;
  }
  return String(err);
}
