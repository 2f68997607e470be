import Database from "better-sqlite3";
import { describe, expect, test } from "vitest";
import { SESSION_KIND_SQL, type SessionKind, sessionKind } from "../../src/reports/index.js";

/** Session keys (openclaw.md §4, both eras) and the kind each one is. */
const CASES: [string | null, SessionKind][] = [
  ["agent:main:main", "operator"],
  ["agent:support:main", "operator"],
  ["agent:main:telegram:direct:5550101", "dm"],
  ["agent:main:telegram:dm:5550101", "dm"], // Clawdbot era
  ["agent:main:direct:5550101", "dm"], // per-peer
  ["agent:main:dm:5550101", "dm"],
  ["agent:main:telegram:default:direct:5550101", "dm"], // per-account-channel-peer
  ["agent:main:whatsapp:direct:+5491112345678", "dm"],
  ["agent:main:openai-user:frank", "dm"],
  ["agent:main:openresponses-user:alice", "dm"],
  ["agent:main:telegram:group:-100123", "group"],
  ["agent:main:telegram:group:-100123:topic:7", "group"],
  ["agent:main:discord:channel:99:thread:5", "group"],
  ["agent:main:subagent:0f1e2d3c-aaaa-bbbb-cccc-1234567890ab", "subagent"],
  ["agent:main:cron:nightly:run:42", "cron"],
  ["agent:main:cron", "cron"],
  ["agent:main:heartbeat", "heartbeat"],
  ["agent:main:heartbeat:5m", "heartbeat"],
  ["agent:main:hook:gmail", "hook"],
  ["agent:main:hook", "hook"],
  // not what they look like at first sight
  ["agent:main:mainframe", "other"],
  ["agent:main:main:extra", "other"],
  ["agent:main:cronjob:x", "other"],
  ["agent:main:hooks:x", "other"],
  ["agent:main:subagent", "other"],
  ["agent:main:telegram:direct:group", "dm"], // a peer named "group" is still a DM
  ["agent:main:telegram:groupies:1", "other"],
  ["agent:main:", "other"],
  ["agent:main", "other"],
  ["agent:", "other"],
  ["AGENT:main:main", "other"],
  ["agent:main:MAIN", "other"],
  ["main", "other"],
  ["", "other"],
  [null, "other"],
  ["agent::main", "operator"],
  ["agent:main:*:group:[x]", "group"],
  ["agent:main:telegram:direct:5550101\u202e", "dm"],
];

describe("session kind", () => {
  test.each(CASES)("%j is %s", (key, kind) => {
    expect(sessionKind(key)).toBe(kind);
  });

  test("the SQL expression agrees with the function on every key", () => {
    const db = new Database(":memory:");
    db.exec("CREATE TABLE t (session_key TEXT)");
    const ins = db.prepare("INSERT INTO t VALUES (?)");
    for (const [key] of CASES) ins.run(key);
    const rows = db.prepare(`SELECT session_key AS k, ${SESSION_KIND_SQL} AS kind FROM t`).all() as {
      k: string | null;
      kind: string;
    }[];
    expect(rows.map((r) => [r.k, r.kind])).toEqual(CASES.map(([k]) => [k, sessionKind(k)]));
    db.close();
  });
});
