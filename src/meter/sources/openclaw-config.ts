import { dirname, join } from "node:path";
import JSON5 from "json5";
import { type IdentityLinks, parseIdentityLinks } from "../resolve-user.js";
import { readRegularFile } from "./regular-file.js";

/** Config files OpenClaw (and its Clawdbot/Moltbot eras) keeps in its state dir, in the order read. */
const CONFIG_FILES = ["openclaw.json", "clawdbot.json", "moltbot.json"];

/**
 * The state dir's OpenClaw config: the first of `openclaw.json`, `clawdbot.json`, `moltbot.json`
 * that parses as a JSON5 object (a leading BOM ignored), else `{}` (missing, unreadable or not
 * JSON5: OpenClaw's defaults). Never throws. Read by the meter (`session.mainKey`) and by the
 * provider keys (`secrets` and `env`, src/providers/keys.ts).
 */
export function readOpenClawConfig(stateDir: string): Record<string, unknown> {
  for (const name of CONFIG_FILES) {
    try {
      const parsed: unknown = JSON5.parse(
        readRegularFile(join(stateDir, name))
          .toString("utf8")
          .replace(/^\uFEFF/, ""),
      );
      if (parsed && typeof parsed === "object") return parsed as Record<string, unknown>;
    } catch {
      // missing, not a regular file (a FIFO is never waited on) or not JSON5: the next file, else the defaults
    }
  }
  return {};
}

/**
 * Why the config OpenClaw would read in `stateDir` cannot be read, or null: the first of
 * `openclaw.json`, `clawdbot.json`, `moltbot.json` that is there (a missing one is no problem)
 * but is not a regular file, cannot be read, or does not parse as a JSON5 object. The meter then
 * reads OpenClaw's defaults ({@link readOpenClawConfig}): `session.identityLinks`, `mainKey` and
 * slash prefixes are not applied, so the problem is reported every poll (`creditgate health`,
 * `/readyz`, `meter --once` exits 1) rather than silently (before 2026-12-03 a config cut off
 * mid-write billed a linked person's DMs to each channel's own account, with nothing reported).
 * @returns `{ path, code, reason }` as a source problem, or null
 */
export function configProblem(stateDir: string): { path: string; code: string; reason: string } | null {
  for (const name of CONFIG_FILES) {
    const path = join(stateDir, name);
    let text: string;
    try {
      text = readRegularFile(path).toString("utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") continue;
      return {
        path,
        code: typeof code === "string" ? code : "error",
        reason: `OpenClaw's config cannot be read (${String((err as Error).message).slice(0, 200)}): identityLinks, session.mainKey and slash prefixes are read as OpenClaw's defaults`,
      };
    }
    try {
      const parsed: unknown = JSON5.parse(text.replace(/^\uFEFF/, ""));
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return null;
    } catch {
      // reported below
    }
    return {
      path,
      code: "EBADCONFIG",
      reason:
        "OpenClaw's config is not a JSON5 object (cut off mid-write?): identityLinks, session.mainKey and slash prefixes are read as OpenClaw's defaults",
    };
  }
  return null;
}

/**
 * The configured `session.mainKey` of the state dir holding `agentDir` (`<state>/agents/<id>`),
 * trimmed and lower-cased as OpenClaw's `normalizeMainKey` does, or null for the default `main`.
 *
 * OpenClaw collapses DMs (under the default `dmScope:"main"`), heartbeats and the Control UI
 * into `agent:<id>:<mainKey>` ("session.mainKey is honored", docs/concepts/session): with a
 * custom main key that session's key is an unfamiliar shape, and its entry's `origin`/`lastTo`
 * name whoever spoke last, so the meter must know the key to bill it to the operator. Only
 * `session.mainKey` of the parsed config counts (a fresh tester: a regex over the text took a
 * commented-out key, or any key ending in `mainKey` elsewhere in the file, and so billed a user's
 * DMs to the operator).
 */
export function configuredMainKey(agentDir: string): string | null {
  const session = readOpenClawConfig(dirname(dirname(agentDir))).session;
  const raw =
    session && typeof session === "object" && !Array.isArray(session)
      ? (session as Record<string, unknown>).mainKey
      : undefined;
  return mainKeyOf(raw);
}

/**
 * A main key as OpenClaw's `normalizeMainKey` makes it (trimmed, lower-cased), or null for the
 * default `main`, an empty value or a non-string: the key of `session.mainKey` in the config, or
 * of `session_key_contract.main_key` in an agent's SQLite store (see `createStoreAttribution`).
 */
export function mainKeyOf(raw: unknown): string | null {
  if (typeof raw !== "string") return null;
  const key = raw.trim().toLowerCase();
  return key && key !== "main" ? key : null;
}

/** A configured session prefix of a channel's native slash command: `<prefix>:<userId>` is that user's. */
export interface SlashPrefix {
  /** The prefix as OpenClaw writes it into keys (trimmed, lower-cased), e.g. `ask` or `slack:cmd`. */
  prefix: string;
  /** The channel whose users the command's sessions name (`slack`). */
  channel: string;
}

/**
 * The custom session prefixes of Slack's slash command in the state dir holding `agentDir`:
 * `channels.slack.slashCommand.sessionPrefix` and each `channels.slack.accounts.<id>.slashCommand
 * .sessionPrefix` (OpenClaw's `resolveSlackSlashCommandConfig`, default `slack:slash`), trimmed and
 * lower-cased as the key is (`resolveNativeCommandSessionTargets` with `lowercaseSessionKey`).
 *
 * Slack runs `/openclaw` in the session `agent:<a>:<sessionPrefix>:<userId>`: with the default
 * prefix that is the recognised `slack:slash:<userId>`; with a custom one an unfamiliar key, whose
 * entry names the user only as a route target `user:<id>` (an ephemeral reply), or not at all (a
 * reply posted to the channel). Empty when none is configured or only the default is.
 */
export function configuredSlashPrefixes(agentDir: string): SlashPrefix[] {
  const cfg = readOpenClawConfig(dirname(dirname(agentDir)));
  const obj = (v: unknown): Record<string, unknown> | null =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  const slack = obj(obj(cfg.channels)?.slack);
  if (!slack) return [];
  const sections = [slack, ...Object.values(obj(slack.accounts) ?? {}).map(obj)];
  const out = new Map<string, SlashPrefix>();
  for (const s of sections) {
    const raw = obj(s?.slashCommand)?.sessionPrefix;
    if (typeof raw !== "string") continue;
    const prefix = raw.trim().toLowerCase();
    if (prefix && prefix !== "slack:slash") out.set(prefix, { prefix, channel: "slack" });
  }
  return [...out.values()];
}

/**
 * The configured `session.identityLinks` of the state dir holding `agentDir` ({@link parseIdentityLinks}),
 * or null when none links anything. With it OpenClaw keys a linked person's DMs on every channel by
 * the canonical name (`agent:<a>:telegram:direct:alice`, `agent:<a>:whatsapp:direct:alice`): before
 * 2026-12-03 each channel's sessions were billed as their own account (`telegram:alice`,
 * `whatsapp:alice`, and `telegram:7770707` for DMs keyed before the link).
 */
export function configuredIdentityLinks(agentDir: string): IdentityLinks | null {
  const session = readOpenClawConfig(dirname(dirname(agentDir))).session;
  return session && typeof session === "object" && !Array.isArray(session)
    ? parseIdentityLinks((session as Record<string, unknown>).identityLinks)
    : null;
}
