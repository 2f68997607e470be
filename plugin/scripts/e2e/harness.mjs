// The e2e harness: everything a scenario needs and nothing it checks. It installs (once, cached)
// Node 26 and openclaw, re-runs the script inside a loopback-only network namespace, builds the
// plugin (and creditgate when dist/ is stale), starts the loopback world (the REAL creditgate, a
// mock OpenAI-compatible model, the stand-in Telegram Bot API, the egress sink, and the OpenClaw
// gateway on demand), runs the scenarios in order with one shared context, stops every process
// group it started, and prints timings and the closing "N passed, N failed" line (exit code 1 on
// any failure). Scenarios are modules exporting `name` and `run(ctx)`; see ./scenarios/index.mjs.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { ensureOpenClaw } from "../openclaw-cache.mjs";
import { startEgressSink } from "../support/egress-sink.mjs";
import { startFakeTelegram } from "../support/fake-telegram.mjs";
import { startMockOpenAI } from "../support/mock-openai.mjs";
import {
  ensureCreditgateBuilt,
  freePort,
  startRealCreditgate,
  stopProcessGroup,
} from "../support/real-creditgate.mjs";
import { MOCK_PRICES, PACKS, pluginDir, repoDir } from "./fixtures.mjs";

const keep = process.argv.includes("--keep");
const verbose = process.argv.includes("--verbose") || process.env.CREDITGATE_E2E_VERBOSE === "1";
const T0 = Number(process.env.CREDITGATE_E2E_T0 ?? Date.now());
const timings = {};
const results = [];
const log = (m) => console.log(`[e2e +${((Date.now() - T0) / 1000).toFixed(1)}s] ${m}`);

