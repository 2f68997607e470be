// The plugin's billing.* gateway methods through OpenClaw's own CLI, answered by the real creditgate.

/** Scenario: rpc. */
export const name = "rpc";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { cg, check, timed, call, lastJson } = ctx;
  // 7. RPC methods through OpenClaw's own CLI (`ctx.call`), answered by the real creditgate.
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
  ctx.state.cliBal3 = cliBal3;
}
