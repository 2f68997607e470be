/** Stable error codes shared by the CLI, the HTTP API and logs. */
export const ErrorCode = {
  InvalidRequest: "invalid_request",
  InvalidConfig: "invalid_config",
  InvalidSignature: "invalid_signature",
  NotFound: "not_found",
  Conflict: "conflict",
  AmountMismatch: "amount_mismatch",
  ProviderDisabled: "provider_disabled",
  UpstreamUnavailable: "upstream_unavailable",
  Unauthorized: "unauthorized",
  Forbidden: "forbidden",
  RateLimited: "rate_limited",
  Internal: "internal",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_config: 500,
  invalid_signature: 400,
  not_found: 404,
  conflict: 409,
  amount_mismatch: 422,
  provider_disabled: 503,
  upstream_unavailable: 503,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
  internal: 500,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly retryable: boolean;
  readonly context: Readonly<Record<string, unknown>>;
  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryable?: boolean; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.httpStatus = HTTP_STATUS[code];
    this.retryable = opts.retryable ?? code === ErrorCode.UpstreamUnavailable;
    this.context = Object.freeze({ ...opts.context });
  }
}
