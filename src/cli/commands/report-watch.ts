/**
 * `creditgate report --watch`: a compact live terminal view redrawn every few seconds (docs/reports.md
 * "Live view"). On a terminal each frame replaces the last (ANSI: clear screen, cursor hidden and
 * restored on exit); otherwise one plain frame (no escapes) per interval, so it can be logged or
 * piped. SIGINT (Ctrl-C) and SIGTERM end it cleanly: exit code 0, cursor shown again.
 */
import type { Config } from "../../config/index.js";
import { formatMicroCredits, parseDecimal } from "../../money.js";
import { type LiveView, liveView, usedPctText } from "../../reports/index.js";
import type { CliContext } from "../context.js";
import { renderTable, safeText } from "../output.js";

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const HOME_CLEAR = "\x1b[H\x1b[2J";

const utc = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace("T", " ")} UTC`;

/** One frame as plain text (no escapes; every user-controlled value through `safeText`). */
export function renderLiveFrame(v: LiveView, everySeconds: number): string {
  const out: string[] = [];
  const t = (row: LiveView["today"]) =>
    `$${row.costUsd} cost · ${row.requests} requests (${row.errors} errors) · ${formatMicroCredits(row.chargedMicroCredits)} credits charged`;
  out.push(
    `creditgate live · ${new Date(v.nowMs).toISOString().slice(0, 19).replace("T", " ")} UTC · ${v.timeZone} · every ${everySeconds} s · Ctrl-C quits`,
    "",
    `today      ${t(v.today)}`,
    `last hour  ${t(v.lastHour)}`,
    "",
  );
  out.push("top users today");
  if (v.topUsers.length === 0) out.push("  (no usage today)");
  else
    out.push(
      indent(
        renderTable(
          ["user", "requests", "cost (USD)", "charged"],
          v.topUsers.map((u) => [u.user, u.requests, u.costUsd, formatMicroCredits(u.chargedMicroCredits)]),
        ),
      ),
    );
  out.push("", `blocked users: ${v.blockedCount}`);
  for (const b of v.blocked)
    out.push(
      `  ${safeText(b.user)}  ${safeText(b.reason)}${b.liftsAtMs ? ` until ${utc(b.liftsAtMs)}` : ""}`,
    );
  for (const a of v.blockedAgents)
    out.push(
      `  users of ${a.agent === "*" ? "every agent" : `agent ${safeText(a.agent)}`}  operator_budget (${safeText(a.budget)} ${a.period}) until ${utc(a.liftsAtMs)}`,
    );
  if (v.budgets.length > 0) {
    out.push("", "budgets");
    for (const b of v.budgets)
      out.push(
        `  ${safeText(b.name)} ${b.period} ${b.mode}: $${b.spentUsd} of $${b.limitUsd} (${usedPctText(b)}%)${b.mode === "hard" && b.usedPct >= 100 ? " BLOCKING" : ""}`,
      );
  }
  out.push("", "recent alerts");
  if (v.alerts.length === 0) out.push("  (none)");
  for (const a of v.alerts)
    out.push(
      `  ${utc(a.atMs)}  ${safeText(a.kind)}  ${safeText(a.account)}${a.threshold ? ` ${safeText(a.threshold)}` : ""}`,
    );
  return `${out.join("\n")}\n`;
}

const indent = (table: string) =>
  table
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");

/**
 * Runs the live view until SIGINT/SIGTERM; resolves (exit code 0) after restoring the cursor.
 * @param everySeconds redraw interval (≥ 1)
 */
export async function watchReport(ctx: CliContext, config: Config, everySeconds: number): Promise<void> {
  const tty = ctx.outIsTty;
  const db = ctx.openDb(config, { existing: true });
  let stop: () => void = () => {};
  let stopped = false;
  const done = new Promise<void>((resolve) => {
    stop = () => {
      stopped = true;
      resolve();
    };
  });
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const creditsPerUsd = parseDecimal(config.pricing.creditsPerUsd);
  if (tty) ctx.out(HIDE_CURSOR);
  try {
    while (!stopped) {
      const frame = renderLiveFrame(
        liveView(db, { timeZone: config.worker.timezone, nowMs: ctx.nowMs(), creditsPerUsd }),
        everySeconds,
      );
      ctx.out(tty ? `${HOME_CLEAR}${frame}` : `${frame}\n`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, everySeconds * 1000)))]);
      clearTimeout(timer);
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    if (tty) ctx.out(`${SHOW_CURSOR}\n`);
    db.close();
  }
}
