// The naive baseline for bench:meter: read every transcript file and JSON.parse every line, or
// (second argument `sqlite`) every transcript_events row of each agent's OpenClaw SQLite store.
// Second argument `chunked`: the same session files read through one reused 64 KiB buffer instead
// of one string per file. A file is ~370 kB here, so the plain pass allocates a fresh large string
// per file, and on a machine where a page fault is slow (a VM: 11-12.6 µs per 4 KiB page was measured)
// that allocation, not the parse, dominates; the chunked pass does not pay it.
import { closeSync, openSync, readdirSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";

const stateDir = process.argv[2];
const sqlite = process.argv[3] === "sqlite";
const chunked = process.argv[3] === "chunked";
const chunk = Buffer.allocUnsafe(1 << 16);
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
    if (chunked) {
      const fd = openSync(join(dir, name), "r");
      const decoder = new StringDecoder("utf8");
      let carry = "";
      for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) {
        bytes += n;
        const text = carry + decoder.write(chunk.subarray(0, n));
        let start = 0;
        for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
          if (nl > start) parse(text.slice(start, nl));
          start = nl + 1;
        }
        carry = text.slice(start);
      }
      closeSync(fd);
      files++;
      if (carry) parse(carry);
      continue;
    }
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
