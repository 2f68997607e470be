// Telegram accepted every send, and nothing tried to leave 127.0.0.1.

/** Scenario: hygiene. */
export const name = "hygiene";

/** @param {import("../harness.mjs").Context} ctx */
export async function run(ctx) {
  const { tg, sink, check, log } = ctx;
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
}
