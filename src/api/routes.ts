import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { ApiKeys } from "../auth/index.js";
import { SCOPES } from "../auth/index.js";
import { assertAccountId, type createLedger } from "../credits/index.js";
import type { Db } from "../db/index.js";
import { AppError, ErrorCode, formatZodIssues } from "../errors.js";
import { MAX_PUSH_BATCH, type PushIngester, type PushStatus, pushBatchSchema } from "../ingest/index.js";
import { GROUP_BY, parseTimeArg, queryUsageWithHeld } from "../meter/index.js";
import { formatMicroCredits, parseCreditsToMicro } from "../money.js";

export interface OperatorRoutesOptions {
  db: Db;
  ledger: ReturnType<typeof createLedger>;
  apiKeys: ApiKeys;
  ingester: PushIngester | null;
  nowMs: () => number;
  onPushResults?: (counts: Record<PushStatus, number>) => void;
}

/** Push batches are larger than other bodies: 1,000 events of a few hundred bytes each. */
export const PUSH_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

const accountParam = z.object({
  id: z.string().regex(/^[^\s]{1,200}$/, "must be 1-200 characters without spaces"),
});
const timeArg = z.string().min(1).max(40);

export const usageQuerySchema = z.strictObject({
  user: z.string().min(1).max(200).optional(),
  agent: z.string().min(1).max(200).optional(),
  model: z.string().min(1).max(200).optional(),
  /** Like `creditgate usage --since`: ISO date/time, `today`, `7d`, `12h`, `30m`. */
  from: timeArg.optional(),
  /** Exclusive; same formats as `from`. */
  to: timeArg.optional(),
  by: z.enum(GROUP_BY).default("user"),
});
export const ledgerQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export const balancesQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Page after this account id (ids sort as text). */
  after: z.string().min(1).max(200).optional(),
  overdrawn: z.stringbool().optional(),
});
export const grantBodySchema = z.strictObject({
  /** Decimal credits, e.g. "5" or "2.5" (a JSON number is accepted too). */
  credits: z.union([z.string(), z.number().positive()]).transform((v) => String(v)),
  reason: z.string().trim().min(1, "must not be empty").max(500),
  /** The same key grants once (ledger key `grant:<key>`, shared with `creditgate grant --key`). */
  idempotencyKey: z.string().regex(/^[\x21-\x7e]{1,200}$/, "must be 1-200 printable ASCII characters"),
});
export const createKeyBodySchema = z.strictObject({
  scope: z.enum(SCOPES),
  name: z.string().trim().min(1).max(100).optional(),
});
export const keyParam = z.object({ id: z.string().regex(/^[0-9a-f]{12}$/, "must be a key id (12 hex)") });

/**
 * Operator routes added by the HTTP API issue (registered inside the authenticated /v1 scope):
 * usage reports, ledger, balances list, grants, API keys and push ingestion.
 */
