import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  assertAccountId,
  type createLedger,
  idempotencyKeySchema,
  ledgerEntrySchema,
} from "../../credits/index.js";
import { AppError, ErrorCode } from "../../errors.js";
import { formatMicroCredits, parseCreditsToMicro } from "../../money.js";
import { errorResponses, idParam } from "./shared.js";

export interface LedgerRoutesOptions {
  ledger: ReturnType<typeof createLedger>;
  nowMs: () => number;
}

export const ledgerQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export const grantBodySchema = z.strictObject({
  /** Decimal credits, e.g. "5" or "2.5" (a JSON number is accepted too). */
  credits: z.union([z.string(), z.number().positive()]).transform((v) => String(v)),
  reason: z.string().trim().min(1, "must not be empty").max(500),
  /** The same key grants once (ledger key `grant:<key>`, shared with `creditgate grant --key`). */
  idempotencyKey: idempotencyKeySchema,
});

const grantResponseSchema = z.object({
  userId: z.string(),
  /** `applied` (201) or `duplicate` (200: the key granted before; nothing changed). */
  status: z.string(),
  entryId: z.number().int().nullable(),
  grantedMicroCredits: z.number().int(),
  balanceMicroCredits: z.number().int(),
  balanceCredits: z.string(),
});

/** GET /v1/users/:id/ledger (entries, newest first) and POST /v1/users/:id/grants. */
export const ledgerRoutes: FastifyPluginAsyncZod<LedgerRoutesOptions> = async (api, o) => {
  const { ledger, nowMs } = o;
  api.get(
    "/v1/users/:id/ledger",
    {
      config: { scope: "read" },
      schema: {
        tags: ["ledger"],
        summary: "A user's ledger entries, newest first",
        params: idParam,
        querystring: ledgerQuerySchema,
        response: {
          200: z.object({ userId: z.string(), entries: z.array(ledgerEntrySchema) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      return { userId: id, entries: ledger.entries(id, request.query.limit) };
    },
  );

  api.post(
    "/v1/users/:id/grants",
    {
      config: { scope: "admin" },
      schema: {
        tags: ["ledger"],
        summary: "Grant credits (idempotent per key)",
        params: idParam,
        body: grantBodySchema,
        response: { 200: grantResponseSchema, 201: grantResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      assertAccountId(id);
      const body = request.body;
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
    },
  );
};
