import { type Command, Option } from "commander";
import { SERVER_BUSY_TIMEOUT_MS } from "../../db/index.js";
import { formatMicroCredits } from "../../money.js";
import type { ProviderName } from "../../payments/index.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { listenFromConfig, operatorApiWarning } from "../listen.js";
import { integerArg } from "../options.js";
import { renderTable, toJson } from "../output.js";

/** `serve`, `topup-link`, `reconcile`, `packs`: the top-up surfaces of the CLI. */
export function registerPaymentCommands(program: Command, ctx: CliContext): void {
  // The HTTP server and the provider SDKs load only when a payment command runs, so that
  // `meter` starts fast and small.
  const setup = async (cmd: Command, opts: { serving?: boolean } = {}) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const config = ctx.config(g);
    // A server must never block its event loop for seconds on another process's write lock.
    const db = ctx.openDb(config, opts.serving ? { busyTimeoutMs: SERVER_BUSY_TIMEOUT_MS } : {});
    const { paymentsFromConfig } = await import("../../server.js");
    const { deps, warnings } = paymentsFromConfig(config, db);
    return { g, config, db, deps, warnings };
  };

  program
    .command("serve")
    .description("run the HTTP server: operator API (/v1), payment landing pages and provider webhooks")
    .action(async (_opts: unknown, cmd: Command) => {
      const { g, config, db, deps, warnings } = await setup(cmd, { serving: true });
      const logger = ctx.logger(config);
      for (const w of warnings) logger.log("info", w);
      const apiOff = await operatorApiWarning(config, db);
      if (apiOff) logger.log("warn", apiOff);
      const server = await listenFromConfig(config, deps, logger);
      // The one result line on stdout: where it listens (logs are on stderr).
      if (g.json)
        ctx.out(
          `${JSON.stringify({ listening: server.address, publicBaseUrl: config.http.publicBaseUrl })}\n`,
        );
      else
        ctx.out(
          `creditgate: listening on ${server.address} (public base URL ${config.http.publicBaseUrl})\n`,
        );
      await server.closed;
    });

  program
    .command("topup-link")
    .description("create a payment link for one user and one credit pack")
    .argument("<user>", "end-user account id, e.g. telegram:123456")
    .requiredOption("--pack <id>", "credit pack id (see `creditgate packs`)")
    .addOption(
      new Option("--provider <name>", "payment provider")
        .choices(["stripe", "mercadopago"])
        .makeOptionMandatory(),
    )
    .option("--currency <code>", "currency, when the pack lists several for the provider")
    .action(
      async (user: string, opts: { pack: string; provider: string; currency?: string }, cmd: Command) => {
        const { g, deps } = await setup(cmd);
        const { createTopup } = await import("../../payments/index.js");
        const created = await createTopup(
          deps,
          {
            userId: user,
            packId: opts.pack,
            provider: opts.provider as ProviderName,
            ...(opts.currency ? { currency: opts.currency } : {}),
          },
          ctx.nowMs(),
        );
        if (g.json) return ctx.out(toJson(created));
        ctx.out(
          renderTable(
            ["topup", "provider", "expires", "url"],
            [[created.topupId, created.provider, created.expiresAt, created.url]],
          ),
        );
      },
    );

  program
    .command("reconcile")
    .description("ask the providers about pending top-ups whose webhook never arrived; safe to repeat")
    .option(
      "--older-than-ms <ms>",
      "only top-ups at least this old (env CREDITGATE_RECONCILE_AFTER_MS)",
      integerArg(0),
    )
    .action(async (opts: { olderThanMs?: number }, cmd: Command) => {
      const { g, config, deps, warnings } = await setup(cmd);
      for (const w of warnings.filter((x) => x.includes("disabled"))) ctx.err(`creditgate: ${w}\n`);
      const { createFulfiller } = await import("../../webhooks/index.js");
      const { reconcileTopups } = await import("../../payments/index.js");
      const fulfiller = createFulfiller(deps.db);
      const olderThanMs = opts.olderThanMs ?? config.payments.reconcileAfterMs;
      const nowMs = ctx.nowMs();
      const results = await reconcileTopups({
        db: deps.db,
        stripe: deps.stripe,
        mercadoPago: deps.mercadoPago,
        apply: (topupId, observation) => fulfiller.apply({ event: null, topupId, observation, nowMs }),
        nowMs,
        olderThanMs,
      });
      if (g.json) return ctx.out(toJson({ checked: results.length, results }));
      if (results.length === 0) return ctx.out("nothing to reconcile: no pending top-ups old enough\n");
      ctx.out(
        renderTable(
          ["topup", "provider", "before", "after", "outcome", "detail"],
          results.map((r) => [r.topupId, r.provider, r.before, r.after, r.outcome, r.detail]),
        ),
      );
      if (results.some((r) => r.outcome === "error")) process.exitCode = 1;
    });

  program
    .command("packs")
    .description("list the credit packs from CREDITGATE_PACKS and their prices")
    .action(async (_opts: unknown, cmd: Command) => {
      const { g, deps, warnings } = await setup(cmd);
      const { minorToDecimal } = await import("../../payments/index.js");
      const packs = deps.packs.list();
      if (g.json) {
        return ctx.out(
          toJson(
            packs.map((p) => ({
              id: p.id,
              title: p.title,
              credits: formatMicroCredits(p.grantMicroCredits),
              grantMicroCredits: p.grantMicroCredits,
              prices: p.prices.map((pr) => ({
                provider: pr.provider,
                currency: pr.currency,
                amount: minorToDecimal(pr.amountMinor, pr.exponent),
                amountMinor: pr.amountMinor,
              })),
            })),
          ),
        );
      }
      if (packs.length === 0) {
        return ctx.out(
          `no packs: ${warnings.find((w) => w.includes("CREDITGATE_PACKS")) ?? "packs file is empty"}\n`,
        );
      }
      ctx.out(
        renderTable(
          ["pack", "title", "credits", "prices"],
          packs.map((p) => [
            p.id,
            p.title,
            formatMicroCredits(p.grantMicroCredits),
            p.prices
              .map((pr) => `${pr.provider} ${minorToDecimal(pr.amountMinor, pr.exponent)} ${pr.currency}`)
              .join("; "),
          ]),
        ),
      );
    });
}
