/**
 * Local fakes of the providers' billing APIs on 127.0.0.1 (node:http), answering with bodies
 * shaped like the real ones (success and error), per route: OpenRouter `/api/v1/credits` and
 * `/api/v1/key`, OpenAI `/v1/organization/costs` and `/v1/organization/usage/completions`,
 * Anthropic `/v1/organizations/cost_report` and `/v1/organizations/usage_report/messages`,
 * Moonshot `/v1/users/me/balance`, DeepSeek `/user/balance`. Each route can be told to fail
 * (status + the provider's own error body, headers) or to hang (a timeout). Requests are
 * recorded (path, query, whether the expected auth header carried the expected key).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Hold the answer this long (ms) before writing it (timeouts). */
  delayMs?: number;
  /** Raw body text instead of JSON. */
  raw?: string;
}

export interface RecordedRequest {
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  apiKeyHeader: string | undefined;
  anthropicVersion: string | undefined;
}

/** The provider's own error body for an HTTP status, as each one shapes it. */
export function errorBody(provider: string, status: number, message: string): unknown {
  if (provider === "anthropic") {
    const type =
      { 401: "authentication_error", 403: "permission_error", 429: "rate_limit_error" }[status] ??
      "api_error";
    return { type: "error", error: { type, message } };
  }
  if (provider === "openrouter") return { error: { code: status, message } };
  // OpenAI, DeepSeek and Moonshot: OpenAI's error envelope
  const type =
    { 401: "invalid_request_error", 403: "permission_denied", 429: "rate_limit_exceeded" }[status] ??
    "server_error";
  return { error: { message, type, param: null, code: status === 401 ? "invalid_api_key" : null } };
}

const DAY = 86_400_000;

