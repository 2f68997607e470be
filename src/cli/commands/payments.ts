import { type Command, Option } from "commander";
import { formatMicroCredits } from "../../money.js";
import type { AutoTopupView, ProviderName } from "../../payments/index.js";
import { userArg } from "../account-arg.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { integerArg } from "../options.js";
import { renderTable, safeText, toJson } from "../output.js";

/** `topup-link`, `reconcile`, `packs`: the top-up surfaces of the CLI (`serve` is in run.ts). */
export function registerPaymentCommands(program: Command, ctx: CliContext): void {
  // The provider SDKs load only when a payment command runs, so that `meter` starts fast and small.
  const setup = async (cmd: Command) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const config = ctx.config(g);
    const { createServices } = await import("../../services.js");
    const services = await createServices(config, { openDb: (c, o) => ctx.openDb(c, o) });
    return { g, config, services, deps: services.payments, warnings: services.warnings };
  };

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
    .option("--save-card", "save the card for auto top-up (Stripe only; see `creditgate autotopup`)")
    .action(
      async (
        user: string,
        opts: { pack: string; provider: string; currency?: string; saveCard?: boolean },
        cmd: Command,
      ) => {
        const { g, deps, config } = await setup(cmd);
        // the link's return pages and notification URL on this machine's loopback: said here too,
        // where the operator makes the link (case public-base-url-loopback-with-payments)
        for (const w of config.warnings)
          if (w.startsWith("PUBLIC_BASE_URL")) ctx.err(`warn: ${safeText(w)}\n`);
        // the account the meter bills (`slack:U07ABC` → `slack:u07abc`): a paid top-up never opens a second one
        user = userArg(ctx, deps.db, user).accountId;
        const { createTopup } = await import("../../payments/index.js");
        const created = await createTopup(
          deps,
          {
            userId: user,
            packId: opts.pack,
            provider: opts.provider as ProviderName,
            ...(opts.currency ? { currency: opts.currency } : {}),
            ...(opts.saveCard ? { saveCard: true } : {}),
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

  const autotopup = program
    .command("autotopup")
    .description("auto top-up: charge a user's saved card (Stripe) for a pack when the balance runs low");
  const showAutoTopup = (g: GlobalOptions, view: AutoTopupView) => {
    if (g.json) return ctx.out(toJson(view));
    const card = view.card ? `${view.card.brand ?? "card"} •••• ${view.card.last4 ?? "????"}` : "none saved";
    const last = view.lastCharge
      ? `${view.lastCharge.state}${view.lastCharge.declineCode ? ` (${view.lastCharge.declineCode})` : ""} ${view.lastCharge.at}`
      : "–";
    ctx.out(
      renderTable(
        ["user", "enabled", "pack", "below (credits)", "card", "last charge"],
        [[view.userId, view.enabled ? "yes" : "no", view.packId ?? "–", view.threshold ?? "–", card, last]],
      ),
    );
    if (view.needsCard) {
      ctx.out(
        `no card saved yet: send a save-card link (creditgate topup-link ${view.userId} --pack ${view.packId} --provider stripe --save-card)\n`,
      );
    }
  };
  autotopup
    .command("set")
    .description("turn auto top-up on: charge --pack when the balance drops below --threshold credits")
    .argument("<user>", "end-user account id, e.g. telegram:123456")
    .requiredOption("--pack <id>", "credit pack id with a Stripe price (see `creditgate packs`)")
    .option(
      "--threshold <credits>",
      "charge when the balance drops below this many credits (default: the one set earlier, else 1)",
    )
    .option("--currency <code>", "currency, when the pack lists several Stripe prices")
    .action(
      async (user: string, opts: { pack: string; threshold?: string; currency?: string }, cmd: Command) => {
        const { g, deps, services } = await setup(cmd);
        user = userArg(ctx, deps.db, user).accountId;
        const { setAutoTopup, createAutoTopupRepo } = await import("../../payments/index.js");
        const now = ctx.nowMs();
        const view = setAutoTopup(
          deps,
          createAutoTopupRepo(deps.db),
          user,
          {
            packId: opts.pack,
            ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}),
            ...(opts.currency ? { currency: opts.currency } : {}),
          },
          now,
        );
        // A balance already below the threshold is charged by the worker's next check.
        deps.db.transaction(() => services.repos.enforcer.enqueueCheck(view.userId, now)).immediate();
        showAutoTopup(g, view);
      },
    );
  autotopup
    .command("get")
    .description("show a user's auto top-up settings, saved card (brand, last 4) and last charge")
    .argument("<user>", "end-user account id")
    .action(async (user: string, _opts: unknown, cmd: Command) => {
      const { g, deps } = await setup(cmd);
      const { describeAutoTopup, createAutoTopupRepo } = await import("../../payments/index.js");
      user = userArg(ctx, deps.db, user).accountId;
      showAutoTopup(g, describeAutoTopup(createAutoTopupRepo(deps.db), user));
    });
  autotopup
    .command("off")
    .description("turn a user's auto top-up off (the saved card is kept for a later `set`)")
    .argument("<user>", "end-user account id")
    .action(async (user: string, _opts: unknown, cmd: Command) => {
      const { g, deps } = await setup(cmd);
      user = userArg(ctx, deps.db, user).accountId;
      const { disableAutoTopup, createAutoTopupRepo } = await import("../../payments/index.js");
      showAutoTopup(g, disableAutoTopup(createAutoTopupRepo(deps.db), user, ctx.nowMs()));
    });

  program
    .command("reconcile")
    .description("ask the providers about pending top-ups whose webhook never arrived; safe to repeat")
    .option(
      "--older-than-ms <ms>",
      "only top-ups at least this old (env CREDITGATE_RECONCILE_AFTER_MS)",
      integerArg(0),
    )
    .action(async (opts: { olderThanMs?: number }, cmd: Command) => {
      const { g, config, services, deps, warnings } = await setup(cmd);
      for (const w of warnings.filter((x) => x.includes("disabled"))) ctx.err(`creditgate: ${w}\n`);
      const { reconcileTopups } = await import("../../payments/index.js");
      const { fulfiller } = services.repos;
      const olderThanMs = opts.olderThanMs ?? config.payments.reconcileAfterMs;
      const nowMs = ctx.nowMs();
      const results = await reconcileTopups({
        db: deps.db,
        topups: services.repos.topups,
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
          // the config's warning already says "no packs configured: …" (before, "no packs: no packs
          // configured: …", the phrase twice)
          `${warnings.find((w) => w.includes("CREDITGATE_PACKS")) ?? "no packs: the packs file is empty"}\n`,
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
