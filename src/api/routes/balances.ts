import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { createLedger } from "../../credits/index.js";
import { accountIdSchema } from "../../credits/index.js";
import type { Db } from "../../db/index.js";
import { formatMicroCredits } from "../../money.js";
import { errorResponses } from "./shared.js";

export interface BalanceRoutesOptions {
  db: Db;
  ledger: ReturnType<typeof createLedger>;
}

export const balancesQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Page after this account id (ids sort as text). */
  after: accountIdSchema.optional(),
  overdrawn: z.stringbool().optional(),
});

const balanceSchema = z.object({
  userId: z.string(),
  balanceMicroCredits: z.number().int(),
  /** Decimal credits, e.g. "2.50". */
  balanceCredits: z.string(),
  overdrawn: z.boolean(),
});

/** GET /v1/balances (paged list) and GET /v1/balances/:userId. */
export const balanceRoutes: FastifyPluginAsyncZod<BalanceRoutesOptions> = async (api, o) => {
  const { db, ledger } = o;
  const listBalances = db.prepare<
    [string, number, number],
    { id: string; kind: string; balance_micro_credits: number; updated_at_ms: number }
  >(
    `SELECT id, kind, balance_micro_credits, updated_at_ms FROM accounts
      WHERE id > ? AND (? = 0 OR balance_micro_credits < 0) ORDER BY id LIMIT ?`,
  );
  api.get(
    "/v1/balances",
    {
      config: { scope: "read" },
      schema: {
        tags: ["balances"],
        summary: "List balances (paged by account id)",
        querystring: balancesQuerySchema,
        response: {
          200: z.object({
            balances: z.array(balanceSchema.extend({ kind: z.string(), updatedAtMs: z.number().int() })),
            /** The `after` of the next page; null on the last one. */
            next: z.string().nullable(),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
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
    },
  );
  api.get(
    "/v1/balances/:userId",
    {
      config: { scope: "read" },
      schema: {
        tags: ["balances"],
        summary: "One user's balance",
        params: z.object({ userId: accountIdSchema }),
        response: { 200: balanceSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { userId } = request.params;
      const micro = ledger.balance(userId)?.balanceMicroCredits ?? 0;
      return {
        userId,
        balanceMicroCredits: micro,
        balanceCredits: formatMicroCredits(micro),
        overdrawn: micro < 0,
      };
    },
  );
};
