// The worker's notices, delivered by the plugin through the real outbound adapter, once, and acked;
// an `unblocked` notice lifts the plugin's cached block.

/** Scenario: notices. */
export const name = "notices";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { cg, tg, check, timed, say, mc, attribute, until, sleep } = ctx;
  // 10. The worker's notices, delivered by the plugin through the real outbound adapter, once, and acked.
  const notices = () =>
    cg.query("SELECT id, account_id AS userId, kind, text, acked_at_ms AS ackedAt FROM notices ORDER BY id");
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
  const allAcked = await until(() => notices().every((n) => n.ackedAt !== null && deliveredOnce(n)), 15_000);
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
}
