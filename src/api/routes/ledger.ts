import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import {
  assertAccountId,
  type createLedger,
  GRANT_KINDS,
  grantSchema,
  idempotencyKeySchema,
  ledgerEntrySchema,
  MAX_GRANT_PRIORITY,
  parseExpiry,
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
  /** Grant kind (burn order, `/consumo` breakdown). @defaultValue "promotional" */
  kind: z.enum(GRANT_KINDS).default("promotional"),
  /** When the unused rest expires: `30d`, `12h`, `90m`, `2026-12-30` (00:00 UTC) or an ISO time; absent: never. */
  expiresAt: z.string().trim().min(1).max(40).optional(),
  /** Burns before grants with a higher number (same expiry). @defaultValue by kind: promotional 10, refund-credit 20, paid 30 */
  priority: z.number().int().min(0).max(MAX_GRANT_PRIORITY).optional(),
});

const grantResponseSchema = z.object({
  userId: z.string(),
  /** `applied` (201) or `duplicate` (200: the key granted before; nothing changed). */
  status: z.string(),
  entryId: z.number().int().nullable(),
  grantedMicroCredits: z.number().int(),
  /**
   * The grant this credit made; on a duplicate the grant the key made first (with its kind and
   * expiry). A replay asking for another kind, priority or expiry (none vs some) is a 409 conflict.
   */
  grantId: z.number().int().nullable(),
  kind: z.enum(GRANT_KINDS),
  /** Epoch ms, null: never. */
  expiresAtMs: z.number().int().nullable(),
  /** The part of the credit that paid earlier debt (a negative balance) first; the rest is spendable. */
  debtPaidMicroCredits: z.number().int(),
  balanceMicroCredits: z.number().int(),
  balanceCredits: z.string(),
});

export const grantsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const grantsResponseSchema = z.object({
  userId: z.string(),
  /** Live grants only (a grant past its expiry that the expiry run has not reached yet is left out). */
  summary: z.object({
    paidMicroCredits: z.number().int(),
    promotionalMicroCredits: z.number().int(),
    refundCreditMicroCredits: z.number().int(),
    debtMicroCredits: z.number().int(),
    nextExpiry: z
      .object({
        atMs: z.number().int(),
        microCredits: z.number().int(),
        kind: z.enum(GRANT_KINDS),
        grantId: z.number().int(),
      })
      .nullable(),
  }),
  /** Newest first: live (remaining may be 0: used up) and expired. */
  grants: z.array(grantSchema),
});

/** GET /v1/users/:id/ledger (entries, newest first), GET and POST /v1/users/:id/grants. */
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

  api.get(
    "/v1/users/:id/grants",
    {
      config: { scope: "read" },
      schema: {
        tags: ["ledger"],
        summary: "A user's grants (paid, promotional, refund credit; remaining, expiry) and their totals",
        params: idParam,
        querystring: grantsQuerySchema,
        response: { 200: grantsResponseSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params;
      return {
        userId: id,
        summary: ledger.summary(id, nowMs()),
        grants: ledger.grants(id, request.query.limit),
      };
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
      const now = nowMs();
      const expiresAtMs = body.expiresAt === undefined ? null : parseExpiry(body.expiresAt, now);
      const r = ledger.post({
        accountId: id,
        kind: "grant",
        amountMicroCredits: micro,
        idempotencyKey: `grant:${body.idempotencyKey}`,
        reason: body.reason,
        nowMs: now,
        grant: {
          kind: body.kind,
          expiresAtMs,
          ...(body.priority === undefined ? {} : { priority: body.priority }),
        },
      });
      const made = r.status === "applied" ? r.split : null;
      // A duplicate answers the grant the key made first (its id, kind and expiry), not this request's.
      const first = r.status === "duplicate" ? r.grant : null;
      return reply.code(r.status === "applied" ? 201 : 200).send({
        userId: id,
        status: r.status,
        entryId: r.entryId,
        grantedMicroCredits: Number(micro),
        grantId: made?.grantId ?? first?.id ?? null,
        kind: first?.kind ?? body.kind,
        expiresAtMs: first ? first.expiresAtMs : expiresAtMs,
        debtPaidMicroCredits: made ? Number(made.debtMicroCredits) : 0,
        balanceMicroCredits: r.balanceMicroCredits,
        balanceCredits: formatMicroCredits(r.balanceMicroCredits),
      });
    },
  );
};
