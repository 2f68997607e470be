/** A valid zstd frame made of raw (stored) blocks: enough to test decoding without a compressor. */
export function zstdStore(data: Buffer): Buffer {
  const head = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0]); // magic, single segment, 4-byte size
  head.writeUInt32LE(data.length, 5);
  const parts: Buffer[] = [head];
  const MAX = 128 * 1024;
  let off = 0;
  do {
    const chunk = data.subarray(off, off + MAX);
    off += chunk.length;
    const last = off >= data.length ? 1 : 0;
    const bh = last | (chunk.length << 3); // block type 0 = raw
    parts.push(Buffer.from([bh & 0xff, (bh >> 8) & 0xff, (bh >> 16) & 0xff]), chunk);
  } while (off < data.length);
  return Buffer.concat(parts);
}
