/**
 * The two ways a call reaches creditgate, for one case dir (`test/cases/<name>`): the transcript
 * meter alone, and the OpenClaw plugin's live push (plugin/src/push.ts `UsagePusher`, as its
 * `before_message_write` hook sees each message of the case's transcripts) followed by the meter
 * on the same database. Both must bill the same.
 */
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PushEvent as PluginPushEvent } from "../../plugin/src/api-types.js";
import { UsagePusher } from "../../plugin/src/push.js";
import {
  configuredIdentityLinks,
  configuredSlashPrefixes,
  useWhatsAppLidResolver,
} from "../../plugin/src/user.js";
import { createWhatsAppLidResolver } from "../../plugin/src/whatsapp-lid.js";
import { createPushIngester } from "../../src/ingest/index.js";
import { queryUsageRaw } from "../../src/meter/report.js";
import { parseDecimal } from "../../src/money.js";
import { casePricer, meterFor, type TempWorld, tempWorld } from "./meter-env.js";

function worldOf(caseDir: string): TempWorld {
  const world = tempWorld(join(caseDir, "state"));
  for (const f of ["openclaw.json", "clawdbot.json", "moltbot.json"]) {
    const from = join(caseDir, "state", f);
    if (existsSync(from)) copyFileSync(from, join(world.stateDir, f));
  }
  const credentials = join(caseDir, "state", "credentials");
  if (existsSync(credentials)) cpSync(credentials, join(world.stateDir, "credentials"), { recursive: true });
  return world;
}

/** What the plugin's hook would push for a case's transcripts, in the order OpenClaw wrote them. */
export function pluginPushes(caseDir: string): PluginPushEvent[] {
  const stateDir = join(caseDir, "state");
  let config: unknown = null;
  for (const f of ["openclaw.json", "clawdbot.json", "moltbot.json"]) {
    const p = join(stateDir, f);
    if (existsSync(p)) {
      try {
        config = JSON.parse(readFileSync(p, "utf8"));
      } catch {}
      break;
    }
  }
  const out: PluginPushEvent[] = [];
  const pusher = new UsagePusher({
    client: { pushUsage: async () => ({ results: [] }) } as never,
    logger: { info() {}, warn() {}, error() {}, debug() {} } as never,
    slashPrefixes: () => configuredSlashPrefixes(config),
    identityLinks: () => configuredIdentityLinks(config),
  });
  pusher.enqueue = (ev) => {
    out.push(ev);
  };
  // the gateway's WhatsApp LID mappings, as the plugin reads them over its state dir
  const prevLid = useWhatsAppLidResolver(createWhatsAppLidResolver(stateDir, () => config));
  try {
    pushAll(stateDir, pusher);
    pusher.releaseHeld();
  } finally {
    useWhatsAppLidResolver(prevLid);
  }
  return out;
}

function pushAll(stateDir: string, pusher: UsagePusher): void {
  const agentsDir = join(stateDir, "agents");
  if (!existsSync(agentsDir)) return;
  for (const agentId of readdirSync(agentsDir)) {
    const sessionsDir = join(agentsDir, agentId, "sessions");
    const indexPath = join(sessionsDir, "sessions.json");
    if (!existsSync(indexPath)) continue;
    let index: Record<string, { sessionId?: string; sessionFile?: string }>;
    try {
      index = JSON.parse(readFileSync(indexPath, "utf8"));
    } catch {
      continue;
    }
    for (const [sessionKey, e] of Object.entries(index)) {
      if (!e || typeof e.sessionId !== "string") continue;
      const file = join(sessionsDir, `${e.sessionId}.jsonl`);
      if (!existsSync(file)) continue;
      for (const line of readFileSync(file, "utf8").split("\n")) {
        let entry: { type?: string; message?: { role?: string } } | null = null;
        try {
          entry = line.trim() ? JSON.parse(line) : null;
        } catch {
          continue;
        }
        if (entry?.type !== "message" || !entry.message || typeof entry.message.role !== "string") continue;
        pusher.onMessageWrite({ message: entry.message } as never, { agentId, sessionKey });
      }
    }
  }
}

export interface Bill {
  byUser: Record<string, { requests: number; costUsd: string }>;
  held: number;
}

function billOf(w: TempWorld): Bill {
  const byUser = Object.fromEntries(
    queryUsageRaw(w.db, { by: "user" }).map((r) => [r.key, { requests: r.requests, costUsd: r.costUsd }]),
  );
  const held = (w.db.prepare("SELECT COUNT(*) AS n FROM usage_review").get() as { n: number }).n;
  return { byUser, held };
}

export async function meterOnly(caseDir: string): Promise<Bill> {
  const w = worldOf(caseDir);
  try {
    const meter = meterFor(w, { pricer: casePricer(caseDir) });
    await meter.runOnce();
    meter.close();
    return billOf(w);
  } finally {
    w.cleanup();
  }
}

export async function pushThenMeter(caseDir: string, events: PluginPushEvent[]): Promise<Bill> {
  const w = worldOf(caseDir);
  try {
    const pricer = casePricer(caseDir);
    let nowMs = 0;
    const ingester = createPushIngester(w.db, {
      pricer,
      markup: parseDecimal("1"),
      creditsPerUsd: parseDecimal("1"),
      nowMs: () => nowMs,
    });
    // each pushed as it was written (a minute later), inside the push window
    for (const ev of events) {
      nowMs = ev.timestampMs + 60_000;
      ingester.ingest([ev], "push:test", "test");
    }
    const meter = meterFor(w, { pricer });
    await meter.runOnce();
    meter.close();
    return billOf(w);
  } finally {
    w.cleanup();
  }
}
