/**
 * Typed HTTP client for the creditgate operator API (`/v1/*`, Bearer key). Every call has a
 * timeout; failures surface as `CreditgateError` with `unreachable` (network, timeout, 5xx)
 * or `http` (a 4xx answer: a real "no"). Request and response shapes live in `api-types.ts`.
 */
import type {
  ApiErrorBody,
  AutoTopupBody,
  AutoTopupView,
  BudgetView,
  Burn,
  Consumo,
  CreatedTopup,
  CreateTopupBody,
  GrantBody,
  LimitRules,
  LimitsResponse,
  Notice,
  Pack,
  PacksResponse,
  ProviderHistory,
  ProviderThresholdsBody,
  ProviderView,
  PushEvent,
  PushUsageBody,
  PushUsageResponse,
  UserStatus,
} from "./api-types.js";

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

  /**
   * `GET /v1/users/:id/status[?agent=]`. With `agentId` (the agent the user talks to), a hard
   * operator budget reached for that agent blocks with reason `operator_budget`.
   */
  status(userId: string, timeoutMs?: number, agentId?: string): Promise<UserStatus> {
    const q = agentId ? `?agent=${encodeURIComponent(agentId)}` : "";
    return this.request("GET", `/v1/users/${seg(userId)}/status${q}`, undefined, timeoutMs);
  }
  consumo(userId: string): Promise<Consumo> {
    return this.request("GET", `/v1/users/${seg(userId)}/consumo`);
  }
  /** `GET /v1/packs` answers `{packs: [...]}` (a bare array is accepted too). */
  async packs(): Promise<Pack[]> {
    const r = await this.request<PacksResponse>("GET", "/v1/packs");
    return Array.isArray(r) ? r : Array.isArray(r?.packs) ? r.packs : [];
  }
  createTopup(body: CreateTopupBody): Promise<CreatedTopup> {
    return this.request("POST", "/v1/topups", body);
  }
  /** `PUT /v1/users/:id/autotopup`: turn auto top-up on (Stripe saved card). */
  setAutoTopup(userId: string, body: AutoTopupBody): Promise<AutoTopupView> {
    return this.request("PUT", `/v1/users/${seg(userId)}/autotopup`, body);
  }
  /** `DELETE /v1/users/:id/autotopup`: turn auto top-up off. */
  disableAutoTopup(userId: string): Promise<AutoTopupView> {
    return this.request("DELETE", `/v1/users/${seg(userId)}/autotopup`);
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
  /** `GET /v1/budgets`: the operator's budgets on provider cost with their current window's spend. */
  async budgets(): Promise<BudgetView[]> {
    const r = await this.request<{ budgets?: BudgetView[]; timeZone?: string }>("GET", "/v1/budgets");
    // each view carries the answer's zone (the budget windows'), so `/burn` tells its times on it
    const zone = typeof r?.timeZone === "string" ? { timeZone: r.timeZone } : {};
    return Array.isArray(r?.budgets) ? r.budgets.map((b) => ({ ...b, ...zone })) : [];
  }
  /** `GET /v1/providers`: the operator's model-provider accounts (balances, burn, runway, drift). */
  async providers(): Promise<ProviderView[]> {
    const r = await this.request<{ providers?: ProviderView[] }>("GET", "/v1/providers");
    return Array.isArray(r?.providers) ? r.providers : [];
  }
  /** `GET /v1/providers/:provider/history?from=` (ISO time or epoch ms; default 7 days). */
  providerHistory(provider: string, q: { from?: string; limit?: number } = {}): Promise<ProviderHistory> {
    const qs = new URLSearchParams();
    if (q.from) qs.set("from", q.from);
    if (q.limit) qs.set("limit", String(q.limit));
    const tail = qs.size > 0 ? `?${qs}` : "";
    return this.request("GET", `/v1/providers/${seg(provider)}/history${tail}`);
  }
  /** `PUT /v1/providers/:provider/alerts` (`all` = every provider's defaults). */
  setProviderThresholds(provider: string, body: ProviderThresholdsBody): Promise<unknown> {
    return this.request("PUT", `/v1/providers/${seg(provider)}/alerts`, body);
  }
  pushUsage(events: PushEvent[]): Promise<PushUsageResponse> {
    const body: PushUsageBody = { events };
    return this.request("POST", "/v1/usage", body);
  }
  /** `GET /v1/users/:id/limits` → the user's own rules (null when none), defaults and effective. */
  getLimits(userId: string): Promise<LimitsResponse> {
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
        const j = JSON.parse(text) as ApiErrorBody;
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
