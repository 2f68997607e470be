import { isIPv4, isIPv6 } from "node:net";
import { findPhoneNumbersInText } from "libphonenumber-js";

/**
 * Redacted previews of a call's user message and reply (docs/previews.md): what is kept of chat
 * text when the operator turns previews on (`CREDITGATE_PREVIEWS=on`). The text is redacted
 * first, then cut to `chars` characters, so a secret that straddles the cut is still redacted.
 * Pure: no I/O, nothing logged. The original text never leaves this module.
 */

/** Default preview length in characters (code points), `CREDITGATE_PREVIEW_CHARS`. */
export const DEFAULT_PREVIEW_CHARS = 160;
/**
 * Redaction reads at most this many characters of a message (then cut at the last whitespace
 * before it): the preview is a prefix, and this bounds the work on a pasted megabyte.
 */
export const REDACT_WINDOW_CHARS = 65_536;

/** One rule: what it finds and what it leaves instead. Applied in order (secrets first). */
interface Rule {
  name: string;
  re: RegExp;
  /** The replacement for a match; null keeps the match (a validator said it is not one). */
  to: (m: string, ...groups: string[]) => string | null;
}

const put = (label: string) => () => `[${label}]`;

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

const CURRENCY_CODES =
  "USD|EUR|GBP|JPY|CNY|INR|MXN|ARS|BRL|CLP|COP|PEN|UYU|CAD|AUD|NZD|CHF|SEK|NOK|DKK|PLN|CZK|HUF|RUB|TRY|ZAR|KRW|SGD|HKD|BTC|ETH|USDT|USDC";
const CURRENCY_WORDS = "dollars?|d[óo]lares|euros?|pesos?|pounds?|reais|reales|yen|rupees?|francs?|bucks";
const AMOUNT = String.raw`\d[\d.,'’ ]*\d|\d`;

/**
 * The rules, in order. Secrets and tokens go first (they contain digits and `@`), then emails,
 * IBANs and cards (before the generic number rules), addresses, paths, money, phones, and last any
 * long run of digits or long hex/base64 string left.
 */
