/**
 * Gateway RPC methods (WebSocket; `openclaw gateway call billing.balance --params '{...}'`):
 * read scope: `billing.balance`, `billing.user_usage`, `billing.agent_usage`, `billing.providers`,
 * `billing.provider_history` {provider, from?, limit?};
 * admin scope: `billing.set_limits`, `billing.grant`. Params are validated here, before any
 * request reaches creditgate; errors use the gateway's `INVALID_REQUEST` / `UNAVAILABLE` codes.
 */
import { randomUUID } from "node:crypto";
import type { GrantBody, LimitPeriod, LimitRules } from "./api-types.js";
import { type CreditgateClient, CreditgateError } from "./client.js";
import { formatMicroCredits } from "./money.js";
import type { GatewayRequestHandler, PluginApi, PluginLogger } from "./openclaw-types.js";

export class ParamError extends Error {}

/**
 * A write creditgate may or may not have applied (timeout, dropped connection, 5xx) after the
 * plugin's own retries with the same idempotency key. `keyGiven`: the caller chose the key, so
 * sending the same params again is safe; otherwise the key was made here and only a retry that
 * names it (`details.idempotencyKey`) is.
 */
export class UnknownOutcomeError extends Error {
  readonly idempotencyKey: string;
  readonly keyGiven: boolean;
  constructor(message: string, idempotencyKey: string, keyGiven: boolean) {
    super(message);
    this.idempotencyKey = idempotencyKey;
    this.keyGiven = keyGiven;
  }
}

type Params = Record<string, unknown>;

const USER_RE = /^[^\s/]{1,200}$/;
const AGENT_RE = /^[A-Za-z0-9_.-]{1,100}$/;
const CREDITS_RE = /^\d{1,12}(?:\.\d{1,6})?$/;

function onlyKeys(p: Params, allowed: readonly string[]): void {
  const extra = Object.keys(p).filter((k) => !allowed.includes(k));
  if (extra.length) throw new ParamError(`unknown param(s): ${extra.join(", ")}`);
}
function userId(p: Params): string {
  const v = p.userId;
  if (typeof v !== "string" || !USER_RE.test(v.trim())) {
    throw new ParamError("userId: required, 1-200 characters without spaces, e.g. telegram:5550101");
  }
  return v.trim().toLowerCase();
}
function agentId(p: Params): string {
  const v = p.agentId;
  if (typeof v !== "string" || !AGENT_RE.test(v)) throw new ParamError("agentId: required, e.g. main");
  return v;
}
/** Credits as a decimal string or number ("2", "2.5", 2.5) → micro-credits, exact to 6 decimals. */
export function creditsToMicro(v: unknown, field: string, opts: { allowZero: boolean }): number {
  const s = typeof v === "number" && Number.isFinite(v) ? String(v) : v;
  if (typeof s !== "string" || !CREDITS_RE.test(s.trim())) {
    throw new ParamError(`${field}: a non-negative credit amount with at most 6 decimals, e.g. "2.5"`);
  }
  const [i = "0", f = ""] = s.trim().split(".");
  const micro = Number(i) * 1_000_000 + Number(f.padEnd(6, "0"));
  if (!Number.isSafeInteger(micro)) throw new ParamError(`${field}: too large`);
  if (!opts.allowZero && micro === 0) throw new ParamError(`${field}: must be greater than 0`);
  return micro;
}

type Period = LimitPeriod;
const PERIOD_OF: Record<string, Period> = { daily: "day", weekly: "week", monthly: "month" };

/**
 * A change to one user's limits: caps per calendar window (`null` removes that window's caps)
 * and an overdraft allowance. creditgate's `PUT /v1/users/:id/limits` replaces the user's whole
 * rule set, so the client reads the current rules and merges this patch into them
 * (`mergeLimits`).
 */
export interface LimitsPatch {
  caps: Partial<Record<Period, { capMicroCredits: number; kind: "hard" | "soft" } | null>>;
  /** Blocked at balance ≤ -overdraft (creditgate's `floorMicroCredits`). */
  overdraftMicroCredits?: number;
}

export function parseSetLimits(p: Params): { userId: string; patch: LimitsPatch } {
  onlyKeys(p, ["userId", "daily", "weekly", "monthly", "soft", "overdraft"]);
  const u = userId(p);
  if (p.soft !== undefined && typeof p.soft !== "boolean") throw new ParamError("soft: must be a boolean");
  const kind = p.soft === true ? "soft" : "hard";
  const patch: LimitsPatch = { caps: {} };
  for (const [field, period] of Object.entries(PERIOD_OF)) {
    const v = p[field];
    if (v === undefined) continue;
    patch.caps[period] =
      v === null ? null : { capMicroCredits: creditsToMicro(v, field, { allowZero: false }), kind };
  }
  if (p.overdraft !== undefined)
    patch.overdraftMicroCredits = creditsToMicro(p.overdraft, "overdraft", { allowZero: true });
  if (Object.keys(patch.caps).length === 0 && patch.overdraftMicroCredits === undefined)
    throw new ParamError("nothing to set: give daily, weekly, monthly and/or overdraft");
  return { userId: u, patch };
}

