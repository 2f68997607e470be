import { createRequire } from "node:module";
import { isIPv4, isIPv6 } from "node:net";
import type * as PhoneLib from "libphonenumber-js";

/**
 * libphonenumber-js, loaded on the first preview that is redacted: ~70–110 ms of module loading
 * that every process (and the meter's reader thread) paid at start-up, with previews off by
 * default. Its CommonJS build, so the load stays synchronous like the rest of redaction.
 */
let phoneLib: typeof PhoneLib | null = null;
const phones = (): typeof PhoneLib => {
  phoneLib ??= createRequire(import.meta.url)("libphonenumber-js") as typeof PhoneLib;
  return phoneLib;
};

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

/** ISO 13616 mod-97 check of an IBAN in any case, spaces and dashes ignored. */
function ibanValid(s: string): boolean {
  const v = s.replace(/[ -]/g, "").toUpperCase();
  if (v.length < 15 || v.length > 34) return false;
  const r = v.slice(4) + v.slice(0, 4);
  let rem = 0;
  for (const ch of r) {
    const n = ch >= "A" ? ch.charCodeAt(0) - 55 : ch.charCodeAt(0) - 48;
    rem = n > 9 ? (rem * 100 + n) % 97 : (rem * 10 + n) % 97;
  }
  return rem === 1;
}

/** Dates (and date-times) that the long-number rule must leave: 2026-11-30, 30/11/2026, 2026.11.30 10 30. */
const DATE_LIKE =
  /^(?:(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)\d{2}|(?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:19|20)\d{2})(?:[ T]\d{1,2}(?:[:.]?\d{2}(?:[:.]?\d{2})?)?)?$/;

/**
 * The card in a run of digit groups: the whole run when Luhn-valid, else the longest prefix of
 * whole groups with 13-19 digits that is (the rest — an expiry or CVV typed after — is kept for
 * the next rules). Null when no prefix is a card.
 */
function cardIn(run: string): string | null {
  const digits = run.replace(/\D/g, "");
  if (digits.length <= 19 && luhnValid(digits)) return "[card]";
  const ends: number[] = [];
  for (const m of run.matchAll(/\d+/g)) ends.push((m.index ?? 0) + m[0].length);
  for (let i = ends.length - 1; i >= 0; i--) {
    const end = ends[i] as number;
    const d = run.slice(0, end).replace(/\D/g, "");
    if (d.length >= 13 && d.length <= 19 && luhnValid(d)) return `[card]${run.slice(end)}`;
  }
  return null;
}

/**
 * True for an IPv4 address in a form `inet_aton` accepts and people paste: a dotted quad
 * (decimal, or parts in hex `0x7f` or octal `0177`), or 1-3 parts when one of them is hex
 * (`0x7f.1`, `0x7f000001`, a 32-bit hex number of 7-8 digits). All-decimal 1-3 part forms are
 * versions and counts, not addresses.
 */
function ipv4Like(m: string): boolean {
  if (isIPv4(m)) return true;
  const parts = m.split(".");
  const hasHex = parts.some((p) => /^0x/i.test(p));
  if (parts.length !== 4 && !hasHex) return false;
  if (parts.length === 1) return /^0x[0-9a-f]{7,8}$/i.test(m);
  const vals = parts.map((p) =>
    /^0x[0-9a-f]+$/i.test(p)
      ? Number.parseInt(p, 16)
      : /^0[0-7]+$/.test(p)
        ? Number.parseInt(p, 8)
        : /^\d+$/.test(p)
          ? Number(p)
          : Number.NaN,
  );
  if (vals.some((v) => !Number.isFinite(v))) return false;
  if (!hasHex && !parts.some((p) => /^0\d/.test(p))) return false; // plain decimals: isIPv4 said no
  const last = vals[vals.length - 1] as number;
  const lastMax = 2 ** (8 * (5 - vals.length)) - 1;
  return vals.slice(0, -1).every((v) => v <= 255) && last <= lastMax;
}

