/**
 * An agent id as OpenClaw normalizes it (`normalizeAgentId`, src/routing/session-key.ts): trimmed,
 * lower-cased, a run of characters outside `[a-z0-9_-]` made one `-`, leading/trailing `-` cut, at
 * most 64 characters; nothing left is OpenClaw's default agent, `main`. OpenClaw names each
 * agent's folder (`agents/<id>/`) and session keys (`agent:<id>:…`) with this form, so an agent id
 * an operator types (`CREDITGATE_AGENTS=Main`, `budgets set agent Main`, `usage --agent Main`, the
 * API's `agent`) means the agent OpenClaw's config names `"id": "Main"`: before 2026-12-05 it was
 * compared as typed and matched nothing (nothing metered, a hard budget that never blocked, an
 * empty report), silently.
 */
export function normalizeAgentId(raw: string): string {
  const v = raw.trim().toLowerCase();
  if (!v) return "main";
  if (/^[a-z0-9][a-z0-9_-]{0,63}$/.test(v)) return v;
  return (
    v
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^-+/, "")
      .replace(/-+$/, "")
      .slice(0, 64) || "main"
  );
}