export const operatorRoutes: FastifyPluginAsync<OperatorRoutesOptions> = async (api, o) => {
  const { db, ledger, apiKeys, nowMs } = o;

  api.get("/v1/usage", async (request) => {
    const q = usageQuerySchema.parse(request.query);
    const now = nowMs();
    const time = (label: string, v: string | undefined) => {
      if (v === undefined) return undefined;
      try {
        return parseTimeArg(v, now);
      } catch (err) {
        throw new AppError(ErrorCode.InvalidRequest, `${label}: ${(err as Error).message}`);
      }
    };
    const sinceMs = time("from", q.from);
    const untilMs = time("to", q.to);
    const rows = queryUsageWithHeld(db, {
      user: q.user,
      agent: q.agent,
      model: q.model,
      sinceMs,
      untilMs,
      by: q.by,
    });
    return { by: q.by, fromMs: sinceMs ?? null, toMs: untilMs ?? null, rows };
  });

  api.get("/v1/users/:id/ledger", async (request) => {
    const { id } = accountParam.parse(request.params);
    const { limit } = ledgerQuerySchema.parse(request.query);
    return { userId: id, entries: ledger.entries(id, limit) };
  });

  const listBalances = db.prepare<
    [string, number, number],
    { id: string; kind: string; balance_micro_credits: number; updated_at_ms: number }
  >(
    `SELECT id, kind, balance_micro_credits, updated_at_ms FROM accounts
      WHERE id > ? AND (? = 0 OR balance_micro_credits < 0) ORDER BY id LIMIT ?`,
  );
  api.get("/v1/balances", async (request) => {
    const q = balancesQuerySchema.parse(request.query);
    const rows = listBalances.all(q.after ?? "", q.overdrawn ? 1 : 0, q.limit);
    return {
      balances: rows.map((r) => ({
        userId: r.id,
        kind: r.kind,
        balanceMicroCredits: r.balance_micro_credits,
        balanceCredits: formatMicroCredits(r.balance_micro_credits),
        overdrawn: r.balance_micro_credits < 0,
        updatedAtMs: r.updated_at_ms,
      })),
      next: rows.length === q.limit ? (rows.at(-1)?.id ?? null) : null,
    };
  });

  api.post("/v1/users/:id/grants", async (request, reply) => {
    const { id } = accountParam.parse(request.params);
    assertAccountId(id);
    const body = grantBodySchema.parse(request.body ?? {});
    let micro: bigint;
    try {
      micro = parseCreditsToMicro(body.credits);
    } catch (err) {
      throw new AppError(ErrorCode.InvalidRequest, `credits: ${(err as Error).message}`);
    }
    if (micro <= 0n) throw new AppError(ErrorCode.InvalidRequest, "credits: must be greater than 0");
    const r = ledger.post({
      accountId: id,
      kind: "grant",
      amountMicroCredits: micro,
      idempotencyKey: `grant:${body.idempotencyKey}`,
      reason: body.reason,
      nowMs: nowMs(),
    });
    return reply.code(r.status === "applied" ? 201 : 200).send({
      userId: id,
      status: r.status,
      entryId: r.entryId,
      grantedMicroCredits: Number(micro),
      balanceMicroCredits: r.balanceMicroCredits,
      balanceCredits: formatMicroCredits(r.balanceMicroCredits),
    });
  });

  api.get("/v1/keys", { config: { scope: "admin" } }, async () => ({ keys: apiKeys.list() }));
  api.post("/v1/keys", async (request, reply) => {
    const body = createKeyBodySchema.parse(request.body ?? {});
    return reply.code(201).send(apiKeys.create({ scope: body.scope, name: body.name ?? null }, nowMs()));
  });
  api.delete("/v1/keys/:id", async (request) => {
    const { id } = keyParam.parse(request.params);
    if (!apiKeys.revoke(id, nowMs())) {
      throw new AppError(ErrorCode.NotFound, `no active api key ${id}`);
    }
    const info = apiKeys.get(id);
    return info;
  });

  api.post(
    "/v1/usage",
    { bodyLimit: PUSH_BODY_LIMIT_BYTES, config: { scope: "ingest" } },
    async (request) => {
      if (!o.ingester) {
        throw new AppError(ErrorCode.ProviderDisabled, "push ingestion is not configured on this server");
      }
      const parsed = pushBatchSchema.safeParse(request.body ?? {});
      if (!parsed.success) {
        throw new AppError(
          ErrorCode.InvalidRequest,
          `body must be {events: [...]} with 1-${MAX_PUSH_BATCH} events: ${formatZodIssues(parsed.error.issues)}`,
        );
      }
      const keyId = request.principal?.keyId ?? "unknown";
      const results = o.ingester.ingest(parsed.data.events, `push:${keyId}:${request.id}`, keyId);
      const counts: Record<PushStatus, number> = {
        billed: 0,
        duplicate: 0,
        conflict: 0,
        held: 0,
        rejected: 0,
      };
      for (const r of results) counts[r.status]++;
      o.onPushResults?.(counts);
      return { ...counts, results };
    },
  );
};
