import * as zlib from "node:zlib";
import { decompress } from "fzstd";
import { utf8Content } from "./text-encoding.js";

/** Zstandard frame magic number `0xFD2FB528`, little-endian on disk. */
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** True when `buf` starts with a zstd frame. */
export function isZstd(buf: Uint8Array): boolean {
  return buf.length >= 4 && Buffer.from(buf.buffer, buf.byteOffset, 4).equals(ZSTD_MAGIC);
}

type ZstdSync = (buf: Uint8Array) => Buffer;
// Node ≥23.8 ships zstd in zlib; Node 20 does not, so fall back to the pure-JS decoder.
const nativeZstd = (zlib as unknown as { zstdDecompressSync?: ZstdSync }).zstdDecompressSync;

/** Decodes a whole zstd stream (one or more frames). Throws on corrupt or truncated input. */
export function decodeZstd(buf: Uint8Array): Buffer {
  if (nativeZstd) return nativeZstd(buf);
  const out = decompress(buf);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** gzip member magic `1F 8B` and its only compression method, deflate (8). */
function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 3 && buf[0] === 0x1f && buf[1] === 0x8b && buf[2] === 0x08;
}

/**
 * Decodes `buf` if it is zstd or gzip, else returns it as is (`.jsonl.reset.*` files may be plain
 * JSONL). gzip: an archive an operator's rotation (`logrotate`'s `compress`, `gzip` of old
 * archives) compressed, `.jsonl.{deleted,reset}.<ts>.gz`; every member of a concatenated stream.
 * Then text in UTF-16 (a transcript that went through PowerShell 5.1) is decoded to UTF-8
 * (text-encoding.ts `utf8Content`), so an archive is always read as UTF-8 lines.
 * Throws on corrupt or truncated input.
 */
export function decodeMaybeZstd(buf: Buffer): Buffer {
  if (isZstd(buf)) return utf8Content(decodeZstd(buf));
  return utf8Content(isGzip(buf) ? zlib.gunzipSync(buf) : buf);
}
