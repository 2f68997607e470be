/**
 * The centers an edge meter ships to: `--ship-to` / `CREDITGATE_SHIP_TO` is one http(s) base URL
 * or several separated by commas (centers that share one database, e.g. two `creditgate serve`
 * on one PostgreSQL). Returns them in the given order, trailing slashes removed; throws an Error
 * naming the bad entry for an empty list, an empty entry, a non-http(s) URL or a repeated one.
 */
export function parseShipTo(text: string): string[] {
  const parts = text.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.every((p) => p === ""))
    throw new Error("must name at least one http(s) URL like https://billing.example.com");
  const out: string[] = [];
  for (const [i, p] of parts.entries()) {
    let u: URL;
    try {
      u = new URL(p);
    } catch {
      throw new Error(
        `entry ${i + 1} ("${p.slice(0, 100)}") must be an http(s) URL like https://billing.example.com`,
      );
    }
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new Error(`entry ${i + 1} must be an http(s) URL, not ${u.protocol}`);
    const norm = p.replace(/\/+$/, "");
    if (out.includes(norm)) throw new Error(`entry ${i + 1} repeats ${norm}`);
    out.push(norm);
  }
  return out;
}
