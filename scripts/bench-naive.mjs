// The naive baseline for bench:meter: read every transcript file and JSON.parse every line, or
// (second argument `sqlite`) every transcript_events row of each agent's OpenClaw SQLite store.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const stateDir = process.argv[2];
const sqlite = process.argv[3] === "sqlite";
const started = performance.now();
let files = 0;
let lines = 0;
let bytes = 0;
let assistants = 0;
const parse = (line) => {
  const e = JSON.parse(line);
  lines++;
  if (e.message?.role === "assistant" && e.message.usage) assistants++;
};
const Database = sqlite ? (await import("better-sqlite3")).default : null;
for (const agent of readdirSync(join(stateDir, "agents"))) {
  if (Database) {
    const db = new Database(join(stateDir, "agents", agent, "agent", "openclaw-agent.sqlite"), {
      readonly: true,
    });
    files++;
    for (const json of db.prepare("SELECT event_json FROM transcript_events").pluck().iterate()) {
      bytes += Buffer.byteLength(json);
      parse(json);
    }
    db.close();
    continue;
  }
  const dir = join(stateDir, "agents", agent, "sessions");
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".jsonl")) continue;
    const buf = readFileSync(join(dir, name));
    bytes += buf.length;
    files++;
    for (const line of buf.toString("utf8").split("\n")) {
      if (line) parse(line);
    }
  }
}
process.stdout.write(
  `${JSON.stringify({ files, lines, bytes, assistants, ms: performance.now() - started })}\n`,
);