/** Runs `fn`, recording its wall time (seconds) under `name` in the closing timings table. */
async function timed(name, fn) {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = (Date.now() - t) / 1000;
  }
}
/** Records one check and prints ✓/✗ (with `detail`, cut to 2000 characters, when it fails). */
function check(name, cond, detail = "") {
  results.push({ name, ok: Boolean(cond) });
  console.log(
    `${cond ? "  ✓" : "  ✗"} ${name}${!cond && detail ? `\n      ${String(detail).slice(0, 2000).replace(/\n/g, "\n      ")}` : ""}`,
  );
}
/** Runs `openclaw ...` to completion; resolves {code, stdout, stderr, seconds}. */
function run(oc, env, args, { timeoutMs = 120_000, input } = {}) {
  return new Promise((resolve) => {
    const t = Date.now();
    const child = spawn(oc.nodeBin, [oc.openclawEntry, ...args], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    if (input) child.stdin.end(input);
    else child.stdin.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      const seconds = (Date.now() - t) / 1000;
      if (verbose)
        log(`openclaw ${args.join(" ")} → ${code} (${seconds.toFixed(1)} s)\n${stdout}\n${stderr}`);
      resolve({ code, stdout, stderr, seconds });
    });
  });
}
/** The last JSON value printed on stdout (CLIs may print banners first). */
function lastJson(text) {
  const t = text.trim();
  try {
    return JSON.parse(t);
  } catch {}
  for (let i = t.lastIndexOf("\n{"); i >= 0; i = t.lastIndexOf("\n{", i - 1)) {
    try {
      return JSON.parse(t.slice(i + 1));
    } catch {}
  }
  const first = t.indexOf("{");
  if (first >= 0) {
    try {
      return JSON.parse(t.slice(first));
    } catch {}
  }
  return null;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Polls `fn` every `everyMs` until it returns a truthy value or `timeoutMs` passed; returns the last value. */
async function until(fn, timeoutMs, everyMs = 250) {
  const t = Date.now();
  for (;;) {
    const v = await fn();
    if (v || Date.now() - t >= timeoutMs) return v;
    await sleep(everyMs);
  }
}

function netnsUsable() {
  const r = spawnSync("unshare", ["-rn", "sh", "-c", "ip link set lo up"], { stdio: "ignore" });
  return r.status === 0;
}

/**
 * Outside the namespace: install (network), then re-run `entry` (the e2e script) inside one.
 * Returns true if it did (the exit code is already set).
 */
async function reexecInNetns(entry) {
  if (process.env.CREDITGATE_E2E_IN_NETNS === "1" || process.argv.includes("--no-netns")) return false;
  const t = Date.now();
  const oc = await ensureOpenClaw({ log });
  const installWall = (Date.now() - t) / 1000;
  if (!netnsUsable()) {
    log("unshare -rn is not usable here: running without a network namespace (egress sink only)");
    return false;
  }
  log(
    `re-running inside a loopback-only network namespace (install/check of cache took ${installWall.toFixed(1)} s)`,
  );
  const r = spawnSync(
    "unshare",
    [
      "-rn",
      "sh",
      "-c",
      'ip link set lo up && exec "$0" "$@"',
      process.execPath,
      entry,
      ...process.argv.slice(2),
    ],
    {
      stdio: "inherit",
      env: {
        ...process.env,
        CREDITGATE_E2E_IN_NETNS: "1",
        CREDITGATE_E2E_INSTALL_SECONDS: String(oc.installSeconds),
        CREDITGATE_E2E_T0: String(T0),
      },
    },
  );
  process.exitCode = r.status ?? 1;
  return true;
}

function runCmd(cmd, args) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: "inherit" });
    c.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} → ${code}`)),
    );
  });
}

/** `openclaw gateway run` in its own process group; ready when the log says so. */
function startGateway(oc, env, port, token, root) {
  return new Promise((resolve) => {
    const child = spawn(
      oc.nodeBin,
      [oc.openclawEntry, "gateway", "run", "--port", String(port), "--token", token, "--bind", "loopback"],
      {
        env,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    const onData = (d) => {
      out += d;
      if (verbose) process.stdout.write(`[gateway] ${d}`);
      if (!done && /\[gateway\] ready/.test(out)) finish(true);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    let done = false;
    const timer = setTimeout(() => finish(false), 120_000);
    child.on("exit", () => finish(false));
    function finish(ready) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({
        ready,
        tail: () => out.slice(-3000),
        log: () => out,
        stop: () => {
          writeFileSync(join(root, "gateway.log"), out);
          return stopProcessGroup(child, 10_000);
        },
      });
    }
  });
}

/** The environment of every openclaw process: private HOME/state, offline, all traffic via the sink. */
function openclawEnv({ oc, home, tmp, state, configPath, gatewayToken, sink }) {
  const noProxy = "127.0.0.1,localhost,::1";
  return {
    PATH: `${oc.nodeBinDir}${delimiter}${process.env.PATH ?? ""}`,
    HOME: home,
    TMPDIR: tmp,
    LANG: "C.UTF-8",
    OPENCLAW_STATE_DIR: state,
    OPENCLAW_CONFIG_PATH: configPath,
    OPENCLAW_GATEWAY_TOKEN: gatewayToken,
    OPENCLAW_OFFLINE: "1",
    OPENCLAW_NO_RESPAWN: "1",
    OPENCLAW_DISABLE_BONJOUR: "1",
    OPENCLAW_SKIP_CRON: "1",
    OPENCLAW_SKIP_GMAIL_WATCHER: "1",
    OPENCLAW_SKIP_CANVAS_HOST: "1",
    HTTP_PROXY: sink.url,
    HTTPS_PROXY: sink.url,
    ALL_PROXY: sink.url,
    http_proxy: sink.url,
    https_proxy: sink.url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_USE_ENV_PROXY: "1",
  };
}

/** openclaw.json before the plugin is installed: the gateway, the mock model, the stand-in Telegram. */
function baseOpenclawConfig({ port, gatewayToken, model, tg }) {
  const p = MOCK_PRICES["mock/mock-gpt"];
  return {
    gateway: { mode: "local", port, bind: "loopback", auth: { mode: "token", token: gatewayToken } },
    update: { checkOnStart: false },
    discovery: { mdns: { mode: "off" } },
    memory: { search: { enabled: false } },
    models: {
      mode: "replace",
      catalogRefresh: { enabled: false },
      providers: {
        mock: {
          baseUrl: model.url,
          apiKey: "k",
          api: "openai-completions",
          models: [
            {
              id: "mock-gpt",
              name: "Mock",
              reasoning: false,
              input: ["text"],
              contextWindow: 128000,
              maxTokens: 4096,
              cost: {
                input: Number(p.input),
                output: Number(p.output),
                cacheRead: Number(p.cacheRead),
                cacheWrite: Number(p.cacheWrite),
              },
            },
          ],
        },
      },
    },
    agents: { defaults: { model: { primary: "mock/mock-gpt" }, heartbeat: { every: "0m" } } },
    session: { dmScope: "per-channel-peer" },
    channels: {
      telegram: {
        enabled: true,
        botToken: "900000001:e2e-fake-token",
        dmPolicy: "open",
        allowFrom: ["*"],
        apiRoot: tg.apiRoot,
      },
    },
  };
}

/**
 * @typedef {object} Scenario
 * @property {string} name
 * @property {(ctx: Context) => Promise<void>} run  Checks through `ctx.check`; a throw fails the run.
 */
/**
 * What every scenario gets. Static scenarios (before the world starts) see only the first group.
 * @typedef {object} Context
 * @property {any} oc  The cached runtime: `nodeBin`, `openclawEntry`, `openclawPkgDir`, versions.
 * @property {string} pluginDir
 * @property {boolean} verbose
 * @property {typeof check} check
 * @property {typeof timed} timed
 * @property {typeof log} log
 * @property {typeof run} openclaw  `openclaw(oc, env, args, opts)`: an openclaw CLI call to completion.
 * @property {typeof lastJson} lastJson
 * @property {typeof until} until
 * @property {typeof sleep} sleep
 * @property {any} [cg]  The real creditgate (`url`, `apiKey`, `topupUrl`, `api()`, `cli()`, `query()`, `log()`).
 * @property {any} [model]  The mock model (`calls`: each response's `usage`).
 * @property {any} [tg]  The stand-in Telegram (`inject`, `waitFor`, `sent`, `refused`, `myCommands`).
 * @property {any} [sink]  The egress sink (`attempts`).
 * @property {Record<string, string>} [env]  openclaw's environment.
 * @property {string} [root]  This run's temp dir (kept with --keep).
 * @property {string} [configPath]  openclaw.json.
 * @property {number} [port]  The gateway's port.
 * @property {string} [gatewayToken]
 * @property {() => Promise<any>} [startGateway]  Starts `openclaw gateway run`; the harness stops it.
 * @property {(method: string, params: unknown) => Promise<any>} [call]  `openclaw gateway call <method>`.
 * @property {(chat: number, text: string, pred: (t: string) => boolean, timeoutMs?: number) => Promise<any>} [say]
 *   A Telegram message from `chat`; resolves the first reply to it matching `pred` (or null).
 * @property {() => number} [mc]  Model calls so far.
 * @property {Map<string, any[]>} [callsOf]  Model calls per user whose turn made them.
 * @property {(userId: string, from: number) => void} [attribute]  Model calls since `from` → `userId`.
 * @property {Record<string, any>} state  Values one scenario leaves for a later one.
 */

/**
 * Runs the e2e: `staticScenarios` right after the plugin build (no processes), `scenarios` in the
 * loopback world, in order. `entry` is the script to re-run inside the network namespace.
 * @param {{ entry: string, staticScenarios: Scenario[], scenarios: Scenario[] }} opts
 */
export async function runE2E({ entry, staticScenarios, scenarios }) {
  if (await reexecInNetns(entry)) process.exit();
  try {
    await main(staticScenarios, scenarios);
  } catch (err) {
    check("harness ran to completion", false, err?.stack ?? String(err));
  } finally {
    const failed = results.filter((r) => !r.ok).length;
    timings.total = (Date.now() - T0) / 1000;
    console.log("\ntimings (s):");
    for (const [k, v] of Object.entries(timings)) console.log(`  ${k.padEnd(52)} ${v.toFixed(1)}`);
    console.log(`\nopenclaw e2e (openclaw ${process.env.CREDITGATE_E2E_OPENCLAW_VERSION ?? "2026.9.6"}):`);
    console.log(`${results.length - failed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  }
}

