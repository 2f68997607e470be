/**
 * `openclaw tokens` (balances, burn, runway per provider account), `openclaw tokens history
 * <provider> [--from ISO]` and `openclaw tokens alerts [--provider P] [--low-balance X]
 * [--runway-days D] [--spike-factor N] [--drift-pct N]` (get, or set when a value is given),
 * registered through `api.registerCli` where the host has it. They talk to creditgate over HTTP
 * with the plugin's `apiUrl` / `apiToken`, like the chat commands.
 */
import type { CreditgateClient } from "./client.js";
import type { Language } from "./config.js";
import { formatTokens, money } from "./i18n.js";
import type { CliCommand, PluginApi } from "./openclaw-types.js";

export interface TokensCliDeps {
  client: CreditgateClient;
  language: Language;
  /** Where results go (stdout). */
  out?: (text: string) => void;
}

const DECIMAL = /^\d+(\.\d+)?$/;

/** Adds `tokens` and its subcommands to the host's commander `program`. */
export function addTokensCommands(program: CliCommand, d: TokensCliDeps): void {
  const out = d.out ?? ((t: string) => process.stdout.write(t));
  const tokens = program
    .command("tokens")
    .description("creditgate: provider account balances, burn, runway and drift")
    .option("--json", "JSON output")
    .action(async (o: { json?: boolean }) => {
      const views = await d.client.providers();
      out(o?.json ? `${JSON.stringify(views, null, 2)}\n` : `${formatTokens(views, d.language)}\n`);
    });
  tokens
    .command("history <provider>")
    .description("a provider's daily spend vs creditgate's metered cost, and its balance snapshots")
    .option("--from <time>", "ISO date/time (default: 7 days ago)")
    .option("--json", "JSON output")
    .action(async (provider: string, o: { from?: string; json?: boolean }) => {
      const h = await d.client.providerHistory(provider, o?.from ? { from: o.from } : {});
      if (o?.json) return out(`${JSON.stringify(h, null, 2)}\n`);
      const lines = [`${h.provider}: day | provider | metered | drift`];
      for (const x of h.days)
        lines.push(
          `${x.day} | ${money(x.providerMicro, x.currency)}${
            x.currency !== "USD" && typeof x.providerUsdMicro === "number"
              ? ` (≈ ${money(x.providerUsdMicro, "USD")})`
              : ""
          } | ${money(x.meteredMicro, "USD")} | ${
            x.drift
              ? `${x.drift.pct === null ? "∞" : `${x.drift.pct}%`}${x.drift.exceeds ? " !" : ""}`
              : x.currency !== "USD" && x.providerUsdMicro === null
                ? `n/a (no ${x.currency} rate)`
                : "—"
          }`,
        );
      const last = h.snapshots[0];
      if (last)
        lines.push(
          `balance ${money(last.balanceMicro, last.currency)} at ${last.at}${
            typeof last.runwayHours === "number" ? ` · runway ${last.runwayHours} h` : ""
          }`,
        );
      out(`${lines.join("\n")}\n`);
    });
  tokens
    .command("alerts")
    .description("show provider alert thresholds, or set them with the options")
    .option("--provider <id>", "which provider (default: all providers' defaults)")
    .option("--low-balance <amount>", "balance alert, in the provider's currency")
    .option("--runway-days <days>", "runway alert, in days")
    .option("--spike-factor <n>", "spend spike factor")
    .option("--drift-pct <n>", "drift tolerance in %")
    .option("--json", "JSON output")
    .action(
      async (o: {
        provider?: string;
        lowBalance?: string;
        runwayDays?: string;
        spikeFactor?: string;
        driftPct?: string;
        json?: boolean;
      }) => {
        const opts = o ?? {};
        const body: Record<string, string | number> = {};
        // every bad option is named in one error, and nothing is sent then
        const problems: string[] = [];
        for (const [flag, k, v] of [
          ["--low-balance", "lowBalance", opts.lowBalance],
          ["--runway-days", "lowRunwayDays", opts.runwayDays],
        ] as const) {
          if (v === undefined) continue;
          if (!DECIMAL.test(v)) problems.push(`${flag}: a plain decimal like 5 or 2.5`);
          else body[k] = v;
        }
        for (const [flag, k, v, min] of [
          ["--spike-factor", "spikeFactor", opts.spikeFactor, 2],
          ["--drift-pct", "driftPct", opts.driftPct, 1],
        ] as const) {
          if (v === undefined) continue;
          if (!/^\d{1,4}$/.test(v) || Number(v) < min || Number(v) > 1000)
            problems.push(`${flag}: a whole number from ${min} to 1000`);
          else body[k] = Number(v);
        }
        if (problems.length > 0) throw new Error(`tokens alerts: ${problems.join("; ")}`);
        if (Object.keys(body).length > 0) await d.client.setProviderThresholds(opts.provider ?? "all", body);
        const views = await d.client.providers();
        const rows = views
          .filter((v) => !opts.provider || v.provider === opts.provider)
          .map((v) => ({ provider: v.provider, currency: v.currency, ...v.thresholds }));
        if (opts.json) return out(`${JSON.stringify(rows, null, 2)}\n`);
        out(
          `${rows
            .map(
              (r) =>
                `${r.provider}: low balance ${money(r.lowBalanceMicro, r.currency)} · runway ${r.lowRunwayHours} h · spike ×${r.spikeFactor} · drift ${r.driftPct}%`,
            )
            .join("\n")}\n`,
        );
      },
    );
}

/** Registers `openclaw tokens …` when the host supports plugin CLI commands; false when it does not. */
export function registerTokensCli(api: Pick<PluginApi, "registerCli">, d: TokensCliDeps): boolean {
  if (typeof api.registerCli !== "function") return false;
  api.registerCli(({ program }) => addTokensCommands(program, d), {
    commands: ["tokens"],
    descriptors: [
      {
        name: "tokens",
        description: "creditgate: provider account balances, burn, runway and drift",
        hasSubcommands: true,
      },
    ],
  });
  return true;
}
