// The real creditgate is up and guarded, and its own CLI sets up the users of this run.

/** Scenario: creditgate. */
export const name = "creditgate";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { cg, check, timed } = ctx;
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
}
