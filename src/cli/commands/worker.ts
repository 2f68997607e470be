import type { Command } from "commander";
import { ZodError, z } from "zod";
import { AppError, ErrorCode } from "../../errors.js";
// only the pure rules: the limits domain itself still loads when a command runs
import type { Cap } from "../../limits/index.js";
import { formatMicroCredits } from "../../money.js";
import { userArg } from "../account-arg.js";
import type { CliContext, GlobalOptions } from "../context.js";
import { creditsArg, integerArg } from "../options.js";
import { renderTable, safeText, toJson } from "../output.js";

interface LimitFlags {
  daily?: string;
  weekly?: string;
  monthly?: string;
  soft?: boolean;
  floor?: string;
  low?: string;
  language?: string;
  headroom?: string;
}

const PERIOD_FLAG = { day: "daily", week: "weekly", month: "monthly" } as const;
/** The limits module's PERIODS, without loading it for every command. */
const PERIODS = ["day", "week", "month"] as const;
/** The limits module's CAP_KINDS. */
const CAP_KINDS = ["hard", "soft"] as const;

/** The flag value that takes a user's own setting away, so the defaults apply to it again. */
const DEFAULT_VALUE = "default";
/** Whether a `--floor`, `--low` or `--headroom` value is {@link DEFAULT_VALUE}. */
const isDefault = (text: string | undefined) => text?.trim().toLowerCase() === DEFAULT_VALUE;

function credits(flag: string, text: string, allowNegative = false): number {
  return Number(creditsArg(`--${flag}`, text, { allowNegative }));
}

/**
 * `--headroom p95|off|<credits>` → a headroom rule (`0` is `off`); a bad value is a clear error.
 */
function headroomFlag(
  text: string,
): { mode: "p95" } | { mode: "off" } | { mode: "fixed"; microCredits: number } {
  const t = text.trim().toLowerCase();
  if (t === "p95" || t === "off") return { mode: t };
  if (!/^\d+(\.\d+)?$/.test(t))
    throw new AppError(
      ErrorCode.InvalidRequest,
      `--headroom: "${text}" is not p95, off, or credits like 0.05`,
    );
  const micro = Number(creditsArg("--headroom", t, { allowNegative: true }));
  return micro === 0 ? { mode: "off" } : { mode: "fixed", microCredits: micro };
}

/** `--low <credits>`: the low-balance alert level, 0 or more credits. */
function lowFlag(text: string): number {
  if (text.trim().startsWith("-"))
    throw new AppError(ErrorCode.InvalidRequest, `--low: must be 0 or more credits, got "${text}"`);
  return credits("low", text, true);
}

/**
 * `--language en|es` (the notices' languages), any case; `off` or `default` takes the user's own
 * language away (the defaults' or CREDITGATE_LANGUAGE applies again): before 2026-12-04 `off` was
 * refused and only `limits clear`, which drops the caps and floor too, could (case
 * `test/cases/limits-reset-one-setting`).
 */
function languageFlag(text: string): "en" | "es" | typeof DEFAULT_VALUE {
  const t = text.trim().toLowerCase();
  if (t === "en" || t === "es") return t;
  if (t === "off" || t === DEFAULT_VALUE) return DEFAULT_VALUE;
  throw new AppError(
    ErrorCode.InvalidRequest,
    `--language: "${text}" is not en or es (or off / default: the default language again)`,
  );
}

/**
 * Every `limits set` value parsed once, so a bad one is refused before anything else is said.
 * `capOrderProblem` is the limits module's (loaded only when a worker command runs).
 */
