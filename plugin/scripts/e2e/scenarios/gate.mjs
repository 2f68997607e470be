// Gating: blocked users never reach the model (agent RPC and Telegram), allowed users do.

/** Scenario: gate. */
export const name = "gate";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { oc, env, cg, tg, model, check, timed, openclaw, say, mc, attribute, sleep } = ctx;
  // 8. Gating on real agent turns through the gateway. Model calls are attributed to the user
  //    whose turn made them (turns run one at a time).
  const agentTurn = (peer) =>
    openclaw(
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
  const m0 = mc();
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
  const m2 = mc();
  const reply = await say(5550101, "hola", (t) => t.includes("Mock reply"), 90_000);
  attribute("telegram:5550101", m2);
  check(
    "telegram: an allowed user's message reaches the model and gets its reply",
    reply && mc() > m2,
    JSON.stringify(tg.sent.slice(-3)),
  );
}