const PERIODS: readonly Period[] = ["day", "week", "month"];

/**
 * Applies a patch to the user's current rules: the cap of a patched period and kind is replaced;
 * `null` turns that window off for this user (`capsOff`), and a window and kind the user has no cap
 * in follows the defaults' (`*`) caps. Before 2026-12-04 the caps were written without `capsOff`, which creditgate
 * reads as replacing ALL of the defaults' caps: `billing.setLimits {daily: 3}` for a user without
 * rules dropped the defaults' monthly cap for that user (case limits-user-caps-follow-defaults).
 * Rules stored that way keep their meaning: each window they have no cap in stays off.
 */
export function mergeLimits(current: LimitRules | null, patch: LimitsPatch): LimitRules {
  const next: LimitRules = { ...(current ?? {}) };
  const patched = Object.keys(patch.caps) as Period[];
  if (patched.length > 0) {
    const had = current?.caps ?? [];
    const legacy = current?.caps !== undefined && current.capsOff === undefined;
    const off = new Set<Period>(
      // every window it lacks a cap of either kind in: creditgate follows the defaults per window
      // and kind, and such a rule followed none of them
      legacy
        ? PERIODS.filter(
            (p) => !["hard", "soft"].every((k) => had.some((c) => c.period === p && c.kind === k)),
          )
        : (current?.capsOff ?? []),
    );
    // a cap replaces the window's cap of its kind only (a soft one is an alert before the hard
    // one, own or the defaults'); `null` takes the whole window off. Before 2026-12-05 a soft cap
    // took the window's hard cap away (case limits-soft-cap-keeps-hard-cap)
    const kept = had.filter((c) => {
      const p = patch.caps[c.period];
      return p === undefined || (p !== null && p.kind !== c.kind);
    });
    const added = patched.flatMap((period) => {
      const c = patch.caps[period];
      if (!c) off.add(period);
      else if (c.kind === "hard") off.delete(period);
      return c ? [{ period, capMicroCredits: c.capMicroCredits, kind: c.kind }] : [];
    });
    next.caps = [...kept, ...added];
    next.capsOff = PERIODS.filter((p) => off.has(p));
  }
  if (patch.overdraftMicroCredits !== undefined) next.floorMicroCredits = -patch.overdraftMicroCredits;
  return next;
}

/** Micro-credits → exact decimal credits for creditgate ("2500000" → "2.5", "-2500000" → "-2.5"). */
export function microToCredits(micro: number): string {
  return formatMicroCredits(micro);
}

/**
 * `billing.grant` params → creditgate's `POST /v1/users/:id/grants` body. creditgate requires an
 * idempotency key; without one a fresh key is made, so that call grants once (like
 * `creditgate grant` without `--key`).
 */
export function parseGrant(
  p: Params,
  newKey: () => string = () => `openclaw-gateway:${randomUUID()}`,
): {
  userId: string;
  amountMicroCredits: number;
  body: GrantBody;
  /** Whether the caller gave the idempotency key (else one was made for this call). */
  keyGiven: boolean;
} {
  onlyKeys(p, ["userId", "credits", "reason", "idempotencyKey"]);
  const u = userId(p);
  const amountMicroCredits = creditsToMicro(p.credits, "credits", { allowZero: false });
  if (p.reason !== undefined && (typeof p.reason !== "string" || p.reason.length > 500)) {
    throw new ParamError("reason: a string of at most 500 characters");
  }
  if (
    p.idempotencyKey !== undefined &&
    (typeof p.idempotencyKey !== "string" || !/^[\x21-\x7e]{1,200}$/.test(p.idempotencyKey))
  ) {
    throw new ParamError("idempotencyKey: 1-200 printable ASCII characters without spaces");
  }
  return {
    userId: u,
    amountMicroCredits,
    keyGiven: typeof p.idempotencyKey === "string",
    body: {
      credits: microToCredits(amountMicroCredits),
      reason:
        typeof p.reason === "string" && p.reason.trim() ? p.reason.trim() : "grant via OpenClaw gateway",
      idempotencyKey: typeof p.idempotencyKey === "string" ? p.idempotencyKey : newKey(),
    },
  };
}

interface MethodDeps {
  client: CreditgateClient;
  logger: PluginLogger;
  /** Called after admin changes so the gate sees them at once. */
  invalidate: (userId: string) => void;
  /** Pauses before re-sending a grant whose answer was lost (one retry: the caller waits for all). @defaultValue [250] */
  retryDelaysMs?: readonly number[];
}

/**
 * `POST /v1/users/:id/grants`, applied at most once when its answer is lost. creditgate dedupes
 * grants on the idempotency key, so a grant that timed out, lost its connection or got a 5xx is
 * sent again with the SAME key (a duplicate answers the first grant); if it still has no answer
 * the error names the key. Before 2026-12-04 such a failure answered UNAVAILABLE `retryable: true`
 * while the key was made afresh at each call (none given), so a caller that retried as told (a
 * script, an agent tool, the Control UI) credited the user again with a new key: 5 credits granted
 * twice (case grant-answer-lost-new-key).
 */
