/** `/consumo`, `/saldo`, `/recargar [pack] [provider]`, `/recargar auto <pack> [threshold]|off`, `/burn` and `/tokens` (operator only). */
import type { Pack } from "./api-types.js";
import { type CreditgateClient, CreditgateError } from "./client.js";
import {
  type Language,
  PAYMENT_PROVIDERS,
  type PaymentProvider,
  type PluginConfig,
  userLanguage,
} from "./config.js";
import {
  formatBudgets,
  formatBurn,
  formatConsumo,
  formatPacks,
  formatProviderBurn,
  formatSaldo,
  formatTokens,
  providerLabel,
  texts,
} from "./i18n.js";
import type {
  PluginCommandContext,
  PluginCommandDefinition,
  PluginLogger,
  ReplyPayload,
} from "./openclaw-types.js";
import type { StatusCache } from "./status-cache.js";
import { agentOfKey, chatUser, configuredIdentityLinks } from "./user.js";

export interface CommandDeps {
  client: CreditgateClient;
  cache: StatusCache;
  config: PluginConfig;
  logger: PluginLogger;
}

/**
 * The billing user of a command's sender (`telegram:5550101`), as the meter names them: a person
 * linked by the host config's `session.identityLinks` (the command context carries the config) is
 * the one account of the link's name.
 */
export function commandUser(ctx: PluginCommandContext): string | null {
  return chatUser({
    sessionKey: ctx.sessionKey,
    agentId: ctx.agentId,
    // Command ctx: `channelId` is the provider channel (unlike agent hooks).
    channel: ctx.channelId ?? ctx.channel,
    senderId: ctx.senderId,
    identityLinks: configuredIdentityLinks(ctx.config),
    from: ctx.from,
    to: ctx.to,
  });
}

const PROVIDER_ALIASES: Record<string, PaymentProvider> = {
  stripe: "stripe",
  card: "stripe",
  tarjeta: "stripe",
  mercadopago: "mercadopago",
  "mercado-pago": "mercadopago",
  mp: "mercadopago",
};

export function parseRecargarArgs(args: string | undefined): {
  pack: string | null;
  provider: PaymentProvider | null;
} {
  let pack: string | null = null;
  let provider: PaymentProvider | null = null;
  for (const tok of (args ?? "").trim().split(/\s+/).filter(Boolean)) {
    const p = PROVIDER_ALIASES[tok.toLowerCase()];
    if (p) provider = p;
    else if (pack === null) pack = tok;
  }
  return { pack, provider };
}

/**
 * `/recargar auto <pack> [threshold]` and `/recargar auto off` → what to do; null when the args
 * are not an `auto` subcommand. Threshold: credits, "2", "2.5" or "2,5"; absent: creditgate's default.
 */
export function parseAutoArgs(
  args: string | undefined,
): { off: true } | { off: false; pack: string | null; threshold: string | null; bad: boolean } | null {
  const toks = (args ?? "").trim().split(/\s+/).filter(Boolean);
  if (toks[0]?.toLowerCase() !== "auto") return null;
  const second = toks[1]?.toLowerCase();
  if (second === "off" || second === "no" || second === "desactivar" || second === "apagar")
    return { off: true };
  const raw = toks[2]?.replace(",", ".") ?? null;
  const bad = raw !== null && !/^\d+(\.\d{1,6})?$/.test(raw);
  return { off: false, pack: toks[1] ?? null, threshold: bad ? null : raw, bad };
}

export function isOperator(ctx: PluginCommandContext, cfg: PluginConfig): boolean {
  if (ctx.senderIsOwner === true) return true;
  const user = commandUser(ctx);
  if (user && cfg.operators.includes(user)) return true;
  // OC exposes senderIsOwner to commands with requiredScopes: false means "not the owner".
  if (ctx.senderIsOwner === false) return false;
  // Clawdbot has no owner flag: an allow-listed sender is the operator unless a list is configured.
  return cfg.operators.length === 0 && ctx.isAuthorizedSender === true;
}

