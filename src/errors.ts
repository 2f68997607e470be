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
  /** Another process holds the database's write lock for longer than a request may wait. */
  Busy: "busy",
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
  busy: 503,
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
    this.retryable = opts.retryable ?? (code === ErrorCode.UpstreamUnavailable || code === ErrorCode.Busy);
    this.context = Object.freeze({ ...opts.context });
  }
}

/**
 * A zod error as ONE readable line naming each field, e.g.
 * `reason: must not be empty; idempotencyKey: Invalid input: expected string, received undefined`.
 * Issues without a path (the whole value) read `body: …`; at most 5 are listed, then `(+N more)`.
 */
export function formatZodIssues(
  all: readonly { path: readonly PropertyKey[]; message: string }[],
  root = "body",
): string {
  // One problem per field: a value failing two checks (`.int()` and `.min()` on 1e20) was reported
  // twice under one name (`floorMicroCredits: Too small: expected int …; floorMicroCredits: Too
  // small: expected number …`, before 2026-12-04): the first check's message says enough.
  const seen = new Set<string>();
  const issues = all.filter((i) => {
    const key = JSON.stringify(i.path.map(String));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const parts = issues.slice(0, 5).map((i) => {
    const path =
      i.path.length === 0
        ? root
        : i.path.map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".");
    return `${path.replace(/\.\[/g, "[")}: ${i.message.replace(/\s+/g, " ").trim()}`;
  });
  if (issues.length > 5) parts.push(`(+${issues.length - 5} more)`);
  return parts.join("; ");
}
