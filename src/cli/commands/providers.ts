import type { Command } from "commander";
import { z } from "zod";
import { AppError, ErrorCode } from "../../errors.js";
import { decimalToScaled, formatScaled, toSafeNumber } from "../../money.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { integerArg } from "../options.js";
import { renderTable, safeText, toJson } from "../output.js";

const money = (micro: number | null | undefined, currency?: string | null) =>
  micro === null || micro === undefined
    ? "–"
    : `${formatScaled(BigInt(micro), 6, 2)}${currency ? ` ${currency}` : ""}`;
/** A non-USD figure followed by its USD equivalent at the configured rate, when there is one. */
const withUsd = (text: string, usdMicro: number | null | undefined) =>
  usdMicro === null || usdMicro === undefined ? text : `${text} (≈ ${money(usdMicro, "USD")})`;
/**
 * The balance of an account holding several currencies (DeepSeek CNY + USD): the account's
 * balance, then each currency; one without a rate is marked as left out of the balance.
 */
const balanceParts = (
  list: { currency: string; balanceMicro: number; usdMicro: number | null }[] | null,
  accountCurrency: string | null,
) =>
  list === null
    ? ""
    : ` = ${list
        .map((b) =>
          b.currency === accountCurrency
            ? money(b.balanceMicro, b.currency)
            : b.usdMicro === null
              ? `(${money(b.balanceMicro, b.currency)} not counted: no ${b.currency} rate)`
              : withUsd(money(b.balanceMicro, b.currency), b.usdMicro),
        )
        .join(" + ")}`;
/** Drift of a non-USD account without an exchange rate: not computed rather than wrong. */
const noRate = (currency: string) => `n/a (no ${currency} rate)`;
const ago = (iso: string | null, nowMs: number) => {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};

/**
 * `providers` (list, default), `providers history <provider>`, `providers poll [provider...]`,
 * `providers alerts [set <provider|all> …]`: the operator's model-provider accounts (issue #13).
 */