function checkLimitFlags(f: LimitFlags, capOrderProblem: (caps: readonly Cap[]) => string | null): void {
  // Nothing to set (no flag, or `--soft` alone) is refused: it wrote the user's limits anyway, as a
  // copy of the defaults' caps, so a later change to '*' no longer reached that user (`limits set
  // telegram:1` under `'*' --daily 2`, then `'*' --daily 5`: telegram:1 kept 2). Before 2026-12-04;
  // a tester, case test/cases/limits-set-nothing-freezes-defaults.
  const settings = [f.daily, f.weekly, f.monthly, f.floor, f.low, f.language, f.headroom];
  if (settings.every((v) => v === undefined))
    throw new AppError(
      ErrorCode.InvalidRequest,
      `limits set: nothing to set${f.soft ? " (--soft applies to the caps given with it)" : ""}: give --daily, --weekly, --monthly, --floor, --low, --language or --headroom (limits get shows the current ones)`,
    );
  const given: Cap[] = [];
  for (const [period, flag] of Object.entries(PERIOD_FLAG) as [Cap["period"], keyof LimitFlags][]) {
    const value = f[flag];
    if (typeof value === "string" && value !== "off" && !isDefault(value))
      given.push({ period, capMicroCredits: credits(flag, value), kind: f.soft ? "soft" : "hard" });
  }
  // caps given together that contradict each other (`--daily 2 --monthly 1`): before anything is
  // said; with the user's other caps they are checked again when written (Enforcer.setLimits)
  const inverted = capOrderProblem(given);
  if (inverted !== null) throw new AppError(ErrorCode.InvalidRequest, `caps: ${inverted}`);
  if (f.floor !== undefined && !isDefault(f.floor)) credits("floor", f.floor, true);
  if (f.low !== undefined && !isDefault(f.low)) lowFlag(f.low);
  if (f.language !== undefined) languageFlag(f.language);
  if (f.headroom !== undefined && !isDefault(f.headroom)) headroomFlag(f.headroom);
}

/** A headroom rule as operators type it: `p95`, `off`, or credits. */
function headroomText(r: { mode: string; microCredits?: number }): string {
  return r.mode === "fixed" ? `${formatMicroCredits(r.microCredits ?? 0)} credits` : r.mode;
}

/** ZodError → a CLI error naming each field. */
function asAppError(err: unknown): unknown {
  return err instanceof ZodError
    ? new AppError(ErrorCode.InvalidRequest, `invalid limits:\n${z.prettifyError(err)}`)
    : err;
}

