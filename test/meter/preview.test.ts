import { describe, expect, it } from "vitest";
import { makePreview, messageText, redact } from "../../src/meter/preview.js";

/**
 * Redaction rules (docs/previews.md), table-tested with adversarial strings: for each input, the
 * listed secrets must not survive in the redacted text nor in any preview length, and the label
 * says what was there. `keep` lists text that must stay (no over-redaction of ordinary words).
 */
interface Case {
  name: string;
  text: string;
  secrets: string[];
  label?: string;
  keep?: string[];
}

const CASES: Case[] = [
  {
    name: "OpenAI key",
    text: "use sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t now",
    secrets: ["Ab3dEf6hIj9kLm2nOp5qRs8t"],
    label: "[secret]",
    keep: ["use", "now"],
  },
  {
    name: "Anthropic key",
    text: "sk-ant-api03-AAAAbbbbCCCCdddd1234-xyz",
    secrets: ["AAAAbbbbCCCCdddd1234"],
    label: "[secret]",
  },
  {
    name: "GitHub token",
    text: "token ghp_1234567890abcdefghijABCDEFGHIJ123456 ok",
    secrets: ["ghp_1234567890abcdefghij", "ABCDEFGHIJ123456"],
    label: "[secret]",
  },
  {
    name: "Slack bot token",
    text: "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    secrets: ["AbCdEfGhIjKlMnOpQrStUvWx", "1234567890123"],
    label: "[secret]",
  },
  {
    name: "AWS access key id",
    text: "AKIAIOSFODNN7EXAMPLE is mine",
    secrets: ["AKIAIOSFODNN7EXAMPLE"],
    label: "[secret]",
  },
  {
    name: "JWT",
    text: "jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    secrets: ["eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"],
  },
  {
    name: "bearer header",
    text: "curl -H 'Authorization: Bearer 4f9a.b7-c_d~e+f/g=' x",
    secrets: ["4f9a.b7-c_d~e+f/g="],
    label: "[secret]",
  },
  {
    name: "password in key=value",
    text: "password=hunter2!! and api_key: 'abc def'",
    secrets: ["hunter2", "abc def"],
  },
  {
    name: "password in env lines and pasted JSON (key inside a longer identifier, quoted key)",
    text: "DB_PASSWORD=hunter2 MYSQL_ROOT_PASSWORD=Sup3rS3cret! ACCESS_TOKEN=tok3nVal SECRET_KEY_BASE=b4seV4l {\"password\": \"Tr0ub4dor&3\"} {'password': 'qwerty9'} POSTGRES_PASSWORD: pgPass1 senha: minhasenha",
    secrets: [
      "hunter2",
      "Sup3rS3cret",
      "tok3nVal",
      "b4seV4l",
      "Tr0ub4dor",
      "qwerty9",
      "pgPass1",
      "minhasenha",
    ],
    label: "[secret]",
    keep: ["DB_PASSWORD=", "MYSQL_ROOT_PASSWORD="],
  },
  {
    name: "URL credentials with an empty user name",
    text: "redis://:p4ssw0rdX@localhost:6379",
    secrets: ["p4ssw0rdX"],
    label: "[secret]",
  },
  {
    name: "URL credentials",
    text: "postgres://admin:s3cr3tPass@db.example.com/x",
    secrets: ["s3cr3tPass", "admin:"],
  },
  {
    name: "long hex secret",
    text: "webhook 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    secrets: ["9f86d081884c7d659a2feaa0c55ad015"],
    label: "[secret]",
  },
  {
    name: "long base64 secret",
    text: "key: dGhpcyBpcyBhIHNlY3JldCBrZXkgMTIzNDU2Nzg5MA==",
    secrets: ["dGhpcyBpcyBhIHNlY3JldCBrZXkgMTIzNDU2Nzg5MA"],
  },
  {
    name: "private key block",
    text: "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----",
    secrets: ["MIIEowIBAAKCAQEA7"],
  },
  {
    name: "email",
    text: "write to Jane.Doe+bills@mail.example.co.uk today",
    secrets: ["Jane.Doe", "mail.example"],
    label: "[email]",
    keep: ["today"],
  },
  {
    name: "obfuscated email",
    text: "jane [at] example.com",
    secrets: ["jane", "example.com"],
    label: "[email]",
  },
  {
    name: "phones in international formats",
    text: "+1 (415) 555-2671, +44 20 7946 0958, +34 612 34 56 78, 0049 30 12345678, +54 9 11 2345-6789",
    secrets: ["555-2671", "7946 0958", "612 34 56 78", "12345678", "2345-6789"],
  },
  {
    name: "card numbers (Luhn) with spaces and dashes",
    text: "visa 4111 1111 1111 1111, mc 5500-0055-5555-5559, amex 378282246310005",
    secrets: ["4111 1111 1111 1111", "1111", "5500-0055", "378282246310005", "5559"],
    label: "[card]",
  },
  {
    name: "non-Luhn long numbers still go (account numbers)",
    text: "acct 1234567890123 routing 021000021",
    secrets: ["1234567890123", "021000021"],
  },
  {
    name: "IBAN with and without spaces",
    text: "IBAN DE89 3704 0044 0532 0130 00 / GB82WEST12345698765432",
    secrets: ["3704 0044", "0532 0130", "WEST12345698765432"],
    label: "[account]",
  },
  {
    name: "IPv4",
    text: "server 10.0.12.254 and 8.8.8.8.",
    secrets: ["10.0.12.254", "8.8.8.8"],
    label: "[ip]",
  },
  {
    name: "IPv6",
    text: "ssh to 2001:db8:85a3::8a2e:370:7334 or fe80::1%eth0 or ::1",
    secrets: ["2001:db8", "8a2e:370:7334", "fe80::1"],
    label: "[ip]",
  },
  {
    name: "home directories",
    text: "see /home/alice/notes.txt, /Users/Bob Smith/x and C:\\Users\\carol\\Desktop",
    secrets: ["alice", "Bob", "carol"],
    keep: ["/home/", "notes.txt", "Desktop"],
  },
  {
    name: "money amounts",
    text: "paid $1,234.56, then 1.234,56 €, USD 20, 20 USD, €5, 3 pesos, R$ 99,90 and US$7",
    secrets: ["1,234.56", "1.234,56", "20", "€5", "99,90", "7"],
    label: "[amount]",
    keep: ["paid", "then"],
  },
  {
    name: "full-width digits and letters (NFKC)",
    text: "ｓｋ-ｐｒｏｊ-ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐ１２３４５ and ４１１１ １１１１ １１１１ １１１１",
    secrets: ["abcdefghijklmnop", "4111", "ａｂｃｄ", "４１１１"],
  },
  {
    name: "zero-width characters inside a secret",
    text: "sk-\u200bproj-\u200dAb3dEf6hIj9kLm2nOp5q and 4111\u200b 1111 1111 1111",
    secrets: ["Ab3dEf6hIj9kLm2nOp5q", "4111", "1111"],
  },
  {
    name: "repeated patterns",
    text: Array.from({ length: 30 }, (_, i) => `u${i}@ex.com +1 415 555 ${String(1000 + i)}`).join(" "),
    secrets: ["@ex.com", "415 555"],
  },
  {
    name: "secrets separated by newlines and tabs",
    text: "key:\nsk-live-ZZZZZZZZZZZZZZZZ1111\tcard\n4242 4242 4242 4242",
    secrets: ["ZZZZZZZZZZZZZZZZ1111", "4242"],
  },
  // Break-test misses, generalised: each row is a KIND of miss (separators, scripts, encodings,
  // spelled-out forms), not one example.
  {
    name: "card numbers with any one separator: slash, underscore, dot, mixed",
    text: "a 4111/1111/1111/1111 b 5500_0055_5555_5559 c 4242.4242.4242.4242 d 3782-822463/10005",
    secrets: ["4111/1111", "1111/1111", "5500_0055", "5555_5559", "4242.4242", "822463", "10005"],
    label: "[card]",
  },
  {
    name: "card followed by expiry and security code; CVV/CVC/PIN/expiry next to their keyword",
    text: "4111 1111 1111 1111 12/27 123 | card 5500-0055-5555-5559, exp 09/2028, cvv 987 | CVC: 4321 CVV2=555 PIN 4821 pin: 0000 nip 7777 security code 246 valid thru 11/29 vencimiento 03/31",
    secrets: [
      "12/27",
      " 123",
      "09/2028",
      "987",
      "4321",
      "555",
      "4821",
      "0000",
      "7777",
      "246",
      "11/29",
      "03/31",
    ],
    keep: ["CVC:", "PIN", "vencimiento"],
  },
  {
    name: "home directories: ~user, lower-case and forward-slash Windows, escaped backslashes",
    text: 'cd ~alice/notes; scp ~bob: x; c:\\users\\carol\\x D:/Users/dave/y "C:\\\\Users\\\\erin\\\\z" /var/home/frank/a /HOME/gina/b',
    secrets: ["alice", "bob", "carol", "dave", "erin", "frank", "gina"],
    label: "[user]",
  },
  {
    name: "emails: IDN, other scripts, percent-encoded @, written-out at/dot",
    text: "josé.núñez@exámple.es, 用户@例子.广告, пользователь@пример.рф, jane%40example.com, mailto:bob%40mail.example.org, kim (at) example (dot) org, lee [at] corp [dot] co, name at example dot com, maria arroba correo punto es",
    secrets: [
      "josé",
      "exámple",
      "用户",
      "例子",
      "пользователь",
      "jane",
      "bob",
      "mail.example",
      "kim",
      "lee",
      "corp",
      "name at",
      "example dot com",
      "maria",
      "correo",
    ],
    label: "[email]",
  },
  {
    name: "IPv4 in hex, octal and integer forms; IPv6 bracketed, mapped, with zones, upper case",
    text: "0x7f000001 0x7f.0.0.1 0x7F.0x0.0x0.0x1 0177.0.0.1 http://[::1]:8080/ [2001:DB8::1] ::ffff:192.168.1.7 fe80::1%25eth0 FE80::ABCD:1 2130706433",
    secrets: [
      "0x7f000001",
      "0x7f.0.0.1",
      "0x7F",
      "0177.0.0.1",
      "::1",
      "2001:DB8",
      "192.168.1.7",
      "fe80",
      "ABCD",
      "2130706433",
    ],
    keep: ["http://", ":8080/"],
  },
  {
    name: "money: magnitudes, codes before or after, symbols, amounts in words",
    text: "3k USD, USD 3,000.50, $3k, 3.5M EUR, €5, 5 pesos, twenty dollars, fifty-five euros, a hundred bucks, cinco mil pesos, R$ 1.500,00, ₺200, 7 reais, 10 GBP",
    secrets: [
      "3k",
      "3,000.50",
      "3.5M",
      "€5",
      "5 pesos",
      "twenty",
      "fifty-five",
      "hundred",
      "cinco",
      "1.500,00",
      "₺200",
      "7 reais",
      "10 GBP",
    ],
    label: "[amount]",
  },
  {
    name: "multi-word passwords after the keyword, in several languages",
    text: "password: correct horse battery staple. contraseña: mi perro se llama toby; mot de passe : le chat noir dort, senha é minha casa azul. Passwort ist rote Rosen blühen. my password is open sesame please",
    secrets: [
      "horse",
      "battery",
      "staple",
      "perro",
      "toby",
      "chat noir",
      "casa azul",
      "rote Rosen",
      "open sesame",
      "correct",
    ],
    label: "[secret]",
    keep: ["please"],
  },
  {
    name: "Authorization headers with any scheme, bare schemes, cookies",
    text: 'Authorization: Token abc123 | authorization=Bearer xyz789 | Proxy-Authorization: Basic dXNlcjpwYXNz | Authorization: Digest username="u", response="6629fae4" | Bearer abc123 | Basic QWxhZGRpbjpvcGVu | Cookie: sessionid=abc123def; csrftoken=zzz999 | Set-Cookie: sid=s3cr3tv4l; Path=/; HttpOnly | JSESSIONID=1A2B3C4D',
    secrets: [
      "abc123",
      "xyz789",
      "dXNlcjpwYXNz",
      "6629fae4",
      "QWxhZGRpbjpvcGVu",
      "abc123def",
      "zzz999",
      "s3cr3tv4l",
      "1A2B3C4D",
    ],
    label: "[secret]",
    keep: ["Path=/"],
  },
  {
    name: "phones in international formats (country codes, trunk zeros, slashes, dots, extensions)",
    text: "+49 (0)30 1234567, +7 (495) 123-45-67, +81-3-1234-5678, +33 6 12 34 56 78, +1.415.555.2671 ext. 12, (+54) 11 4321 5678, 030/1234567, +52 1 55 1234 5678, tel:+14155552671, +55 (11) 91234-5678",
    secrets: [
      "1234567",
      "123-45-67",
      "1234-5678",
      "12 34 56 78",
      "555.2671",
      "4321 5678",
      "91234-5678",
      "14155552671",
      "55 1234 5678",
    ],
  },
  {
    name: "cards with a spaced separator, a Unicode dash, a comma or a katakana long mark (break test #14)",
    text: "a 4111 - 1111 - 1111 - 1111 | b 4111–1111–1111–1111 | c 5555—5555—5555—4444 | d 4111,1111,1111,1111 | e ４１１１ー１１１１ー１１１１ー１１１１ | f 3782 / 822463 / 10005",
    secrets: ["4111", "5555", "3782", "822463", "10005"],
    label: "[card]",
    keep: ["a ", "| f "],
  },
  {
    name: "IBAN typed in lower or mixed case (mod-97 checked)",
    text: "mi cuenta es9121000418450200051332 o gb82 west 1234 5698 7654 32, De89370400440532013000",
    secrets: ["9121000418450200051332", "5698 7654", "370400440532013000"],
    label: "[account]",
  },
  {
    name: "pass phrases with words between the keyword and the value, short keywords, seed phrases",
    text: "la contraseña de mi wifi es perro123. The password I use is hunter2! My password? It's Tr0ub4dor. mi clave secreta es 4321; pass: batata; mdp: chat123; the wifi pass is gato99; pw hunter3 | seed phrase: abandon ability able about above absent absorb abstract absurd abuse access accident acid acoustic acquire across act action actor actress actual adapt add addict",
    secrets: [
      "perro123",
      "hunter2",
      "Tr0ub4dor",
      "4321",
      "batata",
      "chat123",
      "gato99",
      "hunter3",
      "abandon",
      "accident",
      "addict",
    ],
    label: "[secret]",
    keep: ["la contraseña de mi wifi es", "The password I use is"],
  },
  {
    name: "control characters are dropped (terminal escapes; a NUL or ESC inside a card number)",
    text: "hi \u001b[2J\u001b]52;c;ZWNobw==\u0007 there \u009b31m 4111\u00001111\u001b1111\u00071111 end",
    secrets: ["\u001b", "\u0007", "\u0000", "\u009b", "4111"],
    label: "[card]",
    keep: ["hi [2J]52;c;ZWNobw== there", "end"],
  },
  {
    name: "more key prefixes, a key after `is`/`es`/`:`, PGP private key blocks",
    text: "fireworks fw_3ZAbCdEfGhIjKlMnOpQrSt, xai-AbCdEfGhIjKlMnOpQrSt12, my api key is abcd1234efgh5678ijkl, la licencia es ABCD-1234-EFGH-5678 | -----BEGIN PGP PRIVATE KEY BLOCK----- lQOYBGXyz9 =abcd -----END PGP PRIVATE KEY BLOCK----- done",
    secrets: [
      "3ZAbCdEfGhIjKlMnOpQrSt",
      "AbCdEfGhIjKlMnOpQrSt12",
      "abcd1234efgh5678ijkl",
      "ABCD-1234",
      "lQOYBGXyz9",
    ],
    label: "[secret]",
    keep: ["my api key is [secret]", "done"],
  },
  {
    name: "a login and password written as a pair",
    text: "login: admin / hunter2 and usuario: ana | Clave_9 then user bob/s3cr3t",
    secrets: ["hunter2", "Clave_9", "s3cr3t"],
    label: "[secret]",
    keep: ["login: admin /", "usuario: ana |"],
  },
  {
    name: "one-time and verification codes, a PIN after `is`",
    text: "OTP 482913, tu código de verificación es 739201, verification code: 110245, my pin is 2580, code de vérification 66231",
    secrets: ["482913", "739201", "110245", "2580", "66231"],
    label: "[secret]",
  },
  {
    name: "email with a space around @, French arobase; WSL and Git Bash home paths",
    text: "john.doe @ gmail.com or jean arobase free point fr; /mnt/c/Users/erinkey/x and /c/Users/frankkey/y",
    secrets: ["john.doe", "jean arobase", "erinkey", "frankkey"],
    keep: ["/mnt/c/Users/[user]/x", "/c/Users/[user]/y"],
  },
  {
    name: "money: yen and rouble words, lakh, millones de, Spanish hundreds, slang",
    text: "10000円, 500 рублей, 5 lakh rupees, 1,5 millones de dólares, dos mil quinientos pesos, 100 lucas, 50 pavos, 20 balles",
    secrets: ["10000", "500", "lakh", "1,5", "quinientos", "100", "50 ", "20"],
    label: "[amount]",
  },
  {
    name: "ordinary text is left alone",
    text: "In 2026 we had 12 users; version 1.2.3 shipped at 10:30 on 2026-11-30. ¿Qué tal? 日本語 👍",
    secrets: [],
    keep: ["In 2026 we had 12 users", "version 1.2.3", "10:30", "¿Qué tal?", "日本語 👍"],
  },
];

