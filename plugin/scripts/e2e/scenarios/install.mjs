// Install the plugin folder the documented way, configure it, inspect its runtime registrations,
// and start the gateway with it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Scenario: install. */
export const name = "install";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { oc, env, cg, root, configPath, pluginDir, verbose, check, timed, log, openclaw, lastJson } = ctx;
  // 4. Install the plugin folder the documented way.
  const inst = await timed("openclaw plugins install -l", () =>
    // 5 min: on a loaded 2-core machine the install (schema set-up, plugin scan) took over 120 s
    openclaw(oc, env, ["plugins", "install", "-l", pluginDir, "--force", "--accept-capabilities"], {
      timeoutMs: 300_000,
    }),
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
    openclaw(oc, env, ["plugins", "inspect", "creditgate", "--runtime", "--json"]),
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
  check("inspect lists service creditgate-notices", flat.includes("creditgate-notices"), flat.slice(0, 1500));
  if (verbose) log(`inspect: ${JSON.stringify(info, null, 2).slice(0, 6000)}`);
  writeFileSync(join(root, "inspect.json"), JSON.stringify(info, null, 2));

  // 6. Gateway (its process group is stopped by the harness).
  const gateway = await timed("gateway start → ready", () => ctx.startGateway());
  check("gateway started and reported ready", gateway.ready, gateway.tail());
}
