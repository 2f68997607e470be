// The bots' writer of the lag benchmarks (bench-ingest.mjs, bench-ship.mjs): appends new calls to
// transcripts at a steady rate while a meter follows them, and remembers when each was written.
import { appendFileSync } from "node:fs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * One complete assistant line (a new call, with its newline) whose identity is its message
 * timestamp `ts` (epoch ms, unique per call): mock/mock-gpt, 1,200 input + 80 output tokens, no
 * text, no recorded cost. Deliberately not synth-state.mjs's `synthCallLine` (text of 100-400
 * bytes, varied usage, a recorded cost): the lag figures in the README were measured with this
 * line, and a different line would change the workload behind them.
 * @param {number} ts
 * @returns {string}
 */
export const callLine = (ts) =>
  `${JSON.stringify({
    type: "message",
    id: `w${ts.toString(16)}`,
    parentId: null,
    timestamp: new Date(ts).toISOString(),
    message: {
      role: "assistant",
      content: [],
      api: "openai-completions",
      provider: "mock",
      model: "mock-gpt",
      usage: { input: 1200, output: 80, cacheRead: 0, cacheWrite: 0, totalTokens: 1280 },
      stopReason: "stop",
      timestamp: ts,
    },
  })}\n`;

/**
 * Appends `rate` calls/s for `seconds` to `files` (round robin), call i with message timestamp
 * `baseTs + i`, each on its schedule (t0 + i/rate; a late one is written at once, never skipped).
 * @param {string[]} files transcript paths
 * @param {number} baseTs the first call's message timestamp (epoch ms)
 * @param {{ rate: number, seconds: number }} o
 * @returns {Promise<Map<number, number>>} message timestamp → when its line was written (epoch ms)
 */
export async function writeUnderLoad(files, baseTs, { rate, seconds }) {
  const written = new Map();
  const total = rate * seconds;
  const t0 = Date.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const ts = baseTs + i;
    appendFileSync(files[i % files.length], callLine(ts));
    written.set(ts, Date.now());
  }
  return written;
}
