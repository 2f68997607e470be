/**
 * Transcripts written in UTF-16. OpenClaw writes UTF-8, but a transcript that passed through
 * Windows PowerShell 5.1 (`Get-Content … > s.jsonl`, `>>` appends, `Out-File`, `Set-Content
 * -Encoding Unicode`) is UTF-16LE with a byte order mark (FF FE); `-Encoding BigEndianUnicode` writes
 * UTF-16BE (FE FF). Read as UTF-8, every line of such a file has a NUL after each ASCII byte: no
 * line was an entry, and its calls were never billed (before 2026-12-04, case
 * `utf16-powershell-transcript`). A UTF-16 file is decoded line by line; the reader still follows it
 * by byte offset in the file (always at a code unit boundary, just past a newline unit).
 */

/** A UTF-16 transcript's byte order and the bytes its byte order mark takes at its start (0 or 2). */
export interface Utf16 {
  be: boolean;
  bom: number;
}

const LE_BOM: Utf16 = { be: false, bom: 2 };
const BE_BOM: Utf16 = { be: true, bom: 2 };
const LE_BARE: Utf16 = { be: false, bom: 0 };
const BE_BARE: Utf16 = { be: true, bom: 0 };

/**
 * The UTF-16 of a file that begins with `head` (its first 4 bytes, or all it has), or null (UTF-8).
 * A byte order mark FF FE (LE) or FE FF (BE) — but not FF FE 00 00 (UTF-32LE: not decoded); or,
 * without one, two first code units that are ASCII text (printable, tab, CR, LF) in UTF-16
 * (`7B 00 22 00` / `00 7B 00 22` for `{"`, `0A 00 7B 00` for a blank first line, `20 00 7B 00`
 * for a leading space), which no UTF-8 transcript can begin with (JSON text holds no raw NUL).
 * Before 2026-12-04 only `{"` was taken: a BOM-less UTF-16 file whose first line was blank or
 * indented had every line malformed and no call billed.
 */
export function utf16Of(head: Uint8Array): Utf16 | null {
  const [a, b, c, d] = [head[0], head[1], head[2], head[3]];
  if (a === 0xff && b === 0xfe) return c === 0 && d === 0 ? null : LE_BOM;
  if (a === 0xfe && b === 0xff) return BE_BOM;
  if (b === 0 && d === 0 && asciiText(a) && asciiText(c)) return LE_BARE;
  if (a === 0 && c === 0 && asciiText(b) && asciiText(d)) return BE_BARE;
  return null;
}

/** A byte that is a printable ASCII character, a tab, CR or LF (never NUL, never undefined). */
function asciiText(x: number | undefined): boolean {
  return x !== undefined && ((x >= 0x20 && x < 0x7f) || x === 0x09 || x === 0x0a || x === 0x0d);
}

/**
 * Position in `data` of the first newline code unit (U+000A) at or after `from`, or -1. `data`
 * starts at a code unit boundary; so must `from`. (A newline unit is never half of a surrogate
 * pair, so a split there never cuts a character.)
 */
export function utf16NewlineAt(data: Buffer, from: number, be: boolean): number {
  // LE: 0A 00 at an even position; BE: 00 0A at an even position
  const lead = be ? 1 : 0;
  for (let i = data.indexOf(0x0a, from + lead); i !== -1; i = data.indexOf(0x0a, i + 1)) {
    const p = i - lead;
    if ((p & 1) === 0 && p + 1 < data.length && data[be ? p : p + 1] === 0) return p;
  }
  return -1;
}

/** `data[start, end)` (whole code units of UTF-16 text) as UTF-8; an unpaired surrogate becomes U+FFFD. */
export function utf16ToUtf8(data: Buffer, start: number, end: number, be: boolean): Buffer {
  const units = end - start - ((end - start) & 1);
  if (!be) return Buffer.from(data.toString("utf16le", start, start + units), "utf8");
  const swapped = Buffer.from(data.subarray(start, start + units));
  swapped.swap16();
  return Buffer.from(swapped.toString("utf16le"), "utf8");
}

/**
 * The encoding of one line: `utf8`, or UTF-16 (`le`, `be`). A transcript may hold both: Windows
 * PowerShell's `>>` / `Out-File -Append` never match the encoding of the file they append to
 * (PowerShell 5.1 appends UTF-16LE to a UTF-8 file, PowerShell 7 UTF-8 to a UTF-16 one:
 * PowerShell/PowerShell#9423, #8782; MicrosoftDocs/PowerShell-Docs#6783), and OpenClaw appends
 * UTF-8 to a transcript a PowerShell pipeline restored in UTF-16. Before 2026-12-04 a file was
 * read in the one encoding its first bytes named, so every line appended in the other was
 * malformed and its call never billed (case `mixed-encoding-append`).
 */