export function buildCommands(d: CommandDeps): PluginCommandDefinition[] {
  const lang = d.config.language;
  const pluginLang = lang;
  const t = texts(lang);

  /** Runs a handler; creditgate being down becomes a friendly line plus a log entry. */
  const guarded =
    (name: string, fn: (ctx: PluginCommandContext) => Promise<string>) =>
    async (ctx: PluginCommandContext): Promise<ReplyPayload> => {
      try {
        return { text: await fn(ctx) };
      } catch (err) {
        d.logger.warn(`creditgate: /${name} failed: ${err instanceof Error ? err.message : String(err)}`);
        return { text: t.unavailable };
      }
    };

  /** `/recargar auto …`: turn auto top-up on (a save-card link when no card is saved yet) or off. */
  async function autoTopup(
    user: string,
    a: NonNullable<ReturnType<typeof parseAutoArgs>>,
    lang: Language,
  ): Promise<string> {
    const t = texts(lang);
    if (a.off) {
      await d.client.disableAutoTopup(user);
      return t.autoOff;
    }
    if (!a.pack || a.bad) return t.autoUsage;
    const packs = await d.client.packs();
    const pack = findPack(packs, a.pack);
    if (!pack) return `${t.unknownPack(a.pack)}\n${formatPacks(packs, lang, "stripe")}`;
    if (!pack.prices.some((p) => p.provider === "stripe")) return t.autoStripeOnly(pack.id);
    let view: Awaited<ReturnType<CreditgateClient["setAutoTopup"]>>;
    try {
      view = await d.client.setAutoTopup(user, {
        packId: pack.id,
        ...(a.threshold ? { threshold: a.threshold } : {}),
      });
    } catch (err) {
      if (err instanceof CreditgateError && err.kind === "http") {
        d.logger.warn(`creditgate: /recargar auto for ${user} refused: ${err.message}`);
        return t.autoUsage;
      }
      throw err;
    }
    if (!view.needsCard) return t.autoOn(pack, view);
    try {
      const link = await d.client.createTopup({
        userId: user,
        packId: pack.id,
        provider: "stripe",
        saveCard: true,
      });
      return t.autoNeedsCard(pack, view, link);
    } catch (err) {
      if (err instanceof CreditgateError && err.code === "provider_disabled") {
        d.logger.warn(`creditgate: /recargar auto for ${user}: ${err.message}`);
        return t.providerDisabled(providerLabel("stripe"), "");
      }
      throw err;
    }
  }

  const cmds: PluginCommandDefinition[] = [];
  if (d.config.commands.consumo) {
    cmds.push({
      name: "consumo",
      description:
        lang === "es" ? "Tu saldo, uso de hoy y del mes, y límites" : "Your balance, usage and limits",
      acceptsArgs: false,
      requireAuth: false,
      handler: guarded("consumo", async (ctx) => {
        const user = commandUser(ctx);
        if (!user) return t.who;
        const agent = ctx.agentId || agentOfKey(ctx.sessionKey) || undefined;
        const [c, s] = await Promise.all([
          d.client.consumo(user),
          d.cache.get(user, agent).then((r) => (r.ok ? r.status : null)),
        ]);
        return formatConsumo(c, userLanguage(c.language ?? s?.language, lang), s);
      }),
    });
  }
  if (d.config.commands.saldo) {
    cmds.push({
      name: "saldo",
      description: lang === "es" ? "Tu saldo de créditos" : "Your credit balance",
      acceptsArgs: false,
      requireAuth: false,
      handler: guarded("saldo", async (ctx) => {
        const user = commandUser(ctx);
        if (!user) return t.who;
        // A user asking for the balance wants it fresh (e.g. right after paying).
        d.cache.invalidate(user);
        const r = await d.cache.get(user, ctx.agentId || agentOfKey(ctx.sessionKey) || undefined);
        if (!r.ok) throw r.error;
        return formatSaldo(r.status, userLanguage(r.status.language, lang));
      }),
    });
  }
  if (d.config.commands.recargar) {
    cmds.push({
      name: "recargar",
      description:
        lang === "es"
          ? "Recargar créditos: /recargar [paquete] [stripe|mercadopago], /recargar auto <paquete> [umbral]|off"
          : "Top up credits; /recargar auto <pack> [threshold]|off for auto top-up",
      acceptsArgs: true,
      requireAuth: false,
      handler: guarded("recargar", async (ctx) => {
        const user = commandUser(ctx);
        if (!user) return texts(pluginLang).who;
        // the user's own language when creditgate names one (the cached status; none: the plugin's)
        const agent = ctx.agentId || agentOfKey(ctx.sessionKey) || undefined;
        const lang = await d.cache
          .get(user, agent)
          .then((r) => (r.ok ? userLanguage(r.status.language, pluginLang) : pluginLang));
        const t = texts(lang);
        const auto = parseAutoArgs(ctx.args);
        if (auto) return autoTopup(user, auto, lang);
        const { pack: wanted, provider: asked } = parseRecargarArgs(ctx.args);
        const packs = await d.client.packs();
        if (!wanted) return formatPacks(packs, lang, asked ?? undefined);
        const pack = findPack(packs, wanted);
        if (!pack) return `${t.unknownPack(wanted)}\n${formatPacks(packs, lang)}`;
        const offered = PAYMENT_PROVIDERS.filter((p) => pack.prices.some((x) => x.provider === p));
        let provider = asked ?? d.config.defaultProvider;
        if (!offered.includes(provider)) {
          if (asked || offered.length === 0) {
            return t.providerNotOffered(
              pack.id,
              providerLabel(provider),
              offered.map(providerLabel).join(", ") || "—",
            );
          }
          provider = offered[0] as PaymentProvider;
        }
        // A provider the operator has not configured answers 503 `provider_disabled`: try the
        // pack's other providers unless the user chose one, then say which ones are off.
        const candidates = asked ? [provider] : [provider, ...offered.filter((p) => p !== provider)];
        const disabled: PaymentProvider[] = [];
        for (const prov of candidates) {
          try {
            const topup = await d.client.createTopup({ userId: user, packId: pack.id, provider: prov });
            return t.payLink(topup, pack, providerLabel(prov));
          } catch (err) {
            if (err instanceof CreditgateError && err.code === "provider_disabled") {
              d.logger.warn(`creditgate: /recargar for ${user}: ${err.message}`);
              disabled.push(prov);
              continue;
            }
            if (err instanceof CreditgateError && err.kind === "http") {
              d.logger.warn(`creditgate: top-up for ${user} refused: ${err.message}`);
              return t.providerNotOffered(
                pack.id,
                providerLabel(prov),
                offered.map(providerLabel).join(", "),
              );
            }
            throw err;
          }
        }
        return t.providerDisabled(
          disabled.map(providerLabel).join(", "),
          offered
            .filter((p) => !disabled.includes(p))
            .map(providerLabel)
            .join(", "),
        );
      }),
    });
  }
  if (d.config.commands.burn) {
    cmds.push({
      name: "burn",
      description:
        lang === "es" ? "Gasto y autonomía del bot (operador)" : "Bot spend rate and runway (operator)",
      acceptsArgs: true,
      requireAuth: true,
      // Makes OC expose ctx.senderIsOwner and refuse non-owner chat senders before the handler.
      requiredScopes: ["operator.read"],
      handler: guarded("burn", async (ctx) => {
        if (!isOperator(ctx, d.config)) return t.operatorOnly;
        const agentId =
          ctx.args?.trim().split(/\s+/)[0] || ctx.agentId || agentOfKey(ctx.sessionKey) || "main";
        const bot = formatBurn(await d.client.burn(agentId), lang);
        // Each provider account's spend rate; an older creditgate without /v1/providers: bots only.
        const providers = await d.client.providers().catch((err: unknown) => {
          d.logger.warn(
            `creditgate: /burn: provider accounts unavailable: ${err instanceof Error ? err.message : String(err)}`,
          );
          return [];
        });
        const prov = formatProviderBurn(providers, lang);
        // The operator's budgets (used / limit / mode); an older creditgate without /v1/budgets: none.
        const budgets = await d.client.budgets().catch((err: unknown) => {
          d.logger.warn(
            `creditgate: /burn: budgets unavailable: ${err instanceof Error ? err.message : String(err)}`,
          );
          return [];
        });
        const bud = formatBudgets(budgets, agentId, lang);
        return [bot, prov, bud].filter(Boolean).join("\n\n");
      }),
    });
  }
  if (d.config.commands.tokens) {
    cmds.push({
      name: "tokens",
      description:
        lang === "es"
          ? "Saldo, gasto y autonomía de las cuentas de proveedores (operador)"
          : "Provider account balances, burn and runway (operator)",
      acceptsArgs: false,
      requireAuth: true,
      requiredScopes: ["operator.read"],
      handler: guarded("tokens", async (ctx) => {
        if (!isOperator(ctx, d.config)) return t.operatorOnly;
        return formatTokens(await d.client.providers(), lang);
      }),
    });
  }
  return cmds;
}

function findPack(packs: readonly Pack[], wanted: string): Pack | undefined {
  const w = wanted.toLowerCase();
  const byId = packs.find((p) => p.id.toLowerCase() === w);
  if (byId) return byId;
  const n = Number(w);
  if (Number.isInteger(n) && n >= 1 && n <= packs.length) return packs[n - 1];
  // By credits: creditgate lists "5.00" for a pack of 5.
  return packs.find((p) => p.credits === wanted || (Number.isFinite(n) && Number(p.credits) === n));
}