/** `limits`, `block`, `unblock`, `status`, `alerts`: the worker's operator surfaces (`worker`, `start`: run.ts). */
export function registerWorkerCommands(program: Command, ctx: CliContext): void {
  // Worker modules load only when these commands run.
  // `existing`: a read-only command (status, alerts, limits get) never creates a database: run
  // where there is none (another directory than `creditgate start`'s, a mistyped --db) it created
  // an empty one there and answered "BLOCKED, balance 0" for a user with credits (2026-12-04);
  // it now fails as `usage` and `balance` do, naming the path
  const setup = async (cmd: Command, existing = false) => {
    const g = cmd.optsWithGlobals<GlobalOptions>();
    const config = ctx.config(g);
    const db = ctx.openDb(config, existing ? { existing: true } : undefined);
    const w = await import("../../limits/index.js");
    const enforcer = w.createEnforcer(db, w.workerSettingsFromConfig(config));
    return { g, config, db, w, enforcer, queries: w.createQueries(db, enforcer) };
  };

  const limits = program
    .command("limits")
    .description("per-user (or default '*') balance floor and spend caps");
  limits
    .command("set")
    .description(
      "set caps (credits per calendar window) and floor; merges with the user's current limits. " +
        "Use 'off' to remove a cap, and '*' as user for everyone's defaults",
    )
    .argument("<user>", "end-user account id, e.g. telegram:123456, or '*' for defaults")
    .option("--daily <credits>", "daily cap, e.g. 2 (or off; default: follow '*' again)")
    .option("--weekly <credits>", "weekly cap (Monday 00:00) (or off, or default)")
    .option("--monthly <credits>", "monthly cap, e.g. 20 (or off, or default)")
    .option("--soft", "the caps given here only alert, never block")
    .option(
      "--floor <credits>",
      "blocked at a balance <= this (default 0; -1 allows 1 credit of overdraft; 'default': the defaults' again)",
    )
    .option("--low <credits>", "low-balance alert level for this user ('default': the defaults' again)")
    .option(
      "--language <lang>",
      "language of this user's notices: en | es (off or default: the default language)",
    )
    .option(
      "--headroom <credits|p95|off|default>",
      "balance above the floor needed to start a call: p95 (typical cost of the agent's model), off, credits, or default (the defaults' again)",
    )
    .action(async (user: string, f: LimitFlags, cmd: Command) => {
      const { capOrderProblem } = await import("../../limits/index.js");
      checkLimitFlags(f, capOrderProblem); // before the account lookup's "no account yet" note, and the database
      const { g, enforcer, queries, db } = await setup(cmd);
      // the account the meter bills (`slack:U07ABC` → `slack:u07abc`), never a second one
      user = userArg(ctx, db, user, { defaults: true }).accountId;
      const current = enforcer.limits(user);
      const base = user === "*" ? current.defaults : current.user;
      // a user's caps are per window (`capsOff`, since 2026-12-04): a window it sets no cap in
      // follows the defaults' ('*') live. Before, its first `limits set` copied '*''s caps into its
      // own, frozen (`--daily 3` kept '*''s monthly cap of then for good; case
      // limits-user-caps-follow-defaults). A rule stored the old way (caps, no capsOff) is read as
      // it was enforced: each window it has no cap in is off for this user
      const legacy = user !== "*" && base?.caps !== undefined && base.capsOff === undefined;
      let caps = [...(base?.caps ?? [])];
      const off = new Set(
        user === "*"
          ? []
          : legacy
            ? // every window it lacks a cap of either kind in: the defaults' of that kind stay off
              // there too (caps follow '*' per window and kind, case limits-soft-cap-keeps-hard-cap)
              PERIODS.filter((p) => !CAP_KINDS.every((k) => caps.some((c) => c.period === p && c.kind === k)))
            : (base?.capsOff ?? []),
      );
      const kind = f.soft ? "soft" : "hard";
      for (const period of PERIODS) {
        const flag = PERIOD_FLAG[period];
        const value = f[flag];
        if (value === undefined) continue;
        if (value !== "off" && !isDefault(value)) {
          // a cap replaces the window's cap of its kind only: `--daily 4 --soft` is an alert before
          // the daily hard cap, own or the defaults'. Before 2026-12-05 it took the hard cap away
          // and nothing blocked that user's day any more (case limits-soft-cap-keeps-hard-cap)
          caps = caps.filter((c) => !(c.period === period && c.kind === kind));
          caps.push({ period, capMicroCredits: credits(flag, value), kind });
          // a soft cap in a window turned off leaves the defaults' hard cap off there
          if (kind === "hard") off.delete(period);
          continue;
        }
        caps = caps.filter((c) => c.period !== period);
        off.delete(period);
        // `default`: the user's own caps (or `off`) of this window taken away: it follows '*' again
        if (value === "off" && user !== "*") off.add(period);
      }
      const language = f.language === undefined ? undefined : languageFlag(f.language);
      const rules: Record<string, unknown> = {
        ...(base ?? {}),
        caps,
        ...(user === "*" ? {} : { capsOff: PERIODS.filter((p) => off.has(p)) }),
        ...(f.floor !== undefined && !isDefault(f.floor)
          ? { floorMicroCredits: credits("floor", f.floor, true) }
          : {}),
        // a negative alert level and an unknown language were refused by the limits schema as
        // `invalid limits: ✖ … → at lowBalanceMicroCredits`: now one line naming the flag
        ...(f.low !== undefined && !isDefault(f.low) ? { lowBalanceMicroCredits: lowFlag(f.low) } : {}),
        ...(language !== undefined && language !== DEFAULT_VALUE ? { language } : {}),
        ...(f.headroom !== undefined && !isDefault(f.headroom) ? { headroom: headroomFlag(f.headroom) } : {}),
      };
      // `default` (and `--language off`) takes the user's own value away: the defaults apply again
      if (isDefault(f.floor)) delete rules.floorMicroCredits;
      if (isDefault(f.low)) delete rules.lowBalanceMicroCredits;
      if (language === DEFAULT_VALUE) delete rules.language;
      if (isDefault(f.headroom)) delete rules.headroom;
      try {
        enforcer.setLimits(user, rules as never, ctx.nowMs());
      } catch (err) {
        throw asAppError(err);
      }
      printLimits(
        ctx,
        g,
        user,
        enforcer.limits(user),
        user === "*" ? null : queries.answer("status", { userId: user }, ctx.nowMs()),
      );
    });
  limits
    .command("get")
    .description("show a user's limits (own, defaults, effective) and current status")
    .argument("<user>", "account id, or '*' for defaults")
    .action(async (user: string, _o: unknown, cmd: Command) => {
      const { g, enforcer, queries, db } = await setup(cmd, true);
      // the account the meter bills (`slack:U07ABC` → `slack:u07abc`), never a second one
      user = userArg(ctx, db, user, { defaults: true }).accountId;
      printLimits(
        ctx,
        g,
        user,
        enforcer.limits(user),
        user === "*" ? null : queries.answer("status", { userId: user }, ctx.nowMs()),
      );
    });
  limits
    .command("clear")
    .description("remove a user's own limits (the defaults apply again)")
    .argument("<user>", "account id, or '*' for defaults")
    .action(async (user: string, _o: unknown, cmd: Command) => {
      const { g, enforcer, db } = await setup(cmd);
      // the account the meter bills (`slack:U07ABC` → `slack:u07abc`), never a second one
      user = userArg(ctx, db, user, { defaults: true }).accountId;
      enforcer.setLimits(user, null, ctx.nowMs());
      if (g.json) return ctx.out(toJson({ userId: user, ...enforcer.limits(user) }));
      ctx.out(`limits of ${safeText(user)} cleared\n`);
    });

  for (const verb of ["block", "unblock"] as const) {
    program
      .command(verb)
      .description(verb === "block" ? "stop a user by hand, with a reason" : "lift an operator block")
      .argument("<user>", "end-user account id")
      .option("--reason <text>", verb === "block" ? "why (required; shown to the operator)" : "why (logged)")
      .action(async (user: string, o: { reason?: string }, cmd: Command) => {
        if (verb === "block" && !o.reason?.trim())
          throw new AppError(ErrorCode.InvalidRequest, "--reason: required to block a user");
        const { g, enforcer, queries, db } = await setup(cmd);
        // the account the meter bills (`slack:U07ABC` → `slack:u07abc`), never a second one
        user = userArg(ctx, db, user).accountId;
        const r =
          verb === "block"
            ? enforcer.block(user, o.reason ?? "", ctx.nowMs())
            : enforcer.unblock(user, ctx.nowMs());
        const view = queries.statusView(r.status);
        if (g.json) return ctx.out(toJson(view));
        ctx.out(`${safeText(user)}: ${view.allowed ? "allowed" : `blocked (${view.reason})`}\n`);
      });
  }

  program
    .command("status")
    .description("a user's enforcement status: allowed or blocked, why, and each cap window")
    .argument("<user>", "end-user account id")
    .action(async (user: string, _o: unknown, cmd: Command) => {
      const { g, queries, db } = await setup(cmd, true);
      // the account the meter bills (`slack:U07ABC` → `slack:u07abc`), never a second one
      user = userArg(ctx, db, user).accountId;
      const s = queries.answer("status", { userId: user }, ctx.nowMs());
      if (g.json) return ctx.out(toJson(s));
      printStatus(ctx, s);
    });

  program
    .command("alerts")
    .description("recent alerts and their operator-webhook delivery state")
    .option("--dead", "only dead-lettered deliveries (failed after the last try)")
    .option("--limit <n>", "how many, newest first (1-10000)", integerArg(1, 10_000), 50)
    .action(async (o: { dead?: boolean; limit: number }, cmd: Command) => {
      const { g, enforcer } = await setup(cmd, true);
      const rows = enforcer.alerts({
        ...(o.dead ? { state: "dead" as const } : {}),
        limit: o.limit,
      });
      if (g.json) return ctx.out(toJson(rows));
      ctx.out(
        renderTable(
          ["id", "created", "account", "kind", "threshold", "window", "webhook", "tries", "error"],
          rows.map((a) => [
            a.id,
            new Date(a.createdAtMs).toISOString(),
            a.accountId,
            a.kind,
            a.threshold,
            a.windowKey,
            a.webhookState,
            a.webhookAttempts,
            a.webhookError,
          ]),
        ),
      );
    });
}

