// creditgate's meter billed the transcripts the gateway wrote: exactly the mock model's tokens, at
// CREDITGATE_PRICES, to the user whose turn made each call.
import { expectedCharge, tokensOf } from "../fixtures.mjs";

/** Scenario: metering. */
export const name = "metering";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { cg, tg, check, timed, call, say, mc, callsOf, until, lastJson } = ctx;
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
}
