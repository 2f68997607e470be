import type { Db } from "../db/index.js";
import { type LimitRules, limitRulesSchema } from "./rules.js";

/** The subject whose rules are everyone's defaults. */
export const DEFAULTS_SUBJECT = "*";

/** `account_limits`: one row of rules (JSON, validated on read and write) per subject. */
export function createRulesRepo(db: Db) {
  const get = db.prepare<[string], { rules: string }>("SELECT rules FROM account_limits WHERE subject = ?");
  const put = db.prepare<[string, string, number]>(
    `INSERT INTO account_limits (subject, rules, updated_at_ms) VALUES (?, ?, ?)
     ON CONFLICT (subject) DO UPDATE SET rules = excluded.rules, updated_at_ms = excluded.updated_at_ms`,
  );
  const del = db.prepare<[string]>("DELETE FROM account_limits WHERE subject = ?");
  const users = db.prepare<[string], { subject: string; rules: string }>(
    "SELECT subject, rules FROM account_limits WHERE subject <> ? ORDER BY subject",
  );
  return {
    /** The subject's rules (`*` = defaults), or null when none are set. Throws ZodError on a bad row. */
    get(subject: string): LimitRules | null {
      const r = get.get(subject);
      return r ? limitRulesSchema.parse(JSON.parse(r.rules)) : null;
    },
    /** Replaces the subject's rules (already validated). */
    put(subject: string, rules: LimitRules, nowMs: number): void {
      put.run(subject, JSON.stringify(rules), nowMs);
    },
    remove(subject: string): void {
      del.run(subject);
    },
    /** Every user's own rules (not the defaults'), by subject; a row that does not parse is skipped. */
    users(): { subject: string; rules: LimitRules }[] {
      const out: { subject: string; rules: LimitRules }[] = [];
      for (const r of users.all(DEFAULTS_SUBJECT)) {
        const parsed = limitRulesSchema.safeParse(JSON.parse(r.rules));
        if (parsed.success) out.push({ subject: r.subject, rules: parsed.data });
      }
      return out;
    },
  };
}
export type RulesRepo = ReturnType<typeof createRulesRepo>;