type StatusViewLike = {
  userId: string;
  allowed: boolean;
  reason: string | null;
  balanceMicroCredits: number;
  headroom: { credits: string; basis: string; provider?: string; model?: string; samples?: number };
  liftsAt: string | null;
  windows: {
    period: string;
    kind: string;
    capMicroCredits: number;
    spentMicroCredits: number;
    resetsAt: string;
  }[];
};

/** "0.05 credits (p95 of 200 calls of openai/gpt-5)", "0.00 credits (no recent calls)", "off". */
function headroomLine(h: StatusViewLike["headroom"]): string {
  const model = h.provider && h.model ? ` of ${safeText(`${h.provider}/${h.model}`)}` : "";
  if (h.basis === "off") return "off";
  if (h.basis === "fixed") return `${h.credits} credits (fixed)`;
  if (h.basis === "no_data") return `${h.credits} credits (p95: no recent calls${model})`;
  return `${h.credits} credits (p95 of ${h.samples ?? 0} calls${model})`;
}

function printStatus(ctx: CliContext, s: StatusViewLike): void {
  ctx.out(
    `${safeText(s.userId)}: ${s.allowed ? "allowed" : `BLOCKED (${s.reason}${s.liftsAt ? `, lifts at ${s.liftsAt}` : ""})`}; ` +
      `balance ${formatMicroCredits(s.balanceMicroCredits)} credits; headroom ${headroomLine(s.headroom)}\n`,
  );
  if (s.windows.length > 0) {
    ctx.out(
      renderTable(
        ["window", "kind", "cap", "spent", "resets at"],
        s.windows.map((w) => [
          w.period,
          w.kind,
          formatMicroCredits(w.capMicroCredits),
          formatMicroCredits(w.spentMicroCredits),
          w.resetsAt,
        ]),
      ),
    );
  }
}