export async function grantAtMostOnce(
  client: CreditgateClient,
  userId: string,
  body: GrantBody,
  keyGiven: boolean,
  delaysMs: readonly number[] = [250],
): Promise<unknown> {
  let last: CreditgateError | null = null;
  for (let attempt = 0; attempt <= delaysMs.length; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, delaysMs[attempt - 1]));
    try {
      return await client.grant(userId, body);
    } catch (err) {
      // a 4xx is creditgate's answer (nothing applied); anything else leaves the outcome unknown
      if (err instanceof CreditgateError && err.kind === "http") throw err;
      last = err instanceof CreditgateError ? err : new CreditgateError("unreachable", String(err));
    }
  }
  throw new UnknownOutcomeError(
    `${last?.message ?? "no answer"}; the grant may have been applied: ${
      keyGiven
        ? "retry with the same idempotencyKey"
        : `retry only with idempotencyKey "${body.idempotencyKey}"`
    } to apply it at most once`,
    body.idempotencyKey,
    keyGiven,
  );
}

function method(deps: MethodDeps, name: string, run: (p: Params) => Promise<unknown>): GatewayRequestHandler {
  return async ({ params, respond }) => {
    try {
      respond(true, await run(params ?? {}));
    } catch (err) {
      if (err instanceof ParamError) {
        respond(false, undefined, { code: "INVALID_REQUEST", message: `${name}: ${err.message}` });
      } else if (err instanceof UnknownOutcomeError) {
        deps.logger.warn(`creditgate: ${name} failed: ${err.message}`);
        respond(false, undefined, {
          code: "UNAVAILABLE",
          message: `${name}: ${err.message}`,
          details: { idempotencyKey: err.idempotencyKey },
          retryable: err.keyGiven,
        });
      } else if (err instanceof CreditgateError && err.kind === "http") {
        respond(false, undefined, {
          code: err.status === 404 ? "NOT_FOUND" : "INVALID_REQUEST",
          message: err.message,
          details: { status: err.status, code: err.code },
        });
      } else {
        const message = err instanceof Error ? err.message : String(err);
        deps.logger.warn(`creditgate: ${name} failed: ${message}`);
        respond(false, undefined, { code: "UNAVAILABLE", message, retryable: true });
      }
    }
  };
}

export function registerMethods(api: Pick<PluginApi, "registerGatewayMethod">, deps: MethodDeps): string[] {
  const { client } = deps;
  const defs: [string, "operator.read" | "operator.admin", (p: Params) => Promise<unknown>][] = [
    [
      "billing.balance",
      "operator.read",
      async (p) => {
        onlyKeys(p, ["userId"]);
        const u = userId(p);
        const s = await client.status(u);
        return { userId: u, ...s };
      },
    ],
    [
      "billing.user_usage",
      "operator.read",
      async (p) => {
        onlyKeys(p, ["userId"]);
        return client.consumo(userId(p));
      },
    ],
    [
      "billing.agent_usage",
      "operator.read",
      async (p) => {
        onlyKeys(p, ["agentId"]);
        return client.burn(agentId(p));
      },
    ],
    [
      "billing.providers",
      "operator.read",
      async (p) => {
        onlyKeys(p, []);
        return { providers: await client.providers() };
      },
    ],
    [
      "billing.provider_history",
      "operator.read",
      async (p) => {
        onlyKeys(p, ["provider", "from", "limit"]);
        const provider = p.provider;
        if (typeof provider !== "string" || !/^[a-z]{2,40}$/.test(provider))
          throw new ParamError("provider: required, e.g. openrouter");
        if (p.from !== undefined && (typeof p.from !== "string" || p.from.length > 40))
          throw new ParamError("from: an ISO date/time or epoch ms as a string");
        if (
          p.limit !== undefined &&
          !(Number.isInteger(p.limit) && (p.limit as number) >= 1 && (p.limit as number) <= 5000)
        )
          throw new ParamError("limit: an integer 1-5000");
        return client.providerHistory(provider, {
          ...(typeof p.from === "string" ? { from: p.from } : {}),
          ...(typeof p.limit === "number" ? { limit: p.limit } : {}),
        });
      },
    ],
    [
      "billing.set_limits",
      "operator.admin",
      async (p) => {
        const { userId: u, patch } = parseSetLimits(p);
        const current = await client.getLimits(u);
        const out = await client.setLimits(u, mergeLimits(current.user ?? null, patch));
        deps.invalidate(u);
        return out ?? { ok: true };
      },
    ],
    [
      "billing.grant",
      "operator.admin",
      async (p) => {
        const { userId: u, body, keyGiven } = parseGrant(p);
        const out = await grantAtMostOnce(client, u, body, keyGiven, deps.retryDelaysMs);
        deps.invalidate(u);
        return out ?? { ok: true };
      },
    ],
  ];
  for (const [name, scope, run] of defs) api.registerGatewayMethod(name, method(deps, name, run), { scope });
  return defs.map((d) => d[0]);
}