const CURRENCY_CODES =
  "USD|EUR|GBP|JPY|CNY|INR|MXN|ARS|BRL|CLP|COP|PEN|UYU|CAD|AUD|NZD|CHF|SEK|NOK|DKK|PLN|CZK|HUF|RUB|TRY|ZAR|KRW|SGD|HKD|BTC|ETH|USDT|USDC";
const CURRENCY_WORDS =
  "dollars?|d[óo]lares|d[óo]lar|euros?|pesos?|pounds?|quid|reais|real|reales|yen|yuan|rupees?|rupias?|francs?|francos?|bucks|soles|sol|bol[ií]vares|guaran[ií]es|pence|cents?|centavos?|c[ée]ntimos?|rubles?|roubles?|lira|liras|won|baht|rand|krona|kronor|krone|kroner|zloty|z[łl]otys?|satoshis?|bitcoins?|ether|руб(?:лей|ля|ль)?|円|元|yenes|lucas?|pavos|balles";
const AMOUNT = String.raw`\d[\d.,'’ ]{0,30}\d|\d`;
/** A magnitude after an amount: `3k`, `3.5M`, `2 mil`, `1.2 million`, `5 grand`, `3bn`. */
const MAGNITUDE = String.raw`(?:\s?(?:k|K|M|MM|mm|bn|B)\b|\s(?:mil|million|millones|millions|mill[õo]es|thousand|mille|grand|billion|bn|lakh|lakhs|crore|crores)(?:\s(?:de|d'))?\b)`;
/** Amounts in words (English, Spanish, Portuguese, French): `twenty dollars`, `cinco pesos`. */
const NUMBER_WORDS =
  "(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|un|una|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|veinte|treinta|cuarenta|cincuenta|cien|ciento|mil|millones|um|dois|três|quatro|sete|oito|nove|dez|vinte|cem|deux|trois|quatre|cinq|sept|huit|neuf|dix|vingt|cent|mille|once|doce|quince|doscientos|trescientos|cuatrocientos|quinientos|seiscientos|setecientos|ochocientos|novecientos|duzentos|trezentos|quinhentos|mil)";

/**
 * The rules, in order. Secrets and tokens go first (they contain digits and `@`), then emails,
 * IBANs and cards (before the generic number rules), addresses, paths, money, phones, and last any
 * long run of digits or long hex/base64 string left.
 */
