import { type Command, Option } from "commander";
import { AppError, ErrorCode } from "../../errors.js";
import { createReviewQueue, type HeldEvent, pricerFromConfig } from "../../meter/index.js";
import { decimalToScaled, formatMicroCredits, parseDecimal } from "../../money.js";
import { userArg } from "../account-arg.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { renderTable, safeText, toJson } from "../output.js";

function parseId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new AppError(ErrorCode.InvalidRequest, `review id must be a positive whole number, got "${text}"`);
  return id;
}

const short = (t: string, n: number) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

/**
 * The cost cell: the computed cost, and for a released call what it was billed (since 2026-12-04;
 * before, a call released with `--cost-usd` still read `not priced`).
 */
function costCell(h: HeldEvent): string {
  const computed = h.costUsd === null ? "not priced" : `$${h.costUsd}`; // before 2026-12-04 "-"
  if (h.billedCostUsd === null) return computed;
  return h.billedCostUsd === h.costUsd
    ? `$${h.billedCostUsd} billed`
    : `${computed}, billed $${h.billedCostUsd}`;
}

function rows(items: readonly HeldEvent[]): unknown[][] {
  return items.map((h) => [
    h.id,
    h.status,
    h.billedAccountId === null || h.billedAccountId === h.accountId
      ? h.accountId
      : `${h.accountId} → ${h.billedAccountId}`,
    `${h.provider}/${h.model}`,
    h.totalTokens,
    costCell(h),
    new Date(h.createdAtMs).toISOString(),
    short(h.reason, 80),
    short(h.sourceRef, 60),
  ]);
}

/**
 * `creditgate review`: model calls held instead of billed (absurd cost, timestamp or token count;
 * a call whose billing failed). List them, then release (bill once) or void (never bill) each.
 */
export function registerReviewCommands(program: Command, ctx: CliContext): void {
  const review = program
    .command("review")
    .description("model calls held for review instead of billed: list, release or void them")
    .addOption(
      new Option("--status <status>", "which items")
        .choices(["held", "released", "voided", "all"])
        .default("held"),
    )
    .option("--limit <n>", "at most this many, newest first", "100")
    .action((o: { status: "held" | "released" | "voided" | "all"; limit: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const limit = Number(o.limit);
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new AppError(
          ErrorCode.InvalidRequest,
          `--limit must be a positive whole number, got "${o.limit}"`,
        );
      const config = ctx.config(g);
      const db = ctx.openDb(config, { existing: true });
      try {
        const q = createReviewQueue(db);
        const items = q.list(o.status, limit);
        const summary = q.summary();
        if (g.json) {
          ctx.out(toJson({ ...summary, items }));
          return;
        }
        ctx.out(
          renderTable(
            ["id", "status", "account", "model", "tokens", "cost (USD)", "held at", "reason", "read at"],
            rows(items),
          ),
        );
        ctx.out(
          `${summary.held} held, $${summary.heldCostUsd} computed cost${summary.unpriced > 0 ? `, ${summary.unpriced} not priced (release with --cost-usd)` : ""}\n`,
        );
      } finally {
        db.close();
      }
    });

  review
    .command("release")
    .description(
      "bill a held call exactly once (at its computed cost, priced now if it has none, or --cost-usd)",
    )
    .argument("<id>", "review item id")
    .requiredOption("--reason <text>", "why it is billed (kept in the ledger)")
    .option("--cost-usd <usd>", "bill this provider cost in USD instead of the computed one")
    .option(
      "--account <id>",
      "bill this account instead of the one the call was read for (required when that id holds a lone UTF-16 surrogate)",
    )
    .action((idText: string, o: { reason: string; costUsd?: string; account?: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const id = parseId(idText);
      let costPicoUsd: bigint | undefined;
      if (o.costUsd !== undefined) {
        try {
          costPicoUsd = decimalToScaled(o.costUsd, 12);
        } catch (err) {
          throw new AppError(ErrorCode.InvalidRequest, `--cost-usd: ${(err as Error).message}`);
        }
      }
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      try {
        // the account the meter bills (`Telegram:555` or `ｔｅｌｅｇｒａｍ:５５５` → `telegram:555`), as
        // every other command names one: before 2026-12-04 the id was taken as typed, so the call
        // was debited from a new account nobody is billed under and the user's balance never moved
        // (case test/cases/review-release-account-as-billed)
        const account = o.account === undefined ? undefined : userArg(ctx, db, o.account).accountId;
        const r = createReviewQueue(db).release(id, {
          reason: o.reason,
          ...(costPicoUsd !== undefined ? { costPicoUsd } : {}),
          ...(account !== undefined ? { accountId: account } : {}),
          markup: parseDecimal(config.pricing.markup),
          creditsPerUsd: parseDecimal(config.pricing.creditsPerUsd),
          nowMs: ctx.nowMs(),
          pricer: pricerFromConfig(config),
        });
        if (g.json) ctx.out(toJson(r));
        else if (r.status === "released")
          ctx.out(
            `released #${id}: billed ${formatMicroCredits(r.chargeMicroCredits)} credits to ${safeText(r.accountId)} (usage event ${r.usageEventId}); balance ${formatMicroCredits(r.balanceMicroCredits)}\n`,
          );
        else ctx.out(`#${id} was already released (usage event ${r.usageEventId ?? "-"}); nothing billed\n`);
      } finally {
        db.close();
      }
    });

  review
    .command("void")
    .description("never bill a held call; it is kept with the reason")
    .argument("<id>", "review item id")
    .requiredOption("--reason <text>", "why it is not billed")
    .action((idText: string, o: { reason: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const id = parseId(idText);
      const config = ctx.config(g);
      const db = ctx.openDb(config);
      try {
        const r = createReviewQueue(db).void(id, o.reason, ctx.nowMs());
        if (g.json) ctx.out(toJson(r));
        else
          ctx.out(
            r.status === "voided"
              ? `voided #${id}; it will never be billed\n`
              : `#${id} was already voided\n`,
          );
      } finally {
        db.close();
      }
    });
}