/** Whether `cap` (window and kind) is one of a user's own rules' caps. */
function ownCap(rules: unknown, cap: { period: string; kind: string }): boolean {
  const caps = (rules as { caps?: readonly { period: string; kind: string }[] } | null)?.caps ?? [];
  return caps.some((c) => c.period === cap.period && c.kind === cap.kind);
}

function printLimits(
  ctx: CliContext,
  g: GlobalOptions,
  user: string,
  l: {
    user: unknown;
    defaults: unknown;
    effective: {
      floorMicroCredits: number;
      caps: readonly { period: string; kind: string; capMicroCredits: number }[];
      capsInherited: readonly string[];
      lowBalanceMicroCredits: number;
      language: string;
      headroom: { mode: string; microCredits?: number };
    };
  },
  status: StatusViewLike | null,
): void {
  if (g.json) {
    ctx.out(toJson({ userId: user, ...l, ...(status ? { status } : {}) }));
    return;
  }
  const e = l.effective;
  ctx.out(
    `${user === "*" ? "defaults" : safeText(user)}: floor ${formatMicroCredits(e.floorMicroCredits)}, low-balance alert at ` +
      `${formatMicroCredits(e.lowBalanceMicroCredits)}, language ${e.language}, headroom ${headroomText(e.headroom)}` +
      `${l.user ? "" : user === "*" ? "" : " (defaults)"}\n`,
  );
  if (e.caps.length > 0)
    ctx.out(
      renderTable(
        ["window", "kind", "cap (credits)", "from"],
        // `'*'`: the defaults' cap, followed live (a change to '*' reaches this user)
        e.caps.map((c) => [
          c.period,
          c.kind,
          formatMicroCredits(c.capMicroCredits),
          user === "*" ? "defaults" : ownCap(l.user, c) ? "own" : "'*'",
        ]),
      ),
    );
  else ctx.out("no caps\n");
  if (status) printStatus(ctx, status);
}
