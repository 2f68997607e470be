// The naive baseline for bench:meter: read every transcript file and JSON.parse every line.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const stateDir = process.argv[2];
const started = performance.now();
let files = 0;
let lines = 0;
let bytes = 0;
let assistants = 0;
for (const agent of readdirSync(join(stateDir, "agents"))) {
  const dir = join(stateDir, "agents", agent, "sessions");
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".jsonl")) continue;
    const buf = readFileSync(join(dir, name));
    bytes += buf.length;
    files++;
    for (const line of buf.toString("utf8").split("\n")) {
      if (!line) continue;
      const e = JSON.parse(line);
      lines++;
      if (e.message?.role === "assistant" && e.message.usage) assistants++;
    }
  }
}
process.stdout.write(
  `${JSON.stringify({ files, lines, bytes, assistants, ms: performance.now() - started })}\n`,
);