const RULES: Rule[] = [
  {
    name: "private-key",
    re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g,
    to: put("secret"),
  },
  { name: "jwt", re: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, to: put("secret") },
  {
    name: "auth-header",
    re: /\b(bearer|basic|token|authorization:?)(\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
    to: (_m, word, sp) => `${word}${sp}[secret]`,
  },
  {
    name: "url-credentials",
    re: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/:@]*:[^\s/@]+@/gi,
    to: (_m, scheme) => `${scheme}[secret]@`,
  },
  {
    name: "key-prefix",
    re: /\b(?:sk|pk|rk)[-_](?:live|test|proj|ant|or)?[-_]?[A-Za-z0-9_-]{12,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}|\bxox[abposr]-[A-Za-z0-9-]{8,}|\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b|\bAIza[0-9A-Za-z_-]{30,}|\bglpat-[A-Za-z0-9_-]{16,}|\bhf_[A-Za-z0-9]{20,}|\bnpm_[A-Za-z0-9]{30,}|\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|\bAPP_USR-[A-Za-z0-9-]{16,}|\bwhsec_[A-Za-z0-9]{16,}/g,
    to: put("secret"),
  },
  {
    name: "key-value",
    // The key may be part of a longer identifier (`DB_PASSWORD`, `MYSQL_ROOT_PASSWORD`,
    // `ACCESS_TOKEN`, `SECRET_KEY_BASE`) and quoted (`"password": "…"` in pasted JSON). Bounded
    // suffix and no prefix group: linear time on 64 KiB of `password_password_…`.
    re: /(?<![A-Za-z0-9])((?:api[_-]?key|apikey|secret|client[_-]?secret|password|passwd|pwd|passphrase|access[_-]?key|auth[_-]?token|token|contraseña|senha|passwort|clave)(?:[_-][A-Za-z0-9]+){0,3})(["']?\s*[:=]\s*|\s+(?:is|es)\s+)("[^"]*"|'[^']*'|\S+)/gi,
    to: (_m, key, sep) => `${key}${sep}[secret]`,
  },
  {
    name: "email",
    re: /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+(?:@|\s?\[at\]\s?|\s\(at\)\s)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g,
    to: put("email"),
  },
  {
    name: "iban",
    re: /\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?\b/g,
    to: put("account"),
  },
  {
    name: "card",
    re: /(?<![\d.])\d(?:[ -]?\d){12,18}(?![\d])/g,
    to: (m) => (luhnValid(m.replace(/\D/g, "")) ? "[card]" : null),
  },
  {
    name: "ipv4",
    re: /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d]|\.\d)/g,
    to: (m) => (isIPv4(m) ? "[ip]" : null),
  },
  {
    name: "ipv6",
    re: /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:|\[ip\])?(?:%[0-9A-Za-z]+)?(?![0-9A-Fa-f:])/g,
    to: (m) => (isIPv6(m.replace(/%.*$/, "").replace("[ip]", "1.2.3.4")) ? "[ip]" : null),
  },
  {
    name: "home-path",
    re: /(\/(?:home|Users)\/|\b[A-Za-z]:\\(?:Users|Documents and Settings)\\)([^/\\\s"'`]+)/g,
    to: (_m, prefix) => `${prefix}[user]`,
  },
  {
    name: "money",
    re: new RegExp(
      String.raw`(?:[$€£¥₹₩₽¢]|\b(?:US|AR|MX|CA|AU|NZ|HK|S|R)\$)\s?-?(?:${AMOUNT})(?:\s?(?:k|K|M|mil|million|millones|bn))?` +
        String.raw`|\b(?:${CURRENCY_CODES})\s?-?(?:${AMOUNT})` +
        String.raw`|(?<![\w.])-?(?:${AMOUNT})\s?(?:[$€£¥₹₩₽]|(?:${CURRENCY_CODES}|${CURRENCY_WORDS})\b)`,
      "gi",
    ),
    to: put("amount"),
  },
  { name: "phone", re: /$^/g, to: put("phone") }, // libphonenumber-js: see redactPhones
  {
    name: "long-number",
    re: /(?<![\w])\+?\d(?:[\s().-]{0,2}\d){6,}(?![\w])/g,
    to: put("number"),
  },
  { name: "hex-secret", re: /\b[0-9A-Fa-f]{24,}\b/g, to: put("secret") },
  {
    name: "base64-secret",
    re: /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{28,}={0,2}(?![A-Za-z0-9+/_-])/g,
    // a long word of letters only (or digits only) is not a secret: needs letters and digits
    to: (m) => (/[A-Za-z]/.test(m) && /\d/.test(m) ? "[secret]" : null),
  },
];

function redactPhones(text: string): string {
  let found: ReturnType<typeof findPhoneNumbersInText>;
  try {
    found = findPhoneNumbersInText(text, { defaultCallingCode: "1", extended: false } as never);
  } catch {
    return text;
  }
  if (found.length === 0) return text;
  let out = "";
  let at = 0;
  for (const f of found) {
    if (f.startsAt < at) continue;
    out += `${text.slice(at, f.startsAt)}[phone]`;
    at = f.endsAt;
  }
  return out + text.slice(at);
}

/** Zero-width and formatting characters someone might put inside a secret to dodge a pattern. */
const INVISIBLE = /[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g;

/**
 * The text with every secret, address and number the rules know replaced by a label
 * (`[secret]`, `[email]`, `[phone]`, `[card]`, `[account]`, `[ip]`, `/home/[user]`, `[amount]`,
 * `[number]`). Unicode is NFKC-normalised first (full-width digits become ASCII), invisible
 * characters are dropped and whitespace runs become one space. Not a prefix: see `makePreview`.
 */
export function redact(text: string): string {
  let t = text.normalize("NFKC").replace(INVISIBLE, "").replace(/\s+/g, " ").trim();
  for (const r of RULES) {
    if (r.name === "phone") {
      t = redactPhones(t);
      continue;
    }
    t = t.replace(r.re, (m: string, ...rest: unknown[]) => {
      const groups = rest.slice(0, -2).map((g) => (typeof g === "string" ? g : ""));
      return r.to(m, ...groups) ?? m;
    });
  }
  return t;
}

/**
 * The stored preview of `text`: redacted, then cut to `chars` code points (an ellipsis `…` marks a
 * cut). Null for no text or only whitespace. Only the first `min(REDACT_WINDOW_CHARS, chars × 8 + 512)`
 * characters are read (cut at a whitespace, so no word is split where the window ends).
 * @param chars preview length in code points, ≥ 1
 */
export function makePreview(text: string | null, chars: number): string | null {
  if (text === null) return null;
  let t = text;
  // Redact only the start: the preview shows the first `chars` characters after redaction, and
  // the input is cut at a whitespace (no token split), so a shorter window can only shorten a
  // preview, never leak; `chars × 8 + 512` keeps it full unless redaction shrinks that window more
  // than 8-fold. It bounds the work: the rules are superlinear on long runs of digits and
  // separators (5–7 s of CPU for a hostile 64 KiB message, found by a break test).
  const window = Math.min(REDACT_WINDOW_CHARS, chars * 8 + 512);
  if (t.length > window) {
    const cut = t.slice(0, window);
    const ws = cut.search(/\s\S*$/);
    t = ws > 0 ? cut.slice(0, ws) : cut;
  }
  const red = redact(t);
  if (red.length === 0) return null;
  const cps = Array.from(red);
  if (cps.length <= chars) return red;
  return `${cps.slice(0, Math.max(1, chars - 1)).join("")}…`;
}

/**
 * The text of a transcript message's `content`: a string, or the `text` of its `{type:"text"}`
 * parts joined by a space (thinking, tool calls and images are left out). Null when there is none.
 */
export function messageText(content: unknown): string | null {
  if (typeof content === "string") return content.length > 0 ? content : null;
  if (!Array.isArray(content)) return null;
  const parts: string[] = [];
  for (const p of content) {
    if (typeof p === "object" && p !== null) {
      const part = p as { type?: unknown; text?: unknown };
      if (part.type === "text" && typeof part.text === "string" && part.text.length > 0)
        parts.push(part.text);
    }
  }
  return parts.length > 0 ? parts.join(" ") : null;
}
