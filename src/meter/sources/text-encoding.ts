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
 * A whole file's content (an archive read whole, a copy read for its header or Codex state) as
 * UTF-8: a UTF-16 one (see {@link utf16Of}) decoded, without its byte order mark; any other as is.
 */
export function utf8Content(content: Buffer): Buffer {
  const enc = utf16Of(content);
  return enc === null ? content : utf16ToUtf8(content, enc.bom, content.length, enc.be);
}
