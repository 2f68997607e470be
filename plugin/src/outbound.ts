/**
 * Every text this plugin puts in front of a chat user leaves through here, escaped for the way
 * the host renders it.
 *
 * OpenClaw (and Clawdbot before it) treats a plugin's reply text — command replies, the gate's
 * `before_dispatch` / `before_agent_reply` answers, and `sendText` of the outbound adapters — as
 * **Markdown** on every channel: it parses it once (markdown-it, linkify on, `||spoiler||` on)
 * and renders it per channel. On Telegram that render is HTML with `parse_mode: "HTML"`, and
 * OpenClaw escapes `& < >` in the text itself (`markdownToTelegramHtml` in
 * `extensions/telegram/src/format.ts`). So the plugin must not HTML-escape (that would be
 * escaped twice), but it must escape Markdown: unescaped, a user's `/recargar *x*` comes back in
 * italics, a reason like `a_<b>x</b>` comes back bold, `[label](url)` loses its URL, and
 * `||x||` is hidden behind a spoiler. The channel table is in the plugin README ("Reply
 * formatting").
 *
 * `escapeForChannel` is the one escaping function; `escapeCommandReplies`,
 * `escapeDispatchReply` and `escapeAgentReply` apply it to the registrations in `index.ts`,
 * and `NoticeDelivery.send` applies it to notices.
 */
import type {
  AgentHookContext,
  BeforeAgentReplyResult,
  BeforeDispatchContext,
  BeforeDispatchEvent,
  BeforeDispatchResult,
  PluginCommandContext,
  PluginCommandDefinition,
  ReplyPayload,
} from "./openclaw-types.js";

/**
 * How the host renders a reply on `channel`: `"markdown"` for every named channel (OpenClaw's
 * outbound pipeline parses Markdown for all of them: Telegram HTML, WhatsApp markers, Slack
 * mrkdwn, Signal style ranges, Discord/Mattermost native Markdown, Matrix HTML, and plain-text
 * channels such as SMS/IRC/LINE strip it), `"plain"` when there is no channel (a gateway
 * `agent` RPC or OpenAI-compatible HTTP turn answered to an API client, which gets the raw text).
 */
export type ReplySyntax = "markdown" | "plain";

export function replySyntax(channel: string | null | undefined): ReplySyntax {
  return typeof channel === "string" && channel.trim() !== "" ? "markdown" : "plain";
}

/** `text` escaped for `channel` (see `replySyntax`); plain surfaces get it untouched. */
export function escapeForChannel(text: string, channel: string | null | undefined): string {
  return replySyntax(channel) === "markdown" ? escapeMarkdown(text) : text;
}

/**
 * Bare URLs stay verbatim: the host linkifies them, and a backslash inside would break the link
 * (`_` and `~` are common in payment links). A URL ends at whitespace and at `< > " « » | * \` [ ]`.
 */
