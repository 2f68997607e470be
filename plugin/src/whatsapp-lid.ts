import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import type { WhatsAppLidResolver } from "./user.js";

/** How long a LID without a mapping file is not looked up again (Baileys saves the file later). */
const MISS_TTL_MS = 30_000;

const obj = (v: unknown): Record<string, unknown> | null =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/**
 * The gateway's state dir when the host does not say (a service context does): `OPENCLAW_STATE_DIR`,
 * else Clawdbot's `CLAWDBOT_STATE_DIR`, else `~/.openclaw`, else an existing `~/.clawdbot`.
 */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.OPENCLAW_STATE_DIR?.trim() || env.CLAWDBOT_STATE_DIR?.trim();
  if (set) return set.replace(/^~(?=$|[/\\])/, homedir());
  const oc = join(homedir(), ".openclaw");
  const cb = join(homedir(), ".clawdbot");
  return !existsSync(oc) && existsSync(cb) ? cb : oc;
}

/**
 * The directories OpenClaw reads WhatsApp's LID mappings from (the meter's `whatsappLidDirs`,
 * OpenClaw's `resolveLidMappingDirs`): each WhatsApp account's auth dir (a configured
 * `channels.whatsapp.authDir` / `accounts.<id>.authDir`, `credentials/whatsapp/<accountId>/` by
 * default), the state dir and its `credentials/`.
 */
export function whatsappLidDirs(stateDir: string, hostConfig: unknown): string[] {
  const dirs = new Set<string>();
  const add = (dir: unknown) => {
    if (typeof dir !== "string" || !dir.trim()) return;
    const d = dir.trim().replace(/^~(?=$|[/\\])/, homedir());
    if (isAbsolute(d)) dirs.add(d);
  };
  const whatsapp = obj(obj(obj(hostConfig)?.channels)?.whatsapp);
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

/** The number a `lid-mapping-<lid>_reverse.json` names, as E.164, else null (the meter's `parseLidReverseMapping`). */
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
 * A LID resolver over the gateway's WhatsApp LID mapping files ({@link whatsappLidDirs}), as OpenClaw
 * and the meter read them: a mapping found is kept, a LID without one looked up again after 30 s.
 */
export function createWhatsAppLidResolver(stateDir: string, hostConfig: () => unknown): WhatsAppLidResolver {
  const found = new Map<string, string>();
  const missed = new Map<string, number>();
  return (lid: string) => {
    if (!/^\d{1,40}$/.test(lid)) return null;
    const hit = found.get(lid);
    if (hit) return hit;
    const now = Date.now();
    if (now - (missed.get(lid) ?? Number.NEGATIVE_INFINITY) < MISS_TTL_MS) return null;
    for (const dir of whatsappLidDirs(stateDir, hostConfig())) {
      const file = join(dir, `lid-mapping-${lid}_reverse.json`);
      let text: string;
      try {
        if (!statSync(file).isFile()) continue;
        text = readFileSync(file, "utf8");
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
