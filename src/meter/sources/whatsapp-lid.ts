import { readdirSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import type { WhatsAppLidResolver } from "../resolve-user.js";
import { readOpenClawConfig } from "./openclaw-config.js";
import { readRegularFile } from "./regular-file.js";

/** How long a LID without a mapping file is not looked up again (Baileys saves the file later). */
const MISS_TTL_MS = 30_000;

/**
 * The directories OpenClaw reads WhatsApp's LID mappings from for the state dir `stateDir`
 * (`resolveLidMappingDirs` in OpenClaw's WhatsApp text runtime): each WhatsApp account's auth dir
 * (`credentials/whatsapp/<accountId>/` by default, or a configured `channels.whatsapp.authDir` /
 * `channels.whatsapp.accounts.<id>.authDir`), the state dir itself and its `credentials/` (Clawdbot's
 * auth dir).
 */
export function whatsappLidDirs(stateDir: string): string[] {
  const dirs = new Set<string>();
  const add = (dir: unknown) => {
    if (typeof dir !== "string" || !dir.trim()) return;
    const d = dir.trim().replace(/^~(?=$|[/\\])/, homedir());
    if (isAbsolute(d)) dirs.add(d);
  };
  const obj = (v: unknown): Record<string, unknown> | null =>
    v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  const whatsapp = obj(obj(readOpenClawConfig(stateDir).channels)?.whatsapp);
  add(whatsapp?.authDir);
  for (const account of Object.values(obj(whatsapp?.accounts) ?? {})) add(obj(account)?.authDir);
  const accounts = join(stateDir, "credentials", "whatsapp");
  try {
    for (const e of readdirSync(accounts, { withFileTypes: true }))
      if (e.isDirectory()) add(join(accounts, e.name));
  } catch {
    // no WhatsApp credentials: nothing mapped there
  }
  add(stateDir);
  add(join(stateDir, "credentials"));
  return [...dirs];
}

/**
 * The number a LID's `lid-mapping-<lid>_reverse.json` names (a JSON string or number of the phone's
 * digits, as Baileys writes it; a JID's user part too), as E.164 (`+15551234567`), else null.
 */
export function parseLidReverseMapping(text: string): string | null {
  let v: unknown;
  try {
    v = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch {
    return null;
  }
  if (typeof v !== "string" && typeof v !== "number") return null;
  const user =
    String(v)
      .trim()
      .replace(/^whatsapp:/i, "")
      .split("@")[0]
      ?.split(":")[0] ?? "";
  const digits = user.replace(/[\s().+-]/g, "");
  return /^\d{5,20}$/.test(digits) ? `+${digits}` : null;
}

/**
 * A {@link WhatsAppLidResolver} over the LID mapping files of `stateDir`'s WhatsApp auth dirs
 * ({@link whatsappLidDirs}), as OpenClaw reads them (`readLidReverseMapping`). A mapping found is kept;
 * a LID without one is looked up again after 30 s (Baileys writes the file when it learns it).
 */
export function createWhatsAppLidResolver(stateDir: string): WhatsAppLidResolver {
  const found = new Map<string, string>();
  const missed = new Map<string, number>();
  let dirs: string[] | null = null;
  let dirsAt = 0;
  return (lid: string) => {
    if (!/^\d{1,40}$/.test(lid)) return null;
    const hit = found.get(lid);
    if (hit) return hit;
    const now = Date.now();
    if (now - (missed.get(lid) ?? Number.NEGATIVE_INFINITY) < MISS_TTL_MS) return null;
    if (!dirs || now - dirsAt >= MISS_TTL_MS) {
      dirs = whatsappLidDirs(stateDir);
      dirsAt = now;
    }
    for (const dir of dirs) {
      let text: string;
      try {
        text = readRegularFile(join(dir, `lid-mapping-${lid}_reverse.json`)).toString("utf8");
      } catch {
        continue;
      }
      const phone = parseLidReverseMapping(text);
      if (phone) {
        found.set(lid, phone);
        missed.delete(lid);
        return phone;
      }
    }
    missed.set(lid, now);
    return null;
  };
}
