/**
 * What a Telegram user sees for a plugin reply, for unit tests: the reply is Markdown to OpenClaw
 * (see src/outbound.ts). This parses it with markdown-it (the parser OpenClaw uses, linkify on,
 * inline HTML kept raw), renders Telegram HTML the way OpenClaw's `markdownToTelegramHtml` does
 * (text escaped `& < >`, em → <i>, strong → <b>, ~~ → <s>, code, links, `||spoiler||`, escaped
 * Telegram tags promoted back to tags), then applies Telegram's own `parse_mode: "HTML"` rules
 * (scripts/support/telegram-html.mjs, also used by the e2e's stand-in Telegram). The e2e runs the
 * real `markdownToTelegramHtml` of openclaw@2026.9.6 on the same inputs.
 */
import MarkdownIt from "markdown-it";
import { parseTelegramHtml } from "../../scripts/support/telegram-html.mjs";

const md = new MarkdownIt({ html: true, linkify: true });
type Token = ReturnType<typeof md.parse>[number];
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const TAG = { em: "i", strong: "b", s: "s" } as const;
const TG_TAGS = "b|strong|i|em|u|ins|s|strike|del|tg-spoiler|code|pre|blockquote";
const TG_TAG = new RegExp(`^<(/?)(${TG_TAGS}|a(?=\\s))[^<>]*>$`, "i");

/** Reply Markdown → the Telegram HTML OpenClaw would send. */
export function openclawTelegramHtml(markdown: string): string {
  let html = "";
  let lastClose = "";
  const lists: { ordered: boolean; n: number }[] = [];
  for (const t of md.parse(markdown, {})) {
    if (t.type === "ordered_list_open" || t.type === "bullet_list_open") {
      lists.push({ ordered: t.type === "ordered_list_open", n: Number(t.attrGet("start") ?? 1) });
    } else if (t.type === "ordered_list_close" || t.type === "bullet_list_close") {
      lists.pop();
    } else if (t.type === "list_item_open") {
      const l = lists.at(-1);
      // Items of one list are one line apart; other blocks a blank line (as OpenClaw renders).
      if (html) html += lastClose === "list_item_close" ? "\n" : "\n\n";
      html += l?.ordered ? `${l.n++}. ` : "• ";
    } else if (t.type === "inline") {
      if (html && !html.endsWith(" ") && !html.endsWith(">") && lastClose !== "list_item_open")
        html += "\n\n";
      html += inline(t.children ?? []);
    } else if (t.type === "blockquote_open" || t.type === "blockquote_close") {
      if (t.type === "blockquote_open" && html) html += "\n\n";
      html += t.nesting === 1 ? "<blockquote>" : "</blockquote>";
    } else if (t.type === "hr") {
      html += `${html ? "\n\n" : ""}───`;
    } else if (t.type === "fence" || t.type === "code_block") {
      if (html) html += "\n\n";
      html += `<pre><code>${esc(t.content)}</code></pre>`;
    }
    if (t.type.endsWith("_close") || t.type === "list_item_open") lastClose = t.type;
    else if (t.type === "inline") lastClose = "inline";
  }
  return html
    .replace(/\|\|(.+?)\|\|/g, "<tg-spoiler>$1</tg-spoiler>")
    .replace(new RegExp(`&lt;(/?)(${TG_TAGS})&gt;`, "gi"), "<$1$2>");
}

function inline(children: Token[]): string {
  let out = "";
  for (const c of children) {
    const kind = c.type.replace(/_(open|close)$/, "");
    if (c.type === "text") out += esc(c.content);
    else if (c.type === "softbreak" || c.type === "hardbreak") out += "\n";
    else if (c.type === "code_inline") out += `<code>${esc(c.content)}</code>`;
    // OpenClaw keeps Telegram's own tags and escapes any other inline HTML (`<paquete>`).
    else if (c.type === "html_inline") out += TG_TAG.test(c.content) ? c.content : esc(c.content);
    else if (c.type === "link_open") out += `<a href="${esc(String(c.attrGet("href") ?? ""))}">`;
    else if (c.type === "link_close") out += "</a>";
    else if (kind in TAG) out += `<${c.nesting === -1 ? "/" : ""}${TAG[kind as keyof typeof TAG]}>`;
    else if (c.type === "image") out += esc(c.content);
  }
  return out;
}

/**
 * The text a Telegram user reads for `markdown`, and whether any formatting was applied
 * (links on bare URLs, which Telegram shows as the URL itself, are not formatting). Invisible
 * word joiners are dropped and no-break spaces read as spaces.
 * @throws where Telegram would answer 400 for the HTML.
 */
export function telegramSees(markdown: string): { text: string; formatted: string[] } {
  const { text, entities } = parseTelegramHtml(openclawTelegramHtml(markdown));
  const formatted = entities
    .filter((e) => !(e.type === "text_link" && text.slice(e.offset, e.offset + e.length) === e.url))
    .map((e) => `${e.type}:${text.slice(e.offset, e.offset + e.length)}`);
  return { text: text.replace(/\u2060/g, "").replace(/\u00a0/g, " "), formatted };
}