export function registerProviderCommands(program: Command, ctx: CliContext): void {
  const open = async (cmd: Command) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const config = ctx.config(g);
    const db = ctx.openDb(config);
    const p = await import("../../providers/index.js");
    const l = await import("../../limits/index.js");
    const enforcer = l.createEnforcer(db, l.workerSettingsFromConfig(config));
    const service = p.createProviderService({
      db,
      settings: p.providersSettingsFromConfig(config),
      enforcer,
    });
    return { g, db, service, p };
  };
  const providerArg = async (id: string) => {
    const { PROVIDER_IDS } = await import("../../providers/index.js");
    if (!(PROVIDER_IDS as readonly string[]).includes(id))
      throw new AppError(
        ErrorCode.InvalidRequest,
        `unknown provider ${safeText(id)} (one of ${PROVIDER_IDS.join(", ")})`,
      );
    return id as (typeof PROVIDER_IDS)[number];
  };

  const providers = program
    .command("providers")
    .description("model-provider accounts: balance, burn, runway, drift vs metered, last poll and errors");

  providers
    .command("list", { isDefault: true })
    .description("one row per provider (the default)")
    .action(async (_o: unknown, cmd: Command) => {
      const { g, db, service } = await open(cmd);
      try {
        const now = ctx.nowMs();
        const views = service.overview(now);
        if (g.json) return ctx.out(toJson(views));
        if (views.length === 0) {
          ctx.out("no provider configured: set CREDITGATE_<PROVIDER>_KEY (see docs/providers.md)\n");
          return;
        }
        ctx.out(
          renderTable(
            ["provider", "balance", "burn/day", "metered/day", "runway", "drift", "last poll", "error"],
            views.map((v) => [
              v.provider,
              withUsd(money(v.balanceMicro, v.currency), v.usd?.balanceMicro) +
                balanceParts(v.balances, v.currency),
              withUsd(money(v.burn.provider.perDayMicro, v.currency), v.usd?.burnPerDayMicro),
              money(v.burn.metered.perDayMicro, "USD"),
              v.runway.hours === null
                ? "–"
                : `${v.runway.hours} h (${v.runway.runsOutAt?.slice(0, 16).replace("T", " ")} UTC)`,
              v.drift
                ? `${v.drift.pct === null ? "∞" : `${v.drift.pct}%`} on ${v.drift.day}${v.drift.exceeds ? " !" : ""}`
                : v.fx && v.fx.usdPerUnit === null
                  ? noRate(v.fx.currency)
                  : "–",
              ago(v.lastPollAt, now),
              v.error ? `${v.error.kind}: ${v.error.message}` : "",
            ]),
          ),
        );
      } finally {
        db.close();
      }
    });

  providers
    .command("history")
    .description("a provider's snapshots (balance over time) and daily spend vs metered cost")
    .argument("<provider>", "openrouter | openai | anthropic | moonshot | deepseek")
    .option("--days <n>", "how many days back (1-365)", integerArg(1, 365), 7)
    .option("--limit <n>", "snapshots at most, newest first (1-5000)", integerArg(1, 5000), 50)
    .action(async (id: string, o: { days: number; limit: number }, cmd: Command) => {
      const provider = await providerArg(id);
      const { g, db, service } = await open(cmd);
      try {
        const now = ctx.nowMs();
        const h = service.history(provider, {
          fromMs: now - o.days * 86_400_000,
          toMs: now + 1,
          limit: o.limit,
        });
        if (g.json) return ctx.out(toJson(h));
        ctx.out(
          renderTable(
            ["day", "provider spend", "metered", "drift"],
            h.days.map((d) => [
              d.day,
              money(d.providerMicro, d.currency),
              money(d.meteredMicro, "USD"),
              d.drift
                ? `${d.drift.pct === null ? "∞" : `${d.drift.pct}%`}${d.drift.exceeds ? " !" : ""}`
                : d.providerUsdMicro === null
                  ? noRate(d.currency)
                  : "–",
            ]),
          ),
        );
        ctx.out(
          renderTable(
            ["at", "balance", "spend since last", "runway"],
            h.snapshots.map((x) => [
              x.at,
              money(x.balanceMicro, x.currency),
              money(x.spendSinceLastMicro, x.currency),
              x.runwayHours === null ? "–" : `${x.runwayHours} h`,
            ]),
          ),
        );
      } finally {
        db.close();
      }
    });

  providers
    .command("poll")
    .description("poll providers now (all configured by default); exits 1 if one failed")
    .argument("[provider...]", "which ones")
    .action(async (ids: string[], _o: unknown, cmd: Command) => {
      const list = await Promise.all(ids.map(providerArg));
      const { g, db, service } = await open(cmd);
      try {
        const targets = list.length > 0 ? list : service.configured();
        const results = [];
        for (const id of targets) results.push(await service.poll(id, ctx.nowMs()));
        if (g.json) ctx.out(toJson(results));
        else
          ctx.out(
            renderTable(
              ["provider", "result", "alerts"],
              results.map((r) => [
                r.provider,
                r.ok ? "ok" : `${r.error?.kind}: ${r.error?.message}`,
                r.alertsRaised,
              ]),
            ),
          );
        if (results.some((r) => !r.ok))
          throw new AppError(ErrorCode.UpstreamUnavailable, "a provider poll failed (see above)");
      } finally {
        db.close();
      }
    });

  const alerts = providers.command("alerts").description("provider alert thresholds");
  alerts
    .command("get", { isDefault: true })
    .description("the thresholds each provider alerts at")
    .action(async (_o: unknown, cmd: Command) => {
      const { g, db, service, p } = await open(cmd);
      try {
        const rows = p.PROVIDER_IDS.map((id) => ({
          provider: id,
          currency: service.currency(id),
          ...service.thresholds(id),
        }));
        if (g.json) return ctx.out(toJson(rows));
        // The low balance is in the provider's own currency (the last poll's; "?" before the first).
        ctx.out(
          renderTable(
            ["provider", "currency", "low balance", "runway (h)", "spike ×", "drift %", "drift min (USD)"],
            rows.map((r) => [
              r.provider,
              r.currency ?? "?",
              money(r.lowBalanceMicro, r.currency),
              r.lowRunwayHours,
              r.spikeFactor,
              r.driftPct,
              money(r.driftMinMicro),
            ]),
          ),
        );
      } finally {
        db.close();
      }
    });
  alerts
    .command("set")
    .description("set thresholds for one provider, or 'all' for every provider's defaults")
    .argument("<provider>", "a provider id, or all")
    .option("--low-balance <amount>", "balance alert in the provider's currency (at most 6 decimals)")
    .option("--runway-days <days>", "runway alert in days (at most 3 decimals)")
    .option("--spike-factor <n>", "spend spike factor (2-1000)")
    .option("--drift-pct <n>", "drift tolerance in % (1-1000)")
    .action(async (id: string, o: Record<string, string | undefined>, cmd: Command) => {
      // Every problem (provider and options) is reported at once; nothing is saved unless all are valid.
      const { PROVIDER_IDS } = await import("../../providers/index.js");
      const parsed = alertsSetSchema(PROVIDER_IDS).safeParse({ provider: id, ...o });
      if (!parsed.success)
        throw new AppError(
          ErrorCode.InvalidRequest,
          `providers alerts set: ${parsed.error.issues.length} problem(s):\n${parsed.error.issues
            .map((i) => `  ${FLAG[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`)
            .join("\n")}`,
        );
      const v = parsed.data;
      const target = v.provider === "all" ? "*" : (v.provider as (typeof PROVIDER_IDS)[number]);
      const { g, db, service } = await open(cmd);
      try {
        service.setThresholds(
          target,
          {
            ...(v.lowBalance !== undefined
              ? { lowBalanceMicro: toSafeNumber(decimalToScaled(v.lowBalance, 6)) }
              : {}),
            ...(v.runwayDays !== undefined
              ? { lowRunwayHours: Math.round(Number(decimalToScaled(v.runwayDays, 3) * 24n) / 1000) }
              : {}),
            ...(v.spikeFactor !== undefined ? { spikeFactor: v.spikeFactor } : {}),
            ...(v.driftPct !== undefined ? { driftPct: v.driftPct } : {}),
          },
          ctx.nowMs(),
        );
        const stored = service.storedThresholds(target);
        if (g.json) return ctx.out(toJson({ provider: target, stored }));
        ctx.out(`thresholds of ${target === "*" ? "all providers" : target} saved\n`);
      } finally {
        db.close();
      }
    });
}

/** Option names as typed, for the problems of `providers alerts set`. */
const FLAG: Record<string, string> = {
  provider: "<provider>",
  lowBalance: "--low-balance",
  runwayDays: "--runway-days",
  spikeFactor: "--spike-factor",
  driftPct: "--drift-pct",
};

/** A whole number in [min, max] as typed on the command line. */
const wholeArg = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(
      z.number().int().min(min, `must be from ${min} to ${max}`).max(max, `must be from ${min} to ${max}`),
    );

/**
 * `providers alerts set` arguments: a provider id or `all`, and at least one threshold. zod
 * collects every problem, so one run names them all.
 */
function alertsSetSchema(ids: readonly string[]) {
  return z
    .object({
      provider: z
        .string()
        .refine((p) => p === "all" || ids.includes(p), `unknown provider (one of ${ids.join(", ")}, or all)`),
      lowBalance: z
        .string()
        .regex(/^\d{1,12}(\.\d{1,6})?$/, "must be a plain decimal like 5 or 2.5 (at most 6 decimals)")
        .optional(),
      runwayDays: z
        .string()
        .regex(/^\d{1,6}(\.\d{1,3})?$/, "must be a plain decimal like 3 or 1.5 (at most 3 decimals)")
        .refine(
          (d) => !(Number(d) > 0) || Number(d) * 24 >= 0.5,
          "is under half an hour: runway alerts are kept in whole hours (0 turns the alert off)",
        )
        .optional(),
      spikeFactor: wholeArg(2, 1000).optional(),
      driftPct: wholeArg(1, 1000).optional(),
    })
    .refine(
      (v) =>
        v.lowBalance !== undefined ||
        v.runwayDays !== undefined ||
        v.spikeFactor !== undefined ||
        v.driftPct !== undefined,
      {
        message: "give at least one of --low-balance, --runway-days, --spike-factor, --drift-pct",
        path: ["options"],
      },
    );
}