const URL_RE = /\bhttps?:\/\/[^\s<>"«»|*`[\]]+/g;
/** Inline characters that can start Markdown markup; `&` only where it would form an entity. */
const INLINE_SPECIAL = /[\\`*_~[\]<>|]|&(?=#?[A-Za-z0-9]+;)/g;
/** Line starts that would make a heading (`# x`), a list item (`- x`, `+ x`) or an underline (`===`, `---`). */
const LINE_START_SPECIAL = /^(?:#{1,6}(?=[ \t]|$)|[+-](?=[ \t]|$)|=+[ \t]*$|-+[ \t]*$)/;
/** `1.` / `1)` at a line start would become an ordered list (renumbered, re-spaced). */
const ORDERED_MARKER = /^(\d{1,9})([.)])(?=[ \t]|$)/;
const WORD_JOINER = "\u2060";
/**
 * Telegram's HTML tags (Bot API "HTML style"). OpenClaw turns the escaped text `&lt;b&gt;x&lt;/b&gt;`
 * back into real tags when the name is one of these, so a literal `<b>` needs a word joiner.
 */
const TELEGRAM_TAG_AFTER_LT =
  /^\/?(?:b|strong|i|em|u|ins|s|strike|del|span|tg-spoiler|tg-emoji|tg-time|a|code|pre|blockquote)(?=[\s>/])/i;

/**
 * `text` as CommonMark source that renders back to exactly `text` (OpenClaw's flavour:
 * linkify and `||spoiler||` on). Backslash-escapes the inline markup characters
 * `` \ ` * _ ~ [ ] < > | `` and entity-forming `&`, and line-start block markers (`#`, `+`, `-`,
 * `=`, `1.`, `1)`); leading spaces become no-break spaces (Markdown drops leading spaces, and
 * four of them start a code block), and so do trailing spaces (two make a line break). OpenClaw
 * matches `||` spoilers after unescaping, and turns escaped Telegram tags (`<b>`, `<a …>`…) back
 * into tags, so a word joiner (U+2060, invisible) goes between two pipes and after the `<` of
 * such a tag name. Bare `http(s)://` URLs are left as they are.
 */
export function escapeMarkdown(text: string): string {
  return text.split("\n").map(escapeLine).join("\n");
}

function escapeLine(line: string): string {
  const lead = /^[ \t]*/.exec(line)?.[0] ?? "";
  const trail = lead.length < line.length ? (/[ \t]*$/.exec(line)?.[0] ?? "") : "";
  let out = "\u00a0".repeat(lead.length);
  let rest = line.slice(lead.length, line.length - trail.length);
  const ordered = ORDERED_MARKER.exec(rest);
  if (ordered) {
    out += `${ordered[1]}\\${ordered[2]}`;
    rest = rest.slice(ordered[0].length);
  } else if (LINE_START_SPECIAL.test(rest)) {
    out += `\\${rest[0]}`;
    rest = rest.slice(1);
  }
  let last = 0;
  for (const m of rest.matchAll(URL_RE)) {
    out += escapeInline(rest.slice(last, m.index));
    out += m[0];
    last = m.index + m[0].length;
  }
  return out + escapeInline(rest.slice(last)) + "\u00a0".repeat(trail.length);
}

function escapeInline(s: string): string {
  return s
    .replace(INLINE_SPECIAL, (c, at: number) =>
      c === "<" && TELEGRAM_TAG_AFTER_LT.test(s.slice(at + 1)) ? `\\<${WORD_JOINER}` : `\\${c}`,
    )
    .replace(/\\\|(?=\\\|)/g, `\\|${WORD_JOINER}`);
}

/** The command with its handler's reply escaped for the channel the command came from. */
export function escapeCommandReplies(cmd: PluginCommandDefinition): PluginCommandDefinition {
  const handler = cmd.handler;
  return {
    ...cmd,
    handler: async (ctx: PluginCommandContext): Promise<ReplyPayload> => {
      const reply = await handler(ctx);
      return escapePayload(reply, ctx.channelId ?? ctx.channel);
    },
  };
}

type DispatchHook = (
  event: BeforeDispatchEvent,
  ctx: BeforeDispatchContext,
) => Promise<BeforeDispatchResult | undefined>;
/** The `before_dispatch` handler with its answer escaped for the inbound message's channel. */
export function escapeDispatchReply(hook: DispatchHook): DispatchHook {
  return async (event, ctx) => {
    const r = await hook(event, ctx);
    if (!r || typeof r.text !== "string") return r;
    return { ...r, text: escapeForChannel(r.text, event.channel ?? ctx.channelId) };
  };
}

type AgentReplyHook = (event: unknown, ctx: AgentHookContext) => Promise<BeforeAgentReplyResult | undefined>;
/** The `before_agent_reply` handler with its reply escaped for the turn's channel (`ctx.channel`). */
export function escapeAgentReply(hook: AgentReplyHook): AgentReplyHook {
  return async (event, ctx) => {
    const r = await hook(event, ctx);
    if (!r?.reply) return r;
    return { ...r, reply: escapePayload(r.reply, ctx.channel) };
  };
}

function escapePayload(p: ReplyPayload, channel: string | undefined): ReplyPayload {
  return typeof p?.text === "string" ? { ...p, text: escapeForChannel(p.text, channel) } : p;
}
