// Telegram Bot API `parse_mode: "HTML"`, as the server applies it: the text the user sees and its
// formatting entities, or the 400 error Telegram answers. Rules from
// https://core.telegram.org/bots/api#html-style: only the listed tags; `<`, `>` and `&` that are
// not part of a tag or entity must be escaped; named entities are only &lt; &gt; &amp; &quot;
// (others stay as written), numeric entities are all supported; tags must nest and close.
// Used by the stand-in Telegram (e2e) and the unit tests.

/** Tag name → entity type (`span` needs class="tg-spoiler"). */
const TAGS = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  span: "spoiler",
  a: "text_link",
  code: "code",
  pre: "pre",
  blockquote: "blockquote",
  "tg-emoji": "custom_emoji",
};
const NAMED = { lt: "<", gt: ">", amp: "&", quot: '"' };

export class TelegramParseError extends Error {
  constructor(message) {
    super(`Bad Request: can't parse entities: ${message}`);
    this.name = "TelegramParseError";
  }
}

function decodeEntities(s) {
  return s.replace(/&(#[xX][0-9A-Fa-f]+|#\d+|[A-Za-z]+);/g, (all, body) => {
    if (body[0] === "#") {
      const cp =
        body[1] === "x" || body[1] === "X" ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
      return Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
    }
    return NAMED[body] ?? all;
  });
}

/**
 * Parses a Telegram HTML message.
 * @param {string} html the `text` sent with `parse_mode: "HTML"`
 * @returns {{ text: string, entities: { type: string, offset: number, length: number, url?: string }[] }}
 *   `text` is what the user sees; offsets and lengths are in UTF-16 code units, like Telegram's.
 * @throws {TelegramParseError} where Telegram answers 400 (unsupported tag, bad nesting, unclosed tag).
 */
export function parseTelegramHtml(html) {
  let text = "";
  const entities = [];
  const open = [];
  const re =
    /<(\/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*\/?>/y;
  let i = 0;
  while (i < html.length) {
    const c = html[i];
    if (c === "<") {
      re.lastIndex = i;
      const m = re.exec(html);
      if (!m) throw new TelegramParseError(`Unexpected character at byte offset ${i}`);
      const [whole, closing, rawName, attrs] = m;
      const name = rawName.toLowerCase();
      const type = TAGS[name];
      if (!type) throw new TelegramParseError(`Unsupported start tag "${name}" at byte offset ${i}`);
      if (closing) {
        const top = open.pop();
        if (!top || top.name !== name)
          throw new TelegramParseError(`Unmatched end tag at byte offset ${i}, expected "</${top?.name}>"`);
        if (text.length > top.offset)
          entities.push({
            type: top.type,
            offset: top.offset,
            length: text.length - top.offset,
            ...(top.url ? { url: top.url } : {}),
          });
      } else {
        const attr = (k) => {
          const a = new RegExp(`\\s${k}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, "i").exec(attrs);
          return a ? decodeEntities(a[1] ?? a[2] ?? a[3] ?? "") : undefined;
        };
        if (name === "span" && attr("class") !== "tg-spoiler")
          throw new TelegramParseError(`Tag "span" must have class "tg-spoiler" at byte offset ${i}`);
        const url = name === "a" ? attr("href") : undefined;
        open.push({ name, type: name === "pre" && open.length ? "pre" : type, offset: text.length, url });
      }
      i += whole.length;
    } else if (c === "&") {
      const m = /&(#[xX][0-9A-Fa-f]+|#\d+|[A-Za-z]+);/y;
      m.lastIndex = i;
      const e = m.exec(html);
      if (e) {
        text += decodeEntities(e[0]);
        i += e[0].length;
      } else {
        text += c;
        i++;
      }
    } else if (c === ">") {
      // Telegram accepts a stray `>` as text.
      text += c;
      i++;
    } else {
      text += c;
      i++;
    }
  }
  if (open.length)
    throw new TelegramParseError(`Can't find end tag corresponding to start tag "${open.at(-1).name}"`);
  return { text, entities: entities.sort((a, b) => a.offset - b.offset) };
}