async function main(staticScenarios, scenarios) {
  const inNetns = process.env.CREDITGATE_E2E_IN_NETNS === "1";
  // 1. Runtime + package (cached).
  const oc = await timed("install (node26 + openclaw, cached after first run)", () =>
    ensureOpenClaw({ log }),
  );
  const installSeconds = Number(process.env.CREDITGATE_E2E_INSTALL_SECONDS ?? oc.installSeconds);
  if (process.env.CREDITGATE_E2E_INSTALL_SECONDS)
    timings["install (node26 + openclaw, cached after first run)"] = installSeconds;
  log(
    `node ${oc.nodeVersion}, openclaw ${oc.openclawVersion} (npm install this run: ${installSeconds.toFixed(1)} s); ` +
      `network: ${inNetns ? "loopback-only namespace" : "host (egress sink only)"}`,
  );

  // 2. Build the plugin; static scenarios (real types, formatting); build creditgate if stale.
  await timed("plugin build", () =>
    runCmd(process.execPath, [
      join(pluginDir, "node_modules/typescript/bin/tsc"),
      "-p",
      join(pluginDir, "tsconfig.build.json"),
    ]),
  );
  const base = {
    oc,
    pluginDir,
    verbose,
    check,
    timed,
    log,
    openclaw: run,
    lastJson,
    until,
    sleep,
    state: {},
  };
  for (const s of staticScenarios) {
    log(`scenario: ${s.name}`);
    await s.run(base);
  }
  const build = await timed("creditgate build (only when dist/ is stale)", () =>
    ensureCreditgateBuilt(repoDir, { log }),
  );
  log(`creditgate dist: ${build.reason}${build.built ? ` → built in ${build.seconds.toFixed(1)} s` : ""}`);

  // 3. Loopback world: mock model, stand-in Telegram, egress sink, and the REAL creditgate
  //    (HTTP API + meter + worker, `node dist/cli/main.js start`) metering this OpenClaw state dir.
  const model = await startMockOpenAI();
  const tg = await startFakeTelegram();
  const sink = await startEgressSink();
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), "cg-oc-e2e-"));
  const home = join(root, "home");
  const state = join(root, "state");
  const tmp = join(root, "tmp");
  for (const d of [home, state, tmp]) mkdirSync(d, { recursive: true });
  let cg = null;
  let gateway = null;
  try {
    cg = await timed("creditgate start (+ private Redis in the namespace)", () =>
      startRealCreditgate({
        repoDir,
        dir: join(root, "creditgate"),
        stateDir: state,
        prices: MOCK_PRICES,
        packs: PACKS,
        // Inside the namespace the host's 127.0.0.1:6379 is out of reach: a private redis-server.
        useSharedRedis: !inNetns,
        log,
        verbose,
      }),
    );
    log(
      `creditgate on ${cg.url} (db ${cg.db}; redis 127.0.0.1:${cg.redis.port}${cg.redis.private ? " (private)" : " (shared)"}, prefix ${cg.prefix})`,
    );

    const configPath = join(state, "openclaw.json");
    const gatewayToken = "e2e-gateway-token";
    const env = openclawEnv({ oc, home, tmp, state, configPath, gatewayToken, sink });
    writeFileSync(
      configPath,
      `${JSON.stringify(baseOpenclawConfig({ port, gatewayToken, model, tg }), null, 2)}\n`,
    );

    // Model calls are attributed to the user whose turn made them (turns run one at a time).
    const callsOf = new Map();
    /** @type {Context} */
    const ctx = {
      ...base,
      cg,
      model,
      tg,
      sink,
      env,
      root,
      configPath,
      port,
      gatewayToken,
      startGateway: async () => {
        gateway = await startGateway(oc, env, port, gatewayToken, root);
        return gateway;
      },
      call: (method, params) =>
        run(oc, env, [
          "gateway",
          "call",
          method,
          "--json",
          "--params",
          JSON.stringify(params),
          "--url",
          `ws://127.0.0.1:${port}`,
          "--token",
          gatewayToken,
        ]),
      say: async (chat, text, pred, timeoutMs = 60_000) => {
        const at = Date.now();
        tg.inject(chat, text, chat === 5550101 ? "Henry" : "Bob");
        return tg.waitFor((s) => s.chatId === String(chat) && s.at >= at && pred(s.text), timeoutMs);
      },
      mc: () => model.calls.length,
      callsOf,
      attribute: (userId, from) => {
        const list = callsOf.get(userId) ?? [];
        list.push(...model.calls.slice(from));
        callsOf.set(userId, list);
      },
    };
    for (const s of scenarios) {
      log(`scenario: ${s.name}`);
      await s.run(ctx);
    }
  } finally {
    if (gateway) await gateway.stop();
    if (cg) {
      const { deletedKeys, remainingKeys } = await cg.stop();
      check(
        `creditgate stopped; its Redis keys ${cg.prefix}:* deleted (${deletedKeys})`,
        remainingKeys === 0,
        `remaining keys: ${remainingKeys}`,
      );
    }
    await model.stop();
    await tg.stop();
    await sink.stop();
    if (keep) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
}