export class FakeProviders {
  server: Server;
  port = 0;
  requests: RecordedRequest[] = [];
  /** Per path override (else the default happy answer). */
  overrides = new Map<string, FakeAnswer | ((req: RecordedRequest) => FakeAnswer)>();
  /** Happy-path data the default answers are built from. */
  data = {
    openrouter: {
      totalCredits: 100.5,
      totalUsage: 25.75,
      keyUsage: 25.75,
      usageDaily: 1.25,
      limit: null as number | null,
      limitRemaining: null as number | null,
    },
    /** OpenAI: USD per UTC day (`YYYY-MM-DD` → value as a JSON number), split in two line items. */
    openai: new Map<string, number>(),
    /** Anthropic: cents per UTC day as decimal strings. */
    anthropic: new Map<string, string>(),
    moonshot: { available: 49.58894, voucher: 46.58893, cash: 3.00001 },
    deepseek: [
      { currency: "CNY", total_balance: "110.00", granted_balance: "10.00", topped_up_balance: "100.00" },
    ] as {
      currency: string;
      total_balance: string;
      granted_balance: string;
      topped_up_balance: string;
    }[],
  };

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Base URLs as the config takes them. */
  baseUrls() {
    return {
      openrouter: `${this.url}/api/v1`,
      openai: `${this.url}/v1`,
      anthropic: `${this.url}/v1`,
      moonshot: `${this.url}/v1`,
      deepseek: this.url,
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? "/", this.url);
    const rec: RecordedRequest = {
      path: u.pathname,
      query: u.searchParams,
      authorization: req.headers.authorization,
      apiKeyHeader: req.headers["x-api-key"] as string | undefined,
      anthropicVersion: req.headers["anthropic-version"] as string | undefined,
    };
    this.requests.push(rec);
    const o = this.overrides.get(u.pathname);
    const answer = o ? (typeof o === "function" ? o(rec) : o) : this.happy(rec);
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(answer.status, { "content-type": "application/json", ...(answer.headers ?? {}) });
      res.end(answer.raw ?? JSON.stringify(answer.body));
    };
    if (answer.delayMs) setTimeout(send, answer.delayMs).unref();
    else send();
  }

  private happy(r: RecordedRequest): FakeAnswer {
    const d = this.data;
    switch (r.path) {
      case "/api/v1/credits":
        return {
          status: 200,
          body: { data: { total_credits: d.openrouter.totalCredits, total_usage: d.openrouter.totalUsage } },
        };
      case "/api/v1/key":
        return {
          status: 200,
          body: {
            data: {
              label: "sk-or-v1-au7...890",
              limit: d.openrouter.limit,
              limit_remaining: d.openrouter.limitRemaining,
              limit_reset: null,
              usage: d.openrouter.keyUsage,
              usage_daily: d.openrouter.usageDaily,
              usage_weekly: d.openrouter.usageDaily,
              usage_monthly: d.openrouter.keyUsage,
              byok_usage: 0,
              byok_usage_daily: 0,
              byok_usage_weekly: 0,
              byok_usage_monthly: 0,
              include_byok_in_limit: false,
              is_free_tier: false,
              is_management_key: false,
              is_provisioning_key: false,
              creator_user_id: "user_2dHFtVWx2n56w6HkM0000000000",
              rate_limit: {
                requests: 1000,
                interval: "1h",
                note: "This field is deprecated and safe to ignore.",
              },
            },
          },
        };
      case "/v1/organization/costs": {
        const start = Number(r.query.get("start_time")) * 1000;
        const data = [];
        for (let t = start; t < start + 7 * DAY; t += DAY) {
          const day = new Date(t).toISOString().slice(0, 10);
          const v = d.openai.get(day);
          data.push({
            object: "bucket",
            start_time: t / 1000,
            end_time: t / 1000 + 86400,
            results:
              v === undefined
                ? []
                : [
                    {
                      object: "organization.costs.result",
                      amount: { value: v * 0.75, currency: "usd" },
                      line_item: "gpt-5, input",
                      project_id: null,
                    },
                    {
                      object: "organization.costs.result",
                      amount: { value: v * 0.25, currency: "usd" },
                      line_item: "gpt-5, output",
                      project_id: null,
                    },
                  ],
          });
        }
        return { status: 200, body: { object: "page", data, has_more: false, next_page: null } };
      }
      case "/v1/organization/usage/completions": {
        const start = Number(r.query.get("start_time"));
        return {
          status: 200,
          body: {
            object: "page",
            data: [
              {
                object: "bucket",
                start_time: start,
                end_time: start + 86400,
                results: [
                  {
                    object: "organization.usage.completions.result",
                    input_tokens: 1000,
                    output_tokens: 500,
                    input_cached_tokens: 800,
                    input_audio_tokens: 0,
                    output_audio_tokens: 0,
                    num_model_requests: 5,
                    project_id: null,
                    user_id: null,
                    api_key_id: null,
                    model: null,
                    batch: null,
                  },
                ],
              },
            ],
            has_more: false,
            next_page: null,
          },
        };
      }
      case "/v1/organizations/cost_report": {
        const start = Date.parse(r.query.get("starting_at") ?? "");
        const data = [];
        for (let t = start; t < start + 7 * DAY; t += DAY) {
          const day = new Date(t).toISOString().slice(0, 10);
          const cents = d.anthropic.get(day);
          data.push({
            starting_at: new Date(t).toISOString().replace(".000Z", "Z"),
            ending_at: new Date(t + DAY).toISOString().replace(".000Z", "Z"),
            results:
              cents === undefined
                ? []
                : [
                    {
                      currency: "USD",
                      amount: cents,
                      workspace_id: null,
                      description: "Claude Sonnet 4.5 Usage - Input Tokens",
                      cost_type: "tokens",
                      context_window: "0-200k",
                      model: "claude-sonnet-4-5-20250929",
                      service_tier: "standard",
                      token_type: "uncached_input_tokens",
                    },
                  ],
          });
        }
        return { status: 200, body: { data, has_more: false, next_page: null } };
      }
      case "/v1/organizations/usage_report/messages": {
        const s = r.query.get("starting_at") ?? "";
        return {
          status: 200,
          body: {
            data: [
              {
                starting_at: s,
                ending_at: s,
                results: [
                  {
                    uncached_input_tokens: 1500,
                    cache_creation: { ephemeral_1h_input_tokens: 1000, ephemeral_5m_input_tokens: 500 },
                    cache_read_input_tokens: 200,
                    output_tokens: 500,
                    server_tool_use: { web_search_requests: 0 },
                    api_key_id: null,
                    workspace_id: null,
                    model: null,
                    service_tier: null,
                    context_window: null,
                  },
                ],
              },
            ],
            has_more: false,
            next_page: null,
          },
        };
      }
      case "/v1/users/me/balance":
        return {
          status: 200,
          body: {
            code: 0,
            data: {
              available_balance: d.moonshot.available,
              voucher_balance: d.moonshot.voucher,
              cash_balance: d.moonshot.cash,
            },
            scode: "0x0",
            status: true,
          },
        };
      case "/user/balance":
        return { status: 200, body: { is_available: true, balance_infos: d.deepseek } };
      default:
        return { status: 404, body: { error: { message: `no route ${r.path}` } } };
    }
  }
}