const RULES: Rule[] = [
  {
    name: "private-key",
    re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
    to: put("secret"),
  },
  { name: "jwt", re: /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, to: put("secret") },
  {
    // `Authorization:` / `Proxy-Authorization:` headers: the whole credential after an optional
    // scheme, whatever its length (`Token abc123`).
    name: "authorization-header",
    re: /\b((?:proxy-)?authorization\s*[:=]\s*["']?(?:(?:bearer|basic|token|digest|apikey|api-key|negotiate|ntlm|hmac|aws4-hmac-sha256|sso-key)\s+)?)(?:[A-Za-z]+=(?:"[^"]*"|[^\s,"']+)|[^\s"']+)(?:\s*,\s*[A-Za-z]+=(?:"[^"]*"|[^\s,"']+))*/gi,
    to: (_m, head) => `${head}[secret]`,
  },
  {
    // A scheme word then a credential-shaped value (digits, or long, or base64 padding); `the
    // bearer of news` and `a token limit` stay.
    name: "auth-scheme",
    re: /\b(bearer|basic|token|digest|apikey)(\s+)([A-Za-z0-9._~+/=-]{6,})/gi,
    to: (_m, word, sp, value) =>
      /\d/.test(value) ||
      value.length >= 16 ||
      value.endsWith("=") ||
      (value.length >= 8 && /[a-z]/.test(value) && /[A-Z]/.test(value))
        ? `${word}${sp}[secret]`
        : null,
  },
  {
    // Cookie headers and pasted cookie strings: every `name=value` pair's value.
    name: "cookie",
    re: /\b((?:set-)?cookie\s*:\s*)([^\s;=]+=)[^\s;]*((?:;\s*[^\s;=]+(?:=[^\s;]*)?)*)/gi,
    to: (_m, head, first, rest) =>
      `${head}${first}[secret]${rest.replace(/(;\s*(?!(?:path|domain|expires|max-age|samesite)=)[^\s;=]+=)[^\s;]*/gi, "$1[secret]")}`,
  },
  {
    name: "url-credentials",
    re: /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/:@]*:[^\s/@]+@/gi,
    to: (_m, scheme) => `${scheme}[secret]@`,
  },
  {
    name: "key-prefix",
    re: /\b(?:sk|pk|rk)[-_](?:live|test|proj|ant|or)?[-_]?[A-Za-z0-9_-]{12,}|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}|\bxox[abposr]-[A-Za-z0-9-]{8,}|\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b|\bAIza[0-9A-Za-z_-]{30,}|\bglpat-[A-Za-z0-9_-]{16,}|\bhf_[A-Za-z0-9]{20,}|\bnpm_[A-Za-z0-9]{30,}|\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}|\bAPP_USR-[A-Za-z0-9-]{16,}|\bwhsec_[A-Za-z0-9]{16,}|\b(?:fw|gsk|r8|lin_api|dop_v1|shpat|shpss|glsa)_[A-Za-z0-9_]{16,}|\b(?:xai|pplx)-[A-Za-z0-9]{20,}/g,
    to: put("secret"),
  },
  {
    // A password-like keyword in several languages, then the rest of its clause (a pass phrase
    // has spaces: `password: correct horse battery staple`), up to 80 characters, a sentence
    // end or a joining word.
    name: "pass-phrase",
    re: /(?<![\p{L}\p{N}])((?:[A-Za-z]+[_-])?(?:password|passwort|passwd|passphrase|pass phrase|passcode|contraseña|contrasena|clave|senha|palavra-passe|mot de passe|kennwort|wachtwoord|parola|пароль|密码|パスワード|mnemonic|seed phrase|seed words|recovery phrase|secret phrase|frase semilla|frase secreta|frase de recuperaci[óo]n|palabras semilla|phrase secr[èe]te|pass|pw|mdp)(?:[_-][A-Za-z0-9]+){0,2})(["']?\s*[:=]\s*|\s+(?:is|es|est|é|ist|era|was|:)\s+|\s+)((?:"[^"]*"|'[^']*'|(?:(?![.;,!?](?:\s|$))(?!\s(?:and|y|et|e|und|but|pero|mais|mas|then|luego|por favor|please)(?:\s|$))(?!\s[^\s=:]*[=:])(?!\s(?:[|•·]|(?:seed|recovery|secret) (?:phrase|words)))(?!\s?[{}[\]])[^\n]){1,256}))/giu,
    to: (_m, key, sep, value) => {
      // `pass`, `pw`, `mdp` are also ordinary words (`pass the salt`, `my bus pass is valid`):
      // only `:`/`=` or a value with a digit or symbol count after them.
      if (/^(?:pass|pw|mdp)$/i.test(key) && !/[:=]/.test(sep) && !/[\d\W_]/u.test(value.split(" ")[0] ?? ""))
        return null;
      // `the password field`, `password reset`: a bare space only counts before a value with a
      // digit or symbol (`senha minhacasa123`); `:`, `=` and `is` always do.
      const first = value.startsWith('"') || value.startsWith("'") ? value : (value.split(" ")[0] ?? "");
      if (/^\s+$/.test(sep) && !/[\d\W_]/u.test(first)) return null;
      // `KEY=value` (env, query strings) holds no spaces: only its first word is the secret.
      if (sep.includes("=")) return `${key}${sep}[secret]${value.slice(first.length)}`;
      return `${key}${sep}[secret]`;
    },
  },
  {
    // A password keyword, a few words, then `is`/`es`/`est`/`é`/`c'est`/`:` and a value with a
    // digit or symbol (`la contraseña de mi wifi es perro123`, `the password I use is hunter2`,
    // `My password? It's hunter2`): only that first word is replaced; `the password field is
    // required` stays.
    name: "pass-phrase-far",
    re: /(?<![\p{L}\p{N}])(password|passwort|passphrase|passcode|contraseña|contrasena|clave|senha|mot de passe|mdp|pass|pwd|pw|kennwort|пароль)((?:[\s?,]{1,3}[\p{L}'’-]{1,15}){0,4}?)(\s?[?!.]?\s(?:it's|it’s|it is|c'est|c’est|is|es|est|é|ist|era|was|sería|será|=|:)\s|\s?:\s?)(?!\[secret\])([^\s]{1,80})/giu,
    to: (_m, key, mid, sep, value) =>
      /[\d\W_]/u.test(value.replace(/[.,;!?]+$/, "")) ? `${key}${mid}${sep}[secret]` : null,
  },
  {
    // `my api key is abcd1234…`, `la licencia es ABCD-1234-…`, `product key: …`: a key word, then
    // `is`/`es`/`:` and a value of 8+ characters with a digit (`the key is to practice` stays).
    name: "key-phrase",
    re: /(?<![\p{L}\p{N}])((?:api|secret|license|licence|access|private|product|activation|serial|wifi)[ _-]?key|key|llave|clave (?:de )?api|chave (?:de )?api|licencia|licença|licence|license|serial)(\s+(?:is|es|est|é|era|was)\s+|\s*:\s*)(?!\[secret\])([^\s]{8,80})/giu,
    to: (_m, key, sep, value) => (/\d/.test(value) ? `${key}${sep}[secret]` : null),
  },
  {
    // A login and its password written as a pair: `login: admin / hunter2`, `usuario: ana | clave1`.
    name: "login-pair",
    re: /(?<![\p{L}\p{N}/\\])((?:login|user(?:name)?|usuario|usu[áa]rio|utilisateur|identifiant|benutzer)(?:\s*[:=]\s*|\s+)[^\s/|]{1,64}\s?[/|]\s?)(?!\[secret\])([^\s]{1,80})/giu,
    to: (_m, head) => `${head}[secret]`,
  },
  {
    // Card security data next to its keyword: CVV/CVC/CSC/CID and PIN codes, expiry dates.
    name: "card-extras",
    // Also one-time and verification codes (`OTP 482913`, `tu código de verificación es 482913`).
    re: /(?<![\p{L}\p{N}])(cvv2?|cvc2?|csc|cid|cav2|security code|c[óo]digo de seguridad|pin(?: code| number)?|nip|exp(?:iry|iration)?(?: date)?|exp\.|valid (?:thru|through|until)|good thru|vence|vencimiento|validade|expira|otp|2fa(?: code)?|one[- ]time (?:code|password|pin)|verification code|login code|auth(?:entication)? code|c[óo]digo(?: de (?:verificaci[óo]n|acceso|acesso|confirmaci[óo]n|confirma[çc][ãa]o|seguran[çc]a))?|code de (?:v[ée]rification|confirmation|s[ée]curit[ée])|token sms)(\s*[:#=]?\s*|\s+(?:is|es|est|é|era|was)\s+)(\d{3,8}(?![\p{L}\p{N}])|\d{1,2}\s?[/-]\s?(?:\d{4}|\d{2})(?![\p{L}\p{N}]))/giu,
    to: (_m, word, sep) => `${word}${sep}[secret]`,
  },
  {
    name: "key-value",
    // The key may be part of a longer identifier (`DB_PASSWORD`, `MYSQL_ROOT_PASSWORD`,
    // `ACCESS_TOKEN`, `SECRET_KEY_BASE`) and quoted (`"password": "…"` in pasted JSON). Bounded
    // suffix and no prefix group: linear time on 64 KiB of `password_password_…`.
    re: /(?<![A-Za-z0-9])((?:api[_-]?key|apikey|secret|client[_-]?secret|password|passwd|pwd|passphrase|access[_-]?key|auth[_-]?token|token|contraseña|senha|passwort|clave|session[_-]?id|sessionid|sid|jsessionid|phpsessid|csrf[_-]?token|xsrf[_-]?token|refresh[_-]?token|id[_-]?token|private[_-]?key|signing[_-]?key)(?:[_-][A-Za-z0-9]+){0,3})(["']?\s*[:=]\s*|\s+(?:is|es)\s+)(?!\[secret\])("[^"]*"|'[^']*'|\S+)/gi,
    to: (_m, key, sep) => `${key}${sep}[secret]`,
  },
  {
    // Any script (IDN: `josé@exámple.com`, `用户@例子.广告`), `%40` for `@`, and written-out
    // forms: `jane [at] example [dot] com`, `jane (at) example.com`.
    name: "email",
    re: /[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~.-]{1,64}(?: ?@ ?|%40|\s?[[({<]\s?(?:at|arroba|arobase)\s?[\])}>]\s?)[\p{L}\p{N}\p{M}-]{1,63}(?:(?:\.|\s?[[({<]\s?(?:dot|punto|ponto|point)\s?[\])}>]\s?)[\p{L}\p{N}\p{M}-]{1,63}){0,8}(?:\.|\s?[[({<]\s?(?:dot|punto|ponto|point)\s?[\])}>]\s?)\p{L}{2,}/gu,
    to: put("email"),
  },
  {
    // `jane at example dot com`: the word `at` only counts with a written-out `dot` (so `look at
    // google.com` stays).
    name: "email-words",
    re: /(?<![\p{L}\p{N}])[\p{L}\p{N}._+-]{1,64}\s+(?:at|arroba|arobase|chez)\s+[\p{L}\p{N}-]{1,63}(?:\s+(?:dot|punto|ponto|point)\s+[\p{L}\p{N}-]{1,63}){1,8}(?![\p{L}\p{N}])/giu,
    to: put("email"),
  },
  {
    // Upper case: any IBAN shape. Lower or mixed case (typed on a phone: `es91 2100 …`) only
    // when the ISO 13616 check digits hold, so ordinary words with digits stay.
    name: "iban",
    re: /\b[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,4})?\b/g,
    to: (m) => {
      if (m === m.toUpperCase()) return "[account]";
      // the optional last group may have taken the next word (`es91… o`): try without it
      for (let end = m.length; end >= 15; end = m.slice(0, end).search(/[ -]?[A-Za-z0-9]{1,4}$/)) {
        if (ibanValid(m.slice(0, end))) return `[account]${m.slice(end)}`;
        if (end <= 0) break;
      }
      return null;
    },
  },
  {
    // 13-19 digits with any one separator between digits (space, `,`, `-` or another dash, `/`,
    // `_`, `.`, the non-space ones also with a space on either side: `4111 - 1111`), Luhn-valid;
    // when the run is longer (an expiry or CVV typed right after), the longest Luhn-valid prefix
    // of whole groups is the card and the rest is left to the next rules.
    name: "card",
    re: /(?<![\d.+])\d(?: ?[-\u2010-\u2015\u2212\u30fc/_.] ?|[ ,])?(?:\d(?: ?[-\u2010-\u2015\u2212\u30fc/_.] ?|[ ,])?){11,22}\d(?!\d)/g,
    to: (m) => cardIn(m),
  },
  {
    // What follows a card is its expiry and security code (`[card] 12/27 123`, `[card], exp
    // 12/27`): up to three such tokens right after it.
    name: "card-tail",
    re: /(\[card\])((?:\s?[,;]?\s?(?:exp\.?\s?)?(?:\d{1,2}\s?[/-]\s?(?:\d{4}|\d{2})|\d{3,4})(?![\w/])){1,3})/gi,
    to: (_m, card) => `${card} [secret]`,
  },
  {
    // Dotted quads, and the other forms `inet_aton` reads: hex or octal parts (`0x7f.0.0.1`,
    // `0177.0.0.1`) and a 32-bit hex number (`0x7f000001`). All-decimal forms need 4 parts so
    // versions (`1.2.3`) stay.
    name: "ipv4",
    re: /(?<![\w.])(?:(?:0x[0-9a-f]{1,8}|\d{1,10})(?:\.(?:0x[0-9a-f]{1,8}|\d{1,10})){0,3})(?![\w]|\.\w)/gi,
    to: (m) => (ipv4Like(m) ? "[ip]" : null),
  },
  {
    // Full, compressed, IPv4-mapped (`::ffff:[ip]`), with a zone (`%eth0`, URL-encoded `%25eth0`).
    name: "ipv6",
    re: /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|:|\[ip\])?(?:%(?:25)?[0-9A-Za-z._-]+)?(?![0-9A-Fa-f:])/g,
    to: (m) => (isIPv6(m.replace(/%.*$/, "").replace("[ip]", "1.2.3.4")) ? "[ip]" : null),
  },
  {
    // `/home/u`, `/Users/u`, `/var/home/u`, Windows `C:\Users\u` in any case, with `/` or
    // escaped `\\` separators; not a URL's `/users/` path (the `/` must start the path).
    name: "home-path",
    re: /((?<![\w.-])(?:[A-Za-z]:)?(?:\\{1,2}|\/)(?:(?:var|export|usr|mnt\/[a-z]|[a-z])\/)?(?:home|users|documents and settings)(?:\\{1,2}|\/))([^/\\\s"'`]+)/gi,
    to: (_m, prefix) => `${prefix}[user]`,
  },
  {
    // `~alice/…` (another user's home) and `~alice:` (scp); `~/…` has no user name to hide.
    name: "tilde-user",
    re: /(?<![\w~])~([A-Za-z_][A-Za-z0-9._-]*)(?=[/:])/g,
    to: () => "~[user]",
  },
  {
    name: "money",
    re: new RegExp(
      String.raw`(?:[$€£¥₹₩₽¢₺₴₦₱฿₫]|\b(?:US|AR|MX|CA|AU|NZ|HK|S|R|C|A)\$)\s?-?(?:${AMOUNT})${MAGNITUDE}?` +
        String.raw`|\b(?:${CURRENCY_CODES})\s?-?(?:${AMOUNT})${MAGNITUDE}?` +
        String.raw`|(?<![\w.])-?(?:${AMOUNT})${MAGNITUDE}?\s?(?:[$€£¥₹₩₽₺₴₦₱฿₫]|(?:${CURRENCY_CODES}|${CURRENCY_WORDS})(?![\p{L}\p{N}]))` +
        String.raw`|\b(?:${NUMBER_WORDS})(?:[\s-]+(?:and\s+|y\s+|e\s+|et\s+)?(?:${NUMBER_WORDS})){0,6}\s+(?:de\s+)?(?:${CURRENCY_WORDS}|${CURRENCY_CODES})(?![\p{L}\p{N}])`,
      "giu",
    ),
    to: put("amount"),
  },
  { name: "phone", re: /$^/g, to: put("phone") }, // libphonenumber-js: see redactPhones
  {
    // Any other run of 7+ digits (account, phone or id numbers in any grouping), except a date
    // (`2026-11-30`, `30/11/2026`, `2026/11/30`) or a date and time.
    name: "long-number",
    re: /(?<![\w])\+?\d(?:[\s()./_-]{0,2}\d){6,40}(?![\w])/g,
    to: (m) => (DATE_LIKE.test(m) ? null : "[number]"),
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
  let found: ReturnType<typeof PhoneLib.findPhoneNumbersInText>;
  try {
    found = phones().findPhoneNumbersInText(text, { defaultCallingCode: "1", extended: false } as never);
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

/**
 * Zero-width and formatting characters someone might put inside a secret to dodge a pattern, and
 * C0/C1 control characters other than whitespace (`\x1b[2J`, `\x00`: terminal escapes have no
 * place in a stored preview, and a NUL between digits must not split a card number).
 */
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
  /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]/g;

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