/**
 * Near misses: ordinary prose with numbers, dates, versions, words like the keywords. Each text
 * must come back unchanged (over-redaction makes previews useless).
 */
const NEAR_MISSES = [
  "On 12/27 we met; page 123; chapter 4.2.1; in 2026 we had 12 users and 1,000 people.",
  "Deploy on 2026-11-30 at 10:30, or 2026/12/01, or 30/11/2026 10:45.",
  "version 1.2.3, v2.10.3, 10.0.0, 3.14159, ratio 1e10, 0xFF and 0x1F4 in the code",
  "look at google.com and write to the team at example dot",
  "the bearer of bad news; a token limit of 4000 tokens; Basic authentication is fine",
  "reset your password please; the password field is empty; pin the tab",
  "It took ~ten minutes and ~/notes is mine",
  "order #12345 shipped, 3 apples, 5 pm, 45 minutes, room 101",
  "one of them bought a dozen eggs for the team",
  "the key is to practice; key: value pairs; the license is MIT; api key rotation",
  "the password field is required; pass the salt; my bus pass is valid; the code is in the repo",
  "from 2020 - 2026 and 1999–2005, pages 100-120, score 3-2, call me @ home, once upon a time, 3 mil personas",
];

describe("redaction", () => {
  for (const text of NEAR_MISSES) {
    it(`near miss stays: ${text.slice(0, 40)}`, () => {
      expect(redact(text)).toBe(text);
    });
  }

  for (const c of CASES) {
    it(c.name, () => {
      const out = redact(c.text);
      for (const s of c.secrets) expect(out, `"${s}" survived in ${JSON.stringify(out)}`).not.toContain(s);
      if (c.label) expect(out).toContain(c.label);
      for (const k of c.keep ?? []) expect(out).toContain(k);
      // every preview length keeps no secret either (redact before cutting)
      for (const chars of [16, 20, 37, 64, 160]) {
        const p = makePreview(c.text, chars) ?? "";
        expect(Array.from(p).length).toBeLessThanOrEqual(chars);
        for (const s of c.secrets) expect(p).not.toContain(s);
      }
    });
  }

  it("a secret split across the preview cut is redacted whole, never half-kept", () => {
    const key = "sk-proj-Q1w2E3r4T5y6U7i8O9p0A1s2D3f4";
    const card = "4111 1111 1111 1111";
    for (let pad = 0; pad < 60; pad++) {
      for (const secret of [key, card, "jane.doe@example.com", "+44 20 7946 0958", "192.168.100.200"]) {
        const text = `${"a".repeat(pad)} ${secret} tail`;
        const p = makePreview(text, 40) ?? "";
        // no 6-character piece of the secret survives
        for (let i = 0; i + 6 <= secret.length; i++) {
          const piece = secret.slice(i, i + 6);
          if (/^[a ]+$/.test(piece)) continue;
          expect(p, `pad ${pad}: ${JSON.stringify(p)}`).not.toContain(piece);
        }
      }
    }
  });

  it("cuts by code points (no half emoji) and marks the cut", () => {
    const p = makePreview("😀".repeat(50), 20) as string;
    expect(Array.from(p)).toHaveLength(20);
    expect(p.endsWith("…")).toBe(true);
    expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(p)).toBe(false); // no lone surrogate
    expect(makePreview("short", 20)).toBe("short");
    expect(makePreview("   \n\t ", 20)).toBeNull();
    expect(makePreview(null, 20)).toBeNull();
  });

  it("a huge message is read only up to the window, and still redacted", () => {
    const text = `${"word ".repeat(20_000)} sk-proj-Q1w2E3r4T5y6U7i8O9p0`;
    const p = makePreview(`sk-proj-Q1w2E3r4T5y6U7i8O9p0 ${text}`, 40) as string;
    expect(p).not.toContain("Q1w2E3r4");
    expect(p.startsWith("[secret] word")).toBe(true);
  });

  it("messageText: strings, text parts only (no thinking, tool calls or images)", () => {
    expect(messageText("hi")).toBe("hi");
    expect(
      messageText([
        { type: "thinking", thinking: "secret plan" },
        { type: "text", text: "a" },
        { type: "toolCall", arguments: { x: 1 } },
        { type: "image", data: "..." },
        { type: "text", text: "b" },
      ]),
    ).toBe("a b");
    expect(messageText([])).toBeNull();
    expect(messageText(undefined)).toBeNull();
    expect(messageText("")).toBeNull();
  });

  it("redacts a window of a huge hostile message (the same preview as its first kilobytes)", () => {
    // A pasted 64 KiB run of digits and separators took 5-7 s to redact whole; only the window
    // that can reach the preview is read, and the preview is unchanged by it.
    for (const unit of [
      "1 ",
      "1.",
      "a_",
      "ab-",
      "+1 555 0100 ",
      "4111 1111 1111 1111 ",
      "4111/1111_",
      "password: a ",
      "mot de passe ",
      "a@",
      "a%40b.",
      "x at y dot ",
      "0x7f.",
      "~a/",
      "C:\\Users\\",
      "twenty ",
      "Cookie: a=b; ",
      "Authorization: ",
      "cvv 12/",
    ]) {
      const text = unit.repeat(Math.ceil(65_536 / unit.length));
      const p = makePreview(text, 160) ?? "";
      expect(p, unit).toBe(makePreview(text.slice(0, 4_000), 160));
      expect(p, unit).not.toMatch(/\d{3}/);
    }
  });
});
