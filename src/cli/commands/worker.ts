import type { Command } from "commander";
import { ZodError, z } from "zod";
import { AppError, ErrorCode } from "../../errors.js";
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

/** `--language en|es` (the notices' languages), any case. */
function languageFlag(text: string): "en" | "es" {
  const t = text.trim().toLowerCase();
  if (t === "en" || t === "es") return t;
  throw new AppError(ErrorCode.InvalidRequest, `--language: "${text}" is not en or es`);
}

/** Every `limits set` value parsed once, so a bad one is refused before anything else is said. */
function checkLimitFlags(f: LimitFlags): void {
  for (const flag of Object.values(PERIOD_FLAG)) {
    const value = f[flag];
    if (value !== undefined && value !== "off") credits(flag, value);
  }
  if (f.floor !== undefined) credits("floor", f.floor, true);
  if (f.low !== undefined) lowFlag(f.low);
  if (f.language !== undefined) languageFlag(f.language);
  if (f.headroom !== undefined) headroomFlag(f.headroom);
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
    .option("--daily <credits>", "daily cap, e.g. 2 (or off)")
    .option("--weekly <credits>", "weekly cap (Monday 00:00) (or off)")
    .option("--monthly <credits>", "monthly cap, e.g. 20 (or off)")
    .option("--soft", "the caps given here only alert, never block")
    .option("--floor <credits>", "blocked at a balance <= this (default 0; -1 allows 1 credit of overdraft)")
    .option("--low <credits>", "low-balance alert level for this user")
    .option("--language <lang>", "language of this user's notices: en | es")
    .option(
      "--headroom <credits|p95|off>",
      "balance above the floor needed to start a call: p95 (typical cost of the agent's model), off, or credits",
    )
    .action(async (user: string, f: LimitFlags, cmd: Command) => {
      checkLimitFlags(f); // before the account lookup's "no account yet" note, and the database
      const { g, enforcer, queries, db } = await setup(cmd);
      // the account the meter bills (`slack:U07ABC` → `slack:u07abc`), never a second one
      user = userArg(ctx, db, user, { defaults: true }).accountId;
      const current = enforcer.limits(user);
      const base = user === "*" ? current.defaults : current.user;
      let caps = [...(base?.caps ?? (user === "*" ? [] : current.effective.caps))];
      for (const period of ["day", "week", "month"] as const) {
        const flag = PERIOD_FLAG[period];
        const value = f[flag];
        if (value === undefined) continue;
        caps = caps.filter((c) => c.period !== period);
        if (value !== "off")
          caps.push({ period, capMicroCredits: credits(flag, value), kind: f.soft ? "soft" : "hard" });
      }
      const rules = {
        ...(base ?? {}),
        caps,
        ...(f.floor !== undefined ? { floorMicroCredits: credits("floor", f.floor, true) } : {}),
        // a negative alert level and an unknown language were refused by the limits schema as
        // `invalid limits: ✖ … → at lowBalanceMicroCredits`: now one line naming the flag
        ...(f.low !== undefined ? { lowBalanceMicroCredits: lowFlag(f.low) } : {}),
        ...(f.language !== undefined ? { language: languageFlag(f.language) } : {}),
        ...(f.headroom !== undefined ? { headroom: headroomFlag(f.headroom) } : {}),
      };
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
        ["window", "kind", "cap (credits)"],
        e.caps.map((c) => [c.period, c.kind, formatMicroCredits(c.capMicroCredits)]),
      ),
    );
  else ctx.out("no caps\n");
  if (status) printStatus(ctx, status);
}