export type LineEncoding = "utf8" | "le" | "be";

/**
 * The encoding of the line that starts at `at` in `data`, from its first bytes, and the bytes a byte
 * order mark takes there (0 or 2): a UTF-16 byte order mark (FF FE, FE FF; not FF FE 00 00); two
 * ASCII text code units in UTF-16 (`7B 00 22 00`, `00 7B 00 22`, `0D 00 0A 00`: as in
 * {@link utf16Of}); UTF-8 for two non-NUL bytes the first of which is ASCII text, or a UTF-8 byte
 * order mark (no UTF-16 line of JSON text begins so). Anything else (a NUL fill, a stray byte) is
 * written in `cur`, the encoding of the line before. Undefined when fewer than 4 bytes are there
 * (`more`: more may come) and they could begin either.
 */
export function lineEncodingAt(
  data: Uint8Array,
  at: number,
  cur: LineEncoding,
  more: boolean,
): { enc: LineEncoding; bom: number } | undefined {
  const a = data[at];
  const b = data[at + 1];
  const c = data[at + 2];
  const d = data[at + 3];
  if (a === 0xef && b === 0xbb && (c === 0xbf || (c === undefined && more))) return { enc: "utf8", bom: 0 };
  if (a !== undefined && a !== 0 && a < 0x80 && b !== undefined && b !== 0 && asciiText(a))
    return { enc: "utf8", bom: 0 };
  if (more && d === undefined) return undefined;
  if (a === 0xff && b === 0xfe && !(c === 0 && d === 0)) return { enc: "le", bom: 2 };
  if (a === 0xfe && b === 0xff) return { enc: "be", bom: 2 };
  if (b === 0 && d === 0 && asciiText(a) && asciiText(c)) return { enc: "le", bom: 0 };
  if (a === 0 && c === 0 && asciiText(b) && asciiText(d)) return { enc: "be", bom: 0 };
  return { enc: cur, bom: 0 };
}

/**
 * Where the line in `enc` that starts at `at` ends: just past its newline (a `0A` byte in UTF-8;
 * a newline code unit at a code unit boundary from `at` in UTF-16), or -1 when it has none yet.
 */
export function lineEndAt(data: Buffer, at: number, enc: LineEncoding): number {
  if (enc === "utf8") {
    const nl = data.indexOf(0x0a, at);
    return nl === -1 ? -1 : nl + 1;
  }
  const be = enc === "be";
  const lead = be ? 1 : 0;
  for (let i = data.indexOf(0x0a, at + lead); i !== -1; i = data.indexOf(0x0a, i + 1)) {
    const p = i - lead;
    if (((p - at) & 1) === 0 && p + 1 < data.length && data[be ? p : p + 1] === 0) return p + 2;
  }
  return -1;
}

/** `data[start, end)`, a line (or part of one) written in `enc`, as UTF-8. */
export function lineToUtf8(data: Buffer, start: number, end: number, enc: LineEncoding): Buffer {
  return enc === "utf8" ? data.subarray(start, end) : utf16ToUtf8(data, start, end, enc === "be");
}

/**
 * Lines of text starting at a line start, each in its own encoding (see {@link LineEncoding}), as
 * UTF-8: `first` is the encoding of the text's start (its byte order mark already skipped by the
 * caller, or none). UTF-8 lines are kept byte for byte (a NUL fill in them too).
 */
export function linesToUtf8(data: Buffer, from: number, first: LineEncoding): Buffer {
  const parts: Buffer[] = [];
  let cur = first;
  let at = from;
  while (at < data.length) {
    const line = lineEncodingAt(data, at, cur, false) ?? { enc: cur, bom: 0 };
    cur = line.enc;
    const start = at + line.bom;
    const end = lineEndAt(data, start, cur);
    parts.push(lineToUtf8(data, start, end === -1 ? data.length : end, cur));
    at = end === -1 ? data.length : end;
  }
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
}

/**
 * A whole file's content (an archive read whole, a copy read for its header or Codex state) as
 * UTF-8: UTF-16 lines (a UTF-16 file, see {@link utf16Of}, or lines appended in UTF-16 to a UTF-8
 * one) decoded, without their byte order marks; a file without a NUL byte (no UTF-16 in it) as is.
 */
export function utf8Content(content: Buffer): Buffer {
  const enc = utf16Of(content);
  if (enc === null && content.indexOf(0) === -1) return content;
  return linesToUtf8(content, enc?.bom ?? 0, enc === null ? "utf8" : enc.be ? "be" : "le");
}
